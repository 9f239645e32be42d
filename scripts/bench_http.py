#!/usr/bin/env python
"""Benchmark geosvc over HTTP against a bare Flask app in the same run (issues 10 and 11).

Serves geosvc over the demo city (walking network) as ``geosvc serve`` does
(gunicorn, 2 asgi workers: ``geosvc.web.asgi:create_asgi_app()``), and a bare
Flask app answering, without any work, bodies of the same sizes: the JSON
answers geosvc gave (captured first, serialised again per request) and static
HTML pages of the sizes of the app shell (``/``) and the map (``/map``), once
behind the same asyncio front (the like-for-like peer of the targets) and once
on gunicorn's sync worker; all on 127.0.0.1.  Every route is loaded with
``wrk -t2 -c16`` for ``--duration`` seconds (default 20, after a 2 s warm-up)
and reports requests/s, p50 / p99, errors (non-2xx and socket errors:
target 0) and the server's CPU per request (its process group's user +
system CPU over the load / requests answered: other jobs on the machine
move it less than requests/s):

* ``/api/v1/nearest?mode=straight&k=5`` and ``mode=walk`` at points 30-60 m
  off the demo's venues (target for straight: >= 0.5x the bare JSON app),
* ``/api/v1/coverage?mode=walk&minutes=10`` (the demo, every venue; the same
  query every time, so after the first it is answered from the answer cache:
  target >= 0.5x, issue 13; nearest walk: target >= 0.4x),
* the citizens' app shell ``/`` and the map ``/map`` (target >= 0.5x the bare
  static page), with and without ``Accept-Encoding: gzip``;

each route and its bare peers are loaded in turn (``--rounds`` turns of
``duration / rounds`` seconds each), so that a change in the machine's other
load hits them alike;
* first-view bytes with gzip: the HTML plus the JS/CSS it loads from this
  server (map tiles excluded; target <= 250 KB), for ``/`` also the landing
  state's API answer (the nearest open hall).

The heavy-analysis rate limit (``heavy_rate_limit``, 60/minute per client)
is raised to 10 million a minute for the run (its check still runs): one
benchmarking client would otherwise get 429s on coverage by design.  (An empty
``GEOSVC_HEAVY_RATE_LIMIT`` does not switch it off: the settings read an empty
value as the default.)  Reuses the server and wrk helpers of
``scripts/bench_index.py``.

Usage::

    python scripts/bench_http.py                  # c16, 20 s a route and app (~7 minutes)
    python scripts/bench_http.py --duration 4 --rounds 2   # a quick run
"""

from __future__ import annotations

import gzip
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import click

# the servers (gunicorn, started from the current directory) and this process must
# import the same geosvc: the checkout this script belongs to, not an installed one
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
from _benchmd import finish, write_md_option  # noqa: E402
from bench_index import Servers, parse_wrk, wait_ready  # noqa: E402

#: The map page benchmarked: the default page (every venue of the demo), as the issue measured.
MAP_QUERY = "/map"
#: The citizens' app shell.
APP_QUERY = "/"
GZ = {"Accept-Encoding": "gzip"}
#: ``heavy_rate_limit`` of the benchmarked server: never reached by one client's wrk.
BENCH_RATE_LIMIT = "10000000/minute"


