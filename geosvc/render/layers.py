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

from collections.abc import Collection, Mapping, Sequence
from html import escape
from typing import Any

import folium
from branca.element import MacroElement
from folium.template import Template as FoliumTemplate
from jinja2 import Template

from geosvc import vocab
from geosvc.errors import InvalidParameter
from geosvc.render.assets import STATIC_DIR
from geosvc.render.i18n import Prefs
from geosvc.render.ui import PHONE_QUERY, PREFS_ATTR, PageStyle, js_json

__all__ = [
    "HtmlBox",
    "Layers",
    "PageStyle",
    "PinKeys",
    "ShapeLayer",
    "VenueMarkers",
    "contrast",
    "ink",
    "js_json",
    "legend_html",
    "venue_style",
]

#: Marker colour of halls by level (None: no level), from :data:`geosvc.vocab.LEVELS`.
LEVEL_COLOURS: dict[str | None, str] = {
    **{str(t.code): t.colour or "#b2182b" for t in vocab.LEVELS},
    None: vocab.KINDS["hall"].colour}
#: Marker colour of bank outlets by their strongest channel (None: candidate).
CHANNEL_COLOURS: dict[str | None, str] = {
    **{str(t.code): t.colour or "#8c8c8c" for t in vocab.CHANNELS},
    None: vocab.KINDS["bank_outlet"].colour}
#: Marker colour of kiosks: round the clock, or limited hours.
KIOSK_COLOURS = {True: vocab.KINDS["kiosk"].colour, False: vocab.KINDS["kiosk"].colour_alt}
_GLYPH = {str(k.code): k.glyph for k in vocab.KINDS}


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
    if kind not in vocab.KINDS:
        return kind, "#8c8c8c", "?"
    spec = vocab.KINDS[kind]
    if spec.marker == "level":
        level = props.get("level")
        return kind, LEVEL_COLOURS.get(level, spec.colour), spec.glyph
    if spec.marker == "channel":
        chans = set(props.get("channels") or [])
        best = next((c for c in vocab.CHANNELS.codes() if c in chans), None)
        return kind, CHANNEL_COLOURS[best] if best else spec.colour, spec.glyph
    if spec.marker == "hours":
        always = str(props.get("opening_hours") or "").strip() == "24/7"
        return kind, spec.colour if always else spec.colour_alt, "24" if always else spec.glyph
    return kind, spec.colour, spec.glyph


