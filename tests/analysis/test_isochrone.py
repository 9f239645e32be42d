"""Isochrone bands on hand-checkable grids (100 m blocks, 80 s each on foot)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geosvc.analysis.demand import build_demand
from geosvc.analysis.isochrone import isochrone_polygons, isochrones_geojson, parse_minutes
from geosvc.errors import InvalidParameter, OutsideNetwork
from geosvc.model import PopulationCell
from geosvc.network.paths import times_from_point
from geosvc.network.snap import snap_points
from geosvc.network.synthetic import grid_network
from geosvc.routing._contour import OFF_STREET_M

W = 4.5 / 3.6
BUF = 30.0
#: How far a band's outline may stray from the exact answer: 0 for the street bands,
#: one grid cell's diagonal (cell = buffer / 2) for the contour bands.
SLACK = {"streets": 0.0, "contour": BUF / 2 * 2 ** 0.5}
#: How far off a street a band reaches: the street bands' buffer; the contour bands'
#: off-street walk (OFF_STREET_M), which on this grid can sit up to sqrt(2) x as far
#: from the nearest node by the streets.
OUT = {"streets": BUF, "contour": OFF_STREET_M * 2 ** 0.5}
#: How far before the tip of a partly reached street the band surely covers it: the
#: contour's strip narrows to nothing at the tip (the time runs out), so a cell more.
TIP = {"streets": 1.0, "contour": 1.0 + BUF / 2 * 2 ** 0.5}
SHAPES = pytest.mark.parametrize("shape", ["streets", "contour"])


@pytest.fixture(scope="module")
def grid():
    return grid_network(11, 11)


def _start(net, node):
    return snap_points(net, net.node_lon[node], net.node_lat[node])


@SHAPES
def test_bands_nest_and_follow_reached_streets(grid, shape):
    start = _start(grid, 60)
    bands = isochrone_polygons(grid, start, [2, 4, 6], walk_speed_mps=W, buffer_m=BUF,
                               shape=shape)
    slack = SLACK[shape]
    assert [b.minutes for b in bands] == [2.0, 4.0, 6.0]
    for small, big in zip(bands, bands[1:], strict=False):
        assert small.geometry_xy.difference(big.geometry_xy).area <= 1e-6
        assert big.geometry_xy.buffer(1e-6).contains(small.geometry_xy)
        assert big.area_km2 > small.area_km2
    times = times_from_point(grid, start, walk_speed_mps=W)
    for b in bands:
        limit = b.minutes * 60
        poly = b.geometry_xy
        # every fully reached edge lies inside the band
        tu, tv = times[grid.edge_u], times[grid.edge_v]
        full = np.flatnonzero(tu + grid.edge_time_s <= limit)
        mx = (grid.node_x[grid.edge_u[full]] + grid.node_x[grid.edge_v[full]]) / 2
        my = (grid.node_y[grid.edge_u[full]] + grid.node_y[grid.edge_v[full]]) / 2
        assert shapely.contains_xy(poly, mx, my).all()
        # partly reached edges: inside up to the reached fraction, outside beyond (+ buffer)
        part = np.flatnonzero((tu < limit) & (tu + grid.edge_time_s > limit) & (tv > limit))
        assert len(part)
        r = (limit - tu[part]) / grid.edge_time_s[part]
        ux, uy = grid.node_x[grid.edge_u[part]], grid.node_y[grid.edge_u[part]]
        dx = (grid.node_x[grid.edge_v[part]] - ux) / 100.0
        dy = (grid.node_y[grid.edge_v[part]] - uy) / 100.0
        reach = r * 100.0
        tip = TIP[shape]
        # (the contour: only streets reached further than that; one reached by a hair has
        # no strip at all)
        sel = reach >= tip if shape == "contour" else np.ones(len(part), dtype=bool)
        assert sel.sum() >= len(part) // 2
        px, py = (ux + dx * (reach - tip))[sel], (uy + dy * (reach - tip))[sel]
        assert shapely.contains_xy(poly, px, py).all()
        beyond = reach + BUF + 2 + slack
        ok = beyond < 100
        bx, by = (ux + dx * beyond)[ok], (uy + dy * beyond)[ok]
        assert not shapely.contains_xy(poly, bx, by).any()
        # nodes out of reach (by more than the buffer / the off-street walk) are outside
        far = times > limit + (OUT[shape] + 1 + slack) / W
        assert not shapely.contains_xy(poly, grid.node_x[far], grid.node_y[far]).any()


@SHAPES
def test_holes_are_kept(shape):
    # every block's core further than the reach from its streets is a hole: 100-m blocks
    # for the street bands (30 m), 200-m blocks for the contour (60 m off the street);
    # the band reaches the whole grid (15 / 30 minutes: 11.25 blocks)
    spacing, minutes = (100.0, 15) if shape == "streets" else (200.0, 30)
    grid = grid_network(11, 11, spacing_m=spacing)
    band = isochrone_polygons(grid, _start(grid, 60), [minutes], walk_speed_mps=W,
                              buffer_m=BUF, shape=shape)[0]
    poly = band.geometry_xy
    assert poly.geom_type == "Polygon"
    assert len(poly.interiors) == 100
    x0, y0 = grid.node_x[0], grid.node_y[0]
    half = spacing / 2
    assert not poly.contains(shapely.Point(x0 + half, y0 + half))
    assert poly.contains(shapely.Point(x0 + half, y0))


def test_missing_streets_leave_a_gap():
    # the street between nodes 12 (200, 200) and 13 (300, 200) is missing: its middle is
    # 50 m from any street, beyond the street bands' 30 m
    net = grid_network(5, 5, missing_edges=[(12, 13)])
    band = isochrone_polygons(net, _start(net, 0), [10], walk_speed_mps=W, buffer_m=BUF,
                              shape="streets")[0]
    x0, y0 = net.node_x[0], net.node_y[0]
    assert not band.geometry_xy.contains(shapely.Point(x0 + 250, y0 + 200))
    assert band.geometry_xy.contains(shapely.Point(x0 + 150, y0 + 200))


def test_missing_streets_leave_a_gap_in_the_contour():
    # node 12 (200, 200) loses its four streets: a 200-m block whose middle is 100 m from
    # any street, beyond the contour's 60 m; 50 m off a street is within it
    net = grid_network(5, 5, missing_edges=[(7, 12), (11, 12), (12, 13), (12, 17)])
    band = isochrone_polygons(net, _start(net, 0), [10], walk_speed_mps=W, buffer_m=BUF,
                              shape="contour")[0]
    x0, y0 = net.node_x[0], net.node_y[0]
    assert not band.geometry_xy.contains(shapely.Point(x0 + 200, y0 + 200))
    assert band.geometry_xy.contains(shapely.Point(x0 + 150, y0 + 200))
    assert not band.geometry_xy.contains(shapely.Point(x0 + 190, y0 + 200))  # 90 m off


def test_lonlat_output_population_and_geojson(grid):
    cells = [PopulationCell(float(grid.node_lon[i]), float(grid.node_lat[i]), 10.0)
             for i in (60, 61, 0)]
    demand = build_demand(grid, cells)
    start = (float(grid.node_lon[60]), float(grid.node_lat[60]))
    bands = isochrone_polygons(grid, start, [1, 5],
                               walk_speed_mps=W, demand=demand)
    # node 61 is 100 m (80 s) away: outside the 1-minute band (the contour stops where the
    # time runs out), inside the 5-minute one; node 0 is beyond both
    assert [b.population for b in bands] == [10.0, 20.0]
    minx, miny, maxx, maxy = bands[1].geometry.bounds
    assert 116.9 < minx < maxx < 117.1 and 30.9 < miny < maxy < 31.1
    fc = isochrones_geojson(bands)
    assert [f["properties"]["minutes"] for f in fc["features"]] == [1, 5]
    assert fc["features"][1]["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    m, g = bands[0]
    assert m == 1.0 and g is bands[0].geometry


@pytest.mark.parametrize("bad", [[], [0], [-5], [float("nan")], ["x"], [300],
                                 list(range(1, 13))])
def test_bad_minutes(bad):
    with pytest.raises(InvalidParameter) as err:
        parse_minutes(bad)
    assert err.value.invalid_params[0]["name"] == "minutes"


def test_point_off_network_and_bad_buffer(grid):
    with pytest.raises(OutsideNetwork):
        isochrone_polygons(grid, (float(grid.node_lon[0]) - 0.1, float(grid.node_lat[0])), [5])
    with pytest.raises(InvalidParameter, match="buffer_m"):
        isochrone_polygons(grid, _start(grid, 0), [5], buffer_m=0)
    with pytest.raises(InvalidParameter, match="`shape`"):
        isochrone_polygons(grid, _start(grid, 0), [5], shape="blob")
