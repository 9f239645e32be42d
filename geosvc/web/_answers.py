"""Analysis answers kept per dataset snapshot: coverage, isochrones, plans.

An answer of ``GET /api/v1/coverage``, ``GET /api/v1/isochrones`` or
``POST /api/v1/plans`` depends only on its request (path, query arguments,
the negotiated format, the language of an HTML answer, the body of a POST),
the server's settings and the data.  A successful answer is kept whole (status,
headers, body bytes) in an LRU bounded by ``answer_cache_mb`` and keyed by the
request; the LRU belongs to one snapshot, so a new revision starts empty and
an answer can never outlive the data it was computed from (nor
:data:`TTL_S`).  A repeated request
then costs a dictionary look-up: the body bytes are served as kept (serialised
once), with their ETag (the body's hash, made once when the answer is kept);
the gzip'd body comes from :func:`geosvc.web._respond.finish` (which keeps
compressed bodies by ETag), and ``If-None-Match`` gets a 304.

Not kept:

* requests about "now" (``open_now`` in the query or a plan body): their
  answer changes with the clock;
* answers computed while a new snapshot was swapped in (the snapshot read
  before and after the computation differ);
* errors (they are raised, never returned here) and answers larger than a
  quarter of the budget.

Each worker process keeps its own LRU: the store numbers its revisions but
has no identity that survives recreating a database (a new file starts again
at revision 1), so answers are not shared between processes through the
disk.  Hits and misses are counted as the ``answers`` cache of ``/metrics``.
"""

from __future__ import annotations

import hashlib
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from flask import Response, current_app, request

from geosvc.web._ops import count_cache
from geosvc.web._respond import body_etag
from geosvc.web._service import service

if TYPE_CHECKING:
    from geosvc.app.service import Snapshot

__all__ = ["AnswerCache", "cached_answer"]

#: Headers never kept with an answer (they belong to one response; the ETag is made
#: again from the body when it is kept, see ``_Stored``).
_DROP: Final = frozenset({"set-cookie", "date", "content-length", "etag", "x-request-id"})
#: Longest an answer is kept, seconds: besides ``open_now``, the date only shapes
#: warnings (holiday data running out), which a day-old answer must not miss.
TTL_S: Final = 900.0
#: Query and body values that ask about the present moment.
_NOW_ARG: Final = "open_now"


@dataclass(frozen=True, slots=True)
class _Stored:
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    at: float
    #: The headers to answer with: ``headers`` and the ETag (the body's hash, made once).
    answer_headers: tuple[tuple[str, str], ...] = ()

    def response(self) -> Response:
        # Content-Type included (no default is added); Content-Length from the body
        return Response(self.body, status=self.status, headers=self.answer_headers)