def _luminance(colour: str) -> float:
    """Relative luminance (WCAG 2) of a ``#rrggbb`` colour."""
    rgb = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours (1 to 21).

    Examples
    --------
    >>> round(contrast("#ffffff", "#000000"), 1)
    21.0
    """
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def ink(background: str) -> str:
    """Return the text colour (white or near-black) that reads best on ``background``.

    Examples
    --------
    >>> ink("#542788"), ink("#f1a340")
    ('#ffffff', '#111111')
    """
    return "#ffffff" if contrast("#ffffff", background) >= contrast("#111111", background) \
        else "#111111"


def pin_html(colour: str, glyph: str, *, ranked: bool = False, small: bool = False) -> str:
    """Return the HTML of a marker icon (constants only, never data).

    The glyph is white or black, whichever contrasts more with ``colour``.
    """
    cls = "gs-pin gs-ranked" if ranked else ("gs-pin gs-small" if small else "gs-pin")
    return (f'<div class="{cls}" style="background:{escape(colour)};color:{ink(colour)}">'
            f"{escape(glyph)}</div>")


def _legend_rows(spec: vocab.KindSpec, prefs: Prefs) -> list[tuple[str, str, str]]:
    """Return the legend rows ``(colour, glyph, label HTML)`` of one venue kind."""
    t = prefs.t
    if spec.marker == "level":
        return [(LEVEL_COLOURS[str(c.code)], spec.glyph, escape(t(*c.labels)))
                for c in vocab.LEVELS]
    if spec.marker == "channel":
        rows = [(CHANNEL_COLOURS[str(c.code)], spec.glyph, escape(t(*c.labels)))
                for c in vocab.CHANNELS]
        if spec.candidate:
            rows.append((spec.colour, spec.glyph, escape(t("候选网点", "candidate"))))
        return rows
    if spec.marker == "hours":
        return [(spec.colour, "24", escape(t("7×24 小时", "open 24/7"))),
                (spec.colour_alt, spec.glyph, escape(t("定时开放", "set hours")))]
    return [(spec.colour, spec.glyph, escape(t(*spec.labels)))]


def legend_html(used: Collection[tuple[str, str]] | None = None,
                prefs: Prefs | None = None) -> str:
    """Return the legend of venue colours (static text) in the page's language.

    Parameters
    ----------
    used : collection of (colour, glyph), optional
        The marker styles on the map (from :func:`venue_style`); only those
        rows are shown.  None shows every row.
    prefs : Prefs, optional
        The page's language (default Chinese).
    """
    prefs = prefs or Prefs()
    groups = [(escape(prefs.t(*spec.labels)), _legend_rows(spec, prefs))
              for spec in vocab.KINDS]
    out = []
    for head, rows in groups:
        shown = [r for r in rows if used is None or (r[0], r[1]) in used]
        if not shown:
            continue
        out.append(f'<div class="gs-legend-kind">{head}</div>')
        out += [f'<div class="gs-legend-row">{pin_html(c, g, small=True)}'
                f'<span>{label}</span></div>'
                for c, g, label in shown]
    return "".join(out)


class HtmlBox(MacroElement):
    """A box of ready (escaped) HTML in a map corner: legend, summary, results, notes.

    The page's layout script (:class:`~geosvc.render.ui.PageLayout`) makes
    it a Leaflet control, so boxes in one corner stack instead of overlapping.
    With a ``title`` the box is a ``<details>`` element the user can fold.

    Parameters
    ----------
    html : str
        Trusted or already-escaped HTML.
    css_class : str
        Extra class, e.g. ``gs-legend``.
    box_id : str
        The element id (tests and host pages find the box by it).
    title : str, optional
        Trusted or escaped HTML of the always-visible summary line; makes
        the box foldable.
    position : str
        Leaflet corner: ``topleft``, ``topright``, ``bottomleft``, ``bottomright``.
    phone_position : str, optional
        The corner on a phone (default ``position``).
    phone_open : bool
        Whether a foldable box starts open on a phone (always open on a desk).
    first : bool
        Put the box first in its corner (the page's title bar).
    """

    _template = Template(
        "{% macro html(this, kwargs) %}"
        "{% if this.title %}"
        '<details id="{{ this.box_id }}" class="gs-box {{ this.css_class }}" open'
        ' data-gs-pos="{{ this.position }}" data-gs-phone-pos="{{ this.phone_position }}"'
        ' data-gs-phone-open="{{ this.phone_open }}"{{ this.first }}>'
        "<summary>{{ this.title }}</summary>{{ this.content }}</details>"
        "{% else %}"
        '<div id="{{ this.box_id }}" class="gs-box {{ this.css_class }}"'
        ' data-gs-pos="{{ this.position }}" data-gs-phone-pos="{{ this.phone_position }}"'
        "{{ this.first }}>{{ this.content }}</div>"
        "{% endif %}"
        "{% endmacro %}"
    )

    _CORNERS = ("topleft", "topright", "bottomleft", "bottomright")

    def __init__(self, html: str, *, css_class: str, box_id: str, title: str | None = None,
                 position: str = "topleft", phone_position: str | None = None,
                 phone_open: bool = True, first: bool = False) -> None:
        super().__init__()
        self._name = "HtmlBox"
        for name, corner in (("position", position), ("phone_position", phone_position)):
            if corner is not None and corner not in self._CORNERS:
                msg = f"must be one of {', '.join(self._CORNERS)}, not {corner!r}"
                raise InvalidParameter(name, msg)
        self.content = html
        self.title = title
        self.css_class = escape(css_class)
        self.box_id = escape(box_id)
        self.position = position
        self.phone_position = phone_position or position
        self.phone_open = "true" if phone_open else "false"
        self.first = " data-gs-first" if first else ""


class Layers(folium.LayerControl):  # folium's Template: it has the tojavascript filter
    """Folium's layer control, collapsed to an icon on phones (and when ``collapsed``).

    Expanded on a desk so planners see the layers at once; on a phone
    (:data:`~geosvc.render.ui.PHONE_QUERY`) it is the usual layers icon.
    """

    _template = FoliumTemplate("""
{% macro script(this, kwargs) %}
  var {{ this.get_name() }}_layers = {
    base_layers : {
      {%- for key, val in this.base_layers.items() %}
      {{ key|tojson }} : {{val}},
      {%- endfor %}
    },
    overlays : {
      {%- for key, val in this.overlays.items() %}
      {{ key|tojson }} : {{val}},
      {%- endfor %}
    },
  };
  var {{ this.get_name() }}_options = {{ this.options|tojavascript }};
  {{ this.get_name() }}_options.collapsed = {{ this.always|tojson }} ||
      window.matchMedia({{ this.phone_query|tojson }}).matches;
  var {{ this.get_name() }} = L.control.layers(
    {{ this.get_name() }}_layers.base_layers,
    {{ this.get_name() }}_layers.overlays,
    {{ this.get_name() }}_options
  ).addTo({{ this._parent.get_name() }});
  (window.geosvc = window.geosvc || {markers: {}, layers: {}}).layerControl =
      {{ this.get_name() }};
{% endmacro %}
""")

    def __init__(self, *, collapsed: bool = False) -> None:
        super().__init__(collapsed=collapsed)
        self.always = bool(collapsed)
        self.phone_query = PHONE_QUERY


class VenueMarkers(MacroElement):
    """Venue markers added to their layers (clusters or groups) from one JSON literal.

    Parameters
    ----------
    fmap : folium.Map
        The map (published as ``window.geosvc.map``).
    records : sequence of mapping
        ``{code, lat, lon, group, icon, popup, tooltip, title, label}``:
        position in the base map's CRS, target group name, icon/popup/tooltip
        HTML (escaped), ``title`` plain text (set as a DOM property), and
        optionally ``label``, the pin's accessible name in plain text
        (:func:`~geosvc.render.popup.venue_label`; :class:`PinKeys` sets it).
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
  var maxW = Math.max(200, Math.min(340, window.innerWidth - 90));
  var touch = window.matchMedia("(hover: none)").matches;
  data.forEach(function (d) {
    var icon = L.divIcon({className: "gs-icon", html: d.icon, iconSize: [28, 28],
                          iconAnchor: [14, 14], popupAnchor: [0, -12], tooltipAnchor: [24, 0]});
    var m = L.marker([d.lat, d.lon], {icon: icon, title: d.title, alt: d.title,
                                      gsLabel: d.label || d.title, riseOnHover: true});
    m.bindPopup(d.popup, {maxWidth: maxW, minWidth: Math.min(220, maxW),
                          autoPanPadding: [12, 12]});
    // Touch screens: a tap opens the popup; a tooltip would cover it.
    if (!touch) { m.bindTooltip(d.tooltip, {direction: "right"}); }
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


class PinKeys(MacroElement):
    """Pins of the map for the keyboard and screen readers (``static/geosvc-pins.js``).

    Enter or Space on a focused pin opens its popup as a click does; the
    popup takes the focus; Escape closes it and the focus goes back to the
    pin (or the results row it was opened from).  Pins are named by their
    ``gsLabel`` option, marker clusters by how many venues they hold.  The
    script is the same file the citizens' app loads, inlined here (the map
    pages' policy allows exactly their own inline scripts).
    """

    _template = Template(
        "{% macro script(this, kwargs) %}{{ this.code }}\n"
        "geosvcPinKeys({{ this.fmap.get_name() }}, {{ this.texts }});"
        "{% endmacro %}")

    def __init__(self, fmap: Any) -> None:
        super().__init__()
        self._name = "PinKeys"
        self.fmap = fmap
        self.code = _pins_script()
        t = (getattr(fmap, PREFS_ATTR, None) or Prefs()).t
        self.texts = js_json({"cluster": t("{n} 个场所，按回车键放大",
                                           "{n} venues, Enter zooms in")})


def _pins_script() -> str:
    """Return the pins script (``static/geosvc-pins.js``), safe inside ``<script>``."""
    code = (STATIC_DIR / "geosvc-pins.js").read_text(encoding="utf-8")
    return code.replace("</", "<\\/")


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
      if (f.properties.popup) {
        l.bindPopup(f.properties.popup,
                    {maxWidth: Math.max(200, Math.min(340, window.innerWidth - 90))});
      }
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
