"""Page chrome of the map pages: style sheet, layout script, the ranked results list.

Phones and desks get one page; the layout script decides at load time
(``(max-width: 640px)``):

* every box (:class:`~geosvc.render.layers.HtmlBox`: legend, summary, results,
  notes) becomes a Leaflet control in a map corner, so boxes in one corner
  stack instead of overlapping each other or the zoom and layer controls;
  on a phone the layer control and the legend start collapsed and the results
  list is a bottom sheet;
* the view is fitted to the data (:func:`geosvc.render.base.fit`) with
  padding on the sides the boxes cover, so no result hides under a box;
* popups pan clear of every control (the scale bar too) as they open, and
  win over the boxes that only inform or switch layers (scale bar, layers
  control, legends): where an open popup still reaches one (the map dragged,
  a frame too small to pan clear), it steps aside until the popup leaves it
  or closes;
* tapping a row of the results list opens that venue's popup.

The page's title bar (``#gs-bar``: the ``h1`` and the language / elder
switches) goes first into its corner.  The elder-friendly mode (``gs-elder``
on ``<html>``) enlarges type to 20 px and more, raises contrast and hides the
legend and the layer control (fewer choices).

The results list is built and escaped here in Python, like popups, in the
page's language (:class:`~geosvc.render.i18n.Prefs`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from html import escape
from typing import Any

from branca.element import MacroElement
from jinja2 import Template

from geosvc.modes import TRAVEL_MODES, mode_labels
from geosvc.render.i18n import Prefs
from geosvc.render.words import when_text

__all__ = ["MODE_LABELS", "PHONE_QUERY", "PageLayout", "PageStyle", "format_distance",
           "landing_html", "results_panel_html", "results_summary_html"]

#: Attribute of a ``folium.Map`` holding the bounds the page fits to
#: (set by :func:`geosvc.render.base.fit`, read by :class:`PageLayout`).
FIT_ATTR = "gs_fit"
#: Attribute of a ``folium.Map`` holding its page's Prefs (set by
#: :func:`geosvc.render.base.new_map`; read by :class:`PageLayout` and ``page_html``).
PREFS_ATTR = "gs_prefs"

#: Media query of the phone layout (CSS pixels of the page or iframe).
PHONE_QUERY = "(max-width: 640px)"
#: (Chinese, English) label of each travel mode, as in "8 分钟步行 · 8 min walk"
#: (from the travel-mode registry, :mod:`geosvc.modes`).
MODE_LABELS: dict[str, tuple[str, str]] = mode_labels()

_FONT = ('"Noto Sans CJK SC","Noto Sans SC","Source Han Sans SC","PingFang SC",'
         '"Microsoft YaHei",system-ui,sans-serif')

_CSS = """
<style>
html,body,.leaflet-container{font-family:%(font)s}
.gs-pin{width:24px;height:24px;border-radius:50%%;border:2px solid #fff;color:#fff;
 font:bold 12px/24px %(font)s;text-align:center;box-shadow:0 1px 4px rgba(0,0,0,.5)}
