"""Limits on requests and protective headers on every answer (issue 11, first part).

* **Body size.** ``MAX_CONTENT_LENGTH`` is :attr:`Settings.max_body_bytes
  <geosvc.config.Settings.max_body_bytes>` (1 MB): a larger declared body is
  a 413 problem before anything is read or parsed; a chunked body is cut at
  the same size (werkzeug limits the stream).
* **Writes are JSON and same-site.** A request that changes or computes
  from a body (``POST`` ``PUT`` ``PATCH`` ``DELETE``) with a body must say
  ``Content-Type: application/json`` (else 415; no body: the endpoint's
  400; the upload paths :data:`_UPLOAD_PATHS` also take
  ``multipart/form-data``, which a page on another site can send without a
  preflight, hence the ``Origin`` rule below and the key they require): a
  web page on another site can only send a JSON request after a
  CORS preflight, which names the
  methods and origins allowed.  A write carrying an ``Origin`` other than
  the server's own and not listed in :attr:`Settings.write_origins` is a 403,
  and its answer carries no ``Access-Control-Allow-Origin`` (reads stay
  open to :attr:`Settings.cors_origins`).
* **Headers.** Every answer: ``X-Content-Type-Options: nosniff`` and
  ``Referrer-Policy: strict-origin-when-cross-origin``; every answer but
  ``/embed``: ``X-Frame-Options: DENY`` and, when the view set no
  Content-Security-Policy, ``frame-ancestors 'none'`` (no page may be framed
  by another site except the embeddable map).
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
import re
import threading
import time
from typing import TYPE_CHECKING, Final, cast
from urllib.parse import unquote

from flask import Response, g, request
from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter
from werkzeug.exceptions import (
    Forbidden,
    RequestEntityTooLarge,
    TooManyRequests,
    UnsupportedMediaType,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from flask import Flask

    from geosvc.config import Settings

__all__ = ["HEAVY", "html_csp", "install", "install_rate_limits", "memo_cors"]

_WRITES: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Paths other sites may frame.
_FRAMEABLE: Final = ("/embed",)
#: Writes that also take ``multipart/form-data`` (file uploads; a key is required).
_UPLOAD_PATHS: Final = ("/api/v1/imports",)


_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def html_csp(body: bytes, ancestors: str = "frame-ancestors 'none'") -> str:
    """Return a Content-Security-Policy for an HTML page that lets exactly its own scripts run.

    Scripts load from this origin or are the page's inline blocks, named by
    their SHA-256 (so an injected script, even inline, does not run); no
    plugins, no ``<base>``; images from this origin, ``data:`` and https
    tile servers; styles may be inline (Leaflet positions by style
    attributes); fetches to this origin only.

    Examples
    --------
    >>> p = html_csp(b"<p>x</p><script>go()</script><script src='/a.js'></script>")
    >>> "'sha256-" in p and "'unsafe-inline'" not in p.split("style-src")[0]
    True
    >>> html_csp(b"<p>no script</p>").split("; ")[1]
    "script-src 'none'"
    """
    hashes = sorted({"'sha256-" + base64.b64encode(hashlib.sha256(block).digest()).decode()
                     + "'" for block in _INLINE_SCRIPT.findall(body)})
    scripts = " ".join(["'self'", *hashes]) if b"<script" in body else "'none'"
    return "; ".join([
        "default-src 'self'", f"script-src {scripts}", "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: https:", "connect-src 'self'", "font-src 'self' data:",
        "object-src 'none'", "base-uri 'none'", "form-action 'self'", ancestors])


def _origins(raw: str) -> frozenset[str]:
    return frozenset(o.strip().rstrip("/") for o in raw.split(",") if o.strip())


def _buffer_chunked(limit: int) -> None:
    """Read a chunked body (at most ``limit`` bytes, else 413) and give it a length.

    werkzeug cuts a chunked body at ``MAX_CONTENT_LENGTH`` silently; reading it
    here first turns an oversized one into the same 413 as a declared length.
    """
    environ = request.environ
    body = environ["wsgi.input"].read(limit + 1)
    if len(body) > limit:
        msg = f"the body is larger than the limit of {limit} bytes"
        raise RequestEntityTooLarge(msg)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("wsgi.input_terminated", None)  # request.headers reads environ live


class _Guard:
    """The write check and the header hook of one app (its body limit and writer origins)."""

    def __init__(self, settings: Settings) -> None:
        self.limit = settings.max_body_bytes
        self.writers = _origins(settings.write_origins)
        self.csp_cache: dict[tuple[str, str], str] = {}

    def foreign_origin(self) -> str | None:
        """Return the request's ``Origin`` if another site not allowed to write, else None."""
        origin = request.headers.get("Origin")
        if not origin or origin.rstrip("/") == request.host_url.rstrip("/"):
            return None
        return None if origin.rstrip("/") in self.writers else origin

    def check_write(self) -> None:
        """``before_request``: refuse foreign writes (403) and non-JSON bodies (415)."""
        if request.method not in _WRITES or request.routing_exception is not None:
            return  # reads, and unknown paths / methods (their 404 / 405 come first)
        origin = self.foreign_origin()
        if origin is not None:
            msg = (f"writes from the origin {origin[:80]!r} are not allowed; "
                   "the server admits cross-origin writes only from its `write_origins`")
            raise Forbidden(msg)
        if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
            _buffer_chunked(self.limit)
        mimetype = request.mimetype
        if request.content_length and mimetype != "application/json" and not (
                mimetype == "multipart/form-data" and request.path in _UPLOAD_PATHS):
            shown = mimetype or "none"
            also = (" or `multipart/form-data`" if request.path in _UPLOAD_PATHS else "")
            msg = (f"the body must be `Content-Type: application/json`{also}, "
                   f"not {shown[:60]!r}")
            raise UnsupportedMediaType(msg)

    def preflight(self, resp: Response) -> None:
        """Let a preflight from a listed writer origin approve the write it asks for."""
        asked = request.headers.get("Access-Control-Request-Method", "").upper()
        origin = (request.headers.get("Origin") or "").rstrip("/")
        if asked in _WRITES and origin in self.writers and request.path.startswith("/api/"):
            resp.headers["Access-Control-Allow-Origin"] = origin
            resp.headers["Access-Control-Allow-Methods"] = f"GET, HEAD, OPTIONS, {asked}"
            resp.headers["Access-Control-Allow-Headers"] = (
                "Content-Type, Authorization, X-API-Key, If-Match")
            resp.vary.add("Origin")

    def headers(self, resp: Response) -> Response:
        """``after_request``: protective headers; no CORS grant on a refused write."""
        headers = resp.headers
        method = request.method
        if method in _WRITES and self.foreign_origin() is not None:
            headers.pop("Access-Control-Allow-Origin", None)
            headers.pop("Access-Control-Allow-Credentials", None)
        elif method == "OPTIONS":
            self.preflight(resp)
        # one pass over the names set so far (Headers looks names up by a scan)
        have = {name.lower() for name, _ in headers}
        if "x-content-type-options" not in have:
            headers.add("X-Content-Type-Options", "nosniff")
        if "referrer-policy" not in have:
            headers.add("Referrer-Policy", "strict-origin-when-cross-origin")
        framed = request.path in _FRAMEABLE
        if not framed and "x-frame-options" not in have:
            headers.add("X-Frame-Options", "DENY")
        csp = headers.get("Content-Security-Policy", "") if "content-security-policy" in have \
            else ""
        if not csp or csp.startswith("frame-ancestors") and ";" not in csp:
            ancestors = csp or ("frame-ancestors *" if framed else "frame-ancestors 'none'")
            if resp.mimetype == "text/html" and not resp.is_streamed:
                headers["Content-Security-Policy"] = self.page_csp(resp, ancestors)
            elif csp:
                headers["Content-Security-Policy"] = ancestors
            else:
                headers.add("Content-Security-Policy", ancestors)
        return resp

    def page_csp(self, resp: Response, ancestors: str) -> str:
        """Return the policy of an HTML page: its own inline scripts by hash, nothing else.

        Kept per ETag (pages served from a cache are hashed once).
        """
        tag = resp.headers.get("ETag", "")
        hit = self.csp_cache.get((tag, ancestors)) if tag else None
        if hit is not None:
            return hit
        policy = html_csp(resp.get_data(), ancestors)
        if tag:
            if len(self.csp_cache) >= 256:
                self.csp_cache.clear()
            self.csp_cache[(tag, ancestors)] = policy
        return policy


