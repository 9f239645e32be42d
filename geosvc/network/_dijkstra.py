"""A resumable, bounded Dijkstra whose cost follows the settled region, not N.

scipy's ``dijkstra`` allocates and initialises O(N) arrays on every call, so
even a search that settles a few hundred nodes costs milliseconds on a
250k-node network.  This module keeps the search state in reusable scratch
arrays (:class:`Scratch`, one per thread) and resets only the entries a
search touched, so a query costs O(settled * log(heap)).

The graph searched is the forward CSR of a :class:`RoadNetwork` (N real
nodes) plus one VIRTUAL node per venue (id ``N + venue``): a real node ``x``
leads to venue ``v`` in ``sec`` seconds for every entry ``(x, v, sec)`` of the
venue table (see :class:`VenueEntries`), and only venues marked in the
candidate mask are entered.  A search stops after settling ``need`` candidate
venues (then keeps settling while the heap's top is within ``tie_s`` of the
last one, so ties at the boundary are all seen), at ``limit_s`` seconds or
when the heap runs dry; it can then be resumed for more venues.

The kernels are compiled by numba (``nogil``: threads with their own
:class:`Scratch` run in parallel) and cached on disk next to this module.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
from numba import njit
from numpy.typing import NDArray

from geosvc.network import _splat

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = ["WIDTH_RANGE_S", "Scratch", "VenueEntries", "best_edge_rows", "bounded", "passes",
           "reach_pairs", "run", "search_trips", "start", "trips",
           "walk_back", "warm_up"]

# state slots of a Scratch
_HEAP = 0  # heap size
_TOUCHED = 1  # entries in `touched`
_SETTLED = 2  # settled ids since the last start
_FULL = 3  # 1 = the kernel stopped because the heap needs more room
_NO_NEED = 1 << 62


@dataclass(frozen=True, eq=False)
class VenueEntries:
    """Ways into venues, grouped by the real node they leave from (CSR over N nodes).

    ``ptr`` int64[N+1]; for ``j in ptr[x]:ptr[x+1]`` the venue ``venue[j]`` is
    reached from node ``x`` in ``sec[j]`` seconds (partial edge + access leg).
    """

    ptr: NDArray[np.int64]
    venue: NDArray[np.int64]
    sec: NDArray[np.float64]

    @classmethod
    def build(cls, n_nodes: int, idx: NDArray[np.int64], node: NDArray[np.int64],
              sec: NDArray[np.float64]) -> VenueEntries:
        """From ``(venue, node, seconds)`` triples as :func:`paths.entries` returns them."""
        order = np.argsort(node, kind="stable")
        ptr = np.zeros(n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(node, minlength=n_nodes), out=ptr[1:])
        return cls(ptr=ptr, venue=np.ascontiguousarray(idx[order], dtype=np.int64),
                   sec=np.ascontiguousarray(sec[order], dtype=np.float64))


class Scratch:
    """Reusable search state for one thread: O(N + V) memory, reset by touched list.

    ``dist`` float64 (inf), ``pred`` int32 (previous real node, -1 at a start),
    ``done`` bool, ``touched`` int32 ids whose ``dist`` was set, a binary heap
    (``heap_t``, ``heap_id``) that grows on demand, and ``state`` int64[4].
    Not thread-safe by itself: give each thread its own.
    """

    def __init__(self, n_ids: int, heap_capacity: int = 4096) -> None:
        self.dist = np.full(n_ids, np.inf)
        self.pred = np.full(n_ids, -1, dtype=np.int32)
        self.done = np.zeros(n_ids, dtype=np.bool_)
        self.touched = np.zeros(n_ids, dtype=np.int32)
        self.heap_t = np.zeros(heap_capacity)
        self.heap_id = np.zeros(heap_capacity, dtype=np.int32)
        self.state = np.zeros(4, dtype=np.int64)
        self.t_stop = np.full(1, np.inf)  # set once `need` venues are settled
        self.out_id = np.zeros(0, dtype=np.int64)
        self.out_t = np.zeros(0)
        self.trip_nodes = np.zeros(1024, dtype=np.int64)  # :func:`trips`, grown on demand
        self.trip_lens = np.zeros(1024)
        self.trip_ptr = np.zeros(0, dtype=np.int64)  # :func:`search_trips`
        self.trip_dist = np.zeros(0)

    def grow_heap(self) -> None:
        """Double the heap's capacity, keeping its content."""
        cap = 2 * len(self.heap_t)
        t = np.zeros(cap)
        i = np.zeros(cap, dtype=np.int32)
        t[: len(self.heap_t)] = self.heap_t
        i[: len(self.heap_id)] = self.heap_id
        self.heap_t, self.heap_id = t, i

    def reset(self) -> None:
        """Forget the last search (cost: the ids it touched)."""
        _reset(self.dist, self.done, self.touched, self.state)

    @property
    def settled(self) -> int:
        """Ids settled since the last :func:`start`."""
        return int(self.state[_SETTLED])


@njit(nogil=True, cache=True)
def _reset(dist, done, touched, state):  # pragma: no cover - compiled
    for i in range(state[_TOUCHED]):
        x = touched[i]
        dist[x] = np.inf
        done[x] = False
    state[:] = 0


@njit(nogil=True, cache=True)
def _push(heap_t, heap_id, size, t, x):  # pragma: no cover - compiled
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if heap_t[parent] <= t:
            break
        heap_t[i] = heap_t[parent]
        heap_id[i] = heap_id[parent]
        i = parent
    heap_t[i] = t
    heap_id[i] = x
    return size + 1


@njit(nogil=True, cache=True)
def _pop(heap_t, heap_id, size):  # pragma: no cover - compiled
    """Remove the top; return the new size (the caller read the top before)."""
    size -= 1
    t = heap_t[size]
    x = heap_id[size]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and heap_t[c + 1] < heap_t[c]:
            c += 1
        if heap_t[c] >= t:
            break
        heap_t[i] = heap_t[c]
        heap_id[i] = heap_id[c]
        i = c
    if size > 0:
        heap_t[i] = t
        heap_id[i] = x
    return size


@njit(nogil=True, cache=True)
def _start(dist, pred, touched, heap_t, heap_id, state, ids, secs):  # pragma: no cover
    for j in range(len(ids)):
        x = ids[j]
        t = secs[j]
        if t < dist[x]:
            if dist[x] == np.inf:
                touched[state[_TOUCHED]] = x
                state[_TOUCHED] += 1
            dist[x] = t
            pred[x] = -1
            state[_HEAP] = _push(heap_t, heap_id, state[_HEAP], t, x)


@njit(nogil=True, cache=True)
def _run(indptr, indices, weights, ent_ptr, ent_venue, ent_sec, cand,
         dist, pred, done, touched, heap_t, heap_id, state, t_stop_box,
         need, limit_s, tie_s, out_id, out_t):  # pragma: no cover - compiled
    n = len(indptr) - 1
    cap = len(heap_t)
    found = 0
    t_stop = t_stop_box[0]
    state[_FULL] = 0
    size = state[_HEAP]
    while size > 0:
        t = heap_t[0]
        if t > limit_s or t > t_stop:
            break
        x = heap_id[0]
        # stop (resumable) if settling x could overflow the heap: the caller grows it
        if not done[x] and x < n and size - 1 + (indptr[x + 1] - indptr[x]) + (
            ent_ptr[x + 1] - ent_ptr[x]
        ) > cap:
            state[_FULL] = 1
            break
        size = _pop(heap_t, heap_id, size)
        if done[x]:
            continue
        done[x] = True
        state[_SETTLED] += 1
        if x >= n:
            out_id[found] = x - n
            out_t[found] = t
            found += 1
            if found == need:
                t_stop = t + tie_s
            continue
        for j in range(indptr[x], indptr[x + 1]):
            y = indices[j]
            ty = t + weights[j]
            if ty < dist[y]:
                if dist[y] == np.inf:
                    touched[state[_TOUCHED]] = y
                    state[_TOUCHED] += 1
                dist[y] = ty
                pred[y] = x
                size = _push(heap_t, heap_id, size, ty, y)
        for j in range(ent_ptr[x], ent_ptr[x + 1]):
            v = ent_venue[j]
            if not cand[v]:
                continue
            y = n + v
            ty = t + ent_sec[j]
            if ty < dist[y]:
                if dist[y] == np.inf:
                    touched[state[_TOUCHED]] = y
                    state[_TOUCHED] += 1
                dist[y] = ty
                pred[y] = x
                size = _push(heap_t, heap_id, size, ty, y)
    state[_HEAP] = size
    t_stop_box[0] = t_stop
    return found


@njit(nogil=True, cache=True)
def _walk_back(pred, x, out):  # pragma: no cover - compiled
    m = 0
    while x >= 0:
        out[m] = x
        m += 1
        x = pred[x]
    return m


