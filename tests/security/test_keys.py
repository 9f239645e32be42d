"""Keys and roles for everything that writes (issue 11, finding/item 6), over real sockets.

A real server on loopback over its own copy of the small city (imports
change it): keys made with the real ``geosvc keys`` command on the real
SQLite file, uploads to ``POST /api/v1/imports`` as multipart bodies, the
audit log read back with ``geosvc keys audit``.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from geosvc.cli import main
from geosvc.web import create_app
from tests.security.conftest import FOREIGN, PORTAL
from tests.web.citydata import build_city_db

DATA = Path(__file__).parents[1] / "data" / "import"
PROBLEM = "application/problem+json"
#: Four new venues (XC-H-001 ...), all valid.
GOOD = (DATA / "venues.csv").read_bytes()
#: Eight rows, seven of them bad in one way or more (13 problems).
BAD = (DATA / "bad_venues.csv").read_bytes()


@dataclass
class Served:
    url: str
    db: Path


def _cli(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result


def _key(db: Path, name: str, *scopes: str) -> str:
    args = ["keys", "create", "--db", str(db), "--name", name]
    for scope in scopes:
        args += ["--scope", scope]
    result = _cli(*args)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Serve a fresh small city on 127.0.0.1 (reload every 0.1 s)."""
    db = build_city_db(tmp_path_factory.mktemp("keys") / "city.sqlite")
    app = create_app({"TESTING": True, "db": str(db), "osm": None,
                      "write_origins": PORTAL, "reload_interval_s": 0.1})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Served(f"http://127.0.0.1:{server.server_port}", db)
    finally:
        server.shutdown()
        thread.join(5)
        # the background reloader would keep opening (and migrating) the file for the
        # tests that follow, some of which patch the migrations
        service = app.extensions["geosvc"]
        service.stop_reloader()
        if service._reloader is not None:
            service._reloader.join(10)


