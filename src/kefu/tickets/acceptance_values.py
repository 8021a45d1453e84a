"""Checking the values of a business acceptance order: the same rules for the API and the pages.

Values come typed from the API (pydantic) or as text from a form; each checker takes either and
raises `FieldError` naming its field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import clock
from kefu.core.errors import FieldError, NotFound
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.customers import access as customer_access
from kefu.customers.models import Subscriber
from kefu.org.config import dictionary_cache
from kefu.tickets.acceptance_models import AcceptanceState, AppointmentWindow, PaymentMode

KIND_DICTIONARY = "acceptance_kind"
MAX_AMOUNT = Decimal("99999999.99")
CENT = Decimal("0.01")
STATE_LABELS = {
    AcceptanceState.PENDING: lazy("Pending"),
    AcceptanceState.LOCKED: lazy("Locked"),
    AcceptanceState.REJECTED: lazy("Rejected"),
    AcceptanceState.DONE: lazy("Done"),
    AcceptanceState.CANCELLED: lazy("Withdrawn"),
}
MODE_LABELS = {
    PaymentMode.PAY_FIRST: lazy("Pay first, then serve"),
    PaymentMode.SERVE_FIRST: lazy("Serve first, then pay"),
}
WINDOW_LABELS = {
    AppointmentWindow.ANY: lazy("Any time"),
    AppointmentWindow.MORNING: lazy("Morning"),
    AppointmentWindow.AFTERNOON: lazy("Afternoon"),
    AppointmentWindow.EVENING: lazy("Evening"),
}


@dataclass
class OrderValues:
    """What an order carries beyond its ticket; `None` in a correction means "unchanged"."""

    kind: Any = None
    subscriber_id: Any = None
    service_no: Any = None
    address: Any = None
    fee: Any = None
    appointment_date: Any = None
    appointment_window: Any = None


@dataclass
class TicketValues:
    """The ticket half of a new order (what `tickets.service.register` takes)."""

    channel: str = "phone"
    subject: str = ""
    description: str = ""
    priority: str | None = None
    customer_id: int | None = None
    customer_name: str = ""
    customer_phone: str = ""
    customer_email: str = ""
    department_id: int | None = None
    contact_id: int | None = None


def kind_codes(session: Session) -> list[str]:
    try:
        return [item.code for item in dictionary_cache.items(session, KIND_DICTIONARY)]
    except NotFound:
        return []


def kind_labels(session: Session, locale: str) -> dict[str, str]:
    """Code → label of every kind (disabled ones too: older orders use them)."""
    try:
        found = dictionary_cache.items(session, KIND_DICTIONARY, include_disabled=True)
    except NotFound:
        return {}
    return {item.code: item.text(locale) for item in found}


def kind(session: Session, value: Any) -> str:
    code = str(value or "").strip()
    if not code:
        raise FieldError("kind", "This field is required")
    if code not in kind_codes(session):
        raise FieldError("kind", "Choose one of the offered values")
    return code


def payment_mode(value: Any) -> PaymentMode:
    try:
        return PaymentMode(str(value or "").strip())
    except ValueError:
        raise FieldError("payment_mode", "Choose one of the offered values") from None


def amount(name: str, value: Any, *, required: bool = False) -> Decimal:
    """A sum of money in yuan: not negative, at most two decimals."""
    text = str(value if value is not None else "").strip().replace(",", "").replace("，", "")
    if not text:
        if required:
            raise FieldError(name, "This field is required")
        return Decimal("0.00")
    try:
        found = Decimal(text)
    except InvalidOperation:
        raise FieldError(name, "Enter an amount such as 120 or 120.50") from None
    if not found.is_finite() or found < 0 or found > MAX_AMOUNT:
        raise FieldError(name, "Enter an amount between 0 and %(max)s", max=str(MAX_AMOUNT))
    if found != found.quantize(CENT):
        raise FieldError(name, "Enter at most two decimals")
    return found.quantize(CENT)


def appointment_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        found = value
    else:
        try:
            found = date.fromisoformat(str(value).strip())
        except ValueError:
            raise FieldError("appointment_date", "Enter a date as YYYY-MM-DD") from None
    if found < clock.to_local(clock.now()).date():
        raise FieldError("appointment_date", "The appointment cannot be in the past")
    return found


def appointment_window(value: Any) -> AppointmentWindow:
    try:
        return AppointmentWindow(str(value or "").strip())
    except ValueError:
        raise FieldError("appointment_window", "Choose one of the offered values") from None


def text(name: str, value: Any, limit: int) -> str:
    found = str(value or "").strip()
    if len(found) > limit:
        raise FieldError(name, "Enter at most %(n)s characters", n=limit)
    return found


def subscriber(session: Session, actor: Actor, customer_id: int | None, value: Any) -> Subscriber | None:
    """The customer's subscriber the order concerns (None if not given); a subscriber of another
    customer, or of a customer the actor may not see, is "no such subscriber"."""
    if value is None or value == "":
        return None
    try:
        subscriber_id = int(value)
    except (TypeError, ValueError):
        raise FieldError("subscriber_id", "No such subscriber of this customer") from None
    if customer_id is None:
        raise FieldError("subscriber_id", "Choose the customer first")
    try:
        customer = customer_access.customer(session, actor, customer_id)
        return customer_access.subscriber(session, actor, customer, subscriber_id)
    except NotFound:
        raise FieldError("subscriber_id", "No such subscriber of this customer") from None


def subscribers_of(session: Session, actor: Actor, customer_id: int) -> list[Subscriber]:
    """The subscribers of a customer the actor may see (none otherwise), for the form's choice."""
    try:
        customer = customer_access.customer(session, actor, customer_id)
    except NotFound:
        return []
    stmt = select(Subscriber).where(Subscriber.customer_id == customer.id).order_by(Subscriber.id)
    return list(session.scalars(stmt.limit(200)))


def check_order(
    session: Session,
    actor: Actor,
    values: OrderValues,
    *,
    customer_id: int | None,
    partial: bool = False,
) -> tuple[dict[str, Any], list[FieldError]]:
    """The cleaned order values and the problems found (all of them). `partial`: only the values
    given (not None) are checked and returned — a correction."""
    cleaned: dict[str, Any] = {}
    errors: list[FieldError] = []

    def check(name: str, run: Any) -> None:
        if partial and getattr(values, name) is None:
            return
        try:
            cleaned[name] = run()
        except FieldError as exc:
            errors.append(exc)

    check("kind", lambda: kind(session, values.kind))
    check("fee", lambda: amount("fee", values.fee))
    check("appointment_date", lambda: appointment_date(values.appointment_date))
    check("appointment_window", lambda: appointment_window(values.appointment_window))
    check("service_no", lambda: text("service_no", values.service_no, 60))
    check("address", lambda: text("address", values.address, 300))
    if not partial:
        try:
            found = subscriber(session, actor, customer_id, values.subscriber_id)
        except FieldError as exc:
            errors.append(exc)
        else:
            cleaned["subscriber_id"] = found.id if found is not None else None
            if found is not None:  # what the agent left empty comes from the subscriber
                cleaned["service_no"] = cleaned.get("service_no") or found.service_number
                cleaned["address"] = cleaned.get("address") or found.address
    return cleaned, errors
