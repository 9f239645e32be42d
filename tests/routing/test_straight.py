"""The straight-line router against brute force and the venue index it replaces."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from geosvc.coords import geodesic_distance_m
from geosvc.errors import InvalidParameter, NoRoute
from geosvc.model import VenueFilter, VenueKind
from geosvc.routing.straight import StraightRouter, geodesic_circle

HEL = ZoneInfo("Europe/Helsinki")
FILTERS = [
    VenueFilter(),
    VenueFilter(kinds=(VenueKind.KIOSK, VenueKind.HALL)),
    VenueFilter(open_at=datetime(2026, 5, 6, 10, 30, tzinfo=HEL)),
    VenueFilter(kinds=(VenueKind.BANK_OUTLET,), include_candidates=True,
                open_at=datetime(2026, 5, 9, 20, 0, tzinfo=HEL)),
]


@pytest.fixture(scope="module")
def straight(demo_service):
    return demo_service.travel("straight")


@pytest.mark.parametrize("flt", FILTERS)
def test_filters_use_the_index_and_masks_agree(straight, demo_service, flt) -> None:
    index = demo_service.snapshot.index
    rng = np.random.default_rng(5)
    for lon, lat in zip(rng.uniform(24.93, 24.96, 20), rng.uniform(60.16, 60.18, 20),
                        strict=True):
        want_pos, want_d = index.nearest_k(lon, lat, 6, flt, max_dist_m=600.0)
        hits = straight.nearest(lon, lat, candidates=flt, k=6, max_minutes=8)  # 600 m
        assert [h.pos for h in hits] == want_pos.tolist()
        assert [h.distance_m for h in hits] == want_d.tolist()  # the same bits
        by_mask = straight.nearest(lon, lat, candidates=index.mask(flt), k=6, max_minutes=8)
        assert [h.pos for h in by_mask] == want_pos.tolist()
        assert np.allclose([h.distance_m for h in by_mask], want_d, rtol=1e-12)
        assert all(h.time_s == pytest.approx(h.distance_m / (4.5 / 3.6)) for h in hits)


def test_pass_is_the_nearest_source_by_brute_force(straight) -> None:
    rng = np.random.default_rng(9)
    pts = straight.snap(rng.uniform(24.90, 24.99, 300), rng.uniform(60.15, 60.19, 300))
    pos = np.arange(0, len(straight.venues), 3)
    t, src = straight.pass_for(pos).times_at(pts)
    v = straight.venues
    d = geodesic_distance_m(pts.lon[:, None], pts.lat[:, None], v.lon[pos], v.lat[pos])
    assert t * straight.speed_mps == pytest.approx(d.min(axis=1), rel=1e-12)
    assert np.array_equal(d[np.arange(len(pts)), src], d.min(axis=1))


def test_reach_sets_by_brute_force(straight) -> None:
    rng = np.random.default_rng(2)
    pts = straight.snap(rng.uniform(24.92, 24.97, 200), rng.uniform(60.16, 60.18, 200))
    sites = straight.venues.take(np.arange(40))
    mat = straight.reach_sets(pts, sites, 240.0, rows=np.arange(0, 200, 2)).toarray()
    d = geodesic_distance_m(pts.lon[:, None], pts.lat[:, None], sites.lon, sites.lat)
    want = d <= 240.0 * straight.speed_mps
    want[1::2] = False
    assert np.array_equal(mat, want)


def test_invalid_points_are_not_placed_and_not_answered() -> None:
    router = StraightRouter([24.94, np.nan], [60.17, 60.17], speed_kph=4.5)
    assert router.venues.ok.tolist() == [True, False]
    assert router.unsnappable.tolist() == [1]
    assert [h.pos for h in router.nearest(24.941, 60.17, candidates=None, k=5)] == [0]
    with pytest.raises(NoRoute):
        router.route(24.941, 60.17, 1)
    with pytest.raises(InvalidParameter):
        router.nearest(200.0, 60.17, candidates=None)
    t, src = router.pass_for(None).times_at(router.snap([np.nan], [0.0]))
    assert np.isinf(t[0]) and src[0] == -1
    with pytest.raises(InvalidParameter, match="speed_kph"):
        StraightRouter([1.0], [2.0], speed_kph=0)


def test_geodesic_circle_radius_and_antimeridian() -> None:
    ring = geodesic_circle(179.999, -16.5, 1000.0)
    d = geodesic_distance_m(179.999, -16.5, ring[:, 0], ring[:, 1])
    assert d == pytest.approx(1000.0, abs=1e-6)
    assert (np.abs(ring[:, 0]) <= 180).all()
