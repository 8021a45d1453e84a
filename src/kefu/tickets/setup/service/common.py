"""What every writer of the ticket configuration shares: the permission, field checks collected
across a whole form, optimistic locking, and the audit record."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from enum import Enum
from typing import Any, Final, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kefu.audit import service as audit
from kefu.core.errors import Conflict, FieldError, FieldErrors, NotFound, PermissionDenied
from kefu.core.i18n import lazy
from kefu.core.permissions import Actor
from kefu.org.config import dictionary_cache
from kefu.org.models import Department
from kefu.org.validation import ensure_unique, require_text
from kefu.tickets import permissions as _permissions  # noqa: F401 — registers tickets.config
from kefu.tickets.models import (
    BusinessCategory,
    FormTemplate,
    TicketType,
)

FUNCTION = "tickets.config"
EDIT = f"{FUNCTION}.edit"
URGENCY, CASE_NATURE = "urgency", "case_nature"
CODE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}")
PREFIX_RE = re.compile(r"[A-Z0-9]{1,6}")
NAME_MAX, SUBJECT_MAX, DESCRIPTION_MAX = 100, 200, 2000
SORT_MIN, SORT_MAX = -1_000_000, 1_000_000

CATEGORY_FIELDS = ("code", "name", "parent_id", "path", "description", "sort", "enabled")
FORM_FIELDS = (
    "code",
    "name",
    "category_id",
    "department_id",
    "effective_from",
    "effective_to",
    "status",
    "elements",
    "description",
)
TYPE_FIELDS = (
    "code",
    "name",
    "prefix",
    "category_id",
    "form_template_id",
    "flow_template_id",
    "limit",
    "default_department_id",
    "default_priority",
    "description",
    "sort",
    "enabled",
)
CASE_FIELDS = (
    "code",
    "name",
    "type_id",
    "category_id",
    "subject",
    "description",
    "priority",
    "nature",
    "fields",
    "sort",
    "enabled",
)

STALE = lazy("Someone else changed this record meanwhile; reload and try again")


class _Keep(Enum):
    KEEP = "keep"


KEEP: Final = _Keep.KEEP
"""An update argument left at KEEP leaves that field as it is (None is a value: "no category")."""

T = TypeVar("T")


# --- Shared checks -----------------------------------------------------------------------------------


class Problems:
    """Collects the problems of one save, so that a form shows every bad field at once."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def __call__(self, check: Callable[[], T]) -> T:
        try:
            return check()
        except FieldErrors as exc:
            self.errors.extend(exc.errors)
        except FieldError as exc:
            self.errors.append(exc)
        return None  # type: ignore[return-value]  # never used: raise_any() raises first

    def raise_any(self) -> None:
        if self.errors:
            raise FieldErrors(self.errors)


def require_edit(actor: Actor) -> None:
    if not actor.can(EDIT):
        raise PermissionDenied()


def changed_only(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not KEEP}


def check_version(obj: FormTemplate | TicketType, version: int | None) -> None:
    if version is not None and version != obj.lock_version:
        raise Conflict(STALE)


def flush_or_conflict(session: Session) -> None:
    """Flush; a row someone else saved meanwhile (lock_version moved) becomes a 409."""
    try:
        session.flush()
    except StaleDataError:
        raise Conflict(STALE) from None


def unique_code(session: Session, model: Any, value: Any, current: Any) -> str:
    code = require_text("code", value, max_len=40)
    if not CODE_RE.fullmatch(code):
        raise FieldError("code", "Use a letter first, then letters, digits, '_' or '-'")
    ensure_unique(session, model.code, code, "code", exclude_id=current.id if current is not None else None)
    return code


def optional_text(field: str, value: Any, max_len: int) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if len(text) > max_len:
        raise FieldError(field, "At most %(n)s characters", n=max_len)
    return text


def sort_value(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise FieldError("sort", "Enter a whole number") from None
    if not SORT_MIN <= number <= SORT_MAX:
        raise FieldError("sort", "Must be between %(lo)s and %(hi)s", lo=SORT_MIN, hi=SORT_MAX)
    return number


def existing_id(session: Session, model: Any, field: str, value: Any, message: str) -> int | None:
    """The id of an existing `model` row, or None for no value; FieldError when there is no such row."""
    if value in (None, ""):
        return None
    try:
        key = int(value)
    except (TypeError, ValueError):
        raise FieldError(field, message) from None
    if isinstance(value, bool) or not 0 < key < 2**31 or session.get(model, key) is None:
        raise FieldError(field, message)
    return key


def category_ref(session: Session, value: Any, *, field: str = "category_id") -> int | None:
    return existing_id(session, BusinessCategory, field, value, "No such business category")


def department_ref(session: Session, field: str, value: Any) -> int | None:
    return existing_id(session, Department, field, value, "No such department")


def dictionary_item(
    session: Session, field: str, dictionary: str, value: Any, *, required: bool
) -> str | None:
    """An enabled item code of `dictionary`, or None when empty and not required."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        if required:
            raise FieldError(field, "This field is required")
        return None
    if text not in item_codes(session, dictionary):
        raise FieldError(field, "Choose one of the offered values")
    return text


def item_codes(session: Session, dictionary: str) -> list[str]:
    try:
        return [item.code for item in dictionary_cache.items(session, dictionary)]
    except NotFound:
        return []


def flag(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise FieldError(field, "Enter true or false")
    return value


def optional_date(field: str, value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise FieldError(field, "Enter a date as YYYY-MM-DD") from None


def record_change(
    session: Session,
    actor: Actor,
    action: str,
    target: Any,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    summary: str = "",
) -> None:
    flush_or_conflict(session)
    audit.record(
        session,
        actor=actor,
        action=action,
        function=FUNCTION,
        target=target,
        before=before,
        after=after,
        summary=summary,
    )


def in_use(session: Session, column: Any, value: int) -> bool:
    return session.scalar(select(column.class_.id).where(column == value).limit(1)) is not None
