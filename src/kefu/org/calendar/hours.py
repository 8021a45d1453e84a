"""Weekly working hours (工作时间): the worked wall-clock spans of each weekday."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time
from itertools import pairwise
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core.errors import FieldError
from kefu.org.calendar.arith import Span, WorkingHours
from kefu.org.calendar.common import FUNCTION, format_wall_time, mark_changed, need_edit, parse_wall_time
from kefu.org.calendar.models import WorkingHoursSpan

if TYPE_CHECKING:
    from kefu.core.permissions import Actor

MAX_SPANS_PER_DAY = 8


def working_hours(session: Session) -> tuple[WorkingHours, bool]:
    """The weekly working hours, and whether they are configured (else the standard hours apply)."""
    rows = list(
        session.scalars(select(WorkingHoursSpan).order_by(WorkingHoursSpan.weekday, WorkingHoursSpan.sort))
    )
    if not rows:
        return WorkingHours.standard(), False
    by_weekday: dict[int, list[Span]] = {}
    for row in rows:
        span = Span(parse_wall_time(row.start, "start"), parse_wall_time(row.end, "end", end_of_day=True))
        by_weekday.setdefault(row.weekday, []).append(span)
    return WorkingHours({day: tuple(spans) for day, spans in by_weekday.items()}), True


def replace_weekday_hours(
    session: Session, *, actor: Actor, weekday: int, spans: Sequence[tuple[str, str]]
) -> WorkingHours:
    """Replace the worked spans of `weekday` (0 = Monday); an empty list means no hours that weekday.

    The first change copies the standard hours to the other weekdays, so they keep what they had.
    Raises FieldError on ``spans.N.start``/``spans.N.end`` for a bad time and on ``spans`` for overlaps.
    """
    need_edit(actor)
    if not 0 <= weekday <= 6:
        raise FieldError("weekday", "Choose a weekday from 0 (Monday) to 6 (Sunday)")
    if len(spans) > MAX_SPANS_PER_DAY:
        raise FieldError("spans", "At most %(n)s spans a day", n=MAX_SPANS_PER_DAY)
    parsed = []
    for i, (start_text, end_text) in enumerate(spans):
        start = parse_wall_time(start_text, f"spans.{i}.start")
        end = parse_wall_time(end_text, f"spans.{i}.end", end_of_day=True)
        if end != time(0) and end <= start:
            raise FieldError(f"spans.{i}.end", "The end must be after the start")
        parsed.append(Span(start, end))
    ordered = sorted(parsed, key=lambda span: span.start_offset)
    for a, b in pairwise(ordered):
        if b.start_offset < a.end_offset:
            raise FieldError("spans", "Spans %(a)s and %(b)s overlap", a=str(a), b=str(b))
    current, configured = working_hours(session)
    before = [str(s) for s in current.spans(weekday)]
    if not parsed and all(not current.spans(d) for d in range(7) if d != weekday):
        raise FieldError("spans", "At least one weekday must have working hours")
    if not configured:
        for day in range(7):
            if day != weekday:
                _store_spans(session, day, current.spans(day))
    session.execute(delete(WorkingHoursSpan).where(WorkingHoursSpan.weekday == weekday))
    _store_spans(session, weekday, ordered)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="calendar.hours.replace",
        function=FUNCTION,
        target_type="calendar_weekday",
        target_id=weekday,
        target_label=str(weekday),
        before={"spans": before},
        after={"spans": [str(s) for s in ordered]},
    )
    mark_changed(session)
    hours, _configured = working_hours(session)
    return hours


def _store_spans(session: Session, weekday: int, spans: Sequence[Span]) -> None:
    for sort, span in enumerate(spans):
        session.add(
            WorkingHoursSpan(
                weekday=weekday,
                start=format_wall_time(span.start),
                end=format_wall_time(span.end, end_of_day=True),
                sort=sort,
            )
        )
