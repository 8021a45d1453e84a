"""Working-time arithmetic over a business calendar (pure logic: no I/O, no database).

* `WorkingHours` says which wall-clock spans of a workday are worked, per weekday.
* `DayResolver` says whether a date is a workday: the deployment's overrides first, then China's
  statutory table (`chinese_calendar`) for the years it covers, then Monday–Friday.
* `BusinessCalendar` combines both in a time zone and adds or measures working time between
  aware instants.

Working time is real elapsed time inside the spans. A span is placed on a date at its wall-clock
times in the calendar's zone, so across a daylight-saving change a span may be an hour shorter or
longer than its nominal length; in zones without DST (Asia/Shanghai) the two always agree.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from itertools import pairwise
from types import MappingProxyType
from typing import Literal
from zoneinfo import ZoneInfo

import chinese_calendar  # type: ignore[import-untyped]

__all__ = [
    "BusinessCalendar",
    "DayOverride",
    "DayResolver",
    "DaySource",
    "NoWorkingTimeError",
    "Span",
    "WorkingHours",
]

DaySource = Literal["override", "statutory", "weekday"]
Interval = tuple[datetime, datetime]

_DAY = timedelta(days=1)
_ZERO = timedelta(0)
_MIDNIGHT = time(0)
# A calendar that yields no working time for this many consecutive days is treated as misconfigured
# (e.g. hours only on weekends while the fallback makes weekends days off) instead of searched forever.
_MAX_IDLE_DAYS = 366


class NoWorkingTimeError(ValueError):
    """The calendar has no working time for over a year after the requested instant."""


def _wall_offset(t: time) -> timedelta:
    return timedelta(hours=t.hour, minutes=t.minute, seconds=t.second, microseconds=t.microsecond)


@dataclass(frozen=True, slots=True)
class Span:
    """A worked wall-clock interval [start, end) within one day.

    Both times are naive (wall clock in the calendar's zone) and `start < end`, except that
    `end=time(0)` stands for midnight at the end of the day (24:00): `Span(time(0), time(0))` is
    the whole day.
    """

    start: time
    end: time

    def __post_init__(self) -> None:
        if not isinstance(self.start, time) or not isinstance(self.end, time):
            raise TypeError(f"span bounds must be datetime.time values, got {self.start!r}, {self.end!r}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError(f"span {self} must use naive wall-clock times, not aware ones")
        if not self.ends_at_midnight and self.start >= self.end:
            raise ValueError(f"span {self} is inverted or empty: it must start before it ends")

    @property
    def ends_at_midnight(self) -> bool:
        """True when the span runs to the end of the day (`end` is 24:00)."""
        return self.end == _MIDNIGHT

    @property
    def start_offset(self) -> timedelta:
        """Wall-clock time from midnight to `start`."""
        return _wall_offset(self.start)

    @property
    def end_offset(self) -> timedelta:
        """Wall-clock time from midnight to `end` (a full day when the span ends at 24:00)."""
        return _DAY if self.ends_at_midnight else _wall_offset(self.end)

    @property
    def length(self) -> timedelta:
        """Nominal (wall-clock) length."""
        return self.end_offset - self.start_offset

    def __str__(self) -> str:
        end = "24:00" if self.ends_at_midnight else self.end.isoformat(timespec="minutes")
        return f"{self.start.isoformat(timespec='minutes')}–{end}"


@dataclass(frozen=True)
class WorkingHours:
    """The worked spans of a workday, per weekday (0 = Monday … 6 = Sunday).

    The constructor sorts each weekday's spans and raises ValueError for an unknown weekday or for
    overlapping spans (touching spans are allowed). Weekdays left out have no hours. Whether a date
    is a workday at all is the `DayResolver`'s decision: these hours only apply to workdays.
    """

    by_weekday: Mapping[int, tuple[Span, ...]]

    def __post_init__(self) -> None:
        normalized: dict[int, tuple[Span, ...]] = dict.fromkeys(range(7), ())
        for weekday, spans in self.by_weekday.items():
            if weekday not in normalized:
                raise ValueError(f"weekday must be 0 (Monday) … 6 (Sunday), got {weekday!r}")
            for span in spans:
                if not isinstance(span, Span):
                    raise TypeError(f"weekday {weekday}: expected Span, got {span!r}")
            ordered = tuple(sorted(spans, key=lambda span: span.start_offset))
            for earlier, later in pairwise(ordered):
                if later.start_offset < earlier.end_offset:
                    raise ValueError(f"weekday {weekday}: spans {earlier} and {later} overlap")
            normalized[weekday] = ordered
        object.__setattr__(self, "by_weekday", MappingProxyType(normalized))

    def __hash__(self) -> int:
        return hash(tuple(self.by_weekday[weekday] for weekday in range(7)))

    @classmethod
    def standard(cls) -> WorkingHours:
        """09:00–12:00 and 13:30–18:00 on every weekday; the resolver decides which days are worked."""
        day = (Span(time(9), time(12)), Span(time(13, 30), time(18)))
        return cls(dict.fromkeys(range(7), day))

    def spans(self, weekday: int) -> tuple[Span, ...]:
        """The sorted spans of `weekday` (empty when it has no hours)."""
        return self.by_weekday[weekday]

    def daily_total(self, weekday: int) -> timedelta:
        """Nominal working time of a workday falling on `weekday`."""
        return sum((span.length for span in self.by_weekday[weekday]), _ZERO)


@dataclass(frozen=True, slots=True)
class DayOverride:
    """A deployment's decision about one date: worked or not, with an optional name shown to users."""

    workday: bool
    name: str = ""


@dataclass(frozen=True, slots=True)
class _Day:
    workday: bool
    name: str | None
    source: DaySource


def _require_date(day: date) -> None:
    # datetime is a subclass of date but never equal to one, so it would silently miss overrides.
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"expected a date, got {day!r}; convert instants to the calendar's zone first")


