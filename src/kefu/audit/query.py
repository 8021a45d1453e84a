"""Reading the audit and error logs: filters, newest-first keyset pages, counts and chunked scans.

Times in filters are what people type — local dates or date-times in the deployment's time zone —
and become UTC bounds here. Pages are keyset pages by id (`before_id`), so the thousandth page costs
what the first does; a total is counted only when asked for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, func, or_, select
from sqlalchemy.orm import Session

from kefu.audit.models import AuditLog, ErrorLog
from kefu.audit.schemas import AuditLogQuery, ErrorLogQuery
from kefu.core import clock
from kefu.core.errors import FieldError
from kefu.org.models import User

BAD_TIME = "Enter a date as YYYY-MM-DD or a date and time as YYYY-MM-DD HH:MM"
_TIME_PART = re.compile(r"[T ](\d{1,2}):(\d{2})(:\d{2}(\.\d+)?)?")


def parse_local_time(value: str | None, *, field: str, end: bool = False) -> datetime | None:
    """A filter bound in UTC from a local date or date-time (an explicit offset is honoured).

    Start bounds are inclusive. End bounds are returned *exclusive* and cover what was named:
    a date covers the whole day, "HH:MM" the whole minute, "HH:MM:SS" the whole second.
    Raises FieldError(`field`) when the text is not a date.
    """
    text = (value or "").strip()
    if not text:
        return None
    try:
        if len(text) <= 10:
            day = date.fromisoformat(text)
            start = datetime.combine(day, time(), tzinfo=clock.local_tz())
            bound = start + timedelta(days=1) if end else start
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=clock.local_tz())
            step = timedelta(0)
            if end:
                match = _TIME_PART.search(text)
                has_seconds = bool(match and match.group(3))
                step = timedelta(seconds=1) if has_seconds else timedelta(minutes=1)
                if match and match.group(4):
                    step = timedelta(microseconds=1)
            bound = parsed + step
    except (ValueError, OverflowError):
        raise FieldError(field, BAD_TIME) from None
    if not 1900 <= bound.year <= 9998:
        raise FieldError(field, BAD_TIME)
    return bound.astimezone(clock.UTC)


def _contains(column: Any, text: str) -> ColumnElement[bool]:
    """Case-insensitive substring match; the user's % and _ are literal."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


@dataclass(frozen=True)
class AuditFilter:
    """What to look for in the audit log. Empty fields do not filter; `until` is exclusive (UTC)."""

    actor_id: int | None = None
    actor: str = ""  # substring of "Name (username)"
    action: str = ""
    function: str = ""
    target_type: str = ""
    target_id: str = ""
    client_ip: str = ""
    correlation_id: str = ""
    q: str = ""  # substring of summary or target label
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        c: list[ColumnElement[bool]] = []
        if self.actor_id is not None:
            c.append(AuditLog.actor_id == self.actor_id)
        if self.actor:
            c.append(_contains(AuditLog.actor_name, self.actor))
        for column, value in (
            (AuditLog.action, self.action),
            (AuditLog.function, self.function),
            (AuditLog.target_type, self.target_type),
            (AuditLog.target_id, self.target_id),
            (AuditLog.client_ip, self.client_ip),
            (AuditLog.correlation_id, self.correlation_id),
        ):
            if value:
                c.append(column == value)
        if self.q:
            c.append(or_(_contains(AuditLog.summary, self.q), _contains(AuditLog.target_label, self.q)))
        if self.since is not None:
            c.append(AuditLog.at >= self.since)
        if self.until is not None:
            c.append(AuditLog.at < self.until)
        return c

    def describe(self) -> dict[str, Any]:
        return describe(self)


@dataclass(frozen=True)
class ErrorFilter:
    """What to look for in the error log. `path` and `exc_type` match substrings; `until` is exclusive."""

    path: str = ""
    exc_type: str = ""
    correlation_id: str = ""
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        c: list[ColumnElement[bool]] = []
        if self.path:
            c.append(_contains(ErrorLog.path, self.path))
        if self.exc_type:
            c.append(_contains(ErrorLog.exc_type, self.exc_type))
        if self.correlation_id:
            c.append(ErrorLog.correlation_id == self.correlation_id)
        if self.since is not None:
            c.append(ErrorLog.at >= self.since)
        if self.until is not None:
            c.append(ErrorLog.at < self.until)
        return c

    def describe(self) -> dict[str, Any]:
        return describe(self)


def describe(filters: AuditFilter | ErrorFilter) -> dict[str, Any]:
    """The filters in use, times in local ISO form (for audit summaries and export read-mes)."""
    out: dict[str, Any] = {}
    for key, value in asdict(filters).items():
        if value is None or value == "":
            continue
        out[key] = clock.to_local(value).isoformat() if isinstance(value, datetime) else value
    return out