.gs-ranked{width:28px;height:28px;line-height:28px;font-size:15px;border-color:#222}
.gs-small{width:16px;height:16px;line-height:16px;font-size:9px;border-width:1px}
.gs-query{width:14px;height:14px;border-radius:50%%;background:#0b57d0;border:3px solid #fff;
 box-shadow:0 0 0 2px #0b57d0,0 0 0 9px rgba(11,87,208,.25)}
.leaflet-div-icon.gs-icon{background:none;border:none}
.gs-popup{font:13px/1.45 %(font)s;max-height:min(340px,55vh);overflow:auto}
.gs-popup h4{margin:0 18px 4px 0;font-size:15px}
.gs-popup table{border-collapse:collapse}
.gs-popup th{text-align:left;vertical-align:top;padding:1px 6px 1px 0;white-space:nowrap;
 color:#333}
.gs-popup td{padding:1px 0}
.en{color:#555;font-size:90%%}
.gs-open{color:#1a7837}.gs-closed{color:#b2182b}
.gs-items{margin:2px 0 4px 16px;padding:0}
.gs-items-head{margin-top:6px;font-weight:bold}
.gs-more{list-style:none;margin-left:-16px;color:#333}
.gs-nav{margin:6px 0 2px;display:flex;flex-wrap:wrap;gap:6px}
.gs-nav a{display:inline-block;padding:6px 10px;min-height:20px;border:1px solid #0b57d0;
 border-radius:16px;text-decoration:none;color:#0b57d0;font-weight:bold}
.gs-box{background:rgba(255,255,255,.96);padding:6px 10px;border-radius:6px;
 box-shadow:0 1px 5px rgba(0,0,0,.4);font:12px/1.4 %(font)s;max-width:330px;color:#111;
 max-height:calc(100vh - 120px);overflow:auto;box-sizing:border-box}
.gs-box>summary{cursor:pointer;font-weight:bold;padding:3px 0;list-style-position:inside}
.gs-box[open]>summary{margin-bottom:4px}
.gs-legend-kind{margin-top:4px;font-weight:bold}
.gs-legend-row{display:flex;align-items:center;gap:6px;margin:2px 0 2px 4px}
.gs-legend-row .gs-pin{flex:none}
.gs-summary table{border-collapse:collapse}.gs-summary td,.gs-summary th{padding:1px 4px}
.gs-summary th{text-align:left;font-weight:normal}
.gs-scale{display:flex;margin:3px 0 1px}.gs-scale span{flex:1;height:10px}
.gs-scale-labels{display:flex;justify-content:space-between}
.gs-swatch{display:inline-block;width:14px;height:14px;border:1px solid #555;
 vertical-align:middle;margin-right:6px}
.gs-results{list-style:none;margin:0;padding:0}
.gs-results li{margin:0;border-top:1px solid #ddd}.gs-results li:first-child{border-top:0}
.gs-result{all:unset;box-sizing:border-box;display:flex;gap:8px;align-items:center;width:100%%;
 min-height:44px;padding:4px 2px;cursor:pointer}
.gs-result:hover,.gs-result:focus-visible{background:#eef3fd;outline:2px solid #0b57d0}
.gs-result .gs-pin{flex:none;width:24px;height:24px;line-height:24px;
 font-size:13px;border-color:#222}
.gs-result-name{display:block;font-weight:bold;font-size:13px}
.gs-result-meta{display:block}
#gs-results{width:330px}
.gs-phone .gs-box{font-size:13px;max-width:calc(100vw - 20px)}
.gs-phone #gs-results{width:calc(100vw - 20px);max-height:38vh}
.gs-phone .gs-box>summary{min-height:28px;line-height:28px}
.gs-phone .leaflet-popup-close-button{width:32px;height:32px;font-size:26px;line-height:30px}
.gs-phone .gs-note{max-width:60vw}
.gs-phone .leaflet-bottom.leaflet-left .leaflet-control:last-child{margin-bottom:26px}
.gs-compact .gs-legend{display:none}
#gs-main{position:absolute;top:0;right:0;bottom:0;left:0}
.gs-sr{position:absolute!important;width:1px;height:1px;margin:-1px;padding:0;
 overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
.gs-bar h1{font-size:15px;margin:0 0 4px;line-height:1.3}
.gs-switch{display:flex;flex-wrap:wrap;gap:6px}
.gs-switch a{display:inline-block;padding:4px 10px;border:1px solid #0b57d0;border-radius:14px;
 color:#0b57d0;text-decoration:none;font-weight:bold;background:#fff}
.gs-switch a:hover,.gs-switch a:focus-visible{background:#eef3fd}
.gs-compact .gs-bar{padding:3px 6px}.gs-compact .gs-switch a{padding:2px 8px}
.gs-elder .gs-box,.gs-elder .gs-popup{font-size:20px;line-height:1.5;color:#000}
.gs-elder .gs-popup{max-height:min(460px,60vh)}
.gs-elder .gs-popup h4,.gs-elder .gs-bar h1{font-size:22px}
.gs-elder .gs-popup th{color:#000}
.gs-elder .en{color:#000;font-size:100%}
.gs-elder .gs-result-name{font-size:21px}.gs-elder .gs-result{min-height:56px}
.gs-elder .gs-result .gs-pin{width:32px;height:32px;line-height:32px;font-size:17px}
.gs-elder:not(.gs-phone) #gs-results{width:420px}
.gs-elder:not(.gs-phone) .gs-box{max-width:440px}
.gs-elder .gs-legend,.gs-elder .leaflet-control-layers{display:none}
.gs-elder .gs-nav a,.gs-elder .gs-switch a{border-width:2px;padding:8px 14px}
.gs-elder .leaflet-bar a{width:44px;height:44px;line-height:44px;font-size:26px}
.gs-elder .gs-open{color:#0b5d1e}.gs-elder .gs-closed{color:#8a0d1c}
.gs-phone.gs-elder #gs-results{max-height:45vh}
.gs-elder .leaflet-marker-pane .gs-pin{transform:scale(1.35)}
a:focus-visible,.gs-box summary:focus-visible{outline:3px solid #0b57d0;outline-offset:2px}
.leaflet-marker-icon[role=button]:focus-visible{border-radius:50%%;outline:3px solid #111;
 outline-offset:3px;box-shadow:0 0 0 3px #fff,0 0 0 9px rgba(255,255,255,.9);
 z-index:100000!important}
.gs-elder .leaflet-marker-icon[role=button]:focus-visible{outline-offset:7px;
 box-shadow:0 0 0 7px #fff,0 0 0 13px rgba(255,255,255,.9)}
.leaflet-marker-icon>.gs-small{margin:5px}
.leaflet-popup-content:focus-visible{outline:2px solid #0b57d0;outline-offset:3px}
.leaflet-control.gs-under-popup,.gs-box.gs-under-popup{visibility:hidden}
</style>
""".replace("%%", "%").replace("%(font)s", _FONT)


class PageStyle(MacroElement):
    """The style sheet of geosvc's map pages (pins, popups, boxes, phone layout)."""

    _template = Template("{% macro header(this, kwargs) %}" + _CSS + "{% endmacro %}")


class PageLayout(MacroElement):
    """The last script of a map page: boxes into map corners, scale, fit, results clicks.

    Added by :func:`geosvc.render.base.page_html`; it must run after every
    other element of the map, so it is the map's last child.

    Parameters
    ----------
    fmap : folium.Map
        The map; its ``gs_fit`` attribute (set by
        :func:`~geosvc.render.base.fit`) holds the bounds to show.
    """

    _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var reg = window.geosvc = window.geosvc || {markers: {}, layers: {}};
  var map = {{ this.fmap.get_name() }};
  reg.map = map;
  var phone = window.matchMedia({{ this.phone_query|tojson }}).matches;
  reg.phone = phone;
  if (phone) { document.documentElement.classList.add("gs-phone"); }
  var noList = /(^|[#&])results=off(&|$)/.test(window.location.hash);
  Array.prototype.forEach.call(document.querySelectorAll("[data-gs-pos]"), function (el) {
    if (noList && el.id === "gs-results") { el.parentNode.removeChild(el); return; }
    var pos = (phone && el.getAttribute("data-gs-phone-pos")) || el.getAttribute("data-gs-pos");
    if (phone && el.getAttribute("data-gs-phone-open") === "false") { el.open = false; }
    L.DomEvent.disableClickPropagation(el);
    L.DomEvent.disableScrollPropagation(el);
    var Box = L.Control.extend({onAdd: function () { return el; }});
    new Box({position: pos}).addTo(map);
    if (el.hasAttribute("data-gs-first")) {
      el.parentNode.insertBefore(el, el.parentNode.firstChild);
    }
  });
  L.control.scale({imperial: false, position: phone ? "topleft" : "bottomright"})
    .addTo(map);
  var labels = {{ this.labels }};
  Object.keys(labels).forEach(function (sel) {
    if (sel === "close") { return; }
    Array.prototype.forEach.call(document.querySelectorAll(sel), function (el) {
      el.title = labels[sel];
      el.setAttribute("aria-label", labels[sel]);
    });
  });
  map.on("popupopen", function (e) {
    var btn = e.popup.getElement() &&
      e.popup.getElement().querySelector(".leaflet-popup-close-button");
    if (btn) { btn.setAttribute("aria-label", labels.close); btn.title = labels.close; }
  });
  var rows = document.querySelectorAll("#gs-results [data-code]");
  Array.prototype.forEach.call(rows, function (b) {
    b.addEventListener("click", function () {
      var m = reg.markers[b.getAttribute("data-code")];
      if (!m) { return; }
      if (phone) { document.getElementById("gs-results").open = false; }
      map.setView(m.getLatLng(), Math.max(map.getZoom(), 16), {animate: false});
      m.openPopup();
    });
  });
  var fit = {{ this.fit }};
  // Padding so that the fitted data stays clear of every control: each control
  // pads the side it costs least to give up (its width or height as a share).
  var sheet = document.getElementById("gs-results");
  // With `popup`, the area a popup pans into: clear of the scale bar too, and on
  // a phone of the results sheet (an opening popup folds it).
  reg.clearArea = function (popup) {
    var box = map.getContainer().getBoundingClientRect();
    var pad = {l: 24, t: 24, r: 24, b: 24};
    Array.prototype.forEach.call(map.getContainer().querySelectorAll(".leaflet-control"),
      function (el) {
        var r = el.getBoundingClientRect();
        if (!r.width || !r.height) { return; }
        // The scale bar is see-through: data may lie under it (a popup may not).
        if (!popup && el.classList.contains("leaflet-control-scale")) { return; }
        if (popup && phone && el === sheet) { return; }
        var left = r.right - box.left, right = box.right - r.left;
        var top = r.bottom - box.top, bottom = box.bottom - r.top;
        var h = Math.min(left, right) / box.width, v = Math.min(top, bottom) / box.height;
        if (h < v) {
          if (left < right) { pad.l = Math.max(pad.l, left + 24); }
          else { pad.r = Math.max(pad.r, right + 24); }
        } else if (top < bottom) { pad.t = Math.max(pad.t, top + 24); }
        else { pad.b = Math.max(pad.b, bottom + 24); }
      });
    pad.tight = pad.l + pad.r > 0.7 * box.width || pad.t + pad.b > 0.7 * box.height;
    if (pad.l + pad.r > 0.7 * box.width) { pad.l = pad.r = 24; }
    if (pad.t + pad.b > 0.7 * box.height) { pad.t = pad.b = 24; }
    return pad;
  };
  reg.fitView = function () {
    if (!fit) { return; }
    map.invalidateSize({pan: false});  // the size Leaflet cached may predate the layout
    var pad = reg.clearArea();
    if (pad.tight && phone && sheet && sheet.open) {
      // A small frame: fold the list to its title line rather than hide results.
      sheet.open = false;
      pad = reg.clearArea();
    }
    map.fitBounds(fit.bounds, {paddingTopLeft: [pad.l, pad.t],
                               paddingBottomRight: [pad.r, pad.b],
                               maxZoom: fit.maxZoom, animate: false});
  };
  reg.fitView();
  // Popups pan clear of every control, the scale bar included, measured as the
  // popup opens (boxes fold and unfold); on a phone an opening popup folds the
  // sheet, so it pans clear of the folded sheet (80 px) with its pin too (the
  // pin hangs ~26 px under the popup's tip): 110 px.
  var popupPad = function () {
    var pad = reg.clearArea(true);
    if (phone && sheet) { pad.b = Math.max(pad.b, 110); }
    return pad;
  };
  Object.defineProperty(L.Popup.prototype.options, "autoPanPaddingTopLeft", {
    configurable: true, get: function () { var p = popupPad(); return L.point(p.l, p.t); }});
  Object.defineProperty(L.Popup.prototype.options, "autoPanPaddingBottomRight", {
    configurable: true, get: function () { var p = popupPad(); return L.point(p.r, p.b); }});
  // The room a popup has: the map less the boxes it pans clear of, less its tip.
  var popupRoom = function () {
    var pad = popupPad(), box = map.getContainer().getBoundingClientRect();
    return {w: box.width - pad.l - pad.r, h: box.height - pad.t - pad.b - 24};
  };
  var fits = function (el) {
    var room = popupRoom();
    return el.offsetWidth <= room.w && el.offsetHeight <= room.h;
  };
  map.on("popupopen", function (e) {
    var popup = e.popup, el = popup.getElement();
    if (!el) { return; }
    if (sheet && sheet.open) {
      if (phone) {
        sheet.open = false;
      } else if (!fits(el)) {
        // A small frame (an embedding iframe): a popup too big for the area clear
        // of the boxes folds the results list to its title line, then pans again.
        sheet.open = false;
        popup.update();
      }
    }
    if (!fits(el)) {
      // Still too big for the frame: the popup narrows and scrolls inside.
      var room = popupRoom();
      var o = popup.options;
      o.maxWidth = Math.max(160, Math.min(o.maxWidth, room.w - 40));
      o.minWidth = Math.min(o.minWidth, o.maxWidth);
      o.maxHeight = Math.max(100, room.h - 16);
      popup.update();
    }
  });
  // The popup wins over the boxes that only inform or switch layers (the scale
  // bar, the layers control, the legends): where an open popup still reaches one
  // (the map dragged, a popup taller than the free area, a small embedding frame)
  // that box steps aside until the popup leaves it or closes.
  var shownPopup = null;
  var ASIDE = ".leaflet-control-scale, .leaflet-control-layers, #gs-legend, #gs-bands";
  var boxesAside = function () {
    var el = shownPopup && shownPopup.getElement();
    var p = el ? el.getBoundingClientRect() : null;
    Array.prototype.forEach.call(map.getContainer().querySelectorAll(ASIDE), function (box) {
      var hit = false;
      if (p) {
        box.classList.remove("gs-under-popup");  // measured where it stands
        var s = box.getBoundingClientRect();
        hit = s.width > 0 && p.left < s.right && s.left < p.right && p.top < s.bottom &&
          s.top < p.bottom;
      }
      box.classList.toggle("gs-under-popup", hit);
    });
  };
  map.on("popupopen", function (e) { shownPopup = e.popup; boxesAside(); });
  map.on("popupclose", function (e) {
    if (shownPopup === e.popup) { shownPopup = null; }
    boxesAside();
  });
  map.on("move zoomend resize", boxesAside);
  // Once fonts and styles are in, boxes have their final size: fit again,
  // unless the user has already moved the map.
  var touched = false;
  ["pointerdown", "wheel", "keydown"].forEach(function (t) {
    map.getContainer().addEventListener(t, function () { touched = true; }, {passive: true});
  });
  if (document.readyState !== "complete") {
    window.addEventListener("load", function () { if (!touched) { reg.fitView(); } });
  }
})();
{% endmacro %}
""")

    def __init__(self, fmap: Any) -> None:
        super().__init__()
        self._name = "PageLayout"
        self.fmap = fmap
        self.phone_query = PHONE_QUERY

        self.fit = js_json(getattr(fmap, FIT_ATTR, None))
        t = (getattr(fmap, PREFS_ATTR, None) or Prefs()).t
        # Leaflet names its controls in English; the page's language instead.
        self.labels = js_json({
            ".leaflet-control-zoom-in": t("放大", "Zoom in"),
            ".leaflet-control-zoom-out": t("缩小", "Zoom out"),
            ".leaflet-control-layers-toggle": t("图层", "Layers"),
            "close": t("关闭", "Close"),
        })


def js_json(obj: Any) -> str:
    r"""Serialise ``obj`` as a JavaScript literal that is safe inside ``<script>``.

    Examples
    --------
    >>> js_json({"name": "</script><img src=x onerror=alert(1)>"})
    '{"name":"\\u003c/script\\u003e\\u003cimg src=x onerror=alert(1)\\u003e"}'
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def format_distance(metres: float) -> str:
    """Return a distance for people: metres below 1 km, else km with one decimal.

    Examples
    --------
    >>> format_distance(644.6), format_distance(1234)
    ('645 m', '1.2 km')
    """
    return f"{metres:.0f} m" if metres < 999.5 else f"{metres / 1000:.1f} km"


def _clock(value: Any, ref: Any) -> str | None:
    """``HH:MM`` of an ISO time, with ``MM-DD`` when it is not on ``ref``'s day."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    try:
        same_day = ref is not None and datetime.fromisoformat(str(ref)).date() == when.date()
    except ValueError:
        same_day = False
    return when.strftime("%H:%M" if same_day else "%m-%d %H:%M")


def _status_html(props: Mapping[str, Any], ref: Any, prefs: Prefs) -> str:
    t = prefs.t
    is_open = props.get("open")
    if is_open is True:
        if str(props.get("opening_hours") or "").strip() == "24/7":
            return f'<b class="gs-open">{escape(t("24 小时开放", "open 24/7"))}</b>'
        until = _clock(props.get("closes_at"), ref)
        if until:
            said = t(f"营业中，至 {until}", f"open until {until}")
            return f'<b class="gs-open">{escape(said)}</b>'
        return f'<b class="gs-open">{escape(t("营业中", "open now"))}</b>'
    if is_open is False:
        when = when_text(props.get("next_open"), prefs, ref=ref)
        if when:
            said = t(f"已关闭，{when} 开门", f"closed, opens {when}")
            return f'<b class="gs-closed">{escape(said)}</b>'
        return f'<b class="gs-closed">{escape(t("已关闭", "closed"))}</b>'
    return ""


def results_summary_html(count: int, mode: str, prefs: Prefs | None = None) -> str:
    """Return the (escaped) title line of the results list: "最近 5 个场所 · 步行".

    Examples
    --------
    >>> results_summary_html(5, "walk")
    '最近 5 个场所 · 步行'
    >>> results_summary_html(5, "walk", Prefs("en"))
    '5 nearest, walk'
    """
    prefs = prefs or Prefs()
    zh, en = MODE_LABELS.get(mode, (mode, mode))
    return escape(prefs.t(f"最近 {int(count)} 个场所 · {zh}", f"{int(count)} nearest, {en}"))


def results_panel_html(features: Sequence[Mapping[str, Any]], *, mode: str,
                       pins: Sequence[str], at: Any = None, prefs: Prefs | None = None) -> str:
    """Return the escaped HTML of the ranked results list of a nearest search.

    One button per venue, in rank order: "1. name" over "8 分钟步行 · 650 m ·
    营业中，至 17:00" (or "8 min walk · 650 m · open until 17:00").  Tapping a
    row opens the venue's popup (see :class:`PageLayout`).

    Parameters
    ----------
    features : sequence of GeoJSON Feature
        ``/api/v1/nearest`` features (``rank``, ``travel_time_min``,
        ``distance_m``, ``open``, ``closes_at``, ``next_open``).
    mode : str
        Travel mode of the search (``walk``, ``bike``, ``drive``, ``straight``).
    pins : sequence of str
        The marker icon HTML of each feature (constants only), same order.
    at : str, optional
        ISO time of the query; closing times on that day show as ``HH:MM``.
    prefs : Prefs, optional
        The page's language (default Chinese).
    """
    prefs = prefs or Prefs()
    mode_name = prefs.t(*MODE_LABELS.get(mode, (mode, mode)))
    rows = []
    for feat, pin in zip(features, pins, strict=True):
        props = feat.get("properties") or {}
        name = str(props.get("name") or feat.get("id") or "")
        if prefs.lang == "en" and props.get("name_en"):
            name = str(props["name_en"])
        meta = []
        minutes = props.get("travel_time_min")
        timed = mode in TRAVEL_MODES and TRAVEL_MODES[mode].open_on_arrival
        if minutes is not None and timed:
            mins = max(1, round(float(minutes)))
            meta.append(escape(prefs.t(f"{mins} 分钟{mode_name}", f"{mins} min {mode_name}")))
        if props.get("distance_m") is not None:
            dist = format_distance(float(props["distance_m"]))
            meta.append(escape(dist) if meta else f"{escape(mode_name)} {escape(dist)}")
        status = _status_html(props, at, prefs)
        if status:
            meta.append(status)
        rows.append(
            f'<li><button type="button" class="gs-result" '
            f'data-code="{escape(str(feat.get("id", "")))}">{pin}'
            f'<span><span class="gs-result-name">{escape(name)}</span>'
            f'<span class="gs-result-meta">{" · ".join(meta)}</span></span></button></li>')
    return f'<ol class="gs-results">{"".join(rows)}</ol>'


def landing_html(hall: Mapping[str, Any] | None, prefs: Prefs | None = None, *,
                 venue_url: str | None = None, at: Any = None) -> str:
    """Return the escaped landing box: the nearest open hall to the map's centre, or why none.

    Parameters
    ----------
    hall : GeoJSON Feature, optional
        The nearest open hall (``/api/v1/nearest`` feature: ``name``,
        ``closes_at``, ``opening_hours``); None when no hall is open now.
    prefs : Prefs, optional
        The page's language.
    venue_url : str, optional
        Link to the hall's page.
    at : str, optional
        ISO time the hall was found open at; its closing time that day shows as ``HH:MM``.

    Examples
    --------
    >>> landing_html(None, Prefs("en"))[:60]
    '<b>No service hall is open right now.</b> Tap a hall on the '
    """
    prefs = prefs or Prefs()
    t = prefs.t
    if hall is None:
        why = t("现在没有营业中的政务服务大厅。", "No service hall is open right now.")
        hint = t("点击地图上的大厅，查看办公时间。",
                 "Tap a hall on the map to see its opening hours.")
        return f"<b>{escape(why)}</b> {escape(hint)}"
    props = hall.get("properties") or {}
    name = str(props.get("name") or hall.get("id") or "")
    if prefs.lang == "en" and props.get("name_en"):
        name = str(props["name_en"])
    name_html = (f'<a href="{escape(venue_url)}">{escape(name)}</a>' if venue_url
                 else escape(name))
    head = escape(t("离地图中心最近的营业中大厅",
                    "Nearest open service hall to the map centre"))
    return f"<b>{head}</b><br>{name_html} · {_status_html(props, at, prefs)}"