@njit(nogil=True, cache=True)
def _block_sum(a, lo, n):  # pragma: no cover - compiled
    """Sum ``a[lo:lo + n]`` as numpy's pairwise summation does, for ``n <= 128`` (one block)."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    m = n - (n % 8)
    while i < m:
        j = lo + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit(nogil=True, cache=True)
def _pairwise_sum(a, lo, n):  # pragma: no cover - compiled
    """Sum ``a[lo:lo + n]`` (float64) as numpy does: the same float as ``.sum()``.

    Blocks of up to 128 summed by :func:`_block_sum`, longer runs halved (at a
    multiple of 8) and the halves added, as numpy does; an explicit stack, not
    recursion (numba's disk cache does not reload recursive functions safely).
    """
    if n <= 128:
        return _block_sum(a, lo, n)
    s_lo = np.empty(64, dtype=np.int64)
    s_n = np.empty(64, dtype=np.int64)
    s_stage = np.zeros(64, dtype=np.int64)
    s_left = np.zeros(64)
    top = 0
    s_lo[0], s_n[0], s_stage[0] = lo, n, 0
    ret = 0.0
    while top >= 0:
        m = s_n[top]
        if m <= 128:
            ret = _block_sum(a, s_lo[top], m)
            top -= 1
            continue
        half = m // 2
        half -= half % 8
        stage = s_stage[top]
        if stage == 0:
            s_stage[top] = 1
            top += 1
            s_lo[top], s_n[top], s_stage[top] = s_lo[top - 1], half, 0
        elif stage == 1:
            s_left[top] = ret
            s_stage[top] = 2
            top += 1
            s_lo[top], s_n[top], s_stage[top] = s_lo[top - 1] + half, m - half, 0
        else:
            ret = s_left[top] + ret
            top -= 1
    return ret


@njit(nogil=True, cache=True)
def _search_trips(indptr, indices, weights, ent_ptr, ent_venue, ent_sec, cand,
                  dist, pred, done, touched, heap_t, heap_id, state, t_stop_box,
                  ids, secs, need, limit_s, tie_s, out_id, out_t,
                  keys, best, row, n_nodes, edge_u, edge_v, edge_twin, edge_len,
                  q_edge, q_frac, q_dist, v_edge, v_frac, v_dist,
                  nodes_out, ptr_out, dist_out, lens):  # pragma: no cover - compiled
    """:func:`start` + :func:`run` + :func:`trips` of the venues settled, in one call.

    Returns the venues settled (``out_id[:found]``, ``out_t``, trips in that
    order), or -1 when the heap is too small, -2 when ``nodes_out`` is (the
    caller then takes the resumable path).
    """
    _reset(dist, done, touched, state)
    _start(dist, pred, touched, heap_t, heap_id, state, ids, secs)
    t_stop_box[0] = np.inf
    found = _run(indptr, indices, weights, ent_ptr, ent_venue, ent_sec, cand,
                 dist, pred, done, touched, heap_t, heap_id, state, t_stop_box,
                 need, limit_s, tie_s, out_id, out_t)
    if state[_FULL]:
        return -1
    if not _trips(pred, n_nodes, out_id[:found], keys, best, row, n_nodes, edge_u, edge_v,
                  edge_twin, edge_len, q_edge, q_frac, q_dist, v_edge, v_frac, v_dist,
                  nodes_out, ptr_out, dist_out, lens):
        return -2
    return found


def search_trips(scratch: Scratch, csr: sp.csr_matrix, ent: VenueEntries,
                 cand: NDArray[np.bool_], ids: NDArray[np.int64], secs: NDArray[np.float64],
                 need: int, limit_s: float, net: Any,
                 best_edges: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]],
                 q: tuple[int, float, float],
                 v: tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]],
                 tie_s: float = 2e-6) -> tuple[NDArray[np.int64], NDArray[np.float64],
                                               NDArray[np.int64], NDArray[np.int64],
                                               NDArray[np.float64]] | None:
    """One search settling ``need`` candidate venues (and ties) with their trips, one call.

    :func:`start` then :func:`run` then :func:`trips` of every venue settled,
    compiled together (one dispatch instead of several).  Returns
    ``(venue, time_s, nodes, ptr, length_m)`` in settling order (as
    :func:`run` and :func:`trips` return them), or None when the search needs
    a bigger heap or trip buffer: the caller then runs :func:`start` /
    :func:`run` / :func:`trips` (which grow them).  The scratch keeps the
    search (``settled``; reset it after).
    """
    n_venues = len(cand)
    if len(scratch.out_id) < n_venues:
        scratch.out_id = np.zeros(n_venues, dtype=np.int64)
        scratch.out_t = np.zeros(n_venues)
    if len(scratch.trip_ptr) < n_venues + 1:
        scratch.trip_ptr = np.zeros(n_venues + 1, dtype=np.int64)
        scratch.trip_dist = np.zeros(n_venues)
    if len(scratch.heap_t) < len(ids) + 1:
        return None
    keys, best, row = best_edges
    found = _search_trips(
        csr.indptr, csr.indices, csr.data, ent.ptr, ent.venue, ent.sec, cand,
        scratch.dist, scratch.pred, scratch.done, scratch.touched, scratch.heap_t,
        scratch.heap_id, scratch.state, scratch.t_stop, ids, secs, need, float(limit_s),
        float(tie_s), scratch.out_id, scratch.out_t, keys, best, row, net.n_nodes, net.edge_u,
        net.edge_v, net.edge_twin, net.edge_length_m, q[0], q[1], q[2], v[0], v[1], v[2],
        scratch.trip_nodes, scratch.trip_ptr, scratch.trip_dist, scratch.trip_lens)
    if found < 0:
        return None
    ptr = scratch.trip_ptr[:found + 1].copy()
    return (scratch.out_id[:found].copy(), scratch.out_t[:found].copy(),
            scratch.trip_nodes[:ptr[found]].copy(), ptr, scratch.trip_dist[:found].copy())


def best_edge_rows(keys: NDArray[np.int64], n_nodes: int) -> NDArray[np.int64]:
    """Row pointers of sorted ``u * N + v`` keys: node a's are ``keys[row[a]:row[a + 1]]``."""
    return np.searchsorted(keys, np.arange(n_nodes + 1, dtype=np.int64) * np.int64(n_nodes))


@njit(nogil=True, cache=True)
def _trips(pred, n, venues, keys, best, row, n_nodes, edge_u, edge_v, edge_twin, edge_len,
           q_edge, q_frac, q_dist, v_edge, v_frac, v_dist,
           nodes_out, ptr_out, dist_out, lens):  # pragma: no cover - compiled
    """Walk back each venue's trip and measure it (as ``TravelEngine._distance``).

    Trip ``i`` (venue ``venues[i]``) writes its real nodes, start first, to
    ``nodes_out[ptr_out[i]:ptr_out[i + 1]]`` and its length (metres: access
    legs + partial edges + full edges, the full ones summed as numpy sums) to
    ``dist_out[i]``.  ``lens`` is scratch of at least the longest path's size.
    Returns False when ``nodes_out`` is too small (the caller grows it).
    """
    at = 0
    ptr_out[0] = 0
    pe = q_edge
    pf = q_frac
    for i in range(len(venues)):
        p = venues[i]
        x = pred[n + p]
        m = 0
        while x >= 0:
            if at + m >= len(nodes_out):
                return False
            nodes_out[at + m] = x
            m += 1
            x = pred[x]
        # reverse in place: start first
        for j in range(m // 2):
            a = nodes_out[at + j]
            nodes_out[at + j] = nodes_out[at + m - 1 - j]
            nodes_out[at + m - 1 - j] = a
        te = v_edge[p]
        tf = v_frac[p]
        d = q_dist + v_dist[p]
        if m == 0:
            same = pe == te or edge_twin[pe] == te
            if same:
                tf_on_pe = tf if pe == te else 1 - tf
                d = d + abs(tf_on_pe - pf) * edge_len[pe]
            else:
                d = d + 0.0
        else:
            d += ((1 - pf) if edge_v[pe] == nodes_out[at] else pf) * edge_len[pe]
            if m > 1:
                for j in range(m - 1):
                    a = nodes_out[at + j]
                    key = a * n_nodes + nodes_out[at + j + 1]
                    e = -1  # as ``edge_between``: the keys are unique, a's in row[a]:row[a + 1]
                    for r in range(row[a], row[a + 1]):
                        if keys[r] == key:
                            e = best[r]
                            break
                    lens[j] = edge_len[e]
                d += _pairwise_sum(lens, 0, m - 1)
            d += (tf if edge_u[te] == nodes_out[at + m - 1] else 1 - tf) * edge_len[te]
        dist_out[i] = d
        at += m
        ptr_out[i + 1] = at
    return True


def start(scratch: Scratch, ids: NDArray[np.int32], secs: NDArray[np.float64]) -> None:
    """Reset ``scratch`` and seed it with start ids at their times (seconds)."""
    scratch.reset()
    while len(scratch.heap_t) < len(ids) + 1:
        scratch.grow_heap()
    _start(scratch.dist, scratch.pred, scratch.touched, scratch.heap_t, scratch.heap_id,
           scratch.state, np.ascontiguousarray(ids, dtype=np.int32),
           np.ascontiguousarray(secs, dtype=np.float64))


def run(csr: sp.csr_matrix, ent: VenueEntries, cand: NDArray[np.bool_], scratch: Scratch, *,
        need: int, limit_s: float = np.inf,
        tie_s: float = 2e-6) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Settle ids until ``need`` candidate venues are settled (plus ties); resumable.

    Returns the venues settled by this call and their times (seconds), in
    settling order (non-decreasing time).  Fewer than ``need`` means the
    search reached ``limit_s`` or everything reachable.
    """
    n_venues = len(cand)
    if len(scratch.out_id) < n_venues:
        scratch.out_id = np.zeros(n_venues, dtype=np.int64)
        scratch.out_t = np.zeros(n_venues)
    got_id: list[NDArray[np.int64]] = []
    got_t: list[NDArray[np.float64]] = []
    scratch.t_stop[0] = np.inf
    while True:
        found = _run(csr.indptr, csr.indices, csr.data, ent.ptr, ent.venue, ent.sec, cand,
                     scratch.dist, scratch.pred, scratch.done, scratch.touched,
                     scratch.heap_t, scratch.heap_id, scratch.state, scratch.t_stop,
                     need, float(limit_s), float(tie_s), scratch.out_id, scratch.out_t)
        got_id.append(scratch.out_id[:found].copy())
        got_t.append(scratch.out_t[:found].copy())
        if not scratch.state[_FULL]:
            if len(got_id) == 1:  # the usual case: one call, nothing to join
                return got_id[0], got_t[0]
            break
        scratch.grow_heap()
        # resume; once `need` is met only the ties up to t_stop remain to settle
        need = need - found if need - found > 0 else _NO_NEED
    return np.concatenate(got_id), np.concatenate(got_t)


def walk_back(scratch: Scratch, node: int) -> list[int]:
    """Real nodes from a start node to ``node`` along the last search's predecessors."""
    if node < 0:
        return []
    # only the first m entries are written and read: no need to zero a settled-sized array
    out = np.empty(int(scratch.state[_SETTLED]) + 1, dtype=np.int64)
    m = _walk_back(scratch.pred, np.int64(node), out)
    return out[:m][::-1].tolist()


def trips(scratch: Scratch, venues: NDArray[np.int64], net: Any,
          best_edges: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]],
          q: tuple[int, float, float],
          v: tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]],
          ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Trips of the last search to ``venues`` (settled): ``(nodes, ptr, length_m)``.

    One compiled call for every venue: venue ``i``'s real nodes (start first)
    are ``nodes[ptr[i]:ptr[i + 1]]``, its trip length ``length_m[i]`` (equal
    to ``TravelEngine._distance``'s float).  ``net`` is the
    :class:`~geosvc.network.graph.RoadNetwork` searched, ``best_edges`` its
    ``fastest_edges`` ``(keys, edge)`` (the fastest edge per (u, v), as
    ``edge_between`` reads it) plus ``row`` (:func:`best_edge_rows`), ``q`` the
    query's ``(edge, frac, dist_m)`` and ``v`` the venues' ``(edge, frac, dist_m)``
    arrays.
    """
    k = len(venues)
    ptr = np.zeros(k + 1, dtype=np.int64)
    dist = np.zeros(k)
    keys, best, row = best_edges
    while True:
        buf = scratch.trip_nodes
        if _trips(scratch.pred, net.n_nodes, venues, keys, best, row, net.n_nodes, net.edge_u,
                  net.edge_v, net.edge_twin, net.edge_length_m, q[0], q[1], q[2],
                  v[0], v[1], v[2], buf, ptr, dist, scratch.trip_lens):
            return buf[:ptr[k]].copy(), ptr, dist
        scratch.trip_nodes = np.zeros(2 * len(buf), dtype=np.int64)
        scratch.trip_lens = np.zeros(2 * len(buf))


@njit(nogil=True, cache=True)
def _bounded(indptr, indices, weights, seeds, secs, limit_s, dist, pred,
             heap_t, heap_id):  # pragma: no cover - compiled
    """Single-search Dijkstra from seeds; lazy-deletion heap sized for every push."""
    size = 0
    for j in range(len(seeds)):
        x = seeds[j]
        t = secs[j]
        if t <= limit_s and t < dist[x]:
            dist[x] = t
            pred[x] = -1
            size = _push(heap_t, heap_id, size, t, x)
    settled = 0
    while size > 0:
        t = heap_t[0]
        x = heap_id[0]
        size = _pop(heap_t, heap_id, size)
        if t > dist[x]:
            continue  # a stale entry: x was settled earlier at a smaller time
        settled += 1
        for j in range(indptr[x], indptr[x + 1]):
            y = indices[j]
            ty = t + weights[j]
            if ty < dist[y] and ty <= limit_s:
                dist[y] = ty
                pred[y] = x
                size = _push(heap_t, heap_id, size, ty, y)
    return settled


def bounded(csr: sp.csr_matrix, seeds: NDArray[np.int64], secs: NDArray[np.float64], *,
            limit_s: float = np.inf) -> tuple[NDArray[np.float64], NDArray[np.int32]]:
    """Return every node's time from the nearest seed, cut at ``limit_s``, and predecessors.

    One Dijkstra over a CSR (any graph: node-based or turn-expanded), started
    at ``seeds`` at their times ``secs`` (seconds) instead of from a virtual
    node, so the graph is never copied.  Nodes beyond ``limit_s`` or not
    reached get inf and predecessor -1; a seed keeps -1 as predecessor when
    its own time is its best.  Cost: O(N) to allocate the result plus the
    search over the nodes within ``limit_s`` (log heap), in compiled code.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> g = sp.csr_matrix(([5.0, 1.0], [1, 2], [0, 1, 2, 2]), shape=(3, 3))
    >>> t, p = bounded(g, np.array([0]), np.array([2.0]), limit_s=7.5)
    >>> t.tolist(), p.tolist()
    ([2.0, 7.0, inf], [-1, 0, -1])
    """
    n = csr.shape[0]
    seeds = np.ascontiguousarray(seeds, dtype=np.int64)
    secs = np.ascontiguousarray(secs, dtype=np.float64)
    dist = np.full(n, np.inf)
    pred = np.full(n, -1, dtype=np.int32)
    if n == 0 or not len(seeds):
        return dist, pred
    cap = len(csr.indices) + len(seeds) + 1
    _bounded(csr.indptr, csr.indices, csr.data, seeds, secs, float(limit_s), dist, pred,
             np.empty(cap), np.empty(cap, dtype=np.int32))
    return dist, pred


@njit(nogil=True, cache=True)
def _reach_pairs(indptr, indices, weights, src_ptr, src_node, src_sec, tgt_ptr, tgt_pt,
                 tgt_sec, limit_s, dist, touched, heap_t, heap_id):  # pragma: no cover
    """One bounded search per source; every (source, target) reached within ``limit_s``."""
    cap = 1024
    out_s = np.empty(cap, dtype=np.int64)
    out_t = np.empty(cap, dtype=np.int64)
    k = 0
    for s in range(len(src_ptr) - 1):
        size = 0
        nt = 0
        for j in range(src_ptr[s], src_ptr[s + 1]):
            x = src_node[j]
            t = src_sec[j]
            if t <= limit_s and t < dist[x]:
                if dist[x] == np.inf:
                    touched[nt] = x
                    nt += 1
                dist[x] = t
                size = _push(heap_t, heap_id, size, t, x)
        while size > 0:
            t = heap_t[0]
            x = heap_id[0]
            size = _pop(heap_t, heap_id, size)
            if t > dist[x]:
                continue  # stale: settled earlier at a smaller time
            for j in range(tgt_ptr[x], tgt_ptr[x + 1]):
                if t + tgt_sec[j] <= limit_s:
                    if k == cap:
                        cap *= 2
                        grown_s = np.empty(cap, dtype=np.int64)
                        grown_t = np.empty(cap, dtype=np.int64)
                        grown_s[:k] = out_s[:k]
                        grown_t[:k] = out_t[:k]
                        out_s = grown_s
                        out_t = grown_t
                    out_s[k] = s
                    out_t[k] = tgt_pt[j]
                    k += 1
            for j in range(indptr[x], indptr[x + 1]):
                y = indices[j]
                ty = t + weights[j]
                if ty < dist[y] and ty <= limit_s:
                    if dist[y] == np.inf:
                        touched[nt] = y
                        nt += 1
                    dist[y] = ty
                    size = _push(heap_t, heap_id, size, ty, y)
        for i in range(nt):
            dist[touched[i]] = np.inf
    return out_s[:k], out_t[:k]


def reach_pairs(csr: sp.csr_matrix, sources: tuple[NDArray[np.int64], NDArray[np.int64],
                                                    NDArray[np.float64]],
                targets: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]],
                n_sources: int, limit_s: float) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Return every ``(source, target)`` pair with a trip of at most ``limit_s`` seconds.

    ``sources`` and ``targets`` are ``(index, node, seconds)`` ways: source
    ``i`` starts at ``node`` after ``seconds``; target ``j`` is reached
    ``seconds`` after ``node`` (a point's access legs, as :mod:`paths`
    gives them).  One bounded Dijkstra per source over ``csr``, in compiled
    code with reused scratch arrays (cost: the nodes within ``limit_s`` of
    each source, not N), the targets found through a by-node table as each
    node is settled.  Times add up in the same order as a scipy Dijkstra
    from a virtual source node, so the pairs are exactly those of
    ``dijkstra(augmented_graph(...), limit=...)`` plus the target legs.  A
    pair may be listed more than once (a target entered from two nodes).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> g = sp.csr_matrix(([5.0, 1.0], [1, 2], [0, 1, 2, 2]), shape=(3, 3))
    >>> src = (np.array([0]), np.array([0]), np.array([2.0]))
    >>> tgt = (np.array([0, 1]), np.array([1, 2]), np.array([1.5, 0.0]))
    >>> [a.tolist() for a in reach_pairs(g, src, tgt, 1, limit_s=8.0)]
    [[0], [1]]
    """
    n = csr.shape[0]
    sidx, snode, ssec = (np.asarray(a) for a in sources)
    tidx, tnode, tsec = (np.asarray(a) for a in targets)
    empty = np.zeros(0, dtype=np.int64)
    if n == 0 or not len(sidx) or not len(tidx):
        return empty, empty
    order = np.argsort(sidx, kind="stable")
    src_ptr = np.zeros(n_sources + 1, dtype=np.int64)
    np.cumsum(np.bincount(sidx, minlength=n_sources), out=src_ptr[1:])
    by_node = np.argsort(tnode, kind="stable")
    tgt_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tnode, minlength=n), out=tgt_ptr[1:])
    cap = len(csr.indices) + len(snode) + 1
    out_s, out_t = _reach_pairs(
        csr.indptr, csr.indices, csr.data, src_ptr,
        np.ascontiguousarray(snode[order], dtype=np.int64),
        np.ascontiguousarray(ssec[order], dtype=np.float64), tgt_ptr,
        np.ascontiguousarray(tidx[by_node], dtype=np.int64),
        np.ascontiguousarray(tsec[by_node], dtype=np.float64), float(limit_s),
        np.full(n, np.inf), np.empty(n, dtype=np.int64), np.empty(cap),
        np.empty(cap, dtype=np.int32))
    return out_s, out_t


# -- multi-source pass: an exact bucket queue (Dial) ---------------------------------

#: Bounds of the bucket width :func:`passes` picks by itself, seconds (powers of two).
WIDTH_RANGE_S = (1.0, 64.0)

#: Share of nodes whose cheapest in-edge may be shorter than the picked bucket width.
_SHORT_SHARE = 0.02


@dataclass(frozen=True, eq=False)
class _Facts:
    """What :func:`passes` reads once per CSR: cheapest in-edge per node, longest edge."""

    csr: weakref.ref[Any]
    min_in: NDArray[np.float64]
    max_w: float
    ok: bool
    width: float
    short: dict[float, NDArray[np.bool_]]


_FACTS: dict[int, _Facts] = {}
_FACTS_LOCK = threading.Lock()


@njit(nogil=True, cache=True)
def _min_in(indices, weights, out):  # pragma: no cover - compiled
    for j in range(len(indices)):
        y = indices[j]
        if weights[j] < out[y]:
            out[y] = weights[j]


def _facts(csr: sp.csr_matrix) -> _Facts:
    """Return the :class:`_Facts` of ``csr`` (computed once per CSR object: O(E), compiled).

    The width picked is the largest power of two in :data:`WIDTH_RANGE_S` not
    above the cheapest in-edge of all but :data:`_SHORT_SHARE` of the nodes:
    then at most that share of the nodes goes through a bucket's heap.
    """
    key = id(csr)
    with _FACTS_LOCK:
        hit = _FACTS.get(key)
    if hit is not None and hit.csr() is csr:
        return hit
    data = csr.data
    n = csr.shape[0]
    min_in = np.full(n, np.inf)
    _min_in(csr.indices, data, min_in)
    max_w = float(data.max()) if len(data) else 0.0
    ok = bool(not len(data) or (np.isfinite(max_w) and data.min() >= 0))
    width = WIDTH_RANGE_S[0]
    entered = min_in[np.isfinite(min_in)]
    if ok and len(entered):
        q = float(np.quantile(entered, _SHORT_SHARE))
        if q > width:
            width = float(min(2.0 ** np.floor(np.log2(q)), WIDTH_RANGE_S[1]))
    facts = _Facts(weakref.ref(csr), min_in, max_w, ok, width, {})
    with _FACTS_LOCK:
        for k in [k for k, v in _FACTS.items() if v.csr() is None]:
            del _FACTS[k]
        _FACTS[key] = facts
    return facts


