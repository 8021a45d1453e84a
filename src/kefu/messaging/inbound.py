"""Inbound e-mail to tickets (the e-mail channel of TKT-4): one fetched mail becomes a new ticket, or
is added to the ticket it answers.

A mail answers a ticket when its In-Reply-To / References name one of the ticket's mails — an e-mail
kefu sent about the ticket (`msg_message.provider_ref`) or one received on it before — or, failing
that, when its subject quotes the ticket's serial in brackets ("Re: [TS-20261122-000123] …") *and* it
comes from an address the ticket already knows (its customer's, or one that wrote on it): a serial
is easy to guess, a Message-ID of ours is not.

- The ticket is open or on hold: the mail is added to it — a processing-log entry with the text
  (quoted history removed) and the files, a contact record, and a message to the people the ticket is
  with now.
- The ticket is closed or withdrawn: a new ticket is registered, its description starting with the
  old serial, and the old ticket's log notes the new one. (Reopening is a manager's decision with a
  reason; a customer's "thank you" must not undo a closed case.)
- Nothing matches: a new ticket of the gateway's inbound ticket type, on the e-mail channel, for the
  customer whose e-mail address the sender's is (when exactly one has it), registered by the system.

Auto-replies, bounces, list mail and kefu's own mail are recorded as ignored. A mail is processed
once: `msg_inbound.message_id` is unique and is claimed before anything else is written, so a second
fetch of the same mail — or a concurrent one — changes nothing. A mail that fails is recorded as
failed with the reason; marked unread in the mailbox, it is tried again.

Registration runs without form values: the inbound type's form defaults apply, and a form that
requires a value without a default makes every mail fail with that reason (choose a type whose form
the e-mail can satisfy).
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kefu.core import clock, i18n, storage
from kefu.core.errors import FieldError, FieldErrors, KefuError
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.customers.access import VIEW as CUSTOMER_VIEW
from kefu.customers.contacts import service as contacts
from kefu.customers.contacts.models import ContactChannel, ContactDirection
from kefu.customers.models import Customer, CustomerEmail
from kefu.db import db
from kefu.messaging import gateways
from kefu.messaging.inbound_parse import Parsed, parse, strip_quoted, synthetic_id
from kefu.messaging.models import Channel, Gateway, InboundEmail, InboundOutcome, Message
from kefu.org.models import DataScope, User
from kefu.settings import get_settings
from kefu.tickets import service as tickets
from kefu.tickets.models import Ticket, TicketAttachment, TicketLog, TicketType

log = logging.getLogger(__name__)

RECEIVED = "email_received"  # the processing-log action of an inbound mail
MAX_ATTACHMENTS = 20
NO_SUBJECT = lazy("(no subject)")
FOLLOW_UP = lazy("Follow-up to the closed ticket %(serial)s")
WROTE_AGAIN = lazy("The customer wrote again after the ticket was closed: new ticket %(serial)s")
REPLIED = lazy("Customer replied by email: ticket %(serial)s")
NOT_KEPT = lazy("Attachments not kept:")
TOO_MANY = lazy("at most %(max)s attachments are kept per email")
TOO_LARGE_MAIL = lazy("The email was too large to fetch (%(size)s); read it in the mailbox.")
_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|sv|回复|答复|转发)\s*[:：]\s*)+", re.IGNORECASE)
_SERIAL_TAG = re.compile(r"\[[A-Z][A-Z0-9]{0,9}-\d{8}-\d{4,}\]\s*")


class InboundError(Exception):
    """A mail that cannot become ticket work; the message is stored as the failure's reason."""


@dataclass(frozen=True)
class Received:
    outcome: InboundOutcome
    ticket_id: int | None
    duplicate: bool = False  # processed before: nothing was changed


def system_actor() -> Actor:
    """Who registers tickets from e-mail: the system, no person (an unsaved user without an id, so
    the ticket's registrar, the log entries and the audit rows carry no user)."""
    user = User(username="system", name="E-mail", department_id=None)
    scopes = {tickets.CREATE: DataScope.ALL, CUSTOMER_VIEW: DataScope.ALL}
    return Actor(user=user, scopes=scopes, department_path="")


