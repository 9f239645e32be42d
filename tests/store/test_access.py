"""API keys and the audit log (migration 5) on every backend, the v1 fixture included.

The ``harness`` fixture runs each test against SQLite and the throw-away
PostGIS server; the database is also read behind the store's back, to show
what is (and is not) stored.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from geosvc.app.importing import ImportRequest, import_layers
from geosvc.errors import ImportRejected, InvalidParameter, NotFound, PreconditionFailed
from geosvc.model import Venue
from geosvc.store import Batch, migrations, open_store
from geosvc.store.access import Actor, WriteGuard, parse_token
from geosvc.vocab import Level, VenueKind

from .harness import Harness
from .v1_fixture import expected, read_all


def _venue(code: str) -> Venue:
    return Venue(code=code, name=code, kind=VenueKind.HALL, lon=117.0, lat=31.0,
                 level=Level.CITY)


def test_migration_5_adds_empty_key_tables_to_a_v1_database(harness: Harness) -> None:
    """A migrated v1 dataset keeps every row, gains api_keys / audit_log, and keys work."""
    url = harness.v1_url()
    with open_store(url, create=False) as store:
        assert read_all(store) == expected()
        assert harness.version(url) == migrations.SCHEMA_VERSION >= 5
        assert store.api_keys() == [] and store.audit_log() == []
        new = store.create_key("ops", ["import", "venue:B2"])
        assert store.check_key(new.token) is not None
    log = harness.log(url)
    assert log is not None and log[4][0] == 5 and "API keys" in log[4][1]


def test_keys_store_a_salted_hash_never_the_secret(harness: Harness) -> None:
    """Create, check, revoke: the secret is in no column; a revoked key is refused."""
    url = harness.fresh_url()
    with open_store(url) as store:
        a = store.create_key("alice", ["import"])
        b = store.create_key("bob", ["import"])
        _, secret = parse_token(a.token) or ("", "")
        assert len(secret) == 43
        stored = harness._query(url, "SELECT id, name, hash, scopes FROM api_keys "  # type: ignore[attr-defined]
                                     "ORDER BY id")
        assert all(secret not in str(row) for row in stored)
        hashes = [row[2] for row in stored]
        assert all(h.startswith("sha256$") for h in hashes) and len(set(hashes)) == 2
        assert store.check_key(a.token).id == a.key.id  # type: ignore[union-attr]
        assert store.check_key(a.token[:-1] + ("A" if a.token[-1] != "A" else "B")) is None
        assert store.check_key(f"gsk_{a.key.id}_{parse_token(b.token)[1]}") is None  # type: ignore[index]
        revoked = store.revoke_key(a.key.id)
        assert revoked.revoked_at is not None
        assert store.check_key(a.token) is None and store.check_key(b.token) is not None
        assert store.revoke_key(a.key.id).revoked_at == revoked.revoked_at  # kept
        with pytest.raises(NotFound):
            store.revoke_key("000000000000")
        with pytest.raises(InvalidParameter, match="scope"):
            store.create_key("eve", ["root"])
        listed = store.api_keys()
        assert [k.name for k in listed] == ["alice", "bob"]
        assert listed[1].last_used_at is not None and listed[0].active is False
        actions = [(e.action, e.summary["name"]) for e in store.audit_log()]
        assert actions == [("key.revoke", "alice"), ("key.create", "bob"),
                           ("key.create", "alice")]


def test_a_guarded_write_is_audited_in_its_transaction(harness: Harness) -> None:
    """The audit row carries who, rows, revisions and counts; a dry run logs nothing."""
    url = harness.fresh_url()
    with open_store(url) as store:
        store.create_key("tester", ["import"])  # the audit row's key must exist
        key_id = store.api_keys()[0].id
        guard = WriteGuard(Actor(key_id, "tester"), "import", "POST /api/v1/imports",
                           layer="venues")
        with store.guarded(guard):
            store.write(Batch(venues=[_venue("A"), _venue("B")]), dry_run=True)
            result = store.write(Batch(venues=[_venue("A"), _venue("B")]))
        entry = store.audit_log(limit=1)[0]
        assert (entry.key_id, entry.key_name, entry.action, entry.layer, entry.rows) == (
            key_id, "tester", "import", "venues", 2)
        assert (entry.revision_before, entry.revision_after) == (0, result.revision) == (0, 1)
        assert entry.summary["tables"] == {"venues": {"created": 2, "updated": 0,
                                                      "unchanged": 0, "deleted": 0}}
        assert entry.summary["counts_before"]["venues"] == 0
        assert entry.summary["counts_after"]["venues"] == 2
        assert len(store.audit_log()) == 2  # key.create + this write; not the dry run
        store.write(Batch(venues=[_venue("C")]))  # not guarded: not logged
        assert len(store.audit_log()) == 2


def test_if_match_is_checked_under_the_write_lock(harness: Harness) -> None:
    """A guard expecting an older revision: 412 with the current one, nothing written."""
    url = harness.fresh_url()
    with open_store(url) as store:
        store.write(Batch(venues=[_venue("A")]))
        stale = WriteGuard(Actor(None, "tester"), "import", "POST /api/v1/imports",
                           layer="venues", expect_revision=0, expect_tag='"rev-0"')
        with store.guarded(stale), pytest.raises(PreconditionFailed) as err:
            store.write(Batch(venues=[_venue("B")]))
        assert err.value.status == 412 and err.value.current_etag == '"rev-1"'
        assert [v.code for v in store.venues()] == ["A"] and store.audit_log() == []
        fresh = WriteGuard(Actor(None, "tester"), "import", "POST /api/v1/imports",
                           layer="venues", expect_revision=1)
        with store.guarded(fresh):
            assert store.write(Batch(venues=[_venue("B")])).revision == 2
        assert [e.revision_after for e in store.audit_log()] == [2]
        store.write(Batch(venues=[_venue("C")]))  # the guard ended with its block
        assert store.revision() == 3


def test_the_importer_writes_through_the_guard(harness: Harness) -> None:
    """import_layers with a guard (the HTTP path): audited on success, nothing on rejection."""
    data = Path(__file__).parents[1] / "data" / "import"
    url = harness.fresh_url()
    guard = WriteGuard(Actor(None, "uploader"), "import", "POST /api/v1/imports",
                       layer="venues", expect_revision=0)
    with pytest.raises(ImportRejected) as err:
        import_layers(ImportRequest(db=url, what="venues", path=str(data / "bad_venues.csv"),
                                    guard=guard))
    assert len(err.value.problems) == 13
    report = import_layers(ImportRequest(db=url, what="venues", path=str(data / "venues.csv"),
                                         guard=guard))
    assert (report.created, report.revision) == (4, 1)
    with open_store(url) as store:
        (entry,) = store.audit_log()
        assert (entry.key_name, entry.layer, entry.rows, entry.revision_before,
                entry.revision_after) == ("uploader", "venues", 4, 0, 1)
        assert store.counts()["venues"] == 4
    with pytest.raises(PreconditionFailed):  # the guard expected revision 0
        import_layers(ImportRequest(db=url, what="venues", path=str(data / "venues.csv"),
                                    guard=guard))
