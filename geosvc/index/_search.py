"""Query execution of a snapshot: bounding-box search and exact nearest-k strategies.

:class:`SearchMixin` holds the query methods of
:class:`~geosvc.index.ServiceIndex`.  Nearest searches pick, per filter, the
smallest available :class:`~geosvc.index._sphere.SphereTree` holding every
matching venue (all service points, one item's venues, or exactly the
filter's venues, built lazily and kept in an LRU), fetch candidates in
increasing chord distance, re-rank them by haversine and stop once the k-th
match is provably nearer than anything not fetched; filters with few matches
are ranked directly with numpy.  :meth:`SpatialSearch.nearest_many` does the
same for many points with one tree call.  Boxes go to the slab
:class:`~geosvc.index._boxes.BoxIndex`.  See the ``ServiceIndex`` docstring.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal

import numpy as np
from numpy.typing import NDArray

from geosvc.coords import EARTH_RADIUS_M
from geosvc.index._boxes import BoxIndex
from geosvc.index._cache import LRU
from geosvc.index._sphere import (
    TIE_TOL_M,
    SphereTree,
    haversine_few_m,
    haversine_m,
    unit_vector,
    unit_vectors,
)

if TYPE_CHECKING:
    from geosvc.index._build import LinkTables
    from geosvc.index._filters import FilterEntry
    from geosvc.index._hours import OpenAt

#: At most this many matching venues: rank them all with numpy (faster than a tree).
_BRUTE_MAX: Final = 256
#: Up to this many fetched candidates are ranked in pure Python, more with numpy.
_FEW: Final = 48
#: Build a sub-index of exactly a filter's venues (on its second use) when the
#: best existing tree holds more than this many times as many venues.
_WASTE_MAX: Final = 2

#: Cached per-item / per-filter sub-indexes, and their total size in venues
#: as a multiple of the snapshot's venue count (memory bound).
_SUBTREE_CACHE: Final = 32
#: Points per tree call of :meth:`SpatialSearch.nearest_many` (bounds its temporaries).
_BATCH: Final = 65_536
_SUBTREE_BUDGET: Final = 6

Positions = NDArray[np.intp]
Distances = NDArray[np.float64]
#: A boolean mask over venue positions, or False for "no mask to check".
MaskOrNone = NDArray[np.bool_] | Literal[False]


class SpatialSearch:
    """Bounding-box and exact nearest-k search over one snapshot's venue coordinates.

    The search strategy of a :class:`~geosvc.index.ServiceIndex`: a
    :class:`~geosvc.index._boxes.BoxIndex` of lon/lat for boxes, the k-d tree
    (:class:`~geosvc.index._sphere.SphereTree`) of the unit vectors of every
    service point for nearest, and an LRU of lazily built sub-trees.  Nothing
    else is kept per venue: haversine inputs (radians, cosines) are computed
    for the fetched candidates only.  Its methods take an already compiled
    :class:`~geosvc.index._filters.FilterEntry` and an optional open-at checker;
    input validation is done by the index (:mod:`geosvc.index._checks`).

    Parameters
    ----------
    lon, lat : numpy.ndarray of float64
        WGS-84 degrees by venue position (read-only; shared with the index).
    service : numpy.ndarray of bool
        The venues ``in_service`` (the tree of service points holds these).
    links : LinkTables
        The venue-item link tables (for per-item sub-trees).
    """

    __slots__ = (
        "_boxes",
        "_links",
        "_n",
        "_tree",
        "_xyz",
        "lat",
        "lon",
        "subtrees",
    )

    subtrees: LRU[SphereTree]
    """Lazily built sub-trees: ``("all",)``, ``("item", j)``, ``("filter", key)``."""

    def __init__(
        self,
        lon: NDArray[np.float64],
        lat: NDArray[np.float64],
        service: NDArray[np.bool_],
        links: LinkTables,
        parts: Mapping[str, NDArray[Any]] | None = None,
    ) -> None:
        n = len(lon)
        self._n = n
        self.lon = lon
        self.lat = lat
        self._links = links
        # the tree of service points (the venues in service)
        xyz = None if parts is None else parts["xyz"]
        if service.all():
            pos = None
            self._xyz = unit_vectors(lon, lat) if xyz is None else xyz
        else:
            pos = np.flatnonzero(service)
            self._xyz = unit_vectors(lon[pos], lat[pos]) if xyz is None else xyz
        if len(self._xyz) != (n if pos is None else len(pos)):
            msg = "unit vector parts do not fit the service points"
            raise ValueError(msg)
        self._tree = SphereTree(self._xyz, pos)
        self._boxes = BoxIndex(lon, lat, None if parts is None else {
            k[len("box."):]: v for k, v in parts.items() if k.startswith("box.")})
        self.subtrees = LRU(
            _SUBTREE_CACHE, weigh=lambda t: t.size, max_weight=_SUBTREE_BUDGET * max(n, 1)
        )

    def parts(self) -> dict[str, NDArray[Any]]:
        """Return the arrays derived from the coordinates (``ServiceIndex.parts``)."""
        return {"xyz": self._xyz, **{f"box.{k}": v for k, v in self._boxes.parts().items()}}

    @staticmethod
    def iter_parts(lon: NDArray[np.float64], lat: NDArray[np.float64],
                   service: NDArray[np.bool_]) -> Iterator[tuple[str, NDArray[Any]]]:
        """Yield what :meth:`parts` of a search over these inputs holds, without its tree.

        The unit vectors of the service points, then the box index's arrays
        (the k-d tree, built from the unit vectors, is not among them); each
        is made after the one before was taken, so a caller writing them out
        holds one at a time.
        """
        pos = None if service.all() else np.flatnonzero(service)
        yield "xyz", unit_vectors(lon, lat) if pos is None else unit_vectors(lon[pos], lat[pos])
        del pos
        for k, v in BoxIndex(lon, lat).parts().items():
            yield f"box.{k}", v

    # ------------------------------------------------------------------ bbox
    def bbox(
        self,
        box: tuple[float, float, float, float],
        entry: FilterEntry,
        is_open: OpenAt | None = None,
    ) -> Positions:
        """Positions of ``entry``'s venues inside ``box`` (checked), ascending by position.

        ``minlon > maxlon`` is a box crossing the antimeridian; ``is_open``,
        when given, keeps only the open venues.
        """
        if entry.count == 0:
            return np.empty(0, dtype=np.intp)
        x0, y0, x1, y1 = box
        if not entry.everything and entry.count * 16 <= self._n:
            spans = [(x0, x1)] if x0 <= x1 else [(x0, 180.0), (-180.0, x1)]
            pos = entry.positions
            lon, lat = self.lon[pos], self.lat[pos]
            inside = np.zeros(len(pos), dtype=bool)
            for a, c in spans:
                inside |= (lon >= a) & (lon <= c)
            hits = pos[inside & (lat >= y0) & (lat <= y1)]
        else:
            hits = self._boxes.query(x0, y0, x1, y1,
                                     None if entry.everything else entry.mask)
        if is_open is not None and len(hits):
            hits = hits[is_open(hits)]
        return hits

    # ------------------------------------------------------------------ nearest
    def nearest(
        self,
        lon: float,
        lat: float,
        k: int,
        entry: FilterEntry,
        *,
        seen: bool,
        key: tuple[Any, ...],
        is_open: OpenAt | None = None,
        max_dist_m: float | None = None,
    ) -> tuple[Positions, Distances]:
        """Find the ``k`` venues of ``entry`` nearest to a (checked) point, exactly.

        See :meth:`ServiceIndex.nearest_k <geosvc.index.ServiceIndex.nearest_k>`.
        ``seen`` says the filter was used before (its own sub-tree may then be
        built) and ``key`` is its cache key (``VenueFilter.cache_key()``).
        """
        if entry.count == 0:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.float64)
        qr = (math.radians(lon), math.radians(lat))
        if entry.count <= _BRUTE_MAX:
            return self._rank(qr, entry.positions, k, is_open, max_dist_m)
        tree, use_mask = self._base_tree(entry, seen, key)
        mask: MaskOrNone = entry.mask if use_mask else False
        n = k + 1
        if use_mask:  # fetch enough to expect about 2x the k + 1 matches needed
            n += 1 + math.ceil(2 * (k + 1) * (tree.size / entry.count - 1))
        cos_q = math.cos(qr[1])
        q = np.array([unit_vector(lon, lat)])
        while True:
            ids = tree.nearest(q, n)
            if len(ids) <= _FEW:
                found = self._take_few(
                    ids, qr, cos_q, tree.size, mask, is_open, max_dist_m, k
                )
            else:
                found = self._take_many(
                    ids, qr, cos_q, tree.size, mask, is_open, max_dist_m, k
                )
            if found is not None:
                return found
            n *= 4
            if n * 4 > tree.size:  # most of the tree: a scan is cheaper
                return self._rank(qr, entry.positions, k, is_open, max_dist_m)

    def nearest_many(
        self,
        lon: NDArray[np.float64],
        lat: NDArray[np.float64],
        k: int,
        entry: FilterEntry,
        *,
        seen: bool,
        key: tuple[Any, ...],
        is_open: OpenAt | None = None,
        max_dist_m: float | None = None,
    ) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
        """:meth:`nearest` for many (checked) points at once; rows padded with -1 / inf.

        The tree is queried for every point in one call and the candidates are
        ranked with numpy row by row; the few rows whose candidates do not
        prove the answer (ties at the k-th, sparse filters) are answered by
        :meth:`nearest`, so each row equals ``nearest`` for its point.
        """
        m = len(lon)
        out_p = np.full((m, k), -1, dtype=np.intp)
        out_d = np.full((m, k), np.inf)
        if entry.count == 0 or m == 0:
            return out_p, out_d
        if entry.count <= _BRUTE_MAX:
            tree: SphereTree | None = None
            use_mask = False
        else:
            tree, use_mask = self._base_tree(entry, seen, key)
        rest = np.arange(m) if tree is None else np.empty(0, dtype=np.intp)
        if tree is not None:
            n = k + 1
            if use_mask:
                n += 1 + math.ceil(2 * (k + 1) * (tree.size / entry.count - 1))
            n = min(n, tree.size)
            todo = []
            for lo in range(0, m, _BATCH):
                sl = slice(lo, min(m, lo + _BATCH))
                done = self._many_rows(
                    tree, n, lon[sl], lat[sl], k, entry.mask if use_mask else False,
                    is_open, max_dist_m, out_p[sl], out_d[sl],
                )
                todo.append(np.flatnonzero(~done) + lo)
            rest = np.concatenate(todo)
        for i in rest.tolist():
            p, d = self.nearest(
                float(lon[i]), float(lat[i]), k, entry, seen=True, key=key,
                is_open=is_open, max_dist_m=max_dist_m,
            )
            out_p[i, : len(p)] = p
            out_d[i, : len(d)] = d
        return out_p, out_d

    def _many_rows(
        self,
        tree: SphereTree,
        n: int,
        lon: NDArray[np.float64],
        lat: NDArray[np.float64],
        k: int,
        mask: MaskOrNone,
        is_open: OpenAt | None,
        max_dist_m: float | None,
        out_p: NDArray[np.intp],
        out_d: NDArray[np.float64],
    ) -> NDArray[np.bool_]:
        """Answer rows from ``n`` fetched candidates each; return which rows are proven."""
        ids = tree.nearest_many(unit_vectors(lon, lat), n)  # (M, n)
        qlon = np.radians(lon)[:, None]
        qlat = np.radians(lat)[:, None]
        lat_r = np.radians(self.lat[ids])
        # haversine_m's formula and operation order, broadcast over rows
        h = np.sin((lat_r - qlat) * 0.5) ** 2
        s = np.sin((np.radians(self.lon[ids]) - qlon) * 0.5) ** 2
        h += (np.cos(qlat) * np.cos(lat_r)) * s
        np.minimum(h, 1.0, out=h)
        d = np.arcsin(np.sqrt(h)) * (2.0 * EARTH_RADIUS_M)
        order = np.lexsort((ids, d), axis=-1)
        ids = np.take_along_axis(ids, order, axis=1)
        d = np.take_along_axis(d, order, axis=1)
        if n >= tree.size:
            bound = np.full(len(lon), np.inf)
        else:
            bound = d[:, -1] - TIE_TOL_M
        ok = np.ones(ids.shape, dtype=bool)
        if max_dist_m is not None:
            bound[bound > max_dist_m] = np.inf
            ok &= d <= max_dist_m
        if mask is not False:
            ok &= mask[ids]
        if is_open is not None:
            ok &= is_open(ids.reshape(-1)).reshape(ids.shape)
        rank = np.cumsum(ok, axis=1)
        take = ok & (rank <= k)
        count = rank[:, -1]
        kth = np.where(count >= k, d[np.arange(len(d)), np.argmax(rank >= k, axis=1)], np.inf)
        done = ((count >= k) & (kth < bound)) | np.isinf(bound)
        rows, cols = np.nonzero(take & done[:, None])
        slot = rank[rows, cols] - 1
        out_p[rows, slot] = ids[rows, cols]
        out_d[rows, slot] = d[rows, cols]
        return done

    def _take_few(
        self,
        ids: Positions,
        qr: tuple[float, float],
        cos_q: float,
        size: int,
        mask: MaskOrNone,
        is_open: OpenAt | None,
        max_dist_m: float | None,
        k: int,
    ) -> tuple[Positions, Distances] | None:
        """Rank a few fetched ids in pure Python; None if more must be fetched."""
        lat_r = np.radians(self.lat[ids])
        pairs = haversine_few_m(
            qr[0], qr[1], cos_q, ids.tolist(), np.radians(self.lon[ids]).tolist(),
            lat_r.tolist(), np.cos(lat_r).tolist(),
        )
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

    def _take_many(
        self,
        ids: Positions,
        qr: tuple[float, float],
        cos_q: float,
        size: int,
        mask: MaskOrNone,
        is_open: OpenAt | None,
        max_dist_m: float | None,
        k: int,
    ) -> tuple[Positions, Distances] | None:
        """:meth:`_take_few` vectorised with numpy for many fetched ids."""
        lat_r = np.radians(self.lat[ids])
        d = haversine_m(qr[0], qr[1], cos_q, np.radians(self.lon[ids]), lat_r, np.cos(lat_r))
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

    def _rank(
        self,
        qr: tuple[float, float],
        pos: Positions,
        k: int,
        is_open: OpenAt | None,
        max_dist_m: float | None,
    ) -> tuple[Positions, Distances]:
        """Rank ``pos`` by distance with numpy (exact, ties by position)."""
        cos_q = math.cos(qr[1])
        lat_r = np.radians(self.lat[pos])
        d = haversine_m(qr[0], qr[1], cos_q, np.radians(self.lon[pos]), lat_r, np.cos(lat_r))
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

    def _base_tree(
        self, entry: FilterEntry, seen: bool, key: tuple[Any, ...]
    ) -> tuple[SphereTree, bool]:
        """Choose the smallest tree holding ``entry``'s venues; True if the mask is needed.

        Candidates, smallest wins: the tree of all service points (built
        eagerly; or of every venue, lazily, when the filter admits other
        statuses, e.g. ``include_candidates``), the
        tree of the filter's rarest item, the tree of exactly the filter's
        venues (built on the filter's second use when the others hold at
        least twice as many venues).
        """
        sub = self.subtrees.get(("filter", key))
        if sub is not None:
            return sub, False
        if not entry.service_only:
            best = self.subtrees.get_or_build(
                ("all",), lambda: self._subtree(np.arange(self._n, dtype=np.intp))
            )
        else:
            best = self._tree
        j = entry.rarest_item
        if j is not None:
            lo, hi = int(self._links.item_ptr[j]), int(self._links.item_ptr[j + 1])
            if 2 * (hi - lo) <= best.size:
                best = self.subtrees.get_or_build(
                    ("item", j), lambda: self._subtree(self._links.item_pos[lo:hi])
                )
        if seen and best.size >= _WASTE_MAX * entry.count:
            pos = entry.positions
            return self.subtrees.get_or_build(
                ("filter", key), lambda: self._subtree(pos)
            ), False
        # the tree holds every matching venue; as many venues means the same ones
        return best, best.size != entry.count

    def _subtree(self, pos: Positions) -> SphereTree:
        if len(pos) == self._n:
            return SphereTree(unit_vectors(self.lon, self.lat), None)
        return SphereTree(unit_vectors(self.lon[pos], self.lat[pos]), pos)

