"""The HTML of the venue page (``GET /venues/{id}``), in one language.

A plain, static page in the language of :class:`~geosvc.render.i18n.Prefs`
(the page switches lead to the other language and to the elder-friendly
mode): no script, no external request, one ``h1`` and a ``main`` landmark.
Every text from data is escaped here, once.  The functions take results (a
venue feature, its :class:`~geosvc.app.opening.VenueWeek`, the items' service
guides) and never call a handler.  The HTML error pages live in
:mod:`geosvc.render.shell` (re-exported here).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from geosvc import vocab
from geosvc.coords import from_wgs84
from geosvc.render.i18n import Prefs
from geosvc.render.popup import (
    CHANNEL_LABELS,
    KIND_LABELS,
    LEVEL_LABELS,
    amap_uri,
    osm_directions_url,
)
from geosvc.render.shell import error_page_html, page_html
from geosvc.render.words import hours_in_words, weekday

if TYPE_CHECKING:
    from geosvc.app.opening import DayHours, VenueWeek

__all__ = [
    "baidu_uri",
    "error_page_html",
    "hours_in_words",
    "venue_page_html",
]


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


def _label(table: Mapping[str, tuple[str, str]], value: Any, prefs: Prefs) -> str:
    return escape(prefs.t(*table.get(str(value), (str(value), str(value)))))


def _short(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _state_html(props: Mapping[str, Any], prefs: Prefs) -> str:
    """Say the open state: "营业中，至 16:00" or "已关闭，周一 05-11 08:30 开门"."""
    t = prefs.t
    is_open = props.get("open")
    if is_open is None:
        return escape(t("营业时间未知", "Opening hours unknown"))
    if is_open:
        until = _short(props.get("closes_at"))
        if until is None:
            return f'<span class="open">{escape(t("营业中", "Open now"))}</span>'
        hm = until.strftime("%H:%M")
        said = t(f"营业中，至 {hm}", f"Open now, until {hm}")
        return f'<span class="open">{escape(said)}</span>'
    nxt = _short(props.get("next_open"))
    if nxt is None:
        return f'<span class="closed">{escape(t("已关闭", "Closed"))}</span>'
    day = weekday(nxt.weekday(), prefs)
    when = nxt.strftime("%m-%d %H:%M")
    said = t(f"已关闭，{day} {when} 开门", f"Closed, opens {day} {when}")
    return f'<span class="closed">{escape(said)}</span>'


def _hours_section(props: Mapping[str, Any], week: VenueWeek, prefs: Prefs,
                   holidays_end: date | None) -> str:
    t = prefs.t
    expr = props.get("opening_hours")
    out = ['<section aria-labelledby="h-hours"><h2 id="h-hours">'
           f'{escape(t("办公时间", "Opening hours"))}</h2>',
           f"<p>{_state_html(props, prefs)}</p>"]
    if holidays_end is not None:
        end = holidays_end.isoformat()
        said = t(f"注意：节假日数据只到 {end}，此后的法定节假日和调休未知，"
                 "下列时间按普通日期计算，可能有误。",
                 f"Note: the holiday data ends on {end}; statutory holidays and make-up "
                 "working days after it are unknown, so the hours below are those of an "
                 "ordinary day and may be wrong.")
        out.append(f'<p class="warn" role="note">{escape(said)}</p>')
    words = hours_in_words(expr)
    if words:
        out.append("<ul>" + "".join(f"<li>{escape(t(zh, en))}</li>" for zh, en in words)
                   + "</ul>")
    elif expr:
        out.append(f'<p>{escape(t("营业时间（OSM 格式）", "Hours (OSM syntax)"))}: '
                   f"<code>{escape(str(expr))}</code></p>")
    else:
        out.append(f"<p>{escape(t('暂无营业时间信息', 'No opening hours are known'))}</p>")
    out.append(_calendar_note(expr, week, prefs))
    out.append(_week_table(week, prefs))
    out.append("</section>")
    return "".join(out)


def _calendar_note(expr: Any, week: VenueWeek, prefs: Prefs) -> str:
    if week.calendar is None or not week.known:
        return ""
    has_ph = "PH" in str(expr or "")
    zh = ("按国家法定节假日安排：法定节假日" + ("按节假日规则办理" if has_ph else "照常办公")
          + "，调休上班日按周一时间办公。")
    en = ("Follows the official holiday calendar: on statutory holidays "
          + ("the holiday rule applies" if has_ph else "the usual hours apply")
          + "; make-up working days open with Monday's hours.")
    return f'<p class="note">{escape(prefs.t(zh, en))}</p>'


def _day_row(day: DayHours, prefs: Prefs) -> str:
    t = prefs.t
    marks = []
    if day.holiday:
        marks.append(f'<span class="mark">{escape(t("法定节假日", "public holiday"))}</span>')
    if day.makeup_workday:
        marks.append(f'<span class="mark">{escape(t("调休上班", "make-up working day"))}'
                     "</span>")
    if day.intervals:
        hours = ", ".join(f'<span class="t">{a}–{b}</span>' for a, b in day.intervals)
    else:
        hours = escape(t("休息", "closed"))
    wd = escape(weekday(day.day.weekday(), prefs))
    if prefs.elder:  # one column: "周一 09-28  09:00–12:00 · 法定节假日"
        return (f'<li><b>{wd} {day.day.strftime("%m-%d")}</b> {hours} '
                f'{" ".join(marks)}</li>')
    return (f'<tr><td>{day.day.isoformat()}</td><td>{wd}</td>'
            f'<td>{hours}</td><td>{" ".join(marks)}</td></tr>')


def _week_table(week: VenueWeek, prefs: Prefs) -> str:
    if not week.known:
        return ""
    if prefs.elder:
        items = "".join(_day_row(d, prefs) for d in week.days)
        return (f'<h3>{escape(prefs.t("未来 7 天", "The next 7 days"))}</h3>'
                f'<ol class="week-list">{items}</ol>')
    head = "".join(f'<th scope="col">{escape(prefs.t(zh, en))}</th>' for zh, en in (
        ("日期", "Date"), ("星期", "Weekday"), ("开放时间", "Open"), ("备注", "Note")))
    rows = "".join(_day_row(d, prefs) for d in week.days)
    caption = escape(prefs.t("未来 7 天", "The next 7 days"))
    return (f'<table class="week"><caption>{caption}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")


def _items_section(items: Sequence[Mapping[str, Any]], prefs: Prefs) -> str:
    t = prefs.t
    head = (f'<section aria-labelledby="h-items"><h2 id="h-items">'
            f'{escape(t("可办事项", "Services handled here"))} ({len(items)})</h2>')
    if not items:
        return head + f"<p>{escape(t('暂无事项信息', 'No items are recorded'))}</p></section>"
    groups: list[str] = []
    guided: set[str] = set()
    for channel in vocab.CHANNELS.codes():
        here = [it for it in items if str(channel) in (it.get("channels") or [])]
        if here:
            label = _label(CHANNEL_LABELS, channel, prefs)
            groups.append(f"<h3>{label[:1].upper()}{label[1:]}</h3><ul>"
                          + "".join(_item_li(it, prefs, guided) for it in here) + "</ul>")
    rest = [it for it in items if not it.get("channels")]
    if rest:
        groups.append(f"<h3>{escape(t('其他', 'Other'))}</h3><ul>"
                      + "".join(_item_li(it, prefs, guided) for it in rest) + "</ul>")
    return head + "".join(groups) + "</section>"


def _item_name(item: Mapping[str, Any], prefs: Prefs) -> str:
    name = str(item.get("name") or item.get("code") or "")
    en = item.get("name_en")
    if prefs.lang == "en":
        if en:
            return escape(str(en))
        return f'<span lang="zh-CN">{escape(name)}</span>'
    return escape(name)


def _item_li(item: Mapping[str, Any], prefs: Prefs, guided: set[str]) -> str:
    """One item; its service guide at its first mention, a link to it at the next ones."""
    code = str(item.get("code") or "")
    name = _item_name(item, prefs)
    guide = item.get("guide")
    if not guide or not _has_guide(guide):
        return f"<li>{name}</li>"
    anchor = "guide-" + re.sub(r"[^A-Za-z0-9_-]", "_", code)
    if code in guided:
        see = escape(prefs.t("办事指南见上文", "guide above"))
        return f'<li>{name} <a href="#{anchor}">{see}</a></li>'
    guided.add(code)
    return f'<li>{name}{_guide_html(guide, prefs, anchor)}</li>'


def _has_guide(guide: Mapping[str, Any]) -> bool:
    return any(guide.get(k) for k in ("materials", "conditions", "fee", "apply_url",
                                      "can_do_online", "by_post", "at_kiosk")) or any(
        guide.get(k) is not None for k in ("legal_days", "promised_days"))


def _days(value: Any, prefs: Prefs) -> str:
    n = int(value)
    return prefs.t(f"{n} 个工作日", f"{n} working day{'s' if n != 1 else ''}")


def _guide_html(guide: Mapping[str, Any], prefs: Prefs, anchor: str) -> str:
    """Return an item's service guide (办事指南) as ``<details>``; the URL is text."""
    t = prefs.t
    rows: list[tuple[str, str]] = []
    materials = [str(m) for m in guide.get("materials") or [] if str(m).strip()]
    if materials:
        rows.append((t("所需材料", "Materials to bring"),
                     "<ol>" + "".join(f"<li>{escape(m)}</li>" for m in materials) + "</ol>"))
    if guide.get("conditions"):
        rows.append((t("办理条件", "Conditions"), escape(str(guide["conditions"]))))
    if guide.get("fee"):
        rows.append((t("收费", "Fee"), escape(str(guide["fee"]))))
    if guide.get("legal_days") is not None:
        rows.append((t("法定办结时限", "Legal time limit"), _days(guide["legal_days"], prefs)))
    if guide.get("promised_days") is not None:
        rows.append((t("承诺办结时限", "Promised time limit"),
                     _days(guide["promised_days"], prefs)))
    if guide.get("apply_url"):
        rows.append((t("网上申办地址", "Apply online at"),
                     f'<span class="url">{escape(str(guide["apply_url"]))}</span>'))
    flags = [text for key, text in (
        ("can_do_online", t("可网上办理", "can be done online")),
        ("by_post", t("可邮寄办理", "by post")),
        ("at_kiosk", t("可在自助终端办理", "at a self-service kiosk"))) if guide.get(key)]
    if flags:
        rows.append((t("办理方式", "Also possible"),
                     '<ul class="flags">' + "".join(f"<li>{escape(f)}</li>" for f in flags)
                     + "</ul>"))
    body = "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in rows)
    summary = escape(t("办事指南", "Service guide"))
    return (f'<details class="guide" id="{anchor}"><summary>{summary}</summary>'
            f"<dl>{body}</dl></details>")


