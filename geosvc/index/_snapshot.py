"""``ServiceIndex``: the immutable in-memory snapshot of venues, items and links.

This module holds the snapshot's state, its build and its lookups; the build
helpers live in :mod:`geosvc.index._build`, the opening-hours methods in
:mod:`geosvc.index._hours` and the bbox / nearest query execution in
:mod:`geosvc.index._search` (mixed into the class).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import shapely
from numpy.typing import NDArray

from geosvc.index._build import check_inputs, link_tables, readonly, venue_columns
from geosvc.index._cache import LRU
from geosvc.index._filters import (
    CHANNEL_SETS,
    KIND_CODE,
    NO_FILTER,
    FilterEntry,
    compile_filter,
)
from geosvc.index._hours import HoursMixin, check_time
from geosvc.index._search import SearchMixin
from geosvc.index._sphere import SphereTree, unit_vectors
from geosvc.model import DatasetInfo, Link, Scope, ServiceItem, Venue, VenueFilter, VenueKind

#: Cached filters (each holds one bool per venue plus the matching positions).
_FILTER_CACHE: Final = 64
#: Cached per-item / per-filter sub-indexes, and their total size in venues
#: as a multiple of the snapshot's venue count (memory bound).
_SUBTREE_CACHE: Final = 32
_SUBTREE_BUDGET: Final = 6

Positions = NDArray[np.intp]


class ServiceIndex(HoursMixin, SearchMixin):
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

    **Filter semantics** (:class:`~geosvc.model.VenueFilter`, docs/api.md
    "Venue filters"):

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
        lon, lat, code_pos, item_index = check_inputs(vs, its, open_margin_min)
        n = len(vs)

        self = object.__new__(cls)
        self.venues = vs
        self.items = its
        self.info = info
        self.open_margin_min = float(open_margin_min)
        self.lon = readonly(lon)
        self.lat = readonly(lat)
        self._code_pos = MappingProxyType(code_pos)
        self._item_index = MappingProxyType(item_index)
        self._xyz = readonly(unit_vectors(lon, lat))
        self._lon_r = readonly(np.radians(lon))
        self._lat_r = readonly(np.radians(lat))
        self._cos_lat = readonly(np.cos(self._lat_r))
        # the same as Python floats, for the pure-Python path of small fetches
        self._lon_t = tuple(self._lon_r.tolist())
        self._lat_t = tuple(self._lat_r.tolist())
        self._cos_t = tuple(self._cos_lat.tolist())
        cols = venue_columns(vs)
        self._kind = cols.kind
        self._level = cols.level
        self._chan = cols.chan
        self._access = cols.access
        self._cand = cols.cand
        self._area = cols.area
        self._area_ids = MappingProxyType(cols.area_ids)
        self._sched = readonly(self._init_hours(vs, info))
        self._item_county = readonly(
            np.array([it.scope == Scope.COUNTY for it in its], dtype=bool)
        )
        lt = link_tables(links, code_pos, item_index, its, n)
        self._item_pos = lt.item_pos
        self._item_chan = lt.item_chan
        self._item_ptr = lt.item_ptr
        self._ven_item = lt.ven_item
        self._ven_chan = lt.ven_chan
        self._ven_ptr = lt.ven_ptr
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
            return readonly(np.empty(0, dtype=np.intp))
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
        flt = flt or NO_FILTER
        at = at if at is not None else flt.open_at
        check_time(at)
        entry = self._entry(flt)[0]
        out = entry.mask.copy()
        if at is not None and entry.count:
            out[entry.positions] = self._open_checker(at)(entry.positions)
        return out

    def candidate_positions(self, flt: VenueFilter | None = None) -> Positions:
        """Return positions (ascending, read-only) matching ``flt`` minus its time condition."""
        return self._entry(flt or NO_FILTER)[0].positions
