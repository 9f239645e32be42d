"""Valhalla side of ``scripts/bench_peers.py``: runs in the benchmark's own venv.

pyvalhalla needs Python >= 3.12, newer than the project's, so the benchmark
starts this script with the interpreter of its own virtual environment and
talks to it over pipes: one JSON object per line on stdin, one JSON answer
per line on stdout (Valhalla's own logging is switched off, the tile
builder's output goes to stderr).  Only the standard library and
``valhalla`` are imported.

Requests (``op``):

``open``  ``{"op": "open", "name": N, "pbf": PATH, "tile_dir": DIR}``
    Build Valhalla tiles from the ``.osm.pbf`` into ``DIR`` unless a build
    of the same file (size + mtime + name recorded in ``DIR/source.json``)
    is there, then open an ``Actor`` on them under ``N``.  Answer:
    ``{"build_s": s or null, "config": PATH}``.
``batch`` ``{"op": "batch", "name": N, "action": A, "requests": [...], "repeat": R,
"clock": "wall" | "cpu"}``
    Call ``actor.A(request)`` (``matrix``, ``isochrone``, ``route``,
    ``locate``) for each request, ``R`` times over; the clock (wall or
    process CPU time) runs around the call only (no pipe, no JSON of the answer).  Answer:
    ``{"answers": [... of the last round], "times_s": [[per request] per round],
    "errors": [message or null per request]}``.
``quit``
    Exit.

Tiles are built with the ``valhalla_build_tiles`` executable the wheel
ships in ``valhalla/bin`` (the console-script wrapper of the same name only
finds it when the venv's ``bin`` is on ``PATH``), with a config from
``valhalla.get_config(tile_dir=...)``: no admin or timezone database
(``mjolnir.admin`` / ``mjolnir.timezone`` empty), one thread, and the
service limits raised so that one matrix request may hold every pair the
benchmark asks for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import valhalla

#: Raised service limits (the defaults allow 2,500 matrix pairs, 50 pedestrian locations).
LIMITS = {"max_matrix_location_pairs": 1_000_000, "max_locations": 100_000,
          "max_matrix_distance": 1_000_000.0, "max_distance": 5_000_000.0}


def _config(tile_dir: Path) -> dict:
    tile_dir.mkdir(parents=True, exist_ok=True)
    cfg = valhalla.get_config(tile_extract="", tile_dir=str(tile_dir))
    cfg["mjolnir"]["concurrency"] = 1
    cfg["mjolnir"]["admin"] = ""
    cfg["mjolnir"]["timezone"] = ""
    cfg["mjolnir"]["traffic_extract"] = ""
    cfg["mjolnir"]["landmarks"] = ""
    for costing in ("pedestrian", "auto", "bicycle"):
        cfg["service_limits"][costing].update(LIMITS)
    iso = cfg["service_limits"]["isochrone"]
    iso["max_distance"] = 200_000.0
    iso["max_locations"] = 1
    return cfg


def _source_stamp(pbf: Path) -> dict:
    st = pbf.stat()
    return {"pbf": pbf.name, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def open_tiles(pbf: Path, tile_dir: Path) -> tuple[valhalla.Actor, float | None, Path]:
    """Build tiles from ``pbf`` into ``tile_dir`` when needed; return an Actor on them."""
    cfg = _config(tile_dir)
    cfg_path = tile_dir / "valhalla.json"
    cfg_path.write_text(json.dumps(cfg, indent=1), encoding="utf-8")
    stamp_path = tile_dir / "source.json"
    stamp = _source_stamp(pbf)
    build_s = None
    if not stamp_path.is_file() or json.loads(stamp_path.read_text()) != stamp:
        stamp_path.unlink(missing_ok=True)
        exe = Path(valhalla.__file__).parent / "bin" / "valhalla_build_tiles"
        t0 = time.perf_counter()
        subprocess.run([str(exe), "-c", str(cfg_path), str(pbf)], check=True,
                       stdout=sys.stderr, stderr=sys.stderr)
        build_s = time.perf_counter() - t0
        stamp_path.write_text(json.dumps(stamp), encoding="utf-8")
    return valhalla.Actor(str(cfg_path)), build_s, cfg_path


def run_batch(actor: valhalla.Actor, action: str, requests: list, repeat: int,
              clock: str = "wall") -> dict:
    """Call ``actor.<action>`` on every request, ``repeat`` rounds; time each call.

    ``clock``: ``wall`` (``time.perf_counter``) or ``cpu`` (``time.process_time``).
    """
    fn = getattr(actor, action)
    now = time.process_time if clock == "cpu" else time.perf_counter
    texts = [json.dumps(r) for r in requests]
    times: list[list[float]] = []
    answers: list = [None] * len(texts)
    errors: list = [None] * len(texts)
    for _ in range(max(1, repeat)):
        row = []
        for i, text in enumerate(texts):
            t0 = now()
            try:
                out = fn(text)
            except (RuntimeError, ValueError, valhalla.ValhallaError) as exc:
                row.append(now() - t0)
                errors[i] = str(exc)
                answers[i] = None
                continue
            row.append(now() - t0)
            answers[i] = out
        times.append(row)
    return {"answers": [json.loads(a) if a is not None else None for a in answers],
            "times_s": times, "errors": errors}


def main() -> None:
    """Serve requests from stdin until ``quit`` or end of input."""
    actors: dict[str, valhalla.Actor] = {}
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        op = req.get("op")
        try:
            if op == "quit":
                break
            if op == "open":
                actor, build_s, cfg_path = open_tiles(Path(req["pbf"]), Path(req["tile_dir"]))
                actors[req["name"]] = actor
                ans = {"build_s": build_s, "config": str(cfg_path),
                       "version": valhalla.__version__}
            elif op == "batch":
                ans = run_batch(actors[req["name"]], req["action"], req["requests"],
                                int(req.get("repeat", 1)), req.get("clock", "wall"))
            else:
                ans = {"error": f"unknown op {op!r}"}
        except (OSError, KeyError, subprocess.CalledProcessError, RuntimeError) as exc:
            ans = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(ans) + "\n")
        out.flush()


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
