"""The OpenAPI document covers docs/api.md; /docs renders it offline with working examples."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from geosvc.api.params import ENDPOINT_PARAMS

#: Every path of docs/api.md, in OpenAPI template form.
API_MD_PATHS = {
    "/api/v1/venues": "get", "/api/v1/venues/{id}": "get", "/api/v1/items": "get",
    "/api/v1/items/{code}": "get", "/api/v1/nearest": "get", "/api/v1/isochrones": "get",
    "/api/v1/coverage": "get", "/api/v1/plans": "post", "/map": "get", "/embed": "get",
    "/static/geosvc-widget.js": "get", "/ogc": "get", "/ogc/conformance": "get",
    "/ogc/collections": "get", "/ogc/collections/{collectionId}": "get",
    "/ogc/collections/{collectionId}/items": "get",
    "/ogc/collections/{collectionId}/items/{featureId}": "get", "/healthz": "get",
}


@pytest.fixture(scope="module")
def spec(app) -> dict:
    return app.test_client().get("/openapi.json").get_json(force=True)


def test_every_api_md_path_is_described(spec: dict) -> None:
    assert spec["openapi"].startswith("3.0")
    for path, method in API_MD_PATHS.items():
        assert method in spec["paths"].get(path, {}), path
        op = spec["paths"][path][method]
        assert op["summary"] and "200" in op["responses"]
        for name in re.findall(r"{(\w+)}", path):
            assert any(p["name"] == name and p["in"] == "path" for p in op["parameters"])


def test_parameters_come_from_the_validation_table(spec: dict) -> None:
    for path, endpoint in (("/api/v1/venues", "venues"), ("/api/v1/nearest", "nearest"),
                           ("/api/v1/isochrones", "isochrones"),
                           ("/api/v1/coverage", "coverage"),
                           ("/ogc/collections/{collectionId}/items", "ogc_items")):
        params = spec["paths"][path]["get"]["parameters"]
        listed = [p["name"] for p in params if p["in"] == "query"]
        assert listed == [p.name for p in ENDPOINT_PARAMS[endpoint]], path
    nearest = {p["name"]: p for p in spec["paths"]["/api/v1/nearest"]["get"]["parameters"]}
    assert nearest["lon"]["required"] and nearest["lat"]["required"]
    assert nearest["mode"]["schema"]["enum"] == ["walk", "bike", "drive", "straight"]
    for flt in ("kind", "level", "item", "channel", "open_at", "open_now", "accessible"):
        assert flt in nearest


def test_refs_resolve_and_problem_schema(spec: dict) -> None:
    text = str(spec)
    for ref in set(re.findall(r"#/components/schemas/(\w+)", text)):
        assert ref in spec["components"]["schemas"], ref
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}


def test_examples_use_the_served_data(spec: dict) -> None:
    venue = spec["paths"]["/api/v1/venues/{id}"]["get"]["parameters"][0]
    assert venue["example"].startswith("XC-")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        for key, value in attrs:
            if key in ("href", "src") and value:
                (self.external if value.startswith(("http:", "https:", "//")) else
                 self.hrefs).append(value)


def test_docs_page_is_offline_and_its_examples_work(client) -> None:
    resp = client.get("/docs")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    for path in API_MD_PATHS:
        assert f"<code>{path}</code>" in html, path
    parser = _Links()
    parser.feed(html)
    assert parser.external == []  # no CDN: the page works offline
    examples = [h for h in parser.hrefs if h.startswith(("/api", "/ogc", "/healthz"))]
    assert len(examples) >= 10
    for href in examples:
        r = client.get(href.replace("&amp;", "&"))
        # network paths answer 422 without a loaded network; never 400/500
        assert r.status_code in (200, 422), (href, r.get_data(as_text=True)[:300])
