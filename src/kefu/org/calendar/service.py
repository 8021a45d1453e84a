"""The business calendar from the database (ORG-9): overrides, weekly working hours, the cached
`BusinessCalendar`, and the warning that next year's holidays are missing.

The calendar is built once per process and cached; every change marks the session, and the cache is
dropped when that session commits (and a `calendar.changed` event is published for other processes:
call `on_event` with it there, or `invalidate()` directly). A session with uncommitted calendar changes
gets a private calendar built from what it sees, so a request reads its own writes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import delete, select
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from kefu.audit import service as audit
from kefu.core import clock, events, i18n
from kefu.core.errors import FieldError, NotFound
from kefu.org.calendar.arith import (
    BusinessCalendar,
    DayOverride,
    DayResolver,
    DaySource,
    NoWorkingTimeError,
)
from kefu.org.calendar.common import (
    CALENDAR_CHANGED,
    DIRTY,
    EDIT,
    FUNCTION,
    clean_text,
    mark_changed,
    need_edit,
)
from kefu.org.calendar.hours import replace_weekday_hours, working_hours
from kefu.org.calendar.models import HolidayOverride

if TYPE_CHECKING:
    from kefu.core.permissions import Actor

MAX_HOLIDAY_DAYS = 31  # the longest statutory holiday is 9 days; longer is a typo
MAX_MAKEUP_DISTANCE = 31  # make-up workdays lie at most 11 days from their holiday in 2004–2026
MAX_RANGE_DAYS = 400

DayKind = Literal["workday", "rest", "holiday", "makeup"]

# A process that misses a `calendar.changed` event (a worker without the hub, a dropped Redis message)
# still picks up the change after this long.
CACHE_SECONDS = 300.0

_lock = threading.Lock()
_cached: BusinessCalendar | None = None
_cached_at = 0.0
_generation = 0


# --- The cached calendar ------------------------------------------------------------------------------


def invalidate() -> None:
    """Forget this process's cached calendar; the next `calendar_for` rebuilds it from the database."""
    global _cached, _generation
    with _lock:
        _generation += 1
        _cached = None


def on_event(event: events.Event) -> None:
    """Feed every event heard from the hub here: a `calendar.changed` from any process drops the cache."""
    if event.type == CALENDAR_CHANGED:
        invalidate()


def calendar_for(session: Session) -> BusinessCalendar:
    """The business calendar: overrides and working hours from the database, in the local zone.

    Cached per process until a change commits (or CACHE_SECONDS pass); a session holding uncommitted
    calendar changes gets its own fresh copy instead.
    """
    global _cached, _cached_at
    if session.info.get(DIRTY):
        return _build(session)
    with _lock:
        cached, generation = _cached, _generation
        if cached is not None and time.monotonic() - _cached_at < CACHE_SECONDS:
            return cached
    started = time.monotonic()
    built = _build(session)
    with _lock:
        # A change committed while we were reading bumps the generation: then the result may be stale.
        if _generation == generation:
            _cached, _cached_at = built, started
    return built


def _build(session: Session) -> BusinessCalendar:
    overrides = {
        row.day: DayOverride(workday=row.workday, name=row.name)
        for row in session.scalars(select(HolidayOverride))
    }
    hours, _configured = working_hours(session)
    return BusinessCalendar(DayResolver(overrides), hours, clock.local_tz())


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(DIRTY, False):
        invalidate()


@sa_event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        session.info.pop(DIRTY, None)


def add_working_time(session: Session, start: datetime, duration: timedelta) -> datetime:
    """The instant `duration` of working time after `start` (see `BusinessCalendar.add_working_time`)."""
    return calendar_for(session).add_working_time(start, duration)


def working_time_between(session: Session, a: datetime, b: datetime) -> timedelta:
    """Working time inside [a, b), negative when b is before a."""
    return calendar_for(session).working_time_between(a, b)


# --- Days ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayInfo:
    """How the calendar sees one date, for pages and the API."""

    day: date
    workday: bool
    source: DaySource
    name: str | None
    kind: DayKind
    working_minutes: int
    note: str = ""


def days(session: Session, start: date, end: date) -> list[DayInfo]:
    """Each date of [start, end] with its decision; at most MAX_RANGE_DAYS days."""
    if end < start:
        raise FieldError("end", "The end is before the start")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise FieldError("end", "Ask for at most %(n)s days at a time", n=MAX_RANGE_DAYS)
    cal = calendar_for(session)
    notes = dict(
        session.execute(
            select(HolidayOverride.day, HolidayOverride.note).where(
                HolidayOverride.day >= start, HolidayOverride.day <= end, HolidayOverride.note != ""
            )
        ).all()
    )
    result = []
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        result.append(_day_info(cal, day, notes.get(day, "")))
    return result


