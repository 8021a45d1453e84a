"""Ticket form elements (工单元素): element definitions checked on save, submitted values validated.

A form template (工单模板) holds an ordered list of elements. This module is the one place where an
element definition is checked (`check_definition`, when a template is saved) and where submitted
values are validated and normalised (`validate`, used by both the rendered form and the API). It is
pure: dictionary tables are read through the `choices` callback the caller supplies.

Values arrive as strings from an HTML form (`form_values` picks them out of the form) or typed from
JSON; both give the same cleaned values:

- text / textarea: stripped text (textarea line ends become ``\\n``); control characters refused.
- number: int when integral, else float; integer: int. Magnitudes up to 2**53 - 1 (safe in browsers).
- date: ``YYYY-MM-DD``; datetime: ``YYYY-MM-DDTHH:MM:SS``, the wall-clock time in the deployment's
  time zone (an input with an offset is converted to it).
- choice: the value; multichoice: a list of values, without repeats.
- phone: Chinese mobile ``13800138000``, landline ``010-12345678`` (extension ``-123``), service
  numbers (``95588``, ``4008123123``, ``10086``) or ``+`` and digits for other countries.
- email: the domain lower-cased. id_number: the 18-character resident identity number (GB 11643
  check digit), upper-cased; the 15-digit numbers issued before 1999 are not accepted.
- bool: True/False; an absent bool is False and a required bool must be True (a confirmation box).
- attachment: a list of attachment ids (ints); only shape and count are checked here.

Empty values clean to None (lists to ``[]``). A validation rule is an expression of
`kefu.workflow.engine.safe_eval` over the cleaned values, `value` (this element's value) and `today`
(ISO date); dates compare as ISO text. A rule that cannot be evaluated because another element it
reads is empty is not applied.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
import unicodedata
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any

from kefu.core import clock, patterns
from kefu.core.errors import FieldError, FieldErrors
from kefu.core.i18n import lazy
from kefu.tickets import formvalues
from kefu.workflow.engine import safe_eval

__all__ = ["Choices", "ElementDef", "ElementType", "check_definition", "form_values", "validate"]

Choices = Callable[[str], Sequence[str]]


class ElementType(StrEnum):
    TEXT = "text"
    TEXTAREA = "textarea"
    NUMBER = "number"
    INTEGER = "integer"
    DATE = "date"
    DATETIME = "datetime"
    CHOICE = "choice"
    MULTICHOICE = "multichoice"
    PHONE = "phone"
    EMAIL = "email"
    ID_NUMBER = "id_number"
    BOOL = "bool"
    ATTACHMENT = "attachment"


MAX_ELEMENTS = 200
MAX_OPTIONS = 500
MAX_SAFE_INTEGER = 2**53 - 1
MAX_PATTERN_LENGTH = 200
# The most a length / count setting may be, per type; also the limit when no maximum is set.
LENGTH_CAPS = {
    ElementType.TEXT: 500,
    ElementType.TEXTAREA: 10_000,
    ElementType.MULTICHOICE: 100,
    ElementType.ATTACHMENT: 20,
}
LIST_TYPES = frozenset({ElementType.MULTICHOICE, ElementType.ATTACHMENT})
CHOICE_TYPES = frozenset({ElementType.CHOICE, ElementType.MULTICHOICE})
NUMBER_TYPES = frozenset({ElementType.NUMBER, ElementType.INTEGER})
RULE_NAMES = frozenset({"value", "today"})
RESERVED_CODES = RULE_NAMES | set(safe_eval.FUNCTIONS) | set(keyword.kwlist)

CODE_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
DICTIONARY_RE = re.compile(r"[a-z][a-z0-9_]{0,59}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_TRUE = frozenset({"true", "on", "1", "yes"})
_FALSE = frozenset({"false", "off", "0", "no", ""})

REQUIRED = lazy("This field is required")
UNKNOWN_FIELD = lazy("Unknown field")
ENTER_TEXT = lazy("Enter a text value")
NO_CONTROL = lazy("Enter text without control characters")
MIN_CHARS = lazy("At least %(min)s characters")
MAX_CHARS = lazy("At most %(max)s characters")
BAD_FORMAT = lazy("Enter a value in the required format")
ENTER_NUMBER = lazy("Enter a number")
ENTER_INTEGER = lazy("Enter a whole number")
AT_LEAST = lazy("At least %(min)s")
AT_MOST = lazy("At most %(max)s")
CHOOSE_YES_NO = lazy("Choose yes or no")
CHOOSE_OFFERED = lazy("Choose one of the offered values")
CHOOSE_AT_LEAST = lazy("Choose at least %(min)s")
CHOOSE_AT_MOST = lazy("Choose at most %(max)s")
BAD_ATTACHMENT = lazy("Invalid attachment")
ATTACH_AT_LEAST = lazy("Attach at least %(min)s files")
ATTACH_AT_MOST = lazy("Attach at most %(max)s files")
RULE_FAILED = lazy("Invalid value")
RULE_UNCHECKED = lazy("The validation rule of this field could not be checked")
ENTER_ELEMENTS = lazy("Enter a list of elements")
MAX_ELEMENTS_MSG = lazy("At most %(max)s elements")
ENTER_ELEMENT = lazy("Enter an element as an object")
BAD_CODE = lazy("Enter a code of lowercase letters, digits and underscores that starts with a letter")
KEFU_PREFIX = lazy("Codes starting with kefu_ are reserved")
RESERVED_CODE = lazy("This code is reserved")
DUPLICATE_CODE = lazy("This code is used by another element")
ENTER_LABEL = lazy("Enter a label")
UNKNOWN_TYPE = lazy("Unknown element type")
ENTER_TRUE_FALSE = lazy("Enter true or false")
BAD_DICTIONARY = lazy("Enter a valid dictionary code")
NEED_CHOICES = lazy("Choose a dictionary or enter options")
DICTIONARY_OR_OPTIONS = lazy("Choose either a dictionary or options, not both")
BAD_OPTIONS = lazy("Enter options as pairs of a value and a label")
DUPLICATE_OPTION = lazy("Option values must be unique")
NOT_USED = lazy("Not used by this element type")
MIN_OVER_MAX = lazy("The minimum is greater than the maximum")
UNKNOWN_NAMES = lazy("The rule uses names that are not element codes: %(names)s")
NOT_ALLOWED = lazy("%(construct)s is not allowed in an expression.")


@dataclass(frozen=True)
class ElementDef:
    """One element of a form template. Build it with `from_dict` or `check_definition` (they check it)."""

    code: str
    label: str
    type: ElementType
    required: bool = False
    default: Any = None  # already cleaned; lists are stored as tuples
    dictionary: str | None = None
    options: tuple[tuple[str, str], ...] = ()
    min_length: int | None = None  # characters (text, textarea) or items (multichoice, attachment)
    max_length: int | None = None
    min_value: int | float | None = None
    max_value: int | float | None = None
    pattern: str | None = None
    validation: str | None = None
    validation_message: str | None = None
    help_text: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ElementDef:
        """The element stored as `data`; FieldErrors naming the keys when it is not acceptable."""
        element, errors = _parse_element(data, "")
        if errors or element is None:
            raise FieldErrors(errors)
        return element

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form of the element (`from_dict(to_dict())` gives it back)."""
        data = asdict(self)
        data.update(
            type=self.type.value,
            default=list(self.default) if isinstance(self.default, tuple) else self.default,
            options=[[value, label] for value, label in self.options],
        )
        return data