def bare_page_app():
    """Return a bare Flask app serving static HTML pages and JSON answers (gunicorn).

    ``BENCH_PAGE_BYTES`` bytes at ``/map``, ``BENCH_SHELL_BYTES`` at ``/``;
    ``BENCH_JSON_DOCS`` (``{name: document}``): ``/api/v1/<name>`` answers
    ``jsonify(document)``, whatever the query.
    """
    from flask import Flask, Response, jsonify  # lazy: only in the bare server process

    def page(env: str, default: str) -> bytes:
        return b"<!doctype html><title>x</title>" + b"x" * max(
            0, int(os.environ.get(env, default)) - 31)

    map_page, shell = page("BENCH_PAGE_BYTES", "650000"), page("BENCH_SHELL_BYTES", "10000")
    app = Flask("bench_bare_page")
    # the JSON answers geosvc gave, parsed once and serialised again per request
    docs = json.loads(os.environ.get("BENCH_JSON_DOCS", "{}"))

    def json_route(name: str, doc: object) -> None:
        app.add_url_rule(f"/api/v1/{name}", name, lambda: jsonify(doc))

    for name, doc in docs.items():
        json_route(name, doc)

    @app.get("/map")
    def static_page():
        return Response(map_page, mimetype="text/html")

    @app.get("/")
    def static_shell():
        return Response(shell, mimetype="text/html")

    return app


def bare_page_asgi():
    """Return the bare app behind the same asyncio front as ``geosvc serve`` (like for like)."""
    from geosvc.web.asgi import asgi_app  # lazy: only in the bare server process

    return asgi_app(bare_page_app(), max_body_bytes=1_000_000, body_timeout_s=30, threads=4)


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[bytes, dict[str, str]]:
    """GET ``url``; return the bytes as transferred and the headers."""
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=60) as resp:
        # header names case-folded: the asgi worker sends them in lower case
        return resp.read(), {k.title(): v for k, v in resp.headers.items()}


