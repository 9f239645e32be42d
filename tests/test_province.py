"""One dataset's coverage partitioned by area over Dask equals the single-process answer.

Synthetic cities (drive: one-way streets, arterials; walk) cut into grid
squares and areas, and the demo city by its areas, run inline and on a real
LocalCluster with 1 and 2 workers: covered and total residents, the per-area
rows, the catchments and every covered point's time and venue must be
exactly compute_coverage's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from geosvc.analysis.coverage import compute_coverage
from geosvc.analysis.demand import build_demand, grid_areas
from geosvc.cli import main
from geosvc.config import Settings
from geosvc.distributed import run_province
from geosvc.distributed.partition import (
    buffer_radius_m,
    max_speed_mps,
    parse_partition,
    part_arrays,
    plan_parts,
)
from geosvc.distributed.snapping import snap_basis, snap_by_squares, snap_local
from geosvc.errors import InvalidParameter
from geosvc.model import PopulationCell
from geosvc.network.paths import DEFAULT_WALK_SPEED_MPS
from geosvc.network.snap import cum_lengths, snap_points, snap_xy
from geosvc.network.synthetic import synthetic_city
from geosvc.routing._geometry import Pieces

W = DEFAULT_WALK_SPEED_MPS


def _city(mode: str, n: int, seed: int):
    net = synthetic_city(n, mode=mode, seed=seed)
    rng = np.random.default_rng(seed)
    lo0, la0, lo1, la1 = net.bounds_lonlat
    m = 4000
    lon, lat = rng.uniform(lo0, lo1, m), rng.uniform(la0, la1, m)
    cells = [PopulationCell(float(a), float(b), float(c))
             for a, b, c in zip(lon, lat, rng.integers(0, 40, m), strict=True)]
    demand = build_demand(net, cells, grid_areas(net.bounds_lonlat, 3, 2))
    vl, va = rng.uniform(lo0, lo1, 40), rng.uniform(la0, la1, 40)
    venues = snap_points(net, vl, va, max_dist_m=1000.0,
                         min_component_nodes=demand.min_component_nodes)
    return net, demand, (vl, va), venues


@pytest.fixture(scope="module", params=[("drive", 2.0), ("walk", 10.0)],
                ids=["drive-2min", "walk-10min"])
def city(request):
    mode, minutes = request.param
    net, demand, coords, venues = _city(mode, 20_000, seed=3)
    ref = compute_coverage(net, demand, venues=coords, minutes=minutes)
    return net, demand, venues, minutes, ref


def _assert_same(res, ref, minutes: float) -> None:
    cov = (ref.time_s <= minutes * 60) & (ref.venue >= 0)
    assert 0 < cov.sum() < len(cov)  # partial coverage: the test can fail both ways
    assert np.array_equal(res.covered, cov)
    assert np.array_equal(res.time_s[cov], ref.time_s[cov])  # the same floats
    assert np.array_equal(res.venue[cov], ref.venue[cov])
    assert np.isinf(res.time_s[~cov]).all()
    assert res.covered_population == ref.covered_population
    assert res.total_population == ref.total_population
    assert res.off_network_population == ref.off_network_population
    assert res.venues_used == ref.venues_used
    assert res.by_area == [{k: v for k, v in r.items() if k != "covered_area_share"}
                           for r in ref.by_area]
    assert res.catchments == ref.catchments
    d, r = res.to_dict(), ref.to_dict()
    for key in ("total_population", "covered_population", "covered_share",
                "venues_used", "venues_off_network", "off_network_population"):
        assert d[key] == r[key], key
    if res.gaps is not None:  # the polygons, their order, ids and members
        assert len(ref.gaps) > 0
        assert res.gaps == ref.gaps
        assert d["gaps"] == r["gaps"]


@pytest.mark.parametrize("partition", ["area", "grid:0.5"])
def test_inline_parts_equal_single_process(city, partition: str) -> None:
    net, demand, venues, minutes, ref = city
    res = run_province(net, demand, venues, minutes=minutes, walk_speed_mps=W,
                       partition=partition, scheduler="inline")
    assert len(res.parts) >= 6
    assert max(p["nodes"] for p in res.parts) < net.n_nodes  # a worker never gets it all
    _assert_same(res, ref, minutes)


@pytest.mark.parametrize("workers", [1, 2])
def test_local_cluster_1_and_2_workers_equal_single_process(city, workers: int) -> None:
    from distributed import Client, LocalCluster

    net, demand, venues, minutes, ref = city
    ticks: list[tuple[int, int]] = []
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=False,
                      dashboard_address=":0", silence_logs=40) as lc, Client(lc) as client:
        res = run_province(net, demand, venues, minutes=minutes, walk_speed_mps=W,
                           partition="grid:0.5", scheduler=client,
                           progress=lambda done, total: ticks.append((done, total)))
    n = len(res.parts)
    assert ticks == [(i, n) for i in range(1, n + 1)]
    assert sum(w["parts"] for w in res.workers.values()) == n
    assert all(w["peak_rss_mb"] > 0 for w in res.workers.values())
    _assert_same(res, ref, minutes)


def test_snap_local_equals_snapping_on_the_whole_network(city) -> None:
    """Per-part snapping (an index of the edges near the points) gives the same floats."""
    net, demand, venues, _, _ = city
    basis = snap_basis(net, demand.min_component_nodes)
    west = np.flatnonzero(demand.x < np.quantile(demand.x, 0.3))
    for max_m in (1000.0, 20.0):  # 20 m: some residents too far, -1 both ways
        full = snap_xy(net, demand.x, demand.y, max_dist_m=max_m,
                       min_component_nodes=demand.min_component_nodes)
        assert (0 < (~full.ok).sum() < len(full)) == (max_m == 20.0)
        for sel in (west, np.arange(len(demand))):
            part = snap_local(net, demand.x[sel], demand.y[sel], max_dist_m=max_m,
                              basis=basis)
            assert np.array_equal(part.edge, full.edge[sel])
            assert np.array_equal(part.frac, full.frac[sel], equal_nan=True)
            assert np.array_equal(part.dist_m, full.dist_m[sel])
            assert np.array_equal(part.x, full.x[sel], equal_nan=True)
    vx, vy = venues.px, venues.py
    squares = snap_by_squares(net, vx, vy, max_dist_m=1000.0, basis=basis, side_m=700.0)
    assert np.array_equal(squares.edge, venues.edge)
    assert np.array_equal(squares.frac, venues.frac, equal_nan=True)


@pytest.mark.parametrize("shared", [True, False], ids=["files", "arrays"])
def test_gap_polygons_and_snapping_in_parts_equal_single_process(
        city, shared: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """Parts that snap their own residents, with gap polygons: compute_coverage's answer."""
    from geosvc.distributed import province

    net, demand, venues, minutes, ref = city
    if shared:  # the covered raster marked a few street pieces at a time: the same union
        monkeypatch.setattr(province, "_MARK_CHUNK", 97)
    res = run_province(net, demand, venues, minutes=minutes, walk_speed_mps=W,
                       partition="area", scheduler="inline", shared=shared,
                       snap_in_parts=shared, gaps=True,
                       min_component_nodes=demand.min_component_nodes)
    assert len(res.parts) >= 6
    assert max(p["nodes"] for p in res.parts) < net.n_nodes
    assert res.gaps is not None
    _assert_same(res, ref, minutes)
    if shared:
        assert all(p["sent_mb"] == 0 for p in res.parts)  # the workers read the files
        assert "write" in res.timings_s and "gaps" in res.timings_s