def _day_info(cal: BusinessCalendar, day: date, note: str) -> DayInfo:
    resolver = cal.resolver
    workday = resolver.is_workday(day)
    name = resolver.holiday_name(day)
    weekend = day.weekday() >= 5
    kind: DayKind = (
        ("makeup" if weekend else "workday") if workday else ("holiday" if name or not weekend else "rest")
    )
    minutes = int(cal.hours.daily_total(day.weekday()).total_seconds() // 60) if workday else 0
    return DayInfo(day, workday, resolver.source(day), name, kind, minutes, note)


# --- Overrides ----------------------------------------------------------------------------------------


_OVERRIDE_FIELDS = ("day", "workday", "name", "note")


def list_overrides(session: Session, *, year: int | None = None) -> list[HolidayOverride]:
    stmt = select(HolidayOverride).order_by(HolidayOverride.day)
    if year is not None:
        stmt = stmt.where(HolidayOverride.day >= date(year, 1, 1), HolidayOverride.day <= date(year, 12, 31))
    return list(session.scalars(stmt))


def get_override(session: Session, day: date) -> HolidayOverride | None:
    return session.scalars(select(HolidayOverride).where(HolidayOverride.day == day)).first()


def set_override(
    session: Session, *, actor: Actor, day: date, workday: bool, name: str = "", note: str = ""
) -> HolidayOverride:
    """Make `day` a workday or a day off whatever the statutory table says (creates or replaces)."""
    need_edit(actor)
    name, note = clean_text(name, "name", 60), clean_text(note, "note", 200)
    row = get_override(session, day)
    before = audit.snapshot(row, _OVERRIDE_FIELDS) if row is not None else None
    if row is None:
        row = HolidayOverride(day=day, workday=workday)
        session.add(row)
    row.workday, row.name, row.note, row.updated_by_id = workday, name, note, actor.user.id
    row.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="calendar.override.set",
        function=FUNCTION,
        target=row,
        target_label=day.isoformat(),
        before=before,
        after=audit.snapshot(row, _OVERRIDE_FIELDS),
    )
    mark_changed(session)
    return row


def remove_override(session: Session, *, actor: Actor, day: date) -> None:
    """Return `day` to the statutory table or the weekday rule; NotFound when it has no override."""
    need_edit(actor)
    row = get_override(session, day)
    if row is None:
        raise NotFound()
    audit.record(
        session,
        actor=actor,
        action="calendar.override.remove",
        function=FUNCTION,
        target=row,
        target_label=day.isoformat(),
        before=audit.snapshot(row, _OVERRIDE_FIELDS),
    )
    session.delete(row)
    session.flush()
    mark_changed(session)


@dataclass(frozen=True)
class HolidayRange:
    """One holiday of an announcement: days off from `start` to `end` and its make-up workdays (调休)."""

    name: str
    start: date
    end: date
    makeup_workdays: tuple[date, ...] = ()


def enter_holidays(
    session: Session, *, actor: Actor, year: int, holidays: Sequence[HolidayRange], replace_year: bool = False
) -> list[HolidayOverride]:
    """Enter a year's announced holidays in one go (all or nothing).

    Every date of each range becomes a named day off and each make-up date a named workday; existing
    overrides on those dates are replaced. With `replace_year`, the year's other overrides are removed
    first. Raises FieldError naming the offending entry, e.g. ``holidays.2.end``.
    """
    need_edit(actor)
    if not 2000 <= year <= 2100:
        raise FieldError("year", "Enter a year between %(min)s and %(max)s", min=2000, max=2100)
    if not holidays:
        raise FieldError("holidays", "Enter at least one holiday")
    plan = _plan_holidays(year, holidays)
    removed = (
        [audit.snapshot(r, _OVERRIDE_FIELDS) for r in list_overrides(session, year=year)]
        if replace_year
        else []
    )
    if replace_year:
        session.execute(
            delete(HolidayOverride).where(
                HolidayOverride.day >= date(year, 1, 1), HolidayOverride.day <= date(year, 12, 31)
            )
        )
    existing = {
        r.day: r for r in session.scalars(select(HolidayOverride).where(HolidayOverride.day.in_(plan)))
    }
    rows = []
    for day, (workday, name) in sorted(plan.items()):
        row = existing.get(day)
        if row is None:
            row = HolidayOverride(day=day, workday=workday, note="")
            session.add(row)
        row.workday, row.name, row.updated_by_id, row.updated_at = workday, name, actor.user.id, clock.now()
        rows.append(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="calendar.holidays.enter",
        function=FUNCTION,
        target_type="calendar_year",
        target_id=year,
        target_label=str(year),
        summary=f"{len(holidays)} holiday(s), {len(rows)} date(s)"
        + (", year replaced" if replace_year else ""),
        before={"overrides": removed} if removed else None,
        after={
            "year": year,
            "replace_year": replace_year,
            "holidays": [
                {
                    "name": h.name.strip(),
                    "start": h.start,
                    "end": h.end,
                    "makeup_workdays": list(h.makeup_workdays),
                }
                for h in holidays
            ],
        },
    )
    mark_changed(session)
    return rows


