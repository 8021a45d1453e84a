"""The interfaces of the business systems kefu reads, one per kind, and the shapes they answer in.

An implementation raises `SourceError` when the system cannot answer (timeout, error, circuit open,
an answer of the wrong shape); "the system does not know this customer" is an empty answer, not an
error. Amounts are `Decimal` yuan; dates are local dates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from kefu.core.i18n import lazy


class SourceKind(StrEnum):
    CUSTOMER_INFO = "customer_info"  # 客户信息
    SUBSCRIBER = "subscriber"  # 用户资料 / 业务信息
    BILLING = "billing"  # 账单、欠费、缴费
    METER = "meter"  # 抄表
    INSTALLATION = "installation"  # 报装进度


SOURCE_LABELS = {
    SourceKind.CUSTOMER_INFO: lazy("Customer information"),
    SourceKind.SUBSCRIBER: lazy("Services and validity"),
    SourceKind.BILLING: lazy("Bills, arrears and payments"),
    SourceKind.METER: lazy("Meter readings"),
    SourceKind.INSTALLATION: lazy("Installation progress"),
}


class SourceError(Exception):
    """The business system could not answer; `message` is an English msgid for the panel."""

    TIMEOUT = lazy("The business system did not answer in time")
    UNAVAILABLE = lazy("The business system is unavailable")
    CIRCUIT_OPEN = lazy("The business system failed repeatedly; kefu is not asking it for a moment")
    BAD_RESPONSE = lazy("The business system answered with data kefu cannot read")
    NOT_CONFIGURED = lazy("No business system is configured for this")

    def __init__(self, message: str, *, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.message = message
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class CustomerRef:
    """What a business system may need to find a customer."""

    id: int
    code: str
    name: str
    service_numbers: tuple[str, ...] = ()
    subscriber_kinds: tuple[str, ...] = ()
    account_nos: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExternalProfile:
    fields: list[tuple[str, str]] = field(default_factory=list)  # (label, value) as the system names them


@dataclass(frozen=True)
class ServiceInfo:
    service_number: str
    product: str
    status: str
    valid_from: date | None = None
    valid_to: date | None = None  # 有效期 (CON-8)
    monthly_fee: Decimal | None = None


@dataclass(frozen=True)
class Bill:
    period: str  # YYYY-MM
    amount: Decimal
    paid: Decimal
    due_date: date | None = None

    @property
    def outstanding(self) -> Decimal:
        return max(Decimal(0), self.amount - self.paid)


@dataclass(frozen=True)
class Payment:
    paid_on: date
    amount: Decimal
    channel: str


@dataclass(frozen=True)
class BillingSummary:
    balance: Decimal  # prepaid balance (余额)
    arrears: Decimal  # 欠费
    bills: list[Bill] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    next_due_date: date | None = None  # 下次缴费
    next_due_amount: Decimal | None = None

    @property
    def last_payment(self) -> Payment | None:
        return max(self.payments, key=lambda p: p.paid_on) if self.payments else None


@dataclass(frozen=True)
class MeterReading:
    meter_no: str
    read_on: date
    reading: Decimal
    consumption: Decimal
    note: str = ""


@dataclass(frozen=True)
class InstallationStage:
    name: str
    done_on: date | None = None


@dataclass(frozen=True)
class InstallationOrder:
    order_no: str
    applied_on: date
    kind: str
    address: str
    stage: str
    stages: list[InstallationStage] = field(default_factory=list)
    fees_paid: Decimal | None = None


class CustomerInfoSource(Protocol):
    def profile(self, ref: CustomerRef) -> ExternalProfile: ...


class SubscriberSource(Protocol):
    def services(self, ref: CustomerRef) -> list[ServiceInfo]: ...


class BillingSource(Protocol):
    def billing(self, ref: CustomerRef) -> BillingSummary: ...


class MeterSource(Protocol):
    def readings(self, ref: CustomerRef) -> list[MeterReading]: ...


class InstallationSource(Protocol):
    def installations(self, ref: CustomerRef) -> list[InstallationOrder]: ...


# The method each kind's interface answers with (used by the registry and the generic panel route).
OPERATIONS = {
    SourceKind.CUSTOMER_INFO: "profile",
    SourceKind.SUBSCRIBER: "services",
    SourceKind.BILLING: "billing",
    SourceKind.METER: "readings",
    SourceKind.INSTALLATION: "installations",
}
