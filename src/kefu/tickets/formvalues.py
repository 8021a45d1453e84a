"""Cleaning of single values of the types with a shape of their own: dates, date-times, phone
numbers, email addresses and resident identity numbers. `tickets.formdef` uses these for form
elements; other places that take such a value (a ticket's customer phone) call them directly, so
every phone number in kefu is normalised the same way.

Each `clean_*` returns the normalised text or raises `Invalid` with an English msgid.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Any

from kefu.core import clock
from kefu.core.i18n import lazy

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?", re.ASCII
)
_EMAIL = re.compile(
    r"(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64})@"
    r"(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})",
    re.ASCII,
)
_ID_NUMBER = re.compile(r"[1-9]\d{16}[\dX]", re.ASCII)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_PHONE_CHARS = re.compile(r"\+?[0-9() \-转]+", re.ASCII)
_MOBILE = re.compile(r"1[3-9]\d{9}", re.ASCII)
# 010 and 02x are the three-digit area codes; every other area code has four digits.
_LANDLINE = re.compile(r"(010|02\d|0[3-9]\d\d)([1-9]\d{6,7})", re.ASCII)
_SERVICE = re.compile(r"95\d{3,4}|400\d{7}|800\d{7}|1[02]\d{3}", re.ASCII)

ENTER_DATE = lazy("Enter a date as YYYY-MM-DD")
ENTER_DATETIME = lazy("Enter a date and time as YYYY-MM-DD HH:MM")
ENTER_PHONE = lazy("Enter a valid phone number")
ENTER_EMAIL = lazy("Enter a valid email address")
ENTER_ID_NUMBER = lazy("Enter a valid resident identity number")


class Invalid(Exception):
    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


def nfkc(raw: Any, message: str) -> str:
    """Text with full-width digits and signs made ASCII (IMEs type them); refuses non-text."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str) or len(raw) > 100:
        raise Invalid(message)
    return unicodedata.normalize("NFKC", raw).strip()


def clean_date(raw: Any) -> str:
    if isinstance(raw, date) and not isinstance(raw, datetime):
        return raw.isoformat()
    text = nfkc(raw, ENTER_DATE)
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise Invalid(ENTER_DATE) from None


def clean_datetime(raw: Any) -> str:
    try:
        if isinstance(raw, datetime):
            moment = raw
        else:
            text = nfkc(raw, ENTER_DATETIME)
            if not _DATETIME.fullmatch(text):
                raise ValueError(text)
            moment = datetime.fromisoformat(text.replace(" ", "T", 1))
        if moment.tzinfo is not None:
            moment = clock.to_local(moment).replace(tzinfo=None)
        return moment.replace(microsecond=0).isoformat(timespec="seconds")
    except (ValueError, OverflowError):
        raise Invalid(ENTER_DATETIME) from None


def clean_phone(raw: Any) -> str:
    text = nfkc(raw, ENTER_PHONE)
    if not _PHONE_CHARS.fullmatch(text):
        raise Invalid(ENTER_PHONE)
    groups = re.findall(r"[0-9]+", text)
    digits = "".join(groups)
    if text.startswith("+") or digits.startswith("00"):
        prefix = 0 if text.startswith("+") else 2
        if digits[prefix : prefix + 2] != "86":
            digits = digits[prefix:]
            if 8 <= len(digits) <= 15 and not digits.startswith("0"):
                return "+" + digits
            raise Invalid(ENTER_PHONE)
        groups = _drop_digits(groups, prefix + 2)
        if groups and not groups[0].startswith("0") and not _MOBILE.fullmatch("".join(groups)):
            groups[0] = "0" + groups[0]  # +86 10 12345678: the trunk 0 is left out abroad
    elif len(digits) == 13 and digits.startswith("86") and _MOBILE.fullmatch(digits[2:]):
        return digits[2:]
    return _domestic_phone(groups)


def _drop_digits(groups: list[str], count: int) -> list[str]:
    rest = list(groups)
    while rest and count:
        taken = min(count, len(rest[0]))
        rest[0], count = rest[0][taken:], count - taken
        if not rest[0]:
            rest.pop(0)
    return rest


def _domestic_phone(groups: list[str]) -> str:
    digits = "".join(groups)
    if _MOBILE.fullmatch(digits) or _SERVICE.fullmatch(digits):
        return digits
    landline = _LANDLINE.fullmatch(digits)
    if landline:
        return f"{landline[1]}-{landline[2]}"
    if len(groups) >= 2 and len(groups[-1]) <= 6:
        landline = _LANDLINE.fullmatch("".join(groups[:-1]))
        if landline:
            return f"{landline[1]}-{landline[2]}-{groups[-1]}"
    raise Invalid(ENTER_PHONE)


def clean_email(raw: Any) -> str:
    if not isinstance(raw, str) or len(raw.strip()) > 254:
        raise Invalid(ENTER_EMAIL)
    match = _EMAIL.fullmatch(raw.strip())
    if not match:
        raise Invalid(ENTER_EMAIL)
    local = match["local"]
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise Invalid(ENTER_EMAIL)
    return f"{local}@{match['domain'].lower()}"


def clean_id_number(raw: Any, today: date) -> str:
    """An 18-character resident identity number (GB 11643): check digit and date of birth."""
    if not isinstance(raw, str):
        raise Invalid(ENTER_ID_NUMBER)
    text = nfkc(raw, ENTER_ID_NUMBER).replace(" ", "").upper()
    if not _ID_NUMBER.fullmatch(text):
        raise Invalid(ENTER_ID_NUMBER)
    total = sum(int(digit) * weight for digit, weight in zip(text, _ID_WEIGHTS, strict=False))
    if "10X98765432"[total % 11] != text[17]:
        raise Invalid(ENTER_ID_NUMBER)
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise Invalid(ENTER_ID_NUMBER) from None
    if not date(1900, 1, 1) <= born <= today:
        raise Invalid(ENTER_ID_NUMBER)
    return text