def _plan_holidays(year: int, holidays: Sequence[HolidayRange]) -> dict[date, tuple[bool, str]]:
    plan: dict[date, tuple[bool, str]] = {}
    for i, holiday in enumerate(holidays):
        field = f"holidays.{i}"
        name = clean_text(holiday.name, f"{field}.name", 60)
        if not name:
            raise FieldError(f"{field}.name", "Enter a name")
        if holiday.end < holiday.start:
            raise FieldError(f"{field}.end", "The end is before the start")
        length = (holiday.end - holiday.start).days + 1
        if length > MAX_HOLIDAY_DAYS:
            raise FieldError(f"{field}.end", "A holiday lasts at most %(n)s days", n=MAX_HOLIDAY_DAYS)
        if holiday.end.year < year or holiday.start.year > year:
            raise FieldError(f"{field}.start", "The holiday must fall in %(year)s", year=year)
        for offset in range(length):
            _plan_day(plan, holiday.start + timedelta(days=offset), (False, name), f"{field}.start")
        for makeup in holiday.makeup_workdays:
            distance = max((holiday.start - makeup).days, (makeup - holiday.end).days)
            if distance > MAX_MAKEUP_DISTANCE:
                raise FieldError(
                    f"{field}.makeup_workdays",
                    "Make-up workday %(date)s is more than %(n)s days away from its holiday",
                    date=makeup.isoformat(),
                    n=MAX_MAKEUP_DISTANCE,
                )
            _plan_day(plan, makeup, (True, name), f"{field}.makeup_workdays")
    return plan


def _plan_day(plan: dict[date, tuple[bool, str]], day: date, value: tuple[bool, str], field: str) -> None:
    if day in plan:
        raise FieldError(field, "%(date)s is entered twice", date=day.isoformat())
    plan[day] = value


# --- The uncovered-year warning -----------------------------------------------------------------------


def uncovered_year_warning(session: Session, today: date | None = None) -> str | None:
    """A message for admins when this year — or, from October on, next year — has no holidays yet.

    A year counts as covered when the statutory table knows it or an override falls in it.
    """
    today = today or clock.to_local(clock.now()).date()
    resolver = calendar_for(session).resolver
    if not resolver.is_year_covered(today.year):
        return i18n.gettext(
            "The holidays of %(year)s have not been entered: working time is counted on Monday to Friday "
            "only. Enter this year's holidays on the business calendar page."
        ) % {"year": today.year}
    if today.month >= 10 and not resolver.is_year_covered(today.year + 1):
        return i18n.gettext(
            "The holidays of %(year)s have not been entered yet. Enter next year's holidays, as announced "
            "by the State Council, on the business calendar page."
        ) % {"year": today.year + 1}
    return None


def calendar_warning_for(session: Session, actor: Actor | None) -> str | None:
    """The uncovered-year warning for the layout banner: only for actors who can edit the calendar."""
    if actor is None or not actor.can(EDIT):
        return None
    return uncovered_year_warning(session)


__all__ = [
    "CALENDAR_CHANGED",
    "DayInfo",
    "HolidayRange",
    "NoWorkingTimeError",
    "add_working_time",
    "calendar_for",
    "calendar_warning_for",
    "days",
    "enter_holidays",
    "invalidate",
    "on_event",
    "remove_override",
    "replace_weekday_hours",
    "set_override",
    "uncovered_year_warning",
    "working_hours",
    "working_time_between",
]
