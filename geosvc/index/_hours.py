"""Opening hours of a snapshot: schedule ids per venue, lazy compilation, open-at checks.

Venues sharing an opening-hours expression (and the same use of the official
calendar) share one schedule id; each distinct schedule is compiled on first
use and kept by the snapshot's :class:`HoursTable`, and one query's open-at
checks evaluate each distinct schedule once (:class:`OpenAt`).
"""

from __future__ import annotations

import threading
import warnings
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from geosvc.errors import InvalidParameter
from geosvc.hours import ANNOUNCED_KEY, compile_schedule, get_calendar, readable_announced

if TYPE_CHECKING:
    from geosvc.hours import HolidayCalendar, Schedule
    from geosvc.model import DatasetInfo
    from geosvc.table import VenueTable

Positions = NDArray[np.intp]


def check_time(at: datetime | None, name: str = "open_at") -> None:
    """Raise unless ``at`` is None or a timezone-aware datetime.

    Raises
    ------
    InvalidParameter
        Named ``name``: ``at`` is naive or not a datetime.
    """
    if at is not None and (not isinstance(at, datetime) or at.utcoffset() is None):
        msg = "must be a timezone-aware datetime"
        raise InvalidParameter(name, msg)


def schedule_ids(
    venues: VenueTable, info: DatasetInfo
) -> tuple[NDArray[np.int32], tuple[tuple[str | None, bool], ...]]:
    """Give each distinct schedule of ``venues`` an id (vectorised over the columns).

    Returns
    -------
    ids : numpy.ndarray of int32
        Schedule id of each venue (writable; the caller freezes it).
    keys : tuple of (expression, official calendar)
        Indexed by schedule id, in order of (expression id, flag); the
        official-calendar flag is False when the dataset has no calendar.
    """
    use_cal = info.calendar not in (None, "", "none")
    official = venues.official_calendar if use_cal else np.zeros(len(venues), dtype=bool)
    # keys are small (2 per expression): the distinct ones by counting, not sorting
    key = (venues.hours.astype(np.int32) + 1) * 2 + official
    uniq = np.flatnonzero(np.bincount(key, minlength=2))
    lut = np.zeros(2 * len(venues.hours_texts) + 2, dtype=np.int32)
    lut[uniq] = np.arange(len(uniq), dtype=np.int32)
    texts = venues.hours_texts
    keys = tuple((None if k // 2 == 0 else texts[k // 2 - 1], bool(k % 2))
                 for k in uniq.tolist())
    return lut[key], keys


class HoursTable:
    """Opening hours of one snapshot's venues: a schedule id per venue, compiled lazily.

    Venues sharing an expression (and the same use of the official calendar)
    share one schedule; each distinct schedule is compiled on first use and
    kept.  The table is owned by one :class:`~geosvc.index.ServiceIndex` and
    is safe to share between threads (compilation races only build a value
    twice).

    Parameters
    ----------
    venues : VenueTable
        The snapshot's venues, by position.
    info : DatasetInfo
        Time zone and official calendar of the schedules.
    """

    __slots__ = ("_calendar", "_info", "_keys", "_lock", "_schedules", "ids")

    ids: NDArray[np.int32]
    """Schedule id of each venue position (read-only)."""

    def __init__(self, venues: VenueTable, info: DatasetInfo) -> None:
        ids, self._keys = schedule_ids(venues, info)
        ids.flags.writeable = False
        self.ids = ids
        self._info = info
        self._schedules: dict[int, Schedule] = {}
        self._lock = threading.Lock()
        self._calendar: HolidayCalendar | None = None

    def schedule(self, pos: int) -> Schedule:
        """Return the compiled schedule of venue ``pos`` (cached per expression).

        An expression that does not parse is treated as unknown hours (never
        open) with a warning; importers reject such rows before they get here.
        """
        return self.compiled(int(self.ids[pos]))

    def compiled(self, sid: int) -> Schedule:
        """Return schedule ``sid``, compiling it on first use."""
        sched = self._schedules.get(sid)
        if sched is None:
            sched = self._compile(sid)
        return sched

    def _compile(self, sid: int) -> Schedule:
        # geosvc.hours pulls in the opening-hours parser: loaded on the first schedule only.

        expr, official = self._keys[sid]
        with self._lock:
            if official and self._calendar is None:
                self._calendar = get_calendar(self._info.calendar, readable_announced(
                    self._info.extra.get(ANNOUNCED_KEY)))
            cal = self._calendar if official else None
        try:
            sched = compile_schedule(expr, tz=self._info.timezone, calendar=cal)
        except InvalidParameter as exc:
            warnings.warn(f"opening_hours {expr!r} ignored: {exc.detail}", stacklevel=5)
            sched = compile_schedule(None, tz=self._info.timezone, calendar=cal)
        self._schedules[sid] = sched
        return sched

    def open_checker(self, at: datetime) -> OpenAt:
        """Return a checker of "open at ``at``" evaluating each distinct schedule once."""
        return OpenAt(self, at)


class OpenAt:
    """Open-at-``at`` checks for one query, memoised per distinct schedule."""

    __slots__ = ("_at", "_hours", "_memo")

    def __init__(self, hours: HoursTable, at: datetime) -> None:
        self._hours = hours
        self._at = at
        self._memo: dict[int, bool] = {}

    def _sched_open(self, sid: int) -> bool:
        ok = self._memo.get(sid)
        if ok is None:
            ok = self._memo[sid] = bool(self._hours.compiled(sid).is_open(self._at))
        return ok

    def one(self, pos: int) -> bool:
        """Return whether venue ``pos`` is open."""
        return self._sched_open(int(self._hours.ids[pos]))

    def __call__(self, positions: Positions) -> NDArray[np.bool_]:
        """Return a boolean array: which of ``positions`` are open."""
        sids, inverse = np.unique(self._hours.ids[positions], return_inverse=True)
        out = np.fromiter(
            (self._sched_open(s) for s in sids.tolist()), dtype=bool, count=len(sids)
        )
        return out[inverse]
