"""Local copies of the browser libraries the maps need, and how to point Folium at them.

Folium's elements name their JavaScript and CSS in the class attributes
``default_js`` / ``default_css`` (CDN URLs).  Those CDNs are unreachable
offline and for many users in China, so every element geosvc renders gets
*instance* attributes naming the copies vendored in
``geosvc/render/static/vendor/`` (see its README for versions and licences).
Folium's module globals are never touched.

Pages served by the web app load the files from ``{base}/static/vendor/...``;
the self-contained planner report inlines them (:func:`inline_assets`).
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from branca.element import Element
    from folium.elements import JSCSSMixin

__all__ = ["STATIC_DIR", "VENDOR", "inline_assets", "localize", "vendor_url"]

#: Directory of the static files served under ``/static/``.
STATIC_DIR = Path(__file__).resolve().parent / "static"

#: Vendored files by library: (js files, css files), relative to ``static/vendor``.
VENDOR: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "leaflet": (("leaflet/leaflet.js",), ("leaflet/leaflet.css",)),
    "markercluster": (
        ("markercluster/leaflet.markercluster.js",),
        ("markercluster/MarkerCluster.css", "markercluster/MarkerCluster.Default.css"),
    ),
    "heat": (("heat/leaflet-heat.js",), ()),
}

# Which vendored library each Folium element class needs, by class name.
_NEEDS = {
    "Map": "leaflet",
    "MarkerCluster": "markercluster",
    "HeatMap": "heat",
}
_VENDOR_PREFIX = "/static/vendor/"


def vendor_url(relative: str, *, base: str = "") -> str:
    """Return the URL of a vendored file served by the web app.

    Examples
    --------
    >>> vendor_url("leaflet/leaflet.js")
    '/static/vendor/leaflet/leaflet.js'
    >>> vendor_url("leaflet/leaflet.css", base="http://h:8000/")
    'http://h:8000/static/vendor/leaflet/leaflet.css'
    """
    return base.rstrip("/") + _VENDOR_PREFIX + relative


def localize(element: Element, *, base: str = "") -> Element:
    """Make ``element`` and its descendants load vendored files instead of CDNs.

    Sets instance attributes ``default_js`` / ``default_css`` on every Folium
    element below ``element`` (inclusive) that declares them: the libraries
    geosvc vendors get local URLs, everything else (jQuery, Bootstrap,
    awesome-markers, which geosvc's maps do not use) is dropped.

    Parameters
    ----------
    element : branca Element
        Usually a ``folium.Map``; changed in place and returned.
    base : str
        URL prefix of the server (empty: same origin, absolute paths).
    """
    stack = [element]
    while stack:
        el = stack.pop()
        stack.extend(el._children.values())
        if not hasattr(el, "default_js"):
            continue
        linked = cast("JSCSSMixin", el)  # folium's elements with assets use the mixin
        lib = _NEEDS.get(type(el).__name__)
        js, css = VENDOR[lib] if lib else ((), ())
        linked.default_js = [
            (f"geosvc-{lib}-js{i}", vendor_url(p, base=base)) for i, p in enumerate(js)
        ]
        linked.default_css = [
            (f"geosvc-{lib}-css{i}", vendor_url(p, base=base)) for i, p in enumerate(css)
        ]
    return element


_SCRIPT_RE = re.compile(r'<script src="(?:[^"]*?)/static/vendor/([^"]+)"></script>')
_CSS_RE = re.compile(r'<link rel="stylesheet" href="(?:[^"]*?)/static/vendor/([^"]+)"\s*/?>')
_URL_RE = re.compile(r"url\((images/[\w.-]+\.png)\)")


def _read(relative: str) -> str:
    path = (STATIC_DIR / "vendor" / relative).resolve()
    text = path.read_text(encoding="utf-8")
    # Source maps are not shipped; drop the comment so nothing asks for them.
    return re.sub(r"^//# sourceMappingURL=.*$", "", text, flags=re.MULTILINE)


def _inline_css(relative: str) -> str:
    folder = (STATIC_DIR / "vendor" / relative).parent
    text = _read(relative)

    def data_uri(match: re.Match[str]) -> str:
        png = (folder / match.group(1)).read_bytes()
        return "url(data:image/png;base64," + base64.b64encode(png).decode("ascii") + ")"

    return _URL_RE.sub(data_uri, text)


def inline_assets(html: str) -> str:
    """Replace links to vendored files in a page with the files' contents.

    The result needs no server: scripts and style sheets are inline, images
    the style sheets use become ``data:`` URIs.  ``</script`` cannot occur in
    the vendored libraries (checked), so inlining them is safe.
    """

    def script(match: re.Match[str]) -> str:
        code = _read(match.group(1)).replace("</script", "<\\/script")
        return f"<script>{code}</script>"

    def style(match: re.Match[str]) -> str:
        return f"<style>{_inline_css(match.group(1))}</style>"

    return _CSS_RE.sub(style, _SCRIPT_RE.sub(script, html))
