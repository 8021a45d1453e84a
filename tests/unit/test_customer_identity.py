"""Identity documents: check characters (with their laws), dates of birth, legacy upgrades, masks."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kefu.core.errors import FieldError
from kefu.customers import identity
from kefu.customers.identity import IdType

TODAY = date(2026, 11, 22)


def _resident(area: str, born: date, seq: str) -> str:
    first17 = f"{area}{born:%Y%m%d}{seq}"
    return first17 + identity.resident_id_check(first17)


def test_known_valid_numbers():
    # The standard's own example number and real-format codes.
    ok = identity.check(IdType.RESIDENT_ID, "11010519491231002X", today=TODAY)
    assert ok.birth_date == date(1949, 12, 31) and ok.gender == "female"
    assert identity.check(IdType.USCC, "91110000600037341L", today=TODAY).number == "91110000600037341L"
    assert identity.check(IdType.ORGANIZATION_CODE, "60003734-1", today=TODAY).number == "600037341"
    assert identity.check(
        IdType.RESIDENT_ID, "１１０１０５ １９４９１２３１００２ｘ", today=TODAY
    ).number == ("11010519491231002X")


@pytest.mark.parametrize(
    ("kind", "number"),
    [
        (IdType.RESIDENT_ID, "110105194912310021"),  # wrong check character
        (IdType.RESIDENT_ID, "990105194912310029"),  # no such province
        (IdType.RESIDENT_ID, "11010519491231002"),  # 17 characters
        (IdType.USCC, "91110000600037341A"),
        (IdType.USCC, "9111000060003734IL"),  # I is not in the code's alphabet
        (IdType.ORGANIZATION_CODE, "600037342"),
        (IdType.BUSINESS_REG_NO, "110000000000001"),
        (IdType.PASSPORT, "E1"),
        (IdType.HK_MACAO_PERMIT, "X12345678"),
    ],
)
def test_wrong_numbers_name_the_field(kind, number):
    with pytest.raises(FieldError) as exc:
        identity.check(kind, number, today=TODAY, field="id_number")
    assert exc.value.field == "id_number"


def test_impossible_and_future_birth_dates_are_refused():
    feb30 = "110105" + "19490230" + "002"
    with pytest.raises(FieldError, match="date of birth"):
        identity.check(IdType.RESIDENT_ID, feb30 + identity.resident_id_check(feb30), today=TODAY)
    future = _resident("110105", date(2027, 1, 1), "001")
    with pytest.raises(FieldError, match="date of birth"):
        identity.check(IdType.RESIDENT_ID, future, today=TODAY)


def test_a_fifteen_digit_card_is_upgraded_to_eighteen():
    checked = identity.check(IdType.RESIDENT_ID, "110105491231002", today=TODAY)
    assert checked.number == "11010519491231002X"
    assert checked.birth_date == date(1949, 12, 31)


@given(
    area=st.sampled_from(["110105", "310101", "440305", "510107", "650102"]),
    born=st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    seq=st.integers(min_value=0, max_value=999),
)
def test_every_number_with_its_check_character_passes(area, born, seq):
    number = _resident(area, born, f"{seq:03d}")
    checked = identity.check(IdType.RESIDENT_ID, number, today=TODAY)
    assert checked.number == number and checked.birth_date == born
    assert checked.gender == ("male" if seq % 2 else "female")


@given(
    born=st.dates(min_value=date(1900, 1, 1), max_value=TODAY),
    position=st.integers(min_value=0, max_value=16),
    delta=st.integers(min_value=1, max_value=9),
)
def test_any_single_digit_change_is_detected(born, position, delta):
    """MOD 11-2 detects every single substitution: changing one digit makes the number invalid."""
    number = _resident("110105", born, "123")
    changed = number[:position] + str((int(number[position]) + delta) % 10) + number[position + 1 :]
    try:
        identity.check(IdType.RESIDENT_ID, changed, today=TODAY)
    except FieldError:
        return
    raise AssertionError(f"{changed} passed")


_USCC_BODY = st.text(alphabet=identity.USCC_ALPHABET, min_size=17, max_size=17)


@given(body=_USCC_BODY)
def test_uscc_check_character_round_trip(body):
    assert identity.check(IdType.USCC, body + identity.uscc_check(body), today=TODAY).number == body + (
        identity.uscc_check(body)
    )


@given(body=_USCC_BODY, position=st.integers(0, 16), shift=st.integers(1, 30))
def test_uscc_detects_a_single_substitution(body, position, shift):
    number = body + identity.uscc_check(body)
    alphabet = identity.USCC_ALPHABET
    replaced = alphabet[(alphabet.index(number[position]) + shift) % 31]
    changed = number[:position] + replaced + number[position + 1 :]
    with pytest.raises(FieldError):
        identity.check(IdType.USCC, changed, today=TODAY)


@given(digits=st.text(alphabet="0123456789", min_size=14, max_size=14))
def test_business_registration_number_mod_11_10(digits):
    number = digits + identity.mod11_10_check(digits)
    assert identity.check(IdType.BUSINESS_REG_NO, number, today=TODAY).number == number
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    with pytest.raises(FieldError):
        identity.check(IdType.BUSINESS_REG_NO, wrong, today=TODAY)


def test_foreign_permanent_ids_and_permits():
    assert identity.check(IdType.FOREIGN_PERMANENT_ID, "USA110012345678", today=TODAY)
    first17 = "93311219800101123"
    assert identity.check(
        IdType.FOREIGN_PERMANENT_ID, first17 + identity.resident_id_check(first17), today=TODAY
    )
    assert identity.check(IdType.HK_MACAO_PERMIT, "H12345678", today=TODAY).number == "H12345678"
    assert identity.check(IdType.PASSPORT, "e 1234 5678", today=TODAY).number == "E12345678"


def test_mask_keeps_the_ends():
    assert identity.mask("11010519491231002X") == "1101**********002X"
    assert identity.mask("E1234") == "E1***"
    assert identity.mask(None) == ""
