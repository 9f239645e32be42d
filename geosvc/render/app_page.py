"""The citizens' app at ``/``: the page shell, its embedded data and its static files.

The shell is one small HTML document per (dataset revision, :class:`Prefs`):
a header with the one ``<h1>``, the language and 长辈版 switches, a search
form, the travel choices, a live region, the result list and the map
container.  Everything the page does after that it does in
``static/geosvc-app.js`` through the JSON API; the shell carries no inline
script or style (the page's Content-Security-Policy forbids both).

What the script needs to start is embedded as JSON in
``<script type="application/json" id="geosvc-app-data">`` (never executed):
the dataset's name, centre and bounds, the travel modes the server loaded,
item and venue counts, the base maps, the labels of kinds and channels and
every text of the page in the page's language (:data:`STRINGS`).  The JSON is
escaped so that ``</script>`` or ``<!--`` in a dataset name cannot leave the
element (:func:`json_for_html`).

Static files are linked with a digest of their content in the URL
(``/static/app/<digest>/geosvc-app.js``), so they can be cached for a year
and a new version is fetched as soon as the shell names it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from html import escape
from typing import Any, Final

from geosvc.modes import TRAVEL_MODES, network_modes
from geosvc.render.assets import STATIC_DIR, vendor_url
from geosvc.render.i18n import Prefs
from geosvc.render.popup import CHANNEL_LABELS, KIND_LABELS
from geosvc.render.tiles import BASEMAPS

__all__ = ["APP_ASSETS", "STRINGS", "AppData", "app_page_html", "asset_digest", "asset_url",
           "json_for_html", "page_data"]

#: The app's own static files (under ``render/static/``), served with a digest in the URL.
APP_ASSETS: Final = ("geosvc-pins.js", "geosvc-app.js", "geosvc-app.css")

#: Every text the app writes, by key: (Chinese, English).  The page embeds one language.
STRINGS: Final[Mapping[str, tuple[str, str]]] = {
    "title": ("政务服务地图", "Government services map"),
    "tagline": ("查事项、看指南、找最近的办理地点", "Find a service, read its guide, "
                "get to the nearest place that handles it"),
    "switch_lang": ("English", "中文"),
    "switch_lang_label": ("Switch to English", "切换到中文"),
    "elder_on": ("长辈版", "Large-print mode"),
    "elder_off": ("标准版", "Standard mode"),
    "search_label": ("搜索事项、一件事、场所或地点", "Search a service, life event, venue "
                     "or place"),
    "search_hint": ("可输入中文、拼音或首字母，如 sb", "Chinese, pinyin or initials, e.g. sb"),
    "search_button": ("搜索", "Search"),
    "clear": ("清除", "Clear"),
    "suggestions": ("搜索建议", "Suggestions"),
    "no_suggestions": ("没有找到匹配的事项、场所或地点", "Nothing matches"),
    "kind_item": ("事项", "Service"),
    "kind_bundle": ("一件事", "Life event"),
    "kind_venue": ("场所", "Venue"),
    "kind_place": ("地点", "Place"),
    "place_district": ("行政区", "district"),
    "place_street": ("街道", "street"),
    "place_poi": ("地标", "landmark"),
    "start_legend": ("出发地点", "Start from"),
    "use_location": ("使用我的位置", "Use my location"),
    "locating": ("正在获取您的位置…", "Finding your location…"),
    "location_failed": ("无法获取您的位置，请在地图上点选出发地点。",
                        "Your location is not available; tap the map to set the start."),
    "tap_hint": ("也可在地图上点选出发地点。", "Or tap the map to set the start."),
    "start_map_centre": ("地图中心", "the map centre"),
    "start_my_location": ("我的位置", "my location"),
    "start_tapped": ("地图上选的点", "the point picked on the map"),
    "start_picked": ("搜索选中的地点", "the place picked in the search"),
    "start_prefix": ("出发：", "Start: "),
    "mode_legend": ("出行方式", "Travel by"),
    "mode_walk": ("步行", "Walk"),
    "mode_bike": ("骑行", "Bike"),
    "mode_drive": ("驾车", "Drive"),
    "mode_straight": ("直线距离", "Straight-line distance"),
    "straight_note": ("服务器未加载道路网络，按直线距离排序。",
                      "No road network is loaded: ranked by straight-line distance."),
    "open_now": ("只看营业中", "Open now only"),
    "channel_label": ("办理渠道", "Channel"),
    "channel_any": ("不限", "Any"),
    "results_heading": ("查询结果", "Results"),
    "landing_heading": ("离地图中心最近的营业中政务服务大厅",
                        "Nearest open service hall to the map centre"),
    "landing_closed_heading": ("离地图中心最近的政务服务大厅（现在都已关闭）",
                               "Nearest service hall to the map centre (all are closed now)"),
    "results_for": ("办理“{name}”的地点", "Places for “{name}”"),
    "results_for_bundle": ("一件事“{name}”的办理地点", "Places for the life event “{name}”"),
    "halls_near": ("附近的政务服务大厅", "Service halls nearby"),
    "count": ("找到 {n} 个地点", "{n} places found"),
    "count_one": ("找到 1 个地点", "1 place found"),
    "loading": ("正在查询…", "Searching…"),
    "minutes": ("{n} 分钟", "{n} min"),
    "metres": ("{n} 米", "{n} m"),
    "km": ("{n} 公里", "{n} km"),
    "straight_distance": ("直线 {d}", "{d} in a straight line"),
    "open_until": ("营业中，至 {t}", "open until {t}"),
    "open_no_close": ("营业中", "open now"),
    "closed_opens": ("已关闭，{d} {t} 开门", "closed, opens {d} {t}"),
    "closed": ("已关闭", "closed"),
    "hours_unknown": ("营业时间未知", "opening hours unknown"),
    "today": ("今天", "today"),
    "tomorrow": ("明天", "tomorrow"),
    "weekdays": ("周日,周一,周二,周三,周四,周五,周六", "Sun,Mon,Tue,Wed,Thu,Fri,Sat"),
    "handled_by": ("办理渠道：{c}", "Handled at: {c}"),
    "channels_here": ("可用渠道：{c}", "Channels here: {c}"),
    "no_address": ("地址未登记", "no address recorded"),
    "venue_page": ("场所详情", "Venue details"),
    "show_route": ("在地图上显示路线", "Show the route on the map"),
    "route_shown": ("路线已显示在地图上", "Route shown on the map"),
    "one_stop": ("一处办完全部事项", "All items at one place"),
    "two_stop": ("需要跑两处，路上共约 {n} 分钟（在第一处约办理 {s} 分钟）",
                 "Two stops, about {n} min of travel (about {s} min at the first)"),
    "stop_n": ("第 {n} 站", "Stop {n}"),
    "stop_items": ("在此办理：{items}", "Done here: {items}"),
    "guide_heading": ("办事指南：{name}", "Service guide: {name}"),
    "guide_none": ("暂无该事项的办事指南，请向办理地点咨询。",
                   "No service guide is recorded for this service; ask the venue."),
    "guide_materials": ("所需材料", "What to bring"),
    "guide_conditions": ("办理条件", "Conditions"),
    "guide_fee": ("收费", "Fee"),
    "guide_days": ("办理时限", "Time limit"),
    "guide_legal": ("法定 {n} 个工作日", "legal limit {n} working days"),
    "guide_promised": ("承诺 {n} 个工作日", "promised {n} working days"),
    "guide_apply": ("网上办理地址", "Apply online at"),
    "guide_ways": ("办理方式", "Ways to apply"),
    "guide_online": ("可网上办理", "can be done online"),
    "guide_post": ("可邮寄办理", "can be done by post"),
    "guide_kiosk": ("可在自助终端办理", "can be done at a self-service kiosk"),
    "guide_department": ("主管部门", "Department"),
    "nav_heading": ("导航到 {name}", "Directions to {name}"),
    "nav_amap": ("高德地图导航", "Amap directions"),
    "nav_baidu": ("百度地图导航", "Baidu Maps directions"),
    "nav_osm": ("OpenStreetMap 路线", "OpenStreetMap directions"),
    "start_marker": ("出发地点", "Start point"),
    "map_label": ("地图：点选出发地点", "Map: tap to set the start point"),
    "empty_no_venue_offers_item": ("没有场所办理所选事项。", "No venue handles the chosen "
                                   "service."),
    "try_no_venue_offers_item": ("请换一个渠道（不限），或搜索相近的事项。",
                                 "Set the channel to Any, or search a related service."),
    "empty_no_venue_matches": ("没有符合条件的场所。", "No venue matches the choices."),
    "try_no_venue_matches": ("请放宽筛选条件。", "Relax the choices."),
    "empty_unreachable": ("从出发地点无法到达办理该事项的场所。",
                          "No venue that handles it can be reached from the start."),
    "try_unreachable": ("请换一个出发地点或出行方式。", "Pick another start or travel mode."),
    "empty_beyond_max_minutes": ("在限定时间内到不了办理地点。",
                                 "No venue can be reached within the time limit."),
    "try_beyond_max_minutes": ("请换一种更快的出行方式。", "Choose a faster travel mode."),
    "empty_closed": ("办理地点都已关闭（按到达时间计算）。",
                     "Every venue that handles it is closed when you would arrive."),
    "try_closed": ("请取消“只看营业中”，查看开门时间。",
                   "Untick “Open now only” to see when they open."),
    "empty_other": ("附近没有找到办理地点。", "No place was found nearby."),
    "try_other": ("请换一个出发地点或事项。", "Pick another start or service."),
    "error_invalid-parameter": ("查询条件有误。", "Something in the search is wrong."),
    "error_not-found": ("找不到该事项或场所。", "That service or venue does not exist."),
    "error_outside-network": ("出发地点离道路太远，无法规划路线。",
                              "The start is too far from any road to plan a route."),
    "try_outside-network": ("请在地图上选一个靠近道路的位置。",
                            "Pick a point close to a road."),
    "error_no-route": ("从出发地点无法到达。", "No route leads there from the start."),
    "try_no-route": ("请换一个出发地点或出行方式。", "Pick another start or travel mode."),
    "error_mode-unavailable": ("该出行方式暂不可用。", "This travel mode is not available."),
    "try_mode-unavailable": ("请换一种出行方式。", "Choose another travel mode."),
    "error_storage-unavailable": ("数据暂时无法读取。", "The data cannot be read right now."),
    "error_other": ("查询失败。", "The search failed."),
    "try_error": ("请稍后再试。", "Try again in a moment."),
    "error_network": ("无法连接服务器，请检查网络后重试。",
                      "The server cannot be reached; check the connection and try again."),
    "details": ("详情：", "Details: "),
    "close": ("关闭", "Close"),
    "pin_label": ("{n}. {name}，{kind}，{open}", "{n}. {name}, {kind}, {open}"),
    "noscript": ("本应用需要启用 JavaScript。您也可以使用 /map 查看地图。",
                 "This app needs JavaScript. The plain map is at /map."),
    "basemap_label": ("底图", "Base map"),
    "footer": ("数据：{name} · {items} 个事项 · {venues} 个场所",
               "Data: {name} · {items} services · {venues} venues"),
    "api_link": ("开放接口", "Open API"),
}

_DATA_ID: Final = "geosvc-app-data"
#: Baidu Maps' ``mode`` per travel mode (as geosvc.render.venue_page.baidu_uri sends it).
_BAIDU_MODES: Final = {"walk": "walking", "bike": "riding", "drive": "driving"}


@dataclass(frozen=True, slots=True)
class AppData:
    """What the app page is generated from (everything but the language).

    Attributes
    ----------
    dataset : str
        The dataset's name.
    centre : (lon, lat)
        Where the map opens (WGS-84).
    bounds : (min_lon, min_lat, max_lon, max_lat)
        The venues' extent (WGS-84).
    modes : tuple of str
        Network travel modes the server loaded (empty: straight-line only).
    items_count, venues_count : int
        Items of the catalogue, venues in service.
    tianditu_key : str, optional
        Key of the Tianditu base map (offered only with one).
    """

    dataset: str
    centre: tuple[float, float]
    bounds: tuple[float, float, float, float]
    modes: tuple[str, ...]
    items_count: int
    venues_count: int
    tianditu_key: str | None = None


@cache
def asset_digest(name: str) -> str:
    """Return 12 hex digits of the BLAKE2b hash of the static file ``name`` (cached).

    Raises
    ------
    KeyError
        ``name`` is not one of :data:`APP_ASSETS`.
    """
    if name not in APP_ASSETS:
        raise KeyError(name)
    body = (STATIC_DIR / name).read_bytes()
    return hashlib.blake2b(body, digest_size=6).hexdigest()


def asset_url(name: str) -> str:
    """Return the URL of an app asset, its content digest in the path.

    Examples
    --------
    >>> asset_url("geosvc-app.js").startswith("/static/app/")
    True
    """
    return f"/static/app/{asset_digest(name)}/{name}"


def json_for_html(doc: Any) -> str:
    r"""Serialise ``doc`` for a ``<script type="application/json">`` element.

    ``<``, ``>`` and ``&`` become ``\u003c`` etc., so no text in the data can
    close the element or open a comment; the JSON parses to the same value.

    Examples
    --------
    >>> json_for_html({"name": "</script><b>"})
    '{"name": "\\u003c/script\\u003e\\u003cb\\u003e"}'
    """
    text = json.dumps(doc, ensure_ascii=False, allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _basemaps(key: str | None) -> dict[str, dict[str, Any]]:
    out = {}
    for name, bm in BASEMAPS.items():
        if bm.url is None or (bm.needs_key and not key):
            continue
        out[name] = {"label": bm.label, "url": bm.url.replace("{key}", key or ""),
                     "attribution": bm.attribution, "crs": bm.crs,
                     "subdomains": bm.subdomains, "max_zoom": bm.max_zoom}
    return out


def page_data(data: AppData, prefs: Prefs) -> dict[str, Any]:
    """Return the JSON the page embeds for its script (one language)."""
    modes = [m for m in network_modes() if m in data.modes]
    return {
        "lang": prefs.lang,
        "elder": prefs.elder,
        "dataset": data.dataset,
        "centre": list(data.centre),
        "bounds": list(data.bounds),
        "modes": modes or ["straight"],
        "items_count": data.items_count,
        "venues_count": data.venues_count,
        "basemaps": _basemaps(data.tianditu_key),
        "nav": {name: {"amap": m.amap_mode, "osrm": m.osrm_engine,
                       "baidu": _BAIDU_MODES.get(name, "walking")}
                for name, m in TRAVEL_MODES.items()},
        "kinds": {k: prefs.t(*v) for k, v in KIND_LABELS.items()},
        "channels": {k: prefs.t(*v) for k, v in CHANNEL_LABELS.items()},
        "strings": {k: prefs.t(*v) for k, v in STRINGS.items()},
    }


def _mode_label(mode: str, prefs: Prefs) -> str:
    """Return the app's own word for a travel mode, else the mode registry's label."""
    own = STRINGS.get(f"mode_{mode}")
    spec = TRAVEL_MODES[mode]
    return prefs.t(*own) if own else prefs.t(spec.label_zh, spec.label_en)


def _switch_links(prefs: Prefs) -> str:
    s = {k: prefs.t(*v) for k, v in STRINGS.items()}
    other_lang = "en" if prefs.lang == "zh" else "zh-CN"
    lang = (f'<a id="gs-lang" class="gs-switch" href="/?lang={prefs.other}" '
            f'hreflang="{prefs.other}" lang="{other_lang}" '
            f'aria-label="{escape(s["switch_lang_label"])}">{escape(s["switch_lang"])}</a>')
    elder_to = "0" if prefs.elder else "1"
    elder_text = s["elder_off"] if prefs.elder else s["elder_on"]
    elder = (f'<a id="gs-elder" class="gs-switch" href="/?elder={elder_to}">'
             f"{escape(elder_text)}</a>")
    label = escape(prefs.t("页面设置", "Page settings"))
    return f'<nav class="gs-switches" aria-label="{label}">{lang}{elder}</nav>'


def _controls(data: AppData, prefs: Prefs) -> str:
    """Return the travel choices: start, mode, open now, channel (not in the elder mode)."""
    t = prefs.t
    s = {k: prefs.t(*v) for k, v in STRINGS.items()}
    modes = [m for m in network_modes() if m in data.modes]
    parts = [
        f'<div class="gs-start"><button type="button" id="gs-locate" class="gs-button">'
        f'{escape(s["use_location"])}</button> <span class="gs-hint">'
        f'{escape(s["tap_hint"])}</span></div>'
        f'<p id="gs-start-text" class="gs-start-text"></p>',
    ]
    if modes:
        radios = "".join(
            f'<label class="gs-radio"><input type="radio" name="mode" value="{m}"'
            f'{" checked" if i == 0 else ""}> {escape(_mode_label(m, prefs))}</label>'
            for i, m in enumerate(modes))
        parts.append(f'<fieldset class="gs-modes"><legend>{escape(s["mode_legend"])}</legend>'
                     f"{radios}</fieldset>")
    else:
        parts.append(f'<p class="gs-hint" id="gs-straight">{escape(s["straight_note"])}</p>')
    parts.append(f'<label class="gs-check"><input type="checkbox" id="gs-open-now"> '
                 f'{escape(s["open_now"])}</label>')
    if not prefs.elder:
        options = "".join(f'<option value="{c}">{escape(t(*labels))}</option>'
                          for c, labels in CHANNEL_LABELS.items())
        parts.append(f'<label class="gs-select" for="gs-channel">{escape(s["channel_label"])}'
                     f'</label> <select id="gs-channel"><option value="">'
                     f'{escape(s["channel_any"])}</option>{options}</select>')
    return '<div class="gs-controls">' + "".join(parts) + "</div>"


def app_page_html(data: AppData, prefs: Prefs) -> str:
    """Return the HTML of the app shell in ``prefs``' language.

    Leaflet's files (vendored) and the app's (by digest) are linked; the
    scripts are deferred, so they run once the document is parsed.

    Parameters
    ----------
    data : AppData
        The dataset facts the page starts from.
    prefs : Prefs
        Language and elder mode.

    Examples
    --------
    >>> data = AppData("demo", (24.9, 60.2), (24.9, 60.1, 25.0, 60.2), ("walk",), 3, 4)
    >>> html = app_page_html(data, Prefs("en", elder=True))
    >>> '<html lang="en">' in html, 'class="gs-app gs-elder"' in html, html.count("<h1>")
    (True, True, 1)
    """
    s = {k: prefs.t(*v) for k, v in STRINGS.items()}
    css = [vendor_url("leaflet/leaflet.css"), asset_url("geosvc-app.css")]
    js = [vendor_url("leaflet/leaflet.js"), asset_url("geosvc-pins.js"),
          asset_url("geosvc-app.js")]
    head_links = "".join(f'<link rel="stylesheet" href="{escape(u)}">' for u in css)
    head_scripts = "".join(f'<script src="{escape(u)}" defer></script>' for u in js)
    footer = s["footer"].format(name=data.dataset, items=data.items_count,
                                venues=data.venues_count)
    body_class = "gs-app gs-elder" if prefs.elder else "gs-app"
    return (
        "<!DOCTYPE html>"
        f'<html lang="{prefs.html_lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(s["title"])} · {escape(data.dataset)}</title>'
        f"{head_links}{head_scripts}"
        f'<script type="application/json" id="{_DATA_ID}">'
        f"{json_for_html(page_data(data, prefs))}</script></head>"
        f'<body class="{body_class}">'
        f'<header class="gs-header"><div class="gs-titles"><h1>{escape(s["title"])}</h1>'
        f'<p class="gs-tagline">{escape(s["tagline"])}</p></div>{_switch_links(prefs)}</header>'
        '<main id="gs-main" class="gs-main">'
        '<div class="gs-panel">'
        '<form id="gs-search" class="gs-search" role="search" action="/" method="get">'
        f'<label for="gs-q" id="gs-q-label">{escape(s["search_label"])}</label>'
        '<div class="gs-combo">'
        '<input id="gs-q" name="q" type="text" autocomplete="off" spellcheck="false" '
        'role="combobox" aria-autocomplete="list" aria-expanded="false" '
        'aria-controls="gs-suggest" aria-describedby="gs-q-hint">'
        f'<button type="submit" class="gs-button">{escape(s["search_button"])}</button>'
        f'<ul id="gs-suggest" role="listbox" aria-label="{escape(s["suggestions"])}" '
        'class="gs-suggest" hidden></ul></div>'
        f'<p id="gs-q-hint" class="gs-hint">{escape(s["search_hint"])}</p></form>'
        f"{_controls(data, prefs)}"
        f'<section class="gs-results" aria-labelledby="gs-results-h">'
        f'<h2 id="gs-results-h">{escape(s["results_heading"])}</h2>'
        '<p id="gs-status" class="gs-status" role="status" aria-live="polite"></p>'
        '<div id="gs-empty" class="gs-empty" hidden></div>'
        '<p id="gs-two-stop" class="gs-two-stop" hidden></p>'
        '<ol id="gs-list" class="gs-list"></ol>'
        "</section>"
        '<section id="gs-nav" class="gs-nav" aria-labelledby="gs-nav-h" hidden>'
        '<h2 id="gs-nav-h"></h2><p id="gs-nav-links" class="gs-nav-links"></p></section>'
        '<section id="gs-guide" class="gs-guide" aria-labelledby="gs-guide-h" hidden>'
        '<h2 id="gs-guide-h"></h2><div id="gs-guide-body"></div></section>'
        f'<noscript><p>{escape(s["noscript"])}</p></noscript>'
        "</div>"
        f'<div id="gs-map" class="gs-map" role="region" aria-label="{escape(s["map_label"])}">'
        "</div>"
        "</main>"
        f'<footer class="gs-footer"><p>{escape(footer)} · <a href="/docs">'
        f'{escape(s["api_link"])}</a></p></footer>'
        "</body></html>"
    )
