"""Who may handle a node (WF-4): the candidates of its `kefu:assign` rules, and auto dispatch.

Rules are a union; only active users count. Rules that look at the past (`previous_handler`,
`node_handler`, `node_department`) read this instance's `FlowEvent` history, so they work the same
after the instance was restored from the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from kefu.org.models import Department, Role, User, UserGroup, UserRole
from kefu.workflow.engine import AssignRule, NodeSettings
from kefu.workflow.runtime.models import ACTIVE_TASK, EventAction, FlowEvent, FlowInstance, FlowTask

# Walking up the department tree stops here even if `parent_id` loops (bad data must not hang a step).
MAX_TREE_DEPTH = 32


@dataclass(frozen=True)
class Candidate:
    """An active user a node's rules name, with their department and open+claimed task count."""

    user_id: int
    department_id: int | None
    load: int


def candidates(
    session: Session, *, node: NodeSettings, instance: FlowInstance, exclude: Iterable[int] = ()
) -> list[int]:
    """The active users the node's rules name for `instance`, sorted by id, minus `exclude`."""
    return [c.user_id for c in ranked(session, node=node, instance=instance, exclude=exclude)]


def ranked(
    session: Session, *, node: NodeSettings, instance: FlowInstance, exclude: Iterable[int] = ()
) -> list[Candidate]:
    """The candidates with their load, sorted by user id — one query whatever the rules."""
    conditions = [c for rule in node.assign if (c := _rule_condition(session, rule, instance)) is not None]
    if not conditions:
        return []
    load = (
        select(func.count())
        .where(FlowTask.assignee_id == User.id, FlowTask.status.in_(ACTIVE_TASK))
        .correlate(User)
        .scalar_subquery()
    )
    stmt = select(User.id, User.department_id, load).where(User.is_active.is_(True), or_(*conditions))
    excluded = [u for u in exclude if u is not None]
    if excluded:
        stmt = stmt.where(User.id.not_in(excluded))
    rows = session.execute(stmt.order_by(User.id)).tuples()
    return [Candidate(user_id, department_id, int(n or 0)) for user_id, department_id, n in rows]


def in_department(session: Session, department_id: int) -> list[Candidate]:
    """The active members of a department with their load (a transfer to a department)."""
    load = (
        select(func.count())
        .where(FlowTask.assignee_id == User.id, FlowTask.status.in_(ACTIVE_TASK))
        .correlate(User)
        .scalar_subquery()
    )
    stmt = select(User.id, User.department_id, load).where(
        User.is_active.is_(True), User.department_id == department_id
    )
    rows = session.execute(stmt.order_by(User.id)).tuples()
    return [Candidate(user_id, dept, int(n or 0)) for user_id, dept, n in rows]


def least_loaded(found: list[Candidate]) -> Candidate | None:
    """Auto dispatch: the fewest open or claimed tasks; ties go to the lowest user id (deterministic)."""
    return min(found, key=lambda c: (c.load, c.user_id), default=None)


def _rule_condition(session: Session, rule: AssignRule, instance: FlowInstance) -> ColumnElement[bool] | None:
    """The rule as a condition on `User` (None: the rule names nobody for this instance)."""
    match rule.kind:
        case "role":
            holders = (
                select(UserRole.user_id).join(Role, Role.id == UserRole.role_id).where(Role.code == rule.ref)
            )
            return User.id.in_(holders)
        case "department":
            return User.department_id.in_(select(Department.id).where(Department.code == rule.ref))
        case "user":
            return User.username == rule.ref
        case "group":
            holders = (
                select(UserRole.user_id)
                .join(Role, Role.id == UserRole.role_id)
                .join(UserGroup, UserGroup.id == Role.group_id)
                .where(UserGroup.code == rule.ref)
            )
            return User.id.in_(holders)
        case "initiator":
            return User.id == instance.initiator_id if instance.initiator_id else None
        case "submitter_supervisor":
            supervisor = department_supervisor(session, instance.initiator_department_id)
            return User.id == supervisor if supervisor else None
        case "previous_handler":
            return User.id == _last_completion(instance, None, FlowEvent.actor_id)
        case "handling_department":
            dept = instance.handling_department_id
            return User.department_id == dept if dept is not None else None
        case "node_handler":
            return User.id == _last_completion(instance, rule.ref, FlowEvent.actor_id)
        case "node_department":
            return User.department_id == _last_completion(instance, rule.ref, FlowEvent.department_id)
    return None


def _last_completion(instance: FlowInstance, node_id: str | None, column: Any) -> Any:
    """A scalar subquery: `column` of the latest completion by a person (of `node_id`) in this instance."""
    stmt = select(column).where(
        FlowEvent.instance_id == instance.id,
        FlowEvent.action == EventAction.COMPLETED,
        FlowEvent.actor_id.is_not(None),
    )
    if node_id is not None:
        stmt = stmt.where(FlowEvent.node_id == node_id)
    return stmt.order_by(FlowEvent.id.desc()).limit(1).scalar_subquery()


def last_handler(session: Session, instance: FlowInstance, node_id: str) -> int | None:
    """Who completed `node_id` most recently in this instance (for a return: 退回 goes back to them)."""
    return session.scalar(select(_last_completion(instance, node_id, FlowEvent.actor_id)))


def department_supervisor(session: Session, department_id: int | None) -> int | None:
    """The active supervisor of the department, or of the nearest ancestor that has one."""
    seen = 0
    while department_id is not None and seen < MAX_TREE_DEPTH:
        dept = session.get(Department, department_id)
        if dept is None:
            return None
        if dept.supervisor_id is not None:
            user = session.get(User, dept.supervisor_id)
            if user is not None and user.is_active:
                return user.id
        department_id = dept.parent_id
        seen += 1
    return None


def active_user_ids(session: Session, user_ids: Iterable[object]) -> list[int]:
    """The given ids that are active users (countersigners supplied as data), in the given order."""
    ids = [u for u in user_ids if isinstance(u, int) and not isinstance(u, bool)]
    if not ids:
        return []
    found = set(session.scalars(select(User.id).where(User.id.in_(ids), User.is_active.is_(True))))
    return [u for u in dict.fromkeys(ids) if u in found]


def home_department(session: Session, *, node: NodeSettings, instance: FlowInstance) -> int | None:
    """The department an unassigned task belongs to: that of the node's first department rule,
    else the initiator's (data scope `department` sees pool and dispatch tasks through it)."""
    for rule in node.assign:
        if rule.kind == "department" and rule.ref:
            found = session.scalar(select(Department.id).where(Department.code == rule.ref))
            if found is not None:
                return found
        if rule.kind == "handling_department" and instance.handling_department_id is not None:
            return instance.handling_department_id
    return instance.initiator_department_id


def user_department(session: Session, user_id: int | None) -> int | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    return user.department_id if user is not None else None
