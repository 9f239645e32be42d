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

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numba import njit
from numpy.typing import NDArray

if TYPE_CHECKING:
    import scipy.sparse as sp

__all__ = ["Scratch", "VenueEntries", "bounded", "edges_bbox", "rasterise_edges", "run",
           "start", "walk_back", "warm_up"]

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
            break
        scratch.grow_heap()
        # resume; once `need` is met only the ties up to t_stop remain to settle
        need = need - found if need - found > 0 else _NO_NEED
    return np.concatenate(got_id), np.concatenate(got_t)


def walk_back(scratch: Scratch, node: int) -> list[int]:
    """Real nodes from a start node to ``node`` along the last search's predecessors."""
    if node < 0:
        return []
    out = np.zeros(int(scratch.state[_SETTLED]) + 1, dtype=np.int64)
    m = _walk_back(scratch.pred, np.int64(node), out)
    return out[:m][::-1].tolist()


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
def _edges_bbox(geom_offsets, geom_x, geom_y, edges, out):  # pragma: no cover - compiled
    x_lo, y_lo, x_hi, y_hi = np.inf, np.inf, -np.inf, -np.inf
    for j in range(len(edges)):
        e = edges[j]
        for i in range(geom_offsets[e], geom_offsets[e + 1]):
            x_lo = min(x_lo, geom_x[i])
            x_hi = max(x_hi, geom_x[i])
            y_lo = min(y_lo, geom_y[i])
            y_hi = max(y_hi, geom_y[i])
    out[0], out[1], out[2], out[3] = x_lo, y_lo, x_hi, y_hi


@njit(nogil=True, cache=True)
def _put(field, x, y, t, x0, y0, inv_cell, nx, ny):  # pragma: no cover - compiled
    # nearest node: floor(v + 0.5) (v >= 0 inside the grid; clipped outside it)
    c = min(max(int(np.floor((x - x0) * inv_cell + 0.5)), 0), nx - 1)
    r = min(max(int(np.floor((y - y0) * inv_cell + 0.5)), 0), ny - 1)
    k = r * nx + c
    if t < field[k]:
        field[k] = t


@njit(nogil=True, cache=True)
def _rasterise_edges(geom_offsets, geom_x, geom_y, edges, f0, f1, t0, dt, back_t, back_dt,
                     spacing, x0, y0, cell, nx, ny, field):  # pragma: no cover - compiled
    inv_cell = 1.0 / cell
    for j in range(len(edges)):
        e = edges[j]
        a, b = geom_offsets[e], geom_offsets[e + 1]
        length = 0.0
        for i in range(a, b - 1):
            length += np.hypot(geom_x[i + 1] - geom_x[i], geom_y[i + 1] - geom_y[i])
        if length <= 0.0 or b - a < 2:
            _put(field, geom_x[a], geom_y[a], min(t0[j], back_t[j]), x0, y0, inv_cell, nx, ny)
            continue
        d0, d1 = f0[j] * length, f1[j] * length
        rate = dt[j] / length
        back_rate = back_dt[j] / length
        cum = 0.0
        for i in range(a, b - 1):
            sl = np.hypot(geom_x[i + 1] - geom_x[i], geom_y[i + 1] - geom_y[i])
            lo, hi = max(cum, d0), min(cum + sl, d1)
            if lo <= hi:
                m = max(int(np.ceil((hi - lo) / spacing)), 1)
                step = (hi - lo) / m
                dx = geom_x[i + 1] - geom_x[i]
                dy = geom_y[i + 1] - geom_y[i]
                inv_sl = 1.0 / sl if sl > 0.0 else 0.0
                for k in range(m + 1):
                    d = lo + step * k
                    w = (d - cum) * inv_sl
                    t = min(t0[j] + (d - d0) * rate, back_t[j] + (length - d) * back_rate)
                    _put(field, geom_x[i] + w * dx, geom_y[i] + w * dy, t, x0, y0, inv_cell,
                         nx, ny)
            cum += sl
            if cum > d1:
                break


def edges_bbox(geom_offsets: NDArray[np.int64], geom_x: NDArray[np.float64],
               geom_y: NDArray[np.float64], edges: NDArray[np.int64],
               ) -> tuple[float, float, float, float]:
    """Return ``(xmin, ymin, xmax, ymax)`` of the polylines of ``edges`` (inf if none)."""
    out = np.zeros(4)
    _edges_bbox(geom_offsets, geom_x, geom_y, np.ascontiguousarray(edges, dtype=np.int64), out)
    return float(out[0]), float(out[1]), float(out[2]), float(out[3])


def rasterise_edges(geom_offsets: NDArray[np.int64], geom_x: NDArray[np.float64],
                    geom_y: NDArray[np.float64], edges: NDArray[np.int64],
                    f0: NDArray[np.float64], f1: NDArray[np.float64], t0: NDArray[np.float64],
                    dt: NDArray[np.float64], back_t: NDArray[np.float64],
                    back_dt: NDArray[np.float64], *, spacing: float, x0: float, y0: float,
                    cell: float, field: NDArray[np.float64]) -> None:
    """Write the earliest time of edge pieces into a grid, in place (a reach's time raster).

    Piece ``j`` runs along edge ``edges[j]``'s polyline from fraction
    ``f0[j]`` to ``f1[j]`` (by length); it is passed at ``t0[j]`` seconds at
    ``f0`` and ``dt[j]`` seconds later at fraction 1, or (a two-way street
    drawn once) at ``back_t[j]`` seconds at fraction 1 and ``back_dt[j]``
    seconds later at fraction 0, whichever is earlier (``back_t = inf``:
    one way only).  Points every
    ``spacing`` metres (ends and vertices included) update the grid node
    nearest them (``field[row, col]``, node ``(x0 + col * cell,
    y0 + row * cell)``, clipped to the grid) with ``min``.  Compiled; the
    cost follows the pieces' length.
    """
    ny, nx = field.shape
    _rasterise_edges(geom_offsets, geom_x, geom_y, np.ascontiguousarray(edges, dtype=np.int64),
                     np.ascontiguousarray(f0, dtype=np.float64),
                     np.ascontiguousarray(f1, dtype=np.float64),
                     np.ascontiguousarray(t0, dtype=np.float64),
                     np.ascontiguousarray(dt, dtype=np.float64),
                     np.ascontiguousarray(back_t, dtype=np.float64),
                     np.ascontiguousarray(back_dt, dtype=np.float64), float(spacing), float(x0),
                     float(y0), float(cell), nx, ny, field.reshape(-1))


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
    s.reset()
    bounded(csr, np.array([0]), np.array([0.0]), limit_s=2.0)
    go = np.array([0, 2], dtype=np.int64)
    gx, gy = np.array([0.0, 3.0]), np.array([0.0, 4.0])
    one = np.array([0], dtype=np.int64)
    edges_bbox(go, gx, gy, one)
    rasterise_edges(go, gx, gy, one, np.zeros(1), np.ones(1), np.zeros(1), np.ones(1),
                    np.full(1, np.inf), np.ones(1), spacing=1.0, x0=0.0, y0=0.0, cell=1.0,
                    field=np.full((5, 4), np.inf))