def _request(url: str, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    parts = urlparse(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _multipart(fields: dict[str, str | list[str]], file: tuple[str, bytes] | None
               ) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
                         f"\r\n\r\n{one}\r\n".encode())
    if file is not None:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                     f'filename="{file[0]}"\r\nContent-Type: text/csv\r\n\r\n'.encode()
                     + file[1] + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _upload(served: Served, headers: dict[str, str] | None = None, *,
            file: tuple[str, bytes] | None = ("venues.csv", GOOD),
            **fields: str | list[str]) -> tuple[int, dict[str, str], dict[str, Any]]:
    body, ctype = _multipart({"layer": "venues", **fields}, file)
    status, head, raw = _request(served.url, "POST", "/api/v1/imports", body,
                                 {"Content-Type": ctype, **(headers or {})})
    return status, head, json.loads(raw)


def _version(served: Served) -> tuple[str, dict[str, Any]]:
    status, head, raw = _request(served.url, "GET", "/api/v1/imports")
    assert status == 200 and head["cache-control"] == "no-store"
    doc = json.loads(raw)
    assert head["etag"] == doc["etag"] == f'"rev-{doc["revision"]}"'
    return head["etag"], doc


def _audit(db: Path) -> list[dict[str, Any]]:
    result = _cli("keys", "audit", "--db", str(db), "--json", "--limit", "1000")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


# ---------------------------------------------------------------------- the command line

def test_keys_are_created_listed_revoked_and_never_stored_in_clear(tmp_path: Path) -> None:
    """`keys create` prints the key once, `list` no secret; the file holds no secret byte."""
    db = build_city_db(tmp_path / "city.sqlite")
    token = _key(db, "import robot", "import", "venue:XC-H-01")
    assert token.startswith("gsk_") and len(token) == 4 + 12 + 1 + 43
    key_id, secret = token[4:16], token[17:]
    listed = _cli("keys", "list", "--db", str(db))
    assert listed.exit_code == 0 and key_id in listed.stdout and "import robot" in listed.stdout
    assert secret not in listed.output and "active" in listed.stdout
    as_json = json.loads(_cli("keys", "list", "--db", str(db), "--json").stdout)
    assert as_json == [{"id": key_id, "name": "import robot",
                        "scopes": ["import", "venue:XC-H-01"],
                        "created_at": as_json[0]["created_at"], "revoked_at": None,
                        "last_used_at": None}]
    bad = _cli("keys", "create", "--db", str(db), "--name", "x", "--scope", "root")
    assert bad.exit_code == 2 and "--scope" in bad.output and "root" in bad.output
    revoked = _cli("keys", "revoke", key_id, "--db", str(db))
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    unknown = _cli("keys", "revoke", "ffffffffffff", "--db", str(db))
    assert unknown.exit_code == 1 and "no API key" in unknown.output
    missing = _cli("keys", "list", "--db", str(tmp_path / "none.sqlite"))
    assert missing.exit_code == 1 and not (tmp_path / "none.sqlite").exists()
    for path in tmp_path.iterdir():  # the database, its WAL and shared memory
        data = path.read_bytes()
        assert secret.encode() not in data and token.encode() not in data, path.name
    actions = [(e["action"], e["key_name"]) for e in _audit(db)]
    assert actions == [("key.revoke", "command line"), ("key.create", "command line")]


# ---------------------------------------------------------------------- HTTP

def test_a_write_without_a_valid_key_is_401(served: Served) -> None:
    """No key, a malformed or unknown key, or another scheme: 401 + WWW-Authenticate."""
    for headers, given in (({}, False), ({"Authorization": "Basic dXNlcjpwYXNz"}, False),
                           ({"Authorization": "Bearer not-a-key"}, True),
                           ({"X-API-Key": "gsk_0123456789ab_" + "A" * 43}, True)):
        status, head, doc = _upload(served, headers)
        assert status == 401 and head["content-type"] == PROBLEM, headers
        assert doc["type"] == "/problems/unauthorized"
        assert head["www-authenticate"].startswith("Bearer realm=")
        assert ('error="invalid_token"' in head["www-authenticate"]) is given


def test_a_key_without_the_scope_is_403_naming_it(served: Served) -> None:
    """A venue operator's key cannot import: 403 naming `import`; nothing is written."""
    etag, before = _version(served)
    token = _key(served.db, "hall operator", "venue:XC-H-01")
    status, head, doc = _upload(served, {"Authorization": f"Bearer {token}"})
    assert status == 403 and doc["type"] == "/problems/insufficient-scope"
    assert doc["scope"] == "import" and "`import`" in doc["detail"]
    assert 'error="insufficient_scope"' in head["www-authenticate"]
    assert _version(served) == (etag, before)


def test_a_stale_if_match_is_412_with_the_current_version(served: Served) -> None:
    """If-Match naming an older revision (or a weak tag): 412, current_etag, no write."""
    token = _key(served.db, "importer 412", "import")
    etag, before = _version(served)
    stale = f'"rev-{before["revision"] - 1}"'
    for if_match in (stale, f"W/{etag}", '"something-else"'):
        status, _, doc = _upload(served, {"X-API-Key": token, "If-Match": if_match})
        assert status == 412 and doc["type"] == "/problems/precondition-failed", if_match
        assert doc["current_etag"] == etag and doc["revision"] == before["revision"]
    assert _version(served) == (etag, before)


def test_a_bad_row_writes_nothing_and_every_bad_row_is_reported(served: Served,
                                                                 tmp_path: Path) -> None:
    """422 with every problem (as the CLI reports them); revision and counts unchanged."""
    token = _key(served.db, "importer 422", "import")
    etag, before = _version(served)
    audit_before = len(_audit(served.db))
    status, head, doc = _upload(served, {"X-API-Key": token, "If-Match": etag},
                                file=("bad venues.csv", BAD))
    assert status == 422 and head["content-type"] == PROBLEM
    assert doc["type"] == "/problems/import-rejected" and "nothing was written" in doc["detail"]
    # the command line rejects the same file with the same problems
    (tmp_path / "bad.csv").write_bytes(BAD)
    cli = _cli("import", "venues", str(tmp_path / "bad.csv"), "--db",
               str(tmp_path / "other.sqlite"))
    assert cli.exit_code == 1
    cli_lines = [line for line in cli.stderr.splitlines() if line.startswith("row ")]
    assert len(doc["problems"]) == len(cli_lines) == 13
    assert [f"row {p['row']}, field {p['field']}: {p['reason']}" for p in doc["problems"]
            ] == cli_lines
    assert {p["row"] for p in doc["problems"]} == set(range(2, 9))
    assert "tmp" not in json.dumps(doc)  # no path of the server in the answer
    assert _version(served) == (etag, before)
    assert len(_audit(served.db)) == audit_before


def test_an_import_is_written_audited_and_served(served: Served,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    """200 with the report and the new ETag; the audit row; the server serves the rows."""
    caplog.set_level(logging.DEBUG)
    token = _key(served.db, "importer 200", "import")
    key_id = token[4:16]
    etag, before = _version(served)
    status, head, doc = _upload(served, {"Authorization": f"Bearer {token}", "If-Match": etag},
                                map=["name_en=name_en"], dry_run="true")
    assert status == 200 and doc["dry_run"] is True and doc["created"] == 4
    assert _version(served) == (etag, before)  # a dry run writes nothing
    status, head, doc = _upload(served, {"Authorization": f"Bearer {token}",
                                         "If-Match": etag})
    assert status == 200, doc
    after = before["revision"] + 1
    assert doc["rows"] == doc["created"] == 4 and doc["dry_run"] is False
    assert (doc["revision_before"], doc["revision"]) == (before["revision"], after)
    assert head["etag"] == doc["etag"] == f'"rev-{after}"'
    assert doc["summary"].startswith("venues: 4 rows, 4 created")
    new_etag, now = _version(served)
    assert new_etag == doc["etag"] and now["counts"]["venues"] == before["counts"]["venues"] + 4
    # the writer is in the audit log, with before/after
    entry = _audit(served.db)[0]
    assert (entry["key_id"], entry["key_name"], entry["action"], entry["endpoint"],
            entry["layer"], entry["rows"]) == (key_id, "importer 200", "import",
                                               "POST /api/v1/imports", "venues", 4)
    assert (entry["revision_before"], entry["revision_after"]) == (before["revision"], after)
    assert entry["summary"]["tables"]["venues"]["created"] == 4
    assert entry["summary"]["counts_after"]["venues"] == now["counts"]["venues"]
    listed = json.loads(_cli("keys", "list", "--db", str(served.db), "--json").stdout)
    assert next(k for k in listed if k["id"] == key_id)["last_used_at"] is not None
    # the running server picks the import up through its background reload
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        status, _, _ = _request(served.url, "GET", "/api/v1/venues/XC-H-001")
        if status == 200:
            break
        time.sleep(0.1)
    assert status == 200
    # the same If-Match again is now stale
    status, _, doc = _upload(served, {"X-API-Key": token, "If-Match": etag})
    assert status == 412 and doc["current_etag"] == new_etag
    secret = token[17:]
    assert all(secret not in r.getMessage() for r in caplog.records)


def test_a_revoked_key_stops_working(served: Served) -> None:
    """Revoked with the command line while the server runs: the next write is a 401."""
    token = _key(served.db, "short-lived", "admin")
    status, _, _ = _upload(served, {"X-API-Key": token}, dry_run="true")
    assert status == 200  # admin may import
    assert _cli("keys", "revoke", token[4:16], "--db", str(served.db)).exit_code == 0
    status, head, doc = _upload(served, {"X-API-Key": token}, dry_run="true")
    assert status == 401 and 'error="invalid_token"' in head["www-authenticate"]


def test_bad_form_fields_are_400_naming_each(served: Served) -> None:
    """layer, crs, dry_run, the file's type and a missing file: one 400 naming them."""
    token = _key(served.db, "importer 400", "import")
    status, _, doc = _upload(served, {"X-API-Key": token}, file=("venues.txt", GOOD),
                             layer="castles", crs="utm", dry_run="perhaps",
                             replace="true", map=["nonsense"])
    assert status == 400
    assert {p["name"] for p in doc["invalid_params"]} == {"layer", "crs", "dry_run", "file",
                                                         "replace"}
    status, _, doc = _upload(served, {"X-API-Key": token}, file=None)
    assert status == 400 and doc["invalid_params"][0]["name"] == "file"
    status, _, doc = _upload(served, {"X-API-Key": token}, file=("book.xlsx", b"not a zip"))
    assert status == 400 and doc["invalid_params"][0]["name"] == "file"
    assert "'book.xlsx'" in doc["detail"] and "upload" not in doc["detail"]
    status, _, doc = _upload(served, {"X-API-Key": token}, map=["nope={missing}"])
    assert status == 400 and doc["invalid_params"][0]["name"].startswith("map")


def test_writes_keep_their_media_type_and_origin_rules(served: Served) -> None:
    """415 for other bodies; multipart only on the upload path; foreign origins 403."""
    token = _key(served.db, "importer rules", "import")
    status, _, _ = _request(served.url, "POST", "/api/v1/imports", b"code,name\n",
                            {"Content-Type": "text/plain", "X-API-Key": token})
    assert status == 415
    body, ctype = _multipart({"mode": "straight"}, None)
    status, _, _ = _request(served.url, "POST", "/api/v1/plans", body, {"Content-Type": ctype})
    assert status == 415
    status, head, doc = _upload(served, {"X-API-Key": token, "Origin": FOREIGN})
    assert status == 403 and "access-control-allow-origin" not in head
    status, head, _ = _request(served.url, "OPTIONS", "/api/v1/imports", None, {
        "Origin": PORTAL, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, if-match"})
    assert head.get("access-control-allow-origin") == PORTAL
    allowed = head["access-control-allow-headers"].lower()
    assert "authorization" in allowed and "if-match" in allowed and "x-api-key" in allowed


def test_plans_stay_keyless(served: Served) -> None:
    """POST /api/v1/plans is a computation, not a write: no key needed."""
    body = json.dumps({"mode": "straight", "minutes": 10, "k": 1}).encode()
    status, _, raw = _request(served.url, "POST", "/api/v1/plans", body,
                              {"Content-Type": "application/json"})
    assert status == 200 and json.loads(raw)["problem"] == "max_cover"
