"""Reloads off the request path, against a real `geosvc serve` (2 workers) on loopback.

Issue 11, finding 3: after a big import each worker rebuilt its snapshot in
its next request (nearest 5.9 s); then in a thread of the serving process
(the GIL stalls made p99 11x idle).  Now the gunicorn master builds the new
snapshot and replaces the workers by forks that inherit it: requests on
kept-alive connections keep being answered, none waits for the build, the
answers switch to the new data, and the workers that serve it are new
processes (they never built anything).
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from geosvc.model import Channel, Venue, VenueKind
from geosvc.store import Batch, open_store
from tests.security._serve import get, serve_process
from tests.web.citydata import build_city_db

pytestmark = pytest.mark.slow

#: Where the probes ask for the nearest venue; the import puts one exactly there.
LON, LAT = 118.7730, 30.9520
NEW_CODE = "XC-K-RELOAD"
#: Venues imported besides it (all farther away): enough for a build of seconds.
BULK = 30_000


def _children(pid: int) -> set[int]:
    kids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.add(int(entry.name))
    return kids


@contextmanager
def _serve(db: Path) -> Iterator[tuple[str, int, subprocess.Popen[bytes]]]:
    """`geosvc serve --workers 2` checking the store every 0.2 s: (base URL, port, process)."""
    with serve_process(db, env={"GEOSVC_RELOAD_INTERVAL_S": "0.2"},
                       args=("--log-level", "warning")) as (base, port, _, proc):
        deadline = time.monotonic() + 90
        while len(_children(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        yield base, port, proc


@dataclass
class Probe:
    """Nearest requests in a loop on one kept-alive connection (reconnecting when closed)."""

    port: int
    answers: list[tuple[float, float, str]] = field(default_factory=list)  # (t, s, code)
    failures: list[str] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        path = f"/api/v1/nearest?lon={LON}&lat={LAT}&k=1"
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                body = resp.read()
                if resp.status != 200:
                    self.failures.append(f"{resp.status}: {body[:200]!r}")
                    continue
                code = json.loads(body)["features"][0]["id"]
                self.answers.append((started, time.monotonic() - started, code))
            except (OSError, http.client.HTTPException) as exc:  # a dropped connection
                self.failures.append(f"{type(exc).__name__}: {exc}")
                conn.close()
        conn.close()


def _import(db: Path) -> None:
    """One transaction: BULK kiosks 2-20 km east of the probe point and one on it."""
    far = [Venue(f"XC-K-B{i:05d}", f"批量终端{i}", VenueKind.KIOSK,
                 LON + 0.02 + (i % 300) * 0.0006, LAT - 0.05 + (i // 300) * 0.001,
                 channels=frozenset({Channel.SELF_SERVICE}), opening_hours="24/7")
           for i in range(BULK)]
    here = Venue(NEW_CODE, "重载测试终端", VenueKind.KIOSK, LON, LAT,
                 channels=frozenset({Channel.SELF_SERVICE}), opening_hours="24/7")
    store = open_store(str(db))
    try:
        store.write(Batch(venues=[*far, here]))
    finally:
        store.close()


def test_an_import_is_served_by_new_workers_without_a_request_waiting(
        tmp_path: Path) -> None:
    db = build_city_db(tmp_path / "city.sqlite")
    with _serve(db) as (base, port, proc):
        old_workers = _children(proc.pid)
        assert len(old_workers) == 2
        _, body, _ = get(base + "/healthz")
        venues0 = json.loads(body)["venues"]
        probes = [Probe(port) for _ in range(4)]
        threads = [threading.Thread(target=p.run, daemon=True) for p in probes]
        for t in threads:
            t.start()
        try:
            deadline = time.monotonic() + 30
            while not all(p.answers for p in probes) and time.monotonic() < deadline:
                time.sleep(0.1)
            old_code = probes[0].answers[-1][2]
            assert old_code != NEW_CODE
            started = time.monotonic()
            # in another process: a write of 30k rows here would hold this process's GIL
            # and delay the probe threads' own reads (the client's latency, not the server's)
            child = multiprocessing.get_context("spawn").Process(target=_import, args=(db,))
            child.start()
            child.join(120)
            assert child.exitcode == 0, "the import failed"
            # every probe connection gets the new answer, from new workers only
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                workers = _children(proc.pid)
                if (len(workers) == 2 and not workers & old_workers
                        and all(p.answers and p.answers[-1][0] > started
                                and p.answers[-1][2] == NEW_CODE for p in probes)):
                    break
                time.sleep(0.2)
            switched = time.monotonic()
            time.sleep(1.0)
        finally:
            for p in probes:
                p.stopping.set()
            for t in threads:
                t.join(35)
        _, body, _ = get(base + "/healthz")
        venues1 = json.loads(body)["venues"]
        with urllib.request.urlopen(base + "/metrics", timeout=10) as resp:
            text = resp.read().decode()
        build_s = max(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                      if line.startswith("geosvc_reload_seconds_last"))

    answers = [a for p in probes for a in p.answers]
    assert [f for p in probes for f in p.failures] == []  # no dropped connection, no 5xx
    assert venues1 == venues0 + BULK + 1
    assert switched - started < 60, "the workers did not switch to the import"
    assert not _children(proc.pid) & old_workers
    # answers are the old nearest venue, then the new one: never anything else
    assert {code for _, _, code in answers} == {old_code, NEW_CODE}
    after = [code for t, _, code in answers if t > switched]
    assert after and set(after) == {NEW_CODE}
    during = [s for t, s, _ in answers if started <= t <= switched]
    assert len(during) > 20, "the probes were not answered during the import and the rebuild"
    # the master's build took seconds; no request waited for it
    assert build_s > 0
    worst = max(s for _, s, _ in answers)
    assert worst < 1.5, (f"a request took {worst:.2f} s (the master's build took "
                         f"{build_s:.2f} s)")



def test_the_gunicorn_internals_the_reload_relies_on_are_there() -> None:
    """ReloadingArbiter and the draining worker override these (checked with gunicorn 27)."""
    import inspect

    from gunicorn.arbiter import Arbiter
    from gunicorn.asgi.protocol import ASGIProtocol
    from gunicorn.workers.gasgi import ASGIWorker

    for name in ("spawn_worker", "manage_workers", "kill_worker", "reap_workers"):
        assert callable(getattr(Arbiter, name, None)), name
    assert "self.WORKERS" in inspect.getsource(Arbiter)
    assert "_will_close" in inspect.getsource(ASGIProtocol._handle_http_request)
    assert callable(getattr(ASGIWorker, "handle_exit_signal", None))
    init = inspect.getsource(ASGIWorker.__init__)
    assert "self.servers" in init and "self.nr_conns" in init
