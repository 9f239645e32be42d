#!/usr/bin/env python
"""Benchmark geosvc side by side with Valhalla (issue 12, item 5); not part of ``make test``.

Usage::

    python scripts/bench_peers.py [--quick] [--reps 3] [--write-md [FILE]]
                                  [--clock wall|cpu] [--valhalla-snap default|ground]
                                  [--valhalla-python PY] [--cache-dir DIR] [--no-http]
                                  [--dump-disagreements FILE] [--common-ways]
                                  [--no-drive] [--valhalla-gate-cost S]

``--clock cpu`` times both engines by process CPU time (the worker's too):
on a machine shared with other jobs, wall-clock figures are mostly waiting.

What it measures, in one run (medians of ``--reps`` >= 3 repetitions):

* **nearest** k=5 from 200 origins (network nodes of the demo's walk network,
  moved 5-40 m off them, seeded) over the demo venues, walk: geosvc in-process
  (``Router.nearest``, pass warm) and over HTTP (``GET /api/v1/nearest``, a
  werkzeug server in this process, one keep-alive connection) vs Valhalla's
  ``sources_to_targets`` (one source x every venue per origin, in-process);
* **coverage** 10 min, the same 200 points x every venue: geosvc's
  multi-source pass (``pass_for`` + ``times_at``) cold (points snapped, a new
  pass) and cached (points snapped once and the pass kept, as the service
  does), vs one Valhalla matrix (points x venues);
* **isochrones** 5/10/15 min: walk on the demo city (in-process and over
  HTTP) and drive on a synthetic >= 20k-node city with one-ways and turn
  restriction relations (``scripts/make_synthetic_city.py``; geosvc and
  Valhalla build from the same ``.osm.pbf``);
* the answers: **same nearest venue** (counted the same when both engines
  pick it, or when either engine's times to the two picks are within 1 s),
  **|dt|** between the engines' quickest times p50 / p90 with geosvc's access
  legs and without them (geosvc charges the walk from the point to the street
  and from the street to the venue; Valhalla does not), **isochrone IoU and
  area ratio** per band (polygons in the network's metric CRS), coverage
  agreement, and on the drive city the ratio of quickest drive times;
* the same answers **from geosvc's street points**: Valhalla is also asked
  from the points where geosvc places the origins and the venues on its
  network (one untimed matrix; isochrones from each start's street point,
  printed beside the raw-start rows and judged like them, with a note naming
  the starts of lowest IoU and where each engine snapped them, e.g. into a
  tunnel).  Both engines then start and end at the same places and neither
  walks an access leg, so "|dt| without access legs" is judged there: from the raw
  points Valhalla snaps by its own rule (e.g. venues onto a ``layer=-3``
  service tunnel 5 m below, 20-minute detours) and geosvc's subtracted legs
  would not be the legs Valhalla skipped.  ``--dump-disagreements FILE``
  writes every origin where the engines disagree (picks, both engines' times
  to both picks), worst first;
* ``--common-ways``: the answers again (nearest from raw and street points,
  isochrone IoU from raw and street points; not timed) with **both engines
  built from the same ways**: the demo extract without the ways Valhalla's
  tile builder drops before routing (every ``area=yes`` way; every way with a
  node outside the extract; every ``highway=trail`` way, a class Valhalla's
  tag table lacks), written by ``scripts/make_common_ways.py``.
  From the raw extract the engines differ by those ways as well as by
  routing; these rows (tagged ``[common ways]``) judge routing only.  The
  raw-extract rows are printed too, untagged, in the same run;
* targets met / missed: same nearest >= 190/200 (raw points, and from
  geosvc's street points), p90 |dt| without access legs <= 0.3 min (street
  points), isochrone IoU >= 0.8 (median over ``--iou-points`` starts, 30 by
  default, untimed: raw points and geosvc's street starts, ``shape=contour``;
  latency is timed on the first ``--iso-points`` of them), isochrone
  latency <= 1x Valhalla, nearest and coverage >= 10x ahead of Valhalla;
  with ``--common-ways`` the same answer targets are judged again on the
  common ways;
* ``--valhalla-gate-cost S`` (default: Valhalla's own 30 s): Valhalla adds 30 s
  of *time* at every gate without access tags, and geosvc the same since its
  rule 10 (``OsmRules.barrier_s``, ``docs/osm-rules.md``); with another ``S``
  the street-point nearest rows (same nearest, p90 |dt|) are printed again with
  Valhalla at ``gate_cost`` S, beside the judged ones, their verdicts shown but
  not counted (geosvc's rules are not changed).

Robust to the engine changing under it: when ``Router.isochrone`` takes a
``shape`` keyword (``shape=contour`` / ``shape=streets``), each shape it
accepts gets its own rows (and the HTTP isochrones pass ``shape`` when
``/openapi.json`` lists it); the IoU target is judged on ``contour`` when it
exists, the latency target on the default shape.

How Valhalla is set up
----------------------
pyvalhalla 3.9.1 wheels need Python >= 3.12, newer than the project's, so the
benchmark makes its own virtual environment in ``<cache>/valhalla/venv``
(interpreter: ``--valhalla-python``, else ``$GEOSVC_VALHALLA_PYTHON``, else
``python3.13`` / ``python3.12`` on ``PATH``, else the newest 3.12+ of
``$(pyenv root)/versions``; without one the Valhalla part is skipped with a
message) and installs ``pyvalhalla==3.9.1`` and ``osmium`` (pyosmium: writes
the synthetic city's ``.osm.pbf``) there, never in the project's venv.  The
Valhalla side runs in a worker process of that venv
(``scripts/_valhalla_worker.py``, JSON lines over pipes; its clock runs
around the ``valhalla.Actor`` call only).

* Tiles: the wheel ships the C++ executables in ``valhalla/bin``
  (``valhalla_build_tiles``; the console script of the same name only finds
  it with the venv's ``bin`` on ``PATH``).  Config from
  ``valhalla.get_config(tile_extract="", tile_dir=DIR)`` with
  ``mjolnir.admin`` / ``timezone`` / ``traffic_extract`` / ``landmarks``
  emptied (no admin database: default country rules), ``concurrency`` 1,
  then ``valhalla_build_tiles -c DIR/valhalla.json FILE.osm.pbf``: ~1.5 s
  for the demo extract, a few s for the synthetic city; rebuilt when the
  ``.pbf``'s size or mtime changes.
* Service limits raised (``max_matrix_location_pairs``, ``max_locations``,
  ``max_distance``; defaults 2,500 pairs / 50 pedestrian locations).
* Costing: walk ``pedestrian`` with ``walking_speed`` = geosvc's
  ``walk_speed_kph`` (4.5 km/h; Valhalla's default 5.1); drive ``auto``
  with its defaults: every way of the synthetic city carries ``maxspeed``,
  which Valhalla takes as the edge speed (and geosvc too), so the remaining
  differences are turn / intersection costs and restrictions.
* Snapping: Valhalla's defaults (``minimum_reachability`` 50, the nearest
  edge of any layer, no access leg charged); ``--valhalla-snap ground`` adds
  ``search_filter: {exclude_tunnel, exclude_bridge}`` to every location
  (geosvc's ground-first rule).  The default agrees better on the demo: the
  three largest |dt| there are surface points Valhalla snaps into the
  ``layer=-3`` service tunnel (6 min detours), but excluding tunnels costs
  more, Helsinki tagging many walkable underpasses ``tunnel=yes``.
* Isochrones: ``contours`` 5/10/15 min, ``polygons: true`` (``denoise`` 1,
  default ``generalize``).
"""

from __future__ import annotations

import http.client
import inspect
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import numpy as np
from _benchmd import Target, finish, write_md_option

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]  # measure the checkout this script belongs to

#: What the benchmark's own venv holds (never installed in the project's venv).
VALHALLA_NEEDS = ("pyvalhalla==3.9.1", "osmium")
#: Environment variable naming the Python (>= 3.12) of the benchmark's venv.
PYTHON_ENV = "GEOSVC_VALHALLA_PYTHON"
BANDS_MIN = (5, 10, 15)
#: Valhalla ``search_filter`` of every location with ``--valhalla-snap ground``: points
#: carry no layer, so like geosvc they go to a road that is neither a tunnel nor a bridge.
#: Not the default: on the demo it agrees less (162 vs 170 same nearest of 200), as
#: Helsinki tags many pedestrian underpasses and station ways ``tunnel=yes``.
GROUND_FILTER = {"exclude_tunnel": True, "exclude_bridge": True}
class _Clock:
    """The clock of the in-process timings and of the worker: ``wall`` or ``cpu``."""

    name = "wall"

    def __call__(self) -> float:
        return time.process_time() if self.name == "cpu" else time.perf_counter()


#: Set once by ``main`` (``--clock``); with ``cpu`` an HTTP request's figure is this
#: process's CPU time (client and server thread) while it is answered.
CLOCK = _Clock()
#: Extra members of every Valhalla location (set once by ``main``).
LOCATION_EXTRA: dict[str, Any] = {}
COVER_MIN = 10.0
#: Valhalla pedestrian options changed one by one (``--common-ways``, informational
#: rows): its 30 s of *time* at every gate without access tags (``gate_cost``; geosvc
#: charges the same since its rule 10, so ``gate_cost 0`` now shows Valhalla without
#: the gate time geosvc charges) and the route-choice penalties that make it report the
#: time of a cheaper, not quicker, route (destination-only 600 s, steps 30 s, service
#: roads...), which geosvc does not charge.
VALHALLA_ALIGNED: dict[str, dict[str, float]] = {
    "gate_cost 0": {"gate_cost": 0},
    "route-choice penalties 0": {
        "gate_penalty": 0, "private_access_penalty": 0, "step_penalty": 0,
        "maneuver_penalty": 0, "destination_only_penalty": 0, "service_penalty": 0,
        "service_factor": 1, "walkway_factor": 1, "alley_factor": 1, "driveway_factor": 1,
        "sidewalk_factor": 1, "living_street_factor": 1, "track_factor": 1},
}
VALHALLA_ALIGNED["gate_cost 0 and route-choice penalties 0"] = {
    **VALHALLA_ALIGNED["gate_cost 0"], **VALHALLA_ALIGNED["route-choice penalties 0"]}
TIE_S = 1.0
#: Valhalla's own pedestrian ``gate_cost``: seconds of *time* it adds at every gate
#: without access tags (geosvc the same: ``OsmRules.barrier_s``).
#: ``--valhalla-gate-cost S`` other than this repeats the street-point nearest rows
#: with Valhalla at ``S`` (not counted).
VALHALLA_GATE_COST_S = 30.0
#: Starts listed, lowest IoU first, under each judged isochrone comparison.
WORST_STARTS = 3


# --------------------------------------------------------------------------- venv / worker

def _py_ok(python: str) -> bool:
    try:
        out = subprocess.run([python, "-c", "import sys;print(sys.version_info >= (3, 12))"],
                             capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return False
    return out.stdout.strip() == "True"


def find_python(explicit: str | None) -> str | None:
    """Return a Python >= 3.12 for the Valhalla venv, or None."""
    named = explicit or os.environ.get(PYTHON_ENV)
    if named:
        return named if _py_ok(named) else None
    for name in ("python3.13", "python3.12"):
        exe = shutil.which(name)
        if exe and _py_ok(exe):
            return exe
    roots = []
    if shutil.which("pyenv"):
        out = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False)
        roots.append(Path(out.stdout.strip()))
    roots.append(Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")))
    found = []
    for root in roots:
        for d in (root / "versions").glob("3.*"):
            m = re.fullmatch(r"3\.(\d+)\.(\d+)", d.name)
            binary = d / "bin" / "python3"
            if m and int(m.group(1)) >= 12 and binary.is_file():
                found.append(((int(m.group(1)), int(m.group(2))), str(binary)))
    for _, exe in sorted(found, reverse=True):
        if _py_ok(exe):
            return exe
    return None


def ensure_venv(python: str, venv: Path) -> Path:
    """Create ``venv`` with ``python`` and install :data:`VALHALLA_NEEDS` unless present."""
    py = venv / "bin" / "python"
    if not py.is_file():
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
    probe = ("import importlib.metadata as m, osmium, valhalla;"
             "print(m.version('pyvalhalla'))")
    have = subprocess.run([str(py), "-c", probe], capture_output=True, text=True, check=False)
    want = VALHALLA_NEEDS[0].split("==")[1]
    if have.returncode != 0 or have.stdout.strip() != want:
        click.echo(f"installing {' '.join(VALHALLA_NEEDS)} into {venv}", err=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", *VALHALLA_NEEDS], check=True)
    return py


class Worker:
    """The Valhalla worker process (``scripts/_valhalla_worker.py``) in the bench venv."""

    def __init__(self, python: Path) -> None:
        script = Path(__file__).with_name("_valhalla_worker.py")
        self.proc = subprocess.Popen([str(python), str(script)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)

    def call(self, **req: Any) -> dict[str, Any]:
        """Send one request, return its answer (RuntimeError on a worker error)."""
        if self.proc.stdin is None or self.proc.stdout is None:
            raise RuntimeError("the Valhalla worker has no pipes")
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            msg = f"the Valhalla worker exited (code {self.proc.poll()})"
            raise RuntimeError(msg)
        ans = json.loads(line)
        if isinstance(ans, dict) and "error" in ans:
            raise RuntimeError(f"Valhalla worker: {ans['error']}")
        return ans

    def batch(self, name: str, action: str, requests: list[dict], repeat: int
              ) -> dict[str, Any]:
        """Time ``actor.<action>`` on each request, ``repeat`` rounds (see the worker)."""
        return self.call(op="batch", name=name, action=action, requests=requests,
                         repeat=repeat, clock=CLOCK.name)

    def close(self) -> None:
        """Ask the worker to quit and wait for it."""
        if self.proc.poll() is None:
            try:
                self.call(op="quit")
            except (RuntimeError, BrokenPipeError, OSError):
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# --------------------------------------------------------------------------- results

@dataclass
class Row:
    """One line of the table: a task, both figures, the ratio / figure and its target."""

    task: str
    geosvc: str
    valhalla: str
    figure: str
    target: str = ""
    met: bool | None = None
    #: False: the verdict is shown but not counted among the run's targets (a row
    #: where Valhalla's costing was changed for the reader, e.g. its gate cost).
    counted: bool = True


@dataclass
class Report:
    """The rows and notes of one run."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *args: Any, **kw: Any) -> None:
        """Add a :class:`Row` (same arguments) and print it."""
        self.rows.append(Row(*args, **kw))
        r = self.rows[-1]
        verdict = "" if r.met is None else ("  MET" if r.met else "  MISSED")
        if verdict and not r.counted:
            verdict += " (not counted)"
        click.echo(f"  {r.task}: geosvc {r.geosvc} | Valhalla {r.valhalla} | {r.figure}"
                   f"{'  [target ' + r.target + ']' if r.target else ''}{verdict}")

    def markdown(self, header: str) -> str:
        """Return the table and notes as markdown under ``header``."""
        out = [f"### {header}", "",
               "| task | geosvc | Valhalla | geosvc / Valhalla or figure | target |",
               "|---|---|---|---|---|"]
        for r in self.rows:
            tgt = r.target + ("" if r.met is None else (" ✔" if r.met else " ✘"))
            if r.met is not None and not r.counted:
                tgt += " (not counted)"
            task = r.task.strip().replace("|", "\\|")
            out.append(f"| {task} | {r.geosvc} | {r.valhalla} | {r.figure} | {tgt} |")
        out.append("")
        out.extend(f"- {n}" for n in self.notes)
        return "\n".join(out) + "\n"


def _ms(s: float) -> str:
    return f"{s * 1e3:.2f} ms" if s < 0.1 else f"{s * 1e3:.0f} ms"


def _per_query_median(rounds: list[list[float]]) -> float:
    """Median over the repetitions of each repetition's median per-query time."""
    return statistics.median(statistics.median(r) for r in rounds)


def _timed(fn: Any, reps: int) -> tuple[float, Any]:
    out = None
    times = []
    for _ in range(reps):
        t0 = CLOCK()
        out = fn()
        times.append(CLOCK() - t0)
    return statistics.median(times), out


# --------------------------------------------------------------------------- geosvc side

def demo_router(cache: Path) -> tuple[Any, Any, Path]:
    """Return (service, walk router, demo .pbf) of the demo city, built under ``cache``."""
    from geosvc.app.service import GeoService
    from geosvc.config import Settings
    from geosvc.demo import demo_osm_path, ensure_demo_db

    pbf = demo_osm_path()
    db = ensure_demo_db(cache / "demo.sqlite")
    settings = Settings(db=str(db), osm=str(pbf), cache_dir=str(cache), modes=("walk",))
    service = GeoService(settings)
    return service, service.travel("walk"), pbf


def _mix(ids: np.ndarray, seed: int) -> np.ndarray:
    """Return a pseudo-random uint64 per id (splitmix64 of id and seed): stable per id."""
    with np.errstate(over="ignore"):
        z = ids.astype(np.uint64) + np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def origins_near_nodes(net: Any, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` WGS-84 points 5-40 m off pseudo-random network nodes (seeded, stable).

    The nodes are the ``n`` node ids of smallest :func:`_mix` key, and each
    point's direction and distance come from its node id too: a network
    change that adds or drops a few nodes (a closed gate) moves only the
    origins at those nodes, not the whole sample (drawing positions with
    ``rng.choice(n_nodes)`` reshuffled every origin when the node count changed).
    Ports of a turn-expanded node share its id: one point per id.
    """
    from pyproj import Transformer

    ids, first = np.unique(np.asarray(net.node_id, dtype=np.int64), return_index=True)
    order = np.argsort(_mix(ids, seed), kind="stable")[:n]
    nodes, pick = first[order], ids[order]
    unit = float(2.0 ** 64)
    ang = _mix(pick, seed + 1).astype(np.float64) / unit * 2 * np.pi
    r = 5.0 + 35.0 * _mix(pick, seed + 2).astype(np.float64) / unit
    x = net.node_x[nodes] + r * np.cos(ang)
    y = net.node_y[nodes] + r * np.sin(ang)
    tf = Transformer.from_crs(net.crs, "EPSG:4326", always_xy=True)
    lon, lat = tf.transform(x, y)
    return np.asarray(lon), np.asarray(lat)


def isochrone_shapes(router: Any) -> list[str | None]:
    """Shapes ``router.isochrone`` accepts: [None] (default) plus each known ``shape``."""
    params = inspect.signature(router.isochrone).parameters
    shapes: list[str | None] = [None]
    if "shape" in params:
        shapes += ["contour", "streets"]
    return shapes


def geosvc_isochrone(router: Any, lon: float, lat: float, shape: str | None) -> list[Any]:
    """Return geosvc's 5/10/15-min bands (``shape`` passed only when given)."""
    kw = {} if shape is None else {"shape": shape}
    return list(router.isochrone(lon, lat, list(BANDS_MIN), **kw))


class HttpServer:
    """geosvc's Flask app behind werkzeug's threaded server on 127.0.0.1 (HTTP/1.1)."""

    def __init__(self, config: dict[str, Any]) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        from geosvc.web import create_app

        class Handler(WSGIRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_request(self, *args: Any, **kw: Any) -> None:
                pass

        self.app = create_app(config)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True,
                                  request_handler=Handler)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def get(self, path: str, params: dict[str, Any]) -> tuple[float, int, bytes]:
        """GET ``path?params``: (seconds to the last byte, status, body).

        With the ``cpu`` clock: the CPU time of this process meanwhile, the
        server's thread included (it runs here).
        """
        url = path + "?" + urllib.parse.urlencode(params)
        t0 = CLOCK()
        self.conn.request("GET", url)
        resp = self.conn.getresponse()
        body = resp.read()
        return CLOCK() - t0, resp.status, body

    def query_params(self, path: str) -> set[str]:
        """Names of the query parameters ``/openapi.json`` lists for ``GET path``."""
        _, status, body = self.get("/openapi.json", {})
        if status != 200:
            return set()
        op = json.loads(body).get("paths", {}).get(path, {}).get("get", {})
        return {str(p["name"]) for p in op.get("parameters", [])
                if isinstance(p, dict) and "name" in p}

    def close(self) -> None:
        """Close the connection and stop the server."""
        self.conn.close()
        self.server.shutdown()
        self.thread.join(timeout=5)


# --------------------------------------------------------------------------- comparisons

def vloc(lon: float, lat: float) -> dict[str, Any]:
    """Return a Valhalla location (with :data:`LOCATION_EXTRA`)."""
    return {"lat": float(lat), "lon": float(lon), **LOCATION_EXTRA}


def _valhalla_times(answer: dict | None, n: int) -> np.ndarray:
    """Row 0 of a sources_to_targets answer as seconds (inf = not reached)."""
    out = np.full(n, np.inf)
    if not answer:
        return out
    for cell in answer["sources_to_targets"][0]:
        if cell.get("time") is not None:
            out[cell["to_index"]] = float(cell["time"])
    return out


def _valhalla_matrix(answer: dict | None, rows: int, cols: int) -> np.ndarray:
    out = np.full((rows, cols), np.inf)
    if not answer:
        return out
    for row in answer["sources_to_targets"]:
        for cell in row:
            if cell.get("time") is not None:
                out[cell["from_index"], cell["to_index"]] = float(cell["time"])
    return out


def _valhalla_polygons(answer: dict | None, crs: str) -> dict[float, Any]:
    """Band minutes -> polygon in ``crs`` from a Valhalla isochrone answer."""
    import shapely
    from pyproj import Transformer
    from shapely.geometry import shape as to_shape

    if not answer:
        return {}
    tf = Transformer.from_crs("EPSG:4326", crs, always_xy=True)

    def project(xy: np.ndarray) -> np.ndarray:
        x, y = tf.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    out = {}
    for feat in answer.get("features", []):
        geom = shapely.make_valid(to_shape(feat["geometry"]))
        out[float(feat["properties"]["contour"])] = shapely.transform(geom, project)
    return out


def _iou(a: Any, b: Any) -> tuple[float, float]:
    """(IoU, area a / area b) of two polygons."""
    from shapely import make_valid

    a, b = make_valid(a), make_valid(b)
    union = a.union(b).area
    iou = a.intersection(b).area / union if union > 0 else float("nan")
    ratio = a.area / b.area if b.area > 0 else float("nan")
    return iou, ratio


def _pct(values: list[float] | np.ndarray, q: float) -> float:
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    return float(np.percentile(arr, q)) if len(arr) else float("nan")


# --------------------------------------------------------------------------- sections

def _http_median(http: HttpServer, path: str, queries: list[dict[str, Any]], reps: int
                 ) -> float:
    """Median per-request seconds of ``GET path`` over ``queries`` (200 answers only)."""
    rounds = []
    for _ in range(reps):
        row = []
        for q in queries:
            dt, status, _ = http.get(path, q)
            if status == 200:
                row.append(dt)
        rounds.append(row or [float("nan")])
    return _per_query_median(rounds)


def with_gate_cost(request: dict[str, Any], gate_cost_s: float) -> dict[str, Any]:
    """Return a copy of a pedestrian ``request`` with Valhalla's ``gate_cost`` set.

    The request and its nested options are not changed.

    >>> q = {"costing": "pedestrian",
    ...      "costing_options": {"pedestrian": {"walking_speed": 4.5}}}
    >>> with_gate_cost(q, 0)["costing_options"]
    {'pedestrian': {'walking_speed': 4.5, 'gate_cost': 0}}
    >>> q["costing_options"]
    {'pedestrian': {'walking_speed': 4.5}}
    """
    options = request.get("costing_options", {})
    ped = {**options.get("pedestrian", {}), "gate_cost": gate_cost_s}
    return {**request, "costing_options": {**options, "pedestrian": ped}}


def gate_cost_variants(worker: Worker, name: str, requests: list[dict[str, Any]],
                       gate_cost_s: float) -> dict[str, list[Any]]:
    """Valhalla's matrix answers with its ``gate_cost`` at ``gate_cost_s`` (untimed).

    Empty when ``gate_cost_s`` is Valhalla's own (:data:`VALHALLA_GATE_COST_S`):
    the judged rows already hold that figure.
    """
    if gate_cost_s == VALHALLA_GATE_COST_S:
        return {}
    ans = worker.batch(name, "matrix", [with_gate_cost(q, gate_cost_s) for q in requests], 1)
    return {f"gate_cost {gate_cost_s:g} s": ans["answers"]}


def bench_nearest(rep: Report, router: Any, worker: Worker | None, olon: np.ndarray,
                  olat: np.ndarray, reps: int, http: HttpServer | None,
                  dump: Path | None = None, *,
                  gate_cost_s: float = VALHALLA_GATE_COST_S) -> None:
    """Nearest k=5: latency in-process and over HTTP, then the answers compared.

    ``gate_cost_s`` other than Valhalla's own: the street-point rows again with
    Valhalla at that gate cost (see :func:`compare_nearest`'s ``variants``).
    """
    venues = router.venues
    n_o, n_v = len(olon), len(venues)
    pts = list(zip(olon.tolist(), olat.tolist(), strict=True))
    router.nearest(*pts[0], candidates=None, k=5)  # warm the pass
    rounds = []
    hits: list[list[Any]] = []
    for _ in range(reps):
        row = []
        hits = []
        for lo, la in pts:
            t0 = CLOCK()
            h = router.nearest(lo, la, candidates=None, k=5)
            row.append(CLOCK() - t0)
            hits.append(h)
        rounds.append(row)
    g_s = _per_query_median(rounds)
    h_s = None
    if http is not None:
        h_s = _http_median(http, "/api/v1/nearest",
                           [{"mode": "walk", "k": 5, "lon": lo, "lat": la} for lo, la in pts],
                           reps)
    task = f"nearest k=5, {n_o} origins x {n_v} venues, walk, in-process"
    if worker is None:
        rep.add(task, _ms(g_s), "skipped", "")
        return
    targets = [vloc(a, b) for a, b in
               zip(venues.lon.tolist(), venues.lat.tolist(), strict=True)]
    reqs = [{"sources": [vloc(lo, la)], "targets": targets,
             "costing": "pedestrian",
             "costing_options": {"pedestrian": {"walking_speed": router.speed_mps * 3.6}}}
            for lo, la in pts]
    ans = worker.batch("walk", "matrix", reqs, reps)
    v_s = _per_query_median(ans["times_s"])
    ratio = g_s / v_s
    rep.add(task, _ms(g_s), _ms(v_s), f"{ratio:.3f}", "<= 0.1", ratio <= 0.1)
    if h_s is not None:
        rep.add("nearest, geosvc over HTTP (Valhalla in-process)", _ms(h_s), _ms(v_s),
                f"{h_s / v_s:.3f}")
    # the same trips from geosvc's street points (answers only, not timed): see compare_nearest
    slon, slat = street_points(router, olon, olat)
    vlon, vlat = _street_lonlat(router, venues, venues.lon, venues.lat)
    s_targets = [vloc(a, b) for a, b in zip(vlon.tolist(), vlat.tolist(), strict=True)]
    s_reqs = [{**r, "sources": [vloc(lo, la)], "targets": s_targets}
              for r, lo, la in zip(reqs, slon.tolist(), slat.tolist(), strict=True)]
    s_ans = worker.batch("walk", "matrix", s_reqs, 1)
    compare_nearest(rep, router, hits, ans["answers"], olon, olat, dump=dump,
                    street_answers=s_ans["answers"],
                    variants=gate_cost_variants(worker, "walk", s_reqs, gate_cost_s))


def compare_nearest(rep: Report, router: Any, hits: list[list[Any]], answers: list[Any],
                    olon: np.ndarray, olat: np.ndarray, *, dump: Path | None = None,
                    street_answers: list[Any] | None = None, tag: str = "",
                    variants: dict[str, list[Any]] | None = None) -> None:
    """Count same nearest venues and |dt| (with / without geosvc's access legs).

    ``answers``: Valhalla's matrix rows from the raw points (each engine snaps
    them its own way).  ``street_answers``: Valhalla's rows from geosvc's
    *street points* (where geosvc places the origins and the venues on its
    network) to the venues' street points: both engines then start and end
    at the same places, so geosvc's time net of its access legs and
    Valhalla's time are both network times only.  The |dt| target "without
    access legs" is judged on those; from the raw points, Valhalla's own
    snapping (a venue put on a ``layer=-3`` service tunnel 5 m away, a
    20-minute detour) would be counted as a routing difference.

    ``tag``: appended to every row and note (``common ways``: both engines built
    from :func:`common_ways_pbf`'s extract, not the raw one).

    ``variants``: more of Valhalla's rows from the street points, each asked with
    its costing changed (name -> answers, e.g. ``gate_cost 0 s``): the same two
    street-point rows for each, their verdicts shown but not counted.

    ``dump``: write one JSON line per origin whose picks differ (not a tie) or whose
    |dt| without access legs exceeds 0.3 min, worst first (see :func:`_dump_row`).
    """
    from geosvc.errors import GeosvcError

    sfx = f" [{tag}]" if tag else ""

    n_o, n_v = len(olon), len(router.venues)
    q_snap = router.snap(olon, olat)
    tg_all = np.full((n_o, n_v), np.inf)
    for i in range(n_o):
        try:
            tg_all[i] = np.asarray(router.times(float(olon[i]), float(olat[i])), dtype=float)
        except GeosvcError:  # OutsideNetwork: counted as unreached
            pass
    raw = _nearest_stats(router, hits, tg_all, answers, q_snap, olon, olat, dump is not None)
    same, counts, d_with, d_without, d_signed, worst, rows = raw
    only_v, only_g, both_none = counts
    judge_raw_dt = street_answers is None
    rep.add(f"same nearest venue (ties within {TIE_S:.0f} s){sfx}", "", "",
            f"{same}/{n_o}", f">= {int(0.95 * n_o)}/{n_o}", same >= 0.95 * n_o)
    rep.notes.append(f"nearest: a venue reached by Valhalla only {only_v}, by geosvc only "
                     f"{only_g}, by neither {both_none} (of {n_o} origins){sfx}")
    rep.add(f"|dt| quickest venue, with access legs, p50 / p90 (min){sfx}", "", "",
            f"{_pct(d_with, 50):.2f} / {_pct(d_with, 90):.2f}")
    p90 = _pct(d_without, 90)
    rep.add("|dt| quickest venue, without access legs, p50 / p90 (min)"
            + ("" if judge_raw_dt else ", Valhalla snapping the raw points") + sfx, "", "",
            f"{_pct(d_without, 50):.2f} / {p90:.2f}", "p90 <= 0.3" if judge_raw_dt else "",
            (p90 <= 0.3) if judge_raw_dt else None)
    rep.notes.append(f"geosvc - Valhalla without access legs, median {_pct(d_signed, 50):+.2f}"
                     f" min (p10 {_pct(d_signed, 10):+.2f}, "
                     f"p90 {_pct(d_signed, 90):+.2f}){sfx}")
    if street_answers is not None:
        st = _nearest_stats(router, hits, tg_all, street_answers, q_snap, olon, olat,
                            dump is not None, street=True)
        s_same, _, _, s_without, s_signed, s_worst, s_rows = st
        rep.add(f"same nearest venue, both engines from geosvc's street points{sfx}", "", "",
                f"{s_same}/{n_o}", f">= {int(0.95 * n_o)}/{n_o}", s_same >= 0.95 * n_o)
        sp90 = _pct(s_without, 90)
        rep.add("|dt| quickest venue, without access legs (both from geosvc's street "
                f"points), p50 / p90 (min){sfx}", "", "",
                f"{_pct(s_without, 50):.2f} / {sp90:.2f}",
                "p90 <= 0.3", sp90 <= 0.3)
        rep.notes.append("from geosvc's street points: geosvc - Valhalla, median "
                         f"{_pct(s_signed, 50):+.2f} min (p10 {_pct(s_signed, 10):+.2f}, "
                         f"p90 {_pct(s_signed, 90):+.2f}){sfx}")
        rows += s_rows
        worst = s_worst
        for what, v_answers in (variants or {}).items():
            v_st = _nearest_stats(router, hits, tg_all, v_answers, q_snap, olon, olat, False,
                                  street=True)
            vp90 = _pct(v_st[3], 90)
            rep.add(f"same nearest venue, both engines from geosvc's street points, "
                    f"Valhalla {what}{sfx}", "", "", f"{v_st[0]}/{n_o}",
                    f">= {int(0.95 * n_o)}/{n_o}", v_st[0] >= 0.95 * n_o, counted=False)
            rep.add("|dt| quickest venue, without access legs (both from geosvc's street "
                    f"points), p50 / p90 (min), Valhalla {what}{sfx}", "", "",
                    f"{_pct(v_st[3], 50):.2f} / {vp90:.2f}", "p90 <= 0.3", vp90 <= 0.3,
                    counted=False)
    if dump is not None:
        rows.sort(key=lambda r: -r["dt_without_s"])
        dump.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        click.echo(f"wrote {len(rows)} disagreements to {dump}", err=True)
    what = ("from geosvc's street points" if street_answers is not None
            else "without access legs")
    for d, i, g, v, tg_min, tv_min in sorted(worst, reverse=True)[:3]:
        rep.notes.append(f"largest |dt| {what}: {d:.1f} min from "
                         f"({olon[i]:.5f}, {olat[i]:.5f}): geosvc {tg_min:.1f} min to venue "
                         f"{g}, Valhalla {tv_min:.1f} min to venue {v}{sfx}")


def _nearest_stats(router: Any, hits: list[list[Any]], tg_all: np.ndarray,
                   answers: list[Any], q_snap: Any, olon: np.ndarray, olat: np.ndarray,
                   dump: bool, *, street: bool = False) -> tuple[Any, ...]:
    """Same-nearest count and |dt| lists of one set of Valhalla answers (one row each)."""
    venues = router.venues
    n_o, n_v = tg_all.shape
    same = both_none = only_g = only_v = 0
    d_with: list[float] = []
    d_without: list[float] = []
    d_signed: list[float] = []
    worst: list[tuple[float, int, int, int, float, float]] = []
    rows: list[dict[str, Any]] = []
    for i in range(n_o):
        tv = _valhalla_times(answers[i], n_v)
        tg = tg_all[i]
        g = hits[i][0].pos if hits[i] else None
        v = int(np.argmin(tv)) if np.isfinite(tv).any() else None
        if g is None or v is None:
            both_none += g is None and v is None
            same += g is None and v is None
            only_v += g is None and v is not None
            only_g += v is None and g is not None
            continue
        agree = bool(g == v or abs(tv[g] - tv[v]) <= TIE_S or abs(tg[g] - tg[v]) <= TIE_S)
        same += agree
        t_g = hits[i][0].time_s
        access = (q_snap.dist_m[i] + venues.dist_m[g]) / router.speed_mps
        d_with.append(abs(t_g - tv[v]) / 60)
        d_without.append(abs(t_g - access - tv[v]) / 60)
        d_signed.append((t_g - access - tv[v]) / 60)
        worst.append((d_without[-1], i, g, v, (t_g - access) / 60, tv[v] / 60))
        if dump and (not agree or d_without[-1] > 0.3):
            row = _dump_row(router, i, olon, olat, q_snap, g, v, tg, tv, agree)
            rows.append({**row, "valhalla_from": "street points" if street else "raw points"})
    return (same, (only_v, only_g, both_none), d_with, d_without, d_signed, worst, rows)


def street_points(router: Any, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray,
                                                                          np.ndarray]:
    """WGS-84 of geosvc's street points of (lon, lat): where it places them on its network.

    Points geosvc cannot place keep their own position.
    """
    snapped = router.snap(lon, lat)
    return _street_lonlat(router, snapped, lon, lat)


def _street_lonlat(router: Any, snapped: Any, lon: np.ndarray, lat: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    from pyproj import Transformer

    tf = Transformer.from_crs(router.crs, "EPSG:4326", always_xy=True)
    ok = np.asarray(snapped.ok) & np.isfinite(snapped.x) & np.isfinite(snapped.y)
    x = np.where(ok, snapped.x, 0.0)
    y = np.where(ok, snapped.y, 0.0)
    slon, slat = tf.transform(x, y)
    return (np.where(ok, slon, np.asarray(lon, dtype=float)),
            np.where(ok, slat, np.asarray(lat, dtype=float)))


def _dump_row(router: Any, i: int, olon: np.ndarray, olat: np.ndarray, q_snap: Any, g: int,
              v: int, tg: np.ndarray, tv: np.ndarray, agree: bool) -> dict[str, Any]:
    """One origin of ``--dump-disagreements``: both picks, both engines' times to each.

    Times in seconds; ``*_net`` are geosvc's times without its access legs (the
    point's and the venue's walk to the street), comparable with Valhalla's.
    """
    venues = router.venues
    leg_o = float(q_snap.dist_m[i]) / router.speed_mps

    def net(pos: int) -> float:
        return float(tg[pos]) - leg_o - float(venues.dist_m[pos]) / router.speed_mps

    return {"origin": i, "lon": round(float(olon[i]), 6), "lat": round(float(olat[i]), 6),
            "snap_m": round(float(q_snap.dist_m[i]), 1), "same": bool(agree),
            "g": g, "v": v,
            "g_lonlat": [round(float(venues.lon[g]), 6), round(float(venues.lat[g]), 6)],
            "v_lonlat": [round(float(venues.lon[v]), 6), round(float(venues.lat[v]), 6)],
            "venue_snap_m": [round(float(venues.dist_m[g]), 1),
                             round(float(venues.dist_m[v]), 1)],
            "geosvc_net_s": [round(net(g), 1), round(net(v), 1)],
            "valhalla_s": [round(float(tv[g]), 1), round(float(tv[v]), 1)],
            "dt_without_s": round(abs(net(g) - float(tv[v])), 1)}


def bench_coverage(rep: Report, router: Any, worker: Worker | None, olon: np.ndarray,
                   olat: np.ndarray, reps: int) -> None:
    """Coverage 10 min: points x venues, cold / cached vs one Valhalla matrix.

    Cold: the points snapped and a new multi-source pass; cached: the points
    snapped and the pass built before (as the service keeps its demand points
    and passes).  Valhalla answers one ``sources_to_targets`` (points x venues).
    """
    venues = router.venues
    n_o, n_v = len(olon), len(venues)
    limit_s = COVER_MIN * 60
    tag = [0]

    def cold() -> np.ndarray:
        tag[0] += 1
        pts = router.snap(olon, olat)
        t, _ = router.pass_for(None, key=("bench_peers cold", tag[0])).times_at(pts)
        return np.asarray(t) <= limit_s

    snapped = router.snap(olon, olat)

    def cached() -> np.ndarray:  # as the service: demand snapped once, the pass cached
        t, _ = router.pass_for(None, key="bench_peers cached").times_at(snapped)
        return np.asarray(t) <= limit_s

    cold()
    cached()
    c_s, covered = _timed(cold, reps)
    w_s, _ = _timed(cached, reps)
    task = f"coverage {COVER_MIN:.0f} min, {n_o} points x {n_v} venues (cold / cached)"
    if worker is None:
        rep.add(task, f"{_ms(c_s)} / {_ms(w_s)}", "skipped", "")
        return
    req = {"sources": [vloc(a, b) for a, b in
                       zip(olon.tolist(), olat.tolist(), strict=True)],
           "targets": [vloc(a, b) for a, b in
                       zip(venues.lon.tolist(), venues.lat.tolist(), strict=True)],
           "costing": "pedestrian",
           "costing_options": {"pedestrian": {"walking_speed": router.speed_mps * 3.6}}}
    ans = worker.batch("walk", "matrix", [req], reps)
    v_s = statistics.median(r[0] for r in ans["times_s"])
    mat = _valhalla_matrix(ans["answers"][0], n_o, n_v)
    v_cov = mat.min(axis=1) <= limit_s
    rc, rw = c_s / v_s, w_s / v_s
    rep.add(task, f"{_ms(c_s)} / {_ms(w_s)}", _ms(v_s), f"{rc:.3f} / {rw:.2g}",
            "<= 0.1", rc <= 0.1)
    rep.notes.append(f"coverage {COVER_MIN:.0f} min: covered geosvc {int(covered.sum())}, "
                     f"Valhalla {int(v_cov.sum())}, same verdict for "
                     f"{int((covered == v_cov).sum())}/{n_o} points")


def bench_isochrones(rep: Report, router: Any, worker: Worker | None, name: str,
                     label: str, points: list[tuple[float, float]], costing: dict,
                     reps: int, http: HttpServer | None = None, *,
                     from_street: bool = False,
                     iou_points: list[tuple[float, float]] | None = None) -> None:
    """Isochrones 5/10/15 min from each point: latency, IoU and area ratio per band.

    ``iou_points`` (default: ``points``): the starts whose bands are compared
    (answers only, not timed); latency is timed on ``points``.  A median IoU
    over 5 starts moves with one start's snapping, so the answers are compared
    over more starts than are timed (``--iou-points``).

    ``from_street``: also compare both engines' bands from geosvc's street point
    of each start (answers only, not timed), judged like the raw starts and
    printed beside them: geosvc charges the walk from the point to its street
    (5-40 m here: 4-32 s of a 5-minute band), Valhalla does not, and Valhalla
    snaps the raw point by its own rule (into a tunnel below the street, say),
    so from the raw points the bands differ by where each engine starts as well
    as by the network; from the street point both start at the same place and
    neither walks a leg.  Under each judged comparison a note lists the starts of
    lowest IoU with where each engine snapped them (:func:`describe_starts`).
    """
    from geosvc.errors import GeosvcError

    v_ans = None
    v_s = None
    i_points = points if iou_points is None else iou_points
    i_ans = None
    if worker is not None:
        v_ans = worker.batch(name, "isochrone", isochrone_requests(points, costing), reps)
        v_s = _per_query_median(v_ans["times_s"])
        i_ans = v_ans if i_points is points else worker.batch(
            name, "isochrone", isochrone_requests(i_points, costing), 1)
    shapes = []
    for shape in isochrone_shapes(router):
        try:
            geosvc_isochrone(router, *points[0], shape)
        except (GeosvcError, TypeError, ValueError) as exc:
            rep.notes.append(f"isochrones {label}: shape={shape} refused ({exc})")
        else:
            shapes.append(shape)
    s_points: list[tuple[float, float]] = []
    s_ans = None
    starts: list[str] | None = None
    s_starts: list[str] | None = None
    if from_street and worker is not None:
        s_points = street_starts(router, i_points)
        s_ans = worker.batch(name, "isochrone", isochrone_requests(s_points, costing), 1)
        starts = describe_starts(router, worker, name, costing, i_points)
        s_starts = describe_starts(router, worker, name, costing, s_points)
    for shape in shapes:
        rounds = []
        polys: list[list[Any]] = []
        for _ in range(reps):
            row = []
            polys = []
            for lo, la in points:
                t0 = CLOCK()
                polys.append(geosvc_isochrone(router, lo, la, shape))
                row.append(CLOCK() - t0)
            rounds.append(row)
        g_s = _per_query_median(rounds)
        what = f"isochrones 5/10/15 min, {label}" + (f", shape={shape}" if shape else "")
        if v_s is None or v_ans is None or i_ans is None:
            rep.add(what, _ms(g_s), "skipped", "")
            continue
        if i_points is not points:
            polys = [geosvc_isochrone(router, lo, la, shape) for lo, la in i_points]
        # latency judged on what callers get by default; IoU on contour when it exists
        default = shape is None
        rep.add(what, _ms(g_s), _ms(v_s), f"{g_s / v_s:.2f}", "<= 1" if default else "",
                (g_s / v_s <= 1) if default else None)
        judge = judge_iou(shape, shapes)
        band_label = f"{label}{', ' + shape if shape else ''}"
        band_agreement(rep, router.crs, polys, i_ans["answers"], band_label, judge=judge,
                       starts=starts if judge else None)
        if s_ans is not None:
            s_polys = [geosvc_isochrone(router, lo, la, shape) for lo, la in s_points]
            band_agreement(rep, router.crs, s_polys, s_ans["answers"],
                           f"{band_label}, {STREET_STARTS}", judge=judge,
                           starts=s_starts if judge else None)
    if http is not None and v_s is not None:
        http_shapes = [None] + (["contour", "streets"] if "shape" in
                                http.query_params("/api/v1/isochrones") else [])
        for shape in http_shapes:
            qs = [{"mode": "walk", "lon": lo, "lat": la,
                   "minutes": ",".join(str(m) for m in BANDS_MIN),
                   **({"shape": shape} if shape else {})} for lo, la in points]
            h_s = _http_median(http, "/api/v1/isochrones", qs, reps)
            rep.add(f"isochrones 5/10/15 min, {label}, over HTTP"
                    + (f", shape={shape}" if shape else ""), _ms(h_s), _ms(v_s),
                    f"{h_s / v_s:.2f}", "<= 1" if shape is None else "",
                    (h_s / v_s <= 1) if shape is None else None)


#: The label of the isochrone rows asked from geosvc's street point of each start.
STREET_STARTS = "both from geosvc's street starts"


def judge_iou(shape: str | None, shapes: list[str | None]) -> bool:
    """Whether the IoU target is judged on ``shape``: ``contour``, else the default.

    >>> [judge_iou(s, [None, "contour", "streets"]) for s in (None, "contour", "streets")]
    [False, True, False]
    >>> judge_iou(None, [None])
    True
    """
    return shape == "contour" or (shape is None and "contour" not in shapes)


def isochrone_requests(points: list[tuple[float, float]], costing: dict[str, Any]
                       ) -> list[dict[str, Any]]:
    """Valhalla isochrone requests: 5/10/15-min polygons from each (lon, lat)."""
    return [{"locations": [vloc(lo, la)], **costing,
             "contours": [{"time": m} for m in BANDS_MIN], "polygons": True}
            for lo, la in points]


def street_starts(router: Any, points: list[tuple[float, float]]
                  ) -> list[tuple[float, float]]:
    """Each (lon, lat) moved to geosvc's street point of it (see :func:`street_points`)."""
    lon, lat = (np.array(c, dtype=float) for c in zip(*points, strict=True))
    slon, slat = street_points(router, lon, lat)
    return list(zip(slon.tolist(), slat.tolist(), strict=True))


def describe_starts(router: Any, worker: Worker, name: str, costing: dict[str, Any],
                    points: list[tuple[float, float]]) -> list[str]:
    """One line per start: where geosvc and Valhalla put it on their networks.

    geosvc: the distance to its street point and the edge's ``layer`` when not 0;
    Valhalla: ``locate`` (verbose) of the point, the distance to its nearest
    edge and whether that edge is a tunnel or a bridge (untimed).
    """
    lon, lat = (np.array(c, dtype=float) for c in zip(*points, strict=True))
    snapped = router.snap(lon, lat)
    layers = getattr(router.net, "edge_layer", None)
    reqs = [{"locations": [vloc(lo, la)], **costing, "verbose": True} for lo, la in points]
    located = worker.batch(name, "locate", reqs, 1)["answers"]
    out = []
    for i, (lo, la) in enumerate(points):
        g = "geosvc: no street"
        if snapped.ok[i]:
            g = f"geosvc {float(snapped.dist_m[i]):.0f} m"
            layer = 0 if layers is None else int(layers[int(snapped.edge[i])])
            g += f" (layer {layer})" if layer else ""
        out.append(f"#{i} ({lo:.5f}, {la:.5f}): {g}, Valhalla {_valhalla_snap(located[i])}")
    return out


def _valhalla_snap(answer: Any) -> str:
    """Where Valhalla's ``locate`` put one point: distance and tunnel / bridge."""
    found = answer[0] if isinstance(answer, list) and answer else {}
    edges = (found or {}).get("edges") or []
    if not edges:
        return "no edge"
    best = min(edges, key=lambda e: float(e.get("distance", float("inf"))))
    edge = best.get("edge") or {}
    kind = ("in a tunnel" if edge.get("tunnel") else "on a bridge" if edge.get("bridge")
            else "on the ground")
    return f"{float(best.get('distance', float('nan'))):.0f} m {kind}"


def worst_starts(ious: list[list[float]], n: int) -> list[int]:
    """Positions of the ``n`` starts of lowest IoU (each start's lowest band).

    NaN bands (a band one engine did not draw) are skipped; a start with no
    band comes last.  Ties keep the starts' order.

    >>> nan = float("nan")
    >>> worst_starts([[0.9, 0.8], [0.2, 0.9], [0.85, 0.95], [nan, nan]], 2)
    [1, 0]
    >>> worst_starts([[nan, 0.5], [0.5, 0.7]], 3)
    [0, 1]
    """
    lowest = [min((v for v in row if v == v), default=float("inf")) for row in ious]
    return sorted(range(len(ious)), key=lambda i: lowest[i])[:n]


def band_agreement(rep: Report, crs: str, polys: list[list[Any]], answers: list[Any],
                   label: str, *, judge: bool, starts: list[str] | None = None) -> None:
    """Median IoU and area ratio (geosvc / Valhalla) per band over the start points.

    ``starts`` (one description per start, :func:`describe_starts`): a note lists
    the :data:`WORST_STARTS` starts of lowest IoU with every band's IoU and
    area ratio, so a median's misses can be traced to the starts behind them.
    """
    ious = np.full((len(polys), len(BANDS_MIN)), np.nan)
    ratios = np.full((len(polys), len(BANDS_MIN)), np.nan)
    for pi, bands in enumerate(polys):
        v_polys = _valhalla_polygons(answers[pi], crs)
        for bi, minutes in enumerate(BANDS_MIN):
            vp = v_polys.get(float(minutes))
            if vp is not None and bi < len(bands):
                ious[pi, bi], ratios[pi, bi] = _iou(bands[bi], vp)
    for bi, minutes in enumerate(BANDS_MIN):
        iou_m, ar_m = _pct(ious[:, bi], 50), _pct(ratios[:, bi], 50)
        rep.add(f"  IoU / area ratio {minutes} min ({label})", "", "",
                f"{iou_m:.2f} / {ar_m:.2f}", ">= 0.8" if judge else "",
                (iou_m >= 0.8) if judge else None)
    if starts is None or not len(polys):
        return
    listed = [f"{starts[i]}: IoU {' / '.join(f'{v:.2f}' for v in ious[i])}, area "
              f"{' / '.join(f'{v:.2f}' for v in ratios[i])}"
              for i in worst_starts(ious.tolist(), WORST_STARTS)]
    rep.notes.append(f"isochrone IoU per start, lowest {len(listed)} of {len(polys)} "
                     f"({label}; {' / '.join(str(m) for m in BANDS_MIN)} min): "
                     + "; ".join(listed))


def common_ways_pbf(cache: Path, vpy: Path, src: Path) -> tuple[Path, str]:
    """Return the common-ways extract of ``src`` and its way counts.

    The extract without the ways Valhalla's tile builder drops (``area=yes``
    ways; ways with a node outside the extract; ``highway=trail``), written once
    into ``cache`` (again when ``src`` or the script is newer) by
    ``scripts/make_common_ways.py`` with the bench venv's pyosmium.
    """
    out = cache / f"{src.name.removesuffix('.osm.pbf')}-common.osm.pbf"
    stamp = out.with_name(out.name + ".txt")
    script = Path(__file__).with_name("make_common_ways.py")
    newest = max(src.stat().st_mtime, script.stat().st_mtime)
    if not out.is_file() or out.stat().st_mtime < newest or not stamp.is_file():
        done = subprocess.run([str(vpy), str(script), str(src), str(out)], check=True,
                              capture_output=True, text=True)
        stamp.write_text(done.stdout.split(" -> ")[0].strip(), encoding="utf-8")
    return out, stamp.read_text(encoding="utf-8")


def bench_common_ways(rep: Report, cache: Path, vpy: Path, worker: Worker, service: Any,
                      olon: np.ndarray, olat: np.ndarray, points: list[tuple[float, float]],
                      dump: Path | None, *,
                      gate_cost_s: float = VALHALLA_GATE_COST_S) -> None:
    """Compare the answers again, both engines built from the common-ways extract.

    Not timed.

    Judges routing rather than ingestion: from the raw extract the engines
    also differ by which ways exist (Valhalla drops pedestrian areas, the ways
    clipped at the extract's edge and ``highway=trail``; geosvc walks them).  Same origins,
    venues, isochrone points and Valhalla options as the raw rows; every row
    and note is tagged ``[common ways]``.
    """
    from geosvc.app.service import GeoService
    from geosvc.config import Settings

    tag = "common ways"
    pbf, counts = common_ways_pbf(cache, vpy, Path(service.settings.osm))
    info = worker.call(op="open", name="walk-common", pbf=str(pbf),
                       tile_dir=str(cache / "valhalla" / "tiles-demo-common"))
    settings = Settings(db=service.settings.db, osm=str(pbf), cache_dir=str(cache),
                        modes=("walk",))
    router: Any = GeoService(settings).travel("walk")
    rep.notes.append(f"[{tag}] both engines built from {pbf.name}: the demo extract without "
                     f"the ways Valhalla's builder drops ({counts}; areas = ``area=yes`` ways, "
                     f"clipped = ways with a node outside the extract, unknown = "
                     f"``highway=trail``, a class Valhalla does not know); geosvc walk network "
                     f"{router.net.n_nodes:,} nodes"
                     + (f"; Valhalla tiles built in {info['build_s']:.1f} s"
                        if info["build_s"] is not None else ""))
    venues = router.venues
    pts = list(zip(olon.tolist(), olat.tolist(), strict=True))
    hits = [router.nearest(lo, la, candidates=None, k=5) for lo, la in pts]
    walk: dict[str, Any] = {
        "costing": "pedestrian",
        "costing_options": {"pedestrian": {"walking_speed": router.speed_mps * 3.6}}}
    targets = [vloc(a, b) for a, b in
               zip(venues.lon.tolist(), venues.lat.tolist(), strict=True)]
    reqs = [{"sources": [vloc(lo, la)], "targets": targets, **walk} for lo, la in pts]
    ans = worker.batch("walk-common", "matrix", reqs, 1)
    slon, slat = street_points(router, olon, olat)
    vlon, vlat = _street_lonlat(router, venues, venues.lon, venues.lat)
    s_targets = [vloc(a, b) for a, b in zip(vlon.tolist(), vlat.tolist(), strict=True)]
    s_reqs = [{"sources": [vloc(lo, la)], "targets": s_targets, **walk}
              for lo, la in zip(slon.tolist(), slat.tolist(), strict=True)]
    s_ans = worker.batch("walk-common", "matrix", s_reqs, 1)
    compare_nearest(rep, router, hits, ans["answers"], olon, olat, dump=dump,
                    street_answers=s_ans["answers"], tag=tag,
                    variants=gate_cost_variants(worker, "walk-common", s_reqs, gate_cost_s))
    # the residual, measured: Valhalla's time terms geosvc does not have (not judged)
    tg_all = np.array([np.asarray(router.times(lo, la), dtype=float) for lo, la in pts])
    q_snap = router.snap(olon, olat)
    for what, extra in VALHALLA_ALIGNED.items():
        opts = {"pedestrian": {**walk["costing_options"]["pedestrian"], **extra}}
        a_ans = worker.batch("walk-common", "matrix",
                             [{**q, "costing_options": opts} for q in s_reqs], 1)
        st = _nearest_stats(router, hits, tg_all, a_ans["answers"], q_snap, olon, olat,
                            False, street=True)
        rep.add(f"same nearest / |dt| p90 without access legs, both from geosvc's street "
                f"points, Valhalla {what} [{tag}]", "", "",
                f"{st[0]}/{len(pts)} / {_pct(st[3], 90):.2f} min")
    v_iso = worker.batch("walk-common", "isochrone", isochrone_requests(points, walk), 1)
    s_points = street_starts(router, points)
    s_iso = worker.batch("walk-common", "isochrone", isochrone_requests(s_points, walk), 1)
    starts = describe_starts(router, worker, "walk-common", walk, points)
    s_starts = describe_starts(router, worker, "walk-common", walk, s_points)
    shapes = isochrone_shapes(router)
    for shape in shapes:
        label = f"walk, Helsinki{', ' + shape if shape else ''}"
        judge = judge_iou(shape, shapes)
        polys = [geosvc_isochrone(router, lo, la, shape) for lo, la in points]
        band_agreement(rep, router.crs, polys, v_iso["answers"], f"{label}, {tag}",
                       judge=judge, starts=starts if judge else None)
        polys = [geosvc_isochrone(router, lo, la, shape) for lo, la in s_points]
        band_agreement(rep, router.crs, polys, s_iso["answers"],
                       f"{label}, {STREET_STARTS}, {tag}", judge=judge,
                       starts=s_starts if judge else None)


def drive_city(cache: Path, vpy: Path, nodes: int) -> Path:
    """Return the synthetic drive city's ``.osm.pbf`` (made with the bench venv's osmium)."""
    n = int(np.ceil(np.sqrt(nodes)))
    pbf = cache / f"city-{n}x{n}.osm.pbf"
    if not pbf.is_file():
        script = Path(__file__).with_name("make_synthetic_city.py")
        subprocess.run([str(vpy), str(script), str(pbf), "--n", str(n)], check=True,
                       stdout=sys.stderr)
    return pbf


def bench_drive(rep: Report, cache: Path, pbf: Path, worker: Worker | None, reps: int,
                n_points: int, n_origins: int) -> None:
    """Isochrones and quickest times on the synthetic drive city (both built from ``pbf``)."""
    from geosvc.config import Settings
    from geosvc.network.cache import load_network
    from geosvc.routing import build_router

    settings = Settings(cache_dir=str(cache))
    net = load_network(pbf, "drive", settings=settings, cache_dir=cache)
    rng = np.random.default_rng(20)
    vnodes = rng.choice(net.n_nodes, size=40, replace=False)
    router = build_router("drive", net.node_lon[vnodes], net.node_lat[vnodes],
                          settings=settings, network=net)
    n_osm = osm_node_count(net)
    rep.notes.append(f"drive city: {n_osm:,} nodes (OSM nodes of its ways; geosvc's "
                     f"turn-expanded graph: {net.n_nodes:,} nodes, {net.n_edges:,} edges; "
                     f"{pbf.name}; restrictions and one-ways in the file)")
    # isochrone origins: around the centre (the 15-min band stays inside the city)
    cx, cy = np.median(net.node_x), np.median(net.node_y)
    near = np.argsort(np.hypot(net.node_x - cx, net.node_y - cy))[:2000]
    pick = rng.choice(near, size=n_points, replace=False)
    lon, lat = origins_near_nodes_xy(net, net.node_x[pick], net.node_y[pick], rng)
    points = list(zip(lon.tolist(), lat.tolist(), strict=True))
    bench_isochrones(rep, router, worker, "drive", f"drive, {n_osm:,}-node city",
                     points, {"costing": "auto"}, reps)
    if worker is None:
        return
    # quickest drive times to the 40 venues: geosvc / Valhalla
    olon, olat = origins_near_nodes(net, n_origins, seed=21)
    targets = [vloc(a, b) for a, b in
               zip(router.venues.lon.tolist(), router.venues.lat.tolist(), strict=True)]
    reqs = [{"sources": [vloc(lo, la)], "targets": targets, "costing": "auto"}
            for lo, la in zip(olon.tolist(), olat.tolist(), strict=True)]
    ans = worker.batch("drive", "matrix", reqs, 1)
    ratios = []
    same = 0
    for i in range(n_origins):
        tv = _valhalla_times(ans["answers"][i], len(targets))
        hits = router.nearest(float(olon[i]), float(olat[i]), candidates=None, k=1)
        if not hits or not np.isfinite(tv).any():
            continue
        v = int(np.argmin(tv))
        same += hits[0].pos == v or abs(tv[hits[0].pos] - tv[v]) <= TIE_S
        ratios.append(hits[0].time_s / tv[v])
    rep.add("drive quickest time geosvc / Valhalla, median (p10-p90)", "", "",
            f"{_pct(ratios, 50):.2f} ({_pct(ratios, 10):.2f}-{_pct(ratios, 90):.2f})")
    rep.add(f"drive same nearest venue ({len(ratios)} origins reached by both)", "", "",
            f"{same}/{n_origins}")


def osm_node_count(net: Any) -> int:
    """Nodes of the street network itself: distinct OSM node ids.

    A turn-expanded graph (drive) has a node per port of a junction, all
    sharing the junction's id, so ``net.n_nodes`` counts ports: 133,849 for the
    150 x 150 drive city's 22,500 junctions.
    """
    return len(np.unique(np.asarray(net.node_id)))


def origins_near_nodes_xy(net: Any, x: np.ndarray, y: np.ndarray,
                          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 of points 5-30 m off the given projected node positions."""
    from pyproj import Transformer

    ang = rng.uniform(0, 2 * np.pi, len(x))
    r = rng.uniform(5, 30, len(x))
    tf = Transformer.from_crs(net.crs, "EPSG:4326", always_xy=True)
    lon, lat = tf.transform(x + r * np.cos(ang), y + r * np.sin(ang))
    return np.asarray(lon), np.asarray(lat)


def run_drive(rep: Report, cache: Path, vpy: Path | None, worker: Worker | None, reps: int,
              iso_points: int, origins: int, drive_nodes: int) -> None:
    """Run the drive-city section of :func:`main` (skipped without the bench venv)."""
    if vpy is None:
        rep.notes.append("drive city skipped: writing its .osm.pbf needs the bench venv "
                         "(osmium)")
        return
    click.echo("drive city", err=True)
    city = drive_city(cache, vpy, drive_nodes)
    if worker is not None:
        info = worker.call(op="open", name="drive", pbf=str(city),
                           tile_dir=str(cache / "valhalla" / f"tiles-{city.stem}"))
        if info["build_s"] is not None:
            rep.notes.append(f"Valhalla tiles of the drive city built in "
                             f"{info['build_s']:.1f} s")
    bench_drive(rep, cache, city, worker, reps, iso_points, min(origins, 50))


# --------------------------------------------------------------------------- main

@click.command()
@click.option("--quick", is_flag=True, help="50 origins, 3 isochrone points (same networks)")
@click.option("--reps", default=3, show_default=True, help="repetitions (medians; >= 3)")
@click.option("--origins", default=200, show_default=True)
@click.option("--iso-points", default=5, show_default=True,
              help="isochrone start points per network")
@click.option("--iou-points", default=30, show_default=True,
              help="isochrone starts whose bands are compared with Valhalla's (walk; "
              "untimed; the first --iso-points of them are timed)")
@click.option("--drive-nodes", default=22_500, show_default=True,
              help="nodes of the synthetic drive city (>= 20k for the target)")
@click.option("--valhalla-python", default=None,
              help=f"Python >= 3.12 for the Valhalla venv (else ${PYTHON_ENV}, PATH, pyenv)")
@click.option("--cache-dir", type=click.Path(path_type=Path), default=None,
              help="venv, tiles, demo database, synthetic city [.geosvc-cache/peers]")
@click.option("--valhalla-snap", type=click.Choice(["default", "ground"]), default="default",
              show_default=True,
              help="ground: Valhalla's locations skip tunnels and bridges (geosvc's rule)")
@click.option("--clock", type=click.Choice(["wall", "cpu"]), default="wall",
              show_default=True,
              help="cpu: process CPU time (steadier on a shared machine; HTTP: server thread "
              "+ client)")
@click.option("--no-http", is_flag=True, help="skip the HTTP measurements")
@click.option("--no-drive", is_flag=True, help="skip the drive city (walk rows only)")
@write_md_option
@click.option("--dump-disagreements", type=click.Path(path_type=Path), default=None,
              help="write the nearest-venue disagreements (JSON lines, worst first); with "
              "--common-ways those of the common-ways networks go to FILE-common")
@click.option("--common-ways", is_flag=True,
              help="also compare the answers with both engines built from the demo extract "
              "without the ways Valhalla's builder drops (area=yes ways, ways clipped at the "
              "extract's edge, highway=trail): rows tagged [common ways]")
@click.option("--valhalla-gate-cost", type=float, default=VALHALLA_GATE_COST_S,
              show_default=True, metavar="S",
              help="also print the street-point nearest rows with Valhalla's pedestrian "
              "gate_cost at S seconds a gate (default: Valhalla's own; those rows are not "
              "counted; the judged rows keep Valhalla's default)")
def main(quick: bool, reps: int, origins: int, iso_points: int, iou_points: int,
         drive_nodes: int,
         valhalla_python: str | None, cache_dir: Path | None, valhalla_snap: str,
         clock: str, no_http: bool, no_drive: bool,
         write_md: Path | None, dump_disagreements: Path | None, common_ways: bool,
         valhalla_gate_cost: float) -> None:
    """Run geosvc and Valhalla side by side and print the table (see the module)."""
    reps = max(3, reps)
    CLOCK.name = clock
    if valhalla_snap == "ground":
        LOCATION_EXTRA["search_filter"] = GROUND_FILTER
    if quick:
        origins, iso_points = min(origins, 50), min(iso_points, 3)
        iou_points = min(iou_points, 10)
    cache = (cache_dir or ROOT / ".geosvc-cache" / "peers").resolve()
    cache.mkdir(parents=True, exist_ok=True)
    rep = Report()
    load0 = os.getloadavg()[0]
    worker = None
    vpy = None
    python = find_python(valhalla_python)
    if python is None:
        click.echo("SKIPPING Valhalla: no Python >= 3.12 found (pyvalhalla 3.9.1 wheels need "
                   f"it); pass --valhalla-python or set {PYTHON_ENV}. geosvc figures only.",
                   err=True)
    else:
        vpy = ensure_venv(python, cache / "valhalla" / "venv")
        worker = Worker(vpy)
    try:
        click.echo("geosvc: demo city (walk)", err=True)
        service, router, demo_pbf = demo_router(cache)
        net = router.net
        vinfo = "Valhalla skipped"
        if worker is not None:
            info = worker.call(op="open", name="walk", pbf=str(demo_pbf),
                               tile_dir=str(cache / "valhalla" / "tiles-demo"))
            vinfo = f"Valhalla {info['version']}"
            if info["build_s"] is not None:
                rep.notes.append(f"Valhalla tiles of the demo extract built in "
                                 f"{info['build_s']:.1f} s")
        rep.notes.insert(0, f"demo walk network {net.n_nodes:,} nodes, {len(router.venues)} "
                            f"venues; walk {router.speed_mps * 3.6:.1f} km/h both; {vinfo}; "
                            f"Valhalla snapping: {valhalla_snap}; {clock} clock; medians of "
                            f"{reps} repetitions")
        http = None
        if not no_http:
            http = HttpServer({"db": service.settings.db, "osm": service.settings.osm,
                               "cache_dir": str(cache), "modes": "walk",
                               "heavy_rate_limit": "1000000/minute"})
        olon, olat = origins_near_nodes(net, origins, seed=12)
        click.echo("nearest", err=True)
        bench_nearest(rep, router, worker, olon, olat, reps, http, dump_disagreements,
                      gate_cost_s=valhalla_gate_cost)
        click.echo("coverage", err=True)
        bench_coverage(rep, router, worker, olon, olat, reps)
        click.echo("isochrones (walk)", err=True)
        rng = np.random.default_rng(13)
        pick = rng.choice(len(olon), size=min(len(olon), max(iso_points, iou_points)),
                          replace=False)
        i_points = [(float(olon[i]), float(olat[i])) for i in pick]
        points = i_points[:iso_points]  # timed; the bands compared from all of i_points
        walk_cost = {"costing": "pedestrian", "costing_options": {
            "pedestrian": {"walking_speed": router.speed_mps * 3.6}}}
        bench_isochrones(rep, router, worker, "walk", "walk, Helsinki", points, walk_cost,
                         reps, http, from_street=True, iou_points=i_points)
        if http is not None:
            http.close()
        if common_ways and worker is not None and vpy is not None:
            click.echo("common ways (walk)", err=True)
            dump_c = (None if dump_disagreements is None else dump_disagreements.with_name(
                f"{dump_disagreements.stem}-common{dump_disagreements.suffix}"))
            bench_common_ways(rep, cache, vpy, worker, service, olon, olat, i_points, dump_c,
                              gate_cost_s=valhalla_gate_cost)
        if no_drive:
            rep.notes.append("drive city skipped (--no-drive)")
        else:
            run_drive(rep, cache, vpy, worker, reps, iso_points, origins, drive_nodes)
    finally:
        if worker is not None:
            worker.close()
    judged = [r for r in rep.rows if r.met is not None and r.counted]
    missed = [r.task.strip() for r in judged if not r.met]
    click.echo(f"\ntargets met: {len(judged) - len(missed)}/{len(judged)}"
               + (f"; missed: {'; '.join(missed)}" if missed else ""))
    rep.notes.append("load average (1 min) at the start / end: "
                     f"{load0:.1f} / {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs "
                     "(both engines ran in the same conditions, interleaved per section)")
    for n in rep.notes:
        click.echo(f"  note: {n}")
    flags = ((" --quick" if quick else "") + (" --common-ways" if common_ways else "")
             + f" --iou-points {len(i_points)}"
             + (f" --valhalla-gate-cost {valhalla_gate_cost:g}"
                if valhalla_gate_cost != VALHALLA_GATE_COST_S else ""))
    head = (f"geosvc vs Valhalla ({time.strftime('%Y-%m-%d')}, "
            f"`scripts/bench_peers.py{flags}`)")
    finish(write_md, __file__, [
        Target(f"{r.task.strip()}: {r.target}", r.figure + (
            f" (geosvc {r.geosvc}, Valhalla {r.valhalla})" if r.geosvc else ""), r.met)
        for r in judged], before=rep.markdown(head))


if __name__ == "__main__":
    main()
