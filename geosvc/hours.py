"""Opening hours in OpenStreetMap ``opening_hours`` syntax, with official calendars.

The rules are parsed and evaluated by the maintained ``opening-hours-py``
parser (``import opening_hours``); this module only adds what the parser
cannot know: the dataset's time zone and an official holiday calendar.

Calendar semantics (for venues that follow the official calendar)
-----------------------------------------------------------------
* On a **statutory holiday** (every day of an official break, e.g. all seven
  days 2026-10-01..07 of National Day, including its weekend days) the
  expression is evaluated as on a public holiday: the ``PH`` rules apply.
  ``"Mo-Fr 09:00-17:00; PH off"`` is closed on a holiday Wednesday.  An
  expression **without** a ``PH`` rule keeps its ordinary weekday rules on
  holidays (OSM semantics: ``PH`` only matters where it is mentioned).
* On a **make-up working day** (调休, a Saturday or Sunday that is an
  official working day) the venue opens as on an ordinary working weekday:
  the rules of the **Monday of the same ISO week** are used (the calendar data
  does not say which weekday a make-up day stands in for).
* Without a calendar (``calendar=None``), 2026-10-01 is an ordinary Thursday
  and ``PH`` rules never apply.
* Years outside the calendar data (chinese-calendar 1.11 covers 2004-2026)
  have no holidays and no make-up days; upgrade ``chinese-calendar`` yearly.

How the parser still does all rule evaluation: the parser only knows the
holidays of built-in country calendars, and its ``CN`` calendar marks one day
per festival and no make-up days.  So a special day *D* is evaluated at a
**substitute date** *S* with the same time of day: for a holiday, the nearest
date with the same weekday that the parser itself reports as a public holiday
of one of its countries (usually *D* itself); for a make-up day, the Monday of
*D*'s week, with no holiday calendar.  Weekday, time and ``PH`` rules are
exact; month / week / year selectors are evaluated at *S* (at most a few weeks
away), and rules that run past midnight into a special day take the previous
day of *S*.  Ordinary days are evaluated as they are.

Cost: compiled expressions are cached (:func:`compile_schedule` is an LRU
cache); :meth:`Schedule.is_open` takes a few microseconds.
"""

from __future__ import annotations

import bisect
import json
import math
import numbers
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cache, lru_cache
from typing import Final, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import opening_hours
from chinese_calendar import constants

from geosvc.errors import InvalidParameter

__all__ = [
    "ANNOUNCED_KEY",
    "HolidayCalendar",
    "Schedule",
    "announced_days",
    "calendar_of",
    "compile_schedule",
    "calendar_named",
    "get_calendar",
    "holiday_warnings",
    "hours_problem",
    "readable_announced",
]

#: How far ahead next_open / next_close look before giving up, days.
HORIZON_DAYS: Final = 366
# Countries whose built-in parser calendars provide substitute public holidays;
# CN first so that a Chinese holiday the parser knows is evaluated on its own date.
_PH_COUNTRIES: Final = ("CN", "FR", "DE", "GB", "US", "IT", "ES", "NL", "SE", "FI",
                        "KR", "AU", "CA", "MX", "BR")
_MAX_STEPS: Final = 10_000
_ONE_DAY: Final = timedelta(days=1)


# --------------------------------------------------------------------------- calendars