_KEYS = frozenset(item.name for item in fields(ElementDef))


# --- Definitions -------------------------------------------------------------------------------------


def check_definition(elements: list[dict[str, Any]]) -> list[ElementDef]:
    """The elements of a template being saved; FieldErrors naming every problem (`elements.3.code`)."""
    if not isinstance(elements, list):
        raise FieldErrors([FieldError("elements", ENTER_ELEMENTS)])
    if len(elements) > MAX_ELEMENTS:
        raise FieldErrors([FieldError("elements", MAX_ELEMENTS_MSG, max=MAX_ELEMENTS)])
    parsed: list[ElementDef | None] = []
    errors: list[list[FieldError]] = []
    codes: set[str] = set()
    for index, raw in enumerate(elements):
        element, problems = _parse_element(raw, f"elements.{index}.")
        code = raw.get("code") if isinstance(raw, Mapping) else None
        if isinstance(code, str) and CODE_RE.fullmatch(code):
            if code in codes:
                problems.append(FieldError(f"elements.{index}.code", DUPLICATE_CODE))
            codes.add(code)
        parsed.append(element)
        errors.append(problems)
    for index, raw in enumerate(elements):
        rule = raw.get("validation") if isinstance(raw, Mapping) else None
        if isinstance(rule, str) and rule.strip() and _rule_problem(rule) is None:
            unknown = safe_eval.referenced_names(rule) - RULE_NAMES - codes
            if unknown:
                names = ", ".join(sorted(unknown))
                errors[index].append(FieldError(f"elements.{index}.validation", UNKNOWN_NAMES, names=names))
    flat = [error for problems in errors for error in problems]
    if flat:
        raise FieldErrors(flat)
    return [element for element in parsed if element is not None]


