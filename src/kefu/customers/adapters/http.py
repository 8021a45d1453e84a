"""The HTTP/JSON adapter: one GET per question to the operator's system, with a timeout, retries
with exponential backoff on failures that may pass (timeouts, connection errors, 502/503/504), and a
circuit breaker in front. A 404 means "not known there" (an empty answer).

Expected JSON (field names in English; unknown fields are ignored):
- customer_info → `{"fields": [{"label": "信用等级", "value": "A"}, …]}`
- subscriber → `[{"service_number", "product", "status", "valid_from", "valid_to", "monthly_fee"}, …]`
- billing → `{"balance", "arrears", "next_due_date", "next_due_amount",
  "bills": [{"period", "amount", "paid", "due_date"}], "payments": [{"paid_on", "amount", "channel"}]}`
- meter → `[{"meter_no", "read_on", "reading", "consumption", "note"}, …]`
- installation → `[{"order_no", "applied_on", "kind", "address", "stage", "fees_paid",
  "stages": [{"name", "done_on"}]}, …]`
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from kefu.customers.adapters import base
from kefu.customers.adapters.base import CustomerRef, SourceError, SourceKind
from kefu.customers.adapters.breaker import CircuitBreaker

RETRY_STATUSES = frozenset({502, 503, 504})
BACKOFF_BASE = 0.1
BACKOFF_CAP = 2.0
PLACEHOLDERS = ("customer_code", "customer_id", "service_number", "account_no")


@dataclass(frozen=True)
class HttpConfig:
    base_url: str
    path: str
    timeout: float = 3.0
    retries: int = 1
    auth_header: str = "Authorization"
    auth_value: str = ""


def render_path(template: str, ref: CustomerRef) -> str:
    values = {
        "customer_code": ref.code,
        "customer_id": str(ref.id),
        "service_number": ref.service_numbers[0] if ref.service_numbers else "",
        "account_no": ref.account_nos[0] if ref.account_nos else "",
    }
    return template.format(**{k: quote(v, safe="") for k, v in values.items()})


class _Field(BaseModel):
    label: str
    value: str


class _Profile(BaseModel):
    fields: list[_Field] = []


class _Service(BaseModel):
    service_number: str
    product: str = ""
    status: str = ""
    valid_from: date | None = None
    valid_to: date | None = None
    monthly_fee: Decimal | None = None


class _Bill(BaseModel):
    period: str
    amount: Decimal
    paid: Decimal = Decimal(0)
    due_date: date | None = None


class _Payment(BaseModel):
    paid_on: date
    amount: Decimal
    channel: str = ""


class _Billing(BaseModel):
    balance: Decimal = Decimal(0)
    arrears: Decimal = Decimal(0)
    next_due_date: date | None = None
    next_due_amount: Decimal | None = None
    bills: list[_Bill] = []
    payments: list[_Payment] = []


class _Reading(BaseModel):
    meter_no: str
    read_on: date
    reading: Decimal
    consumption: Decimal
    note: str = ""


class _Stage(BaseModel):
    name: str
    done_on: date | None = None


class _Installation(BaseModel):
    order_no: str
    applied_on: date
    kind: str = ""
    address: str = ""
    stage: str = ""
    fees_paid: Decimal | None = None
    stages: list[_Stage] = []


class HttpSource:
    """Implements every kind's interface against one configured system (one kind per instance)."""

    def __init__(
        self,
        kind: SourceKind,
        config: HttpConfig,
        breaker: CircuitBreaker,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.kind = kind
        self.config = config
        self.breaker = breaker
        self._sleep = sleep

    # --- transport -------------------------------------------------------------------------------------

    def fetch(self, ref: CustomerRef) -> Any:
        """The decoded JSON for `ref`, or None when the system does not know the customer."""
        if not self.breaker.allow():
            raise SourceError(SourceError.CIRCUIT_OPEN, reason="circuit_open")
        try:
            result = self._fetch(ref)
        except SourceError:
            self.breaker.failure()
            raise
        except BaseException:
            self.breaker.failure()
            raise
        self.breaker.success()
        return result

    def _fetch(self, ref: CustomerRef) -> Any:
        url = self.config.base_url.rstrip("/") + render_path(self.config.path, ref)
        headers = {"Accept": "application/json"}
        if self.config.auth_value:
            headers[self.config.auth_header] = self.config.auth_value
        attempts = max(0, self.config.retries) + 1
        last: SourceError | None = None
        with httpx.Client(timeout=httpx.Timeout(self.config.timeout), follow_redirects=False) as client:
            for attempt in range(attempts):
                if attempt:
                    self._sleep(min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)))
                try:
                    response = client.get(url, headers=headers)
                except httpx.TimeoutException as exc:
                    last = SourceError(SourceError.TIMEOUT, reason="timeout", detail=str(exc))
                    continue
                except httpx.HTTPError as exc:
                    last = SourceError(SourceError.UNAVAILABLE, reason="unavailable", detail=str(exc))
                    continue
                if response.status_code == 404:
                    return None
                if response.status_code in RETRY_STATUSES:
                    last = SourceError(
                        SourceError.UNAVAILABLE, reason="unavailable", detail=f"HTTP {response.status_code}"
                    )
                    continue
                if response.status_code >= 400:
                    raise SourceError(
                        SourceError.UNAVAILABLE, reason="unavailable", detail=f"HTTP {response.status_code}"
                    )
                try:
                    return response.json()
                except ValueError:
                    raise SourceError(
                        SourceError.BAD_RESPONSE, reason="bad_response", detail="not JSON"
                    ) from None
        assert last is not None
        raise last

    def _parse(self, model: Any, data: Any) -> Any:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            self.breaker.failure()
            raise SourceError(
                SourceError.BAD_RESPONSE, reason="bad_response", detail=str(exc)[:500]
            ) from None

    def _list(self, model: type[BaseModel], data: Any) -> list[Any]:
        if data is None:
            return []
        if not isinstance(data, list):
            self.breaker.failure()
            raise SourceError(SourceError.BAD_RESPONSE, reason="bad_response", detail="expected a list")
        return [self._parse(model, item) for item in data]

    # --- the interfaces ----------------------------------------------------------------------------------

    def profile(self, ref: CustomerRef) -> base.ExternalProfile:
        data = self.fetch(ref)
        parsed = self._parse(_Profile, data) if data is not None else _Profile()
        return base.ExternalProfile(fields=[(f.label, f.value) for f in parsed.fields])

    def services(self, ref: CustomerRef) -> list[base.ServiceInfo]:
        return [base.ServiceInfo(**s.model_dump()) for s in self._list(_Service, self.fetch(ref))]

    def billing(self, ref: CustomerRef) -> base.BillingSummary:
        data = self.fetch(ref)
        parsed = self._parse(_Billing, data) if data is not None else _Billing()
        return base.BillingSummary(
            balance=parsed.balance,
            arrears=parsed.arrears,
            next_due_date=parsed.next_due_date,
            next_due_amount=parsed.next_due_amount,
            bills=[base.Bill(**b.model_dump()) for b in parsed.bills],
            payments=[base.Payment(**p.model_dump()) for p in parsed.payments],
        )

    def readings(self, ref: CustomerRef) -> list[base.MeterReading]:
        return [base.MeterReading(**r.model_dump()) for r in self._list(_Reading, self.fetch(ref))]

    def installations(self, ref: CustomerRef) -> list[base.InstallationOrder]:
        orders = self._list(_Installation, self.fetch(ref))
        return [
            base.InstallationOrder(
                **{k: v for k, v in o.model_dump().items() if k != "stages"},
                stages=[base.InstallationStage(**s.model_dump()) for s in o.stages],
            )
            for o in orders
        ]