class HolidayCalendar:
    """An official calendar: statutory holidays and make-up working days.

    Parameters
    ----------
    name : str
        Short name (``"cn"``).
    holidays : iterable of date
        Every day off of an official break (statutory holidays, including the
        weekend days inside a break): ``PH`` rules apply on them.
    makeup_workdays : iterable of date
        Weekend days that are official working days (调休).
    years : (int, int), optional
        First and last year the data covers (informational).

    Examples
    --------
    >>> cal = HolidayCalendar("x", [date(2026, 5, 1)], [date(2026, 5, 9)])
    >>> cal.is_holiday(date(2026, 5, 1)), cal.is_makeup_workday(date(2026, 5, 9))
    (True, True)
    """

    __slots__ = ("_holidays", "_makeup", "_special", "name", "years")

    def __init__(
        self,
        name: str,
        holidays: Iterable[date],
        makeup_workdays: Iterable[date],
        *,
        years: tuple[int, int] | None = None,
    ) -> None:
        self.name = name
        self._holidays = frozenset(_as_date(d) for d in holidays)
        self._makeup = frozenset(
            d for d in (_as_date(d) for d in makeup_workdays)
            if d.weekday() >= 5 and d not in self._holidays
        )
        self._special = tuple(sorted(self._holidays | self._makeup))
        if years is None and self._special:
            years = (self._special[0].year, self._special[-1].year)
        self.years = years

    def __repr__(self) -> str:
        return f"HolidayCalendar({self.name!r}, years={self.years})"

    @property
    def last_day(self) -> date | None:
        """The last date with holiday data (31 December of the last year), or None.

        After it, statutory holidays and make-up working days are unknown:
        every day is evaluated as an ordinary weekday.

        >>> HolidayCalendar("x", [date(2026, 5, 1)], []).last_day
        datetime.date(2026, 12, 31)
        """
        return None if self.years is None else date(self.years[1], 12, 31)

    def is_holiday(self, d: date) -> bool:
        """Return True if ``d`` is a statutory holiday (``PH`` rules apply)."""
        return _as_date(d) in self._holidays

    def is_makeup_workday(self, d: date) -> bool:
        """Return True if ``d`` is a weekend day that is an official working day (调休)."""
        return _as_date(d) in self._makeup

    def is_special(self, d: date) -> bool:
        """Return True if ``d`` is a holiday or a make-up working day."""
        d = _as_date(d)
        return d in self._holidays or d in self._makeup

    def next_special(self, d: date) -> date | None:
        """Return the first holiday or make-up day strictly after ``d``, or None."""
        i = bisect.bisect_right(self._special, _as_date(d))
        return self._special[i] if i < len(self._special) else None


def _as_date(d: date) -> date:
    return d.date() if isinstance(d, datetime) else d


@lru_cache(maxsize=1)
def _chinese_calendar() -> HolidayCalendar:
    years = sorted({d.year for d in constants.holidays} | {d.year for d in constants.workdays})
    # constants.holidays holds only the days of official breaks (ordinary
    # weekends are not in it); constants.workdays only the make-up working days.
    return HolidayCalendar(
        "cn", constants.holidays.keys(), constants.workdays.keys(), years=(years[0], years[-1])
    )


#: The dataset setting (``DatasetInfo.extra`` key) holding days announced after the package.
ANNOUNCED_KEY: Final = "holidays"


def announced_days(text: str | None) -> tuple[tuple[date, ...], tuple[date, ...]]:
    """Return the ``(holidays, make-up working days)`` of an announced-days setting.

    The setting is the JSON that ``geosvc dataset holidays`` stores:
    ``{"holidays": ["2027-01-01", ...], "workdays": [...]}``.  Empty for None.

    Raises
    ------
    InvalidParameter
        Named ``holidays`` when the text is not that JSON.

    >>> announced_days('{"holidays": ["2027-01-01"], "workdays": []}')
    ((datetime.date(2027, 1, 1),), ())
    """
    if not text:
        return (), ()
    try:
        raw = json.loads(text)
        return (tuple(date.fromisoformat(d) for d in raw["holidays"]),
                tuple(date.fromisoformat(d) for d in raw["workdays"]))
    except (ValueError, KeyError, TypeError) as exc:
        msg = f"is not a stored list of announced days ({exc})"
        raise InvalidParameter("holidays", msg) from None