def test_slices_give_the_floats_of_the_whole_network(city) -> None:
    """The driver's O(network) passes, a slice at a time, give the floats of one pass."""
    from geosvc.network.paths import times_to_sources
    from geosvc.routing._geometry import pass_piece_chunks, pass_pieces

    net, _, venues, minutes, _ = city
    seg = np.hypot(np.diff(net.geom_x), np.diff(net.geom_y))
    cum = np.concatenate([[0.0], np.cumsum(seg)])  # the jumps between edges included
    length = cum[net.geom_offsets[1:] - 1] - cum[net.geom_offsets[:-1]]
    t = net.edge_time_s
    whole = max(W, float(np.divide(length, t, out=np.zeros_like(length), where=t > 0).max()))
    seg[(net.geom_offsets[1:-1] - 1)] = 0.0  # no jump: snapping's running lengths
    running = np.concatenate([[0.0], np.cumsum(seg)])
    for chunk in (1, 97, 10**9):
        assert max_speed_mps(net, W, chunk_edges=chunk) == whole
        assert np.array_equal(cum_lengths(net, chunk=chunk), running)
    nt = times_to_sources(net, venues, cutoff_s=minutes * 60, walk_speed_mps=W)
    one = pass_pieces(net, nt, minutes * 60, W)
    sliced = list(pass_piece_chunks(net, nt, minutes * 60, W, chunk_edges=97))
    assert len(sliced) > 3 and len(one) > 1000
    assert np.array_equal(Pieces.concat(sliced).xy, one.xy)
    assert np.array_equal(Pieces.concat(sliced).offsets, one.offsets)


