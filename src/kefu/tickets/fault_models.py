"""Tables of complaints, fault reports and fault / cutover notices.

A fault notice (故障通告) or cutover notice (割接通知) tells staff and customers that service in some
areas (`area` dictionary codes) is disturbed during a time window; it is active while published and
now lies within the window. Fault reports registered in such an area are linked to the notice
(`FaultNoticeTicket`). Dispatch rules (派单规则) route new fault reports to a department by area,
fault type and customer tier; the first enabled rule in `sort` order that matches wins.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core import clock
from kefu.db import Base


def _enum(cls: type[StrEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class NoticeKind(StrEnum):
    FAULT = "fault"  # 故障通告: an unplanned outage
    CUTOVER = "cutover"  # 割接通知: planned work


class NoticeStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class FaultNotice(Base):
    __tablename__ = "ticket_fault_notice"
    __table_args__ = (Index("ix_ticket_fault_notice_status_window", "status", "starts_at", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[NoticeKind] = mapped_column(_enum(NoticeKind), default=NoticeKind.FAULT)
    title: Mapped[str] = mapped_column(String(200))
    # What staff see (cause, workaround, who to call) and what customers are told.
    content: Mapped[str] = mapped_column(Text, default="")
    public_text: Mapped[str] = mapped_column(Text, default="")
    areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    services: Mapped[list[str]] = mapped_column(JSON, default=list)  # affected services, free text
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    status: Mapped[NoticeStatus] = mapped_column(_enum(NoticeStatus), default=NoticeStatus.DRAFT)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    def covers(self, area: str | None, at: datetime) -> bool:
        return (
            self.status is NoticeStatus.PUBLISHED
            and self.starts_at <= at < self.ends_at
            and (area is None or area in (self.areas or []))
        )


class FaultNoticeTicket(Base):
    """A fault report registered in the area of an active notice."""

    __tablename__ = "ticket_fault_notice_link"
    __table_args__ = (UniqueConstraint("notice_id", "ticket_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(
        ForeignKey("ticket_fault_notice.id", ondelete="CASCADE"), index=True
    )
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    linked_at: Mapped[datetime] = mapped_column(default=clock.now)


class DispatchRule(Base):
    """Where new fault reports go: empty conditions match anything."""

    __tablename__ = "ticket_dispatch_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    sort: Mapped[int] = mapped_column(Integer, default=0)
    area: Mapped[str | None] = mapped_column(String(60))
    fault_type: Mapped[str | None] = mapped_column(String(60))
    customer_tier: Mapped[str | None] = mapped_column(String(60))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id", ondelete="CASCADE"))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    def matches(self, facts: dict[str, Any]) -> bool:
        return all(
            wanted in (None, "") or wanted == facts.get(name)
            for name, wanted in (
                ("area", self.area),
                ("fault_type", self.fault_type),
                ("customer_tier", self.customer_tier),
            )
        )
