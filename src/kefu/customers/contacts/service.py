"""Recording interactions (CON-2) and reading them back: the customer's timeline, the contact list.

`record_contact` is what every other area calls — ticket registration, the call center when a call
ends, self-service after a verified session, the messaging outbox. It never refuses for lack of a
permission: every interaction must leave a record, whoever handled it. The HTTP routes gate who may
record by hand (`customers.contact.create`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from kefu.audit import service as audit
from kefu.core import clock, events
from kefu.core.errors import FieldError, FieldErrors, NotFound
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor, restrict
from kefu.customers import names, phones
from kefu.customers.contacts.models import ContactChannel, ContactDirection, ContactRecord, ContactTicket
from kefu.customers.models import Customer, Subscriber
from kefu.customers.values import text
from kefu.org.config import dictionary
from kefu.org.models import User

FUNCTION = "customers.contact"
VIEW = "customers.contact.view"
CREATE = "customers.contact.create"
CONTACT_RECORDED = "contact.recorded"
PHONE_CHANNELS = frozenset({ContactChannel.PHONE, ContactChannel.SMS, ContactChannel.FAX})
CHOOSE_OFFERED = lazy("Choose one of the offered values")
NO_SUCH_CUSTOMER = lazy("No such customer")
NO_SUCH_SUBSCRIBER = lazy("No such subscriber of this customer")
NO_SUCH_TICKET = lazy("No such ticket: %(id)s")
NO_SUCH_USER = lazy("No such staff member")
ENDS_BEFORE = lazy("The end must not be before the start")
MAX_TICKETS = 20


@dataclass
class ContactView:
    record: ContactRecord
    agent_name: str = ""
    tickets: list[tuple[int, str, str, str]] = field(default_factory=list)  # id, serial, subject, status


def aware(moment: datetime | None) -> datetime | None:
    """A time without a zone is the deployment's local time (what a form or an integration means)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.local_tz())
    return moment.astimezone(clock.UTC)


def channel_codes(session: Session) -> list[str]:
    """The built-in channels and those of the `channel` dictionary."""
    codes = [c.value for c in ContactChannel]
    with contextlib.suppress(NotFound):
        codes += [i.code for i in dictionary.items(session, "channel") if i.code not in codes]
    return codes


def remote_key(channel: str, address: str) -> str:
    """The search key of the customer's side of an interaction: E.164 for numbers, lower-case email."""
    if not address:
        return ""
    if channel in PHONE_CHANNELS:
        return phones.lookup_key(address) or names.fold(address)[:200]
    if channel == ContactChannel.EMAIL:
        return address.strip().lower()[:200]
    return names.fold(address)[:200]


def _tickets(session: Session, actor: Actor | None, ticket_ids: Iterable[int]) -> list[int]:
    from kefu.tickets import access as ticket_access
    from kefu.tickets.models import Ticket

    wanted = list(dict.fromkeys(ticket_ids))
    if len(wanted) > MAX_TICKETS:
        raise FieldError("ticket_ids", lazy("At most %(max)s entries"), max=MAX_TICKETS)
    for ticket_id in wanted:
        try:
            if actor is not None:
                ticket_access.load(session, actor, ticket_id)
            elif session.get(Ticket, ticket_id) is None:
                raise NotFound()
        except NotFound:
            raise FieldError("ticket_ids", NO_SUCH_TICKET, id=ticket_id) from None
    return wanted