def test_a_basis_given_is_used_and_checked(city) -> None:
    """The caller's snapping basis (e.g. from placing the venues) is not computed twice."""
    net, demand, venues, minutes, ref = city
    basis = snap_basis(net, demand.min_component_nodes)
    res = run_province(net, demand, venues, minutes=minutes, walk_speed_mps=W,
                       partition="grid:1", scheduler="inline", snap_in_parts=True,
                       min_component_nodes=demand.min_component_nodes, basis=basis)
    _assert_same(res, ref, minutes)
    with pytest.raises(InvalidParameter, match="basis"):
        run_province(net, demand, venues, minutes=minutes, walk_speed_mps=W,
                     scheduler="inline", snap_in_parts=True, min_component_nodes=7,
                     basis=basis)


def test_snapping_in_parts_needs_the_files(city) -> None:
    net, demand, venues, minutes, _ = city
    with pytest.raises(InvalidParameter, match="snap_in_parts"):
        run_province(net, demand, venues, minutes=minutes, walk_speed_mps=W,
                     scheduler="inline", shared=False, snap_in_parts=True)


@pytest.mark.parametrize("workers", [1, 2])
def test_worker_processes_read_the_shared_files(city, workers: int) -> None:
    """A real LocalCluster of worker processes: each maps the files, snaps, cuts its parts."""
    from distributed import Client, LocalCluster

    net, demand, venues, minutes, ref = city
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=40) as lc, Client(lc) as client:
        res = run_province(net, demand, venues, minutes=minutes, walk_speed_mps=W,
                           partition="area", scheduler=client, snap_in_parts=True,
                           gaps=True, min_component_nodes=demand.min_component_nodes)
    assert os.getpid() not in res.workers  # computed in other processes
    assert len(res.workers) <= workers
    assert sum(w["parts"] for w in res.workers.values()) == len(res.parts)
    assert all(p["prepare_s"] > 0 and p["sent_mb"] == 0 for p in res.parts)
    _assert_same(res, ref, minutes)


def test_buffer_is_what_a_trip_can_reach_and_parts_are_smaller(city) -> None:
    net, demand, venues, minutes, _ = city
    plans = plan_parts(demand, "grid:0.5")
    assert sum(len(p.points) for p in plans) == int(demand.snapped.ok.sum())
    r = buffer_radius_m(net, minutes, W)
    fastest = 50 / 3.6 if net.mode == "drive" else W  # synthetic: arterials 50 km/h
    assert r == pytest.approx(minutes * 60 * fastest, rel=0.01)
    a = part_arrays(net, plans[0], demand.snapped, venues,
                    np.arange(len(venues)), radius_m=r)
    assert 0 < len(a["node_x"]) < net.n_nodes
    assert (a["demand_edge"] >= 0).all()  # every point of the part keeps its street


