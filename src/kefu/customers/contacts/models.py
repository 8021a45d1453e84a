"""Tables of contact records (接触记录): one row per interaction, linked to the customer (when known),
the agent, the tickets it produced or concerned, and — for calls — the call center's call id."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kefu.core import clock
from kefu.customers.models import key_column
from kefu.db import Base


class ContactChannel(StrEnum):
    """The built-in channels; a deployment's `channel` dictionary may add more (e.g. a mini program)."""

    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"
    WEB = "web"
    FAX = "fax"
    LETTER = "letter"
    VISIT = "visit"
    SELF_SERVICE = "self_service"  # IVR, web self-service, terminals (自助服务)
    WECHAT = "wechat"


class ContactDirection(StrEnum):
    INBOUND = "inbound"  # the customer reached us (呼入、来信、来访)
    OUTBOUND = "outbound"  # we reached the customer (外呼、回访、通知)


class ContactRecord(Base):
    __tablename__ = "contact_record"
    __table_args__ = (
        Index("ix_contact_record_customer_started", "customer_id", "started_at"),
        Index("ix_contact_record_agent_started", "agent_id", "started_at"),
        Index("ix_contact_record_department_started", "department_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id", ondelete="SET NULL"))
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscriber.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(60))
    direction: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime] = mapped_column(default=clock.now)
    ended_at: Mapped[datetime | None] = mapped_column()
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    # The agent who handled it (none for self-service) and their department at the time.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    # The customer's side: the calling number, the email address … as given, and its search key.
    remote_address: Mapped[str] = mapped_column(String(200), default="")
    remote_key: Mapped[str] = mapped_column(key_column(200), default="", index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    # The call center's id of the call (unique: recording the same call twice gives the first record).
    call_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    tickets: Mapped[list[ContactTicket]] = relationship(
        cascade="all, delete-orphan", order_by="ContactTicket.ticket_id"
    )


class ContactTicket(Base):
    """A ticket an interaction produced or concerned (many-to-many)."""

    __tablename__ = "contact_record_ticket"

    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact_record.id", ondelete="CASCADE"), primary_key=True
    )
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True, index=True
    )
