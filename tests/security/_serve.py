"""A real `geosvc serve` (gunicorn, asyncio workers) in a subprocess, for the loopback tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Serve a WSGI ``app`` on 127.0.0.1 (werkzeug, threaded) while the block runs; its URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, timeout: float = 10.0) -> tuple[int, bytes, float]:
    """GET ``url``: (status, body, seconds taken)."""
    started = time.monotonic()
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.status, resp.read(), time.monotonic() - started


def raw_exchange(port: int, data: bytes, timeout: float = 10.0) -> bytes:
    """Send ``data`` on a new connection and read the answer until the server closes it."""
    out = b""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        while chunk := s.recv(65536):
            out += chunk
    return out


@contextmanager
def geosvc_serve(db: Path, *, env: Mapping[str, str], workers: int = 2,
                 ) -> Iterator[tuple[str, int, Path]]:
    """Run `geosvc serve --db DB --workers N` on a free port: (base URL, port, stderr log)."""
    with serve_process(db, env=env, workers=workers) as (base, port, log, _):
        yield base, port, log


@contextmanager
def serve_process(
    db: Path, *, env: Mapping[str, str], workers: int = 2, args: Sequence[str] = (),
) -> Iterator[tuple[str, int, Path, subprocess.Popen[bytes]]]:
    """:func:`geosvc_serve` with more command-line ``args``, also giving the process."""
    port = free_port()
    log = db.with_suffix(".log")
    geosvc = Path(sys.executable).with_name("geosvc")  # the console script of this venv
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [str(geosvc), "serve", "--db", str(db), "--port", str(port),
             "--workers", str(workers), *args],
            env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=err)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # a busy machine starts it slowly
        while True:
            try:
                get(base + "/healthz", timeout=1)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("geosvc serve did not start:\n"
                                + log.read_text(errors="replace")[-3000:])
                time.sleep(0.2)
        yield base, port, log, proc
    finally:
        proc.terminate()
        proc.wait(20)
