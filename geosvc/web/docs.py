"""`GET /openapi.json` and `GET /docs` (an offline HTML reference, no CDN).

The HTML page is rendered server-side from the OpenAPI document: every path
with its parameters and a clickable example URL whose values come from the
served dataset (a real venue code, item code and a point in the city).
"""

from __future__ import annotations

import json
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from flask import Blueprint, Response

from geosvc.api.openapi import build_openapi
from geosvc.web._respond import json_response
from geosvc.web._service import service

if TYPE_CHECKING:
    from geosvc.app.service import Snapshot

bp = Blueprint("docs", __name__)

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC",sans-serif;
max-width:70rem;margin:0 auto;padding:1rem 2rem;color:#1d2733}
h1{margin-bottom:.2rem} h2{margin-top:2.2rem;border-bottom:2px solid #d7dee6}
.op{border:1px solid #d7dee6;border-radius:6px;margin:1rem 0;padding:.6rem 1rem}
.m{display:inline-block;min-width:3.5rem;font-weight:700;color:#fff;background:#2f6fb0;
border-radius:4px;text-align:center;margin-right:.5rem;padding:0 .4rem}
.m.post{background:#3c8a4a} code{background:#f1f4f7;padding:0 .25rem;border-radius:3px}
table{border-collapse:collapse;width:100%;font-size:14px} td,th{border-top:1px solid #e5e9ee;
padding:.25rem .5rem;text-align:left;vertical-align:top} .req{color:#b0302f}
nav a{margin-right:1rem}
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


def _render(doc: dict[str, Any]) -> str:
    e = escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        f"<title>{e(doc['info']['title'])} reference</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(doc['info']['title'])}</h1><p>version {e(doc['info']['version'])} · "
        "<a href='/openapi.json'>openapi.json</a></p>",
        f"<p>{e(doc['info']['description'])}</p>",
        "<nav>" + "".join(f"<a href='#{e(t['name'])}'>{e(t['name'])}</a>" for t in doc["tags"])
        + "</nav>",
    ]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            by_tag.setdefault(op["tags"][0], []).append((path, method, op))
    for tag in (t["name"] for t in doc["tags"]):
        parts.append(f"<h2 id='{e(tag)}'>{e(tag)}</h2>")
        for path, method, op in by_tag.get(tag, []):
            parts.append(f"<div class='op' id='{e(op['operationId'])}'>")
            parts.append(f"<h3><span class='m {e(method)}'>{e(method.upper())}</span>"
                         f"<code>{e(path)}</code> — {e(op['summary'])}</h3>")
            if op["description"]:
                parts.append(f"<p>{e(op['description'])}</p>")
            if op["parameters"]:
                parts.append("<table><tr><th>parameter</th><th>in</th><th>type</th>"
                             "<th>description</th><th>example</th></tr>")
                for p in op["parameters"]:
                    schema = p.get("schema", {})
                    kind = schema.get("type", "")
                    if "enum" in schema:
                        kind += ": " + " | ".join(str(v) for v in schema["enum"])
                    req = " <span class='req'>required</span>" if p.get("required") else ""
                    parts.append(
                        f"<tr><td><code>{e(p['name'])}</code>{req}</td><td>{e(p['in'])}</td>"
                        f"<td>{e(kind)}</td><td>{e(p.get('description', ''))}</td>"
                        f"<td>{e(str(p.get('example', '')))}</td></tr>")
                parts.append("</table>")
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                body = content["application/json"]["example"]
                body_json = json.dumps(body, ensure_ascii=False)  # not Python's repr
                parts.append(f"<p>JSON body, e.g. <code>{e(body_json)}</code></p>")
            elif "multipart/form-data" in content:  # an upload: its form fields
                fields = content["multipart/form-data"]["schema"]["properties"]
                parts.append("<p>multipart/form-data body, fields: "
                             + ", ".join(f"<code>{e(n)}</code>" for n in fields) + "</p>")
            if "security" in op:
                parts.append("<p>needs an API key: <code>Authorization: Bearer &lt;key&gt;"
                             "</code> or <code>X-API-Key</code></p>")
            codes = ", ".join(op["responses"])
            parts.append(f"<p>responses: {e(codes)} (errors are application/problem+json)</p>")
            if method == "get":
                url = _example_url(path, op)
                if url:
                    link = f"<a href='{e(url)}'><code>{e(url)}</code></a>"
                    parts.append(f"<p>example: {link}</p>")
            parts.append("</div>")
    parts.append("</body></html>")
    return "".join(parts)


@bp.get("/docs")
def docs() -> Response:
    """Serve the browsable HTML reference (works offline)."""
    resp = Response(_render(_document()), mimetype="text/html")
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp
