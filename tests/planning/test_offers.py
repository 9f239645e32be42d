"""Plans keep the filter's meaning: a candidate counts only for what it would offer.

The small straight-line city of tests/web/citydata.py: coverage within 5 min
(375 m) is worked out by hand there; here the point is which candidates may
count for a kind / channel / level filter, what each chosen site states it
offers, and that ``after_share`` is what ``/api/v1/coverage`` answers once the
chosen sites exist.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from geosvc.model import Link, Venue, VenueKind
from geosvc.web import create_app
from tests.web.citydata import POPULATION, add_venue, build_city_db

P2, P4 = POPULATION[1], POPULATION[3]


def _point(fid: str, lon: float, lat: float, **props) -> dict:
    return {"type": "Feature", "id": fid, "properties": props,
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def _fc(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


@pytest.fixture()
def city(tmp_path: Path):
    """A writable city and a client over it (straight lines)."""
    path = build_city_db(tmp_path / "city.sqlite")
    app = create_app({"TESTING": True, "db": str(path), "osm": None})
    return path, app.test_client()


def plan(client, **body):
    return client.post("/api/v1/plans", json={"mode": "straight", "minutes": 5, **body})


def test_kiosk_sites_do_not_count_as_windows(city) -> None:
    """The issue's example: kiosks counted as staffed windows (0.81 -> 0.985 on the demo)."""
    _, client = city
    resp = plan(client, k=1, candidates="kiosk_sites", filters={"channel": "window"})
    assert resp.status_code == 400
    doc = resp.get_json()
    assert [p["name"] for p in doc["invalid_params"]] == ["candidates"]
    reason = doc["invalid_params"][0]["reason"]
    assert "kiosk" in reason and "self_service" in reason and "window" in reason
    # a level filter: kiosks have no level; a kind filter: kiosks are not halls
    for filters in ({"level": "county"}, {"kind": "hall"}):
        resp = plan(client, k=1, candidates="kiosk_sites", filters=filters)
        assert resp.status_code == 400, filters
        assert resp.get_json()["invalid_params"][0]["name"] == "candidates"


def test_kiosk_sites_count_for_self_service_and_state_it(city) -> None:
    _, client = city
    doc = plan(client, k=1, candidates="kiosk_sites",
               filters={"channel": "self_service"}).get_json()
    [site] = doc["selected"]
    assert site["offers"] == {"kind": "kiosk", "channels": ["self_service"]}
    assert doc["candidates_not_offering"] == []


def test_bank_outlets_can_get_any_channel_but_are_not_halls(city) -> None:
    _, client = city
    doc = plan(client, k=1, minutes=7, filters={"channel": "window"}).get_json()
    assert [s["id"] for s in doc["selected"]] == ["XC-B-03"]  # + P2, as tests/web by hand
    assert doc["selected"][0]["offers"] == {"kind": "bank_outlet", "channels": ["window"]}
    free = plan(client, k=1, minutes=7).get_json()
    assert free["selected"][0]["offers"] == {
        "kind": "bank_outlet", "channels": ["window", "self_service", "smart_teller"]}
    resp = plan(client, k=1, filters={"kind": "hall"})
    assert resp.status_code == 400
    assert "bank_outlet" in resp.get_json()["invalid_params"][0]["reason"]


def test_supplied_points_offer_what_they_say(city) -> None:
    _, client = city
    sites = _fc(_point("kiosk-at-P2", P2.lon, P2.lat, kind="自助终端"),
                _point("window-at-P4", P4.lon, P4.lat, channels=["窗口"]),
                _point("plain", P4.lon, P4.lat + 0.0001))
    doc = plan(client, k=2, candidates=sites, filters={"channel": "window"},
               solver="greedy").get_json()
    assert doc["candidates_not_offering"] == ["kiosk-at-P2"]
    assert doc["candidates_count"] == 2
    offers = {s["id"]: s["offers"] for s in doc["selected"]}
    assert offers["window-at-P4"] == {"kind": None, "channels": ["window"]}
    # nothing stated: counts for any filter, offering what the filter asks
    assert offers.get("plain", {"kind": None, "channels": ["window"]}) == {
        "kind": None, "channels": ["window"]}
    # a what-if naming a left-out candidate is refused, naming `add`
    resp = plan(client, add=["kiosk-at-P2"], candidates=sites, filters={"channel": "window"})
    assert resp.status_code == 400
    assert resp.get_json()["invalid_params"][0]["name"] == "add"
    # an unknown label is a 400 naming `candidates`
    resp = plan(client, k=1, candidates=_fc(_point("x", P2.lon, P2.lat, kind="castle")))
    assert resp.status_code == 400
    assert "castle" in resp.get_json()["invalid_params"][0]["reason"]


def test_after_share_is_coverage_once_the_sites_exist(city) -> None:
    """Open the chosen kiosks as venues: /api/v1/coverage then gives the plan's after_share."""
    path, client = city
    flt = {"kind": "kiosk", "channel": "self_service"}
    doc = plan(client, k=2, candidates="kiosk_sites", filters=flt, solver="greedy").get_json()
    before = client.get("/api/v1/coverage?mode=straight&minutes=5&kind=kiosk"
                        "&channel=self_service").get_json()
    assert doc["before_share"] == before["covered_share"]
    for s in doc["selected"]:
        offers = s["offers"]
        add_venue(path, Venue(s["id"], s["name"], VenueKind(offers["kind"]), s["lon"],
                              s["lat"], None, frozenset(offers["channels"]),
                              opening_hours="24/7"),
                  [Link(s["id"], "SB-01", frozenset(offers["channels"]))])
    assert client.application.extensions["geosvc"].reload() is True
    after = client.get("/api/v1/coverage?mode=straight&minutes=5&kind=kiosk"
                       "&channel=self_service").get_json()
    assert after["covered_share"] == pytest.approx(doc["after_share"], abs=1e-4)
    assert after["covered_share"] > before["covered_share"]
