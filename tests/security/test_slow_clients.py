"""Slow and half-open clients against a real `geosvc serve` (gunicorn, 2 workers) on loopback.

Issue 11, finding 1: a client that sends half a header (``X-a: ``) or 8 bytes
of a 1000-byte body and waits held a sync worker until gunicorn's timeout;
two such connections stopped ``/healthz`` for 296 s.  Now each connection is
read by an asyncio loop and only complete requests take a thread.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.security._serve import get as _get

pytestmark = pytest.mark.slow


def _half_open(port: int, n: int) -> list[socket.socket]:
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        if i % 2:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-a: ")
        else:
            s.sendall(b"POST /api/v1/plans HTTP/1.1\r\nHost: x\r\nContent-Type: "
                      b"application/json\r\nContent-Length: 1000\r\n\r\n{\"mode\":")
        socks.append(s)
    return socks


def test_32_half_open_connections_do_not_delay_answers(served: tuple[str, int]) -> None:
    base, port, _ = served
    socks = _half_open(port, 32)
    try:
        time.sleep(0.5)
        worst = 0.0
        for _ in range(10):
            status, _, took = _get(base + "/healthz")
            assert status == 200
            worst = max(worst, took)
            status, body, took = _get(base + "/api/v1/nearest?lon=118.76&lat=30.94&k=3")
            assert status == 200 and len(json.loads(body)["features"]) == 3
            worst = max(worst, took)
        assert worst < 1.0, f"an answer took {worst:.2f} s with 32 slow clients connected"
    finally:
        for s in socks:
            s.close()


def test_a_body_that_never_completes_is_answered_408(served: tuple[str, int]) -> None:
    _, port, _ = served
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        s.sendall(b"POST /api/v1/plans HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"mode\":")
        started = time.monotonic()
        answer = s.recv(65536)
        waited = time.monotonic() - started
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split()[1] == b"408" and b"application/problem+json" in head
    assert json.loads(body)["type"] == "/problems/request-timeout"
    assert 2.0 < waited < 10.0  # the 3 s body timeout, not gunicorn's


def test_a_declared_oversized_body_is_refused_at_once(served: tuple[str, int]) -> None:
    _, port, _ = served
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"POST /api/v1/plans HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                  b"\r\nContent-Length: 400000000\r\n\r\n{")
        answer = s.recv(65536)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split()[1] == b"413"
    assert json.loads(body)["type"] == "/problems/request-entity-too-large"


def test_a_plan_still_works_through_the_asyncio_front(served: tuple[str, int]) -> None:
    base, _, _ = served
    req = urllib.request.Request(
        base + "/api/v1/plans", method="POST",
        data=json.dumps({"mode": "straight", "minutes": 10, "k": 1}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 200 and json.loads(resp.read())["selected"]


def test_metrics_sum_both_workers_and_the_access_log_is_json(
        served: tuple[str, int, Path]) -> None:
    base, _, log = served
    route = "/api/v1/venues/<path:code>"
    for i in range(40):  # new connections: both workers answer some
        req = urllib.request.Request(base + "/api/v1/venues/XC-H-01",
                                     headers={"X-Request-Id": f"ops-{i}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.headers["X-Request-Id"] == f"ops-{i}"
    _, text, _ = _get(base + "/metrics")
    counted = {}
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            if sample.name == "geosvc_requests_total" and sample.labels["route"] == route:
                counted[sample.labels["status"]] = sample.value
    assert counted.get("200", 0) >= 40
    lines = [json.loads(line) for line in log.read_text().splitlines()
             if line.startswith("{")]
    ours = [x for x in lines if str(x.get("request_id", "")).startswith("ops-")]
    assert len(ours) == 40 and {x["status"] for x in ours} == {200}
    assert len({x["pid"] for x in ours}) == 2  # both worker processes logged
