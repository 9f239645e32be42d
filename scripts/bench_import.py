#!/usr/bin/env python
"""Benchmark ``geosvc import``: big tables into SQLite, and a national-style population raster.

Part 1 (tables) writes seeded CSV files (``--venues`` venues, 200 items and
``--links`` links, 10 items a venue by default: 100k venues and 1 M links)
and imports them into a new SQLite store with
:func:`geosvc.importer.import_file` (every row validated, one transaction per
file), against two peers loading the same rows: a bare ``sqlite3``
``executemany`` of ``csv.reader`` rows (no validation) and ``pandas.read_csv``
+ ``DataFrame.to_sql``.

Part 2 (raster) writes a WorldPop-style GeoTIFF (``--rows`` x ``--cols``
cells, 2500 x 3000 = 7.5 M by default, 3 arc-second (~100 m) cells in
EPSG:4326, float32, tiled BigTIFF, LZW + floating-point predictor, nodata
-99999 over ~30 % of the cells) and imports it as population (a) clipped to a
city (2,000 venues in a 40 x 40 km box: the default extent, venues + 5 km)
and (b) whole (an empty dataset); the peer reads the whole array with rasterio
and sums it with numpy.  The imported sums are checked against rasterio's.

Every measurement runs in a fresh Python process, so peak RSS
(``resource.getrusage``) is that of the measured work alone; ``base`` is the
RSS after the imports, before the work.  Figures and ratios are printed;
``--write-md [FILE]`` writes them as a table (time and work memory as ratios
to the peers of the same run) with the checks (row counts, sums equal to
rasterio's) into FILE (default ``docs/benchmarks.md``) between this script's
markers (``scripts/_benchmd.py``).

Usage::

    python scripts/bench_import.py --quick     # smoke run (10k venues, 100k links, 0.3 M cells)
    python scripts/bench_import.py             # 100k venues, 1 M links, 7.5 M cells
    python scripts/bench_import.py --no-tables # raster part only
"""

from __future__ import annotations

import csv
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np
from _benchmd import Target, finish, write_md_option

ROOT = Path(__file__).resolve().parent.parent
CENTRE = (117.0, 31.0)
N_ITEMS = 200
RES = 1 / 1200  # 3 arc-seconds
CITY_HALF_KM = 20.0


