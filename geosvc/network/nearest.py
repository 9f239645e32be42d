"""k nearest venues by travel time, with routes and an open-on-arrival predicate.

:class:`TravelEngine` snaps every venue once.  For each set of candidate
venues (one per filter combination, named by ``key``) it runs ONE multi-source
pass (:func:`~geosvc.network.paths.times_to_sources`) that gives every node its
time to, and the identity of, the nearest candidate; passes are kept in an LRU
of ``settings.pass_cache_size``.  A query then costs a snap plus a few array
look-ups:

* ``k == 1`` and no ``accept`` (or the nearest is accepted): the answer comes
  straight from the cached pass, route included (``next_node`` chain).
* otherwise: an exact bounded forward Dijkstra from the query point, whose
  radius starts at twice the pass's nearest time and grows (x4) until ``k``
  accepted venues are settled or ``max_minutes`` / the whole reachable network
  is covered.  Every venue with time <= radius is then exact (all nodes within
  the radius are settled), so the result equals a full shortest-path search.

Thread-safe: the LRU is guarded by a lock; everything else is read-only.
"""

from __future__ import annotations

import hashlib
import math
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.csgraph import dijkstra

from geosvc.errors import InvalidParameter
from geosvc.network.paths import (
    NodeTimes,
    entries,
    exits,
    point_times,
    route as build_route,
    same_line_times,
    times_to_sources,
)
from geosvc.network.snap import Snapped, check_snapped, snap_points

if TYPE_CHECKING:
    from geosvc.config import Settings
    from geosvc.network.graph import RoadNetwork

__all__ = ["NearestHit", "TravelEngine"]

_GROWTH = 4.0
_MAX_ROUNDS = 3  # bounded rounds before one unbounded search


@dataclass(frozen=True, slots=True)
class NearestHit:
    """One venue found by :meth:`TravelEngine.nearest`.

    ``pos`` is the venue's position (index into the engine's venue arrays),
    ``time_s`` the travel time in seconds (access legs included),
    ``distance_m`` the length of the trip along the network plus access legs
    (metres), ``route_lonlat`` the trip's WGS-84 polyline from the query
    point to the venue (only with ``route=True``).
    """

    pos: int
    time_s: float
    distance_m: float
    route_lonlat: list[tuple[float, float]] | None = None


