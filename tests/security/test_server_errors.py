"""Requests gunicorn refuses itself, against a real `geosvc serve` (issue 11, finding 7).

A malformed request line or header (400), a request line over 8,190 bytes
(414), more than 100 header fields or one over 8,190 bytes (431) never reach
the app: gunicorn's parser answers them.  The stock asgi worker answered
``text/plain`` and quoted the bad line back; geosvc's worker
(:mod:`geosvc.web.worker`) answers problem+json that quotes nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from geosvc.web.worker import server_problem
from tests.security._serve import raw_exchange

pytestmark = pytest.mark.slow

_HEADERS_120 = b"".join(b"X-%d: y\r\n" % i for i in range(120))
CASES = [
    ("a bad request line", b"GET /x <script>alert(1)</script> HTTP/1.1\r\nHost: x\r\n\r\n",
     400, "bad-request"),
    ("not HTTP at all", b"\x16\x03\x01\x02\x00 /etc/passwd\r\n\r\n", 400, "bad-request"),
    ("an unknown HTTP version", b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", 400, "bad-request"),
    ("a bad header name", b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad <b>: y\r\n\r\n",
     400, "bad-request"),
    ("bare LF line ends", b"GET /healthz HTTP/1.1\nHost: x\n\n", 400, "bad-request"),
    ("a URI over 8190 bytes",
     b"GET /api/v1/venues?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
     414, "uri-too-long"),
    ("120 header fields", b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + _HEADERS_120 + b"\r\n",
     431, "request-header-fields-too-large"),
    ("a header over 8190 bytes",
     b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n",
     431, "request-header-fields-too-large"),
]


@pytest.mark.parametrize(("what", "request_bytes", "status", "slug"), CASES,
                         ids=[c[0] for c in CASES])
def test_server_refusals_are_problems_that_quote_nothing(
        served: tuple[str, int, Path], what: str, request_bytes: bytes, status: int,
        slug: str) -> None:
    _, port, _ = served
    answer = raw_exchange(port, request_bytes)
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].split()[1] == str(status), (what, answer[:300])
    headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    assert headers["content-type"] == "application/problem+json"
    assert headers["x-content-type-options"] == "nosniff"
    doc = json.loads(body)
    assert doc == json.loads(server_problem(status)[1])  # fixed text, the default limits
    assert doc["type"] == f"/problems/{slug}" and doc["status"] == status
    for echoed in (b"<script>", b"<b>", b"passwd", b"aaaa", b"bbbb", b"X-119", b"/x",
                   b"HTTP/9.9", b"/tmp", b"/home", b"gunicorn", b"Traceback"):
        assert echoed not in body, (what, echoed)


def test_within_the_limits_requests_reach_the_app(served: tuple[str, int, Path]) -> None:
    _, port, _ = served
    line = b"GET /healthz?pad=" + b"a" * 8100 + b" HTTP/1.1\r\n"
    assert len(line) < 8190
    headers = b"Host: x\r\nConnection: close\r\n" + b"".join(
        b"X-%d: y\r\n" % i for i in range(90))
    answer = raw_exchange(port, line + headers + b"\r\n")
    assert answer.split(b"\r\n", 1)[0].split()[1] == b"200"
