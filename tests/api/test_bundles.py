"""一件事 bundles and service guides through the handlers: search, detail, nearest, two stops.

A tiny straight-line dataset (no road network): along one parallel east of the
origin, A handles X only (100 m), B handles Y only (300 m), C handles Y only
(1 km west), and, in the second dataset, D handles both (5 km east).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from geosvc.api.items import get_bundle, get_item, search_items
from geosvc.api.nearest import nearest
from geosvc.api.venues import get_venue
from geosvc.app.service import GeoService
from geosvc.config import Settings
from geosvc.errors import InvalidParameter, NotFound
from geosvc.model import Bundle, Channel, Level, Link, ServiceItem, Venue, VenueKind
from geosvc.store import Batch, open_store

W = Channel.WINDOW
LON, LAT = 24.94, 60.17
M_PER_DEG = 111_320 * 0.4974  # metres per degree of longitude at 60.17 N (about)

GUIDED = ServiceItem("X", "出生登记", materials=("出生医学证明",), fee="免费", legal_days=20,
                     apply_url="https://zwfw.example.cn/x", can_do_online=True)
ITEMS = [GUIDED, ServiceItem("Y", "社保卡申领"), ServiceItem("Z", "医保参保")]
BUNDLES = [Bundle("NEWBORN", "新生儿出生一件事", ("X", "Y"), name_en="Newborn"),
           Bundle("ALONE", "无人办理一件事", ("X", "Z"))]


def _venue(code: str, metres_east: float) -> Venue:
    return Venue(code, code, VenueKind.HALL, LON + metres_east / M_PER_DEG, LAT, Level.CITY,
                 frozenset({W}), opening_hours="Mo-Su 00:00-24:00")


def _service(tmp_path, *, both: bool) -> GeoService:
    venues = [_venue("A", 100), _venue("B", 300), _venue("C", -1000)]
    links = [Link("A", "X", frozenset({W})), Link("B", "Y", frozenset({W})),
             Link("C", "Y", frozenset({W}))]
    if both:
        venues.append(_venue("D", 5000))
        links += [Link("D", "X", frozenset({W})), Link("D", "Y", frozenset({W}))]
    db = str(tmp_path / f"b{int(both)}.sqlite")
    with open_store(db) as store:
        store.write(Batch(items=ITEMS, venues=venues, links=links, bundles=BUNDLES))
    return GeoService(Settings.load(env={}, overrides={"db": db}))


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> GeoService:
    return _service(tmp_path_factory.mktemp("bundles"), both=False)


def _at(**more: str) -> dict[str, str]:
    return {"lon": str(LON), "lat": str(LAT), "open_at": "2026-05-06T10:30", **more}


def test_no_venue_handles_all_items_so_two_stops_are_planned(service):
    doc = nearest(service, _at(bundle="NEWBORN", route="true"))
    assert doc["features"] == [] and doc["empty_reason"] == "no_venue_offers_item"
    assert doc["bundle"] == {"code": "NEWBORN", "name": "新生儿出生一件事",
                             "items": ["X", "Y"]}
    plan = doc["two_stop"]
    stops = plan["stops"]
    assert [s["id"] for s in stops] == ["A", "B"]
    assert [s["properties"]["bundle_items"] for s in stops] == [["X"], ["Y"]]
    assert [s["properties"]["stop"] for s in stops] == [1, 2]
    legs = [s["properties"]["travel_time_min"] for s in stops]
    assert legs[0] < legs[1] < 3
    assert plan["total_time_min"] == pytest.approx(sum(legs), abs=0.02)
    assert all(s["route"]["type"] == "LineString" for s in stops)
    assert all(s["properties"]["open"] is True for s in stops)


def test_max_minutes_bounds_the_two_stop_total(service):
    doc = nearest(service, _at(bundle="NEWBORN", max_minutes="1"))
    assert "two_stop" not in doc and doc["features"] == []


def test_a_bundle_no_pair_covers_has_no_two_stop(service):
    doc = nearest(service, _at(bundle="ALONE"))
    assert doc["features"] == [] and "two_stop" not in doc


def test_a_venue_handling_every_item_wins_over_two_stops(tmp_path):
    doc = nearest(_service(tmp_path, both=True), _at(bundle="NEWBORN"))
    assert [f["id"] for f in doc["features"]] == ["D"] and "two_stop" not in doc


def test_unknown_bundle_is_a_400_naming_it(service):
    with pytest.raises(InvalidParameter) as err:
        nearest(service, _at(bundle="NOPE"))
    assert [p["name"] for p in err.value.invalid_params] == ["bundle"]
    with pytest.raises(NotFound):
        get_bundle(service, "NOPE", {})


def test_search_finds_bundles_apart_from_items(service):
    doc = search_items(service, {"q": "一件事"})
    assert sorted(b["code"] for b in doc["bundles"]) == ["ALONE", "NEWBORN"]
    assert doc["bundles_total"] == 2 and doc["items"] == []
    assert [b["code"] for b in search_items(service, {"q": "xsecsyjs"})["bundles"]] == [
        "NEWBORN"]
    assert search_items(service, {"q": "出生"})["items"][0]["code"] == "X"


def test_bundle_detail_and_item_guide(service):
    doc = get_bundle(service, "NEWBORN", {})
    assert [(i["code"], i["venues_count"], i["has_guide"]) for i in doc["items"]] == [
        ("X", 1, True), ("Y", 2, False)]
    item = get_item(service, "X", {})
    assert item["guide"] == {
        "materials": ["出生医学证明"], "conditions": "", "fee": "免费", "legal_days": 20,
        "promised_days": None, "apply_url": "https://zwfw.example.cn/x",
        "can_do_online": True, "by_post": False, "at_kiosk": False}
    assert item["bundles"] == ["ALONE", "NEWBORN"]  # the snapshot's bundles are by code
    venue = get_venue(service, "A", {})
    assert venue["properties"]["items"][0]["has_guide"] is True


def _closing_service(tmp_path) -> GeoService:
    """B (the second stop nearest A) closes at 10:50; C (1 km west) never closes."""
    venues = [_venue("A", 100), Venue("B", "B", VenueKind.HALL, LON + 300 / M_PER_DEG, LAT,
                                      Level.CITY, frozenset({W}),
                                      opening_hours="Mo-Su 08:00-10:50"),
              _venue("C", -1000)]
    links = [Link("A", "X", frozenset({W})), Link("B", "Y", frozenset({W})),
             Link("C", "Y", frozenset({W}))]
    db = str(tmp_path / "closing.sqlite")
    with open_store(db) as store:
        store.write(Batch(items=ITEMS, venues=venues, links=links, bundles=BUNDLES))
    return GeoService(Settings.load(env={}, overrides={"db": db}))


def test_with_open_at_both_stops_are_open_on_arrival(tmp_path):
    """B closes at 10:50: open 30 min after arrival it is not, first or second; C instead."""
    service = _closing_service(tmp_path)
    doc = nearest(service, _at(bundle="NEWBORN"))
    plan = doc["two_stop"]
    assert [s["id"] for s in plan["stops"]] == ["A", "C"]
    assert plan["stop_minutes"] == 15
    first, second = (s["properties"] for s in plan["stops"])
    assert all(p["open"] is True for p in (first, second))
    # the second arrival = departure + first leg + 15 minutes at A + second leg
    minutes = first["travel_time_min"] + 15 + second["travel_time_min"]
    start = datetime.fromisoformat("2026-05-06T10:30:00+08:00")
    arrival = datetime.fromisoformat(second["arrives_at"])
    assert (arrival - start).total_seconds() / 60 == pytest.approx(minutes, abs=0.05)
    # without a time asked for, opening hours do not exclude B (its opening is shown)
    anytime = nearest(service, {"lon": str(LON), "lat": str(LAT), "bundle": "NEWBORN"})
    assert [s["id"] for s in anytime["two_stop"]["stops"]] == ["A", "B"]


def test_the_time_at_the_first_stop_is_a_setting(tmp_path):
    """B must stay open 10 min after arrival: at ~10:34 with no stop at A, ~10:49 with one."""
    db = _closing_service(tmp_path).settings.db

    def stops(minutes: float) -> list[str]:
        service = GeoService(Settings.load(env={}, overrides={
            "db": db, "stop_service_min": minutes, "open_margin_min": 10}))
        plan = nearest(service, _at(bundle="NEWBORN"))["two_stop"]
        assert plan["stop_minutes"] == minutes
        return [s["id"] for s in plan["stops"]]

    assert stops(0) == ["A", "B"]
    assert stops(15) == ["B", "A"]  # B first, while it is open; A never closes