def _range(raw_since: str, raw_until: str) -> tuple[datetime | None, datetime | None]:
    since = parse_local_time(raw_since, field="since")
    until = parse_local_time(raw_until, field="until", end=True)
    if since is not None and until is not None and until <= since:
        raise FieldError("until", "The end must be after the start")
    return since, until


def audit_filter_from(q: AuditLogQuery) -> AuditFilter:
    """The filter that query parameters or a form describe; FieldError names a bad field."""
    since, until = _range(q.since, q.until)
    return AuditFilter(
        actor_id=q.actor_id,
        actor=q.actor.strip(),
        action=q.action.strip(),
        function=q.function.strip(),
        target_type=q.target_type.strip(),
        target_id=q.target_id.strip(),
        client_ip=q.client_ip.strip(),
        correlation_id=q.correlation_id.strip(),
        q=q.q.strip(),
        since=since,
        until=until,
    )


def error_filter_from(q: ErrorLogQuery) -> ErrorFilter:
    since, until = _range(q.since, q.until)
    return ErrorFilter(
        path=q.path.strip(),
        exc_type=q.exc_type.strip(),
        correlation_id=q.correlation_id.strip(),
        since=since,
        until=until,
    )


# --- audit log ----------------------------------------------------------------------------------


def search_audit(
    session: Session, *, filters: AuditFilter, before_id: int | None = None, limit: int = 50
) -> list[AuditLog]:
    """One page of audit rows, newest first; the next page is `before_id=<last id>`."""
    stmt = select(AuditLog).where(*filters.conditions())
    if before_id is not None:
        stmt = stmt.where(AuditLog.id < before_id)
    return list(session.scalars(stmt.order_by(AuditLog.id.desc()).limit(limit)))


def count_audit(session: Session, *, filters: AuditFilter) -> int:
    stmt = select(func.count()).select_from(AuditLog).where(*filters.conditions())
    return int(session.scalar(stmt) or 0)


def last_audit_id(session: Session) -> int:
    return int(session.scalar(select(func.max(AuditLog.id))) or 0)


def scan_audit(
    session: Session, *, filters: AuditFilter, max_id: int, chunk: int = 2000
) -> Iterator[list[Row[Any]]]:
    """Every matching row with id <= `max_id`, newest first, in chunks of plain rows (not ORM
    objects, so nothing piles up in the session's identity map)."""
    table = AuditLog.__table__
    yield from _scan(session, select(table).where(*filters.conditions()), table.c.id, max_id, chunk)


def _scan(
    session: Session, stmt: Select[Any], id_column: Any, max_id: int, chunk: int
) -> Iterator[list[Row[Any]]]:
    upper = max_id + 1
    while True:
        rows = list(session.execute(stmt.where(id_column < upper).order_by(id_column.desc()).limit(chunk)))
        if not rows:
            return
        yield rows
        if len(rows) < chunk:
            return
        upper = rows[-1].id


# --- error log ----------------------------------------------------------------------------------


def _error_select() -> Select[Any]:
    return select(ErrorLog, User.username).outerjoin(User, User.id == ErrorLog.user_id)


def search_errors(
    session: Session, *, filters: ErrorFilter, before_id: int | None = None, limit: int = 50
) -> list[tuple[ErrorLog, str | None]]:
    """One page of errors with the user's username, newest first."""
    stmt = _error_select().where(*filters.conditions())
    if before_id is not None:
        stmt = stmt.where(ErrorLog.id < before_id)
    rows = session.execute(stmt.order_by(ErrorLog.id.desc()).limit(limit))
    return [(row[0], row[1]) for row in rows]


def count_errors(session: Session, *, filters: ErrorFilter) -> int:
    stmt = select(func.count()).select_from(ErrorLog).where(*filters.conditions())
    return int(session.scalar(stmt) or 0)


def get_error(session: Session, error_id: int) -> tuple[ErrorLog, str | None] | None:
    row = session.execute(_error_select().where(ErrorLog.id == error_id)).first()
    return (row[0], row[1]) if row is not None else None


def last_error_id(session: Session) -> int:
    return int(session.scalar(select(func.max(ErrorLog.id))) or 0)


def scan_errors(
    session: Session, *, filters: ErrorFilter, max_id: int, chunk: int = 500
) -> Iterator[list[Row[Any]]]:
    """Every matching error with id <= `max_id` (plus `username`), newest first, in chunks."""
    table = ErrorLog.__table__
    stmt = (
        select(table, User.username)
        .select_from(table.outerjoin(User, User.id == table.c.user_id))
        .where(*filters.conditions())
    )
    yield from _scan(session, stmt, table.c.id, max_id, chunk)