def _parse_element(raw: object, at: str) -> tuple[ElementDef | None, list[FieldError]]:
    errors: list[FieldError] = []

    def problem(key: str, message: str, **params: object) -> None:
        errors.append(FieldError(f"{at}{key}", message, **params))

    if not isinstance(raw, Mapping):
        return None, [FieldError(at.rstrip(".") or "element", ENTER_ELEMENT)]
    for key in raw:
        if key not in _KEYS:
            problem(str(key)[:100], UNKNOWN_FIELD)

    code = raw.get("code")
    if not isinstance(code, str) or not CODE_RE.fullmatch(code):
        problem("code", BAD_CODE)
    elif code.startswith("kefu_"):
        problem("code", KEFU_PREFIX)
    elif code in RESERVED_CODES:
        problem("code", RESERVED_CODE)
    label = _setting_text(raw, "label", 100, problem)
    if not label:
        problem("label", ENTER_LABEL)
    kind: ElementType | None = None
    try:
        kind = ElementType(str(raw.get("type")))
    except ValueError:
        problem("type", UNKNOWN_TYPE)
    required = raw.get("required")
    required = False if required is None else required
    if not isinstance(required, bool):
        problem("required", ENTER_TRUE_FALSE)
    dictionary = _setting_text(raw, "dictionary", 60, problem) or None
    if dictionary is not None and not DICTIONARY_RE.fullmatch(dictionary):
        problem("dictionary", BAD_DICTIONARY)
    options = _setting_options(raw.get("options"), problem)
    min_length = _setting_number(raw, "min_length", problem, integer=True)
    max_length = _setting_number(raw, "max_length", problem, integer=True)
    min_value = _setting_number(raw, "min_value", problem, integer=kind is ElementType.INTEGER)
    max_value = _setting_number(raw, "max_value", problem, integer=kind is ElementType.INTEGER)
    pattern = _setting_text(raw, "pattern", MAX_PATTERN_LENGTH, problem) or None
    validation = _setting_text(raw, "validation", safe_eval.MAX_EXPRESSION_LENGTH, problem) or None
    message = _setting_text(raw, "validation_message", 200, problem) or None
    help_text = _setting_text(raw, "help_text", 500, problem)

    if kind is not None:
        present = {key for key in _KEYS if raw.get(key) not in (None, "", [], ())}
        used = {"min_length", "max_length"} if kind in LENGTH_CAPS else set()
        used |= {"min_value", "max_value"} if kind in NUMBER_TYPES else set()
        used |= {"dictionary", "options"} if kind in CHOICE_TYPES else set()
        used |= {"pattern"} if kind is ElementType.TEXT else set()
        for key in sorted(present & {"min_length", "max_length", "min_value", "max_value"} - used):
            problem(key, NOT_USED)
        for key in sorted(present & {"dictionary", "options", "pattern"} - used):
            problem(key, NOT_USED)
        if kind in CHOICE_TYPES and dictionary and options:
            problem("options", DICTIONARY_OR_OPTIONS)
        elif kind in CHOICE_TYPES and not dictionary and "options" not in present:
            problem("options", NEED_CHOICES)
        cap = LENGTH_CAPS.get(kind)
        if cap is not None:
            if min_length is not None and min_length < 0:
                problem("min_length", AT_LEAST, min=0)
            if max_length is not None and not 1 <= max_length <= cap:
                problem("max_length", AT_LEAST if max_length < 1 else AT_MOST, min=1, max=cap)
        if None not in (min_length, max_length) and min_length > max_length:  # type: ignore[operator]
            problem("min_length", MIN_OVER_MAX)
        if None not in (min_value, max_value) and min_value > max_value:  # type: ignore[operator]
            problem("min_value", MIN_OVER_MAX)
        if pattern is not None and kind is ElementType.TEXT:
            pattern_problem = _pattern_problem(pattern)
            if pattern_problem is not None:
                problem("pattern", pattern_problem[0], **pattern_problem[1])
    if validation is not None:
        rule_problem = _rule_problem(validation)
        if rule_problem is not None:
            problem("validation", rule_problem[0], **rule_problem[1])
    if kind is None:
        return None, errors

    # Built even when other settings failed, so that a bad default is reported in the same answer.
    element = ElementDef(
        code=str(code),
        label=label,
        type=kind,
        required=bool(required),
        dictionary=dictionary if kind in CHOICE_TYPES else None,
        options=options,
        min_length=min_length,  # type: ignore[arg-type]
        max_length=max_length,  # type: ignore[arg-type]
        min_value=min_value,
        max_value=max_value,
        pattern=pattern if not any(e.field == f"{at}pattern" for e in errors) else None,
        validation=validation,
        validation_message=message,
        help_text=help_text,
    )
    default = raw.get("default")
    if default is not None:
        try:
            cleaned = _clean(element, default, _Allowed(None), clock.to_local(clock.now()).date())
        except formvalues.Invalid as exc:
            problem("default", exc.message, **exc.params)
        else:
            if cleaned is not None and cleaned != []:
                element = replace(element, default=tuple(cleaned) if isinstance(cleaned, list) else cleaned)
    return (None if errors else element), errors


