"""The store contract: every backend of :data:`geosvc.store.BACKENDS` behaves the same.

Each test takes the ``harness`` fixture (``conftest.py``), parametrised over
the registered backends, and talks to the store through :func:`open_store`
only; backend specifics (files, WAL, PostGIS columns, servers) stay in
``test_sqlite_store.py`` and ``test_postgis.py``; migrations are in
``test_migrations.py``.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from geosvc import vocab
from geosvc.errors import InvalidParameter, StorageUnavailable
from geosvc.model import (
    Area,
    Bundle,
    Channel,
    DatasetInfo,
    Level,
    Link,
    PopulationCell,
    ServiceItem,
    Venue,
)
from geosvc.store import BACKENDS, Batch, Store, open_store
from geosvc.table import LinkTable, VenueTable

from .conftest import HARNESSES
from .harness import Harness
from .records import AREAS, CELLS, ITEMS, LINKS, VENUES, W, state, venue


@pytest.fixture
def url(harness: Harness) -> str:
    """Return the URL of a fresh, empty dataset of each backend."""
    return harness.fresh_url()


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    """Open a fresh store of each backend."""
    with open_store(url) as s:
        yield s


@pytest.fixture
def full(store: Store) -> Store:
    """Return a store holding the shared records (revision 1)."""
    store.write(Batch(venues=VENUES, items=ITEMS, links=LINKS, areas=AREAS, population=CELLS))
    return store


def test_the_suite_covers_every_registered_backend() -> None:
    """A backend registered in BACKENDS without a harness would escape the contract."""
    assert set(HARNESSES) == set(BACKENDS)


def test_empty_store(store: Store) -> None:
    """A new store is empty, at revision 0, with default settings."""
    assert store.counts() == {"items": 0, "venues": 0, "links": 0, "areas": 0, "population": 0,
                              "bundles": 0}
    assert store.revision() == 0 and store.info() == DatasetInfo()
    assert store.read().venues == [] and store.read().revision == 0


def test_round_trip_every_field(full: Store) -> None:
    """Every field comes back equal: exact floats, enums, frozensets, None, order."""
    assert full.venues() == VENUES
    assert full.items() == ITEMS
    assert full.links() == LINKS
    assert full.areas() == AREAS  # POLYGON stays POLYGON; holes and parts kept
    assert full.population() == CELLS
    assert full.venues()[3].is_candidate
    assert all(type(c) is Channel for v in full.venues() for c in v.channels)
    contents = full.read()
    assert (contents.venues, contents.items, contents.links) == (VENUES, ITEMS, LINKS)
    assert contents.revision == full.revision() == 1


def test_read_hands_over_columns(full: Store) -> None:
    """``read()`` gives venues and links as columns equal to the written records' columns."""
    contents = full.read()
    assert isinstance(contents.venues, VenueTable) and isinstance(contents.links, LinkTable)
    assert contents.venues == VenueTable.from_venues(VENUES)  # column by column
    assert contents.links == LinkTable.from_links(LINKS)
    assert contents.venues.venues_at([3, 0]) == [VENUES[3], VENUES[0]]
    assert contents.venues.lon.tolist() == [v.lon for v in VENUES]  # exact floats


def test_reopen_sees_the_same_data(full: Store, url: str) -> None:
    """A second store on the same URL (``create=False``) reads what the first wrote."""
    with open_store(url, create=False) as again:
        assert again.venues() == VENUES and again.revision() == 1 and again.areas() == AREAS


def test_upsert_counts_idempotency_and_revision(full: Store) -> None:
    """Upserts count created/updated/unchanged, update in place, bump the revision once."""
    renamed = venue("H1", name="renamed", lon=118.5)
    result = full.write(Batch(venues=[renamed, venue("H9")]))
    assert (result["venues"].created, result["venues"].updated) == (1, 1)
    assert result.revision == 2 == full.revision()
    assert full.venues()[0] == renamed  # updated in place, keeps its position
    assert full.venues()[-1].code == "H9"
    assert len(full.links()) == 3  # an update never cascades to the venue's links
    again = full.write(Batch(venues=[renamed, venue("H9")], items=ITEMS, links=LINKS,
                             areas=AREAS))
    assert again["venues"].unchanged == 2 and again["items"].unchanged == 2
    assert again["links"].unchanged == 3 and again["areas"].unchanged == 3
    assert not again.changed and again.revision == 2 == full.revision()
    moved = full.write(Batch(areas=[Area("D2", "two parts", "POLYGON ((0 0, 1 0, 1 1, 0 0))",
                                         Level.TOWNSHIP)]))
    assert moved["areas"].updated == 1 and moved.revision == 3
    assert full.areas()[1].wkt == "POLYGON ((0 0, 1 0, 1 1, 0 0))"


