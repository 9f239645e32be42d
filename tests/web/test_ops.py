"""Request ids, the JSON access log and /metrics (issue 11, operations)."""

from __future__ import annotations

import json
import logging
import re

import pytest
from prometheus_client.parser import text_string_to_metric_families


def test_a_request_id_is_kept_or_made(client) -> None:
    sent = client.get("/healthz", headers={"X-Request-Id": "proxy-42.a_b"})
    assert sent.headers["X-Request-Id"] == "proxy-42.a_b"
    made = client.get("/healthz").headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    bad = client.get("/healthz", headers={"X-Request-Id": "x" * 200}).headers["X-Request-Id"]
    assert bad != "x" * 200 and re.fullmatch(r"[0-9a-f]{32}", bad)
    err = client.get("/api/v1/venues?limit=0", headers={"X-Request-Id": "err-1"})
    assert err.status_code == 400 and err.headers["X-Request-Id"] == "err-1"


def test_the_access_log_is_one_json_line_without_the_query(client, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="geosvc.access"):
        client.get("/api/v1/nearest?lon=118.76&lat=30.94&k=2",
                   headers={"X-Request-Id": "trace-7"})
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "geosvc.access"]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == "trace-7" and line["status"] == 200
    assert line["path"] == "/api/v1/nearest" and line["route"] == "/api/v1/nearest"
    assert line["ms"] >= 0 and line["bytes"] > 0
    assert "118.76" not in json.dumps(line)  # a citizen's position is not logged


def _sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v
                                           for k, v in labels.items()):
                return float(sample.value)
    raise AssertionError(f"{name}{labels} not in the metrics")


@pytest.mark.parametrize("n", [3])
def test_metrics_count_requests_by_route_and_status(app, n: int) -> None:
    client = app.test_client()
    before = client.get("/metrics").get_data(as_text=True)
    route = "/api/v1/venues"
    try:
        base = _sample(before, "geosvc_requests_total", route=route, method="GET", status="200")
    except AssertionError:
        base = 0.0
    for _ in range(n):
        assert client.get("/api/v1/venues?limit=1").status_code == 200
    client.get("/api/v1/venues?limit=0")
    resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    assert resp.headers["Cache-Control"] == "no-store"
    text = resp.get_data(as_text=True)
    assert _sample(text, "geosvc_requests_total", route=route, method="GET",
                   status="200") == base + n
    assert _sample(text, "geosvc_requests_total", route=route, method="GET", status="400") >= 1
    assert _sample(text, "geosvc_request_seconds_count", route=route) >= n
    svc = app.extensions["geosvc"]
    assert _sample(text, "geosvc_snapshot_revision") == svc.snapshot.revision
    assert _sample(text, "geosvc_venues") == len(svc.snapshot.index.venues)


def test_metrics_count_cache_hits_and_misses(app) -> None:
    client = app.test_client()

    def lookups(cache: str, result: str) -> float:
        text = client.get("/metrics").get_data(as_text=True)
        try:
            return _sample(text, "geosvc_cache_lookups_total", cache=cache, result=result)
        except AssertionError:
            return 0.0

    before = {r: lookups("map_pages", r) for r in ("hit", "miss")}
    url = "/map?kind=kiosk&lang=en&x=cache-test"
    client.get(url)
    client.get(url)
    assert lookups("map_pages", "miss") == before["miss"] + 1
    assert lookups("map_pages", "hit") == before["hit"] + 1
    gz = {"Accept-Encoding": "gzip"}
    client.get(url, headers=gz)
    client.get(url, headers=gz)
    assert lookups("gzip", "hit") >= 1
