"""Templates of messages: `{{ customer.name }}` placeholders in Jinja syntax, rendered in a sandbox.

A template may only use the variables of its kind (checked when it is saved, so a typo is a form
error, not a batch of broken messages); rendering with a value missing is an error naming it. SMS
length is counted the way Chinese gateways bill it: 70 characters in one message, 67 per part once
a text is split (160 / 153 when every character is plain GSM).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from kefu.core.errors import FieldError
from kefu.core.i18n import lazy
from kefu.messaging.models import TemplateKind

BODY_MAX = 2000  # SMS
EMAIL_BODY_MAX = 50_000

COMMON = ("customer", "recipient", "today", "agent")
# Values of notices, reminders and campaigns: filled from the batch, an uploaded list row or the form.
NOTICE_FIELDS = (
    "amount",
    "due_date",
    "period",
    "account_no",
    "service_number",
    "area",
    "start_time",
    "end_time",
    "content",
    "link",
)
BY_KIND: dict[TemplateKind, tuple[str, ...]] = {
    TemplateKind.KNOWLEDGE: ("article",),
    TemplateKind.TICKET: ("ticket",),
}

# Shown in a preview and the variable picker.
SAMPLE: dict[str, Any] = {
    "customer": {"name": "张三", "code": "KH000123", "tier": "VIP"},
    "recipient": "13800138000",
    "today": "2026-11-22",
    "agent": {"name": "李丽", "number": "8001"},
    "article": {
        "number": "KB-000123",
        "title": "机顶盒无信号怎么办",
        "summary": "检查信号线与智能卡，重启机顶盒。",
        "text": "1. 检查信号线是否松动；2. 重新插拔智能卡；3. 断电重启机顶盒。",
    },
    "ticket": {"serial": "TS-20261122-000123", "subject": "宽带无法上网", "status": "处理中"},
    "amount": "128.50",
    "due_date": "2026-11-30",
    "period": "2026年11月",
    "account_no": "ZH20261122001",
    "service_number": "13800138000",
    "area": "朝阳区",
    "start_time": "2026-11-25 00:00",
    "end_time": "2026-11-25 06:00",
    "content": "系统升级维护",
    "link": "https://example.com/pay",
}

BAD_SYNTAX = lazy("The template has an error: %(error)s")
UNKNOWN_VARIABLE = lazy("Unknown variable in the template: %(names)s")
MISSING_VALUE = lazy("A value is missing for %(name)s")
NOT_ALLOWED = lazy("The template uses something that is not allowed")

_env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


def allowed(kind: TemplateKind) -> tuple[str, ...]:
    return COMMON + BY_KIND.get(kind, NOTICE_FIELDS)


def variables(source: str) -> set[str]:
    """The top-level variables `source` uses (raises TemplateSyntaxError)."""
    return set(meta.find_undeclared_variables(_env.parse(source)))


def check(kind: TemplateKind, field: str, source: str) -> None:
    """A FieldError on `field` when `source` does not parse or uses a variable its kind lacks."""
    try:
        used = variables(source)
    except TemplateSyntaxError as exc:
        raise FieldError(field, BAD_SYNTAX, error=exc.message or "") from None
    unknown = sorted(used - set(allowed(kind)))
    if unknown:
        raise FieldError(field, UNKNOWN_VARIABLE, names=", ".join(unknown))


def render(source: str, values: Mapping[str, Any], *, field: str = "body") -> str:
    """`source` with `values`; a FieldError naming the first missing value."""
    try:
        return _env.from_string(source).render(dict(values)).strip()
    except UndefinedError as exc:
        text = str(exc.message or "")
        found = re.search(r"attribute '([^']+)'", text) or re.match(r"'([^']+)' is undefined", text)
        name = found.group(1) if found else field
        raise FieldError(f"variables.{name}", MISSING_VALUE, name=name) from None
    except SecurityError:
        raise FieldError(field, NOT_ALLOWED) from None
    except TemplateSyntaxError as exc:
        raise FieldError(field, BAD_SYNTAX, error=exc.message or "") from None


_GSM = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


@dataclass(frozen=True)
class SmsLength:
    characters: int
    parts: int
    per_part: int


def sms_length(text: str) -> SmsLength:
    """How many characters and billed parts an SMS of `text` takes (the signature included)."""
    n = len(text)
    if all(ch in _GSM for ch in text):
        single, multi = 160, 153
    else:
        single, multi = 70, 67
    if n <= single:
        return SmsLength(n, 1 if n else 0, single)
    return SmsLength(n, math.ceil(n / multi), multi)
