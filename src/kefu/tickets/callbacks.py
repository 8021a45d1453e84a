"""Callback work (回访, TKT-16): team leaders hand finished tickets to callers, who phone the customer
and record the result with a satisfaction level, or why the customer was not reached.

A ticket has at most one *live* callback (pending, unreached or done); a cancelled one does not count,
so the ticket can be assigned again. An unreached callback goes back to pending with `retry`.

Who sees what: everyone sees the callbacks assigned to them; `tickets.callback.view` and
`tickets.callback.assign` widen that to the tickets within their data scope (handling department,
or the tickets one registered). Missing and out of scope look the same (404); visible but not one's to
act on is 403.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, Text, cast, exists, func, or_, select, true
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from kefu.audit import service as audit
from kefu.core import clock, i18n
from kefu.core.errors import Conflict, FieldError, NotFound, PermissionDenied
from kefu.core.permissions import Actor, restrict
from kefu.notices.service import notify
from kefu.org.config.dictionary_cache import items as dictionary_items
from kefu.org.models import Role, User, UserRole
from kefu.tickets import permissions as _permissions  # noqa: F401 — registers tickets.callback
from kefu.tickets.models import CallbackStatus, CallbackTask, Ticket, TicketLog, TicketStatus

FUNCTION = "tickets.callback"
VIEW, ASSIGN, HANDLE = f"{FUNCTION}.view", f"{FUNCTION}.assign", f"{FUNCTION}.handle"
LIVE = (CallbackStatus.PENDING, CallbackStatus.UNREACHED, CallbackStatus.DONE)
OPEN = (CallbackStatus.PENDING, CallbackStatus.UNREACHED)
SATISFACTION, NOT_REACHED_REASON = "satisfaction", "not_reached_reason"
RESULT_MAX = 4000
MAX_TICKETS = 1000
LINK = "/tickets/callbacks"
KIND = "callback"
TARGET_TYPE = "ticket_callback"
FIELDS = ("ticket_id", "assignee_id", "status", "attempts", "satisfaction", "result", "not_reached_reason")

Mode = Literal["even", "sample"]
Box = Literal["mine", "all"]


@dataclass(frozen=True)
class Candidate:
    """A finished ticket offered for callback, with the status of its live callback (None: none yet)."""

    ticket: Ticket
    callback_status: CallbackStatus | None


# --- scope ------------------------------------------------------------------------------------------


def _ticket_scope(actor: Actor, permission: str) -> ColumnElement[bool]:
    """The tickets `permission`'s data scope reaches, as a condition on Ticket's columns."""
    stmt = restrict(
        select(Ticket.id), actor, permission, department=Ticket.department_id, owner=Ticket.creator_id
    )
    return stmt.whereclause if stmt.whereclause is not None else true()


def _visible(actor: Actor) -> ColumnElement[bool]:
    """Callbacks `actor` may see (the query must join Ticket): their own, or tickets in scope."""
    conditions: list[ColumnElement[bool]] = [CallbackTask.assignee_id == actor.user.id]
    conditions += [_ticket_scope(actor, p) for p in (VIEW, ASSIGN) if actor.can(p)]
    return or_(*conditions)


def _in_scope(session: Session, actor: Actor, permission: str, ticket_id: int) -> bool:
    stmt = select(Ticket.id).where(Ticket.id == ticket_id, _ticket_scope(actor, permission))
    return actor.can(permission) and session.scalar(stmt) is not None


def _listing(stmt: Select[Any]) -> Select[Any]:
    return stmt.join(Ticket, Ticket.id == CallbackTask.ticket_id).options(joinedload(CallbackTask.ticket))


def get_callback(session: Session, actor: Actor, task_id: int) -> CallbackTask:
    """The callback if `actor` may see it, else 404."""
    stmt = _listing(select(CallbackTask)).where(CallbackTask.id == task_id, _visible(actor))
    task = session.scalars(stmt).first()
    if task is None:
        raise NotFound()
    return task


# --- reading ----------------------------------------------------------------------------------------


def _local_day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=clock.local_tz())


def _live_callback_exists() -> ColumnElement[bool]:
    return exists().where(CallbackTask.ticket_id == Ticket.id, CallbackTask.status.in_(LIVE))


def candidates(
    session: Session,
    actor: Actor,
    *,
    closed_from: date,
    closed_to: date,
    type_id: int | None = None,
    department_id: int | None = None,
    only_without_callback: bool = True,
    limit: int = 200,
) -> list[Candidate]:
    """Closed tickets within `actor`'s assign scope, closed on the local days `closed_from` ..
    `closed_to` (both included), oldest first; without a live callback unless asked."""
    if not actor.can(ASSIGN):
        raise PermissionDenied()
    if closed_to < closed_from:
        raise FieldError("closed_to", "The end is before the start")
    stmt = select(Ticket).where(
        Ticket.status == TicketStatus.CLOSED,
        Ticket.closed_at >= _local_day_start(closed_from),
        Ticket.closed_at < _local_day_start(closed_to + timedelta(days=1)),
        _ticket_scope(actor, ASSIGN),
    )
    if type_id is not None:
        stmt = stmt.where(Ticket.type_id == type_id)
    if department_id is not None:
        stmt = stmt.where(Ticket.department_id == department_id)
    if only_without_callback:
        stmt = stmt.where(~_live_callback_exists())
    tickets = list(session.scalars(stmt.order_by(Ticket.closed_at, Ticket.id).limit(limit)))
    status = _live_status(session, [t.id for t in tickets]) if not only_without_callback else {}
    return [Candidate(ticket=t, callback_status=status.get(t.id)) for t in tickets]


def _live_status(session: Session, ticket_ids: Sequence[int]) -> dict[int, CallbackStatus]:
    if not ticket_ids:
        return {}
    stmt = select(CallbackTask.ticket_id, CallbackTask.status).where(
        CallbackTask.ticket_id.in_(ticket_ids), CallbackTask.status.in_(LIVE)
    )
    return {ticket_id: status for ticket_id, status in session.execute(stmt).tuples()}


def list_callbacks(
    session: Session,
    actor: Actor,
    *,
    box: Box = "mine",
    status: CallbackStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[CallbackTask]:
    """`mine`: assigned to me; `all`: every callback I may see. Newest first, with their tickets."""
    stmt = _listing(select(CallbackTask))
    if box == "mine":
        stmt = stmt.where(CallbackTask.assignee_id == actor.user.id)
    else:
        stmt = stmt.where(_visible(actor))
    if status is not None:
        stmt = stmt.where(CallbackTask.status == status)
    stmt = stmt.order_by(CallbackTask.created_at.desc(), CallbackTask.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(stmt))


def callers(session: Session, actor: Actor, user_ids: Sequence[int] | None = None) -> list[User]:
    """Active people within `actor`'s assign scope who may handle callbacks, by name."""
    if not actor.can(ASSIGN):
        return []
    grants_handle = exists().where(
        UserRole.user_id == User.id,
        UserRole.role_id == Role.id,
        # A coarse filter in SQL; `_handles` checks the role's group exactly.
        or_(Role.all_permissions.is_(True), cast(Role.permissions, Text).like(f'%"{HANDLE}"%')),
    )
    stmt = select(User).where(User.is_active.is_(True), grants_handle)
    if user_ids is not None:
        stmt = stmt.where(User.id.in_(user_ids))
    stmt = restrict(stmt, actor, ASSIGN, department=User.department_id, owner=User.id)
    stmt = stmt.options(selectinload(User.roles).selectinload(Role.group)).order_by(User.name, User.id)
    return [u for u in session.scalars(stmt) if _handles(u)]


