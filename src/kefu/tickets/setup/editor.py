"""The element editor of the form template page: stored elements as rows of inputs, and posted rows
(`elements-<n>-<key>`, in page order) back as element definitions for `formdef.check_definition`.

Options are edited one `value=label` a line; a multiple-choice default as comma-separated values.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import FormData

from kefu.core.i18n import lazy
from kefu.tickets import formdef

_T = formdef.ElementType
ELEMENT_TYPE_LABELS = {
    _T.TEXT: lazy("Text"),
    _T.TEXTAREA: lazy("Multi-line text"),
    _T.NUMBER: lazy("Number"),
    _T.INTEGER: lazy("Whole number"),
    _T.DATE: lazy("Date"),
    _T.DATETIME: lazy("Date and time"),
    _T.CHOICE: lazy("Single choice"),
    _T.MULTICHOICE: lazy("Multiple choice"),
    _T.PHONE: lazy("Phone number"),
    _T.EMAIL: lazy("Email"),
    _T.ID_NUMBER: lazy("Identity number"),
    _T.BOOL: lazy("Yes / no"),
    _T.ATTACHMENT: lazy("Attachment"),
}
ELEMENT_KEY = re.compile(r"elements-([A-Za-z0-9]+)-([a-z_]+)")
ELEMENT_TEXT_KEYS = (
    "code",
    "type",
    "label",
    "default",
    "dictionary",
    "min_length",
    "max_length",
    "min_value",
    "max_value",
    "pattern",
    "validation",
    "validation_message",
    "help_text",
)
INLINE_KEYS = frozenset({*ELEMENT_TEXT_KEYS, "options", "required"})  # shown beside their input


def element_row(element: dict[str, Any]) -> dict[str, Any]:
    """An element as the editor's inputs show it (options one `value=label` a line, lists joined)."""
    row = {key: "" if element.get(key) is None else element.get(key) for key in ELEMENT_TEXT_KEYS}
    default = element.get("default")
    if isinstance(default, list):
        row["default"] = ", ".join(str(item) for item in default)
    elif isinstance(default, bool):
        row["default"] = "true" if default else ""
    options = element.get("options") or []
    if isinstance(options, str):
        row["options"] = options
    else:
        row["options"] = "\n".join(
            f"{pair[0]}={pair[1]}" for pair in options if isinstance(pair, list | tuple) and len(pair) == 2
        )
    row["required"] = element.get("required") is True or element.get("required") == "on"
    return row


def posted_elements(form: FormData) -> list[dict[str, Any]]:
    """The editor's rows (`elements-<n>-<key>`) in page order, as element definitions to check."""
    rows: dict[str, dict[str, Any]] = {}  # in the order the rows stand on the page (moved rows keep their n)
    for key, value in form.multi_items():
        match = ELEMENT_KEY.fullmatch(key)
        if match and isinstance(value, str):
            rows.setdefault(match[1], {})[match[2]] = value
    elements = []
    for row in rows.values():
        element: dict[str, Any] = {}
        for key in ELEMENT_TEXT_KEYS:
            value = row.get(key, "").strip()
            if value:
                element[key] = value
        element["required"] = row.get("required") == "on"
        options = [line.strip() for line in row.get("options", "").splitlines() if line.strip()]
        if options:
            element["options"] = [
                [part.strip() for part in line.split("=", 1)] if "=" in line else [line, line]
                for line in options
            ]
        if element.get("type") == formdef.ElementType.MULTICHOICE and "default" in element:
            element["default"] = [part.strip() for part in element["default"].split(",") if part.strip()]
        elements.append(element)
    return elements
