"""Responses shared by the blueprints: JSON, the negotiated output format, query arguments.

An endpoint that answers in several formats (:mod:`geosvc.formats`) picks
one with :func:`negotiate` and answers with :func:`format_response`:

* ``f=<name>`` wins; a name no format of the result kind has is a 400
  naming ``f`` and the allowed values;
* else the ``Accept`` header: the format it rates highest (its most
  specific match first); the endpoint's default on a tie, and when there is
  no ``Accept``.  ``*/*`` and ``application/json`` thus keep today's
  answers; an ``Accept`` no format satisfies is a 406.

Every successful GET passes :func:`finish` (an ``after_request`` hook):

* **ETag.** A cacheable answer (``Cache-Control`` not ``no-store``) without
  one gets a strong ETag, the hash of its body (static files keep werkzeug's
  own, from file name, size and time); a gzip'd answer's ETag ends in
  ``-gz``, so the two representations never share one;
* **304.** ``If-None-Match`` naming the ETag answers 304 without a body;
* **gzip.** Text-like bodies of at least :data:`GZIP_MIN_BYTES` carry
  ``Vary: Accept-Encoding`` and are gzip'd when the client accepts it
  (compressed bodies are kept in a small LRU keyed by ETag, so a repeated
  page or asset is compressed once).
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections import OrderedDict
from typing import Any, Final

from flask import Response, request
from werkzeug.exceptions import NotAcceptable

from geosvc.formats import Output, OutputFormat, format_named, formats
from geosvc.formats.builtin import json_bytes
from geosvc.web._ops import count_cache

__all__ = ["args", "dumps", "finish", "format_response", "json_response", "negotiate"]

#: Smallest body gzip'd; below it the header overhead outweighs the gain.
GZIP_MIN_BYTES: Final = 1024
#: Media types worth compressing (besides ``text/*``).
_COMPRESSIBLE: Final = frozenset({
    "application/json", "application/geo+json", "application/problem+json",
    "application/javascript", "application/vnd.oai.openapi+json", "image/svg+xml",
    "application/xml"})
#: Compressed bodies kept (by ETag), and their total size cap in bytes.
_GZ_ENTRIES: Final = 64
_GZ_MAX_BYTES: Final = 16 * 1024 * 1024


def dumps(doc: Any) -> bytes:
    """UTF-8 JSON bytes, compact, Chinese unescaped (orjson; NaN becomes null)."""
    return json_bytes(doc)


def json_response(
    doc: Any,
    *,
    status: int = 200,
    mimetype: str = "application/json",
    max_age: int | None = 30,
) -> Response:
    """Serialise ``doc`` (UTF-8, Chinese unescaped) with a Cache-Control header.

    ``max_age`` None means ``no-store`` (health, errors).
    """
    resp = Response(dumps(doc), status=status, mimetype=mimetype)
    resp.headers["Cache-Control"] = _cache_control(max_age)
    return resp


def _cache_control(max_age: int | None) -> str:
    return "no-store" if max_age is None else f"public, max-age={max_age}"


def args() -> dict[str, str]:
    """Return the query string as ``{name: value}``; repeated names joined with commas."""
    return {k: ",".join(v) for k, v in request.args.lists()}


def negotiate(kind: str, *, default: str) -> OutputFormat:
    """Pick the format of the answer.

    ``f`` first; else ``default`` if ``Accept`` admits it; else what ``Accept`` asks for.

    Parameters
    ----------
    kind : str
        The result kind of the endpoint (:data:`geosvc.formats.KINDS`).
    default : str
        The format name of the endpoint's answer without ``f`` and ``Accept``.

    Raises
    ------
    InvalidParameter
        ``f`` names no format of ``kind`` (400).
    NotAcceptable
        ``Accept`` admits none of them (406, answered as problem+json).
    """
    wanted = ",".join(request.args.getlist("f")).strip()
    if wanted:
        return format_named(wanted, kind)
    offered = sorted(formats(kind), key=lambda f: f.name != default)  # stable: default first
    if not request.headers.get("Accept", "").strip():
        return offered[0]
    # The default answer wins whenever Accept admits it, even through a wildcard: a
    # browser (text/html, ..., */*;q=0.8) opening an API link keeps getting JSON.
    accept = request.accept_mimetypes
    if any(accept.quality(media) > 0 for media in (offered[0].media_type, *offered[0].accept)):
        return offered[0]
    by_type: dict[str, OutputFormat] = {}
    for fmt in offered:
        for media in (fmt.media_type, *fmt.accept):
            by_type.setdefault(media, fmt)
    best = request.accept_mimetypes.best_match(list(by_type))
    if best is None:
        names = ", ".join(f"{f.media_type} (f={f.name})" for f in offered)
        msg = f"no answer of {request.path} satisfies Accept; it offers {names}"
        raise NotAcceptable(msg)
    return by_type[best]


def format_response(fmt: OutputFormat, output: Output, *, status: int = 200,
                    max_age: int | None = 30) -> Response:
    """Answer ``output`` in ``fmt`` with Cache-Control and ``Vary: Accept``.

    A format with a ``disposition`` (CSV: ``attachment``) names the file
    after the path: ``coverage.csv``, ``venues.csv``.
    """
    resp = Response(fmt.render(output), status=status, mimetype=fmt.media_type)
    resp.headers["Cache-Control"] = _cache_control(max_age)
    resp.vary.add("Accept")
    if fmt.disposition:
        stem = request.path.rstrip("/").rsplit("/", 1)[-1] or output.kind
        resp.headers["Content-Disposition"] = (
            f'{fmt.disposition}; filename="{stem}{fmt.suffixes[0]}"')
    return resp


def body_etag(body: bytes) -> str:
    """Return a strong ETag value (without quotes) for ``body``: 32 hex digits of BLAKE2b."""
    return hashlib.blake2b(body, digest_size=16).hexdigest()


class _GzipCache:
    """A thread-safe LRU of gzip'd bodies by ETag, bounded in entries and bytes."""

    def __init__(self, entries: int, max_bytes: int) -> None:
        self._entries = entries
        self._max_bytes = max_bytes
        self._data: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def compress(self, etag: str, body: bytes) -> bytes:
        """Return ``body`` gzip'd (``mtime=0``: same bytes every time), cached by ``etag``."""
        with self._lock:
            hit = self._data.get(etag)
            if hit is not None:
                self._data.move_to_end(etag)
        count_cache("gzip", hit=hit is not None)
        if hit is not None:
            return hit
        packed = gzip.compress(body, compresslevel=6, mtime=0)
        with self._lock:
            if etag not in self._data and len(packed) <= self._max_bytes:
                self._data[etag] = packed
                self._bytes += len(packed)
                while len(self._data) > self._entries or self._bytes > self._max_bytes:
                    _, old = self._data.popitem(last=False)
                    self._bytes -= len(old)
        return packed


