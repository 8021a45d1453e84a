"""The outbox: every SMS and e-mail goes through `queue` (checks, do-not-disturb, rendering, one row)
and is delivered by a background job with retries (`deliver`).

Delivery claims a message before talking to the gateway (a conditional update that only one worker
can win, on SQLite as on PostgreSQL), so a message is never delivered twice, and records the outcome
in a second unit of work. A transient failure is retried after a growing pause up to the gateway's
`max_attempts`; a permanent one (a refused number or address) fails at once. A per-minute sweep
picks up retries that are due, and messages whose job was lost in a restart.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock, i18n, jobs
from kefu.core.errors import Conflict, FieldError, NotFound, PermissionDenied
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.customers import phones
from kefu.customers.models import Customer
from kefu.db import db
from kefu.messaging import dnd, gateways, render
from kefu.messaging.models import (
    Batch,
    BatchStatus,
    Channel,
    Implementation,
    InboundEmail,
    Message,
    MessageStatus,
    MessageTemplate,
    SkipReason,
    Source,
    TemplateKind,
)
from kefu.messaging.permissions import FUNCTION, SEND

RETRY_AFTER = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))
LEASE = timedelta(minutes=5)  # a claimed message that never reported back is tried again after this

NO_GATEWAY = lazy("No gateway is configured for this channel; ask an administrator")
ENTER_MOBILE = lazy("Enter a mobile number")
ENTER_EMAIL = lazy("Enter a valid email address")
REQUIRED = lazy("This field is required")
TOO_LONG = lazy("At most %(max)s characters")
CHOOSE_OFFERED = lazy("Choose one of the offered values")
TEMPLATE_UNUSABLE = lazy("Choose an enabled template of this channel")
TEST_SUBJECT = lazy("kefu test message")
TEST_BODY = lazy("This is a test message from kefu: the gateway works.")
DND_REFUSED = lazy("This number does not wish to be disturbed for this business: %(reason)s")
DND_WARNING = lazy(
    "This number asked not to be disturbed for this business (%(reason)s). Confirm to send anyway."
)


@dataclass(frozen=True)
class Recipient:
    channel: Channel
    shown: str  # as typed / stored
    key: str  # E.164 or the lower-case address


def recipient(channel: Channel, raw: str | None, field: str = "to") -> Recipient:
    """A deliverable address for the channel, or a FieldError on `field`."""
    from kefu.tickets.formvalues import Invalid, clean_email

    value = (raw or "").strip()
    if not value:
        raise FieldError(field, REQUIRED)
    if channel is Channel.SMS:
        try:
            phone = phones.normalise(value)
        except phones.InvalidPhone:
            raise FieldError(field, ENTER_MOBILE) from None
        if not phone.mobile:
            raise FieldError(field, ENTER_MOBILE)
        return Recipient(channel, phone.display, phone.e164)
    try:
        address = clean_email(value)
    except Invalid:
        raise FieldError(field, ENTER_EMAIL) from None
    return Recipient(channel, address, address.lower())


def context(
    session: Session,
    *,
    actor: Actor | None,
    to: Recipient,
    customer: Customer | None,
    values: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The variables a template sees: the customer, the recipient, today, the agent, and `values`."""
    found: dict[str, Any] = {
        "recipient": to.shown,
        "today": clock.to_local(clock.now()).date().isoformat(),
        "agent": {"name": actor.user.name, "number": actor.user.username} if actor else {},
    }
    if customer is not None:
        found["customer"] = {"name": customer.name, "code": customer.code or "", "tier": customer.tier or ""}
    for name, value in (values or {}).items():
        if name in render.NOTICE_FIELDS or name in ("article", "ticket"):
            found[name] = value
    return found


def template_for(session: Session, template_id: int | None, channel: Channel) -> MessageTemplate | None:
    if template_id is None:
        return None
    template = session.get(MessageTemplate, template_id)
    if template is None or not template.enabled or template.channel is not channel:
        raise FieldError("template_id", TEMPLATE_UNUSABLE)
    return template