def _nav_section(name: str, lon: float, lat: float, prefs: Prefs) -> str:
    nav = name[:60]
    links = [
        (amap_uri(lon, lat, nav), prefs.t("高德地图导航", "Amap directions")),
        (baidu_uri(lon, lat, nav), prefs.t("百度地图导航", "Baidu Maps directions")),
    ]
    if not prefs.elder:  # fewer choices in the elder mode: the two apps people use
        links.append((osm_directions_url(lon, lat),
                      prefs.t("OpenStreetMap 路线", "OpenStreetMap directions")))
    anchors = "".join(f'<a href="{escape(url)}" rel="noopener noreferrer">{escape(text)}</a>'
                      for url, text in links)
    return (f'<section aria-labelledby="h-nav"><h2 id="h-nav">'
            f'{escape(prefs.t("到这里去", "Get there"))}'
            f'</h2><p class="nav">{anchors}</p></section>')


def _facts(props: Mapping[str, Any], shown: tuple[float, float, str] | None,
           prefs: Prefs) -> str:
    t = prefs.t
    kind = _label(KIND_LABELS, props.get("kind"), prefs)
    if props.get("level"):
        kind += " · " + _label(LEVEL_LABELS, props["level"], prefs)
    rows = [(t("类型", "Kind"), kind)]
    if props.get("address"):
        rows.append((t("地址", "Address"), escape(str(props["address"]))))
    if props.get("phone"):
        phone = str(props["phone"])
        tel = re.sub(r"[^0-9+]", "", phone)
        rows.append((t("电话", "Phone"), f'<a href="tel:{escape(tel)}">{escape(phone)}</a>'))
    access = props.get("accessible")
    if access is None:
        access_html = t("未知", "unknown")
    elif access:
        access_html = t("有（老年人、残疾人优先）",
                        "yes: priority for the elderly and disabled")
    else:
        access_html = t("无", "no")
    rows.append((t("绿色通道", "Priority service"), escape(access_html)))
    if shown is not None and not prefs.elder:
        x, y, crs = shown
        rows.append((t("坐标", "Coordinates"), f"{x:.6f}, {y:.6f} ({escape(crs)})"))
    return "<table>" + "".join(f'<tr><th scope="row">{escape(label)}</th><td>{value}</td></tr>'
                               for label, value in rows) + "</table>"


