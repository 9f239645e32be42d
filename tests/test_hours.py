"""Tests of geosvc.hours: OSM opening_hours + Chinese official calendar."""

from __future__ import annotations

import random
import time as _time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from geosvc.errors import InvalidParameter
from geosvc.hours import (
    HolidayCalendar,
    Schedule,
    compile_schedule,
    get_calendar,
    hours_problem,
)

SH = ZoneInfo("Asia/Shanghai")
HEL = ZoneInfo("Europe/Helsinki")
UTC = UTC
HALL = "Mo-Fr 09:00-12:00,13:30-17:00; Sa 09:00-12:00; PH off"


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture(scope="module")
def cn() -> HolidayCalendar:
    cal = get_calendar("cn")
    assert cal is not None
    return cal


@pytest.fixture(scope="module")
def hall(cn):
    return compile_schedule(HALL, tz="Asia/Shanghai", calendar=cn)


# ------------------------------------------------------------------ calendar data


def test_calendar_covers_2026_and_matches_chinese_calendar(cn):
    assert cn.years[0] <= 2026 <= cn.years[1]
    # National Day 2026: Oct 1-7 off; Sun Sep 20 and Sat Oct 10 are make-up days.
    for day in range(1, 8):
        assert cn.is_holiday(date(2026, 10, day))
    assert not cn.is_holiday(date(2026, 10, 8))
    assert cn.is_makeup_workday(date(2026, 10, 10))
    assert cn.is_makeup_workday(date(2026, 9, 20))
    # An ordinary weekend is neither.
    assert not cn.is_holiday(date(2026, 3, 7)) and not cn.is_makeup_workday(date(2026, 3, 7))
    # Everything agrees with chinese_calendar itself over 2026.
    d = date(2026, 1, 1)
    while d.year == 2026:
        name_holiday, _ = chinese_calendar.get_holiday_detail(d)
        if cn.is_makeup_workday(d):
            assert chinese_calendar.is_workday(d) and d.weekday() >= 5
        if cn.is_holiday(d):
            assert chinese_calendar.is_holiday(d) and name_holiday
        if d.weekday() < 5 and not cn.is_holiday(d):
            assert chinese_calendar.is_workday(d)
        d += timedelta(days=1)


def test_calendar_accepts_datetimes(cn):
    assert cn.is_holiday(datetime(2026, 10, 1, 15))


@pytest.mark.parametrize("name", [None, "", "none", "NONE"])
def test_no_calendar(name):
    assert get_calendar(name) is None


def test_get_calendar_case_insensitive_and_cached():
    assert get_calendar("CN") is get_calendar("cn")


def test_unknown_calendar_is_value_error():
    with pytest.raises(ValueError, match="calendar"):
        get_calendar("mars")
    with pytest.raises(InvalidParameter) as exc:
        get_calendar("de")
    assert exc.value.invalid_params[0]["name"] == "calendar"


# ------------------------------------------------------------------ syntax


@pytest.mark.parametrize(
    "expr", ["24/7", HALL, "Mo-Su 00:00-24:00", "Mo-Fr 08:30-17:30; Sa,Su,PH off"]
)
def test_valid_expressions(expr):
    assert hours_problem(expr) is None


@pytest.mark.parametrize(
    ("expr", "needle"),
    [
        ("Mo-Fr 25:00-26:00", "character 7"),
        ("Mo-Fr 09:00-17:00 ; PH offf", "character 27"),
        ("nine to five", "character 1"),
        ("", "empty"),
        ("   ", "empty"),
        (None, "text"),
    ],
)
def test_hours_problem_explains(expr, needle):
    problem = hours_problem(expr)
    assert problem is not None and needle in problem


def test_unparseable_expression_rejected_by_compile():
    with pytest.raises(InvalidParameter) as exc:
        compile_schedule("9 to 5 weekdays", tz="Asia/Shanghai")
    assert exc.value.invalid_params[0]["name"] == "opening_hours"
    assert "opening_hours syntax" in exc.value.detail


def test_unknown_time_zone():
    with pytest.raises(InvalidParameter) as exc:
        compile_schedule("24/7", tz="Mars/Olympus")
    assert exc.value.invalid_params[0]["name"] == "tz"


# ------------------------------------------------------------------ evaluation


