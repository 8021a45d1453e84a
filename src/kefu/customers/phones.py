"""Phone numbers, normalised with `phonenumbers` (libphonenumber's rules), default region China.

A stored number keeps its E.164 form (`+8613800138000`, `+861012345678`) as the search key, so one
number typed any way — `138-0013-8000`, `+86 138 0013 8000`, `008613800138000`, full-width digits,
`(010) 1234-5678 转 12` — is found by one indexed equality. Tickets keep the older domestic form
(`13800138000`, `010-12345678`, `tickets.formvalues.clean_phone`); `ticket_form` converts, so the
customer 360 view finds a customer's tickets by the caller's number too.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from kefu.core.i18n import lazy

DEFAULT_REGION = "CN"
ENTER_PHONE = lazy("Enter a valid phone number")
_EXTENSION_WORDS = re.compile(r"\s*(转|分机|ext\.?|x)\s*(?=\d+\s*$)", re.IGNORECASE)


class InvalidPhone(ValueError):
    pass


@dataclass(frozen=True)
class Phone:
    e164: str  # the search key
    display: str  # national form at home, international form abroad
    extension: str
    mobile: bool


def _parse(raw: str, region: str) -> phonenumbers.PhoneNumber:
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 60:
        raise InvalidPhone(raw)
    text = unicodedata.normalize("NFKC", raw).strip()
    text = _EXTENSION_WORDS.sub(" ext. ", text)
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise InvalidPhone(raw) from None


def normalise(raw: str, *, region: str = DEFAULT_REGION) -> Phone:
    """A valid number in its stored forms; `InvalidPhone` when it cannot be a real number."""
    number = _parse(raw, region)
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone(raw)
    home = phonenumbers.region_code_for_number(number) == region
    display = phonenumbers.format_number(
        number, PhoneNumberFormat.NATIONAL if home else PhoneNumberFormat.INTERNATIONAL
    )
    kind = phonenumbers.number_type(number)
    return Phone(
        e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        display=display.split(" ext.")[0],
        extension=number.extension or "",
        mobile=kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE),
    )


def lookup_key(raw: str, *, region: str = DEFAULT_REGION) -> str | None:
    """The E.164 key to look a caller up by, or None. Lenient: a number that is *possible* (a caller
    id from a switch need not pass the strict validity rules) still gives a key."""
    try:
        number = _parse(raw, region)
    except InvalidPhone:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def ticket_form(e164: str) -> str | None:
    """The form in which tickets keep the same number (`13800138000`, `010-12345678`), or None."""
    from kefu.tickets.formvalues import Invalid, clean_phone

    try:
        return clean_phone(e164)
    except Invalid:
        return None
