"""Complaints (投诉, TKT-13): the class, repeat and secondary complaints, the on-the-spot path.

A ticket is a complaint when its nature (案例性质) is the code of the `tickets.complaint_nature`
parameter — configuration, not code per industry. At registration its class comes from the form's
`complaint_class` element, and it is compared with the same customer's earlier complaints about the
same matter (the same complaint class, or the same subject): while such a complaint is still open,
the new one is a repeat complaint (重复投诉); when it was closed within the window of
`tickets.secondary_complaint_days`, a secondary complaint (二次投诉). The flag and the earlier
ticket are written on the ticket and in its processing log.

On the spot (现场处理): the registering agent answers the customer during the call and closes the
ticket at once, by taking and finishing each open step of its flow; otherwise it follows its flow
through the back office.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kefu.core import clock
from kefu.core.errors import Conflict, FieldError
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.org.config import parameters
from kefu.tickets import service
from kefu.tickets.models import Ticket, TicketStatus
from kefu.workflow.runtime import service as runtime

REPEAT = "repeat"  # 重复投诉: the earlier complaint is still open
SECONDARY = "secondary"  # 二次投诉: the earlier complaint was closed not long ago
FLAGS = (REPEAT, SECONDARY)
MAX_STEPS = 10  # an on-the-spot close walks at most this many steps of the flow

parameters.GROUP_LABELS.setdefault("tickets", lazy("Tickets"))
COMPLAINT_NATURE = parameters.declare(
    "tickets.complaint_nature",
    "Case nature of complaints",
    str,
    "complaint",
    group="tickets",
    max_length=60,
    help=lazy("Tickets of this case nature are complaints: classified and checked for repeats."),
)
SECONDARY_DAYS = parameters.declare(
    "tickets.secondary_complaint_days",
    "Secondary complaint window (days)",
    int,
    30,
    group="tickets",
    minimum=1,
    maximum=3650,
    help=lazy("A complaint about a matter closed less than this many days ago is a secondary complaint."),
)


def is_complaint(session: Session, ticket: Ticket) -> bool:
    return bool(ticket.nature) and ticket.nature == parameters.get(session, COMPLAINT_NATURE)


def _normalised(subject: str) -> str:
    return "".join(subject.split()).lower()


def earlier(session: Session, ticket: Ticket) -> Ticket | None:
    """The newest earlier complaint of the same customer about the same matter, if any."""
    same_customer = []
    if ticket.customer_id is not None:
        same_customer.append(Ticket.customer_id == ticket.customer_id)
    if ticket.customer_phone:
        same_customer.append(Ticket.customer_phone == ticket.customer_phone)
    if not same_customer:
        return None
    stmt = (
        select(Ticket)
        .where(
            Ticket.id != ticket.id,
            Ticket.nature == ticket.nature,
            Ticket.merged_into_id.is_(None),
            Ticket.status != TicketStatus.CANCELLED,
            or_(*same_customer),
        )
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(200)
    )
    subject = _normalised(ticket.subject)
    for candidate in session.scalars(stmt):
        same_class = bool(ticket.complaint_class) and candidate.complaint_class == ticket.complaint_class
        if same_class or _normalised(candidate.subject) == subject:
            return candidate
    return None


def classify(session: Session, ticket: Ticket, actor: Actor | None) -> None:
    """Set the class, the repeat / secondary flag and the earlier complaint of a new complaint."""
    value = (ticket.fields or {}).get("complaint_class")
    ticket.complaint_class = str(value)[:60] if value else None
    found = earlier(session, ticket)
    if found is None:
        return
    if found.is_active:
        flag = REPEAT
    elif found.status is TicketStatus.CLOSED and found.closed_at is not None:
        window = timedelta(days=parameters.get(session, SECONDARY_DAYS))
        closed = found.closed_at
        now = clock.now()
        if closed.tzinfo is None:
            now = now.replace(tzinfo=None)
        if now - closed > window:
            return
        flag = SECONDARY
    else:
        return
    ticket.complaint_flag = flag
    ticket.related_ticket_id = found.id
    service.log_entry(
        session,
        ticket,
        actor,
        f"complaint_{flag}",
        comment=found.serial,
        detail={"related_ticket_id": found.id, "flag": flag},
    )


def close_on_the_spot(session: Session, *, actor: Actor, ticket: Ticket, answer: str | None) -> Ticket:
    """The agent who registered the complaint answered it during the call: each open step of the
    flow is given to them and finished with its first (forward) state, until the ticket is closed."""
    text = service.clean_text(answer)
    if not text:
        raise FieldError("answer", "This field is required")
    if ticket.creator_id != actor.user.id:
        raise Conflict("Only the agent who registered the ticket can close it on the spot")
    service.log_entry(session, ticket, actor, "on_the_spot", comment=text)
    for _ in range(MAX_STEPS):
        tasks = service.active_tasks(session, ticket)
        if not tasks or not ticket.is_active:
            break
        task = tasks[0]
        if task.assignee_id != actor.user.id:
            # A system dispatch: the registering agent handles the complaint on the spot.
            runtime.assign_task(session, task=task, user_id=actor.user.id, comment=text, actor=None)
        state = service_states(task)
        service.complete(
            session,
            actor=actor,
            ticket=ticket,
            expected_version=None,
            state=state,
            comment=text,
            task_id=task.id,
        )
    if ticket.status is not TicketStatus.CLOSED:
        raise Conflict("The flow of this ticket cannot be finished on the spot")
    return ticket


def service_states(task: object) -> str | None:
    """The first state the task's node declares (the forward one: complete, pass, close …)."""
    version = task.instance.version  # type: ignore[attr-defined]
    raw = (version.nodes or {}).get(task.node_id, {})  # type: ignore[attr-defined]
    states = [s["code"] for s in raw.get("states", [])]
    return states[0] if states else None