def test_info_round_trip_and_revision(store: Store) -> None:
    """Settings round-trip; setting equal settings again changes nothing."""
    info = DatasetInfo(name="宣城", timezone="Asia/Shanghai", calendar=None, country="CN",
                       extra={"source": "x"})
    store.set_info(info)
    assert store.info() == info and store.revision() == 1
    store.set_info(info)
    assert store.revision() == 1
    assert store.read().info == info


def test_replace_links_for_deletes_stale_links(full: Store) -> None:
    """``replace_links_for`` deletes the venue's links absent from the batch."""
    result = full.write(Batch(links=[Link("H1", "I2", frozenset({W}))],
                              replace_links_for=["H1"]))
    assert result["links"].updated == 1 and result["links"].deleted == 1
    pairs = sorted((k.venue_code, k.item_code) for k in full.links())
    assert pairs == [("B1", "I1"), ("H1", "I2")]


def test_population_append_replace_unchanged(full: Store) -> None:
    """Population cells append, or replace the layer (an equal layer is unchanged)."""
    extra = [PopulationCell(118.9, 31.0, 7.0)]
    assert full.write(Batch(population=extra))["population"].created == 1
    assert len(full.population()) == 3
    replaced = full.write(Batch(population=CELLS, replace_population=True))
    assert replaced["population"].deleted == 3 and replaced["population"].created == 2
    same = full.write(Batch(population=CELLS, replace_population=True))
    assert same["population"].unchanged == 2 and not same.changed
    assert full.population() == CELLS
    emptied = full.write(Batch(replace_population=True))
    assert emptied["population"].deleted == 2 and full.population() == []


def test_failing_batch_rolls_back_everything(full: Store) -> None:
    """A constraint failure late in a batch leaves nothing of it behind."""
    before = state(full)
    batch = Batch(items=[ServiceItem("I3", "new item")],
                  venues=[venue("H2"), venue("H1", name="x")],
                  areas=[Area("D9", "n", "POLYGON ((0 0, 1 0, 1 1, 0 0))")],
                  population=[PopulationCell(1, 1, 1)], info=DatasetInfo(name="changed"),
                  links=[Link("H2", "I3", frozenset({W})), Link("NOPE", "I1", frozenset({W}))])
    with pytest.raises(InvalidParameter, match="constraint") as err:
        full.write(batch)
    assert err.value.invalid_params[0]["name"] == "batch"
    assert state(full) == before


def test_duplicate_keys_in_a_batch_are_refused(full: Store) -> None:
    """A code given twice in one batch is refused before anything is written."""
    before = state(full)
    with pytest.raises(InvalidParameter, match="venue code 'H2' twice"):
        full.write(Batch(venues=[venue("H2"), venue("H2")]))
    assert state(full) == before


def test_dry_run_rolls_back(full: Store) -> None:
    """A dry run counts what it would do and leaves the store as it was."""
    before = state(full)
    result = full.write(Batch(venues=[venue("H5"), venue("H1", name="y")]), dry_run=True)
    assert result.dry_run and result["venues"].created == 1 and result["venues"].updated == 1
    assert result.revision == 1
    assert state(full) == before


def test_connections_per_thread(full: Store) -> None:
    """Threads share a store; each gets its own connection."""
    results, errors = [], []

    def work() -> None:
        try:
            results.append(len(full.venues()) + len(full.links()))
        except StorageUnavailable as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == [7] * 6
    assert len(full._conns) >= 2  # type: ignore[attr-defined]


def test_closed_store_refuses_use(url: str) -> None:
    """A closed store raises StorageUnavailable instead of reopening silently."""
    s = open_store(url)
    s.close()
    with pytest.raises(StorageUnavailable, match="closed"):
        s.venues()


#: Venues written at once by the concurrency test: enough for a write that takes a while.
BIG_WRITE = {"sqlite": 20000, "postgresql": 4000}


def test_concurrent_reader_sees_old_or_new_never_half(harness: Harness) -> None:
    """A reader during a big write sees the state before or after it, never a part."""
    url = harness.fresh_url()
    n = BIG_WRITE[harness.name]
    big = [venue(f"V{i:05d}", lon=118 + i * 1e-5) for i in range(n)]
    links = [Link(f"V{i:05d}", "I1", frozenset({W})) for i in range(n)]
    writer = open_store(url)
    writer.write(Batch(items=ITEMS))
    reader = open_store(url)
    seen: list[tuple[int, int, int]] = []
    done = threading.Event()

    def read_loop() -> None:
        while not done.is_set():
            c = reader.read()
            seen.append((c.revision, len(c.venues), len(c.links)))
            time.sleep(0.001)

    thread = threading.Thread(target=read_loop)
    thread.start()
    try:
        time.sleep(0.05)
        writer.write(Batch(venues=big, links=links))
        time.sleep(0.05)
    finally:
        done.set()
        thread.join()
    c = reader.read()
    seen.append((c.revision, len(c.venues), len(c.links)))
    writer.close()
    reader.close()
    assert set(seen) <= {(1, 0, 0), (2, n, n)}
    assert seen[0] == (1, 0, 0) and seen[-1] == (2, n, n) and len(seen) > 2


