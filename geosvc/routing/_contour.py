"""Isochrone bands as contours of a travel-time grid (``shape=contour``; fast).

What a band means (the area a resident can reach): a place ``x`` is within
``L`` seconds of the start when some street point ``s`` reached at ``t(s)``
(travel times interpolated along every edge, partly reached edges included)
lies within :data:`OFF_STREET_M` metres of it in a straight line and
``t(s) + |x - s| / v <= L``, ``v`` the walking speed: the resident walks the
streets, then straight off the street to the door, as geosvc charges the
walk between a point and its street (the access leg).  The start itself and
its access leg count as street points (time ``d / v`` at ``d`` metres from
the start).  Near the edge of a band the reach shrinks with the time left
(no 30-m corridor around a street reached with 2 s to spare); inside it, it
covers the blocks between reached streets (half of a 120-m block is 60 m)
and stops :data:`OFF_STREET_M` short of parks, water and railways no street
crosses (holes kept).  ``shape=streets``
(:func:`geosvc.routing._distance.buffer_bands`) draws something else: the
reached streets themselves, buffered.

How it is drawn, one TIME field for every band:

1. every network node reached within the largest band is drawn once at its
   time, and the streets reached (fully, partly, the point's own edge from
   its snapped position) and the access leg are sampled every half cell by
   a compiled kernel (:func:`geosvc.network._dijkstra.reach_edges`), each
   sample carrying its travel time (linear along its edge from the time at
   the edge's start; a two-way street reached in full both ways is sampled
   once with the earlier of its two directions); a sample is drawn only
   where it can improve on the last one drawn on its street or its end
   node (by more than half a cell's walk, or being half the reach away):
   on a street walked at walking speed a sample every 30 m;
2. every grid node within the reach of a drawn point (plus a quarter cell:
   the outline then falls on average on the reach) takes the point's time
   plus the straight walk to it, the earliest over all points; nodes
   further than one cell beyond where the time runs out are skipped;
3. each band is the filled contour ``time <= minutes * 60`` of that one
   field (marching squares, contourpy, linear between grid nodes: exact
   where the time runs out; holes kept), so bands nest by construction; a
   cell of ``buffer / 2`` (15 m walking, 25 m driving; coarser beyond
   :data:`MAX_NODES` grid nodes).

Checked against an exact vector computation (the union of the discs of
radius ``min(reach, (L - t(s)) v)`` around every sampled street point:
``tests/routing/test_contour.py``).  Against Valhalla (``scripts/bench_peers.py``;
Valhalla marks 0.001-degree cells with the time of the streets crossing them
and contours the cell centres) the area ratio is near 1 (docs/benchmarks.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from types import ModuleType

    from contourpy import ContourGenerator
    from contourpy._contourpy import FillReturn_ChunkCombinedOffsetOffset
    from shapely import Geometry

    from geosvc.network.graph import RoadNetwork
    from geosvc.network.snap import Snapped

__all__ = ["CELL_PER_BUFFER", "OFF_STREET_M", "contour_bands"]

#: Grid cell as a fraction of the buffer.
CELL_PER_BUFFER = 0.5

#: Spacing of the samples along the streets, in cells.
SAMPLE_PER_CELL = 0.5

#: Off-street reach, metres: how far from a reached street (straight line, at
#: walking speed) a place still counts as reached; half of a 120-m city block.
OFF_STREET_M = 60.0

#: The reach is drawn this many cells further (the contour falls between the
#: last grid node inside it and the first outside; with 0.25 the area equals the
#: exact vector answer's within 2 %, tests/routing/test_contour.py).
CAP_CELLS = 0.25

#: A point along a street is not drawn when the last one drawn, less than half
#: the reach back, reaches every place of its disc at most this many cells' walk
#: later (a street walked at walking speed: a point every half reach suffices).
SLACK_CELLS = 0.5

#: Largest grid (nodes); the cell grows beyond it (long drives: a 15-minute drive
#: across a 12-km city gets ~50-m cells; Valhalla's are 55 x 111 m at 60 N).  A
#: walk of 15 minutes stays below it (15-m cells).
MAX_NODES = 60_000


def contour_bands(net: RoadNetwork, point: Snapped, times_s: NDArray[np.float64],
                  bands_s: Sequence[float], *, walk_speed_mps: float, buffer_m: float,
                  cell_m: float | None = None,
                  reach_m: float = OFF_STREET_M) -> list[Geometry]:
    """Return each band's area as a contour of one travel-time grid (projected, nested).

    Parameters
    ----------
    net : RoadNetwork
    point : Snapped
        The start (one snapped point).
    times_s : float64[N]
        Forward node times from the point (seconds; inf beyond the largest band).
    bands_s : sequence of float
        Band limits, seconds, ascending.
    walk_speed_mps : float
        Walking speed (the access leg and the walk off the street), m/s.
    buffer_m : float
        The mode's street buffer, metres: sets the grid cell.
    cell_m : float, optional
        Grid cell, metres (default ``buffer_m / 2``; larger when the extent
        would need more than :data:`MAX_NODES` nodes).
    reach_m : float, optional
        Off-street reach, metres (default :data:`OFF_STREET_M`).

    Returns
    -------
    list of Polygon / MultiPolygon
        One per band (an empty Polygon when nothing is reached).
    """
    import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it

    from geosvc.network._splat import (  # lazy: numba (~0.3 s, ~57 MB) only to contour
        reach_field,
        reached_pieces,
    )

    limit = float(bands_s[-1])
    px, py = float(point.px[0]), float(point.py[0])
    acc = float(point.dist_m[0]) / walk_speed_mps
    pieces = reached_pieces(net, times_s, limit, own_edge=int(point.edge[0]),
                            own_frac=float(point.frac[0]), access_s=acc, start_xy=(px, py))
    if not len(pieces.edge):
        return [shapely.Polygon() for _ in bands_s]
    x_lo, y_lo, x_hi, y_hi = pieces.box
    reach = float(reach_m)
    cell = float(cell_m or buffer_m * CELL_PER_BUFFER)
    w, h = x_hi - x_lo + 2 * reach, y_hi - y_lo + 2 * reach
    cell = max(cell, math.sqrt(w * h / MAX_NODES))
    pad = reach + 2 * cell
    x0, y0 = x_lo - pad, y_lo - pad
    nx = int(math.ceil((x_hi + pad - x0) / cell)) + 1
    ny = int(math.ceil((y_hi + pad - y0) / cell)) + 1
    field = np.full((ny, nx), 2.0 * limit + 60.0)  # unreached
    reach_field(net, pieces, times_s, start_xy=(px, py),
                street_xy=(float(point.x[0]), float(point.y[0])), access_s=acc, x0=x0,
                y0=y0, cell=cell, field=field, reach_m=reach + cell * CAP_CELLS,
                off_speed_mps=walk_speed_mps, limit_s=limit,
                tmax_s=limit + cell / walk_speed_mps)
    import contourpy  # lazy: contourpy takes ~0.06 s to import; only this path needs it

    # the serial generator itself: contour_generator() would also scan the field for
    # invalid values through numpy.ma (there are none: unreached nodes hold a finite time)
    xs, ys = np.meshgrid(x0 + np.arange(nx) * cell, y0 + np.arange(ny) * cell)
    gen = contourpy.SerialContourGenerator(
        xs, ys, field, None,  # type: ignore[arg-type]  # no mask (contour_generator's too)
        corner_mask=True, line_type=contourpy.LineType.SeparateCode,
        fill_type=contourpy.FillType.ChunkCombinedOffsetOffset, quad_as_tri=False,
        z_interp=contourpy.ZInterp.Linear)
    return [_filled(gen, float(t), shapely) for t in bands_s]


def _filled(gen: ContourGenerator, level: float, shapely: ModuleType) -> Geometry:
    """Return the region ``field <= level`` as a (Multi)Polygon with holes."""
    # One chunk, combined: (points, ring offsets, polygon offsets), shapely's ragged layout
    # (built in one call; a Polygon per piece in Python cost ~3 ms on a long drive).
    points, offsets, outer = cast("FillReturn_ChunkCombinedOffsetOffset",
                                  gen.filled(-1.0, level))
    pts, rings, polys_at = points[0], offsets[0], outer[0]
    if pts is None or rings is None or polys_at is None or len(polys_at) < 2:
        return shapely.Polygon()
    polys = shapely.from_ragged_array(shapely.GeometryType.POLYGON, pts, (rings, polys_at))
    return polys[0] if len(polys) == 1 else shapely.MultiPolygon(list(polys))