def first_view(base: str, path: str = MAP_QUERY
               ) -> tuple[int, int, list[tuple[str, int]], list[str]]:
    """Return (HTML gzip bytes, HTML identity bytes, [(asset, gzip bytes)], external URLs).

    For the app shell (``/``) the assets include the landing state's API
    answer (the nearest open hall to the centre in the page's data).
    """
    raw, head = fetch(base + path, GZ)
    html = gzip.decompress(raw) if head.get("Content-Encoding") == "gzip" else raw
    refs = re.findall(rb'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assets, external = [], []
    for ref in dict.fromkeys(r.decode() for r in refs):
        if ref.startswith("/"):
            body, _ = fetch(base + ref, GZ)
            assets.append((ref, len(body)))
        else:
            external.append(ref)
    data = re.search(rb'<script type="application/json" id="geosvc-app-data">(.*?)</script>',
                     html, re.S)
    if data is not None:
        page = json.loads(data.group(1))
        lon, lat = page["centre"]
        landing = (f"/api/v1/nearest?lon={lon:.6f}&lat={lat:.6f}&mode={page['modes'][0]}"
                   "&route=true&k=1&kind=hall&open_now=true")
        body, _ = fetch(base + landing, GZ)
        assets.append((landing, len(body)))
    return len(raw), len(html), assets, external


def nearest_script(path: Path, base: str, mode: str = "walk") -> None:
    """Write a wrk script asking nearest (``mode``) at points 30-60 m off the demo's venues."""
    doc, _ = fetch(base + "/api/v1/venues?limit=200")
    pts = [f["geometry"]["coordinates"] for f in json.loads(doc)["features"]]
    rows = ",\n".join(f"{{{x + 0.0005:.6f},{y + 0.0003:.6f}}}" for x, y in pts)
    path.write_text(
        f"local pts = {{\n{rows}\n}}\n"
        "math.randomseed(42)\n"
        "request = function()\n"
        "  local p = pts[math.random(#pts)]\n"
        "  return wrk.format('GET', '/api/v1/nearest?lon=' .. p[1] .. '&lat=' .. p[2]"
        f" .. '&mode={mode}&k=5')\n"
        "end\n")


#: wrk connections (the issue's c16); set from ``--connections``.
CONNECTIONS = [16]


def wrk(url: str, duration_s: int, *, headers: dict[str, str] | None = None,
        script: Path | None = None) -> dict[str, float]:
    """Load ``url`` with ``wrk -t2 -cN``; return requests/s, p50, p99 (ms), non-2xx, errors."""
    cmd = ["wrk", "-t2", f"-c{CONNECTIONS[0]}", f"-d{duration_s}s", "--latency",
           "--timeout", "30s"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    if script is not None:
        cmd += ["-s", str(script)]
    cmd.append(url)
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=duration_s + 60,
                         check=True)
    out = parse_wrk(res.stdout)
    done = re.search(r"(\d+) requests in", res.stdout)
    out["requests"] = float(done.group(1)) if done else math.nan
    return out


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of process group ``pgid``.

    A gunicorn server started by :class:`bench_index.Servers` is its own
    group (master and workers); the master idles, so the difference over a
    load is its workers' CPU for the requests answered.
    """
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[2]) == pgid:  # pgrp
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / tick


def _line(name: str, f: dict[str, float]) -> str:
    cpu = f.get("cpu_us", math.nan)
    return (f"{name:<40} {f['rps']:8.0f} req/s  p50 {f['p50_ms']:7.2f} ms  "
            f"p99 {f['p99_ms']:8.2f} ms  errors {f['non2xx'] + f['errors']:.0f}"
            + ("" if math.isnan(cpu) else f"  server CPU {cpu:5.0f} µs/request"))


#: The coverage analysis loaded (the demo, every venue, 10 minutes' walk).
COVERAGE_QUERY = "/api/v1/coverage?mode=walk&minutes=10"


def api_answer(base: str, path: str) -> dict:
    """GET a JSON answer of geosvc (the bare app serves the same document)."""
    body, _ = fetch(base + path)
    return json.loads(body)


def first_views(base: str) -> tuple[dict[str, int], dict[str, int]]:
    """Print the first-view bytes of ``/`` and ``/map``; return HTML sizes and totals."""
    sizes, totals = {}, {}
    for path in (APP_QUERY, MAP_QUERY):
        gz_html, html_bytes, assets, external = first_view(base, path)
        sizes[path] = html_bytes
        totals[path] = gz_html + sum(n for _, n in assets)
        click.echo(f"{path} HTML: {html_bytes:,} bytes, {gz_html:,} gzip'd; first view "
                   f"{totals[path]:,} bytes")
        for ref, n in assets:
            click.echo(f"  {ref}: {n:,} bytes as sent")
        if external:
            click.echo(f"  external (not counted, loaded from elsewhere): {external}")
    return sizes, totals


#: One load: (label, URL, wrk script or None, request headers or None).
Load = tuple[str, str, "Path | None", "dict[str, str] | None"]


def groups_of(base: str, bare: dict[str, str], tmp: Path) -> dict[str, list[Load]]:
    """Return the routes loaded, each with its bare peers (loaded in turn with it)."""
    scripts = {}
    for mode in ("straight", "walk"):
        scripts[mode] = tmp / f"nearest-{mode}.lua"
        nearest_script(scripts[mode], base, mode)
    peers = {name: [(f"bare Flask ({label})", url + path, None, None)
                    for label, url in bare.items()]
             for name, path in (("nearest", "/api/v1/nearest?lon=24.94&lat=60.17"),
                                ("coverage", COVERAGE_QUERY), (APP_QUERY, APP_QUERY),
                                (MAP_QUERY, MAP_QUERY))}
    return {
        "nearest straight": [("geosvc", base, scripts["straight"], None), *peers["nearest"]],
        "nearest walk": [("geosvc", base, scripts["walk"], None), *peers["nearest"]],
        "coverage walk 10 min": [("geosvc", base + COVERAGE_QUERY, None, None),
                                 *peers["coverage"]],
        APP_QUERY: [("geosvc", base + APP_QUERY, None, None),
                    ("geosvc gzip", base + APP_QUERY, None, GZ), *peers[APP_QUERY]],
        MAP_QUERY: [("geosvc", base + MAP_QUERY, None, None),
                    ("geosvc gzip", base + MAP_QUERY, None, GZ), *peers[MAP_QUERY]],
    }


def load_group(loads: list[Load], duration: int, rounds: int,
               pgid_of: dict[str, int] | None = None) -> dict[str, dict[str, float]]:
    """Load each member in turn, ``rounds`` times ``duration / rounds`` s each; aggregate.

    Interleaving keeps a ratio fair when the machine's other load changes
    during the run: req/s is the mean over the rounds, p50 the median of the
    rounds' p50, p99 the largest of the rounds' p99, errors the sum.
    ``pgid_of`` (base URL -> the server's process group): also the server's
    CPU per request (``cpu_us``: its workers' user + system CPU over all
    rounds / requests answered), a figure the machine's other jobs move
    less than req/s (they take cores away; they add less CPU per request).
    """
    step = max(1, round(duration / rounds))
    for _, url, script, headers in loads:  # warm (both workers, page caches)
        wrk(url, 2, script=script, headers=headers)
    runs: dict[str, list[dict[str, float]]] = {label: [] for label, *_ in loads}
    cpu: dict[str, float] = dict.fromkeys(runs, 0.0)
    groups = {label: next((g for base, g in (pgid_of or {}).items()
                           if url == base or url.startswith(base + "/")), None)
              for label, url, *_ in loads}
    for _ in range(rounds):
        for label, url, script, headers in loads:
            group = groups[label]
            before = group_cpu_s(group) if group is not None else 0.0
            runs[label].append(wrk(url, step, script=script, headers=headers))
            if group is not None:
                cpu[label] += group_cpu_s(group) - before
    out = {}
    for label, fs in runs.items():
        p50s = sorted(f["p50_ms"] for f in fs)
        answered = sum(f["requests"] for f in fs)
        out[label] = {"rps": sum(f["rps"] for f in fs) / len(fs),
                      "p50_ms": p50s[len(p50s) // 2], "p99_ms": max(f["p99_ms"] for f in fs),
                      "non2xx": sum(f["non2xx"] for f in fs),
                      "errors": sum(f["errors"] for f in fs),
                      "cpu_us": (cpu[label] / answered * 1e6
                                 if groups[label] is not None and answered else math.nan)}
    return out


def in_process(db: Path, docs: dict, cache: Path, n: int = 400) -> dict[str, float]:
    """CPU microseconds a request of geosvc and of the bare app, in this process (no server).

    The Flask test client, the two apps taken in turn (``thread_time``: CPU of
    this thread, so other jobs on the machine barely move it): nearest straight
    and walk at the points of the wrk scripts, the repeated coverage query, and
    ``/`` (the bare app answers the JSON routes with the same documents).
    """
    import time  # lazy: only this measurement

    from geosvc.demo import demo_osm_path  # lazy: heavy, CLI only
    from geosvc.web import create_app  # lazy: heavy, CLI only

    ours = create_app({"db": str(db), "osm": str(demo_osm_path()), "modes": "walk",
                       "cache_dir": str(cache), "heavy_rate_limit": BENCH_RATE_LIMIT})
    os.environ["BENCH_JSON_DOCS"] = json.dumps(docs)
    bare = bare_page_app()
    venues = json.loads(ours.test_client().get("/api/v1/venues?limit=200").data)["features"]
    pts = [f["geometry"]["coordinates"] for f in venues]
    paths = {mode: [f"/api/v1/nearest?lon={x + 0.0005:.6f}&lat={y + 0.0003:.6f}&mode={mode}&k=5"
                    for x, y in pts] for mode in ("straight", "walk")}
    out: dict[str, float] = {}
    for label, app in (("geosvc", ours), ("bare", bare)):
        client = app.test_client()
        for route, urls in (("nearest straight", paths["straight"]),
                            ("nearest walk", paths["walk"]),
                            ("coverage repeated", [COVERAGE_QUERY]), ("/", ["/"])):
            for u in urls[:20]:
                assert client.get(u).status_code == 200
            best = float("inf")
            for _ in range(3):
                t = time.thread_time()
                for i in range(n):
                    client.get(urls[i % len(urls)])
                best = min(best, (time.thread_time() - t) / n * 1e6)
            out[f"{label} {route}"] = best
    return out


def report(figures: dict, totals: dict, docs: dict, duration: int, rounds: int, workers: int,
           loads: tuple[float, float]) -> list[tuple[str, bool | None]]:
    """Print every figure, then each target met or missed; return the targets."""
    click.echo(f"\ngunicorn -w {workers} (geosvc: asgi workers as `geosvc serve`, heavy rate "
               f"limit {BENCH_RATE_LIMIT}), wrk -t2 -c{CONNECTIONS[0]}, {duration} s a route "
               f"in {rounds} rounds taken in turn with its peers, 127.0.0.1")
    click.echo(f"machine: {os.cpu_count()} cores, load average {loads[0]:.1f} at start, "
               f"{loads[1]:.1f} at the end (1-min): other jobs share the cores")
    near, cov = (len(json.dumps(docs[k])) for k in ("nearest", "coverage"))
    click.echo("bare Flask: the same bytes without the work (JSON: geosvc's answer "
               f"re-serialised per request: nearest {near:,} B, coverage {cov:,} B; pages: "
               "static HTML of the same size), on the same asyncio front (asgi) and on "
               "gunicorn's sync worker")
    for group, figs in figures.items():
        click.echo(f"{group}:")
        for label, f in figs.items():
            click.echo(_line(f"  {label}", f))
    checks = []

    def vs(group: str, label: str = "geosvc") -> tuple[float, float]:
        g = figures[group][label]["rps"]
        return (g / figures[group]["bare Flask (asgi)"]["rps"],
                g / figures[group]["bare Flask (sync)"]["rps"])

    def cpu(group: str) -> str:
        """Server CPU per request, bare app (same server) / geosvc: the load-robust ratio."""
        figs = figures[group]
        ratio = figs["bare Flask (asgi)"].get("cpu_us", math.nan) / figs["geosvc"].get(
            "cpu_us", math.nan)
        return "" if math.isnan(ratio) else f"; server CPU a request bare / geosvc {ratio:.2f}x"

    same, sync = vs("nearest straight")
    checks.append((f"nearest straight >= 0.5x the bare JSON app, same server ({same:.2f}x; "
                   f"vs the bare app on the sync worker {sync:.2f}x{cpu('nearest straight')})",
                   same >= 0.5))
    # issue 13: nearest walk >= 0.4x, coverage on repeated requests (the same query
    # every time: answered from the answer cache) >= 0.5x
    for group, target in (("nearest walk", 0.4), ("coverage walk 10 min", 0.5)):
        same, sync = vs(group)
        checks.append((f"{group} >= {target}x the bare JSON app, same server ({same:.2f}x; "
                       f"vs the bare app on the sync worker {sync:.2f}x; "
                       f"p99 {figures[group]['geosvc']['p99_ms']:.1f} ms{cpu(group)})",
                       same >= target))
    for path in (APP_QUERY, MAP_QUERY):
        same, sync = vs(path)
        gz, _ = vs(path, "geosvc gzip")
        checks += [
            (f"{path} vs a bare static page of the same size, same server >= 0.5x "
             f"({same:.2f}x; gzip'd {gz:.2f}x; vs the bare page on gunicorn's sync worker "
             f"{sync:.2f}x)", same >= 0.5),
            (f"{path} first-view bytes <= 250 KB gzip, tiles excluded "
             f"({totals[path] / 1024:.0f} KB)", totals[path] <= 250 * 1024),
        ]
    bad = {f"{group} {label}": f["non2xx"] + f["errors"] for group, figs in figures.items()
           for label, f in figs.items() if f["non2xx"] + f["errors"]}
    checks.append((f"0 errors (non-2xx + socket errors) on every route "
                   f"({bad or 'none'})", not bad))
    for text, ok in checks:
        click.echo(f"  [{'-' if ok is None else 'met' if ok else 'MISSED'}] {text}")
    return checks


@click.command()
@click.option("--duration", default=20, show_default=True,
              help="Seconds of wrk load per route and app (in --rounds turns).")
@click.option("--rounds", default=4, show_default=True,
              help="Turns a route's apps take (interleaved: fair ratios on a busy machine).")
@click.option("--connections", default=16, show_default=True, help="wrk connections.")
@click.option("--workers", default=2, show_default=True, help="gunicorn workers per app.")
@write_md_option
def main(duration: int, rounds: int, connections: int, workers: int,
         write_md: Path | None) -> None:
    """Every route vs a bare Flask app (same run, in turns), first-view bytes, errors."""
    from geosvc.demo import demo_osm_path, ensure_demo_db  # lazy: heavy, CLI only

    if shutil.which("wrk") is None:
        raise click.ClickException("wrk is not installed (apt-get install wrk)")
    CONNECTIONS[0] = connections
    tmp = Path(tempfile.mkdtemp(prefix="geosvc-bench-http-"))
    servers = Servers()
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    load0 = os.getloadavg()[0]
    try:
        db = ensure_demo_db(tmp / "demo.sqlite")
        env = {"GEOSVC_DB": str(db), "GEOSVC_OSM": str(demo_osm_path()),
               "GEOSVC_MODES": "walk", "GEOSVC_CACHE_DIR": str(tmp / "cache"),
               "GEOSVC_HEAVY_RATE_LIMIT": BENCH_RATE_LIMIT}
        log = tmp / "geosvc.log"
        base = servers.start("geosvc.web.asgi:create_asgi_app()", env, workers=workers,
                             log=log, asgi=True)
        wait_ready(base + "/healthz", servers.procs[-1], log)
        pgid_of = {base: servers.procs[-1].pid}  # each server is its own process group
        sizes, totals = first_views(base)
        docs = {"nearest": api_answer(base, "/api/v1/nearest?lon=24.9390&lat=60.1700"
                                            "&mode=straight&k=5"),
                "coverage": api_answer(base, COVERAGE_QUERY)}
        bare_env = {"BENCH_PAGE_BYTES": str(sizes[MAP_QUERY]),
                    "BENCH_SHELL_BYTES": str(sizes[APP_QUERY]),
                    "BENCH_JSON_DOCS": json.dumps(docs)}
        here = str(Path(__file__).resolve().parent)
        bare = {}
        for label, app, asgi in (("asgi", "bench_http:bare_page_asgi()", True),
                                 ("sync", "bench_http:bare_page_app()", False)):
            log = tmp / f"bare-{label}.log"
            bare[label] = servers.start(app, bare_env, workers=workers, pythonpath=here,
                                        log=log, asgi=asgi)
            wait_ready(bare[label] + "/map", servers.procs[-1], log)
            pgid_of[bare[label]] = servers.procs[-1].pid
        figures = {}
        for group, loads in groups_of(base, bare, tmp).items():
            click.echo(f"... {group}", err=True)
            figures[group] = load_group(loads, duration, rounds, pgid_of)
        servers.stop()
        cpu = in_process(db, docs, tmp / "cache")
    finally:
        servers.stop()
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(tmp, ignore_errors=True)
    checks = report(figures, totals, docs, duration, rounds, workers,
                    (load0, os.getloadavg()[0]))
    click.echo("in process (Flask test client, no server; CPU of the thread, best of 3 x 400):")
    for route in ("nearest straight", "nearest walk", "coverage repeated", "/"):
        g, b = cpu[f"geosvc {route}"], cpu[f"bare {route}"]
        click.echo(f"  {route}: geosvc {g:,.0f} µs, bare Flask {b:,.0f} µs a request "
                   f"(bare / geosvc {b / g:.2f}x)")
    finish(write_md, __file__, checks)


if __name__ == "__main__":
    main()
