"""The SQLite store's columnar (ADBC + Arrow) read equals its sqlite3 read, column by column."""

from __future__ import annotations

import itertools
import logging
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from geosvc.model import Channel, Level, Link, ServiceItem, Status, Venue, VenueKind
from geosvc.store import _arrow
from geosvc.store._sql import SQLStore
from geosvc.store.base import Batch
from geosvc.store.sqlite import SQLiteStore
from geosvc.table import LinkTable, OptText, PackedText, VenueTable
from tests.store.records import ITEMS, LINKS, VENUES

CHANNEL_SETS = [frozenset(c) for n in range(len(Channel) + 1)
                for c in itertools.combinations(Channel, n)]
TEXTS = [None, "", "梅溪路 88 号", "a", "x" * 40, "宣城市政务服务中心（东区）", "emoji 🏛"]


def _messy(n: int) -> tuple[list[Venue], list[Link]]:
    """``n`` venues cycling every kind, level, status, channel set and text shape."""
    venues = []
    for i in range(n):
        kind = tuple(VenueKind)[i % len(VenueKind)]
        chans = CHANNEL_SETS[i % len(CHANNEL_SETS)]
        if kind is VenueKind.HALL and Channel.WINDOW not in chans:
            chans = chans | {Channel.WINDOW}
        t = TEXTS[i % len(TEXTS)]
        sparse = t if i % 5 == 0 else None  # under half the rows: a sparse OptText
        venues.append(Venue(
            f"V{i}" if i % 3 else f"场所{i}", TEXTS[2 + i % 5] or "n", kind,
            -180.0 + (i * 0.37) % 360, -90.0 + (i * 0.11) % 180,
            level=(None, *Level)[i % (len(Level) + 1)], channels=chans,
            area_code=(None, "D1", "", "宣州")[i % 4], area_name=t, address=sparse,
            phone=None if i % 7 else "0563",
            opening_hours=(None, "24/7", "Mo-Fr 09:00-17:00")[i % 3],
            official_calendar=bool(i % 2), accessible=bool(i % 3),
            cross_province=bool(i % 5 == 1),
            regional=bool(i % 4 == 2), bank=sparse, machines=(None, 0, 3, 2**40)[i % 4],
            name_en=None, source=t, status=tuple(Status)[i % len(Status)]))
    links = [Link(v.code, ("I1", "I2")[j], CHANNEL_SETS[(k + j) % len(CHANNEL_SETS)])
             for k, v in enumerate(venues) for j in range(k % 3)]
    return venues, links


def _both(path: Path) -> tuple[Any, tuple[VenueTable, LinkTable]]:
    """The columnar read and the sqlite3 read of the same store."""
    store = SQLiteStore(path)
    try:
        revision = store.revision()
        fast = _arrow.read_columns(path, revision)
        conn = store._conn()
        slow = SQLStore._columns(store, conn.execute, revision)
        return fast, slow
    finally:
        store.close()


def _same_columns(fast: Any, slow: tuple[VenueTable, LinkTable]) -> None:
    assert fast is not None, "the columnar read fell back"
    for got, want in zip(fast, slow, strict=True):
        assert type(got) is type(want)
        for f in got.__dataclass_fields__:
            a, b = getattr(got, f), getattr(want, f)
            if isinstance(a, (OptText, PackedText)) or isinstance(b, (OptText, PackedText)):
                assert len(a) == len(b) and a.tolist() == b.tolist(), f
            else:
                assert type(a) is type(b), f
                if isinstance(a, np.ndarray):
                    assert a.dtype == b.dtype and a.tolist() == b.tolist(), f
                else:
                    assert a == b, f
        assert got == want
        assert list(got) == list(want)


@pytest.mark.parametrize("n", [0, 1, 2, 40, _arrow.BATCH_ROWS + 3])
def test_columnar_read_equals_sqlite3(tmp_path: Path, n: int) -> None:
    venues, links = _messy(n)
    items = [ServiceItem("I1", "社保卡补领"), ServiceItem("I2", "营业执照")]
    with SQLiteStore(tmp_path / "m.db") as store:
        store.write(Batch(venues=venues, items=items, links=links))
    fast, slow = _both(tmp_path / "m.db")
    _same_columns(fast, slow)
    assert len(fast[0]) == n and len(fast[1]) == len(links)
    if n:
        assert fast[0].venue(n - 1) == venues[-1]


def test_columnar_read_of_the_store_fixtures(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "f.db") as store:
        store.write(Batch(venues=VENUES, items=ITEMS, links=LINKS))
        assert store.read().venues == VENUES and store.read().links == LINKS
    _same_columns(*_both(tmp_path / "f.db"))


