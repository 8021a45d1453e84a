"""Administration of the organisation (ORG-1…ORG-4): departments, groups, roles, users, IP rules.

Each function is one business action: it validates, changes, audits — in the caller's transaction.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import string
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import context, security
from kefu.core.errors import Conflict, FieldError, NotFound
from kefu.core.permissions import CATALOGUE as FUNCTIONS
from kefu.core.permissions import Actor, all_permissions, function_of, is_permission
from kefu.org import auth_service
from kefu.org.models import DataScope, Department, IpRule, IpRuleScope, Role, User, UserGroup, UserRole

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,59}$")

DEPARTMENT_FIELDS = ("code", "name", "parent_id", "supervisor_id", "sort", "enabled")
GROUP_FIELDS = ("code", "name", "description", "functions")
ROLE_FIELDS = ("group_id", "code", "name", "description", "permissions", "data_scope", "all_permissions")
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


def _require_text(field: str, value: str | None, *, max_len: int) -> str:
    text = (value or "").strip()
    if not text:
        raise FieldError(field, "This field is required")
    if len(text) > max_len:
        raise FieldError(field, "At most %(n)s characters", n=max_len)
    return text


def _code(field: str, value: str | None) -> str:
    text = _require_text(field, value, max_len=40)
    if not CODE_RE.match(text):
        raise FieldError(field, "Use letters, digits, '_', '-' or '.'")
    return text


def _unique(
    session: Session,
    column: Any,
    value: Any,
    field: str,
    *,
    exclude_id: int | None = None,
    extra: Any = None,
    model: Any = None,
) -> None:
    model = model or column.class_
    stmt = select(func.count()).select_from(model).where(column == value)
    if extra is not None:
        stmt = stmt.where(extra)
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    if session.scalar(stmt):
        raise FieldError(field, "Already in use")


# --- Departments ----------------------------------------------------------------------------------


def _department_snapshot(d: Department) -> dict[str, Any]:
    return audit.snapshot(d, DEPARTMENT_FIELDS)


def _check_supervisor(session: Session, supervisor_id: int | None) -> None:
    if supervisor_id is not None and session.get(User, supervisor_id) is None:
        raise FieldError("supervisor_id", "No such user")


def create_department(
    session: Session,
    *,
    actor: Actor,
    code: str,
    name: str,
    parent_id: int | None = None,
    supervisor_id: int | None = None,
    sort: int = 0,
) -> Department:
    code = _code("code", code)
    name = _require_text("name", name, max_len=100)
    _unique(session, Department.code, code, "code")
    parent = None
    if parent_id is not None:
        parent = session.get(Department, parent_id)
        if parent is None:
            raise FieldError("parent_id", "No such department")
    _check_supervisor(session, supervisor_id)
    dept = Department(code=code, name=name, parent_id=parent_id, supervisor_id=supervisor_id, sort=sort)
    session.add(dept)
    session.flush()
    dept.path = (parent.path if parent else "/") + f"{dept.id}/"
    audit.record(
        session,
        actor=actor,
        action="department.create",
        function="admin.departments",
        target=dept,
        after=_department_snapshot(dept),
    )
    return dept


def update_department(
    session: Session, *, actor: Actor, department: Department, **changes: Any
) -> Department:
    before = _department_snapshot(department)
    if "code" in changes:
        code = _code("code", changes["code"])
        _unique(session, Department.code, code, "code", exclude_id=department.id)
        department.code = code
    if "name" in changes:
        department.name = _require_text("name", changes["name"], max_len=100)
    if "supervisor_id" in changes:
        _check_supervisor(session, changes["supervisor_id"])
        department.supervisor_id = changes["supervisor_id"]
    if "sort" in changes:
        department.sort = int(changes["sort"])
    if "enabled" in changes:
        department.enabled = bool(changes["enabled"])
    if "parent_id" in changes and changes["parent_id"] != department.parent_id:
        _move_department(session, department, changes["parent_id"])
    after = _department_snapshot(department)
    b, a = audit.diff(before, after)
    if a:
        audit.record(
            session,
            actor=actor,
            action="department.update",
            function="admin.departments",
            target=department,
            before=b,
            after=a,
        )
    return department


def _move_department(session: Session, department: Department, parent_id: int | None) -> None:
    old_path = department.path
    if parent_id is None:
        new_path = f"/{department.id}/"
    else:
        parent = session.get(Department, parent_id)
        if parent is None:
            raise FieldError("parent_id", "No such department")
        if parent.path.startswith(old_path):
            raise FieldError("parent_id", "A department cannot move under itself or its own sub-department")
        new_path = parent.path + f"{department.id}/"
    department.parent_id = parent_id
    # Rewrite the materialised paths of the whole subtree in one statement.
    session.execute(
        update(Department)
        .where(Department.path.startswith(old_path))
        .values(path=new_path + func.substr(Department.path, len(old_path) + 1))
        .execution_options(synchronize_session=False)
    )
    session.expire_all()


def delete_department(session: Session, *, actor: Actor, department: Department) -> None:
    if session.scalar(
        select(func.count()).select_from(Department).where(Department.parent_id == department.id)
    ):
        raise Conflict("The department still has sub-departments")
    if session.scalar(select(func.count()).select_from(User).where(User.department_id == department.id)):
        raise Conflict("The department still has staff; move them first")
    audit.record(
        session,
        actor=actor,
        action="department.delete",
        function="admin.departments",
        target=department,
        before=_department_snapshot(department),
    )
    session.delete(department)


def department_tree(session: Session) -> list[tuple[Department, int]]:
    """All departments in tree order with their depth, for lists and selects."""
    rows = list(session.scalars(select(Department)))
    children: dict[int | None, list[Department]] = {}
    for d in rows:
        children.setdefault(d.parent_id, []).append(d)
    out: list[tuple[Department, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for d in sorted(children.get(parent, []), key=lambda x: (x.sort, x.name)):
            out.append((d, depth))
            walk(d.id, depth + 1)

    walk(None, 0)
    return out


# --- Groups and roles -----------------------------------------------------------------------------


def _functions(value: list[str]) -> list[str]:
    unknown = [f for f in value if f not in FUNCTIONS]
    if unknown:
        raise FieldError("functions", "Unknown function: %(codes)s", codes=", ".join(unknown))
    return sorted(set(value))


def create_group(
    session: Session,
    *,
    actor: Actor,
    code: str,
    name: str,
    description: str = "",
    functions: list[str] | None = None,
) -> UserGroup:
    code = _code("code", code)
    _unique(session, UserGroup.code, code, "code")
    group = UserGroup(
        code=code,
        name=_require_text("name", name, max_len=100),
        description=description.strip(),
        functions=_functions(functions or []),
    )
    session.add(group)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="group.create",
        function="admin.roles",
        target=group,
        after=audit.snapshot(group, GROUP_FIELDS),
    )
    return group


def update_group(session: Session, *, actor: Actor, group: UserGroup, **changes: Any) -> UserGroup:
    before = audit.snapshot(group, GROUP_FIELDS)
    if "code" in changes:
        code = _code("code", changes["code"])
        _unique(session, UserGroup.code, code, "code", exclude_id=group.id)
        group.code = code
    if "name" in changes:
        group.name = _require_text("name", changes["name"], max_len=100)
    if "description" in changes:
        group.description = (changes["description"] or "").strip()
    if "functions" in changes:
        group.functions = _functions(changes["functions"] or [])
        # Narrowing a group narrows its roles: drop permissions the group no longer grants.
        for role in group.roles:
            role.permissions = [p for p in role.permissions if function_of(p) in group.functions]
    b, a = audit.diff(before, audit.snapshot(group, GROUP_FIELDS))
    if a:
        audit.record(
            session,
            actor=actor,
            action="group.update",
            function="admin.roles",
            target=group,
            before=b,
            after=a,
        )
    return group


def delete_group(session: Session, *, actor: Actor, group: UserGroup) -> None:
    if group.roles:
        raise Conflict("The group still has roles")
    audit.record(
        session,
        actor=actor,
        action="group.delete",
        function="admin.roles",
        target=group,
        before=audit.snapshot(group, GROUP_FIELDS),
    )
    session.delete(group)


def _permissions(group: UserGroup, value: list[str]) -> list[str]:
    unknown = [p for p in value if not is_permission(p)]
    if unknown:
        raise FieldError("permissions", "Unknown permission: %(codes)s", codes=", ".join(unknown))
    outside = [p for p in value if function_of(p) not in group.functions]
    if outside:
        raise FieldError(
            "permissions", "Not granted by the role's group: %(codes)s", codes=", ".join(outside)
        )
    return sorted(set(value))


def _role_snapshot(role: Role) -> dict[str, Any]:
    return audit.snapshot(role, ROLE_FIELDS)


def create_role(
    session: Session,
    *,
    actor: Actor,
    group_id: int,
    code: str,
    name: str,
    description: str = "",
    permissions: list[str] | None = None,
    data_scope: DataScope = DataScope.OWN,
) -> Role:
    group = session.get(UserGroup, group_id)
    if group is None:
        raise FieldError("group_id", "No such group")
    code = _code("code", code)
    _unique(session, Role.code, code, "code", extra=Role.group_id == group_id)
    role = Role(
        group_id=group.id,
        code=code,
        name=_require_text("name", name, max_len=100),
        description=description.strip(),
        permissions=_permissions(group, permissions or []),
        data_scope=DataScope(data_scope),
    )
    session.add(role)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="role.create",
        function="admin.roles",
        target=role,
        after=_role_snapshot(role),
    )
    return role


def update_role(session: Session, *, actor: Actor, role: Role, **changes: Any) -> Role:
    before = _role_snapshot(role)
    if "code" in changes:
        code = _code("code", changes["code"])
        _unique(session, Role.code, code, "code", exclude_id=role.id, extra=Role.group_id == role.group_id)
        role.code = code
    if "name" in changes:
        role.name = _require_text("name", changes["name"], max_len=100)
    if "description" in changes:
        role.description = (changes["description"] or "").strip()
    if "permissions" in changes:
        role.permissions = _permissions(role.group, changes["permissions"] or [])
    if "data_scope" in changes:
        role.data_scope = DataScope(changes["data_scope"])
    b, a = audit.diff(before, _role_snapshot(role))
    if a:
        audit.record(
            session, actor=actor, action="role.update", function="admin.roles", target=role, before=b, after=a
        )
    return role


def delete_role(session: Session, *, actor: Actor, role: Role) -> None:
    holders = session.scalar(select(func.count()).select_from(UserRole).where(UserRole.role_id == role.id))
    if holders:
        raise Conflict("%(n)s staff still hold this role", n=holders)
    if role.all_permissions:
        raise Conflict("The built-in administrator role cannot be deleted")
    audit.record(
        session,
        actor=actor,
        action="role.delete",
        function="admin.roles",
        target=role,
        before=_role_snapshot(role),
    )
    session.delete(role)


# --- Users ----------------------------------------------------------------------------------------


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
    from kefu.org.access import department_in_scope

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
    username = _require_text("username", username, max_len=60)
    if not USERNAME_RE.match(username):
        raise FieldError("username", "Use letters, digits, '_', '-', '.' or '@'")
    _unique(session, func.lower(User.username), username.lower(), "username", model=User)
    _check_department(session, actor, department_id)
    roles = _roles_grantable(session, actor, role_ids or [])
    user = User(
        username=username,
        name=_require_text("name", name, max_len=100),
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
        username = _require_text("username", changes["username"], max_len=60)
        if not USERNAME_RE.match(username):
            raise FieldError("username", "Use letters, digits, '_', '-', '.' or '@'")
        _unique(
            session, func.lower(User.username), username.lower(), "username", exclude_id=user.id, model=User
        )
        user.username = username
    if "name" in changes:
        user.name = _require_text("name", changes["name"], max_len=100)
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


# --- IP rules -------------------------------------------------------------------------------------


def _cidr(value: str) -> str:
    text = (value or "").strip()
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        raise FieldError("cidr", "Enter an IP address or a network such as 10.1.0.0/16") from None


def _ip_snapshot(rule: IpRule) -> dict[str, Any]:
    return audit.snapshot(rule, ("scope", "role_id", "user_id", "cidr", "note", "enabled"))


def _guard_self_lockout(session: Session, actor: Actor) -> None:
    """Refuse a rule change that would shut out the administrator making it."""
    session.flush()
    session.expire(actor.user, ["roles"])
    ip = context.current().client_ip
    if ip and not auth_service.ip_allowed(session, user=actor.user, ip=ip):
        raise FieldError(
            "cidr", "This change would lock you out: your address %(ip)s would no longer be allowed", ip=ip
        )


def create_ip_rule(
    session: Session,
    *,
    actor: Actor,
    scope: IpRuleScope,
    cidr: str,
    role_id: int | None = None,
    user_id: int | None = None,
    note: str = "",
    enabled: bool = True,
) -> IpRule:
    scope = IpRuleScope(scope)
    if scope is IpRuleScope.ROLE:
        if role_id is None or session.get(Role, role_id) is None:
            raise FieldError("role_id", "Choose a role")
        user_id = None
    elif scope is IpRuleScope.USER:
        if user_id is None or session.get(User, user_id) is None:
            raise FieldError("user_id", "Choose a user")
        role_id = None
    else:
        role_id = user_id = None
    rule = IpRule(
        scope=scope,
        cidr=_cidr(cidr),
        role_id=role_id,
        user_id=user_id,
        note=note.strip()[:200],
        enabled=enabled,
    )
    session.add(rule)
    _guard_self_lockout(session, actor)
    audit.record(
        session,
        actor=actor,
        action="ip_rule.create",
        function="admin.ip_rules",
        target=rule,
        target_label=rule.cidr,
        after=_ip_snapshot(rule),
    )
    return rule


def update_ip_rule(session: Session, *, actor: Actor, rule: IpRule, **changes: Any) -> IpRule:
    before = _ip_snapshot(rule)
    if "cidr" in changes:
        rule.cidr = _cidr(changes["cidr"])
    if "note" in changes:
        rule.note = (changes["note"] or "").strip()[:200]
    if "enabled" in changes:
        rule.enabled = bool(changes["enabled"])
    _guard_self_lockout(session, actor)
    b, a = audit.diff(before, _ip_snapshot(rule))
    if a:
        audit.record(
            session,
            actor=actor,
            action="ip_rule.update",
            function="admin.ip_rules",
            target=rule,
            target_label=rule.cidr,
            before=b,
            after=a,
        )
    return rule


def delete_ip_rule(session: Session, *, actor: Actor, rule: IpRule) -> None:
    audit.record(
        session,
        actor=actor,
        action="ip_rule.delete",
        function="admin.ip_rules",
        target=rule,
        target_label=rule.cidr,
        before=_ip_snapshot(rule),
    )
    session.delete(rule)
    _guard_self_lockout(session, actor)


def get_or_404(session: Session, model: type[Any], object_id: int) -> Any:
    obj = session.get(model, object_id)
    if obj is None:
        raise NotFound()
    return obj
