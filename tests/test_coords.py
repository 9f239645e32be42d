"""Tests of geosvc.coords against the published GCJ-02 / BD-09 example values."""

from __future__ import annotations

import numpy as np
import pytest

from geosvc import coords
from geosvc.errors import InvalidParameter

# Published example values of wandergis/coordTransform (README), input (116.404, 39.915).
PUBLISHED = {
    "wgs84_to_gcj02": (116.41024449916938, 39.91640428150164),
    "gcj02_to_bd09": (116.41036949371029, 39.92133699351021),
    "wgs84_to_bd09": (116.41662724378733, 39.922699552216216),
    # The published inverses are one-step approximations (error of metres);
    # ours iterate, so they are compared with a tolerance below.
    "gcj02_to_wgs84": (116.39775550083061, 39.91359571849836),
    "bd09_to_gcj02": (116.39762729119315, 39.90865673957631),
    "bd09_to_wgs84": (116.3913836995125, 39.907253214522164),
}


@pytest.mark.parametrize("name", ["wgs84_to_gcj02", "gcj02_to_bd09", "wgs84_to_bd09"])
def test_forward_matches_published_values(name):
    lon, lat = getattr(coords, name)(116.404, 39.915)
    assert lon == pytest.approx(PUBLISHED[name][0], abs=1e-12)
    assert lat == pytest.approx(PUBLISHED[name][1], abs=1e-12)


@pytest.mark.parametrize("name", ["gcj02_to_wgs84", "bd09_to_gcj02", "bd09_to_wgs84"])
def test_inverse_close_to_published_approximation(name):
    lon, lat = getattr(coords, name)(116.404, 39.915)
    err = coords.geodesic_distance_m(lon, lat, *PUBLISHED[name])
    assert err < 1.0  # the one-step published inverse is within ~1 m of the exact one


def _china_grid():
    lon, lat = np.meshgrid(np.linspace(73.0, 135.0, 63), np.linspace(18.0, 53.5, 36))
    return lon.ravel(), lat.ravel()


@pytest.mark.parametrize(
    ("fwd", "inv"),
    [
        ("wgs84_to_gcj02", "gcj02_to_wgs84"),
        ("gcj02_to_bd09", "bd09_to_gcj02"),
        ("wgs84_to_bd09", "bd09_to_wgs84"),
    ],
)
def test_round_trip_error_over_china_below_half_metre(fwd, inv):
    lon, lat = _china_grid()
    back = getattr(coords, inv)(*getattr(coords, fwd)(lon, lat))
    err = coords.geodesic_distance_m(lon, lat, *back)
    assert err.shape == lon.shape
    assert np.nanmax(err) < 0.5
    # The iteration is much better than required.
    assert np.nanmax(err) < 0.01


def test_inverse_of_forward_is_exact_for_inverse_direction():
    # gcj -> wgs -> gcj must also close (inverse is a true right-inverse).
    lon, lat = _china_grid()
    w = coords.gcj02_to_wgs84(lon, lat)
    g = coords.wgs84_to_gcj02(*w)
    assert np.max(coords.geodesic_distance_m(lon, lat, *g)) < 0.01


def test_offset_size_is_realistic():
    # GCJ-02 shifts Beijing by a few hundred metres.
    d = coords.geodesic_distance_m(116.404, 39.915, *coords.wgs84_to_gcj02(116.404, 39.915))
    assert 300 < d < 800


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_identity_outside_china(crs):
    assert coords.to_wgs84(24.94, 60.17, crs) == (24.94, 60.17)
    assert coords.from_wgs84(24.94, 60.17, crs) == (24.94, 60.17)
    assert coords.out_of_china(24.94, 60.17) is True
    assert coords.out_of_china(116.404, 39.915) is False


def test_to_from_wgs84_dispatch():
    assert coords.from_wgs84(116.404, 39.915, "GCJ02") == PUBLISHED["wgs84_to_gcj02"]
    assert coords.from_wgs84(116.404, 39.915, "bd09") == PUBLISHED["wgs84_to_bd09"]
    assert coords.to_wgs84(116.404, 39.915, None) == (116.404, 39.915)
    lon, lat = coords.to_wgs84(*PUBLISHED["wgs84_to_bd09"], "bd09")
    assert coords.geodesic_distance_m(lon, lat, 116.404, 39.915) < 0.01
    with pytest.raises(InvalidParameter) as exc:
        coords.to_wgs84(1.0, 2.0, "utm")
    assert exc.value.invalid_params[0]["name"] == "crs"


def test_arrays_and_scalars():
    lon = np.array([116.404, 24.94, 121.47])
    lat = np.array([39.915, 60.17, 31.23])
    glon, glat = coords.wgs84_to_gcj02(lon, lat)
    assert isinstance(glon, np.ndarray) and glon.shape == (3,)
    for i in range(3):
        s = coords.wgs84_to_gcj02(float(lon[i]), float(lat[i]))
        assert type(s[0]) is float
        assert s == (glon[i], glat[i])
    # 2-D input keeps its shape; lists work too.
    g2 = coords.wgs84_to_bd09(lon.reshape(3, 1), lat.reshape(3, 1))
    assert g2[0].shape == (3, 1)
    assert coords.gcj02_to_wgs84([116.41], [39.92])[0].shape == (1,)


