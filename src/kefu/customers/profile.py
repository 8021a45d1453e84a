"""Cleaning of a customer's profile fields and of its phones, emails and addresses (CON-1).

`clean_profile` checks every given field at once and raises one `FieldErrors` naming each bad field
(`phones.0.number`, `id_number`, …); `service` applies the result. Nothing is written here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import clock
from kefu.core.errors import FieldError, FieldErrors, NotFound
from kefu.core.i18n import lazy
from kefu.customers import identity, phones
from kefu.customers.models import AddressKind, Customer, CustomerKind, PhoneKind
from kefu.customers.values import REQUIRED, text
from kefu.org.config import dictionary
from kefu.org.models import Department, User

TIER_DICTIONARY = "customer_tier"
CHOOSE_OFFERED = lazy("Choose one of the offered values")
NO_SUCH_DEPARTMENT = lazy("No such department")
NO_SUCH_USER = lazy("No such staff member")
TWICE = lazy("This is entered twice")
WRONG_DOCUMENT = lazy("This document type is not for this kind of customer")
NUMBER_WITHOUT_TYPE = lazy("Choose the document type")
ENTER_EMAIL = lazy("Enter a valid email address")
MAX_ITEMS = 10
TOO_MANY = lazy("At most %(max)s entries")


@dataclass
class Cleaned:
    values: dict[str, Any] = field(default_factory=dict)
    phones: list[dict[str, Any]] | None = None
    emails: list[dict[str, Any]] | None = None
    addresses: list[dict[str, Any]] | None = None


class _Errors:
    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except FieldErrors as exc:
            self.items.extend(exc.errors)
        except FieldError as exc:
            self.items.append(exc)
        return None


def _enum(field_name: str, cls: Any, value: Any) -> Any:
    try:
        return cls(value)
    except ValueError:
        raise FieldError(field_name, CHOOSE_OFFERED) from None


def _tier(session: Session, value: Any) -> str | None:
    code = text("tier", value, max_len=60)
    if not code:
        return None
    try:
        codes = {i.code for i in dictionary.items(session, TIER_DICTIONARY)}
    except NotFound:
        codes = set()
    if code not in codes:
        raise FieldError("tier", CHOOSE_OFFERED)
    return code


def _department(session: Session, value: Any) -> int | None:
    if value in (None, ""):
        return None
    if not isinstance(value, int) or session.get(Department, value) is None:
        raise FieldError("department_id", NO_SUCH_DEPARTMENT)
    return value


def _manager(session: Session, value: Any) -> int | None:
    if value in (None, ""):
        return None
    user = session.get(User, value) if isinstance(value, int) else None
    if user is None or not user.is_active:
        raise FieldError("manager_id", NO_SUCH_USER)
    return value


def _phones(raw: list[Any]) -> list[dict[str, Any]]:
    if len(raw) > MAX_ITEMS:
        raise FieldError("phones", TOO_MANY, max=MAX_ITEMS)
    errors: list[FieldError] = []
    found: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        entry = item if isinstance(item, dict) else {"number": item}
        try:
            phone = phones.normalise(
                text(f"phones.{i}.number", entry.get("number"), max_len=60, required=True)
            )
        except phones.InvalidPhone:
            errors.append(FieldError(f"phones.{i}.number", phones.ENTER_PHONE))
            continue
        except FieldError as exc:
            errors.append(exc)
            continue
        if phone.e164 in seen:
            errors.append(FieldError(f"phones.{i}.number", TWICE))
            continue
        seen.add(phone.e164)
        try:
            kind = _enum(
                f"phones.{i}.kind", PhoneKind, entry.get("kind") or ("mobile" if phone.mobile else "home")
            )
            note = text(f"phones.{i}.note", entry.get("note"), max_len=100)
        except FieldError as exc:
            errors.append(exc)
            continue
        found.append(
            {
                "kind": kind,
                "number": phone.display,
                "e164": phone.e164,
                "extension": phone.extension,
                "is_primary": bool(entry.get("is_primary")),
                "note": note,
            }
        )
    if errors:
        raise FieldErrors(errors)
    return _one_primary(found)


def _emails(raw: list[Any]) -> list[dict[str, Any]]:
    from kefu.tickets.formvalues import Invalid, clean_email

    if len(raw) > MAX_ITEMS:
        raise FieldError("emails", TOO_MANY, max=MAX_ITEMS)
    errors: list[FieldError] = []
    found: list[dict[str, Any]] = []
    for i, item in enumerate(raw):
        entry = item if isinstance(item, dict) else {"address": item}
        try:
            address = clean_email(entry.get("address"))
        except Invalid:
            errors.append(FieldError(f"emails.{i}.address", ENTER_EMAIL))
            continue
        if any(e["address"] == address for e in found):
            errors.append(FieldError(f"emails.{i}.address", TWICE))
            continue
        found.append({"address": address, "is_primary": bool(entry.get("is_primary"))})
    if errors:
        raise FieldErrors(errors)
    return _one_primary(found)


def _addresses(raw: list[Any]) -> list[dict[str, Any]]:
    if len(raw) > MAX_ITEMS:
        raise FieldError("addresses", TOO_MANY, max=MAX_ITEMS)
    errors = _Errors()
    found: list[dict[str, Any]] = []
    for i, item in enumerate(raw):
        entry = item if isinstance(item, dict) else {"detail": item}
        row = {
            "kind": errors.run(_enum, f"addresses.{i}.kind", AddressKind, entry.get("kind") or "home"),
            "region": errors.run(text, f"addresses.{i}.region", entry.get("region"), max_len=100),
            "detail": errors.run(
                text, f"addresses.{i}.detail", entry.get("detail"), max_len=300, required=True
            ),
            "postcode": errors.run(text, f"addresses.{i}.postcode", entry.get("postcode"), max_len=10),
            "is_primary": bool(entry.get("is_primary")),
        }
        found.append(row)
    if errors.items:
        raise FieldErrors(errors.items)
    return _one_primary(found)


def _one_primary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Exactly one primary entry when there are any: the first marked one, else the first."""
    chosen = next((i for i, r in enumerate(rows) if r["is_primary"]), 0)
    for i, row in enumerate(rows):
        row["is_primary"] = i == chosen
    return rows


