"""Opening hours of a snapshot: schedule ids per venue, lazy compilation, open-at checks.

Venues sharing an opening-hours expression (and the same use of the official
calendar) share one schedule id; each distinct schedule is compiled on first
use and cached on the snapshot (:class:`HoursMixin`), and one query's
open-at checks evaluate each distinct schedule once (:class:`OpenAt`).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from geosvc.errors import InvalidParameter

if TYPE_CHECKING:
    from geosvc.hours import Schedule
    from geosvc.model import DatasetInfo, Venue

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
    venues: Sequence[Venue], info: DatasetInfo
) -> tuple[NDArray[np.int32], tuple[tuple[str | None, bool], ...]]:
    """Give each distinct schedule of ``venues`` an id.

    Returns
    -------
    ids : numpy.ndarray of int32
        Schedule id of each venue (writable; the caller freezes it).
    keys : tuple of (expression, official calendar)
        Indexed by schedule id; the official-calendar flag is False when the
        dataset has no calendar.
    """
    use_cal = info.calendar not in (None, "", "none")
    sched_ids: dict[tuple[str | None, bool], int] = {}
    ids = np.fromiter(
        (
            sched_ids.setdefault(
                (v.opening_hours, bool(v.official_calendar) and use_cal), len(sched_ids)
            )
            for v in venues
        ),
        np.int32,
        len(venues),
    )
    return ids, tuple(sched_ids)


class HoursMixin:
    """Schedule methods of :class:`~geosvc.index.ServiceIndex` (no state of its own).

    The snapshot provides the attributes annotated here; :meth:`_init_hours`
    sets the schedule caches during the build.
    """

    __slots__ = ()

    info: DatasetInfo
    open_margin_min: float
    _sched: NDArray[np.int32]
    _sched_keys: tuple[tuple[str | None, bool], ...]
    _schedules: dict[int, Schedule]
    _sched_lock: threading.Lock
    _calendar: Any

    def _init_hours(self, venues: Sequence[Venue], info: DatasetInfo) -> NDArray[np.int32]:
        """Set the schedule caches; return the (writable) schedule id of each venue."""
        ids, self._sched_keys = schedule_ids(venues, info)
        self._schedules = {}
        self._sched_lock = threading.Lock()
        self._calendar = None
        return ids

    def schedule(self, pos: int) -> Schedule:
        """Return the compiled opening-hours schedule of venue ``pos`` (cached per expression).

        An expression that does not parse is treated as unknown hours (never
        open) with a warning; importers reject such rows before they get here.
        """
        sid = int(self._sched[pos])
        sched = self._schedules.get(sid)
        if sched is None:
            sched = self._compile(sid)
        return sched

    def _compile(self, sid: int) -> Schedule:
        from geosvc.hours import compile_schedule, get_calendar

        expr, official = self._sched_keys[sid]
        with self._sched_lock:
            if official and self._calendar is None:
                object.__setattr__(self, "_calendar", get_calendar(self.info.calendar))
            cal = self._calendar if official else None
        try:
            sched = compile_schedule(expr, tz=self.info.timezone, calendar=cal)
        except InvalidParameter as exc:
            warnings.warn(f"opening_hours {expr!r} ignored: {exc.detail}", stacklevel=3)
            sched = compile_schedule(None, tz=self.info.timezone, calendar=cal)
        self._schedules[sid] = sched
        return sched

    def open_on_arrival(self, pos: int, arrival: datetime) -> bool:
        """Whether venue ``pos`` is open at ``arrival`` and for ``open_margin_min`` more."""
        check_time(arrival, "arrival")
        return self.schedule(pos).open_for(arrival, self.open_margin_min)

    def _open_checker(self, at: datetime) -> OpenAt:
        """Return a checker of "open at ``at``" evaluating each distinct schedule once."""
        return OpenAt(self, at)


class OpenAt:
    """Open-at-``at`` checks for one query, memoised per distinct schedule."""

    __slots__ = ("_at", "_index", "_memo")

    def __init__(self, index: HoursMixin, at: datetime) -> None:
        self._index = index
        self._at = at
        self._memo: dict[int, bool] = {}

    def _sched_open(self, sid: int) -> bool:
        ok = self._memo.get(sid)
        if ok is None:
            sched = self._index._schedules.get(sid) or self._index._compile(sid)
            ok = self._memo[sid] = bool(sched.is_open(self._at))
        return ok

    def one(self, pos: int) -> bool:
        """Whether venue ``pos`` is open."""
        return self._sched_open(int(self._index._sched[pos]))

    def __call__(self, positions: Positions) -> NDArray[np.bool_]:
        """Boolean array: which of ``positions`` are open."""
        sids, inverse = np.unique(self._index._sched[positions], return_inverse=True)
        out = np.fromiter(
            (self._sched_open(s) for s in sids.tolist()), dtype=bool, count=len(sids)
        )
        return out[inverse]
