"""Permission- and scope-checked loads of organisation objects. Hidden and missing look the same (404)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from kefu.core.errors import NotFound
from kefu.core.permissions import Actor, restrict
from kefu.org.models import Department, User


def users_query(actor: Actor, permission: str = "admin.users.view"):  # type: ignore[no-untyped-def]
    stmt = select(User).options(selectinload(User.roles), selectinload(User.department))
    return restrict(stmt, actor, permission, owner=User.id, department=User.department_id)


def access_user(session: Session, actor: Actor, user_id: int, permission: str = "admin.users.view") -> User:
    user = session.scalars(users_query(actor, permission).where(User.id == user_id)).first()
    if user is None:
        raise NotFound()
    return user


def department_in_scope(session: Session, actor: Actor, department_id: int, *permissions: str) -> bool:
    """Whether `actor` manages staff of `department_id` under any of `permissions`."""
    for permission in permissions:
        stmt = restrict(select(Department.id), actor, permission, department=Department.id)
        if session.scalar(stmt.where(Department.id == department_id)) is not None:
            return True
    return False