def _child_counts(store: Store, queue: Any) -> None:
    queue.put((len(store.venues()), store.revision()))


def test_forked_worker_opens_its_own_connection(full: Store) -> None:
    """A worker forked from a process holding connections (gunicorn --preload) works."""
    full.venues()  # the parent holds an open connection before forking
    ctx = multiprocessing.get_context("fork")  # as gunicorn --preload: the point of the test
    queue = ctx.Queue()
    proc = ctx.Process(target=_child_counts, args=(full, queue), daemon=True)
    proc.start()
    try:
        got = queue.get(timeout=30)
    finally:
        proc.join(timeout=30)
        if proc.is_alive():  # pragma: no cover - a stuck child must not hang the session
            proc.kill()
    assert proc.exitcode == 0 and got == (4, 1)
    full.write(Batch(venues=[venue("H7")]))  # the parent's connection still works
    assert full.revision() == 2


def test_newer_schema_is_storage_unavailable(harness: Harness) -> None:
    """A database written by a newer geosvc is refused with a clear 503, not misread."""
    url = harness.fresh_url()
    open_store(url).close()
    version = harness.version(url)
    assert version is not None
    harness.set_version(url, version + 1)
    with pytest.raises(StorageUnavailable, match="newer than this geosvc") as err:
        open_store(url)
    assert err.value.status == 503
    assert harness.version(url) == version + 1


# ---------------------------------------------------------------------- venue kinds

def _kind_venue(kind: str, code: str) -> Venue:
    return Venue(code=code, name=code, kind=kind, lon=117.0, lat=31.0,  # type: ignore[arg-type]
                 level=vocab.Level.CITY)


def test_accepts_exactly_the_registry_kinds(store: Store) -> None:
    """Every kind of vocab.KINDS is accepted, anything else refused whole."""
    venues = [_kind_venue(code, f"V-{i}") for i, code in enumerate(vocab.KINDS.codes())]
    assert store.write(Batch(venues=venues))["venues"].created == len(vocab.KINDS)
    before = state(store)
    with pytest.raises(InvalidParameter, match="constraint"):
        store.write(Batch(venues=[_kind_venue("hall", "V-ok"), _kind_venue("castle", "V-x")]))
    assert state(store) == before