@lru_cache(maxsize=16)
def _with_announced(base: HolidayCalendar, text: str) -> HolidayCalendar:
    """Return ``base`` with the years of the announced days taken from them."""
    holidays, workdays = announced_days(text)
    years = {d.year for d in holidays} | {d.year for d in workdays}
    kept_h = [d for d in base._holidays if d.year not in years]
    kept_w = [d for d in base._makeup if d.year not in years]
    covered = years | (set(range(base.years[0], base.years[1] + 1)) if base.years else set())
    if not covered:
        return base
    first = min(covered)
    last = first
    while last + 1 in covered:  # the data end where the first year without any is
        last += 1
    return HolidayCalendar(base.name, [*kept_h, *holidays], [*kept_w, *workdays],
                           years=(first, last))


def get_calendar(name: str | None, announced: str | None = None) -> HolidayCalendar | None:
    """Return the official holiday calendar called ``name``.

    Parameters
    ----------
    name : str or None
        ``"cn"`` (case-insensitive) for the Chinese official calendar
        (statutory holidays and make-up working days from ``chinese-calendar``);
        ``None``, ``""`` or ``"none"`` for no calendar.
    announced : str, optional
        The dataset's announced days (:data:`ANNOUNCED_KEY`, stored by
        ``geosvc dataset holidays``): each year they mention is taken from
        them instead of the package, so a data office can enter the State
        Council's notice before ``chinese-calendar`` publishes it.  The data
        then end on 31 December of the last year covered without a gap.

    Raises
    ------
    InvalidParameter
        Named ``calendar`` (a ``ValueError``) for any other name.

    Examples
    --------
    >>> cn = get_calendar("cn")
    >>> cn.is_holiday(date(2026, 10, 1)), cn.is_makeup_workday(date(2026, 10, 10))
    (True, True)
    >>> get_calendar(None) is None and get_calendar("none") is None
    True
    >>> more = get_calendar("cn", '{"holidays": ["2027-01-01"], "workdays": []}')
    >>> more.is_holiday(date(2027, 1, 1)), more.last_day.year - cn.last_day.year
    (True, 1)
    """
    if name is None:
        return None
    key = str(name).strip().lower()
    if key in ("", "none"):
        return None
    if key == "cn":
        base = _chinese_calendar()
        return _with_announced(base, announced) if announced else base
    msg = f"must be one of cn, none (got {name!r})"
    raise InvalidParameter("calendar", msg)


def calendar_named(name: str | None, announced: str | None = None) -> HolidayCalendar | None:
    """Return :func:`get_calendar` of ``name``, or None when the name is unknown.

    For reports about a stored dataset (``geosvc doctor`` names a bad
    calendar itself); request parsing uses :func:`get_calendar`.  A stored
    announced-days setting that cannot be read is left out (the doctor
    reports it).

    >>> calendar_named("cn").name, calendar_named("nope")
    ('cn', None)
    """
    try:
        return get_calendar(name, readable_announced(announced))
    except InvalidParameter:
        return None


def readable_announced(text: str | None) -> str | None:
    """Return ``text`` when :func:`announced_days` can read it, else None (left out).

    >>> readable_announced('{"holidays": [], "workdays": []}') is not None
    True
    >>> readable_announced("2027-01-01") is None
    True
    """
    try:
        announced_days(text)
    except InvalidParameter:
        return None
    return text


class _Dataset(Protocol):
    @property
    def calendar(self) -> str | None: ...

    @property
    def extra(self) -> Mapping[str, str]: ...


def calendar_of(info: _Dataset) -> HolidayCalendar | None:
    """Return a dataset's calendar: its ``calendar`` with its announced days (if any).

    ``info`` is a :class:`~geosvc.model.DatasetInfo` (or anything with
    ``calendar`` and ``extra``).  Unknown names give None, as
    :func:`calendar_named`.
    """
    return calendar_named(info.calendar, info.extra.get(ANNOUNCED_KEY))


#: The ``code`` of the warning an answer carries when a time lies beyond the holiday data.
HOLIDAYS_UNKNOWN: Final = "holidays-unknown"