# ---------------------------------------------------------------- data
def write_tables(folder: Path, n_venues: int, n_links: int, seed: int = 42) -> None:
    """Seeded items.csv, venues.csv (halls and kiosks) and links.csv."""
    rng = np.random.default_rng(seed)
    with (folder / "items.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "name", "department"])
        w.writerows([f"IT-{i:04d}", f"事项{i}", "市政务服务管理局"] for i in range(N_ITEMS))
    dlat = 100 / 111.195  # 200 x 200 km
    lon = CENTRE[0] + rng.uniform(-1, 1, n_venues) * dlat / math.cos(math.radians(CENTRE[1]))
    lat = CENTRE[1] + rng.uniform(-1, 1, n_venues) * dlat
    kiosk = rng.random(n_venues) < 0.5
    with (folder / "venues.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "name", "kind", "level", "lon", "lat", "opening_hours"])
        for i in range(n_venues):
            w.writerow([f"V{i:07d}", f"服务点{i}", "kiosk" if kiosk[i] else "hall",
                        "" if kiosk[i] else "township", f"{lon[i]:.6f}", f"{lat[i]:.6f}",
                        "24/7" if kiosk[i] else "Mo-Fr 09:00-17:00"])
    per_venue = max(n_links // n_venues, 1)
    with (folder / "links.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["venue_code", "item_code"])
        written = 0
        for i in range(n_venues):
            take = min(per_venue, n_links - written)
            if take <= 0:
                break
            for item in rng.choice(N_ITEMS, size=take, replace=False):
                w.writerow([f"V{i:07d}", f"IT-{item:04d}"])
            written += take


def write_venues(path: Path, n: int, bbox: tuple[float, float, float, float],
                 seed: int = 11, prefix: str = "BV") -> None:
    """Write ``n`` seeded venues (halls and kiosks, every descriptive column) inside ``bbox``.

    About 125 bytes a row (Chinese names and addresses, opening hours): 200k rows
    ~ 25 MB, the size of the issue-11 import (24.8 MB).  Used by
    ``scripts/bench_reload.py`` to import into the demo while it is served.
    """
    rng = np.random.default_rng(seed)
    west, south, east, north = bbox
    lon = rng.uniform(west, east, n)
    lat = rng.uniform(south, north, n)
    kiosk = rng.random(n) < 0.5
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["code", "name", "kind", "level", "lon", "lat", "area_code", "area_name",
                    "address", "phone", "opening_hours", "accessible"])
        for i in range(n):
            w.writerow([f"{prefix}{i:07d}", f"服务点{i}", "kiosk" if kiosk[i] else "hall",
                        "" if kiosk[i] else "township", f"{lon[i]:.6f}", f"{lat[i]:.6f}",
                        f"A{i % 40:02d}", f"区{i % 40}", f"示范路{i % 997}号{i % 13}楼",
                        f"0551-{6000000 + i}",
                        "24/7" if kiosk[i] else "Mo-Fr 09:00-12:00,13:30-17:00; PH off",
                        "true" if i % 3 == 0 else "false"])


def write_raster(path: Path, rows: int, cols: int, seed: int = 7) -> dict[str, float]:
    """Write a WorldPop-style tiled BigTIFF around CENTRE, block row by block row."""
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    rng = np.random.default_rng(seed)
    west = CENTRE[0] - cols / 2 * RES
    north = CENTRE[1] + rows / 2 * RES
    profile = dict(driver="GTiff", width=cols, height=rows, count=1, dtype="float32",
                   crs="EPSG:4326", transform=from_origin(west, north, RES, RES),
                   nodata=-99999.0, tiled=True, blockxsize=256, blockysize=256,
                   compress="lzw", predictor=3, BIGTIFF="YES")
    yy, xx = np.mgrid[0:256, 0:cols]
    with rasterio.open(path, "w", **profile) as ds:
        for r0 in range(0, rows, 256):
            h = min(256, rows - r0)
            y = (yy[:h] + r0) / rows - 0.5
            x = xx[:h] / cols - 0.5
            people = rng.gamma(0.5, 30.0, (h, cols)) * (1 + 20 * np.exp(-(x * x + y * y) * 40))
            block = people.astype(np.float32)
            block[(x + 0.3 * np.sin(9 * y)) > 0.25] = -99999.0  # "sea": ~30 % nodata
            block[rng.random((h, cols)) < 0.1] = 0.0
            ds.write(block, 1, window=Window(0, r0, cols, h))
    return {"west": west, "north": north}


def city_venues(n: int = 2000, seed: int = 3) -> list:
    """2,000 venues in a 40 x 40 km box around CENTRE (the city the raster is clipped to)."""
    from geosvc.model import Venue, VenueKind

    rng = np.random.default_rng(seed)
    dlat = CITY_HALF_KM / 111.195
    dlon = dlat / math.cos(math.radians(CENTRE[1]))
    return [Venue(f"C{i:05d}", f"城市服务点{i}", VenueKind.KIOSK,
                  float(CENTRE[0] + rng.uniform(-1, 1) * dlon),
                  float(CENTRE[1] + rng.uniform(-1, 1) * dlat)) for i in range(n)]


# ---------------------------------------------------------------- measured runs (child)
def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_geosvc_tables(folder: Path) -> dict:
    """Import items, venues, links with geosvc into a new SQLite store."""
    from geosvc.importer import import_file
    from geosvc.store import open_store

    base = _rss_mb()
    out: dict = {}
    t0 = time.perf_counter()
    with open_store(str(folder / "geosvc.sqlite")) as store:
        for what in ("items", "venues", "links"):
            t = time.perf_counter()
            report = import_file(store, what, folder / f"{what}.csv")
            out[f"{what}_s"] = time.perf_counter() - t
            out[f"{what}_rows"] = report.created
        out["stored"] = store.counts()
    out.update(seconds=time.perf_counter() - t0, base_mb=base, peak_mb=_peak_mb())
    return out


def run_sqlite_tables(folder: Path) -> dict:
    """Load the same CSV rows with csv.reader + sqlite3 executemany (no validation)."""
    import sqlite3

    base = _rss_mb()
    t0 = time.perf_counter()
    conn = sqlite3.connect(folder / "bare.sqlite")
    conn.executescript("""
        CREATE TABLE items (code TEXT PRIMARY KEY, name TEXT, department TEXT);
        CREATE TABLE venues (code TEXT PRIMARY KEY, name TEXT, kind TEXT, level TEXT,
                             lon REAL, lat REAL, opening_hours TEXT);
        CREATE TABLE links (venue_code TEXT, item_code TEXT,
                            PRIMARY KEY (venue_code, item_code));
    """)
    out: dict = {}
    with conn:
        for table, n in (("items", 3), ("venues", 7), ("links", 2)):
            t = time.perf_counter()
            with (folder / f"{table}.csv").open(encoding="utf-8", newline="") as fh:
                reader = csv.reader(fh)
                next(reader)
                conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * n)})", reader)
            out[f"{table}_s"] = time.perf_counter() - t
    conn.close()
    out.update(seconds=time.perf_counter() - t0, base_mb=base, peak_mb=_peak_mb())
    return out


