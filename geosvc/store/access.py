"""API keys with scopes and the audit log of writes, kept in the dataset's store.

Keys
----
A key is ``gsk_<id>_<secret>``: ``id`` is 12 hex digits (public, the row's
primary key, shown by ``geosvc keys list``) and ``secret`` 256 random bits
(URL-safe base64, 43 characters).  The store keeps only
``sha256$<salt>$<digest>``, the SHA-256 of a 16-byte random salt followed by
the secret: a high-entropy secret needs no slow hash (nobody can guess
2^256 values), so checking a key costs a microsecond per request, and a
leaked database gives no key.  Checks compare digests with
:func:`hmac.compare_digest`.  The secret is shown once, when the key is
created, and never stored, logged nor shown again.

Scopes: ``admin`` (everything), ``import`` (``POST /api/v1/imports``) and
``venue:<code>`` (the operator of one venue, for bookings).  A revoked key
stays in the table (``revoked_at`` set) so the audit log keeps naming it.

Audit log
---------
Every write through the API is one row of ``audit_log``, inserted in the
write's own transaction (so there is no write without its row, and no row
for a write that rolled back): when (UTC), who (key id and name), what
(action, endpoint, layer, rows), the revision before and after and a JSON
summary (rows per table created / updated / unchanged / deleted, and the
row counts of every table before and after).  ``geosvc keys create`` and
``revoke`` log themselves too (who = ``command line``).

A write names what it expects with a :class:`WriteGuard`:
:meth:`~geosvc.store.base.Store.guarded` makes the store's next writes check
the revision (``If-Match``: :class:`~geosvc.errors.PreconditionFailed` when
another write came first, checked under the write lock) and log the row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from geosvc.errors import InvalidParameter, NotFound, PreconditionFailed

if TYPE_CHECKING:
    from geosvc.store.base import WriteResult

__all__ = [
    "COMMAND_LINE",
    "SCOPES",
    "Actor",
    "ApiKey",
    "AuditEntry",
    "KeyTables",
    "NewKey",
    "WriteGuard",
    "check_scopes",
    "etag_of",
    "grants",
    "hash_secret",
    "new_key",
    "parse_token",
    "record_write",
    "verify_secret",
]

#: Fixed scopes; ``venue:<code>`` is the third form.
SCOPES = ("admin", "import")
_VENUE_SCOPE = re.compile(r"venue:[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_TOKEN = re.compile(r"gsk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
_NAME_MAX = 100

# ---------------------------------------------------------------------- secrets

def new_key() -> tuple[str, str, str]:
    """Return ``(key_id, secret, token)`` of a new random key (token = what a client sends).

    Examples
    --------
    >>> key_id, secret, token = new_key()
    >>> parse_token(token) == (key_id, secret)
    True
    """
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return key_id, secret, f"gsk_{key_id}_{secret}"


def parse_token(token: str) -> tuple[str, str] | None:
    """Return ``(key_id, secret)`` of a well-formed token, else None.

    Examples
    --------
    >>> parse_token("gsk_0123456789ab_" + "x" * 43)
    ('0123456789ab', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx')
    >>> parse_token("secret") is None
    True
    """
    match = _TOKEN.fullmatch(token.strip())
    return (match.group(1), match.group(2)) if match else None


def hash_secret(secret: str, *, salt: bytes | None = None) -> str:
    """Return ``sha256$<salt hex>$<digest hex>`` of ``secret`` (a new salt unless given)."""
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.sha256(salt + secret.encode()).hexdigest()
    return f"sha256${salt.hex()}${digest}"


def verify_secret(secret: str, stored: str) -> bool:
    """Tell whether ``secret`` hashes to ``stored`` (constant-time comparison).

    Examples
    --------
    >>> stored = hash_secret("s3cret")
    >>> verify_secret("s3cret", stored), verify_secret("guess", stored)
    (True, False)
    """
    algo, _, rest = stored.partition("$")
    salt_hex, _, digest = rest.partition("$")
    if algo != "sha256" or not digest:
        return False
    try:
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    mine = hash_secret(secret, salt=salt).rpartition("$")[2]
    return hmac.compare_digest(mine.encode(), digest.encode())


# ---------------------------------------------------------------------- scopes

def check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """Return the scopes, checked and without repeats, in the order given.

    Raises
    ------
    InvalidParameter
        Named ``scope``: none given, or one that is not ``admin``, ``import``
        or ``venue:<code>``.

    Examples
    --------
    >>> check_scopes(["import", "venue:HEL-H-0001", "import"])
    ('import', 'venue:HEL-H-0001')
    """
    out = tuple(dict.fromkeys(s.strip() for s in scopes))
    if not out:
        raise InvalidParameter("scope", "give at least one scope (admin, import, venue:<code>)")
    bad = [s for s in out if s not in SCOPES and not _VENUE_SCOPE.fullmatch(s)]
    if bad:
        msg = (f"must be admin, import or venue:<code> (code: letters, digits, . _ -), "
               f"not {', '.join(repr(b[:70]) for b in bad)}")
        raise InvalidParameter("scope", msg)
    return out


def grants(scopes: Iterable[str], needed: str) -> bool:
    """Tell whether a key with ``scopes`` may do what needs ``needed`` (admin: anything).

    Examples
    --------
    >>> grants(("import",), "import"), grants(("admin",), "venue:X")
    (True, True)
    >>> grants(("venue:A",), "import")
    False
    """
    have = set(scopes)
    return "admin" in have or needed in have


def etag_of(revision: int) -> str:
    """Return the strong ETag (with quotes) of a dataset revision.

    Examples
    --------
    >>> etag_of(7)
    '"rev-7"'
    """
    return f'"rev-{revision}"'


# ---------------------------------------------------------------------- records

@dataclass(frozen=True, slots=True)
class ApiKey:
    """One API key as stored, without its secret (times: ISO 8601 UTC, or None)."""

    id: str  # noqa: A003 - the column's name
    name: str
    scopes: tuple[str, ...]
    created_at: str
    revoked_at: str | None = None
    last_used_at: str | None = None

    @property
    def active(self) -> bool:
        """True until revoked."""
        return self.revoked_at is None

    def as_dict(self) -> dict[str, Any]:
        """Return the key as JSON-ready data (never a secret: the store has none)."""
        return {"id": self.id, "name": self.name, "scopes": list(self.scopes),
                "created_at": self.created_at, "revoked_at": self.revoked_at,
                "last_used_at": self.last_used_at}


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just created and the token to give its holder (shown once)."""

    key: ApiKey
    token: str


@dataclass(frozen=True, slots=True)
class Actor:
    """Who writes: a key (id and name) or the command line (``key_id`` None)."""

    key_id: str | None
    name: str


#: The actor of writes made with ``geosvc keys`` on the store itself.
COMMAND_LINE = Actor(None, "command line")


@dataclass(frozen=True, slots=True)
class WriteGuard:
    """What a write through the API must check and log (see the module docstring).

    Attributes
    ----------
    actor : Actor
        Who writes.
    action : str
        What, in a word (``import``).
    endpoint : str
        ``POST /api/v1/imports``.
    layer : str or None
        The layer written, whose row count is logged.
    expect_revision : int or None
        ``If-Match``: the revision the client read; another one is a 412.
    expect_tag : str
        The ``If-Match`` value as given (named in the 412).
    """

    actor: Actor
    action: str
    endpoint: str
    layer: str | None = None
    expect_revision: int | None = None
    expect_tag: str = ""

    def check(self, revision: int) -> None:
        """Raise :class:`PreconditionFailed` when ``revision`` is not the one expected."""
        if self.expect_revision is not None and self.expect_revision != revision:
            raise PreconditionFailed(wanted=self.expect_tag or etag_of(self.expect_revision),
                                     current_etag=etag_of(revision), revision=revision)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One row of the audit log."""

    id: int  # noqa: A003 - the column's name
    at: str
    key_id: str | None
    key_name: str
    action: str
    endpoint: str
    layer: str | None
    rows: int | None
    revision_before: int | None
    revision_after: int | None
    summary: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """Return the entry as JSON-ready data."""
        return {"id": self.id, "at": self.at, "key_id": self.key_id,
                "key_name": self.key_name, "action": self.action,
                "endpoint": self.endpoint, "layer": self.layer, "rows": self.rows,
                "revision_before": self.revision_before,
                "revision_after": self.revision_after, "summary": self.summary}


def _iso(value: Any) -> str | None:
    """ISO 8601 UTC text, whole seconds, of a stored time (SQLite: text; PostgreSQL: datetime).

    Stored times keep microseconds (so keys list in creation order); shown
    times are whole seconds.

    Examples
    --------
    >>> _iso("2026-11-30T13:11:52.123456Z"), _iso(None)
    ('2026-11-30T13:11:52Z', None)
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value[:19] + "Z"
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _now(backend: str) -> Any:
    now = datetime.now(UTC)
    if backend == "postgis":
        return now
    return now.isoformat(timespec="microseconds").replace("+00:00", "Z")


_KEY_COLS = "id, name, scopes, created_at, revoked_at, last_used_at"
_AUDIT_COLS = ("id, at, key_id, key_name, action, endpoint, layer, rows, revision_before, "
               "revision_after, summary")


def _key_from(row: Sequence[Any]) -> ApiKey:
    return ApiKey(row[0], row[1], tuple(row[2].split()), _iso(row[3]) or "", _iso(row[4]),
                  _iso(row[5]))


def _audit_from(row: Sequence[Any]) -> AuditEntry:
    return AuditEntry(int(row[0]), _iso(row[1]) or "", row[2], row[3], row[4], row[5], row[6],
                      row[7], row[8], row[9], json.loads(row[10] or "{}"))


def _insert_audit(conn: Any, backend: str, actor: Actor, *, action: str, endpoint: str,
                  layer: str | None = None, rows: int | None = None,
                  revisions: tuple[int | None, int | None] = (None, None),
                  summary: Mapping[str, Any] | None = None) -> None:
    p = "%s" if backend == "postgis" else "?"
    conn.execute(
        f"INSERT INTO audit_log (at, key_id, key_name, action, endpoint, layer, rows, "
        f"revision_before, revision_after, summary) VALUES ({', '.join([p] * 10)})",
        (_now(backend), actor.key_id, actor.name, action, endpoint, layer, rows,
         revisions[0], revisions[1], json.dumps(dict(summary or {}), sort_keys=True)))


def table_counts(conn: Any, tables: Sequence[str]) -> dict[str, int]:
    """Return ``{table: rows}`` read on ``conn`` (inside the caller's transaction)."""
    sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in tables)
    return {t: int(n) for t, n in conn.execute(sql).fetchall()}