def test_caller_arrays_not_mutated_and_not_aliased():
    lon = np.array([116.404, 121.47])
    lat = np.array([39.915, 31.23])
    before = lon.copy(), lat.copy()
    coords.gcj02_to_wgs84(lon, lat)
    coords.bd09_to_wgs84(lon, lat)
    out = coords.to_wgs84(lon, lat, "wgs84")
    assert np.array_equal(lon, before[0]) and np.array_equal(lat, before[1])
    out[0][0] = 0.0
    assert lon[0] == 116.404


def test_nan_propagates_without_warnings():
    lon = np.array([np.nan, 116.404, 116.404])
    lat = np.array([39.9, np.nan, 39.915])
    for f in (coords.wgs84_to_gcj02, coords.gcj02_to_wgs84, coords.bd09_to_wgs84):
        x, y = f(lon, lat)
        assert np.isnan(x[0]) and np.isnan(y[1])
        assert np.isfinite(x[2]) and np.isfinite(y[2])
    x, y = coords.gcj02_to_wgs84(np.nan, np.nan)
    assert np.isnan(x) and np.isnan(y)
    assert np.isnan(coords.geodesic_distance_m(np.nan, 0, 0, 0))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "wgs84"),
        ("", "wgs84"),
        ("  ", "wgs84"),
        ("WGS84", "wgs84"),
        ("EPSG:4326", "wgs84"),
        ("epsg:4326", "wgs84"),
        ("Gcj02", "gcj02"),
        ("GCJ-02", "gcj02"),
        ("bd09", "bd09"),
        ("BD-09", "bd09"),
    ],
)
def test_parse_crs(value, expected):
    assert coords.parse_crs(value) == expected


@pytest.mark.parametrize("value", ["EPSG:3857", "wgs", "gcj", "baidu", 4326])
def test_parse_crs_rejects(value):
    with pytest.raises(InvalidParameter) as exc:
        coords.parse_crs(value)
    assert exc.value.invalid_params == [
        {"name": "crs", "reason": "must be one of wgs84, gcj02, bd09"}
    ]
    assert "`crs`" in exc.value.detail


def test_geodesic_distance_known_values_and_broadcasting():
    # One degree of longitude on the equator, quarter meridian.
    assert coords.geodesic_distance_m(0, 0, 1, 0) == pytest.approx(111195.08, abs=0.1)
    assert coords.geodesic_distance_m(0, 0, 0, 90) == pytest.approx(
        np.pi / 2 * coords.EARTH_RADIUS_M
    )
    # Helsinki -> Tallinn is about 80 km.
    assert 79_000 < coords.geodesic_distance_m(24.94, 60.17, 24.75, 59.44) < 82_000
    # Antimeridian: a short hop, not half the planet.
    assert coords.geodesic_distance_m(179.9, 0, -179.9, 0) == pytest.approx(22239, rel=1e-3)
    d = coords.geodesic_distance_m(
        np.array([[0.0], [1.0]]), 0.0, np.array([0.0, 1.0, 2.0]), 0.0
    )
    assert d.shape == (2, 3)
    assert d[1, 1] == 0.0 and d[0, 2] == pytest.approx(2 * d[0, 1])
    assert isinstance(coords.geodesic_distance_m(0, 0, 1, 1), float)


@pytest.mark.parametrize(
    ("lon", "lat", "epsg"),
    [
        (24.94, 60.17, "EPSG:32635"),
        (116.404, 39.915, "EPSG:32650"),
        (121.47, 31.23, "EPSG:32651"),
        (-180.0, 10.0, "EPSG:32601"),
        (180.0, 10.0, "EPSG:32660"),
        (151.2, -33.9, "EPSG:32756"),
        (0.0, 0.0, "EPSG:32631"),
    ],
)
def test_utm_crs(lon, lat, epsg):
    assert coords.utm_crs(lon, lat) == epsg


@pytest.mark.parametrize(
    ("lon", "lat", "bad"),
    [(200.0, 0.0, "lon"), (0.0, 95.0, "lat"), (float("nan"), 0.0, "lon"), ("x", 0.0, "lon")],
)
def test_utm_crs_rejects(lon, lat, bad):
    with pytest.raises(InvalidParameter) as exc:
        coords.utm_crs(lon, lat)
    assert exc.value.invalid_params[0]["name"] == bad


def test_utm_crs_is_a_real_projection():
    from pyproj import CRS

    crs = CRS.from_user_input(coords.utm_crs(24.94, 60.17))
    assert crs.is_projected and "UTM zone 35N" in crs.name
