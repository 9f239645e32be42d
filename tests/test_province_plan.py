"""Site plans with coverage sets computed part by part equal plan_sites on the whole network.

Synthetic cities (drive: one-way streets, arterials; walk) cut into areas and
grid squares, and the demo city, run inline and on a LocalCluster of 1 and 2
worker processes: the chosen sites, their order, every gain, share and
figure of the plan document, and the covered-before / after masks must be
exactly :func:`~geosvc.analysis.planning.plan.plan_sites`'.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from geosvc.analysis.demand import build_demand, grid_areas
from geosvc.analysis.planning.candidates import build_candidates, supplied_candidates
from geosvc.analysis.planning.plan import PlanResult, plan_sites
from geosvc.cli import main
from geosvc.config import Settings
from geosvc.distributed.plans import ProvincePlan, plan_province
from geosvc.errors import InvalidParameter
from geosvc.index import ServiceIndex
from geosvc.model import DatasetInfo, PopulationCell, Venue, VenueFilter, VenueKind
from geosvc.network.nearest import TravelEngine
from geosvc.network.synthetic import synthetic_city
from geosvc.routing import as_router
from tests.test_province import demo_walk_inputs

FLT = VenueFilter()


def _doc(plan: PlanResult) -> dict:
    """The plan document without its timings."""
    d = plan.to_dict()
    d.pop("solve_time_s")
    d.pop("build_time_s")
    d.get("comparison", {}).pop("greedy_solve_time_s", None)
    return d


def _assert_same(res: ProvincePlan, ref: PlanResult) -> None:
    p = res.plan
    assert ref.selected and ref.after_population > ref.before_population  # it can fail
    assert 0 < ref.before_population < ref.total_population
    assert p.selected == ref.selected and p.gains == ref.gains  # same order, same floats
    assert (p.before_population, p.after_population, p.total_population) == \
        (ref.before_population, ref.after_population, ref.total_population)
    assert np.array_equal(p.demand_covered_before, ref.demand_covered_before)
    assert np.array_equal(p.demand_covered_after, ref.demand_covered_after)
    assert _doc(p) == _doc(ref)
    assert res.pairs > 0
    assert sum(part["plan_pairs"] for part in res.coverage.parts) == res.pairs


@pytest.fixture(scope="module", params=[("drive", 2.0), ("walk", 10.0)],
                ids=["drive-2min", "walk-10min"])
def city(request):
    """20k nodes, 4,000 cells in 3 x 2 areas, 25 halls (fixed), 300 supplied sites."""
    mode, minutes = request.param
    net = synthetic_city(20_000, mode=mode, seed=3)
    rng = np.random.default_rng(3)
    lo0, la0, lo1, la1 = net.bounds_lonlat
    m = 4000
    cells = [PopulationCell(float(a), float(b), float(c)) for a, b, c in zip(
        rng.uniform(lo0, lo1, m), rng.uniform(la0, la1, m), rng.integers(0, 40, m),
        strict=True)]
    demand = build_demand(net, cells, grid_areas(net.bounds_lonlat, 3, 2))
    hx, hy = rng.uniform(lo0, lo1, 25), rng.uniform(la0, la1, 25)
    halls = [Venue(code=f"H{i}", name=f"hall {i}", kind=VenueKind.HALL, level="county",
                   lon=float(a), lat=float(b))
             for i, (a, b) in enumerate(zip(hx, hy, strict=True))]
    index = ServiceIndex.build(halls, [], [], info=DatasetInfo())
    settings = Settings(snap_max_m=1000.0, min_component_nodes=demand.min_component_nodes)
    engine = TravelEngine(net, index.lon, index.lat, settings=settings)
    fc = [{"id": f"s{i}", "name": f"site {i}", "lon": float(a), "lat": float(b)}
          for i, (a, b) in enumerate(zip(rng.uniform(lo0, lo1, 300),
                                         rng.uniform(la0, la1, 300), strict=True))]
    cands = supplied_candidates(net, fc, snap_max_m=1000.0,
                                min_component_nodes=demand.min_component_nodes)
    fixed = np.flatnonzero(index.mask(FLT)).astype(np.int64)
    assert len(fixed) == 25
    return net, demand, index, engine, cands, fixed, minutes


def _province(city, **kw) -> ProvincePlan:
    net, demand, index, engine, cands, fixed, minutes = city
    return plan_province(net, demand, engine.venues.take(fixed), cands, venue_ids=fixed,
                         minutes=minutes, walk_speed_mps=as_router(engine).speed_mps,
                         fixed_lonlat=[(float(index.lon[i]), float(index.lat[i]))
                                       for i in fixed], **kw)


@pytest.mark.parametrize(("problem", "partition", "shared"), [
    ({"k": 6}, "area", None),
    ({"k": 4, "solver": "greedy"}, "grid:0.5", False),
    ({"target_share": 0.8, "solver": "greedy"}, "grid:0.5", None),
    ({"add": ["s7", "s3", "s250"]}, "area", None),
], ids=["max-cover-area", "greedy-grid-arrays", "min-sites-grid", "what-if-area"])
def test_inline_plan_equals_plan_sites(city, problem: dict, partition: str,
                                       shared: bool | None) -> None:
    net, demand, index, engine, cands, _, minutes = city
    ref = plan_sites(engine, demand, index, FLT, cands, minutes=minutes, **problem)
    res = _province(city, partition=partition, scheduler="inline", shared=shared,
                    **problem)
    assert len(res.coverage.parts) >= 6
    assert max(p["nodes"] for p in res.coverage.parts) < net.n_nodes
    if "target_share" in problem:
        assert ref.status == "ok" and len(ref.selected) >= 2
    _assert_same(res, ref)


def test_plan_on_1_and_2_worker_processes_equals_plan_sites(city) -> None:
    """Worker processes map the files, snap their residents, cut their parts, give pairs.

    One worker for the drive city, two for the walk city (a cluster costs
    10-30 s to start here); the greedy solver (the exact one runs inline
    above: the solve is the driver's, the same code either way).
    """
    import os

    from distributed import Client, LocalCluster

    net, demand, index, engine, cands, _, minutes = city
    workers = 1 if net.mode == "drive" else 2
    ref = plan_sites(engine, demand, index, FLT, cands, minutes=minutes, k=5, solver="greedy")
    ticks: list[tuple[int, int]] = []
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=40) as lc, Client(lc) as client:
        res = _province(city, k=5, solver="greedy", partition="grid:0.5", scheduler=client,
                        snap_in_parts=True, min_component_nodes=demand.min_component_nodes,
                        progress=lambda done, total: ticks.append((done, total)))
    n = len(res.coverage.parts)
    assert ticks == [(i, n) for i in range(1, n + 1)]
    assert os.getpid() not in res.coverage.workers
    assert sum(w["parts"] for w in res.coverage.workers.values()) == n
    assert all(w["peak_rss_mb"] > 0 for w in res.coverage.workers.values())
    _assert_same(res, ref)
    doc = res.to_dict()
    assert doc["province"]["pairs"] == res.pairs and doc["selected"]
    assert {"sets", "solve", "parts"} <= set(doc["province"]["timings_s"])


def test_bad_plan_arguments_are_refused_before_any_part_runs(city) -> None:
    with pytest.raises(InvalidParameter, match="`k`"):
        _province(city, k=301, scheduler="inline")
    with pytest.raises(InvalidParameter, match="`add`"):
        _province(city, add=["nope"], scheduler="inline")


# --------------------------------------------------------------------------- demo city


@pytest.fixture(scope="module")
def demo(demo_db: Path, tmp_path_factory: pytest.TempPathFactory):
    """The demo city's walk router and demand (the province tests' inputs, seed 11)."""
    return demo_walk_inputs(demo_db, tmp_path_factory.mktemp("province-plan-cache"), 11)


@pytest.mark.parametrize(("spec", "k", "partition", "minutes"), [
    ("kiosk_sites", 8, "area", 5.0), ("kiosk_sites", 4, "grid:0.4", 3.0),
    ("bank_outlets", 3, "area", 3.0)])
def test_demo_city_plan_equals_plan_sites(demo, spec: str, k: int, partition: str,
                                          minutes: float) -> None:
    _, data, router, demand = demo
    idx = data["index"]
    flt = data["query"].filter
    cands = build_candidates(spec, index=idx, engine=router, demand=demand, flt=flt)
    ref = plan_sites(router, demand, idx, flt, cands, minutes=minutes, k=k)
    fixed = np.flatnonzero(idx.mask(flt)).astype(np.int64)
    res = plan_province(router.net, demand, router.venues.take(fixed), cands,
                        venue_ids=fixed, minutes=minutes, walk_speed_mps=router.speed_mps, k=k,
                        partition=partition, scheduler="inline",
                        fixed_lonlat=[(float(idx.lon[i]), float(idx.lat[i])) for i in fixed])
    assert len(res.coverage.parts) >= 2
    _assert_same(res, ref)


def test_kiosk_sites_placed_square_by_square_as_on_the_whole_network(city) -> None:
    """The province's driver places kiosk sites without the whole network's index."""
    from geosvc.analysis.planning.candidates import kiosk_site_candidates
    from geosvc.distributed.snapping import snap_basis, snap_by_squares

    net, demand = city[0], city[1]
    mcn = demand.min_component_nodes
    basis = snap_basis(net, mcn)
    ref = kiosk_site_candidates(net, demand, spacing_m=400, min_component_nodes=mcn)
    got = kiosk_site_candidates(
        net, demand, spacing_m=400, min_component_nodes=mcn,
        snap=lambda x, y, d: snap_by_squares(net, x, y, max_dist_m=d, basis=basis,
                                             side_m=900.0))
    assert len(ref) > 50 and ref.ids == got.ids and ref.off_network == got.off_network
    for name in ("edge", "frac", "dist_m", "x", "y", "px", "py", "lon", "lat"):
        assert np.array_equal(getattr(got.snapped, name), getattr(ref.snapped, name),
                              equal_nan=True), name


def test_cli_province_plan_equals_geosvc_plan(demo, demo_db: Path, tmp_path: Path) -> None:
    from geosvc.demo import demo_osm_path

    settings = demo[0]
    out = tmp_path / "province.json"
    res = CliRunner().invoke(main, [
        "province", "--db", str(demo_db), "--osm", str(demo_osm_path()),
        "--partition", "grid:1", "--scheduler", "inline", "--minutes", "3", "--no-gaps",
        "--plan", "kiosk_sites", "--k", "3", "--cache-dir", settings.cache_dir,
        "--out", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    ref_out = tmp_path / "plan.json"
    ref = CliRunner().invoke(main, [
        "plan", "--db", str(demo_db), "--osm", str(demo_osm_path()), "--minutes", "3",
        "--candidates", "kiosk_sites", "--k", "3", "--cache-dir", settings.cache_dir,
        "--out", str(ref_out)])
    assert ref.exit_code == 0, ref.output
    want = json.loads(ref_out.read_text(encoding="utf-8"))
    got = doc["plan"]
    assert len(want["selected"]) >= 2
    for key in ("solve_time_s", "build_time_s"):
        want.pop(key)
        got.pop(key)
    want.get("comparison", {}).pop("greedy_solve_time_s", None)
    got.get("comparison", {}).pop("greedy_solve_time_s", None)
    province = got.pop("province")
    assert got == want
    assert province["pairs"] > 0 and province["timings_s"]
    assert sum(p["plan_pairs"] for p in doc["parts"]) == province["pairs"]
    assert "selected sites" in res.output


def test_cli_province_plan_refuses_bad_options(tmp_path: Path) -> None:
    base = ["province", "--db", "x.sqlite", "--osm", "y.pbf", "--out", str(tmp_path / "o.json")]
    res = CliRunner().invoke(main, [*base, "--k", "3"])
    assert res.exit_code == 2 and "--plan" in res.output
    res = CliRunner().invoke(main, [*base, "--plan", "kiosk_sites", "--k", "3",
                                    "--target-share", "0.9"])
    assert res.exit_code == 2 and "--target-share" in res.output
