"""End to end on the real Helsinki extract: walk network, OSM population, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from geosvc.analysis.coverage import compute_coverage
from geosvc.analysis.demand import build_demand, grid_areas
from geosvc.analysis.isochrone import isochrone_polygons
from geosvc.cli import main
from geosvc.config import Settings
from geosvc.network.nearest import TravelEngine


def test_coverage_and_isochrone_on_helsinki_walk(helsinki_walk, helsinki_population):
    net = helsinki_walk
    areas = grid_areas(net.bounds_lonlat, 3, 2, prefix="H")
    demand = build_demand(net, helsinki_population, areas)
    # venues: 12 nodes spread over the network
    pick = np.linspace(0, net.n_nodes - 1, 12).astype(int)
    engine = TravelEngine(net, net.node_lon[pick], net.node_lat[pick], settings=Settings())
    res = [compute_coverage(engine, demand, minutes=m) for m in (2, 5, 10)]
    shares = [r.covered_share for r in res]
    assert 0 < shares[0] <= shares[1] <= shares[2] <= 1
    assert res[2].total_population == pytest.approx(sum(c.count for c in helsinki_population))
    assert sum(r["total_population"] for r in res[1].by_area) == pytest.approx(
        res[1].total_population, abs=1.0)
    assert sum(c["population"] for c in res[1].catchments) == pytest.approx(
        res[1].covered_population, abs=1.0)
    assert not res[2].covered_geometry.is_empty
    bands = isochrone_polygons(net, (24.9414, 60.1699), [5, 10], demand=demand)
    assert bands[0].area_km2 < bands[1].area_km2 and bands[1].population > 0


def test_cli_coverage_writes_the_api_document(demo_db, helsinki_pbf, tmp_path):
    out = tmp_path / "cov.json"
    runner = CliRunner()
    args = ["coverage", "--db", str(demo_db), "--osm", str(helsinki_pbf), "--out", str(out),
            "--cache-dir", str(tmp_path / "cache"), "--kind", "hall"]
    r = runner.invoke(main, args)
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["mode"] == "walk" and doc["minutes"] == 10
    assert 0 < doc["covered_share"] <= 1 and doc["venues_used"] > 0
    assert [a["area_id"] for a in doc["by_area"]][:2] == ["HEL-D1", "HEL-D2"]
    assert doc["gaps"]["type"] == "FeatureCollection"
    assert "residents covered" in r.output
    # halls at 3 am: no venue open, still a valid report with 0 covered
    r0 = runner.invoke(main, args + ["--open-at", "2024-01-03T03:00"])
    assert r0.exit_code == 0, r0.output
    doc0 = json.loads(out.read_text(encoding="utf-8"))
    assert doc0["venues_used"] == 0 and doc0["covered_population"] == 0
    assert doc0["total_population"] == doc["total_population"]


@pytest.mark.parametrize(("extra", "option"), [
    (["--kind", "castle"], "--kind"),
    (["--minutes", "0"], "--minutes"),
    (["--mode", "fly"], "--mode"),
    (["--out", "x.txt"], "--out"),
    (["--open-at", "yesterday"], "--open-at"),
])
def test_cli_bad_options_exit_2(demo_db, helsinki_pbf, tmp_path, extra, option):
    args = ["coverage", "--db", str(demo_db), "--osm", str(helsinki_pbf),
            "--out", str(tmp_path / "c.json"), "--cache-dir", str(tmp_path / "cache")]
    r = CliRunner().invoke(main, args + extra)
    assert r.exit_code == 2, r.output
    assert option in r.output
