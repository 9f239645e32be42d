"""Bilingual (Chinese, English) labels and the HTML of venue popups.

Every text that comes from data (names, addresses, item names, hours) is
escaped with :func:`html.escape` here, once, before it reaches a page; the
map scripts insert the finished HTML and never build markup from data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from html import escape
from typing import Any
from urllib.parse import quote, urlencode

from geosvc import vocab
from geosvc.coords import from_wgs84
from geosvc.modes import TRAVEL_MODES

__all__ = [
    "CHANNEL_LABELS",
    "KIND_LABELS",
    "LEVEL_LABELS",
    "amap_uri",
    "bilingual",
    "osm_directions_url",
    "venue_popup_html",
    "venue_tooltip_html",
]

#: (Chinese, English) label of each venue kind, level and channel (from :mod:`geosvc.vocab`).
KIND_LABELS: dict[str, tuple[str, str]] = {str(k.code): k.labels for k in vocab.KINDS}
LEVEL_LABELS: dict[str, tuple[str, str]] = {str(t.code): t.labels for t in vocab.LEVELS}
CHANNEL_LABELS: dict[str, tuple[str, str]] = {str(t.code): t.labels for t in vocab.CHANNELS}


def bilingual(pair: tuple[str, str]) -> str:
    """Return ``"中文 English"`` as escaped HTML.

    Examples
    --------
    >>> bilingual(("窗口", "staffed window"))
    '窗口 <span class="en">staffed window</span>'
    """
    zh, en = pair
    return f'{escape(zh)} <span class="en">{escape(en)}</span>'


def _label(table: Mapping[str, tuple[str, str]], value: Any) -> str:
    if value is None:
        return ""
    return bilingual(table.get(str(value), (str(value), "")))


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


def _hours_html(props: Mapping[str, Any]) -> str:
    hours = props.get("opening_hours")
    parts = [escape(str(hours)) if hours else '未知 <span class="en">unknown</span>']
    is_open = props.get("open")
    if is_open is True:
        parts.append('<b class="gs-open">营业中 <span class="en">open now</span></b>')
    elif is_open is False:
        nxt = props.get("next_open")
        when = _short_time(nxt) if nxt else None
        if when:
            parts.append(f'<b class="gs-closed">已关闭，{escape(when)} 开门 '
                         f'<span class="en">closed, opens at {escape(when)}</span></b>')
        else:
            parts.append('<b class="gs-closed">已关闭 <span class="en">closed</span></b>')
    return " · ".join(parts)


def _short_time(value: Any) -> str | None:
    """``2026-05-06T09:00:00+08:00`` -> ``05-06 09:00`` (the venue's local time)."""
    if isinstance(value, datetime):
        dt = value
    else:
        try:
            dt = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
    return dt.strftime("%m-%d %H:%M")


def _row(label: tuple[str, str], value_html: str) -> str:
    return f"<tr><th>{bilingual(label)}</th><td>{value_html}</td></tr>"


def venue_popup_html(
    props: Mapping[str, Any],
    lon: float,
    lat: float,
    *,
    items: Iterable[Mapping[str, Any]] | None = None,
    origin: tuple[float, float] | None = None,
    mode: str = "walk",
    max_items: int = 8,
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
    """
    name = str(props.get("name") or props.get("id") or "")
    rows = []
    kind = props.get("kind")
    kind_html = _label(KIND_LABELS, kind)
    if props.get("level"):
        kind_html += " · " + _label(LEVEL_LABELS, props["level"])
    rows.append(_row(("类型", "kind"), kind_html))
    if props.get("address"):
        rows.append(_row(("地址", "address"), escape(str(props["address"]))))
    rows.append(_row(("时间", "hours"), _hours_html(props)))
    channels = props.get("channels") or []
    if channels:
        names = "、".join(_label(CHANNEL_LABELS, c) for c in channels)
        rows.append(_row(("渠道", "channels"), names))
    access = props.get("accessible")
    if access is not None:
        rows.append(_row(("绿色通道", "accessible"),
                         '有 <span class="en">yes</span>' if access
                         else '无 <span class="en">no</span>'))
    if props.get("phone"):
        rows.append(_row(("电话", "phone"), escape(str(props["phone"]))))
    if props.get("travel_time_min") is not None:
        rows.append(_row(("路程", "travel"),
                         f"{float(props['travel_time_min']):.0f} 分钟 min · "
                         f"{float(props.get('distance_m') or 0):.0f} m"))
    elif props.get("distance_m") is not None:
        rows.append(_row(("直线距离", "straight-line"), f"{float(props['distance_m']):.0f} m"))
    rank = props.get("rank")
    title = f"{int(rank)}. " if rank is not None else ""
    out = [f'<div class="gs-popup"><h4>{escape(title + name)}</h4>']
    if props.get("name_en"):
        out.append(f'<div class="en">{escape(str(props["name_en"]))}</div>')
    out.append(f'<table>{"".join(rows)}</table>')
    nav_name = name[:60]
    # Directions first: on a phone they must not hide below a long item list.
    out.append(
        '<div class="gs-nav">'
        f'<a href="{escape(osm_directions_url(lon, lat, origin=origin, mode=mode))}" '
        'target="_blank" rel="noopener noreferrer">OSM 路线 directions</a>'
        f'<a href="{escape(amap_uri(lon, lat, nav_name, mode=mode))}" '
        'target="_blank" rel="noopener noreferrer">高德导航 Amap</a></div>'
    )
    out.append(_items_html(items, props.get("items_count"), max_items))
    out.append("</div>")
    return "".join(out)


def _items_html(items: Iterable[Mapping[str, Any]] | None, count: Any, max_items: int) -> str:
    if items is None:
        if count is None:
            return ""
        return (f'<div class="gs-items-count">可办事项 {int(count)} 项 '
                '<span class="en">items</span></div>')
    items = list(items)
    head = (f'<div class="gs-items-head">可办事项 <span class="en">items handled here</span> '
            f"({len(items)})</div>")
    lis = []
    for item in items[:max_items]:
        chans = "、".join(_label(CHANNEL_LABELS, c) for c in item.get("channels") or [])
        en = item.get("name_en")
        en_html = f' <span class="en">{escape(str(en))}</span>' if en else ""
        lis.append(f'<li><span class="gs-item">{escape(str(item.get("name", "")))}</span>'
                   f'{en_html}<span class="gs-chan"> — {chans}</span></li>')
    more = ""
    if len(items) > max_items:
        rest = len(items) - max_items
        more = (f'<li class="gs-more">……还有 {rest} 项 '
                f'<span class="en">and {rest} more</span></li>')
    return f'{head}<ul class="gs-items">{"".join(lis)}{more}</ul>'


def venue_tooltip_html(props: Mapping[str, Any]) -> str:
    """Return the escaped one-line tooltip of a venue (rank, name, kind).

    Examples
    --------
    >>> venue_tooltip_html({"name": "<b>x</b>", "kind": "kiosk"})
    '&lt;b&gt;x&lt;/b&gt; · 自助服务终端'
    """
    rank = props.get("rank")
    prefix = f"{int(rank)}. " if rank is not None else ""
    zh = KIND_LABELS.get(str(props.get("kind")), ("", ""))[0]
    return escape(prefix + str(props.get("name") or "")) + (f" · {escape(zh)}" if zh else "")
