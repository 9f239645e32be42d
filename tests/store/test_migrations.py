"""Numbered store migrations, on every backend: the v1 fixture is migrated in place.

The fixtures ``tests/data/store/v1.sqlite`` and ``v1_postgis.sql`` were written
by the store code of schema v1 (``scripts/make_v1_fixture.py``); each test
works on a fresh copy.  The ``harness`` fixture runs every test against each
registered backend and reads the database behind the store's back.
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from typing import Any

import pytest

from geosvc import vocab
from geosvc.errors import InvalidParameter, StorageUnavailable
from geosvc.model import Venue
from geosvc.store import Batch, migrations, open_store
from geosvc.store.migrations import MIGRATIONS, Migration

from .harness import Harness
from .v1_fixture import expected, read_all

LATEST = migrations.SCHEMA_VERSION
#: The log of a migrated v1 database: migration 1 ran before the log existed.
V1_LOG = [(m.number, m.description, m.number > 1) for m in MIGRATIONS]


def _kind_venue(kind: str, code: str) -> Venue:
    return Venue(code=code, name=code, kind=kind, lon=117.0, lat=31.0,  # type: ignore[arg-type]
                 level=vocab.Level.CITY)


def _with_status(rows: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """Return v1 rows as migration 3 leaves them: ``status`` appended to each venue row.

    Back-filled by the old rule: the one bank outlet without channels (B2) is a
    candidate, every other venue in service.
    """
    venues = [(*row, "candidate" if row[1] == "B2" else "in_service")
              for row in rows["venues"]]
    return {**rows, "venues": venues}


#: What migration 4 appends to every item row: an empty guide (flags 0 / false).
GUIDE_V4 = ("[]", "", "", None, None, "", 0, 0, 0)


def _as_migrated(rows: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """Return v1 rows as the latest migration leaves them: statuses (3), empty guides (4)."""
    rows = _with_status(rows)
    return {**rows, "items": [(*row, *GUIDE_V4) for row in rows["items"]]}


def _extra(*steps: Any, description: str = "test migration") -> tuple[Migration, ...]:
    """Return MIGRATIONS plus one migration running ``steps`` on both backends."""
    return (*MIGRATIONS, Migration(LATEST + 1, description, sqlite=steps, postgis=steps))


# ---------------------------------------------------------------------- the v1 fixture

def test_v1_fixture_is_migrated_in_place_with_every_row_intact(harness: Harness) -> None:
    """Opening a v1 database migrates it: same rows, new version, log, registry kinds."""
    url = harness.v1_url()
    assert harness.version(url) == 1 and harness.log(url) is None
    rows = harness.rows(url)
    with open_store(url, create=False) as store:
        assert read_all(store) == expected()
        assert harness.version(url) == LATEST
        # every stored row, in storage order; venues gained `status` (migration 3),
        # items an empty guide (migration 4)
        assert harness.rows(url) == _as_migrated(rows)
        assert [v.status for v in store.venues()] == [
            "in_service", "in_service", "in_service", "candidate", "in_service",
            "in_service"]
        assert harness.log(url) == V1_LOG
        venues = [_kind_venue(code, f"N-{code}") for code in vocab.KINDS.codes()]
        result = store.write(Batch(venues=venues))
        assert result["venues"].created == len(vocab.KINDS) and result.revision == 3
        with pytest.raises(InvalidParameter, match="constraint"):
            store.write(Batch(venues=[_kind_venue("castle", "N-x")]))
    with open_store(url) as again:  # nothing left to migrate
        assert again.revision() == 3 and harness.log(url) == V1_LOG


def test_a_migrated_v1_schema_equals_a_fresh_one(harness: Harness) -> None:
    """Fresh databases run every migration from empty: both paths give one schema."""
    old, new = harness.v1_url(), harness.fresh_url()
    open_store(old).close()
    open_store(new).close()
    assert harness.schema(old) == harness.schema(new)
    assert harness.version(new) == LATEST
    assert harness.log(new) == [(m.number, m.description, True) for m in MIGRATIONS]


def test_a_failed_migration_leaves_the_database_untouched(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A migration failing after others ran rolls all back: same bytes, rows and version."""
    url = harness.v1_url()
    before = harness.snapshot(url)
    steps = ("CREATE TABLE half_done (x integer)", "INSERT INTO no_such_table VALUES (1)")
    monkeypatch.setattr(migrations, "MIGRATIONS", _extra(*steps, description="boom"))
    with pytest.raises(StorageUnavailable, match=(
            f"migrated from schema version 1 to {LATEST + 1} "
            rf"\(migration {LATEST + 1}, 'boom', failed: .*no_such_table.*\); "
            "it was left unchanged at version 1")) as err:
        open_store(url)
    assert err.value.status == 503
    assert harness.snapshot(url) == before
    monkeypatch.undo()  # the real migrations still apply afterwards
    with open_store(url) as store:
        assert read_all(store) == expected()
    assert harness.version(url) == LATEST