def run_pandas_tables(folder: Path) -> dict:
    """Load the same CSV files with pandas.read_csv + DataFrame.to_sql."""
    import sqlite3

    import pandas as pd

    base = _rss_mb()
    t0 = time.perf_counter()
    conn = sqlite3.connect(folder / "pandas.sqlite")
    out: dict = {}
    for table in ("items", "venues", "links"):
        t = time.perf_counter()
        frame = pd.read_csv(folder / f"{table}.csv", dtype={"level": "string"})
        frame.to_sql(table, conn, index=False)
        out[f"{table}_s"] = time.perf_counter() - t
        del frame
    conn.commit()
    conn.close()
    out.update(seconds=time.perf_counter() - t0, base_mb=base, peak_mb=_peak_mb())
    return out


def run_geosvc_raster(folder: Path, clip: str) -> dict:
    """Import the raster as population: ``city`` (2,000 venues stored first) or ``whole``."""
    from geosvc.importer import import_file
    from geosvc.store import Batch, open_store

    db = folder / f"raster-{clip}.sqlite"
    db.unlink(missing_ok=True)
    with open_store(str(db)) as store:
        if clip == "city":
            store.write(Batch(venues=city_venues()))
    import rasterio  # noqa: F401  (loaded before the baseline, as the import needs it)

    base = _rss_mb()
    t0 = time.perf_counter()
    with open_store(str(db)) as store:
        report = import_file(store, "population", folder / "national.tif")
    seconds = time.perf_counter() - t0
    raster = report.raster
    assert raster is not None
    return dict(seconds=seconds, base_mb=base, peak_mb=_peak_mb(), cells_read=raster.cells_read,
                cells_kept=raster.cells_kept, total=raster.total, window=raster.window)


def run_peer_raster(folder: Path, window: list[int] | None) -> dict:
    """Read the raster (or a window) with rasterio and sum the cells > 0 with numpy."""
    import rasterio
    from rasterio.windows import Window

    base = _rss_mb()
    t0 = time.perf_counter()
    with rasterio.open(folder / "national.tif") as ds:
        win = None if window is None else Window(*window)
        data = ds.read(1, window=win, masked=True)
    values = data.compressed()
    values = values[values > 0]
    approx = float(values.sum(dtype=np.float64))
    seconds, peak = time.perf_counter() - t0, _peak_mb()
    # the exact sum (to check geosvc's), after the measurement: a list of N floats
    total = math.fsum(values.astype(np.float64).tolist())
    return dict(seconds=seconds, base_mb=base, peak_mb=peak, cells_read=int(data.size),
                cells_kept=int(values.size), total=total, numpy_sum=approx)


