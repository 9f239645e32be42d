"""The citizens' search box: items, 一件事 bundles, venues and places in one query.

:func:`search_everything` answers ``GET /api/v1/search``.  Each group is
ranked on its own, best match first:

items, bundles
    The item search of the snapshot (:class:`geosvc.search.ItemSearch`:
    Chinese, pinyin, initials, code, English) and the bundle search behind
    ``GET /api/v1/items?q=`` (:func:`geosvc.app.bundles.search_bundles`).
venues
    Venues in service by name, English name or code
    (:class:`geosvc.search.NameSearch`: case- and accent-insensitive
    substring / prefix; pinyin and initials for Chinese names).
places
    The dataset's districts (areas: a point inside each, or the centre of
    its venues when it has no boundary) and, with a road network loaded,
    the extract's named streets, neighbourhoods and POIs
    (:func:`geosvc.network.places.load_places`), matched the same way.

With a point, venues and places that match equally well (same grade) are
listed nearer first.  The venue and place searches are built once per
snapshot (:meth:`geosvc.app.service.GeoService.finder`), lazily: about
0.1 s on the demo (1,300 places); a query then costs well under a
millisecond (see ``tests/api/test_search.py``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from geosvc.app.bundles import search_bundles
from geosvc.app.venues import ItemSearch, search_items
from geosvc.coords import geodesic_distance_m
from geosvc.model import PLACE_KINDS, Place, VenueFilter
from geosvc.search import NameSearch

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

    from geosvc.app.service import Snapshot
    from geosvc.model import Area, Bundle, ServiceItem

__all__ = ["Finder", "SearchRequest", "SearchResult", "build_finder", "search_everything"]


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """One search: text ``q``, at most ``limit`` per group, an optional WGS-84 point."""

    q: str
    limit: int = 8
    lon: float | None = None
    lat: float | None = None


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The four groups of a search, each best first (venues as index positions)."""

    items: list[ServiceItem]
    bundles: list[Bundle]
    venues: list[int]
    places: list[Place]


class Finder:
    """The venue and place name searches of one snapshot (immutable once built).

    Parameters
    ----------
    snap : Snapshot
        Its venues in service are searched.
    places : sequence of Place
        Districts first, then the extract's places.
    """

    def __init__(self, snap: Snapshot, places: Sequence[Place]) -> None:
        index = snap.index
        self.venue_positions: NDArray[np.int64] = np.flatnonzero(index.mask(VenueFilter()))
        venues = index.venues_at(self.venue_positions)
        self.venues = NameSearch([(v.name, v.name_en, v.code) for v in venues])
        self.venue_lon = np.asarray([v.lon for v in venues], dtype=np.float64)
        self.venue_lat = np.asarray([v.lat for v in venues], dtype=np.float64)
        self.places: tuple[Place, ...] = tuple(places)
        self.place_search = NameSearch([(p.name,) for p in self.places])
        self.place_lon = np.asarray([p.lon for p in self.places], dtype=np.float64)
        self.place_lat = np.asarray([p.lat for p in self.places], dtype=np.float64)
        self._kind_rank = [PLACE_KINDS.index(p.kind) if p.kind in PLACE_KINDS else 9
                           for p in self.places]

    def find_venues(self, q: str, limit: int, point: tuple[float, float] | None) -> list[int]:
        """Return the index positions of the venues matching ``q``, best first."""
        graded = self.venues.graded(q)
        order = _ranked(graded, limit, point, self.venue_lon, self.venue_lat, None)
        return [int(self.venue_positions[i]) for i in order]

    def find_places(self, q: str, limit: int, point: tuple[float, float] | None) -> list[Place]:
        """Return the places matching ``q``, best first (districts before streets, POIs)."""
        graded = self.place_search.graded(q)
        order = _ranked(graded, limit, point, self.place_lon, self.place_lat,
                        self._kind_rank)
        return [self.places[i] for i in order]


def _ranked(graded: Sequence[tuple[int, int]], limit: int,
            point: tuple[float, float] | None, lon: NDArray[np.float64],
            lat: NDArray[np.float64], kind_rank: list[int] | None) -> list[int]:
    """Order graded matches: by grade; within a grade nearer first (with a point).

    Without a point, a grade keeps the text search's order, places grouped by
    kind.  Only as many grades as needed to fill ``limit`` are looked at.
    """
    by_grade: dict[int, list[int]] = defaultdict(list)
    taken = 0
    last = None
    for i, g in graded:
        if taken >= limit and g != last:
            break
        by_grade[g].append(i)
        taken += 1
        last = g
    out: list[int] = []
    for g in sorted(by_grade):
        group = by_grade[g]
        if point is not None and len(group) > 1:
            rows = np.asarray(group, dtype=np.int64)
            dist = np.asarray(geodesic_distance_m(point[0], point[1], lon[rows], lat[rows]))
            group = [group[j] for j in np.argsort(dist, kind="stable").tolist()]
        elif kind_rank is not None:
            group = sorted(group, key=lambda i: kind_rank[i])
        out.extend(group)
        if len(out) >= limit:
            break
    return out[:limit]


def district_places(snap: Snapshot, areas: Sequence[Area]) -> list[Place]:
    """Return one place per area: a point inside it, else the centre of its venues.

    An area without a usable boundary and without venues is left out.
    """
    import shapely  # lazy: shapely takes ~0.12 s to import; only building the finder needs it

    by_area: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for v in snap.index.venues:
        if v.area_code:
            by_area[v.area_code].append((v.lon, v.lat))
    out = []
    for area in areas:
        point: tuple[float, float] | None = None
        try:
            geom = shapely.from_wkt(area.wkt) if area.wkt else None
        except shapely.errors.GEOSException:
            geom = None
        if geom is not None and not geom.is_empty:
            inner = geom.representative_point()
            point = (float(inner.x), float(inner.y))
        elif by_area.get(area.code):
            pts = by_area[area.code]
            point = (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))
        if point is not None and all(math.isfinite(c) for c in point):
            out.append(Place(name=area.name, kind="district", lon=point[0], lat=point[1],
                             code=area.code))
    return out


def build_finder(snap: Snapshot, areas: Sequence[Area], extract: Sequence[Place]) -> Finder:
    """Return the :class:`Finder` of ``snap``: its venues, its areas, the extract's places."""
    return Finder(snap, [*district_places(snap, areas), *extract])


def search_everything(snap: Snapshot, finder: Finder, request: SearchRequest) -> SearchResult:
    """Run one search over items, bundles, venues and places (each at most ``limit``)."""
    q, limit = request.q, request.limit
    point = None if request.lon is None or request.lat is None else (request.lon, request.lat)
    items = search_items(snap, ItemSearch(q=q, limit=limit)).items
    bundles = search_bundles(snap, q, limit=limit).bundles
    return SearchResult(items=items, bundles=bundles,
                        venues=finder.find_venues(q, limit, point),
                        places=finder.find_places(q, limit, point))
