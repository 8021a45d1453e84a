"""Pressing for progress and following tickets: urge (催办, TKT-7) and tracking with follow-up records
(跟踪, TKT-8). Neither is bound to the ticket's version: they never conflict with the handler's work."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import clock, i18n
from kefu.core.errors import Conflict, FieldError
from kefu.core.permissions import Actor
from kefu.tickets.models import Ticket, TicketTracking, TicketUrge, TrackingRecord, TrackingResult
from kefu.tickets.service import (
    TRACK,
    URGE,
    audit_action,
    clean_text,
    current_people,
    log_entry,
    require,
    runtime_flush,
    tell,
)


def urge(session: Session, *, actor: Actor, ticket: Ticket, comment: str | None) -> TicketUrge:
    """Urge (催办, TKT-7): the people the ticket is with hear at once; the ticket counts the urges.

    Not version-checked: an urge never conflicts with the handler's work."""
    require(actor, URGE)
    if not ticket.is_active:
        raise Conflict("The ticket is no longer open")
    text = clean_text(comment)
    row = TicketUrge(ticket_id=ticket.id, user_id=actor.user.id, comment=text, at=clock.now())
    session.add(row)
    ticket.urge_count += 1
    runtime_flush(session)
    log_entry(session, ticket, actor, "urged", comment=text)
    people = current_people(session, ticket)
    tell(session, ticket, people, i18n.gettext("Urged: ticket %(serial)s"), actor=actor)
    audit_action(session, actor, ticket, "urge", summary=text)
    return row


def track(session: Session, *, actor: Actor, ticket: Ticket) -> TicketTracking:
    """Follow an unfinished ticket (跟踪, TKT-8); following again after it ended starts anew."""
    require(actor, TRACK)
    if not ticket.is_active:
        raise Conflict("Only unfinished tickets can be tracked")
    row = session.scalars(
        select(TicketTracking).where(
            TicketTracking.ticket_id == ticket.id, TicketTracking.user_id == actor.user.id
        )
    ).first()
    if row is not None and row.active:
        raise Conflict("You are already tracking this ticket")
    if row is None:
        row = TicketTracking(ticket_id=ticket.id, user_id=actor.user.id)
        session.add(row)
    row.active, row.created_at, row.ended_at = True, clock.now(), None
    session.flush()
    log_entry(session, ticket, actor, "tracked")
    audit_action(session, actor, ticket, "track")
    return row


def follow_up(
    session: Session, *, actor: Actor, ticket: Ticket, note: str | None, result: str
) -> TrackingRecord:
    """Record a follow-up on a tracked ticket; "resolved" ends the tracking, "continue" keeps it."""
    require(actor, TRACK)
    text = clean_text(note)
    if not text:
        raise FieldError("note", "This field is required")
    try:
        outcome = TrackingResult(result)
    except ValueError:
        raise FieldError("result", "Choose one of the offered values") from None
    row = session.scalars(
        select(TicketTracking).where(
            TicketTracking.ticket_id == ticket.id,
            TicketTracking.user_id == actor.user.id,
            TicketTracking.active.is_(True),
        )
    ).first()
    if row is None:
        raise Conflict("You are not tracking this ticket")
    record = TrackingRecord(
        tracking_id=row.id, user_id=actor.user.id, note=text, result=outcome, at=clock.now()
    )
    session.add(record)
    if outcome is TrackingResult.RESOLVED:
        row.active, row.ended_at = False, clock.now()
    session.flush()
    log_entry(session, ticket, actor, "followed_up", comment=text, detail={"result": outcome.value})
    audit_action(session, actor, ticket, "follow_up", summary=f"{outcome.value}: {text[:200]}")
    return record
