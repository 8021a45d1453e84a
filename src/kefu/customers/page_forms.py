"""Reading the customer forms (HTML pages) into the dicts the services take, and the choices they
offer. Rows of repeated inputs are named `phones-0-number`, `emails-1-address` …; empty rows are
skipped, so a form always offers a few blank rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from kefu.core import i18n
from kefu.core.errors import NotFound
from kefu.core.i18n import lazy
from kefu.customers import identity
from kefu.customers.contacts.models import ContactChannel, ContactDirection
from kefu.customers.models import (
    AddressKind,
    Customer,
    CustomerKind,
    CustomerStatus,
    PayMethod,
    PhoneKind,
    SubscriberStatus,
)
from kefu.customers.profile import TIER_DICTIONARY
from kefu.org.config import dictionary
from kefu.org.models import Department

KIND_LABELS = {CustomerKind.INDIVIDUAL: lazy("Individual"), CustomerKind.ENTERPRISE: lazy("Enterprise")}
STATUS_LABELS = {CustomerStatus.ACTIVE: lazy("Active"), CustomerStatus.CLOSED: lazy("Closed")}
PHONE_LABELS = {
    PhoneKind.MOBILE: lazy("Mobile"),
    PhoneKind.HOME: lazy("Home"),
    PhoneKind.WORK: lazy("Work"),
    PhoneKind.FAX: lazy("Fax"),
    PhoneKind.OTHER: lazy("Other"),
}
ADDRESS_LABELS = {
    AddressKind.HOME: lazy("Home"),
    AddressKind.OFFICE: lazy("Office"),
    AddressKind.BILLING: lazy("Billing"),
    AddressKind.INSTALLATION: lazy("Installation"),
    AddressKind.MAILING: lazy("Mailing"),
}
SUBSCRIBER_STATUS_LABELS = {
    SubscriberStatus.ACTIVE: lazy("In service"),
    SubscriberStatus.SUSPENDED: lazy("Suspended"),
    SubscriberStatus.CLOSED: lazy("Closed"),
}
PAY_METHOD_LABELS = {
    PayMethod.CASH: lazy("Cash at a service hall"),
    PayMethod.BANK_DEBIT: lazy("Bank direct debit"),
    PayMethod.ONLINE: lazy("Online payment"),
    PayMethod.PREPAID: lazy("Prepaid"),
}
CHANNEL_LABELS = {
    ContactChannel.PHONE: lazy("Phone"),
    ContactChannel.SMS: lazy("SMS"),
    ContactChannel.EMAIL: lazy("Email"),
    ContactChannel.WEB: lazy("Website"),
    ContactChannel.FAX: lazy("Fax"),
    ContactChannel.LETTER: lazy("Letter"),
    ContactChannel.VISIT: lazy("Walk-in visit"),
    ContactChannel.SELF_SERVICE: lazy("Self-service"),
    ContactChannel.WECHAT: lazy("WeChat"),
}
DIRECTION_LABELS = {ContactDirection.INBOUND: lazy("Inbound"), ContactDirection.OUTBOUND: lazy("Outbound")}
GENDER_LABELS = {"male": lazy("Male"), "female": lazy("Female")}
ROWS = {"phones": 3, "emails": 2, "addresses": 2}
PROFILE_KEYS = (
    "kind",
    "name",
    "code",
    "tier",
    "id_type",
    "id_number",
    "contact_person",
    "note",
    "parent_code",
)


def text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def number(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 19 else None


def translated(labels: dict[Any, str]) -> list[tuple[str, str]]:
    return [(str(getattr(k, "value", k)), i18n.gettext(v)) for k, v in labels.items()]


def rows(form: FormData, prefix: str, keys: tuple[str, ...], main: str) -> list[dict[str, Any]]:
    """The filled rows of a repeated group (a row counts when its `main` input is filled)."""
    found = []
    for i in range(10):
        row: dict[str, Any] = {k: text(form, f"{prefix}-{i}-{k}") for k in keys}
        if row[main]:
            row["is_primary"] = form.get(f"{prefix}-primary") == str(i)
            found.append(row)
    return found


def profile_data(session: Session, form: FormData, *, with_lists: bool = True) -> dict[str, Any]:
    """The service's `data` from a customer form; a parent is entered by its customer code."""
    data: dict[str, Any] = {k: text(form, k) for k in PROFILE_KEYS if k != "parent_code"}
    parent_code = text(form, "parent_code")
    if parent_code:
        parent_id = session.scalar(select(Customer.id).where(Customer.code == parent_code))
        data["parent_id"] = parent_id if parent_id is not None else -1
    else:
        data["parent_id"] = None
    data["department_id"] = number(text(form, "department_id"))
    if with_lists:
        data["phones"] = rows(form, "phones", ("number", "kind", "note"), "number")
        data["emails"] = rows(form, "emails", ("address",), "address")
        data["addresses"] = rows(form, "addresses", ("kind", "region", "detail", "postcode"), "detail")
    return data