class DayResolver:
    """Decides whether a date is a workday.

    Precedence: (1) the deployment's `overrides`; (2) China's statutory table from `chinese_calendar`
    (holidays and make-up workdays, 调休) for the years the installed version covers; (3) Monday–Friday
    for the other years. Coverage is found by asking the library (it raises NotImplementedError), never
    from a hard-coded range, so upgrading `chinesecalendar` extends it. Answers are cached per date
    because the library rescans its table on every call. Overrides are copied when the resolver is
    built: build a new resolver when they change. Plain booleans are accepted as unnamed overrides.
    """

    def __init__(self, overrides: Mapping[date, DayOverride | bool] | None = None) -> None:
        normalized: dict[date, DayOverride] = {}
        for day, value in (overrides or {}).items():
            _require_date(day)
            if isinstance(value, DayOverride):
                normalized[day] = value
            elif isinstance(value, bool):
                normalized[day] = DayOverride(workday=value)
            else:
                raise TypeError(f"override for {day} must be a DayOverride or bool, got {value!r}")
        self._overrides: Mapping[date, DayOverride] = MappingProxyType(normalized)
        self._override_years = frozenset(day.year for day in normalized)
        self._days: dict[date, _Day] = {}

    @property
    def overrides(self) -> Mapping[date, DayOverride]:
        """The deployment's overrides (read-only)."""
        return self._overrides

    def is_workday(self, day: date) -> bool:
        """Whether `day` is worked."""
        return self._lookup(day).workday

    def holiday_name(self, day: date) -> str | None:
        """The name attached to `day`, or None.

        The override's name if it has one, else the statutory name where the library covers the year.
        For a make-up workday the library names the holiday it makes up for, so a name does not imply
        a day off: ask `is_workday`.
        """
        return self._lookup(day).name

    def source(self, day: date) -> DaySource:
        """Which rule decided `day`: an override, the statutory table, or the weekday fallback."""
        return self._lookup(day).source

    def is_year_covered(self, year: int) -> bool:
        """True when `year` is decided by more than the weekday fallback.

        That is, the library covers it or the overrides hold at least one date in it. False means
        the year's holidays have not been entered yet and admins should be warned.
        """
        return year in self._override_years or _library_covers(year)

    def _lookup(self, day: date) -> _Day:
        found = self._days.get(day)
        if found is None:
            found = self._days[day] = self._resolve(day)
        return found

    def _resolve(self, day: date) -> _Day:
        _require_date(day)
        statutory = _statutory(day)
        override = self._overrides.get(day)
        if override is not None:
            name = override.name or (statutory[1] if statutory else None)
            return _Day(override.workday, name, "override")
        if statutory is not None:
            on_holiday, name = statutory
            return _Day(not on_holiday, name, "statutory")
        return _Day(day.weekday() < 5, None, "weekday")


@cache
def _library_covers(year: int) -> bool:
    """Whether the installed `chinese_calendar` has data for `year` (it raises NotImplementedError if not)."""
    try:
        chinese_calendar.get_holiday_detail(date(year, 1, 1))
        chinese_calendar.get_holiday_detail(date(year, 12, 31))
    except NotImplementedError:
        return False
    return True


# Shared by all resolvers: the statutory table is process-wide, and a resolver is rebuilt whenever
# the overrides change. 16384 dates are about 45 years.
@lru_cache(maxsize=16384)
def _statutory(day: date) -> tuple[bool, str | None] | None:
    """(is_holiday, name) from the statutory table, or None when the library does not cover the year."""
    if not _library_covers(day.year):
        return None
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    return bool(on_holiday), name