_GZ = _GzipCache(_GZ_ENTRIES, _GZ_MAX_BYTES)


def _compressible(resp: Response) -> bool:
    media = (resp.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    return (media.startswith("text/") or media in _COMPRESSIBLE) and (
        "Content-Encoding" not in resp.headers)


def _accepts_gzip() -> bool:
    """Whether the request's ``Accept-Encoding`` admits gzip (parsed only when present)."""
    return bool(request.headers.get("Accept-Encoding")) and request.accept_encodings["gzip"] > 0


def _vary_accept_encoding(resp: Response) -> None:
    """Add ``Accept-Encoding`` to ``Vary`` (set directly when the answer has no ``Vary``)."""
    if "Vary" in resp.headers:
        resp.vary.add("Accept-Encoding")  # parsed and written back as werkzeug does
    else:
        resp.headers["Vary"] = "Accept-Encoding"  # what that gives without a Vary


def _body(resp: Response, *, read: bool = True) -> bytes:
    """Return the body; a streamed file (``send_file``) is read whole and closed.

    ``read=False`` closes a streamed file unread (a 304 drops the body).
    Assets are small, so reading them whole is cheap.
    """
    if not resp.direct_passthrough:
        return resp.get_data()
    stream = resp.response
    data = b"".join(stream) if read else b""  # type: ignore[arg-type]
    close = getattr(stream, "close", None)
    if close is not None:
        close()
    resp.direct_passthrough = False
    resp.set_data(data)
    return data


def finish(resp: Response) -> Response:
    """Add ETag, answer 304 and gzip a successful GET answer (the ``after_request`` hook).

    Only 200 answers to GET / HEAD are touched; ``no-store`` answers
    (health, errors) get no ETag but may still be gzip'd.
    """
    if request.method not in ("GET", "HEAD") or resp.status_code != 200:
        return resp
    # Hot path of every API answer: the body read once, raw headers read, parse only
    # what is present.
    headers = resp.headers
    body = None if resp.direct_passthrough else resp.get_data()
    length = resp.content_length if body is None else len(body)
    zipped = (length or 0) >= GZIP_MIN_BYTES and _compressible(resp)
    if zipped:
        _vary_accept_encoding(resp)
        zipped = _accepts_gzip()
    cacheable = "no-store" not in (headers.get("Cache-Control") or "")
    if cacheable:
        tag, weak = resp.get_etag() if "ETag" in headers else (None, None)
        if tag is None:
            if body is None:
                body = _body(resp)
            tag, weak = body_etag(body), False
            if not zipped:
                resp.set_etag(tag)
        if zipped:
            tag = f"{tag}-gz"
            resp.set_etag(tag, weak=bool(weak))
        if "HTTP_IF_NONE_MATCH" in request.environ:
            wanted = request.if_none_match
            if wanted.contains_weak(tag):  # If-None-Match compares weakly (RFC 9110)
                resp.status_code = 304
                _body(resp, read=False)
                resp.set_data(b"")  # entity headers are dropped by werkzeug for a 304
                return resp
    else:
        tag = None
    if zipped:
        if body is None:
            body = _body(resp)
        packed = _GZ.compress(tag, body) if cacheable and tag else gzip.compress(body, mtime=0)
        resp.set_data(packed)
        resp.headers["Content-Encoding"] = "gzip"
    return resp