def _short_in(facts: _Facts, width: float) -> NDArray[np.bool_]:
    """Per node: some in-edge is shorter than ``width`` (cached per width)."""
    short = facts.short.get(width)
    if short is None:
        short = facts.min_in < width
        facts.short[width] = short
    return short


@njit(nogil=True, cache=True)
def _hpush(heap_t, heap_s, heap_x, size, t, s, x):  # pragma: no cover - compiled
    """Push ``(t, s, x)`` on a binary heap ordered by ``(t, -s)``; return the new size."""
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        pt = heap_t[parent]
        if pt < t or (pt == t and heap_s[parent] >= s):
            break
        heap_t[i] = heap_t[parent]
        heap_s[i] = heap_s[parent]
        heap_x[i] = heap_x[parent]
        i = parent
    heap_t[i] = t
    heap_s[i] = s
    heap_x[i] = x
    return size + 1


@njit(nogil=True, cache=True)
def _hpop(heap_t, heap_s, heap_x, size):  # pragma: no cover - compiled
    """Remove the top of a ``(t, -s)`` heap; return the new size (the caller read the top)."""
    size -= 1
    t = heap_t[size]
    s = heap_s[size]
    x = heap_x[size]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and (heap_t[c + 1] < heap_t[c] or (
                heap_t[c + 1] == heap_t[c] and heap_s[c + 1] > heap_s[c])):
            c += 1
        if heap_t[c] > t or (heap_t[c] == t and heap_s[c] <= s):
            break
        heap_t[i] = heap_t[c]
        heap_s[i] = heap_s[c]
        heap_x[i] = heap_x[c]
        i = c
    if size > 0:
        heap_t[i] = t
        heap_s[i] = s
        heap_x[i] = x
    return size


