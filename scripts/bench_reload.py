#!/usr/bin/env python
"""Reload test: a 200k-row venue import into a served dataset, under load (issue 11).

Serves the demo city (walking network) with the real ``geosvc serve --workers
2`` (gunicorn asgi workers; the master's reloader thread checks the store
every ``--interval`` seconds, builds the new snapshot and replaces the workers
with forks that inherit it) on 127.0.0.1, then:

1. idle: ``wrk -t2 -c16`` on ``/api/v1/nearest?mode=walk&k=5`` (points 30-60 m
   off the demo's venues) for ``--duration`` seconds: the idle p99;
2. under the same load, ``geosvc import venues`` of ``--venues`` seeded rows
   (default 200,000; ~25 MB CSV, every column; inside the demo's extent) into
   the served database; the load goes on until every live worker serves the
   new revision, then ``--after`` seconds more: p99 during the import and
   reload;
3. reports: p99 / max during vs idle (target p99 <= 3x), errors (non-2xx and
   socket errors; target 0), each worker's revision and venue count before and
   after (read from that worker's own Prometheus multiprocess file: proof that
   every worker switched; the workers after are new processes when the master
   rolls them), the reload duration (``geosvc_reload_seconds_last``), the
   import's time and peak RSS (``getrusage`` of the importer process;
   ``--importer-root`` runs another checkout's importer for a before/after),
   and the RSS (VmRSS, peak seen, and PSS: shared pages split between the
   processes) of the master and of each worker before and after.

Usage::

    python scripts/bench_reload.py                          # 200k venues, 20 s idle
    python scripts/bench_reload.py --venues 20000 --duration 5   # quick run
    python scripts/bench_reload.py --importer-root ../main  # the importer of another checkout
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import click

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
from _benchmd import finish, write_md_option  # noqa: E402
from bench_http import nearest_script  # noqa: E402
from bench_import import write_venues  # noqa: E402
from bench_index import parse_wrk  # noqa: E402
from bench_soak import GEOSVC, ROOT, GeosvcServer, proc_status  # noqa: E402

#: The demo's venues lie in lon 24.936..24.953, lat 60.164..60.179: imported venues
#: go into a box around them (on the walking network's extent).
DEMO_BOX = (24.930, 60.160, 24.960, 60.182)


def wrk_cmd(script: Path, base: str, duration_s: int, connections: int) -> list[str]:
    """Return the wrk command line of the nearest load."""
    return ["wrk", "-t2", f"-c{connections}", f"-d{duration_s}s", "--latency", "--timeout",
            "30s", "-s", str(script), base]


def parse_max(text: str) -> float:
    """Return the maximum latency (ms) of a ``wrk`` report."""
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == "Latency" and len(parts) >= 4:
            value = parts[3]
            for suffix in ("us", "ms", "m", "s"):
                if value.endswith(suffix):
                    return float(value[: -len(suffix)]) * unit[suffix]
    return float("nan")


def poke_metrics(base: str, times: int = 12) -> None:
    """Ask ``/metrics`` on fresh connections (each worker writes its gauges when asked)."""
    for _ in range(times):
        with urllib.request.urlopen(base + "/metrics", timeout=60) as resp:
            resp.read()


def pss_mb(pid: int) -> float:
    """Return the proportional set size of ``pid`` in MB (NaN when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def sample_peaks(pids: list[int], peak: dict[int, float]) -> None:
    """Record the highest VmRSS seen of each of ``pids``."""
    for p in pids:
        rss = proc_status(p)["rss"]
        if rss == rss:  # not NaN: alive
            peak[p] = max(peak.get(p, 0.0), rss)


def worker_gauges(metrics_dir: Path) -> dict[int, dict[str, float]]:
    """Return each worker's own geosvc gauges, read from its multiprocess file.

    ``/metrics`` shows the maximum over the workers; the per-process files
    (``gauge_max_<pid>.db``) say what each worker serves.
    """
    from prometheus_client.mmap_dict import MmapedDict  # lazy: only this report needs it

    out: dict[int, dict[str, float]] = {}
    for path in sorted(metrics_dir.glob("gauge_max_*.db")):
        pid = int(path.stem.rsplit("_", 1)[1])
        d = MmapedDict(str(path), read_mode=True)
        try:
            for key, value, *_ in d.read_all_values():
                name = json.loads(key)[0]
                out.setdefault(pid, {})[name] = value
        finally:
            d.close()
    return out


class Probe:
    """One nearest request every ``every`` seconds on a fresh connection, timed.

    On top of wrk's load it dates each latency, so the report can say in
    which phase (idle, importing, reloading, switched) the slow answers came.
    """

    def __init__(self, url: str, every: float = 0.2) -> None:
        self.url, self.every = url, every
        self.samples: list[tuple[float, float, int]] = []  # (monotonic, ms, status)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            t = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=60) as resp:
                    resp.read()
                    status = resp.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                status = 0
            self.samples.append((t, (time.monotonic() - t) * 1000, status))
            self.stopping.wait(max(0.0, self.every - (time.monotonic() - t)))

    def stop(self) -> None:
        """Stop probing."""
        self.stopping.set()
        self.thread.join(timeout=70)

    def phase(self, lo: float, hi: float) -> str:
        """p50 / p99 / max (ms) and failures of the probes sent between ``lo`` and ``hi``."""
        ms = sorted(m for t, m, _ in self.samples if lo <= t < hi)
        bad = sum(1 for t, _, s in self.samples if lo <= t < hi and not 200 <= s < 300)
        if not ms:
            return "no probe"
        pick = [ms[min(len(ms) - 1, int(q * len(ms)))] for q in (0.5, 0.99)]
        return (f"{len(ms):4d} probes  p50 {pick[0]:8.1f} ms  p99 {pick[1]:8.1f} ms  "
                f"max {ms[-1]:8.1f} ms  failed {bad}")


def healthz(base: str) -> dict:
    """GET /healthz."""
    with urllib.request.urlopen(base + "/healthz", timeout=60) as resp:
        return json.loads(resp.read())


def run_import(importer: subprocess.Popen, server: GeosvcServer,
               peak: dict[int, float]) -> tuple[float, float]:
    """Wait for the importer, sampling RSS; return its peak RSS (getrusage, VmHWM seen), MB."""
    imp_hwm = 0.0
    while True:
        done_pid, status, usage = os.wait4(importer.pid, os.WNOHANG)
        if done_pid:
            break
        imp_hwm = max(imp_hwm, proc_status(importer.pid)["hwm"] or 0.0)
        sample_peaks([server.proc.pid, *server.workers()], peak)
        time.sleep(0.25)
    importer.returncode = os.waitstatus_to_exitcode(status)
    out = importer.stdout.read().decode() if importer.stdout else ""
    if importer.returncode:
        raise click.ClickException(f"the import failed:\n{out[-2000:]}")
    return usage.ru_maxrss / 1024, imp_hwm


def wait_switched(server: GeosvcServer, n_workers: int, venues: int,
                  peak: dict[int, float], timeout_s: float = 900
                  ) -> tuple[float | None, dict[int, dict[str, float]], list[int]]:
    """Wait until every live worker's own gauge shows ``venues``.

    Returns the revision, the gauges and the live workers (None when it
    timed out).
    """
    deadline = time.monotonic() + timeout_s
    gauges: dict[int, dict[str, float]] = {}
    pids: list[int] = []
    while time.monotonic() < deadline:
        pids = server.workers()
        sample_peaks([server.proc.pid, *pids], peak)
        if len(pids) == n_workers:
            poke_metrics(server.base, 6)
            gauges = worker_gauges(server.metrics_dir)
            if (server.workers() == pids
                    and all(gauges.get(p, {}).get("geosvc_venues", 0) >= venues
                            for p in pids)):
                revision = max(gauges[p].get("geosvc_snapshot_revision", 0) for p in pids)
                return revision, gauges, pids
        time.sleep(0.5)
    return None, gauges, pids


@click.command()
@click.option("--venues", "n_venues", default=200_000, show_default=True,
              help="Venue rows imported while the server is loaded.")
@click.option("--duration", default=20, show_default=True,
              help="Seconds of the idle wrk run.")
@click.option("--after", default=5, show_default=True,
              help="Seconds of load kept after every worker serves the new revision.")
@click.option("--interval", default=1.0, show_default=True,
              help="reload_interval_s of the server (seconds between store checks).")
@click.option("--connections", default=16, show_default=True, help="wrk connections.")
@click.option("--workers", default=2, show_default=True, help="geosvc serve --workers.")
@click.option("--importer-root", default=None, type=click.Path(exists=True, file_okay=False),
              help="Run `geosvc import` from this checkout (default: this one).")
@write_md_option
def main(n_venues: int, duration: int, after: int, interval: float, connections: int,
         workers: int, importer_root: str | None, write_md: Path | None) -> None:
    """Idle p99 vs p99 during a big import and the reloads; revisions, RSS, errors."""
    from geosvc.demo import demo_osm_path, ensure_demo_db  # lazy: heavy, CLI only

    if shutil.which("wrk") is None:
        raise click.ClickException("wrk is not installed (apt-get install wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="geosvc-bench-reload-"))
    server = None
    load_proc = None
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    load0 = os.getloadavg()
    try:
        db = ensure_demo_db(tmp / "demo.sqlite")
        csv_path = tmp / "venues.csv"
        t = time.perf_counter()
        write_venues(csv_path, n_venues, DEMO_BOX)
        click.echo(f"{n_venues:,} venue rows: {csv_path.stat().st_size / 2**20:.1f} MB CSV "
                   f"(written in {time.perf_counter() - t:.1f} s)", err=True)
        server = GeosvcServer(db, demo_osm_path(), tmp, workers=workers,
                              settings={"GEOSVC_RELOAD_INTERVAL_S": str(interval)})
        server.ready()
        pids = server.workers()
        script = tmp / "nearest.lua"
        nearest_script(script, server.base)
        subprocess.run(wrk_cmd(script, server.base, 5, connections), capture_output=True,
                       check=True, timeout=120)  # warm
        poke_metrics(server.base, 40)
        gauges0 = worker_gauges(server.metrics_dir)
        health0 = healthz(server.base)
        master = server.proc.pid
        rss0 = {p: {**proc_status(p), "pss": pss_mb(p)} for p in [master, *pids]}
        click.echo(f"idle: wrk -c{connections} {duration} s ...", err=True)
        probe = Probe(server.base + "/api/v1/nearest?lon=24.9400&lat=60.1705&mode=walk&k=5")
        marks = {"idle": time.monotonic()}
        idle_run = subprocess.run(wrk_cmd(script, server.base, duration, connections),
                                  capture_output=True, text=True, check=True,
                                  timeout=duration + 120)
        idle = parse_wrk(idle_run.stdout)
        idle["max_ms"] = parse_max(idle_run.stdout)

        # the load runs until stopped (SIGINT: wrk prints its report)
        load_proc = subprocess.Popen(wrk_cmd(script, server.base, 3600, connections),
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        marks["idle end"] = time.monotonic()
        time.sleep(2)
        root = Path(importer_root).resolve() if importer_root else ROOT
        # the importer prepares the new revision's snapshot cache after its commit (the
        # default since the fill lock) into the server's cache directory, as a deployment
        # would: the server's reload then waits for it and maps the files
        env = {**os.environ, "PYTHONPATH": str(root), "GEOSVC_CACHE_DIR": str(tmp / "cache")}
        click.echo(f"import of {n_venues:,} venues under load ...", err=True)
        t_import = marks["import"] = time.monotonic()
        importer = subprocess.Popen([*GEOSVC, "import", "venues", str(csv_path), "--db",
                                     str(db)], env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, cwd=tmp)
        peak: dict[int, float] = {}
        imp_peak, imp_hwm = run_import(importer, server, peak)
        import_s = time.monotonic() - t_import
        marks["committed"] = time.monotonic()
        # wait until every worker serves the new revision (its own gauge says so)
        target, gauges1, pids1 = wait_switched(server, workers, health0["venues"] + n_venues,
                                               peak)
        switched_s = time.monotonic() - t_import
        marks["switched"] = time.monotonic()
        deadline = time.monotonic() + after
        while time.monotonic() < deadline:
            sample_peaks([master, *server.workers()], peak)
            time.sleep(0.25)
        marks["end"] = time.monotonic()
        probe.stop()
        load_proc.send_signal(signal.SIGINT)
        out, _ = load_proc.communicate(timeout=60)
        load_proc = None
        during = parse_wrk(out)
        during["max_ms"] = parse_max(out)
        during_sockets = next((ln.strip() for ln in out.splitlines() if "Socket errors" in ln),
                              "Socket errors: none")
        load_s = switched_s + after + 2
        health1 = healthz(server.base)
        now_pids = server.workers()
        rss1 = {p: {**proc_status(p), "pss": pss_mb(p)} for p in [master, *now_pids]}
        sample_peaks([master, *now_pids], peak)
    finally:
        if load_proc is not None:
            load_proc.kill()
            load_proc.wait()
        if server is not None:
            server.stop()
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(tmp, ignore_errors=True)
    load1 = os.getloadavg()

    def fig(f: dict) -> str:
        return (f"{f['rps']:7.0f} req/s  p50 {f['p50_ms']:8.2f} ms  p99 {f['p99_ms']:8.2f} ms  "
                f"max {f['max_ms']:8.2f} ms  non-2xx {f['non2xx']:.0f}  "
                f"socket errors {f['errors']:.0f}")

    click.echo(f"\nreload test: geosvc serve --workers {workers} (demo city, walk network, "
               f"reload_interval_s {interval:g}), wrk -t2 -c{connections} on "
               f"/api/v1/nearest?mode=walk&k=5, 127.0.0.1")
    click.echo(f"machine: {os.cpu_count()} cores, load average {load0[0]:.1f} at start, "
               f"{load1[0]:.1f} at the end (1-min)")
    click.echo(f"  idle ({duration} s):            {fig(idle)}")
    click.echo(f"  import + reload ({load_s:.0f} s): {fig(during)}")
    click.echo(f"    ({during_sockets})")
    click.echo(f"  import: {n_venues:,} venues in {import_s:.1f} s, importer peak RSS "
               f"{imp_peak:.0f} MB (VmHWM seen {imp_hwm:.0f} MB)"
               + (f", importer from {importer_root}" if importer_root else ""))
    click.echo(f"  every worker on the new snapshot {switched_s:.1f} s after the import "
               f"started ({switched_s - import_s:.1f} s after it committed)")
    click.echo(f"  /healthz: venues {health0['venues']:,} -> {health1['venues']:,}")
    nan = float("nan")

    def gauge(g: dict[str, float], name: str) -> float:
        return g.get(name, nan)

    def mem(p: int, rss: dict[int, dict[str, float]]) -> str:
        return f"RSS {rss[p]['rss']:.0f} MB, PSS {rss[p]['pss']:.0f} MB"

    click.echo(f"  master {master}: before {mem(master, rss0)}; after {mem(master, rss1)}; "
               f"peak RSS seen {peak.get(master, nan):.0f} MB")
    for p in pids:
        g0 = gauges0.get(p, {})
        click.echo(f"  worker {p} before: revision {gauge(g0, 'geosvc_snapshot_revision'):.0f},"
                   f" venues {gauge(g0, 'geosvc_venues'):,.0f}; {mem(p, rss0)}; "
                   f"peak RSS seen {peak.get(p, nan):.0f} MB"
                   + ("" if p in now_pids else "; exited"))
    for p in now_pids:
        g1 = gauges1.get(p, {})
        click.echo(f"  worker {p} after:  revision {gauge(g1, 'geosvc_snapshot_revision'):.0f},"
                   f" venues {gauge(g1, 'geosvc_venues'):,.0f}; {mem(p, rss1)}; "
                   f"peak RSS seen {peak.get(p, nan):.0f} MB; last reload built in "
                   f"{gauge(g1, 'geosvc_reload_seconds_last'):.2f} s")
    worker_peak = max((v for p, v in peak.items() if p != master), default=nan)
    pss0, pss1 = (sum(r[p]["pss"] for p in r) for r in (rss0, rss1))
    click.echo(f"  peak worker RSS seen {worker_peak:.0f} MB; master + workers PSS "
               f"{pss0:.0f} -> {pss1:.0f} MB (+{(pss1 - pss0) * 2**20 / n_venues:,.0f} "
               "bytes a venue)")
    switched = ", ".join(f"{p}: {gauges1.get(p, {}).get('geosvc_venues', 0):,.0f} venues"
                         for p in pids1)
    click.echo("  probe (a nearest walk request every 0.2 s on a new connection, besides wrk):")
    phases = (("idle", "idle", "idle end"), ("importing", "import", "committed"),
              ("reloading", "committed", "switched"), ("switched", "switched", "end"))
    for label, lo, hi in phases:
        click.echo(f"    {label:<10} {marks[hi] - marks[lo]:6.1f} s  "
                   f"{probe.phase(marks[lo], marks[hi])}")
    ratio = during["p99_ms"] / idle["p99_ms"]
    errors = during["non2xx"] + during["errors"] + idle["non2xx"] + idle["errors"]
    checks = [
        (f"p99 during import + reload <= 3x idle ({during['p99_ms']:.2f} vs "
         f"{idle['p99_ms']:.2f} ms: {ratio:.2f}x)", ratio <= 3.0),
        (f"errors 0 (idle {idle['non2xx'] + idle['errors']:.0f}, during "
         f"{during['non2xx'] + during['errors']:.0f})", errors == 0),
        (f"every live worker switched to revision {target} ({switched})",
         target is not None),
        (f"{len(now_pids)} workers serve at the end (the old ones exited: "
         f"{sorted(set(pids) & set(now_pids)) or 'none left'})", len(now_pids) == workers),
    ]
    for text, ok in checks:
        click.echo(f"  [{'met' if ok else 'MISSED'}] {text}")
    finish(write_md, __file__, checks)


if __name__ == "__main__":
    main()