def _handles(user: User) -> bool:
    return any(
        role.all_permissions or (HANDLE in role.permissions and FUNCTION in role.group.functions)
        for role in user.roles
    )


# --- writing ----------------------------------------------------------------------------------------


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise Conflict("Someone else changed this callback meanwhile; reload and try again") from None


def _check_version(task: CallbackTask, version: int | None) -> None:
    if version is not None and version != task.lock_version:
        raise Conflict("Someone else changed this callback meanwhile; reload and try again")


def _audit(
    session: Session,
    actor: Actor,
    action: str,
    task: CallbackTask,
    *,
    before: dict[str, Any] | None = None,
    summary: str = "",
) -> None:
    after = audit.snapshot(task, FIELDS)
    if before is not None:
        before, after = audit.diff(before, after)
    audit.record(
        session,
        actor=actor,
        action=f"callback.{action}",
        function=FUNCTION,
        target=task,
        target_type=TARGET_TYPE,
        target_label=task.ticket.serial,
        summary=summary,
        before=before,
        after=after,
    )


def _check_callers(session: Session, actor: Actor, field: str, user_ids: Sequence[int]) -> list[int]:
    """`user_ids` (order kept, duplicates dropped) if each is an active caller within scope."""
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        raise FieldError(field, "Choose at least one caller")
    found = {u.id for u in callers(session, actor, wanted)}
    refused = [str(u) for u in wanted if u not in found]
    if refused:
        raise FieldError(field, "Unknown or inactive caller: %(ids)s", ids=", ".join(refused))
    return wanted


