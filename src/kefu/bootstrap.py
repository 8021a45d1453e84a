"""What every installation needs after its schema is migrated: the built-in administrator group and
role, and the default code tables. Idempotent: `kefu migrate` runs it every time."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.org.config.dictionary import seed_defaults
from kefu.org.models import DataScope, Role, UserGroup

SYSTEM_GROUP = "system"
ADMIN_ROLE = "admin"


def ensure_builtins(session: Session) -> Role:
    """The system group with its all-permissions administrator role."""
    group = session.scalars(select(UserGroup).where(UserGroup.code == SYSTEM_GROUP)).first()
    if group is None:
        group = UserGroup(
            code=SYSTEM_GROUP,
            name="系统管理",
            description="内置用户组，含全部权限的系统管理员角色",
            functions=[],
        )
        session.add(group)
        session.flush()
    role = session.scalars(select(Role).where(Role.group_id == group.id, Role.code == ADMIN_ROLE)).first()
    if role is None:
        role = Role(
            group_id=group.id,
            code=ADMIN_ROLE,
            name="系统管理员",
            all_permissions=True,
            data_scope=DataScope.ALL,
            permissions=[],
        )
        session.add(role)
        session.flush()
    seed_defaults(session)
    return role
