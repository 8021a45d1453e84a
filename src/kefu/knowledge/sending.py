"""Sending knowledge to a customer by SMS or email (知识短信/邮件, KB-7) — the hook, not the delivery.

`send_knowledge` records what an agent asked to send and hands it to the sender registered for the
channel. kefu's messaging area (SMS/email templates, providers, do-not-disturb) registers real
senders with `register_sender`; until it does, a request is recorded as `unsupported` and the agent
is told so — nothing pretends to have been sent. With a sender, the request is `queued` and a
background job delivers it after commit (`sent` or `failed`, never twice).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock, jobs
from kefu.core.errors import FieldError, PermissionDenied
from kefu.core.permissions import Actor
from kefu.db import db
from kefu.knowledge import common
from kefu.knowledge.models import Article, Audience, KnowledgeSend, SendStatus
from kefu.knowledge.permissions import FUNCTION, SEND

CHANNELS = ("sms", "email")
SMS_MAX = 500
_PHONE = re.compile(r"^\+?[0-9][0-9-]{4,19}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Outgoing:
    """What a sender delivers."""

    send_id: int
    channel: str
    recipient: str
    subject: str
    content: str
    customer_id: int | None


class Sender(Protocol):
    """Delivers one message; raises on failure. `name` is recorded with the request."""

    name: str

    def deliver(self, message: Outgoing) -> None: ...


SENDERS: dict[str, Sender] = {}


def register_sender(channel: str, sender: Sender) -> None:
    """Connect a real sender for `channel` ("sms" or "email"); the messaging area calls this."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    SENDERS[channel] = sender


def unregister_sender(channel: str) -> None:
    SENDERS.pop(channel, None)


def compose(article: Article, body_text: str, channel: str) -> tuple[str, str]:
    """(subject, content): an SMS carries the title and summary, an email the whole text."""
    if channel == "sms":
        text = f"【{article.title}】{article.summary or body_text}"
        return "", text[:SMS_MAX]
    return article.title, "\n\n".join(p for p in (article.summary, body_text) if p)


def _recipient(channel: str, to: str | None) -> str:
    value = (to or "").strip()
    if not value:
        raise FieldError("to", "This field is required")
    if channel == "sms" and not _PHONE.match(value):
        raise FieldError("to", "Enter a mobile or phone number")
    if channel == "email" and (not _EMAIL.match(value) or len(value) > 200):
        raise FieldError("to", "Enter an email address")
    return value


def send_knowledge(
    session: Session,
    actor: Actor,
    article_id: int,
    channel: str = "sms",
    to: str | None = None,
    *,
    customer_id: int | None = None,
) -> KnowledgeSend:
    """Record a request to send the live version of an article to a customer and pass it to the
    channel's sender (queued), or record it as unsupported when no sender is registered."""
    from kefu.knowledge import access

    if not actor.can(SEND):
        raise PermissionDenied()
    if channel not in CHANNELS:
        raise FieldError("channel", "Choose one of the offered values")
    recipient = _recipient(channel, to)
    article = access.load_readable(session, actor, article_id)
    if article.audience is not Audience.PUBLIC:
        raise FieldError("article_id", "Only knowledge marked public may be sent to customers")
    version = common.live_version(session, article)
    assert version is not None
    subject, text = compose(article, version.body_text, channel)
    sender = SENDERS.get(channel)
    row = KnowledgeSend(
        article_id=article.id,
        version_no=version.number,
        channel=channel,
        recipient=recipient,
        customer_id=customer_id,
        subject=subject[:200],
        content=text,
        status=SendStatus.QUEUED if sender is not None else SendStatus.UNSUPPORTED,
        sender=getattr(sender, "name", "")[:60] if sender is not None else "",
        requested_by_id=actor.user.id,
        requested_at=clock.now(),
    )
    session.add(row)
    session.flush()
    common.log(
        session,
        article,
        actor,
        "sent" if sender else "send_unsupported",
        detail={"send_id": row.id, "channel": channel},
    )
    audit.record(
        session,
        actor=actor,
        action="knowledge.article.send",
        function=FUNCTION,
        target=row,
        target_label=f"{article.number} → {recipient}",
        summary=f"{channel}: {row.status.value}",
    )
    if sender is not None:
        jobs.enqueue_on_commit(session, deliver_task, row.id)
    return row


def deliver(send_id: int) -> SendStatus | None:
    """Deliver one queued request (idempotent: only a queued request is delivered, once)."""
    with db.unit_of_work() as session:
        row = session.scalars(
            select(KnowledgeSend).where(KnowledgeSend.id == send_id).with_for_update()
        ).first()
        if row is None or row.status is not SendStatus.QUEUED:
            return row.status if row is not None else None
        sender = SENDERS.get(row.channel)
        if sender is None:
            row.status, row.error = SendStatus.UNSUPPORTED, "no sender registered"
            return row.status
        message = Outgoing(row.id, row.channel, row.recipient, row.subject, row.content, row.customer_id)
        try:
            sender.deliver(message)
        except Exception as exc:  # the provider's failure is recorded on the request
            row.status, row.error = SendStatus.FAILED, str(exc)[:2000]
        else:
            row.status, row.sent_at = SendStatus.SENT, clock.now()
        return row.status


deliver_task = jobs.task(name="knowledge.deliver_send")(deliver)
