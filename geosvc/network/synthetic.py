"""Synthetic road networks: hand-checkable grids and a large city for benchmarks.

Both are built directly in the projected UTM CRS of ``origin_lonlat`` (so
lengths are exact in metres) and carry lon/lat from the inverse projection.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

from geosvc.coords import projection, utm_crs
from geosvc.errors import InvalidParameter
from geosvc.network.graph import RoadNetwork, check_mode, make_network

__all__ = ["grid_network", "synthetic_city"]


def _straight_edges(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    u: NDArray[np.int64],
    v: NDArray[np.int64],
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Lengths and two-vertex polylines of straight edges u -> v."""
    length = np.hypot(x[v] - x[u], y[v] - y[u])
    offsets = np.arange(0, 2 * len(u) + 1, 2, dtype=np.int64)
    gx = np.empty(2 * len(u))
    gy = np.empty(2 * len(u))
    gx[0::2], gx[1::2] = x[u], x[v]
    gy[0::2], gy[1::2] = y[u], y[v]
    return length, offsets, gx, gy


def _assemble(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    u: NDArray[np.int64],
    v: NDArray[np.int64],
    speed_mps: NDArray[np.float64],
    *,
    crs: str,
    mode: str,
    source_hash: str,
) -> RoadNetwork:
    inv = projection(crs).inverse
    lon, lat = inv.transform(x, y)
    length, offsets, gx, gy = _straight_edges(x, y, u, v)
    return make_network(
        mode=mode,
        crs=crs,
        source_hash=source_hash,
        node_id=np.arange(len(x), dtype=np.int64),
        node_lon=np.asarray(lon),
        node_lat=np.asarray(lat),
        node_x=x,
        node_y=y,
        edge_u=u,
        edge_v=v,
        edge_length_m=length,
        edge_time_s=length / speed_mps,
        geom_offsets=offsets,
        geom_x=gx,
        geom_y=gy,
    )


def _origin_xy(origin_lonlat: tuple[float, float]) -> tuple[str, float, float]:
    lon0, lat0 = origin_lonlat
    crs = utm_crs(lon0, lat0)
    x0, y0 = projection(crs).forward.transform(lon0, lat0)
    return crs, float(x0), float(y0)


def grid_network(
    nx: int,
    ny: int,
    *,
    spacing_m: float = 100.0,
    speed_kph: float = 4.5,
    one_way_rows: Iterable[int] = (),
    missing_edges: Iterable[tuple[int, int]] = (),
    disconnected: bool = False,
    origin_lonlat: tuple[float, float] = (117.0, 31.0),
    mode: str = "walk",
) -> RoadNetwork:
    """Build an ``nx`` x ``ny`` street grid whose travel times can be worked out by hand.

    Node ``j * nx + i`` sits at column ``i`` (east), row ``j`` (north),
    ``spacing_m`` apart in the projected UTM CRS of ``origin_lonlat`` (node 0).
    Every street is two-way at ``speed_kph`` (100 m at 4.5 km/h = 80 s),
    except the horizontal streets of ``one_way_rows``, which run east only
    (i -> i+1).  ``missing_edges`` lists node pairs ``(a, b)`` whose street is
    left out (both directions).  With ``disconnected``, a separate 2 x 2 block
    (nodes ``nx*ny .. nx*ny+3``) is added ``3 * spacing_m`` east of the grid's
    south-east corner, unreachable from the grid.

    Examples
    --------
    >>> net = grid_network(5, 5)
    >>> net.n_nodes, net.n_edges, float(net.edge_time_s[0])
    (25, 80, 80.0)
    >>> grid_network(3, 1, one_way_rows=[0]).n_edges
    2
    """
    if nx < 1 or ny < 1:
        msg = "must both be >= 1"
        raise InvalidParameter("nx", msg, more=[("ny", msg)])
    if not spacing_m > 0:
        raise InvalidParameter("spacing_m", "must be > 0")
    if not speed_kph > 0:
        raise InvalidParameter("speed_kph", "must be > 0")
    check_mode(mode)
    crs, x0, y0 = _origin_xy(origin_lonlat)
    ii, jj = np.meshgrid(np.arange(nx), np.arange(ny))
    x = x0 + ii.ravel() * spacing_m
    y = y0 + jj.ravel() * spacing_m
    node = np.arange(nx * ny).reshape(ny, nx)
    h_a, h_b = node[:, :-1].ravel(), node[:, 1:].ravel()
    h_row = np.repeat(np.arange(ny), nx - 1)
    v_a, v_b = node[:-1, :].ravel(), node[1:, :].ravel()
    one_way = np.isin(h_row, list(one_way_rows))
    a = np.concatenate([h_a, v_a])
    b = np.concatenate([h_b, v_b])
    ow = np.concatenate([one_way, np.zeros(len(v_a), dtype=bool)])
    missing = {(min(p, q), max(p, q)) for p, q in missing_edges}
    if missing:
        keep = np.array([(int(p), int(q)) not in missing for p, q in zip(a, b, strict=True)],
                        dtype=bool)
        a, b, ow = a[keep], b[keep], ow[keep]
    if disconnected:
        base = nx * ny
        bx = x0 + (nx - 1 + 3) * spacing_m
        x = np.concatenate([x, bx + np.array([0.0, spacing_m, 0.0, spacing_m])])
        y = np.concatenate([y, y0 + np.array([0.0, 0.0, spacing_m, spacing_m])])
        a = np.concatenate([a, base + np.array([0, 2, 0, 1])])
        b = np.concatenate([b, base + np.array([1, 3, 2, 3])])
        ow = np.concatenate([ow, np.zeros(4, dtype=bool)])
    u = np.concatenate([a, b[~ow]]).astype(np.int64)
    v = np.concatenate([b, a[~ow]]).astype(np.int64)
    speed = np.full(len(u), speed_kph / 3.6)
    return _assemble(
        x.astype(np.float64), y.astype(np.float64), u, v, speed, crs=crs, mode=mode,
        source_hash=f"synthetic:grid:{nx}x{ny}:{spacing_m}:{speed_kph}",
    )


