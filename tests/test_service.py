"""GeoService: snapshot built from the store, swapped whole on reload."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path
from typing import Any

import pytest

from geosvc.app.service import GeoService
from geosvc.config import Settings
from geosvc.errors import ConfigError, ModeUnavailable
from geosvc.model import Channel, Link, Venue, VenueKind
from tests.web.citydata import add_venue, build_city_db


@pytest.fixture()
def city(tmp_path: Path) -> Path:
    return build_city_db(tmp_path / "city.sqlite")


def make(db: Path, **more) -> GeoService:
    return GeoService(Settings.load(env={}, overrides={"db": str(db), **more}))


def test_snapshot_reflects_the_store(city: Path) -> None:
    svc = make(city)
    snap = svc.snapshot
    assert len(snap.index.venues) == 10 and len(snap.index.items) == 5
    assert snap.info.name == "测试城市" and str(snap.tz) == "Asia/Shanghai"
    assert snap.revision >= 1 and snap.built_at.tzinfo is not None
    assert len(snap.venue_props) == 10 and snap.venue_props[0]["name"] == "宣城市政务服务中心"
    assert svc.networks == {}


def test_reload_swaps_whole_and_keeps_old_snapshot(city: Path) -> None:
    svc = make(city)
    old = svc.snapshot
    old_index, old_props = old.index, old.venue_props
    assert svc.reload() is False and svc.snapshot is old  # nothing changed
    kiosk = Venue("XC-K-09", "新增自助终端", VenueKind.KIOSK, 118.761, 30.943,
                  channels=frozenset({Channel.SELF_SERVICE}), opening_hours="24/7")
    rev = add_venue(city, kiosk, [Link("XC-K-09", "SB-01", frozenset({Channel.SELF_SERVICE}))])
    assert old.revision < rev
    assert svc.snapshot is old  # no reload yet: readers still see the old data
    assert svc.reload() is True
    new = svc.snapshot
    assert new is not old and new.revision == rev
    assert new.index.position("XC-K-09") is not None and len(new.index.venues) == 11
    # the old snapshot a reader may still hold is untouched
    assert old.index is old_index and old.venue_props is old_props
    assert old.index.position("XC-K-09") is None and len(old.index.venues) == 10
    assert len(old.index.item_venue_positions("SB-01")) == 6
    assert len(new.index.item_venue_positions("SB-01")) == 7
    assert svc.reload(force=True) is True and svc.snapshot is not new


def test_missing_database_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        make(tmp_path / "nope.sqlite")


def test_missing_osm_file_is_a_config_error(city: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="`osm`"):
        make(city, osm=str(tmp_path / "nope.osm.pbf"))


@pytest.mark.parametrize("mode", ["walk", "bike", "drive"])
def test_travel_without_network_is_mode_unavailable(city: Path, mode: str) -> None:
    svc = make(city)
    with pytest.raises(ModeUnavailable, match=f"`mode` {mode} is not available"):
        svc.travel(mode)


def test_maybe_reload_picks_up_an_import_after_the_interval(tmp_path):
    """A running app sees a new import within `reload_interval_s`, not before."""
    import time as _time

    from geosvc.app.service import GeoService
    from geosvc.config import Settings

    db = build_city_db(tmp_path / "city.sqlite")
    svc = GeoService(Settings.load(env={}, overrides={"db": str(db), "reload_interval_s": 60}))
    before = svc.snapshot
    t0 = _time.monotonic()
    add_venue(db, _extra_kiosk())
    assert svc.maybe_reload(now=t0 + 1) is False  # inside the interval: no store read
    assert svc.snapshot is before
    assert svc.maybe_reload(now=t0 + 61) is True
    assert svc.snapshot is not before
    assert len(svc.snapshot.index.venues) == len(before.index.venues) + 1
    assert svc.maybe_reload(now=t0 + 200) is False  # checked again, nothing new


def test_app_serves_new_import_without_restart(tmp_path):
    from geosvc.web import create_app

    db = build_city_db(tmp_path / "city.sqlite")
    app = create_app({"TESTING": True, "db": str(db), "reload_interval_s": 0.01})
    client = app.test_client()
    n0 = client.get("/healthz").get_json()["venues"]
    add_venue(db, _extra_kiosk())
    import time as _time

    # the background reloader builds the new snapshot off the request path: requests
    # keep answering meanwhile, and the import shows within the interval + build time
    deadline = _time.monotonic() + 10
    seen = n0
    while seen == n0 and _time.monotonic() < deadline:
        _time.sleep(0.02)
        seen = client.get("/healthz").get_json()["venues"]
    assert seen == n0 + 1


def _extra_kiosk() -> Venue:
    return Venue("XC-K-99", "新增自助终端", VenueKind.KIOSK, 118.762, 30.944,
                 channels=frozenset({Channel.SELF_SERVICE}), opening_hours="24/7")


@pytest.mark.parametrize(("name", "text"), [("s.json", "{bad"), ("s.yaml", "a: [\n")])
def test_unparseable_settings_file_is_a_config_error(tmp_path: Path, name: str,
                                                    text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=f"settings file `{path}` is not valid"):
        Settings.load(file=path, env={})


def test_population_is_read_once_per_revision(city: Path) -> None:
    from geosvc.model import PopulationCell
    from geosvc.store import open_store
    from geosvc.store.base import Batch

    svc = make(city)
    first = svc.population()
    assert [c.code for c in first] == ["P1", "P2", "P3", "P4"]
    assert svc.population() is first  # cached: no store read per request
    store = open_store(str(city))
    try:
        store.write(Batch(population=[PopulationCell(118.75, 30.95, 100.0, code="P5")]))
    finally:
        store.close()
    assert svc.population() is first  # the snapshot's revision has not changed
    assert svc.reload() is True
    assert [c.code for c in svc.population()][-1] == "P5"


def test_bad_timezone_setting_is_a_config_error():
    with pytest.raises(ConfigError, match="`timezone` 'Mars/Base'"):
        Settings.load(env={"GEOSVC_TIMEZONE": "Mars/Base"})


def test_a_reload_warms_the_routers_in_use_before_the_swap(tmp_path: Path) -> None:
    """Issue 11 finding 3: after an import, the first request paid for the rebuild."""
    import time as _time

    from geosvc.web import create_app

    db = build_city_db(tmp_path / "city.sqlite")
    app = create_app({"TESTING": True, "db": str(db), "reload_interval_s": 0.02})
    svc = app.extensions["geosvc"]
    client = app.test_client()
    assert client.get("/api/v1/nearest?lon=118.76&lat=30.94").status_code == 200
    old = svc.snapshot
    add_venue(db, _extra_kiosk())
    deadline = _time.monotonic() + 10
    while svc.snapshot is old and _time.monotonic() < deadline:
        _time.sleep(0.01)  # no request meanwhile: the background thread does the work
    new = svc.snapshot
    assert new.revision == old.revision + 1 and svc.last_reload_s is not None
    # the straight router the old snapshot used was built for the new one before the swap
    assert (new.revision, "straight") in svc._engines
    assert svc.travel("straight", new) is svc._engines[(new.revision, "straight")]
    ids = [f["id"] for f in client.get(
        "/api/v1/nearest?lon=118.762&lat=30.944&k=1").get_json()["features"]]
    assert ids == ["XC-K-99"]
    svc.stop_reloader()


def _child_after_fork(svc: GeoService, queue: Any) -> None:
    router = svc.travel("straight")  # a miss: needs the service lock the parent held
    svc.ensure_reloader()  # a worker of a reloading master: starts nothing
    queue.put((type(router).__name__, threading.active_count(), svc._reloader is None))


def test_a_worker_forked_mid_build_gets_fresh_locks_and_no_reloader(city: Path) -> None:
    """The serve master forks workers; a parent thread's held lock must not hang them."""
    svc = make(city, reload_interval_s=60)
    svc.reload_in_master()
    held, release = threading.Event(), threading.Event()

    def builder() -> None:  # stands for the master's reloader in the middle of a build
        with svc._lock:
            held.set()
            release.wait(30)

    thread = threading.Thread(target=builder, daemon=True)
    thread.start()
    assert held.wait(10)
    ctx = multiprocessing.get_context("fork")  # as gunicorn: the point of the test
    queue = ctx.Queue()
    proc = ctx.Process(target=_child_after_fork, args=(svc, queue), daemon=True)
    proc.start()
    try:
        got = queue.get(timeout=30)
    finally:
        release.set()
        proc.join(timeout=30)
        if proc.is_alive():  # pragma: no cover - a stuck child must not hang the session
            proc.kill()
    thread.join(10)
    assert proc.exitcode == 0
    assert got == ("StraightRouter", 1, True)