class TravelEngine:
    """Nearest venues by travel time on one network (one per travel mode).

    Parameters
    ----------
    net : RoadNetwork
    venue_lon, venue_lat : array of float
        WGS-84 degrees of every venue; positions are indexes into these.
    settings : Settings
        ``snap_max_m`` (venues and queries farther from the network are
        refused), ``walk_speed_kph`` (access legs), ``pass_cache_size``.

    Attributes
    ----------
    venues : Snapped
        Every venue snapped (unsnappable ones have ``edge == -1``).
    unsnappable : int64 array
        Positions of venues with a bad coordinate or farther than
        ``snap_max_m`` from the network; never returned.
    warnings : list of str
        One line per unsnappable venue, for import/build reports.
    """

    def __init__(self, net: RoadNetwork, venue_lon: ArrayLike, venue_lat: ArrayLike, *,
                 settings: Settings) -> None:
        self.net = net
        self.settings = settings
        self.walk_speed_mps = float(settings.walk_speed_kph) / 3.6
        lon = np.atleast_1d(np.asarray(venue_lon, dtype=np.float64))
        lat = np.atleast_1d(np.asarray(venue_lat, dtype=np.float64))
        if lon.shape != lat.shape or lon.ndim != 1:
            msg = f"must have the same 1-d shape as `venue_lat` ({lon.shape} vs {lat.shape})"
            raise InvalidParameter("venue_lon", msg)
        good = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
        snapped = snap_points(net, np.where(good, lon, 0.0), np.where(good, lat, 0.0),
                              max_dist_m=settings.snap_max_m)
        edge = np.where(good, snapped.edge, -1)
        self.venues = Snapped(edge=edge, frac=snapped.frac,
                              dist_m=np.where(edge >= 0, snapped.dist_m, np.inf), x=snapped.x,
                              y=snapped.y, px=snapped.px, py=snapped.py, lon=lon, lat=lat)
        self.unsnappable = np.flatnonzero(edge < 0).astype(np.int64)
        self.warnings = [
            (f"venue {int(i)}: coordinate is not a valid lon/lat" if not good[i] else
             f"venue {int(i)}: farther than {settings.snap_max_m:g} m from any {net.mode} road")
            for i in self.unsnappable
        ]
        self._snapped_ok = edge >= 0
        self._passes: OrderedDict[Hashable, NodeTimes] = OrderedDict()
        self._lock = threading.Lock()
        self.cache_hits = 0
        self.cache_misses = 0

    # -- passes -------------------------------------------------------------------
    def _candidates(self, candidates: ArrayLike | None) -> NDArray[np.int64]:
        n = len(self.venues)
        if candidates is None:
            return np.flatnonzero(self._snapped_ok).astype(np.int64)
        c = np.asarray(candidates)
        if c.dtype == bool:
            if c.shape != (n,):
                msg = f"as a mask must have one entry per venue ({n})"
                raise InvalidParameter("candidates", msg)
            c = np.flatnonzero(c)
        c = c.astype(np.int64, copy=False).ravel()
        if len(c) and (c.min() < 0 or c.max() >= n):
            msg = f"must be venue positions between 0 and {n - 1}"
            raise InvalidParameter("candidates", msg)
        c = np.unique(c)
        return c[self._snapped_ok[c]]

    def pass_for(self, candidates: ArrayLike | None, key: Hashable | None = None) -> NodeTimes:
        """The (cached) multi-source pass to the nearest of ``candidates``.

        Parameters
        ----------
        candidates : int array (venue positions), bool mask, or None (= all venues)
            Unsnappable venues are dropped.
        key : hashable, optional
            Names the candidate set in the LRU (e.g. the normalised filters);
            default: a hash of the candidate positions.

        Returns
        -------
        NodeTimes
            ``source`` indexes ``sources`` / ``source_ids``; ``source_ids``
            holds VENUE POSITIONS (use ``nt.source_id()`` per node).
        """
        cands = self._candidates(candidates)
        if key is None:
            key = ("positions", hashlib.sha1(cands.tobytes()).hexdigest())
        with self._lock:
            nt = self._passes.get(key)
            if nt is not None:
                self._passes.move_to_end(key)
                self.cache_hits += 1
                return nt
            self.cache_misses += 1
        nt = times_to_sources(self.net, self.venues.take(cands), walk_speed_mps=self.walk_speed_mps,
                              source_ids=cands)
        with self._lock:
            self._passes[key] = nt
            self._passes.move_to_end(key)
            while len(self._passes) > self.settings.pass_cache_size:
                self._passes.popitem(last=False)
        return nt

    @property
    def cached_keys(self) -> list[Hashable]:
        """Keys of the passes in the LRU, least recently used first."""
        with self._lock:
            return list(self._passes)

    # -- queries ------------------------------------------------------------------
    def snap_query(self, lon: float, lat: float) -> Snapped:
        """Snap one query point; raise OutsideNetwork beyond ``settings.snap_max_m``."""
        q = snap_points(self.net, lon, lat, max_dist_m=self.settings.snap_max_m * 1.5 + 1000)
        if len(q) != 1:
            msg = "must be a single number"
            raise InvalidParameter("lon", msg, more=[("lat", msg)])
        check_snapped(q, self.settings.snap_max_m, name="lon`/`lat", mode=self.net.mode)
        return q

    def nearest(
        self,
        lon: float,
        lat: float,
        *,
        candidates: ArrayLike | None,
        k: int = 5,
        key: Hashable | None = None,
        max_minutes: float | None = None,
        accept: Callable[[int, float], bool] | None = None,
        route: bool = False,
    ) -> list[NearestHit]:
        """The ``k`` candidate venues quickest to reach from (lon, lat), sorted by time, position.

        Parameters
        ----------
        lon, lat : float
            WGS-84 degrees of the query point.
        candidates : int array, bool mask or None
            Venue positions allowed by the filters (None = all).
        k : int
            How many venues, >= 1.
        key : hashable, optional
            Cache key of the candidate set (see :meth:`pass_for`).
        max_minutes : float, optional
            Only venues reachable within this many minutes.
        accept : callable(pos, travel_time_s) -> bool, optional
            Open-on-arrival predicate; rejected venues are skipped and the
            search goes on to the next.
        route : bool
            Add each trip's lon/lat polyline.

        Raises
        ------
        InvalidParameter
            Bad ``k`` / ``max_minutes`` / coordinates / candidates.
        OutsideNetwork
            The point is farther than ``settings.snap_max_m`` from the network.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InvalidParameter("k", f"must be an integer >= 1, not {k!r}")
        limit_s = math.inf
        if max_minutes is not None:
            if not (isinstance(max_minutes, (int, float, np.number))
                    and math.isfinite(max_minutes) and max_minutes >= 0):
                msg = f"must be a number of minutes >= 0, not {max_minutes!r}"
                raise InvalidParameter("max_minutes", msg)
            limit_s = float(max_minutes) * 60.0
        q = self.snap_query(lon, lat)
        nt = self.pass_for(candidates, key)
        t1, s1 = point_times(self.net, q, nt)
        best, src = float(t1[0]), int(s1[0])
        if src < 0 or best > limit_s:
            return []
        pos = int(nt.source_ids[src])
        if k == 1 and (accept is None or accept(pos, best)):
            nodes = self._pass_path(q, nt, best, src)
            return [self._hit(q, pos, best, nodes, route)]
        return self._search(q, nt, best, int(k), limit_s, accept, route)

    # -- internals ------------------------------------------------------------------
    def _pass_path(self, q: Snapped, nt: NodeTimes, best: float, src: int) -> list[int]:
        """Real nodes of the pass's trip from q to source ``src`` ([] = same line)."""
        w = self.walk_speed_mps
        pi, si, sec = same_line_times(self.net, q, nt.sources.take([src]), w)
        if len(pi) and np.isclose(sec.min(), best, rtol=1e-12, atol=1e-9):
            return []
        _, node, sec = exits(self.net, q, w)
        tot = sec + nt.time_s[node]
        ok = nt.source[node] == src
        x = int(node[ok][np.argmin(tot[ok])])
        nodes = [x]
        nxt = int(nt.next_node[x])
        while nxt >= 0:
            nodes.append(nxt)
            nxt = int(nt.next_node[nxt])
        return nodes

    def _hit(self, q: Snapped, pos: int, time_s: float, nodes: list[int],
             want_route: bool) -> NearestHit:
        target = self.venues.take([pos])
        r = build_route(self.net, q, target, nodes)
        return NearestHit(pos=pos, time_s=float(time_s), distance_m=self._distance(q, target, r),
                          route_lonlat=r.lonlat if want_route else None)

    def _distance(self, q: Snapped, target: Snapped, r: object) -> float:
        """Trip length: access legs + partial edges + full edges, metres (edge lengths)."""
        net = self.net
        nodes: list[int] = r.nodes  # type: ignore[attr-defined]
        edges: list[int] = r.edges  # type: ignore[attr-defined]
        pe, pf = int(q.edge[0]), float(q.frac[0])
        te, tf = int(target.edge[0]), float(target.frac[0])
        d = float(q.dist_m[0] + target.dist_m[0])
        if not nodes:
            lp = net.edge_length_m[pe]
            same = pe == te or int(net.edge_twin[pe]) == te
            tf_on_pe = tf if pe == te else 1 - tf
            return d + (abs(tf_on_pe - pf) * lp if same else 0.0)
        d += (1 - pf if int(net.edge_v[pe]) == nodes[0] else pf) * net.edge_length_m[pe]
        d += float(net.edge_length_m[edges].sum()) if edges else 0.0
        d += (tf if int(net.edge_u[te]) == nodes[-1] else 1 - tf) * net.edge_length_m[te]
        return float(d)

    def _search(self, q: Snapped, nt: NodeTimes, first_s: float, k: int, limit_s: float,
                accept: Callable[[int, float], bool] | None, want_route: bool) -> list[NearestHit]:
        net, w = self.net, self.walk_speed_mps
        cand_sources = nt.sources
        cand_pos = nt.source_ids
        e_idx, e_node, e_sec = entries(net, cand_sources, w)
        _, x_node, x_sec = exits(net, q, w)
        s_pi, s_si, s_sec = same_line_times(net, q, cand_sources, w)
        decided: dict[int, bool] = {}
        radius = min(max(2.0 * first_s, 120.0), limit_s)
        rounds = 0
        while True:
            lim = radius - float(x_sec.min()) if math.isfinite(radius) else np.inf
            dist, pred = dijkstra(net.csr, directed=True, indices=x_node, limit=max(lim, 0.0),
                                  return_predecessors=True)
            dist = np.atleast_2d(dist)
            pred = np.atleast_2d(pred)
            via = dist[:, e_node] + x_sec[:, None]  # only at the candidates' entry nodes
            vt = np.full(len(cand_pos), np.inf)
            np.minimum.at(vt, e_idx, via.min(axis=0) + e_sec)
            if len(s_si):
                np.minimum.at(vt, s_si, s_sec)
            sure = np.flatnonzero(np.isfinite(vt) & (vt <= min(radius, limit_s)))
            order = sure[np.lexsort((cand_pos[sure], np.round(vt[sure], 6)))]
            hits: list[int] = []
            for i in order.tolist():
                p = int(cand_pos[i])
                ok = decided.get(p)
                if ok is None:
                    ok = accept is None or bool(accept(p, float(vt[i])))
                    decided[p] = ok
                if ok:
                    hits.append(i)
                    if len(hits) == k:
                        break
            if len(hits) == k or radius >= limit_s:
                break
            rounds += 1
            radius = radius * _GROWTH if rounds < _MAX_ROUNDS else math.inf
            radius = min(radius, limit_s)
        out = []
        for i in hits:
            nodes = self._search_path(i, vt[i], e_idx, e_node, e_sec, dist, x_sec, pred, x_node,
                                      s_si, s_sec)
            out.append(self._hit(q, int(cand_pos[i]), float(vt[i]), nodes, want_route))
        return out

    @staticmethod
    def _search_path(i: int, t: float, e_idx: NDArray[np.int64], e_node: NDArray[np.int64],
                     e_sec: NDArray[np.float64], dist: NDArray[np.float64],
                     x_sec: NDArray[np.float64], pred: NDArray[np.int32],
                     x_node: NDArray[np.int64], s_si: NDArray[np.int64],
                     s_sec: NDArray[np.float64]) -> list[int]:
        same = s_sec[s_si == i]
        if len(same) and np.isclose(same.min(), t, rtol=1e-12, atol=1e-9):
            return []
        mine = np.flatnonzero(e_idx == i)
        via = dist[:, e_node[mine]] + x_sec[:, None] + e_sec[mine][None, :]
        r, j = np.unravel_index(int(np.argmin(via)), via.shape)
        x = int(e_node[mine[j]])
        r = int(r)
        nodes = [x]
        p = int(pred[r, x])
        while p >= 0:
            nodes.append(p)
            p = int(pred[r, p])
        if nodes[-1] != int(x_node[r]):
            warnings.warn("route reconstruction did not reach the start", stacklevel=2)
        return nodes[::-1]
