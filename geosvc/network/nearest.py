"""k nearest venues by travel time, with routes and an open-on-arrival predicate.

:class:`TravelEngine` snaps every venue once and indexes the ways into each
venue by the node they leave from.  A query is answered in one of two ways:

* **bounded forward search** (:mod:`geosvc.network._dijkstra`): an exact
  Dijkstra from the query point over the forward graph plus one virtual node
  per candidate venue, stopped as soon as ``k`` accepted candidates are
  settled (ties at the boundary included) or at ``max_minutes``.  Its cost
  follows the settled region, not N: scratch arrays are reused (one set per
  thread) and reset through the list of ids the search touched.
* **multi-source pass** (:func:`~geosvc.network.paths.times_to_sources`): one
  O(N) pass per candidate set (named by ``key``) gives every node its time to,
  and the identity of, the nearest candidate; passes are kept in an LRU of
  ``settings.pass_cache_size``.  With a cached pass, ``k == 1`` (nearest
  accepted) and "nothing reachable" are answered by array look-ups.  A pass
  asked with a cutoff (coverage within N minutes) settles only the nodes
  within it and is cached under :class:`CutKey`; ``nearest`` only ever
  uses uncut passes.

``nearest`` never builds a pass on the first request for a key.  It builds
one only once the searches for that key that a pass would have answered by
itself (``k == 1``, or nothing found) have settled as many nodes in total as
the network has (the pass's cost): a ski-rental rule, so a key never costs
more than about twice the cheaper of the two choices.  :meth:`pass_for`
(coverage, planning) always returns a pass, building it on a miss.

Thread-safe: the LRU and counters are guarded by a lock, the search scratch
is per thread (the numba kernels release the GIL), everything else is
read-only.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from geosvc.coords import valid_lonlat
from geosvc.errors import InvalidParameter
from geosvc.modes import TRAVEL_MODES
from geosvc.network.paths import (
    NodeTimes,
    entries,
    exits,
    point_times,
    same_line_times,
    times_to_sources,
)
from geosvc.network.paths import (
    route as build_route,
)
from geosvc.network.snap import Snapped, check_snapped, snap_point, snap_points

if TYPE_CHECKING:
    from geosvc.config import Settings
    from geosvc.network import _dijkstra
    from geosvc.network.graph import RoadNetwork

__all__ = ["CutKey", "NearestHit", "TravelEngine"]

_SEEN_PER_PASS = 4  # keys remembered without a pass, per LRU slot


@dataclass(frozen=True, slots=True)
class CutKey:
    """LRU key of a pass of the candidate set ``key`` cut at ``cutoff_s`` seconds.

    Kept apart from the uncut pass of ``key`` (which ``nearest`` reuses), so
    a cut pass never answers a question that needs farther nodes.
    """

    key: Hashable
    cutoff_s: float


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
        refused; a mode's own limit in :mod:`geosvc.modes` overrides it),
        ``min_component_nodes`` (venues and queries snap only to
        components that big), ``walk_speed_kph`` (access legs),
        ``pass_cache_size``.

    Notes
    -----
    One engine may serve many threads at once (e.g. a gunicorn worker with
    threads): each thread gets its own search scratch (about 17 bytes per
    node and venue), the pass LRU is locked.

    Attributes
    ----------
    cache_hits, cache_misses : int
        Requests (``pass_for`` and ``nearest``) whose key had / had not been
        seen before (a cached pass, or a key remembered by ``nearest``).
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
        spec = TRAVEL_MODES.get(net.mode)
        #: Farthest a venue or query point may lie from the network, metres.
        self.snap_max_m = spec.snap_limit_m(settings) if spec else float(settings.snap_max_m)
        lon = np.atleast_1d(np.asarray(venue_lon, dtype=np.float64))
        lat = np.atleast_1d(np.asarray(venue_lat, dtype=np.float64))
        if lon.shape != lat.shape or lon.ndim != 1:
            msg = f"must have the same 1-d shape as `venue_lat` ({lon.shape} vs {lat.shape})"
            raise InvalidParameter("venue_lon", msg)
        good = valid_lonlat(lon, lat)
        snapped = snap_points(net, np.where(good, lon, 0.0), np.where(good, lat, 0.0),
                              max_dist_m=self.snap_max_m,
                              min_component_nodes=settings.min_component_nodes)
        edge = np.where(good, snapped.edge, -1)
        self.venues = Snapped(edge=edge, frac=snapped.frac,
                              dist_m=np.where(edge >= 0, snapped.dist_m, np.inf), x=snapped.x,
                              y=snapped.y, px=snapped.px, py=snapped.py, lon=lon, lat=lat)
        self.unsnappable = np.flatnonzero(edge < 0).astype(np.int64)
        self.warnings = [
            (f"venue {int(i)}: coordinate is not a valid lon/lat" if not good[i] else
             f"venue {int(i)}: farther than {self.snap_max_m:g} m from any {net.mode} road")
            for i in self.unsnappable
        ]
        self._snapped_ok = edge >= 0
        from geosvc.network import (
            _dijkstra,  # lazy: numba kernels (~57 MB, ~0.3 s): only processes with an engine
        )

        self._dj = _dijkstra
        self._entries = _dijkstra.VenueEntries.build(
            net.n_nodes, *entries(net, self.venues, self.walk_speed_mps))
        self._lines = self._venue_lines()
        self._line_edges = frozenset(self._lines[0].tolist())  # edges holding a venue
        keys, best = net.fastest_edges  # as edge_between reads it
        self._best_edges = (keys, best, _dijkstra.best_edge_rows(keys, net.n_nodes))
        self._passes: OrderedDict[Hashable, NodeTimes] = OrderedDict()
        # keys asked without a pass -> nodes settled by searches a pass would have saved
        self._seen: OrderedDict[Hashable, int] = OrderedDict()
        self._lock = threading.Lock()
        self._local = threading.local()
        self.cache_hits = 0
        self.cache_misses = 0
        _dijkstra.warm_up()

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
            c = np.flatnonzero(c & self._snapped_ok)  # sorted, unique
            return c.astype(np.int64, copy=False)
        c = c.astype(np.int64, copy=False).ravel()
        if len(c) and (c.min() < 0 or c.max() >= n):
            msg = f"must be venue positions between 0 and {n - 1}"
            raise InvalidParameter("candidates", msg)
        c = np.unique(c)
        return c[self._snapped_ok[c]]

    def pass_for(self, candidates: ArrayLike | None, key: Hashable | None = None, *,
                 cutoff_s: float | None = None) -> NodeTimes:
        """Return the (cached) multi-source pass to the nearest of ``candidates``.

        Parameters
        ----------
        candidates : int array (venue positions), bool mask, or None (= all venues)
            Unsnappable venues are dropped.
        key : hashable, optional
            Names the candidate set in the LRU (e.g. the normalised filters);
            default: a hash of the candidate positions.
        cutoff_s : float, optional
            Only times up to this many seconds are needed (coverage within N
            minutes): a pass cut there costs the nodes within it, not N.
            Cut passes are cached apart from uncut ones, under
            ``CutKey(key, cutoff_s)``: an uncut pass of ``key``, or a cut one
            reaching at least as far, answers a cut request; only uncut passes
            answer uncut requests and ``nearest`` (whose answers need every
            node).

        Returns
        -------
        NodeTimes
            ``source`` indexes ``sources`` / ``source_ids``; ``source_ids``
            holds VENUE POSITIONS (use ``nt.source_id()`` per node).
            ``cutoff_s`` says how far it reaches (inf = uncut); within it,
            the times equal an uncut pass's.

        Raises
        ------
        InvalidParameter
            Bad ``candidates``; ``cutoff_s`` < 0.
        """
        limit = math.inf if cutoff_s is None else float(cutoff_s)
        if not limit >= 0:
            msg = f"must be >= 0 seconds, not {cutoff_s!r}"
            raise InvalidParameter("cutoff_s", msg)
        cands = self._candidates(candidates)
        key = self._key(cands, key)
        if limit < math.inf:
            return self._cut_pass(cands, key, limit)
        with self._lock:
            nt = self._passes.get(key)
            if nt is not None:
                self._passes.move_to_end(key)
                self.cache_hits += 1
                return nt
            if key in self._seen:
                self.cache_hits += 1
                del self._seen[key]
            else:
                self.cache_misses += 1
        return self._build_pass(cands, key)

    def _cut_pass(self, cands: NDArray[np.int64], key: Hashable, limit: float) -> NodeTimes:
        """Return a cached pass of ``key`` reaching ``limit`` (uncut first), else build one."""
        with self._lock:
            found = [key] if key in self._passes else [
                k for k, nt in self._passes.items()
                if isinstance(k, CutKey) and k.key == key and nt.cutoff_s >= limit]
            if found:
                self._passes.move_to_end(found[0])
                self.cache_hits += 1
                return self._passes[found[0]]
            self.cache_misses += 1
        return self._build_pass(cands, CutKey(key, limit), cutoff_s=limit)

    @staticmethod
    def _key(cands: NDArray[np.int64], key: Hashable | None) -> Hashable:
        if key is None:
            return ("positions", hashlib.sha1(cands.tobytes()).hexdigest())
        return key

    def _build_pass(self, cands: NDArray[np.int64], key: Hashable,
                    cutoff_s: float | None = None) -> NodeTimes:
        nt = times_to_sources(self.net, self.venues.take(cands), cutoff_s=cutoff_s,
                              walk_speed_mps=self.walk_speed_mps, source_ids=cands)
        with self._lock:
            self._passes[key] = nt
            self._passes.move_to_end(key)
            while len(self._passes) > self.settings.pass_cache_size:
                self._passes.popitem(last=False)
        return nt

    def _lookup(self, cands: NDArray[np.int64], key: Hashable) -> NodeTimes | None:
        """Return the cached pass of ``key``, built if searches have earned it, else None."""
        with self._lock:
            nt = self._passes.get(key)
            if nt is not None:
                self._passes.move_to_end(key)
                self.cache_hits += 1
                return nt
            savable = self._seen.get(key)
            if savable is None:
                self.cache_misses += 1
                self._seen[key] = 0
                while len(self._seen) > _SEEN_PER_PASS * self.settings.pass_cache_size:
                    self._seen.popitem(last=False)
                return None
            self.cache_hits += 1
            self._seen.move_to_end(key)
            if savable < max(self.net.n_nodes, 1):
                return None
            del self._seen[key]
        return self._build_pass(cands, key)

    def _record(self, key: Hashable, savable: int) -> None:
        with self._lock:
            if key in self._seen:
                self._seen[key] += savable

    @property
    def cached_keys(self) -> list[Hashable]:
        """Keys of the passes in the LRU, least recently used first."""
        with self._lock:
            return list(self._passes)

    # -- queries ------------------------------------------------------------------
    def snap_query(self, lon: float, lat: float) -> Snapped:
        """Snap one query point; raise OutsideNetwork beyond :attr:`snap_max_m`."""
        q = snap_point(self.net, lon, lat, max_dist_m=self.snap_max_m * 1.5 + 1000,
                       min_component_nodes=self.settings.min_component_nodes)
        if len(q) != 1:
            msg = "must be a single number"
            raise InvalidParameter("lon", msg, more=[("lat", msg)])
        if not q.dist_m[0] <= self.snap_max_m:  # the usual point is near: no array checks
            check_snapped(q, self.snap_max_m, name="lon`/`lat", mode=self.net.mode)
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
        """Find the ``k`` candidate venues quickest to reach from (lon, lat).

        Sorted by time (to 1e-6 s), then position.

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
        cands = self._candidates(candidates)
        key = self._key(cands, key)
        nt = self._lookup(cands, key)
        if nt is not None:
            t1, s1 = point_times(self.net, q, nt)
            best, src = float(t1[0]), int(s1[0])
            if src < 0 or best > limit_s:
                return []
            pos = int(nt.source_ids[src])
            if k == 1 and (accept is None or accept(pos, best)):
                nodes = self._pass_path(q, nt, best, src)
                return [self._hit(q, pos, best, nodes, route)]
        hits, savable = self._search(q, cands, int(k), limit_s, accept, route)
        if nt is None and savable:
            self._record(key, savable)
        return hits

    def route_to(self, lon: float, lat: float, pos: int) -> NearestHit | None:
        """Return the quickest trip from (lon, lat) to venue ``pos`` with its route, or None.

        A bounded forward search for that one venue (no pass is built or
        remembered).  None when the venue is unsnappable or not reached.

        Raises
        ------
        InvalidParameter
            ``pos`` is not a venue position; bad coordinates.
        OutsideNetwork
            The point is farther than ``settings.snap_max_m`` from the network.
        """
        n = len(self.venues)
        if isinstance(pos, bool) or not isinstance(pos, (int, np.integer)) or not 0 <= pos < n:
            msg = f"must be a venue position between 0 and {n - 1}, not {pos!r}"
            raise InvalidParameter("pos", msg)
        q = self.snap_query(lon, lat)
        cands = self._candidates(np.array([pos], dtype=np.int64))
        if not len(cands):
            return None
        hits, _ = self._search(q, cands, 1, math.inf, None, True)
        return hits[0] if hits else None

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
             want_route: bool, between: NDArray[np.int64] | None = None) -> NearestHit:
        # the route needs the venue as a Snapped; the distance reads its scalars
        lonlat = (build_route(self.net, q, self.venues.take([pos]), nodes).lonlat
                  if want_route else None)
        return NearestHit(pos=pos, time_s=float(time_s),
                          distance_m=self._distance(q, pos, nodes, between),
                          route_lonlat=lonlat)

    def _distance(self, q: Snapped, pos: int, nodes: list[int],
                  between: NDArray[np.int64] | None = None) -> float:
        """Trip length: access legs + partial edges + full edges, metres (edge lengths).

        ``pos`` is the venue's position; its snapped place is read as scalars
        (no per-hit :class:`Snapped`).  ``between``: the edges joining
        ``nodes`` when the caller looked them up (else looked up here).
        """
        net, v = self.net, self.venues
        pe, pf = int(q.edge[0]), float(q.frac[0])
        te, tf = int(v.edge[pos]), float(v.frac[pos])
        d = float(q.dist_m[0] + v.dist_m[pos])
        if not nodes:
            lp = net.edge_length_m[pe]
            same = pe == te or int(net.edge_twin[pe]) == te
            tf_on_pe = tf if pe == te else 1 - tf
            return d + (abs(tf_on_pe - pf) * lp if same else 0.0)
        d += (1 - pf if int(net.edge_v[pe]) == nodes[0] else pf) * net.edge_length_m[pe]
        if len(nodes) > 1:
            if between is None:
                path = np.asarray(nodes, dtype=np.int64)
                between = net.edge_between(path[:-1], path[1:])
            d += float(net.edge_length_m[between].sum())
        d += (tf if int(net.edge_u[te]) == nodes[-1] else 1 - tf) * net.edge_length_m[te]
        return float(d)

    def _venue_lines(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
        """Every venue's place on its directed edge and the twin, sorted by edge.

        ``(edge, venue position, fraction along that edge)``, as in
        :func:`~geosvc.network.paths.same_line_times`.
        """
        v = self.venues
        ok = np.flatnonzero(v.edge >= 0)
        e = v.edge[ok]
        tw = self.net.edge_twin[e]
        two = tw >= 0
        edge = np.concatenate([e, tw[two]]).astype(np.int64)
        pos = np.concatenate([ok, ok[two]]).astype(np.int64)
        frac = np.concatenate([v.frac[ok], 1 - v.frac[ok][two]])
        order = np.argsort(edge, kind="stable")
        return edge[order], pos[order], frac[order]

    def _same_line(self, q: Snapped,
                   cand: NDArray[np.bool_]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Candidate venues ahead of q on its street line: (positions, seconds)."""
        net, w = self.net, self.walk_speed_mps
        s_edge, s_pos, s_frac = self._lines
        pe, pf = int(q.edge[0]), float(q.frac[0])
        mine = [(pe, pf)]
        if net.edge_twin[pe] >= 0:
            mine.append((int(net.edge_twin[pe]), 1 - pf))
        pos_out: list[NDArray[np.int64]] = []
        sec_out: list[NDArray[np.float64]] = []
        for e, f in mine:
            if e not in self._line_edges:  # most query points: no venue on their line
                continue
            lo, hi = np.searchsorted(s_edge, [e, e + 1])
            if lo == hi:
                continue
            p, g = s_pos[lo:hi], s_frac[lo:hi]
            keep = (g >= f) & cand[p]
            p, g = p[keep], g[keep]
            pos_out.append(p)
            sec_out.append((g - f) * net.edge_time_s[e] + q.dist_m[0] / w
                           + self.venues.dist_m[p] / w)
        if not pos_out:
            return np.zeros(0, np.int64), np.zeros(0)
        return np.concatenate(pos_out), np.concatenate(sec_out)

    def _scratch(self) -> tuple[_dijkstra.Scratch, bool]:
        """Return this thread's search scratch (a fresh one if in use: re-entrant accept)."""
        local = self._local
        if getattr(local, "busy", False):
            return self._dj.Scratch(self.net.n_nodes + len(self.venues)), False
        sc = getattr(local, "scratch", None)
        if sc is None:
            sc = local.scratch = self._dj.Scratch(self.net.n_nodes + len(self.venues))
        local.busy = True
        return sc, True

    def _search(self, q: Snapped, cands: NDArray[np.int64], k: int, limit_s: float,
                accept: Callable[[int, float], bool] | None,
                want_route: bool) -> tuple[list[NearestHit], int]:
        """Bounded forward search; returns the hits and the nodes settled a pass would save."""
        net, n = self.net, self.net.n_nodes
        cand = np.zeros(len(self.venues), dtype=np.bool_)
        cand[cands] = True
        x_node, x_sec = self._exits_one(q)
        s_pos, s_sec = self._same_line(q, cand)
        if len(s_pos):
            ids = np.concatenate([x_node, n + s_pos])
            secs = np.concatenate([x_sec, s_sec])
        else:
            ids, secs = x_node, x_sec
        sc, own = self._scratch()
        found: list[tuple[int, float, int]] = []  # venue, seconds, its trip's index
        first_ok: bool | None = None
        v = self.venues
        qt = (int(q.edge[0]), float(q.frac[0]), float(q.dist_m[0]))
        vt3 = (v.edge, v.frac, v.dist_m)
        try:
            dj = self._dj
            # the usual case, no predicate: search and trips in one compiled call
            one = None if accept is not None else dj.search_trips(
                sc, net.csr, self._entries, cand, ids, secs, k, limit_s, net,
                self._best_edges, qt, vt3)
            if one is not None:
                vid, vt, trip_nodes, ptr, dist = one
                order = np.lexsort((vid, np.round(vt, 6))).tolist()
                if order:
                    first_ok = True
                found = [(int(vid[i]), float(vt[i]), i) for i in order[:k]]
            else:
                dj.start(sc, ids, secs)
                while len(found) < k:
                    need = k - len(found)
                    vid, vt = dj.run(net.csr, self._entries, cand, sc, need=need,
                                     limit_s=limit_s)
                    for i in np.lexsort((vid, np.round(vt, 6))).tolist():
                        p, t = int(vid[i]), float(vt[i])
                        ok = accept is None or bool(accept(p, t))
                        if first_ok is None:
                            first_ok = ok
                        if ok:
                            found.append((p, t, len(found)))
                            if len(found) == k:
                                break
                    if len(vid) < need:
                        break  # limit reached or everything reachable settled
                # every hit's path and length in one compiled call (paths of settled
                # ids stay as they were when the hit was settled)
                trip_nodes, ptr, dist = dj.trips(
                    sc, np.array([p for p, _, _ in found], dtype=np.int64), net,
                    self._best_edges, qt, vt3)
            settled = sc.settled
        finally:
            sc.reset()
            if own:
                self._local.busy = False
        savable = settled if (first_ok is None or (k == 1 and first_ok)) else 0
        hits = []
        for p, t, i in found:
            lonlat = None
            if want_route:
                nodes = trip_nodes[ptr[i]:ptr[i + 1]].tolist()
                lonlat = build_route(self.net, q, v.take([p]), nodes).lonlat
            hits.append(NearestHit(pos=p, time_s=t, distance_m=float(dist[i]),
                                   route_lonlat=lonlat))
        return hits, savable

    def _exits_one(self, q: Snapped) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Return :func:`exits` of the one query point as (node, seconds): same floats."""
        net = self.net
        e = int(q.edge[0])
        if e < 0:
            _, node, sec = exits(net, q, self.walk_speed_mps)
            return node, sec
        f = float(q.frac[0])
        acc = float(q.dist_m[0]) / self.walk_speed_mps
        t = net.edge_time_s
        nodes = [int(net.edge_v[e])]
        secs = [(1 - f) * float(t[e]) + acc]
        tw = int(net.edge_twin[e])
        if tw >= 0:
            nodes.append(int(net.edge_v[tw]))
            secs.append(f * float(t[tw]) + acc)
        return np.array(nodes, dtype=np.int64), np.array(secs, dtype=np.float64)
