"""The planner's HTML report, share curves, shared demand fallbacks, the city-hall check."""

from __future__ import annotations

import json
import re
import shutil

import networkx as nx
import numpy as np
import pytest
import shapely
from click.testing import CliRunner

from geosvc.analysis.coverage import compute_coverage
from geosvc.analysis.curves import share_curves, shares_by_minutes
from geosvc.analysis.demand import build_demand, demand_inputs
from geosvc.analysis.isochrone import isochrone_polygons
from geosvc.cli import main
from geosvc.config import Settings
from geosvc.network.nearest import TravelEngine
from geosvc.network.paths import times_from_point
from geosvc.network.snap import snap_points
from geosvc.routing._geometry import buffer_pieces, forward_pieces
from geosvc.store import open_store
from geosvc.store.base import Batch


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """Network cache shared by this module's CLI runs and services."""
    return tmp_path_factory.mktemp("reportcache")


@pytest.fixture(scope="module")
def no_population_db(demo_db, tmp_path_factory):
    """Return the demo dataset without its population layer (areas kept)."""
    path = tmp_path_factory.mktemp("nopop") / "demo.sqlite"
    shutil.copy(demo_db, path)
    store = open_store(str(path))
    try:
        store.write(Batch(population=(), replace_population=True))
    finally:
        store.close()
    return path


@pytest.fixture(scope="module")
def venues_only_db(demo_db, tmp_path_factory):
    """Only the demo's venues: no population, no areas."""
    src = open_store(str(demo_db), create=False)
    try:
        venues, info = src.venues(), src.info()
    finally:
        src.close()
    path = tmp_path_factory.mktemp("venuesonly") / "v.sqlite"
    store = open_store(str(path))
    try:
        store.write(Batch(venues=venues, info=info))
    finally:
        store.close()
    return path


def _coverage_cli(db, osm, out, cache_dir, *extra):
    r = CliRunner().invoke(main, ["coverage", "--db", str(db), "--osm", str(osm), "--out",
                                  str(out), "--cache-dir", str(cache_dir), *extra])
    assert r.exit_code == 0, r.output
    return r


