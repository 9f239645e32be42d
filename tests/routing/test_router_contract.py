"""The Router contract: the same properties hold for every router of the demo city.

Parametrised over the walking road router (the demo's OSM walk network) and
the straight-line router (great circles at walking speed, no network): nearest
is sorted and agrees with one-to-many times and with the multi-source pass,
limits and predicates are honoured, isochrone bands nest, coverage shares lie
in [0, 1] and grow with the minutes, planning's reach sets agree with the
pass, a plan never lowers the share, and empty or unreachable sets give
empty answers rather than errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from geosvc.analysis.coverage import compute_coverage
from geosvc.analysis.isochrone import isochrones
from geosvc.analysis.planning import build_candidates, plan_sites
from geosvc.model import VenueFilter, VenueKind
from geosvc.modes import TRAVEL_MODES
from geosvc.routing import ROUTERS, Placement, Router, SourcePass

#: Query points in central Helsinki (all near demo streets).
POINTS = [(24.9414, 60.1699), (24.9460, 60.1650), (24.9390, 60.1745)]
#: Tolerance of times computed by two different passes, seconds.
TOL_S = 1e-6


def _mask(router: Router, demo_service, flt: VenueFilter) -> np.ndarray:
    return demo_service.snapshot.index.mask(flt)


def test_router_satisfies_the_protocol(router, mode: str) -> None:
    assert isinstance(router, Router)
    assert router.mode == mode
    assert TRAVEL_MODES[mode].router in ROUTERS
    assert (router.network is not None) == TRAVEL_MODES[mode].needs_network
    assert isinstance(router.venues, Placement)
    assert len(router.venues) == 74
    assert router.speed_mps == pytest.approx(4.5 / 3.6)


@pytest.mark.parametrize("point", POINTS)
def test_nearest_is_sorted_and_agrees_with_times(router, point) -> None:
    lon, lat = point
    hits = router.nearest(lon, lat, candidates=None, k=8)
    assert len(hits) == 8
    times = [h.time_s for h in hits]
    assert times == sorted(times) or np.allclose(times, sorted(times), atol=TOL_S)
    for a, b in zip(hits, hits[1:], strict=False):  # ties (to 1e-6 s) by position
        if abs(a.time_s - b.time_s) <= TOL_S:
            assert a.pos < b.pos
    all_times = router.times(lon, lat)
    for h in hits:
        assert all_times[h.pos] == pytest.approx(h.time_s, rel=1e-9, abs=TOL_S)
        assert h.distance_m > 0
    # nothing quicker was left out
    assert np.sort(all_times)[:8] == pytest.approx(times, rel=1e-9, abs=TOL_S)


@pytest.mark.parametrize("point", POINTS)
def test_nearest_agrees_with_the_pass(router, point, demo_service) -> None:
    lon, lat = point
    flt = VenueFilter(kinds=(VenueKind.KIOSK,))
    mask = _mask(router, demo_service, flt)
    first = router.nearest(lon, lat, candidates=mask, k=1, key=("contract", "kiosk"))[0]
    npass = router.pass_for(mask, ("contract", "kiosk"))
    assert isinstance(npass, SourcePass)
    t, src = npass.times_at(router.snap([lon], [lat]))
    assert t[0] == pytest.approx(first.time_s, rel=1e-9, abs=TOL_S)
    assert int(npass.source_ids[src[0]]) == first.pos or math.isclose(
        router.times(lon, lat)[int(npass.source_ids[src[0]])], first.time_s, abs_tol=TOL_S)
    assert mask[first.pos]
    # a filter is the same candidate set as its mask
    by_filter = router.nearest(lon, lat, candidates=flt, k=3, key=flt.cache_key())
    by_mask = router.nearest(lon, lat, candidates=mask, k=3, key=("contract", "kiosk"))
    assert [h.pos for h in by_filter] == [h.pos for h in by_mask]


def test_max_minutes_and_accept(router) -> None:
    lon, lat = POINTS[0]
    every = router.nearest(lon, lat, candidates=None, k=30)
    limited = router.nearest(lon, lat, candidates=None, k=30, max_minutes=3)
    assert limited and all(h.time_s <= 180 + TOL_S for h in limited)
    assert [h.pos for h in limited] == [h.pos for h in every if h.time_s <= 180 + TOL_S]
    odd = router.nearest(lon, lat, candidates=None, k=5, accept=lambda p, t: p % 2 == 1)
    assert [h.pos for h in odd] == [h.pos for h in every if h.pos % 2 == 1][:5]


def test_route_runs_from_the_point_to_the_venue(router) -> None:
    lon, lat = POINTS[1]
    hit = router.nearest(lon, lat, candidates=None, k=1, route=True)[0]
    line = router.route(lon, lat, hit.pos)
    assert line[0] == pytest.approx((lon, lat), abs=1e-6)
    v = router.venues
    assert line[-1] == pytest.approx((v.lon[hit.pos], v.lat[hit.pos]), abs=1e-6)
    assert hit.route_lonlat is not None
    assert np.allclose(np.asarray(hit.route_lonlat), np.asarray(line), atol=1e-9)


def test_isochrone_bands_nest_and_grow(router, demand) -> None:
    lon, lat = POINTS[0]
    bands = isochrones(router, lon, lat, [3, 6, 10], demand=demand)
    assert [b.minutes for b in bands] == [3.0, 6.0, 10.0]
    for small, big in zip(bands, bands[1:], strict=False):
        assert small.geometry_xy.difference(big.geometry_xy).area <= 1e-6 * big.area_km2 * 1e6
        assert small.area_km2 < big.area_km2
        assert small.population <= big.population
    # the nearest venue within 3 minutes lies inside the 3-minute band
    import shapely

    hit = router.nearest(lon, lat, candidates=None, k=1, max_minutes=3)[0]
    v = router.venues
    inside = shapely.Point(v.x[hit.pos], v.y[hit.pos]).distance(bands[0].geometry_xy)
    assert inside <= 60.0  # the venue's access leg (road) or nothing (straight)


def test_coverage_share_is_a_monotone_fraction(router, demand, demo_service) -> None:
    labels = [(v.code, v.name) for v in demo_service.snapshot.index.venues]
    shares = []
    for minutes in (1, 3, 6, 12):
        res = compute_coverage(router, demand, minutes=minutes, venue_labels=labels,
                               key=("contract", "all"))
        doc = res.to_dict()
        assert 0.0 <= res.covered_share <= 1.0
        assert res.covered_population <= res.total_population + 1e-6
        assert sum(r["total_population"] for r in doc["by_area"]) == pytest.approx(
            res.total_population, abs=0.5)
        assert sum(c["population"] for c in doc["catchments"]) == pytest.approx(
            res.covered_population, abs=0.5)
        shares.append(res.covered_share)
        # covered iff the pass's time is within the limit
        t, _ = router.pass_for(None, ("contract", "all")).times_at(demand.snapped)
        assert np.array_equal(res.time_s, t)
    assert shares == sorted(shares) and shares[-1] > shares[0]


def test_reach_sets_agree_with_the_pass(router, demand, demo_service) -> None:
    index = demo_service.snapshot.index
    pos = np.flatnonzero(index.mask(VenueFilter(kinds=(VenueKind.HALL,))))
    cutoff = 300.0
    mat = router.reach_sets(demand.snapped, router.venues.take(pos), cutoff)
    assert mat.shape == (len(demand), len(pos))
    t, _ = router.pass_for(pos, ("contract", "halls")).times_at(demand.snapped)
    reached = np.asarray(mat.sum(axis=1)).ravel() > 0
    near = np.abs(t - cutoff) < 1e-6  # boundary cases may round either way
    assert np.array_equal(reached[~near], (t <= cutoff)[~near])


def test_plan_never_lowers_the_share(router, demand, demo_service) -> None:
    snap = demo_service.snapshot
    # new kiosks count for halls-or-kiosks coverage (issue 9: not for halls alone)
    flt = VenueFilter(kinds=(VenueKind.HALL, VenueKind.KIOSK))
    cands = build_candidates("kiosk_sites", index=snap.index, engine=router, demand=demand,
                             flt=flt, spacing_m=400)
    assert len(cands) > 3
    plan = plan_sites(router, demand, snap.index, flt, cands, minutes=4, k=3,
                      solver="greedy")
    doc = plan.to_dict()
    assert doc["mode"] == router.mode
    assert doc["after_share"] >= doc["before_share"]
    assert doc["gain_population"] >= 0
    cov = compute_coverage(router, demand, candidates=snap.index.mask(flt), minutes=4,
                           key=flt.cache_key())
    assert doc["before_share"] == pytest.approx(cov.covered_share, abs=1e-6)
    gains = [s["gain_population"] for s in doc["selected"]]
    assert gains == sorted(gains, reverse=True)


def test_empty_and_unreachable_sets(router, demand) -> None:
    lon, lat = POINTS[0]
    none = np.zeros(len(router.venues), dtype=bool)
    assert router.nearest(lon, lat, candidates=none, k=3) == []
    assert np.isinf(router.times(lon, lat, candidates=none)).all()
    empty = router.pass_for(none, ("contract", "none"))
    assert empty.sources_placed == 0
    t, src = empty.times_at(demand.snapped)
    assert np.isinf(t).all() and (src == -1).all()
    res = compute_coverage(router, demand, candidates=none, minutes=10)
    assert res.covered_population == 0 and res.venues_used == 0
    assert res.to_dict()["gaps"]["features"]  # everyone is in a gap
    # a nearest search limited to (almost) no time finds nothing
    assert router.nearest(lon, lat, candidates=None, k=3, max_minutes=0.001) == []