def gateway_on(session: Session, channel: Channel) -> None:
    if gateways.load(session, channel).implementation is Implementation.OFF:
        raise FieldError("channel", NO_GATEWAY)


def queue(
    session: Session,
    actor: Actor | None,
    *,
    channel: Channel,
    to: Recipient,
    body: str,
    subject: str = "",
    source: Source,
    customer_id: int | None = None,
    ticket_id: int | None = None,
    template_id: int | None = None,
    business_category_id: int | None = None,
    batch_id: int | None = None,
    confirm_dnd: bool = False,
    department_id: int | None = None,
) -> Message:
    """Add one rendered message to the outbox and deliver it after commit. Do-not-disturb refuses
    (FieldError on `to`) or, for a warning, asks for `confirm_dnd` (FieldError on `confirm_dnd`)."""
    body = body.strip()
    limit = render.BODY_MAX if channel is Channel.SMS else render.EMAIL_BODY_MAX
    if not body:
        raise FieldError("body", REQUIRED)
    if len(body) > limit:
        raise FieldError("body", TOO_LONG, max=limit)
    if channel is Channel.EMAIL and not subject.strip():
        raise FieldError("subject", REQUIRED)
    note = ""
    if channel is Channel.SMS and source is not Source.STAFF:
        verdict = dnd.check(session, to.key, business_category_id)
        if verdict.refused:
            raise FieldError("to", DND_REFUSED, reason=verdict.reason())
        if verdict.warned:
            if not confirm_dnd:
                raise FieldError("confirm_dnd", DND_WARNING, reason=verdict.reason())
            note = verdict.reason()[:300]
    now = clock.now()
    message = Message(
        channel=channel,
        recipient=to.shown,
        recipient_key=to.key,
        customer_id=customer_id,
        ticket_id=ticket_id,
        template_id=template_id,
        batch_id=batch_id,
        business_category_id=business_category_id,
        source=source,
        subject=subject.strip()[:200],
        body=body,
        status=MessageStatus.QUEUED,
        dnd_note=note,
        next_attempt_at=now,
        created_by_id=actor.user.id if actor else None,
        department_id=department_id
        if department_id is not None
        else (actor.user.department_id if actor else None),
        created_at=now,
    )
    session.add(message)
    session.flush()
    if channel is Channel.EMAIL:
        domain = gateways.mail_domain(gateways.load(session, channel))
        message.provider_ref = f"<kefu.{message.id}.{secrets.token_hex(6)}@{domain}>"
    jobs.enqueue_on_commit(session, deliver_task, message.id)
    return message


def skip(
    session: Session,
    *,
    channel: Channel,
    shown: str,
    key: str,
    reason: SkipReason,
    note: str,
    source: Source,
    batch_id: int | None,
    customer_id: int | None,
    template_id: int | None,
    business_category_id: int | None,
    actor: Actor | None,
) -> Message:
    """Record a message that was deliberately not sent (a batch reports these)."""
    message = Message(
        channel=channel,
        recipient=shown[:200],
        recipient_key=key[:200],
        customer_id=customer_id,
        template_id=template_id,
        batch_id=batch_id,
        business_category_id=business_category_id,
        source=source,
        body="",
        status=MessageStatus.SKIPPED,
        skip_reason=reason,
        error=note[:2000],
        created_by_id=actor.user.id if actor else None,
        department_id=actor.user.department_id if actor else None,
    )
    session.add(message)
    return message


