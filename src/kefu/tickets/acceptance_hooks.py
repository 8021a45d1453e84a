"""How a business acceptance order follows its ticket (TKT-15): its state and lock come from the flow.

The ticket service calls two hooks: `before_action` when an action begins to change a ticket (a
locked order refuses everyone but the lock holder: 409 naming them), and `on_flow_change` after every
step of the ticket's flow — also steps nobody asked for, such as a time-limit escalation — which
brings the order's row in line:

- the flow ended: done; the ticket was withdrawn: cancelled;
- the step the order stood at ended: its outcome is recorded (缴费确认 `paid`: the payment; 业务办理
  `done`: the reply; `reject`: the reason; `resubmit`: counted), and a rejection makes the order
  rejected until its next step ends;
- otherwise the order is locked while a person has taken its current step (claimed it from the pool,
  or accepted it), and pending while nobody has — so a lock ends by itself when its step completes.

Each change of state is written to the processing log and the audit log, attributed to whoever
acted on the ticket in this unit of work (none: the system).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock
from kefu.core.errors import Conflict
from kefu.core.permissions import Actor
from kefu.org.models import User
from kefu.tickets.acceptance_flows import DONE, PAID, REJECT, RESUBMIT
from kefu.tickets.acceptance_models import AcceptanceState, TicketAcceptance
from kefu.tickets.models import Ticket, TicketLog
from kefu.workflow.runtime.models import FlowInstance, FlowTask, InstanceStatus, TaskStatus

_MISSES = "kefu_acceptance_misses"  # session.info: ids of tickets known to be no acceptance order
_ACTORS = "kefu_acceptance_actors"  # session.info: ticket id → who acts on it in this unit of work

# Which states may follow which. Derived from the flow, so this is what the flows allow, checked in tests.
TRANSITIONS: dict[AcceptanceState, frozenset[AcceptanceState]] = {
    AcceptanceState.PENDING: frozenset(
        {
            AcceptanceState.LOCKED,  # a handler took the step
            AcceptanceState.PENDING,  # a step without a lock ended (payment confirmed by its assignee)
            AcceptanceState.REJECTED,  # rejected at an edited node without a pool
            AcceptanceState.DONE,
            AcceptanceState.CANCELLED,
        }
    ),
    AcceptanceState.LOCKED: frozenset(
        {
            AcceptanceState.PENDING,  # unlocked, or the locked step completed
            AcceptanceState.REJECTED,
            AcceptanceState.DONE,
            AcceptanceState.CANCELLED,
        }
    ),
    AcceptanceState.REJECTED: frozenset(
        {AcceptanceState.PENDING, AcceptanceState.LOCKED, AcceptanceState.CANCELLED}
    ),
    AcceptanceState.DONE: frozenset({AcceptanceState.PENDING}),  # the ticket was reopened
    AcceptanceState.CANCELLED: frozenset(),
}
LOG_ACTIONS: dict[AcceptanceState, str] = {state: f"acceptance_{state.value}" for state in AcceptanceState}


def find(session: Session, ticket_id: int) -> TicketAcceptance | None:
    """The order row of a ticket (None: the ticket is no acceptance order). Within one unit of work a
    ticket found to be none is not looked up again, so other tickets pay one primary-key read."""
    misses: set[int] = session.info.setdefault(_MISSES, set())
    if ticket_id in misses:
        return None
    row = session.get(TicketAcceptance, ticket_id)
    if row is None:
        misses.add(ticket_id)
    return row


def forget_miss(session: Session, ticket_id: int) -> None:
    """The ticket has just become an acceptance order (its row is being added)."""
    session.info.get(_MISSES, set()).discard(ticket_id)


def remember_actor(session: Session, ticket_id: int, actor: Actor | None) -> None:
    session.info.setdefault(_ACTORS, {})[ticket_id] = actor


def holder_name(session: Session, row: TicketAcceptance) -> str:
    user = session.get(User, row.locked_by_id) if row.locked_by_id is not None else None
    return user.name if user is not None else "-"


def before_action(session: Session, ticket: Ticket, actor: Actor) -> None:
    """Called when an action of `actor` begins to change `ticket`: refuse if someone else holds the
    order's lock (they, or an unlock, must act first)."""
    row = find(session, ticket.id)
    if row is None:
        return
    remember_actor(session, ticket.id, actor)
    if row.state is AcceptanceState.LOCKED and row.locked_by_id not in (None, actor.user.id):
        raise locked_by_other(session, row)