def _spread(ticket_ids: Sequence[int], loads: dict[int, int], assignee_ids: Sequence[int]) -> dict[int, int]:
    """Ticket id → assignee: each ticket to whoever has least pending work, ties in the given order."""
    heap = [(loads.get(uid, 0), position, uid) for position, uid in enumerate(assignee_ids)]
    heapq.heapify(heap)
    plan: dict[int, int] = {}
    for ticket_id in ticket_ids:
        load, position, uid = heapq.heappop(heap)
        plan[ticket_id] = uid
        heapq.heappush(heap, (load + 1, position, uid))
    return plan


def assign(
    session: Session,
    actor: Actor,
    *,
    ticket_ids: Sequence[int],
    assignee_ids: Sequence[int],
    mode: Mode = "even",
    sample_percent: int | None = None,
    seed: int | None = None,
) -> list[CallbackTask]:
    """Create callback work for closed tickets and hand it to callers (a team leader's action).

    `even`: every chosen ticket, spread over the callers, least pending work first (round robin).
    `sample`: a random `sample_percent` % of the chosen tickets (at least one), spread the same way;
    `seed` makes the draw repeatable. Each caller gets one message. FieldError (`ticket_ids`) for a
    ticket that is not closed, outside the scope, or already has a live callback.
    """
    if not actor.can(ASSIGN):
        raise PermissionDenied()
    wanted = sorted(set(ticket_ids))
    if not wanted:
        raise FieldError("ticket_ids", "Choose at least one ticket")
    if len(wanted) > MAX_TICKETS:
        raise FieldError("ticket_ids", "Choose at most %(n)s tickets", n=MAX_TICKETS)
    if mode not in ("even", "sample"):
        raise FieldError("mode", "Choose one of: %(choices)s", choices="even, sample")
    if mode == "sample" and (sample_percent is None or not 1 <= sample_percent <= 100):
        raise FieldError("sample_percent", "Enter a percentage from 1 to 100")
    people = _check_callers(session, actor, "assignee_ids", assignee_ids)
    # Row locks (PostgreSQL) keep two leaders from assigning the same ticket at once.
    stmt = select(Ticket).where(Ticket.id.in_(wanted), _ticket_scope(actor, ASSIGN)).with_for_update()
    tickets = {t.id: t for t in session.scalars(stmt)}
    unknown = [str(i) for i in wanted if i not in tickets]
    if unknown:
        raise FieldError("ticket_ids", "No such ticket: %(ids)s", ids=", ".join(unknown))
    not_closed = [t.serial for t in tickets.values() if t.status != TicketStatus.CLOSED]
    if not_closed:
        raise FieldError("ticket_ids", "Not closed yet: %(serials)s", serials=", ".join(not_closed))
    taken = _live_status(session, wanted)
    if taken:
        serials = ", ".join(tickets[i].serial for i in sorted(taken))
        raise FieldError("ticket_ids", "Callback already assigned: %(serials)s", serials=serials)
    if mode == "sample":
        assert sample_percent is not None
        count = max(1, math.ceil(len(wanted) * sample_percent / 100))
        wanted = sorted(random.Random(seed).sample(wanted, count))
    pending = select(CallbackTask.assignee_id, func.count()).where(
        CallbackTask.assignee_id.in_(people), CallbackTask.status == CallbackStatus.PENDING
    )
    loads = {uid: n for uid, n in session.execute(pending.group_by(CallbackTask.assignee_id)).tuples() if uid}
    plan = _spread(wanted, loads, people)
    tasks = []
    for ticket_id, assignee_id in plan.items():
        task = CallbackTask(ticket=tickets[ticket_id], assignee_id=assignee_id, assigned_by_id=actor.user.id)
        session.add(task)
        tasks.append(task)
    session.flush()
    for task in tasks:
        _audit(session, actor, "assign", task, summary=f"{mode}: {task.ticket.serial} → {task.assignee_id}")
    for uid in people:
        mine = [t for t in tasks if t.assignee_id == uid]
        if mine:
            _notify_assigned(session, actor, uid, mine)
    return tasks


