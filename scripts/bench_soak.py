#!/usr/bin/env python
"""Soak test: mixed load on ``geosvc serve --workers 2`` for minutes: is worker RSS flat.

Serves the demo city (walking network) with the real ``geosvc serve`` (gunicorn,
asgi workers, background reloader, Prometheus multiprocess metrics) on
127.0.0.1 and loads it with ``wrk -t2 -c16`` for ``--duration`` seconds
(default 600 = 10 minutes).  Each wrk request picks, in turn, one of:

* ``/api/v1/nearest?mode=walk&k=5`` and ``mode=straight`` at points 30-60 m off
  the demo's venues (varied coordinates: a cache keyed by the query would grow),
* ``/api/v1/search?q=...`` (item names, pinyin, venue names),
* a venue page ``/venues/<code>`` (every venue in turn),
* the app shell ``/``.

Every ``--sample`` seconds (default 10) it reads each worker's RSS and peak RSS
(``VmRSS``/``VmHWM`` of ``/proc/<pid>/status``) and the size of the
Prometheus multiprocess directory.  It reports, per worker, the mean RSS of the
first and of the last minute and the growth (target: flat within 10 %), and the
errors (non-2xx and socket errors; target 0).

Usage::

    python scripts/bench_soak.py                 # 10 minutes
    python scripts/bench_soak.py --duration 90   # a quick run (first/last 30 s compared)
    python scripts/bench_soak.py --quick         # the same as --duration 90

``--write-md [FILE]`` writes the targets and the output into FILE (default
``docs/benchmarks.md``) between this script's markers (``scripts/_benchmd.py``).
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
import urllib.parse
import urllib.request
from pathlib import Path

import click

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
from _benchmd import finish, write_md_option  # noqa: E402
from bench_index import free_port, parse_wrk, wait_ready  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: the ``geosvc`` command of this checkout (PYTHONPATH set by the callers)
GEOSVC = [sys.executable, "-c", "import sys; from geosvc.cli import main; "
          "sys.argv[0] = 'geosvc'; main()"]

#: search texts: item names (Chinese), pinyin initials, venue names, misses
SEARCHES = ("护照", "身份证", "社保", "hz", "sfz", "Pääposti", "kirjasto", "港澳", "xyz",
            "营业执照")


def proc_status(pid: int) -> dict[str, float]:
    """Return VmRSS and VmHWM (MB) of process ``pid`` (NaN when it is gone)."""
    out = {"rss": float("nan"), "hwm": float("nan")}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    out["rss"] = int(line.split()[1]) / 1024
                elif line.startswith("VmHWM:"):
                    out["hwm"] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return out


def cpu_s(pid: int) -> float:
    """Return the CPU seconds (user + system) process ``pid`` has used (NaN when gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """Return the pids of the child processes of ``pid`` (gunicorn's workers)."""
    kids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, split after the last ')'
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            kids.append(int(entry.name))
    return sorted(kids)


def dir_bytes(path: Path) -> int:
    """Total bytes of the files in ``path``."""
    return sum(p.stat().st_size for p in path.glob("*") if p.is_file())


class GeosvcServer:
    """``geosvc serve`` in its own process group, with its own metrics directory."""

    def __init__(self, db: Path, osm: Path | None, tmp: Path, *, workers: int = 2,
                 settings: dict[str, str] | None = None, modes: str = "walk") -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.metrics_dir = tmp / "metrics"
        self.metrics_dir.mkdir(exist_ok=True)
        self.log = tmp / "serve.log"
        cmd = [*GEOSVC, "serve", "--db", str(db),
               "--workers", str(workers), "--port", str(self.port),
               "--cache-dir", str(tmp / "cache"), "--log-level", "warning"]
        if osm is not None:
            cmd += ["--osm", str(osm), "--modes", modes]
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(self.metrics_dir),
               "PYTHONPATH": os.pathsep.join(
                   p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
               **(settings or {})}
        with open(self.log, "wb") as fh:
            self.proc = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                         start_new_session=True, cwd=tmp)

    def ready(self) -> None:
        """Wait for /healthz and for the workers to be up."""
        wait_ready(self.base + "/healthz", self.proc, self.log, timeout_s=300)
        deadline = time.monotonic() + 60
        while len(self.workers()) < 1 and time.monotonic() < deadline:
            time.sleep(0.2)

    def workers(self) -> list[int]:
        """Return the worker pids (children of the gunicorn master: the serve process)."""
        return children(self.proc.pid)

    def stop(self) -> None:
        """TERM the process group, KILL after 15 s."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def get_json(url: str) -> dict:
    """GET ``url`` and parse JSON."""
    with urllib.request.urlopen(url, timeout=60) as resp:
        return json.loads(resp.read())


def metrics(base: str) -> dict[str, float]:
    """Return the geosvc gauges and request counts of ``/metrics`` (summed over labels)."""
    with urllib.request.urlopen(base + "/metrics", timeout=30) as resp:
        text = resp.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith("geosvc_"):
            continue
        name, _, value = line.rpartition(" ")
        family = name.split("{", 1)[0]
        if family in ("geosvc_snapshot_revision", "geosvc_venues",
                      "geosvc_reload_seconds_last"):
            out[family] = max(out.get(family, 0.0), float(value))
        elif family == "geosvc_requests_total":
            out[family] = out.get(family, 0.0) + float(value)
            if 'status="5' in name:
                out["5xx"] = out.get("5xx", 0.0) + float(value)
    return out


def mixed_script(path: Path, base: str) -> int:
    """Write the wrk script of the mixed load; return the number of venues it uses.

    Per 8 requests: 2 nearest walk, 2 nearest straight (at a random point up to
    ~100 m off a random venue: new coordinates every time, so a cache keyed by
    the query would grow), 1 search (a fixed text, or one with a random number:
    new texts), 2 venue pages (every venue in turn), 1 app shell.
    """
    doc = get_json(base + "/api/v1/venues?limit=1000")
    feats = doc["features"]
    pts = ",\n".join(f"{{{x:.6f},{y:.6f}}}" for x, y in
                     (f["geometry"]["coordinates"] for f in feats))
    codes = ",\n".join(
        json.dumps(urllib.parse.quote(str(f.get("id") or f["properties"]["code"]), safe=""))
        for f in feats)
    texts = ",\n".join(json.dumps(urllib.parse.quote(q)) for q in SEARCHES)
    path.write_text(
        f"local pts = {{\n{pts}\n}}\n"
        f"local codes = {{\n{codes}\n}}\n"
        f"local texts = {{\n{texts}\n}}\n"
        "local i = 0\n"
        "local v = 0\n"
        "init = function(args) math.randomseed(os.time() + math.random(1000)); "
        "i = math.random(8); v = math.random(#codes) end\n"
        "request = function()\n"
        "  i = i % 8 + 1\n"
        "  if i <= 4 then\n"
        "    local p = pts[math.random(#pts)]\n"
        "    local mode = (i <= 2) and 'walk' or 'straight'\n"
        "    local x = p[1] + (math.random() - 0.5) * 0.0036\n"
        "    local y = p[2] + (math.random() - 0.5) * 0.0018\n"
        "    return wrk.format('GET', string.format("
        "'/api/v1/nearest?lon=%.6f&lat=%.6f&mode=%s&k=5', x, y, mode))\n"
        "  elseif i == 5 then\n"
        "    local q = texts[math.random(#texts)]\n"
        "    if math.random() < 0.5 then q = q .. math.random(100000) end\n"
        "    return wrk.format('GET', '/api/v1/search?q=' .. q)\n"
        "  elseif i <= 7 then\n"
        "    v = v % #codes + 1\n"
        "    return wrk.format('GET', '/venues/' .. codes[v])\n"
        "  end\n"
        "  return wrk.format('GET', '/')\n"
        "end\n")
    return len(feats)


def window_mean(samples: list[dict], pid: int, lo: float, hi: float) -> float:
    """Mean RSS (MB) of worker ``pid`` over samples taken at lo <= t <= hi seconds."""
    vals = [s["workers"][pid]["rss"] for s in samples
            if lo <= s["t"] <= hi and pid in s["workers"]]
    return sum(vals) / len(vals) if vals else float("nan")


@click.command()
@click.option("--duration", default=600, show_default=True,
              help="Seconds of mixed load (600 = the issue's 10-minute soak).")
@click.option("--sample", default=10, show_default=True, help="Seconds between RSS samples.")
@click.option("--connections", default=16, show_default=True, help="wrk connections.")
@click.option("--workers", default=2, show_default=True, help="geosvc serve --workers.")
@click.option("--quick", is_flag=True, help="90 s of load (first / last 30 s compared).")
@write_md_option
def main(duration: int, sample: int, connections: int, workers: int, quick: bool,
         write_md: Path | None) -> None:
    """Soak geosvc serve with mixed load; report RSS first vs last minute and errors."""
    from geosvc.demo import demo_osm_path, ensure_demo_db  # lazy: heavy, CLI only

    if quick:
        duration = 90

    if shutil.which("wrk") is None:
        raise click.ClickException("wrk is not installed (apt-get install wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="geosvc-bench-soak-"))
    server = None
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    load = os.getloadavg()
    try:
        db = ensure_demo_db(tmp / "demo.sqlite")
        server = GeosvcServer(db, demo_osm_path(), tmp, workers=workers)
        server.ready()
        script = tmp / "mixed.lua"
        n_reqs = mixed_script(script, server.base)
        # warm: every distinct request once through both workers' first-request costs
        subprocess.run(["wrk", "-t2", f"-c{connections}", "-d5s", "-s", str(script),
                        server.base], capture_output=True, check=True, timeout=120)
        pids = server.workers()
        cpu0 = {p: cpu_s(p) for p in pids}
        before = metrics(server.base)
        cmd = ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency",
               "-s", str(script), server.base]
        click.echo(f"soak: {' '.join(cmd[:-3])} (mixed, {n_reqs} venues), "
                   f"workers {pids}, sampling every {sample} s", err=True)
        samples: list[dict] = []
        wrk = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out: list[str] = []
        reader = threading.Thread(target=lambda: out.append(wrk.stdout.read() if wrk.stdout
                                                            else ""))
        reader.start()
        t0 = time.monotonic()
        while wrk.poll() is None:
            t = time.monotonic() - t0
            samples.append({"t": t, "workers": {p: proc_status(p) for p in pids},
                            "metrics_kb": dir_bytes(server.metrics_dir) / 1024,
                            "load": os.getloadavg()[0]})
            if int(t) % 60 < sample:
                w = "  ".join(f"{p}: {samples[-1]['workers'][p]['rss']:.0f} MB" for p in pids)
                click.echo(f"  t={t:5.0f} s  {w}  metrics dir "
                           f"{samples[-1]['metrics_kb']:.0f} KB  load "
                           f"{samples[-1]['load']:.1f}", err=True)
            time.sleep(min(sample, max(0.5, duration + 1 - t)))
        reader.join()
        f = parse_wrk(out[0])
        after = metrics(server.base)
        cpu1 = {p: cpu_s(p) for p in pids}
        now_pids = server.workers()
    finally:
        if server is not None:
            server.stop()
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(tmp, ignore_errors=True)
    window = min(60.0, duration / 3)
    end = samples[-1]["t"]
    loads = [s["load"] for s in samples]
    click.echo(f"\nsoak of geosvc serve --workers {workers} (demo city, walk network), "
               f"wrk -t2 -c{connections} -d{duration}s, mixed: nearest walk + straight, "
               f"search, venue pages, app shell; 127.0.0.1")
    click.echo(f"machine: {os.cpu_count()} cores, load average at start {load[0]:.1f}, "
               f"during the soak {min(loads):.1f}..{max(loads):.1f} "
               f"(mean {sum(loads) / len(loads):.1f})")
    click.echo(f"throughput {f['rps']:.0f} req/s, p50 {f['p50_ms']:.2f} ms, "
               f"p99 {f['p99_ms']:.2f} ms, {len(samples)} RSS samples")
    checks = []
    restarted = sorted(set(now_pids) ^ set(pids))
    for pid in pids:
        first = window_mean(samples, pid, 0, window)
        last = window_mean(samples, pid, end - window, end)
        hwm = max(s["workers"][pid]["hwm"] for s in samples if pid in s["workers"])
        growth = (last - first) / first
        click.echo(f"  worker {pid}: RSS first {window:.0f} s {first:.1f} MB, last "
                   f"{window:.0f} s {last:.1f} MB ({growth:+.1%}), peak {hwm:.1f} MB; "
                   f"{cpu1[pid] - cpu0[pid]:.0f} CPU s")
        checks.append((f"worker {pid} RSS flat within 10 % ({growth:+.1%})",
                       abs(growth) <= 0.10))
    mkb = [s["metrics_kb"] for s in samples]
    click.echo(f"  Prometheus multiprocess files: {mkb[0]:.0f} KB -> {mkb[-1]:.0f} KB")
    served = after.get("geosvc_requests_total", 0) - before.get("geosvc_requests_total", 0)
    click.echo(f"  /metrics: {served:,.0f} requests counted during the soak, "
               f"5xx {after.get('5xx', 0) - before.get('5xx', 0):.0f}")
    errors = f["non2xx"] + f["errors"]
    checks.append((f"errors 0 (non-2xx {f['non2xx']:.0f}, socket errors {f['errors']:.0f})",
                   errors == 0))
    checks.append((f"no worker restarted ({restarted or 'none'})", not restarted))
    for text, ok in checks:
        click.echo(f"  [{'met' if ok else 'MISSED'}] {text}")
    finish(write_md, __file__, checks)


if __name__ == "__main__":
    main()
