"""Network modes over the real Helsinki extract: travel times, open on arrival, routes."""

from __future__ import annotations

from pathlib import Path

import pytest

from geosvc.coords import geodesic_distance_m
from geosvc.web import create_app
from tests.web.citydata import build_helsinki_db

ORIGIN = "lon=24.9410&lat=60.1700"


@pytest.fixture(scope="session")
def net_client(tmp_path_factory: pytest.TempPathFactory, helsinki_pbf: Path):
    tmp = tmp_path_factory.mktemp("web-net")
    db = build_helsinki_db(tmp / "hel.sqlite")
    app = create_app({"TESTING": True, "db": str(db), "osm": str(helsinki_pbf),
                      "modes": "walk,drive", "cache_dir": str(tmp / "cache")})
    return app.test_client()


def test_health_lists_loaded_networks(net_client) -> None:
    doc = net_client.get("/healthz").get_json()
    assert set(doc["network"]) == {"walk", "drive"}
    assert doc["network"]["walk"] > 1000


def test_nearest_walk_ranks_by_travel_time(net_client) -> None:
    doc = net_client.get(f"/api/v1/nearest?{ORIGIN}&mode=walk&k=5&route=true").get_json()
    assert doc["mode"] == "walk" and doc["numberReturned"] == 5
    props = [f["properties"] for f in doc["features"]]
    times = [p["travel_time_min"] for p in props]
    assert times == sorted(times) and times[0] > 0
    for f in doc["features"]:
        lon, lat = f["geometry"]["coordinates"]
        straight = geodesic_distance_m(24.9410, 60.1700, lon, lat)
        assert f["properties"]["distance_m"] >= straight * 0.95
        # walking at 4.5 km/h: time and distance agree within the access legs
        assert f["properties"]["travel_time_min"] * 75 == pytest.approx(
            f["properties"]["distance_m"], rel=0.25)
        coords = f["route"]["coordinates"]
        assert f["route"]["type"] == "LineString" and len(coords) >= 2
        assert geodesic_distance_m(*coords[-1], lon, lat) < 60


def test_open_on_arrival_skips_venues_closing_before_the_margin(net_client) -> None:
    base = f"/api/v1/nearest?{ORIGIN}&mode=walk&k=5&kind=hall"
    anytime = [f["id"] for f in net_client.get(base).get_json()["features"]]
    assert set(anytime) == {"HT-H-01", "HT-H-02"}
    # Wednesday 16:40: HT-H-01 closes at 17:00, less than the 30-min margin after arrival
    late = net_client.get(f"{base}&open_at=2026-05-06T16:40").get_json()
    assert [f["id"] for f in late["features"]] == ["HT-H-02"]
    p = late["features"][0]["properties"]
    assert p["open"] is True and p["closes_at"] == "2026-05-06T20:00:00+03:00"
    assert p["arrives_at"].startswith("2026-05-06T16:")


def test_drive_and_straight_answer_differently(net_client) -> None:
    drive = net_client.get(f"/api/v1/nearest?{ORIGIN}&mode=drive&k=3").get_json()
    straight = net_client.get(f"/api/v1/nearest?{ORIGIN}&mode=straight&k=3").get_json()
    assert all(f["properties"]["travel_time_min"] is not None for f in drive["features"])
    assert all(f["properties"]["travel_time_min"] is None for f in straight["features"])


def test_unloaded_mode_and_point_off_network_are_422(net_client) -> None:
    resp = net_client.get(f"/api/v1/nearest?{ORIGIN}&mode=bike")
    assert resp.status_code == 422
    assert "loaded only drive, walk" in resp.get_json(force=True)["detail"]
    resp = net_client.get("/api/v1/nearest?lon=25.3&lat=60.4&mode=walk")
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert resp.get_json(force=True)["type"] == "/problems/outside-network"


def test_isochrones_bands_nest(net_client) -> None:
    resp = net_client.get(f"/api/v1/isochrones?{ORIGIN}&mode=walk&minutes=10,5")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    doc = resp.get_json()
    bands = [f["properties"] for f in doc["features"]]
    assert [b["minutes"] for b in bands] == [5, 10]
    assert 0 < bands[0]["area_km2"] < bands[1]["area_km2"]
    assert 0 <= bands[0]["population"] <= bands[1]["population"] <= 900
    assert {f["geometry"]["type"] for f in doc["features"]} <= {"Polygon", "MultiPolygon"}


def test_coverage_document(net_client) -> None:
    resp = net_client.get("/api/v1/coverage?mode=walk&minutes=10")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    doc = resp.get_json()
    assert doc["mode"] == "walk" and doc["minutes"] == 10
    assert doc["total_population"] == pytest.approx(900)
    assert 0 < doc["covered_share"] <= 1
    assert doc["covered_population"] == pytest.approx(doc["covered_share"] * 900, rel=1e-3)
    assert doc["venues_used"] == 5
    assert {a["area_id"] for a in doc["by_area"]} == {"W", "E"}
    assert doc["gaps"]["type"] == "FeatureCollection"
    pops = [g["properties"]["uncovered_population"] for g in doc["gaps"]["features"]]
    assert pops == sorted(pops, reverse=True)
    few = net_client.get("/api/v1/coverage?mode=walk&minutes=2&kind=bank_outlet").get_json()
    assert few["venues_used"] == 1 and few["covered_population"] <= doc["covered_population"]


