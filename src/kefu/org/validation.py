"""Input checks shared by the organisation's services: required text, codes, uniqueness."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.core.errors import FieldError, NotFound

CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,59}$")


def require_text(field: str, value: str | None, *, max_len: int) -> str:
    """The stripped text, or a FieldError when it is empty or too long."""
    text = (value or "").strip()
    if not text:
        raise FieldError(field, "This field is required")
    if len(text) > max_len:
        raise FieldError(field, "At most %(n)s characters", n=max_len)
    return text


def code_field(field: str, value: str | None) -> str:
    """A short code of letters, digits and `_ - .`."""
    text = require_text(field, value, max_len=40)
    if not CODE_RE.match(text):
        raise FieldError(field, "Use letters, digits, '_', '-' or '.'")
    return text


def ensure_unique(
    session: Session,
    column: Any,
    value: Any,
    field: str,
    *,
    exclude_id: int | None = None,
    extra: Any = None,
    model: Any = None,
) -> None:
    """FieldError("Already in use") when another row has `value` in `column`."""
    model = model or column.class_
    stmt = select(func.count()).select_from(model).where(column == value)
    if extra is not None:
        stmt = stmt.where(extra)
    if exclude_id is not None:
        stmt = stmt.where(model.id != exclude_id)
    if session.scalar(stmt):
        raise FieldError(field, "Already in use")


def get_or_404(session: Session, model: type[Any], object_id: int) -> Any:
    obj = session.get(model, object_id)
    if obj is None:
        raise NotFound()
    return obj
