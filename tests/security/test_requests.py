"""Hostile requests over real sockets: big bodies, cross-site writes, headers, numbers.

Issue 11; each test names the finding it reproduces.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from geosvc.config import Settings
from geosvc.errors import ConfigError
from geosvc.web import create_app
from geosvc.web._guard import _Windows
from tests.security.conftest import FOREIGN, PORTAL
from tests.web.citydata import build_city_db

PROBLEM = "application/problem+json"
PLAN = json.dumps({"mode": "straight", "minutes": 10, "k": 1}).encode()


def _request(url: str, method: str, path: str, body: bytes | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    parts = urlparse(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _problem(status: int, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    assert headers["content-type"].startswith(PROBLEM), (status, headers)
    doc = json.loads(body)
    assert doc["status"] == status
    return doc


# --------------------------------------------------------------- finding 2: body limit

def test_a_body_over_the_limit_is_refused_before_it_is_read(server_url: str) -> None:
    # finding 2: a 400 MB body was read, parsed and answered 200.  Here the limit is 4 KB;
    # the server answers 413 from the declared length, having read none of the body.
    parts = urlparse(server_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        head = ("POST /api/v1/plans HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {400 * 1024 * 1024}\r\nConnection: close\r\n\r\n")
        sock.sendall(head.encode() + b"{" + b" " * 1000)
        sock.settimeout(10)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 413 " in status_line
    head_part, _, body = rest.partition(b"\r\n\r\n")
    assert b"application/problem+json" in head_part
    doc = json.loads(body)
    assert doc["type"] == "/problems/request-entity-too-large" and doc["status"] == 413


def test_a_body_within_the_limit_is_answered(server_url: str) -> None:
    status, _, body = _request(server_url, "POST", "/api/v1/plans", PLAN,
                               {"Content-Type": "application/json"})
    assert status == 200 and "selected" in json.loads(body)


def test_a_chunked_body_over_the_limit_is_cut(server_url: str) -> None:
    parts = urlparse(server_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(b"POST /api/v1/plans HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                     b"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        chunk = b"[" + b"1," * 2500 + b"1]"
        sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n0\r\n\r\n")
        answer = b""
        while part := sock.recv(65536):
            answer += part
    assert answer.split(b"\r\n", 1)[0].split()[1] == b"413"


# ------------------------------------------------------ finding 5: cross-site writes

def test_a_text_plain_post_from_another_site_runs_nothing(server_url: str) -> None:
    # finding 5: a `text/plain` POST (a "simple" request, no preflight) from any web
    # page ran a plan and, with `Access-Control-Allow-Origin: *`, the page read it.
    status, headers, body = _request(server_url, "POST", "/api/v1/plans", PLAN,
                                     {"Content-Type": "text/plain", "Origin": FOREIGN})
    doc = _problem(status, headers, body)
    assert status == 403 and "write_origins" in doc["detail"]
    assert "access-control-allow-origin" not in headers
    # the same page on the server's own origin: refused for its media type, not run
    status, headers, body = _request(server_url, "POST", "/api/v1/plans", PLAN,
                                     {"Content-Type": "text/plain"})
    assert status == 415 and "application/json" in _problem(status, headers, body)["detail"]


def test_a_json_post_from_another_site_is_refused_and_unreadable(server_url: str) -> None:
    status, headers, body = _request(server_url, "POST", "/api/v1/plans", PLAN,
                                     {"Content-Type": "application/json", "Origin": FOREIGN})
    assert status == 403 and "access-control-allow-origin" not in headers
    _problem(status, headers, body)


def test_preflight_admits_writes_only_from_write_origins(server_url: str) -> None:
    ask = {"Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "content-type"}
    _, foreign, _ = _request(server_url, "OPTIONS", "/api/v1/plans",
                             headers={"Origin": FOREIGN, **ask})
    assert "POST" not in foreign.get("access-control-allow-methods", "")
    _, portal, _ = _request(server_url, "OPTIONS", "/api/v1/plans",
                            headers={"Origin": PORTAL, **ask})
    assert portal["access-control-allow-origin"] == PORTAL
    assert "POST" in portal["access-control-allow-methods"]
    status, headers, body = _request(server_url, "POST", "/api/v1/plans", PLAN,
                                     {"Content-Type": "application/json", "Origin": PORTAL})
    assert status == 200 and "selected" in json.loads(body)


def test_reads_stay_open_to_every_origin(server_url: str) -> None:
    status, headers, _ = _request(server_url, "GET", "/api/v1/venues?limit=1",
                                  headers={"Origin": FOREIGN})
    assert status == 200 and headers["access-control-allow-origin"] == "*"


# ------------------------------------------------------------------- finding 6: headers

@pytest.mark.parametrize("path", ["/map", "/docs", "/api/v1/venues", "/venues/XC-H-01",
                                  "/healthz", "/nope"])
def test_protective_headers(server_url: str, path: str) -> None:
    _, headers, _ = _request(server_url, "GET", path)
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


def test_only_the_embed_page_may_be_framed(server_url: str) -> None:
    status, headers, _ = _request(server_url, "GET", "/embed")
    assert status == 200 and "x-frame-options" not in headers
    assert "frame-ancestors *" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


def test_a_503_names_no_path(city_file: Path) -> None:
    # finding 6: "a 503 names the absolute database path"
    app = create_app({"TESTING": True, "db": str(city_file), "osm": None,
                      "reload_interval_s": 0.001})
    city_file.write_bytes(b"this is not a database" * 100)
    os.utime(city_file)
    # venues keep being answered from the snapshot in memory (the background reloader
    # logs the broken store); coverage reads the population layer from the store
    assert app.test_client().get("/api/v1/venues").status_code == 200
    resp = app.test_client().get("/api/v1/coverage?mode=straight")
    assert resp.status_code == 503 and resp.mimetype == PROBLEM
    text = resp.get_data(as_text=True)
    assert str(city_file.parent) not in text and "sqlite" not in text.lower()
    assert resp.get_json()["detail"].startswith("the data store cannot be read")


# ------------------------------------------------------- finding 7: strict numbers

@pytest.mark.parametrize(("query", "name"), [
    ("lon=1_0&lat=30", "lon"),
    ("lon=%2024.9&lat=30", "lon"),
    ("lon=118&lat=30.9%20", "lat"),
    ("lon=0x10&lat=30", "lon"),
    ("lon=118&lat=30&k=1_0", "k"),
    ("lon=118&lat=30&k=" + "9" * 5000, "k"),
    ("lon=118&lat=30&max_minutes=1e400", "max_minutes"),
])
def test_numbers_are_parsed_strictly(server_url: str, query: str, name: str) -> None:
    status, headers, body = _request(server_url, "GET", "/api/v1/nearest?" + query)
    doc = _problem(status, headers, body)
    assert status == 400 and [p["name"] for p in doc["invalid_params"]] == [name]


def test_plain_numbers_still_work(server_url: str) -> None:
    query = "lon=%2B118.758&lat=30.94&k=02"  # a literal plus: "+" in a query is a space
    status, _, body = _request(server_url, "GET", "/api/v1/nearest?" + query)
    assert status == 200 and len(json.loads(body)["features"]) == 2


# -------------------------------------------------- finding 8: misspelt settings keys

def test_a_misspelt_settings_key_names_the_setting_meant(tmp_path: Path) -> None:
    # finding 8: "a misspelt settings key crashes start-up with a raw StopIteration"
    path = tmp_path / "settings.yaml"
    path.write_text("walk_sped_kph: 5\nreload_intervall_s: 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        Settings.load(file=path, env={})
    assert "`walk_sped_kph`" in err.value.detail and "`walk_speed_kph`" in err.value.detail
    assert "`reload_interval_s`" in err.value.detail
    with pytest.raises(ConfigError, match="GEOSVC_WALK_SPEED_KPH"):
        Settings.load(env={"GEOSVC_WALK_SPED_KPH": "5"})
    with pytest.raises(ConfigError, match="did you mean `snap_max_m`"):
        Settings().with_(snap_max=5)
    with pytest.raises(ConfigError, match="did you mean `cors_origins`"):
        create_app({"TESTING": True, "cors_origin": "*"})
    # other GEOSVC_* variables (GEOSVC_CONFIG ...) are not settings and are left alone
    assert Settings.load(env={"GEOSVC_CONFIG": "x", "GEOSVC_RECORD_GOLDEN": "1"}).db


# ------------------------------------------------------------- 2: heavy-analysis rate limit

def test_heavy_analyses_are_rate_limited_per_client(tmp_path: Path) -> None:
    db = build_city_db(tmp_path / "city.sqlite")
    app = create_app({"TESTING": True, "db": str(db), "osm": None,
                      "heavy_rate_limit": "3/minute"})
    client = app.test_client()
    url = "/api/v1/isochrones?lon=118.76&lat=30.94&mode=straight&minutes=5"
    answers = [client.get(url) for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert answers[2].headers["X-RateLimit-Remaining"] == "0"
    refused = answers[3]
    doc = refused.get_json()
    assert refused.mimetype == PROBLEM and doc["type"] == "/problems/too-many-requests"
    assert "3/minute" in doc["detail"] and int(refused.headers["Retry-After"]) > 0
    # another client address has its own count; cheap endpoints are not limited
    other = client.get(url, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200
    assert all(client.get("/api/v1/venues").status_code == 200 for _ in range(5))


def test_in_process_counts_agree_with_the_limits_library() -> None:
    """memory:// counts (web._guard._Windows) allow and report as the limits library does."""
    ours, theirs = _Windows(), SlidingWindowCounterRateLimiter(MemoryStorage())
    for rate in ("5/hour", "3/day", "1/hour"):
        (item,) = parse_many(rate)
        for client in ("a", "b"):
            for _ in range(7):
                allowed, remaining, reset = ours.hit(item, client)
                assert allowed == theirs.hit(item, "heavy", client), (rate, client)
                stats = theirs.get_window_stats(item, "heavy", client)
                assert remaining == stats.remaining, (rate, client)
                assert abs(reset - stats.reset_time) < 1.0, (rate, client)