def send(
    session: Session,
    actor: Actor,
    *,
    channel: Channel,
    to: str | None,
    body: str = "",
    subject: str = "",
    template_id: int | None = None,
    variables: Mapping[str, Any] | None = None,
    customer_id: int | None = None,
    ticket_id: int | None = None,
    business_category_id: int | None = None,
    confirm_dnd: bool = False,
) -> Message:
    """An agent's ordinary SMS / e-mail (普通短信 / 邮件): typed, or from a template with values."""
    from kefu.customers import access as customer_access

    if not actor.can(SEND):
        raise PermissionDenied()
    gateway_on(session, channel)
    target = recipient(channel, to)
    customer = customer_access.customer(session, actor, customer_id) if customer_id is not None else None
    if ticket_id is not None:
        from kefu.tickets import access as ticket_access

        try:  # a message filed under a ticket threads the customer's replies into it
            ticket_access.load(session, actor, ticket_id)
        except NotFound:
            raise FieldError("ticket_id", CHOOSE_OFFERED) from None
    template = template_for(session, template_id, channel)
    if template is not None:
        if template.kind in (TemplateKind.KNOWLEDGE, TemplateKind.TICKET):
            raise FieldError("template_id", TEMPLATE_UNUSABLE)
        values = context(session, actor=actor, to=target, customer=customer, values=variables)
        if customer is None:
            values.setdefault("customer", {"name": "", "code": "", "tier": ""})
        body = render.render(template.body, values)
        subject = render.render(template.subject, values, field="subject") if channel is Channel.EMAIL else ""
        if business_category_id is None:
            business_category_id = template.business_category_id
    if business_category_id is not None:
        dnd.check_category(session, business_category_id)
    message = queue(
        session,
        actor,
        channel=channel,
        to=target,
        body=body,
        subject=subject,
        source=Source.MANUAL,
        customer_id=customer.id if customer else None,
        ticket_id=ticket_id,
        template_id=template.id if template else None,
        business_category_id=business_category_id,
        confirm_dnd=confirm_dnd,
    )
    audit.record(
        session,
        actor=actor,
        action="messaging.message.send",
        function=FUNCTION,
        target=message,
        target_label=f"{channel.value} → {target.shown}",
        summary=(message.dnd_note and f"DND confirmed: {message.dnd_note}") or "",
    )
    return message


def send_test(session: Session, actor: Actor, channel: Channel, to: str | None) -> Message:
    """A test message through the channel's gateway (an administrator checking the configuration)."""
    gateway_on(session, channel)
    target = recipient(channel, to)
    message = queue(
        session,
        actor,
        channel=channel,
        to=target,
        body=i18n.gettext(TEST_BODY),
        subject=i18n.gettext(TEST_SUBJECT) if channel is Channel.EMAIL else "",
        source=Source.STAFF,
    )
    message.reference = "test"
    audit.record(
        session,
        actor=actor,
        action="messaging.gateway.test",
        function=FUNCTION,
        target=message,
        target_label=f"{channel.value} → {target.shown}",
    )
    return message


# --- delivery ---------------------------------------------------------------------------------------


def _claim(session: Session, message_id: int, now: datetime) -> bool:
    """Take the message for one delivery attempt; False when another worker has it or it is not due."""
    result = session.execute(
        update(Message)
        .where(
            Message.id == message_id,
            Message.status == MessageStatus.QUEUED,
            Message.next_attempt_at <= now,
        )
        .values(attempts=Message.attempts + 1, next_attempt_at=now + LEASE)
    )
    return bool(getattr(result, "rowcount", 0))


def _outgoing(session: Session, message: Message) -> gateways.Outgoing:
    to_name = ""
    if message.customer_id is not None:
        to_name = session.scalar(select(Customer.name).where(Customer.id == message.customer_id)) or ""
    in_reply_to, references = "", ()
    if message.channel is Channel.EMAIL and message.ticket_id is not None:
        inbound = session.scalars(
            select(InboundEmail.message_id)
            .where(InboundEmail.ticket_id == message.ticket_id)
            .order_by(InboundEmail.id)
        ).all()
        sent = session.scalars(
            select(Message.provider_ref)
            .where(
                Message.ticket_id == message.ticket_id,
                Message.channel == Channel.EMAIL,
                Message.status == MessageStatus.SENT,
                Message.id != message.id,
            )
            .order_by(Message.id)
        ).all()
        thread = [ref for ref in [*inbound, *sent] if ref]
        references = tuple(thread[-20:])
        in_reply_to = inbound[-1] if inbound else ""
    return gateways.Outgoing(
        message_id=message.id,
        channel=message.channel,
        to=message.recipient_key if message.channel is Channel.SMS else message.recipient,
        body=message.body,
        subject=message.subject,
        to_name=to_name,
        mail_id=message.provider_ref,
        automatic=message.source in (Source.BATCH, Source.CAMPAIGN, Source.STAFF),
        in_reply_to=in_reply_to,
        references=references,
    )