#: Blueprints of the heavy analyses, limited per client by ``heavy_rate_limit``.
HEAVY: Final = ("coverage", "isochrones", "plans")


class _Windows:
    """In-process sliding-window counters: the ``memory://`` storage of the heavy limit.

    The same algorithm and figures as the limits library's
    :class:`~limits.strategies.SlidingWindowCounterRateLimiter` over its
    memory storage (windows aligned on multiples of the period; the previous
    window's count weighted by the share of it still inside the sliding
    window), without that storage's cost per hit: it keeps a lock per key and
    starts a timer thread to expire keys every 10 ms, which under load made
    each heavy request wait for a new thread to start.  One lock, one
    dictionary; keys of windows that ended are swept once per period.

    Examples
    --------
    >>> w, item = _Windows(), parse_many("2/minute")[0]
    >>> [w.hit(item, "a")[0] for _ in range(3)]
    [True, True, False]
    >>> w.hit(item, "b")[1]  # remaining after the hit
    1
    """

    def __init__(self) -> None:
        # (period, limit, client) -> (window number, previous window's count, this window's)
        self._counts: dict[tuple[int, str, str], tuple[int, int, int]] = {}
        self._swept: dict[int, int] = {}  # period -> window number of the last sweep
        self._lock = threading.Lock()

    def hit(self, item: RateLimitItem, key: str) -> tuple[bool, int, float]:
        """Count a hit of ``key`` if the limit allows; return (allowed, remaining, reset)."""
        expiry, limit = item.get_expiry(), item.amount
        now = time.time()
        window = int(now // expiry)
        slot = (expiry, item.key_for(), key)
        with self._lock:
            if self._swept.get(expiry) != window:
                self._sweep(expiry, window)
            seen, previous, current = self._counts.get(slot, (window, 0, 0))
            if seen != window:
                previous, current = (current if seen == window - 1 else 0), 0
            previous_ttl = (1 - (((now - expiry) / expiry) % 1)) * expiry if previous else 0.0
            weight = previous * previous_ttl / expiry
            allowed = math.floor(weight + current) + 1 <= limit
            if allowed:
                current += 1
            self._counts[slot] = (window, previous, current)
        remaining = max(0, limit - math.floor(weight + current))
        # the reset time as the library reports it (get_window_stats)
        reset_in = math.inf
        if previous:
            reset_in = previous_ttl % (expiry / previous)
        if current:
            reset_in = min(reset_in, ((1 - ((now / expiry) % 1)) * expiry + expiry) % expiry)
        return allowed, remaining, now + (0.0 if math.isinf(reset_in) else reset_in)

    def _sweep(self, expiry: int, window: int) -> None:
        """Drop counts of ``expiry`` whose windows no longer weigh (lock held)."""
        self._swept[expiry] = window
        stale = [slot for slot, (seen, _, _) in self._counts.items()
                 if seen < window - 1 and slot[0] == expiry]
        for slot in stale:
            del self._counts[slot]


class _HeavyLimit:
    """Per-client-address request counts for the heavy blueprints.

    Counts live in :class:`_Windows` for ``memory://`` (the default: per
    process), else in the limits library's storage named by
    ``rate_limit_storage`` (e.g. ``redis://``, shared by the workers).
    """

    def __init__(self, settings: Settings, rate: str) -> None:
        self.rate = rate
        self.items = parse_many(rate)
        storage = settings.rate_limit_storage.strip()
        self.local = _Windows() if storage == "memory://" else None
        self.window = None if self.local is not None else SlidingWindowCounterRateLimiter(
            storage_from_string(storage))

    def _hit(self, item: RateLimitItem, key: str) -> tuple[bool, int, float]:
        if self.local is not None:
            return self.local.hit(item, key)
        assert self.window is not None  # noqa: S101 - one of the two is set
        allowed = self.window.hit(item, "heavy", key)
        stats = self.window.get_window_stats(item, "heavy", key)
        return allowed, stats.remaining, stats.reset_time

    def check(self) -> None:
        """``before_request`` of a heavy blueprint: count the hit, 429 beyond the rate."""
        key = request.remote_addr or "-"
        first = None
        for item in self.items:
            allowed, remaining, reset = self._hit(item, key)
            if not allowed:
                retry = max(1, math.ceil(reset - time.time()))
                msg = (f"too many requests to the heavy analyses from this address "
                       f"(at most {self.rate}); retry after {retry} s")
                raise TooManyRequests(msg, retry_after=retry)
            if first is None:
                first = (str(item.amount), str(remaining), str(math.ceil(reset)))
        g.heavy_limit = first

    @staticmethod
    def headers(resp: Response) -> Response:
        """``after_request`` of a heavy blueprint: ``X-RateLimit-*`` of the first rate."""
        first = g.get("heavy_limit")
        if first is not None:
            headers = resp.headers
            headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"], \
                headers["X-RateLimit-Reset"] = first
        return resp


def install_rate_limits(app: Flask, settings: Settings) -> None:
    """Limit each client address's requests to the heavy analyses (429 beyond).

    Call after the blueprints are registered.  The check runs only on the
    heavy blueprints (other requests pay nothing); counts live in
    ``rate_limit_storage`` (``memory://``: per process).  The 429 is a
    problem+json (``geosvc.web.problems``) with ``Retry-After``; answers
    within the limit carry ``X-RateLimit-*`` headers.  Behind a reverse
    proxy the client address is the proxy's unless the proxy is trusted
    (``trusted_proxies``).
    """
    rate = settings.heavy_rate_limit.strip()
    if not rate:
        return
    limit = _HeavyLimit(settings, rate)
    for name in HEAVY:
        app.before_request_funcs.setdefault(name, []).append(limit.check)
        app.after_request_funcs.setdefault(name, []).append(limit.headers)


def memo_cors(app: Flask, resources: tuple[str, ...]) -> None:
    """Replace the CORS hook flask-cors just registered by one that remembers its plain answer.

    Call right after ``CORS(app, resources=...)`` with the same resource
    patterns.  For a GET or HEAD without ``Origin`` (and without a private
    network request) flask-cors adds the same headers to every answer of a
    path its resources match (``Access-Control-Allow-Origin`` from the
    configured origins, ``Access-Control-Expose-Headers``, maybe ``Vary``):
    they depend on the configuration only.  The first such answer is
    computed by flask-cors itself and its added headers kept; later ones
    get a copy.  Every other request (an ``Origin``, a preflight, a write)
    goes through flask-cors as before; so do errors (it also wraps the
    exception handlers).
    """
    hooks = app.after_request_funcs[None]
    original = cast("Callable[[Response], Response]", hooks[-1])
    patterns = [re.compile(p) for p in resources]
    plain: dict[bool, tuple[tuple[str, str], ...]] = {}

    def cors(resp: Response) -> Response:
        req = request.headers
        if (request.method not in ("GET", "HEAD") or "Origin" in req
                or "Access-Control-Request-Private-Network" in req
                or "Access-Control-Allow-Origin" in resp.headers):
            return original(resp)
        path = unquote(request.path)  # as flask-cors matches it
        matched = any(p.match(path) for p in patterns)
        added = plain.get(matched)
        if added is None:
            before = len(resp.headers)
            resp = original(resp)
            plain[matched] = tuple(list(resp.headers)[before:])
            return resp
        for name, value in added:
            resp.headers.add(name, value)
        return resp

    hooks[-1] = cors


def install(app: Flask, settings: Settings) -> None:
    """Set the body limit and register the write check and the header hook on ``app``.

    Register before CORS: Flask runs ``after_request`` hooks last-registered
    first, so the header hook sees (and may drop) what flask-cors added.
    """
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    guard = _Guard(settings)
    app.before_request(guard.check_write)
    app.after_request(guard.headers)
