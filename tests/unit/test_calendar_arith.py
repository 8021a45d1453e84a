"""Business-calendar arithmetic: concrete cases around the 2026 Spring Festival, and laws.

2026 Spring Festival in the statutory table (chinesecalendar 1.11): days off Sun 15 – Mon 23 February
(nine days); make-up workdays (调休) Sat 14 February and Sat 28 February.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import chinese_calendar  # type: ignore[import-untyped]
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kefu.org.calendar.arith import (
    BusinessCalendar,
    DayOverride,
    DayResolver,
    NoWorkingTimeError,
    Span,
    WorkingHours,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
STANDARD_DAY = timedelta(hours=7, minutes=30)
LAWS = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def _library_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


# The first year from 2031 on that the installed library does not cover, so the tests keep testing
# the fallback after the library is upgraded.
UNCOVERED = next(year for year in count(2031) if not _library_covers(year))


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def standard_calendar(overrides: dict[date, DayOverride | bool] | None = None) -> BusinessCalendar:
    return BusinessCalendar(DayResolver(overrides), WorkingHours.standard(), SHANGHAI)


CAL = standard_calendar()


# --- The statutory table, as the resolver reads it ---------------------------------------------------


def test_2026_spring_festival_days_off_and_make_up_workdays() -> None:
    resolver = DayResolver()
    festival = [date(2026, 2, 15) + timedelta(days=i) for i in range(9)]
    assert festival[-1] == date(2026, 2, 23)
    for day in festival:
        assert not resolver.is_workday(day), day
        assert resolver.holiday_name(day) == "Spring Festival"
        assert resolver.source(day) == "statutory"
    for make_up in (date(2026, 2, 14), date(2026, 2, 28)):
        assert make_up.weekday() == 5
        assert resolver.is_workday(make_up)
        # The library names the holiday a make-up day belongs to; the name does not mean a day off.
        assert resolver.holiday_name(make_up) == "Spring Festival"
    assert resolver.is_workday(date(2026, 2, 13))
    assert resolver.is_workday(date(2026, 2, 24))
    assert resolver.holiday_name(date(2026, 2, 24)) is None
    assert not resolver.is_workday(date(2026, 2, 7))  # an ordinary Saturday


# --- Arithmetic around the festival -----------------------------------------------------------------


def test_four_hours_from_the_last_afternoon_before_the_festival_end_after_it() -> None:
    # Sat 14 Feb is the last workday before the festival (a make-up day): 3 h there, 1 h on Tue 24 Feb.
    assert CAL.add_working_time(sh(2026, 2, 14, 15), timedelta(hours=4)) == sh(2026, 2, 24, 10)
    assert CAL.working_time_between(sh(2026, 2, 14, 15), sh(2026, 2, 24, 10)) == timedelta(hours=4)


def test_make_up_saturday_counts_as_working() -> None:
    assert CAL.is_working_instant(sh(2026, 2, 14, 10))
    assert not CAL.is_working_instant(sh(2026, 2, 7, 10))
    assert CAL.working_time_between(sh(2026, 2, 14), sh(2026, 2, 15)) == STANDARD_DAY
    assert CAL.working_time_between(sh(2026, 2, 7), sh(2026, 2, 8)) == timedelta(0)
    # Friday afternoon runs on into the make-up Saturday morning.
    assert CAL.add_working_time(sh(2026, 2, 13, 17), timedelta(hours=2)) == sh(2026, 2, 14, 10)


def test_lunch_break_is_skipped() -> None:
    assert CAL.add_working_time(sh(2026, 2, 24, 11), timedelta(hours=2)) == sh(2026, 2, 24, 14, 30)
    assert not CAL.is_working_instant(sh(2026, 2, 24, 12, 30))
    assert CAL.next_working_instant(sh(2026, 2, 24, 12, 30)) == sh(2026, 2, 24, 13, 30)
    assert CAL.working_time_between(sh(2026, 2, 24, 11), sh(2026, 2, 24, 14)) == timedelta(
        hours=1, minutes=30
    )


def test_a_duration_ending_at_a_span_end_returns_that_end() -> None:
    assert CAL.add_working_time(sh(2026, 2, 24, 9), timedelta(hours=3)) == sh(2026, 2, 24, 12)
    assert CAL.add_working_time(sh(2026, 2, 24, 9), STANDARD_DAY) == sh(2026, 2, 24, 18)
    # 1 h on the make-up Saturday, then a full first day after the festival: ends at its 18:00.
    assert CAL.add_working_time(sh(2026, 2, 14, 17), timedelta(hours=8, minutes=30)) == sh(2026, 2, 24, 18)


def test_start_outside_working_time_counts_from_the_next_working_instant() -> None:
    assert CAL.next_working_instant(sh(2026, 2, 16, 10)) == sh(2026, 2, 24, 9)
    assert CAL.add_working_time(sh(2026, 2, 16, 10), timedelta(minutes=30)) == sh(2026, 2, 24, 9, 30)
    assert CAL.add_working_time(sh(2026, 2, 24, 18), timedelta(minutes=1)) == sh(2026, 2, 25, 9, 1)
    assert CAL.next_working_instant(sh(2026, 2, 24, 10)) == sh(2026, 2, 24, 10)


def test_zero_duration_returns_start_even_outside_working_time() -> None:
    start = sh(2026, 2, 16, 3, 17)
    assert CAL.add_working_time(start, timedelta(0)) == start


def test_inputs_in_other_zones_give_results_in_the_calendar_zone() -> None:
    start = datetime(2026, 2, 14, 7, tzinfo=UTC)  # 15:00 in Shanghai
    result = CAL.add_working_time(start, timedelta(hours=4))
    assert result == sh(2026, 2, 24, 10)
    assert result.tzinfo is SHANGHAI
    assert CAL.add_working_time(start, timedelta(0)).tzinfo is SHANGHAI


def test_between_is_antisymmetric() -> None:
    a, b = sh(2026, 2, 13, 10), sh(2026, 2, 25, 10)
    assert CAL.working_time_between(b, a) == -CAL.working_time_between(a, b)
    assert CAL.working_time_between(a, a) == timedelta(0)


# --- Overrides ---------------------------------------------------------------------------------------


def test_overrides_beat_the_statutory_table() -> None:
    cal = standard_calendar(
        {
            date(2026, 2, 17): DayOverride(workday=True, name="Hotline duty"),
            date(2026, 2, 24): False,
        }
    )
    resolver = cal.resolver
    assert resolver.is_workday(date(2026, 2, 17))
    assert resolver.source(date(2026, 2, 17)) == "override"
    assert resolver.holiday_name(date(2026, 2, 17)) == "Hotline duty"
    assert not resolver.is_workday(date(2026, 2, 24))
    assert resolver.holiday_name(date(2026, 2, 24)) is None
    # An unnamed override keeps the statutory name.
    assert DayResolver({date(2026, 2, 16): True}).holiday_name(date(2026, 2, 16)) == "Spring Festival"
    assert resolver.source(date(2026, 2, 16)) == "statutory"
    # 3 h on the make-up Saturday, then 1 h on the duty day inside the festival.
    assert cal.add_working_time(sh(2026, 2, 14, 15), timedelta(hours=4)) == sh(2026, 2, 17, 10)
    # Without the duty day, Tue 24 Feb is off too, so the hour lands on Wed 25 Feb.
    cal = standard_calendar({date(2026, 2, 24): DayOverride(workday=False, name="Company retreat")})
    assert cal.add_working_time(sh(2026, 2, 14, 15), timedelta(hours=4)) == sh(2026, 2, 25, 10)
    assert cal.resolver.holiday_name(date(2026, 2, 24)) == "Company retreat"


def test_resolver_rejects_datetimes_and_odd_override_values() -> None:
    with pytest.raises(TypeError, match="date"):
        DayResolver().is_workday(datetime(2026, 2, 16, 10))
    with pytest.raises(TypeError):
        DayResolver({datetime(2026, 2, 16): True})
    with pytest.raises(TypeError):
        DayResolver({date(2026, 2, 16): "yes"})  # type: ignore[dict-item]


# --- Years the library does not cover -----------------------------------------------------------------


def test_uncovered_year_falls_back_to_weekdays_until_an_override_exists() -> None:
    resolver = DayResolver()
    assert resolver.is_year_covered(2026)
    assert not resolver.is_year_covered(UNCOVERED)
    monday = date(UNCOVERED, 1, 6) - timedelta(days=date(UNCOVERED, 1, 6).weekday())
    week = [monday + timedelta(days=i) for i in range(7)]
    assert [resolver.is_workday(day) for day in week] == [True] * 5 + [False] * 2
    assert {resolver.source(day) for day in week} == {"weekday"}
    assert resolver.holiday_name(monday) is None
    national_day = date(UNCOVERED, 10, 1)
    assert resolver.is_workday(national_day) == (national_day.weekday() < 5)

    entered = DayResolver({national_day: DayOverride(workday=False, name="National Day")})
    assert entered.is_year_covered(UNCOVERED)
    assert not entered.is_year_covered(UNCOVERED + 1)
    assert not entered.is_workday(national_day)
    assert entered.holiday_name(national_day) == "National Day"
    assert entered.source(national_day) == "override"
    assert entered.source(monday) == "weekday"

    cal = BusinessCalendar(resolver, WorkingHours.standard(), SHANGHAI)
    start = datetime.combine(monday, time(9), tzinfo=SHANGHAI)
    assert cal.working_time_between(start, start + timedelta(days=7)) == 5 * STANDARD_DAY


# --- Validation ---------------------------------------------------------------------------------------


def test_span_and_working_hours_validation() -> None:
    with pytest.raises(ValueError, match="inverted"):
        Span(time(12), time(9))
    with pytest.raises(ValueError, match="inverted"):
        Span(time(9), time(9))
    with pytest.raises(ValueError, match="overlap"):
        WorkingHours({0: (Span(time(9), time(12)), Span(time(11), time(14)))})
    with pytest.raises(ValueError, match="weekday"):
        WorkingHours({7: (Span(time(9), time(12)),)})
    hours = WorkingHours({0: (Span(time(13), time(14)), Span(time(9), time(13)))})
    assert hours.spans(0) == (Span(time(9), time(13)), Span(time(13), time(14)))
    assert hours.spans(6) == ()
    assert Span(time(0), time(0)).length == timedelta(days=1)
    standard = WorkingHours.standard()
    assert all(standard.daily_total(weekday) == STANDARD_DAY for weekday in range(7))
    assert standard == WorkingHours.standard()
    assert hash(standard) == hash(WorkingHours.standard())


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="negative"):
        CAL.add_working_time(sh(2026, 2, 24, 9), timedelta(minutes=-1))
    with pytest.raises(ValueError, match="aware"):
        CAL.add_working_time(datetime(2026, 2, 24, 9), timedelta(hours=1))
    with pytest.raises(ValueError, match="aware"):
        CAL.working_time_between(sh(2026, 2, 24, 9), datetime(2026, 2, 25, 9))


def test_a_calendar_without_working_time_fails_instead_of_searching_forever() -> None:
    weekend_only = BusinessCalendar(DayResolver(), WorkingHours({5: (Span(time(9), time(12)),)}), SHANGHAI)
    start = datetime(UNCOVERED, 1, 1, tzinfo=SHANGHAI)
    with pytest.raises(NoWorkingTimeError):
        weekend_only.add_working_time(start, timedelta(hours=1))
    with pytest.raises(NoWorkingTimeError):
        weekend_only.next_working_instant(start)
    assert weekend_only.working_time_between(start, start + timedelta(days=800)) == timedelta(0)


# --- Other zones (daylight saving) ---------------------------------------------------------------------


def test_spans_follow_the_wall_clock_across_daylight_saving() -> None:
    # Sun 30 Mar 2025: Berlin jumps from 02:00 to 03:00, so 01:00–04:00 holds two real hours.
    spring = date(2025, 3, 30)
    hours = WorkingHours({6: (Span(time(1), time(4)),)})
    cal = BusinessCalendar(DayResolver({spring: True}), hours, BERLIN)
    begin = datetime.combine(spring, time(0), tzinfo=BERLIN)
    assert cal.working_time_between(begin, begin + timedelta(days=1)) == timedelta(hours=2)
    result = cal.add_working_time(begin, timedelta(hours=1, minutes=30))
    assert result.astimezone(UTC) == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)
    assert (result.hour, result.minute) == (3, 30)


def test_spans_ending_inside_a_daylight_saving_gap_do_not_double_count() -> None:
    # 02:45 does not exist on 30 Mar 2025 in Berlin; it is read as 03:45 CEST, past the 03:00 start
    # of the next span. The overlap is counted once: 01:00 CET to 04:00 CEST is two real hours.
    spring = date(2025, 3, 30)
    hours = WorkingHours({6: (Span(time(1), time(2, 45)), Span(time(3), time(4)))})
    cal = BusinessCalendar(DayResolver({spring: True}), hours, BERLIN)
    begin = datetime.combine(spring, time(0), tzinfo=BERLIN)
    assert cal.working_time_between(begin, begin + timedelta(days=1)) == timedelta(hours=2)
    assert cal.add_working_time(begin, timedelta(hours=2)) == datetime(2025, 3, 30, 2, tzinfo=UTC)


# --- 2000 working hours against a day-by-day reference ----------------------------------------------


def _reference_is_workday(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def _reference_add(start: datetime, duration: timedelta) -> datetime:
    """Walk span by span in Shanghai wall-clock time (no DST there), one day at a time."""
    wall = start.astimezone(SHANGHAI).replace(tzinfo=None)
    day, remaining = wall.date(), duration
    while True:
        if _reference_is_workday(day):
            for span in ((time(9), time(12)), (time(13, 30), time(18))):
                begin = max(datetime.combine(day, span[0]), wall)
                end = datetime.combine(day, span[1])
                if end > begin:
                    if remaining <= end - begin:
                        return (begin + remaining).replace(tzinfo=SHANGHAI)
                    remaining -= end - begin
        day += timedelta(days=1)


def test_two_thousand_working_hours_match_the_reference() -> None:
    for start in (sh(2026, 2, 14, 15), sh(2025, 9, 30, 12, 45), sh(2026, 12, 31, 17, 59)):
        duration = timedelta(hours=2000)
        expected = _reference_add(start, duration)
        assert CAL.add_working_time(start, duration) == expected
        assert CAL.working_time_between(start, expected) == duration


# --- Laws ----------------------------------------------------------------------------------------------


def aware_starts(first_year: int, last_year: int, tz: ZoneInfo) -> st.SearchStrategy[datetime]:
    return st.datetimes(
        min_value=datetime(first_year, 1, 1),
        max_value=datetime(last_year, 12, 31, 23, 59, 59),
        timezones=st.sampled_from([tz, UTC]),
        allow_imaginary=False,
    )


durations = st.integers(min_value=0, max_value=500 * 60).map(lambda minutes: timedelta(minutes=minutes))
starts_2025_2026 = aware_starts(2025, 2026, SHANGHAI)

# Berlin, round the clock, with the daylight-saving Sundays declared workdays so their 23 h and 25 h
# days are counted.
BERLIN_24H = BusinessCalendar(
    DayResolver(
        dict.fromkeys((date(2025, 3, 30), date(2025, 10, 26), date(2026, 3, 29), date(2026, 10, 25)), True)
    ),
    WorkingHours(dict.fromkeys(range(7), (Span(time(0), time(0)),))),
    BERLIN,
)
CALENDARS = {"shanghai-standard": CAL, "berlin-24h": BERLIN_24H}


@pytest.mark.parametrize("name", CALENDARS)
@LAWS
@given(start=starts_2025_2026, duration=durations)
def test_law_between_undoes_add(name: str, start: datetime, duration: timedelta) -> None:
    cal = CALENDARS[name]
    end = cal.add_working_time(start, duration)
    assert cal.working_time_between(start, end) == duration
    if duration > timedelta(0):
        # The result closes a stretch of working time: it is inside a span or exactly at its end.
        assert cal.is_working_instant(end - timedelta(microseconds=1))
        assert end > start


@LAWS
@given(start=starts_2025_2026, d1=durations, d2=durations)
def test_law_add_is_monotonic(start: datetime, d1: timedelta, d2: timedelta) -> None:
    d1, d2 = sorted((d1, d2))
    assert CAL.add_working_time(start, d1) <= CAL.add_working_time(start, d2)


@pytest.mark.parametrize("name", CALENDARS)
@LAWS
@given(points=st.lists(starts_2025_2026, min_size=3, max_size=3))
def test_law_between_is_additive(name: str, points: list[datetime]) -> None:
    cal = CALENDARS[name]
    a, b, c = sorted(points)
    assert cal.working_time_between(a, b) + cal.working_time_between(b, c) == cal.working_time_between(a, c)


@LAWS
@given(t=starts_2025_2026)
def test_law_next_working_instant_is_working_and_skips_no_work(t: datetime) -> None:
    found = CAL.next_working_instant(t)
    assert CAL.is_working_instant(found)
    assert found >= t
    assert CAL.working_time_between(t, found) == timedelta(0)
    assert (found == t) == CAL.is_working_instant(t)


@LAWS
@given(start=aware_starts(UNCOVERED, UNCOVERED, SHANGHAI), duration=durations)
def test_law_uncovered_year_uses_weekdays(start: datetime, duration: timedelta) -> None:
    end = CAL.add_working_time(start, duration)
    assert CAL.working_time_between(start, end) == duration
    if duration > timedelta(0):
        assert end == _reference_add(start, duration)
        assert (end - timedelta(microseconds=1)).astimezone(SHANGHAI).weekday() < 5


@settings(max_examples=40, deadline=None, database=None)
@given(
    start=starts_2025_2026.map(lambda t: t.replace(second=0, microsecond=0)),
    minutes=st.integers(min_value=1, max_value=16 * 60),
)
def test_law_add_agrees_with_counting_minute_by_minute(start: datetime, minutes: int) -> None:
    t, counted = start, 0
    while counted < minutes:
        if CAL.is_working_instant(t):
            counted += 1
        t += timedelta(minutes=1)
    assert CAL.add_working_time(start, timedelta(minutes=minutes)) == t