def _setting_text(raw: Mapping[str, Any], key: str, limit: int, problem: Callable[..., None]) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        problem(key, ENTER_TEXT)
        return ""
    value = value.strip()
    if len(value) > limit:
        problem(key, MAX_CHARS, max=limit)
        return ""
    return value


def _setting_number(
    raw: Mapping[str, Any], key: str, problem: Callable[..., None], *, integer: bool
) -> int | float | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    try:
        number = _parse_number(value)
    except formvalues.Invalid as exc:
        problem(key, ENTER_INTEGER if integer else exc.message, **({} if integer else exc.params))
        return None
    if integer and not isinstance(number, int):
        problem(key, ENTER_INTEGER)
        return None
    return number


def _setting_options(value: object, problem: Callable[..., None]) -> tuple[tuple[str, str], ...]:
    """Options as `[[value, label], ...]` or `[{"value": ..., "label": ...}, ...]`."""
    if value is None or value == "" or value == [] or value == ():
        return ()
    if not isinstance(value, list | tuple):
        problem("options", BAD_OPTIONS)
        return ()
    if len(value) > MAX_OPTIONS:
        problem("options", AT_MOST, max=MAX_OPTIONS)
        return ()
    pairs = [_option_pair(item) for item in value]
    if None in pairs:
        problem("options", BAD_OPTIONS)
        return ()
    checked = tuple(pair for pair in pairs if pair is not None)
    if len({option for option, _ in checked}) != len(checked):
        problem("options", DUPLICATE_OPTION)
    return checked