def clean_profile(session: Session, data: dict[str, Any], *, customer: Customer | None) -> Cleaned:
    """Check the fields present in `data` (all of them for a new customer, `customer` None)."""
    errors = _Errors()
    out = Cleaned()
    v = out.values
    if "kind" in data or customer is None:
        v["kind"] = errors.run(_enum, "kind", CustomerKind, data.get("kind") or "individual")
    kind = v.get("kind") or (customer.kind if customer else CustomerKind.INDIVIDUAL)
    if "name" in data or customer is None:
        v["name"] = errors.run(text, "name", data.get("name"), max_len=200, required=True)
    if "code" in data:
        v["code"] = errors.run(text, "code", data.get("code"), max_len=40) or None
    if "tier" in data:
        v["tier"] = errors.run(_tier, session, data.get("tier"))
    for key, size in (("contact_person", 100), ("note", 4000)):
        if key in data:
            v[key] = errors.run(text, key, data.get(key), max_len=size)
    if "department_id" in data:
        v["department_id"] = errors.run(_department, session, data.get("department_id"))
    if "manager_id" in data:
        v["manager_id"] = errors.run(_manager, session, data.get("manager_id"))
    if "parent_id" in data:
        v["parent_id"] = data.get("parent_id") or None
    if {"id_type", "id_number"} & data.keys() or "kind" in v:
        errors.run(_identity, v, data, customer, kind)
    if data.get("phones") is not None:
        out.phones = errors.run(_phones, list(data["phones"]))
    if data.get("emails") is not None:
        out.emails = errors.run(_emails, list(data["emails"]))
    if data.get("addresses") is not None:
        out.addresses = errors.run(_addresses, list(data["addresses"]))
    if errors.items:
        raise FieldErrors(errors.items)
    return out


def _identity(v: dict[str, Any], data: dict[str, Any], customer: Customer | None, kind: CustomerKind) -> None:
    id_type = data.get("id_type", customer.id_type if customer else None) or None
    number = data.get("id_number", customer.id_number if customer else None) or ""
    number = text("id_number", number, max_len=40)
    if not id_type and not number:
        v.update(id_type=None, id_number=None, birth_date=None, gender=None)
        return
    if not id_type:
        raise FieldError("id_type", NUMBER_WITHOUT_TYPE)
    doc_type = _enum("id_type", identity.IdType, id_type)
    allowed = identity.PERSON_TYPES if kind is CustomerKind.INDIVIDUAL else identity.ORGANISATION_TYPES
    if doc_type not in allowed:
        raise FieldError("id_type", WRONG_DOCUMENT)
    if not number:
        raise FieldError("id_number", REQUIRED)
    checked = identity.check(doc_type, number, today=clock.to_local(clock.now()).date())
    v.update(id_type=doc_type.value, id_number=checked.number)
    if kind is CustomerKind.INDIVIDUAL and checked.birth_date is not None:
        v.update(birth_date=checked.birth_date, gender=checked.gender)


def id_taken(session: Session, id_type: str, id_number: str, *, other_than: int | None) -> bool:
    stmt = select(Customer.id).where(Customer.id_type == id_type, Customer.id_number == id_number)
    found = session.scalar(stmt)
    return found is not None and found != other_than
