"""Reading tickets: the personal workbench boxes (个人工作台, TKT-6) with their counts, and one ticket
with everything its detail page shows — including the actions the reader may take right now.

Boxes: `todo` (a step assigned to me, overdue first), `pool` (grab steps I may take), `dispatch`
(steps waiting for dispatch within my dispatch scope), `done` (steps I completed), `created` (I
registered), `tracked` (I follow), `all` (every ticket I may see).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from kefu.core import clock
from kefu.core.permissions import Actor
from kefu.customers.contacts.models import ContactRecord, ContactTicket
from kefu.org.models import Department, User
from kefu.tickets import access, service
from kefu.tickets.models import Ticket, TicketAttachment, TicketLog, TicketStatus, TicketTracking
from kefu.workflow.runtime import access as task_access
from kefu.workflow.runtime.models import ACTIVE_TASK, FlowInstance, FlowTask, FlowTaskCandidate, TaskStatus

BOXES = ("todo", "pool", "dispatch", "done", "created", "tracked", "all")
DISPATCH = service.DISPATCH


@dataclass
class Row:
    ticket: Ticket
    task: FlowTask | None = None

    @property
    def due_at(self) -> datetime | None:
        return self.task.due_at if self.task is not None and self.task.due_at else self.ticket.due_at

    @property
    def overdue(self) -> bool:
        due = self.due_at
        return due is not None and due < clock.now() and self.ticket.is_active


def _task_box(actor: Actor, box: str) -> Select[Any]:
    uid = actor.user.id
    stmt = select(Ticket, FlowTask).join(FlowTask, FlowTask.instance_id == Ticket.flow_instance_id)
    active = FlowTask.status.in_(ACTIVE_TASK)
    if box == "todo":
        return stmt.where(FlowTask.assignee_id == uid, active)
    if box == "pool":
        return stmt.where(
            FlowTask.dispatch == "grab",
            FlowTask.assignee_id.is_(None),
            active,
            exists().where(FlowTaskCandidate.task_id == FlowTask.id, FlowTaskCandidate.user_id == uid),
        )
    # dispatch: unassigned steps in my dispatch scope (by the step's department)
    scope = task_access.scope_condition(actor, DISPATCH, FlowTask.department_id)
    own = access.condition(actor)
    reach = own if scope is None else or_(scope, own)
    return stmt.where(FlowTask.assignee_id.is_(None), active, reach)


def _ticket_box(session: Session, actor: Actor, box: str) -> Select[Any]:
    uid = actor.user.id
    if box == "created":
        return select(Ticket).where(Ticket.creator_id == uid)
    if box == "tracked":
        return select(Ticket).where(
            exists().where(
                TicketTracking.ticket_id == Ticket.id,
                TicketTracking.user_id == uid,
                TicketTracking.active.is_(True),
            )
        )
    if box == "done":
        completed = (
            select(FlowTask.instance_id)
            .where(FlowTask.completed_by_id == uid, FlowTask.status == TaskStatus.COMPLETED)
            .scalar_subquery()
        )
        mine = select(FlowInstance.subject_id).where(
            FlowInstance.subject_type == access.SUBJECT, FlowInstance.id.in_(completed)
        )
        return select(Ticket).where(Ticket.id.in_(mine))
    return access.restrict(select(Ticket), actor)


def workbench(
    session: Session, actor: Actor, *, box: str, limit: int = 50, offset: int = 0, status: str | None = None
) -> list[Row]:
    if box in ("todo", "pool", "dispatch"):
        stmt = _task_box(actor, box)
        due = FlowTask.due_at
        stmt = stmt.order_by(case((due.is_(None), 1), else_=0), due, FlowTask.id)
        return [Row(t, task) for t, task in session.execute(stmt.limit(limit).offset(offset)).tuples()]
    stmt = _ticket_box(session, actor, box)
    if status:
        stmt = stmt.where(Ticket.status == status)
    if box == "tracked":
        stmt = stmt.order_by(case((Ticket.due_at.is_(None), 1), else_=0), Ticket.due_at, Ticket.id.desc())
    else:
        stmt = stmt.order_by(Ticket.id.desc())
    return [Row(t) for t in session.scalars(stmt.limit(limit).offset(offset))]


def counts(session: Session, actor: Actor) -> dict[str, int]:
    """How many are waiting in each working box (todo, pool, dispatch, tracked)."""
    found: dict[str, int] = {}
    todo = _task_box(actor, "todo").with_only_columns(
        func.count(FlowTask.id), func.count(FlowTask.id).filter(FlowTask.due_at < clock.now())
    )
    found["todo"], found["overdue"] = (int(n or 0) for n in session.execute(todo).one())
    for box in ("pool", "dispatch"):
        stmt = _task_box(actor, box).with_only_columns(func.count(FlowTask.id))
        found[box] = int(session.scalar(stmt) or 0)
    tracked = _ticket_box(session, actor, "tracked").with_only_columns(func.count(Ticket.id))
    found["tracked"] = int(session.scalar(tracked) or 0)
    return found


# --- one ticket ----------------------------------------------------------------------------------------


@dataclass
class Action:
    # accept, complete, reply, transfer, hand_back, dispatch, suspend, resume, cancel, reopen, urge,
    # track, follow_up
    code: str
    task_id: int | None = None
    states: list[tuple[str, str]] = field(default_factory=list)


def actions(session: Session, actor: Actor, ticket: Ticket) -> list[Action]:
    """What `actor` may do on `ticket` right now (the action area shows exactly these)."""
    found: list[Action] = []
    uid = actor.user.id
    tasks = service.active_tasks(session, ticket)
    running = ticket.status is TicketStatus.OPEN
    if running and actor.can(service.HANDLE):
        for task in tasks:
            if task.assignee_id == uid:
                if task.claimed_at is None:
                    found.append(Action("accept", task.id))
                found.append(Action("complete", task.id, _states(ticket, task)))
                found.append(Action("reply", task.id))
                if task.participant is None:
                    found.append(Action("transfer", task.id))
                found.append(Action("hand_back", task.id))
            elif task.assignee_id is None and task.dispatch == "grab" and uid in task.candidate_ids:
                found.append(Action("accept", task.id))
    if running and actor.can(service.DISPATCH) and access.in_scope(session, actor, ticket, service.DISPATCH):
        for task in tasks:
            if task.participant is None and task.assignee_id != uid:
                found.append(Action("dispatch", task.id))
                found.append(Action("transfer", task.id))
    if actor.can(service.MANAGE) and access.in_scope(session, actor, ticket, service.MANAGE):
        if running:
            found.append(Action("suspend"))
        if ticket.status is TicketStatus.SUSPENDED:
            found.append(Action("resume"))
        if ticket.is_active:
            found.append(Action("cancel"))
        if ticket.status is TicketStatus.CLOSED:
            found.append(Action("reopen"))
    if ticket.is_active and actor.can(service.URGE) and uid not in {t.assignee_id for t in tasks}:
        found.append(Action("urge"))
    if actor.can(service.TRACK):
        tracking = session.scalar(
            select(TicketTracking.active).where(
                TicketTracking.ticket_id == ticket.id, TicketTracking.user_id == uid
            )
        )
        if tracking:
            found.append(Action("follow_up"))
        elif ticket.is_active:
            found.append(Action("track"))
    return found


def _states(ticket: Ticket, task: FlowTask) -> list[tuple[str, str]]:
    version = task.instance.version
    raw = (version.nodes or {}).get(task.node_id, {})
    states = [(s["code"], s.get("label") or s["code"]) for s in raw.get("states", [])]
    return states or [("done", "done")]


@dataclass
class LogLine:
    entry: TicketLog
    user_name: str
    department_name: str


def log(session: Session, ticket: Ticket) -> list[LogLine]:
    rows = session.execute(
        select(TicketLog, User.name, Department.name)
        .outerjoin(User, User.id == TicketLog.user_id)
        .outerjoin(Department, Department.id == TicketLog.department_id)
        .where(TicketLog.ticket_id == ticket.id)
        .order_by(TicketLog.id)
    ).tuples()
    return [LogLine(entry, name or "", dept or "") for entry, name, dept in rows]


def attachments(session: Session, ticket: Ticket) -> list[TicketAttachment]:
    stmt = (
        select(TicketAttachment).where(TicketAttachment.ticket_id == ticket.id).order_by(TicketAttachment.id)
    )
    return list(session.scalars(stmt))


def names(session: Session, user_ids: set[int | None]) -> dict[int, str]:
    ids = [u for u in user_ids if u is not None]
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).tuples().all())


def by_serial(session: Session, actor: Actor, serial: str) -> Ticket | None:
    return session.scalars(access.restrict(select(Ticket).where(Ticket.serial == serial), actor)).first()


@dataclass
class ContactLine:
    record: ContactRecord
    agent_name: str
    # The call of a phone contact that has a recording (played in the detail), else None.
    recording_call_id: int | None = None


def contacts(session: Session, ticket: Ticket) -> list[ContactLine]:
    """The contact records (接触记录) linked to the ticket: the calls, emails, visits it came from or
    led to, newest first."""
    from kefu.callcenter.models import Call  # the call center builds on tickets, not the reverse

    recorded = or_(Call.recording_key != "", Call.recording_url != "")
    stmt = (
        select(ContactRecord, User.name, Call.id)
        .join(ContactTicket, ContactTicket.contact_id == ContactRecord.id)
        .outerjoin(User, User.id == ContactRecord.agent_id)
        .outerjoin(Call, and_(Call.contact_id == ContactRecord.id, recorded))
        .where(ContactTicket.ticket_id == ticket.id)
        .order_by(ContactRecord.started_at.desc(), ContactRecord.id.desc())
    )
    return [
        ContactLine(record, name or "", call_id) for record, name, call_id in session.execute(stmt).tuples()
    ]
