"""Merging identical and similar tickets (案例合并, TKT-11) and splitting them back.

Merging folds tickets into a surviving one: each merged ticket's running flow is cancelled (its open
steps end), it is withdrawn with the close reason `merged` and points to the survivor; its files,
contact links and trackings with their follow-ups move to the survivor. Every moved row is recorded on
the merge (`TicketMerge.moved`), so a split-back moves exactly those rows back and starts a new run of
the ticket's flow. The processing log never moves: each side gets a "merged" (and later "split")
entry. Permission: `tickets.ticket.manage` within its data scope on every ticket involved — merging
withdraws tickets, which is what that right already allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kefu.core import clock, i18n
from kefu.core.errors import Conflict, FieldError, PermissionDenied
from kefu.core.permissions import Actor
from kefu.customers.contacts.models import ContactTicket
from kefu.tickets import access, service
from kefu.tickets.merge_models import TicketMerge
from kefu.tickets.models import Ticket, TicketAttachment, TicketStatus, TicketTracking, TrackingRecord
from kefu.workflow.runtime import service as runtime
from kefu.workflow.runtime.models import FlowInstance

MERGED = "merged"  # the close reason of a merged ticket
MAX_MERGE = 20


def _may_manage(session: Session, actor: Actor, ticket: Ticket) -> None:
    if not access.in_scope(session, actor, ticket, service.MANAGE):
        raise PermissionDenied()


def _sources(session: Session, actor: Actor, survivor: Ticket, ticket_ids: Sequence[int]) -> list[Ticket]:
    """The tickets to fold into `survivor`, each visible, in scope and mergeable — else a FieldError."""
    ids = list(dict.fromkeys(ticket_ids))
    if not ids:
        raise FieldError("ticket_ids", "Choose the tickets to merge into this one")
    if len(ids) > MAX_MERGE:
        raise FieldError("ticket_ids", "At most %(n)s tickets at once", n=MAX_MERGE)
    if survivor.id in ids:
        raise FieldError("ticket_ids", "A ticket cannot be merged into itself")
    found = {
        t.id: t for t in session.scalars(access.restrict(select(Ticket).where(Ticket.id.in_(ids)), actor))
    }
    sources = []
    for ticket_id in ids:
        ticket = found.get(ticket_id)
        if ticket is None:
            raise FieldError("ticket_ids", "No such ticket: %(id)s", id=ticket_id)
        if not access.in_scope(session, actor, ticket, service.MANAGE):
            raise FieldError("ticket_ids", "You may not merge ticket %(serial)s", serial=ticket.serial)
        if ticket.merged_into_id is not None:
            raise FieldError("ticket_ids", "Ticket %(serial)s is already merged", serial=ticket.serial)
        if not ticket.is_active:
            raise FieldError("ticket_ids", "Ticket %(serial)s is no longer open", serial=ticket.serial)
        if _has_merged(session, ticket):
            raise FieldError(
                "ticket_ids",
                "Other tickets are merged into %(serial)s: merge it the other way round or split them first",
                serial=ticket.serial,
            )
        sources.append(ticket)
    return sources


def _has_merged(session: Session, ticket: Ticket) -> bool:
    stmt = select(TicketMerge.id).where(TicketMerge.survivor_id == ticket.id, TicketMerge.split_at.is_(None))
    return session.scalar(stmt.limit(1)) is not None


def _forms_cycle(session: Session, survivor: Ticket, sources: Sequence[Ticket]) -> bool:
    """Whether the survivor (or one it points to) is among the tickets merged into it."""
    banned = {t.id for t in sources}
    seen: set[int] = set()
    current: int | None = survivor.merged_into_id
    while current is not None and current not in seen:
        if current in banned:
            return True
        seen.add(current)
        current = session.scalar(select(Ticket.merged_into_id).where(Ticket.id == current))
    return False


def merge(
    session: Session,
    *,
    actor: Actor,
    survivor: Ticket,
    ticket_ids: Sequence[int],
    expected_version: int | None,
    comment: str | None = "",
) -> list[TicketMerge]:
    """Fold the tickets `ticket_ids` into `survivor` (合并); their people hear of it."""
    service.require(actor, service.MANAGE)
    _may_manage(session, actor, survivor)
    text = service.clean_text(comment)
    if survivor.merged_into_id is not None:
        raise Conflict("This ticket is merged into another one; it cannot take others")
    if not survivor.is_active:
        raise Conflict("Only an open ticket can take other tickets")
    sources = _sources(session, actor, survivor, ticket_ids)
    if _forms_cycle(session, survivor, sources):
        raise FieldError("ticket_ids", "Merging these tickets would make a cycle")
    service.begin_change(session, survivor, expected_version)
    for ticket in sources:
        service.begin_change(session, ticket, None)
    merges = [_fold(session, actor, survivor, ticket, text) for ticket in sources]
    serials = ", ".join(t.serial for t in sources)
    service.tell(
        session,
        survivor,
        service.current_people(session, survivor),
        i18n.gettext("Tickets were merged into %(serial)s"),
        actor=actor,
    )
    service.audit_action(session, actor, survivor, "merge", summary=serials, after={"merged": serials})
    return merges


def _fold(session: Session, actor: Actor, survivor: Ticket, ticket: Ticket, text: str) -> TicketMerge:
    people = service.current_people(session, ticket)
    prior = ticket.status.value
    instance = session.get(FlowInstance, ticket.flow_instance_id) if ticket.flow_instance_id else None
    if instance is not None and instance.is_active:
        with runtime.audited_by_caller():
            runtime.cancel_instance(session, instance=instance, comment=text, actor=actor)
    now = clock.now()
    moved = _move(session, ticket, survivor)
    ticket.status = TicketStatus.CANCELLED
    ticket.close_reason = MERGED
    ticket.closed_at = ticket.closed_at or now
    ticket.merged_into_id, ticket.merged_at = survivor.id, now
    row = TicketMerge(
        survivor_id=survivor.id,
        merged_id=ticket.id,
        by_id=actor.user.id,
        at=now,
        comment=text,
        prior_status=prior,
        moved=moved,
    )
    session.add(row)
    service.log_entry(
        session,
        ticket,
        actor,
        "merged",
        comment=text,
        detail={"into_id": survivor.id, "serial": survivor.serial},
    )
    service.log_entry(
        session,
        survivor,
        actor,
        "merged",
        comment=text,
        detail={"from_id": ticket.id, "serial": ticket.serial},
    )
    service.tell(
        session,
        ticket,
        [*people, ticket.creator_id],
        i18n.gettext("Ticket %(serial)s was merged into another ticket"),
        actor=actor,
    )
    service.audit_action(
        session,
        actor,
        ticket,
        "merged",
        summary=survivor.serial,
        before={"status": prior},
        after={"into": survivor.serial},
    )
    service.runtime_flush(session)
    return row


def _move(session: Session, ticket: Ticket, survivor: Ticket) -> dict[str, object]:
    """Move the files, contact links and trackings of `ticket` to `survivor`; the ids of what moved."""
    files = list(session.scalars(select(TicketAttachment.id).where(TicketAttachment.ticket_id == ticket.id)))
    if files:
        _bulk(
            session,
            update(TicketAttachment).where(TicketAttachment.id.in_(files)).values(ticket_id=survivor.id),
        )
    linked = set(
        session.scalars(select(ContactTicket.contact_id).where(ContactTicket.ticket_id == survivor.id))
    )
    contacts = [
        c
        for c in session.scalars(select(ContactTicket.contact_id).where(ContactTicket.ticket_id == ticket.id))
        if c not in linked  # already linked to the survivor: nothing to move, the link stays here
    ]
    if contacts:
        _bulk(
            session,
            update(ContactTicket)
            .where(ContactTicket.ticket_id == ticket.id, ContactTicket.contact_id.in_(contacts))
            .values(ticket_id=survivor.id),
        )
    theirs = {
        t.user_id: t.id
        for t in session.scalars(select(TicketTracking).where(TicketTracking.ticket_id == survivor.id))
    }
    trackings: list[int] = []
    records: dict[str, int] = {}
    for tracking in session.scalars(select(TicketTracking).where(TicketTracking.ticket_id == ticket.id)):
        target = theirs.get(tracking.user_id)
        if target is None:
            trackings.append(tracking.id)
            continue
        # The same person follows both (one tracking per person): their follow-ups join the survivor's.
        ids = list(
            session.scalars(select(TrackingRecord.id).where(TrackingRecord.tracking_id == tracking.id))
        )
        records.update({str(i): tracking.id for i in ids})
        if ids:
            _bulk(
                session, update(TrackingRecord).where(TrackingRecord.id.in_(ids)).values(tracking_id=target)
            )
    if trackings:
        _bulk(
            session,
            update(TicketTracking).where(TicketTracking.id.in_(trackings)).values(ticket_id=survivor.id),
        )
    session.flush()
    session.expire_all()
    return {"attachments": files, "contacts": contacts, "trackings": trackings, "records": records}


def _bulk(session: Session, stmt: Any) -> None:
    """An UPDATE of many rows; the session is expired after the moves (not synchronised row by row)."""
    session.execute(stmt, execution_options={"synchronize_session": False})


def open_merge(session: Session, ticket: Ticket) -> TicketMerge | None:
    """The merge that folded `ticket` into another, if it is not split back."""
    stmt = (
        select(TicketMerge)
        .where(TicketMerge.merged_id == ticket.id, TicketMerge.split_at.is_(None))
        .order_by(TicketMerge.id.desc())
    )
    return session.scalars(stmt).first()


def split(
    session: Session, *, actor: Actor, ticket: Ticket, expected_version: int | None, comment: str | None = ""
) -> Ticket:
    """Split a merged ticket back out of its survivor (拆分): exactly the rows the merge moved come back,
    and the ticket starts a new run of its type's flow (like a reopen); the log keeps both entries."""
    service.require(actor, service.MANAGE)
    _may_manage(session, actor, ticket)
    row = open_merge(session, ticket)
    if ticket.merged_into_id is None or row is None:
        raise Conflict("This ticket is not merged into another one")
    survivor = session.get(Ticket, row.survivor_id)
    assert survivor is not None  # the merge row goes with it (cascade)
    _may_manage(session, actor, survivor)
    text = service.clean_text(comment)
    service.begin_change(session, ticket, expected_version)
    service.begin_change(session, survivor, None)
    _move_back(session, row, ticket, survivor)
    now = clock.now()
    row.split_at, row.split_by_id, row.split_comment = now, actor.user.id, text
    ticket.merged_into_id, ticket.merged_at = None, None
    ticket.close_reason, ticket.closed_at = None, None
    ticket.status = TicketStatus.OPEN
    service.log_entry(
        session,
        ticket,
        actor,
        "split",
        comment=text,
        detail={"from_id": survivor.id, "serial": survivor.serial},
    )
    service.log_entry(
        session,
        survivor,
        actor,
        "split",
        comment=text,
        detail={"ticket_id": ticket.id, "serial": ticket.serial},
    )
    # A new run of the flow, as a reopen starts one (the service's own starter keeps the two alike).
    service._start_flow(session, ticket, ticket.ticket_type, actor)
    service.tell(
        session,
        ticket,
        [*service.current_people(session, ticket), ticket.creator_id],
        i18n.gettext("Ticket %(serial)s was split back out of a merge"),
        actor=actor,
    )
    service.audit_action(
        session, actor, ticket, "split", summary=survivor.serial, before={"into": survivor.serial}, after={}
    )
    service.audit_action(session, actor, survivor, "split_off", summary=ticket.serial)
    return ticket


