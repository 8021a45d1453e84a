"""The table of business acceptance orders (业务受理申请单, TKT-15).

An acceptance order *is* a ticket (numbering, flow, processing log, files, search, workbench and data
scope come from there) of a type whose flow is one of the acceptance flows; this row holds what only
an order has: the kind of business (a code of the `acceptance_kind` dictionary), whether the customer
pays first or is served first, the order's state, who holds its lock, the fee and its payment, the
appointment, the back-office reference and the reply.

`state` follows the ticket's flow (`acceptance_hooks`): pending (waiting for a handler, in a pool or
dispatched but not taken), locked (a handler took the current step; nobody else may act on the order),
rejected (审核不通过: back with the registering agent to correct and resubmit), done (the flow reached its
end) — and cancelled when the ticket was withdrawn, which the seed's four states do not cover.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Date, Enum, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core import clock
from kefu.db import Base


def _enum(cls: type[StrEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class PaymentMode(StrEnum):
    PAY_FIRST = "pay_first"  # 先缴费后服务
    SERVE_FIRST = "serve_first"  # 先服务后缴费


class AcceptanceState(StrEnum):
    PENDING = "pending"  # 待处理
    LOCKED = "locked"  # 锁定
    REJECTED = "rejected"  # 审核不通过
    DONE = "done"  # 完成
    CANCELLED = "cancelled"  # 撤销 (the ticket was withdrawn)


class AppointmentWindow(StrEnum):
    ANY = ""
    MORNING = "morning"  # 上午
    AFTERNOON = "afternoon"  # 下午
    EVENING = "evening"  # 晚上


class TicketAcceptance(Base):
    __tablename__ = "ticket_acceptance"
    __table_args__ = (
        Index("ix_ticket_acceptance_state_kind", "state", "kind"),
        Index("ix_ticket_acceptance_locked_by", "locked_by_id"),
    )

    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    payment_mode: Mapped[PaymentMode] = mapped_column(_enum(PaymentMode))
    state: Mapped[AcceptanceState] = mapped_column(_enum(AcceptanceState), default=AcceptanceState.PENDING)
    # The flow task the order stood at when it was last brought in line (a change means a step ended).
    task_id: Mapped[int | None] = mapped_column(ForeignKey("flow_task.id", ondelete="SET NULL"))
    locked_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    locked_at: Mapped[datetime | None] = mapped_column()
    # The subscriber / service number the order concerns (a new installation may have none yet).
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriber.id", ondelete="SET NULL"), index=True
    )
    service_no: Mapped[str] = mapped_column(String(60), default="", index=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    appointment_date: Mapped[date | None] = mapped_column(Date)
    appointment_window: Mapped[AppointmentWindow] = mapped_column(
        _enum(AppointmentWindow), default=AppointmentWindow.ANY
    )
    # The fee quoted at registration; the payment as confirmed (缴费确认).
    fee: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0.00"))
    paid_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    paid_at: Mapped[datetime | None] = mapped_column()
    payment_ref: Mapped[str] = mapped_column(String(100), default="")
    payment_confirmed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL")
    )
    # The reply (回复) of the business handler and the back-office order number (e.g. BOSS).
    reply: Mapped[str] = mapped_column(Text, default="")
    business_ref: Mapped[str] = mapped_column(String(100), default="")
    replied_at: Mapped[datetime | None] = mapped_column()
    replied_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    # The latest rejection (审核不通过) and how often the order was corrected and resubmitted.
    reject_reason: Mapped[str] = mapped_column(Text, default="")
    rejected_at: Mapped[datetime | None] = mapped_column()
    rejected_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id", ondelete="SET NULL"))
    resubmit_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now)