def locked_by_other(session: Session, row: TicketAcceptance) -> Conflict:
    at = clock.to_local(row.locked_at).strftime("%Y-%m-%d %H:%M") if row.locked_at else "-"
    return Conflict(
        "This order is locked by %(name)s (since %(at)s); only they can act on it until it is unlocked",
        name=holder_name(session, row),
        at=at,
    )


def on_flow_change(session: Session, ticket: Ticket, instance: FlowInstance, tasks: list[FlowTask]) -> None:
    """Called after every step of `ticket`'s flow (the ticket's subject hook), with its active tasks."""
    row = find(session, ticket.id)
    if row is not None:
        sync(session, row, ticket=ticket, instance=instance, tasks=tasks)


def sync(
    session: Session,
    row: TicketAcceptance,
    *,
    ticket: Ticket,
    instance: FlowInstance,
    tasks: list[FlowTask],
    initial: bool = False,
) -> None:
    """Bring `row` in line with the flow (see the module's docstring); log and audit a state change."""
    before = (row.state, row.locked_by_id)
    current = tasks[0] if tasks else None
    finished = _finished(session, row, instance, current)
    if finished is not None:
        _record_outcome(row, finished)
    row.task_id = current.id if current is not None and instance.is_active else None
    if instance.status is InstanceStatus.COMPLETED:
        state = AcceptanceState.DONE
    elif instance.status is InstanceStatus.CANCELLED:
        state = AcceptanceState.CANCELLED
    else:
        if finished is not None:
            rejected = finished.status is TaskStatus.COMPLETED and finished.state == REJECT
        else:
            rejected = row.state is AcceptanceState.REJECTED and not initial
        taken = current is not None and current.claimed_at is not None and current.assignee_id is not None
        if rejected:
            state = AcceptanceState.REJECTED
        elif taken:
            state = AcceptanceState.LOCKED
        else:
            state = AcceptanceState.PENDING
    row.state = state
    if state is AcceptanceState.LOCKED and current is not None:
        row.locked_by_id, row.locked_at = current.assignee_id, current.claimed_at
    else:
        row.locked_by_id, row.locked_at = None, None
    if initial or (row.state, row.locked_by_id) == before:
        return
    row.updated_at = clock.now()
    _record_transition(session, row, ticket, before[0], current)


def _finished(
    session: Session, row: TicketAcceptance, instance: FlowInstance, current: FlowTask | None
) -> FlowTask | None:
    """The task the order stood at, if it has ended in this flow since the last sync."""
    if row.task_id is None or (current is not None and current.id == row.task_id):
        return None
    task = session.get(FlowTask, row.task_id)
    if task is None or task.is_active or task.instance_id != instance.id:
        return None
    return task


def _record_outcome(row: TicketAcceptance, task: FlowTask) -> None:
    """What the end of a step says about the order (the order's own actions set the details first)."""
    if task.status is not TaskStatus.COMPLETED:
        return  # returned, handed back or cancelled: nothing was decided
    at = task.completed_at or clock.now()
    if task.state == PAID and row.paid_at is None:
        row.paid_at = at
        row.paid_amount = row.paid_amount if row.paid_amount is not None else row.fee
        row.payment_confirmed_by_id = task.completed_by_id
    elif task.state == DONE:
        row.replied_at, row.replied_by_id = at, task.completed_by_id
        row.reply = row.reply or task.comment
    elif task.state == REJECT:
        row.reject_reason = task.comment
        row.rejected_at, row.rejected_by_id = at, task.completed_by_id
    elif task.state == RESUBMIT:
        row.resubmit_count += 1


def _record_transition(
    session: Session,
    row: TicketAcceptance,
    ticket: Ticket,
    previous: AcceptanceState,
    current: FlowTask | None,
) -> None:
    actor: Actor | None = session.info.get(_ACTORS, {}).get(ticket.id)
    detail: dict[str, Any] = {"from": previous.value, "to": row.state.value}
    if row.locked_by_id is not None:
        detail["user_id"] = row.locked_by_id
    comment = row.reject_reason if row.state is AcceptanceState.REJECTED else ""
    session.add(
        TicketLog(
            ticket_id=ticket.id,
            at=clock.now(),
            user_id=actor.user.id if actor is not None else None,
            department_id=actor.user.department_id if actor is not None else None,
            action=LOG_ACTIONS[row.state],
            node_id=current.node_id if current is not None else "",
            node_name=current.name if current is not None else "",
            comment=comment,
            detail=detail,
        )
    )
    audit.record(
        session,
        actor=actor,
        action="ticket.acceptance_state",
        function="tickets.ticket",
        target=ticket,
        target_label=ticket.serial,
        summary=f"{previous.value} → {row.state.value}",
        before={"state": previous.value},
        after={"state": row.state.value, "locked_by_id": row.locked_by_id},
    )
