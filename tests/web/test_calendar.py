"""The official Chinese calendar end to end: statutory holidays, make-up working days.

A dataset that declares ``calendar: cn`` (Asia/Shanghai) answers ``open`` and the
``open_at`` filter by the State Council's calendar: National Day 2026 (Oct 1-7)
closes halls whose hours say ``PH off``; the make-up working Sunday
2026-09-20 opens them with Monday's hours; a lunch break is a lunch break.
The same data without a calendar treats Oct 1 as an ordinary Thursday.
"""

from __future__ import annotations

import dataclasses
import datetime
from pathlib import Path

import pytest

from geosvc.hours import get_calendar
from geosvc.store import Batch, open_store
from geosvc.web import create_app
from tests.web.citydata import AREAS, INFO, ITEMS, LINKS, POPULATION, VENUES

HOURS = {
    "XC-H-01": "Mo-Fr 09:00-12:00,13:30-17:00; Sa 09:00-12:00; PH off",
    "XC-H-02": "Mo-Fr 09:00-17:00; PH off",
}


def _client(tmp: Path, calendar: str | None):
    venues = [dataclasses.replace(v, opening_hours=HOURS.get(v.code, v.opening_hours))
              for v in VENUES]
    db = tmp / f"city-{calendar}.sqlite"
    store = open_store(str(db))
    try:
        store.write(Batch(venues=venues, items=ITEMS, links=LINKS, areas=AREAS,
                          population=POPULATION,
                          info=dataclasses.replace(INFO, calendar=calendar)))
    finally:
        store.close()
    return create_app({"TESTING": True, "db": str(db), "osm": None}).test_client()


@pytest.fixture(scope="module")
def cn(tmp_path_factory):
    return _client(tmp_path_factory.mktemp("cn"), "cn")


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    return _client(tmp_path_factory.mktemp("plain"), None)


def _open(client, code: str, at: str) -> bool:
    """`open` of one venue at `at` (the detail endpoint evaluates, it does not filter)."""
    doc = client.get(f"/api/v1/venues/{code}?open_at={at}").get_json()
    listed = client.get(f"/api/v1/venues?kind=hall&limit=100&open_at={at}").get_json()
    # the list's open_at FILTER agrees with the detail's `open`
    assert (code in {f["id"] for f in listed["features"]}) is doc["properties"]["open"]
    return doc["properties"]["open"]


@pytest.mark.parametrize(("at", "h01", "h02"), [
    ("2026-10-01T10:00", False, False),  # National Day, Thursday: PH off
    ("2026-10-07T10:00", False, False),  # last day of the 7-day break, Wednesday
    ("2026-10-08T10:00", True, True),  # back to work
    ("2026-09-20T10:00", True, True),  # make-up working Sunday (调休): Monday's hours
    ("2026-09-20T12:30", False, True),  # ... including Monday's lunch break for H-01
    ("2026-09-13T10:00", False, False),  # an ordinary Sunday
    ("2026-09-21T12:30", False, True),  # Monday lunch break
    ("2026-09-12T10:00", True, False),  # an ordinary Saturday: morning service at H-01 only
    ("2026-09-26T10:00", False, False),  # a Saturday that is Mid-Autumn Festival: PH off
])
def test_official_calendar(cn, at, h01, h02):
    assert (_open(cn, "XC-H-01", at), _open(cn, "XC-H-02", at)) == (h01, h02)


def test_without_calendar_national_day_is_an_ordinary_thursday(plain):
    assert _open(plain, "XC-H-01", "2026-10-01T10:00") is True
    assert _open(plain, "XC-H-02", "2026-09-20T10:00") is False  # an ordinary Sunday


def test_open_at_filter_and_nearest_follow_the_calendar(cn):
    """Nearest hall open on National Day is not the closed city hall next door."""
    near = "lon=118.7581&lat=30.9401&mode=straight&kind=hall&k=3"
    workday = cn.get(f"/api/v1/nearest?{near}&open_at=2026-09-30T10:00").get_json()
    assert workday["features"][0]["id"] == "XC-H-01"
    holiday = cn.get(f"/api/v1/nearest?{near}&open_at=2026-10-02T10:00").get_json()
    ids = [f["id"] for f in holiday["features"]]
    assert "XC-H-01" not in ids and "XC-H-02" not in ids
    # the township hall has no PH rule: ordinary weekday hours apply (OSM semantics)
    assert ids == ["XC-H-03"]
    assert all(f["properties"]["open"] for f in holiday["features"])


# --------------------------------------------------------------------------- honest time

_BEYOND = "2027-10-01T10:00"  # National Day 2027: not in chinese-calendar 1.11's data
_NEAR = "lon=118.7581&lat=30.9401&mode=straight&kind=hall&k=3"


def _codes(doc):
    return [w["code"] for w in doc.get("warnings", [])]


@pytest.mark.parametrize("path", [
    f"/api/v1/nearest?{_NEAR}&open_at={_BEYOND}",
    f"/api/v1/venues?kind=hall&open_at={_BEYOND}",
    f"/api/v1/venues/XC-H-01?open_at={_BEYOND}",
    f"/api/v1/coverage?mode=straight&minutes=10&open_at={_BEYOND}",
])
def test_answers_beyond_the_holiday_data_say_so(cn, plain, path):
    """2027-10-01 answers as an ordinary Friday; the answer warns instead of lying silently."""
    if get_calendar("cn").last_day >= datetime.date(2027, 10, 1):
        pytest.skip("the installed chinese-calendar covers 2027")
    doc = cn.get(path).get_json()
    assert _codes(doc) == ["holidays-unknown"]
    assert "2026-12-31" in doc["warnings"][0]["message"]
    assert _codes(plain.get(path).get_json()) == []  # no calendar: nothing to warn about


@pytest.mark.parametrize("path", [
    f"/api/v1/nearest?{_NEAR}&open_at=2026-10-01T10:00",
    "/api/v1/venues?kind=hall&open_at=2026-10-01T10:00",
    "/api/v1/venues/XC-H-01?open_at=2026-10-01T10:00",
])
def test_answers_within_the_holiday_data_have_no_warnings_member(cn, path):
    assert "warnings" not in cn.get(path).get_json()


def test_healthz_names_the_end_of_the_holiday_data(cn, plain):
    end = get_calendar("cn").last_day
    doc = cn.get("/healthz").get_json()
    assert doc["calendar_ends"] == end.isoformat()
    soon = (end - datetime.date.today()).days <= 90
    assert ("holidays-ending" in _codes(doc)) is soon
    assert plain.get("/healthz").get_json()["calendar_ends"] is None
