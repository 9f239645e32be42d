"""Framework-free handlers over the small city: plain dicts in, plain dicts out."""

from __future__ import annotations

import pytest

from geosvc.api import health, items, nearest, ogc, venues
from geosvc.coords import from_wgs84, to_wgs84
from geosvc.errors import InvalidParameter, ModeUnavailable, NotFound
from tests.web.citydata import VENUES

BY_CODE = {v.code: v for v in VENUES}


def ids(doc: dict) -> list[str]:
    return [f["id"] for f in doc["features"]]


def test_list_venues_default_excludes_planning_candidates(service) -> None:
    doc = venues.list_venues(service, {})
    assert doc["type"] == "FeatureCollection"
    assert doc["numberMatched"] == 9 == doc["numberReturned"]
    assert "XC-B-03" not in ids(doc)
    doc = venues.list_venues(service, {"include_candidates": "true"})
    assert doc["numberMatched"] == 10
    cand = next(f for f in doc["features"] if f["id"] == "XC-B-03")
    assert cand["properties"]["candidate"] is True and cand["properties"]["channels"] == []


@pytest.mark.parametrize(("params", "expected"), [
    ({"kind": "kiosk"}, {"XC-K-01", "XC-K-02", "XC-K-03"}),
    ({"kind": "hall,bank_outlet", "level": "city"}, {"XC-H-01", "XC-B-01"}),
    ({"level": "township"}, {"XC-H-03"}),
    ({"item": "SB-01,YB-01"}, {"XC-H-01", "XC-H-03", "XC-B-01", "XC-K-01", "XC-K-03"}),
    ({"item": "YB-01", "channel": "smart_teller"}, {"XC-B-01", "XC-B-02"}),
    ({"channel": "window", "kind": "bank_outlet"}, {"XC-B-01"}),
    ({"accessible": "true"}, {"XC-H-01", "XC-H-03"}),
    # Saturday 10:00: Sa hours, Mo-Su and 24/7 venues only
    ({"open_at": "2026-05-09T10:00"}, {"XC-H-01", "XC-B-01", "XC-K-01", "XC-K-02"}),
    ({"open_at": "2026-05-09T02:00:00Z"}, {"XC-H-01", "XC-B-01", "XC-K-01", "XC-K-02"}),
    ({"q": "银行"}, {"XC-B-01", "XC-B-02"}),
    ({"q": "service centre"}, {"XC-H-01"}),
    ({"bbox": "118.755,30.938,118.762,30.945"}, {"XC-H-01", "XC-B-01", "XC-K-01"}),
    ({"bbox": "118.755,30.938,118.762,30.945", "kind": "kiosk"}, {"XC-K-01"}),
    ({"item": "HJ-01", "home_area": "B"}, {"XC-H-03"}),
])
def test_venue_filters(service, params: dict, expected: set[str]) -> None:
    doc = venues.list_venues(service, params)
    assert set(ids(doc)) == expected
    assert doc["numberMatched"] == len(expected)


def test_open_property_follows_open_at(service) -> None:
    doc = venues.list_venues(service, {"open_at": "2026-05-06T20:00", "kind": "kiosk"})
    assert ids(doc) == ["XC-K-01", "XC-K-02", "XC-K-03"]
    assert all(f["properties"]["open"] is True for f in doc["features"])
    doc = venues.list_venues(service, {"kind": "hall", "open_at": "2026-05-06T18:00",
                                       "include_candidates": "false"})
    assert doc["features"] == []
    doc = venues.list_venues(service, {"level": "village"})
    # unknown hours: open is null, not false
    assert doc["features"][0]["properties"]["open"] is None


def test_paging(service) -> None:
    first = venues.list_venues(service, {"limit": "4"})
    second = venues.list_venues(service, {"limit": "4", "offset": "4"})
    last = venues.list_venues(service, {"limit": "4", "offset": "8"})
    past = venues.list_venues(service, {"limit": "4", "offset": "50"})
    assert [d["numberReturned"] for d in (first, second, last, past)] == [4, 4, 1, 0]
    assert all(d["numberMatched"] == 9 for d in (first, second, last, past))
    assert len(set(ids(first)) | set(ids(second)) | set(ids(last))) == 9


def test_venue_properties_and_crs_round_trip(service) -> None:
    doc = venues.get_venue(service, "XC-H-01", {"crs": "gcj02", "open_at": "2026-05-06T10:00"})
    p = doc["properties"]
    assert p["name"] == "宣城市政务服务中心" and p["kind"] == "hall" and p["level"] == "city"
    assert p["open"] is True and p["closes_at"] == "2026-05-06T17:00:00+08:00"
    assert p["accessible"] and p["cross_province"] and p["regional"]
    assert p["items_count"] == 5 == len(p["items"])
    sb = next(i for i in p["items"] if i["code"] == "SB-01")
    assert sb == {"code": "SB-01", "name": "社会保障卡申领",
                  "name_en": "Social security card application",
                  "channels": ["self_service", "window"], "has_guide": False}
    lon, lat = to_wgs84(*doc["geometry"]["coordinates"], "gcj02")
    assert (lon, lat) == pytest.approx((118.7580, 30.9400), abs=1e-6)
    assert doc["geometry"]["coordinates"] != [118.758, 30.94]
    closed = venues.get_venue(service, "XC-H-01", {"open_at": "2026-05-09T13:00"})
    assert closed["properties"]["open"] is False
    assert closed["properties"]["next_open"] == "2026-05-11T09:00:00+08:00"