def test_null_only_first_batch_does_not_change_types(tmp_path: Path) -> None:
    """A column NULL in every row of the first batch and set later (the driver's trap)."""
    n = _arrow.BATCH_ROWS + 5
    venues = [Venue(f"V{i}", "n", VenueKind.KIOSK, 1.0, 2.0,
                    channels=frozenset({Channel.SELF_SERVICE}),
                    phone="0563" if i >= n - 2 else None,
                    machines=7 if i == n - 1 else None,
                    level=Level.VILLAGE if i == n - 1 else None) for i in range(n)]
    with SQLiteStore(tmp_path / "t.db") as store:
        store.write(Batch(venues=venues))
    _same_columns(*_both(tmp_path / "t.db"))


def test_falls_back_to_sqlite3_and_says_why(tmp_path: Path,
                                            caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "s.db"
    with SQLiteStore(path) as store:
        store.write(Batch(venues=VENUES, items=ITEMS, links=LINKS))
        revision = store.revision()
    with caplog.at_level(logging.INFO, logger="geosvc.store._arrow"):
        assert _arrow.read_columns(path, revision + 1) is None  # another revision
    assert "revision moved" in caplog.text
    with sqlite3.connect(path) as raw:  # a value the columnar types cannot hold
        raw.execute("PRAGMA ignore_check_constraints = 1")
        raw.execute("UPDATE venues SET machines = 'many' WHERE code = 'B1'")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="geosvc.store._arrow"):
        assert _arrow.read_columns(path, revision) is None  # never cast to a number
    assert "columnar read failed" in caplog.text
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE venues SET machines = 2 WHERE code = 'B1'")
    assert _arrow.read_columns(path, revision) is not None
    with sqlite3.connect(path) as raw:  # a flag stored as text: not read as a number either
        raw.execute("UPDATE venues SET accessible = '' WHERE code = 'B1'")
    assert _arrow.read_columns(path, revision) is None
    assert _arrow.read_columns(tmp_path / "missing.db", revision) is None


def test_store_read_uses_the_columnar_columns(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """``read()`` (no cache) hands out the Arrow-built columns, equal to the records."""
    monkeypatch.setattr(SQLiteStore, "COLUMNAR_MIN_ROWS", 1)  # a small store goes columnar too
    venues, links = _messy(300)
    with SQLiteStore(tmp_path / "r.db") as store:
        store.write(Batch(venues=venues, items=[ServiceItem("I1", "a"), ServiceItem("I2", "b")],
                          links=links))
        got = store.read()
    assert isinstance(got.venues.code, PackedText)  # built from Arrow buffers
    assert got.venues == venues and got.links == links


def test_cold_cached_read_is_written_by_the_child(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """With a snapshot cache the child writes the revision's files; this process maps them."""
    from geosvc.store.snapcache import SnapshotCache

    monkeypatch.setattr(SQLiteStore, "COLUMNAR_MIN_ROWS", 1)
    venues, links = _messy(300)
    items = [ServiceItem("I1", "a"), ServiceItem("I2", "b")]
    cache = SnapshotCache(tmp_path / "snap", min_venues=0)
    with SQLiteStore(tmp_path / "c.db") as store:
        store.write(Batch(venues=venues, items=items, links=links))

        def not_here(*args: Any) -> None:
            pytest.fail("the columns were read into this process")

        with monkeypatch.context() as m:
            m.setattr(_arrow, "read_columns", not_here)
            got = store.read(cache)
        assert got.cache_dir is not None and (got.cache_dir / "manifest.json").is_file()
        assert isinstance(got.venues.code, PackedText)
        assert not got.venues.lon.flags.writeable and not got.venues.lon.flags.owndata
        assert got.venues == venues and got.links == links
        again = store.read(cache)  # warm: the same directory, mapped
        assert again.cache_dir == got.cache_dir and again.venues == venues
    # a child that cannot read (a flag stored as text, never read as a number): nothing
    # is published by it, the rows are read with sqlite3 and written from this process
    with sqlite3.connect(tmp_path / "c.db") as raw:
        raw.execute("PRAGMA ignore_check_constraints = 1")
        raw.execute(f"UPDATE venues SET accessible = '' WHERE code = '{venues[1].code}'")
        raw.execute("UPDATE meta SET value = value + 1 WHERE key = 'revision'")
    starts: list[Path] = []
    child = _arrow.write_columns

    def counted(path: Path, *args: Any) -> bool:
        starts.append(path)
        return child(path, *args)

    with SQLiteStore(tmp_path / "c.db") as store, monkeypatch.context() as m:
        m.setattr(_arrow, "write_columns", counted)
        m.setattr(_arrow, "read_columns", not_here)  # no second child: the plain rows
        bad = store.read(cache)
    assert len(starts) == 1
    assert bad.cache_dir is not None and bad.cache_dir != got.cache_dir
    assert bad.venues[1].accessible is False and len(bad.venues) == 300
    assert bad.venues[2:] == venues[2:]
    assert not list((tmp_path / "snap").rglob(".tmp-*"))