def test_lunch_break_and_afternoon(hall):
    wed = (2026, 3, 4)
    assert hall.is_open(sh(*wed, 10, 0))
    assert not hall.is_open(sh(*wed, 12, 30))
    assert hall.is_open(sh(*wed, 13, 30))
    assert hall.next_open(sh(*wed, 12, 30)) == sh(*wed, 13, 30)
    assert hall.next_close(sh(*wed, 16, 0)) == sh(*wed, 17, 0)
    # next_open of an open time is that time, next_close from the lunch break
    # is the end of the afternoon session.
    assert hall.next_open(sh(*wed, 10, 0)) == sh(*wed, 10, 0)
    assert hall.next_close(sh(*wed, 12, 30)) == sh(*wed, 17, 0)
    # Friday evening -> Saturday morning; Saturday noon -> Monday morning.
    assert hall.next_open(sh(2026, 3, 6, 18)) == sh(2026, 3, 7, 9)
    assert hall.next_open(sh(2026, 3, 7, 12, 0)) == sh(2026, 3, 9, 9)


def test_results_are_aware_in_schedule_zone(hall):
    got = hall.next_open(datetime(2026, 3, 4, 4, 30, tzinfo=UTC))  # 12:30 in Shanghai
    assert got == sh(2026, 3, 4, 13, 30)
    assert got.tzinfo is not None and got.utcoffset() == timedelta(hours=8)
    assert str(got.tzinfo) == "Asia/Shanghai"
    same = hall.next_open(datetime(2026, 3, 4, 2, 0, tzinfo=UTC))  # open: dt itself
    assert same == datetime(2026, 3, 4, 2, 0, tzinfo=UTC)
    assert str(same.tzinfo) == "Asia/Shanghai"


