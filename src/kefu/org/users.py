"""Staff accounts (操作人员, ORG-3): create, edit, roles, passwords, removal."""

from __future__ import annotations

import secrets
import string
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import security
from kefu.core.errors import Conflict, FieldError
from kefu.core.permissions import Actor, all_permissions
from kefu.org import auth_service
from kefu.org.access import department_in_scope
from kefu.org.models import Department, Role, User
from kefu.org.validation import USERNAME_RE, ensure_unique, require_text

USER_FIELDS = (
    "username",
    "name",
    "department_id",
    "is_active",
    "email",
    "mobile",
    "phone_ext",
    "agent_no",
    "skills",
    "role_ids",
)


def _user_snapshot(user: User) -> dict[str, Any]:
    snap = audit.snapshot(user, USER_FIELDS[:-1])
    snap["role_ids"] = sorted(r.id for r in user.roles)
    return snap


def temporary_password() -> str:
    """A readable one-time password that satisfies the policy; the user must change it at first login."""
    alphabet = string.ascii_letters + string.digits
    core = "".join(secrets.choice(alphabet) for _ in range(10))
    return core[:5] + "-" + core[5:] + secrets.choice(string.digits)


def _roles_grantable(session: Session, actor: Actor, role_ids: list[int]) -> list[Role]:
    """The roles, if `actor` may hand them out: nobody grants a permission they do not hold themselves."""
    roles = list(session.scalars(select(Role).where(Role.id.in_(role_ids)))) if role_ids else []
    if len(roles) != len(set(role_ids)):
        raise FieldError("role_ids", "No such role")
    held = set(actor.scopes)
    for role in roles:
        granted = set(all_permissions()) if role.all_permissions else set(role.permissions)
        if not granted <= held:
            raise FieldError(
                "role_ids",
                "You cannot grant the role %(role)s: it has permissions you do not hold",
                role=role.name,
            )
    return roles


def _check_department(session: Session, actor: Actor, department_id: int | None) -> None:
    if department_id is None:
        return
    if session.get(Department, department_id) is None:
        raise FieldError("department_id", "No such department")
    if not department_in_scope(session, actor, department_id, "admin.users.edit", "admin.users.create"):
        raise FieldError("department_id", "Outside the departments you manage")


def create_user(
    session: Session,
    *,
    actor: Actor,
    username: str,
    name: str,
    department_id: int | None,
    role_ids: list[int] | None = None,
    password: str | None = None,
    email: str = "",
    mobile: str = "",
    phone_ext: str = "",
    agent_no: str = "",
    skills: list[str] | None = None,
    is_active: bool = True,
) -> tuple[User, str | None]:
    """A new staff account. Without a password a temporary one is generated and returned once."""
    username = require_text("username", username, max_len=60)
    if not USERNAME_RE.match(username):
        raise FieldError("username", "Use letters, digits, '_', '-', '.' or '@'")
    ensure_unique(session, func.lower(User.username), username.lower(), "username", model=User)
    _check_department(session, actor, department_id)
    roles = _roles_grantable(session, actor, role_ids or [])
    user = User(
        username=username,
        name=require_text("name", name, max_len=100),
        department_id=department_id,
        email=email.strip(),
        mobile=mobile.strip(),
        phone_ext=phone_ext.strip(),
        agent_no=agent_no.strip(),
        skills=sorted(set(skills or [])),
        is_active=is_active,
        must_change_password=True,
    )
    generated = None
    if password:
        auth_service.validate_new_password(session, user=user, password=password, field="password")
    else:
        password = generated = temporary_password()
    user.password_hash = security.hash_password(password)
    user.roles = roles
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.create",
        function="admin.users",
        target=user,
        after=_user_snapshot(user),
    )
    return user, generated


def update_user(session: Session, *, actor: Actor, user: User, **changes: Any) -> User:
    before = _user_snapshot(user)
    if "username" in changes:
        username = require_text("username", changes["username"], max_len=60)
        if not USERNAME_RE.match(username):
            raise FieldError("username", "Use letters, digits, '_', '-', '.' or '@'")
        ensure_unique(
            session, func.lower(User.username), username.lower(), "username", exclude_id=user.id, model=User
        )
        user.username = username
    if "name" in changes:
        user.name = require_text("name", changes["name"], max_len=100)
    if "department_id" in changes:
        _check_department(session, actor, changes["department_id"])
        user.department_id = changes["department_id"]
    for field in ("email", "mobile", "phone_ext", "agent_no"):
        if field in changes:
            setattr(user, field, (changes[field] or "").strip())
    if "skills" in changes:
        user.skills = sorted(set(changes["skills"] or []))
    if "role_ids" in changes:
        new_ids = set(changes["role_ids"] or [])
        old_ids = {r.id for r in user.roles}
        added = _roles_grantable(session, actor, sorted(new_ids - old_ids))
        removed = [r for r in user.roles if r.id not in new_ids]
        _roles_grantable(session, actor, [r.id for r in removed])  # nor take away what they could not give
        user.roles = [r for r in user.roles if r.id in new_ids] + added
    if "is_active" in changes and bool(changes["is_active"]) != user.is_active:
        if user.id == actor.user.id and not changes["is_active"]:
            raise FieldError("is_active", "You cannot disable your own account")
        user.is_active = bool(changes["is_active"])
        if not user.is_active:
            auth_service.revoke_user_sessions(session, user.id)
    session.flush()
    b, a = audit.diff(before, _user_snapshot(user))
    if a:
        audit.record(
            session, actor=actor, action="user.update", function="admin.users", target=user, before=b, after=a
        )
    return user


def reset_password(session: Session, *, actor: Actor, user: User) -> str:
    """Give the user a temporary password (shown once), sign them out everywhere, lift any lockout."""
    plain = temporary_password()
    user.password_hash = security.hash_password(plain)
    user.must_change_password = True
    user.locked_until = None
    user.failed_logins = 0
    auth_service.revoke_user_sessions(session, user.id)
    audit.record(session, actor=actor, action="user.reset_password", function="admin.users", target=user)
    return plain


def delete_user(session: Session, *, actor: Actor, user: User) -> None:
    """Remove an account created by mistake. Accounts that have signed in are disabled instead."""
    if user.id == actor.user.id:
        raise Conflict("You cannot delete your own account")
    if user.last_login_at is not None:
        raise Conflict("This account has been used; disable it instead so its history stays readable")
    audit.record(
        session,
        actor=actor,
        action="user.delete",
        function="admin.users",
        target=user,
        before=_user_snapshot(user),
    )
    session.delete(user)
