"""Name search keys (pinyin, initials, surname readings) and phone normalisation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kefu.customers import names, phones
from kefu.customers.values import luhn_ok


def test_keys_of_a_plain_name():
    assert names.search_keys("张三", person=True) == {
        ("name", "张三"),
        ("pinyin", "zhangsan"),
        ("initials", "zs"),
    }


@pytest.mark.parametrize(
    ("name", "full", "initials"),
    [
        ("单田芳", "shantianfang", "stf"),
        ("曾志伟", "zengzhiwei", "zzw"),
        ("查良镛", "zhaliangyong", "zly"),
        ("解缙", "xiejin", "xj"),
        ("区家麟", "oujialin", "ojl"),
        ("仇英", "qiuying", "qy"),
        ("朴树", "piaoshu", "ps"),
        ("欧阳娜娜", "ouyangnana", "oynn"),
        ("尉迟恭", "yuchigong", "ycg"),
    ],
)
def test_surnames_are_read_as_surnames(name, full, initials):
    keys = names.search_keys(name, person=True)
    assert ("pinyin", full) in keys and ("initials", initials) in keys
    assert names.display_pinyin(name, person=True).replace(" ", "") == full


def test_a_surname_with_two_readings_is_found_by_either():
    keys = names.search_keys("乐嘉", person=True)
    assert {("pinyin", "yuejia"), ("pinyin", "lejia"), ("initials", "yj"), ("initials", "lj")} <= keys


def test_enterprise_names_are_read_as_written():
    keys = names.search_keys("单县自来水公司", person=False)
    assert (
        "pinyin",
        "danxianzilaishuigongsi",
    ) in keys  # the place reads Shan, but no override for enterprises
    assert ("name", "单县自来水公司") in keys


def test_fold_makes_full_width_and_case_alike():
    assert names.fold(" Ｚｈａｎｇ San ") == "zhangsan"


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "+86 138-0013-8000",
        "008613800138000",
        "8613800138000",
        "１３８００１３８０００",
        "138 0013 8000",
    ],
)
def test_one_mobile_number_typed_any_way_has_one_key(raw):
    phone = phones.normalise(raw)
    assert phone.e164 == "+8613800138000" and phone.mobile
    assert phones.ticket_form(phone.e164) == "13800138000"


def test_landlines_extensions_and_foreign_numbers():
    landline = phones.normalise("(010) 1234-5678 转 123")
    assert (landline.e164, landline.extension, landline.display) == ("+861012345678", "123", "010 1234 5678")
    assert phones.ticket_form(landline.e164) == "010-12345678"
    foreign = phones.normalise("+44 20 7946 0958")
    assert foreign.e164 == "+442079460958" and foreign.display.startswith("+44")


@pytest.mark.parametrize("raw", ["", "12345", "abc", "1380013800", "+86 999", "1" * 70])
def test_bad_numbers_are_refused(raw):
    with pytest.raises(phones.InvalidPhone):
        phones.normalise(raw)


def test_lookup_is_lenient_with_switch_caller_ids():
    assert phones.lookup_key("013800138000") == "+8613800138000"  # a trunk 0 before a mobile
    assert phones.lookup_key("not a number") is None


@given(st.text(alphabet="0123456789", min_size=10, max_size=19))
def test_luhn_check_digit_law(body):
    for d in "0123456789":
        if luhn_ok(body + d):
            check = d
            break
    assert sum(luhn_ok(body + d) for d in "0123456789") == 1
    wrong = body + str((int(check) + 1) % 10)
    assert not luhn_ok(wrong)
