"""A blank geosvc map page: Folium map, base layer, style, local assets, HTML out.

Every page is in one language (:class:`~geosvc.render.i18n.Prefs`): its
``<html lang>``, a ``main`` landmark around the map, and a title bar (a map
control, first in the top-right corner) with the page's one ``h1`` and, when
given, the page switches (:func:`geosvc.render.shell.switch_nav_html`).  In
the compact (embedded) page the ``h1`` is visually hidden.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import escape

import folium
from branca.element import Element, Figure, MacroElement
from jinja2 import Template

from geosvc.render.assets import inline_assets, localize
from geosvc.render.i18n import Prefs
from geosvc.render.layers import HtmlBox, PageStyle, PinKeys
from geosvc.render.tiles import Basemap, add_basemap
from geosvc.render.ui import FIT_ATTR, PREFS_ATTR, PageLayout

__all__ = ["fit", "new_map", "page_html"]

_VIEWPORT_RE = re.compile(r'<meta name="viewport"[^>]*>')
_VIEWPORT = ('<meta name="viewport" '
             'content="width=device-width, initial-scale=1, viewport-fit=cover">')


#: Where a map with no data is centred (lat, lon): the demo city.
DEFAULT_CENTRE = (60.1699, 24.9384)


def new_map(basemap: Basemap, *, title: str, tianditu_key: str | None = None,
            compact: bool = False, prefs: Prefs | None = None,
            nav: str = "") -> folium.Map:
    """Return an empty Folium map inside its own page (``Figure``) with the base layer.

    The map has no default tiles; ``basemap`` supplies them.  ``title`` is
    plain text (escaped here), the page's ``<title>`` and its ``h1``.
    ``compact`` (the embeddable page) hides the legend and uses a smaller
    font.  ``prefs`` is the page's language and mode; ``nav`` the ready HTML
    of its switches (none when empty).
    """
    prefs = prefs or Prefs()
    figure = Figure(title=escape(title))  # branca puts the title into <title> as is
    fmap = folium.Map(location=DEFAULT_CENTRE, zoom_start=14, tiles=None, control_scale=False,
                      prefer_canvas=False, font_size="0.8rem" if compact else "1rem")
    fmap.add_to(figure)
    setattr(fmap, PREFS_ATTR, prefs)  # an attribute folium.Map does not declare
    add_basemap(fmap, basemap, key=tianditu_key)
    fmap.add_child(PageStyle())
    hidden = ' class="gs-sr"' if compact else ""
    h1 = f"<h1{hidden}>{escape(title)}</h1>"
    fmap.add_child(HtmlBox(h1 + nav, css_class="gs-bar", box_id="gs-bar",
                           position="topright", first=True), name="gs_bar")
    if compact:
        figure.header.add_child(Element("<script>document.documentElement.className"
                                        "+=' gs-compact';</script>"), name="gs-compact")
    return fmap


def fit(fmap: folium.Map, lonlat: Iterable[tuple[float, float]], *, max_zoom: int = 17) -> None:
    """Fit the map view to the given (lon, lat) points (in the base map's CRS).

    The page fits once more when it loads (:class:`~geosvc.render.ui.PageLayout`),
    with padding on the sides its boxes cover, so no point hides under a box.
    """
    pts = [(float(x), float(y)) for x, y in lonlat]
    if not pts:
        return
    xs = [p[0] for p in pts]
    ys = [p[1] for p in pts]
    fmap.location = [(min(ys) + max(ys)) / 2, (min(xs) + max(xs)) / 2]
    bounds = [[min(ys), min(xs)], [max(ys), max(xs)]]
    view = {"bounds": bounds, "maxZoom": max_zoom}
    setattr(fmap, FIT_ATTR, view)  # an attribute folium.Map does not declare
    # Not folium's fit_bounds: it animates, and a zoom animation still running
    # would undo the page's padded refit.
    fmap.add_child(_FitNow(fmap, view), name="gs_fit_now")


class _FitNow(MacroElement):
    """Fit the view to bounds at once (no animation)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "{{ this.fmap.get_name() }}.fitBounds({{ this.fit.bounds|tojson }}, "
        "{maxZoom: {{ this.fit.maxZoom|tojson }}, padding: [20, 20], animate: false});"
        "{% endmacro %}")

    def __init__(self, fmap: folium.Map, fit: dict) -> None:
        super().__init__()
        self._name = "FitNow"
        self.fmap = fmap
        self.fit = fit


def page_html(fmap: folium.Map, *, base: str = "", inline: bool = False) -> str:
    """Render the page of ``fmap`` to HTML with vendored (local or inline) assets.

    Parameters
    ----------
    fmap : folium.Map
        Built with :func:`new_map`.
    base : str
        URL prefix of the geosvc server for the asset links ('' = same origin).
    inline : bool
        Inline every script and style sheet (a self-contained file).
    """
    figure = fmap.get_root()
    fmap.add_child(PinKeys(fmap), name="gs_pin_keys")  # after the pins are drawn
    fmap.add_child(PageLayout(fmap), name="gs_page_layout")  # last: runs after the rest
    localize(figure, base=base)
    html = figure.render()
    # Folium forbids page zoom (user-scalable=no), which people with low vision
    # need; Chinese text needs lang for Chinese (not Japanese) glyph forms.
    html = _VIEWPORT_RE.sub(_VIEWPORT, html, count=1)
    prefs = getattr(fmap, PREFS_ATTR, None) or Prefs()
    elder = ' class="gs-elder"' if prefs.elder else ""
    html = html.replace("<html>", f'<html lang="{prefs.html_lang}"{elder}>', 1)
    # One main landmark around the map (and so around every box and control).
    html = html.replace("<body>", '<body>\n<main id="gs-main">', 1)
    head, sep, tail = html.rpartition("</body>")
    html = f"{head}</main>\n{sep}{tail}" if sep else html
    return inline_assets(html) if inline else html