def synthetic_city(
    n_nodes: int = 250_000,
    *,
    seed: int = 0,
    mode: str = "drive",
    spacing_m: float = 80.0,
    origin_lonlat: tuple[float, float] = (117.0, 31.0),
) -> RoadNetwork:
    """Build a large city-like network for tests and benchmarks (deterministic per ``seed``).

    A square grid of about ``n_nodes`` nodes ``spacing_m`` apart with every
    node jittered by up to 20 % of the spacing; about 4 % of the streets are
    missing.  In ``drive`` mode every 10th row and column is a 50 km/h
    arterial, other streets 30 km/h, and every 7th row is one-way (alternating
    east/west).  In ``walk`` / ``bike`` mode every street is two-way at
    4.5 / 15 km/h.  Three small blocks are cut off from the rest (disconnected
    parts: unreachable from the mainland).
    """
    if n_nodes < 16:
        raise InvalidParameter("n_nodes", "must be >= 16")
    check_mode(mode)
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n_nodes)))
    crs, x0, y0 = _origin_xy(origin_lonlat)
    ii, jj = np.meshgrid(np.arange(side), np.arange(side))
    jitter = 0.2 * spacing_m
    x = x0 + ii.ravel() * spacing_m + rng.uniform(-jitter, jitter, side * side)
    y = y0 + jj.ravel() * spacing_m + rng.uniform(-jitter, jitter, side * side)
    node = np.arange(side * side).reshape(side, side)
    h_a, h_b = node[:, :-1].ravel(), node[:, 1:].ravel()
    v_a, v_b = node[:-1, :].ravel(), node[1:, :].ravel()
    h_row = np.repeat(np.arange(side), side - 1)
    v_col = np.tile(np.arange(side), side - 1)
    a = np.concatenate([h_a, v_a])
    b = np.concatenate([h_b, v_b])
    arterial = np.concatenate([h_row % 10 == 0, v_col % 10 == 0])
    one_way_row = (h_row % 7 == 3)
    one_way = np.concatenate([one_way_row, np.zeros(len(v_a), dtype=bool)])
    west = np.concatenate([one_way_row & (h_row % 14 == 10), np.zeros(len(v_a), dtype=bool)])
    keep = (rng.random(len(a)) >= 0.04) | arterial
    # Cut three 3 x 3 blocks loose: drop every street with exactly one end inside.
    inside = np.zeros(side * side, dtype=bool)
    for k in range(3):
        ci = int(side * (0.2 + 0.3 * k))
        cj = int(side * (0.7 - 0.25 * k))
        inside[node[cj:cj + 3, ci:ci + 3].ravel()] = True
    keep &= inside[a] == inside[b]
    a, b, arterial, one_way, west = a[keep], b[keep], arterial[keep], one_way[keep], west[keep]
    if mode == "drive":
        speed_kph = np.where(arterial, 50.0, 30.0)
    else:
        speed_kph = np.full(len(a), 4.5 if mode == "walk" else 15.0)
        one_way = np.zeros(len(a), dtype=bool)
        west = one_way
    fa = np.where(west, b, a)
    fb = np.where(west, a, b)
    two = ~one_way
    u = np.concatenate([fa, b[two]]).astype(np.int64)
    v = np.concatenate([fb, a[two]]).astype(np.int64)
    speed = np.concatenate([speed_kph, speed_kph[two]]) / 3.6
    return _assemble(
        x, y, u, v, speed, crs=crs, mode=mode,
        source_hash=f"synthetic:city:{side * side}:{seed}:{mode}:{spacing_m}",
    )
