"""Analysis answers kept per data revision (issue 13, item 4: answers cached per revision).

Coverage, isochrones and plans: a repeated request is answered from the
snapshot's LRU (same bytes, same ETag, 304 on If-None-Match, counted as a hit
of the ``answers`` cache); a new revision of the data gives the new answer at
once; requests about "now" and other formats / languages / bodies never share
an answer; ``answer_cache_mb = 0`` keeps none.  The data change through the
real store (a venue added), the server reloads as it does in production.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from geosvc.model import Channel, Venue, VenueKind
from geosvc.web import create_app
from tests.web.citydata import add_venue

COVERAGE = "/api/v1/coverage?mode=straight&minutes=7"
ISO = "/api/v1/isochrones?mode=straight&lon=118.7585&lat=30.9405&minutes=5,10"
PLAN = {"mode": "straight", "minutes": 7, "k": 1}


@pytest.fixture()
def city(city_db: Path, tmp_path: Path) -> Path:
    """A private copy of the small city (the tests write to it)."""
    return Path(shutil.copy(city_db, tmp_path / "city.sqlite"))


def _app(db: Path, **config):
    return create_app({"TESTING": True, "db": str(db), "osm": None, **config})


def _lookups(client, result: str) -> float:
    text = client.get("/metrics").get_data(as_text=True)
    pattern = r'geosvc_cache_lookups_total\{cache="answers",result="' + result + r'"\} (\S+)'
    m = re.search(pattern, text)
    return float(m.group(1)) if m else 0.0


def test_repeated_coverage_is_served_from_the_cache(city: Path) -> None:
    app = _app(city)
    client = app.test_client()
    first = client.get(COVERAGE)
    assert first.status_code == 200
    hits = _lookups(client, "hit")
    again = client.get(COVERAGE)
    assert again.status_code == 200
    assert again.get_data() == first.get_data()
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Content-Type"] == first.headers["Content-Type"]
    assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
    assert _lookups(client, "hit") == hits + 1
    assert len(app.extensions["geosvc.answers"]) == 1
    not_modified = client.get(COVERAGE, headers={"If-None-Match": first.headers["ETag"]})
    assert not_modified.status_code == 304


def test_a_new_revision_answers_anew(city: Path) -> None:
    app = _app(city)
    client = app.test_client()
    before = client.get(COVERAGE).get_json()
    assert before["covered_population"] == 800.0  # P1 + P3 (tests/web/test_straight.py)
    # a kiosk next to P4 (118.7300, 30.9700), the only resident far from every venue
    add_venue(city, Venue("XC-K-09", "新建自助终端", VenueKind.KIOSK, 118.7301, 30.9701, None,
                          frozenset({Channel.SELF_SERVICE}), opening_hours="24/7"))
    assert app.extensions["geosvc"].reload() is True
    after = client.get(COVERAGE).get_json()
    assert after["covered_population"] == 1300.0  # + P4's 500
    assert after["venues_used"] == before["venues_used"] + 1


def test_variants_never_share_an_answer(city: Path) -> None:
    client = _app(city).test_client()
    as_json = client.get(COVERAGE)
    as_csv = client.get(COVERAGE + "&f=csv")
    assert as_csv.headers["Content-Type"].startswith("text/csv")
    assert as_csv.get_data() != as_json.get_data()
    assert client.get(COVERAGE).headers["Content-Type"] == as_json.headers["Content-Type"]
    zh = client.get(COVERAGE + "&f=html&lang=zh").get_data(as_text=True)
    en = client.get(COVERAGE + "&f=html&lang=en").get_data(as_text=True)
    assert "lang='zh-CN'" in zh and "lang='en'" in en
    assert client.get(COVERAGE + "&f=html&lang=zh").get_data(as_text=True) == zh
    by_accept = client.get(COVERAGE, headers={"Accept": "text/csv"})
    assert by_accept.get_data() == as_csv.get_data()
    other = client.get("/api/v1/coverage?mode=straight&minutes=15").get_json()
    assert other["covered_population"] == 1500.0


def test_isochrones_and_plans_are_kept_per_request(city: Path) -> None:
    app = _app(city)
    client = app.test_client()
    iso = client.get(ISO)
    assert iso.status_code == 200 and client.get(ISO).get_data() == iso.get_data()
    plan = client.post("/api/v1/plans", json=PLAN)
    assert plan.status_code == 200
    assert [s["id"] for s in plan.get_json()["selected"]] == ["XC-B-03"]
    assert client.post("/api/v1/plans", json=PLAN).get_data() == plan.get_data()
    kiosks = client.post("/api/v1/plans", json={
        **PLAN, "minutes": 5, "k": 2, "candidates": "kiosk_sites", "solver": "greedy"})
    assert kiosks.status_code == 200  # another body: another answer
    assert kiosks.get_json()["candidates"] == "kiosk_sites"
    assert len(app.extensions["geosvc.answers"]) == 3


def test_answers_about_now_are_not_kept(city: Path) -> None:
    app = _app(city)
    client = app.test_client()
    assert client.get(COVERAGE + "&open_now=true").status_code == 200
    assert client.post("/api/v1/plans", json={
        **PLAN, "filters": {"open_now": True}}).status_code in (200, 400)
    assert len(app.extensions.get("geosvc.answers", ())) == 0
    assert client.get(COVERAGE + "&open_now=false").status_code == 200
    assert len(app.extensions["geosvc.answers"]) == 1


def test_errors_are_not_kept_and_zero_keeps_nothing(city: Path) -> None:
    app = _app(city)
    client = app.test_client()
    assert client.get("/api/v1/coverage?mode=straight&minutes=0").status_code == 400
    assert len(app.extensions.get("geosvc.answers", ())) == 0
    off = _app(city, answer_cache_mb=0)
    c2 = off.test_client()
    a, b = c2.get(COVERAGE), c2.get(COVERAGE)
    assert a.get_data() == b.get_data()
    assert "geosvc.answers" not in off.extensions


def test_the_budget_bounds_the_memory(city: Path) -> None:
    app = _app(city, answer_cache_mb=0.05)  # 52 KB: a 13 KB cap per answer
    client = app.test_client()
    for minutes in range(1, 40):
        resp = client.get(f"/api/v1/coverage?mode=straight&minutes={minutes}")
        assert resp.status_code == 200
    cache = app.extensions["geosvc.answers"]
    used = cache.bytes_used()
    assert 0 < used <= cache.max_bytes
    assert len(cache) < 39  # the oldest answers were dropped


def test_settings_refuse_a_negative_budget(city: Path) -> None:
    from geosvc.errors import ConfigError

    with pytest.raises(ConfigError, match="answer_cache_mb"):
        _app(city, answer_cache_mb=-1)

