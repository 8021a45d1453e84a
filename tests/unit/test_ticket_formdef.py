"""Ticket form elements: definitions checked on save, submitted values validated and normalised."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.datastructures import FormData

from kefu.core import clock
from kefu.core.errors import FieldErrors
from kefu.tickets.formdef import ElementDef, ElementType, check_definition, form_values, validate

TODAY = date(2026, 2, 1)
LAWS = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True)
def _shanghai() -> Iterator[None]:
    previous = clock.local_tz().key
    clock.set_local_tz("Asia/Shanghai")
    yield
    clock.set_local_tz(previous)


def element(code: str = "f", type: str = "text", **settings: Any) -> ElementDef:
    return ElementDef.from_dict({"code": code, "label": code.title(), "type": type, **settings})


def problems(call: Any, *args: Any, **kwargs: Any) -> dict[str, list[str]]:
    """Every message of the FieldErrors `call` raises, by field."""
    with pytest.raises(FieldErrors) as raised:
        call(*args, **kwargs)
    found: dict[str, list[str]] = {}
    for error in raised.value.errors:
        found.setdefault(error.field, []).append(error.render())
    return found


def clean(el: ElementDef, raw: Any, **kwargs: Any) -> Any:
    return validate([el], {el.code: raw}, today=TODAY, **kwargs)[el.code]


def check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2, as GB 11643 states it: weights 2**(i-1) mod 11 from the right."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(first17))
    check = (12 - total % 11) % 11
    return "X" if check == 10 else str(check)


# --- Bad input, for every element type -----------------------------------------------------------------

PATTERNED = {"pattern": r"[A-Z]{2}\d{4}"}
OPTIONS = {"options": [["a", "A"], ["b", "B"]]}
BAD_INPUT = [
    ("text", {}, 123, "Enter a text value"),
    ("text", {}, "line\nbreak", "Enter text without control characters"),
    ("text", {}, "nul\x00", "Enter text without control characters"),
    ("text", {}, "x" * 501, "At most 500 characters"),
    ("text", {"min_length": 3}, "ab", "At least 3 characters"),
    ("text", {"max_length": 5}, "abcdef", "At most 5 characters"),
    ("text", PATTERNED, "ab1234", "Enter a value in the required format"),
    ("textarea", {}, ["a"], "Enter a text value"),
    ("textarea", {}, "bell\x07", "Enter text without control characters"),
    ("textarea", {}, "x" * 10_001, "At most 10000 characters"),
    ("number", {}, "abc", "Enter a number"),
    ("number", {}, "1,5", "Enter a number"),
    ("number", {}, "nan", "Enter a number"),
    ("number", {}, "1e400", "Enter a number"),
    ("number", {}, float("inf"), "Enter a number"),
    ("number", {}, True, "Enter a number"),
    ("number", {}, [1], "Enter a number"),
    ("number", {}, "9007199254740992", "At most 9007199254740991"),
    ("number", {"min_value": 0}, "-1", "At least 0"),
    ("number", {"max_value": 10}, 10.5, "At most 10"),
    ("integer", {}, "1.5", "Enter a whole number"),
    ("integer", {}, 2.5, "Enter a whole number"),
    ("integer", {}, "two", "Enter a whole number"),
    ("integer", {}, False, "Enter a whole number"),
    ("integer", {"min_value": 1, "max_value": 5}, 6, "At most 5"),
    ("date", {}, "2026-02-30", "Enter a date as YYYY-MM-DD"),
    ("date", {}, "2026/02/01", "Enter a date as YYYY-MM-DD"),
    ("date", {}, "01-02-2026", "Enter a date as YYYY-MM-DD"),
    ("date", {}, "2026-02-01T10:00", "Enter a date as YYYY-MM-DD"),
    ("date", {}, datetime(2026, 2, 1, 10), "Enter a date as YYYY-MM-DD"),
    ("date", {}, 20260201, "Enter a date as YYYY-MM-DD"),
    ("datetime", {}, "2026-02-01", "Enter a date and time as YYYY-MM-DD HH:MM"),
    ("datetime", {}, "2026-02-01 25:00", "Enter a date and time as YYYY-MM-DD HH:MM"),
    ("datetime", {}, "yesterday", "Enter a date and time as YYYY-MM-DD HH:MM"),
    ("datetime", {}, 1_700_000_000, "Enter a date and time as YYYY-MM-DD HH:MM"),
    ("choice", OPTIONS, "c", "Choose one of the offered values"),
    ("choice", OPTIONS, ["a"], "Choose one of the offered values"),
    ("choice", OPTIONS, True, "Choose one of the offered values"),
    ("choice", {"dictionary": "channel"}, "fax", "Choose one of the offered values"),
    ("multichoice", OPTIONS, ["a", "z"], "Choose one of the offered values"),
    ("multichoice", OPTIONS, {"a": 1}, "Choose one of the offered values"),
    ("multichoice", {**OPTIONS, "min_length": 2}, ["a"], "Choose at least 2"),
    ("multichoice", {**OPTIONS, "max_length": 1}, ["a", "b"], "Choose at most 1"),
    ("phone", {}, "12345678", "Enter a valid phone number"),  # a landline needs its area code
    ("phone", {}, "1380013800", "Enter a valid phone number"),
    ("phone", {}, "23800138000", "Enter a valid phone number"),
    ("phone", {}, "011-12345678", "Enter a valid phone number"),
    ("phone", {}, "010-1234", "Enter a valid phone number"),
    ("phone", {}, "138-0013-8000 ext 5", "Enter a valid phone number"),
    ("phone", {}, "+86 99", "Enter a valid phone number"),
    ("phone", {}, "+0044 20", "Enter a valid phone number"),
    ("phone", {}, 13.8, "Enter a valid phone number"),
    ("email", {}, "no-at-sign", "Enter a valid email address"),
    ("email", {}, "a@localhost", "Enter a valid email address"),
    ("email", {}, "a..b@example.com", "Enter a valid email address"),
    ("email", {}, ".a@example.com", "Enter a valid email address"),
    ("email", {}, "a@-example.com", "Enter a valid email address"),
    ("email", {}, "a b@example.com", "Enter a valid email address"),
    ("id_number", {}, "110105194912310021", "Enter a valid resident identity number"),  # check digit
    ("id_number", {}, "110105491231002", "Enter a valid resident identity number"),  # 15-digit legacy
    ("id_number", {}, "11010519491231002Y", "Enter a valid resident identity number"),
    ("id_number", {}, 110105194912310028, "Enter a valid resident identity number"),
    ("bool", {}, "maybe", "Choose yes or no"),
    ("bool", {}, 2, "Choose yes or no"),
    ("bool", {}, [True], "Choose yes or no"),
    ("attachment", {}, [0], "Invalid attachment"),
    ("attachment", {}, [-3], "Invalid attachment"),
    ("attachment", {}, ["a"], "Invalid attachment"),
    ("attachment", {}, [True], "Invalid attachment"),
    ("attachment", {}, [1.5], "Invalid attachment"),
    ("attachment", {}, "1;2", "Invalid attachment"),
    ("attachment", {}, {"id": 1}, "Invalid attachment"),
    ("attachment", {}, list(range(1, 22)), "Attach at most 20 files"),
    ("attachment", {"min_length": 2}, [7], "Attach at least 2 files"),
]


def test_every_element_type_has_bad_input_cases() -> None:
    assert {case[0] for case in BAD_INPUT} == {t.value for t in ElementType}


@pytest.mark.parametrize(("kind", "extra", "raw", "message"), BAD_INPUT)
def test_bad_input_is_refused_naming_the_field(
    kind: str, extra: dict[str, Any], raw: Any, message: str
) -> None:
    el = element("f", kind, **extra)
    found = problems(validate, [el], {"f": raw}, today=TODAY, choices=lambda table: ["phone", "email"])
    assert found == {"fields.f": [message]}


@pytest.mark.parametrize(
    ("first17", "born"),
    [
        ("11010519490230001", "1949-02-30"),
        ("11010518991231001", "1899-12-31"),
        ("11010520260202001", "tomorrow"),
    ],
)
def test_identity_numbers_need_a_real_past_birth_date(first17: str, born: str) -> None:
    el = element("f", "id_number")
    found = problems(validate, [el], {"f": first17 + check_digit(first17)}, today=TODAY)
    assert found == {"fields.f": ["Enter a valid resident identity number"]}, born


def test_identity_number_check_digits() -> None:
    el = element("f", "id_number")
    assert check_digit("11010519491231002") == "X"
    assert clean(el, "11010519491231002x") == "11010519491231002X"
    assert clean(el, " 11010519491231002X ") == "11010519491231002X"
    numbers = [
        first17 + check_digit(first17) for first17 in (f"44030419900307{seq:03d}" for seq in range(40))
    ]
    assert {number[-1] for number in numbers} == set("0123456789X")  # every check value is exercised
    for number in numbers:
        assert clean(el, number) == number
        for wrong in set("0123456789X") - {number[-1]}:
            assert problems(validate, [el], {"f": number[:-1] + wrong}, today=TODAY) == {
                "fields.f": ["Enter a valid resident identity number"]
            }


# --- Normalisation -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "raw", "cleaned"),
    [
        ("text", "  Li Lei  ", "Li Lei"),
        ("textarea", "one\r\ntwo\rthree\n", "one\ntwo\nthree"),
        ("number", "2.50", 2.5),
        ("number", "３", 3),  # full-width digits from an input method
        ("number", 4.0, 4),
        ("number", "-1e3", -1000),
        ("integer", "42", 42),
        ("integer", "7.0", 7),
        ("date", "2026-02-01", "2026-02-01"),
        ("date", date(2026, 2, 1), "2026-02-01"),
        ("datetime", "2026-02-01 09:30", "2026-02-01T09:30:00"),
        ("datetime", "2026-02-01T09:30:15.250", "2026-02-01T09:30:15"),
        ("datetime", "2026-02-01T01:30:00Z", "2026-02-01T09:30:00"),  # into the deployment's zone
        ("datetime", datetime(2026, 2, 1, 1, 30, tzinfo=UTC), "2026-02-01T09:30:00"),
        ("phone", "138 0013 8000", "13800138000"),
        ("phone", "+86 138-0013-8000", "13800138000"),
        ("phone", "8613800138000", "13800138000"),
        ("phone", "01012345678", "010-12345678"),
        ("phone", "(010) 1234 5678", "010-12345678"),
        ("phone", "+86 10 1234 5678", "010-12345678"),
        ("phone", "0086 21 6123 4567", "021-61234567"),
        ("phone", "0755-8888999", "0755-8888999"),
        ("phone", "(0755)8888-9999转123", "0755-88889999-123"),
        ("phone", "010-12345678-123", "010-12345678-123"),
        ("phone", "95588", "95588"),
        ("phone", "400-812-3123", "4008123123"),
        ("phone", "800 810 8888", "8008108888"),
        ("phone", "10086", "10086"),
        ("phone", "+44 20 7946 0958", "+442079460958"),
        ("phone", 13800138000, "13800138000"),
        ("email", " Wang.Fang@Example.COM ", "Wang.Fang@example.com"),
        ("bool", "on", True),
        ("bool", "0", False),
        ("bool", "", False),
        ("bool", None, False),
        ("attachment", "3, 4 3", [3, 4]),
        ("attachment", ["5", 6, "5"], [5, 6]),
    ],
)
def test_values_are_normalised(kind: str, raw: Any, cleaned: Any) -> None:
    value = clean(element("f", kind), raw)
    assert value == cleaned
    assert type(value) is type(cleaned)


def test_choices_come_from_options_or_a_dictionary_table() -> None:
    inline = element("f", "choice", **OPTIONS)
    assert clean(inline, " b ") == "b"
    backed = element("f", "multichoice", dictionary="channel")
    reads: list[str] = []

    def table(code: str) -> list[str]:
        reads.append(code)
        return ["1", "2"]

    assert clean(backed, [2, "1", "2", ""], choices=table) == ["2", "1"]
    assert reads == ["channel"]
    assert clean(backed, ["anything"]) == ["anything"]  # no table given: not checked


def test_string_form_and_typed_json_give_identical_values() -> None:
    elements = check_definition(
        [
            {"code": "name", "label": "Name", "type": "text"},
            {"code": "notes", "label": "Notes", "type": "textarea"},
            {"code": "amount", "label": "Amount", "type": "number"},
            {"code": "count", "label": "Count", "type": "integer", "default": 1},
            {"code": "day", "label": "Day", "type": "date"},
            {"code": "at", "label": "At", "type": "datetime"},
            {"code": "channel", "label": "Channel", "type": "choice", "dictionary": "channel"},
            {"code": "tags", "label": "Tags", "type": "multichoice", **OPTIONS, "default": ["a"]},
            {"code": "phone", "label": "Phone", "type": "phone"},
            {"code": "mail", "label": "Mail", "type": "email"},
            {"code": "idn", "label": "ID", "type": "id_number"},
            {"code": "urgent", "label": "Urgent", "type": "bool", "default": True},
            {"code": "files", "label": "Files", "type": "attachment"},
        ]
    )
    form = FormData(
        [
            ("name", "Zhang San"),
            ("notes", "line one\r\nline two"),
            ("amount", "12.50"),
            ("count", "3"),
            ("day", "2026-01-31"),
            ("at", "2026-01-31T08:15"),
            ("channel", "1"),
            ("phone", "010 1234 5678"),
            ("mail", "a@b.cn"),
            ("idn", "11010519491231002X"),
            ("files", "11"),
            ("files", "12"),
            ("csrf_token", "not an element"),
        ]
    )
    typed = {
        "name": "Zhang San",
        "notes": "line one\nline two",
        "amount": 12.5,
        "count": 3,
        "day": "2026-01-31",
        "at": "2026-01-31T08:15:00",
        "channel": 1,
        "tags": [],
        "phone": "010-12345678",
        "mail": "a@b.cn",
        "idn": "11010519491231002X",
        "urgent": False,
        "files": [11, 12],
    }
    from_form = validate(elements, form_values(elements, form), choices=lambda t: ["1"], today=TODAY)
    from_json = validate(elements, typed, choices=lambda t: ["1"], today=TODAY)
    assert from_form == from_json
    assert from_form["tags"] == [] and from_form["urgent"] is False  # unticked boxes beat the defaults
    assert from_json["amount"] == 12.5 and from_json["channel"] == "1"


# --- Defaults, required, unknown keys, all errors at once ------------------------------------------------


def test_defaults_apply_to_absent_values_only() -> None:
    elements = check_definition(
        [
            {"code": "amount", "label": "Amount", "type": "number", "default": "2.50"},
            {"code": "tags", "label": "Tags", "type": "multichoice", **OPTIONS, "default": ["b"]},
            {"code": "due", "label": "Due", "type": "date", "required": True, "default": "2026-03-01"},
            {"code": "note", "label": "Note", "type": "text"},
        ]
    )
    assert elements[1].default == ("b",)
    assert validate(elements, {}, today=TODAY) == {
        "amount": 2.5,
        "tags": ["b"],
        "due": "2026-03-01",
        "note": None,
    }
    assert validate(elements, {"amount": "", "tags": []}, today=TODAY)["amount"] is None
    assert validate(elements, {"amount": "7"}, today=TODAY, partial=True) == {"amount": 7}
    assert problems(validate, elements, {"due": ""}, today=TODAY) == {
        "fields.due": ["This field is required"]
    }


@pytest.mark.parametrize(
    ("kind", "extra", "empty"),
    [
        ("text", {}, "   "),
        ("textarea", {}, "\r\n"),
        ("number", {}, ""),
        ("date", {}, None),
        ("choice", OPTIONS, ""),
        ("multichoice", OPTIONS, ["", ""]),
        ("phone", {}, " "),
        ("bool", {}, "off"),  # a required box must be ticked
        ("attachment", {}, []),
    ],
)
def test_required_elements_need_a_value(kind: str, extra: dict[str, Any], empty: Any) -> None:
    el = element("f", kind, required=True, **extra)
    assert problems(validate, [el], {"f": empty}, today=TODAY) == {"fields.f": ["This field is required"]}
    assert problems(validate, [el], {}, today=TODAY) == {"fields.f": ["This field is required"]}
    assert validate([el], {}, today=TODAY, partial=True) == {}


def test_unknown_keys_are_refused_and_every_error_is_reported_at_once() -> None:
    elements = [
        element("name", required=True),
        element("age", "integer", min_value=0),
        element("mail", "email"),
    ]
    found = problems(validate, elements, {"age": "-1", "mail": "nope", "nickname": "x"}, today=TODAY)
    assert found == {
        "fields.nickname": ["Unknown field"],
        "fields.name": ["This field is required"],
        "fields.age": ["At least 0"],
        "fields.mail": ["Enter a valid email address"],
    }
    found = problems(validate, elements, {"nickname": "x"}, today=TODAY, partial=True)
    assert found == {"fields.nickname": ["Unknown field"]}


# --- Validation rules -----------------------------------------------------------------------------------

PERIOD = [
    {"code": "start", "label": "Start", "type": "date"},
    {
        "code": "end",
        "label": "End",
        "type": "date",
        "validation": "end >= start",
        "validation_message": "结束早于开始",
    },
]


def test_cross_field_rule() -> None:
    elements = check_definition(PERIOD)
    assert (
        validate(elements, {"start": "2026-01-01", "end": "2026-01-02"}, today=TODAY)["end"] == "2026-01-02"
    )
    found = problems(validate, elements, {"start": "2026-01-03", "end": "2026-01-02"}, today=TODAY)
    assert found == {"fields.end": ["结束早于开始"]}
    # An empty element that a rule reads, or one that failed its own check, does not apply the rule.
    assert validate(elements, {"end": "2026-01-02"}, today=TODAY)["start"] is None
    found = problems(validate, elements, {"start": "2026-13-01", "end": "2026-01-02"}, today=TODAY)
    assert found == {"fields.start": ["Enter a date as YYYY-MM-DD"]}


def test_partial_edits_read_the_stored_values_in_rules() -> None:
    elements = check_definition(PERIOD)
    stored = {"start": "2026-01-10", "end": "2026-01-20"}
    assert validate(elements, {"end": "2026-01-11"}, partial=True, existing=stored) == {"end": "2026-01-11"}
    found = problems(validate, elements, {"end": "2026-01-09"}, partial=True, existing=stored)
    assert found == {"fields.end": ["结束早于开始"]}
    assert validate(elements, {"end": "2026-01-09"}, partial=True) == {"end": "2026-01-09"}  # start unknown


@pytest.mark.parametrize(
    ("definition", "good", "bad", "message"),
    [
        ({"type": "text", "validation": "len(value) >= 5"}, "abcde", "abcd", "Invalid value"),
        ({"type": "date", "validation": "value <= today", "validation_message": "Not in the future"},
         "2026-02-01", "2026-02-02", "Not in the future"),
        ({"type": "multichoice", **OPTIONS, "validation": "len(value) != 1"}, ["a", "b"], ["a"],
         "Invalid value"),
        ({"type": "number", "validation": "value % 5 == 0"}, "15", 16, "Invalid value"),
        ({"type": "bool", "validation": "value"}, "on", "", "Invalid value"),
        ({"type": "text", "validation": "int(value) > 0"}, "3", "three",
         "The validation rule of this field could not be checked"),
    ],
)  # fmt: skip
def test_rules_on_one_element(definition: dict[str, Any], good: Any, bad: Any, message: str) -> None:
    el = element("f", **definition)
    assert validate([el], {"f": good}, today=TODAY)
    assert problems(validate, [el], {"f": bad}, today=TODAY) == {"fields.f": [message]}


def test_rules_are_skipped_for_empty_optional_values() -> None:
    el = element("f", validation="len(value) >= 5")
    assert validate([el], {"f": ""}, today=TODAY) == {"f": None}
    required = element("f", validation="len(value) >= 5", required=True)
    assert problems(validate, [required], {"f": ""}, today=TODAY) == {"fields.f": ["This field is required"]}


@pytest.mark.parametrize(
    "rule",
    [
        "__import__('os')",
        "value.__class__",
        "value.upper()",
        "start.year > 2000",
        "9**9**9",
        "'x' * 10**9",
        "[x for x in value]",
        "(lambda: 1)()",
        "open('/etc/passwd')",
        "f'{value}'",
        "(x := 1)",
    ],
)
def test_hostile_rules_are_refused_when_the_template_is_saved(rule: str) -> None:
    definition = [PERIOD[0], {"code": "f", "label": "F", "type": "text", "validation": rule}]
    found = problems(check_definition, definition)
    assert list(found) == ["elements.1.validation"]
    assert len(found["elements.1.validation"]) == 1


# --- Definitions ----------------------------------------------------------------------------------------


def test_definition_problems_name_the_element_and_setting() -> None:
    found = problems(
        check_definition,
        [
            {"code": "Bad-Code", "label": "A", "type": "text"},
            {"code": "name", "label": "Name", "type": "text"},
            {"code": "name", "label": "Again", "type": "text"},
            {"code": "c", "label": "C", "type": "slider"},
            {"code": "d", "label": "  ", "type": "text"},
            {"code": "e", "label": "E", "type": "choice"},
            {"code": "g", "label": "G", "type": "text", "pattern": "[a-"},
            {"code": "h", "label": "H", "type": "text", "min_length": 9, "max_length": 3},
            {"code": "i", "label": "I", "type": "number", "validation": "value > limit"},
            {"code": "j", "label": "J", "type": "integer", "default": "many"},
            "not an object",
            {"code": "kefu_status", "label": "K", "type": "text"},
            {"code": "value", "label": "V", "type": "text"},
            {"code": "m", "label": "M", "type": "text", "min_value": 1, "colour": "red"},
            {"code": "n", "label": "N", "type": "choice", "dictionary": "channel", **OPTIONS},
            {"code": "o", "label": "O", "type": "multichoice", "options": [["a", "A"], ["a", "B"]]},
            {"code": "p", "label": "P", "type": "text", "required": "yes", "max_length": 501},
        ],
    )
    assert found == {
        "elements.0.code": [
            "Enter a code of lowercase letters, digits and underscores that starts with a letter"
        ],
        "elements.2.code": ["This code is used by another element"],
        "elements.3.type": ["Unknown element type"],
        "elements.4.label": ["Enter a label"],
        "elements.5.options": ["Choose a dictionary or enter options"],
        "elements.6.pattern": ["The pattern is not a valid regular expression: unterminated character set"],
        "elements.7.min_length": ["The minimum is greater than the maximum"],
        "elements.8.validation": ["The rule uses names that are not element codes: limit"],
        "elements.9.default": ["Enter a whole number"],
        "elements.10": ["Enter an element as an object"],
        "elements.11.code": ["Codes starting with kefu_ are reserved"],
        "elements.12.code": ["This code is reserved"],
        "elements.13.colour": ["Unknown field"],
        "elements.13.min_value": ["Not used by this element type"],
        "elements.14.options": ["Choose either a dictionary or options, not both"],
        "elements.15.options": ["Option values must be unique"],
        "elements.16.required": ["Enter true or false"],
        "elements.16.max_length": ["At most 500"],
    }
    assert problems(check_definition, {"code": "x"}) == {"elements": ["Enter a list of elements"]}


def test_defaults_must_pass_the_element_checks() -> None:
    found = problems(
        check_definition,
        [
            {"code": "a", "label": "A", "type": "choice", **OPTIONS, "default": "z"},
            {"code": "b", "label": "B", "type": "text", "max_length": 3, "default": "long"},
            {"code": "c", "label": "C", "type": "phone", "default": "12"},
        ],
    )
    assert found == {
        "elements.0.default": ["Choose one of the offered values"],
        "elements.1.default": ["At most 3 characters"],
        "elements.2.default": ["Enter a valid phone number"],
    }
    assert (
        check_definition([{"code": "c", "label": "C", "type": "phone", "default": "138 0013 8000"}])[
            0
        ].default
        == "13800138000"
    )


@pytest.mark.parametrize(
    ("pattern", "accepted"),
    [
        (r"[A-Z]{2}\d{6}", True),
        (r"(\d{3}-)*\d{4}", True),
        (r"(?:ABC|DEF)-\d+", True),
        (r".*.*.*", True),
        (r"(a+)+$", False),
        (r"(a|aa)*b", False),
        (r"(\d{1,3}\.)+x", False),
        (r"\d*\d*\d*\d*x", False),
        (r"(a)\1", False),
    ],
)
def test_patterns_that_could_backtrack_for_long_are_refused(pattern: str, accepted: bool) -> None:
    definition = [{"code": "f", "label": "F", "type": "text", "pattern": pattern}]
    if accepted:
        assert check_definition(definition)[0].pattern == pattern
    else:
        assert problems(check_definition, definition) == {
            "elements.0.pattern": ["The pattern is too complex to check quickly"]
        }


def test_stored_elements_round_trip_through_json() -> None:
    elements = check_definition(
        [
            *PERIOD,
            {
                "code": "tags",
                "label": "Tags",
                "type": "multichoice",
                "options": [{"value": "a", "label": "A"}],
            },
            {"code": "n", "label": "N", "type": "number", "min_value": 0.5, "max_value": 9, "default": 1},
            {
                "code": "t",
                "label": "T",
                "type": "text",
                "pattern": r"\d+",
                "help_text": "Digits",
                "required": True,
            },
        ]
    )
    stored = json.loads(json.dumps([e.to_dict() for e in elements]))
    assert check_definition(stored) == elements
    assert [ElementDef.from_dict(d) for d in stored] == elements
    assert elements[2].options == (("a", "A"),)


# --- Laws -----------------------------------------------------------------------------------------------

ALL_TYPES = check_definition(
    [
        {"code": "text", "label": "T", "type": "text", "max_length": 20},
        {"code": "textarea", "label": "T", "type": "textarea"},
        {"code": "number", "label": "N", "type": "number", "min_value": -1000},
        {"code": "integer", "label": "I", "type": "integer"},
        {"code": "day", "label": "D", "type": "date"},
        {"code": "at", "label": "D", "type": "datetime"},
        {"code": "choice", "label": "C", "type": "choice", "options": [["a", "A"], ["1", "One"]]},
        {"code": "multi", "label": "M", "type": "multichoice", "dictionary": "tags", "max_length": 3},
        {"code": "phone", "label": "P", "type": "phone"},
        {"code": "email", "label": "E", "type": "email"},
        {"code": "idn", "label": "I", "type": "id_number"},
        {"code": "flag", "label": "F", "type": "bool", "default": True},
        {"code": "files", "label": "F", "type": "attachment", "max_length": 4},
        {"code": "later", "label": "L", "type": "date", "validation": "later >= day"},
    ]
)
_digits = st.text("0123456789", min_size=1, max_size=9)
_sep = st.sampled_from(["", " ", "-"])
RAW = {
    "text": st.text(max_size=25),
    "textarea": st.text(st.sampled_from("ab \r\n\t中"), max_size=30),
    "number": st.one_of(st.integers(), st.floats(), st.integers().map(str), st.floats().map(str), _digits),
    "integer": st.one_of(st.integers(-(2**60), 2**60), st.floats(-1e6, 1e6), _digits),
    "day": st.one_of(st.dates(), st.dates().map(date.isoformat), st.text(max_size=10)),
    "at": st.one_of(
        st.datetimes(timezones=st.sampled_from([None, UTC])),
        st.datetimes().map(lambda d: d.isoformat(sep=" ", timespec="minutes")),
    ),
    "choice": st.sampled_from(["a", "1", 1, "b", "", None, True]),
    "multi": st.lists(st.sampled_from(["x", "y", "z", "", 5]), max_size=5),
    "phone": st.one_of(
        st.builds(
            lambda a, b, c, s: f"1{a}{s}{b:0>4}{s}{c:0>4}", st.sampled_from("3456789"), _digits, _digits, _sep
        ),
        st.builds(
            lambda area, n, s: f"{area}{s}{n}",
            st.sampled_from(["010", "021", "0755", "+86 10"]),
            _digits,
            _sep,
        ),
        st.builds(lambda n: "+" + n, _digits),
        st.sampled_from(["95588", "4008123123", "10086"]),
    ),
    "email": st.emails(),
    "idn": st.builds(
        lambda born, seq, lower: (lambda s: (s + check_digit(s)).replace("X", "x" if lower else "X"))(
            f"110105{born:%Y%m%d}{seq:03d}"
        ),
        st.dates(date(1900, 1, 1), TODAY),
        st.integers(0, 999),
        st.booleans(),
    ),
    "flag": st.sampled_from([True, False, "on", "", "0", "1", "true", "off", None, 1]),
    "files": st.lists(st.one_of(st.integers(-2, 2**40), st.integers(1, 99).map(str)), max_size=6),
    "later": st.dates(date(2020, 1, 1), date(2030, 1, 1)).map(date.isoformat),
}
TABLES = {"tags": ["x", "y", "5"]}


def _as_form_text(value: Any) -> Any:
    """A cleaned value as an HTML form would send it back."""
    if isinstance(value, list):
        return [str(item) for item in value]
    if isinstance(value, bool):
        return "on" if value else ""
    return "" if value is None else str(value)


def _acceptable(values: dict[str, Any]) -> dict[str, Any]:
    """Keep the raw values that pass their element's own checks (the rest become absent)."""
    kept = {}
    for el in ALL_TYPES:
        try:
            validate([el], {el.code: values[el.code]}, choices=TABLES.__getitem__, today=TODAY, partial=True)
        except FieldErrors:
            continue
        kept[el.code] = values[el.code]
    return kept


