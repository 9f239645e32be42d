"""POST /api/v1/plans and `geosvc plan` end to end on the Helsinki demo city."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from geosvc.cli import main
from geosvc.web import create_app


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("plan-cache")


@pytest.fixture(scope="session")
def client(estimated_demo_db, helsinki_pbf, cache_dir):
    app = create_app({"TESTING": True, "db": str(estimated_demo_db), "osm": str(helsinki_pbf),
                      "modes": "walk", "cache_dir": str(cache_dir)})
    return app.test_client()


def post(client, body):
    return client.post("/api/v1/plans", json=body)


#: Supplied sites that state nothing: they count for any filter (issue 9 item 10).
SITES = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "id": f"S{i}", "properties": {},
     "geometry": {"type": "Point", "coordinates": [lon, lat]}}
    for i, (lon, lat) in enumerate([(24.9365, 60.1655), (24.95, 60.176), (24.945, 60.17)])]}


@pytest.mark.parametrize("filters, query, candidates", [
    ({}, "", "bank_outlets"),
    ({"kind": ["hall"]}, "&kind=hall", SITES),
    (
        {"kind": "hall,bank_outlet", "level": "township"},
        "&kind=hall,bank_outlet&level=township",
        SITES,
    ),
])
def test_before_share_equals_coverage_endpoint(client, filters, query, candidates):
    cov = client.get(f"/api/v1/coverage?mode=walk&minutes=5{query}")
    assert cov.status_code == 200, cov.get_data(as_text=True)
    resp = post(client, {"mode": "walk", "minutes": 5, "k": 2, "filters": filters,
                         "candidates": candidates})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    doc = resp.get_json()
    c = cov.get_json()
    # the endpoint rounds (share to 4 decimals, population to whole residents)
    assert doc["before_population"] == pytest.approx(c["covered_population"], abs=0.51)
    assert doc["before_share"] == pytest.approx(c["covered_share"], abs=5e-5)
    assert doc["total_population"] == pytest.approx(c["total_population"], abs=0.51)
    assert doc["after_share"] >= doc["before_share"]


@pytest.mark.parametrize("kinds", [(), ("hall",), ("kiosk",)])
def test_before_equals_compute_coverage_unrounded(client, kinds):
    from geosvc.analysis.coverage import compute_coverage
    from geosvc.analysis.planning import build_candidates, plan_sites
    from geosvc.model import VenueFilter, VenueKind

    svc = client.application.extensions["geosvc"]
    snap = svc.snapshot
    engine, demand = svc.travel("walk", snap), svc.demand("walk", snap)
    flt = VenueFilter(kinds=tuple(VenueKind(k) for k in kinds))
    cov = compute_coverage(engine, demand, candidates=snap.index.mask(flt), minutes=4,
                           key=flt.cache_key())
    # kiosk sites count only where kiosks do; supplied sites that state nothing anywhere
    spec = SITES if kinds == ("hall",) else "kiosk_sites"
    cands = build_candidates(spec, index=snap.index, engine=engine, demand=demand, flt=flt)
    res = plan_sites(engine, demand, snap.index, flt, cands, minutes=4, k=1)
    assert res.before_population == cov.covered_population
    assert res.total_population == cov.total_population


def test_plan_and_what_if_on_the_demo(client):
    doc = post(client, {"mode": "walk", "minutes": 3, "k": 4, "candidates": "kiosk_sites",
                        "filters": {"kind": "hall,kiosk"}}).get_json()
    assert doc["problem"] == "max_cover" and doc["candidates"] == "kiosk_sites"
    assert 1 <= len(doc["selected"]) <= 4
    assert doc["solver"] and doc["solve_time_s"] >= 0
    sel = doc["selected"]
    assert [s["rank"] for s in sel] == list(range(1, len(sel) + 1))
    assert all(s["gain_population"] > 0 for s in sel)
    assert sel[-1]["cumulative_share"] == pytest.approx(doc["after_share"], abs=1e-6)
    ids = [s["id"] for s in sel]
    assert all(s["offers"] == {"kind": "kiosk", "channels": ["self_service"]} for s in sel)
    wi = post(client, {"mode": "walk", "minutes": 3, "candidates": "kiosk_sites",
                       "filters": {"kind": "hall,kiosk"}, "add": ids}).get_json()
    assert wi["problem"] == "what_if"
    assert wi["after_share"] == pytest.approx(doc["after_share"], abs=1e-9)
    # fixed sites are never selected: venue codes never appear
    banks = post(client, {"minutes": 5, "k": 3,
                          "filters": {"kind": "hall,bank_outlet"}}).get_json()
    assert all(s["id"].startswith("HEL-B-") for s in banks["selected"])


def test_min_sites_on_the_demo(client):
    base = post(client, {"minutes": 3, "k": 10, "candidates": "kiosk_sites",
                         "filters": {"kind": "hall,kiosk"}}).get_json()
    target = round((base["before_share"] + base["after_share"]) / 2, 4)
    doc = post(client, {"minutes": 3, "target_share": target, "candidates": "kiosk_sites",
                        "filters": {"kind": "hall,kiosk"}}).get_json()
    assert doc["problem"] == "min_sites" and doc["target_reached"] is True
    assert doc["after_share"] >= target
    un = post(client, {"minutes": 3, "target_share": 1.0, "candidates": "bank_outlets",
                       "filters": {"kind": "hall,bank_outlet"}}).get_json()
    assert un["target_reached"] is False and un["status"] == "unreachable"


FAR = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "id": "far", "properties": {},
     "geometry": {"type": "Point", "coordinates": [10.0, 50.0]}}]}


@pytest.mark.parametrize("body, names", [
    ({"k": 0}, ["k"]),
    ({"k": 5000}, ["k"]),
    ({"k": 50}, ["k"]),                      # more than the 9 bank-outlet candidates
    ({"k": "3"}, ["k"]),
    ({"k": True}, ["k"]),
    ({"candidates": "atms"}, ["candidates"]),
    ({"candidates": 7}, ["candidates"]),
    ({"candidates": FAR, "k": 1}, ["candidates"]),
    ({"target_share": 1.5}, ["target_share"]),
    ({"target_share": -0.1}, ["target_share"]),
    ({"target_share": "high"}, ["target_share"]),
    ({"add": ["NOPE"]}, ["add"]),
    ({"add": "HEL-B-0014"}, ["add"]),
    ({"solver": "quantum"}, ["solver"]),
    ({"minutes": 0}, ["minutes"]),
    ({"filters": {"kind": "shop"}}, ["filters.kind"]),
    ({"filters": "hall"}, ["filters"]),
    ({"mode": "fly", "k": -1}, ["mode", "k"]),
    ({"site_spacing_m": 1, "candidates": "kiosk_sites"}, ["site_spacing_m"]),
])
def test_bad_bodies_are_problems(client, body, names):
    resp = post(client, body)
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert resp.mimetype == "application/problem+json"
    doc = resp.get_json(force=True)
    assert [p["name"] for p in doc["invalid_params"]] == names
    assert doc["status"] == 400 and doc["type"].endswith("invalid-parameter")


@pytest.mark.parametrize("data", ["{not json", "[1, 2]", "", "null"])
def test_malformed_json_body(client, data):
    resp = client.post("/api/v1/plans", data=data, content_type="application/json")
    assert resp.status_code == 400
    doc = resp.get_json(force=True)
    assert doc["invalid_params"][0]["name"] == "body"


def test_unloaded_mode_is_422(client):
    resp = post(client, {"mode": "drive", "k": 1})
    assert resp.status_code == 422
    assert resp.get_json(force=True)["type"].endswith("mode-unavailable")


def test_cli_outputs(estimated_demo_db, helsinki_pbf, cache_dir, tmp_path):
    runner = CliRunner()
    base = ["plan", "--db", str(estimated_demo_db), "--osm", str(helsinki_pbf),
            "--minutes", "3", "--kind", "hall,kiosk,bank_outlet", "--cache-dir", str(cache_dir)]
    out_json = tmp_path / "p.json"
    r = runner.invoke(main, [*base, "--k", "3", "--candidates", "kiosk_sites",
                             "--out", str(out_json)])
    assert r.exit_code == 0, r.output
    doc = json.loads(out_json.read_text(encoding="utf-8"))
    assert doc["problem"] == "max_cover" and doc["selected"]
    out_csv = tmp_path / "p.csv"
    ids = ",".join(s["id"] for s in doc["selected"])
    r = runner.invoke(main, [*base, "--candidates", "kiosk_sites", "--add", ids,
                             "--out", str(out_csv)])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(out_csv.read_text(encoding="utf-8").splitlines()))
    assert [row["id"] for row in rows] == ids.split(",")
    assert float(rows[-1]["cumulative_share"]) == pytest.approx(doc["after_share"], abs=1e-6)
    out_html = tmp_path / "p.html"
    r = runner.invoke(main, [*base, "--k", "2", "--out", str(out_html)])
    assert r.exit_code == 0, r.output
    page = out_html.read_text(encoding="utf-8")
    assert "leaflet" in page.lower() and "unpkg.com" not in page and "cdn.jsdelivr" not in page
    assert "覆盖率" in page and "covered" not in page  # Chinese by default
    r = runner.invoke(main, [*base, "--k", "2", "--out", str(out_html), "--lang", "en"])
    assert r.exit_code == 0, r.output
    page = out_html.read_text(encoding="utf-8")
    assert "covered" in page and "覆盖率" not in page
    # supplied CSV candidates
    sites = tmp_path / "sites.csv"
    sites.write_text("id,name,lon,lat\nA,one,24.9365,60.1655\nB,two,24.95,60.176\n",
                     encoding="utf-8")
    r = runner.invoke(main, [*base, "--k", "1", "--candidates", str(sites),
                             "--out", str(tmp_path / "s.json")])
    assert r.exit_code == 0, r.output
    # bad input: readable error, non-zero exit, no traceback
    for bad in (["--k", "0"], ["--target-share", "2"], ["--candidates", "atms"],
                ["--add", "NOPE"]):
        r = runner.invoke(main, [*base, *bad, "--out", str(tmp_path / "x.json")])
        assert r.exit_code != 0 and "Traceback" not in r.output, (bad, r.output)
        assert "Error" in r.output


def test_openapi_plan_schema_describes_every_returned_member(client):
    """The `Plan` schema in /openapi.json names every member a real plan returns."""
    spec = client.get("/openapi.json").get_json()
    schema = spec["components"]["schemas"]["Plan"]["properties"]
    for body in ({"minutes": 3, "k": 2, "candidates": "kiosk_sites"},
                 {"minutes": 3, "target_share": 0.5, "candidates": "kiosk_sites"}):
        doc = post(client, body).get_json()
        assert set(doc) <= set(schema), set(doc) - set(schema)
        for row in doc["selected"]:
            assert set(row) <= set(schema["selected"]["items"]["properties"])


def test_cli_candidate_file_with_huge_integer_coordinate(estimated_demo_db, helsinki_pbf,
                                                         cache_dir, tmp_path):
    """A 400-digit coordinate in a candidate file is a readable error, not an OverflowError."""
    sites = tmp_path / "sites.geojson"
    sites.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "A", "properties": {},
         "geometry": {"type": "Point", "coordinates": [int("9" * 400), 60.17]}}]}),
        encoding="utf-8")
    r = CliRunner().invoke(main, ["plan", "--db", str(estimated_demo_db),
                                  "--osm", str(helsinki_pbf),
                                  "--cache-dir", str(cache_dir), "--minutes", "3", "--k", "1",
                                  "--candidates", str(sites),
                                  "--out", str(tmp_path / "x.json")])
    assert r.exit_code != 0 and "Traceback" not in r.output and "Overflow" not in r.output
    assert "Error" in r.output
