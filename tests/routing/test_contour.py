"""Contour isochrones (shape=contour) against the street bands, on Helsinki and a drive city."""

from __future__ import annotations

import numpy as np
import shapely

from geosvc.network.paths import times_from_point
from geosvc.network.snap import snap_points
from geosvc.network.synthetic import synthetic_city
from geosvc.routing._contour import CELL_PER_BUFFER
from geosvc.routing.road import isochrone_xy

W = 4.5 / 3.6
BANDS = [5.0, 10.0, 15.0]


def _starts(net, n, seed):
    rng = np.random.default_rng(seed)
    nodes = rng.choice(net.n_nodes, n, replace=False)
    return [snap_points(net, net.node_lon[[i]] + 2e-4, net.node_lat[[i]] - 1e-4,
                        min_component_nodes=50) for i in nodes]


def _check_bands(net, q, buffer_m):
    """Contour bands: valid, nested, every reached node inside or within one cell."""
    contour = isochrone_xy(net, q, BANDS, walk_speed_mps=W, buffer_m=buffer_m, shape="contour")
    cell = buffer_m * CELL_PER_BUFFER
    times = times_from_point(net, q, walk_speed_mps=W)
    for small, big in zip(contour, contour[1:], strict=False):
        assert small.difference(big).area <= 1e-6 * big.area
    for m, g in zip(BANDS, contour, strict=True):
        assert g.is_valid and not g.is_empty
        reached = np.flatnonzero(times <= m * 60.0)
        assert len(reached)
        d = shapely.distance(g, shapely.points(net.node_x[reached], net.node_y[reached]))
        assert d.max() <= cell * 2 ** 0.5, m
        assert shapely.contains_xy(g, net.node_x[reached], net.node_y[reached]).mean() > 0.98
    return contour


def _iou(a, b):
    return a.intersection(b).area / a.union(b).area


def test_contour_follows_the_streets_on_helsinki(demo_service, capsys):
    net = demo_service.travel("walk").net
    ious, ratios, holes = [], [], 0
    for q in _starts(net, 6, seed=4):
        contour = _check_bands(net, q, 30.0)
        streets = isochrone_xy(net, q, BANDS, walk_speed_mps=W, buffer_m=30.0,
                               shape="streets")
        for c, s in zip(contour, streets, strict=True):
            ious.append(_iou(c, s))
            ratios.append(c.area / s.area)
        big = contour[-1]
        holes += sum(len(p.interiors) for p in getattr(big, "geoms", [big]))
    with capsys.disabled():
        print(f"\ncontour vs streets, Helsinki walk 5/10/15 min: IoU median "
              f"{np.median(ious):.3f} (min {min(ious):.3f}), area ratio median "
              f"{np.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f})")
    assert min(ious) >= 0.88
    assert 0.95 <= min(ratios) and max(ratios) <= 1.08
    assert holes > 0  # blocks no reached street comes near stay holes


def test_contour_on_a_drive_city():
    net = synthetic_city(4_000, mode="drive", seed=2)
    for q in _starts(net, 3, seed=5):
        contour = _check_bands(net, q, 50.0)
        streets = isochrone_xy(net, q, [5.0], walk_speed_mps=W, buffer_m=50.0,
                               shape="streets")
        assert _iou(contour[0], streets[0]) >= 0.85


def test_unsnapped_start_and_tiny_band_give_empty_or_small_bands(demo_service):
    net = demo_service.travel("walk").net
    q = _starts(net, 1, seed=9)[0]
    bands = isochrone_xy(net, q, [0.05, 1.0], walk_speed_mps=W, buffer_m=30.0,
                         shape="contour")
    assert bands[0].area <= bands[1].area
    off = q.take([0])
    off = type(off)(edge=np.array([-1]), frac=off.frac, dist_m=np.array([np.inf]), x=off.x,
                    y=off.y, px=off.px, py=off.py, lon=off.lon, lat=off.lat)
    assert all(g.is_empty for g in isochrone_xy(net, off, [5.0], walk_speed_mps=W,
                                                  buffer_m=30.0, shape="contour"))