@njit(nogil=True, cache=True)
def _settle(x, indptr, indices, weights, limit_s, inv, cur, ring, dist, src, pred, done,
            head, ent_node, ent_next, n_ent, heap_t, heap_s, heap_x, size):  # pragma: no cover
    """Relax the out-edges of ``x``; return the new entry count and heap size."""
    t = dist[x]
    s = src[x]
    for j in range(indptr[x], indptr[x + 1]):
        y = indices[j]
        ty = t + weights[j]
        if ty > limit_s:
            continue
        dy = dist[y]
        if ty == dy and s == src[y]:
            # a tie: keep the seed, else the predecessor settled first in time, then by id
            p = pred[y]
            if p >= 0 and not done[y] and (t < dist[p] or (t == dist[p] and x < p)):
                pred[y] = x
        elif ty < dy or (ty == dy and s > src[y]):
            dist[y] = ty
            src[y] = s
            pred[y] = x
            b = np.int64(ty * inv)
            if b == cur:
                size = _hpush(heap_t, heap_s, heap_x, size, ty, s, y)
            elif dy == np.inf or np.int64(dy * inv) != b:  # else: y already listed at b
                slot = b & (ring - 1)
                ent_node[n_ent] = y
                ent_next[n_ent] = head[slot]
                head[slot] = n_ent
                n_ent += 1
    return n_ent, size


@njit(nogil=True, cache=True)
def _by_id(buf, m, bits):  # pragma: no cover - compiled
    """Sort ``buf[:m]`` (node ids) ascending, duplicates dropped; return the new length.

    Through a bitmap of all nodes when the bucket is dense enough that
    scanning it is cheap (cache-friendly, linear), else a sort; tiny
    buckets are left as they are.
    """
    words = len(bits)
    if m * 16 >= words:
        for i in range(m):
            x = buf[i]
            bits[x >> 6] |= np.uint64(1) << np.uint64(x & 63)
        k = 0
        for w in range(words):
            v = bits[w]
            if v:
                bits[w] = 0
                base = w << 6
                while v:
                    low = v & (~v + np.uint64(1))  # lowest set bit
                    buf[k] = base + _ctz(low)
                    k += 1
                    v ^= low
        return k
    if m > 32:
        buf[:m].sort()
    return m


@njit(nogil=True, cache=True)
def _ctz(low):  # pragma: no cover - compiled
    """Index of the single set bit of ``low``."""
    i = 0
    if low >> np.uint64(32):
        i += 32
        low >>= np.uint64(32)
    if low >> np.uint64(16):
        i += 16
        low >>= np.uint64(16)
    if low >> np.uint64(8):
        i += 8
        low >>= np.uint64(8)
    if low >> np.uint64(4):
        i += 4
        low >>= np.uint64(4)
    if low >> np.uint64(2):
        i += 2
        low >>= np.uint64(2)
    if low >> np.uint64(1):
        i += 1
    return i


@njit(nogil=True, cache=True)
def _seed(seed_node, seed_t, seed_src, order, k, limit_s, inv, cur, slot, dist, src, pred,
          head, ent_node, ent_next, n_ent):  # pragma: no cover - compiled
    """List the seeds of bucket ``cur`` (from the ``k``-th in time order) that set a label.

    A seed wins a tie of ``(time, -source)``: as a virtual source node would,
    it keeps predecessor -1.  Returns the next seed and the entry count.
    """
    while k < len(order):
        j = order[k]
        t = seed_t[j]
        if t > limit_s or np.int64(t * inv) != cur:
            break
        k += 1
        x = seed_node[j]
        s = seed_src[j]
        if t < dist[x] or (t == dist[x] and s >= src[x]):
            dist[x] = t
            src[x] = s
            pred[x] = -1
            ent_node[n_ent] = x
            ent_next[n_ent] = head[slot]
            head[slot] = n_ent
            n_ent += 1
    return k, n_ent