def holiday_warnings(
    calendar: HolidayCalendar | None, times: Iterable[datetime | date | None],
    *, tz: tzinfo | None = None,
) -> list[dict[str, str]]:
    """Return ``[{code, message}]`` when one of ``times`` lies beyond the holiday data.

    An answer evaluated after :attr:`HolidayCalendar.last_day` (local dates)
    treats every statutory holiday as an ordinary day, silently; the warning
    says so.  Empty list when every time is covered, ``calendar`` is None or
    ``times`` holds only None.

    Parameters
    ----------
    calendar : HolidayCalendar or None
        The dataset's calendar.
    times : iterable of datetime, date or None
        The times the answer judged opening hours at (departure, arrivals).
    tz : tzinfo, optional
        The dataset's time zone: aware datetimes are dated in it.

    Examples
    --------
    >>> cn = get_calendar("cn")
    >>> holiday_warnings(cn, [date(2026, 10, 1)])
    []
    >>> holiday_warnings(cn, [None, date(2027, 10, 1)])[0]["code"]
    'holidays-unknown'
    """
    end = None if calendar is None else calendar.last_day
    if calendar is None or end is None:
        return []
    days = (_as_date(t.astimezone(tz) if tz is not None and isinstance(t, datetime)
                     and t.tzinfo is not None else t) for t in times if t is not None)
    beyond = [d for d in days if d > end]
    if not beyond:
        return []
    first = min(beyond)
    msg = (f"the {calendar.name} holiday data ends on {end.isoformat()}: statutory "
           f"holidays and make-up working days on {first.isoformat()} are unknown, so "
           "opening states are those of an ordinary day and may be wrong")
    return [{"code": HOLIDAYS_UNKNOWN, "message": msg}]


# --------------------------------------------------------------------------- parsing


_WHERE = re.compile(r"-->\s*\d+:(\d+)")


def hours_problem(expr: str) -> str | None:
    """Say why ``expr`` is not valid ``opening_hours`` syntax, or return None.

    Examples
    --------
    >>> hours_problem("Mo-Fr 09:00-17:00; PH off") is None
    True
    >>> hours_problem("Mo-Fr 25:00-26:00")
    'not valid opening_hours syntax at character 7 (expected ... timespan, or holiday)'
    >>> hours_problem("  ")
    'is empty'
    """
    if not isinstance(expr, str):
        return "must be text in OpenStreetMap opening_hours syntax"
    text = expr.strip()
    if not text:
        return "is empty"
    try:
        _parse(text, None)
    # The package's stub omits ParserError, which the module exports at run time.
    except opening_hours.ParserError as exc:  # type: ignore[attr-defined]
        return _describe(exc)
    return None


def _describe(exc: Exception) -> str:
    message = str(exc)
    where = _WHERE.search(message)
    lines = [ln.strip() for ln in message.splitlines()]
    detail = next((ln[1:].strip() for ln in lines if ln.startswith("=")), "")
    text = "not valid opening_hours syntax"
    if where:
        text += f" at character {where.group(1)}"
    if detail:
        text += f" ({detail})"
    return text


@lru_cache(maxsize=8192)
def _parse(expr: str, country: str | None) -> opening_hours.OpeningHours:
    # Naive local times in and out: the schedule converts zones itself (faster,
    # and the parser only accepts ZoneInfo-aware datetimes).
    return opening_hours.OpeningHours(
        expr, country=country, auto_country=False, auto_timezone=False
    )


@cache
def _ph_probe(country: str) -> opening_hours.OpeningHours:
    return opening_hours.OpeningHours(
        "PH", country=country, auto_country=False, auto_timezone=False
    )


