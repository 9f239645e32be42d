"""plan_sites on a synthetic grid: fixed sites, what-if, min sites, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from geosvc.analysis.demand import build_demand
from geosvc.analysis.planning.candidates import (
    bank_outlet_candidates,
    kiosk_site_candidates,
    supplied_candidates,
)
from geosvc.analysis.planning.plan import covered_by_fixed, plan_sites
from geosvc.config import Settings
from geosvc.errors import InvalidParameter
from geosvc.index import ServiceIndex
from geosvc.model import Channel, DatasetInfo, PopulationCell, Venue, VenueFilter, VenueKind
from geosvc.network.nearest import TravelEngine
from geosvc.network.paths import point_times
from geosvc.network.synthetic import grid_network

# 20 x 20 grid, 100 m blocks, 80 s per block walking; 5-minute circles = 300 s.
NX = NY = 20


@pytest.fixture(scope="module")
def city():
    net = grid_network(NX, NY)
    rng = np.random.default_rng(0)
    # residents at random street-side points
    xs = rng.uniform(net.node_x.min(), net.node_x.max(), 600)
    ys = rng.uniform(net.node_y.min(), net.node_y.max(), 600)
    lon, lat = net.transformer_inverse.transform(xs, ys)
    cells = [PopulationCell(lon=float(a), lat=float(b), count=float(c))
             for a, b, c in zip(lon, lat, rng.integers(1, 40, 600), strict=True)]
    demand = build_demand(net, cells, max_snap_m=200)

    def node(i, j):
        k = j * NX + i
        return float(net.node_lon[k]), float(net.node_lat[k])

    venues = []
    for n, (i, j) in enumerate([(2, 2), (17, 17)]):  # two halls
        lo, la = node(i, j)
        venues.append(Venue(code=f"H{n}", name=f"hall {n}", kind=VenueKind.HALL, lon=lo, lat=la,
                            channels=frozenset({Channel.WINDOW})))
    for n, (i, j) in enumerate([(10, 10), (2, 17), (17, 2), (3, 3), (10, 2), (2, 10),
                                (10, 17), (17, 10)]):  # candidate bank outlets
        lo, la = node(i, j)
        venues.append(Venue(code=f"B{n}", name=f"bank {n}", kind=VenueKind.BANK_OUTLET,
                            lon=lo, lat=la))
    lo, la = 117.5, 31.5  # far away: off the network
    venues.append(
        Venue(code="BFAR", name="far bank", kind=VenueKind.BANK_OUTLET, lon=lo, lat=la)
    )
    index = ServiceIndex.build(venues, [], [], info=DatasetInfo())
    settings = Settings(snap_max_m=300.0)
    engine = TravelEngine(net, index.lon, index.lat, settings=settings)
    return net, demand, index, engine, settings


def test_bank_outlets_and_fixed_sites(city):
    net, demand, index, engine, _ = city
    cands = bank_outlet_candidates(index, engine)
    assert len(cands) == 9 and cands.off_network == ("BFAR",)
    res = plan_sites(engine, demand, index, VenueFilter(), cands, minutes=5, k=3)
    doc = res.to_dict()
    ids = [s["id"] for s in doc["selected"]]
    assert len(ids) == 3 and not any(i.startswith("H") for i in ids)
    assert "BFAR" not in ids and "B3" not in ids[:1]  # B3 sits next to hall H0
    assert doc["fixed_sites"] == 2
    assert doc["after_share"] > doc["before_share"] > 0
    cum = [s["cumulative_share"] for s in doc["selected"]]
    assert cum == sorted(cum) and cum[-1] == pytest.approx(doc["after_share"], abs=1e-6)
    assert doc["solver"].startswith("exact:") and doc["optimal"]
    assert doc["comparison"]["greedy_gap"] >= 0


def test_after_share_equals_a_real_coverage_pass(city):
    """The chosen sites, added to the fixed ones, give after_share in one coverage pass."""
    net, demand, index, engine, _ = city
    cands = bank_outlet_candidates(index, engine)
    res = plan_sites(engine, demand, index, VenueFilter(), cands, minutes=5, k=4)
    chosen = [int(cands.venue_pos[j]) for j in res.selected]
    fixed = [index.position("H0"), index.position("H1")]
    nt = engine.pass_for(np.array(fixed + chosen))
    t, _ = point_times(net, demand.snapped, nt)
    share = float(demand.count[t <= 300].sum() / demand.count.sum())
    assert res.to_dict()["after_share"] == pytest.approx(share, abs=1e-6)
    before = covered_by_fixed(engine, demand, np.array(fixed), 300.0)
    assert res.to_dict()["before_share"] == pytest.approx(
        float(demand.count[before].sum() / demand.count.sum()), abs=1e-6)


def test_what_if_with_plan_ids_reproduces_after_share(city):
    net, demand, index, engine, _ = city
    cands = bank_outlet_candidates(index, engine)
    plan = plan_sites(engine, demand, index, VenueFilter(), cands, minutes=5, k=3).to_dict()
    ids = [s["id"] for s in plan["selected"]]
    wi = plan_sites(engine, demand, index, VenueFilter(), cands, minutes=5, add=ids).to_dict()
    assert wi["problem"] == "what_if"
    assert wi["after_share"] == pytest.approx(plan["after_share"], abs=1e-9)
    assert wi["before_share"] == plan["before_share"]
    assert [s["id"] for s in wi["selected"]] == ids
    # reversed order: same total, gains re-attributed
    rev = plan_sites(engine, demand, index, VenueFilter(), cands, minutes=5,
                     add=ids[::-1]).to_dict()
    assert rev["after_share"] == pytest.approx(plan["after_share"], abs=1e-9)


def test_min_sites_reaches_target_and_unreachable(city):
    net, demand, index, engine, _ = city
    cands = bank_outlet_candidates(index, engine)
    flt = VenueFilter()
    top = plan_sites(engine, demand, index, flt, cands, minutes=5, k=8).to_dict()
    before = top["before_share"]
    target = round(before + 0.6 * (top["after_share"] - before), 4)
    plan = plan_sites(engine, demand, index, flt, cands, minutes=5, target_share=target)
    res = plan.to_dict()
    assert res["problem"] == "min_sites" and res["target_reached"]
    assert res["after_share"] >= target - 1e-9
    # one site fewer cannot reach it: the best k-1 plan stays below
    k = len(res["selected"])
    assert k >= 1
    if k > 1:
        less = plan_sites(engine, demand, index, flt, cands, minutes=5, k=k - 1).to_dict()
        assert less["after_share"] < target
    un = plan_sites(engine, demand, index, flt, cands, minutes=5, target_share=1.0).to_dict()
    assert un["status"] == "unreachable" and un["target_reached"] is False
    assert un["after_share"] == pytest.approx(top["after_share"], abs=1e-9)
    done = plan_sites(engine, demand, index, flt, cands, minutes=5, target_share=0.0).to_dict()
    assert done["selected"] == [] and done["target_reached"]


def test_greedy_and_exact_agree_with_forced_solvers(city):
    net, demand, index, engine, _ = city
    cands = bank_outlet_candidates(index, engine)
    g = plan_sites(engine, demand, index, VenueFilter(), cands, minutes=5, k=2, solver="greedy")
    e = plan_sites(engine, demand, index, VenueFilter(), cands, minutes=5, k=2, solver="exact")
    assert g.solver == "greedy" and e.solver.startswith("exact")
    assert g.after_population <= e.after_population + 1e-9


def test_kiosk_sites_rule(city):
    net, demand, index, engine, _ = city
    sites = kiosk_site_candidates(net, demand, spacing_m=400)
    # 1,900 m x 1,900 m of demand in 400 m cells: at most 5 x 5 (+ edge) cells
    assert 10 <= len(sites) <= 36
    assert len(set(sites.ids)) == len(sites) and not sites.off_network
    assert all(i.startswith("site-") for i in sites.ids)
    assert np.all(sites.snapped.dist_m < 1e-6)  # sites are network nodes
    res = plan_sites(engine, demand, index, VenueFilter(), sites, minutes=5, k=5).to_dict()
    assert res["candidates"] == "kiosk_sites" and len(res["selected"]) == 5
    with pytest.raises(InvalidParameter, match="`site_spacing_m`"):
        kiosk_site_candidates(net, demand, spacing_m=1)


def test_supplied_points(city):
    net, demand, index, engine, settings = city
    v2, v3 = index.venues[2], index.venues[3]
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "p1", "properties": {"name": "lot 1"},
         "geometry": {"type": "Point", "coordinates": [v2.lon, v2.lat]}},
        {"type": "Feature", "properties": {"id": "p2"},
         "geometry": {"type": "Point", "coordinates": [v3.lon, v3.lat]}},
        {"type": "Feature", "properties": {},
         "geometry": {"type": "Point", "coordinates": [117.5, 31.5]}},
    ]}
    c = supplied_candidates(net, fc, snap_max_m=settings.snap_max_m)
    assert c.ids == ("p1", "p2", "cand-3") and c.off_network == ("cand-3",)
    res = plan_sites(engine, demand, index, VenueFilter(), c, minutes=5, k=2).to_dict()
    assert {s["id"] for s in res["selected"]} <= {"p1", "p2"}
    assert res["candidates_off_network"] == ["cand-3"]
    with pytest.raises(InvalidParameter, match="off the road network"):
        plan_sites(engine, demand, index, VenueFilter(), c, minutes=5, add=["cand-3"])


@pytest.mark.parametrize("fc, match", [
    ({"type": "Feature"}, "FeatureCollection"),
    ({"type": "FeatureCollection", "features": []}, "no candidate"),
    ({"type": "FeatureCollection", "features": [{"geometry": {"type": "Point",
                                                              "coordinates": ["a", 1]}}]},
     "points 1 have no valid"),
    ({"type": "FeatureCollection", "features": [{"geometry": {"type": "LineString",
                                                              "coordinates": [[1, 1]]}}]},
     "not a GeoJSON Point"),
])
def test_bad_supplied(city, fc, match):
    net, *_ = city
    with pytest.raises(InvalidParameter, match=match):
        supplied_candidates(net, fc, snap_max_m=300)


@pytest.mark.parametrize("kw, name", [
    ({"k": 0}, "k"), ({"k": 10}, "k"), ({"k": 2000}, "k"), ({"k": "3"}, "k"),
    ({"k": 2.5}, "k"), ({"target_share": 1.5}, "target_share"),
    ({"target_share": -0.1}, "target_share"), ({"add": ["nope"]}, "add"),
    ({"add": ["B0", "B0"]}, "add"), ({"k": 2, "solver": "magic"}, "solver"),
])
def test_bad_plan_arguments(city, kw, name):
    net, demand, index, engine, _ = city
    cands = bank_outlet_candidates(index, engine)
    with pytest.raises(InvalidParameter) as info:
        plan_sites(engine, demand, index, VenueFilter(), cands, minutes=5, **kw)
    assert info.value.invalid_params[0]["name"] == name
