"""``mode=straight`` without any road network: the app of tests/web/conftest.py.

The small city (tests/web/citydata.py) has ten venues, two areas and four
population cells but no OSM extract.  Straight-line answers are checked by
hand: at 4.5 km/h a walker covers 75 m a minute; the cell P1 (500 residents)
lies 73 m from the hall XC-H-01 and from the kiosk XC-K-01, P2 (700) 477 m
east of the bank outlet XC-B-03 (a planning candidate, not a venue coverage
counts) and 1.1 km from the hall XC-H-02, P3 (300) 477 m west of the hall
XC-H-03, and P4 (500) 3.5 km from XC-B-03 and more than 4.2 km from every
other venue.
"""

from __future__ import annotations

import math

import pytest

from geosvc.coords import geodesic_distance_m
from tests.web.citydata import POPULATION, VENUES

PROBLEM = "application/problem+json"
P1, P2, P3, P4 = POPULATION
BY_CODE = {v.code: v for v in VENUES}


def _dist(cell, code: str) -> float:
    v = BY_CODE[code]
    return float(geodesic_distance_m(cell.lon, cell.lat, v.lon, v.lat))


def test_the_hand_checked_distances() -> None:
    assert 72 < _dist(P1, "XC-H-01") < 75 and 72 < _dist(P1, "XC-K-01") < 75
    assert 470 < _dist(P2, "XC-B-03") < 480
    assert 4220 < _dist(P4, "XC-B-01") < 4240
    assert 470 < _dist(P3, "XC-H-03") < 480
    assert 1100 < _dist(P2, "XC-H-02") < 1120
    assert 3500 < _dist(P4, "XC-B-03") < 3530
    assert min(_dist(P4, v.code) for v in VENUES if v.code != "XC-B-03") > 4200


@pytest.mark.parametrize(("minutes", "covered", "share"), [
    (0.9, 0.0, 0.0),      # 67.5 m: nobody
    (1, 500.0, 0.25),     # 75 m: P1
    (6, 500.0, 0.25),     # 450 m: still P1 only
    (7, 800.0, 0.4),      # 525 m: P1 + P3 (B-03 is a candidate, not a venue that counts)
    (15, 1500.0, 0.75),   # 1125 m: P2 through XC-H-02
    (56, 1500.0, 0.75),   # 4.2 km: still not P4
    (57, 2000.0, 1.0),    # 4275 m: P4 through XC-B-01 (4228 m)
])
def test_coverage_straight_by_hand(client, minutes: float, covered: float,
                                   share: float) -> None:
    resp = client.get(f"/api/v1/coverage?mode=straight&minutes={minutes}")
    assert resp.status_code == 200
    doc = resp.get_json()
    assert doc["mode"] == "straight"
    assert doc["straight_line"] == {"speed_kph": 4.5, "note": doc["straight_line"]["note"]}
    assert "straight-line" in doc["straight_line"]["note"]
    assert doc["total_population"] == 2000.0
    assert doc["covered_population"] == covered and doc["covered_share"] == share
    assert doc["venues_used"] == 9  # the candidate bank outlet is not a venue that counts
    assert doc["off_network_population"] == 0.0
    assert sum(r["total_population"] for r in doc["by_area"]) == 2000.0
    gaps = sum(f["properties"]["uncovered_population"] for f in doc["gaps"]["features"])
    assert gaps == pytest.approx(2000.0 - covered)
    assert sum(c["population"] for c in doc["catchments"]) == pytest.approx(covered)


def test_coverage_straight_catchments_circles_and_filters(client) -> None:
    doc = client.get("/api/v1/coverage?mode=straight&minutes=7&circles=true").get_json()
    catch = {c["code"]: c["population"] for c in doc["catchments"]}
    assert catch["XC-H-03"] == 300.0
    assert catch.get("XC-H-01", 0.0) + catch.get("XC-K-01", 0.0) == 500.0
    circles = doc["circles"]["features"]
    assert len(circles) == 1 and circles[0]["properties"]["minutes"] == 7
    # nine circles of 525 m, some overlapping: less than 9 pi r^2, more than one
    one = math.pi * 0.525 ** 2
    assert one < doc["covered_area_km2"] < 9 * one
    kiosks = client.get("/api/v1/coverage?mode=straight&minutes=7&kind=kiosk").get_json()
    assert kiosks["covered_population"] == 500.0 and kiosks["venues_used"] == 3
    gcj = client.get("/api/v1/coverage?mode=straight&minutes=7&crs=gcj02").get_json()
    assert gcj["crs"] == "gcj02" and gcj["covered_share"] == doc["covered_share"]


def test_isochrones_straight_by_hand(client) -> None:
    resp = client.get(f"/api/v1/isochrones?lon={P1.lon}&lat={P1.lat}&mode=straight"
                      "&minutes=2,10")
    assert resp.status_code == 200
    doc = resp.get_json()
    assert doc["mode"] == "straight" and doc["straight_line"]["speed_kph"] == 4.5
    small, big = doc["features"]
    assert [small["properties"]["minutes"], big["properties"]["minutes"]] == [2, 10]
    for feat, radius_km in ((small, 0.15), (big, 0.75)):
        assert feat["geometry"]["type"] == "Polygon"
        assert feat["properties"]["area_km2"] == pytest.approx(math.pi * radius_km ** 2,
                                                               rel=0.005)
        # every vertex lies on the circle (great-circle distance from the centre)
        ring = feat["geometry"]["coordinates"][0]
        d = geodesic_distance_m(P1.lon, P1.lat, [p[0] for p in ring], [p[1] for p in ring])
        assert d == pytest.approx(radius_km * 1000, abs=0.1)
    # P1 sits at the centre; every other cell is more than 1 km away
    assert small["properties"]["population"] == 500.0
    assert big["properties"]["population"] == 500.0