def test_partition_names_are_checked() -> None:
    assert parse_partition("County") == ("area", None)
    assert parse_partition("grid:2.5") == ("grid", 2.5)
    for bad in ("grid:0", "grid", "hex:3", ""):
        with pytest.raises(InvalidParameter, match="partition"):
            parse_partition(bad)


def test_bad_scheduler_and_workers_are_refused(city) -> None:
    net, demand, venues, minutes, _ = city
    with pytest.raises(InvalidParameter, match="scheduler"):
        run_province(net, demand, venues, minutes=minutes, walk_speed_mps=W,
                     scheduler="nowhere")
    with pytest.raises(InvalidParameter, match="workers"):
        run_province(net, demand, venues, minutes=minutes, walk_speed_mps=W, workers=0)


# --------------------------------------------------------------------------- demo city


def demo_walk_inputs(demo_db: Path, cache_dir: Path, seed: int):
    """Return the demo city's settings, data, walk router and demand (+3,000 homes).

    The demand is the demo's residents plus 3,000 random homes (``seed``).

    The demo's own population is 90 cells; random homes over the real OSM
    network test many more streets (same snapping, same areas).
    """
    from geosvc.api import load_dataset
    from geosvc.app.dataset import travel_inputs
    from geosvc.demo import demo_osm_path

    settings = Settings.load(env={}, overrides={"cache_dir": str(cache_dir)})
    data = load_dataset(str(demo_db), settings, {"mode": "walk"})
    inputs = travel_inputs(data["index"], data["population"], data["areas"], "walk",
                           settings=settings, osm=str(demo_osm_path()))
    rng = np.random.default_rng(seed)
    lo0, la0, lo1, la1 = inputs.router.net.bounds_lonlat
    homes = [PopulationCell(float(a), float(b), float(c)) for a, b, c in zip(
        rng.uniform(lo0, lo1, 3000), rng.uniform(la0, la1, 3000), rng.integers(1, 30, 3000),
        strict=True)]
    demand = build_demand(inputs.router.net, [*data["population"], *homes],
                          inputs.demand.areas, max_snap_m=settings.snap_max_m,
                          min_component_nodes=settings.min_component_nodes)
    return settings, data, inputs.router, demand


@pytest.fixture(scope="module")
def demo(demo_db: Path, tmp_path_factory: pytest.TempPathFactory):
    """The demo city's walk router and demand (:func:`demo_walk_inputs`, seed 7)."""
    return demo_walk_inputs(demo_db, tmp_path_factory.mktemp("province-cache"), 7)


@pytest.mark.parametrize(("minutes", "partition"), [(3.0, "area"), (5.0, "area"),
                                                    (5.0, "grid:0.4")])
def test_demo_city_by_areas_equals_measure_coverage_recipe(demo, minutes: float,
                                                           partition: str) -> None:
    _, data, router, demand = demo
    assert len(demand) > 1000  # the per-building estimate: many small cells
    idx = data["index"]
    labels = [(v.code, v.name) for v in idx.venues]
    mask = np.asarray(data["candidates"])
    ref = compute_coverage(router, demand, candidates=mask, minutes=minutes,
                           venue_labels=labels)
    cands = np.flatnonzero(mask & router.venues.ok) if mask.dtype == bool else \
        np.unique(mask[router.venues.ok[mask]])
    res = run_province(router.net, demand, router.venues.take(cands), venue_ids=cands,
                       minutes=minutes, walk_speed_mps=router.speed_mps, partition=partition,
                       scheduler="inline", venue_labels=labels)
    assert len(res.parts) >= 2
    _assert_same(res, ref, minutes)