def test_unknown_venue_is_not_found(service) -> None:
    with pytest.raises(NotFound, match="XC-NOPE"):
        venues.get_venue(service, "XC-NOPE", {})


@pytest.mark.parametrize("q", ["社保", "shebao", "sb", "SB-01"])
def test_item_search(service, q: str) -> None:
    doc = items.search_items(service, {"q": q})
    assert doc["total"] >= 1 and doc["items"][0]["code"] == "SB-01"
    assert doc["items"][0]["venues_count"] == 6


def test_item_listing_and_detail(service) -> None:
    doc = items.search_items(service, {"limit": "2"})
    assert doc["total"] == 5 and len(doc["items"]) == 2
    one = items.get_item(service, "YB-01", {})
    assert one["venues_by_kind"] == {"hall": 3, "bank_outlet": 2, "kiosk": 3}
    assert one["venues_count"] == 8 and one["department"] == "市医保局"
    with pytest.raises(NotFound):
        items.get_item(service, "NOPE", {})


def test_nearest_straight(service) -> None:
    doc = nearest.nearest(service, {"lon": "118.7581", "lat": "30.9401", "k": "3",
                                    "route": "true", "open_at": "2026-05-06T10:00"})
    assert ids(doc) == ["XC-H-01", "XC-K-01", "XC-B-01"]
    props = [f["properties"] for f in doc["features"]]
    assert [p["rank"] for p in props] == [1, 2, 3]
    dists = [p["distance_m"] for p in props]
    assert dists == sorted(dists) and dists[0] < 20
    assert all(p["travel_time_min"] is None and p["open"] is True for p in props)
    route = doc["features"][1]["route"]
    assert route["type"] == "LineString"
    assert route["coordinates"] == [[118.7581, 30.9401], [118.759, 30.941]]


def test_nearest_filters_and_max_minutes(service) -> None:
    doc = nearest.nearest(service, {"lon": "118.7581", "lat": "30.9401", "k": "10",
                                    "kind": "kiosk", "open_at": "2026-05-09T10:00"})
    assert ids(doc) == ["XC-K-01", "XC-K-02"]  # K-03 is closed on Saturdays
    doc = nearest.nearest(service, {"lon": "118.7581", "lat": "30.9401", "k": "10",
                                    "max_minutes": "2"})  # 150 m at 4.5 km/h
    assert ids(doc) == ["XC-H-01", "XC-K-01"]


def test_nearest_crs_in_and_out(service) -> None:
    h1 = BY_CODE["XC-H-01"]
    glon, glat = from_wgs84(h1.lon, h1.lat, "gcj02")
    doc = nearest.nearest(
        service, {"lon": repr(glon), "lat": repr(glat), "crs": "gcj02", "k": "1"}
    )
    f = doc["features"][0]
    assert f["id"] == "XC-H-01" and f["properties"]["distance_m"] < 0.1
    back = to_wgs84(*f["geometry"]["coordinates"], "gcj02")
    assert back == pytest.approx((h1.lon, h1.lat), abs=1e-6)
    bdoc = nearest.nearest(
        service, {"lon": "118.7581", "lat": "30.9401", "crs": "bd09", "k": "1"}
    )
    assert bdoc["query"]["crs"] == "bd09"


def test_network_mode_without_network(service) -> None:
    with pytest.raises(ModeUnavailable, match="start the server with --osm FILE"):
        nearest.nearest(service, {"lon": "118.7581", "lat": "30.9401", "mode": "walk"})


def test_nearest_reports_all_bad_parameters(service) -> None:
    with pytest.raises(InvalidParameter) as info:
        nearest.nearest(service, {"lon": "x", "k": "500", "item": "NOPE"})
    names = [p["name"] for p in info.value.invalid_params]
    assert names == ["lon", "k", "item", "lat"]


def test_health(service) -> None:
    doc = health.health(service)
    assert doc["status"] == "ok" and doc["venues"] == 10 and doc["items"] == 5
    assert doc["network"] is None and doc["version"]


def test_ogc_documents(service) -> None:
    base = "http://x/"
    landing = ogc.landing(service, base)
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= rels
    assert len(ogc.conformance()["conformsTo"]) == 3
    cols = ogc.collections(service, base)["collections"]
    assert [c["id"] for c in cols] == ["venues", "halls", "bank_outlets", "kiosks"]
    halls = ogc.collection(service, "halls", base)
    assert halls["extent"]["spatial"]["bbox"] == [[118.745, 30.93, 118.78, 30.97]]
    page = ogc.collection_items(service, "venues", {"limit": "4", "offset": "4"}, base)
    assert page["numberMatched"] == 9 and page["numberReturned"] == 4
    links = {link["rel"]: link["href"] for link in page["links"]}
    assert links["next"].endswith("limit=4&offset=8") and links["prev"].endswith("offset=0")
    assert ogc.collection_feature(service, "kiosks", "XC-K-01", base)["id"] == "XC-K-01"
    with pytest.raises(NotFound):
        ogc.collection_feature(service, "halls", "XC-K-01", base)
    with pytest.raises(NotFound):
        ogc.collection_items(service, "shops", {}, base)
