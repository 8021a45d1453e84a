"""User groups (用户组群) and roles (岗位角色), ORG-2: groups grant functions, roles grant permissions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core.errors import Conflict, FieldError
from kefu.core.permissions import CATALOGUE as FUNCTIONS
from kefu.core.permissions import Actor, function_of, is_permission
from kefu.org.models import DataScope, Role, UserGroup, UserRole
from kefu.org.validation import code_field, ensure_unique, require_text

GROUP_FIELDS = ("code", "name", "description", "functions")
ROLE_FIELDS = ("group_id", "code", "name", "description", "permissions", "data_scope", "all_permissions")


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
    code = code_field("code", code)
    ensure_unique(session, UserGroup.code, code, "code")
    group = UserGroup(
        code=code,
        name=require_text("name", name, max_len=100),
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
        code = code_field("code", changes["code"])
        ensure_unique(session, UserGroup.code, code, "code", exclude_id=group.id)
        group.code = code
    if "name" in changes:
        group.name = require_text("name", changes["name"], max_len=100)
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
    code = code_field("code", code)
    ensure_unique(session, Role.code, code, "code", extra=Role.group_id == group_id)
    role = Role(
        group_id=group.id,
        code=code,
        name=require_text("name", name, max_len=100),
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
        code = code_field("code", changes["code"])
        ensure_unique(
            session, Role.code, code, "code", exclude_id=role.id, extra=Role.group_id == role.group_id
        )
        role.code = code
    if "name" in changes:
        role.name = require_text("name", changes["name"], max_len=100)
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