@lru_cache(maxsize=4096)
def _holiday_substitute(d: date) -> tuple[str | None, date]:
    """Return the (country, date) nearest ``d`` with its weekday that the parser calls PH."""
    for weeks in range(0, 60):
        step = timedelta(weeks=weeks)
        for s in ((d,) if weeks == 0 else (d - step, d + step)):
            noon = datetime.combine(s, time(12))
            for country in _PH_COUNTRIES:
                if _ph_probe(country).is_open(noon):
                    return country, s
    return None, d  # not reached with the parser's calendars; evaluate as ordinary


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        msg = f"is not a known IANA time zone: {tz!r}"
        raise InvalidParameter("tz", msg) from None


# --------------------------------------------------------------------------- schedules


@dataclass(frozen=True, slots=True)
class _Regime:
    oh: opening_hours.OpeningHours
    offset: timedelta  # substitute time = real local time + offset
    end: datetime | None  # naive local end of the regime (exclusive)


class Schedule:
    """A compiled opening-hours schedule in one time zone; build with :func:`compile_schedule`.

    Every method takes a timezone-aware ``datetime`` in any zone (converted to
    the schedule's ``tz``) and raises ``ValueError`` for a naive one.
    Returned datetimes are aware, in ``tz``.  An unknown schedule (``expr``
    None) is never open.

    Attributes
    ----------
    expr : str or None
        The expression (stripped).
    tz : str
        IANA zone of the venue.
    calendar : HolidayCalendar or None
    known : bool
        False when ``expr`` is None.
    always_open : bool
        True for ``24/7`` (and equivalents such as ``Mo-Su 00:00-24:00``).
    """

    __slots__ = ("_base", "_span", "_zone", "always_open", "calendar", "expr", "known", "tz")

    def __init__(self, expr: str | None, tz: str, calendar: HolidayCalendar | None) -> None:
        self.tz = tz
        self._zone = _zone(tz)
        self.calendar = calendar
        self.expr = None if expr is None else expr.strip()
        self.known = self.expr is not None
        self._base: opening_hours.OpeningHours | None = None
        # the last span of local time over which `state` found the same answer:
        # (start, end (exclusive), open, the next change as answered); one tuple,
        # replaced whole, so threads may share it
        self._span: tuple[datetime, datetime, bool, datetime] | None = None
        self.always_open = False
        if self.expr is not None:
            problem = hours_problem(self.expr)
            if problem is not None:
                raise InvalidParameter("opening_hours", problem)
            self._base = _parse(self.expr, None)
            self.always_open = str(self._base.normalize()) == "24/7"

    def __repr__(self) -> str:
        cal = self.calendar.name if self.calendar else None
        return f"Schedule({self.expr!r}, tz={self.tz!r}, calendar={cal!r})"

    # -- time conversion
    def _local(self, dt: datetime) -> datetime:
        if not isinstance(dt, datetime):
            msg = f"`dt` must be a datetime, got {type(dt).__name__}"
            raise TypeError(msg)
        if dt.tzinfo is None or dt.utcoffset() is None:
            msg = "`dt` must be timezone-aware"
            raise ValueError(msg)
        return dt.astimezone(self._zone).replace(tzinfo=None)

    def _aware(self, local: datetime) -> datetime:
        # Round-trip through UTC so that wall times in a DST gap become real instants.
        return local.replace(tzinfo=self._zone).astimezone(UTC).astimezone(self._zone)

    def _regime(self, t: datetime) -> _Regime:
        base = self._base
        if base is None:  # the public methods answer unknown hours before asking
            msg = "a schedule of unknown hours has no regime"
            raise RuntimeError(msg)
        cal = self.calendar
        day = t.date()
        if cal is None:
            return _Regime(base, timedelta(0), None)
        if cal.is_holiday(day):
            country, sub = _holiday_substitute(day)
            oh = _parse(self.expr, country) if country else base
            return _Regime(oh, sub - day, datetime.combine(day + _ONE_DAY, time()))
        if cal.is_makeup_workday(day):
            monday = day - timedelta(days=day.weekday())
            return _Regime(base, monday - day, datetime.combine(day + _ONE_DAY, time()))
        nxt = cal.next_special(day)
        until = None if nxt is None else datetime.combine(nxt, time())
        return _Regime(base, timedelta(0), until)

    def _step(self, t: datetime) -> tuple[bool, datetime | None]:
        """State at local ``t`` and the next local time it may change (None = never)."""
        r = self._regime(t)
        s = t + r.offset
        is_open = r.oh.is_open(s)
        change = r.oh.next_change(s)
        nxt = None if change is None else change - r.offset
        if r.end is not None and (nxt is None or nxt > r.end):
            nxt = r.end
        if nxt is not None and nxt <= t:  # defensive: guarantee progress
            nxt = t + timedelta(minutes=1)
        return is_open, nxt

    def _find(self, t: datetime, want_open: bool, limit: datetime) -> datetime | None:
        """First local time >= t whose state is ``want_open``, before ``limit``."""
        for _ in range(_MAX_STEPS):
            if t > limit:
                return None
            is_open, nxt = self._step(t)
            if is_open == want_open:
                return t
            if nxt is None:
                return None
            t = nxt
        return None

    # -- public
    def is_open(self, dt: datetime) -> bool:
        """Whether the venue is open at ``dt`` (aware, any zone).

        Examples
        --------
        >>> s = compile_schedule("Mo-Fr 09:00-17:00; PH off", tz="Asia/Shanghai",
        ...                      calendar=get_calendar("cn"))
        >>> s.is_open(datetime(2026, 9, 30, 2, tzinfo=UTC))  # Wed 10:00 local
        True
        >>> s.is_open(datetime(2026, 10, 1, 2, tzinfo=UTC))  # National Day
        False
        """
        t = self._local(dt)
        if self.always_open:
            return True
        if self._base is None:
            return False
        cal = self.calendar
        if cal is not None and cal.is_special(t.date()):
            r = self._regime(t)
            return r.oh.is_open(t + r.offset)
        return self._base.is_open(t)

    def next_open(self, dt: datetime) -> datetime | None:
        """When the venue is next open: ``dt`` itself (in ``tz``) if open now.

        None if it does not open within a year (or the schedule is unknown).
        """
        t = self._local(dt)
        if self.always_open:
            return dt.astimezone(self._zone)
        if self._base is None:
            return None
        found = self._find(t, True, t + timedelta(days=HORIZON_DAYS))
        if found is None:
            return None
        return dt.astimezone(self._zone) if found == t else self._aware(found)

    def next_close(self, dt: datetime) -> datetime | None:
        """Return the next time after ``dt`` the venue goes from open to closed.

        When closed at ``dt`` this is the end of the next opening.  None when
        it never closes within a year (``24/7``) or never opens (unknown).
        """
        t = self._local(dt)
        if self.always_open or self._base is None:
            return None
        limit = t + timedelta(days=HORIZON_DAYS)
        opened = self._find(t, True, limit)
        if opened is None:
            return None
        closed = self._find(opened, False, limit)
        return None if closed is None else self._aware(closed)

    def state(self, dt: datetime) -> tuple[bool, datetime | None]:
        """Return ``(is_open(dt), next_close(dt))`` when open, else ``(False, next_open(dt))``.

        The answer holds unchanged from ``dt`` to the next change (the
        schedule is open, or closed, all along and the next change is the
        same instant), so the last such span is kept and a later ``dt``
        inside it is answered without walking the schedule again: nearest
        answers ask this of the same venues at nearby instants many times.

        Examples
        --------
        >>> s = compile_schedule("Mo-Fr 09:00-17:00", tz="Asia/Shanghai")
        >>> is_open, closes = s.state(datetime(2026, 9, 30, 2, tzinfo=UTC))  # Wed 10:00 local
        >>> is_open, closes.isoformat()
        (True, '2026-09-30T17:00:00+08:00')
        >>> s.state(datetime(2026, 9, 30, 3, tzinfo=UTC))[1].hour  # kept span: closes at 17
        17
        >>> is_open, opens = s.state(datetime(2026, 9, 30, 10, tzinfo=UTC))  # Wed 18:00 local
        >>> is_open, opens.isoformat()
        (False, '2026-10-01T09:00:00+08:00')
        """
        t = self._local(dt)
        span = self._span
        if span is not None and span[0] <= t < span[1]:
            return span[2], span[3]
        if self.always_open or self._base is None:
            is_open = self.is_open(dt)
            return is_open, (self.next_close(dt) if is_open else self.next_open(dt))
        is_open = self.is_open(dt)
        limit = t + timedelta(days=HORIZON_DAYS)
        # as next_close / next_open walk it, keeping the local instant of the change
        if is_open:
            opened = self._find(t, True, limit)
            end = None if opened is None else self._find(opened, False, limit)
            if end is None:
                return True, None
            if opened != t:  # the walk disagrees with is_open at t: answer, keep nothing
                return True, self._aware(end)
        else:
            end = self._find(t, True, limit)
            if end is None:
                return False, None
            if end == t:  # as above
                return False, dt.astimezone(self._zone)
        change = self._aware(end)
        self._span = (t, end, is_open, change)
        return is_open, change

    def open_for(self, dt: datetime, minutes: float) -> bool:
        """Whether the venue is open at ``dt`` and stays open ``minutes`` more.

        Used for "open on arrival with a 30-minute margin".

        Raises
        ------
        InvalidParameter
            ``minutes`` is negative or not a number.
        """
        if not (
            isinstance(minutes, numbers.Real)
            and not isinstance(minutes, bool)
            and math.isfinite(minutes)
            and minutes >= 0
        ):
            msg = "must be a number of minutes >= 0"
            raise InvalidParameter("minutes", msg)
        if not self.is_open(dt):
            return False
        if self.always_open or minutes == 0:
            return True
        t = self._local(dt)
        # Real elapsed time: add in UTC (aware arithmetic in one zone is wall-clock).
        until = dt.astimezone(UTC) + timedelta(minutes=minutes)
        closed = self._find(t, False, self._local(until))
        if closed is None:
            return True
        return self._aware(closed).astimezone(UTC) >= until