def record_write(conn: Any, backend: str, guard: WriteGuard, *, before: int, after: int,
                 result: WriteResult, counts_before: Mapping[str, int],
                 counts_after: Mapping[str, int]) -> None:
    """Log one guarded write in ``audit_log`` inside the write's transaction."""
    tables = {t: {"created": c.created, "updated": c.updated, "unchanged": c.unchanged,
                  "deleted": c.deleted}
              for t, c in result.tables.items()
              if c.created or c.updated or c.unchanged or c.deleted}
    rows = None
    if guard.layer is not None:
        c = result[guard.layer]
        rows = c.created + c.updated + c.unchanged
    summary = {"tables": tables, "counts_before": dict(counts_before),
               "counts_after": dict(counts_after), "info_changed": result.info_changed}
    _insert_audit(conn, backend, guard.actor, action=guard.action, endpoint=guard.endpoint,
                  layer=guard.layer, rows=rows, revisions=(before, after), summary=summary)


# ---------------------------------------------------------------------- the tables

class KeyTables:
    """Keys and audit log of a SQL store (a mixin of both backends).

    The backend provides ``_BACKEND`` (``sqlite`` or ``postgis``) and
    :meth:`_transaction`, which runs a function of the connection in one
    write transaction and returns its result.
    """

    _BACKEND: str

    def _transaction(self, work: Callable[[Any], Any]) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def _p(self) -> str:
        return "%s" if self._BACKEND == "postgis" else "?"

    def create_key(self, name: str, scopes: Iterable[str], *,
                   actor: Actor = COMMAND_LINE) -> NewKey:
        """Create a key; return it with its token (the only time the secret exists).

        Raises
        ------
        InvalidParameter
            Named ``name`` (empty or longer than 100 characters) or ``scope``.
        """
        name = name.strip()
        if not name or len(name) > _NAME_MAX:
            raise InvalidParameter("name", f"must be 1 to {_NAME_MAX} characters")
        checked = check_scopes(scopes)
        key_id, secret, token = new_key()
        p = self._p

        def work(conn: Any) -> ApiKey:
            now = _now(self._BACKEND)
            conn.execute(f"INSERT INTO api_keys (id, name, hash, scopes, created_at) "
                         f"VALUES ({p}, {p}, {p}, {p}, {p})",
                         (key_id, name, hash_secret(secret), " ".join(checked), now))
            _insert_audit(conn, self._BACKEND, actor, action="key.create",
                          endpoint="geosvc keys create",
                          summary={"key_id": key_id, "name": name, "scopes": list(checked)})
            return ApiKey(key_id, name, checked, _iso(now) or "")

        return NewKey(self._transaction(work), token)

    def api_keys(self) -> list[ApiKey]:
        """Return every key (revoked ones too), oldest first; never a secret."""
        return self._transaction(lambda conn: [_key_from(r) for r in conn.execute(
            f"SELECT {_KEY_COLS} FROM api_keys ORDER BY created_at, id").fetchall()])

    def revoke_key(self, key_id: str, *, actor: Actor = COMMAND_LINE) -> ApiKey:
        """Revoke a key (kept, with ``revoked_at``); revoking twice keeps the first time.

        Raises
        ------
        NotFound
            No key has this id.
        """
        p = self._p

        def work(conn: Any) -> ApiKey:
            row = conn.execute(f"SELECT {_KEY_COLS} FROM api_keys WHERE id = {p}",
                               (key_id,)).fetchone()
            if row is None:
                msg = f"no API key has the id {key_id[:40]!r} (see `geosvc keys list`)"
                raise NotFound(msg)
            if row[4] is None:
                conn.execute(f"UPDATE api_keys SET revoked_at = {p} WHERE id = {p}",
                             (_now(self._BACKEND), key_id))
                _insert_audit(conn, self._BACKEND, actor, action="key.revoke",
                              endpoint="geosvc keys revoke",
                              summary={"key_id": key_id, "name": row[1]})
            return _key_from(conn.execute(f"SELECT {_KEY_COLS} FROM api_keys WHERE id = {p}",
                                          (key_id,)).fetchone())

        return self._transaction(work)

    def check_key(self, token: str) -> ApiKey | None:
        """Return the active key ``token`` names (and note its use), else None.

        None for a malformed token, an unknown id, a wrong secret or a
        revoked key; the secret is compared in constant time.
        """
        parsed = parse_token(token)
        if parsed is None:
            return None
        key_id, secret = parsed
        p = self._p

        def work(conn: Any) -> ApiKey | None:
            row = conn.execute(f"SELECT {_KEY_COLS}, hash FROM api_keys WHERE id = {p}",
                               (key_id,)).fetchone()
            if row is None or not verify_secret(secret, row[6]) or row[4] is not None:
                return None
            now = _now(self._BACKEND)
            conn.execute(f"UPDATE api_keys SET last_used_at = {p} WHERE id = {p}",
                         (now, key_id))
            return _key_from((*row[:5], now))

        return self._transaction(work)

    def audit_log(self, *, limit: int = 100) -> list[AuditEntry]:
        """Return the newest ``limit`` audit rows, newest first."""
        p = self._p
        return self._transaction(lambda conn: [_audit_from(r) for r in conn.execute(
            f"SELECT {_AUDIT_COLS} FROM audit_log ORDER BY id DESC LIMIT {p}",
            (int(limit),)).fetchall()])
