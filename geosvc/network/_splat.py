"""Travel-time fields: the streets reached, then a walk off them (compiled; ``shape=contour``).

A grid node ``p`` takes ``min t(s) + |p - s| / v`` over the street points
``s`` within ``reach`` of it (``t`` the travel time, linear along each
segment of a reached edge's polyline; ``v`` the walking speed), left alone
where that passes ``tmax`` (:func:`reach_field`).  Two ways of drawing a
segment, both without sampling the streets finely:

- a street faster than the walk (driving): the segment's capsule, every
  grid node within ``reach`` of it, once; per node the best point of the
  segment has a closed form (``t`` is linear along it and the walk convex:
  ``a - h k / sqrt(1 - k^2)``, ``a`` the node's position along the segment,
  ``h`` its distance from the segment's line, ``k`` the street's seconds per
  metre over the walk's, clamped to the part within ``reach``).  A node the
  segment cannot improve (the field already at most the segment's earliest
  time plus the walk ``h``) is skipped before any square root;
- a street walked no faster than on foot (walking): the best point is one
  of the segment's ends (bar a sliver, :data:`SHORT_PER_REACH`), so discs
  at most half a reach apart, each network node once at its time; a disc
  whose neighbour was reached earlier by at least the walk between them is
  drawn only beyond that neighbour's disc (inside it the neighbour's time
  is earlier everywhere: the triangle inequality), a crescent a few cells
  wide instead of a 60-m disc.

The kernels are compiled by numba (``nogil``, cached on disk next to this
module; :func:`warm_up` compiles them).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import numpy as np
from numba import njit
from numpy.typing import NDArray

if TYPE_CHECKING:
    from geosvc.network.graph import RoadNetwork

__all__ = ["Pieces", "reach_field", "reached_pieces", "warm_up"]

#: A segment walked no faster than on foot is drawn as discs at most this many reaches
#: apart (its ends included; network nodes once, at their time): between two discs a
#: sliver ``SHORT_PER_REACH ** 2 / 8`` of the reach deep (3 %) is left to its neighbours.
SHORT_PER_REACH = 0.5

#: "No faster than on foot", within this fraction (projected lengths differ from the
#: network's by a fraction of a percent; the demo's walks are 0.3 % faster than the
#: straight line between their ends); also the margin by which a disc counts as
#: dominated by a neighbour's (then drawn only beyond it): a time at most 1 % of the
#: walk later there.
SLOW_TOL = 0.01

#: numba's fast-math flags without ``nnan`` / ``ninf``: times are inf where nothing reaches
_FAST = {"nsz", "arcp", "contract", "afn", "reassoc"}


@njit(nogil=True, cache=True)
def _pieces(geom_offsets, geom_x, geom_y, edge_u, edge_twin, edge_time, times, limit, own_e,
            own_f, acc, px, py):  # pragma: no cover - compiled
    # the pieces reached (reached_pieces), their bounding box and the nodes reached that
    # start no piece (drawn as points)
    n_e = len(edge_u)
    cap = n_e + 2
    edges = np.empty(cap, np.int64)
    f0 = np.empty(cap)
    f1 = np.empty(cap)
    t0 = np.empty(cap)
    back_t = np.empty(cap)
    has_piece = np.zeros(len(times), np.bool_)
    m = 0
    for e in range(n_e):
        tu = times[edge_u[e]]
        if not tu <= limit:
            continue
        has_piece[edge_u[e]] = True
        te = edge_time[e]
        back = np.inf
        tw = edge_twin[e]
        if tw >= 0 and tu + te <= limit and times[edge_u[tw]] + edge_time[tw] <= limit:
            if tw < e:
                continue  # a two-way street reached in full both ways: drawn with its twin
            back = times[edge_u[tw]]
        edges[m] = e
        f0[m] = 0.0
        f1[m] = min((limit - tu) / te, 1.0) if te > 0.0 else 1.0
        t0[m] = tu
        back_t[m] = back
        m += 1
    if own_e >= 0 and acc <= limit:  # the point's own edge and its twin, from the snap
        tw = edge_twin[own_e]
        for e, f in ((own_e, own_f), (tw, 1.0 - own_f)):
            if e < 0:
                continue
            te = edge_time[e]
            edges[m] = e
            f0[m] = f
            f1[m] = min(f + (limit - acc) / te, 1.0) if te > 0.0 else 1.0
            t0[m] = acc
            back_t[m] = np.inf
            m += 1
    box = np.array([px, py, px, py])
    for j in range(m):
        e = edges[j]
        for i in range(geom_offsets[e], geom_offsets[e + 1]):
            box[0] = min(box[0], geom_x[i])
            box[1] = min(box[1], geom_y[i])
            box[2] = max(box[2], geom_x[i])
            box[3] = max(box[3], geom_y[i])
    n_lone = 0
    for x in range(len(times)):
        if times[x] <= limit and not has_piece[x]:
            n_lone += 1
    lone = np.empty(n_lone, np.int64)
    n_lone = 0
    for x in range(len(times)):
        if times[x] <= limit and not has_piece[x]:
            lone[n_lone] = x
            n_lone += 1
    return edges[:m], f0[:m], f1[:m], t0[:m], back_t[:m], box, lone


class Pieces(NamedTuple):
    """The edge pieces reached (:func:`reached_pieces`), their box and the lone nodes."""

    edge: NDArray[np.int64]
    f0: NDArray[np.float64]
    f1: NDArray[np.float64]
    t0: NDArray[np.float64]
    back_t: NDArray[np.float64]
    box: tuple[float, float, float, float]
    lone: NDArray[np.int64]


def reached_pieces(net: RoadNetwork, times_s: NDArray[np.float64], limit_s: float, *,
                   own_edge: int, own_frac: float, access_s: float,
                   start_xy: tuple[float, float]) -> Pieces:
    """Return the edge pieces reached within ``limit_s``, their box and the lone nodes.

    Edge ``u -> v`` is reached from ``u`` (fraction ``f0 = 0``, at ``t0 =
    t_u``) up to ``f1 = (limit - t_u) / t_e`` of its length; the point's own
    edge ``own_edge`` and its twin from the snapped fraction ``own_frac``
    (at the access leg's ``access_s``; ``own_edge < 0``: none).  Times grow
    by the edge's ``edge_time_s`` from fraction 0 to 1.  A two-way street
    reached in full both ways is listed once, with ``back_t`` the time at
    its far end by the twin (inf elsewhere).  ``box`` ``(xmin, ymin, xmax,
    ymax)`` holds the pieces' polylines and ``start_xy``; ``lone`` lists the
    nodes reached that start no piece (a one-way street's dead end).
    Compiled; one pass over the edges.
    """
    edges, f0, f1, t0, back_t, box, lone = _pieces(
        net.geom_offsets, net.geom_x, net.geom_y, net.edge_u, net.edge_twin, net.edge_time_s,
        np.ascontiguousarray(times_s, dtype=np.float64), float(limit_s), int(own_edge),
        float(own_frac), float(access_s), float(start_xy[0]), float(start_xy[1]))
    return Pieces(edges, f0, f1, t0, back_t,
                  (float(box[0]), float(box[1]), float(box[2]), float(box[3])), lone)


@njit(nogil=True, cache=True, fastmath=_FAST, error_model="numpy")
def _opt(al, h, q, lo, hi):  # pragma: no cover - compiled
    # al - h q clamped to [lo, hi]; lo if q = inf, hi if q = -inf
    if q == np.inf:
        return lo
    if q == -np.inf:
        return hi
    return min(max(al - h * q, lo), hi)


@njit(nogil=True, cache=True, fastmath=_FAST, error_model="numpy")
def _best(al, h, c, r, q, lo, hi, reach2, inv_v, below):  # pragma: no cover - compiled
    # min over s in [lo, hi] with (s - al)^2 + h^2 <= reach2 of c + r s + |(s - al, h)| inv_v
    # if less than `below` (inf if not, or no such s); q: the unconstrained optimum's offset
    # per metre of h (+-inf: the street is slower than the walk, the optimum is the
    # segment's earlier end).  The walk's root is taken only for a time that improves.
    s = _opt(al, h, q, lo, hi)
    d2 = (s - al) * (s - al) + h * h
    if d2 > reach2:
        w2 = reach2 - h * h
        if w2 < 0.0:
            return np.inf
        w = np.sqrt(w2)
        a, b = max(lo, al - w), min(hi, al + w)
        if a > b:
            return np.inf
        s = _opt(al, h, q, a, b)
        d2 = (s - al) * (s - al) + h * h
    left = below - (c + r * s)  # time left for the walk
    if left <= 0.0 or d2 * inv_v * inv_v >= left * left:
        return np.inf
    return c + r * s + np.sqrt(d2) * inv_v


@njit(nogil=True, cache=True, fastmath=_FAST, error_model="numpy")
def _offset(r, inv_v):  # pragma: no cover - compiled
    # where along a segment (per metre of the distance h off its line) the walk plus the
    # street is least: -k / sqrt(1 - k^2) metres ahead, k = r / inv_v; +-inf when the street
    # is slower than the walk (the optimum is then the segment's end nearest in time)
    k = r / inv_v
    if k >= 1.0:
        return np.inf
    if k <= -1.0:
        return -np.inf
    return k / np.sqrt(1.0 - k * k)


@njit(nogil=True, cache=True, fastmath=_FAST, error_model="numpy")
def _capsule(field, ax, ay, ux, uy, lo, hi, c1, r1, q1, c2, r2, q2, x0, y0, inv_cell, nx, ny,
             reach, inv_v, tmax):  # pragma: no cover - compiled
    # grid nodes within `reach` of the segment (ax, ay) + s (ux, uy), s in [lo, hi], take
    # min(field, min_s t(s) + walk), t(s) = min(c1 + r1 s, c2 + r2 s), unless past tmax
    # (q1, q2: _offset of r1, r2)
    cell = 1.0 / inv_cell
    t_lo = min(min(c1 + r1 * lo, c1 + r1 * hi), min(c2 + r2 * lo, c2 + r2 * hi))
    if t_lo > tmax:
        return
    rr = min(reach, (tmax - t_lo) / inv_v)  # no node further gets a time within tmax
    tmax_up = np.nextafter(tmax, np.inf)  # times up to tmax included
    reach2 = reach * reach
    bx, by = ax + lo * ux, ay + lo * uy
    ex, ey = ax + hi * ux, ay + hi * uy
    r_lo = max(int(np.ceil((min(by, ey) - rr - y0) * inv_cell)), 0)
    r_hi = min(int(np.floor((max(by, ey) + rr - y0) * inv_cell)), ny - 1)
    c_lo = max(int(np.ceil((min(bx, ex) - rr - x0) * inv_cell)), 0)
    c_hi = min(int(np.floor((max(bx, ex) + rr - x0) * inv_cell)), nx - 1)
    two = c2 < np.inf
    for row in range(r_lo, r_hi + 1):
        dy = y0 + row * cell - ay
        base = row * nx
        for col in range(c_lo, c_hi + 1):
            dx = x0 + col * cell - ax
            h = abs(dy * ux - dx * uy)
            cur = min(field[base + col], tmax_up)  # to improve on
            if cur <= t_lo + h * inv_v:
                continue  # the segment's earliest time plus the walk off its line: no better
            al = dx * ux + dy * uy
            best = _best(al, h, c1, r1, q1, lo, hi, reach2, inv_v, cur)
            if two:
                best = min(best, _best(al, h, c2, r2, q2, lo, hi, reach2, inv_v,
                                       min(best, cur)))
            if best < cur:
                field[base + col] = best


@njit(nogil=True, cache=True, fastmath=_FAST, error_model="numpy")
def _disc(field, x, y, t, x0, y0, inv_cell, nx, ny, reach, inv_v, tmax, mx=0.0, my=0.0,
          mt=np.inf):  # pragma: no cover - compiled
    # grid nodes within `reach` of (x, y) take min(field, t + distance * inv_v), unless past
    # tmax; those inside the disc of a point (mx, my) at mt that dominates it (mt plus the
    # walk to (x, y) at most t: its disc, drawn too, holds a time at most ours) are skipped
    cell = 1.0 / inv_cell
    v = 1.0 / inv_v
    r = min(reach, (tmax - t) * v)
    if r < 0.0:
        return
    r_lo = max(int(np.ceil((y - r - y0) * inv_cell)), 0)
    r_hi = min(int(np.floor((y + r - y0) * inv_cell)), ny - 1)
    r2 = r * r
    rm = min(reach, (tmax - mt) * v) * (1.0 - 1e-9) if mt < np.inf else -1.0
    rm2 = rm * rm if rm > 0.0 else -1.0  # no dominator: no row has its columns
    for row in range(r_lo, r_hi + 1):
        dy = y0 + row * cell - y
        half = np.sqrt(max(r2 - dy * dy, 0.0))
        c_lo = max(int(np.ceil((x - half - x0) * inv_cell)), 0)
        c_hi = min(int(np.floor((x + half - x0) * inv_cell)), nx - 1)
        # the dominator's columns on this row (skipped): [m_lo, m_hi]
        m_lo, m_hi = c_hi + 1, c_hi
        dym = y0 + row * cell - my
        if rm2 - dym * dym > 0.0:
            hm = np.sqrt(rm2 - dym * dym)
            m_lo = max(int(np.ceil((mx - hm - x0) * inv_cell)), c_lo)
            m_hi = min(int(np.floor((mx + hm - x0) * inv_cell)), c_hi)
            if m_lo > m_hi:
                m_lo, m_hi = c_hi + 1, c_hi
        base = row * nx
        dy2 = dy * dy
        # min by a select, not two branches per node (does it improve? is it within the
        # time left?): a root for every node of a crescent (1-3 a row) measured cheaper
        # than the branches, whose outcome changes node to node (docs/benchmarks.md)
        for col in range(c_lo, m_lo):
            dx = x0 + col * cell - x
            cand = t + np.sqrt(dx * dx + dy2) * inv_v
            cur = field[base + col]
            field[base + col] = cand if cand < cur else cur
        for col in range(m_hi + 1, c_hi + 1):
            dx = x0 + col * cell - x
            cand = t + np.sqrt(dx * dx + dy2) * inv_v
            cur = field[base + col]
            field[base + col] = cand if cand < cur else cur


@njit(nogil=True, cache=True, inline="always")
def _dominate(u, w, times, node_x, node_y, inv_v, dom, dom_m):  # pragma: no cover - compiled
    # of two nodes a street joins, the later one is dominated by the earlier one when the
    # earlier time plus the straight walk between them is at most the later time (then, by the
    # triangle inequality, the earlier disc holds a time at most the later's wherever both
    # reach); the nearest dominator is kept; strictly earlier: no cycles
    if times[u] > times[w]:
        u, w = w, u
    if not times[u] < times[w]:
        return
    dx, dy = node_x[w] - node_x[u], node_y[w] - node_y[u]
    d = np.sqrt(dx * dx + dy * dy)  # (np.hypot: ~20 ns a call, a tenth of the walk's splat)
    if times[u] + d * inv_v * (1.0 - SLOW_TOL) <= times[w] and (dom[w] < 0 or d < dom_m[w]):
        dom[w] = u
        dom_m[w] = d


@njit(nogil=True, cache=True, fastmath=_FAST, error_model="numpy")
def _t_at(c1, r1, c2, r2, s):  # pragma: no cover - compiled
    return min(c1 + r1 * s, c2 + r2 * s)


@njit(nogil=True, cache=True, fastmath=_FAST, error_model="numpy")
def _discs_along(flat, ax, ay, ux, uy, lo, hi, c1, r1, c2, r2, u_node, v_node, skip_first,
                 short, disc_at, x0, y0, inv_cell, nx, ny, reach, inv_v,
                 tmax):  # pragma: no cover - compiled
    # a segment walked no faster than on foot, s in [lo, hi]: discs at most `short` apart,
    # each drawn only beyond the disc of its neighbour reached earlier where that one
    # dominates it (the walk between them no faster than the street); its ends at nodes
    # (u_node / v_node >= 0) are marked in disc_at instead (drawn once, at their time);
    # skip_first: the first point was drawn as the previous segment's last
    m = max(int(np.ceil((hi - lo) / short)), 1)
    step = (hi - lo) / m
    for k in range(m + 1):
        sk = lo + k * step
        if k == 0 and (u_node >= 0 or skip_first):
            if u_node >= 0:
                disc_at[u_node] = True
            continue
        if k == m and v_node >= 0:
            disc_at[v_node] = True
            continue
        tk = _t_at(c1, r1, c2, r2, sk)
        sm, tm = sk, np.inf
        if k > 0:
            sm, tm = sk - step, _t_at(c1, r1, c2, r2, sk - step)
        if k < m:
            tn = _t_at(c1, r1, c2, r2, sk + step)
            if tn < tm:
                sm, tm = sk + step, tn
        if not (tm < tk and tm + step * inv_v * (1.0 - SLOW_TOL) <= tk):
            tm = np.inf  # not dominated: the whole disc
        _disc(flat, ax + sk * ux, ay + sk * uy, tk, x0, y0, inv_cell, nx, ny, reach, inv_v,
              tmax, ax + sm * ux, ay + sm * uy, tm)
    return m


@njit(nogil=True, cache=True, fastmath=_FAST)
def _norm(dx, dy):  # pragma: no cover - compiled
    return np.sqrt(dx * dx + dy * dy)  # (np.hypot guards against overflow: slower)


@njit(nogil=True, cache=True, inline="always")  # a call per piece costs ~70 ns (its arrays)
def _draw_piece(flat, geom_offsets, geom_x, geom_y, e, u_node, v_node, f0, f1, t0, dt,
                back_t, back_dt, disc_at, times, node_x, node_y, dom, dom_m, x0, y0,
                inv_cell, nx, ny, reach, inv_v, tmax):  # pragma: no cover - compiled
    # one piece: capsules of its segments, or discs along those walked no faster than on foot
    a, b = geom_offsets[e], geom_offsets[e + 1]
    length = 0.0
    for i in range(a, b - 1):
        length += _norm(geom_x[i + 1] - geom_x[i], geom_y[i + 1] - geom_y[i])
    if length <= 0.0 or b - a < 2:
        _disc(flat, geom_x[a], geom_y[a], min(t0, back_t), x0, y0, inv_cell, nx, ny, reach,
              inv_v, tmax)
        return
    d0, d1 = f0 * length, f1 * length
    rate, back_rate = dt / length, back_dt / length
    two = back_t < np.inf
    slow = rate / inv_v >= 1.0 - SLOW_TOL and (not two or back_rate / inv_v >= 1.0 - SLOW_TOL)
    if slow and b - a == 2 and d0 == 0.0 and f1 >= 1.0 and length <= SHORT_PER_REACH * reach:
        # the common case on foot: one short segment between two nodes
        disc_at[u_node] = True
        disc_at[v_node] = True
        _dominate(u_node, v_node, times, node_x, node_y, inv_v, dom, dom_m)
        return
    q1, q2 = _offset(rate, inv_v), _offset(-back_rate, inv_v)
    cum = 0.0
    drawn = -1  # the vertex drawn last as a disc
    for i in range(a, b - 1):
        sl = _norm(geom_x[i + 1] - geom_x[i], geom_y[i + 1] - geom_y[i])
        lo, hi = max(cum, d0), min(cum + sl, d1)
        if lo <= hi and sl > 0.0:
            ux = (geom_x[i + 1] - geom_x[i]) / sl
            uy = (geom_y[i + 1] - geom_y[i]) / sl
            # along this segment (s from its first vertex): t = c1 + rate s, and by the twin
            # (a two-way street reached in full both ways) t = c2 - back_rate s
            c1 = t0 + (cum - d0) * rate
            c2 = back_t + (length - cum) * back_rate if two else np.inf
            if slow:
                first = u_node if lo == 0.0 else -1
                last = v_node if i == b - 2 and f1 >= 1.0 else -1
                m = _discs_along(flat, geom_x[i], geom_y[i], ux, uy, lo - cum, hi - cum, c1,
                                 rate, c2, -back_rate, first, last, drawn == i and lo == cum,
                                 SHORT_PER_REACH * reach, disc_at, x0, y0, inv_cell, nx, ny,
                                 reach, inv_v, tmax)
                if m == 1 and first >= 0 and last >= 0:  # both ends nodes
                    _dominate(first, last, times, node_x, node_y, inv_v, dom, dom_m)
                drawn = i + 1
            else:
                _capsule(flat, geom_x[i], geom_y[i], ux, uy, lo - cum, hi - cum, c1, rate, q1,
                         c2, -back_rate, q2, x0, y0, inv_cell, nx, ny, reach, inv_v, tmax)
        cum += sl
        if cum > d1:
            break


@njit(nogil=True, cache=True)
def _reach_field(geom_offsets, geom_x, geom_y, edges, edge_u, edge_v, f0, f1, t0, dt, back_t,
                 back_dt, lone, times, node_x, node_y, leg_x, leg_y, leg_s, leg_r, x0, y0,
                 cell, field, reach, inv_v, tmax):  # pragma: no cover - compiled
    ny, nx = field.shape
    flat = field.reshape(-1)
    inv_cell = 1.0 / cell
    disc_at = np.zeros(len(times), np.bool_)  # nodes drawn as discs, at their time
    dom = np.full(len(times), -1, np.int64)  # a node whose disc holds an earlier time there
    dom_m = np.empty(len(times))  # ... and its distance
    for x in lone:
        disc_at[x] = True
    short = SHORT_PER_REACH * reach
    slow = (1.0 - SLOW_TOL) * inv_v  # seconds a metre: no faster than on foot
    for j in range(len(edges)):
        e = edges[j]
        a = geom_offsets[e]
        if geom_offsets[e + 1] - a == 2 and f0[j] == 0.0 and f1[j] >= 1.0:
            # _draw_piece's common case on foot, without its set-up: one short segment
            # walked no faster than on foot, reached in full, between two nodes
            ln = _norm(geom_x[a + 1] - geom_x[a], geom_y[a + 1] - geom_y[a])
            if 0.0 < ln <= short and dt[j] >= slow * ln and (back_t[j] == np.inf
                                                            or back_dt[j] >= slow * ln):
                disc_at[edge_u[e]] = True
                disc_at[edge_v[e]] = True
                _dominate(edge_u[e], edge_v[e], times, node_x, node_y, inv_v, dom, dom_m)
                continue
        _draw_piece(flat, geom_offsets, geom_x, geom_y, e, edge_u[e], edge_v[e], f0[j], f1[j],
                    t0[j], dt[j], back_t[j], back_dt[j], disc_at, times, node_x, node_y, dom,
                    dom_m, x0, y0, inv_cell, nx, ny, reach, inv_v, tmax)
    for x in range(len(times)):
        if disc_at[x]:  # only the crescent beyond its dominator's disc, if it has one
            m = dom[x]
            mt = times[m] if m >= 0 else np.inf
            _disc(flat, node_x[x], node_y[x], times[x], x0, y0, inv_cell, nx, ny, reach,
                  inv_v, tmax, node_x[max(m, 0)], node_y[max(m, 0)], mt)
    # the access leg: walked straight from the start (time 0, leg_r seconds a metre) towards
    # its street, leg_s metres
    sl = np.hypot(leg_x[1] - leg_x[0], leg_y[1] - leg_y[0])
    if sl > 0.0:
        _capsule(flat, leg_x[0], leg_y[0], (leg_x[1] - leg_x[0]) / sl,
                 (leg_y[1] - leg_y[0]) / sl, 0.0, leg_s, 0.0, leg_r, _offset(leg_r, inv_v),
                 np.inf, 0.0, 0.0, x0, y0, inv_cell, nx, ny, reach, inv_v, tmax)
    else:
        _disc(flat, leg_x[0], leg_y[0], 0.0, x0, y0, inv_cell, nx, ny, reach, inv_v, tmax)


def reach_field(net: RoadNetwork, pieces: Pieces, times_s: NDArray[np.float64], *,
                start_xy: tuple[float, float], street_xy: tuple[float, float],
                access_s: float, x0: float, y0: float, cell: float,
                field: NDArray[np.float64], reach_m: float, off_speed_mps: float,
                limit_s: float, tmax_s: float) -> None:
    """Write the earliest arrival by the streets then a walk off them into a grid, in place.

    Grid node ``field[row, col]`` at ``(x0 + col * cell, y0 + row * cell)``
    takes ``min(t(s) + |p - s| / off_speed_mps)`` over the points ``s``
    within ``reach_m`` of it of the pieces (:func:`reached_pieces`: times
    linear along each edge, the earlier of both directions where a twin
    reaches it), of their lone nodes (at ``times_s``) and of the access
    leg (walked straight from ``start_xy`` at time 0 to ``street_xy`` at
    ``access_s``, cut where ``limit_s`` runs out, as the pieces are), where
    that is at most ``tmax_s``; other nodes are left alone.  Exact per
    segment (no sampling).  Compiled; the cost follows the area within
    ``reach_m`` of the pieces.
    """
    edges, f0, f1, t0, back_t, _, lone = pieces
    tw = net.edge_twin[edges]
    back_dt = np.where(tw >= 0, net.edge_time_s[np.maximum(tw, 0)], 0.0)
    sx, sy = float(start_xy[0]), float(start_xy[1])
    tx, ty = float(street_xy[0]), float(street_xy[1])
    leg_m = float(np.hypot(tx - sx, ty - sy))
    acc = float(access_s)
    leg_r = acc / leg_m if leg_m > 0.0 else 0.0
    leg = leg_m * min(1.0, float(limit_s) / acc) if acc > 0.0 else leg_m
    _reach_field(net.geom_offsets, net.geom_x, net.geom_y, edges, net.edge_u, net.edge_v, f0,
                 f1, t0, net.edge_time_s[edges], back_t, back_dt, lone,
                 np.ascontiguousarray(times_s, dtype=np.float64), net.node_x, net.node_y,
                 np.array([sx, tx]), np.array([sy, ty]), leg, leg_r, float(x0),
                 float(y0), float(cell), field, float(reach_m), 1.0 / float(off_speed_mps),
                 float(tmax_s))


def warm_up() -> None:
    """Compile (or load from numba's disk cache) the kernels on a 2-node network.

    Its arrays have a :class:`RoadNetwork`'s dtypes and are read-only as its
    are, so requests use the signatures compiled here.
    """
    arrays: dict[str, NDArray[Any]] = {
        "node_x": np.array([0.0, 3.0]), "node_y": np.array([0.0, 4.0]),
        "edge_u": np.array([0], dtype=np.int32), "edge_v": np.array([1], dtype=np.int32),
        "edge_twin": np.array([-1], dtype=np.int64), "edge_time_s": np.array([5.0]),
        "geom_offsets": np.array([0, 2], dtype=np.int64), "geom_x": np.array([0.0, 3.0]),
        "geom_y": np.array([0.0, 4.0])}
    for arr in arrays.values():
        arr.flags.writeable = False
    net = cast("RoadNetwork", SimpleNamespace(n_nodes=2, **arrays))
    times = np.array([0.0, 5.0])
    for speed in (1.0, 0.5):  # the street as fast as the walk (discs), then faster (capsules)
        pieces = reached_pieces(net, times, 60.0, own_edge=0, own_frac=0.5, access_s=1.0,
                                start_xy=(0.0, 1.0))
        reach_field(net, pieces, times, start_xy=(0.0, 1.0), street_xy=(1.5, 2.0),
                    access_s=1.0, x0=-3.0, y0=-3.0, cell=1.0,
                    field=np.full((10, 10), 200.0), reach_m=2.0, off_speed_mps=speed,
                    limit_s=60.0, tmax_s=61.0)