def describe(exc: BaseException) -> str:
    """A failure as an administrator reads it in the inbound log."""
    if isinstance(exc, FieldErrors):
        return "; ".join(f"{e.field}: {e.render(i18n.gettext)}" for e in exc.errors)
    if isinstance(exc, FieldError):
        return f"{exc.field}: {exc.render(i18n.gettext)}"
    if isinstance(exc, KefuError):
        return exc.render(i18n.gettext)
    if isinstance(exc, InboundError):
        return str(exc)
    return f"{exc.__class__.__name__}: {exc}"[:2000]


# --- one mail ----------------------------------------------------------------------------------------


def process(raw: bytes, *, too_large: int | None = None) -> Received | None:
    """Process one fetched mail in its own unit of work; a failure is recorded in another. None when
    not even the failure could be recorded (the mail must stay unread and be fetched again)."""
    try:
        with db.unit_of_work() as session:
            return receive(session, raw, too_large=too_large)
    except Exception as exc:
        problem = describe(exc)
        expected = isinstance(exc, (KefuError, InboundError))
        log.warning("inbound e-mail could not be processed: %s", problem, exc_info=not expected)
    try:
        with db.unit_of_work() as session:
            return _record_failure(session, raw, problem, too_large=too_large)
    except Exception:
        log.exception("inbound e-mail: the failure could not be recorded; the mail stays unread")
        return None


def receive(session: Session, raw: bytes, *, too_large: int | None = None) -> Received:
    """Turn one mail into ticket work (see the module's description); raises when it cannot."""
    parsed = _parsed(raw, too_large)
    row, fresh = _claim(session, parsed.message_id)
    if not fresh:
        return Received(row.outcome, row.ticket_id, duplicate=True)
    row.from_address = parsed.from_address[:200]
    row.subject = parsed.subject[:300]
    row.received_at, row.error = clock.now(), ""
    if parsed.auto:
        row.outcome, row.error = InboundOutcome.IGNORED, parsed.auto
        return Received(row.outcome, None)
    if not parsed.from_address:
        raise InboundError("the e-mail has no valid sender address")
    ticket = _answered_ticket(session, parsed)
    if ticket is not None and ticket.is_active:
        _append(session, ticket, parsed)
        row.outcome, row.ticket_id = InboundOutcome.APPENDED, ticket.id
    else:
        created = _create(session, gateways.load(session, Channel.EMAIL), parsed, follows=ticket)
        row.outcome, row.ticket_id = InboundOutcome.CREATED, created.id
    session.flush()
    return Received(row.outcome, row.ticket_id)


def _parsed(raw: bytes, too_large: int | None) -> Parsed:
    parsed = parse(raw)
    if too_large is not None:  # only the header was fetched
        parsed.text = i18n.gettext(TOO_LARGE_MAIL) % {"size": storage.human_size(too_large)}
        parsed.attachments = []
    return parsed


def _claim(session: Session, message_id: str) -> tuple[InboundEmail, bool]:
    """The mail's row, and whether it is ours to process now: a new row (a concurrent run inserting
    the same Message-ID waits on it, then fails), or a failed one taken back for a retry."""
    row = session.scalars(select(InboundEmail).where(InboundEmail.message_id == message_id)).first()
    if row is None:
        row = InboundEmail(message_id=message_id, outcome=InboundOutcome.FAILED, error="")
        session.add(row)
        session.flush()
        return row, True
    if row.outcome is not InboundOutcome.FAILED:
        return row, False
    result = session.execute(
        update(InboundEmail)
        .where(InboundEmail.id == row.id, InboundEmail.outcome == InboundOutcome.FAILED)
        .values(error="")
        .execution_options(synchronize_session=False)
    )
    if not getattr(result, "rowcount", 0):
        session.refresh(row)
        return row, False
    return row, True