def _move_back(session: Session, row: TicketMerge, ticket: Ticket, survivor: Ticket) -> None:
    moved = row.moved or {}
    files = [int(i) for i in moved.get("attachments", [])]
    if files:
        _bulk(
            session,
            update(TicketAttachment)
            .where(TicketAttachment.id.in_(files), TicketAttachment.ticket_id == survivor.id)
            .values(ticket_id=ticket.id),
        )
    contacts = [int(i) for i in moved.get("contacts", [])]
    if contacts:
        back = set(
            session.scalars(select(ContactTicket.contact_id).where(ContactTicket.ticket_id == ticket.id))
        )
        _bulk(
            session,
            update(ContactTicket)
            .where(
                ContactTicket.ticket_id == survivor.id,
                ContactTicket.contact_id.in_([c for c in contacts if c not in back]),
            )
            .values(ticket_id=ticket.id),
        )
    trackings = [int(i) for i in moved.get("trackings", [])]
    if trackings:
        _bulk(
            session,
            update(TicketTracking)
            .where(TicketTracking.id.in_(trackings), TicketTracking.ticket_id == survivor.id)
            .values(ticket_id=ticket.id),
        )
    for record_id, tracking_id in (moved.get("records") or {}).items():
        _bulk(
            session,
            update(TrackingRecord)
            .where(TrackingRecord.id == int(record_id))
            .values(tracking_id=int(tracking_id)),
        )
    session.flush()
    session.expire_all()


