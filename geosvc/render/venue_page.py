"""The HTML of the venue page (``GET /venues/{id}``) and of the pages that explain errors.

Plain, static, bilingual pages (Chinese first, English marked ``lang="en"``):
no script, no external request, one ``h1`` and a ``main`` landmark.  Every
text from data is escaped here, once.  The functions take results (a venue
feature, its :class:`~geosvc.app.opening.VenueWeek`) and never call a handler.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from geosvc import vocab
from geosvc.coords import from_wgs84
from geosvc.render.popup import (
    CHANNEL_LABELS,
    KIND_LABELS,
    LEVEL_LABELS,
    amap_uri,
    osm_directions_url,
)

if TYPE_CHECKING:
    from geosvc.app.opening import DayHours, VenueWeek

__all__ = [
    "baidu_uri",
    "error_page_html",
    "hours_in_words",
    "venue_page_html",
]

_WEEKDAYS = {"Mo": ("周一", "Mon"), "Tu": ("周二", "Tue"), "We": ("周三", "Wed"),
             "Th": ("周四", "Thu"), "Fr": ("周五", "Fri"), "Sa": ("周六", "Sat"),
             "Su": ("周日", "Sun")}
_DAY_ORDER = tuple(_WEEKDAYS)
_DAYS_RE = re.compile(r"^(?:(?:Mo|Tu|We|Th|Fr|Sa|Su|PH)(?:-(?:Mo|Tu|We|Th|Fr|Sa|Su))?,?)+$")
_TIME = r"(?:[01]\d|2[0-4]):[0-5]\d"
_TIMES_RE = re.compile(rf"^{_TIME}-{_TIME}(?:,{_TIME}-{_TIME})*$")


def _en(text: str) -> str:
    return f'<span lang="en">{escape(text)}</span>'


def _both(zh: str, en: str) -> str:
    """``中文 English`` as escaped HTML, the English part marked ``lang="en"``."""
    return f"{escape(zh)} {_en(en)}"


def _day_spec(spec: str) -> tuple[str, str] | None:
    """``Mo-Fr,Sa`` -> ``("周一至周五、周六", "Mon–Fri, Sat")``; ``PH`` -> holidays."""
    if not _DAYS_RE.match(spec):
        return None
    zh, en = [], []
    for part in spec.strip(",").split(","):
        if part == "PH":
            zh.append("法定节假日")
            en.append("public holidays")
        elif "-" in part:
            a, b = part.split("-")
            zh.append(f"{_WEEKDAYS[a][0]}至{_WEEKDAYS[b][0]}")
            en.append(f"{_WEEKDAYS[a][1]}–{_WEEKDAYS[b][1]}")
        else:
            zh.append(_WEEKDAYS[part][0])
            en.append(_WEEKDAYS[part][1])
    return "、".join(zh), ", ".join(en)


def _times(spec: str) -> tuple[str, str]:
    """``09:00-12:00,13:00-17:00`` -> the intervals and, between them, the lunch break."""
    spans = [s.split("-") for s in spec.split(",")]
    text = ", ".join(f"{a}–{b}" for a, b in spans)
    breaks = [f"{spans[i][1]}–{spans[i + 1][0]}" for i in range(len(spans) - 1)]
    if not breaks:
        return text, text
    gaps = ", ".join(breaks)
    return f"{text}（午休 {gaps}）", f"{text} (lunch break {gaps})"


def _rule_in_words(rule: str) -> tuple[str, str] | None:
    parts = rule.split()
    if len(parts) == 1 and _TIMES_RE.match(parts[0]):
        zh, en = _times(parts[0])
        return f"每天 {zh}", f"daily {en}"
    if len(parts) != 2:  # noqa: PLR2004 - days and times
        return None
    days = _day_spec(parts[0])
    if days is None:
        return None
    if parts[1] in ("off", "closed"):
        return f"{days[0]}休息", f"closed on {days[1]}"
    if not _TIMES_RE.match(parts[1]):
        return None
    zh, en = _times(parts[1])
    return f"{days[0]} {zh}", f"{days[1]} {en}"


def hours_in_words(expr: str | None) -> list[tuple[str, str]] | None:
    """Say an ``opening_hours`` expression in Chinese and English, one line per rule.

    None when the expression is beyond the common forms (the page then shows
    it as it is).

    Examples
    --------
    >>> hours_in_words("Mo-Fr 09:00-12:00,13:00-17:00; PH off")
    [('周一至周五 09:00–12:00, 13:00–17:00（午休 12:00–13:00）', \
'Mon–Fri 09:00–12:00, 13:00–17:00 (lunch break 12:00–13:00)'), \
('法定节假日休息', 'closed on public holidays')]
    >>> hours_in_words("24/7")
    [('全天 24 小时开放', 'open 24 hours, every day')]
    >>> hours_in_words("Mo-Fr 09:00-17:00 || 'by appointment'") is None
    True
    """
    if expr is None or not expr.strip():
        return None
    if expr.strip() == "24/7":
        return [("全天 24 小时开放", "open 24 hours, every day")]
    lines = []
    for rule in expr.split(";"):
        if not rule.strip():
            continue
        said = _rule_in_words(rule.strip())
        if said is None:
            return None
        lines.append(said)
    return lines or None


def baidu_uri(lon: float, lat: float, name: str, *, mode: str = "walk") -> str:
    """Return a Baidu Maps directions URL to a WGS-84 point (sent as BD-09).

    Examples
    --------
    >>> baidu_uri(116.397, 39.909, "天安门")[:72]
    'https://api.map.baidu.com/direction?destination=latlng%3A39.916744%2C116'
    """
    blon, blat = from_wgs84(lon, lat, "bd09")
    modes = {"walk": "walking", "bike": "riding", "drive": "driving"}
    query = urlencode({
        "destination": f"latlng:{blat:.6f},{blon:.6f}|name:{name}",
        "mode": modes.get(mode, "walking"),
        "coord_type": "bd09ll",
        "output": "html",
        "src": "geosvc",
    }, quote_via=quote)
    return f"https://api.map.baidu.com/direction?{query}"


_STYLE = """
body{font:16px/1.5 system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;color:#1a1a1a;
background:#fff}
header,main,footer{max-width:46rem;margin:0 auto;padding:0 1rem}
h1{font-size:1.5rem;margin:1rem 0 .25rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}
[lang=en]{color:#444}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;
border-bottom:1px solid #ddd;vertical-align:top}
.open{color:#0a6b2b;font-weight:600}.closed{color:#a01c1c;font-weight:600}
.mark{display:inline-block;padding:0 .4rem;border-radius:.3rem;background:#fde8c8;
color:#5a3500;font-size:.9em}
.nav a{display:inline-block;margin:.25rem .5rem .25rem 0;padding:.5rem .8rem;border:1px solid
#1554a0;border-radius:.4rem;color:#1554a0;text-decoration:none}
.nav a:focus,.nav a:hover{background:#e8f0fb}
a{color:#1554a0}
"""


def _page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n"
            '<html lang="zh-CN"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body>{body}</body></html>\n")


def _label(table: Mapping[str, tuple[str, str]], value: Any) -> str:
    zh, en = table.get(str(value), (str(value), str(value)))
    return _both(zh, en)


def _short(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _state_html(props: Mapping[str, Any]) -> str:
    """Say the open state: "营业中，至 16:00" or "已关闭，周一 05-11 08:30 开门"."""
    is_open = props.get("open")
    if is_open is None:
        return _both("营业时间未知", "opening hours unknown")
    if is_open:
        until = _short(props.get("closes_at"))
        if until is None:
            return f'<span class="open">{_both("营业中", "open now")}</span>'
        hm = until.strftime("%H:%M")
        return f'<span class="open">{_both(f"营业中，至 {hm}", f"open now, until {hm}")}</span>'
    nxt = _short(props.get("next_open"))
    if nxt is None:
        return f'<span class="closed">{_both("已关闭", "closed")}</span>'
    zh_day, en_day = tuple(_WEEKDAYS.values())[nxt.weekday()]
    when = nxt.strftime("%m-%d %H:%M")
    said = _both(f"已关闭，{zh_day} {when} 开门", f"closed, opens {en_day} {when}")
    return f'<span class="closed">{said}</span>'


def _hours_section(props: Mapping[str, Any], week: VenueWeek) -> str:
    expr = props.get("opening_hours")
    out = ['<section aria-labelledby="h-hours"><h2 id="h-hours">'
           f'{_both("办公时间", "Opening hours")}</h2>', f"<p>{_state_html(props)}</p>"]
    words = hours_in_words(expr)
    if words:
        out.append("<ul>" + "".join(f"<li>{escape(zh)}<br>{_en(en)}</li>"
                                    for zh, en in words) + "</ul>")
    elif expr:
        out.append(f'<p>{_both("营业时间（OSM 格式）", "hours (OSM syntax)")}: '
                   f"<code>{escape(str(expr))}</code></p>")
    else:
        out.append(f"<p>{_both('暂无营业时间信息', 'No opening hours are known')}</p>")
    out.append(_calendar_note(expr, week))
    out.append(_week_table(week))
    out.append("</section>")
    return "".join(out)


def _calendar_note(expr: Any, week: VenueWeek) -> str:
    if week.calendar is None or not week.known:
        return ""
    has_ph = "PH" in str(expr or "")
    zh = ("按国家法定节假日安排：法定节假日" + ("按节假日规则办理" if has_ph else "照常办公")
          + "，调休上班日按周一时间办公。")
    en = ("Follows the official holiday calendar: on statutory holidays "
          + ("the holiday rule applies" if has_ph else "the usual hours apply")
          + "; make-up working days (调休) open with Monday's hours.")
    return f'<p class="note">{escape(zh)}<br>{_en(en)}</p>'


def _day_row(day: DayHours) -> str:
    zh_wd, en_wd = tuple(_WEEKDAYS.values())[day.day.weekday()]
    marks = []
    if day.holiday:
        marks.append(f'<span class="mark">{_both("法定节假日", "public holiday")}</span>')
    if day.makeup_workday:
        marks.append(f'<span class="mark">{_both("调休上班", "make-up working day")}</span>')
    if day.intervals:
        hours = ", ".join(f"{a}–{b}" for a, b in day.intervals)
    else:
        hours = _both("休息", "closed")
    return (f'<tr><td>{day.day.isoformat()}</td><td>{escape(zh_wd)} {_en(en_wd)}</td>'
            f'<td>{hours}</td><td>{" ".join(marks)}</td></tr>')


def _week_table(week: VenueWeek) -> str:
    if not week.known:
        return ""
    head = "".join(f'<th scope="col">{_both(zh, en)}</th>' for zh, en in (
        ("日期", "date"), ("星期", "weekday"), ("开放时间", "open"), ("备注", "note")))
    rows = "".join(_day_row(d) for d in week.days)
    return (f'<table class="week"><caption>{_both("未来 7 天", "The next 7 days")}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")


def _items_section(items: Sequence[Mapping[str, Any]]) -> str:
    head = (f'<section aria-labelledby="h-items"><h2 id="h-items">'
            f'{_both("可办事项", "Services handled here")} ({len(items)})</h2>')
    if not items:
        return head + f"<p>{_both('暂无事项信息', 'No items are recorded')}</p></section>"
    groups: list[str] = []
    for channel in vocab.CHANNELS.codes():
        here = [it for it in items if str(channel) in (it.get("channels") or [])]
        if here:
            groups.append(f"<h3>{_label(CHANNEL_LABELS, channel)}</h3><ul>"
                          + "".join(_item_li(it) for it in here) + "</ul>")
    rest = [it for it in items if not it.get("channels")]
    if rest:
        groups.append(f"<h3>{_both('其他', 'Other')}</h3><ul>"
                      + "".join(_item_li(it) for it in rest) + "</ul>")
    return head + "".join(groups) + "</section>"


def _item_li(item: Mapping[str, Any]) -> str:
    name = escape(str(item.get("name") or item.get("code") or ""))
    en = item.get("name_en")
    return f"<li>{name}{' ' + _en(str(en)) if en else ''}</li>"


def _nav_section(name: str, lon: float, lat: float) -> str:
    nav = name[:60]
    links = (
        (amap_uri(lon, lat, nav), "高德地图导航", "Amap directions"),
        (baidu_uri(lon, lat, nav), "百度地图导航", "Baidu Maps directions"),
        (osm_directions_url(lon, lat), "OpenStreetMap 路线", "OpenStreetMap directions"),
    )
    anchors = "".join(f'<a href="{escape(url)}" rel="noopener noreferrer">{_both(zh, en)}</a>'
                      for url, zh, en in links)
    return (f'<section aria-labelledby="h-nav"><h2 id="h-nav">{_both("到这里去", "Get there")}'
            f'</h2><p class="nav">{anchors}</p></section>')


def venue_page_html(feature: Mapping[str, Any], week: VenueWeek, *,
                    shown: tuple[float, float, str] | None = None,
                    map_link: str = "/map") -> str:
    """Return the HTML of one venue's page.

    Parameters
    ----------
    feature : mapping
        The venue's GeoJSON Feature in **WGS-84** with ``items``, ``open``,
        ``next_open`` and ``closes_at`` (as ``GET /api/v1/venues/{id}`` gives it).
    week : VenueWeek
        The next days of the venue (:func:`geosvc.app.opening.venue_week`).
    shown : (lon, lat, crs), optional
        The coordinates to print, in the system the request asked for.
    map_link : str
        Where "back to the map" leads.
    """
    props = feature["properties"]
    lon, lat = (float(c) for c in feature["geometry"]["coordinates"])
    name = str(props.get("name") or feature.get("id") or "")
    kind = _label(KIND_LABELS, props.get("kind"))
    if props.get("level"):
        kind += " · " + _label(LEVEL_LABELS, props["level"])
    rows = [(("类型", "kind"), kind)]
    if props.get("address"):
        rows.append((("地址", "address"), escape(str(props["address"]))))
    if props.get("phone"):
        phone = str(props["phone"])
        tel = re.sub(r"[^0-9+]", "", phone)
        rows.append((("电话", "phone"), f'<a href="tel:{escape(tel)}">{escape(phone)}</a>'))
    access = props.get("accessible")
    if access is None:
        access_html = _both("未知", "unknown")
    elif access:
        access_html = _both("有（老年人、残疾人优先）",
                            "yes: priority for the elderly and disabled")
    else:
        access_html = _both("无", "no")
    rows.append((("绿色通道", "accessibility"), access_html))
    if shown is not None:
        x, y, crs = shown
        rows.append((("坐标", "coordinates"), f"{x:.6f}, {y:.6f} ({escape(crs)})"))
    table = "".join(f'<tr><th scope="row">{_both(*label)}</th><td>{value}</td></tr>'
                    for label, value in rows)
    en_name = props.get("name_en")
    body = (f'<header><p><a href="{escape(map_link)}">← {_both("返回地图", "Back to the map")}'
            f"</a></p></header><main><h1>{escape(name)}</h1>"
            + (f'<p lang="en">{escape(str(en_name))}</p>' if en_name else "")
            + f"<table>{table}</table>"
            + _hours_section(props, week)
            + _nav_section(name, lon, lat)
            + _items_section(props.get("items") or [])
            + "</main>")
    return _page(f"{name} · 政务服务场所 Government service venue", body)


#: What to try, by problem type (Chinese, English).
_ADVICE: dict[str, tuple[str, str]] = {
    "invalid-parameter": ("请检查下列参数，或回到地图重新选择。",
                          "Check the parameters below, or go back to the map "
                          "and choose again."),
    "not-found": ("找不到所请求的场所或事项，可能代码有误或已撤销。请回到地图搜索。",
                  "The venue or item asked for does not exist (a wrong or retired code). "
                  "Search for it on the map."),
    "outside-network": ("所选位置离道路太远，无法规划路线。请在地图上选一个靠近道路的位置。",
                        "The chosen point is too far from any road to plan a route. "
                        "Pick a point close to a road."),
    "no-route": ("从所选位置无法到达该场所。请换一个出发点或出行方式。",
                 "No route leads from the chosen point to the venue. "
                 "Try another start or travel mode."),
    "mode-unavailable": ("该出行方式暂不可用（没有加载道路网络）。"
                         "请改用直线距离（mode=straight）。",
                         "This travel mode is not available (no road network is loaded). "
                         "Use straight-line distance (mode=straight)."),
    "storage-unavailable": ("数据暂时无法读取，请稍后再试。",
                            "The data cannot be read right now; try again later."),
}
_DEFAULT_ADVICE = ("请回到地图重新查询。", "Go back to the map and search again.")
_TITLES: dict[int, tuple[str, str]] = {
    400: ("请求有误", "Something in the request is wrong"),
    404: ("没有找到", "Not found"),
    405: ("不支持的请求方式", "Method not allowed"),
    422: ("无法完成查询", "The search cannot be answered"),
    503: ("服务暂不可用", "Service unavailable"),
}


def error_page_html(status: int, problem_type: str, detail: str,
                    invalid_params: Iterable[Mapping[str, Any]] = (), *,
                    map_link: str = "/map") -> str:
    """Return the HTML page that explains an error to a citizen, in both languages.

    Parameters
    ----------
    status : int
        The HTTP status (kept on the answer).
    problem_type : str
        The problem's type slug (``invalid-parameter``, ``not-found``, ...).
    detail : str
        The problem's detail (English, from the code), shown as text.
    invalid_params : iterable of mapping
        ``{name, reason}`` of each bad parameter.
    map_link : str
        Where "back to the map" leads.
    """
    zh_title, en_title = _TITLES.get(status, ("出错了", "Something went wrong"))
    zh_try, en_try = _ADVICE.get(problem_type, _DEFAULT_ADVICE)
    params = "".join(f"<li><code>{escape(str(p.get('name', '')))}</code>: "
                     f"{_en(str(p.get('reason', '')))}</li>" for p in invalid_params)
    body = (f"<main><h1>{escape(zh_title)} {_en(en_title)}</h1>"
            f'<p class="why">{escape(zh_try)}<br>{_en(en_try)}</p>'
            + (f"<ul>{params}</ul>" if params else "")
            + f'<p>{_both("详情", "Details")}: {_en(detail)} ({status})</p>'
            f'<p><a href="{escape(map_link)}">{_both("返回地图", "Back to the map")}</a></p>'
            "</main>")
    return _page(f"{zh_title} {en_title} ({status})", body)