def record_contact(
    session: Session,
    actor: Actor | None,
    *,
    customer_id: int | None,
    channel: str,
    direction: str,
    started_at: datetime | None = None,
    ended_at: datetime | None = None,
    summary: str = "",
    remote_address: str = "",
    subscriber_id: int | None = None,
    agent_id: int | None = None,
    ticket_ids: Sequence[int] = (),
    call_id: str | None = None,
) -> ContactRecord:
    """Record one interaction. `agent_id` defaults to the actor (None for self-service without one).

    A `call_id` already recorded gives back that record unchanged (the call center may retry). An
    interaction without a customer whose number belongs to exactly one customer is linked to them.
    """
    if call_id:
        existing = session.scalar(select(ContactRecord).where(ContactRecord.call_id == call_id))
        if existing is not None:
            return existing
    started_at, ended_at = aware(started_at), aware(ended_at)
    errors: list[FieldError] = []
    if channel not in channel_codes(session):
        errors.append(FieldError("channel", CHOOSE_OFFERED))
    if direction not in {d.value for d in ContactDirection}:
        errors.append(FieldError("direction", CHOOSE_OFFERED))
    started = started_at or clock.now()
    if ended_at is not None and ended_at < started:
        errors.append(FieldError("ended_at", ENDS_BEFORE))
    if customer_id is not None and session.get(Customer, customer_id) is None:
        errors.append(FieldError("customer_id", NO_SUCH_CUSTOMER))
    if subscriber_id is not None:
        found = session.get(Subscriber, subscriber_id)
        if found is None or found.customer_id != customer_id:
            errors.append(FieldError("subscriber_id", NO_SUCH_SUBSCRIBER))
    agent_id = agent_id if agent_id is not None else (actor.user.id if actor else None)
    agent = session.get(User, agent_id) if agent_id is not None else None
    if agent_id is not None and agent is None:
        errors.append(FieldError("agent_id", NO_SUCH_USER))
    try:
        remote = text("remote_address", remote_address, max_len=200)
        summary = text("summary", summary, max_len=4000)
        call = text("call_id", call_id, max_len=64) or None
        tickets = _tickets(session, actor, ticket_ids)
    except FieldError as exc:
        errors.append(exc)
    if errors:
        raise FieldErrors(errors)
    key = remote_key(channel, remote)
    if customer_id is None and key.startswith("+"):
        from kefu.customers.search import find_by_phone

        matches = find_by_phone(session, key, limit=2)
        customer_id = matches[0].id if len(matches) == 1 else None
    record = ContactRecord(
        customer_id=customer_id,
        subscriber_id=subscriber_id,
        channel=channel,
        direction=direction,
        started_at=started,
        ended_at=ended_at,
        duration_seconds=int((ended_at - started).total_seconds()) if ended_at else None,
        agent_id=agent_id,
        department_id=agent.department_id if agent else None,
        remote_address=remote,
        remote_key=key,
        summary=summary,
        call_id=call,
        created_by_id=actor.user.id if actor else None,
        tickets=[ContactTicket(ticket_id=t) for t in tickets],
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="contact.record",
        function=FUNCTION,
        target=record,
        target_label=f"{channel}/{direction} {remote}".strip(),
        after={
            "customer_id": customer_id,
            "channel": channel,
            "direction": direction,
            "ticket_ids": tickets,
            "call_id": call,
        },
    )
    events.on_commit(
        session,
        events.Event(
            type=CONTACT_RECORDED,
            data={"id": record.id, "customer_id": customer_id, "channel": channel, "ticket_ids": tickets},
        ),
    )
    return record


def finish(
    session: Session, *, record: ContactRecord, ended_at: datetime, agent_id: int | None = None
) -> ContactRecord:
    """Note the end of an interaction recorded while it went on (the call center, when a call ends);
    also the agent who took it over, if another. Not audited: it completes what was recorded."""
    ended_at = aware(ended_at) or ended_at
    record.ended_at = max(ended_at, record.started_at)
    record.duration_seconds = int((record.ended_at - record.started_at).total_seconds())
    if agent_id is not None and agent_id != record.agent_id:
        agent = session.get(User, agent_id)
        if agent is not None:
            record.agent_id, record.department_id = agent.id, agent.department_id
    session.flush()
    return record


def link_tickets(
    session: Session, actor: Actor, *, record: ContactRecord, ticket_ids: Sequence[int]
) -> ContactRecord:
    """Link tickets to an interaction (a ticket registered after the call); links already there stay."""
    have = {t.ticket_id for t in record.tickets}
    added = [t for t in _tickets(session, actor, ticket_ids) if t not in have]
    for ticket_id in added:
        record.tickets.append(ContactTicket(ticket_id=ticket_id))
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="contact.link_tickets",
        function=FUNCTION,
        target=record,
        target_label=f"{record.channel}/{record.direction}",
        after={"ticket_ids": added},
    )
    return record


def scoped(stmt, actor: Actor):  # type: ignore[no-untyped-def]
    """`stmt` over contact records limited by the data scope of `customers.contact.view` (the agent
    who handled it, their department at the time)."""
    return restrict(stmt, actor, VIEW, owner=ContactRecord.agent_id, department=ContactRecord.department_id)


