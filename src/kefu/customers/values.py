"""Cleaning of customer-side values: plain texts, service numbers of a subscriber kind, and the
typed industry attributes of a subscriber (IMSI, ICCID, meter number …) against their definitions.

Every function raises `FieldError` naming the field; `clean_attributes` collects every bad attribute
(`attributes.<code>`) before raising `FieldErrors`, so a form shows all its messages at once.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from kefu.core.errors import FieldError, FieldErrors, NotFound
from kefu.core.i18n import lazy
from kefu.customers import phones
from kefu.customers.models import AttributeDefinition, AttributeType, NumberFormat, SubscriberKind
from kefu.org.config import dictionary

REQUIRED = lazy("This field is required")
MAX_CHARS = lazy("At most %(max)s characters")
BAD_FORMAT = lazy("Enter a value in the required format")
ENTER_NUMBER = lazy("Enter a number")
ENTER_INTEGER = lazy("Enter a whole number")
ENTER_DATE = lazy("Enter a date as YYYY-MM-DD")
ENTER_TRUE_FALSE = lazy("Enter true or false")
CHOOSE_OFFERED = lazy("Choose one of the offered values")
BAD_CHECK_DIGIT = lazy("The check digit of this number is wrong")
UNKNOWN_ATTRIBUTE = lazy("Unknown attribute")
ENTER_EMAIL = lazy("Enter a valid email address")
VALUE_MAX = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def text(field: str, value: Any, *, max_len: int, required: bool = False) -> str:
    """Trimmed text without control characters (new lines allowed only where `max_len` > 300)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise FieldError(field, BAD_FORMAT)
    cleaned = value.strip()
    if max_len <= 300 and _CONTROL.search(cleaned):
        raise FieldError(field, BAD_FORMAT)
    if required and not cleaned:
        raise FieldError(field, REQUIRED)
    if len(cleaned) > max_len:
        raise FieldError(field, MAX_CHARS, max=max_len)
    return cleaned


def fold_number(raw: str) -> str:
    """A number as search keys hold it: NFKC, no spaces, hyphens or dots, upper case."""
    return re.sub(r"[\s\-./]", "", unicodedata.normalize("NFKC", raw or "")).upper()


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check of ICCIDs and card numbers."""
    if not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _pattern_ok(pattern: str, value: str) -> bool:
    return not pattern or re.fullmatch(pattern, value) is not None


def clean_service_number(kind: SubscriberKind, raw: Any, *, field: str = "service_number") -> tuple[str, str]:
    """(as shown, search key) of a service number of `kind`."""
    shown = text(field, raw, max_len=60, required=True)
    if kind.number_format is NumberFormat.PHONE:
        try:
            phone = phones.normalise(shown)
        except phones.InvalidPhone:
            raise FieldError(field, phones.ENTER_PHONE) from None
        return phone.display, phone.e164
    key = fold_number(shown)
    if kind.number_format is NumberFormat.DIGITS and not key.isdigit():
        raise FieldError(field, ENTER_INTEGER)
    if not re.fullmatch(r"[0-9A-Z]+", key) or not _pattern_ok(kind.number_pattern, key):
        raise FieldError(field, BAD_FORMAT)
    return key, key


def clean_value(session: Session, definition: AttributeDefinition, raw: Any, field: str) -> tuple[str, str]:
    """(stored value, search key) of one attribute value; FieldError naming `field`."""
    kind = definition.type
    if isinstance(raw, bool) and kind is AttributeType.BOOL:
        raw = "true" if raw else "false"
    if isinstance(raw, int | float | Decimal) and not isinstance(raw, bool):
        raw = str(raw)
    value = text(field, raw, max_len=VALUE_MAX)
    value = unicodedata.normalize("NFKC", value)
    if kind is AttributeType.INTEGER:
        if not re.fullmatch(r"[+-]?\d{1,18}", value):
            raise FieldError(field, ENTER_INTEGER)
        value = str(int(value))
    elif kind is AttributeType.DECIMAL:
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise FieldError(field, ENTER_NUMBER) from None
        if not number.is_finite():
            raise FieldError(field, ENTER_NUMBER)
        value = format(number.normalize(), "f")
    elif kind is AttributeType.DATE:
        try:
            value = date.fromisoformat(value).isoformat() if len(value) == 10 else ""
        except ValueError:
            value = ""
        if not value:
            raise FieldError(field, ENTER_DATE)
    elif kind is AttributeType.BOOL:
        if value.lower() not in ("true", "false"):
            raise FieldError(field, ENTER_TRUE_FALSE)
        value = value.lower()
    elif kind is AttributeType.CHOICE:
        try:
            codes = {i.code for i in dictionary.items(session, definition.dictionary or "")}
        except NotFound:
            codes = set()
        if value not in codes:
            raise FieldError(field, CHOOSE_OFFERED)
    elif kind is AttributeType.PHONE:
        try:
            phone = phones.normalise(value)
        except phones.InvalidPhone:
            raise FieldError(field, phones.ENTER_PHONE) from None
        return phone.display, phone.e164
    elif kind is AttributeType.EMAIL:
        from kefu.tickets.formvalues import Invalid, clean_email

        try:
            value = clean_email(value)
        except Invalid:
            raise FieldError(field, ENTER_EMAIL) from None
        return value, value
    else:
        value = re.sub(r"\s+", " ", value)
    if definition.check:  # a checked number is kept as its digits
        value = fold_number(value)
    if definition.check == "luhn" and not luhn_ok(value):
        raise FieldError(field, BAD_CHECK_DIGIT)
    if definition.pattern and not _pattern_ok(definition.pattern, value):
        raise FieldError(field, BAD_FORMAT)
    return value, fold_number(value)[:VALUE_MAX]


def clean_attributes(
    session: Session,
    kind: SubscriberKind,
    values: dict[str, Any] | None,
    *,
    current: dict[str, str] | None = None,
) -> dict[int, tuple[str, str]]:
    """Definition id → (value, key) for a subscriber of `kind`. `values` maps attribute codes to raw
    values (None or "" clears); attributes not named keep their `current` value. Every problem is
    reported at once, each as `attributes.<code>`."""
    definitions = {d.code: d for d in kind.attributes if d.enabled}
    merged: dict[str, Any] = dict(current or {})
    errors: list[FieldError] = []
    for code, raw in (values or {}).items():
        if code not in definitions:
            errors.append(FieldError(f"attributes.{code}", UNKNOWN_ATTRIBUTE))
            continue
        merged[code] = raw
    cleaned: dict[int, tuple[str, str]] = {}
    for code, definition in definitions.items():
        raw = merged.get(code)
        field = f"attributes.{code}"
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if definition.required:
                errors.append(FieldError(field, REQUIRED))
            continue
        try:
            cleaned[definition.id] = clean_value(session, definition, raw, field)
        except FieldError as exc:
            errors.append(exc)
    if errors:
        raise FieldErrors(errors)
    return cleaned
