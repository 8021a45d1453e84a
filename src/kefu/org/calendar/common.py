"""Pieces shared by the calendar's services: the change marker, the edit gate, wall-clock times, text."""

from __future__ import annotations

from datetime import time
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from kefu.core import events
from kefu.core.errors import FieldError, PermissionDenied

if TYPE_CHECKING:
    from kefu.core.permissions import Actor

CALENDAR_CHANGED = "calendar.changed"
EDIT = "admin.calendar.edit"
FUNCTION = "admin.calendar"
# Set on a session that changed the calendar; `service` drops the process cache when it commits.
DIRTY = "kefu_calendar_dirty"


def mark_changed(session: Session) -> None:
    """Note that `session` changed the calendar: the cache is dropped and others told when it commits."""
    session.info[DIRTY] = True
    events.on_commit(session, events.Event(type=CALENDAR_CHANGED))


def need_edit(actor: Actor) -> None:
    if not actor.can(EDIT):
        raise PermissionDenied()


def clean_text(value: str, field: str, limit: int) -> str:
    """`value` stripped; FieldError when it is longer than `limit`."""
    text = (value or "").strip()
    if len(text) > limit:
        raise FieldError(field, "At most %(n)s characters", n=limit)
    return text


def parse_wall_time(text: str, field: str, *, end_of_day: bool = False) -> time:
    """Parse "HH:MM" into a time; with `end_of_day`, "24:00" is accepted and returned as time(0)."""
    raw = (text or "").strip()
    hh, sep, mm = raw.partition(":")
    if not (sep and hh.isdigit() and mm.isdigit() and len(mm) == 2 and 1 <= len(hh) <= 2):
        raise FieldError(field, "Enter a time as HH:MM")
    hour, minute = int(hh), int(mm)
    if end_of_day and hour == 24 and minute == 0:
        return time(0)
    if hour > 23 or minute > 59:
        raise FieldError(
            field, "Enter a time between 00:00 and %(max)s", max="24:00" if end_of_day else "23:59"
        )
    return time(hour, minute)


def format_wall_time(value: time, *, end_of_day: bool = False) -> str:
    return "24:00" if end_of_day and value == time(0) else value.strftime("%H:%M")