def run_peer_raster_sqlite(folder: Path) -> dict:
    """Whole raster -> cell centres (numpy) -> bare sqlite3 executemany (the write's floor)."""
    import sqlite3

    import rasterio

    base = _rss_mb()
    t0 = time.perf_counter()
    with rasterio.open(folder / "national.tif") as ds:
        data = ds.read(1, masked=True)
        t = ds.transform
    keep = ~np.ma.getmaskarray(data) & (data.filled(0) > 0)
    rows, cols = np.nonzero(keep)
    counts = np.asarray(data[rows, cols], dtype=np.float64)
    lon = t.c + t.a * (cols + 0.5)
    lat = t.f + t.e * (rows + 0.5)
    del data, keep, rows, cols
    db = folder / "peer-raster.sqlite"
    db.unlink(missing_ok=True)
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE population (id INTEGER PRIMARY KEY, code TEXT, lon REAL, "
                 "lat REAL, count REAL, wkt TEXT)")

    def chunks():
        for i in range(0, len(counts), 65536):
            part = slice(i, i + 65536)
            yield from zip(lon[part].tolist(), lat[part].tolist(), counts[part].tolist(),
                           strict=True)

    with conn:
        conn.executemany("INSERT INTO population (lon, lat, count) VALUES (?, ?, ?)", chunks())
    conn.close()
    return dict(seconds=time.perf_counter() - t0, base_mb=base, peak_mb=_peak_mb(),
                cells_kept=int(len(counts)))


def child(name: str, folder: Path, arg: str | None) -> None:
    """Run one measurement (in a fresh process) and print its figures as JSON."""
    if name == "geosvc-tables":
        out = run_geosvc_tables(folder)
    elif name == "sqlite-tables":
        out = run_sqlite_tables(folder)
    elif name == "pandas-tables":
        out = run_pandas_tables(folder)
    elif name == "peer-raster-sqlite":
        out = run_peer_raster_sqlite(folder)
    elif name == "geosvc-raster":
        out = run_geosvc_raster(folder, arg or "whole")
    else:
        out = run_peer_raster(folder, json.loads(arg) if arg else None)
    print(json.dumps(out))


def measure(name: str, folder: Path, arg: str | None = None) -> dict:
    """Run one measurement in a fresh interpreter and return its figures."""
    cmd = [sys.executable, __file__, "--child", name, "--dir", str(folder)]
    if arg is not None:
        cmd += ["--arg", arg]
    # the children import geosvc from this checkout (not whichever one is installed)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p))
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"{name} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- report
def work(r: dict) -> float:
    """Peak RSS above the RSS after imports (MB): the measured work's memory."""
    return max(r["peak_mb"] - r["base_mb"], 1.0)


def line(label: str, r: dict, ref: dict | None = None) -> str:
    """One result line, with ratios to ``ref`` when given."""
    text = (f"  {label:<38} {r['seconds']:8.2f} s   peak RSS {r['peak_mb']:7.0f} MB "
            f"(base {r['base_mb']:4.0f}, work {work(r):6.0f})")
    if ref is not None:
        text += (f"   x{r['seconds'] / ref['seconds']:.1f} time, "
                 f"x{work(r) / work(ref):.1f} work memory")
    return text


#: rows of the markdown table: (what, result, the peer its ratios are taken to or None)
Rows = list[tuple[str, dict, dict | None, str]]


def _md(rows: Rows) -> str:
    """Markdown table of the run: time and work memory, ratios to the same run's peer."""
    out = ["| run | time | peak RSS (work) | vs peer: time, work memory |", "|---|---|---|---|"]
    for label, r, ref, peer in rows:
        vs = (f"x{r['seconds'] / ref['seconds']:.1f}, x{work(r) / work(ref):.1f} ({peer})"
              if ref is not None else "")
        out.append(f"| {label} | {r['seconds']:.2f} s | {r['peak_mb']:,.0f} MB "
                   f"({work(r):,.0f}) | {vs} |")
    return "\n".join(out)


