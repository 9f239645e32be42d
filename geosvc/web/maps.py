"""`GET /map`, `GET /embed`, the widget script and the vendored map libraries.

Thin views over :func:`geosvc.web.pages.map_page`; errors are raised as
:class:`~geosvc.errors.GeosvcError` and become problem+json in
:mod:`geosvc.web.problems`.  ``/embed`` may be framed by any site (no
``X-Frame-Options``; ``Content-Security-Policy: frame-ancestors *``).

Pages are in the request's language and mode (``lang`` / ``elder``, cookies,
``Accept-Language``: :func:`geosvc.web._prefs.page_prefs`), and answer with
``Vary: Accept-Language, Cookie``.  Rendered pages are kept in a small LRU
per (dataset revision, page, language and mode, query) for
:data:`PAGE_TTL_S` seconds (their ``open`` states depend on the clock),
so a repeated request costs a dictionary look-up; the ETag is the page's
hash and :func:`geosvc.web._respond.finish` serves it gzip'd.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Final

from flask import Blueprint, Response, current_app, request, send_from_directory

from geosvc.render.assets import STATIC_DIR
from geosvc.render.i18n import Prefs
from geosvc.render.shell import switch_nav_html
from geosvc.web._ops import count_cache
from geosvc.web._prefs import page_prefs, remember
from geosvc.web._respond import args, body_etag
from geosvc.web._service import service
from geosvc.web.pages import map_page

bp = Blueprint("maps", __name__)

_HTML = "text/html; charset=utf-8"
#: Rendered map pages kept, and for how long (seconds).
PAGE_CACHE_SIZE: Final = 32
PAGE_TTL_S: Final = 60.0

_PageKey = tuple[int, bool, tuple[str, bool], tuple[tuple[str, str], ...]]


class _PageCache:
    """Rendered pages by (revision, compact, prefs, query): an LRU with a time limit."""

    def __init__(self) -> None:
        self.pages: OrderedDict[_PageKey, tuple[float, bytes, str]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: _PageKey, now: float) -> tuple[bytes, str] | None:
        with self.lock:
            hit = self.pages.get(key)
            if hit is None or now - hit[0] >= PAGE_TTL_S:
                return None
            self.pages.move_to_end(key)
            return hit[1], hit[2]

    def put(self, key: _PageKey, now: float, html: bytes, tag: str) -> None:
        with self.lock:
            self.pages[key] = (now, html, tag)
            self.pages.move_to_end(key)
            while len(self.pages) > PAGE_CACHE_SIZE:
                self.pages.popitem(last=False)


def _rendered(*, compact: bool, prefs: Prefs) -> tuple[bytes, str]:
    """Return the page's UTF-8 HTML and its ETag, from the app's cache when fresh."""
    svc = service()
    params = args()
    cache = current_app.extensions.setdefault("geosvc.map_pages", _PageCache())
    key = (svc.snapshot.revision, compact, prefs.key, tuple(sorted(params.items())))
    now = time.monotonic()
    hit = cache.get(key, now)
    count_cache("map_pages", hit=hit is not None)
    if hit is not None:
        return hit
    # Settings.tianditu_key: GEOSVC_TIANDITU_KEY or the settings file, read at start-up
    nav = switch_nav_html(prefs, request.path, params)
    html = map_page(svc, params, compact=compact, tianditu_key=svc.settings.tianditu_key,
                    prefs=prefs, nav=nav).encode("utf-8")
    tag = body_etag(html)
    cache.put(key, now, html, tag)
    return html, tag


def _page(*, compact: bool) -> Response:
    prefs = page_prefs()
    html, tag = _rendered(compact=compact, prefs=prefs)
    resp = Response(html, mimetype="text/html")
    resp.headers["Content-Type"] = _HTML
    resp.set_etag(tag)
    resp.headers["Cache-Control"] = "public, max-age=30"
    if compact:
        resp.headers["Content-Security-Policy"] = "frame-ancestors *"
    return remember(resp, prefs)


@bp.get("/map")
def full_map() -> Response:
    """Serve the full-page map for citizens and planners."""
    return _page(compact=False)


@bp.get("/embed")
def embed() -> Response:
    """Serve the compact map page for an ``<iframe>`` on another site."""
    return _page(compact=True)


@bp.get("/static/geosvc-widget.js")
def widget_script() -> Response:
    """Serve the dependency-free venue-finder widget (include it from any origin)."""
    resp = send_from_directory(STATIC_DIR, "geosvc-widget.js", mimetype="text/javascript",
                               max_age=300)
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


@bp.get("/static/vendor/<path:filename>")
def vendor(filename: str) -> Response:
    """Leaflet and its plugins, served locally so maps work offline."""
    resp = send_from_directory(STATIC_DIR / "vendor", filename, max_age=86400)
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp
