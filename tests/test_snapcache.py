"""The snapshot cache (geosvc.store.snapcache): columns per store revision, mapped back.

Real SQLite stores in tmp directories; every check compares what comes from
the cache with what the store itself reads.  The contract suite
(tests/store/test_store_contract.py) runs the round trip on every backend.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from geosvc.app.dataset import build_index, snapshot_cache
from geosvc.app.service import GeoService
from geosvc.cli import main
from geosvc.config import Settings
from geosvc.index import PARTS_FORMAT, ServiceIndex
from geosvc.index._textkernel import fnv1a, hash_rows
from geosvc.model import Channel, DatasetInfo, Level, Link, ServiceItem, Venue, VenueKind
from geosvc.store import Batch, open_store
from geosvc.store.snapcache import FORMAT_VERSION, SnapshotCache, release
from geosvc.table import PackedText, VenueTable
from tests.web.citydata import add_venue, build_city_db

W, S = Channel.WINDOW, Channel.SELF_SERVICE
#: Odd but valid strings: empty, CJK, full-width, control characters, combining
#: marks, astral-plane emoji, line/paragraph separators, a lone NUL.
ODD = ["", "政务服务中心", "ｆｕｌｌ－ｗｉｄｔｈ　空格", "tab\there", "line\nbreak",
       "emoji 🏛️👩‍👩‍👧", "e\u0301 combining",
       "\u2028sep\u2029", "nul\x00inside", "  padded  ", "ascii"]
ITEMS = [ServiceItem("I1", "社保卡补领"), ServiceItem("I2", "营业执照")]


def _venues(n: int = 60, tag: str = "") -> list[Venue]:
    kinds = list(VenueKind)
    out = []
    for i in range(n):
        odd = ODD[i % len(ODD)]
        out.append(Venue(
            f"V{i:03d}{ODD[i % 3 + 1] if i % 5 == 0 else ''}", f"{tag}{odd}#{i}",
            kinds[i % 3], 118.0 + i * 0.001, 30.0 + (i % 7) * 0.002,
            Level.CITY if i % 4 == 0 else None,
            frozenset() if i % 9 == 0 else frozenset({W, S} if i % 2 else {W}),
            area_code=None if i % 6 == 0 else f"区{i % 4}",
            area_name=odd if i % 2 else None,  # dense with None
            address=None if i % 3 else odd,  # sparse, "" kept apart from None
            phone="" if i % 10 == 0 else None,
            opening_hours=("24/7", None, "Mo-Fr 09:00-17:00")[i % 3],
            official_calendar=bool(i % 2), accessible=i % 3 == 0,
            bank=None if i % 7 else "银行", machines=None if i % 4 else i,
            name_en=odd if i % 5 == 0 else None, source=f"osm:node/{i}" if i % 2 else None))
    return out


def _links(venues: list[Venue]) -> list[Link]:
    return [Link(v.code, f"I{i % 2 + 1}", frozenset({W})) for i, v in enumerate(venues)
            if i % 4]


def _store(path: Path, venues: list[Venue] | None = None) -> Path:
    vs = _venues() if venues is None else venues
    with open_store(str(path)) as st:
        st.write(Batch(venues=vs, items=ITEMS, links=_links(vs),
                       info=DatasetInfo(name="odd", calendar=None)))
    return path


def _cache(tmp_path: Path) -> SnapshotCache:
    return SnapshotCache(tmp_path / "snap", min_venues=0)


def _same_answers(a: ServiceIndex, b: ServiceIndex) -> None:
    assert len(a) == len(b) and list(a.venues) == list(b.venues)
    rng = np.random.default_rng(5)
    for x, y in rng.uniform([117.99, 29.99], [118.07, 30.02], (25, 2)):
        pa, da = a.nearest_k(x, y, 4)
        pb, db = b.nearest_k(x, y, 4)
        assert pa.tolist() == pb.tolist() and da.tolist() == db.tolist()
        box = (x - 0.01, y - 0.005, x + 0.01, y + 0.005)
        assert a.query_bbox(box).tolist() == b.query_bbox(box).tolist()
    for p in range(len(a)):
        assert a.venue_items(p) == b.venue_items(p)
        code = a.venue(p).code
        assert a.position(code) == b.position(code) == p
    assert a.item_venue_positions("I1").tolist() == b.item_venue_positions("I1").tolist()
    assert b.position("nope") is None


def test_the_hash_is_the_same_in_python_and_compiled() -> None:
    packed = PackedText.pack(ODD)
    assert hash_rows(packed.blob, packed.offsets).tolist() == [fnv1a(s) for s in ODD]
    assert packed.tolist() == ODD and packed[1] == ODD[1] and packed[-1] == ODD[-1]
    assert PackedText.pack([None, "a", ""]).tolist() == [None, "a", ""]


def test_cache_round_trip_equals_the_store_read(tmp_path: Path) -> None:
    db = _store(tmp_path / "odd.sqlite")
    cache = _cache(tmp_path)
    with open_store(str(db)) as st:
        ref = st.read()  # no cache: the rows
        objects, link_objects = st.venues(), st.links()
        cold = st.read(cache)  # writes the revision's columns
        warm = st.read(cache)  # maps them
    assert ref.cache_dir is None and cold.cache_dir is not None
    assert warm.cache_dir == cold.cache_dir and cold.cache_dir.name == f"r{ref.revision}-f1"
    assert isinstance(cold.venues.code, PackedText)  # written, then mapped back
    assert cold.venues == ref.venues and cold.links == ref.links
    w = warm.venues
    assert isinstance(w, VenueTable) and isinstance(w.code, PackedText)
    assert w == ref.venues and list(w) == objects == list(ref.venues)  # every column, rows
    for f in dataclasses.fields(VenueTable):  # column by column, values and kinds
        a, b = getattr(w, f.name), getattr(ref.venues, f.name)
        got = a.tolist() if hasattr(a, "tolist") else a
        assert got == (b.tolist() if hasattr(b, "tolist") else b), f.name
    assert warm.links == ref.links and list(warm.links) == link_objects
    assert warm.items == ref.items and warm.info == ref.info and warm.revision == ref.revision
    assert w.address.tolist().count("") >= 1 and w.address.tolist().count(None) >= 1
    assert {v.name.split("#")[0] for v in w} == set(ODD)
    # an index built from the mapped columns (and its mapped parts) answers the same
    settings = Settings(cache_dir=str(tmp_path), snapshot_cache_min_venues=0)
    plain = ServiceIndex.build(ref.venues, ref.items, ref.links, info=ref.info)
    first = build_index(warm, settings)  # builds, writes the parts
    assert (warm.cache_dir / f"index-p{PARTS_FORMAT}" / "manifest.json").is_file()
    second = build_index(warm, settings)  # maps the parts
    _same_answers(plain, first)
    _same_answers(plain, second)
    # the cold build lets go of the columns' pages: they are read again when touched
    assert release(warm.venues, warm.links) >= 10 and release(ref.venues) == 0
    assert warm.venues == ref.venues and warm.links == ref.links


def test_cache_is_ignored_for_another_revision_or_store(tmp_path: Path) -> None:
    db = _store(tmp_path / "a.sqlite")
    cache = _cache(tmp_path)
    with open_store(str(db)) as st:
        first = st.read(cache)
        rev = first.revision
        st.write(Batch(venues=[dataclasses.replace(_venues()[3], name="renamed")]))
        second = st.read(cache)
        assert second.revision == rev + 1 and second.venues[3].name == "renamed"
        assert second.cache_dir != first.cache_dir  # the rows, not the old revision's files
        assert st.read(cache).venues == second.venues == st.venues()
        st.write(Batch(venues=[dataclasses.replace(_venues()[4], name="again")]))
        st.read(cache)
    # the newest two revisions are kept
    assert not first.cache_dir.exists() and second.cache_dir.exists()
    # the same revision of another store (a new file at the same path) is another key
    shutil.rmtree(tmp_path / "snap2", ignore_errors=True)
    other = SnapshotCache(tmp_path / "snap2", min_venues=0)
    with open_store(str(db)) as st:
        st.read(other)
    for extra in ("", "-wal", "-shm"):
        Path(f"{db}{extra}").unlink(missing_ok=True)
    _store(db, _venues(40, tag="new "))
    with open_store(str(db)) as st:
        again = st.read(other)
        assert again.revision == rev and [v.name for v in again.venues] == [
            v.name for v in st.venues()] and again.venues[0].name.startswith("new ")


def _damage(where: Path, how: str) -> None:
    if how == "truncated":
        f = where / "v.name.blob.npy"
        f.write_bytes(f.read_bytes()[:-7])
    elif how == "manifest":
        (where / "manifest.json").write_text("{not json", encoding="utf-8")
    elif how == "missing":
        (where / "v.lon.npy").unlink()
    elif how == "header":  # same size, not an array any more
        f = where / "l.item.npy"
        f.write_bytes(b"\x00" * f.stat().st_size)
    elif how == "offsets":  # a consistent file whose offsets do not span the blob
        np.save(where / "v.code.off.npy", np.zeros(61, dtype=np.int64))


@pytest.mark.parametrize("how", ["truncated", "manifest", "missing", "header", "offsets"])
def test_a_damaged_cache_falls_back_to_the_store_with_a_warning(
        tmp_path: Path, how: str, caplog: pytest.LogCaptureFixture) -> None:
    db = _store(tmp_path / "odd.sqlite")
    cache = _cache(tmp_path)
    with open_store(str(db)) as st:
        ref = st.read()
        where = st.read(cache).cache_dir
        assert where is not None
        _damage(where, how)
        with caplog.at_level(logging.WARNING, logger="geosvc.store.snapcache"):
            got = st.read(cache)
        assert got.venues == ref.venues and got.links == ref.links  # the rows, rewritten
        assert (where / "manifest.json").is_file() and not caplog.records[1:]
        assert any("unreadable" in r.getMessage() and "reading the store" in r.getMessage()
                   for r in caplog.records), [r.getMessage() for r in caplog.records]
        assert isinstance(st.read(cache).venues.code, PackedText)  # rewritten, mapped again


def test_damaged_index_parts_are_rebuilt_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = _store(tmp_path / "odd.sqlite")
    settings = Settings(cache_dir=str(tmp_path), snapshot_cache_min_venues=0)
    cache = SnapshotCache(tmp_path / "snapshots", min_venues=0)
    with open_store(str(db)) as st:
        st.read(cache)
        warm = st.read(cache)
    plain = ServiceIndex.build(warm.venues, warm.items, warm.links, info=warm.info)
    build_index(warm, settings)
    parts = warm.cache_dir / f"index-p{PARTS_FORMAT}"
    f = parts / "links.ven_ptr.npy"
    f.write_bytes(f.read_bytes()[:-8])
    with caplog.at_level(logging.WARNING):
        _same_answers(plain, build_index(warm, settings))
    assert any("unreadable" in r.getMessage() for r in caplog.records)
    np.save(parts / "links.ven_ptr.npy", np.zeros(3, dtype=np.intp))  # fits no venues
    manifest = parts / "manifest.json"
    import json

    m = json.loads(manifest.read_text(encoding="utf-8"))
    m["files"]["links.ven_ptr.npy"] = (parts / "links.ven_ptr.npy").stat().st_size
    manifest.write_text(json.dumps(m), encoding="utf-8")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        _same_answers(plain, build_index(warm, settings))
    assert any("does not fit" in r.getMessage() for r in caplog.records)


def test_small_stores_are_not_cached_by_default(tmp_path: Path) -> None:
    db = _store(tmp_path / "odd.sqlite")
    with open_store(str(db)) as st:
        got = st.read(SnapshotCache(tmp_path / "snap"))
    assert got.cache_dir is None and not (tmp_path / "snap").exists()
    assert FORMAT_VERSION >= 1


def test_import_then_reload_uses_the_new_revision(tmp_path: Path) -> None:
    db = build_city_db(tmp_path / "city.sqlite")
    over = {"db": str(db), "cache_dir": str(tmp_path / "cache"), "snapshot_cache_min_venues": 0}
    svc = GeoService(Settings.load(env={}, overrides=over))
    old = svc.snapshot
    kiosk = Venue("XC-K-77", "新增自助终端", VenueKind.KIOSK, 118.761, 30.943,
                  channels=frozenset({S}), opening_hours="24/7")
    rev = add_venue(db, kiosk, [Link("XC-K-77", "SB-01", frozenset({S}))])
    assert svc.reload() is True
    new = svc.snapshot
    assert new.revision == rev and new.index.position("XC-K-77") is not None
    assert old.index.position("XC-K-77") is None  # the old snapshot is untouched
    # a restart (or another worker) maps the new revision's columns and parts
    again = GeoService(Settings.load(env={}, overrides=over)).snapshot
    assert again.revision == rev and isinstance(again.index.table.code, PackedText)
    assert list(again.index.venues) == list(new.index.venues)
    _same_answers(new.index, again.index)
    with open_store(str(db)) as st:
        assert list(again.index.venues) == st.venues()


def _cached_dirs(cache: Path) -> set[Path]:
    return {p.parent for p in cache.rglob("manifest.json")}


def test_import_prepares_the_new_revision_for_the_next_load(tmp_path: Path) -> None:
    """`geosvc import` (by default) writes the columns and index parts; a load maps them."""
    data = Path(__file__).parent / "data" / "import"
    db, cache = tmp_path / "db.sqlite", tmp_path / "cache"
    env = {"GEOSVC_CACHE_DIR": str(cache), "GEOSVC_SNAPSHOT_CACHE_MIN_VENUES": "0"}
    runner = CliRunner()
    res = runner.invoke(main, ["import", "items", str(data / "items.csv"), "--db", str(db)],
                        env=env)
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["import", "venues", str(data / "venues.csv"), "--db", str(db),
                               "--crs", "gcj02"], env=env)  # no flag: the default prepares
    assert res.exit_code == 0, res.output
    with open_store(str(db)) as st:
        rev = st.revision()
    assert f"snapshot cache: revision {rev} (4 venues) prepared in " in res.stderr
    assert res.stdout.startswith("venues: 4 rows, 4 created")  # the summary is unchanged
    # the revision's columns and index parts are on disk before any server read it
    settings = Settings.load(env=env, overrides={"db": str(db)})
    with open_store(str(db)) as st:
        contents = st.read(snapshot_cache(settings))
    assert contents.revision == rev and contents.cache_dir is not None
    manifest = contents.cache_dir / f"index-p{PARTS_FORMAT}" / "manifest.json"
    assert manifest.is_file()
    stamp = manifest.stat().st_mtime_ns
    # a load maps them (nothing rewritten) and answers as a load of the rows does
    warm = GeoService(settings).snapshot
    assert isinstance(warm.index.table.code, PackedText)
    assert manifest.stat().st_mtime_ns == stamp
    rows = GeoService(settings.with_(snapshot_cache=False)).snapshot
    assert warm.revision == rows.revision == rev
    assert list(warm.index.venues) == list(rows.index.venues)
    _same_answers(rows.index, warm.index)
    # --no-prepare-cache, a dry run, and a store below the minimum write no cache
    before = _cached_dirs(cache)
    small = {**env, "GEOSVC_SNAPSHOT_CACHE_MIN_VENUES": "5"}
    for extra, environ in ((["--no-prepare-cache"], env), (["--dry-run"], env),
                           ([], small)):
        res = runner.invoke(main, ["import", "links", str(data / "links.csv"), "--db", str(db),
                                   "--replace", *extra], env=environ)
        assert res.exit_code == 0, res.output
        assert "snapshot cache" not in res.stderr
        assert _cached_dirs(cache) == before
    with open_store(str(db)) as st:
        assert st.revision() > rev  # the links were written: a new revision, not cached
    assert not (cache / "snapshots" / contents.cache_dir.parent.name
                / f"r{rev + 1}-f{FORMAT_VERSION}").exists()
    # --cache-dir points the prepare at a server's `geosvc serve --cache-dir`
    other = tmp_path / "served"
    res = runner.invoke(main, ["import", "items", str(data / "items.csv"), "--db", str(db),
                               "--cache-dir", str(other)], env=env)
    assert res.exit_code == 0, res.output
    assert f"under {other / 'snapshots'}" in res.stderr
    served = Settings.load(env=env, overrides={"db": str(db), "cache_dir": str(other)})
    with open_store(str(db)) as st:
        now = st.read(snapshot_cache(served))
    assert now.cache_dir is not None and now.cache_dir.is_relative_to(other)
    assert (now.cache_dir / f"index-p{PARTS_FORMAT}" / "manifest.json").is_file()
    assert _cached_dirs(cache) == before  # nothing more under the environment's cache_dir
