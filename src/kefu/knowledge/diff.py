"""What changed between two versions: the fields side by side and the text line by line, with the
inserted and deleted characters marked inside changed lines (Chinese has no spaces, so words would
not help)."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup, escape

from kefu.knowledge.models import ArticleVersion

# Fields compared besides the text, in display order.
FIELDS = (
    "title",
    "summary",
    "keywords",
    "business_category_id",
    "business_attrs",
    "audience",
    "publish_at",
    "expires_at",
    "change_note",
    "attachments",
)


@dataclass
class FieldChange:
    field: str
    old: str
    new: str


@dataclass
class Line:
    kind: str  # "same", "insert", "delete", "change"
    old_html: Markup
    new_html: Markup


@dataclass
class VersionDiff:
    old_number: int
    new_number: int
    fields: list[FieldChange] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)

    @property
    def text_changed(self) -> bool:
        return any(line.kind != "same" for line in self.lines)


def _inline(old: str, new: str) -> tuple[Markup, Markup]:
    """Both lines with their differing characters wrapped in <del> / <ins>."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    a: list[str] = []
    b: list[str] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            a.append(str(escape(old[i1:i2])))
            b.append(str(escape(new[j1:j2])))
            continue
        if i2 > i1:
            a.append(f"<del>{escape(old[i1:i2])}</del>")
        if j2 > j1:
            b.append(f"<ins>{escape(new[j1:j2])}</ins>")
    return Markup("".join(a)), Markup("".join(b))


def text_lines(old: str, new: str) -> list[Line]:
    left, right = old.splitlines(), new.splitlines()
    out: list[Line] = []
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.extend(Line("same", escape(line), escape(line)) for line in left[i1:i2])
        elif op == "delete":
            out.extend(
                Line("delete", Markup(f"<del>{escape(line)}</del>"), Markup("")) for line in left[i1:i2]
            )
        elif op == "insert":
            out.extend(
                Line("insert", Markup(""), Markup(f"<ins>{escape(line)}</ins>")) for line in right[j1:j2]
            )
        else:
            pairs = max(i2 - i1, j2 - j1)
            for k in range(pairs):
                a = left[i1 + k] if i1 + k < i2 else None
                b = right[j1 + k] if j1 + k < j2 else None
                if a is not None and b is not None:
                    out.append(Line("change", *_inline(a, b)))
                elif a is not None:
                    out.append(Line("delete", Markup(f"<del>{escape(a)}</del>"), Markup("")))
                elif b is not None:
                    out.append(Line("insert", Markup(""), Markup(f"<ins>{escape(b)}</ins>")))
    return out


def _value(version: ArticleVersion, name: str, show: Callable[[str, Any], str]) -> str:
    if name == "attachments":
        return ", ".join(a.filename for a in version.attachments)
    return show(name, getattr(version, name))


def compare(
    old: ArticleVersion, new: ArticleVersion, *, show: Callable[[str, Any], str] = lambda _n, v: str(v or "")
) -> VersionDiff:
    """The differences from `old` to `new`; `show(field, value)` renders a field's value for people."""
    result = VersionDiff(old_number=old.number, new_number=new.number)
    for name in FIELDS:
        a, b = _value(old, name, show), _value(new, name, show)
        if a != b:
            result.fields.append(FieldChange(name, a, b))
    result.lines = text_lines(old.body_text or "", new.body_text or "")
    return result