def form_values(customer: Customer | None, form: FormData | None = None, **preset: str) -> dict[str, Any]:
    """What the form shows: the posted values after an error, else the customer's, else `preset`."""
    if form is not None:
        values: dict[str, Any] = {k: text(form, k) for k in (*PROFILE_KEYS, "department_id")}
        for group, count in ROWS.items():
            keys = {
                "phones": ("number", "kind", "note"),
                "emails": ("address",),
                "addresses": ("kind", "region", "detail", "postcode"),
            }[group]
            values[group] = [
                {
                    **{k: text(form, f"{group}-{i}-{k}") for k in keys},
                    "is_primary": form.get(f"{group}-primary") == str(i),
                }
                for i in range(max(count, 10))
                if i < count or any(text(form, f"{group}-{i}-{k}") for k in keys)
            ]
        return values
    if customer is None:
        values = {k: "" for k in (*PROFILE_KEYS, "department_id")}
        values.update(kind="individual", **preset)
        phones = (
            [{"number": preset.get("phone", ""), "kind": "", "note": "", "is_primary": True}]
            if preset.get("phone")
            else []
        )
        values.update(phones=phones, emails=[], addresses=[])
    else:
        values = {
            "kind": customer.kind.value,
            "name": customer.name,
            "code": customer.code or "",
            "tier": customer.tier or "",
            "id_type": customer.id_type or "",
            "id_number": customer.id_number or "",
            "contact_person": customer.contact_person,
            "note": customer.note,
            "parent_code": customer.parent.code if customer.parent else "",
            "department_id": str(customer.department_id or ""),
            "phones": [
                {
                    "number": p.number + (f" 转 {p.extension}" if p.extension else ""),
                    "kind": p.kind.value,
                    "note": p.note,
                    "is_primary": p.is_primary,
                }
                for p in customer.phones
            ],
            "emails": [{"address": e.address, "is_primary": e.is_primary} for e in customer.emails],
            "addresses": [
                {
                    "kind": a.kind.value,
                    "region": a.region,
                    "detail": a.detail,
                    "postcode": a.postcode,
                    "is_primary": a.is_primary,
                }
                for a in customer.addresses
            ],
        }
    blanks = {
        "phones": {"number": "", "kind": "", "note": ""},
        "emails": {"address": ""},
        "addresses": {"kind": "", "region": "", "detail": "", "postcode": ""},
    }
    for group, count in ROWS.items():
        target = min(10, max(count, len(values[group]) + 1))
        while len(values[group]) < target:
            values[group].append({**blanks[group], "is_primary": not values[group]})
    return values


def options(session: Session) -> dict[str, Any]:
    """Choices of the customer forms."""
    try:
        tiers = [(i.code, i.text(i18n.get_locale())) for i in dictionary.items(session, TIER_DICTIONARY)]
    except NotFound:
        tiers = []
    departments = [(str(d.id), d.name) for d in session.scalars(select(Department).order_by(Department.path))]
    return {
        "kinds": translated(KIND_LABELS),
        "tiers": tiers,
        "id_types": [(t.value, i18n.gettext(label)) for t, label in identity.ID_TYPE_LABELS.items()],
        "phone_kinds": translated(PHONE_LABELS),
        "address_kinds": translated(ADDRESS_LABELS),
        "departments": departments,
    }


def tier_labels(session: Session) -> dict[str, str]:
    try:
        return {
            i.code: i.text(i18n.get_locale())
            for i in dictionary.items(session, TIER_DICTIONARY, include_disabled=True)
        }
    except NotFound:
        return {}