def _notify_assigned(session: Session, actor: Actor, user_id: int, tasks: Sequence[CallbackTask]) -> None:
    serials = ", ".join(t.ticket.serial for t in tasks[:10]) + (" …" if len(tasks) > 10 else "")
    notify(
        session,
        user_ids=[user_id],
        title=i18n.gettext("Callbacks assigned to you: %(count)s") % {"count": len(tasks)},
        body=serials,
        link=LINK,
        kind=KIND,
        target_type=TARGET_TYPE,
        target_id=str(tasks[0].id),
        sender=actor,
    )


def _dictionary_code(session: Session, field: str, dictionary: str, value: str | None) -> str:
    code = (value or "").strip()
    if not code:
        raise FieldError(field, "This field is required")
    if code not in {item.code for item in dictionary_items(session, dictionary)}:
        raise FieldError(field, "Choose one of the offered values")
    return code


def record_result(
    session: Session,
    actor: Actor,
    task: CallbackTask,
    *,
    reached: bool,
    satisfaction: str | None = None,
    result: str = "",
    not_reached_reason: str | None = None,
    version: int,
) -> CallbackTask:
    """The assignee records one call: reached (a `satisfaction` code required; done) or not reached
    (a `not_reached_reason` code required; unreached, can be retried). The field of the other case
    is ignored. Every call counts in `attempts` and goes into the ticket's processing log."""
    if not actor.can(HANDLE) or task.assignee_id != actor.user.id:
        raise PermissionDenied()
    _check_version(task, version)
    if task.status != CallbackStatus.PENDING:
        raise Conflict("This callback is not waiting for a result")
    text = (result or "").strip()
    if len(text) > RESULT_MAX:
        raise FieldError("result", "Enter at most %(n)s characters", n=RESULT_MAX)
    before = audit.snapshot(task, FIELDS)
    if reached:
        task.satisfaction = _dictionary_code(session, "satisfaction", SATISFACTION, satisfaction)
        task.not_reached_reason = None
        task.status = CallbackStatus.DONE
    else:
        task.not_reached_reason = _dictionary_code(
            session, "not_reached_reason", NOT_REACHED_REASON, not_reached_reason
        )
        task.satisfaction = None
        task.status = CallbackStatus.UNREACHED
    task.result = text
    task.attempts += 1
    task.completed_at = clock.now()
    _flush(session)
    session.add(
        TicketLog(
            ticket_id=task.ticket_id,
            user_id=actor.user.id,
            department_id=actor.user.department_id,
            action="callback",
            state=task.status.value,
            comment=text,
            detail={
                "callback_id": task.id,
                "reached": reached,
                "satisfaction": task.satisfaction,
                "not_reached_reason": task.not_reached_reason,
            },
        )
    )
    _audit(session, actor, "result", task, before=before)
    return task


def _require_open(task: CallbackTask) -> None:
    if task.status not in OPEN:
        raise Conflict("This callback is finished")


def retry(session: Session, actor: Actor, task: CallbackTask, *, version: int | None = None) -> CallbackTask:
    """Put an unreached callback back to pending: its assignee, or a team leader with the ticket in scope."""
    own = actor.can(HANDLE) and task.assignee_id == actor.user.id
    if not own and not _in_scope(session, actor, ASSIGN, task.ticket_id):
        raise PermissionDenied()
    _check_version(task, version)
    if task.status != CallbackStatus.UNREACHED:
        raise Conflict("Only callbacks that did not reach the customer can be retried")
    before = audit.snapshot(task, FIELDS)
    task.status = CallbackStatus.PENDING
    _flush(session)
    _audit(session, actor, "retry", task, before=before)
    if task.assignee_id is not None and task.assignee_id != actor.user.id:
        _notify_assigned(session, actor, task.assignee_id, [task])
    return task