@LAWS
@given(st.fixed_dictionaries(RAW))
def test_cleaned_values_validate_to_themselves(raw: dict[str, Any]) -> None:
    values = _acceptable(raw)
    try:
        cleaned = validate(ALL_TYPES, values, choices=TABLES.__getitem__, today=TODAY)
    except FieldErrors as exc:  # only the cross-field rule may refuse values that pass alone
        assert [e.field for e in exc.errors] == ["fields.later"]
        return
    assert list(cleaned) == [el.code for el in ALL_TYPES]
    assert validate(ALL_TYPES, cleaned, choices=TABLES.__getitem__, today=TODAY) == cleaned
    json.dumps(cleaned)
    as_form = {code: _as_form_text(value) for code, value in cleaned.items()}
    assert validate(ALL_TYPES, as_form, choices=TABLES.__getitem__, today=TODAY) == cleaned


@LAWS
@given(
    st.dictionaries(st.sampled_from(list(RAW)), st.none() | st.text(max_size=5) | st.integers(), max_size=6)
)
def test_validation_never_crashes(values: dict[str, Any]) -> None:
    try:
        validate(ALL_TYPES, values, choices=TABLES.__getitem__, today=TODAY)
    except FieldErrors as exc:
        assert all(e.field.startswith("fields.") for e in exc.errors)