def _to_utc(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime, got naive {value.isoformat()}")
    return value.astimezone(UTC)


class BusinessCalendar:
    """Working-time arithmetic: workdays from `resolver`, hours from `hours`, wall clock in `tz`.

    Methods accept aware datetimes in any zone and return aware datetimes in `tz`. Spans are
    half-open: the instant a span starts is working time, the instant it ends is not. Internally
    everything is computed in UTC, because Python subtracts and compares datetimes that share a
    tzinfo by wall clock, which is wrong across a DST change.
    """

    def __init__(self, resolver: DayResolver, hours: WorkingHours, tz: ZoneInfo) -> None:
        self.resolver = resolver
        self.hours = hours
        self.tz = tz

    def is_working_instant(self, t: datetime) -> bool:
        """Whether `t` lies inside a span of a workday."""
        u = _to_utc(t, "t")
        return any(start <= u < end for start, end in self._intervals(self._local_date(u)))

    def next_working_instant(self, t: datetime) -> datetime:
        """`t` itself when it is working time, else the start of the next span.

        Raises NoWorkingTimeError when there is no working time for over a year after `t`.
        """
        u = _to_utc(t, "t")
        intervals = next(self._working_days(u))
        return intervals[0][0].astimezone(self.tz)

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The instant at which `duration` of working time has elapsed, counting from `start`.

        Counting begins at the next working instant when `start` is outside working time. A zero
        duration returns the instant `start` itself (not advanced). A duration that runs out exactly
        at the end of a span returns that span's end, not the next span's start. Whole days are skipped
        by their total, so long durations cost one step per calendar day. Raises ValueError for a
        negative duration and NoWorkingTimeError when the calendar runs out of working time.
        """
        u = _to_utc(start, "start")
        if duration < _ZERO:
            raise ValueError(f"duration must not be negative, got {duration}")
        if duration == _ZERO:
            return u.astimezone(self.tz)
        remaining = duration
        for intervals in self._working_days(u):
            total = sum((end - begin for begin, end in intervals), _ZERO)
            if remaining > total:
                remaining -= total
                continue
            for begin, end in intervals:
                if remaining <= end - begin:
                    return (begin + remaining).astimezone(self.tz)
                remaining -= end - begin
        raise AssertionError("unreachable: _working_days is infinite or raises")

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time inside [a, b); negative (−between(b, a)) when b is before a."""
        ua, ub = _to_utc(a, "a"), _to_utc(b, "b")
        if ub < ua:
            return -self.working_time_between(b, a)
        last_day = self._local_date(ub)
        total = _ZERO
        for day, intervals in self._days_from(ua):
            if day > last_day:
                break
            for begin, end in intervals:
                if begin >= ub:
                    return total
                total += min(end, ub) - begin
        return total

    def _local_date(self, u: datetime) -> date:
        return u.astimezone(self.tz).date()

    def _at(self, day: date, wall: time) -> datetime:
        return datetime.combine(day, wall, tzinfo=self.tz).astimezone(UTC)

    def _intervals(self, day: date) -> list[Interval]:
        """The day's spans as sorted, disjoint UTC intervals (empty on days off).

        Around a DST gap a wall time can map to a later instant than a wall time after it; clamping
        each start to the previous end keeps the intervals ordered and disjoint whatever the zone, so
        `is_working_instant` and the arithmetic agree on what is working time.
        """
        if not self.resolver.is_workday(day):
            return []
        intervals: list[Interval] = []
        floor: datetime | None = None
        for span in self.hours.spans(day.weekday()):
            begin = self._at(day, span.start)
            end = self._at(day + _DAY, _MIDNIGHT) if span.ends_at_midnight else self._at(day, span.end)
            if floor is not None and begin < floor:
                begin = floor
            if end > begin:
                intervals.append((begin, end))
                floor = end
        return intervals

    def _days_from(self, u: datetime) -> Iterator[tuple[date, list[Interval]]]:
        """Each local date from the one containing `u` onward, with its intervals clipped to start at `u`."""
        day = self._local_date(u)
        floor = u
        while True:
            clipped: list[Interval] = []
            for begin, end in self._intervals(day):
                begin = max(begin, floor)
                if end > begin:
                    clipped.append((begin, end))
                    floor = end
            yield day, clipped
            day += _DAY

    def _working_days(self, u: datetime) -> Iterator[list[Interval]]:
        """The non-empty days of `_days_from(u)`; raises NoWorkingTimeError after a year without any."""
        idle = 0
        for day, intervals in self._days_from(u):
            if intervals:
                idle = 0
                yield intervals
            else:
                idle += 1
                if idle > _MAX_IDLE_DAYS:
                    raise NoWorkingTimeError(f"no working time in the {_MAX_IDLE_DAYS} days up to {day}")