def venue_page_html(feature: Mapping[str, Any], week: VenueWeek, *,
                    shown: tuple[float, float, str] | None = None,
                    map_link: str = "/map", prefs: Prefs | None = None,
                    nav: str = "", holidays_end: date | None = None) -> str:
    """Return the HTML of one venue's page.

    Parameters
    ----------
    feature : mapping
        The venue's GeoJSON Feature in **WGS-84** with ``items``, ``open``,
        ``next_open`` and ``closes_at`` (as ``GET /api/v1/venues/{id}`` gives it);
        an item may carry its service ``guide`` (``GET /api/v1/items/{code}``).
    week : VenueWeek
        The next days of the venue (:func:`geosvc.app.opening.venue_week`).
    shown : (lon, lat, crs), optional
        The coordinates to print, in the system the request asked for.
    map_link : str
        Where "back to the map" leads.
    prefs : Prefs, optional
        Language and elder mode (default: Chinese, standard).
    nav : str
        Ready HTML of the page switches (:func:`geosvc.render.shell.switch_nav_html`).
    holidays_end : date, optional
        The last day of the holiday data when some of the days shown lie beyond
        it: the page then warns that their holidays are unknown.
    """
    prefs = prefs or Prefs()
    t = prefs.t
    props = feature["properties"]
    lon, lat = (float(c) for c in feature["geometry"]["coordinates"])
    name = str(props.get("name") or feature.get("id") or "")
    en_name = props.get("name_en")
    if prefs.lang == "en" and en_name:
        heading = (f"<h1>{escape(str(en_name))}</h1>"
                   f'<p class="sub" lang="zh-CN">{escape(name)}</p>')
        title = str(en_name)
    else:
        heading = f"<h1>{escape(name)}</h1>"
        title = name
    back = escape(t("返回地图", "Back to the map"))
    body = (f'<header><a href="{escape(map_link)}">← {back}</a>{nav}</header>'
            f"<main>{heading}"
            + _facts(props, shown, prefs)
            + _hours_section(props, week, prefs, holidays_end)
            + _nav_section(name, lon, lat, prefs)
            + _items_section(props.get("items") or [], prefs)
            + "</main>")
    return page_html(f"{title} · {t('政务服务场所', 'Government service venue')}", body, prefs)