def load(session: Session, actor: Actor, record_id: int) -> ContactRecord:
    """One record, if it lies within the actor's contact scope or on a customer the actor can see."""
    from kefu.customers import access

    record = session.get(ContactRecord, record_id)
    if record is None:
        raise NotFound()
    stmt = scoped(select(ContactRecord.id).where(ContactRecord.id == record_id), actor)
    if session.scalar(stmt) is not None:
        return record
    if record.customer_id is not None and access.can(session, actor, record.customer_id, access.VIEW):
        return record
    raise NotFound()


def _after(stmt, before_id: int | None, session: Session):  # type: ignore[no-untyped-def]
    if before_id is None:
        return stmt
    cursor = session.get(ContactRecord, before_id)
    if cursor is None:
        return stmt.where(ContactRecord.id < before_id)
    return stmt.where(
        or_(
            ContactRecord.started_at < cursor.started_at,
            and_(ContactRecord.started_at == cursor.started_at, ContactRecord.id < cursor.id),
        )
    )


def views(session: Session, records: Sequence[ContactRecord]) -> list[ContactView]:
    """Records with their agent's name and their tickets' serials (two queries, whatever the count)."""
    from kefu.tickets.models import Ticket

    agent_ids = {r.agent_id for r in records if r.agent_id}
    agents = dict(session.execute(select(User.id, User.name).where(User.id.in_(agent_ids))).tuples().all())
    ticket_ids = {t.ticket_id for r in records for t in r.tickets}
    tickets = {
        row[0]: row
        for row in session.execute(
            select(Ticket.id, Ticket.serial, Ticket.subject, Ticket.status).where(Ticket.id.in_(ticket_ids))
        ).tuples()
    }
    out = []
    for r in records:
        linked = [tickets[t.ticket_id] for t in r.tickets if t.ticket_id in tickets]
        out.append(
            ContactView(
                record=r,
                agent_name=agents.get(r.agent_id, "") if r.agent_id else "",
                tickets=[
                    (t[0], t[1], t[2], str(t[3].value if hasattr(t[3], "value") else t[3])) for t in linked
                ],
            )
        )
    return out


def timeline(
    session: Session,
    *,
    customer: Customer,
    before_id: int | None = None,
    limit: int = 20,
    channel: str | None = None,
) -> list[ContactView]:
    """A customer's interactions, newest first, a page at a time (`before_id`: the last one shown).
    The caller has checked that the actor may see the customer."""
    stmt = select(ContactRecord).where(ContactRecord.customer_id == customer.id)
    if channel:
        stmt = stmt.where(ContactRecord.channel == channel)
    stmt = _after(stmt, before_id, session)
    stmt = stmt.order_by(ContactRecord.started_at.desc(), ContactRecord.id.desc()).limit(
        max(1, min(limit, 100))
    )
    records = list(session.scalars(stmt.options(selectinload(ContactRecord.tickets))))
    return views(session, records)


def by_remote(session: Session, actor: Actor, *, key: str, limit: int = 10) -> list[ContactView]:
    """Interactions from one number or address that are not linked to a customer (unknown callers)."""
    stmt = select(ContactRecord).where(ContactRecord.remote_key == key, ContactRecord.customer_id.is_(None))
    stmt = scoped(stmt, actor).order_by(ContactRecord.started_at.desc(), ContactRecord.id.desc()).limit(limit)
    return views(session, list(session.scalars(stmt.options(selectinload(ContactRecord.tickets)))))


def list_records(
    session: Session,
    actor: Actor,
    *,
    agent_id: int | None = None,
    channel: str | None = None,
    direction: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    remote: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[ContactView]:
    """The contact list (接触记录查询) within the actor's contact scope, newest first."""
    stmt = select(ContactRecord)
    if agent_id is not None:
        stmt = stmt.where(ContactRecord.agent_id == agent_id)
    if channel:
        stmt = stmt.where(ContactRecord.channel == channel)
    if direction:
        stmt = stmt.where(ContactRecord.direction == direction)
    if since is not None:
        stmt = stmt.where(ContactRecord.started_at >= aware(since))
    if until is not None:
        stmt = stmt.where(ContactRecord.started_at < aware(until))
    if remote:
        stmt = stmt.where(ContactRecord.remote_key == (phones.lookup_key(remote) or remote.strip().lower()))
    stmt = _after(scoped(stmt, actor), before_id, session)
    stmt = stmt.order_by(ContactRecord.started_at.desc(), ContactRecord.id.desc()).limit(
        max(1, min(limit, 200))
    )
    return views(session, list(session.scalars(stmt.options(selectinload(ContactRecord.tickets)))))