def reassign(
    session: Session, actor: Actor, task: CallbackTask, assignee_id: int, *, version: int | None = None
) -> CallbackTask:
    """Give an open callback to another caller (a team leader with the ticket in scope); they are told."""
    if not _in_scope(session, actor, ASSIGN, task.ticket_id):
        raise PermissionDenied()
    _check_version(task, version)
    _require_open(task)
    (new,) = _check_callers(session, actor, "assignee_id", [assignee_id])
    if new == task.assignee_id:
        raise FieldError("assignee_id", "The callback is already assigned to this person")
    before = audit.snapshot(task, FIELDS)
    task.assignee_id = new
    task.assigned_by_id = actor.user.id
    _flush(session)
    _audit(session, actor, "reassign", task, before=before)
    _notify_assigned(session, actor, new, [task])
    return task


def cancel(session: Session, actor: Actor, task: CallbackTask, *, version: int | None = None) -> CallbackTask:
    """Withdraw an open callback (a team leader with the ticket in scope); the ticket is free again."""
    if not _in_scope(session, actor, ASSIGN, task.ticket_id):
        raise PermissionDenied()
    _check_version(task, version)
    _require_open(task)
    before = audit.snapshot(task, FIELDS)
    task.status = CallbackStatus.CANCELLED
    task.completed_at = clock.now()
    _flush(session)
    _audit(session, actor, "cancel", task, before=before)
    return task


__all__ = [
    "ASSIGN",
    "FUNCTION",
    "HANDLE",
    "VIEW",
    "Candidate",
    "assign",
    "callers",
    "cancel",
    "candidates",
    "get_callback",
    "list_callbacks",
    "reassign",
    "record_result",
    "retry",
]


def record_survey_result(
    session: Session, *, ticket_id: int, satisfaction: str, note: str, source: dict[str, Any]
) -> None:
    """An automated survey (an outbound campaign's DTMF answers) reached the customer of a ticket.

    The survey is the callback: an open callback of the ticket (pending or unreached) is completed
    with the answer; a ticket without a live callback gets a completed one (no assignee: a dialler
    made the call); a callback a person already completed keeps its answer. Either way the ticket's
    processing log says what the customer answered. `source` (e.g. the campaign and target ids)
    goes into the log entry and the audit summary.
    """
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        return
    now = clock.now()
    task = session.scalars(
        select(CallbackTask)
        .where(CallbackTask.ticket_id == ticket.id, CallbackTask.status.in_(LIVE))
        .order_by(CallbackTask.id.desc())
    ).first()
    if task is None or task.status != CallbackStatus.DONE:
        before = audit.snapshot(task, FIELDS) if task is not None else None
        if task is None:
            task = CallbackTask(ticket_id=ticket.id, status=CallbackStatus.DONE, attempts=0)
            session.add(task)
        task.status, task.satisfaction, task.not_reached_reason = CallbackStatus.DONE, satisfaction, None
        task.result = note[:RESULT_MAX]
        task.attempts = (task.attempts or 0) + 1
        task.completed_at = now
        session.flush()
        after = audit.snapshot(task, FIELDS)
        if before is not None:
            before, after = audit.diff(before, after)
        audit.record(
            session,
            actor=None,
            action="callback.result",
            function=FUNCTION,
            target=task,
            target_type=TARGET_TYPE,
            target_label=ticket.serial,
            summary=", ".join(f"{k} {v}" for k, v in source.items()),
            before=before,
            after=after,
        )
    session.add(
        TicketLog(
            ticket_id=ticket.id,
            at=now,
            action="callback",
            state=CallbackStatus.DONE.value,
            comment=note[:2000],
            detail={"callback_id": task.id, "reached": True, "satisfaction": satisfaction, **source},
        )
    )
    session.flush()
