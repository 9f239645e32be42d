"""``ServiceIndex``: the immutable in-memory snapshot of venues, items and links."""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Iterable, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import shapely
from numpy.typing import NDArray

from geosvc.errors import InvalidParameter
from geosvc.index._cache import LRU
from geosvc.index._filters import (
    CHANNEL_SETS,
    KIND_CODE,
    LEVEL_CODE,
    FilterEntry,
    channel_bits,
    compile_filter,
)
from geosvc.index._sphere import (
    TIE_TOL_M,
    SphereTree,
    haversine_few_m,
    haversine_m,
    unit_vector,
    unit_vectors,
)
from geosvc.model import DatasetInfo, Link, Scope, ServiceItem, Venue, VenueFilter, VenueKind

if TYPE_CHECKING:
    from geosvc.hours import Schedule

_NO_FILTER: Final = VenueFilter()
#: At most this many matching venues: rank them all with numpy (faster than a tree).
_BRUTE_MAX: Final = 256
#: Up to this many fetched candidates are ranked in pure Python, more with numpy.
_FEW: Final = 48
#: Build a sub-index of exactly a filter's venues (on its second use) when the
#: best existing tree holds more than this many times as many venues.
_WASTE_MAX: Final = 2
#: Cached filters (each holds one bool per venue plus the matching positions).
_FILTER_CACHE: Final = 64
#: Cached per-item / per-filter sub-indexes, and their total size in venues
#: as a multiple of the snapshot's venue count (memory bound).
_SUBTREE_CACHE: Final = 32
_SUBTREE_BUDGET: Final = 6

Positions = NDArray[np.intp]


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def _check_point(lon: Any, lat: Any) -> tuple[float, float]:
    if (
        type(lon) is float
        and type(lat) is float
        and -180.0 <= lon <= 180.0
        and -90.0 <= lat <= 90.0
    ):
        return lon, lat  # fast path (NaN fails the comparisons)
    problems = []
    values = []
    for name, v, lim in (("lon", lon, 180.0), ("lat", lat, 90.0)):
        try:
            x = float(v)
        except (TypeError, ValueError):
            x = math.nan
        if not (math.isfinite(x) and -lim <= x <= lim):
            problems.append(
                (name, f"must be a finite number between -{lim:g} and {lim:g} (got {v!r})")
            )
        values.append(x)
    if problems:
        raise InvalidParameter.many(problems)
    return values[0], values[1]


def _check_time(at: datetime | None, name: str = "open_at") -> None:
    if at is not None and (not isinstance(at, datetime) or at.utcoffset() is None):
        msg = "must be a timezone-aware datetime"
        raise InvalidParameter(name, msg)


class _OpenAt:
    """Open-at-``at`` checks for one query, memoised per distinct schedule."""

    __slots__ = ("_at", "_index", "_memo")

    def __init__(self, index: ServiceIndex, at: datetime) -> None:
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


