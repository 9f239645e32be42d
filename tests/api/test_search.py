"""The search box (`GET /api/v1/search`) and `item_channels` through the handlers.

A small made city: three items, one bundle, five venues and two districts
(one with a boundary, one without: its point is the centre of its venues),
and a tiny OSM XML extract with a street (Töölönkatu, two ways: the point is
on the longer one), a library, a neighbourhood and a bus stop that is no POI.
"""

from __future__ import annotations

import time

import pytest

from geosvc.api.nearest import nearest
from geosvc.api.search import search
from geosvc.app.service import GeoService
from geosvc.config import Settings
from geosvc.coords import from_wgs84
from geosvc.errors import InvalidParameter
from geosvc.model import Area, Bundle, Channel, Level, Link, ServiceItem, Venue, VenueKind
from geosvc.network.places import read_places
from geosvc.store import Batch, open_store

W, S = Channel.WINDOW, Channel.SELF_SERVICE
LON, LAT = 24.94, 60.17
M_PER_DEG = 111_320 * 0.4974  # metres per degree of longitude at 60.17 N (about)

ITEMS = [ServiceItem("RS-01", "社会保障卡申领", "Social security card application",
                     high_frequency=True),
         ServiceItem("RS-02", "社会保障卡补办", "Social security card replacement"),
         ServiceItem("GA-01", "居民身份证换领", "ID card renewal")]
BUNDLES = [Bundle("NEWBORN", "新生儿出生一件事", ("RS-01", "GA-01"), name_en="Newborn"),
           Bundle("SHOP", "开办餐饮店一件事", ("RS-02",), name_en="Opening a restaurant")]


def _east(m: float) -> float:
    return LON + m / M_PER_DEG


VENUES = [
    Venue("V-POST", "Pääposti", VenueKind.HALL, _east(100), LAT, Level.CITY, frozenset({W, S}),
          area_code="D1", area_name="区A", address="Elielinaukio 2"),
    Venue("V-HALL", "市民服务中心", VenueKind.HALL, _east(2000), LAT, Level.CITY,
          frozenset({W}), name_en="Citizen Service Centre", area_code="D2", area_name="区B"),
    Venue("V-LIB-FAR", "Kirjasto Kallio", VenueKind.HALL, _east(3000), LAT, Level.VILLAGE,
          frozenset({W}), area_code="D2"),
    Venue("V-LIB-NEAR", "Kirjasto Kamppi", VenueKind.HALL, _east(-300), LAT, Level.VILLAGE,
          frozenset({W}), area_code="D1"),
    Venue("V-KIOSK", "Töölö 自助终端", VenueKind.KIOSK, _east(500), LAT, None, frozenset({S}),
          area_code="D1"),
]
LINKS = [Link("V-POST", "RS-01", frozenset({W, S})), Link("V-POST", "GA-01", frozenset({W})),
         Link("V-HALL", "RS-01", frozenset({W})), Link("V-HALL", "GA-01", frozenset({W})),
         Link("V-KIOSK", "RS-01", frozenset({S})), Link("V-LIB-NEAR", "RS-02", frozenset({W}))]
D1_BOX = (LON - 0.01, LAT - 0.005, LON + 0.01, LAT + 0.005)
AREAS = [Area("D1", "区A", "POLYGON(({0} {1}, {2} {1}, {2} {3}, {0} {3}, {0} {1}))".format(
    *D1_BOX)), Area("D2", "区B", "")]

OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6">
  <node id="1" lon="24.9300" lat="60.1800"/>
  <node id="2" lon="24.9320" lat="60.1800"/>
  <node id="3" lon="24.9340" lat="60.1800"/>
  <node id="4" lon="24.9360" lat="60.1800"/>
  <node id="5" lon="24.9300" lat="60.1810"/>
  <node id="6" lon="24.9302" lat="60.1810"/>
  <node id="7" lon="24.9330" lat="60.1805"><tag k="amenity" v="library"/>
    <tag k="name" v="Töölön kirjasto"/></node>
  <node id="8" lon="24.9310" lat="60.1815"><tag k="place" v="neighbourhood"/>
    <tag k="name" v="Etu-Töölö"/></node>
  <node id="9" lon="24.9315" lat="60.1801"><tag k="highway" v="bus_stop"/>
    <tag k="name" v="Töölön tori"/></node>
  <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="4"/>
    <tag k="highway" v="residential"/><tag k="name" v="Töölönkatu"/></way>
  <way id="11"><nd ref="5"/><nd ref="6"/>
    <tag k="highway" v="residential"/><tag k="name" v="Töölönkatu"/></way>
  <way id="12"><nd ref="1"/><nd ref="5"/><tag k="highway" v="footway"/></way>
</osm>
"""


@pytest.fixture(scope="module")
def osm_file(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("osm") / "toolo.osm"
    path.write_text(OSM, encoding="utf-8")
    return path


def _db(tmp_path) -> str:
    db = str(tmp_path / "search.sqlite")
    with open_store(db) as store:
        store.write(Batch(items=ITEMS, venues=VENUES, links=LINKS, bundles=BUNDLES,
                          areas=AREAS))
    return db


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> GeoService:
    """The made city without an extract: places are its districts only."""
    db = _db(tmp_path_factory.mktemp("s"))
    return GeoService(Settings.load(env={}, overrides={"db": db}))


@pytest.fixture(scope="module")
def with_osm(tmp_path_factory: pytest.TempPathFactory, osm_file) -> GeoService:
    tmp = tmp_path_factory.mktemp("s-osm")
    return GeoService(Settings.load(env={}, overrides={
        "db": _db(tmp), "osm": str(osm_file), "modes": "walk", "cache_dir": str(tmp / "c")}))


def _names(doc, group):
    return [e["name"] for e in doc[group]]


def test_initials_find_the_social_security_card_first(service):
    doc = search(service, {"q": "sb"})
    assert doc["q"] == "sb"
    assert _names(doc, "items")[0] == "社会保障卡申领"
    first = doc["items"][0]
    assert set(first) >= {"code", "name", "name_en", "department", "high_frequency",
                          "venues_count"}
    assert first["venues_count"] == 3


def test_a_bundle_by_pinyin_and_by_initials(service):
    assert [b["code"] for b in search(service, {"q": "xinsheng"})["bundles"]] == ["NEWBORN"]
    doc = search(service, {"q": "kbcy"})
    assert doc["bundles"] == [{"code": "SHOP", "name": "开办餐饮店一件事",
                               "name_en": "Opening a restaurant", "items": ["RS-02"]}]


def test_venues_by_name_with_or_without_accents_by_code_and_by_pinyin(service):
    for q in ("Pääposti", "paaposti", "PÄÄP", "v-post"):
        doc = search(service, {"q": q})
        assert [v["id"] for v in doc["venues"]] == ["V-POST"], q
    venue = search(service, {"q": "paaposti"})["venues"][0]
    assert venue["address"] == "Elielinaukio 2"
    assert venue["kind"] == "hall"
    assert (venue["lon"], venue["lat"]) == (round(_east(100), 7), LAT)
    assert [v["id"] for v in search(service, {"q": "smfwzx"})["venues"]] == ["V-HALL"]
    assert [v["id"] for v in search(service, {"q": "citizen"})["venues"]] == ["V-HALL"]
    # Latin letters out of order never match: "sb" is no abbreviation of a Finnish name
    assert search(service, {"q": "kk"})["venues"] == []


def test_equal_matches_come_nearer_first_with_a_point(service):
    plain = [v["id"] for v in search(service, {"q": "kirjasto"})["venues"]]
    assert set(plain) == {"V-LIB-FAR", "V-LIB-NEAR"}
    east = search(service, {"q": "kirjasto", "lon": str(_east(3000)), "lat": str(LAT)})
    west = search(service, {"q": "kirjasto", "lon": str(_east(-1000)), "lat": str(LAT)})
    assert [v["id"] for v in east["venues"]] == ["V-LIB-FAR", "V-LIB-NEAR"]
    assert [v["id"] for v in west["venues"]] == ["V-LIB-NEAR", "V-LIB-FAR"]


def test_districts_without_an_extract(service):
    doc = search(service, {"q": "区"})
    assert [(p["name"], p["kind"], p["code"]) for p in doc["places"]] == [
        ("区A", "district", "D1"), ("区B", "district", "D2")]
    a, b = doc["places"]
    # D1 has a boundary: a point inside it; D2 none: the centre of its two venues
    assert D1_BOX[0] < a["lon"] < D1_BOX[2] and D1_BOX[1] < a["lat"] < D1_BOX[3]
    assert b["lon"] == pytest.approx((_east(2000) + _east(3000)) / 2, abs=1e-6)
    assert search(service, {"q": "qub"})["places"][0]["name"] == "区B"  # pinyin
    assert search(service, {"q": "Töölönkatu"})["places"] == []  # no extract loaded


def test_the_extract_gives_streets_pois_and_neighbourhoods(with_osm, osm_file):
    for q in ("Töölönk", "toolonk", "TOOLONKATU"):
        places = search(with_osm, {"q": q})["places"]
        assert [(p["name"], p["kind"]) for p in places] == [("Töölönkatu", "street")], q
    street = search(with_osm, {"q": "toolonkatu"})["places"][0]
    # one entry for the two ways, on the longer one (60.1800), halfway along it
    assert (street["lon"], street["lat"]) == (pytest.approx(24.933), pytest.approx(60.18))
    kinds = {(p["name"], p["kind"]) for p in search(with_osm, {"q": "toolo"})["places"]}
    assert kinds == {("Töölönkatu", "street"), ("Töölön kirjasto", "poi"),
                     ("Etu-Töölö", "district")}
    assert not any(p.name == "Töölön tori" for p in read_places(osm_file))  # a bus stop
    assert with_osm.places_meta["places"] == 3
    assert search(with_osm, {"q": "区A"})["places"][0]["code"] == "D1"


def test_the_place_list_is_cached_beside_the_networks(with_osm, osm_file):
    meta = with_osm.places_meta
    assert meta["cache_path"].endswith(".json")
    again = GeoService(with_osm.settings)
    assert again.places_meta["from_cache"] is True
    assert again.places_meta["cache_path"] == meta["cache_path"]
    assert again.places == with_osm.places


def test_limit_applies_per_group(service):
    doc = search(service, {"q": "社会保障卡", "limit": "1"})
    assert len(doc["items"]) == 1
    assert len(search(service, {"q": "社会保障卡"})["items"]) == 2
    assert len(search(service, {"q": "kirjasto", "limit": "1"})["venues"]) == 1
    assert len(search(service, {"q": "区", "limit": "1"})["places"]) == 1


@pytest.mark.parametrize(("params", "field"), [
    ({}, "q"), ({"q": ""}, "q"), ({"q": "   "}, "q"), ({"q": "x" * 101}, "q"),
    ({"q": "a", "limit": "0"}, "limit"), ({"q": "a", "limit": "51"}, "limit"),
    ({"q": "a", "limit": "many"}, "limit"), ({"q": "a", "crs": "utm"}, "crs"),
    ({"q": "a", "lon": "24.9"}, "lat"), ({"q": "a", "lat": "60.1"}, "lon"),
    ({"q": "a", "lon": "500", "lat": "60"}, "lon"),
])
def test_bad_parameters_are_named(service, params, field):
    with pytest.raises(InvalidParameter) as err:
        search(service, params)
    assert field in [p["name"] for p in err.value.invalid_params]


@pytest.fixture(scope="module")
def shanghai(tmp_path_factory: pytest.TempPathFactory) -> GeoService:
    """Two halls in Shanghai, where GCJ-02 differs from WGS-84 by some hundred metres."""
    db = str(tmp_path_factory.mktemp("sh") / "sh.sqlite")
    venues = [Venue("SH-1", "人民广场政务服务站", VenueKind.HALL, 121.4737, 31.2304, Level.CITY,
                    frozenset({W})),
              Venue("SH-2", "人民公园政务服务站", VenueKind.HALL, 121.5000, 31.2304, Level.CITY,
                    frozenset({W}))]
    with open_store(db) as store:
        store.write(Batch(items=ITEMS, venues=venues, links=[]))
    return GeoService(Settings.load(env={}, overrides={"db": db}))


def test_gcj02_shifts_the_answer_and_reads_the_point_in_it(shanghai):
    plain = search(shanghai, {"q": "rmgc"})["venues"][0]
    shifted = search(shanghai, {"q": "rmgc", "crs": "gcj02"})["venues"][0]
    assert plain["id"] == shifted["id"] == "SH-1"
    want = from_wgs84(121.4737, 31.2304, "gcj02")
    assert (shifted["lon"], shifted["lat"]) == (round(float(want[0]), 7),
                                                 round(float(want[1]), 7))
    # the expected GCJ-02 offset in Shanghai: about +0.0045 degree east, -0.002 north
    assert shifted["lon"] - plain["lon"] == pytest.approx(0.0045, abs=0.0005)
    assert shifted["lat"] - plain["lat"] == pytest.approx(-0.002, abs=0.0005)
    # the point is read in gcj02 too: equally good matches nearer first, as in wgs84
    for lon in (121.47, 121.50):
        gx, gy = from_wgs84(lon, 31.2304, "gcj02")
        near = search(shanghai, {"q": "zwfwz", "crs": "gcj02", "lon": str(gx), "lat": str(gy)})
        raw = search(shanghai, {"q": "zwfwz", "lon": str(lon), "lat": "31.2304"})
        assert [v["id"] for v in near["venues"]] == [v["id"] for v in raw["venues"]]
        assert near["venues"][0]["id"] == ("SH-1" if lon < 121.49 else "SH-2")


def test_outside_china_gcj02_equals_wgs84(service):
    plain = search(service, {"q": "paaposti"})["venues"][0]
    shifted = search(service, {"q": "paaposti", "crs": "gcj02"})["venues"][0]
    assert (shifted["lon"], shifted["lat"]) == (plain["lon"], plain["lat"])


def test_item_channels_name_the_channels_shared_by_all_items_asked(service):
    at = {"lon": str(LON), "lat": str(LAT), "k": "5"}
    one = nearest(service, {**at, "item": "RS-01"})
    got = {f["id"]: f["properties"]["item_channels"] for f in one["features"]}
    assert got == {"V-POST": ["window", "self_service"], "V-HALL": ["window"],
                   "V-KIOSK": ["self_service"]}
    both = nearest(service, {**at, "item": "RS-01,GA-01"})
    assert {f["id"]: f["properties"]["item_channels"] for f in both["features"]} == {
        "V-POST": ["window"], "V-HALL": ["window"]}
    bundle = nearest(service, {**at, "bundle": "NEWBORN"})
    assert [f["properties"]["item_channels"] for f in bundle["features"]] == [
        ["window"], ["window"]]
    kiosk = nearest(service, {**at, "item": "RS-01", "channel": "self_service"})
    assert {f["id"]: f["properties"]["item_channels"] for f in kiosk["features"]} == {
        "V-POST": ["self_service"], "V-KIOSK": ["self_service"]}
    plain = nearest(service, at)
    assert all("item_channels" not in f["properties"] for f in plain["features"])


def test_a_search_is_fast(with_osm):
    search(with_osm, {"q": "warm"})
    started = time.perf_counter()
    for n in range(200):
        search(with_osm, {"q": f"töö{n}"})
    distinct_ms = (time.perf_counter() - started) * 1000 / 200
    assert distinct_ms < 20  # generous bound for a shared 2-core machine
