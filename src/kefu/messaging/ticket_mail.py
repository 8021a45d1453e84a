"""E-mail to a ticket's customer (the e-mail channel of TKT-4, outgoing).

The mail goes through the outbox like every other (`outbox.queue`, source `ticket`, the serial as its
reference), so its Message-ID threads the customer's reply back to the ticket, and delivery gives it
In-Reply-To / References of the ticket's mails. Its subject carries the serial in brackets
("Re: [TS-20261122-000123] …"), which finds the ticket when a mail client drops the thread headers.

Who may write: a holder of `messaging.message.send` who may act on the ticket — it lies within the
data scope of their `tickets.ticket.handle` or `tickets.ticket.manage` (with scope `own`: a ticket
they registered, handle or handled). The ticket itself is loaded through the tickets' access gate.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core.errors import FieldError, PermissionDenied
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.customers.contacts import service as contacts
from kefu.customers.contacts.models import ContactChannel, ContactDirection
from kefu.customers.models import CustomerEmail
from kefu.messaging import outbox
from kefu.messaging.inbound import existing_customer
from kefu.messaging.models import Channel, InboundEmail, InboundOutcome, Message, Source
from kefu.messaging.permissions import FUNCTION, SEND
from kefu.tickets import access
from kefu.tickets import service as tickets
from kefu.tickets.formvalues import Invalid, clean_email
from kefu.tickets.models import Ticket

SENT = "email_sent"  # the processing-log action of a mail to the customer
SUBJECT_MAX = 200
NO_ADDRESS = lazy("The ticket has no customer email address; enter one")
NOT_YOURS = lazy("Only someone who may act on this ticket can write to its customer")


def may_write(session: Session, actor: Actor, ticket: Ticket) -> bool:
    return actor.can(SEND) and (
        access.in_scope(session, actor, ticket, tickets.HANDLE)
        or access.in_scope(session, actor, ticket, tickets.MANAGE)
    )


def default_recipient(session: Session, ticket: Ticket) -> str:
    """Whom a ticket mail goes to unless told: the ticket's customer e-mail, else the last sender
    who wrote on the ticket, else the customer's primary address."""
    candidates = [ticket.customer_email or ""]
    candidates.append(
        session.scalar(
            select(InboundEmail.from_address)
            .where(
                InboundEmail.ticket_id == ticket.id,
                InboundEmail.outcome.in_((InboundOutcome.CREATED, InboundOutcome.APPENDED)),
            )
            .order_by(InboundEmail.id.desc())
            .limit(1)
        )
        or ""
    )
    if ticket.customer_id is not None:
        candidates.extend(
            session.scalars(
                select(CustomerEmail.address)
                .where(CustomerEmail.customer_id == ticket.customer_id)
                .order_by(CustomerEmail.is_primary.desc(), CustomerEmail.id)
            ).all()
        )
    for candidate in candidates:
        try:
            return clean_email(candidate)
        except Invalid:
            continue
    return ""


def thread_subject(ticket: Ticket, subject: str | None = None) -> str:
    """`Re: [SERIAL] subject` — or the given subject, with the serial tag put in front if missing."""
    tag = f"[{ticket.serial}]"
    given = (subject or "").strip()
    if not given:
        text = f"Re: {tag} {ticket.subject}"
    elif tag in given:
        text = given
    else:
        text = f"{tag} {given}"
    return text[:SUBJECT_MAX].rstrip()


def send(
    session: Session,
    actor: Actor,
    ticket: Ticket,
    *,
    body: str | None,
    to: str | None = None,
    subject: str | None = None,
) -> Message:
    """E-mail the ticket's customer: queued in the outbox, noted in the processing log and the
    customer's contact history, audited. 422 names `to`, `subject` or `body` when one is unusable."""
    if not may_write(session, actor, ticket):
        raise PermissionDenied(NOT_YOURS)
    outbox.gateway_on(session, Channel.EMAIL)
    address = (to or "").strip() or default_recipient(session, ticket)
    if not address:
        raise FieldError("to", NO_ADDRESS)
    target = outbox.recipient(Channel.EMAIL, address)
    title = thread_subject(ticket, subject)
    customer_id = existing_customer(session, ticket.customer_id)
    message = outbox.queue(
        session,
        actor,
        channel=Channel.EMAIL,
        to=target,
        body=body or "",
        subject=title,
        source=Source.TICKET,
        customer_id=customer_id,
        ticket_id=ticket.id,
        business_category_id=ticket.category_id,
    )
    message.reference = ticket.serial
    tickets.log_entry(
        session,
        ticket,
        actor,
        SENT,
        comment=message.body,
        detail={"to": target.shown, "subject": title, "message_id": message.id},
    )
    contacts.record_contact(
        session,
        actor,
        customer_id=customer_id,
        channel=ContactChannel.EMAIL.value,
        direction=ContactDirection.OUTBOUND.value,
        summary=f"{title}\n{message.body}"[:4000],
        remote_address=target.shown,
        ticket_ids=[ticket.id],
    )
    audit.record(
        session,
        actor=actor,
        action="messaging.message.send",
        function=FUNCTION,
        target=message,
        target_label=f"email → {target.shown} ({ticket.serial})",
        summary=title,
    )
    return message
