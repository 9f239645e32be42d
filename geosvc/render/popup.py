"""Labels (Chinese, English) and the HTML of venue popups, in the page's language.

Popups are written in one language (:class:`~geosvc.render.i18n.Prefs`);
hours are said in words (:func:`geosvc.render.words.hours_text`), not in
raw ``opening_hours`` syntax.  Every text that comes from data (names,
addresses, item names, hours) is escaped with :func:`html.escape` here,
once, before it reaches a page; the map scripts insert the finished HTML and
never build markup from data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from geosvc import vocab
from geosvc.coords import from_wgs84
from geosvc.modes import TRAVEL_MODES
from geosvc.render.i18n import Prefs
from geosvc.render.words import hours_text, when_text

__all__ = [
    "CHANNEL_LABELS",
    "KIND_LABELS",
    "LEVEL_LABELS",
    "amap_uri",
    "osm_directions_url",
    "venue_label",
    "venue_popup_html",
    "venue_tooltip_html",
]

#: (Chinese, English) label of each venue kind, level and channel (from :mod:`geosvc.vocab`).
KIND_LABELS: dict[str, tuple[str, str]] = {str(k.code): k.labels for k in vocab.KINDS}
LEVEL_LABELS: dict[str, tuple[str, str]] = {str(t.code): t.labels for t in vocab.LEVELS}
CHANNEL_LABELS: dict[str, tuple[str, str]] = {str(t.code): t.labels for t in vocab.CHANNELS}


def _label(table: Mapping[str, tuple[str, str]], value: Any, prefs: Prefs) -> str:
    if value is None:
        return ""
    return escape(prefs.t(*table.get(str(value), (str(value), str(value)))))


def osm_directions_url(lon: float, lat: float, *, origin: tuple[float, float] | None = None,
                       mode: str = "walk") -> str:
    """Return an openstreetmap.org directions URL to a WGS-84 point.

    Examples
    --------
    >>> osm_directions_url(24.94, 60.17, origin=(24.93, 60.16))
    'https://www.openstreetmap.org/directions?engine=fossgis_osrm_foot&route=60.16%2C24.93%3B60.17%2C24.94'
    """
    start = f"{origin[1]:.6g},{origin[0]:.6g}" if origin else ""
    spec = TRAVEL_MODES.get(mode, TRAVEL_MODES["walk"])
    query = urlencode({"engine": spec.osrm_engine,
                       "route": f"{start};{lat:.6g},{lon:.6g}"})
    return f"https://www.openstreetmap.org/directions?{query}"


def amap_uri(lon: float, lat: float, name: str, *, mode: str = "walk") -> str:
    """Return an Amap navigation URI to a WGS-84 point (sent as GCJ-02).

    Amap expects GCJ-02 ("gaode") coordinates; outside China the shift is
    the identity.

    Examples
    --------
    >>> amap_uri(116.397, 39.909, "天安门")[:60]
    'https://uri.amap.com/navigation?to=116.403244%2C39.910403%2C'
    """
    glon, glat = from_wgs84(lon, lat, "gcj02")
    query = urlencode({
        "to": f"{glon:.6f},{glat:.6f},{name}",
        "mode": TRAVEL_MODES.get(mode, TRAVEL_MODES["walk"]).amap_mode,
        "coordinate": "gaode",
        "callnative": "1",
    }, quote_via=quote)
    return f"https://uri.amap.com/navigation?{query}"


def _hours_html(props: Mapping[str, Any], prefs: Prefs, ref: Any = None) -> str:
    t = prefs.t
    said = hours_text(props.get("opening_hours"), prefs)
    parts = [escape(said) if said else escape(t("未知", "unknown"))]
    is_open = props.get("open")
    if is_open is True:
        parts.append(f'<b class="gs-open">{escape(t("营业中", "open now"))}</b>')
    elif is_open is False:
        when = when_text(props.get("next_open"), prefs, ref=ref)
        if when:
            parts.append(f'<b class="gs-closed">'
                         f'{escape(t(f"已关闭，{when} 开门", f"closed, opens {when}"))}</b>')
        else:
            parts.append(f'<b class="gs-closed">{escape(t("已关闭", "closed"))}</b>')
    return " · ".join(parts)


def _row(label: tuple[str, str], value_html: str, prefs: Prefs) -> str:
    return f'<tr><th scope="row">{escape(prefs.t(*label))}</th><td>{value_html}</td></tr>'


def _venue_name(props: Mapping[str, Any], prefs: Prefs) -> str:
    """Return the venue's name in the page's language (``name_en`` on English pages)."""
    name = str(props.get("name") or props.get("id") or "")
    if prefs.lang == "en" and props.get("name_en"):
        return str(props["name_en"])
    return name


def venue_popup_html(
    props: Mapping[str, Any],
    lon: float,
    lat: float,
    *,
    items: Iterable[Mapping[str, Any]] | None = None,
    origin: tuple[float, float] | None = None,
    mode: str = "walk",
    max_items: int = 8,
    prefs: Prefs | None = None,
    venue_url: str | None = None,
    ref: Any = None,
) -> str:
    """Return the escaped HTML of one venue's popup.

    Parameters
    ----------
    props : mapping
        The venue's GeoJSON properties as the API returns them (``name``,
        ``kind``, ``level``, ``address``, ``opening_hours``, ``open``,
        ``next_open``, ``channels``, ``accessible``, ``phone``, and for
        nearest results ``rank``, ``distance_m``, ``travel_time_min``).
    lon, lat : float
        The venue's WGS-84 position (navigation links need true positions).
    items : iterable of mapping, optional
        ``[{code, name, channels}]`` the venue handles.
    origin : (lon, lat), optional
        WGS-84 start of the directions link (the query point).
    mode : str
        Travel mode of the directions links.
    max_items : int
        Longest item list shown; the rest is summarised as a count.
    prefs : Prefs, optional
        The page's language (default Chinese).
    venue_url : str, optional
        Link to the venue's page (``/venues/{id}``), shown as "场所详情".
    ref : str, optional
        ISO time the open state was found at (the query's ``at``): an opening
        time on that day is said without its date, as the results list and
        the pin's name say it.
    """
    prefs = prefs or Prefs()
    t = prefs.t
    name = str(props.get("name") or props.get("id") or "")
    rows = []
    kind = props.get("kind")
    kind_html = _label(KIND_LABELS, kind, prefs)
    if props.get("level"):
        kind_html += " · " + _label(LEVEL_LABELS, props["level"], prefs)
    rows.append(_row(("类型", "Kind"), kind_html, prefs))
    if props.get("address"):
        rows.append(_row(("地址", "Address"), escape(str(props["address"])), prefs))
    rows.append(_row(("时间", "Hours"), _hours_html(props, prefs, ref), prefs))
    channels = props.get("channels") or []
    if channels:
        names = t("、", ", ").join(_label(CHANNEL_LABELS, c, prefs) for c in channels)
        rows.append(_row(("渠道", "Channels"), names, prefs))
    access = props.get("accessible")
    if access is not None:
        rows.append(_row(("绿色通道", "Priority service"),
                         escape(t("有", "yes") if access else t("无", "no")), prefs))
    if props.get("phone"):
        rows.append(_row(("电话", "Phone"), escape(str(props["phone"])), prefs))
    if props.get("travel_time_min") is not None:
        minutes = f"{float(props['travel_time_min']):.0f}"
        rows.append(_row(("路程", "Travel"),
                         f"{escape(t(f'{minutes} 分钟', f'{minutes} min'))} · "
                         f"{float(props.get('distance_m') or 0):.0f} m", prefs))
    elif props.get("distance_m") is not None:
        rows.append(_row(("直线距离", "Straight-line"),
                         f"{float(props['distance_m']):.0f} m", prefs))
    rank = props.get("rank")
    title = f"{int(rank)}. " if rank is not None else ""
    shown = _venue_name(props, prefs)
    out = [f'<div class="gs-popup"><h4>{escape(title + shown)}</h4>']
    if shown != name:  # the Chinese name people will see on the building
        out.append(f'<div class="en" lang="zh-CN">{escape(name)}</div>')
    out.append(f'<table>{"".join(rows)}</table>')
    nav_name = name[:60]
    # Directions first: on a phone they must not hide below a long item list.
    links = []
    if venue_url:
        links.append(f'<a href="{escape(venue_url)}">{escape(t("场所详情", "Details"))}</a>')
    links.append(f'<a href="{escape(amap_uri(lon, lat, nav_name, mode=mode))}" '
                 'target="_blank" rel="noopener noreferrer">'
                 f'{escape(t("高德导航", "Amap directions"))}</a>')
    links.append(f'<a href="{escape(osm_directions_url(lon, lat, origin=origin, mode=mode))}" '
                 'target="_blank" rel="noopener noreferrer">'
                 f'{escape(t("OSM 路线", "OSM directions"))}</a>')
    out.append(f'<div class="gs-nav">{"".join(links)}</div>')
    out.append(_items_html(items, props.get("items_count"), max_items, prefs))
    out.append("</div>")
    return "".join(out)


def _items_html(items: Iterable[Mapping[str, Any]] | None, count: Any, max_items: int,
                prefs: Prefs) -> str:
    t = prefs.t
    if items is None:
        if count is None:
            return ""
        n = int(count)
        said = t(f"可办事项 {n} 项", f"{n} items")
        return f'<div class="gs-items-count">{escape(said)}</div>'
    items = list(items)
    head = (f'<div class="gs-items-head">{escape(t("可办事项", "Items handled here"))} '
            f"({len(items)})</div>")
    lis = []
    for item in items[:max_items]:
        chans = t("、", ", ").join(_label(CHANNEL_LABELS, c, prefs)
                                   for c in item.get("channels") or [])
        name = str(item.get("name", ""))
        if prefs.lang == "en" and item.get("name_en"):
            name_html = escape(str(item["name_en"]))
        elif prefs.lang == "en":
            name_html = f'<span lang="zh-CN">{escape(name)}</span>'
        else:
            name_html = escape(name)
        lis.append(f'<li><span class="gs-item">{name_html}</span>'
                   f'<span class="gs-chan"> — {chans}</span></li>')
    more = ""
    if len(items) > max_items:
        rest = len(items) - max_items
        more = f'<li class="gs-more">{escape(t(f"……还有 {rest} 项", f"and {rest} more"))}</li>'
    return f'{head}<ul class="gs-items">{"".join(lis)}{more}</ul>'


def venue_tooltip_html(props: Mapping[str, Any], prefs: Prefs | None = None) -> str:
    """Return the escaped one-line tooltip of a venue (rank, name, kind).

    Examples
    --------
    >>> venue_tooltip_html({"name": "<b>x</b>", "kind": "kiosk"})
    '&lt;b&gt;x&lt;/b&gt; · 自助服务终端'
    >>> venue_tooltip_html({"name": "x", "kind": "kiosk"}, Prefs("en"))
    'x · Self-service kiosk'
    """
    prefs = prefs or Prefs()
    rank = props.get("rank")
    prefix = f"{int(rank)}. " if rank is not None else ""
    kind = prefs.t(*KIND_LABELS.get(str(props.get("kind")), ("", "")))
    return escape(prefix + _venue_name(props, prefs)) + (f" · {escape(kind)}" if kind else "")


def venue_label(props: Mapping[str, Any], prefs: Prefs | None = None, *,
                ref: Any = None) -> str:
    """Return the plain-text accessible name of a venue's map pin: rank, name, kind, open state.

    A screen reader says it when the pin gets the keyboard focus; it is
    plain text (set as an attribute by the page's script), not HTML.
    ``ref`` is the ISO time the open state was found at: an opening time on
    that day is said without its date, as in the results list.

    Examples
    --------
    >>> venue_label({"name": "x", "kind": "kiosk", "open": True})
    'x，自助服务终端，营业中'
    >>> venue_label({"name": "x", "kind": "hall", "rank": 1, "open": False,
    ...              "next_open": "2026-05-11T08:30:00+08:00"}, Prefs("en"))
    '1. x, Service hall, closed, opens Mon 05-11 08:30'
    >>> venue_label({"name": "x", "kind": "hall"}, Prefs("en"))
    'x, Service hall, hours unknown'
    """
    prefs = prefs or Prefs()
    t = prefs.t
    rank = props.get("rank")
    parts = [(f"{int(rank)}. " if rank is not None else "") + _venue_name(props, prefs)]
    kind = props.get("kind")
    if kind is not None:
        parts.append(prefs.t(*KIND_LABELS.get(str(kind), (str(kind), str(kind)))))
    is_open = props.get("open")
    if is_open is True:
        parts.append(t("营业中", "open now"))
    elif is_open is False:
        when = when_text(props.get("next_open"), prefs, ref=ref)
        parts.append(t(f"已关闭，{when} 开门", f"closed, opens {when}") if when
                     else t("已关闭", "closed"))
    elif not props.get("opening_hours"):
        parts.append(t("营业时间未知", "hours unknown"))
    return t("，", ", ").join(p for p in parts if p)
