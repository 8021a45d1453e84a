"""Whom an announcement is for: checking the chosen audience and resolving it to people.

An audience is a union of: all staff, departments (with or without their sub-departments), roles and
named people. Only active staff receive announcements. The publisher's data scope on
`notices.announcements.publish` bounds it: with "all" they may address anyone; with "subtree" the
departments under their own; with "department" or "own" their own department. Roles are allowed at
any scope and reach the holders inside those bounds (a team leader addressing "agents" tells the
agents of their own team).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true
from sqlalchemy.orm import Session

from kefu.core.errors import FieldError
from kefu.core.permissions import Actor, subtree_range
from kefu.notices.permissions import PUBLISH
from kefu.org.models import DataScope, Department, Role, User, UserRole


@dataclass(frozen=True)
class Audience:
    all: bool = False
    department_ids: tuple[int, ...] = ()
    include_subdepartments: bool = True
    role_ids: tuple[int, ...] = ()
    user_ids: tuple[int, ...] = ()

    @classmethod
    def of(
        cls,
        *,
        all: bool = False,
        department_ids: Sequence[int] = (),
        include_subdepartments: bool = True,
        role_ids: Sequence[int] = (),
        user_ids: Sequence[int] = (),
    ) -> Audience:
        """An audience with duplicate ids removed (order kept)."""
        return cls(
            all=all,
            department_ids=tuple(dict.fromkeys(department_ids)),
            include_subdepartments=include_subdepartments,
            role_ids=tuple(dict.fromkeys(role_ids)),
            user_ids=tuple(dict.fromkeys(user_ids)),
        )

    @property
    def empty(self) -> bool:
        return not (self.all or self.department_ids or self.role_ids or self.user_ids)


@dataclass
class Reach:
    """The departments a publisher may address; `everyone` means no bound."""

    everyone: bool
    department_ids: set[int] = field(default_factory=set)

    def condition(self, column: Any) -> ColumnElement[bool]:
        return true() if self.everyone else column.in_(sorted(self.department_ids))

    def covers(self, department_id: int | None) -> bool:
        return self.everyone or (department_id is not None and department_id in self.department_ids)


def reach_of(session: Session, actor: Actor) -> Reach:
    """Whom `actor` may address, from the data scope of their publish permission."""
    scope = actor.scope(PUBLISH)
    if scope is DataScope.ALL:
        return Reach(everyone=True)
    if scope is None or actor.user.department_id is None:
        return Reach(everyone=False)
    if scope is DataScope.SUBTREE and actor.department_path:
        ids = session.scalars(select(Department.id).where(*subtree_range(actor.department_path)))
        return Reach(everyone=False, department_ids=set(ids))
    return Reach(everyone=False, department_ids={actor.user.department_id})


def check(session: Session, actor: Actor, audience: Audience) -> list[FieldError]:
    """Every problem with `audience` for this publisher, each naming its field (empty: fine)."""
    if audience.empty:
        return [FieldError("audience", "Choose whom the announcement is for")]
    errors: list[FieldError] = []
    reach = reach_of(session, actor)
    if audience.all and not reach.everyone:
        errors.append(FieldError("audience_all", "You may only address the departments in your scope"))
    if audience.department_ids:
        errors.extend(_check_departments(session, audience.department_ids, reach))
    if audience.role_ids:
        roles = set(session.scalars(select(Role.id).where(Role.id.in_(audience.role_ids))))
        missing = [i for i in audience.role_ids if i not in roles]
        if missing:
            errors.append(FieldError("role_ids", "Unknown role: %(ids)s", ids=_ids(missing)))
    if audience.user_ids:
        errors.extend(_check_users(session, audience.user_ids, reach))
    return errors


def _check_departments(session: Session, ids: Sequence[int], reach: Reach) -> list[FieldError]:
    stmt = select(Department.id, Department.name).where(Department.id.in_(ids))
    found = {i: name for i, name in session.execute(stmt).tuples()}
    missing = [i for i in ids if i not in found]
    if missing:
        return [FieldError("department_ids", "Unknown department: %(ids)s", ids=_ids(missing))]
    outside = [found[i] for i in ids if not reach.covers(i)]
    if outside:
        message = "Outside the departments you may address: %(names)s"
        return [FieldError("department_ids", message, names=", ".join(outside))]
    return []


def _check_users(session: Session, ids: Sequence[int], reach: Reach) -> list[FieldError]:
    stmt = select(User.id, User.name, User.department_id).where(User.id.in_(ids), User.is_active.is_(True))
    found = {uid: (name, dept) for uid, name, dept in session.execute(stmt).tuples()}
    missing = [i for i in ids if i not in found]
    if missing:
        return [FieldError("user_ids", "Unknown or inactive person: %(ids)s", ids=_ids(missing))]
    outside = [found[i][0] for i in ids if not reach.covers(found[i][1])]
    if outside:
        message = "Outside the departments you may address: %(names)s"
        return [FieldError("user_ids", message, names=", ".join(outside))]
    return []


def _ids(ids: Sequence[int]) -> str:
    return ", ".join(str(i) for i in ids)


def _condition(session: Session, audience: Audience) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    if audience.all:
        parts.append(true())
    if audience.department_ids:
        if audience.include_subdepartments:
            paths = session.scalars(select(Department.path).where(Department.id.in_(audience.department_ids)))
            ranges = [and_(*subtree_range(p)) for p in paths if p]
            if ranges:
                parts.append(User.department_id.in_(select(Department.id).where(or_(*ranges))))
        else:
            parts.append(User.department_id.in_(audience.department_ids))
    if audience.role_ids:
        parts.append(User.id.in_(select(UserRole.user_id).where(UserRole.role_id.in_(audience.role_ids))))
    if audience.user_ids:
        parts.append(User.id.in_(audience.user_ids))
    return or_(*parts) if parts else false()


def resolve(session: Session, audience: Audience, reach: Reach) -> list[tuple[int, int | None]]:
    """The active people `audience` reaches within `reach`: (user id, department id), by user id."""
    stmt = (
        select(User.id, User.department_id)
        .where(User.is_active.is_(True), _condition(session, audience), reach.condition(User.department_id))
        .order_by(User.id)
    )
    return [(uid, dept) for uid, dept in session.execute(stmt).tuples()]


def _names(session: Session, model: Any, ids: Sequence[int]) -> list[str]:
    by_id = {i: name for i, name in session.execute(select(model.id, model.name).where(model.id.in_(ids)))}
    return [by_id[i] for i in ids if i in by_id]


def names(session: Session, audience: Audience) -> dict[str, list[str]]:
    """The audience's parts by name, to keep with the announcement when it is published."""
    found: dict[str, list[str]] = {}
    if audience.department_ids:
        found["departments"] = _names(session, Department, audience.department_ids)
    if audience.role_ids:
        found["roles"] = _names(session, Role, audience.role_ids)
    if audience.user_ids:
        found["users"] = _names(session, User, audience.user_ids)
    return found