class AnswerCache:
    """Whole answers by request key, one LRU per snapshot, bounded in bytes.

    Thread-safe.  Snapshots are held weakly: when the service drops an old
    snapshot its answers go with it (at the next answer kept).

    Examples
    --------
    >>> cache = AnswerCache(max_bytes=1000)
    >>> class Snap: pass
    >>> snap = Snap()
    >>> cache.get(snap, "k") is None
    True
    >>> cache.put(snap, "k", 200, (("Content-Type", "application/json"),), b"{}")
    True
    >>> cache.get(snap, "k").body
    b'{}'
    >>> cache.put(snap, "big", 200, (), b"x" * 300)  # more than a quarter of the budget
    False
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        # by id(snapshot): (a weak reference to it, its answers, their size); snapshots
        # compare by value, so identity is checked through the reference
        self._tables: dict[int, tuple[weakref.ref[object], OrderedDict[str, _Stored],
                                      list[int]]] = {}
        self._lock = threading.Lock()

    def _table(self, snap: object) -> tuple[OrderedDict[str, _Stored], list[int]] | None:
        entry = self._tables.get(id(snap))
        if entry is None or entry[0]() is not snap:
            return None
        return entry[1], entry[2]

    def get(self, snap: object, key: str) -> _Stored | None:
        """Return the answer kept for ``key`` under ``snap`` (younger than :data:`TTL_S`)."""
        with self._lock:
            found = self._table(snap)
            hit = None if found is None else found[0].get(key)
            if hit is None or found is None:
                return None
            table, used = found
            if time.monotonic() - hit.at >= TTL_S:
                del table[key]
                used[0] -= _size(hit)
                return None
            table.move_to_end(key)
            return hit

    def put(self, snap: object, key: str, status: int, headers: tuple[tuple[str, str], ...],
            body: bytes) -> bool:
        """Keep an answer; return False when it is too large to keep (> 1/4 of the budget)."""
        stored = _Stored(status, headers, body, time.monotonic(),
                         (*headers, ("ETag", f'"{body_etag(body)}"')))
        size = _size(stored)
        if size > self.max_bytes // 4:
            return False
        with self._lock:
            found = self._table(snap)
            if found is None:
                # the snapshots the service dropped take their answers with them
                self._tables = {k: v for k, v in self._tables.items() if v[0]() is not None}
                found = (OrderedDict(), [0])
                self._tables[id(snap)] = (weakref.ref(snap), *found)
            table, used = found
            old = table.pop(key, None)
            if old is not None:
                used[0] -= _size(old)
            table[key] = stored
            used[0] += size
            while used[0] > self.max_bytes and table:
                _, dropped = table.popitem(last=False)
                used[0] -= _size(dropped)
            return True

    def __len__(self) -> int:
        """Return the number of answers kept, over every live snapshot."""
        with self._lock:
            return sum(len(v[1]) for v in self._tables.values() if v[0]() is not None)

    def bytes_used(self) -> int:
        """Return the bytes kept, over every live snapshot."""
        with self._lock:
            return sum(v[2][0] for v in self._tables.values() if v[0]() is not None)


def _size(stored: _Stored) -> int:
    return len(stored.body) + sum(len(n) + len(v) for n, v in stored.headers)


def _cache() -> AnswerCache | None:
    app = current_app
    cache = app.extensions.get("geosvc.answers")
    if cache is None:
        budget = int(service().settings.answer_cache_mb * 1024 * 1024)
        if budget <= 0:
            return None
        cache = app.extensions.setdefault("geosvc.answers", AnswerCache(budget))
    return cache


def _asks_now() -> bool:
    """Whether the request asks about the present moment (its answer changes with the clock)."""
    if request.args.get(_NOW_ARG, "").strip().lower() not in ("", "false", "0", "no"):
        return True
    return request.method == "POST" and _NOW_ARG.encode() in request.get_data(cache=True)


def _key(variant: str) -> str:
    h = hashlib.blake2b(digest_size=20)
    for part in (request.method, request.path, variant):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    for name, value in sorted(request.args.items(multi=True)):
        h.update(f"{name}={value}".encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    if request.method == "POST":
        h.update(request.get_data(cache=True))
    return h.hexdigest()


def cached_answer(build: Callable[[], Response], *, variant: str = "") -> Response:
    """Return the kept answer to this request, or ``build()`` it and keep it.

    ``variant`` names what else shapes the answer besides the request's
    path, arguments and body: the negotiated format, an HTML page's language.
    """
    cache = _cache()
    if cache is None or _asks_now():
        return build()
    svc = service()
    snap: Snapshot = svc.snapshot
    key = _key(variant)
    hit = cache.get(snap, key)
    count_cache("answers", hit=hit is not None)
    if hit is not None:
        return hit.response()
    resp = build()
    if (resp.status_code == 200 and not resp.direct_passthrough and not resp.is_streamed
            and svc.snapshot is snap):
        headers = tuple((n, v) for n, v in resp.headers.items() if n.lower() not in _DROP)
        cache.put(snap, key, resp.status_code, headers, resp.get_data())
    return resp