def bench_tables(folder: Path, n_venues: int, n_links: int,
                 rows: Rows, targets: list[Target]) -> None:
    """Part 1: write the CSV files, import them, load them with the peers; print."""
    t = time.perf_counter()
    write_tables(folder, n_venues, n_links)
    sizes = ", ".join(f"{p.name} {p.stat().st_size / 2**20:.1f} MB"
                      for p in sorted(folder.glob("*.csv")))
    print(f"tables: {n_venues:,} venues, {N_ITEMS} items, {n_links:,} links "
          f"({sizes}; written in {time.perf_counter() - t:.1f} s)")
    ours = measure("geosvc-tables", folder)
    bare = measure("sqlite-tables", folder)
    pandas = measure("pandas-tables", folder)
    stored = ours["stored"]
    targets.append(Target("every venue and link row imported",
                          f"venues {stored['venues']:,} / {n_venues:,}, links "
                          f"{stored['links']:,} / {n_links:,}",
                          stored["venues"] == n_venues and stored["links"] == n_links))
    what = f"{n_venues // 1000}k venues + {n_links // 1000}k links"
    rows += [(f"`geosvc import` items + venues + links ({what})", ours, bare,
              "bare sqlite3"),
             ("  same, vs pandas", ours, pandas, "pandas"),
             ("peer: `csv.reader` + bare `sqlite3` `executemany`, no validation", bare, None,
              ""),
             ("peer: `pandas.read_csv` + `to_sql`", pandas, None, "")]
    print(line("geosvc import items+venues+links", ours, bare))
    for what in ("venues", "links"):
        print(f"    {what}: geosvc {ours[f'{what}_s']:.2f} s "
              f"({ours[f'{what}_rows'] / ours[f'{what}_s']:,.0f} rows/s), "
              f"bare sqlite3 {bare[f'{what}_s']:.2f} s, pandas {pandas[f'{what}_s']:.2f} s")
    print(line("peer: bare sqlite3 executemany", bare))
    print(line("peer: pandas read_csv + to_sql", pandas))
    print(f"  ratios: geosvc / bare sqlite3 x{ours['seconds'] / bare['seconds']:.1f} time; "
          f"geosvc / pandas x{ours['seconds'] / pandas['seconds']:.1f} time")