def test_a_v1_kind_missing_from_the_registry_stops_the_migration(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Venues whose kind the registry lacks fail migration 2's foreign key; nothing changes."""
    url = harness.v1_url()
    before = harness.snapshot(url)
    kept = tuple(e for e in vocab.KINDS.entries if e.code != "kiosk")
    monkeypatch.setattr(vocab, "KINDS", vocab.Registry("venue kind", kept))
    with pytest.raises(StorageUnavailable, match="migration 2,.*left unchanged at version 1"):
        open_store(url)
    assert harness.snapshot(url) == before


def _slow(conn: Any) -> None:
    time.sleep(0.5)  # keep the migration transaction open while the others arrive


def _with_once_only() -> tuple[Migration, ...]:
    """MIGRATIONS plus a slow step whose CREATE TABLE fails if the migration ran twice."""
    return _extra(_slow, "CREATE TABLE once_only (x integer)")


def _open_and_report(url: str, queue: Any) -> None:
    # a spawned child imports geosvc afresh: it patches the list as the test did
    migrations.MIGRATIONS = _with_once_only()
    try:
        open_store(url).close()
        queue.put("ok")
    except StorageUnavailable as exc:  # pragma: no cover - reported by the test
        queue.put(str(exc))


def test_concurrent_openers_migrate_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Processes opening an old database at once queue; only the first migrates."""
    url = harness.v1_url()
    monkeypatch.setattr(migrations, "MIGRATIONS", _with_once_only())  # for harness.log below
    # spawned, not forked: a child forked from this many-threaded test process (servers,
    # OpenMP pools) could deadlock on a lock another thread held, and hang the session's exit
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_open_and_report, args=(url, queue), daemon=True)
             for _ in range(3)]
    for p in procs:
        p.start()
    try:
        got = [queue.get(timeout=120) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():  # pragma: no cover - never leave a child behind
                p.kill()
    assert got == ["ok"] * 3
    assert harness.version(url) == LATEST + 1
    log = harness.log(url)
    assert log is not None and [n for n, _, _ in log] == list(range(1, LATEST + 2))


# ---------------------------------------------------------------------- the list itself

def test_migrations_are_numbered_without_gaps(monkeypatch: pytest.MonkeyPatch) -> None:
    """A gap or a repeat in the numbers is a developer error caught before any step runs."""
    assert [m.number for m in MIGRATIONS] == list(range(1, LATEST + 1))
    assert migrations.latest() == LATEST
    gap = (*MIGRATIONS, Migration(LATEST + 2, "gap", sqlite=(), postgis=()))
    monkeypatch.setattr(migrations, "MIGRATIONS", gap)
    with pytest.raises(ValueError, match="without gaps"):
        migrations.pending(1)


def test_rebuild_sqlite_table_keeps_rows_order_and_indexes() -> None:
    """The SQLite rebuild helper keeps rowids (order), common columns and indexes."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE t (code TEXT PRIMARY KEY, v INTEGER CHECK (v < 10), gone TEXT)")
    conn.execute("CREATE INDEX t_v ON t (v)")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?)", [("b", 1, "x"), ("a", 2, "y")])
    conn.execute("UPDATE t SET v = 3 WHERE code = 'b'")
    step = migrations.rebuild_sqlite_table(
        "t", "CREATE TABLE t (code TEXT PRIMARY KEY, v INTEGER CHECK (v < 100), new TEXT)")
    step(conn)
    assert conn.execute("SELECT rowid, * FROM t ORDER BY rowid").fetchall() == [
        (1, "b", 3, None), (2, "a", 2, None)]
    conn.execute("INSERT INTO t (code, v) VALUES ('c', 50)")  # the new CHECK holds
    assert conn.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                        "AND sql IS NOT NULL").fetchall() == [("t_v",)]
    with pytest.raises(ValueError, match="must start with"):
        migrations.rebuild_sqlite_table("t", "CREATE TABLE other (x)")