class ServiceIndex:
    """Immutable snapshot: R-trees of venues, item -> venues links, filters, hours.

    Build with :meth:`build`.  Venues are addressed by **position** (an int
    into :attr:`venues`, :attr:`lon`, :attr:`lat`); queries return numpy
    arrays of positions, never geometry objects.  Nothing observable changes
    after the build: arrays are read-only, collections are tuples or
    read-only mappings, attributes cannot be set.  The only internal state
    that changes is caches of derived structures (filter masks, per-item and
    per-filter sub-indexes, compiled schedules), guarded by locks, so one
    snapshot can serve many threads and the service swaps a whole new one
    when the data change.

    **Filter semantics** (:class:`~geosvc.model.VenueFilter`, API.md "Filters
    shared by venue queries"):

    * ``kinds`` - OR: the venue is of any of the kinds.
    * ``levels`` - OR; a venue without a level never matches a level filter.
    * ``items`` - AND: the venue handles every item.  An item code that is not
      in the snapshot matches no venue (callers validate codes and report them).
    * ``channel`` - the venue offers the channel; with ``items``, every item is
      handled there through that channel.
    * ``accessible`` - ``True``: the venue has a green channel; ``False`` and
      ``None`` do not restrict.
    * ``home_area`` - for items whose scope is ``county``, only venues with
      ``area_code == home_area`` match; without ``home_area`` there is no
      area restriction (the citizen's county is unknown).
    * ``open_at`` - the venue's schedule is open at that instant (unknown hours
      count as closed).  Straight-line queries have no travel time, so this is
      "open at ``open_at``"; the network engine applies open-on-arrival with
      :meth:`open_on_arrival`.
    * ``include_candidates`` - bank outlets without a government channel
      (:attr:`Venue.is_candidate`) are excluded unless this is True.

    **Speed.** Nearest searches run on an ``rtree`` of 3-D unit vectors: chord
    order equals great-circle order everywhere on the globe (poles and
    antimeridian included), and results are re-ranked by haversine, so they
    equal a brute-force haversine scan exactly (ties broken by position).
    A filter is evaluated once into a cached boolean mask; the search then
    consumes candidates in increasing distance from the most selective tree
    available (the per-item tree of the filter's rarest item, or a tree of
    exactly the filter's venues once the filter is used again, both built
    lazily and kept in an LRU of at most 32 trees and 6 x N venues), checking
    the mask; filters matching at most 256 venues are ranked directly with
    numpy.  Bounding boxes use
    shapely's ``STRtree`` on lon/lat (measured faster than ``rtree`` there).
    """

    __slots__ = (
        "_access",
        "_area",
        "_area_ids",
        "_calendar",
        "_cand",
        "_chan",
        "_code_pos",
        "_cos_lat",
        "_cos_t",
        "_filters",
        "_frozen",
        "_item_county",
        "_item_chan",
        "_item_index",
        "_item_pos",
        "_item_ptr",
        "_kind",
        "_lat_r",
        "_lat_t",
        "_level",
        "_lon_r",
        "_lon_t",
        "_sched",
        "_sched_keys",
        "_schedules",
        "_sched_lock",
        "_strtree",
        "_subtrees",
        "_tree",
        "_ven_chan",
        "_ven_item",
        "_ven_ptr",
        "_xyz",
        "info",
        "items",
        "lat",
        "lon",
        "open_margin_min",
        "venues",
    )

    venues: tuple[Venue, ...]
    items: tuple[ServiceItem, ...]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    info: DatasetInfo
    open_margin_min: float

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_frozen", False):
            msg = f"ServiceIndex is immutable; cannot set `{name}` (build a new index)"
            raise AttributeError(msg)
        object.__setattr__(self, name, value)

    # ------------------------------------------------------------------ build
    @classmethod
    def build(
        cls,
        venues: Iterable[Venue],
        items: Iterable[ServiceItem],
        links: Iterable[Link],
        *,
        info: DatasetInfo,
        open_margin_min: float = 30.0,
    ) -> ServiceIndex:
        """Build a snapshot from venues, items and venue-item links.

        The inputs are copied into tuples and arrays; the caller's objects are
        not changed.  Cost: O(N log N), about 0.2 s for 100,000 venues.

        Parameters
        ----------
        venues : iterable of Venue
            WGS-84 coordinates; codes unique.
        items : iterable of ServiceItem
            Codes unique.
        links : iterable of Link
            Links naming an unknown venue or item are skipped with a warning;
            repeated (venue, item) links merge their channels.
        info : DatasetInfo
            Time zone and official calendar of the schedules.
        open_margin_min : float
            Minutes a venue must stay open after arrival for
            :meth:`open_on_arrival`.

        Raises
        ------
        InvalidParameter
            A coordinate is not finite or out of range (``lon``/``lat``), a
            venue or item code repeats (``code``), or ``open_margin_min`` < 0.
        """
        vs = tuple(venues)
        its = tuple(items)
        if not (isinstance(open_margin_min, (int, float)) and open_margin_min >= 0):
            msg = f"must be a number of minutes >= 0 (got {open_margin_min!r})"
            raise InvalidParameter("open_margin_min", msg)
        n = len(vs)
        lon = np.fromiter((v.lon for v in vs), dtype=np.float64, count=n)
        lat = np.fromiter((v.lat for v in vs), dtype=np.float64, count=n)
        problems = []
        for name, arr, lim in (("lon", lon, 180.0), ("lat", lat, 90.0)):
            bad = np.flatnonzero(~(np.isfinite(arr) & (np.abs(arr) <= lim)))
            for i in bad[:20]:
                problems.append(
                    (
                        name,
                        f"of venue `{vs[i].code}` must be a finite number between "
                        f"-{lim:g} and {lim:g} (got {arr[i]!r})",
                    )
                )
        code_pos: dict[str, int] = {}
        for i, v in enumerate(vs):
            if code_pos.setdefault(v.code, i) != i:
                problems.append(("code", f"venue code `{v.code}` appears more than once"))
        item_index: dict[str, int] = {}
        for j, it in enumerate(its):
            if item_index.setdefault(it.code, j) != j:
                problems.append(("code", f"item code `{it.code}` appears more than once"))
        if problems:
            raise InvalidParameter.many(problems)

        self = object.__new__(cls)
        self.venues = vs
        self.items = its
        self.info = info
        self.open_margin_min = float(open_margin_min)
        self.lon = _readonly(lon)
        self.lat = _readonly(lat)
        self._code_pos = MappingProxyType(code_pos)
        self._item_index = MappingProxyType(item_index)
        self._xyz = _readonly(unit_vectors(lon, lat))
        self._lon_r = _readonly(np.radians(lon))
        self._lat_r = _readonly(np.radians(lat))
        self._cos_lat = _readonly(np.cos(self._lat_r))
        # the same as Python floats, for the pure-Python path of small fetches
        self._lon_t = tuple(self._lon_r.tolist())
        self._lat_t = tuple(self._lat_r.tolist())
        self._cos_t = tuple(self._cos_lat.tolist())
        self._kind = _readonly(
            np.fromiter((KIND_CODE[VenueKind(v.kind)] for v in vs), np.int8, n)
        )
        self._level = _readonly(
            np.fromiter(
                (-1 if v.level is None else LEVEL_CODE[v.level] for v in vs), np.int8, n
            )
        )
        self._chan = _readonly(np.fromiter((channel_bits(v.channels) for v in vs), np.uint8, n))
        self._access = _readonly(np.fromiter((bool(v.accessible) for v in vs), bool, n))
        self._cand = _readonly(np.fromiter((v.is_candidate for v in vs), bool, n))
        area_ids: dict[str, int] = {}
        self._area = _readonly(
            np.fromiter(
                (
                    -1
                    if v.area_code is None
                    else area_ids.setdefault(v.area_code, len(area_ids))
                    for v in vs
                ),
                np.int32,
                n,
            )
        )
        self._area_ids = MappingProxyType(area_ids)
        use_cal = info.calendar not in (None, "", "none")
        sched_ids: dict[tuple[str | None, bool], int] = {}
        self._sched = _readonly(
            np.fromiter(
                (
                    sched_ids.setdefault(
                        (v.opening_hours, bool(v.official_calendar) and use_cal), len(sched_ids)
                    )
                    for v in vs
                ),
                np.int32,
                n,
            )
        )
        self._sched_keys = tuple(sched_ids)
        self._schedules: dict[int, Schedule] = {}
        self._sched_lock = threading.Lock()
        self._calendar = None
        self._item_county = _readonly(
            np.array([it.scope == Scope.COUNTY for it in its], dtype=bool)
        )
        self._build_links(links)
        # the tree of service points (every venue but bank-outlet candidates)
        self._tree = SphereTree(
            self._xyz[~self._cand], np.flatnonzero(~self._cand).astype(np.int64)
        )
        self._strtree = shapely.STRtree(shapely.points(lon, lat))
        if n:  # force the GEOS tree to be built now, not inside a reader
            self._strtree.query(shapely.box(0.0, 0.0, 0.0, 0.0))
        self._filters = LRU(_FILTER_CACHE)
        self._subtrees = LRU(
            _SUBTREE_CACHE, weigh=lambda t: t.size, max_weight=_SUBTREE_BUDGET * max(n, 1)
        )
        self._frozen = True
        return self

    def _build_links(self, links: Iterable[Link]) -> None:
        merged: dict[tuple[int, int], int] = {}
        unknown = 0
        for link in links:
            p = self._code_pos.get(link.venue_code)
            j = self._item_index.get(link.item_code)
            if p is None or j is None:
                unknown += 1
                continue
            merged[(p, j)] = merged.get((p, j), 0) | channel_bits(link.channels)
        if unknown:
            warnings.warn(
                f"{unknown} link(s) name a venue or item not in the data; skipped",
                stacklevel=3,
            )
        m = len(merged)
        pv = np.fromiter((k[0] for k in merged), np.intp, m)
        pi = np.fromiter((k[1] for k in merged), np.intp, m)
        ch = np.fromiter(merged.values(), np.uint8, m)
        n_items, n = len(self.items), len(self.venues)
        # item -> venues (ascending position)
        order = np.lexsort((pv, pi))
        self._item_pos = _readonly(pv[order])
        self._item_chan = _readonly(ch[order])
        self._item_ptr = _readonly(
            np.concatenate([[0], np.cumsum(np.bincount(pi, minlength=n_items))])
        )
        # venue -> items (ascending item code)
        rank = np.argsort(np.array([it.code for it in self.items], dtype=object), kind="stable")
        code_rank = np.empty(n_items, dtype=np.intp)
        code_rank[rank] = np.arange(n_items)
        order = np.lexsort((code_rank[pi] if m else pi, pv))
        self._ven_item = _readonly(pi[order])
        self._ven_chan = _readonly(ch[order])
        self._ven_ptr = _readonly(
            np.concatenate([[0], np.cumsum(np.bincount(pv, minlength=n))])
        )

    # ------------------------------------------------------------------ lookups
    def __len__(self) -> int:
        return len(self.venues)

    def __repr__(self) -> str:
        return (
            f"<ServiceIndex {len(self.venues)} venues, {len(self.items)} items, "
            f"{len(self._item_pos)} links>"
        )

    def position(self, code: str) -> int | None:
        """Position of the venue with ``code``, or None."""
        return self._code_pos.get(code)

    def item(self, code: str) -> ServiceItem | None:
        """Return the service item with ``code``, or None."""
        j = self._item_index.get(code)
        return None if j is None else self.items[j]

    def venue_items(self, pos: int) -> list[tuple[str, frozenset]]:
        """Items handled at venue ``pos`` with their channels, sorted by item code."""
        lo, hi = int(self._ven_ptr[pos]), int(self._ven_ptr[pos + 1])
        return [
            (self.items[j].code, CHANNEL_SETS[c])
            for j, c in zip(
                self._ven_item[lo:hi].tolist(), self._ven_chan[lo:hi].tolist(), strict=True
            )
        ]

    def item_venue_positions(self, code: str) -> Positions:
        """Positions (ascending, read-only) of every venue linked to item ``code``.

        Any channel, candidates included; empty for an unknown code.
        """
        j = self._item_index.get(code)
        if j is None:
            return _readonly(np.empty(0, dtype=np.intp))
        return self._item_pos[self._item_ptr[j] : self._item_ptr[j + 1]]

    def counts_by_kind(self, flt: VenueFilter | None = None) -> dict[VenueKind, int]:
        """Count venues of each kind: all of them, or those matching ``flt``.

        With ``flt=None`` every venue of the snapshot counts (bank-outlet
        candidates included); with a filter, its semantics apply (``open_at``
        included when set).
        """
        kinds = self._kind if flt is None else self._kind[self.mask(flt)]
        counts = np.bincount(kinds, minlength=len(KIND_CODE))
        return {k: int(counts[c]) for k, c in KIND_CODE.items()}

    # ------------------------------------------------------------------ hours
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
        _check_time(arrival, "arrival")
        return self.schedule(pos).open_for(arrival, self.open_margin_min)

    def _open_checker(self, at: datetime) -> _OpenAt:
        """Return a checker of "open at ``at``" evaluating each distinct schedule once."""
        return _OpenAt(self, at)

    # ------------------------------------------------------------------ filters
    def _entry(self, flt: VenueFilter) -> tuple[FilterEntry, bool, tuple]:
        key = flt.cache_key()
        entry = self._filters.get(key)
        if entry is not None:
            return entry, True, key
        entry = self._filters.get_or_build(
            key,
            lambda: compile_filter(
                flt,
                kind=self._kind,
                level=self._level,
                chan=self._chan,
                accessible=self._access,
                candidate=self._cand,
                area=self._area,
                area_ids=self._area_ids,
                item_index=self._item_index,
                item_ptr=self._item_ptr,
                item_pos=self._item_pos,
                item_chan=self._item_chan,
                item_county=self._item_county,
            ),
        )
        return entry, False, key

    def mask(
        self, flt: VenueFilter | None = None, *, at: datetime | None = None
    ) -> NDArray[np.bool_]:
        """Boolean array (new, writable): True where the venue matches ``flt``.

        The open condition uses ``at`` when given, else ``flt.open_at``.

        Raises
        ------
        InvalidParameter
            ``at`` / ``open_at`` is naive, or a filter value is not an enum value.
        """
        flt = flt or _NO_FILTER
        at = at if at is not None else flt.open_at
        _check_time(at)
        entry = self._entry(flt)[0]
        out = entry.mask.copy()
        if at is not None and entry.count:
            out[entry.positions] = self._open_checker(at)(entry.positions)
        return out

    def candidate_positions(self, flt: VenueFilter | None = None) -> Positions:
        """Return positions (ascending, read-only) matching ``flt`` minus its time condition."""
        return self._entry(flt or _NO_FILTER)[0].positions

    # ------------------------------------------------------------------ bbox
    def query_bbox(self, bbox: Sequence[float], flt: VenueFilter | None = None) -> Positions:
        """Positions of matching venues inside ``bbox``, **ascending by position**.

        Parameters
        ----------
        bbox : (minlon, minlat, maxlon, maxlat)
            WGS-84 degrees, edges included.  ``minlon > maxlon`` is a box
            crossing the antimeridian (RFC 7946 section 5.2).
        flt : VenueFilter, optional
            Applied with ``open_at`` when set.

        Raises
        ------
        InvalidParameter
            Named ``bbox``: not four finite numbers in range, or minlat > maxlat.
        """
        try:
            b = [float(v) for v in bbox]
        except (TypeError, ValueError):
            b = []
        if len(b) != 4 or not all(math.isfinite(v) for v in b):
            msg = f"must be four finite numbers minLon,minLat,maxLon,maxLat (got {bbox!r})"
            raise InvalidParameter("bbox", msg)
        x0, y0, x1, y1 = b
        if max(abs(x0), abs(x1)) > 180 or max(abs(y0), abs(y1)) > 90 or y0 > y1:
            msg = "needs -180 <= lon <= 180, -90 <= lat <= 90 and minLat <= maxLat"
            raise InvalidParameter("bbox", msg)
        flt = flt or _NO_FILTER
        _check_time(flt.open_at)
        entry = self._entry(flt)[0]
        if entry.count == 0:
            return np.empty(0, dtype=np.intp)
        spans = [(x0, x1)] if x0 <= x1 else [(x0, 180.0), (-180.0, x1)]
        if not entry.everything and entry.count * 16 <= len(self.venues):
            pos = entry.positions
            lon, lat = self.lon[pos], self.lat[pos]
            inside = np.zeros(len(pos), dtype=bool)
            for a, c in spans:
                inside |= (lon >= a) & (lon <= c)
            hits = pos[inside & (lat >= y0) & (lat <= y1)]
        else:
            parts = [self._strtree.query(shapely.box(a, y0, c, y1)) for a, c in spans]
            hits = np.unique(np.concatenate(parts)).astype(np.intp)
            if not entry.everything:
                hits = hits[entry.mask[hits]]
        if flt.open_at is not None and len(hits):
            hits = hits[self._open_checker(flt.open_at)(hits)]
        return hits

    # ------------------------------------------------------------------ nearest
    def nearest_k(
        self,
        lon: float,
        lat: float,
        k: int,
        flt: VenueFilter | None = None,
        *,
        max_dist_m: float | None = None,
    ) -> tuple[Positions, NDArray[np.float64]]:
        """Find the ``k`` matching venues nearest to a point by great-circle distance.

        Exact: equal to ranking every matching venue by haversine distance
        (spherical, R = 6371008.8 m, as :func:`geosvc.coords.geodesic_distance_m`),
        ties broken by position.  Fewer than ``k`` when fewer match.

        Parameters
        ----------
        lon, lat : float
            WGS-84 degrees.
        k : int
            At least 1.
        flt : VenueFilter, optional
            See the class notes; ``open_at`` means open at that instant.
        max_dist_m : float, optional
            Only venues at most this far (metres).

        Returns
        -------
        positions : numpy.ndarray of intp
        dist_m : numpy.ndarray of float64
            Ascending.

        Raises
        ------
        InvalidParameter
            ``lon``/``lat`` not finite or out of range, ``k`` < 1, ``max_dist_m``
            negative or NaN, naive ``open_at``.
        """
        lon, lat = _check_point(lon, lat)
        if (
            type(k) is not int
            and (isinstance(k, bool) or not isinstance(k, (int, np.integer)))
            or k < 1
        ):
            msg = f"must be an integer >= 1 (got {k!r})"
            raise InvalidParameter("k", msg)
        k = int(k)
        if max_dist_m is not None:
            max_dist_m = float(max_dist_m)
            if not max_dist_m >= 0:
                msg = f"must be a number of metres >= 0 (got {max_dist_m!r})"
                raise InvalidParameter("max_dist_m", msg)
        flt = flt or _NO_FILTER
        _check_time(flt.open_at)
        entry, seen, key = self._entry(flt)
        if entry.count == 0:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float64)
        q = unit_vector(lon, lat)
        qr = (math.radians(lon), math.radians(lat))
        is_open = None if flt.open_at is None else self._open_checker(flt.open_at)
        if entry.count <= _BRUTE_MAX:
            return self._rank(qr, entry.positions, k, is_open, max_dist_m)
        tree, use_mask = self._base_tree(entry, seen, key)
        n = k + 1
        if use_mask:  # fetch enough to expect about 2x the k + 1 matches needed
            n += 1 + math.ceil(2 * (k + 1) * (tree.size / entry.count - 1))
        cos_q = math.cos(qr[1])
        while True:
            ids = tree.nearest(q, n)
            if len(ids) <= _FEW:
                found = self._take_few(
                    ids, qr, cos_q, tree.size, use_mask and entry.mask, is_open, max_dist_m, k
                )
            else:
                found = self._take_many(
                    np.array(ids, dtype=np.intp),
                    qr,
                    cos_q,
                    tree.size,
                    use_mask and entry.mask,
                    is_open,
                    max_dist_m,
                    k,
                )
            if found is not None:
                return found
            n *= 4
            if n * 4 > tree.size:  # most of the tree: a scan is cheaper
                return self._rank(qr, entry.positions, k, is_open, max_dist_m)

    def _take_few(self, ids, qr, cos_q, size, mask, is_open, max_dist_m, k):
        """Rank a few fetched ids in pure Python; None if more must be fetched."""
        pairs = haversine_few_m(qr[0], qr[1], cos_q, ids, self._lon_t, self._lat_t, self._cos_t)
        # every venue of the tree not fetched is at least ``bound`` metres away
        bound = math.inf if len(ids) >= size else pairs[-1][0] - TIE_TOL_M
        if max_dist_m is not None and bound > max_dist_m:
            bound = math.inf  # everything within max_dist_m has been fetched
        out_d: list[float] = []
        out_p: list[int] = []
        for d, i in pairs:
            if len(out_p) == k or (max_dist_m is not None and d > max_dist_m):
                break
            if mask is not False and not mask[i]:
                continue
            if is_open is not None and not is_open.one(i):
                continue
            out_d.append(d)
            out_p.append(i)
        if (len(out_p) == k and out_d[-1] < bound) or bound == math.inf:
            return np.array(out_p, dtype=np.intp), np.array(out_d, dtype=np.float64)
        return None

    def _take_many(self, ids, qr, cos_q, size, mask, is_open, max_dist_m, k):
        """:meth:`_take_few` vectorised with numpy for many fetched ids."""
        d = haversine_m(
            qr[0], qr[1], cos_q, self._lon_r[ids], self._lat_r[ids], self._cos_lat[ids]
        )
        order = np.lexsort((ids, d))
        ids, d = ids[order], d[order]
        bound = math.inf if len(ids) >= size else float(d[-1]) - TIE_TOL_M
        if max_dist_m is not None:
            if bound > max_dist_m:
                bound = math.inf
            keep = d <= max_dist_m
            ids, d = ids[keep], d[keep]
        if mask is not False:
            keep = mask[ids]
            ids, d = ids[keep], d[keep]
        if is_open is not None and len(ids):
            keep = is_open(ids)
            ids, d = ids[keep], d[keep]
        if (len(ids) >= k and d[k - 1] < bound) or bound == math.inf:
            return ids[:k], d[:k]
        return None

    def _dist(self, qr: tuple[float, float], pos: Positions) -> NDArray[np.float64]:
        return haversine_m(
            qr[0],
            qr[1],
            math.cos(qr[1]),
            self._lon_r[pos],
            self._lat_r[pos],
            self._cos_lat[pos],
        )

    def _rank(self, qr, pos, k, is_open, max_dist_m):
        """Rank ``pos`` by distance with numpy (exact, ties by position)."""
        d = self._dist(qr, pos)
        keep = None
        if max_dist_m is not None:
            keep = d <= max_dist_m
        if is_open is not None:
            ok = is_open(pos)
            keep = ok if keep is None else keep & ok
        if keep is not None:
            pos, d = pos[keep], d[keep]
        if len(d) > 4 * k:
            kth = np.partition(d, k - 1)[k - 1]
            sel = d <= kth
            pos, d = pos[sel], d[sel]
        order = np.lexsort((pos, d))[:k]
        return pos[order], d[order]

    def _base_tree(self, entry: FilterEntry, seen: bool, key: tuple) -> tuple[SphereTree, bool]:
        """Choose the smallest tree holding ``entry``'s venues; True if the mask is needed.

        Candidates, smallest wins: the tree of all service points (built
        eagerly; or of every venue, lazily, with ``include_candidates``), the
        tree of the filter's rarest item, the tree of exactly the filter's
        venues (built on the filter's second use when the others hold at
        least twice as many venues).
        """
        sub = self._subtrees.get(("filter", key))
        if sub is not None:
            return sub, False
        if key[-1]:  # include_candidates
            best = self._subtrees.get_or_build(
                ("all",), lambda: self._subtree(np.arange(len(self.venues)))
            )
        else:
            best = self._tree
        j = entry.rarest_item
        if j is not None:
            lo, hi = int(self._item_ptr[j]), int(self._item_ptr[j + 1])
            if 2 * (hi - lo) <= best.size:
                best = self._subtrees.get_or_build(
                    ("item", j), lambda: self._subtree(self._item_pos[lo:hi])
                )
        if seen and best.size >= _WASTE_MAX * entry.count:
            pos = entry.positions
            return self._subtrees.get_or_build(
                ("filter", key), lambda: self._subtree(pos)
            ), False
        # the tree holds every matching venue; as many venues means the same ones
        return best, best.size != entry.count

    def _subtree(self, pos: Positions) -> SphereTree:
        return SphereTree(self._xyz[pos], pos.astype(np.int64))
