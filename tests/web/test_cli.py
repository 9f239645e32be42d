"""`geosvc serve` and `geosvc demo` start a real server process that answers /healthz."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from geosvc.cli import main

GEOSVC = str(Path(sys.executable).parent / "geosvc")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_health(proc: subprocess.Popen, port: int, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"server exited with {proc.returncode}: {out}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                return json.loads(r.read())
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"no /healthz answer on port {port} within {timeout_s} s")


def stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"server did not stop on SIGINT: {out}")
    return out


def test_serve_starts_answers_and_stops(city_db: Path, tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [GEOSVC, "serve", "--db", str(city_db), "--port", str(port), "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        doc = wait_health(proc, port, 60)
        assert doc["status"] == "ok" and doc["venues"] == 10 and doc["network"] is None
        with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/api/v1/nearest?lon=118.7581&lat=30.9401&k=2") as r:
            assert [f["id"] for f in json.loads(r.read())["features"]] == ["XC-H-01", "XC-K-01"]
    finally:
        out = stop(proc)
    assert proc.returncode == 0, out
    assert f"http://127.0.0.1:{port}/docs" in out and f"http://127.0.0.1:{port}/map" in out
    assert "/embed" in out and "/healthz" in out


@pytest.mark.parametrize(("args", "message"), [
    (["serve", "--db", "/nonexistent/x.sqlite"],
     "`--db` /nonexistent/x.sqlite does not exist; create it with `geosvc import ...`"),
    (["serve"], "Missing option '--db'"),
    (
        ["serve", "--db", "{db}", "--osm", "/nonexistent.pbf"],
        "`--osm` /nonexistent.pbf does not exist",
    ),
    (["serve", "--db", "{db}", "--port", "70000"], "70000 is not in the range"),
    (["serve", "--db", "{db}", "--modes", "walk,fly"], "unknown modes fly"),
    (["demo", "--port", "0"], "0 is not in the range"),
    (["demo", "--modes", "teleport"], "unknown modes teleport"),
])
def test_bad_options_exit_non_zero_with_a_message(city_db: Path, args: list[str],
                                                  message: str) -> None:
    args = [a.replace("{db}", str(city_db)) for a in args]
    env = {"GEOSVC_DB": ""} if args == ["serve"] else None
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_demo_builds_serves_with_networks_and_stops(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [GEOSVC, "demo", "--port", str(port), "--workers", "1", "--modes", "walk"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "GEOSVC_DB": ""},
    )
    try:
        doc = wait_health(proc, port, 120)
        assert doc["status"] == "ok" and doc["venues"] > 60
        assert doc["network"] and doc["network"]["walk"] > 1000
        url = f"http://127.0.0.1:{port}/api/v1/nearest?lon=24.941&lat=60.170&mode=walk&k=3"
        with urllib.request.urlopen(url) as r:
            feats = json.loads(r.read())["features"]
        assert len(feats) == 3 and all(f["properties"]["travel_time_min"] > 0 for f in feats)
    finally:
        out = stop(proc)
    assert proc.returncode == 0, out
    assert (tmp_path / "var" / "demo.sqlite").is_file()
    assert "built the demo database" in out
    for path in ("/docs", "/map", "/embed", "/healthz"):
        assert f"http://127.0.0.1:{port}{path}" in out