def _option_pair(item: object) -> tuple[str, str] | None:
    if isinstance(item, Mapping):
        item = (item.get("value"), item.get("label"))
    if not isinstance(item, list | tuple) or len(item) != 2:
        return None
    option, label = item
    if not isinstance(option, str) or not isinstance(label, str):
        return None
    option, label = option.strip(), label.strip()
    if not option or not label or len(option) > 100 or len(label) > 100 or _CONTROL.search(option + label):
        return None
    return option, label


def _rule_problem(text: str) -> tuple[str, dict[str, Any]] | None:
    problem = safe_eval.expression_problem(text)
    if problem is not None:
        return problem
    # Element values are never mappings, so `a.b` (a key lookup in flows) has no use in a form rule.
    if any(isinstance(node, ast.Attribute) for node in ast.walk(ast.parse(text.strip(), mode="eval"))):
        return NOT_ALLOWED, {"construct": "Attribute"}
    return None


def _pattern_problem(pattern: str) -> tuple[str, dict[str, Any]] | None:
    return patterns.pattern_problem(pattern, longest=LENGTH_CAPS[ElementType.TEXT])


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return re.compile(pattern)


# --- Values ------------------------------------------------------------------------------------------


def form_values(
    elements: Sequence[ElementDef], form: Mapping[str, Any], *, prefix: str = ""
) -> dict[str, Any]:
    """The values of `elements` in a submitted HTML form (multi-valued keys read with `getlist`).

    An unchecked box or an empty selection is absent from a form; here it is False or `[]`, so that the
    element's default does not come back.
    """
    getlist = getattr(form, "getlist", None)
    values: dict[str, Any] = {}
    for element in elements:
        key = prefix + element.code
        if element.type in LIST_TYPES:
            values[element.code] = list(getlist(key)) if getlist else _as_list(form.get(key))
        elif element.type is ElementType.BOOL:
            values[element.code] = form.get(key, "")
        elif key in form:
            values[element.code] = form[key]
    return values