def test_paused_reloads_hold_off_a_reload_and_never_wait(city: Path) -> None:
    """The master forks only in paused_reloads(): no rebuild runs meanwhile."""
    svc = make(city)
    old = svc.snapshot
    add_venue(city, _extra_kiosk())
    with svc.paused_reloads() as paused:
        assert paused is True
        with svc.paused_reloads() as again:  # busy: answers at once, does not wait
            assert again is False
        done = threading.Event()
        thread = threading.Thread(target=lambda: (svc.reload(), done.set()), daemon=True)
        thread.start()
        assert not done.wait(0.5) and svc.snapshot is old  # the reload waits for the pause
    assert done.wait(30) and svc.snapshot.revision == old.revision + 1


def test_venue_properties_remembered_per_position_equal_made_afresh(city: Path) -> None:
    """The remembered properties of a position equal ones made from its Venue, every time."""
    from geosvc.app import records  # lazy: module internals of this test only

    snap = make(city).snapshot
    index, props = snap.index, snap.venue_props
    assert isinstance(props, records.VenueProperties)
    for pos in range(len(index)):
        venue = index.venue(pos)
        fresh = records._properties(index, pos, venue)
        assert fresh["items_count"] == len(index.venue_items(pos))
        for _ in range(2):  # made, then remembered
            code, lon, lat, got = props.located(pos)
            assert (code, lon, lat) == (venue.code, venue.lon, venue.lat)
            assert got == fresh and props[pos] == fresh and props[pos - len(index)] == fresh
    assert list(props) == [props[p] for p in range(len(index))] == props[:]
    with pytest.raises(IndexError):
        props.located(len(index))


def test_venue_properties_are_the_callers_own_and_the_memo_is_bounded(
        city: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A caller may change the dict (and its channel list) it got; the memo stays bounded."""
    from geosvc.app import records  # lazy: module internals of this test only

    snap = make(city).snapshot
    props = snap.venue_props
    first = props[0]
    first["open"] = True
    first["channels"].append("changed")
    again = props[0]
    assert "open" not in again and "changed" not in again["channels"]
    monkeypatch.setattr(records, "_MEMO_MAX", 3)
    for pos in range(len(snap.index)):
        props[pos]
        assert len(props._memo) <= 3
