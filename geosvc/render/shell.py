"""The shell of the plain HTML pages (venue page, error pages, /docs) and the page switches.

Every page is written in one language (:class:`~geosvc.render.i18n.Prefs`)
with ``<html lang>`` set to it, a ``main`` landmark and one ``h1``.  The
switches (:func:`switch_nav_html`) are plain links to the same URL with the
other ``lang`` or the other ``elder`` value, so they work without script and
the server remembers the choice (cookies).  The elder-friendly mode (长辈版)
is a style sheet: large type (22 px base), black on white, underlined links,
one column; the pages also show fewer choices in it.

:func:`error_page_html` is the page that explains an error to a citizen.
No script, no external request; every text from data or the request is
escaped here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape
from typing import Final
from urllib.parse import urlencode

from geosvc.render.i18n import Prefs

__all__ = ["error_page_html", "page_html", "switch_nav_html", "switch_url"]

_STYLE: Final = """
body{font:16px/1.5 system-ui,"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;
margin:0;color:#1a1a1a;background:#fff}
header,main,footer{max-width:46rem;margin:0 auto;padding:0 1rem}
header{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;
justify-content:space-between;padding-top:.5rem}
.gs-switch{display:flex;gap:.5rem;flex-wrap:wrap}
.gs-switch a{display:inline-block;padding:.35rem .7rem;border:1px solid #1554a0;
border-radius:1rem;text-decoration:none;color:#1554a0;font-weight:600}
.gs-switch a:focus,.gs-switch a:hover{background:#e8f0fb}
h1{font-size:1.5em;margin:1rem 0 .25rem}h2{font-size:1.2em;margin:1.5rem 0 .5rem}
h3{font-size:1.05em;margin:1rem 0 .3rem}.t{white-space:nowrap}
.week-list{list-style:none;padding:0}.week-list li{padding:.4rem 0;border-bottom:2px solid #555}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;
border-bottom:1px solid #ddd;vertical-align:top}
.open{color:#0a6b2b;font-weight:600}.closed{color:#a01c1c;font-weight:600}
.mark{display:inline-block;padding:0 .4rem;border-radius:.3rem;background:#fde8c8;
color:#5a3500;font-size:.9em}
.nav a{display:inline-block;margin:.25rem .5rem .25rem 0;padding:.5rem .8rem;border:1px solid
#1554a0;border-radius:.4rem;color:#1554a0;text-decoration:none}
.nav a:focus,.nav a:hover{background:#e8f0fb}
a{color:#1554a0}
a:focus-visible,summary:focus-visible{outline:3px solid #1554a0;outline-offset:2px}
.sub{color:#444;margin:0}
.warn{background:#fff3cd;border-left:6px solid #b35c00;color:#3d2400;padding:.4rem .7rem}
details.guide{margin:.2rem 0 .6rem}details.guide summary{cursor:pointer;color:#1554a0}
details.guide dl{margin:.3rem 0 .3rem 1rem}details.guide dt{font-weight:600}
details.guide dd{margin:0 0 .3rem 0}
.url{word-break:break-all;font-family:ui-monospace,monospace}
.flags{display:flex;flex-wrap:wrap;gap:.3rem;padding:0;list-style:none}
.flags li{padding:0 .4rem;border:1px solid #777;border-radius:.3rem}
body.elder{font-size:22px;line-height:1.6;color:#000}
body.elder header,body.elder main{max-width:40rem}
body.elder h1{font-size:1.5em}body.elder h2{font-size:1.25em}body.elder h3{font-size:1.1em}
body.elder a{color:#0033a0;text-decoration:underline}
body.elder .gs-switch a,body.elder .nav a{border:2px solid #0033a0;color:#0033a0;
padding:.5rem 1rem}
body.elder th,body.elder td{border-bottom:2px solid #555;padding:.5rem}
body.elder .open{color:#005a1e}body.elder .closed{color:#8a0000}
body.elder .mark{background:#fff;color:#000;border:2px solid #000}
"""

#: (Chinese, English) name of each switch's target, shown in that target's own form.
_LANG_NAMES: Final = {"zh": "中文", "en": "English"}


def switch_url(path: str, params: Mapping[str, str], **changes: str) -> str:
    """Return ``path`` with the query ``params``, ``changes`` replacing or adding values.

    Examples
    --------
    >>> switch_url("/map", {"lon": "1", "lang": "zh"}, lang="en")
    '/map?lon=1&lang=en'
    >>> switch_url("/venues/A%20B", {}, elder="1")
    '/venues/A%20B?elder=1'
    """
    query = {k: v for k, v in params.items() if k not in changes}
    query.update(changes)
    return f"{path}?{urlencode(query)}" if query else path


def switch_nav_html(prefs: Prefs, path: str, params: Mapping[str, str], *,
                    elder_switch: bool = True) -> str:
    """Return the ``<nav>`` of the page switches: the other language, and the elder mode.

    ``path`` and ``params`` are the current request's (the links keep every
    other parameter).  The language link is written in its own language
    (``lang`` and ``hreflang`` set), as language pickers are.

    Examples
    --------
    >>> html = switch_nav_html(Prefs(), "/map", {"k": "3"})
    >>> 'href="/map?k=3&amp;lang=en"' in html and '>English</a>' in html and '长辈版' in html
    True
    """
    other = prefs.other
    other_tag = Prefs(other).html_lang
    links = [f'<a href="{escape(switch_url(path, params, lang=other))}" hreflang="{other}" '
             f'lang="{other_tag}" data-gs-switch="lang">{_LANG_NAMES[other]}</a>']
    if elder_switch:
        if prefs.elder:
            text = prefs.t("标准版", "Standard view")
            href = switch_url(path, params, elder="0")
        else:
            text = prefs.t("长辈版（大字）", "Large print")
            href = switch_url(path, params, elder="1")
        links.append(f'<a href="{escape(href)}" data-gs-switch="elder">{escape(text)}</a>')
    label = prefs.t("语言和显示", "Language and display")
    return f'<nav class="gs-switch" aria-label="{escape(label)}">{"".join(links)}</nav>'


def page_html(title: str, body: str, prefs: Prefs) -> str:
    """Return a whole page: ``<html lang>``, the style sheet, ``title`` (plain text), ``body``.

    ``body`` is ready HTML (it holds the page's ``main`` and ``h1``).
    """
    elder = ' class="elder"' if prefs.elder else ""
    return ("<!DOCTYPE html>\n"
            f'<html lang="{prefs.html_lang}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body{elder}>{body}</body></html>\n")


#: What to try, by problem type (Chinese, English).
_ADVICE: Final[dict[str, tuple[str, str]]] = {
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
    "analysis-budget-exceeded": ("这次分析需要的时间超过了服务器允许的时长。请缩小范围"
                                 "（更短的时间、更少的条件）或稍后再试。",
                                 "This analysis needs longer than the server allows. Ask for "
                                 "less (fewer minutes, narrower filters) or try again later."),
}
_DEFAULT_ADVICE: Final = ("请回到地图重新查询。", "Go back to the map and search again.")
_TITLES: Final[dict[int, tuple[str, str]]] = {
    400: ("请求有误", "Something in the request is wrong"),
    404: ("没有找到", "Not found"),
    405: ("不支持的请求方式", "Method not allowed"),
    422: ("无法完成查询", "The search cannot be answered"),
    503: ("服务暂不可用", "Service unavailable"),
}


def error_page_html(status: int, problem_type: str, detail: str,
                    invalid_params: Iterable[Mapping[str, object]] = (), *,
                    map_link: str = "/map", prefs: Prefs | None = None,
                    nav: str = "") -> str:
    """Return the HTML page that explains an error to a citizen, in the page's language.

    The technical detail and the reasons of bad parameters come from the code
    in English: on a Chinese page they are marked ``lang="en"`` and the
    detail is folded under "技术详情".

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
    prefs : Prefs, optional
        Language and elder mode (default: Chinese, standard).
    nav : str
        Ready HTML of the page switches (:func:`switch_nav_html`); none when empty.

    Examples
    --------
    >>> html = error_page_html(404, "not-found", "no venue `X`", prefs=Prefs("en"))
    >>> '<html lang="en">' in html and "<h1>Not found</h1>" in html and "没有" not in html
    True
    """
    prefs = prefs or Prefs()
    title = prefs.t(*_TITLES.get(status, ("出错了", "Something went wrong")))
    advice = prefs.t(*_ADVICE.get(problem_type, _DEFAULT_ADVICE))
    foreign = ' lang="en"' if prefs.lang != "en" else ""
    bad = escape(prefs.t("取值有误", "wrong value"))
    params = "".join(f"<li><code>{escape(str(p.get('name', '')))}</code> {bad}: "
                     f"<span{foreign}>{escape(str(p.get('reason', '')))}</span></li>"
                     for p in invalid_params)
    back = prefs.t("返回地图", "Back to the map")
    details = (f"<details><summary>{escape(prefs.t('技术详情', 'Technical details'))}"
               f"</summary><p><span{foreign}>{escape(detail)}</span> ({status})</p></details>")
    body = (f"<header>{nav}</header>"
            f"<main><h1>{escape(title)}</h1>"
            f'<p class="why">{escape(advice)}</p>'
            + (f"<ul>{params}</ul>" if params else "")
            + details
            + f'<p class="nav"><a href="{escape(map_link)}">{escape(back)}</a></p>'
            "</main>")
    return page_html(f"{title} ({status})", body, prefs)
