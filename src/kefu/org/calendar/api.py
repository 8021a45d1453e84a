"""The business calendar over HTTP: days, overrides, holidays, working hours and working-time sums.

Shifts and the roster have their own router in `roster_api`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from fastapi import APIRouter, Response

from kefu.core.errors import FieldError
from kefu.org.calendar import service
from kefu.org.calendar.arith import NoWorkingTimeError, WorkingHours
from kefu.org.calendar.common import format_wall_time
from kefu.org.calendar.models import HolidayOverride
from kefu.org.calendar.schemas import (
    AddWorkingTime,
    AddWorkingTimeResult,
    CalendarWarning,
    DayRead,
    HolidaysEnter,
    OverrideRead,
    OverrideWrite,
    SpanIn,
    WeekdayHoursRead,
    WeekdayHoursWrite,
    WorkingHoursRead,
    WorkingTimeBetween,
    WorkingTimeBetweenResult,
)
from kefu.web.deps import Requires, SessionDep

router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"])
Viewer = Requires("admin.calendar.view", "admin.calendar.edit")
Editor = Requires("admin.calendar.edit")
MIN_YEAR, MAX_YEAR = 2000, 2100


@router.get("/days", response_model=list[DayRead])
def list_days(session: SessionDep, actor: Viewer, start: date, end: date) -> list[service.DayInfo]:
    """Each date of [start, end] (at most 400 days): workday or not, which rule decided, the holiday name."""
    return service.days(session, start, end)


@router.get("/warning", response_model=CalendarWarning)
def warning(session: SessionDep, actor: Viewer) -> CalendarWarning:
    """The message shown to admins while this year's or next year's holidays are not entered."""
    return CalendarWarning(warning=service.uncovered_year_warning(session))


@router.get("/overrides", response_model=list[OverrideRead])
def list_overrides(session: SessionDep, actor: Viewer, year: int | None = None) -> list[HolidayOverride]:
    """The deployment's overrides (of one year when given), by date."""
    return service.list_overrides(session, year=year)


@router.put("/overrides/{day}", response_model=OverrideRead)
def set_override(session: SessionDep, actor: Editor, day: date, body: OverrideWrite) -> HolidayOverride:
    """Make a date a workday or a day off, whatever the statutory table says."""
    return service.set_override(
        session, actor=actor, day=day, workday=body.workday, name=body.name, note=body.note
    )


@router.delete("/overrides/{day}", status_code=204)
def remove_override(session: SessionDep, actor: Editor, day: date) -> Response:
    """Return a date to the statutory table (or Monday–Friday for years it does not cover)."""
    service.remove_override(session, actor=actor, day=day)
    return Response(status_code=204)


@router.post("/holidays", response_model=list[OverrideRead], status_code=201)
def enter_holidays(session: SessionDep, actor: Editor, body: HolidaysEnter) -> list[HolidayOverride]:
    """Enter a year's announced holidays and make-up workdays at once (all or nothing)."""
    ranges = [service.HolidayRange(h.name, h.start, h.end, tuple(h.makeup_workdays)) for h in body.holidays]
    return service.enter_holidays(
        session, actor=actor, year=body.year, holidays=ranges, replace_year=body.replace_year
    )


def hours_read(hours: WorkingHours, configured: bool) -> WorkingHoursRead:
    weekdays = []
    for weekday in range(7):
        spans = [
            SpanIn(start=format_wall_time(s.start), end=format_wall_time(s.end, end_of_day=True))
            for s in hours.spans(weekday)
        ]
        minutes = int(hours.daily_total(weekday).total_seconds() // 60)
        weekdays.append(WeekdayHoursRead(weekday=weekday, spans=spans, minutes=minutes))
    return WorkingHoursRead(configured=configured, weekdays=weekdays)


@router.get("/hours", response_model=WorkingHoursRead)
def get_hours(session: SessionDep, actor: Viewer) -> WorkingHoursRead:
    """The worked spans of each weekday (they apply on the dates that are workdays)."""
    return hours_read(*service.working_hours(session))


@router.put("/hours/{weekday}", response_model=WorkingHoursRead)
def replace_hours(
    session: SessionDep, actor: Editor, weekday: int, body: WeekdayHoursWrite
) -> WorkingHoursRead:
    """Replace one weekday's spans (0 = Monday); overlapping spans are refused."""
    hours = service.replace_weekday_hours(
        session, actor=actor, weekday=weekday, spans=[(s.start, s.end) for s in body.spans]
    )
    return hours_read(hours, True)


def _check_year(field: str, value: datetime) -> None:
    # Far-off instants only cost time (the arithmetic walks day by day) or overflow: refuse them.
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise FieldError(
            field, "Choose a time between the years %(min)s and %(max)s", min=MIN_YEAR, max=MAX_YEAR
        )


@router.post("/add-working-time", response_model=AddWorkingTimeResult)
def add_working_time(session: SessionDep, actor: Viewer, body: AddWorkingTime) -> AddWorkingTimeResult:
    """The instant at which `duration_minutes` of working time have passed since `start`."""
    _check_year("start", body.start)
    try:
        end = service.add_working_time(session, body.start, timedelta(minutes=body.duration_minutes))
    except NoWorkingTimeError:
        raise FieldError(
            "duration_minutes", "The calendar has no working time in the year after the start"
        ) from None
    return AddWorkingTimeResult(start=body.start, duration_minutes=body.duration_minutes, end=end)


@router.post("/working-time-between", response_model=WorkingTimeBetweenResult)
def working_time_between(
    session: SessionDep, actor: Viewer, body: WorkingTimeBetween
) -> WorkingTimeBetweenResult:
    """Working time inside [start, end) (at most ten years apart)."""
    _check_year("start", body.start)
    _check_year("end", body.end)
    if abs(body.end - body.start) > timedelta(days=3660):
        raise FieldError("end", "Ask for at most ten years at a time")
    between = service.working_time_between(session, body.start, body.end)
    return WorkingTimeBetweenResult(start=body.start, end=body.end, minutes=between.total_seconds() / 60)
