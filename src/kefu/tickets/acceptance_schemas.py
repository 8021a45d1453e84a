"""API shapes of business acceptance orders (业务受理申请单)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from kefu.tickets.acceptance_models import AcceptanceState, AppointmentWindow, PaymentMode
from kefu.tickets.schemas import Versioned

Money = Field(default=Decimal("0.00"), ge=0, le=Decimal("99999999.99"), max_digits=10, decimal_places=2)


class AcceptanceCreate(BaseModel):
    payment_mode: PaymentMode | None = Field(
        default=None, description="pay_first (先缴费后服务) or serve_first (先服务后缴费); or give type_id."
    )
    type_id: int | None = Field(
        default=None, description="An acceptance ticket type (else the mode's first)."
    )
    kind: str = Field(description="A code of the `acceptance_kind` dictionary (install, relocate …).")
    channel: str = Field(default="phone", description="A code of the `channel` dictionary.")
    subject: str = Field(default="", max_length=200, description="Default: the kind and the customer.")
    description: str = Field(default="", max_length=20000)
    priority: str | None = Field(default=None, description="A code of the `urgency` dictionary.")
    customer_id: int | None = None
    customer_name: str = Field(default="", max_length=100)
    customer_phone: str = Field(default="", max_length=40)
    customer_email: str = Field(default="", max_length=200)
    subscriber_id: int | None = Field(default=None, description="The customer's subscriber concerned.")
    service_no: str = Field(default="", max_length=60, description="The service number concerned.")
    address: str = Field(default="", max_length=300)
    fee: Decimal = Money
    appointment_date: date | None = None
    appointment_window: AppointmentWindow = AppointmentWindow.ANY
    department_id: int | None = Field(default=None, description="Handling department (else the type's).")
    contact_id: int | None = Field(default=None, description="The contact record (the call) it comes from.")


class AcceptanceRead(BaseModel):
    ticket_id: int
    serial: str
    subject: str
    type_id: int
    version: int
    ticket_status: str
    stage: str
    kind: str
    kind_label: str
    payment_mode: PaymentMode
    payment_mode_label: str
    state: AcceptanceState
    state_label: str
    customer_id: int | None
    customer_name: str
    customer_phone: str
    subscriber_id: int | None
    service_no: str
    address: str
    appointment_date: date | None
    appointment_window: str
    appointment_window_label: str
    fee: Decimal
    paid_amount: Decimal | None
    paid_at: datetime | None
    payment_ref: str
    payment_confirmed_by: str
    locked_by_id: int | None
    locked_by: str
    locked_at: datetime | None
    reply: str
    business_ref: str
    replied_at: datetime | None
    replied_by: str
    reject_reason: str
    rejected_at: datetime | None
    rejected_by: str
    resubmit_count: int
    department_id: int | None
    department: str
    handler_id: int | None
    handler: str
    creator: str
    created_at: datetime
    updated_at: datetime


class AcceptanceDetail(AcceptanceRead):
    actions: list[str] = Field(
        description="What I may do now: lock, unlock, payment, complete, reject, resubmit."
    )


class AcceptancePage(BaseModel):
    total: int
    counts: dict[str, int] = Field(description="Orders per state matching the other filters.")
    items: list[AcceptanceRead]


class UnlockAction(Versioned):
    comment: str = Field(default="", max_length=4000, description="Required when not the holder.")


class RejectAction(Versioned):
    reason: str = Field(max_length=4000)


class CompleteOrder(Versioned):
    reply: str = Field(max_length=4000, description="The reply (回复): what was done.")
    business_ref: str = Field(default="", max_length=100, description="The back-office order number.")


class PaymentAction(Versioned):
    amount: Decimal = Field(ge=0, le=Decimal("99999999.99"), max_digits=10, decimal_places=2)
    reference: str = Field(default="", max_length=100, description="Receipt or transaction number.")
    comment: str = Field(default="", max_length=4000)


class ResubmitAction(Versioned):
    comment: str = Field(default="", max_length=4000)
    kind: str | None = None
    fee: Decimal | None = Field(
        default=None, ge=0, le=Decimal("99999999.99"), max_digits=10, decimal_places=2
    )
    service_no: str | None = Field(default=None, max_length=60)
    address: str | None = Field(default=None, max_length=300)
    appointment_date: date | None = None
    appointment_window: AppointmentWindow | None = None


class TypeRead(BaseModel):
    id: int
    code: str
    name: str
    payment_mode: PaymentMode


class TypesSetup(BaseModel):
    department_id: int | None = Field(default=None, description="Where orders of new types are handled.")