def test_a_bad_rate_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="heavy_rate_limit"):
        Settings.load(env={}, overrides={"heavy_rate_limit": "lots"})


def test_an_empty_rate_means_no_limit() -> None:
    """``GEOSVC_HEAVY_RATE_LIMIT=""`` is "no limit", as documented (it used to be 60/minute)."""
    assert Settings.load(env={"GEOSVC_HEAVY_RATE_LIMIT": ""}).heavy_rate_limit == ""
    assert Settings.load(env={}).heavy_rate_limit == "60/minute"
    assert Settings.load(env={"GEOSVC_TIANDITU_KEY": ""}).tianditu_key is None
    with pytest.raises(ConfigError, match="`db` must not be empty"):
        Settings.load(env={"GEOSVC_DB": " "})


def test_behind_a_trusted_proxy_clients_are_counted_apart(tmp_path: Path) -> None:
    db = build_city_db(tmp_path / "city.sqlite")
    url = "/api/v1/isochrones?lon=118.76&lat=30.94&mode=straight&minutes=5"
    for proxies, expected in ((1, 200), (0, 429)):
        app = create_app({"TESTING": True, "db": str(db), "osm": None,
                          "heavy_rate_limit": "2/minute", "trusted_proxies": proxies})
        client = app.test_client()
        for ip in ("203.0.113.1", "203.0.113.1"):
            assert client.get(url, headers={"X-Forwarded-For": ip}).status_code == 200
        # a second citizen behind the same proxy: own count only if the proxy is trusted
        got = client.get(url, headers={"X-Forwarded-For": "203.0.113.2"}).status_code
        assert got == expected, proxies


# ------------------------------------------------ finding 6: CSP on every HTML page

@pytest.mark.parametrize("path", ["/map", "/embed", "/venues/XC-H-01", "/docs", "/venues/NOPE",
                                  "/api/v1/coverage?mode=straight&f=html"])
def test_every_html_page_runs_only_its_own_scripts(server_url: str, path: str) -> None:
    import base64
    import hashlib
    import re

    _, headers, body = _request(server_url, "GET", path)
    assert headers["content-type"].startswith("text/html")
    policy = {d.split()[0]: d.split()[1:] for d in
              (p.strip() for p in headers["content-security-policy"].split(";")) if d}
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    inline = re.findall(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", body, re.S)
    for block in inline:  # each inline script is allowed by its hash, nothing else is
        digest = base64.b64encode(hashlib.sha256(block).digest()).decode()
        assert f"'sha256-{digest}'" in policy["script-src"]
    if b"<script" not in body:
        assert policy["script-src"] == ["'none'"]
    assert policy["frame-ancestors"] == (["*"] if path == "/embed" else ["'none'"])