@dataclass
class MergeLine:
    merge: TicketMerge
    ticket: Ticket  # the other side


def merged_into_this(session: Session, ticket: Ticket) -> list[MergeLine]:
    """The tickets merged into `ticket` and not split back, oldest merge first."""
    stmt = (
        select(TicketMerge, Ticket)
        .join(Ticket, Ticket.id == TicketMerge.merged_id)
        .where(TicketMerge.survivor_id == ticket.id, TicketMerge.split_at.is_(None))
        .order_by(TicketMerge.id)
    )
    return [MergeLine(m, t) for m, t in session.execute(stmt).tuples()]


def history(session: Session, ticket: Ticket) -> list[MergeLine]:
    """Every merge `ticket` took part in, either side, with the other ticket; newest first."""
    rows = session.scalars(
        select(TicketMerge)
        .where((TicketMerge.survivor_id == ticket.id) | (TicketMerge.merged_id == ticket.id))
        .order_by(TicketMerge.id.desc())
    ).all()
    others = {m.merged_id if m.survivor_id == ticket.id else m.survivor_id for m in rows}
    tickets = (
        {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_(others)))} if others else {}
    )
    return [MergeLine(m, tickets[m.merged_id if m.survivor_id == ticket.id else m.survivor_id]) for m in rows]