def _record_failure(session: Session, raw: bytes, problem: str, *, too_large: int | None) -> Received:
    try:
        parsed: Parsed | None = _parsed(raw, too_large)
    except Exception:
        parsed = None
    message_id = parsed.message_id if parsed is not None else synthetic_id(raw)
    row = session.scalars(select(InboundEmail).where(InboundEmail.message_id == message_id)).first()
    if row is not None and row.outcome is not InboundOutcome.FAILED:
        return Received(row.outcome, row.ticket_id, duplicate=True)  # a concurrent run had it
    if row is None:
        row = InboundEmail(message_id=message_id, outcome=InboundOutcome.FAILED)
        session.add(row)
    row.from_address = parsed.from_address[:200] if parsed is not None else ""
    row.subject = parsed.subject[:300] if parsed is not None else ""
    row.received_at, row.ticket_id, row.error = clock.now(), None, problem
    session.flush()
    return Received(InboundOutcome.FAILED, None)


# --- which ticket, which customer --------------------------------------------------------------------


def _answered_ticket(session: Session, parsed: Parsed) -> Ticket | None:
    """The ticket the mail answers: by its thread headers, else by a serial in the subject from an
    address the ticket knows."""
    refs = parsed.thread
    if refs:
        sent = dict(
            session.execute(
                select(Message.provider_ref, Message.ticket_id).where(
                    Message.provider_ref.in_(refs), Message.ticket_id.is_not(None)
                )
            )
            .tuples()
            .all()
        )
        received = dict(
            session.execute(
                select(InboundEmail.message_id, InboundEmail.ticket_id).where(
                    InboundEmail.message_id.in_(refs), InboundEmail.ticket_id.is_not(None)
                )
            )
            .tuples()
            .all()
        )
        for ref in refs:
            ticket_id = sent.get(ref) or received.get(ref)
            ticket = session.get(Ticket, ticket_id) if ticket_id else None
            if ticket is not None:
                return ticket
    for serial in parsed.serials:
        ticket = session.scalars(select(Ticket).where(Ticket.serial == serial)).first()
        if ticket is not None and _knows(session, ticket, parsed.from_address):
            return ticket
    return None


def _knows(session: Session, ticket: Ticket, address: str) -> bool:
    """Whether `address` belongs to the ticket: its customer's, or one that wrote or was written to."""
    key = address.lower()
    if ticket.customer_email and ticket.customer_email.lower() == key:
        return True
    if ticket.customer_id is not None and session.scalar(
        select(CustomerEmail.id).where(
            CustomerEmail.customer_id == ticket.customer_id, func.lower(CustomerEmail.address) == key
        )
    ):
        return True
    wrote = session.scalar(
        select(InboundEmail.id).where(
            InboundEmail.ticket_id == ticket.id, func.lower(InboundEmail.from_address) == key
        )
    )
    written = session.scalar(
        select(Message.id).where(Message.ticket_id == ticket.id, Message.recipient_key == key)
    )
    return bool(wrote or written)


def customer_by_address(session: Session, address: str) -> int | None:
    """The customer with this e-mail address (case-insensitive), when exactly one has it."""
    found = session.scalars(
        select(CustomerEmail.customer_id)
        .where(func.lower(CustomerEmail.address) == address.lower())
        .distinct()
        .limit(2)
    ).all()
    return found[0] if len(found) == 1 else None


def existing_customer(session: Session, customer_id: int | None) -> int | None:
    """`customer_id` if that customer still exists (a ticket keeps the id of a deleted one)."""
    if customer_id is None:
        return None
    return session.scalar(select(Customer.id).where(Customer.id == customer_id))


def clean_subject(subject: str) -> str:
    """A new ticket's subject: without reply prefixes and quoted serials."""
    return _REPLY_PREFIX.sub("", _SERIAL_TAG.sub("", subject)).strip()


# --- new ticket, or added to one ---------------------------------------------------------------------


