"""`GET /map`, `GET /embed`, the widget script and the vendored map libraries.

Thin views over :func:`geosvc.web.pages.map_page`; errors are raised as
:class:`~geosvc.errors.GeosvcError` and become problem+json in
:mod:`geosvc.web.problems`.  ``/embed`` may be framed by any site (no
``X-Frame-Options``; ``Content-Security-Policy: frame-ancestors *``).
"""

from __future__ import annotations

from flask import Blueprint, Response, send_from_directory

from geosvc.render.assets import STATIC_DIR
from geosvc.web._respond import args
from geosvc.web._service import service
from geosvc.web.pages import map_page

bp = Blueprint("maps", __name__)

_HTML = "text/html; charset=utf-8"


def _page(*, compact: bool) -> Response:
    svc = service()
    # Settings.tianditu_key: GEOSVC_TIANDITU_KEY or the settings file, read at start-up
    html = map_page(svc, args(), compact=compact, tianditu_key=svc.settings.tianditu_key)
    resp = Response(html, mimetype="text/html")
    resp.headers["Content-Type"] = _HTML
    resp.headers["Cache-Control"] = "public, max-age=30"
    if compact:
        resp.headers["Content-Security-Policy"] = "frame-ancestors *"
    return resp


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
