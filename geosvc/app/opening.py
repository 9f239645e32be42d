"""A venue's opening days: the open intervals of the next days, with calendar marks.

The venue page lists the next seven days from its schedule
(:class:`~geosvc.hours.Schedule`): the intervals are found by stepping
``next_open`` / ``next_close`` within each day, so lunch breaks, statutory
holidays and make-up working days (调休) come out as the schedule evaluates them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from geosvc.app.venues import venue_position

if TYPE_CHECKING:
    from geosvc.app.service import Snapshot
    from geosvc.hours import Schedule

__all__ = ["DayHours", "VenueWeek", "day_hours", "venue_week"]

#: Most intervals looked for in one day (a guard against odd expressions).
_MAX_INTERVALS = 24


@dataclass(frozen=True, slots=True)
class DayHours:
    """One local day of a venue.

    Attributes
    ----------
    day : date
        The local date.
    intervals : tuple of (str, str)
        Open intervals as ``("HH:MM", "HH:MM")`` local times, the end ``"24:00"``
        when open past midnight; empty when closed all day.
    holiday : bool
        A statutory holiday of the venue's official calendar.
    makeup_workday : bool
        A weekend day that is an official working day (调休).
    """

    day: date
    intervals: tuple[tuple[str, str], ...]
    holiday: bool = False
    makeup_workday: bool = False


@dataclass(frozen=True, slots=True)
class VenueWeek:
    """The next days of one venue and what its schedule says about holidays.

    Attributes
    ----------
    position : int
        Venue position in the snapshot's index.
    days : tuple of DayHours
        From the start date on.
    known : bool
        False when the venue's hours are unknown (``days`` then have no intervals).
    calendar : str or None
        Name of the official calendar the venue follows (``"cn"``), else None.
    """

    position: int
    days: tuple[DayHours, ...]
    known: bool
    calendar: str | None


def _hhmm(moment: datetime, day_start: datetime) -> str:
    minutes = round((moment - day_start).total_seconds() / 60)
    if minutes >= 24 * 60:
        return "24:00"
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def day_hours(schedule: Schedule, day: date) -> DayHours:
    """Return the open intervals of ``schedule`` on the local date ``day``.

    Examples
    --------
    >>> from geosvc.hours import compile_schedule
    >>> s = compile_schedule("Mo-Fr 09:00-12:00,13:30-17:00", tz="Asia/Shanghai")
    >>> day_hours(s, date(2026, 3, 4)).intervals
    (('09:00', '12:00'), ('13:30', '17:00'))
    >>> day_hours(s, date(2026, 3, 7)).intervals
    ()
    """
    cal = schedule.calendar
    holiday = bool(cal and cal.is_holiday(day))
    makeup = bool(cal and cal.is_makeup_workday(day))
    start = datetime.combine(day, time()).replace(tzinfo=_zone(schedule))
    end = datetime.combine(day + timedelta(days=1), time()).replace(tzinfo=_zone(schedule))
    if schedule.always_open:
        return DayHours(day, (("00:00", "24:00"),), holiday, makeup)
    intervals: list[tuple[str, str]] = []
    t = start
    for _ in range(_MAX_INTERVALS):
        if not schedule.known:
            break
        opened = schedule.next_open(t)
        if opened is None or opened >= end:
            break
        closed = schedule.next_close(opened)
        stop = end if closed is None or closed > end else closed
        intervals.append((_hhmm(opened, start), _hhmm(stop, start)))
        if stop >= end:
            break
        t = stop
    return DayHours(day, tuple(intervals), holiday, makeup)


def _zone(schedule: Schedule) -> ZoneInfo:
    return ZoneInfo(schedule.tz)


def venue_week(snap: Snapshot, code: str, start: date, *, days: int = 7) -> VenueWeek:
    """Return venue ``code``'s next ``days`` days from ``start``; raise :class:`NotFound`."""
    pos = venue_position(snap, code)
    schedule = snap.index.schedule(pos)
    out = tuple(day_hours(schedule, start + timedelta(days=i)) for i in range(days))
    cal = schedule.calendar.name if schedule.calendar is not None else None
    return VenueWeek(position=pos, days=out, known=schedule.known, calendar=cal)
