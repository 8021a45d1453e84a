"""Tables of tickets (工单): business categories, form and case templates, ticket types, tickets with
their processing log, attachments, urges, tracking and callback work.

A ticket runs on the flow of its type (`flow_instance_id`); the flow's tasks say who handles it now,
the ticket keeps a summary (`stage`, `handler_id`, `status`) that the runtime's subject hook keeps in
line after every step, so lists never have to restore a flow. `lock_version` makes two handlers acting
on one ticket at once get one success and one 409.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kefu.core import clock
from kefu.db import Base
from kefu.workflow.models import FlowTemplate


def _enum(cls: type[StrEnum]) -> Enum:
    """Stored as its value in a plain string column (no database enum type to migrate)."""
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class TemplateStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    DISABLED = "disabled"


class TicketStatus(StrEnum):
    OPEN = "open"  # in the flow (the stage says where)
    SUSPENDED = "suspended"  # 挂起: the flow and its time limits are paused
    CLOSED = "closed"  # the flow reached its end
    CANCELLED = "cancelled"  # 撤销: withdrawn before the end


class CallbackStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    UNREACHED = "unreached"  # the customer was not reached; can be retried
    CANCELLED = "cancelled"


class TrackingResult(StrEnum):
    CONTINUE = "continue"  # 继续跟踪
    RESOLVED = "resolved"  # 已解决


class BusinessCategory(Base):
    """A node of the business-type tree (业务类型), e.g. 投诉 / 网络质量 / 信号弱. `path` is "/1/4/"."""

    __tablename__ = "ticket_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_category.id"), index=True)
    path: Mapped[str] = mapped_column(String(400), default="", index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    sort: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped[BusinessCategory | None] = relationship(remote_side=[id])


class FormTemplate(Base):
    """A ticket form template (工单模板): the custom elements (工单元素) a ticket of a type carries.

    `elements` is the list checked by `formdef.check_definition` (code, type, label, required,
    default, dictionary/options, validation expression and message …).
    """

    __tablename__ = "ticket_form_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_category.id", ondelete="SET NULL"), index=True
    )
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    effective_from: Mapped[date | None] = mapped_column(Date)
    effective_to: Mapped[date | None] = mapped_column(Date)
    status: Mapped[TemplateStatus] = mapped_column(_enum(TemplateStatus), default=TemplateStatus.DRAFT)
    elements: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}


class TicketType(Base):
    """A ticket type (工单类型) = business category + form template + published flow + time limit +
    numbering prefix (serials like `TS-20261122-000123`, unique per type and day)."""

    __tablename__ = "ticket_type"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(10))
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_category.id", ondelete="SET NULL"), index=True
    )
    form_template_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_form_template.id", ondelete="RESTRICT")
    )
    # New tickets start on the flow template's newest published version; running ones keep theirs.
    flow_template_id: Mapped[int] = mapped_column(ForeignKey("flow_template.id", ondelete="RESTRICT"))
    # Whole-ticket limit (ISO-8601 duration in working time, e.g. P3D), with a warning share.
    limit: Mapped[str | None] = mapped_column(String(40))
    # Where new tickets go unless the registration names a department (the handling_department rule).
    default_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL")
    )
    default_priority: Mapped[str] = mapped_column(String(60), default="normal")
    description: Mapped[str] = mapped_column(Text, default="")
    sort: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    category: Mapped[BusinessCategory | None] = relationship()
    form_template: Mapped[FormTemplate | None] = relationship()
    flow_template: Mapped[FlowTemplate] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}


class CaseTemplate(Base):
    """A case template (案例模板): prefilled subject, description and fields for frequent cases."""

    __tablename__ = "ticket_case_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    type_id: Mapped[int] = mapped_column(ForeignKey("ticket_type.id", ondelete="CASCADE"), index=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_category.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[str | None] = mapped_column(String(60))
    nature: Mapped[str | None] = mapped_column(String(60))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sort: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)

    ticket_type: Mapped[TicketType] = relationship()


class TicketSerial(Base):
    """The last serial number given out per type and day (row-locked while a ticket is numbered)."""

    __tablename__ = "ticket_serial"

    type_id: Mapped[int] = mapped_column(ForeignKey("ticket_type.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[str] = mapped_column(String(8), primary_key=True)  # YYYYMMDD in the deployment's zone
    last: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(Base):
    __tablename__ = "ticket"
    __table_args__ = (
        Index("ix_ticket_creator_created", "creator_id", "created_at"),
        Index("ix_ticket_status_created", "status", "created_at"),
        Index("ix_ticket_department_status", "department_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("ticket_type.id", ondelete="RESTRICT"), index=True)
    category_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_category.id", ondelete="SET NULL"), index=True
    )
    form_template_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_form_template.id", ondelete="SET NULL")
    )
    case_template_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket_case_template.id", ondelete="SET NULL")
    )
    channel: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[str] = mapped_column(String(60), default="normal")
    nature: Mapped[str | None] = mapped_column(String(60))
    # The customer as registered; `customer_id` links the customer profile once it exists.
    customer_id: Mapped[int | None] = mapped_column(Integer, index=True)
    customer_name: Mapped[str] = mapped_column(String(100), default="")
    customer_phone: Mapped[str] = mapped_column(String(40), default="", index=True)
    customer_email: Mapped[str] = mapped_column(String(200), default="")
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[TicketStatus] = mapped_column(_enum(TicketStatus), default=TicketStatus.OPEN)
    # Where the flow stands: the names of its open tasks ("处理, 审核"), kept by the subject hook.
    stage: Mapped[str] = mapped_column(String(200), default="")
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"), index=True)
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    creator_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("department.id", ondelete="SET NULL"), index=True
    )
    # The handling department (承办部门): where the flow routes the ticket, moved by transfers.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    flow_instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("flow_instance.id", ondelete="SET NULL"), index=True
    )
    due_at: Mapped[datetime | None] = mapped_column()
    urge_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    close_reason: Mapped[str | None] = mapped_column(String(60))
    # A code another system gave the matter (e.g. an Inmarsat code) and the customer's terminal
    # (终端号: set-top box, smart card, meter, satellite terminal …): searchable conditions (TKT-10).
    external_code: Mapped[str] = mapped_column(String(100), default="", index=True)
    terminal_no: Mapped[str] = mapped_column(String(100), default="", index=True)
    # The service area (an `area` dictionary code): fault notices and dispatch rules go by area.
    area: Mapped[str | None] = mapped_column(String(60), index=True)
    # Merged (TKT-11): the surviving ticket this one was merged into; history stays here.
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("ticket.id", ondelete="SET NULL"), index=True
    )
    merged_at: Mapped[datetime | None] = mapped_column()
    # Complaints (TKT-13): the class (a `complaint_class` code: line / product / service quality),
    # the flag found at registration (repeat 重复投诉 / secondary 二次投诉) and the earlier complaint.
    complaint_class: Mapped[str | None] = mapped_column(String(60))
    complaint_flag: Mapped[str] = mapped_column(String(20), default="")
    related_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
    closed_at: Mapped[datetime | None] = mapped_column()
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    ticket_type: Mapped[TicketType] = relationship(foreign_keys=[type_id])

    __mapper_args__ = {"version_id_col": lock_version}

    @property
    def is_active(self) -> bool:
        return self.status in (TicketStatus.OPEN, TicketStatus.SUSPENDED)


class TicketLog(Base):
    """The processing log (处理日志, TKT-9): who did what, when, at which node, with which comment."""

    __tablename__ = "ticket_log"
    __table_args__ = (
        # "Any past handler / handling department" conditions of the comprehensive search (TKT-10).
        Index("ix_ticket_log_user_ticket", "user_id", "ticket_id"),
        Index("ix_ticket_log_department_ticket", "department_id", "ticket_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=clock.now)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(30))
    node_id: Mapped[str] = mapped_column(String(100), default="")
    node_name: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str | None] = mapped_column(String(60))
    comment: Mapped[str] = mapped_column(Text, default="")
    # Whom the action concerned (transfer target …) and other details, for display.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class TicketAttachment(Base):
    """A file on a ticket or on one of its log entries (a reply's attachment), kept in `core.storage`."""

    __tablename__ = "ticket_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    log_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_log.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(200))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(default=clock.now)


class TicketUrge(Base):
    """An urge (催办): who pressed for progress, when, with what words."""

    __tablename__ = "ticket_urge"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(default=clock.now)


class TicketTracking(Base):
    """Someone follows an unfinished ticket (跟踪, TKT-8) until they record it as resolved."""

    __tablename__ = "ticket_tracking"
    __table_args__ = (UniqueConstraint("ticket_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    ended_at: Mapped[datetime | None] = mapped_column()

    records: Mapped[list[TrackingRecord]] = relationship(
        back_populates="tracking", order_by="TrackingRecord.id", cascade="all, delete-orphan"
    )


class TrackingRecord(Base):
    """One follow-up (跟踪记录): what was done, and whether the matter is resolved."""

    __tablename__ = "ticket_tracking_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_id: Mapped[int] = mapped_column(ForeignKey("ticket_tracking.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(Text)
    result: Mapped[TrackingResult] = mapped_column(_enum(TrackingResult))
    at: Mapped[datetime] = mapped_column(default=clock.now)

    tracking: Mapped[TicketTracking] = relationship(back_populates="records")


class CallbackTask(Base):
    """Callback work (回访, TKT-16): a finished ticket a caller phones the customer about."""

    __tablename__ = "ticket_callback"
    __table_args__ = (Index("ix_ticket_callback_assignee_status", "assignee_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    status: Mapped[CallbackStatus] = mapped_column(_enum(CallbackStatus), default=CallbackStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    satisfaction: Mapped[str | None] = mapped_column(String(60))
    result: Mapped[str] = mapped_column(Text, default="")
    not_reached_reason: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    completed_at: Mapped[datetime | None] = mapped_column()
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    ticket: Mapped[Ticket] = relationship()

    __mapper_args__ = {"version_id_col": lock_version}
