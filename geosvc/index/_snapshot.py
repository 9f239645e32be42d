"""``ServiceIndex``: the immutable in-memory snapshot of venues, items and links.

This module holds the snapshot's state, its build and its public methods.  The
index is composed of three parts, each a declared attribute built once:

* a :class:`~geosvc.index._filters.FilterCache` (compiled filters, LRU),
* an :class:`~geosvc.index._hours.HoursTable` (schedule per venue, open-at checks),
* a :class:`~geosvc.index._search.SpatialSearch` (bbox and exact nearest-k search).

The build helpers (validation, columns, link tables) live in
:mod:`geosvc.index._build`.  The public methods validate their arguments and
delegate to those parts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from geosvc.index._build import (
    CodeIndex,
    LinkTables,
    VenueColumns,
    check_inputs,
    link_tables,
    readonly,
    venue_columns,
)
from geosvc.index._checks import (
    check_bbox,
    check_k,
    check_max_dist,
    check_point,
    check_points,
)
from geosvc.index._filters import (
    CHANNEL_SETS,
    KIND_CODE,
    NO_FILTER,
    STATUS_CODE,
    FilterCache,
)
from geosvc.index._hours import HoursTable, check_time
from geosvc.index._search import SpatialSearch
from geosvc.model import (
    Channel,
    DatasetInfo,
    Link,
    Scope,
    ServiceItem,
    Status,
    Venue,
    VenueFilter,
    VenueKind,
)
from geosvc.table import LinkTable, VenueTable

if TYPE_CHECKING:
    from geosvc.hours import Schedule

#: Layout (and meaning) of :meth:`ServiceIndex.parts`: bump when it or the build changes.
PARTS_FORMAT: Final = 2

#: Cached filters (each holds one bool per venue plus the matching positions).
_FILTER_CACHE: Final = 64

Positions = NDArray[np.intp]


def _sub(parts: Mapping[str, NDArray[Any]], prefix: str) -> dict[str, NDArray[Any]]:
    """Return the parts under ``prefix``, the prefix dropped."""
    return {k[len(prefix):]: v for k, v in parts.items() if k.startswith(prefix)}


class ServiceIndex:
    """Immutable snapshot: venue k-d tree and box index, item -> venues links, filters, hours.

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
    * status - only ``in_service`` venues match; ``include_candidates`` adds
      the ``candidate`` ones (by default bank outlets without a government
      channel, :attr:`Venue.is_candidate`); ``statuses`` replaces
      ``in_service`` by the statuses it lists (``planned`` and ``closed``
      venues match only that way).

    **Speed and memory.** Nearest searches run on a k-d tree (pykdtree) of 3-D
    unit vectors: chord order equals great-circle order everywhere on the
    globe (poles and antimeridian included), and results are re-ranked by
    haversine, so they equal a brute-force haversine scan exactly (ties
    broken by position).  :meth:`nearest_many` answers many points with one
    tree call (the same answers as a loop of :meth:`nearest_k`).
    A filter is evaluated once into a cached boolean mask; the search then
    consumes candidates in increasing distance from the most selective tree
    available (the per-item tree of the filter's rarest item, or a tree of
    exactly the filter's venues once the filter is used again, both built
    lazily and kept in an LRU of at most 32 trees and 6 x N venues), checking
    the mask; filters matching at most 256 venues are ranked directly with
    numpy.  Bounding boxes use a slab index over the lon/lat arrays
    (:class:`~geosvc.index._boxes.BoxIndex`, a compiled query, 20 bytes a
    venue), about as fast as shapely's ``STRtree`` of the same points and
    without a geometry object per venue.  Per venue the search keeps the
    coordinates, the unit vectors of the service points, the box index and
    two int32 permutations; what the whole snapshot costs, from the store's
    rows (cold) and from the snapshot cache (warm: :meth:`parts` mapped, only
    the k-d tree built), is in docs/benchmarks.md
    (``scripts/bench_index.py --scale``).  Built from a
    store's columns, :attr:`venues` is the :class:`~geosvc.table.VenueTable`
    (a Venue object made per row asked for); built from Venue objects, the
    tuple of the caller's objects (held, not copied).
    """

    __slots__ = (
        "_code_pos",
        "_cols",
        "_filters",
        "_frozen",
        "_hours",
        "_item_index",
        "_links",
        "_search",
        "_table",
        "info",
        "items",
        "lat",
        "lon",
        "open_margin_min",
        "venues",
    )

    venues: Sequence[Venue]
    _table: VenueTable
    items: tuple[ServiceItem, ...]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    info: DatasetInfo
    open_margin_min: float
    _code_pos: CodeIndex
    _item_index: Mapping[str, int]
    _cols: VenueColumns
    _links: LinkTables
    _filters: FilterCache
    _hours: HoursTable
    _search: SpatialSearch
    _frozen: bool

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_frozen", False):
            msg = f"ServiceIndex is immutable; cannot set `{name}` (build a new index)"
            raise AttributeError(msg)
        object.__setattr__(self, name, value)

    # ------------------------------------------------------------------ build
    @classmethod
    def build(
        cls,
        venues: VenueTable | Iterable[Venue],
        items: Iterable[ServiceItem],
        links: LinkTable | Iterable[Link],
        *,
        info: DatasetInfo,
        open_margin_min: float = 30.0,
        parts: Mapping[str, NDArray[Any]] | None = None,
    ) -> ServiceIndex:
        """Build a snapshot from venues, items and venue-item links.

        From columns (a :class:`~geosvc.table.VenueTable` and
        :class:`~geosvc.table.LinkTable`, as the stores read them) the
        snapshot keeps the table's arrays and makes no Venue object:
        :attr:`venues` is the table itself, a sequence making a Venue per row
        asked for (:meth:`venue`, :meth:`venues_at`).  From Venue objects the
        inputs are copied into tuples and columns; the caller's objects are
        not changed, and :attr:`venues` is the tuple of them.  Cost:
        O(N log N), vectorised over the columns.

        Parameters
        ----------
        venues : VenueTable or iterable of Venue
            WGS-84 coordinates; codes unique.
        items : iterable of ServiceItem
            Codes unique.
        links : LinkTable or iterable of Link
            Links naming an unknown venue or item are skipped with a warning;
            repeated (venue, item) links merge their channels.
        info : DatasetInfo
            Time zone and official calendar of the schedules.
        open_margin_min : float
            Minutes a venue must stay open after arrival for
            :meth:`open_on_arrival`.
        parts : mapping of str to array, optional
            What :meth:`parts` returned for an index built from the same
            venues, items and links (format :data:`PARTS_FORMAT`), e.g. mapped
            from the snapshot cache: the code index, link tables, unit vectors
            and box index are taken from it instead of being computed (the
            venue-code duplicate check is not repeated).  Only lengths are
            checked: parts of other inputs give wrong answers.

        Raises
        ------
        ValueError
            ``parts`` misses an array or one does not fit the inputs.
        InvalidParameter
            A coordinate is not finite or out of range (``lon``/``lat``), a
            venue or item code repeats (``code``), or ``open_margin_min`` < 0.
        """
        table = venues if isinstance(venues, VenueTable) else VenueTable.from_venues(
            vs := tuple(venues))
        its = tuple(items)
        code_pos, item_index = check_inputs(
            table, its, open_margin_min, None if parts is None else _sub(parts, "code."))
        n = len(table)

        self = object.__new__(cls)
        self.venues = table if isinstance(venues, VenueTable) else vs
        self._table = table
        self.items = its
        self.info = info
        self.open_margin_min = float(open_margin_min)
        self.lon = readonly(table.lon)
        self.lat = readonly(table.lat)
        self._code_pos = code_pos
        self._item_index = MappingProxyType(item_index)
        self._cols = venue_columns(table)
        link_table = links if isinstance(links, LinkTable) else LinkTable.from_links(links)
        if parts is None:
            self._links = link_tables(link_table, code_pos, item_index, its, n)
        else:
            self._links = LinkTables(**_sub(parts, "links."))
            if len(self._links.ven_ptr) != n + 1 or len(self._links.item_ptr) != len(its) + 1:
                msg = "link table parts do not fit the venues and items"
                raise ValueError(msg)
        item_county = readonly(np.array([it.scope == Scope.COUNTY for it in its], dtype=bool))
        self._filters = FilterCache(
            self._cols, self._links, self._item_index, item_county, maxsize=_FILTER_CACHE
        )
        self._hours = HoursTable(table, info)
        self._search = SpatialSearch(
            self.lon, self.lat, self._cols.status == STATUS_CODE[Status.IN_SERVICE],
            self._links, None if parts is None else _sub(parts, "search."),
        )
        self._frozen = True
        return self

    @classmethod
    def iter_parts(
        cls,
        venues: VenueTable,
        items: Iterable[ServiceItem],
        links: LinkTable,
        *,
        open_margin_min: float = 30.0,
    ) -> Iterator[tuple[str, NDArray[Any]]]:
        """Yield the ``(key, array)`` pairs of :meth:`parts` of ``build(...)``, unbuilt.

        The code index, link tables, unit vectors and box index, validated as
        :meth:`build` validates them (the venue-code duplicate check
        included; :class:`~geosvc.errors.InvalidParameter` is raised by the
        first ``next``), but neither the k-d tree nor the filters and hours.
        Each part is made after the one before was taken (a caller writing
        them out holds about one at a time): a first load of a revision
        writes them to the snapshot cache, maps them back and builds the
        index once from the mapped files, rather than building it twice.
        """
        its = tuple(items)
        code_pos, item_index = check_inputs(venues, its, open_margin_min)
        tables = link_tables(links, code_pos, item_index, its, len(venues))
        for k, v in tables._asdict().items():
            yield f"links.{k}", v
        del tables
        for k, v in code_pos.parts().items():
            yield f"code.{k}", v
        del code_pos
        for k, v in SpatialSearch.iter_parts(
                readonly(venues.lon), readonly(venues.lat),
                venues.status == STATUS_CODE[Status.IN_SERVICE]):
            yield f"search.{k}", v

    def parts(self) -> dict[str, NDArray[Any]]:
        """Return the arrays derived from the inputs, for :meth:`build`'s ``parts``.

        The code index, the link tables, the unit vectors of the service
        points and the box index (every array the build sorts or hashes):
        saved next to a revision's columns (:mod:`geosvc.store.snapcache`) and
        mapped back, a later build of the same revision skips that work, and
        the pages are shared by the processes mapping them.  Keys are
        ``<part>.<array>``; the layout is :data:`PARTS_FORMAT`.
        """
        return {
            **{f"code.{k}": v for k, v in self._code_pos.parts().items()},
            **{f"links.{k}": v for k, v in self._links._asdict().items()},
            **{f"search.{k}": v for k, v in self._search.parts().items()},
        }

    # ------------------------------------------------------------------ lookups
    def __len__(self) -> int:
        return len(self.venues)

    def __repr__(self) -> str:
        return (
            f"<ServiceIndex {len(self.venues)} venues, {len(self.items)} items, "
            f"{len(self._links.item_pos)} links>"
        )

    def venue(self, pos: int) -> Venue:
        """Return the venue at position ``pos`` (made from the columns when built from them)."""
        return self.venues[pos]

    def venues_at(self, positions: ArrayLike) -> list[Venue]:
        """Return the venues at ``positions``, in that order (one object each)."""
        if isinstance(self.venues, VenueTable):
            return self.venues.venues_at(positions)
        return [self.venues[p] for p in np.asarray(positions, dtype=np.intp).ravel().tolist()]

    @property
    def table(self) -> VenueTable:
        """The venues as read-only columns (:class:`~geosvc.table.VenueTable`)."""
        return self._table

    def position(self, code: str) -> int | None:
        """Return the position of the venue with ``code``, or None."""
        return self._code_pos.get(code)

    def item(self, code: str) -> ServiceItem | None:
        """Return the service item with ``code``, or None."""
        j = self._item_index.get(code)
        return None if j is None else self.items[j]

    def venue_item_count(self, pos: int) -> int:
        """Return how many items venue ``pos`` handles (``len(venue_items(pos))``, no list)."""
        ptr = self._links.ven_ptr
        return int(ptr[pos + 1] - ptr[pos])

    def venue_items(self, pos: int) -> list[tuple[str, frozenset[Channel]]]:
        """Return the items handled at venue ``pos`` with their channels, by item code."""
        t = self._links
        lo, hi = int(t.ven_ptr[pos]), int(t.ven_ptr[pos + 1])
        return [
            (self.items[j].code, CHANNEL_SETS[c])
            for j, c in zip(t.ven_item[lo:hi].tolist(), t.ven_chan[lo:hi].tolist(), strict=True)
        ]

    def item_venue_positions(self, code: str) -> Positions:
        """Return the positions (ascending, read-only) of every venue linked to item ``code``.

        Any channel, candidates included; empty for an unknown code.
        """
        j = self._item_index.get(code)
        if j is None:
            return readonly(np.empty(0, dtype=np.intp))
        t = self._links
        return t.item_pos[t.item_ptr[j] : t.item_ptr[j + 1]]

    def counts_by_kind(self, flt: VenueFilter | None = None) -> dict[VenueKind, int]:
        """Count venues of each kind: all of them, or those matching ``flt``.

        With ``flt=None`` every venue of the snapshot counts (bank-outlet
        candidates included); with a filter, its semantics apply (``open_at``
        included when set).
        """
        kind = self._cols.kind
        kinds = kind if flt is None else kind[self.mask(flt)]
        counts = np.bincount(kinds, minlength=len(KIND_CODE))
        return {k: int(counts[c]) for k, c in KIND_CODE.items()}

    # ------------------------------------------------------------------ hours
    def schedule(self, pos: int) -> Schedule:
        """Return the compiled opening-hours schedule of venue ``pos`` (cached per expression).

        An expression that does not parse is treated as unknown hours (never
        open) with a warning; importers reject such rows before they get here.
        """
        return self._hours.schedule(pos)

    def open_on_arrival(self, pos: int, arrival: datetime) -> bool:
        """Return whether venue ``pos`` is open at ``arrival`` and ``open_margin_min`` more.

        Raises
        ------
        InvalidParameter
            ``arrival`` is naive or not a datetime.
        """
        check_time(arrival, "arrival")
        return self._hours.schedule(pos).open_for(arrival, self.open_margin_min)

    # ------------------------------------------------------------------ filters
    def mask(
        self, flt: VenueFilter | None = None, *, at: datetime | None = None
    ) -> NDArray[np.bool_]:
        """Return a boolean array (new, writable): True where the venue matches ``flt``.

        The open condition uses ``at`` when given, else ``flt.open_at``.

        Raises
        ------
        InvalidParameter
            ``at`` / ``open_at`` is naive, or a filter value is not an enum value.
        """
        flt = flt or NO_FILTER
        at = at if at is not None else flt.open_at
        check_time(at)
        entry = self._filters.entry(flt)[0]
        out = entry.mask.copy()
        if at is not None and entry.count:
            out[entry.positions] = self._hours.open_checker(at)(entry.positions)
        return out

    def candidate_positions(self, flt: VenueFilter | None = None) -> Positions:
        """Return positions (ascending, read-only) matching ``flt`` minus its time condition."""
        return self._filters.entry(flt or NO_FILTER)[0].positions

    # ------------------------------------------------------------------ search
    def query_bbox(self, bbox: Sequence[float], flt: VenueFilter | None = None) -> Positions:
        """Return the positions of matching venues inside ``bbox``, ascending by position.

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
            Named ``bbox``: not four finite numbers in range, or minlat > maxlat;
            ``open_at`` naive.
        """
        box = check_bbox(bbox)
        flt = flt or NO_FILTER
        check_time(flt.open_at)
        entry = self._filters.entry(flt)[0]
        is_open = None if flt.open_at is None else self._hours.open_checker(flt.open_at)
        return self._search.bbox(box, entry, is_open)

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
        lon, lat = check_point(lon, lat)
        k, max_dist_m, entry, seen, key, is_open = self._nearest_args(k, flt, max_dist_m)
        return self._search.nearest(
            lon, lat, k, entry, seen=seen, key=key, is_open=is_open, max_dist_m=max_dist_m
        )

    def _nearest_args(self, k: int, flt: VenueFilter | None,
                      max_dist_m: float | None) -> tuple[int, float | None, Any, Any, Any, Any]:
        """Check ``k``, ``max_dist_m`` and the filter's time; compile the filter.

        Returns ``(k, max_dist_m, entry, seen, key, is_open)`` for the search.
        """
        k = check_k(k)
        max_dist_m = check_max_dist(max_dist_m)
        flt = flt or NO_FILTER
        check_time(flt.open_at)
        entry, seen, key = self._filters.entry(flt)
        is_open = None if flt.open_at is None else self._hours.open_checker(flt.open_at)
        return k, max_dist_m, entry, seen, key, is_open

    def nearest_many(
        self,
        lon: ArrayLike,
        lat: ArrayLike,
        k: int,
        flt: VenueFilter | None = None,
        *,
        max_dist_m: float | None = None,
    ) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """Find the ``k`` matching venues nearest to each of many points (batched).

        Row ``i`` equals :meth:`nearest_k` at ``(lon[i], lat[i])`` (same
        positions, same order, distances equal to rounding), padded with
        position -1 and distance inf where fewer than ``k`` match.  One tree
        call for all the points and numpy ranking make it several times faster
        per point than a loop of :meth:`nearest_k` (``scripts/bench_index.py``).

        Parameters
        ----------
        lon, lat : array_like of float, shape (M,)
            WGS-84 degrees.
        k : int
            At least 1.
        flt : VenueFilter, optional
            As for :meth:`nearest_k`.
        max_dist_m : float, optional
            Only venues at most this far (metres).

        Returns
        -------
        positions : numpy.ndarray of intp, shape (M, k)
        dist_m : numpy.ndarray of float64, shape (M, k)
            Each row ascending.

        Raises
        ------
        InvalidParameter
            ``lon``/``lat`` not 1-D of equal length, or a value not finite or
            out of range (the first offending row is named); ``k``,
            ``max_dist_m``, ``open_at`` as for :meth:`nearest_k`.
        """
        x, y = check_points(lon, lat)
        k, max_dist_m, entry, seen, key, is_open = self._nearest_args(k, flt, max_dist_m)
        return self._search.nearest_many(
            x, y, k, entry, seen=seen, key=key, is_open=is_open, max_dist_m=max_dist_m
        )
