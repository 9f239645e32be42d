"""Folium elements geosvc draws its data with: venue markers, shapes, boxes.

Data reaches the page as one JSON literal per layer, serialised by
:func:`js_json` (``<``, ``>``, ``&`` and the JS line separators escaped, so
no text can close the ``<script>`` element).  Popup and tooltip HTML is
built and escaped in Python (:mod:`geosvc.render.popup`); the scripts below
only pass it to Leaflet.  Folium's own ``Popup`` is not used: it needs
jQuery and evaluates its content inside a JS template literal.

Every page publishes its Leaflet objects as ``window.geosvc`` (``map``,
``markers`` by venue code, ``layers`` by name) for tests and host scripts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from branca.element import MacroElement
from jinja2 import Template

from geosvc.render.popup import CHANNEL_LABELS, KIND_LABELS, LEVEL_LABELS, bilingual

__all__ = [
    "HtmlBox",
    "PageStyle",
    "ShapeLayer",
    "VenueMarkers",
    "js_json",
    "legend_html",
    "venue_style",
]

#: Marker colour of halls by level.
LEVEL_COLOURS = {"city": "#b2182b", "county": "#e66101", "township": "#c51b7d",
                 "village": "#f1a340", None: "#b2182b"}
#: Marker colour of bank outlets by their strongest channel (None: candidate).
CHANNEL_COLOURS = {"window": "#1a7837", "self_service": "#2c7fb8", "smart_teller": "#41b6c4",
                   None: "#8c8c8c"}
#: Marker colour of kiosks: round the clock, or limited hours.
KIOSK_COLOURS = {True: "#542788", False: "#998ec3"}
_GLYPH = {"hall": "厅", "bank_outlet": "银", "kiosk": "自"}


def js_json(obj: Any) -> str:
    """Serialise ``obj`` as a JavaScript literal that is safe inside ``<script>``.

    Examples
    --------
    >>> js_json({"name": "</script><img src=x onerror=alert(1)>"})
    '{"name":"\\\\u003c/script\\\\u003e\\\\u003cimg src=x onerror=alert(1)\\\\u003e"}'
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def venue_style(props: Mapping[str, Any]) -> tuple[str, str, str]:
    """Return ``(group, colour, glyph)`` of a venue marker from its properties.

    Halls are coloured by level, bank outlets by their strongest channel
    (staffed window > self-service machine > smart teller; grey: candidate),
    kiosks by whether they are open 24/7.

    Examples
    --------
    >>> venue_style({"kind": "hall", "level": "county"})
    ('hall', '#e66101', '厅')
    >>> venue_style({"kind": "kiosk", "opening_hours": "24/7"})
    ('kiosk', '#542788', '24')
    """
    kind = str(props.get("kind"))
    if kind == "hall":
        return kind, LEVEL_COLOURS.get(props.get("level"), LEVEL_COLOURS[None]), _GLYPH[kind]
    if kind == "bank_outlet":
        chans = set(props.get("channels") or [])
        best = next((c for c in ("window", "self_service", "smart_teller") if c in chans), None)
        return kind, CHANNEL_COLOURS[best], _GLYPH[kind]
    always = str(props.get("opening_hours") or "").strip() == "24/7"
    return "kiosk", KIOSK_COLOURS[always], "24" if always else _GLYPH["kiosk"]


def pin_html(colour: str, glyph: str, *, ranked: bool = False) -> str:
    """Return the HTML of a marker icon (constants only, never data)."""
    cls = "gs-pin gs-ranked" if ranked else "gs-pin"
    return f'<div class="{cls}" style="background:{escape(colour)}">{escape(glyph)}</div>'


def legend_html() -> str:
    """Return the bilingual legend of venue colours (static text)."""
    rows = ["<b>图例 <span class='en'>Legend</span></b>"]

    def row(colour: str, glyph: str, label: str) -> None:
        rows.append(f'<div class="gs-legend-row">{pin_html(colour, glyph)}<span>{label}</span></div>')

    for level in ("city", "county", "township", "village"):
        row(LEVEL_COLOURS[level], _GLYPH["hall"],
            f"{bilingual(KIND_LABELS['hall'])} · {bilingual(LEVEL_LABELS[level])}")
    for chan in ("window", "self_service", "smart_teller"):
        row(CHANNEL_COLOURS[chan], _GLYPH["bank_outlet"],
            f"{bilingual(KIND_LABELS['bank_outlet'])} · {bilingual(CHANNEL_LABELS[chan])}")
    row(CHANNEL_COLOURS[None], _GLYPH["bank_outlet"], "候选网点 <span class='en'>candidate</span>")
    row(KIOSK_COLOURS[True], "24", "7×24 自助 <span class='en'>24/7 kiosk</span>")
    row(KIOSK_COLOURS[False], _GLYPH["kiosk"], bilingual(KIND_LABELS["kiosk"]))
    return "".join(rows)