@njit(nogil=True, cache=True)
def _dial(indptr, indices, weights, short_in, seed_node, seed_t, seed_src, limit_s, width,
          ring, dist, src, pred):  # pragma: no cover - compiled
    """Exact multi-source Dijkstra on a bucket queue; see :func:`passes`."""
    n = len(indptr) - 1
    inv = 1.0 / width
    n_seeds = len(seed_node)
    order = np.argsort(seed_t)
    head = np.full(ring, -1, dtype=np.int32)
    cap = len(indices) + n_seeds + 1
    ent_node = np.empty(cap, dtype=np.int32)
    ent_next = np.empty(cap, dtype=np.int32)
    heap_t = np.empty(cap + n)
    heap_s = np.empty(cap + n, dtype=np.int32)
    heap_x = np.empty(cap + n, dtype=np.int32)
    done = np.zeros(n, dtype=np.bool_)
    buf = np.empty(cap, dtype=np.int32)  # one bucket's long-only nodes
    bits = np.zeros((n + 63) >> 6, dtype=np.uint64)
    n_ent = 0  # entries ever listed
    taken = 0  # entries taken off the ring
    k = 0  # next seed (in time order)
    cur = np.int64(-1)
    settled = 0
    while True:
        # the next bucket: the first listed one after `cur`, or the next seed's if sooner
        nb = np.int64(-1)
        if taken < n_ent:
            b = cur + 1
            while head[b & (ring - 1)] < 0:
                b += 1
            nb = b
        if k < n_seeds and seed_t[order[k]] <= limit_s:
            sb = np.int64(seed_t[order[k]] * inv)
            if nb < 0 or sb < nb:
                nb = sb
        if nb < 0:
            break
        cur = nb
        slot = cur & (ring - 1)
        k, n_ent = _seed(seed_node, seed_t, seed_src, order, k, limit_s, inv, cur, slot,
                         dist, src, pred, head, ent_node, ent_next, n_ent)
        # the listed nodes no same-bucket node can improve are settled in any order:
        # by id, for locality; the others go to the bucket's heap
        e = head[slot]
        head[slot] = -1
        size = 0
        m = 0
        while e >= 0:
            x = ent_node[e]
            e = ent_next[e]
            taken += 1
            if done[x]:
                continue
            if short_in[x]:
                size = _hpush(heap_t, heap_s, heap_x, size, dist[x], src[x], x)
            else:
                buf[m] = x
                m += 1
        m = _by_id(buf, m, bits)
        for i in range(m):
            x = buf[i]
            if done[x]:
                continue
            done[x] = True
            settled += 1
            n_ent, size = _settle(x, indptr, indices, weights, limit_s, inv, cur, ring, dist,
                                  src, pred, done, head, ent_node, ent_next, n_ent, heap_t,
                                  heap_s, heap_x, size)
        # then the rest in exact (time, -source) order
        while size > 0:
            x = heap_x[0]
            size = _hpop(heap_t, heap_s, heap_x, size)
            if done[x]:
                continue
            done[x] = True
            settled += 1
            n_ent, size = _settle(x, indptr, indices, weights, limit_s, inv, cur, ring, dist,
                                  src, pred, done, head, ent_node, ent_next, n_ent, heap_t,
                                  heap_s, heap_x, size)
    return settled


def passes(csr: sp.csr_matrix, seeds: NDArray[np.int64], secs: NDArray[np.float64],
           seed_src: NDArray[np.int64] | None = None, *, limit_s: float = np.inf,
           width_s: float | None = None,
           ) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int32]]:
    """Return every node's time from, and index of, its nearest seed source, and predecessors.

    One exact multi-source Dijkstra over ``csr`` (any graph; zero-weight
    edges allowed), started at the nodes ``seeds`` at times ``secs``
    (seconds, >= 0: the partial edges of snapped sources) on behalf of the
    sources ``seed_src`` (a source may have several seeds; default: seed
    ``i`` is source ``i``), cut at ``limit_s``: nodes beyond it, or not
    reached, get ``inf`` / -1 / -1.  Among equal times the HIGHEST source
    index wins (what scipy's Dijkstra gives with one virtual node per
    source: they settle in descending index order, so co-located sources
    resolve as before), and the predecessor lies on that source's path: a seed
    whose time equals the best keeps predecessor -1 (as a virtual source
    node settled first would), else the tying predecessor with the smallest
    time, then the smallest id (for positive weights this does not depend
    on the bucket width).

    The queue is a ring of buckets ``floor(t / width_s)`` (Dial) with an
    exact order inside a bucket, so the times equal a binary-heap
    Dijkstra's (scipy's) to the last bit.  Cost: O(N) for the result plus the search
    over the nodes within ``limit_s``, in compiled code, and the buckets
    spanned (``limit_s / width_s`` at most).

    Exactness: the queue is a monotone priority queue (Dijkstra pops labels
    in non-decreasing ``(time, -source)`` order; labels only fall; a settled
    label is final), so it suffices that each bucket is settled in an order
    that never settles a node before a label it depends on:

    * ``width_s`` is a power of two, so ``t / width_s`` and the bucket
      bounds ``b * width_s`` are exact in floating point;
    * when bucket ``b`` (times in ``[b w, (b + 1) w)``) becomes current,
      every seed of the bucket is applied; a node with no in-edge shorter
      than ``w`` ("long-only") then holds its final label: the last edge of
      its best path is >= ``w`` long, so it leaves a node whose time is
      ``< b w``, which was settled, and relaxed that edge, in an earlier
      bucket (rounding is monotone and ``(b + 1) w`` is representable, so
      ``fl(t + w') >= (b + 1) w`` whenever ``t >= b w`` and ``w' >= w``);
    * so the bucket's long-only nodes are settled first, in list order; the
      other nodes of the bucket (those with a short in-edge, e.g. a
      zero-weight turn edge) go to a binary heap ordered by ``(time,
      -source)``, as does every label a settled node sets inside the current
      bucket (only short edges do, and they lead to such nodes); the heap is
      emptied in that order before the next bucket.  A long-only node is
      never improved within its bucket (that would need a short edge into
      it), so settling it before the heap loses nothing.

    The ring has at least ``floor(min(max edge, limit_s) / width_s) + 2``
    buckets (a power of two): every listed label lies within one edge of
    the current bucket.
    Tests: ``tests/network/test_passes.py`` (scipy and networkx on random
    graphs with non-integer, tiny and zero weights, multi-source with
    offsets, cutoffs, ties).

    Parameters
    ----------
    csr : scipy.sparse.csr_matrix
        Square, non-negative weights (seconds); every stored entry is an edge.
    seeds : int array
        Start nodes.
    secs : float array
        Time at each start node, seconds (>= 0).
    seed_src : int array, optional
        Source index of each seed (>= 0).
    limit_s : float
        Cutoff, seconds (nodes at exactly ``limit_s`` are kept).
    width_s : float, optional
        Bucket width, seconds: a power of two.  Default: picked once per CSR,
        the largest power of two in :data:`WIDTH_RANGE_S` that at most 2 % of
        the nodes have a cheaper in-edge than (1 s on street graphs with short
        edges or zero-weight turn edges; up to 32 s on the synthetic walking city).

    Returns
    -------
    dist : float64[N]
    source : int64[N]
        Index of the nearest source, -1 where not reached.
    pred : int32[N]
        Previous node on the best path from the source, -1 at its start.

    Raises
    ------
    ValueError
        A negative or non-finite edge or seed time, or a bad ``width_s``.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> g = sp.csr_matrix(([5.0, 0.0, 1.5], [1, 2, 3], [0, 1, 2, 3, 3]), shape=(4, 4))
    >>> d, s, p = passes(g, np.array([0, 3]), np.array([0.25, 9.0]), np.array([0, 1]))
    >>> d.tolist(), s.tolist(), p.tolist()
    ([0.25, 5.25, 5.25, 6.75], [0, 0, 0, 0], [-1, 0, 1, 2])
    >>> passes(g, np.array([0]), np.array([0.0]), limit_s=5.0)[0].tolist()
    [0.0, 5.0, 5.0, inf]
    """
    if width_s is not None:
        m, _ = np.frexp(width_s)
        if not (np.isfinite(width_s) and width_s > 0 and m == 0.5):
            msg = f"width_s must be a positive power of two, not {width_s!r}"
            raise ValueError(msg)
    n = csr.shape[0]
    seeds = np.ascontiguousarray(seeds, dtype=np.int32)
    secs = np.ascontiguousarray(secs, dtype=np.float64)
    seed_src = (np.arange(len(seeds), dtype=np.int32) if seed_src is None
                else np.ascontiguousarray(seed_src, dtype=np.int32))
    if len(secs) and not (np.isfinite(secs).all() and secs.min() >= 0):
        msg = "seed times must be finite and >= 0"
        raise ValueError(msg)
    dist = np.full(n, np.inf)
    source = np.full(n, -1, dtype=np.int32)
    pred = np.full(n, -1, dtype=np.int32)
    if n == 0 or not len(seeds):
        return dist, source.astype(np.int64), pred
    facts = _facts(csr)
    if not facts.ok:
        msg = "edge times must be finite and >= 0"
        raise ValueError(msg)
    width = facts.width if width_s is None else float(width_s)
    short = _short_in(facts, width)
    need = int(min(facts.max_w, float(limit_s)) / width) + 2
    ring = 1 << (need - 1).bit_length()  # a power of two: slots by mask
    _dial(csr.indptr, csr.indices, csr.data, short, seeds, secs, seed_src, float(limit_s),
          width, ring, dist, source, pred)
    return dist, source.astype(np.int64), pred


def warm_up() -> None:
    """Compile (or load from numba's disk cache) every kernel on a 2-node graph."""
    import scipy.sparse as sp  # lazy: scipy takes ~0.2 s to import; only this path needs it

    csr = sp.csr_matrix((np.array([1.0]), np.array([1], dtype=np.int32),
                         np.array([0, 1, 1], dtype=np.int32)), shape=(2, 2))
    ent = VenueEntries.build(2, np.array([0]), np.array([1]), np.array([0.5]))
    s = Scratch(3)
    start(s, np.array([0], dtype=np.int32), np.array([0.0]))
    run(csr, ent, np.ones(1, dtype=np.bool_), s, need=1)
    walk_back(s, 1)
    edge_arrays: dict[str, NDArray[Any]] = {
        "edge_u": np.array([0], dtype=np.int32), "edge_v": np.array([1], dtype=np.int32),
        "edge_twin": np.array([-1], dtype=np.int64), "edge_length_m": np.array([1.0])}
    for arr in edge_arrays.values():
        arr.flags.writeable = False  # as a RoadNetwork's: the signature requests use
    net = SimpleNamespace(n_nodes=2, **edge_arrays)
    trips(s, np.array([0], dtype=np.int64), net,
          (np.array([1], dtype=np.int64), np.array([0], dtype=np.int64),
           np.array([0, 1, 1], dtype=np.int64)), (0, 0.5, 0.0),
          (np.array([0], dtype=np.int64), np.array([0.5]), np.array([0.0])))
    search_trips(s, csr, ent, np.ones(1, dtype=np.bool_), np.array([0], dtype=np.int64),
                 np.array([0.0]), 1, np.inf, net,
                 (np.array([1], dtype=np.int64), np.array([0], dtype=np.int64),
                  np.array([0, 1, 1], dtype=np.int64)), (0, 0.5, 0.0),
                 (np.array([0], dtype=np.int64), np.array([0.5]), np.array([0.0])))
    s.reset()
    bounded(csr, np.array([0]), np.array([0.0]), limit_s=2.0)
    passes(csr, np.array([0]), np.array([0.0]), limit_s=2.0)
    way = (np.array([0]), np.array([0]), np.array([0.0]))
    reach_pairs(csr, way, way, 1, limit_s=2.0)
    _splat.warm_up()