def test_naive_datetime_rejected(hall):
    with pytest.raises(ValueError, match="timezone-aware"):
        hall.is_open(datetime(2026, 3, 4, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        hall.next_open(datetime(2026, 3, 4, 10))


def test_statutory_holiday_closed(hall):
    # Thursday 2026-10-01 and Monday 2026-10-05 are National Day holidays.
    assert not hall.is_open(sh(2026, 10, 1, 10))
    assert not hall.is_open(sh(2026, 10, 5, 10))
    # Saturday Oct 3 is inside the break: the Saturday rule does not apply.
    assert not hall.is_open(sh(2026, 10, 3, 10))
    # Spring Festival Wednesday.
    assert not hall.is_open(sh(2026, 2, 18, 10))


def test_next_open_skips_the_whole_national_day_break(hall):
    # Eve of the 7-day break (Wed Sep 30 after hours) -> Thu Oct 8, 09:00.
    assert hall.next_open(sh(2026, 9, 30, 18)) == sh(2026, 10, 8, 9)
    assert hall.next_close(sh(2026, 9, 30, 16)) == sh(2026, 9, 30, 17)


def test_makeup_working_days_open_like_a_weekday(hall, cn):
    # Sat 2026-10-10 and Sun 2026-09-20 are make-up working days: Monday's hours.
    sat, sun = date(2026, 10, 10), date(2026, 9, 20)
    assert cn.is_makeup_workday(sat) and cn.is_makeup_workday(sun)
    assert hall.is_open(sh(2026, 10, 10, 15))  # Saturday afternoon: normally closed
    assert not hall.is_open(sh(2026, 10, 10, 12, 30))  # lunch, as on Monday
    assert hall.is_open(sh(2026, 9, 20, 9, 30))  # Sunday morning: normally closed
    # Friday evening before the make-up Saturday -> Saturday morning;
    # Saturday noon -> Saturday 13:30; Saturday evening -> Monday.
    assert hall.next_open(sh(2026, 10, 9, 18)) == sh(2026, 10, 10, 9)
    assert hall.next_open(sh(2026, 10, 10, 12, 15)) == sh(2026, 10, 10, 13, 30)
    assert hall.next_close(sh(2026, 10, 10, 14)) == sh(2026, 10, 10, 17)
    assert hall.next_open(sh(2026, 10, 10, 18)) == sh(2026, 10, 12, 9)
    # An ordinary Saturday keeps its own rule.
    assert not hall.is_open(sh(2026, 10, 17, 15)) and hall.is_open(sh(2026, 10, 17, 10))


def test_holiday_without_ph_rule_keeps_weekday_rule(cn):
    s = compile_schedule("Mo-Fr 09:00-17:00", tz="Asia/Shanghai", calendar=cn)
    assert s.is_open(sh(2026, 10, 1, 10))  # documented: no PH rule -> weekday rule
    s2 = compile_schedule("Mo-Fr 09:00-17:00; PH 10:00-12:00", tz="Asia/Shanghai", calendar=cn)
    assert s2.is_open(sh(2026, 10, 1, 11)) and not s2.is_open(sh(2026, 10, 1, 13))
    assert s2.is_open(sh(2026, 10, 4, 11))  # a Sunday inside the break follows PH too
    assert s2.next_open(sh(2026, 10, 1, 13)) == sh(2026, 10, 2, 10)


def test_without_calendar_national_day_is_an_ordinary_thursday():
    s = compile_schedule(HALL, tz="Asia/Shanghai", calendar=None)
    assert s.is_open(sh(2026, 10, 1, 10))
    assert s.next_open(sh(2026, 9, 30, 18)) == sh(2026, 10, 1, 9)
    assert not s.is_open(sh(2026, 10, 10, 15))  # an ordinary Saturday afternoon


def test_always_open():
    s = compile_schedule("24/7", tz="Asia/Shanghai", calendar=get_calendar("cn"))
    assert s.always_open and s.known
    t = sh(2026, 10, 1, 3)
    assert s.is_open(t) and s.next_open(t) == t and s.next_close(t) is None
    assert s.open_for(t, 10_000)
    assert compile_schedule("Mo-Su 00:00-24:00", tz="UTC").always_open
    assert not compile_schedule("24/7; PH off", tz="UTC").always_open


def test_24_7_with_ph_off_closes_on_holidays(cn):
    s = compile_schedule("24/7; PH off", tz="Asia/Shanghai", calendar=cn)
    assert s.is_open(sh(2026, 9, 30, 23))
    assert s.next_close(sh(2026, 9, 30, 20)) == sh(2026, 10, 1, 0)
    assert s.next_open(sh(2026, 10, 1, 12)) == sh(2026, 10, 8, 0)


def test_unknown_schedule():
    s = compile_schedule(None, tz="Asia/Shanghai")
    assert not s.known and not s.always_open
    t = sh(2026, 3, 4, 10)
    assert not s.is_open(t)
    assert s.next_open(t) is None and s.next_close(t) is None
    assert not s.open_for(t, 0)


def test_never_opens_within_a_year():
    s = compile_schedule("off", tz="Asia/Shanghai")
    assert s.next_open(sh(2026, 3, 4, 10)) is None
    s2 = compile_schedule("2020 Mo-Fr 09:00-17:00", tz="Asia/Shanghai")
    assert s2.next_open(sh(2026, 3, 4, 10)) is None


def test_open_for_across_closing_time(hall):
    wed = (2026, 3, 4)
    assert hall.open_for(sh(*wed, 16, 0), 30)
    assert hall.open_for(sh(*wed, 16, 30), 30)  # closes exactly at the margin
    assert not hall.open_for(sh(*wed, 16, 45), 30)
    assert not hall.open_for(sh(*wed, 11, 45), 30)  # lunch break
    assert not hall.open_for(sh(*wed, 12, 30), 0)  # closed now
    assert hall.open_for(sh(*wed, 12, 0) - timedelta(seconds=1), 0)
    # The day before National Day: 16:45 + 30 min would run into the break.
    assert not hall.open_for(sh(2026, 9, 30, 16, 45), 30)
    for bad in (-1, float("nan"), "30"):
        with pytest.raises(InvalidParameter):
            hall.open_for(sh(*wed, 10), bad)


def test_open_for_over_midnight():
    s = compile_schedule("Mo-Su 20:00-02:00", tz="Asia/Shanghai")
    assert s.open_for(sh(2026, 3, 4, 23, 30), 120)
    assert not s.open_for(sh(2026, 3, 4, 23, 30), 180)
    assert s.next_close(sh(2026, 3, 4, 23, 30)) == sh(2026, 3, 5, 2)


def test_shanghai_given_in_utc():
    s = compile_schedule("Mo-Fr 09:00-17:00", tz="Asia/Shanghai")
    # 00:30 UTC = 08:30 Shanghai (closed), 01:30 UTC = 09:30 (open).
    assert not s.is_open(datetime(2026, 3, 4, 0, 30, tzinfo=UTC))
    assert s.is_open(datetime(2026, 3, 4, 1, 30, tzinfo=UTC))
    # Sunday 23:30 UTC is already Monday 07:30 in Shanghai.
    assert s.next_open(datetime(2026, 3, 8, 23, 30, tzinfo=UTC)) == datetime(
        2026, 3, 9, 1, 0, tzinfo=UTC
    )


def test_helsinki_across_dst_change():
    # EU summer time starts Sun 2026-03-29 at 01:00 UTC (03:00 -> 04:00 local).
    s = compile_schedule("Mo-Fr 09:00-17:00", tz="Europe/Helsinki")
    # Friday 27 March: EET, UTC+2 -> 09:00 local = 07:00 UTC.
    assert s.is_open(datetime(2026, 3, 27, 7, 0, tzinfo=UTC))
    assert not s.is_open(datetime(2026, 3, 27, 6, 59, tzinfo=UTC))
    # Monday 30 March: EEST, UTC+3 -> 09:00 local = 06:00 UTC.
    assert s.is_open(datetime(2026, 3, 30, 6, 0, tzinfo=UTC))
    assert not s.is_open(datetime(2026, 3, 30, 5, 59, tzinfo=UTC))
    nxt = s.next_open(datetime(2026, 3, 27, 15, 0, tzinfo=UTC))  # Fri 17:00 local
    assert nxt == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
    assert nxt.utcoffset() == timedelta(hours=3) and str(nxt.tzinfo) == "Europe/Helsinki"
    # A 24-hour span over the night of the change is 23 real hours long.
    n = compile_schedule("Sa 12:00-24:00; Su 00:00-12:00", tz="Europe/Helsinki")
    start = datetime(2026, 3, 28, 12, 0, tzinfo=HEL)
    end = n.next_close(start)
    assert end == datetime(2026, 3, 29, 12, 0, tzinfo=HEL)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)
    assert n.open_for(start, 22 * 60 + 59) and not n.open_for(start, 23 * 60 + 1)


def test_opening_at_a_nonexistent_local_time():
    # 03:30 does not exist in Helsinki on 2026-03-29; the result is a real instant.
    s = compile_schedule("Su 03:30-05:00", tz="Europe/Helsinki")
    got = s.next_open(datetime(2026, 3, 28, 12, tzinfo=UTC))
    assert got is not None
    assert got.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert got.utcoffset() == timedelta(hours=3)


def test_compile_is_cached():
    a = compile_schedule(HALL, tz="Asia/Shanghai", calendar=get_calendar("cn"))
    b = compile_schedule(" " + HALL + " ", tz="Asia/Shanghai", calendar=get_calendar("cn"))
    assert a is b
    assert compile_schedule(HALL, tz="Asia/Shanghai") is not a


def test_is_open_is_fast(hall):
    times = [sh(2026, 3, 4, 8) + timedelta(minutes=7 * i) for i in range(2000)]
    times += [sh(2026, 10, 1, 8) + timedelta(minutes=7 * i) for i in range(2000)]  # holidays
    for t in times[:50]:
        hall.is_open(t)
    start = _time.perf_counter()
    opened = sum(hall.is_open(t) for t in times)
    per_call_us = (_time.perf_counter() - start) / len(times) * 1e6
    assert 0 < opened < len(times)
    assert per_call_us < 100  # typically ~3 us; generous for a shared CI machine


@pytest.mark.parametrize(("expr", "tz"), [
    (HALL, "Asia/Shanghai"),
    ("Mo-Su 08:00-20:00; PH 10:00-16:00", "Asia/Shanghai"),
    ("Mo-Fr 22:00-02:00", "Asia/Shanghai"),
    ("24/7; PH off", "Asia/Shanghai"),
    ("24/7", "Asia/Shanghai"),
    ("Mo-Fr 09:00-17:00", "Europe/Helsinki"),  # across the October DST change
    ("Dec 25 10:00-12:00", "Asia/Shanghai"),  # opens once a year
])
def test_state_equals_the_walk_at_every_instant(expr, tz, cn):
    """``state`` (with its kept span) answers as is_open + next_close / next_open, fresh."""
    kept = compile_schedule(expr, tz=tz, calendar=cn)
    rng = random.Random(7)
    at = datetime(2026, 9, 24, 6, 0, 7, tzinfo=UTC)  # across National Day and the DST change
    for _ in range(1500):
        at += timedelta(seconds=rng.choice([1, 59, 600, 3599, 3 * 3600, 11 * 3600]))
        fresh = Schedule(expr, tz, cn)  # no kept span
        is_open = fresh.is_open(at)
        want = (True, fresh.next_close(at)) if is_open else (False, fresh.next_open(at))
        assert kept.state(at) == want, at