def test_nearest_straight_still_ranks_by_distance(client) -> None:
    doc = client.get(f"/api/v1/nearest?lon={P2.lon}&lat={P2.lat}&mode=straight&k=2"
                     "&include_candidates=true").get_json()
    first = doc["features"][0]
    assert first["id"] == "XC-B-03"
    assert first["properties"]["distance_m"] == round(_dist(P2, "XC-B-03"), 1)
    assert first["properties"]["travel_time_min"] is None
    assert "straight_line" not in doc  # the nearest answer keeps its recorded shape
    near = client.get(f"/api/v1/nearest?lon={P2.lon}&lat={P2.lat}&mode=straight"
                      "&max_minutes=6.5&include_candidates=true").get_json()
    assert [f["id"] for f in near["features"]] == ["XC-B-03"]  # 476 m <= 487.5 m


def test_plans_straight_by_hand(client) -> None:
    resp = client.post("/api/v1/plans", json={"mode": "straight", "minutes": 7, "k": 1})
    assert resp.status_code == 200
    doc = resp.get_json()
    assert doc["mode"] == "straight" and doc["straight_line"]["speed_kph"] == 4.5
    assert doc["candidates"] == "bank_outlets" and doc["candidates_count"] == 1
    assert doc["before_share"] == 0.4  # P1 + P3, as /api/v1/coverage
    assert [s["id"] for s in doc["selected"]] == ["XC-B-03"]
    assert doc["after_share"] == 0.75 and doc["gain_population"] == 700.0  # + P2
    sites = client.post("/api/v1/plans", json={
        "mode": "straight", "minutes": 5, "k": 2, "candidates": "kiosk_sites",
        "solver": "greedy"}).get_json()
    assert sites["before_share"] == 0.25  # 375 m: P1 only
    chosen = sites["selected"]
    assert [s["gain_population"] for s in chosen] == [700.0, 500.0]  # P2, then P4
    assert chosen[0]["lon"] == pytest.approx(P2.lon, abs=1e-6)
    assert sites["after_share"] == 0.85 and sites["after_share"] >= sites["before_share"]
    supplied = client.post("/api/v1/plans", json={
        "mode": "straight", "minutes": 5, "add": ["far", "home"], "candidates": {
            "type": "FeatureCollection", "features": [
                {"type": "Feature", "id": "home", "properties": {},
                 "geometry": {"type": "Point", "coordinates": [P3.lon, P3.lat]}},
                {"type": "Feature", "id": "far", "properties": {},
                 "geometry": {"type": "Point", "coordinates": [P4.lon + 0.001, P4.lat]}}]},
    }).get_json()
    assert [s["gain_population"] for s in supplied["selected"]] == [500.0, 300.0]


def test_network_modes_still_need_a_network(client) -> None:
    for url in ("/api/v1/isochrones?lon=118.758&lat=30.94&mode=walk",
                "/api/v1/coverage?mode=bike"):
        resp = client.get(url)
        assert resp.status_code == 422 and resp.mimetype == PROBLEM
    resp = client.post("/api/v1/plans", json={"mode": "drive", "k": 1})
    assert resp.status_code == 422 and resp.mimetype == PROBLEM
    bad = client.post("/api/v1/plans", json={"mode": "boat", "k": 1}).get_json()
    assert bad["invalid_params"][0] == {
        "name": "mode", "reason": "must be one of walk | bike | drive | straight"}


def test_cli_coverage_straight_without_an_extract(city_db, tmp_path) -> None:
    """`geosvc coverage --mode straight` needs no --osm and gives the API's figures."""
    from click.testing import CliRunner

    from geosvc.cli import main

    out = tmp_path / "c.json"
    r = CliRunner().invoke(main, ["coverage", "--db", str(city_db), "--mode", "straight",
                                  "--minutes", "7", "--out", str(out)])
    assert r.exit_code == 0, r.output
    import json

    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["mode"] == "straight" and doc["covered_population"] == 800.0  # P1 + P3
    assert doc["straight_line"]["speed_kph"] == 4.5
    assert "straight-line analysis" in r.output
    # a road mode without an extract is a usage error naming --osm
    r = CliRunner().invoke(main, ["coverage", "--db", str(city_db), "--mode", "walk",
                                  "--out", str(out)])
    assert r.exit_code == 2 and "--osm" in r.output and "--mode straight" in r.output


def test_cli_plan_straight_without_an_extract(city_db, tmp_path) -> None:
    """`geosvc plan --mode straight` needs no --osm and gives the API's plan."""
    from click.testing import CliRunner

    from geosvc.cli import main

    out = tmp_path / "p.csv"
    r = CliRunner().invoke(main, ["plan", "--db", str(city_db), "--mode", "straight",
                                  "--minutes", "7", "--k", "1", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "0.4000 -> 0.7500" in r.output and "XC-B-03" in out.read_text(encoding="utf-8-sig")
    r = CliRunner().invoke(main, ["plan", "--db", str(city_db), "--k", "1",
                                  "--out", str(out)])
    assert r.exit_code == 2 and "--osm" in r.output