def test_a_kind_added_to_the_registry_needs_no_migration(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store follows the registry: a new kind is accepted, a dropped unused one refused."""
    store.write(Batch(venues=[_kind_venue("hall", "H")]))
    van = replace(vocab.KINDS["kiosk"], code="mobile_van",  # type: ignore[arg-type]
                  aliases=(), aliases_hant=())
    with monkeypatch.context() as patch:
        patch.setattr(vocab, "KINDS", vocab.Registry("venue kind",
                                                     (*vocab.KINDS.entries, van)))
        assert store.write(Batch(venues=[_kind_venue("mobile_van", "M")]))["venues"].created
    without = tuple(e for e in vocab.KINDS.entries if e.code not in ("kiosk", "hall"))
    with monkeypatch.context() as patch:
        patch.setattr(vocab, "KINDS", vocab.Registry("venue kind", without))
        with pytest.raises(InvalidParameter, match="constraint"):
            store.write(Batch(venues=[_kind_venue("kiosk", "K")]))
        # kinds still in use stay valid, so their venues can still be written
        result = store.write(Batch(venues=[_kind_venue("hall", "H2"),
                                           _kind_venue("mobile_van", "M2")]))
        assert result["venues"].created == 2
    # back to the real registry: kiosks are accepted again
    assert store.write(Batch(venues=[_kind_venue("kiosk", "K")]))["venues"].created == 1
    assert store.counts()["venues"] == 5


# ---------------------------------------------------------------------- venue statuses

def test_every_status_round_trips_and_an_update_of_status_counts(store: Store) -> None:
    """Each status of vocab.STATUSES is stored and read back; changing it is an update."""
    venues = [Venue(f"S-{code}", code, vocab.VenueKind.BANK_OUTLET, 117.0, 31.0,
                    status=vocab.Status(code)) for code in vocab.STATUSES.codes()]
    assert store.write(Batch(venues=venues))["venues"].created == len(vocab.STATUSES)
    assert store.venues() == venues
    assert [v.status for v in store.venues()] == list(vocab.Status)
    closed = replace(venues[0], status=vocab.Status.CLOSED)
    result = store.write(Batch(venues=[closed]))
    assert result["venues"].updated == 1
    assert store.venues()[0].status is vocab.Status.CLOSED


def test_status_default_is_derived_from_kind_and_channels(store: Store) -> None:
    """Without a status a bank outlet with no channel is stored as a candidate."""
    bare = Venue("B", "b", vocab.VenueKind.BANK_OUTLET, 117.0, 31.0)
    served = Venue("B2", "b2", vocab.VenueKind.BANK_OUTLET, 117.0, 31.0,
                   channels=frozenset({W}))
    store.write(Batch(venues=[bare, served]))
    assert [v.status for v in store.venues()] == ["candidate", "in_service"]


# ---------------------------------------------------------------------- guides and bundles

GUIDED = ServiceItem("G1", "出生登记", materials=("出生医学证明", "父母身份证"),
                     conditions="新生儿出生后一个月内", fee="免费", legal_days=20,
                     promised_days=1, apply_url="https://zwfw.example.cn/g1",
                     can_do_online=True, by_post=False, at_kiosk=True)


def test_item_guides_round_trip_and_count_as_unchanged(store: Store) -> None:
    """Every guide field comes back as written; writing it again changes nothing."""
    first = store.write(Batch(items=[GUIDED, ServiceItem("G2", "plain")]))
    assert first["items"].created == 2
    assert store.items() == [GUIDED, ServiceItem("G2", "plain")]
    assert store.write(Batch(items=[GUIDED]))["items"].unchanged == 1
    changed = replace(GUIDED, materials=("出生医学证明",), legal_days=None)
    assert store.write(Batch(items=[changed]))["items"].updated == 1
    assert store.items()[0] == changed


def test_bundles_round_trip_update_and_need_their_items(store: Store) -> None:
    """Bundles keep their item order; a changed list replaces the old one; items must exist."""
    items = [ServiceItem(c, c) for c in ("A", "B", "C")]
    bundle = Bundle("X1", "新生儿出生一件事", ("C", "A"), name_en="Newborn", description="d")
    result = store.write(Batch(items=items, bundles=[bundle]))
    assert result["bundles"].created == 1 and store.counts()["bundles"] == 1
    assert store.bundles() == [bundle] and store.read().bundles == [bundle]
    assert store.write(Batch(bundles=[bundle]))["bundles"].unchanged == 1
    longer = replace(bundle, items=("C", "A", "B"))
    assert store.write(Batch(bundles=[longer]))["bundles"].updated == 1
    assert store.bundles() == [longer]
    revision = store.revision()
    with pytest.raises(InvalidParameter, match="constraint"):
        store.write(Batch(bundles=[Bundle("X2", "bad", ("NOPE",))]))
    assert store.revision() == revision and store.bundles() == [longer]


def test_snapshot_cache_round_trip_and_revisions(full: Store, tmp_path: Any) -> None:
    """Every backend: columns mapped from the cache equal the rows; a new revision is reread."""
    from geosvc.store.snapcache import SnapshotCache
    from geosvc.table import PackedText

    cache = SnapshotCache(tmp_path / "snap", min_venues=0)
    ref = full.read()
    cold = full.read(cache)
    warm = full.read(cache)
    assert full.cache_identity() is not None and cold.cache_dir is not None
    assert warm.cache_dir == cold.cache_dir and isinstance(warm.venues, VenueTable)
    assert isinstance(warm.venues.code, PackedText) and isinstance(warm.links, LinkTable)
    assert warm.venues == ref.venues == VENUES and warm.links == ref.links == LINKS
    assert (warm.revision, warm.info, warm.items) == (ref.revision, ref.info, ref.items)
    full.write(Batch(venues=[replace(VENUES[0], name="renamed")]))
    new = full.read(cache)
    assert new.revision == ref.revision + 1 and new.cache_dir != cold.cache_dir
    assert new.venues[0].name == "renamed" and new.venues == full.venues()
    assert full.read(cache).venues == new.venues == full.venues()
    full.set_info(DatasetInfo(name="renamed dataset"))  # settings rewrite keeps the store's id
    assert full.read(cache).cache_dir.parent == cold.cache_dir.parent


def test_a_store_below_the_cache_minimum_is_read_without_a_fill(full: Store,
                                                                 tmp_path: Any) -> None:
    """Every backend: a cheap venue bound tells a small store apart (no lock, no files)."""
    from geosvc.store.snapcache import SnapshotCache, lock_path

    bound = full.venues_bound()
    assert bound is not None and bound >= len(full.venues()) == len(VENUES)
    small = SnapshotCache(tmp_path / "small", min_venues=bound + 1)
    got = full.read(small)
    assert got.cache_dir is None and got.venues == VENUES
    assert not (tmp_path / "small").exists()  # not even a lock file
    cache = SnapshotCache(tmp_path / "snap", min_venues=0)
    filled = full.read(cache)
    assert filled.cache_dir is not None and lock_path(filled.cache_dir).is_file()