@lru_cache(maxsize=65536)
def _compile(expr: str | None, tz: str, calendar: HolidayCalendar | None) -> Schedule:
    return Schedule(expr, tz, calendar)


def compile_schedule(
    expr: str | None, *, tz: str, calendar: HolidayCalendar | None = None
) -> Schedule:
    """Compile an ``opening_hours`` expression for a venue in time zone ``tz``.

    Results are cached (same arguments give the same immutable ``Schedule``).

    Parameters
    ----------
    expr : str or None
        OpenStreetMap ``opening_hours`` syntax; None = unknown hours.
    tz : str
        IANA zone of the venue, e.g. ``"Asia/Shanghai"``.
    calendar : HolidayCalendar or None
        Official calendar the venue follows (see the module notes).

    Raises
    ------
    InvalidParameter
        Named ``opening_hours`` when ``expr`` cannot be parsed, ``tz`` for an
        unknown zone.

    Examples
    --------
    >>> s = compile_schedule("Mo-Fr 09:00-12:00,13:30-17:00", tz="Asia/Shanghai")
    >>> s.next_open(datetime(2026, 3, 4, 12, 30, tzinfo=ZoneInfo("Asia/Shanghai")))
    datetime.datetime(2026, 3, 4, 13, 30, tzinfo=zoneinfo.ZoneInfo(key='Asia/Shanghai'))
    >>> compile_schedule("24/7", tz="UTC").always_open
    True
    """
    if expr is not None and not isinstance(expr, str):
        msg = "must be text in OpenStreetMap opening_hours syntax"
        raise InvalidParameter("opening_hours", msg)
    if not isinstance(tz, str):
        msg = f"is not a known IANA time zone: {tz!r}"
        raise InvalidParameter("tz", msg)
    return _compile(None if expr is None else expr.strip(), tz, calendar)