def test_html_report_end_to_end(demo_db, helsinki_pbf, cache_dir, tmp_path):
    """`--out report.html --tables csv,xlsx` writes a self-contained report and its tables."""
    out = tmp_path / "report.html"
    r = _coverage_cli(demo_db, helsinki_pbf, out, cache_dir, "--tables", "csv,xlsx")
    _coverage_cli(demo_db, helsinki_pbf, tmp_path / "same.json", cache_dir)
    doc = json.loads((tmp_path / "same.json").read_text(encoding="utf-8"))
    html = out.read_text(encoding="utf-8")
    # self-contained: no external script / stylesheet; only tile URL templates point outside
    assert not re.search(r"<(?:script|link)[^>]*\b(?:src|href)=[\"']?https?://", html)
    assert "{z}" in html
    # the headline share, every per-area row, the chart with one series per kind and all
    assert f"{100 * doc['covered_share']:.1f}%" in html
    for row in doc["by_area"]:
        assert f"<td>{row['area_id']}</td>" in html
    chart = html[html.index("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"gs-chart\""):]
    chart = chart[:chart.index("</svg>")]
    for label in ("hall", "bank_outlet", "kiosk", "all venues"):
        assert f">{label}</text>" in chart
    # the all-venues curve at 10 minutes is the headline share (same pass, same rule)
    assert f"all venues 10 min: {100 * doc['covered_share']:.1f}%" in chart
    assert "分钟服务圈" in html and "service circle" not in html  # Chinese by default
    assert "<html lang='zh-CN'>" in html
    en = tmp_path / "en" / "report.html"
    en.parent.mkdir()
    _coverage_cli(demo_db, helsinki_pbf, en, cache_dir, "--lang", "en")
    html_en = en.read_text(encoding="utf-8")
    assert "service circle" in html_en and "<html lang='en'>" in html_en
    assert "分钟服务圈" not in html_en
    names = {p.name for p in tmp_path.iterdir()}
    assert {"report_areas.csv", "report_gaps.csv", "report_catchments.csv",
            "report.xlsx"} <= names
    areas_csv = (tmp_path / "report_areas.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(areas_csv) == len(doc["by_area"]) + 1
    assert "wrote" in r.output and "report.xlsx" in r.output


def test_tables_need_an_html_report(demo_db, helsinki_pbf, cache_dir, tmp_path):
    """`--tables` is refused with another format or an unknown table format."""
    for out, tables in (("r.json", "csv"), ("r.html", "pdf")):
        r = CliRunner().invoke(main, ["coverage", "--db", str(demo_db), "--osm",
                                      str(helsinki_pbf), "--out", str(tmp_path / out),
                                      "--cache-dir", str(cache_dir), "--tables", tables])
        assert r.exit_code == 2 and "--tables" in r.output


def test_share_curves_one_pass_per_set(helsinki_walk, helsinki_population):
    """One pass per venue set answers every threshold; curves equal compute_coverage."""
    net = helsinki_walk
    demand = build_demand(net, helsinki_population)
    pick = np.linspace(0, net.n_nodes - 1, 8).astype(int)
    engine = TravelEngine(net, net.node_lon[pick], net.node_lat[pick], settings=Settings())
    before = engine.cache_misses
    sets = {"a": (np.arange(4), "a"), "b": (np.arange(8), "b"),
            "none": (np.array([], int), "n")}
    curves = share_curves(engine, demand, sets, [2, 5, 10])
    assert engine.cache_misses - before == 3
    for label, (cands, key) in sets.items():
        for m, share in curves[label]:
            res = compute_coverage(engine, demand, candidates=cands, minutes=m, key=key)
            assert share == pytest.approx(res.covered_share, abs=1e-6)
    assert engine.cache_misses - before == 3  # compute_coverage reused the cached passes
    assert [s for _, s in curves["none"]] == [0.0, 0.0, 0.0]
    assert curves["a"][-1][1] <= curves["b"][-1][1]
    assert shares_by_minutes([], [], [5]) == [(5.0, 0.0)]


def test_demand_inputs_fallbacks(helsinki_walk, helsinki_pbf, helsinki_population):
    """Store data wins; else the OSM estimate and the 3 x 2 grid (with notes)."""
    cells, areas, notes = demand_inputs(helsinki_population[:3], [], helsinki_walk,
                                        osm=helsinki_pbf)
    assert cells == helsinki_population[:3]
    assert [a.code for a in areas] == [f"AREA-{i}" for i in range(1, 7)] and len(notes) == 1
    calls = []
    cells, _, notes = demand_inputs([], areas, helsinki_walk, osm=helsinki_pbf,
                                    estimate=lambda p, fa: calls.append((p, fa)) or [])
    assert calls == [(str(helsinki_pbf), 35.0)] and "estimated 0 residents" in notes[0]
    # OSM XML runs the estimate too (issue 9); another file gives no residents, said so
    calls.clear()
    cells, _, notes = demand_inputs([], areas, helsinki_walk, osm="city.osm",
                                    estimate=lambda p, fa: calls.append((p, fa)) or [])
    assert calls == [("city.osm", 35.0)] and "estimated 0 residents" in notes[0]
    cells, _, notes = demand_inputs([], areas, helsinki_walk, osm="city.shp")
    assert cells == [] and "neither .osm.pbf nor OSM XML" in notes[0]


def test_service_demand_falls_back_like_the_cli(no_population_db, venues_only_db, helsinki_pbf,
                                                helsinki_population, cache_dir, tmp_path):
    """Without population (and areas) the service measures what the CLI measures."""
    from geosvc.app.service import GeoService

    expected = sum(c.count for c in helsinki_population)
    for db, area_codes in ((no_population_db, "HEL-D1"), (venues_only_db, "AREA-1")):
        svc = GeoService(Settings(db=str(db), osm=str(helsinki_pbf), modes=("walk",),
                                  cache_dir=str(cache_dir)))
        demand = svc.demand("walk")
        assert demand.total == pytest.approx(expected, abs=0.5) and demand.total > 0
        assert demand.areas[0].code == area_codes
        out = tmp_path / f"{db.stem}.json"
        _coverage_cli(db, helsinki_pbf, out, cache_dir)
        doc = json.loads(out.read_text(encoding="utf-8"))
        assert doc["total_population"] == pytest.approx(demand.total, abs=0.1)
        assert [a["area_id"] for a in doc["by_area"] if a["area_id"]] == [
            a.code for a in demand.areas]


def test_city_hall_5_minutes_covers_nobody_really(demo_db, helsinki_pbf, cache_dir, tmp_path):
    """0 residents within 5 min of the city hall; an independent networkx Dijkstra agrees."""
    out = tmp_path / "hall.json"
    _coverage_cli(demo_db, helsinki_pbf, out, cache_dir, "--kind", "hall", "--level", "city",
                  "--minutes", "5")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["venues_used"] == 1 and doc["covered_population"] == 0
    from geosvc.network.cache import load_network

    store = open_store(str(demo_db), create=False)
    try:
        hall = [v for v in store.venues() if str(v.kind) == "hall" and str(v.level) == "city"]
        cells = store.population()
    finally:
        store.close()
    assert len(hall) == 1
    net = load_network(helsinki_pbf, "walk", settings=Settings(), cache_dir=cache_dir)
    w = 4.5 / 3.6
    g = nx.DiGraph()
    for u, v, t in zip(net.edge_u.tolist(), net.edge_v.tolist(), net.edge_time_s.tolist(),
                       strict=True):
        if not g.has_edge(u, v) or g[u][v]["t"] > t:
            g.add_edge(u, v, t=t)
    # time TO the hall = Dijkstra FROM the hall on the reversed graph; the hall sits on
    # edge e at fraction f: reached from e's start after f * t_e, from its twin's start too
    hs = snap_points(net, hall[0].lon, hall[0].lat)
    e, f, acc = int(hs.edge[0]), float(hs.frac[0]), float(hs.dist_m[0]) / w
    rev = g.reverse(copy=True)
    rev.add_edge("hall", int(net.edge_u[e]), t=f * net.edge_time_s[e] + acc)
    tw = int(net.edge_twin[e])
    if tw >= 0:
        rev.add_edge("hall", int(net.edge_u[tw]), t=(1 - f) * net.edge_time_s[tw] + acc)
    to_hall = nx.single_source_dijkstra_path_length(rev, "hall", weight="t")
    ps = snap_points(net, np.array([c.lon for c in cells]), np.array([c.lat for c in cells]))
    best = np.full(len(cells), np.inf)
    for i in range(len(cells)):
        ei, fi, ai = int(ps.edge[i]), float(ps.frac[i]), float(ps.dist_m[i]) / w
        best[i] = ai + (1 - fi) * net.edge_time_s[ei] + to_hall.get(int(net.edge_v[ei]), np.inf)
        ti = int(net.edge_twin[ei])
        if ti >= 0:
            best[i] = min(best[i], ai + fi * net.edge_time_s[ei]
                          + to_hall.get(int(net.edge_v[ti]), np.inf))
    assert best.min() > 5 * 60  # nearest home is about 7 minutes away
    assert best.min() < 8 * 60


def test_helsinki_isochrone_matches_the_vector_buffer(helsinki_walk):
    """Distance-field bands: nested, streets inside, within 1 % of the exact vector buffer."""
    net = helsinki_walk
    w = 4.5 / 3.6
    start = snap_points(net, 24.9414, 60.1699)
    bands = isochrone_polygons(net, start, [5, 10, 15], shape="streets")
    times = times_from_point(net, start, cutoff_s=900, walk_speed_mps=w)
    for small, big in zip(bands, bands[1:], strict=False):
        assert small.geometry_xy.difference(big.geometry_xy).area < 1e-6
    for b in bands:
        pieces = forward_pieces(net, start, times, b.minutes * 60, w)
        exact = shapely.union_all(shapely.buffer(pieces.lines(), 30.0, quad_segs=8))
        diff = shapely.symmetric_difference(b.geometry_xy, exact).area
        assert diff < 0.01 * exact.area
        assert b.geometry_xy.buffer(1e-6).covers(shapely.multilinestrings(pieces.lines()))
        assert abs(b.area_km2 - buffer_pieces(pieces, 30.0).area / 1e6) < 0.01 * b.area_km2
        holes = sum(len(p.interiors) for p in shapely.get_parts(b.geometry_xy))
        assert holes > 0 or b.minutes == 5