def bench_raster(folder: Path, rows: int, cols: int, whole: bool,
                 table: Rows, targets: list[Target]) -> None:
    """Part 2: write the raster, import it (city extent, whole), read it with peers; print."""
    t = time.perf_counter()
    path = folder / "national.tif"
    write_raster(path, rows, cols)
    print(f"raster: {rows} x {cols} = {rows * cols / 1e6:.2f} M cells, 3\" (~100 m), "
          f"float32 tiled BigTIFF LZW+predictor, {path.stat().st_size / 2**20:.1f} MB on disk "
          f"(written in {time.perf_counter() - t:.1f} s)")
    peer = measure("peer-raster", folder)
    city = measure("geosvc-raster", folder, "city")
    city_peer = measure("peer-raster", folder, json.dumps(city["window"]))
    targets.append(Target("city-extent import: the imported sum equals rasterio's over "
                          "the window (exactly)", f"{city['total']:,.1f} vs "
                          f"{city_peer['total']:,.1f}", city["total"] == city_peer["total"]))
    cells = f"{rows:,} x {cols:,}-cell raster"
    table += [(f"`geosvc import population`, city extent of a {cells} "
               f"({city['cells_read']:,} cells read)", city, city_peer, "rasterio window read"),
              ("peer: rasterio read of the same window + numpy sum", city_peer, None, ""),
              ("peer: rasterio read of the whole raster + numpy sum", peer, None, "")]
    print(f"  city extent (2,000 venues in 40 x 40 km, + 5 km): window {city['window']}, "
          f"{city['cells_read']:,} cells read, {city['cells_kept']:,} kept, "
          f"sum {city['total']:,.1f} (= rasterio's over the window)")
    print(line("geosvc import, city extent", city, peer))
    print(line("peer: rasterio window read + numpy sum", city_peer))
    print(line("peer: rasterio whole read + numpy sum", peer))
    if whole:
        ours = measure("geosvc-raster", folder, "whole")
        targets.append(Target("whole-raster import: the imported sum equals rasterio's "
                              "(exactly)", f"{ours['total']:,.1f} vs {peer['total']:,.1f}",
                              ours["total"] == peer["total"]))
        print(f"  whole raster (empty dataset): {ours['cells_read']:,} cells read, "
              f"{ours['cells_kept']:,} kept, sum {ours['total']:,.1f} (= rasterio's)")
        floor = measure("peer-raster-sqlite", folder)
        targets.append(Target("whole-raster import keeps the cells the bare loader keeps",
                              f"{ours['cells_kept']:,} vs {floor['cells_kept']:,}",
                              floor["cells_kept"] == ours["cells_kept"]))
        table += [(f"`geosvc import population`, whole {cells} (empty dataset)", ours, floor,
                   "rasterio + numpy + bare sqlite3"),
                  ("peer: rasterio whole read + numpy centres + bare `sqlite3` `executemany`",
                   floor, None, "")]
        print(line("geosvc import, whole raster", ours, peer))
        print(line("peer: rasterio + numpy + bare sqlite3", floor))
        print(f"    geosvc / (rasterio + bare sqlite3): "
              f"x{ours['seconds'] / floor['seconds']:.1f} time, "
              f"x{work(ours) / work(floor):.1f} work memory")
        print(f"    per kept cell: {ours['seconds'] / ours['cells_kept'] * 1e6:.2f} µs, "
              f"{work(ours) * 2**20 / ours['cells_kept']:.0f} bytes")


@click.command()
@click.option("--quick", is_flag=True, help="Smoke run: 10k venues, 100k links, 0.3 M cells.")
@click.option("--venues", "n_venues", default=100_000, show_default=True)
@click.option("--links", "n_links", default=1_000_000, show_default=True)
@click.option("--rows", default=2500, show_default=True, help="Raster rows.")
@click.option("--cols", default=3000, show_default=True, help="Raster columns.")
@click.option("--tables/--no-tables", default=True, show_default=True)
@click.option("--raster/--no-raster", default=True, show_default=True)
@click.option("--whole/--no-whole", default=True, show_default=True,
              help="Also import the whole raster (every cell kept: memory grows with it).")
@click.option("--child", "child_name", default=None, hidden=True)
@click.option("--dir", "folder", default=None, hidden=True)
@click.option("--arg", default=None, hidden=True)
@write_md_option
def main(quick: bool, n_venues: int, n_links: int, rows: int, cols: int, tables: bool,
         raster: bool, whole: bool, child_name: str | None, folder: str | None,
         arg: str | None, write_md: Path | None) -> None:
    """Time and measure the peak memory of geosvc imports against peers (same run)."""
    if child_name is not None:
        child(child_name, Path(str(folder)), arg)
        return
    if quick:
        n_venues, n_links, rows, cols = 10_000, 100_000, 500, 600
    table: Rows = []
    targets: list[Target] = []
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        if tables:
            bench_tables(Path(tmp), n_venues, n_links, table, targets)
        if raster:
            bench_raster(Path(tmp), rows, cols, whole, table, targets)
    print("\nchecks:")
    for t in targets:
        print(f"  [{'met' if t.ok else 'MISSED'}] {t.target}: {t.measured}")
    finish(write_md, __file__, targets, before=_md(table))
    if not all(t.ok for t in targets):
        raise SystemExit("a check failed (see above)")


if __name__ == "__main__":
    main()