def test_cli_province_writes_the_merged_answer(demo, demo_db: Path, tmp_path: Path) -> None:
    from geosvc.demo import demo_osm_path

    settings, _, _, _ = demo
    out = tmp_path / "province.json"
    res = CliRunner().invoke(main, [
        "province", "--db", str(demo_db), "--osm", str(demo_osm_path()),
        "--partition", "grid:1", "--scheduler", "inline", "--minutes", "3",
        "--cache-dir", settings.cache_dir, "--out", str(out)])
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    cov = CliRunner().invoke(main, [
        "coverage", "--db", str(demo_db), "--osm", str(demo_osm_path()), "--minutes", "3",
        "--cache-dir", settings.cache_dir, "--out", str(tmp_path / "c.json")])
    assert cov.exit_code == 0, cov.output
    ref = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))
    for key in ("total_population", "covered_population", "covered_share", "venues_used"):
        assert doc[key] == ref[key], key
    assert [{k: v for k, v in r.items() if k != "covered_area_share"} for r in ref["by_area"]] \
        == doc["by_area"]
    assert len(doc["parts"]) >= 2 and doc["workers"]
    assert ref["gaps"]["features"] and doc["gaps"] == ref["gaps"]  # the same polygons
    assert doc["off_network_population"] == ref["off_network_population"]
    assert (tmp_path / "province_gaps.csv").exists()


def test_cli_province_refuses_bad_options(tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["province", "--db", "x.sqlite", "--osm", "y.pbf",
                                    "--partition", "hex:3", "--out", str(tmp_path / "o.json")])
    assert res.exit_code == 2 and "--partition" in res.output


def test_cli_province_on_its_own_local_cluster(demo, demo_db: Path, tmp_path: Path) -> None:
    """`--scheduler local --workers 2` starts worker processes, gives the inline answer."""
    from geosvc.demo import demo_osm_path

    settings = demo[0]
    docs = []
    for extra in (["--scheduler", "local", "--workers", "2"], ["--scheduler", "inline"]):
        out = tmp_path / f"p-{extra[1]}.json"
        res = CliRunner().invoke(main, [
            "province", "--db", str(demo_db), "--osm", str(demo_osm_path()),
            "--partition", "county", "--minutes", "5", "--cache-dir", settings.cache_dir,
            "--out", str(out), *extra])
        assert res.exit_code == 0, res.output
        docs.append(json.loads(out.read_text(encoding="utf-8")))
    local, inline = docs
    assert local["workers"][0]["pid"] != inline["workers"][0]["pid"]  # other processes
    for key in ("covered_population", "by_area", "catchments", "uncovered_points"):
        assert local[key] == inline[key], key


def test_ties_on_a_regular_grid_with_co_located_venues() -> None:
    """Equal edge times, homes on nodes and twin venues: ties everywhere, same venues."""
    from geosvc.network.synthetic import grid_network

    net = grid_network(60, 60)
    rng = np.random.default_rng(5)
    homes = rng.integers(0, net.n_nodes, 1500)
    cells = [PopulationCell(float(net.node_lon[i]), float(net.node_lat[i]), 1.0) for i in homes]
    demand = build_demand(net, cells, grid_areas(net.bounds_lonlat, 2, 2))
    at = rng.integers(0, net.n_nodes, 12)
    at = rng.permutation(np.concatenate([at, at[:6]]))  # six venues twice
    coords = (net.node_lon[at], net.node_lat[at])
    venues = snap_points(net, *coords, max_dist_m=1000.0,
                         min_component_nodes=demand.min_component_nodes)
    ref = compute_coverage(net, demand, venues=coords, minutes=8)
    res = run_province(net, demand, venues, minutes=8, walk_speed_mps=W,
                       partition="grid:0.5", scheduler="inline")
    assert len(res.parts) >= 4
    _assert_same(res, ref, 8)
    # homes on nodes: equidistant streets everywhere; the parts snap them the same way
    res = run_province(net, demand, venues, minutes=8, walk_speed_mps=W,
                       partition="grid:0.5", scheduler="inline", snap_in_parts=True,
                       gaps=True, min_component_nodes=demand.min_component_nodes)
    _assert_same(res, ref, 8)
