"""Which tickets an actor may see; missing and forbidden look the same (404).

Everyone sees the tickets they are part of: registered by them, handled now or before by them (a task
assigned to, offered to, or completed by them), tracked by them, or on their callback list. The data
scope of `tickets.ticket.view` widens that to the tickets handled by or registered in their
department, its subtree, or all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select, true
from sqlalchemy.orm import Session

from kefu.core.errors import NotFound
from kefu.core.permissions import Actor, subtree_range
from kefu.org.models import DataScope, Department
from kefu.tickets import permissions as _permissions  # noqa: F401 — registers tickets.*
from kefu.tickets.models import CallbackTask, Ticket, TicketTracking
from kefu.workflow.runtime.models import FlowInstance, FlowTask, FlowTaskCandidate

SUBJECT = "ticket"
VIEW = "tickets.ticket.view"


def _part_of(actor: Actor) -> ColumnElement[bool]:
    uid = actor.user.id
    involved = (
        select(FlowTask.id)
        .join(FlowInstance, FlowInstance.id == FlowTask.instance_id)
        .where(
            FlowInstance.subject_type == SUBJECT,
            FlowInstance.subject_id == Ticket.id,
            or_(
                FlowTask.assignee_id == uid,
                FlowTask.completed_by_id == uid,
                exists().where(FlowTaskCandidate.task_id == FlowTask.id, FlowTaskCandidate.user_id == uid),
            ),
        )
        .exists()
    )
    tracking = exists().where(TicketTracking.ticket_id == Ticket.id, TicketTracking.user_id == uid)
    callback = exists().where(CallbackTask.ticket_id == Ticket.id, CallbackTask.assignee_id == uid)
    return or_(Ticket.creator_id == uid, Ticket.handler_id == uid, involved, tracking, callback)


def scope_condition(actor: Actor, permission: str = VIEW) -> ColumnElement[bool] | None:
    """The tickets the scope of `permission` reaches (None: only one's own)."""
    scope = actor.scope(permission)
    if scope is None or scope is DataScope.OWN:
        return None
    if scope is DataScope.ALL:
        return true()
    if scope is DataScope.SUBTREE and actor.department_path:
        subtree = select(Department.id).where(*subtree_range(actor.department_path))
        return or_(Ticket.department_id.in_(subtree), Ticket.creator_department_id.in_(subtree))
    dept = actor.user.department_id
    if dept is None:
        return None
    return or_(Ticket.department_id == dept, Ticket.creator_department_id == dept)


def condition(actor: Actor, permission: str = VIEW) -> ColumnElement[bool]:
    extra = scope_condition(actor, permission)
    return _part_of(actor) if extra is None else or_(extra, _part_of(actor))


def restrict(stmt: Select[Any], actor: Actor, permission: str = VIEW) -> Select[Any]:
    return stmt.where(condition(actor, permission))


def in_scope(session: Session, actor: Actor, ticket: Ticket, permission: str) -> bool:
    """Whether `ticket` lies within the data scope of `permission`: `own` means a ticket one is part of."""
    scope = actor.scope(permission)
    if scope is None:
        return False
    if scope is DataScope.ALL:
        return True
    uid, dept = actor.user.id, actor.user.department_id
    if uid in (ticket.creator_id, ticket.handler_id):
        return True  # part of it, whatever the scope: no query needed
    if (
        scope in (DataScope.DEPARTMENT, DataScope.SUBTREE)
        and dept is not None
        and dept in (ticket.department_id, ticket.creator_department_id)
    ):
        return True
    if scope is not DataScope.OWN:
        reach = scope_condition(actor, permission)
        if reach is not None and session.scalar(select(Ticket.id).where(Ticket.id == ticket.id, reach)):
            return True
    return session.scalar(select(Ticket.id).where(Ticket.id == ticket.id, _part_of(actor))) is not None


def load(session: Session, actor: Actor, ticket_id: int) -> Ticket:
    """The ticket if `actor` may see it, else 404."""
    stmt = select(Ticket).where(and_(Ticket.id == ticket_id, condition(actor)))
    ticket = session.scalars(stmt).first()
    if ticket is None:
        raise NotFound()
    return ticket
