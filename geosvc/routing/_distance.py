"""Buffers of street pieces from a distance field (isochrone bands, fast and nested).

The vector buffer (:func:`geosvc.routing._geometry.buffer_pieces`) spends
almost all its time in GEOS unioning ~10^3 overlapping buffers.  Here:

1. sample the pieces every ``cell / 2`` metres (vertices and ends included);
2. on a square grid of ``cell`` metres (nodes, projected CRS) keep, per
   grid cell, the sample nearest its node, and find for every node the
   nearest kept sample with scipy's exact Euclidean distance transform
   (``return_indices``); the node's value is its true distance to that
   sample (not a cell count), so the outline is sub-cell accurate;
3. the band polygon is the filled contour ``distance <= buffer_m``
   (marching squares, contourpy; holes kept).

Every sample has distance 0, so reached and partly reached streets lie
inside.  Bands nest: band ``k``'s field is the pointwise minimum of its own
and band ``k - 1``'s, so its sublevel set contains the smaller band's
(marching squares is monotone in the node values).  Measured against the
exact vector buffer (quad_segs=8) of 10-minute walks in Helsinki with
``cell = buffer / 10`` (3 m): area 0.996-0.999, symmetric difference
0.2-0.5 % of the area; 4-6x faster than the two-stage vector buffer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, cast

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from contourpy._contourpy import FillReturn_OuterOffset
    from shapely import Geometry

    from geosvc.routing._geometry import Pieces

#: Grid cell as a fraction of the buffer.
CELL_PER_BUFFER = 0.1

#: Largest grid (nodes); the cell grows beyond it (long drives).
MAX_NODES = 4_000_000


def sample_pieces(pieces: Pieces, spacing: float) -> tuple[NDArray[np.float64],
                                                          NDArray[np.float64]]:
    """Return points along every piece at most ``spacing`` metres apart (vertices included)."""
    xy, off = pieces.xy, pieces.offsets
    if not len(xy):
        return np.zeros(0), np.zeros(0)
    ok = np.ones(len(xy) - 1, dtype=bool)
    ends = off[1:-1] - 1
    ok[ends[(ends >= 0) & (ends < len(ok))]] = False
    a = np.flatnonzero(ok)
    d = np.hypot(xy[a + 1, 0] - xy[a, 0], xy[a + 1, 1] - xy[a, 1])
    n = np.ceil(d / spacing).astype(np.int64) + 1
    seg = np.repeat(np.arange(len(a)), n)
    t = (np.arange(len(seg)) - np.repeat(np.cumsum(n) - n, n)) / np.repeat(
        np.maximum(n - 1, 1), n)
    i = a[seg]
    sx = xy[i, 0] + t * (xy[i + 1, 0] - xy[i, 0])
    sy = xy[i, 1] + t * (xy[i + 1, 1] - xy[i, 1])
    return np.concatenate([sx, xy[:, 0]]), np.concatenate([sy, xy[:, 1]])


def buffer_bands(bands: Sequence[Pieces], buffer_m: float, *,
                 cell_m: float | None = None) -> list[Geometry]:
    """Return the buffer polygon of each band's pieces (projected; nested; holes kept).

    Parameters
    ----------
    bands : sequence of Pieces
        The pieces of each band, smallest band first.
    buffer_m : float
        Buffer distance, metres.
    cell_m : float, optional
        Grid cell, metres (default ``buffer_m / 10``; larger when the extent
        would need more than :data:`MAX_NODES` nodes).

    Returns
    -------
    list of Polygon / MultiPolygon
        One per band (empty Polygon for a band without pieces).
    """
    import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it
    from scipy import ndimage  # lazy: scipy takes ~0.2 s to import; only this path needs it

    cell = float(cell_m or buffer_m * CELL_PER_BUFFER)
    samples = [sample_pieces(p, cell / 2.0) for p in bands]
    allx = np.concatenate([s[0] for s in samples]) if samples else np.zeros(0)
    if not len(allx):
        return [shapely.Polygon() for _ in bands]
    ally = np.concatenate([s[1] for s in samples])
    pad = buffer_m
    w = float(allx.max() - allx.min()) + 2 * pad
    h = float(ally.max() - ally.min()) + 2 * pad
    cell = max(cell, math.sqrt(w * h / MAX_NODES))
    pad += 2 * cell
    x0, y0 = float(allx.min()) - pad, float(ally.min()) - pad
    nx = int(math.ceil((float(allx.max()) + pad - x0) / cell)) + 1
    ny = int(math.ceil((float(ally.max()) + pad - y0) / cell)) + 1
    gx = x0 + np.arange(nx) * cell
    gy = y0 + np.arange(ny) * cell
    out: list[Geometry] = []
    prev: NDArray[np.float64] | None = None
    for sx, sy in samples:
        if not len(sx):
            field = np.full((ny, nx), np.inf) if prev is None else prev
        else:
            field = _distance(sx, sy, x0, y0, cell, nx, ny, gx, gy, ndimage)
            if prev is not None:
                np.minimum(field, prev, out=field)
        prev = field
        out.append(_contour(gx, gy, field, buffer_m, shapely))
    return out


def _distance(sx: NDArray[np.float64], sy: NDArray[np.float64], x0: float, y0: float,
              cell: float, nx: int, ny: int, gx: NDArray[np.floating], gy: NDArray[np.floating],
              ndimage: ModuleType) -> NDArray[np.float64]:
    """Return each node's distance to the nearest kept sample (one per grid cell)."""
    c = np.clip(np.rint((sx - x0) / cell).astype(np.int64), 0, nx - 1)
    r = np.clip(np.rint((sy - y0) / cell).astype(np.int64), 0, ny - 1)
    lin = r * nx + c
    off = (sx - gx[c]) ** 2 + (sy - gy[r]) ** 2
    order = np.lexsort((off, lin))
    first = np.ones(len(order), dtype=bool)
    first[1:] = lin[order][1:] != lin[order][:-1]
    keep = order[first]
    kx = np.empty(ny * nx)
    ky = np.empty(ny * nx)
    kx[lin[keep]], ky[lin[keep]] = sx[keep], sy[keep]
    free = np.ones((ny, nx), dtype=bool)
    free.flat[lin[keep]] = False
    ir, ic = ndimage.distance_transform_edt(free, return_distances=False, return_indices=True)
    src = ir * nx + ic
    return np.hypot(gx[None, :] - kx[src], gy[:, None] - ky[src])


def _contour(gx: NDArray[np.floating], gy: NDArray[np.floating], field: NDArray[np.float64],
             level: float, shapely: ModuleType) -> Geometry:
    """Return the filled region ``field <= level`` as a (Multi)Polygon with holes."""
    import contourpy  # lazy: contourpy takes ~0.06 s to import; only this path needs it

    if not np.isfinite(field).any() or field.min() > level:
        return shapely.Polygon()
    gen = contourpy.contour_generator(gx, gy, np.where(np.isfinite(field), field, 1e30),
                                      fill_type=contourpy.FillType.OuterOffset, name="serial")
    # The stub types filled() for every fill type; OuterOffset gives (points, offsets).
    points, offsets = cast("FillReturn_OuterOffset", gen.filled(-1.0, float(level)))
    polys = []
    for pts, off in zip(points, offsets, strict=True):
        rings = [pts[off[i]:off[i + 1]] for i in range(len(off) - 1)]
        polys.append(shapely.Polygon(rings[0], rings[1:]))
    if not polys:
        return shapely.Polygon()
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(polys)