_CSS = """
<style>
.gs-pin{width:24px;height:24px;border-radius:50%;border:2px solid #fff;color:#fff;
 font:bold 12px/24px sans-serif;text-align:center;box-shadow:0 1px 4px rgba(0,0,0,.5)}
.gs-ranked{width:28px;height:28px;line-height:28px;font-size:15px;border-color:#222}
.gs-query{width:16px;height:16px;border-radius:50%;background:#e31a1c;border:3px solid #fff;
 box-shadow:0 0 0 2px #e31a1c}
.leaflet-div-icon.gs-icon{background:none;border:none}
.gs-popup{font:13px/1.4 sans-serif;max-height:340px;overflow:auto}
.gs-popup h4{margin:0 0 4px;font-size:15px}
.gs-popup table{border-collapse:collapse}
.gs-popup th{text-align:left;vertical-align:top;padding:1px 6px 1px 0;white-space:nowrap;color:#444}
.gs-popup td{padding:1px 0}
.en{color:#666;font-size:90%}
.gs-open{color:#1a7837}.gs-closed{color:#b2182b}
.gs-items{margin:2px 0 4px 16px;padding:0}
.gs-items-head{margin-top:6px;font-weight:bold}
.gs-nav{margin-top:6px}
.gs-box{position:fixed;z-index:1000;background:rgba(255,255,255,.94);padding:8px 10px;
 border-radius:6px;box-shadow:0 1px 5px rgba(0,0,0,.4);font:12px/1.35 sans-serif;max-width:330px}
.gs-legend{bottom:24px;left:10px}
.gs-legend-row{display:flex;align-items:center;gap:6px;margin:2px 0}
.gs-legend-row .gs-pin{width:16px;height:16px;line-height:16px;font-size:9px;border-width:1px}
.gs-summary{top:10px;left:54px}
.gs-summary table{border-collapse:collapse}.gs-summary td,.gs-summary th{padding:1px 4px}
.gs-note{bottom:24px;right:10px}
.gs-compact .gs-legend{display:none}
</style>
"""


class PageStyle(MacroElement):
    """The style sheet of geosvc's map pages (pins, popups, boxes)."""

    _template = Template("{% macro header(this, kwargs) %}" + _CSS + "{% endmacro %}")


class HtmlBox(MacroElement):
    """A fixed box of ready (escaped) HTML on the map page: legend, summary, notes.

    Parameters
    ----------
    html : str
        Trusted or already-escaped HTML.
    css_class : str
        Extra class, e.g. ``gs-legend``.
    box_id : str
        The element id (tests and host pages find the box by it).
    """

    _template = Template(
        "{% macro html(this, kwargs) %}"
        '<div id="{{ this.box_id }}" class="gs-box {{ this.css_class }}">{{ this.content }}</div>'
        "{% endmacro %}"
    )

    def __init__(self, html: str, *, css_class: str, box_id: str) -> None:
        super().__init__()
        self._name = "HtmlBox"
        self.content = html
        self.css_class = escape(css_class)
        self.box_id = escape(box_id)


class VenueMarkers(MacroElement):
    """Venue markers added to their layers (clusters or groups) from one JSON literal.

    Parameters
    ----------
    fmap : folium.Map
        The map (published as ``window.geosvc.map``).
    records : sequence of mapping
        ``{code, lat, lon, group, icon, popup, tooltip, title}``: position in
        the base map's CRS, target group name, icon/popup/tooltip HTML
        (escaped), ``title`` plain text (set as a DOM property).
    targets : mapping of str to folium layer
        Leaflet layer per group name.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var reg = window.geosvc = window.geosvc || {markers: {}, layers: {}};
  reg.map = {{ this.fmap.get_name() }};
  var targets = {
  {%- for group, layer in this.targets.items() %}
    {{ group|tojson }}: {{ layer.get_name() }},
  {%- endfor %}
  };
  Object.keys(targets).forEach(function (k) { reg.layers[k] = targets[k]; });
  var data = {{ this.payload }};
  data.forEach(function (d) {
    var icon = L.divIcon({className: "gs-icon", html: d.icon, iconSize: [28, 28],
                          iconAnchor: [14, 14], popupAnchor: [0, -12], tooltipAnchor: [12, 0]});
    var m = L.marker([d.lat, d.lon], {icon: icon, title: d.title, alt: d.title,
                                      riseOnHover: true});
    m.bindPopup(d.popup, {maxWidth: 340, minWidth: 220});
    m.bindTooltip(d.tooltip, {direction: "right"});
    m.geosvcCode = d.code;
    targets[d.group].addLayer(m);
    reg.markers[d.code] = m;
  });
})();
{% endmacro %}
""")

    def __init__(self, fmap: Any, records: Sequence[Mapping[str, Any]],
                 targets: Mapping[str, Any]) -> None:
        super().__init__()
        self._name = "VenueMarkers"
        self.fmap = fmap
        self.targets = dict(targets)
        self.payload = js_json(list(records))


class ShapeLayer(MacroElement):
    """GeoJSON shapes with a style, tooltip and popup per feature.

    Parameters
    ----------
    fmap : folium.Map
        The map.
    target : folium layer
        FeatureGroup the shapes go into.
    name : str
        Key of the layer in ``window.geosvc.layers``.
    features : sequence of mapping
        GeoJSON Features whose ``properties`` are exactly ``{style, tooltip,
        popup}`` (HTML escaped; either may be None).  Points are drawn as
        circle markers with ``style.radius`` pixels.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var reg = window.geosvc = window.geosvc || {markers: {}, layers: {}};
  reg.map = {{ this.fmap.get_name() }};
  var data = {{ this.payload }};
  var layer = L.geoJSON(data, {
    style: function (f) { return f.properties.style; },
    pointToLayer: function (f, latlng) { return L.circleMarker(latlng, f.properties.style); },
    onEachFeature: function (f, l) {
      if (f.properties.tooltip) { l.bindTooltip(f.properties.tooltip, {sticky: true}); }
      if (f.properties.popup) { l.bindPopup(f.properties.popup, {maxWidth: 340}); }
    }
  });
  layer.addTo({{ this.target.get_name() }});
  reg.layers[{{ this.layer_name|tojson }}] = layer;
})();
{% endmacro %}
""")

    def __init__(self, fmap: Any, target: Any, name: str,
                 features: Sequence[Mapping[str, Any]]) -> None:
        super().__init__()
        self._name = "ShapeLayer"
        self.fmap = fmap
        self.target = target
        self.layer_name = name
        self.payload = js_json({"type": "FeatureCollection", "features": list(features)})
