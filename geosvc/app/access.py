"""Use cases of API keys: create, list, revoke, authenticate; the audit log; versions.

Keys and the audit log live in the dataset's store (:mod:`geosvc.store.access`).
The command line (``geosvc keys``) manages them; the web layer authenticates
each write with :func:`authenticate` and checks ``If-Match`` with
:func:`expected_revision`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from geosvc.errors import (
    InsufficientScope,
    PreconditionFailed,
    StorageUnavailable,
    Unauthorized,
)
from geosvc.store import open_store
from geosvc.store.access import KeyTables, etag_of, grants

if TYPE_CHECKING:
    from geosvc.store import Store
    from geosvc.store.access import ApiKey, AuditEntry, NewKey

__all__ = ["DatasetVersion", "authenticate", "create_key", "dataset_version",
           "expected_revision", "list_keys", "read_audit", "revoke_key"]

_REV_TAG = re.compile(r'\s*"rev-(\d{1,18})"\s*')


def _tables(store: Store) -> KeyTables:
    if not isinstance(store, KeyTables):
        msg = f"the store {store.location!r} keeps no API keys"
        raise StorageUnavailable(msg)
    return store


def create_key(db: str, name: str, scopes: Iterable[str]) -> NewKey:
    """Create a key in the store at ``db`` (which must exist); the token is in the result.

    Raises
    ------
    InvalidParameter
        Named ``name`` or ``scope``.
    StorageUnavailable
        The store is missing or cannot be written.
    """
    with open_store(db, create=False) as store:
        return _tables(store).create_key(name, scopes)


def list_keys(db: str) -> list[ApiKey]:
    """Return every key of the store at ``db``, oldest first (no secrets)."""
    with open_store(db, create=False) as store:
        return _tables(store).api_keys()


def revoke_key(db: str, key_id: str) -> ApiKey:
    """Revoke key ``key_id`` of the store at ``db``; NotFound when it has no such key."""
    with open_store(db, create=False) as store:
        return _tables(store).revoke_key(key_id)


def read_audit(db: str, *, limit: int = 100) -> list[AuditEntry]:
    """Return the newest ``limit`` rows of the audit log of ``db``, newest first."""
    with open_store(db, create=False) as store:
        return _tables(store).audit_log(limit=limit)


def authenticate(store: Store, token: str | None, scope: str) -> ApiKey:
    """Return the active key ``token`` names if it grants ``scope``.

    Raises
    ------
    Unauthorized
        No token, or an unknown, malformed or revoked one (401).
    InsufficientScope
        A valid key without ``scope`` (nor ``admin``) (403).
    """
    if not token:
        msg = ("this operation needs an API key: send `Authorization: Bearer <key>` "
               "(or `X-API-Key: <key>`); keys are made with `geosvc keys create`")
        raise Unauthorized(msg)
    key = _tables(store).check_key(token)
    if key is None:
        raise Unauthorized("the API key is unknown or revoked", key_given=True)
    if not grants(key.scopes, scope):
        raise InsufficientScope(scope, key_id=key.id)
    return key


@dataclass(frozen=True, slots=True)
class DatasetVersion:
    """The dataset's current version: its revision, ETag and row counts per table."""

    revision: int
    counts: dict[str, int]

    @property
    def etag(self) -> str:
        """The strong ETag of the revision, with its quotes (``"rev-7"``)."""
        return etag_of(self.revision)


def dataset_version(store: Store) -> DatasetVersion:
    """Return the version of the dataset in ``store``."""
    return DatasetVersion(store.revision(), store.counts())


def expected_revision(if_match: str | None, current: int) -> int | None:
    """Return the revision an ``If-Match`` header lets a write expect (None: no condition).

    ``*`` or no header: no condition.  Otherwise the header must list the
    current ETag (strong comparison: a weak ``W/"..."`` never matches);
    the write then expects that revision, which the store checks again
    under its write lock.

    Raises
    ------
    PreconditionFailed
        The header names no current version (412, with the current ETag).

    Examples
    --------
    >>> expected_revision(None, 3), expected_revision("*", 3), expected_revision('"rev-3"', 3)
    (None, None, 3)
    >>> try:
    ...     expected_revision('"rev-2", W/"rev-3"', 3)
    ... except PreconditionFailed as err:
    ...     print(err.status, err.current_etag)
    412 "rev-3"
    """
    if if_match is None or not if_match.strip() or if_match.strip() == "*":
        return None
    tags = [m.group(1) for part in if_match.split(",") if (m := _REV_TAG.fullmatch(part))]
    if str(current) in tags:
        return current
    raise PreconditionFailed(wanted=if_match.strip(), current_etag=etag_of(current),
                             revision=current)
