"""`GET /`: the citizens' app shell, and its static files with a digest in the URL.

The shell (:func:`geosvc.render.app_page.app_page_html`) depends only on the
dataset revision and the page preferences (language, 长辈版), so it is
generated once per ``(revision, lang, elder)`` and kept in the app
(:class:`_ShellCache`); a request costs a dictionary look-up, and
:func:`geosvc.web._respond.finish` adds the 304 and the gzip.  Its answer
carries a strict Content-Security-Policy (:data:`CSP`: no inline script or
style, API calls to this origin only, map tiles from https) and a short
``Cache-Control``; the script and style sheet it links are served under
``/static/app/<digest>/<name>`` for a year (``immutable``).
"""

from __future__ import annotations

import threading
from typing import Final

import numpy as np
from flask import Blueprint, Response, current_app, request, send_from_directory
from werkzeug.exceptions import NotFound

from geosvc.model import Status
from geosvc.render.app_page import APP_ASSETS, AppData, app_page_html, asset_digest
from geosvc.render.assets import STATIC_DIR
from geosvc.render.i18n import Prefs
from geosvc.table import STATUS_CODE
from geosvc.web._ops import count_cache
from geosvc.web._prefs import page_prefs, remember
from geosvc.web._respond import body_etag
from geosvc.web._service import service

__all__ = ["CSP", "bp"]

bp = Blueprint("home", __name__)

#: The app page's Content-Security-Policy: nothing inline, data from this origin only.
CSP: Final = ("default-src 'self'; script-src 'self'; style-src 'self'; "
              "img-src 'self' data: https:; connect-src 'self'; font-src 'self'; "
              "object-src 'none'; base-uri 'none'; form-action 'self'; "
              "frame-ancestors 'self'")
#: Seconds a browser may keep the shell (it changes with the data), and the assets.
SHELL_MAX_AGE_S: Final = 60
ASSET_MAX_AGE_S: Final = 365 * 24 * 3600
_EXTENSION_KEY: Final = "geosvc.app_shell"


class _ShellCache:
    """Generated shells of one app by (revision, lang, elder); older revisions dropped."""

    def __init__(self) -> None:
        self.pages: dict[tuple[int, str, bool], tuple[bytes, str]] = {}
        self.lock = threading.Lock()

    def get(self, key: tuple[int, str, bool]) -> tuple[bytes, str] | None:
        with self.lock:
            return self.pages.get(key)

    def put(self, key: tuple[int, str, bool], html: bytes, tag: str) -> None:
        with self.lock:
            for old in [k for k in self.pages if k[0] != key[0]]:
                del self.pages[old]
            self.pages[key] = (html, tag)


def _app_data() -> AppData:
    """Return the facts of the current dataset the shell starts from."""
    svc = service()
    snap = svc.snapshot
    index = snap.index
    serving = np.asarray(index.table.status) == STATUS_CODE[Status.IN_SERVICE]
    lon = np.asarray(index.lon)[serving] if serving.any() else np.asarray(index.lon)
    lat = np.asarray(index.lat)[serving] if serving.any() else np.asarray(index.lat)
    if lon.size:
        centre = (round(float(np.median(lon)), 6), round(float(np.median(lat)), 6))
        bounds = (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))
    else:  # an empty dataset: the demo city's centre
        centre = (24.9384, 60.1699)
        bounds = (*centre, *centre)
    return AppData(
        dataset=snap.info.name or "geosvc",
        centre=centre,
        bounds=bounds,
        modes=tuple(svc.networks),
        items_count=len(index.items),
        venues_count=int(serving.sum()),
        tianditu_key=svc.settings.tianditu_key,
    )


def _shell(prefs: Prefs) -> tuple[bytes, str]:
    """Return the shell's UTF-8 HTML and ETag for ``prefs``, generated once per revision."""
    svc = service()
    cache = current_app.extensions.setdefault(_EXTENSION_KEY, _ShellCache())
    key = (svc.snapshot.revision, *prefs.key)
    hit = cache.get(key)
    count_cache("app_shell", hit=hit is not None)
    if hit is not None:
        return hit
    html = app_page_html(_app_data(), prefs).encode("utf-8")
    tag = body_etag(html)
    cache.put(key, html, tag)
    return html, tag


@bp.get("/")
def home() -> Response:
    """Serve the citizens' app (search, guide, nearest venues, directions)."""
    prefs = page_prefs()
    html, tag = _shell(prefs)
    resp = Response(html, mimetype="text/html")
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    resp.set_etag(tag)
    # An answer that sets a cookie (lang= / elder= named) is for this browser only.
    chosen = "lang" in request.args or "elder" in request.args
    resp.headers["Cache-Control"] = f"{'private' if chosen else 'public'}, " \
                                    f"max-age={SHELL_MAX_AGE_S}"
    resp.headers["Content-Security-Policy"] = CSP
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    return remember(resp, prefs)


@bp.get("/static/app/<digest>/<name>")
def app_asset(digest: str, name: str) -> Response:
    """Serve the app's script or style sheet; cached for a year when ``digest`` is current.

    A stale digest (a shell cached before an upgrade) still gets the current
    file, cached briefly.
    """
    if name not in APP_ASSETS:
        msg = f"no app asset {name}"
        raise NotFound(msg)
    current = digest == asset_digest(name)
    mimetype = "text/javascript" if name.endswith(".js") else "text/css"
    resp = send_from_directory(STATIC_DIR, name, mimetype=mimetype,
                               max_age=ASSET_MAX_AGE_S if current else SHELL_MAX_AGE_S)
    if current:
        resp.headers["Cache-Control"] = f"public, max-age={ASSET_MAX_AGE_S}, immutable"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp
