#!/usr/bin/env python
"""Benchmark the citizen-facing HTTP answers of the demo city (issue 10, speed).

Serves geosvc over the demo city (walking network) as ``geosvc serve`` does
(gunicorn, 2 asgi workers: ``geosvc.web.asgi:create_asgi_app()``) and a bare
Flask app answering static HTML pages of the same sizes as the app shell
(``/``) and the map page (``/map``), once behind the same asyncio front (the
like-for-like peer of the target) and once on gunicorn's sync worker, all on
127.0.0.1, and reports in one run:

* the citizens' app shell ``/`` and ``/map``: requests/s vs the bare static
  page of the same size (target >= 0.5x), with and without
  ``Accept-Encoding: gzip``;
* first-view bytes with gzip: the HTML plus the JS/CSS it loads from this
  server (map tiles excluded; target <= 250 KB), for ``/`` also the landing
  state's API answer (the nearest open hall);
* ``/api/v1/nearest?mode=walk`` p50 / p99 at points near the demo's venues.

Reuses the server and wrk helpers of ``scripts/bench_index.py``.

Usage::

    python scripts/bench_http.py [--duration 10] [--workers 2]
"""

from __future__ import annotations

import gzip
import json
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
from bench_index import Servers, parse_wrk, wait_ready  # noqa: E402

#: The map page benchmarked: the default page (every venue of the demo), as the issue measured.
MAP_QUERY = "/map"
#: The citizens' app shell.
APP_QUERY = "/"
GZ = {"Accept-Encoding": "gzip"}


def bare_page_app():
    """Return a bare Flask app serving static HTML pages (gunicorn).

    ``BENCH_PAGE_BYTES`` bytes at ``/map``, ``BENCH_SHELL_BYTES`` at ``/``.
    """
    from flask import Flask, Response  # lazy: only in the bare server process

    def page(env: str, default: str) -> bytes:
        return b"<!doctype html><title>x</title>" + b"x" * max(
            0, int(os.environ.get(env, default)) - 31)

    map_page, shell = page("BENCH_PAGE_BYTES", "650000"), page("BENCH_SHELL_BYTES", "10000")
    app = Flask("bench_bare_page")

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


def nearest_script(path: Path, base: str) -> None:
    """Write a wrk script asking walk nearest at points 30-60 m off the demo's venues."""
    doc, _ = fetch(base + "/api/v1/venues?limit=200")
    pts = [f["geometry"]["coordinates"] for f in json.loads(doc)["features"]]
    rows = ",\n".join(f"{{{x + 0.0005:.6f},{y + 0.0003:.6f}}}" for x, y in pts)
    path.write_text(
        f"local pts = {{\n{rows}\n}}\n"
        "math.randomseed(42)\n"
        "request = function()\n"
        "  local p = pts[math.random(#pts)]\n"
        "  return wrk.format('GET', '/api/v1/nearest?lon=' .. p[1] .. '&lat=' .. p[2]"
        " .. '&mode=walk&k=5')\n"
        "end\n")


def wrk(url: str, duration_s: int, *, headers: dict[str, str] | None = None,
        script: Path | None = None) -> dict[str, float]:
    """Load ``url`` with ``wrk -t2 -c8``; return requests/s, p50, p99 (ms), non-2xx."""
    cmd = ["wrk", "-t2", "-c8", f"-d{duration_s}s", "--latency"]
    for k, v in (headers or {}).items():
        cmd += ["-H", f"{k}: {v}"]
    if script is not None:
        cmd += ["-s", str(script)]
    cmd.append(url)
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=duration_s + 60,
                         check=True)
    return parse_wrk(res.stdout)


def _line(name: str, f: dict[str, float]) -> str:
    return (f"{name:<34} {f['rps']:8.0f} req/s  p50 {f['p50_ms']:7.2f} ms  "
            f"p99 {f['p99_ms']:7.2f} ms  non-2xx {f['non2xx']:.0f}")


@click.command()
@click.option("--duration", default=10, show_default=True, help="Seconds of wrk load per run.")
@click.option("--workers", default=2, show_default=True, help="gunicorn workers per app.")
def main(duration: int, workers: int) -> None:
    """Map page vs a bare static page, first-view bytes, nearest walk p99."""
    from geosvc.demo import demo_osm_path, ensure_demo_db  # lazy: heavy, CLI only

    if shutil.which("wrk") is None:
        raise click.ClickException("wrk is not installed (apt-get install wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="geosvc-bench-http-"))
    servers = Servers()
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        db = ensure_demo_db(tmp / "demo.sqlite")
        env = {"GEOSVC_DB": str(db), "GEOSVC_OSM": str(demo_osm_path()),
               "GEOSVC_MODES": "walk", "GEOSVC_CACHE_DIR": str(tmp / "cache")}
        log = tmp / "geosvc.log"
        base = servers.start("geosvc.web.asgi:create_asgi_app()", env, workers=workers,
                             log=log, asgi=True)
        wait_ready(base + "/healthz", servers.procs[-1], log)
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
        script = tmp / "nearest.lua"
        nearest_script(script, base)
        figures = {}
        wrk(base + "/api/v1/nearest?lon=24.94&lat=60.17&mode=walk", 2, script=script)  # warm
        figures["nearest walk"] = wrk(base, duration, script=script)
        for path in (APP_QUERY, MAP_QUERY):
            wrk(base + path, 2)  # warm both workers' page caches
            figures[f"geosvc {path}"] = wrk(base + path, duration)
            figures[f"geosvc {path} (gzip)"] = wrk(base + path, duration, headers=GZ)
        servers.stop()
        bare_env = {"BENCH_PAGE_BYTES": str(sizes[MAP_QUERY]),
                    "BENCH_SHELL_BYTES": str(sizes[APP_QUERY])}
        here = str(Path(__file__).resolve().parent)
        for label, app, asgi in (("asgi", "bench_http:bare_page_asgi()", True),
                                 ("sync", "bench_http:bare_page_app()", False)):
            log = tmp / f"bare-{label}.log"
            bare = servers.start(app, bare_env, workers=workers, pythonpath=here, log=log,
                                 asgi=asgi)
            wait_ready(bare + "/map", servers.procs[-1], log)
            for path in (APP_QUERY, MAP_QUERY):
                wrk(bare + path, 2)
                figures[f"bare Flask {path} ({label})"] = wrk(bare + path, duration)
            servers.stop()
    finally:
        servers.stop()
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(tmp, ignore_errors=True)
    click.echo(f"\ngunicorn -w {workers}, wrk -t2 -c8 -d{duration}s, 127.0.0.1")
    for name, f in figures.items():
        click.echo(_line(name, f))
    walk = figures["nearest walk"]
    checks = []
    for path in (APP_QUERY, MAP_QUERY):
        ratio = figures[f"geosvc {path}"]["rps"] / figures[f"bare Flask {path} (asgi)"]["rps"]
        sync = figures[f"geosvc {path}"]["rps"] / figures[f"bare Flask {path} (sync)"]["rps"]
        checks += [
            (f"{path} vs a bare static page of the same size, same server >= 0.5x "
             f"({ratio:.2f}x; vs the bare page on gunicorn's sync worker {sync:.2f}x)",
             ratio >= 0.5),
            (f"{path} first-view bytes <= 250 KB gzip, tiles excluded "
             f"({totals[path] / 1024:.0f} KB)", totals[path] <= 250 * 1024),
        ]
    checks += [
        (f"/api/v1/nearest?mode=walk p99 {walk['p99_ms']:.2f} ms "
         f"(non-2xx {walk['non2xx']:.0f})", True),
    ]
    for text, ok in checks:
        click.echo(f"  [{'met' if ok else 'MISSED'}] {text}")


if __name__ == "__main__":
    main()
