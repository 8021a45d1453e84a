"""Node time limits in working time (WF-7): due and warning instants on the business calendar.

A limit is an ISO-8601 duration. Hours, minutes and seconds are working time; a day (`P2D`) is one
working day of the calendar's hours (the nominal length of a Monday), a week five working days.
Years and months are not meaningful for handling limits; they count as 12 months and 22 working
days respectively, so a stray value still gives a deterministic, generous deadline.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from kefu.core.errors import FieldError
from kefu.org.calendar import service as calendar

_DURATION = re.compile(
    r"^P(?!$)(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
DAYS_PER_WEEK = 5
DAYS_PER_MONTH = 22


def working_duration(session: Session, text: str, *, field: str = "limit") -> timedelta:
    """The working time an ISO-8601 duration stands for; FieldError naming `field` when malformed."""
    match = _DURATION.match((text or "").strip())
    if match is None:
        raise FieldError(field, "Use an ISO-8601 duration such as PT8H or P2D")
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    day = calendar.calendar_for(session).hours.daily_total(0) or timedelta(hours=8)
    days = parts["d"] + DAYS_PER_WEEK * parts["w"] + DAYS_PER_MONTH * (parts["mo"] + 12 * parts["y"])
    total = day * days + timedelta(hours=parts["h"], minutes=parts["mi"], seconds=parts["s"])
    if total <= timedelta(0):
        raise FieldError(field, "Use an ISO-8601 duration such as PT8H or P2D")
    return total


def due_and_warning(
    session: Session, *, start: datetime, limit: str | None, warn_at: float
) -> tuple[datetime | None, datetime | None]:
    """(due, warn) instants of a limit counted from `start`; (None, None) without a limit."""
    if not limit:
        return None, None
    duration = working_duration(session, limit)
    due = calendar.add_working_time(session, start, duration)
    fraction = min(max(warn_at, 0.0), 1.0)
    warn = calendar.add_working_time(session, start, duration * fraction) if fraction < 1.0 else None
    return due, warn


def shift(
    session: Session, value: datetime | None, *, paused_at: datetime, resumed_at: datetime
) -> datetime | None:
    """Where a deadline moves when the clock stopped from `paused_at` to `resumed_at`.

    The working time that was left at the pause is counted again from the resume; a deadline
    already past at the pause stays where it was.
    """
    if value is None or value <= paused_at:
        return value
    remaining = calendar.working_time_between(session, paused_at, value)
    return calendar.add_working_time(session, resumed_at, remaining)
