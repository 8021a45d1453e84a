"""Tables of messaging (短信 / 邮件): the gateways that deliver, the templates agents send from, the
outbox with every message's fate, do-not-disturb numbers (免打扰), the callers' blacklist (黑名单),
proactive-service batches (主动服务) and the inbound e-mails turned into tickets.

The outbox (`msg_message`) is the one send log: a message sent by hand, with knowledge, by a batch or
by a ticket is a row here, and so is one that was *not* sent because do-not-disturb or a missing
address stopped it (`skipped`, with the reason) — a batch reports what it skipped from these rows.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core import clock
from kefu.customers.models import key_column
from kefu.db import Base


def _enum(cls: type[StrEnum], length: int = 20) -> Enum:
    """Stored as its value in a plain string column (no database enum type to migrate)."""
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"


class Implementation(StrEnum):
    OFF = "off"  # nothing is sent; a send is refused with a clear message
    LOG = "log"  # demos and training: delivered to the log only, marked as such
    HTTP = "http"  # SMS: the operator's SMS gateway over HTTP/JSON
    SMTP = "smtp"  # e-mail: a real SMTP server


class Security(StrEnum):
    NONE = "none"
    STARTTLS = "starttls"
    SSL = "ssl"


class Gateway(Base):
    """How one channel is delivered (发送通道), edited by administrators. Secrets are never shown back."""

    __tablename__ = "msg_gateway"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel), unique=True)
    implementation: Mapped[Implementation] = mapped_column(_enum(Implementation), default=Implementation.OFF)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    timeout_seconds: Mapped[float] = mapped_column(Float, default=10.0)
    # SMS over HTTP: POST {"to", "content", "sign", "reference"} as JSON to `http_url`.
    http_url: Mapped[str] = mapped_column(String(300), default="")
    auth_header: Mapped[str] = mapped_column(String(100), default="Authorization")
    auth_value: Mapped[str] = mapped_column(String(500), default="")  # secret
    sign: Mapped[str] = mapped_column(String(30), default="")  # SMS signature (短信签名), e.g. 【客服中心】
    # E-mail out.
    smtp_host: Mapped[str] = mapped_column(String(200), default="")
    smtp_port: Mapped[int] = mapped_column(Integer, default=25)
    smtp_security: Mapped[Security] = mapped_column(_enum(Security), default=Security.NONE)
    smtp_username: Mapped[str] = mapped_column(String(200), default="")
    smtp_password: Mapped[str] = mapped_column(String(500), default="")  # secret
    from_address: Mapped[str] = mapped_column(String(200), default="")
    from_name: Mapped[str] = mapped_column(String(100), default="")
    # E-mail in (the e-mail channel of tickets): a mailbox polled over IMAP.
    imap_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    imap_host: Mapped[str] = mapped_column(String(200), default="")
    imap_port: Mapped[int] = mapped_column(Integer, default=993)
    imap_security: Mapped[Security] = mapped_column(_enum(Security), default=Security.SSL)
    imap_username: Mapped[str] = mapped_column(String(200), default="")
    imap_password: Mapped[str] = mapped_column(String(500), default="")  # secret
    imap_folder: Mapped[str] = mapped_column(String(100), default="INBOX")
    inbound_ticket_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_type.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)


class TemplateKind(StrEnum):
    """What a template is for; decides which variables it may use."""

    GENERAL = "general"  # 普通短信 / 邮件
    KNOWLEDGE = "knowledge"  # 知识短信: the article's title, summary and text
    FEE_NOTICE = "fee_notice"  # 费用通知
    PAYMENT_REMINDER = "payment_reminder"  # 费用催缴
    SERVICE_NOTICE = "service_notice"  # 服务通知 (cutover, maintenance)
    CALLBACK = "callback"  # 业务回访
    PROMOTION = "promotion"  # 业务推广
    TICKET = "ticket"  # to the customer about their ticket


class MessageTemplate(Base):
    """An SMS or e-mail template (短信 / 邮件模板) with `{{ variables }}` (Jinja syntax, sandboxed)."""

    __tablename__ = "msg_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    kind: Mapped[TemplateKind] = mapped_column(_enum(TemplateKind), default=TemplateKind.GENERAL)
    # The business type (业务类型) the message belongs to: what do-not-disturb is checked against.
    business_category_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_category.id", ondelete="SET NULL")
    )
    subject: Mapped[str] = mapped_column(String(200), default="")  # e-mail only
    body: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)


class Source(StrEnum):
    """Where a message came from."""

    MANUAL = "manual"  # an agent's 普通短信 / 邮件
    KNOWLEDGE = "knowledge"  # 知识短信 / 邮件 (KB-7)
    BATCH = "batch"  # proactive service (主动服务)
    CAMPAIGN = "campaign"  # outbound campaign (外呼)
    TICKET = "ticket"  # a reply to the customer about a ticket
    STAFF = "staff"  # to staff (on-duty alerts): do-not-disturb does not apply


class MessageStatus(StrEnum):
    QUEUED = "queued"  # waiting for (another) delivery attempt
    SENT = "sent"  # the gateway accepted it
    FAILED = "failed"  # every attempt failed; `error` says why
    SKIPPED = "skipped"  # deliberately not sent; `skip_reason` says why
    CANCELLED = "cancelled"  # withdrawn before delivery (a cancelled batch)


class SkipReason(StrEnum):
    DND = "dnd"  # the number is on the do-not-disturb list for this business
    NO_ADDRESS = "no_address"  # the customer has no mobile number / e-mail address
    INVALID = "invalid"  # the address cannot be delivered to
    DUPLICATE = "duplicate"  # the batch already holds a message to this address


class Message(Base):
    """One message in the outbox (发送记录)."""

    __tablename__ = "msg_message"
    __table_args__ = (
        UniqueConstraint("batch_id", "recipient_key"),
        Index("ix_msg_message_status_next", "status", "next_attempt_at"),
        Index("ix_msg_message_customer", "customer_id", "created_at"),
        Index("ix_msg_message_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    recipient: Mapped[str] = mapped_column(String(200))  # as typed or as stored on the customer
    recipient_key: Mapped[str] = mapped_column(key_column(200), index=True)  # E.164 or lower-case address
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id", ondelete="SET NULL"))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id", ondelete="SET NULL"), index=True)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("msg_template.id", ondelete="SET NULL"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("msg_batch.id", ondelete="CASCADE"), index=True)
    business_category_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_category.id", ondelete="SET NULL")
    )
    source: Mapped[Source] = mapped_column(_enum(Source))
    # What the message carried, for people reading the log: "KB-000123 v3", "TS-20261122-000123".
    reference: Mapped[str] = mapped_column(String(100), default="")
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[MessageStatus] = mapped_column(_enum(MessageStatus), index=True)
    skip_reason: Mapped[SkipReason | None] = mapped_column(_enum(SkipReason))
    # A do-not-disturb *warning* the sender read and confirmed (sent anyway): kept with the message.
    dnd_note: Mapped[str] = mapped_column(String(300), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    error: Mapped[str] = mapped_column(Text, default="")
    gateway: Mapped[str] = mapped_column(String(20), default="")  # the implementation that delivered it
    # The gateway's reference: the SMS gateway's id, or the e-mail's Message-ID (threads replies).
    provider_ref: Mapped[str] = mapped_column(key_column(300), default="", index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column()


class DndMode(StrEnum):
    REFUSE = "refuse"  # a send is refused (禁止)
    WARN = "warn"  # the sender is warned and must confirm (提示)


class DndEntry(Base):
    """A number that must not be disturbed (免打扰) for one business type, or for all (no category)."""

    __tablename__ = "msg_dnd"
    __table_args__ = (Index("ix_msg_dnd_number", "number_key", "business_category_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number_key: Mapped[str] = mapped_column(key_column(20))  # E.164
    number: Mapped[str] = mapped_column(String(40))  # as shown
    # A category covers its sub-categories; none means every business.
    business_category_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_category.id", ondelete="CASCADE")
    )
    mode: Mapped[DndMode] = mapped_column(_enum(DndMode), default=DndMode.REFUSE)
    valid_from: Mapped[datetime | None] = mapped_column()
    valid_until: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str] = mapped_column(String(300), default="")
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class BlacklistLevel(StrEnum):
    BLOCK = "block"  # the call is refused before it reaches an agent (IVR / routing)
    FLAG = "flag"  # the call goes through; the agent sees the warning on the screen pop


class BlacklistEntry(Base):
    """An abusive or harassing caller (黑名单, CON-10), consulted by the call center."""

    __tablename__ = "msg_blacklist"

    id: Mapped[int] = mapped_column(primary_key=True)
    number_key: Mapped[str] = mapped_column(key_column(20), unique=True)  # E.164
    number: Mapped[str] = mapped_column(String(40))
    level: Mapped[BlacklistLevel] = mapped_column(_enum(BlacklistLevel), default=BlacklistLevel.FLAG)
    reason: Mapped[str] = mapped_column(String(300))
    valid_until: Mapped[datetime | None] = mapped_column()
    hits: Mapped[int] = mapped_column(Integer, default=0)  # calls recognised since it was listed
    last_hit_at: Mapped[datetime | None] = mapped_column()
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)


class BatchStatus(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"  # recipients being resolved and messages delivered
    DONE = "done"
    CANCELLED = "cancelled"


class Batch(Base):
    """A proactive-service batch (主动服务): one template to a selected set of customers or an
    uploaded list, honouring do-not-disturb. Progress and results are counted from its messages."""

    __tablename__ = "msg_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[TemplateKind] = mapped_column(_enum(TemplateKind))
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    template_id: Mapped[int] = mapped_column(ForeignKey("msg_template.id", ondelete="RESTRICT"))
    business_category_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_category.id", ondelete="SET NULL")
    )
    # {"mode": "filter", "tiers": [...], ...} or {"mode": "list", "rows": [{"to"/"customer_code", vars}]}
    selection: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    variables: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the same for every recipient
    status: Mapped[BatchStatus] = mapped_column(_enum(BatchStatus), default=BatchStatus.DRAFT)
    total: Mapped[int] = mapped_column(Integer, default=0)  # recipients resolved (messages made)
    error: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class InboundOutcome(StrEnum):
    CREATED = "created"  # a new ticket
    APPENDED = "appended"  # added to the ticket it replies to
    IGNORED = "ignored"  # an auto-reply, a bounce or mail from kefu itself
    FAILED = "failed"  # could not be processed; `error` says why (kept for a retry)


class InboundEmail(Base):
    """An e-mail fetched from the mailbox, once (by Message-ID), and what became of it."""

    __tablename__ = "msg_inbound"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(key_column(300), unique=True)
    from_address: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(300), default="")
    received_at: Mapped[datetime] = mapped_column(default=clock.now)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id", ondelete="SET NULL"), index=True)
    outcome: Mapped[InboundOutcome] = mapped_column(_enum(InboundOutcome))
    error: Mapped[str] = mapped_column(Text, default="")
