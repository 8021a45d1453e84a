"""Identity documents (证件): the document types kefu knows and how a number of each is checked.

Numbers are normalised (full-width made ASCII, spaces and hyphens removed, upper case) and checked
by the rule of their type:

- resident identity card (居民身份证, GB 11643-1999): 18 characters, ISO 7064 MOD 11-2 check
  character, a plausible province code and a real date of birth; a legacy 15-digit number is
  upgraded to 18 (century 19 inserted, check character computed), as the card registers do;
- unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters of the code's own
  alphabet (no I, O, S, V, Z) with its MOD 31 check character;
- organisation code (组织机构代码, GB 11714-1997): 8 characters and a MOD 11 check character;
- business registration number (工商注册号, GS 15-2006): 15 digits with an ISO 7064 MOD 11,10 check;
- foreign permanent resident ID (外国人永久居留身份证): the 2017 form (3 letters, 12 digits) or the
  2023 form (18 digits beginning with 9, GB 11643 check);
- mainland travel permits for Hong Kong / Macao (H/M + 8 or 10 digits) and Taiwan residents (8 or
  10 digits); passports (5–20 letters and digits; Chinese ones E/G + 8 characters); other (any text).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from kefu.core import i18n
from kefu.core.errors import FieldError
from kefu.core.i18n import lazy


class IdType(StrEnum):
    RESIDENT_ID = "resident_id"
    PASSPORT = "passport"
    HK_MACAO_PERMIT = "hk_macao_permit"
    TAIWAN_PERMIT = "taiwan_permit"
    FOREIGN_PERMANENT_ID = "foreign_permanent_id"
    USCC = "uscc"
    ORGANIZATION_CODE = "organization_code"
    BUSINESS_REG_NO = "business_reg_no"
    OTHER = "other"


ID_TYPE_LABELS: dict[IdType, str] = {
    IdType.RESIDENT_ID: lazy("Resident identity card"),
    IdType.PASSPORT: lazy("Passport"),
    IdType.HK_MACAO_PERMIT: lazy("Mainland travel permit for Hong Kong and Macao residents"),
    IdType.TAIWAN_PERMIT: lazy("Mainland travel permit for Taiwan residents"),
    IdType.FOREIGN_PERMANENT_ID: lazy("Foreign permanent resident ID card"),
    IdType.USCC: lazy("Unified social credit code"),
    IdType.ORGANIZATION_CODE: lazy("Organisation code"),
    IdType.BUSINESS_REG_NO: lazy("Business registration number"),
    IdType.OTHER: lazy("Other document"),
}
PERSON_TYPES = frozenset(
    {
        IdType.RESIDENT_ID,
        IdType.PASSPORT,
        IdType.HK_MACAO_PERMIT,
        IdType.TAIWAN_PERMIT,
        IdType.FOREIGN_PERMANENT_ID,
        IdType.OTHER,
    }
)
ORGANISATION_TYPES = frozenset({IdType.USCC, IdType.ORGANIZATION_CODE, IdType.BUSINESS_REG_NO, IdType.OTHER})

INVALID_NUMBER = lazy("This is not a valid %(type)s number")
INVALID_BIRTH_DATE = lazy("The date of birth in this number is not a real date")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# First two digits: the province-level division (GB/T 2260) — 11 Beijing … 65 Xinjiang, 71 Taiwan,
# 81 Hong Kong, 82 Macao, 83 the residence permit of Hong Kong/Macao/Taiwan residents (2018).
_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53, 54}
    | {61, 62, 63, 64, 65, 71, 81, 82, 83}
)
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class Identity:
    """A checked document: its normalised number and what it tells (birth date and sex for ID cards)."""

    type: IdType
    number: str
    birth_date: date | None = None
    gender: str | None = None  # "male" / "female", from the resident ID's sequence digit


def normalise(raw: str) -> str:
    text = unicodedata.normalize("NFKC", raw or "").upper()
    return re.sub(r"[\s\-()（）]", "", text)


def resident_id_check(first17: str) -> str:
    """The GB 11643 (ISO 7064 MOD 11-2) check character of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def uscc_check(first17: str) -> str:
    """The GB 32100 check character of the first 17 characters of a unified social credit code."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def organization_code_check(first8: str) -> str:
    """The GB 11714 check character of an 8-character organisation code."""
    total = sum(_ALNUM.index(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return "X" if value == 10 else "0" if value == 11 else str(value)


def mod11_10_check(digits: str) -> str:
    """The ISO 7064 MOD 11,10 check digit (15-digit business registration numbers)."""
    product = 10
    for d in digits:
        s = (product + int(d)) % 10 or 10
        product = (s * 2) % 11
    return str((11 - product) % 10)


def _resident_id(number: str, today: date) -> Identity:
    if re.fullmatch(r"[1-9]\d{14}", number):  # a first-generation card: born in the 1900s
        first17 = number[:6] + "19" + number[6:]
        number = first17 + resident_id_check(first17)
    if not re.fullmatch(r"[1-9]\d{16}[\dX]", number) or int(number[:2]) not in _PROVINCES:
        raise ValueError
    if resident_id_check(number[:17]) != number[17]:
        raise ValueError
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise _BadBirthDate from None
    if not date(1890, 1, 1) <= born <= today:
        raise _BadBirthDate
    gender = "male" if int(number[16]) % 2 else "female"
    return Identity(IdType.RESIDENT_ID, number, birth_date=born, gender=gender)


class _BadBirthDate(ValueError):
    pass


def _uscc(number: str) -> Identity:
    if len(number) != 18 or any(c not in USCC_ALPHABET for c in number):
        raise ValueError
    if uscc_check(number[:17]) != number[17]:
        raise ValueError
    return Identity(IdType.USCC, number)


def _organization_code(number: str) -> Identity:
    if not re.fullmatch(r"[0-9A-Z]{8}[0-9X]", number) or organization_code_check(number[:8]) != number[8]:
        raise ValueError
    return Identity(IdType.ORGANIZATION_CODE, number)


def _business_reg_no(number: str) -> Identity:
    if not re.fullmatch(r"\d{15}", number) or mod11_10_check(number[:14]) != number[14]:
        raise ValueError
    return Identity(IdType.BUSINESS_REG_NO, number)


def _foreign_permanent(number: str) -> Identity:
    if re.fullmatch(r"[A-Z]{3}\d{12}", number):
        return Identity(IdType.FOREIGN_PERMANENT_ID, number)
    if re.fullmatch(r"9\d{16}[\dX]", number) and resident_id_check(number[:17]) == number[17]:
        return Identity(IdType.FOREIGN_PERMANENT_ID, number)
    raise ValueError


_PATTERNS = {
    IdType.PASSPORT: re.compile(r"[A-Z0-9]{5,20}"),
    IdType.HK_MACAO_PERMIT: re.compile(r"[HM]\d{8}(\d{2})?"),
    IdType.TAIWAN_PERMIT: re.compile(r"\d{8}(\d{2})?"),
    IdType.OTHER: re.compile(r"[^\s]{1,40}"),
}


def check(id_type: IdType | str, raw: str, *, today: date, field: str = "id_number") -> Identity:
    """The checked, normalised document; FieldError naming `field` when the number is wrong."""
    kind = IdType(id_type)
    number = normalise(raw)
    try:
        if kind is IdType.RESIDENT_ID:
            return _resident_id(number, today)
        if kind is IdType.USCC:
            return _uscc(number)
        if kind is IdType.ORGANIZATION_CODE:
            return _organization_code(number)
        if kind is IdType.BUSINESS_REG_NO:
            return _business_reg_no(number)
        if kind is IdType.FOREIGN_PERMANENT_ID:
            return _foreign_permanent(number)
        if _PATTERNS[kind].fullmatch(number):
            return Identity(kind, number)
        raise ValueError
    except _BadBirthDate:
        raise FieldError(field, INVALID_BIRTH_DATE) from None
    except ValueError:
        raise FieldError(field, INVALID_NUMBER, type=i18n.gettext(ID_TYPE_LABELS[kind])) from None


def mask(number: str | None) -> str:
    """The number as lists show it: the first 4 and last 4 characters (110101**********1234)."""
    if not number:
        return ""
    if len(number) <= 8:
        return number[:2] + "*" * (len(number) - 2)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]
