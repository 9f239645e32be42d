"""`GET /openapi.json` and `GET /docs` (an offline HTML reference, no CDN).

The HTML page is rendered server-side from the OpenAPI document: every path
with its parameters and a clickable example URL whose values come from the
served dataset (a real venue code, item code and a point in the city).  Its
chrome (headings, labels, the introduction) is in the request's language
(``lang``, cookie, ``Accept-Language``); the operations' own descriptions come
from the OpenAPI document, which is English, and are marked ``lang="en"`` on
the Chinese page.
"""

from __future__ import annotations

import json
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, request

from geosvc.api.openapi import build_openapi
from geosvc.render.i18n import Prefs
from geosvc.render.shell import switch_nav_html
from geosvc.web._prefs import page_prefs, remember
from geosvc.web._respond import args, json_response
from geosvc.web._service import service

if TYPE_CHECKING:
    from geosvc.app.service import Snapshot

bp = Blueprint("docs", __name__)

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC",sans-serif;
max-width:70rem;margin:0 auto;padding:1rem 2rem;color:#1d2733}
header{display:flex;justify-content:flex-end}
.gs-switch a{display:inline-block;padding:.3rem .7rem;border:1px solid #1554a0;
border-radius:1rem;text-decoration:none;color:#1554a0;font-weight:600}
h1{margin-bottom:.2rem} h2{margin-top:2.2rem;border-bottom:2px solid #d7dee6}
.op{border:1px solid #d7dee6;border-radius:6px;margin:1rem 0;padding:.6rem 1rem}
.tw{overflow-x:auto} code{overflow-wrap:anywhere}
.m{display:inline-block;min-width:3.5rem;font-weight:700;color:#fff;background:#2f6fb0;
border-radius:4px;text-align:center;margin-right:.5rem;padding:0 .4rem}
.m.post{background:#2a6b38} code{background:#f1f4f7;padding:0 .25rem;border-radius:3px}
table{border-collapse:collapse;width:100%;font-size:14px} td,th{border-top:1px solid #e5e9ee;
padding:.25rem .5rem;text-align:left;vertical-align:top} .req{color:#b0302f}
nav a{margin-right:1rem}
@media (max-width:640px){body{padding:.75rem}h1{font-size:1.4rem}}
"""


def _examples(snap: Snapshot) -> dict[str, str]:
    index = snap.index
    out: dict[str, str] = {}
    venues = [v for v in index.venues if v.in_service] or list(index.venues)
    if venues:
        lons = sorted(v.lon for v in venues)
        lats = sorted(v.lat for v in venues)
        lon, lat = lons[len(lons) // 2], lats[len(lats) // 2]
        out["lon"], out["lat"] = f"{lon:.5f}", f"{lat:.5f}"
        out["bbox"] = f"{lon - 0.02:.4f},{lat - 0.01:.4f},{lon + 0.02:.4f},{lat + 0.01:.4f}"
        out["venue"] = venues[0].code
    items = [i for i in index.items if i.high_frequency] or list(index.items)
    if items:
        out["item"] = items[0].code
    if snap.info.timezone:
        out["open_at"] = "2026-05-06T10:30"
    return out


def _document() -> dict[str, Any]:
    snap = service().snapshot
    return build_openapi(examples=_examples(snap), title=f"geosvc: {snap.info.name}")


@bp.get("/openapi.json")
def openapi() -> Response:
    """Serve the OpenAPI 3.0 document."""
    return json_response(_document(), mimetype="application/vnd.oai.openapi+json", max_age=300)


#: Chinese summary of each path and name of each tag (the OpenAPI document is English).
_SUMMARIES_ZH = {
    "/api/v1/venues": "场所列表", "/api/v1/venues/{id}": "单个场所",
    "/api/v1/items": "搜索事项", "/api/v1/items/{code}": "单个事项（含办事指南）",
    "/api/v1/bundles/{bundle}": "一件事", "/api/v1/nearest": "最近的场所",
    "/api/v1/isochrones": "等时圈", "/api/v1/coverage": "服务圈覆盖",
    "/api/v1/plans": "新网点选址", "/map": "全屏地图", "/embed": "可嵌入的地图页",
    "/venues/{id}": "场所页面", "/static/geosvc-widget.js": "小部件脚本",
    "/ogc": "OGC API - Features 首页", "/ogc/conformance": "一致性类别",
    "/ogc/collections": "集合", "/ogc/collections/{collectionId}": "单个集合",
    "/ogc/collections/{collectionId}/items": "集合中的要素",
    "/ogc/collections/{collectionId}/items/{featureId}": "单个要素",
    "/healthz": "健康状态", "/openapi.json": "本文档（OpenAPI）", "/docs": "HTML 接口参考",
    "/": "市民办事地图（应用）", "/static/app/{digest}/{name}": "应用的脚本与样式",
    "/api/v1/search": "搜索（事项、一件事、场所、地点）", "/metrics": "运行指标（Prometheus）",
    "/api/v1/imports": "数据版本与导入（需 API 密钥）",
}
_TAGS_ZH = {"citizens": "市民", "planners": "规划", "maps": "地图", "ogc": "OGC",
            "operations": "运维"}

_EXAMPLE_PARAMS = {"lon", "lat", "q", "item", "kind", "open_at", "mode", "minutes", "k"}


def _example_url(path: str, op: dict[str, Any]) -> str | None:
    url = path
    for p in op["parameters"]:
        if p["in"] == "path":
            if "example" not in p:
                return None
            url = url.replace("{" + p["name"] + "}", quote(str(p["example"]), safe=""))
    query = {}
    for p in op["parameters"]:
        wanted = p.get("required") or p["name"] in _EXAMPLE_PARAMS
        if p["in"] == "query" and "example" in p and wanted:
            if p["name"] == "item" and path != "/api/v1/nearest":
                continue
            if p["name"] == "kind" and path != "/api/v1/venues":
                continue
            if p["name"] == "open_at" and path != "/api/v1/nearest":
                continue
            query[p["name"]] = p["example"]
    if path == "/api/v1/nearest":
        query["mode"] = "straight"
    return f"{url}?{urlencode(query)}" if query else url


def _tag(name: str, prefs: Prefs) -> str:
    return prefs.t(_TAGS_ZH.get(name, name), name)


def _summary(path: str, op: dict[str, Any], prefs: Prefs) -> str:
    """Return the operation's summary (escaped): Chinese on a Chinese page when known."""
    if prefs.lang == "zh" and path in _SUMMARIES_ZH:
        return escape(_SUMMARIES_ZH[path])
    marked = ' lang="en"' if prefs.lang != "en" else ""
    return f"<span{marked}>{escape(op['summary'])}</span>"


def _render(doc: dict[str, Any], prefs: Prefs, nav: str = "") -> str:
    e = escape
    t = prefs.t
    en = ' lang="en"' if prefs.lang != "en" else ""  # text of the OpenAPI document
    title = doc["info"]["title"]
    intro = t("本页列出 geosvc 的全部接口：参数、示例链接（使用本数据集的真实取值）和响应。"
              "接口说明取自 OpenAPI 文档（英文）。页面（/map、/venues/{id}、/docs）"
              "接受 lang=zh|en 和 elder=1。",
              "Every endpoint of geosvc with its parameters, an example link (real values "
              "of this dataset) and its responses. Pages (/map, /venues/{id}, /docs) take "
              "lang=zh|en and elder=1.")
    parts = [
        f"<!doctype html><html lang='{prefs.html_lang}'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>{e(title)} · {e(t('接口参考', 'reference'))}</title>"
        f"<style>{_CSS}</style></head><body>",
        f"<header>{nav}</header><main>",
        f"<h1>{e(title)} · {e(t('接口参考', 'reference'))}</h1>"
        f"<p>{e(t('版本', 'version'))} {e(doc['info']['version'])} · "
        "<a href='/openapi.json'>openapi.json</a></p>",
        f"<p>{e(intro)}</p><p{en}>{e(doc['info']['description'])}</p>",
        f"<nav aria-label='{e(t('接口分组', 'Endpoint groups'))}'>"
        + "".join(f"<a href='#{e(t_['name'])}'>{e(_tag(t_['name'], prefs))}</a>"
                  for t_ in doc["tags"])
        + "</nav>",
    ]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            by_tag.setdefault(op["tags"][0], []).append((path, method, op))
    head = "".join(f"<th scope='col'>{e(t(zh, en_))}</th>" for zh, en_ in (
        ("参数", "parameter"), ("位置", "in"), ("类型", "type"), ("说明", "description"),
        ("示例", "example")))
    for tag in (t_["name"] for t_ in doc["tags"]):
        parts.append(f"<h2 id='{e(tag)}'>{e(_tag(tag, prefs))}</h2>")
        for path, method, op in by_tag.get(tag, []):
            parts.append(f"<div class='op' id='{e(op['operationId'])}'>")
            parts.append(f"<h3><span class='m {e(method)}'>{e(method.upper())}</span>"
                         f"<code>{e(path)}</code> — {_summary(path, op, prefs)}</h3>")
            if op["description"]:
                parts.append(f"<p{en}>{e(op['description'])}</p>")
            if op["parameters"]:
                label = e(t("参数", "Parameters"))
                parts.append(f"<div class='tw' tabindex='0' role='region' "
                             f"aria-label='{label}'><table><tr>{head}</tr>")
                for p in op["parameters"]:
                    schema = p.get("schema", {})
                    kind = schema.get("type", "")
                    if "enum" in schema:
                        kind += ": " + " | ".join(str(v) for v in schema["enum"])
                    req = (f" <span class='req'>{e(t('必填', 'required'))}</span>"
                           if p.get("required") else "")
                    parts.append(
                        f"<tr><td><code>{e(p['name'])}</code>{req}</td><td>{e(p['in'])}</td>"
                        f"<td>{e(kind)}</td><td{en}>{e(p.get('description', ''))}</td>"
                        f"<td>{e(str(p.get('example', '')))}</td></tr>")
                parts.append("</table></div>")
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                body = content["application/json"]["example"]
                body_json = json.dumps(body, ensure_ascii=False)  # not Python's repr
                parts.append(f"<p>{e(t('JSON 请求体，例如', 'JSON body, e.g.'))} "
                             f"<code>{e(body_json)}</code></p>")
            elif "multipart/form-data" in content:  # an upload: its form fields
                fields = content["multipart/form-data"]["schema"]["properties"]
                label = t("multipart/form-data 请求体，字段：",
                          "multipart/form-data body, fields: ")
                parts.append(f"<p>{e(label)}"
                             + ", ".join(f"<code>{e(n)}</code>" for n in fields) + "</p>")
            if "security" in op:
                parts.append(f"<p>{e(t('需要 API 密钥：', 'needs an API key: '))}"
                             "<code>Authorization: Bearer &lt;key&gt;</code>"
                             f"{e(t(' 或 ', ' or '))}<code>X-API-Key</code></p>")
            codes = ", ".join(op["responses"])
            errors = t("错误为 application/problem+json", "errors are application/problem+json")
            parts.append(f"<p>{e(t('响应', 'responses'))}: {e(codes)} ({e(errors)})</p>")
            if method == "get":
                url = _example_url(path, op)
                if url:
                    link = f"<a href='{e(url)}'><code>{e(url)}</code></a>"
                    parts.append(f"<p>{e(t('示例', 'example'))}: {link}</p>")
            parts.append("</div>")
    parts.append("</main></body></html>")
    return "".join(parts)


@bp.get("/docs")
def docs() -> Response:
    """Serve the browsable HTML reference (works offline), in the request's language."""
    prefs = page_prefs()
    nav = switch_nav_html(prefs, request.path, args(), elder_switch=False)
    resp = Response(_render(_document(), prefs, nav), mimetype="text/html")
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    resp.headers["Cache-Control"] = "public, max-age=300"
    return remember(resp, prefs)
