"""Snapping to edges and the snapping limit."""

from __future__ import annotations

import numpy as np
import pytest

from geosvc.errors import InvalidParameter, OutsideNetwork
from geosvc.network.snap import check_snapped, snap_point, snap_points, snap_xy


def test_snaps_to_middle_of_edge_not_node(grid5):
    s = snap_xy(grid5, grid5.node_x[:1] + 45.0, grid5.node_y[:1] + 3.0)
    e = int(s.edge[0])
    assert {int(grid5.edge_u[e]), int(grid5.edge_v[e])} == {0, 1}
    f_east = s.frac[0] if grid5.edge_u[e] == 0 else 1 - s.frac[0]
    assert f_east == pytest.approx(0.45)
    assert s.dist_m[0] == pytest.approx(3.0)


def test_snap_points_lonlat_roundtrip(grid5):
    s = snap_points(grid5, grid5.node_lon[[6, 18]], grid5.node_lat[[6, 18]])
    assert np.all(s.dist_m < 1e-3)
    np.testing.assert_allclose(s.x, grid5.node_x[[6, 18]], atol=1e-3)


def test_far_point_outside_network(grid5):
    s = snap_xy(grid5, grid5.node_x[:1] - 1300.0, grid5.node_y[:1])
    assert s.dist_m[0] == pytest.approx(1300)
    msg = r"`lon`/`lat`: point is 1,300 m from the nearest walk road; the limit is 1,000 m"
    with pytest.raises(OutsideNetwork, match=msg):
        check_snapped(s, 1000.0, mode="walk")
    check_snapped(s, 2000.0)  # within a larger limit: no error


def test_just_over_the_limit_says_exact_metres(grid5):
    # issue 9: "1 km from the nearest road; limit 1 km" hid a 12 m difference
    s = snap_xy(grid5, grid5.node_x[:1] - 1012.4, grid5.node_y[:1])
    with pytest.raises(OutsideNetwork) as err:
        check_snapped(s, 1000.0, mode="walk")
    assert "1,012 m from the nearest walk road; the limit is 1,000 m" in err.value.detail


def test_search_radius_leaves_point_unsnapped(grid5):
    s = snap_xy(grid5, grid5.node_x[:1] - 5000.0, grid5.node_y[:1], max_dist_m=1000)
    assert s.edge[0] == -1 and np.isinf(s.dist_m[0])
    with pytest.raises(OutsideNetwork, match="no road within the limit of 1,000 m"):
        check_snapped(s, 1000.0)


@pytest.mark.parametrize("lon,lat,name", [(float("nan"), 31.0, "lon"), (117.0, 95.0, "lat"),
                                          ("x", 31.0, "lon")])
def test_bad_coordinates(grid5, lon, lat, name):
    with pytest.raises(InvalidParameter) as err:
        snap_points(grid5, lon, lat)
    assert err.value.invalid_params[0]["name"] == name


@pytest.mark.parametrize("max_dist_m", [None, 30.0, 1000.0])
def test_snap_point_equals_snap_points_bit_for_bit(helsinki_walk, max_dist_m):
    # the per-request scalar path must give the vectorised path's floats exactly
    # (nearest answers are compared byte for byte): points on and off the streets,
    # over the tunnel of test_layers, and beyond the radius
    rng = np.random.default_rng(7)
    lon_lo, lon_hi = float(helsinki_walk.node_lon.min()), float(helsinki_walk.node_lon.max())
    lat_lo, lat_hi = float(helsinki_walk.node_lat.min()), float(helsinki_walk.node_lat.max())
    lon = np.concatenate([lon_lo + rng.random(400) * (lon_hi - lon_lo), [lon_lo - 0.05]])
    lat = np.concatenate([lat_lo + rng.random(400) * (lat_hi - lat_lo), [lat_lo]])
    found = 0
    for x, y in zip(lon.tolist(), lat.tolist(), strict=True):
        one = snap_point(helsinki_walk, x, y, max_dist_m=max_dist_m)
        ref = snap_points(helsinki_walk, x, y, max_dist_m=max_dist_m)
        for name in ("edge", "frac", "dist_m", "x", "y", "px", "py", "lon", "lat"):
            a, b = getattr(one, name), getattr(ref, name)
            assert a.dtype == b.dtype and a.shape == b.shape == (1,), name
            assert a.tobytes() == b.tobytes(), (name, x, y, a, b)
        found += int(one.edge[0] >= 0)
    if max_dist_m is None:  # unbounded: every point snaps
        assert found == len(lon)
    else:  # both outcomes exercised (the far point, 2.8 km off, never snaps)
        assert 0 < found < len(lon)


def test_snap_point_bad_input_as_snap_points(grid5):
    bad = [(float("nan"), 31.0, "lon"), (117.0, 95.0, "lat"), ("x", 31.0, "lon")]
    for lon, lat, name in bad:
        with pytest.raises(InvalidParameter) as err:
            snap_point(grid5, lon, lat)  # type: ignore[arg-type]
        assert err.value.invalid_params[0]["name"] == name