def test_coverage_circles_on_request(net_client) -> None:
    """`circles=true` adds the service-circle polygon; its area is the covered area."""
    from shapely.geometry import Point, shape

    plain = net_client.get("/api/v1/coverage?mode=walk&minutes=5").get_json()
    assert "circles" not in plain
    doc = net_client.get("/api/v1/coverage?mode=walk&minutes=5&circles=true").get_json()
    (feature,) = doc["circles"]["features"]
    assert feature["properties"]["minutes"] == 5
    assert feature["properties"]["area_km2"] == doc["covered_area_km2"] > 0
    circle = shape(feature["geometry"])
    venues = net_client.get("/api/v1/venues?limit=1000").get_json()["features"]
    # every venue used sits inside its own service circle
    assert all(circle.contains(Point(f["geometry"]["coordinates"])) for f in venues)
    gcj = net_client.get("/api/v1/coverage?mode=walk&minutes=5&circles=true&crs=gcj02")
    geometry = gcj.get_json()["circles"]["features"][0]["geometry"]
    assert shape(geometry).equals_exact(circle, 1e-9)
    bad = net_client.get("/api/v1/coverage?mode=walk&circles=maybe")
    assert bad.status_code == 400
    assert bad.get_json()["invalid_params"] == [{"name": "circles",
                                                 "reason": "must be true or false"}]


def test_coverage_map_draws_circles_and_catchments(net_client) -> None:
    import json
    import re

    doc = net_client.get("/api/v1/coverage?mode=walk&minutes=5").get_json()
    for lang, circle, tip in (("zh", "5 分钟服务圈", r": [\d,]+ 人\""),
                              ("en", "5-minute service circle", r": [\d,]+ residents\"")):
        url = f"/map?layer=coverage&mode=walk&minutes=5&lang={lang}"
        html = net_client.get(url).get_data(as_text=True)
        assert '"circles"' in html and circle in html
        assert '"catchments"' in html
        # one catchment marker per venue in the answer, its tooltip "name: N 人" / "N residents"
        tips = re.findall(tip, html)
        assert len(tips) == len(doc["catchments"]) > 0
        for row in doc["catchments"]:
            name = row["name"]
            assert name in html or json.dumps(name)[1:-1] in html, name


def test_plan_with_supplied_candidates(net_client) -> None:
    sites = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "S1", "properties": {"name": "south"},
         "geometry": {"type": "Point", "coordinates": [24.9365, 60.1655]}},
        {"type": "Feature", "id": "S2", "properties": {"name": "north"},
         "geometry": {"type": "Point", "coordinates": [24.9500, 60.1760]}},
    ]}
    body = {"mode": "walk", "minutes": 2, "k": 1, "candidates": sites,
            "filters": {"kind": ["bank_outlet"]}}
    resp = net_client.post("/api/v1/plans", json=body)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    doc = resp.get_json()
    assert len(doc["selected"]) == 1 and doc["selected"][0]["id"] in {"S1", "S2"}
    assert doc["after_share"] >= doc["before_share"]
    bad = net_client.post("/api/v1/plans", json={"mode": "fly", "k": 0, "minutes": "x",
                                                 "filters": {"kind": "shop"}})
    assert bad.status_code == 400
    names = [p["name"] for p in bad.get_json(force=True)["invalid_params"]]
    assert names == ["mode", "minutes", "k", "filters.kind"]


def test_isochrones_shape_contour_and_streets_agree(net_client) -> None:
    import shapely
    from shapely.geometry import shape

    docs = {}
    for s in ("contour", "streets"):
        resp = net_client.get(f"/api/v1/isochrones?{ORIGIN}&mode=walk&minutes=5,10&shape={s}")
        assert resp.status_code == 200, resp.get_data(as_text=True)
        docs[s] = resp.get_json()
    default = net_client.get(f"/api/v1/isochrones?{ORIGIN}&mode=walk&minutes=5,10").get_json()
    assert default == docs["contour"]
    for fc, fs in zip(docs["contour"]["features"], docs["streets"]["features"], strict=True):
        gc, gs = shape(fc["geometry"]), shape(fs["geometry"])
        assert gc.is_valid and gs.is_valid
        iou = shapely.intersection(gc, gs).area / shapely.union(gc, gs).area
        # two definitions (docs/routing.md): contour = the streets then up to 60 m off them
        # as time allows; streets = every reached street buffered by 30 m
        # (tests/routing/test_contour.py checks the contour against its exact answer): they
        # overlap mostly, with about the same area
        assert iou > 0.75, (fc["properties"]["minutes"], iou)
        assert shapely.intersection(gc, gs).area >= 0.85 * gs.area
        assert fc["properties"]["area_km2"] == pytest.approx(fs["properties"]["area_km2"],
                                                             rel=0.15)
    resp = net_client.get(f"/api/v1/isochrones?{ORIGIN}&mode=walk&shape=blob")
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"
    doc = resp.get_json(force=True)
    assert [p["name"] for p in doc["invalid_params"]] == ["shape"]
    assert "contour | streets" in doc["invalid_params"][0]["reason"]
