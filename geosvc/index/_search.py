"""Query execution of a snapshot: bounding-box search and exact nearest-k strategies.

:class:`SearchMixin` holds the query methods of
:class:`~geosvc.index.ServiceIndex`.  Nearest searches pick, per filter, the
smallest available :class:`~geosvc.index._sphere.SphereTree` holding every
matching venue (all service points, one item's venues, or exactly the
filter's venues, built lazily and kept in an LRU), fetch candidates in
increasing chord distance, re-rank them by haversine and stop once the k-th
match is provably nearer than anything not fetched; filters with few matches
are ranked directly with numpy.  See the ``ServiceIndex`` docstring.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import shapely
from numpy.typing import NDArray

from geosvc.errors import InvalidParameter
from geosvc.index._filters import NO_FILTER, FilterEntry
from geosvc.index._hours import check_time
from geosvc.index._sphere import (
    TIE_TOL_M,
    SphereTree,
    haversine_few_m,
    haversine_m,
    unit_vector,
)

if TYPE_CHECKING:
    from datetime import datetime

    from geosvc.index._cache import LRU
    from geosvc.index._hours import OpenAt
    from geosvc.model import Venue, VenueFilter

#: At most this many matching venues: rank them all with numpy (faster than a tree).
_BRUTE_MAX: Final = 256
#: Up to this many fetched candidates are ranked in pure Python, more with numpy.
_FEW: Final = 48
#: Build a sub-index of exactly a filter's venues (on its second use) when the
#: best existing tree holds more than this many times as many venues.
_WASTE_MAX: Final = 2

Positions = NDArray[np.intp]


def check_point(lon: Any, lat: Any) -> tuple[float, float]:
    """Return ``(lon, lat)`` as floats, or raise naming each bad coordinate.

    Raises
    ------
    InvalidParameter
        ``lon`` / ``lat`` not a finite number in [-180, 180] / [-90, 90].
    """
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


class SearchMixin:
    """Query methods of :class:`~geosvc.index.ServiceIndex` (no state of its own).

    The snapshot provides the attributes annotated here (set by its build)
    and the methods ``_entry`` (cached filter evaluation) and
    ``_open_checker`` (from :class:`~geosvc.index._hours.HoursMixin`).
    """

    __slots__ = ()

    venues: tuple[Venue, ...]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    _xyz: NDArray[np.float64]
    _lon_r: NDArray[np.float64]
    _lat_r: NDArray[np.float64]
    _cos_lat: NDArray[np.float64]
    _lon_t: tuple[float, ...]
    _lat_t: tuple[float, ...]
    _cos_t: tuple[float, ...]
    _item_pos: NDArray[np.intp]
    _item_ptr: NDArray[np.intp]
    _tree: SphereTree
    _strtree: shapely.STRtree
    _subtrees: LRU[SphereTree]

    if TYPE_CHECKING:

        def _entry(self, flt: VenueFilter) -> tuple[FilterEntry, bool, tuple]: ...

        def _open_checker(self, at: datetime) -> OpenAt: ...

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
        flt = flt or NO_FILTER
        check_time(flt.open_at)
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
        lon, lat = check_point(lon, lat)
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
        flt = flt or NO_FILTER
        check_time(flt.open_at)
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