def validate(
    elements: Sequence[ElementDef],
    values: Mapping[str, Any],
    *,
    choices: Choices | None = None,
    today: date | None = None,
    partial: bool = False,
    existing: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The cleaned values of a submitted form; FieldErrors (`fields.<code>`) naming every problem.

    `choices(dictionary_code)` gives the allowed values of a dictionary table (None: not checked).
    `partial` validates only the keys given (editing a subset); `existing` (the stored values) is then
    what validation rules read for the other elements — a rule reading an element found in neither is
    not applied.
    """
    today = today or clock.to_local(clock.now()).date()
    by_code = {element.code: element for element in elements}
    allowed = _Allowed(choices)
    errors = [FieldError(f"fields.{str(key)[:100]}", UNKNOWN_FIELD) for key in values if key not in by_code]
    del errors[20:]
    cleaned: dict[str, Any] = {}
    failed: set[str] = set()
    for element in elements:
        field = f"fields.{element.code}"
        if element.code in values:
            raw = values[element.code]
        elif partial:
            continue
        else:
            raw = list(element.default) if isinstance(element.default, tuple) else element.default
        try:
            value = _clean(element, raw, allowed, today)
        except formvalues.Invalid as exc:
            errors.append(FieldError(field, exc.message, **exc.params))
            failed.add(element.code)
            continue
        if element.required and _is_empty(value, element):
            errors.append(FieldError(field, REQUIRED))
            failed.add(element.code)
            continue
        cleaned[element.code] = value

    data = {key: v for key, v in (existing or {}).items() if key not in failed}
    data.update(cleaned, today=today.isoformat())
    for element in elements:
        if not element.validation or element.code not in cleaned:
            continue
        value = cleaned[element.code]
        if value is None or value == []:
            continue
        error = _rule_error(element, {**data, "value": value})
        if error is not None:
            errors.append(FieldError(f"fields.{element.code}", error))
    if errors:
        raise FieldErrors(errors)
    return cleaned


def _rule_error(element: ElementDef, data: dict[str, Any]) -> str | None:
    rule = str(element.validation)
    names: set[str] = set()
    try:
        names = safe_eval.referenced_names(rule) - RULE_NAMES
        if names - data.keys():
            return None
        result = safe_eval.evaluate(rule, data)
    except safe_eval.ExpressionError:
        if any(data.get(name) is None or data.get(name) == [] for name in names):
            return None
        return RULE_UNCHECKED
    except Exception:  # a stored rule must never break a form
        return RULE_UNCHECKED
    return None if result else (element.validation_message or RULE_FAILED)


def _is_empty(value: Any, element: ElementDef) -> bool:
    return value is False if element.type is ElementType.BOOL else value is None or value == []


class _Allowed:
    """The allowed values of a choice element, reading each dictionary table once per call."""

    def __init__(self, choices: Choices | None) -> None:
        self._choices = choices
        self._tables: dict[str, frozenset[str]] = {}

    def __call__(self, element: ElementDef) -> frozenset[str] | None:
        if element.options:
            return frozenset(option for option, _ in element.options)
        if self._choices is None or element.dictionary is None:
            return None
        if element.dictionary not in self._tables:
            self._tables[element.dictionary] = frozenset(self._choices(element.dictionary))
        return self._tables[element.dictionary]


def _clean(element: ElementDef, raw: Any, allowed: _Allowed, today: date) -> Any:
    kind = element.type
    if kind is ElementType.BOOL:
        return _clean_bool(raw)
    if kind in LIST_TYPES:
        items = _as_list(raw)
        if items is None:
            raise formvalues.Invalid(CHOOSE_OFFERED if kind is ElementType.MULTICHOICE else BAD_ATTACHMENT)
        if kind is ElementType.MULTICHOICE:
            return _clean_multichoice(element, items, allowed(element))
        return _clean_attachments(element, items)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if kind in (ElementType.TEXT, ElementType.TEXTAREA):
        return _clean_text(element, raw)
    if kind in NUMBER_TYPES:
        return _clean_number(element, raw)
    if kind is ElementType.CHOICE:
        value = _choice_text(raw)
        options = allowed(element)
        if options is not None and value not in options:
            raise formvalues.Invalid(CHOOSE_OFFERED)
        return value
    if kind is ElementType.DATE:
        return formvalues.clean_date(raw)
    if kind is ElementType.DATETIME:
        return formvalues.clean_datetime(raw)
    if kind is ElementType.PHONE:
        return formvalues.clean_phone(raw)
    if kind is ElementType.EMAIL:
        return formvalues.clean_email(raw)
    return formvalues.clean_id_number(raw, today)


def _as_list(raw: Any) -> list[Any] | None:
    if raw is None:
        return []
    if isinstance(raw, list | tuple):
        return list(raw)
    if isinstance(raw, str | int) and not isinstance(raw, bool):
        return [raw]
    return None


def _clean_text(element: ElementDef, raw: Any) -> str:
    if not isinstance(raw, str):
        raise formvalues.Invalid(ENTER_TEXT)
    multiline = element.type is ElementType.TEXTAREA
    text = raw.replace("\r\n", "\n").replace("\r", "\n").strip() if multiline else raw.strip()
    if (_CONTROL_MULTILINE if multiline else _CONTROL).search(text):
        raise formvalues.Invalid(NO_CONTROL)
    if element.min_length is not None and len(text) < element.min_length:
        raise formvalues.Invalid(MIN_CHARS, min=element.min_length)
    limit = element.max_length or LENGTH_CAPS[element.type]
    if len(text) > limit:
        raise formvalues.Invalid(MAX_CHARS, max=limit)
    if element.pattern and not _compiled(element.pattern).fullmatch(text):
        raise formvalues.Invalid(BAD_FORMAT)
    return text


def _parse_number(raw: Any) -> int | float:
    if isinstance(raw, bool):
        raise formvalues.Invalid(ENTER_NUMBER)
    if isinstance(raw, int):
        number: int | float = raw
    elif isinstance(raw, float | Decimal):
        number = float(raw)
    elif isinstance(raw, str):
        text = unicodedata.normalize("NFKC", raw[:100]).strip()
        if len(text) > 64 or not _NUMBER.fullmatch(text):
            raise formvalues.Invalid(ENTER_NUMBER)
        number = float(text) if any(c in text for c in ".eE") else int(text)
    else:
        raise formvalues.Invalid(ENTER_NUMBER)
    if isinstance(number, float):
        if not math.isfinite(number):
            raise formvalues.Invalid(ENTER_NUMBER)
        if number.is_integer() and abs(number) <= MAX_SAFE_INTEGER:
            number = int(number)
    if number > MAX_SAFE_INTEGER:
        raise formvalues.Invalid(AT_MOST, max=MAX_SAFE_INTEGER)
    if number < -MAX_SAFE_INTEGER:
        raise formvalues.Invalid(AT_LEAST, min=-MAX_SAFE_INTEGER)
    return number


def _clean_number(element: ElementDef, raw: Any) -> int | float:
    try:
        number = _parse_number(raw)
    except formvalues.Invalid as exc:
        if element.type is ElementType.INTEGER and exc.message == ENTER_NUMBER:
            raise formvalues.Invalid(ENTER_INTEGER) from None
        raise
    if element.type is ElementType.INTEGER and not isinstance(number, int):
        raise formvalues.Invalid(ENTER_INTEGER)
    if element.min_value is not None and number < element.min_value:
        raise formvalues.Invalid(AT_LEAST, min=element.min_value)
    if element.max_value is not None and number > element.max_value:
        raise formvalues.Invalid(AT_MOST, max=element.max_value)
    return number


def _clean_bool(raw: Any) -> bool:
    if raw is None or isinstance(raw, bool):
        return bool(raw)
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
    raise formvalues.Invalid(CHOOSE_YES_NO)


def _choice_text(raw: Any) -> str:
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str) or len(raw.strip()) > 100 or _CONTROL.search(raw.strip()):
        raise formvalues.Invalid(CHOOSE_OFFERED)
    return raw.strip()


def _clean_multichoice(element: ElementDef, items: list[Any], options: frozenset[str] | None) -> list[str]:
    chosen: list[str] = []
    for item in items:
        value = "" if item is None else _choice_text(item)
        if not value or value in chosen:
            continue
        if options is not None and value not in options:
            raise formvalues.Invalid(CHOOSE_OFFERED)
        chosen.append(value)
    if chosen and element.min_length is not None and len(chosen) < element.min_length:
        raise formvalues.Invalid(CHOOSE_AT_LEAST, min=element.min_length)
    limit = element.max_length or LENGTH_CAPS[ElementType.MULTICHOICE]
    if len(chosen) > limit:
        raise formvalues.Invalid(CHOOSE_AT_MOST, max=limit)
    return chosen


def _clean_attachments(element: ElementDef, items: list[Any]) -> list[int]:
    ids: list[int] = []
    if len(items) == 1 and isinstance(items[0], str):
        items = [part for part in re.split(r"[,\s]+", items[0]) if part]
    for item in items:
        if isinstance(item, str) and item.strip().isascii() and item.strip().isdigit() and len(item) < 20:
            item = int(item)
        if isinstance(item, bool) or not isinstance(item, int) or not 0 < item < 2**63:
            raise formvalues.Invalid(BAD_ATTACHMENT)
        if item not in ids:
            ids.append(item)
    if ids and element.min_length is not None and len(ids) < element.min_length:
        raise formvalues.Invalid(ATTACH_AT_LEAST, min=element.min_length)
    limit = element.max_length or LENGTH_CAPS[ElementType.ATTACHMENT]
    if len(ids) > limit:
        raise formvalues.Invalid(ATTACH_AT_MOST, max=limit)
    return ids