def _create(session: Session, gateway: Gateway, parsed: Parsed, *, follows: Ticket | None) -> Ticket:
    type_id = gateway.inbound_ticket_type_id
    ticket_type = session.get(TicketType, type_id) if type_id is not None else None
    if ticket_type is None:
        raise InboundError("no ticket type is set for inbound e-mail (messaging gateways)")
    address = parsed.from_address
    customer_id = customer_by_address(session, address)
    if customer_id is None and follows is not None and _knows(session, follows, address):
        customer_id = follows.customer_id
    description = parsed.text
    if follows is not None:
        description = i18n.gettext(FOLLOW_UP) % {"serial": follows.serial} + "\n\n" + description
    ticket = tickets.register(
        session,
        actor=system_actor(),
        ticket_type=ticket_type,
        channel=ContactChannel.EMAIL.value,
        subject=clean_subject(parsed.subject) or i18n.gettext(NO_SUBJECT),
        description=description,
        customer_id=customer_id,
        customer_name="" if customer_id is not None else parsed.from_name,
        customer_email=address,
    )
    entry = _log(session, ticket, parsed, comment="")
    _keep_files(session, ticket, entry, parsed)
    _contact(session, ticket, parsed)
    if follows is not None:
        tickets.log_entry(
            session,
            follows,
            None,
            RECEIVED,
            comment=i18n.gettext(WROTE_AGAIN) % {"serial": ticket.serial},
            detail={"from": address, "message_id": parsed.message_id, "ticket_id": ticket.id},
        )
    return ticket


def _append(session: Session, ticket: Ticket, parsed: Parsed) -> None:
    tickets.begin_change(session, ticket, None)  # one change at a time on the ticket's row
    entry = _log(session, ticket, parsed, comment=strip_quoted(parsed.text))
    _keep_files(session, ticket, entry, parsed)
    _contact(session, ticket, parsed)
    people: list[int | None] = [*tickets.current_people(session, ticket)]
    tell_whom = people or [ticket.handler_id, ticket.creator_id]
    tickets.tell(session, ticket, tell_whom, i18n.gettext(REPLIED), actor=None)
    tickets.audit_action(
        session, None, ticket, RECEIVED, summary=f"{parsed.from_address}: {parsed.subject}"[:300]
    )


def _log(session: Session, ticket: Ticket, parsed: Parsed, *, comment: str) -> TicketLog:
    entry = tickets.log_entry(
        session,
        ticket,
        None,
        RECEIVED,
        comment=comment[: tickets.MAX_DESCRIPTION],
        detail={
            "from": parsed.from_address,
            "subject": parsed.subject[:300],
            "message_id": parsed.message_id,
        },
    )
    session.flush()
    return entry


def _keep_files(session: Session, ticket: Ticket, entry: TicketLog, parsed: Parsed) -> None:
    """The mail's files as the ticket's attachments, within the deployment's type and size limits;
    what is not kept is named in the log entry (the mail itself is never refused for a file)."""
    config = get_settings()
    dropped: list[str] = []
    for index, item in enumerate(parsed.attachments):
        if index >= MAX_ATTACHMENTS:
            dropped.append(i18n.gettext(TOO_MANY) % {"max": MAX_ATTACHMENTS})
            break
        try:
            name = storage.check_upload(item.filename, item.content_type, allowed=config.attachment_types)
            if len(item.data) > config.attachment_max_bytes:
                raise storage.too_large(config.attachment_max_bytes)
        except FieldError as exc:
            dropped.append(f"{item.filename}: {exc.render(i18n.gettext)}")
            continue
        stored = storage.get_storage().put(io.BytesIO(item.data), max_bytes=config.attachment_max_bytes)
        storage.delete_on_rollback(session, stored.key)
        session.add(
            TicketAttachment(
                ticket_id=ticket.id,
                log_id=entry.id,
                filename=name,
                content_type=(item.content_type or "application/octet-stream")[:100],
                size=stored.size,
                sha256=stored.sha256,
                storage_key=stored.key,
                uploaded_by_id=None,
                uploaded_at=clock.now(),
            )
        )
    if dropped:
        note = "\n".join([i18n.gettext(NOT_KEPT), *(f"- {d}" for d in dropped)])
        entry.comment = f"{entry.comment}\n\n{note}".strip()
    session.flush()


def _contact(session: Session, ticket: Ticket, parsed: Parsed) -> None:
    customer_id = existing_customer(session, ticket.customer_id) or customer_by_address(
        session, parsed.from_address
    )
    contacts.record_contact(
        session,
        None,
        customer_id=customer_id,
        channel=ContactChannel.EMAIL.value,
        direction=ContactDirection.INBOUND.value,
        summary=f"{parsed.subject}\n{parsed.text}".strip()[:4000],
        remote_address=parsed.from_address,
        ticket_ids=[ticket.id],
    )
