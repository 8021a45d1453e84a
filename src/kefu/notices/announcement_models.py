"""Internal announcements (内部公告, NTC-1): the announcement, its recipients and its files.

The audience is chosen as a rule (all staff, departments with or without their sub-departments, roles,
named people) and resolved to people once, when the announcement is published: one
`AnnouncementRecipient` row per person is both "addressed to me" and the read receipt. Later changes
to the organisation therefore never rewrite who was told and who has read.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kefu.core import clock
from kefu.db import Base


class AnnouncementStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


# The only legal moves, by action name: publish a draft, withdraw a published announcement.
TRANSITIONS: dict[str, tuple[AnnouncementStatus, AnnouncementStatus]] = {
    "publish": (AnnouncementStatus.DRAFT, AnnouncementStatus.PUBLISHED),
    "withdraw": (AnnouncementStatus.PUBLISHED, AnnouncementStatus.WITHDRAWN),
}


class Priority(StrEnum):
    """normal: listed with an unread badge; important: pops up once; urgent: pops up on every page
    until acknowledged."""

    NORMAL = "normal"
    IMPORTANT = "important"
    URGENT = "urgent"

    @property
    def pops_up(self) -> bool:
        return self is not Priority.NORMAL

    @property
    def must_acknowledge(self) -> bool:
        return self is Priority.URGENT


class Announcement(Base):
    __tablename__ = "announcement"
    __table_args__ = (Index("ix_announcement_status_starts_at", "status", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")  # sanitised HTML
    priority: Mapped[Priority] = mapped_column(String(20), default=Priority.NORMAL)
    status: Mapped[AnnouncementStatus] = mapped_column(String(20), default=AnnouncementStatus.DRAFT)
    # The audience rule as chosen; resolved into recipients when published.
    audience_all: Mapped[bool] = mapped_column(Boolean, default=False)
    department_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    include_subdepartments: Mapped[bool] = mapped_column(Boolean, default=True)
    role_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    user_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # The names the audience rule had when it was published ({"departments": ["客服中心"], "roles":
    # [...], "users": [...]}), kept for history.
    audience_names: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    # Validity window: shown to recipients from `starts_at` (publish time when left empty) until
    # `ends_at` (open-ended when empty).
    starts_at: Mapped[datetime | None] = mapped_column()
    ends_at: Mapped[datetime | None] = mapped_column()
    author_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"), index=True)
    author_name: Mapped[str] = mapped_column(String(100), default="")
    # The author's department when the announcement was written: what data scope is measured against.
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    published_at: Mapped[datetime | None] = mapped_column()
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    # When recipients were told live: at publishing, or by the minute job once a later start arrives.
    delivered_at: Mapped[datetime | None] = mapped_column()
    withdrawn_at: Mapped[datetime | None] = mapped_column()
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    withdraw_reason: Mapped[str] = mapped_column(String(500), default="")
    last_reminded_at: Mapped[datetime | None] = mapped_column()

    attachments: Mapped[list[AnnouncementAttachment]] = relationship(
        order_by="AnnouncementAttachment.id", cascade="all, delete-orphan", passive_deletes=True
    )

    def visible_at(self, now: datetime) -> bool:
        """Published and inside its validity window."""
        return (
            self.status == AnnouncementStatus.PUBLISHED
            and self.starts_at is not None
            and self.starts_at <= now
            and (self.ends_at is None or self.ends_at > now)
        )

    def expired_at(self, now: datetime) -> bool:
        return self.ends_at is not None and self.ends_at <= now


class AnnouncementRecipient(Base):
    """One person an announcement was addressed to (fixed at publishing) and their read receipt."""

    __tablename__ = "announcement_recipient"
    __table_args__ = (Index("ix_announcement_recipient_user_read", "user_id", "read_at"),)

    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcement.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    # The person's department when the announcement was published (receipts group by it).
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    read_at: Mapped[datetime | None] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column()
    remind_count: Mapped[int] = mapped_column(Integer, default=0)


class AnnouncementAttachment(Base):
    """A file of an announcement, kept in `core.storage`."""

    __tablename__ = "announcement_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    announcement_id: Mapped[int] = mapped_column(
        ForeignKey("announcement.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(default=clock.now)