def deliver(message_id: int) -> MessageStatus | None:
    """One delivery attempt for a queued, due message (idempotent; never delivers twice)."""
    now = clock.now()
    with db.unit_of_work() as session:
        if not _claim(session, message_id, now):
            message = session.get(Message, message_id)
            return message.status if message is not None else None
    with db.unit_of_work() as session:
        message = session.get(Message, message_id)
        assert message is not None
        gateway = gateways.load(session, message.channel)
        sender = gateways.deliverer(gateway)
        outgoing = _outgoing(session, message)
        max_attempts = gateway.max_attempts or 1
    error, permanent, reference = "", False, ""
    if sender is None:
        error, permanent = "no gateway is configured for this channel", True
    else:
        try:
            reference = sender.deliver(outgoing)
        except gateways.DeliveryError as exc:
            error, permanent = str(exc), exc.permanent
        except Exception as exc:  # a gateway's bug must not leave the message claimed forever
            error = f"{exc.__class__.__name__}: {exc}"
    with db.unit_of_work() as session:
        message = session.get(Message, message_id)
        assert message is not None
        message.gateway = sender.name if sender is not None else ""
        if not error:
            message.status, message.sent_at, message.error = MessageStatus.SENT, clock.now(), ""
            message.next_attempt_at = None
            if reference and message.channel is Channel.SMS:
                message.provider_ref = reference[:300]
        elif permanent or message.attempts >= max_attempts:
            message.status, message.error, message.next_attempt_at = MessageStatus.FAILED, error[:2000], None
        else:
            pause = RETRY_AFTER[min(message.attempts, len(RETRY_AFTER)) - 1]
            message.error, message.next_attempt_at = error[:2000], clock.now() + pause
        status = message.status
        if message.batch_id is not None and status is not MessageStatus.QUEUED:
            finish_batch_if_done(session, message.batch_id)
    return status


deliver_task = jobs.task(name="messaging.deliver")(deliver)


def due(session: Session, *, limit: int = 500) -> list[int]:
    return list(
        session.scalars(
            select(Message.id)
            .where(Message.status == MessageStatus.QUEUED, Message.next_attempt_at <= clock.now())
            .order_by(Message.next_attempt_at)
            .limit(limit)
        )
    )


def deliver_due() -> int:
    """Enqueue every message that is due (retries, and messages whose job was lost)."""
    with db.unit_of_work() as session:
        ids = due(session)
    for message_id in ids:
        deliver_task(message_id)
    return len(ids)


def retry(session: Session, actor: Actor, message_id: int) -> Message:
    """Send a failed message again (a new round of attempts)."""
    from kefu.messaging import access

    if not actor.can(SEND):
        raise PermissionDenied()
    message = access.message(session, actor, message_id)
    if message.status is not MessageStatus.FAILED:
        raise Conflict("Only a failed message can be sent again")
    message.status, message.attempts, message.next_attempt_at = MessageStatus.QUEUED, 0, clock.now()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="messaging.message.retry",
        function=FUNCTION,
        target=message,
        target_label=f"{message.channel.value} → {message.recipient}",
    )
    jobs.enqueue_on_commit(session, deliver_task, message.id)
    return message


def finish_batch_if_done(session: Session, batch_id: int) -> None:
    """Mark a running batch done once its recipients are resolved and nothing is left queued."""
    batch = session.get(Batch, batch_id)
    if batch is None or batch.status is not BatchStatus.RUNNING or not batch.total:
        return
    waiting = session.scalar(
        select(func.count())
        .select_from(Message)
        .where(Message.batch_id == batch_id, Message.status == MessageStatus.QUEUED)
    )
    if not waiting:
        batch.status, batch.finished_at = BatchStatus.DONE, clock.now()
