"""API shapes of the business calendar, shifts and roster."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

HHMM = r"^\d{1,2}:\d{2}$"
MAX_MINUTES = 366 * 24 * 60


# --- Calendar -----------------------------------------------------------------------------------------


class OverrideWrite(BaseModel):
    workday: bool = Field(description="True: the date is worked; False: a day off.")
    name: str = Field(default="", max_length=60, description="Shown to users, e.g. the holiday's name.")
    note: str = Field(default="", max_length=200)


class OverrideRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    day: date
    workday: bool
    name: str
    note: str
    updated_at: datetime


class HolidayRangeIn(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    start: date = Field(description="First day off.")
    end: date = Field(description="Last day off (inclusive).")
    makeup_workdays: list[date] = Field(default_factory=list, max_length=10, description="调休 workdays.")


class HolidaysEnter(BaseModel):
    """A year's holidays as announced (e.g. by the State Council), entered in one call."""

    year: int
    holidays: list[HolidayRangeIn] = Field(min_length=1, max_length=40)
    replace_year: bool = Field(default=False, description="Remove the year's other overrides first.")


class SpanIn(BaseModel):
    start: str = Field(pattern=HHMM, examples=["09:00"])
    end: str = Field(pattern=HHMM, examples=["12:00"], description='"24:00" is the end of the day.')


class WeekdayHoursWrite(BaseModel):
    spans: list[SpanIn] = Field(max_length=8, description="Empty: no working hours on this weekday.")


class WeekdayHoursRead(BaseModel):
    weekday: int = Field(description="0 = Monday … 6 = Sunday")
    spans: list[SpanIn]
    minutes: int


class WorkingHoursRead(BaseModel):
    configured: bool = Field(description="False: nothing is configured and the standard hours apply.")
    weekdays: list[WeekdayHoursRead]


class DayRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    day: date
    workday: bool
    source: Literal["override", "statutory", "weekday"]
    name: str | None = Field(
        description="The holiday's name (for a make-up workday: the holiday it makes up for)."
    )
    kind: Literal["workday", "rest", "holiday", "makeup"]
    working_minutes: int
    note: str


class AddWorkingTime(BaseModel):
    start: AwareDatetime
    duration_minutes: int = Field(ge=0, le=MAX_MINUTES)


class AddWorkingTimeResult(BaseModel):
    start: datetime
    duration_minutes: int
    end: datetime


class WorkingTimeBetween(BaseModel):
    start: AwareDatetime
    end: AwareDatetime


class WorkingTimeBetweenResult(BaseModel):
    start: datetime
    end: datetime
    minutes: float = Field(description="Working time inside [start, end); negative when end is before start.")


class CalendarWarning(BaseModel):
    warning: str | None


# --- Shifts -------------------------------------------------------------------------------------------


class ShiftCreate(BaseModel):
    code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=60)
    start: str = Field(pattern=HHMM)
    end: str = Field(pattern=HHMM, description="At or before `start`: the shift ends the next day.")
    colour: str = Field(default="#0d6efd", max_length=7)
    enabled: bool = True
    sort: int = 0


class ShiftUpdate(BaseModel):
    code: str | None = Field(default=None, min_length=1, max_length=20)
    name: str | None = Field(default=None, min_length=1, max_length=60)
    start: str | None = Field(default=None, pattern=HHMM)
    end: str | None = Field(default=None, pattern=HHMM)
    colour: str | None = Field(default=None, max_length=7)
    enabled: bool | None = None
    sort: int | None = None


class ShiftRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    start: str
    end: str
    colour: str
    enabled: bool
    sort: int
    crosses_midnight: bool


# --- Roster -------------------------------------------------------------------------------------------


class RosterAssign(BaseModel):
    user_ids: list[int] = Field(min_length=1, max_length=500)
    shift_id: int
    start: date
    end: date
    weekdays: list[int] | None = Field(default=None, description="Only these weekdays (0 = Monday).")
    only_workdays: bool = Field(default=False, description="Only the business calendar's workdays.")
    replace: bool = Field(default=False, description="Remove the users' other shifts on those dates.")


class RosterClear(BaseModel):
    user_ids: list[int] = Field(min_length=1, max_length=500)
    start: date
    end: date
    shift_id: int | None = None


class RosterDaySet(BaseModel):
    shift_ids: list[int] = Field(max_length=5, description="Empty: no shift that day.")


class RosterCopyWeek(BaseModel):
    department_id: int
    source_start: date
    target_start: date


class RosterEntryRead(BaseModel):
    id: int
    user_id: int
    day: date
    shift_id: int
    shift_code: str
    shift_name: str
    colour: str
    starts_at: datetime
    ends_at: datetime
    assigned_at: datetime


class RosterUserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    name: str


class RosterRead(BaseModel):
    department_id: int
    department_name: str
    start: date
    end: date
    users: list[RosterUserRead]
    entries: list[RosterEntryRead]
    days: list[DayRead]


class AssignResult(BaseModel):
    created: int
    entries: list[RosterEntryRead]


class ClearResult(BaseModel):
    removed: int


class CopyResult(BaseModel):
    copied: int
