#!/usr/bin/env python
"""Benchmark the venue index (and the nearest endpoint over HTTP).

Part 1 times nearest k=5 queries, with and without an item filter (an item
handled by about 5 % of venues), on seeded synthetic cities of 1k, 10k and
100k venues (a 50 x 50 km city around lon 117.0, lat 31.0, denser in the
centre), for: the shipped ``ServiceIndex``, brute-force numpy haversine,
scipy ``cKDTree`` on projected (UTM) coordinates, a raw ``rtree`` and
shapely's ``STRtree``; and bounding-box queries for ``ServiceIndex``, raw
``rtree`` and ``STRtree``.  It prints microseconds per query, the ratios, and
whether the targets are met.

``--scale`` (issue 13) builds and queries at province scale (1M, ``--scale-10m``
10M venues), each structure in a fresh process, against scipy ``cKDTree`` and
shapely ``STRtree`` measured in the same run: the index's spatial part from
arrays, ``ServiceIndex.build`` from Venue objects, and the whole snapshot as
the service makes it on its two paths: COLD (``store``), the SQLite store's
rows read as columns, written to the revision's snapshot cache
(``geosvc.store.snapcache``) and built from, as the first load after an
import; WARM (``warm``), the same revision's columns mapped from that cache and
built from, as every later worker and restart (the store file is written once
into the temp dir, not timed).

Part 2 (``--http``) serves ``geosvc.web:create_app()`` over a seeded SQLite
database and a bare Flask + rtree app answering the same query, each under
gunicorn with 2 workers on 127.0.0.1, loads each with ``wrk`` and prints
requests/s, p50 and p99 and the ratio.  Server processes are stopped on exit,
failure or Ctrl-C.

Usage::

    python scripts/bench_index.py --quick            # smoke run, seconds
    python scripts/bench_index.py                    # 1k, 10k, 100k
    python scripts/bench_index.py --http --no-index  # HTTP part only
"""

from __future__ import annotations

import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import click
import numpy as np
from _benchmd import finish, write_md_option

CENTRE = (117.0, 31.0)
HALF_KM = 25.0
N_ITEMS = 60
TEST_ITEM = "BENCH-T"  # handled by ~5 % of venues
K = 5


# ---------------------------------------------------------------- synthetic data
def synth_arrays(n: int, seed: int = 42) -> dict[str, np.ndarray]:
    """Seeded venue coordinates, kinds and item memberships (numpy only)."""
    rng = np.random.default_rng(seed)
    dlat = HALF_KM / 111.195
    dlon = dlat / math.cos(math.radians(CENTRE[1]))
    centre = rng.random(n) < 0.6  # 60 % in a dense centre, 40 % spread over the box
    u = np.where(centre, np.clip(rng.normal(0, 0.2, n), -1, 1), rng.uniform(-1, 1, n))
    v = np.where(centre, np.clip(rng.normal(0, 0.2, n), -1, 1), rng.uniform(-1, 1, n))
    lon = CENTRE[0] + u * dlon
    lat = CENTRE[1] + v * dlat
    kind = rng.choice(3, n, p=[0.3, 0.4, 0.3])  # hall, bank_outlet, kiosk
    candidate = (kind == 1) & (rng.random(n) < 0.1)
    shares = np.concatenate([[0.05], rng.uniform(0.02, 0.2, N_ITEMS - 1)])
    member = (rng.random((n, N_ITEMS)) < shares) & ~candidate[:, None]
    return {"lon": lon, "lat": lat, "kind": kind, "candidate": candidate, "member": member}


def item_code(j: int) -> str:
    """Return the code of synthetic item ``j``."""
    return TEST_ITEM if j == 0 else f"BENCH-{j:02d}"


def synth_domain(n: int, seed: int = 42):
    """Venues, items and links (geosvc.model objects) of :func:`synth_arrays`."""
    from geosvc.model import KIND_CHANNELS, Level, Link, ServiceItem, Venue, VenueKind

    a = synth_arrays(n, seed)
    kinds = list(VenueKind)
    hours = ("Mo-Fr 09:00-12:00,13:30-17:00; PH off", "24/7", "Mo-Su 08:00-20:00")
    venues = []
    for i in range(n):
        kind = kinds[a["kind"][i]]
        chans = frozenset() if a["candidate"][i] else KIND_CHANNELS[kind]
        venues.append(
            Venue(
                code=f"B{i:06d}",
                name=f"bench venue {i}",
                kind=kind,
                lon=float(a["lon"][i]),
                lat=float(a["lat"][i]),
                level=Level.TOWNSHIP if kind is VenueKind.HALL else None,
                channels=chans,
                area_code=f"A{i % 5}",
                opening_hours=hours[i % 3],
            )
        )
    items = [ServiceItem(code=item_code(j), name=f"bench item {j}") for j in range(N_ITEMS)]
    vi, ji = np.nonzero(a["member"])
    links = [
        Link(venues[v].code, item_code(j), venues[v].channels)
        for v, j in zip(vi.tolist(), ji.tolist(), strict=True)
    ]
    return venues, items, links, a


# ---------------------------------------------------------------- index part
def timed(fn, queries) -> float:
    """Microseconds per call of fn(q) over queries."""
    t = time.perf_counter()
    for q in queries:
        fn(q)
    return (time.perf_counter() - t) / len(queries) * 1e6


def bench_size(n: int, n_queries: int, seed: int = 42) -> dict[str, float]:
    """Time every method on ``n`` venues; microseconds per query and build seconds."""
    import shapely
    from pyproj import Transformer
    from rtree import index as rindex
    from scipy.spatial import cKDTree

    from geosvc.coords import geodesic_distance_m, utm_crs
    from geosvc.index import ServiceIndex
    from geosvc.index._sphere import unit_vector, unit_vectors
    from geosvc.model import DatasetInfo, VenueFilter

    venues, items, links, a = synth_domain(n, seed)
    t = time.perf_counter()
    idx = ServiceIndex.build(venues, items, links, info=DatasetInfo())
    build_s = time.perf_counter() - t
    rng = np.random.default_rng(seed + 1)
    qa = synth_arrays(n_queries, seed + 2)  # queries follow the venue density
    qlon, qlat = qa["lon"], qa["lat"]
    pts = list(zip(qlon.tolist(), qlat.tolist(), strict=True))
    flt_all = VenueFilter()
    flt_item = VenueFilter(items=(TEST_ITEM,))
    sel_all = ~a["candidate"]
    sel_item = a["member"][:, 0]
    out: dict[str, float] = {"n": n, "build_s": build_s, "item_share": sel_item.mean()}

    # exactness spot check against brute force
    for x, y in pts[:50]:
        for flt, sel in ((flt_all, sel_all), (flt_item, sel_item)):
            pos = np.flatnonzero(sel)
            d = geodesic_distance_m(x, y, a["lon"][pos], a["lat"][pos])
            exp = pos[np.lexsort((pos, d))[:K]]
            if not np.array_equal(idx.nearest_k(x, y, K, flt)[0], exp):
                raise click.ClickException(f"ServiceIndex differs from brute force at {x}, {y}")

    crs = utm_crs(*CENTRE)
    tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    vx, vy = tr.transform(a["lon"], a["lat"])
    qx, qy = tr.transform(qlon, qlat)
    qxy = list(zip(qx.tolist(), qy.tolist(), strict=True))
    qxyz = [unit_vector(x, y) for x, y in pts]
    qpts = shapely.points(qx, qy)
    props = rindex.Property()
    props.dimension = 3
    props.leaf_capacity = props.index_capacity = 20
    n_brute = max(20, min(n_queries, 200_000 // max(1, n // 100)))

    for label, sel, flt in (("all", sel_all, flt_all), ("item", sel_item, flt_item)):
        pos = np.flatnonzero(sel)
        lon_s, lat_s = a["lon"][pos], a["lat"][pos]
        xyz = unit_vectors(lon_s, lat_s)
        for p in pts[:20]:  # warm the filter cache and sub-indexes
            idx.nearest_k(p[0], p[1], K, flt)
        out[f"ours_{label}"] = timed(lambda p, flt=flt: idx.nearest_k(p[0], p[1], K, flt), pts)

        def brute(p, lon_s=lon_s, lat_s=lat_s):
            d = geodesic_distance_m(p[0], p[1], lon_s, lat_s)
            part = np.argpartition(d, K)[:K]
            return part[np.argsort(d[part])]

        out[f"brute_{label}"] = timed(brute, pts[:n_brute])
        kd = cKDTree(np.column_stack([vx[pos], vy[pos]]))
        out[f"ckdtree_{label}"] = timed(lambda q, kd=kd: kd.query(q, K), qxy)
        rt = rindex.Index((pos.astype(np.int64), xyz, xyz), properties=props)
        out[f"rtree_{label}"] = timed(lambda q, rt=rt: list(rt.nearest(q + q, K)), qxyz)
        st = shapely.STRtree(shapely.points(vx[pos], vy[pos]))
        gx, gy = vx[pos], vy[pos]
        area = (gx.max() - gx.min()) * (gy.max() - gy.min()) or 1.0
        r0 = 1.5 * math.sqrt(K * area / (math.pi * max(len(pos), 1)))

        def str_knn(g, st=st, gx=gx, gy=gy, r0=r0):
            r = r0
            while True:
                hits = st.query(g, predicate="dwithin", distance=r)
                if len(hits) >= K or len(hits) == len(gx):
                    break
                r *= 2
            x, y = shapely.get_x(g), shapely.get_y(g)
            d = np.hypot(gx[hits] - x, gy[hits] - y)
            return hits[np.argsort(d)[:K]]

        out[f"strtree_{label}"] = timed(str_knn, qpts)

    # bounding boxes of about 1 x 1 km around the query points
    dlat = 0.5 / 111.195
    dlon = dlat / math.cos(math.radians(CENTRE[1]))
    boxes = [(x - dlon, y - dlat, x + dlon, y + dlat) for x, y in pts]
    out["bbox_ours"] = timed(lambda b: idx.query_bbox(b, flt_all), boxes)
    rt2 = rindex.Index(
        (
            np.arange(n, dtype=np.int64),
            np.column_stack([a["lon"], a["lat"]]),
            np.column_stack([a["lon"], a["lat"]]),
        )
    )
    out["bbox_rtree"] = timed(
        lambda b: np.sort(np.fromiter(rt2.intersection(b), np.intp)), boxes
    )
    st2 = shapely.STRtree(shapely.points(a["lon"], a["lat"]))
    out["bbox_strtree"] = timed(lambda b: np.sort(st2.query(shapely.box(*b))), boxes)
    out["bbox_hits"] = float(np.mean([len(idx.query_bbox(b)) for b in boxes[:200]]))
    del rng
    return out


def print_index_results(results: list[dict[str, float]]) -> list[tuple[str, bool | None]]:
    """Print the index tables and targets; return the targets (None = not measured)."""
    methods = ("ours", "brute", "ckdtree", "rtree", "strtree")
    click.echo("\nnearest k=5, microseconds per query (item filter: item at ~5 % of venues)")
    head = f"{'venues':>8} {'filter':>6} " + " ".join(f"{m:>9}" for m in methods)
    click.echo(head + f" {'vs brute':>9} {'vs cKD':>7}")
    for r in results:
        for label in ("all", "item"):
            row = [r[f"{m}_{label}"] for m in methods]
            click.echo(
                f"{int(r['n']):>8} {label:>6} "
                + " ".join(f"{v:9.1f}" for v in row)
                + f" {row[1] / row[0]:8.0f}x {row[0] / row[2]:6.1f}x"
            )
    click.echo("\nbounding box ~1 x 1 km, microseconds per query")
    click.echo(f"{'venues':>8} {'hits':>6} {'ours':>9} {'rtree':>9} {'strtree':>9}")
    for r in results:
        click.echo(
            f"{int(r['n']):>8} {r['bbox_hits']:6.1f} {r['bbox_ours']:9.1f} "
            f"{r['bbox_rtree']:9.1f} {r['bbox_strtree']:9.1f}"
        )
    click.echo("\nbuild: " + ", ".join(f"{int(r['n'])}: {r['build_s']:.2f} s" for r in results))
    big = max(results, key=lambda r: r["n"])
    checks = [
        (
            f"nearest at {int(big['n'])}: >= 100x faster than brute force "
            f"({big['brute_all'] / big['ours_all']:.0f}x)",
            big["brute_all"] / big["ours_all"] >= 100,
        )
        if big["n"] >= 100_000
        else (
            f"nearest >= 100x faster than brute force: set at 100k venues, largest run "
            f"{int(big['n'])} ({big['brute_all'] / big['ours_all']:.0f}x there)",
            None,
        ),
        (
            f"nearest at {int(big['n'])}: within 10x of cKDTree "
            f"({big['ours_all'] / big['ckdtree_all']:.1f}x)",
            big["ours_all"] <= 10 * big["ckdtree_all"],
        ),
        (
            f"item-filtered within 2x of unfiltered "
            f"({big['ours_item'] / big['ours_all']:.2f}x)",
            big["ours_item"] <= 2 * big["ours_all"],
        ),
    ]
    click.echo("\ntargets:")
    _print_checks(checks)
    return checks


def _print_checks(checks: list[tuple[str, bool | None]]) -> None:
    """Print each target as met, MISSED or not measured (``None``: not run at its size)."""
    for text, ok in checks:
        click.echo(f"  [{'not measured' if ok is None else 'met' if ok else 'MISSED'}] {text}")


# ---------------------------------------------------------------- scale part (issue 13)
SCALE_HALF_KM = 200.0  # a 400 x 400 km "province"
SCALE_ITEMS = 10
SCALE_QUERIES = 20_000
SCALE_BATCH = 200_000


def scale_arrays(n: int, seed: int = 7) -> dict[str, np.ndarray]:
    """Seeded province-sized coordinates: 60 % in 40 dense towns, 40 % spread out."""
    rng = np.random.default_rng(seed)
    dlat = SCALE_HALF_KM / 111.195
    dlon = dlat / math.cos(math.radians(CENTRE[1]))
    towns = rng.uniform(-0.9, 0.9, (40, 2))
    town = rng.integers(0, 40, n)
    dense = rng.random(n) < 0.6
    u = np.where(dense, towns[town, 0] + rng.normal(0, 0.02, n), rng.uniform(-1, 1, n))
    v = np.where(dense, towns[town, 1] + rng.normal(0, 0.02, n), rng.uniform(-1, 1, n))
    return {
        "lon": CENTRE[0] + np.clip(u, -1, 1) * dlon,
        "lat": CENTRE[1] + np.clip(v, -1, 1) * dlat,
        "kind": rng.choice(3, n, p=[0.3, 0.4, 0.3]),
        "candidate": rng.random(n) < 0.04,
        "item": rng.integers(0, SCALE_ITEMS, n),  # one item per venue
    }


def scale_domain(n: int):
    """Venues, items and links (one link a venue) of :func:`scale_arrays`."""
    from geosvc.model import ServiceItem

    a = scale_arrays(n)
    venues, links = _scale_objects(a, 0, n)
    items = [ServiceItem(code=f"S-{j:02d}", name=f"item {j}") for j in range(SCALE_ITEMS)]
    return venues, items, links, a


def _scale_objects(a: dict[str, np.ndarray], lo: int, hi: int):
    """Venue and Link objects of rows ``lo:hi`` of :func:`scale_arrays`."""
    from geosvc.model import KIND_CHANNELS, Level, Link, Venue, VenueKind

    kinds = list(VenueKind)
    hours = ("Mo-Fr 09:00-12:00,13:30-17:00; PH off", "24/7", "Mo-Su 08:00-20:00")
    venues = []
    links = []
    lon, lat = a["lon"][lo:hi].tolist(), a["lat"][lo:hi].tolist()
    kind_l, cand_l = a["kind"][lo:hi].tolist(), a["candidate"][lo:hi].tolist()
    item_l = a["item"][lo:hi].tolist()
    for k, i in enumerate(range(lo, hi)):
        kind = kinds[kind_l[k]]
        chans = frozenset() if cand_l[k] and kind is VenueKind.BANK_OUTLET else (
            KIND_CHANNELS[kind])
        code = f"P{i:08d}"
        venues.append(Venue(code=code, name=f"venue {i}", kind=kind, lon=lon[k], lat=lat[k],
                            level=Level.TOWNSHIP if kind is VenueKind.HALL else None,
                            channels=chans, area_code=f"A{i % 50}",
                            opening_hours=hours[i % 3]))
        links.append(Link(code, f"S-{item_l[k]:02d}", chans))
    return venues, links


def scale_db(n: int) -> Path:
    """Path of the :func:`scale_domain` province in a SQLite store (kept in the temp dir).

    Written once per size through ``Store.write`` in batches of 200,000 venues
    (past :data:`FAST_ROWS_FROM`, the same rows by sqlite3 directly; not timed);
    later runs reuse the file.
    """
    return Path(tempfile.gettempdir()) / f"geosvc-bench-scale-{n}-v1.sqlite"


#: Rows past this many (the first batch fills the vocabulary tables through
#: Store.write) are inserted with sqlite3 directly, in the rows Store.write
#: writes (``_rows.venue_row`` / ``link_row``): Store.write takes ~1 min per 200k
#: venues on the loaded machine, ~50 min for 10M.
FAST_ROWS_FROM = 200_000


def _insert_rows(path: Path, a: dict[str, np.ndarray], lo: int, hi: int) -> None:
    """Insert rows ``lo:hi`` of :func:`scale_arrays` into the store at ``path`` (one go)."""
    import sqlite3

    from geosvc.store._rows import link_row, venue_row

    cols = ("code, name, kind, lon, lat, level, channels, area_code, area_name, address, "
            "phone, opening_hours, official_calendar, accessible, cross_province, regional, "
            "bank, machines, name_en, source, status")
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        step = 200_000
        for start in range(lo, hi, step):
            venues, links = _scale_objects(a, start, min(hi, start + step))
            conn.executemany(f"INSERT INTO venues ({cols}) VALUES ({', '.join(['?'] * 21)})",
                             [venue_row(v) for v in venues])
            conn.executemany("INSERT INTO links (venue_code, item_code, channels) "
                             "VALUES (?, ?, ?)", [link_row(k) for k in links])
            click.echo(f"... store {min(hi, start + step):,}/{hi:,} venues (sqlite3)", err=True)
        conn.execute("COMMIT")
    finally:
        conn.close()


def write_scale_db(n: int) -> None:
    """Write :func:`scale_db` for ``n`` venues unless it exists."""
    from geosvc.model import DatasetInfo, ServiceItem
    from geosvc.store import open_store
    from geosvc.store.base import Batch

    path = scale_db(n)
    if path.exists():
        return
    part = path.with_name(path.stem + ".partial.sqlite")
    for extra in ("", "-wal", "-shm"):
        Path(str(part) + extra).unlink(missing_ok=True)
    a = scale_arrays(n)
    items = [ServiceItem(code=f"S-{j:02d}", name=f"item {j}") for j in range(SCALE_ITEMS)]
    step = 200_000
    with open_store(str(part)) as store:
        store.write(Batch(items=items, info=DatasetInfo(name="bench province")))
        for lo in range(0, min(n, FAST_ROWS_FROM), step):
            venues, links = _scale_objects(a, lo, min(n, lo + step))
            store.write(Batch(venues=venues, links=links))
            click.echo(f"... store {min(n, lo + step):,}/{n:,} venues", err=True)
    if n > FAST_ROWS_FROM:
        _insert_rows(part, a, FAST_ROWS_FROM, n)
    os.replace(part, path)


def _rss_mb() -> float:
    """Resident set size of this process now, MB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _scale_queries(n_q: int) -> tuple[np.ndarray, np.ndarray]:
    q = scale_arrays(n_q, seed=11)
    return q["lon"], q["lat"]


def _boxes(qlon: np.ndarray, qlat: np.ndarray) -> list[tuple[float, float, float, float]]:
    """About 1 x 1 km boxes around the query points."""
    dlat = 0.5 / 111.195
    dlon = dlat / math.cos(math.radians(CENTRE[1]))
    return [(x - dlon, y - dlat, x + dlon, y + dlat)
            for x, y in zip(qlon.tolist(), qlat.tolist(), strict=True)]


def _scale_ours(n: int, out: dict[str, float], qlon: np.ndarray, qlat: np.ndarray,
                blon: np.ndarray, blat: np.ndarray,
                boxes: list[tuple[float, float, float, float]]) -> None:
    """Measure ``ours`` for :func:`scale_worker`: objects, build, queries."""
    import gc

    from geosvc.index import ServiceIndex
    from geosvc.model import DatasetInfo

    gc.collect()
    r0 = _rss_mb()
    t = time.process_time()
    venues, items, links, a = scale_domain(n)
    out["objects_s"] = time.process_time() - t
    gc.collect()
    r1 = _rss_mb()
    out["objects_mb"] = r1 - r0
    t = time.process_time()
    idx = ServiceIndex.build(venues, items, links, info=DatasetInfo())
    out["build_s"] = time.process_time() - t
    gc.collect()
    out["mem_mb"] = _rss_mb() - r1  # the input objects are still alive: the index's own
    _scale_query(idx, out, qlon, qlat, blon, blat, boxes)


def snapcache_dir(n: int) -> Path:
    """Return the snapshot cache the ``store`` (cold) run writes and ``warm`` maps."""
    return Path(tempfile.gettempdir()) / f"geosvc-bench-snapcache-{n}"


def _rss_parts() -> dict[str, float]:
    """Return resident memory now, MB: anonymous (private) and file-backed (mapped)."""
    out = {}
    with open("/proc/self/status") as fh:
        for row in fh:
            key, _, val = row.partition(":")
            if key in ("RssAnon", "RssFile", "RssShmem"):
                out[key] = int(val.split()[0]) / 1e3
    return out


def _scale_store(n: int, out: dict[str, float], qlon: np.ndarray, qlat: np.ndarray,
                 blon: np.ndarray, blat: np.ndarray,
                 boxes: list[tuple[float, float, float, float]], *, warm: bool) -> None:
    """Measure the whole snapshot from the store: read (columns) + build, then queries.

    Cold (``warm=False``): the snapshot cache is emptied first, so the read
    takes every row from SQLite and writes the revision's columns to the cache
    (the first load after an import).  Warm: the columns are mapped from the
    cache the cold run wrote (what every later worker and restart pays).
    """
    import gc
    import resource

    from geosvc.app.dataset import build_index, snapshot_cache
    from geosvc.config import Settings
    from geosvc.store import open_store

    path = scale_db(n)
    cache_root = snapcache_dir(n)
    if not warm:
        shutil.rmtree(cache_root, ignore_errors=True)
    settings = Settings(cache_dir=str(cache_root), snapshot_cache_min_venues=0)
    cache = snapshot_cache(settings)
    had_cache = any(cache_root.glob("snapshots/*/r*/manifest.json"))
    gc.collect()
    r0, p0 = _rss_mb(), _rss_parts()
    load0 = os.getloadavg()[0]
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t, w = time.process_time(), time.perf_counter()
    store = open_store(str(path), create=False)
    try:
        contents = store.read(cache)
    finally:
        store.close()
    # the SQLite store's columnar read runs its driver in a child process: its CPU counts
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["child_s"] = (kids.ru_utime + kids.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
    out["child_peak_mb"] = kids.ru_maxrss / 1e3 if out["child_s"] > 0 else 0.0
    t -= out["child_s"]  # read_s and build_s below include the child's CPU
    out["read_s"] = time.process_time() - t
    out["read_wall_s"] = time.perf_counter() - w
    # cold: nothing was cached before the read (the rows were read, then written and
    # mapped back); warm: the revision was cached and its columns are mapped
    mapped = type(contents.venues.code).__name__ == "PackedText"
    if had_cache != warm or (warm and not mapped):
        raise click.ClickException(f"{'warm' if warm else 'cold'} store read: the cache "
                                   f"was {'' if had_cache else 'not '}there before the read")
    t2 = time.process_time()
    idx = build_index(contents, settings)  # as the service: parts mapped, or built and saved
    out["index_s"] = time.process_time() - t2
    out["build_s"] = time.process_time() - t  # read + build
    out["wall_s"] = time.perf_counter() - w
    out["load"] = (load0 + os.getloadavg()[0]) / 2
    del contents
    gc.collect()
    out["mem_mb"] = _rss_mb() - r0  # everything the snapshot holds, nothing else alive
    p1 = _rss_parts()
    out["anon_mb"] = p1["RssAnon"] - p0["RssAnon"]
    out["file_mb"] = p1["RssFile"] - p0["RssFile"]
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3 - r0
    out["columns_mb"] = (idx.table.nbytes()) / 1e6
    out["cache_mb"] = sum(f.stat().st_size for f in cache_root.rglob("*") if f.is_file()) / 1e6
    if len(idx) != n or type(idx.venues).__name__ != "VenueTable":
        raise click.ClickException("the store did not hand over a VenueTable of every venue")
    _scale_query(idx, out, qlon, qlat, blon, blat, boxes)
    out["mem_q_mb"] = _rss_mb() - r0  # after the queries touched what they touch
    _paired_loop(idx, out, qlon, qlat)


def _paired_loop(idx, out: dict[str, float], qlon: np.ndarray, qlat: np.ndarray) -> None:
    """Time our loop and a cKDTree loop in this process, passes alternated.

    The machine is shared: a pass measured minutes apart in another process
    meets other load (the CPU time of the same code varied 1.5x between the
    cold and warm processes of one run).  Here a cKDTree over the same venues
    (as the ``ckdtree`` mode builds it) is queried in alternation with our
    index, :data:`LOOP_PASSES` passes each, and the ratio is of the medians.
    """
    from scipy.spatial import cKDTree

    from geosvc.index._sphere import unit_vector, unit_vectors

    kd = cKDTree(unit_vectors(idx.lon, idx.lat))
    pts = list(zip(qlon.tolist(), qlat.tolist(), strict=True))
    qs = [unit_vector(x, y) for x, y in pts]
    ours, peer = [], []
    for _ in range(LOOP_PASSES):
        t = time.process_time()
        for x, y in pts:
            idx.nearest_k(x, y, K)
        ours.append((time.process_time() - t) / len(pts) * 1e6)
        t = time.process_time()
        for q in qs:
            kd.query(q, K)
        peer.append((time.process_time() - t) / len(qs) * 1e6)
    out["paired_loop_us"], out["paired_ckd_us"] = float(np.median(ours)), float(np.median(peer))


def _scale_query(idx, out: dict[str, float], qlon: np.ndarray, qlat: np.ndarray,
                 blon: np.ndarray, blat: np.ndarray,
                 boxes: list[tuple[float, float, float, float]]) -> None:
    """Check ``idx`` against brute force and time its loop, batch and bbox queries."""
    from geosvc.coords import geodesic_distance_m

    # exactness spot check: k=5 equals a brute-force haversine ranking
    pos = np.flatnonzero(idx.mask())
    for x, y in zip(qlon[:10].tolist(), qlat[:10].tolist(), strict=True):
        d = geodesic_distance_m(x, y, idx.lon[pos], idx.lat[pos])
        exp = pos[np.lexsort((pos, d))[:K]]
        if not np.array_equal(idx.nearest_k(x, y, K)[0], exp):
            raise click.ClickException(f"ServiceIndex differs from brute force at {x}, {y}")
    pts = list(zip(qlon.tolist(), qlat.tolist(), strict=True))
    for x, y in pts[:200]:  # warm
        idx.nearest_k(x, y, K)

    def one_pass() -> None:
        for x, y in pts:
            idx.nearest_k(x, y, K)

    _loop_passes(one_pass, len(pts), out)
    t = time.process_time()
    got, _ = idx.nearest_many(blon, blat, K)
    out["batch_us"] = (time.process_time() - t) / len(blon) * 1e6
    for i in range(0, len(blon), len(blon) // 50):
        if not np.array_equal(got[i], idx.nearest_k(blon[i], blat[i], K)[0]):
            raise click.ClickException("nearest_many differs from nearest_k")
    for key in ("bbox_first_us", "bbox_us"):  # first pass after the load, then steady
        hits = 0
        t = time.process_time()
        for b in boxes:
            hits += len(idx.query_bbox(b))
        out[key] = (time.process_time() - t) / len(boxes) * 1e6
    out["bbox_hits"] = hits / len(boxes)


#: Passes of the single-query loop (the median is reported; the first pass meets the
#: page faults of a freshly loaded snapshot, the later ones what is steady).
LOOP_PASSES = 3


def _loop_passes(one_pass, n_queries: int, out: dict[str, float]) -> None:
    """Time :data:`LOOP_PASSES` passes of ``one_pass``: the median, the first, page faults."""
    import resource

    times, faults = [], []
    for _ in range(LOOP_PASSES):
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t = time.process_time()
        one_pass()
        times.append((time.process_time() - t) / n_queries * 1e6)
        faults.append((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) / n_queries)
    out["loop_us"] = float(np.median(times))
    out["loop_first_us"], out["loop_last_us"] = times[0], times[-1]
    out["loop_faults_first"], out["loop_faults_last"] = faults[0], faults[-1]


def scale_worker(mode: str, n: int) -> dict[str, float]:
    """One measurement in a fresh process (so RSS deltas are this structure's alone).

    Times are CPU seconds of this process (``time.process_time``): the machine is
    shared, and wall time there mostly measures the other users' load.  Imports
    and numba's kernel load are done (and reported) before the memory baseline.
    """
    import gc

    out: dict[str, float] = {"n": n}
    r_imp = _rss_mb()
    if mode == "db":
        write_scale_db(n)
        return out
    if mode in ("search", "ours", "store", "warm"):
        from geosvc.index._boxes import BoxIndex

        BoxIndex(np.zeros(4), np.zeros(4))  # load pykdtree, numba and the cached kernel
        from geosvc.index._sphere import SphereTree

        SphereTree(np.eye(3), None).nearest(np.eye(3)[:1], 1)
    out["imports_mb"] = _rss_mb() - r_imp
    qlon, qlat = _scale_queries(SCALE_QUERIES)
    blon, blat = _scale_queries(SCALE_BATCH)
    boxes = _boxes(qlon, qlat)
    if mode == "ckdtree":
        from scipy.spatial import cKDTree

        from geosvc.index._sphere import unit_vector, unit_vectors

        a = scale_arrays(n)
        lon, lat = a["lon"], a["lat"]
        del a
        gc.collect()
        r0 = _rss_mb()
        t, w = time.process_time(), time.perf_counter()
        kd = cKDTree(unit_vectors(lon, lat))
        out["build_s"] = time.process_time() - t
        out["wall_s"] = time.perf_counter() - w
        out["mem_mb"] = _rss_mb() - r0
        qs = [unit_vector(x, y) for x, y in zip(qlon.tolist(), qlat.tolist(), strict=True)]

        def one_pass() -> None:
            for q in qs:
                kd.query(q, K)

        _loop_passes(one_pass, len(qs), out)
        bq = unit_vectors(blon, blat)
        t = time.process_time()
        kd.query(bq, K)
        out["batch_us"] = (time.process_time() - t) / len(bq) * 1e6
    elif mode == "strtree":
        import shapely

        a = scale_arrays(n)
        lon, lat = a["lon"], a["lat"]
        del a
        gc.collect()
        r0 = _rss_mb()
        t = time.process_time()
        st = shapely.STRtree(shapely.points(lon, lat))
        st.query(shapely.box(0.0, 0.0, 0.0, 0.0))  # GEOS builds the tree lazily
        out["build_s"] = time.process_time() - t
        out["mem_mb"] = _rss_mb() - r0
        for key in ("bbox_first_us", "bbox_us"):  # as _scale_query: two passes
            hits = 0
            t = time.process_time()
            for b in boxes:
                hits += len(np.sort(st.query(shapely.box(*b))))
            out[key] = (time.process_time() - t) / len(boxes) * 1e6
        out["bbox_hits"] = hits / len(boxes)
    elif mode == "search":  # the index's spatial part alone, from arrays
        from geosvc.index._build import link_tables
        from geosvc.index._search import SpatialSearch

        a = scale_arrays(n)
        lon, lat = a["lon"], a["lat"]
        service = ~a["candidate"]
        del a
        from geosvc.index._build import CodeIndex
        from geosvc.table import LinkTable

        links = link_tables(LinkTable.from_links([]), CodeIndex(np.array([], dtype=str)),
                            {}, [], n)
        gc.collect()
        r0 = _rss_mb()
        t = time.process_time()
        search = SpatialSearch(lon, lat, service, links)
        out["build_s"] = time.process_time() - t
        out["mem_mb"] = _rss_mb() - r0
        del search
    elif mode == "ours":
        _scale_ours(n, out, qlon, qlat, blon, blat, boxes)
    elif mode in ("store", "warm"):
        _scale_store(n, out, qlon, qlat, blon, blat, boxes, warm=mode == "warm")
    else:
        raise click.ClickException(f"unknown scale mode {mode!r}")
    return out


def run_scale_worker(mode: str, n: int) -> dict[str, float]:
    """Run :func:`scale_worker` in a fresh interpreter; return its figures."""
    import json

    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    res = subprocess.run(
        [sys.executable, __file__, "--scale-worker", f"{mode}:{n}"],
        capture_output=True, text=True, env=env, check=False,
    )
    if res.returncode:
        raise click.ClickException(f"scale worker {mode} {n} failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def _print_scale_rows(fig: dict[str, dict[str, float]], line) -> None:
    """Print one size's rows of :func:`bench_scale` and its ratios against cKDTree."""
    c = fig["ckdtree"]
    n = int(c["n"])
    o, s, sp = fig.get("ours"), fig.get("strtree"), fig.get("search")
    st, wm = fig.get("store"), fig.get("warm")
    line(n, "cKDTree (3-D unit vectors)", c)
    line(n, "shapely STRtree (lon/lat points)", s)
    line(n, "ours: spatial part (from arrays)", sp)
    line(n, "ours: ServiceIndex.build (objects)", o)
    if o is not None:
        click.echo(f"{'':>10} {'  Venue/Link objects (input)':<34} "
                   f"{o['objects_s']:8.2f} {o['objects_mb']:8.0f}")
    for name, f in (("COLD: store rows + build", st), ("WARM: revision cache + build", wm)):
        line(n, f"ours: {name}", f)
        if f is not None:
            click.echo(f"{'':>10}   read {f['read_s']:.2f} s + build {f['index_s']:.2f} s CPU; "
                       f"wall {f['wall_s']:.2f} s (read {f['read_wall_s']:.2f} s) at load "
                       f"{f['load']:.1f}; RSS +{f['mem_mb']:.0f} MB = anon {f['anon_mb']:.0f}"
                       f" + mapped files {f['file_mb']:.0f}; +{f['mem_q_mb']:.0f} MB after "
                       f"the queries; peak +{f['peak_mb']:.0f} MB; cache on disk "
                       f"{f['cache_mb']:.0f} MB")
            click.echo(f"{'':>10}   loop: {LOOP_PASSES} passes, first {f['loop_first_us']:.1f}"
                       f" us ({f['loop_faults_first']:.2f} page faults a query), last "
                       f"{f['loop_last_us']:.1f} us ({f['loop_faults_last']:.2f}); cKDTree "
                       f"first {c['loop_first_us']:.1f}, last {c['loop_last_us']:.1f} us "
                       "(the median of the passes is in the table)")
            if "paired_loop_us" in f:
                click.echo(f"{'':>10}   loop and a cKDTree of the same venues in this process, "
                           f"passes alternated: {f['paired_loop_us']:.1f} us vs "
                           f"{f['paired_ckd_us']:.1f} us = "
                           f"{f['paired_loop_us'] / f['paired_ckd_us']:.2f}x")
            if f.get("child_s"):
                click.echo(f"{'':>10}   of the read: columnar child process {f['child_s']:.2f}"
                           f" s CPU (counted above), its own peak RSS "
                           f"{f['child_peak_mb']:.0f} MB (a separate process, not in RSS)")
    if sp is not None:
        click.echo(f"{'':>10} {'  per process: pykdtree+numba kernel':<34} "
                   f"{'':>8} {sp['imports_mb']:8.0f}")
    ratios = [f"{name} {f[key] / c[key.replace('anon', 'mem')]:.2f}x" for name, f, key in (
        ("spatial memory", sp, "mem_mb"), ("spatial build", sp, "build_s"),
        ("objects memory", o, "mem_mb"), ("objects build", o, "build_s"),
        ("cold memory", st, "mem_mb"), ("cold build", st, "build_s"),
        ("warm memory", wm, "mem_mb"), ("warm memory anon", wm, "anon_mb"),
        ("warm build", wm, "build_s")) if f is not None]
    q = wm or st or o
    if q is not None:
        ratios.append(f"loop {q['loop_us'] / c['loop_us']:.2f}x, batch "
                      f"{q['batch_us'] / c['batch_us']:.2f}x (vs our loop "
                      f"{q['loop_us'] / q['batch_us']:.1f}x faster)")
        if s is not None:
            ratios.append(f"bbox {q['bbox_us'] / s['bbox_us']:.2f}x STRtree "
                          f"({q['bbox_hits']:.0f} hits; first pass after the load "
                          f"{q['bbox_first_us'] / s['bbox_first_us']:.2f}x)")
    click.echo(f"{'':>10} ratios: " + ", ".join(ratios))


SCALE_MODES = ("ckdtree", "strtree", "search", "ours", "store", "warm")


def _measure_size(n: int, modes: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """Run each mode's worker at ``n`` venues (cKDTree first, warm after the cold store)."""
    fig = {}
    order = ("ckdtree", *(m for m in modes if m not in ("ckdtree", "warm")),
             *(m for m in modes if m == "warm"))  # warm maps what the cold run wrote
    if "warm" in modes and "store" not in modes and not snapcache_dir(n).exists():
        raise click.BadParameter("`warm` maps the cache a `store` (cold) run writes: "
                                 "measure both", param_hint="--scale-modes")
    for mode in order:
        click.echo(f"... scale {mode} {n}", err=True)
        fig[mode] = run_scale_worker(mode, n)
    return fig


def _loop_check(n: int, q: dict[str, float], c: dict[str, float]) -> tuple[str, bool]:
    """Judge the loop target: in one process, passes alternated, when measured so."""
    across = q["loop_us"] / c["loop_us"]
    if "paired_loop_us" not in q:
        return (f"at {n}: nearest k=5 per query <= 1.5x cKDTree loop ({across:.2f}x)",
                across <= 1.5)
    paired = q["paired_loop_us"] / q["paired_ckd_us"]
    return (f"at {n}: nearest k=5 per query <= 1.5x cKDTree loop, same process, passes "
            f"alternated ({paired:.2f}x; across processes {across:.2f}x)", paired <= 1.5)


def _scale_targets(c: dict[str, float], sp: dict[str, float] | None,
                   st: dict[str, float] | None, wm: dict[str, float] | None
                   ) -> list[tuple[str, float, float]]:
    """(target, ratio to cKDTree's, limit) of the scale run's spatial, cold and warm rows."""
    targets: list[tuple[str, float, float]] = []
    if sp is not None:
        targets += [("memory <= 1.5x cKDTree's, spatial part", sp["mem_mb"] / c["mem_mb"], 1.5),
                    ("build <= 2x cKDTree's, spatial part", sp["build_s"] / c["build_s"], 2.0)]
    if st is not None:
        # the issue's own measure: its 51 s at 10M was ServiceIndex.build from venues in
        # memory; here the build from the columns the store's (cold) read handed over.
        # The whole-snapshot rows below also count the read itself (stricter: ours)
        targets.append(("build (CPU) <= 2x cKDTree's, the index from the columns the "
                        "store read handed over (the issue's measure), COLD path",
                        st["index_s"] / c["build_s"], 2.0))
    for path, f in (("COLD path: store rows + build, writes the cache", st),
                    ("WARM path: revision cache mapped + build", wm)):
        if f is not None:
            targets += [(f"memory (RSS) <= 1.5x cKDTree's, whole snapshot, {path}",
                         f["mem_mb"] / c["mem_mb"], 1.5),
                        (f"build (CPU) <= 2x cKDTree's, whole snapshot, {path}",
                         f["build_s"] / c["build_s"], 2.0)]
    return targets


def bench_scale(sizes: list[int], modes: tuple[str, ...] = SCALE_MODES
                ) -> list[tuple[str, bool | None]]:
    """Build and query the index at province scale against cKDTree and STRtree.

    ``store``: the whole snapshot as the service makes it on a cold load, the
    SQLite store's rows read (as columns, written to the snapshot cache) and
    ``ServiceIndex.build`` from them; ``warm``: the same from the cache the
    cold run wrote; ``ours``: the build from Venue objects made beforehand
    (their cost shown apart).
    """
    checks: list[tuple[str, bool | None]] = []
    rows = []
    load0 = " ".join(f"{v:.1f}" for v in os.getloadavg())
    for n in sizes:
        if "store" in modes and not scale_db(n).exists():
            click.echo(f"... writing the {n:,}-venue store (once; not timed)", err=True)
            run_scale_worker("db", n)
        rows.append(_measure_size(n, modes))
    click.echo(f"\nindex at scale: a {2 * SCALE_HALF_KM:.0f} km province, k={K}, "
               f"{SCALE_QUERIES} single queries, {SCALE_BATCH} batched, ~1 km boxes; "
               f"each structure in a fresh process; MB = RSS held after the build; "
               f"loop us = median of {LOOP_PASSES} passes; "
               f"bbox us = second pass over the boxes (the first is in the ratios); "
               f"times in CPU seconds / microseconds (load average before / after: "
               f"{load0} / {' '.join(f'{v:.1f}' for v in os.getloadavg())})")
    click.echo(f"{'venues':>10} {'structure':<34} {'build s':>8} {'MB':>8} "
               f"{'loop us':>8} {'batch us':>8} {'bbox us':>8}")

    def line(n: int, name: str, f: dict[str, float] | None) -> None:
        if f is None:
            return

        def cell(key: str, fmt: str) -> str:
            return format(f[key], fmt) if key in f else "-"

        click.echo(f"{n:>10} {name:<34} {cell('build_s', '8.2f'):>8} "
                   f"{cell('mem_mb', '8.0f'):>8} {cell('loop_us', '8.1f'):>8} "
                   f"{cell('batch_us', '8.2f'):>8} {cell('bbox_us', '8.1f'):>8}")

    for fig in rows:
        _print_scale_rows(fig, line)
    big = max(rows, key=lambda f: f["ckdtree"]["n"])
    c = big["ckdtree"]
    o, s, sp = big.get("ours"), big.get("strtree"), big.get("search")
    st, wm = big.get("store"), big.get("warm")
    n = int(c["n"])
    at10m = n >= 10_000_000
    targets = _scale_targets(c, sp, st, wm)
    for text, ratio, limit in targets:
        ok = ratio <= limit
        if at10m:
            checks.append((f"at 10M venues: {text} ({ratio:.2f}x)", ok))
        else:
            checks.append((f"{text}: set at 10M venues, largest run {n} ({ratio:.2f}x)", None))
            checks.append((f"  the same at {n} ({ratio:.2f}x)", ok))
    q = wm or st or o
    if q is not None:
        checks.append(_loop_check(n, q, c))
        checks.append((f"at {n}: batched nearest faster per point than our loop "
                       f"({q['loop_us'] / q['batch_us']:.1f}x; "
                       f"{q['batch_us'] / c['batch_us']:.2f}x cKDTree's batched query)",
                       q["batch_us"] < q["loop_us"]))
        if s is not None:
            checks.append((f"at {n}: bbox <= 1x raw STRtree, second pass of the boxes "
                           f"({q['bbox_us'] / s['bbox_us']:.2f}x; first pass after the load "
                           f"{q['bbox_first_us'] / s['bbox_first_us']:.2f}x)",
                           q["bbox_us"] <= s["bbox_us"]))
    click.echo("\ntargets (scale):")
    _print_checks(checks)
    return checks


# ---------------------------------------------------------------- HTTP part
def bare_app():
    """Return a bare Flask app answering /api/v1/nearest from a bare rtree (gunicorn factory).

    Venues are the same seeded synthetic city (``BENCH_VENUES`` of them).
    """
    from flask import Flask, jsonify, request
    from rtree import index as rindex

    a = synth_arrays(int(os.environ.get("BENCH_VENUES", "10000")))
    lon, lat = a["lon"], a["lat"]
    pos = np.flatnonzero(~a["candidate"])
    tree = rindex.Index(
        (
            pos.astype(np.int64),
            np.column_stack([lon[pos], lat[pos]]),
            np.column_stack([lon[pos], lat[pos]]),
        )
    )
    app = Flask("bench_bare")

    @app.get("/api/v1/nearest")
    def nearest():
        x = float(request.args["lon"])
        y = float(request.args["lat"])
        k = int(request.args.get("k", 5))
        ids = list(tree.nearest((x, y, x, y), k))[:k]
        ry = math.radians(y)
        out = []
        for i in ids:
            h = (
                math.sin((math.radians(lat[i]) - ry) / 2) ** 2
                + math.cos(ry)
                * math.cos(math.radians(lat[i]))
                * math.sin(math.radians(lon[i] - x) / 2) ** 2
            )
            out.append(
                {
                    "id": f"B{i:06d}",
                    "lon": lon[i],
                    "lat": lat[i],
                    "distance_m": round(2 * 6371008.8 * math.asin(math.sqrt(h)), 1),
                }
            )
        return jsonify(out)

    return app


def write_bench_db(path: Path, n: int) -> None:
    """Write the synthetic city to a SQLite store at ``path``."""
    from geosvc.model import DatasetInfo
    from geosvc.store import open_store
    from geosvc.store.base import Batch

    venues, items, links, _ = synth_domain(n)
    info = DatasetInfo(name="bench", timezone="Asia/Shanghai", calendar="cn")
    with open_store(str(path)) as store:
        store.write(Batch(venues=venues, items=items, links=links, info=info))


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Servers:
    """Start gunicorn servers in their own process groups; stop them all on exit."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(
        self,
        app: str,
        env: dict[str, str],
        *,
        workers: int,
        pythonpath: str | None = None,
        log: Path,
        asgi: bool = False,
    ) -> str:
        """Start gunicorn serving ``app`` on a free port; return its base URL.

        ``asgi``: gunicorn's asyncio worker (as ``geosvc serve`` runs geosvc), for an
        app such as ``geosvc.web.asgi:create_asgi_app()``; else the sync worker.
        """
        port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--timeout",
            "120",
        ]
        if pythonpath:
            cmd += ["--pythonpath", pythonpath]
        if asgi:
            cmd += ["-k", "asgi", "--asgi-lifespan", "off", "--preload"]
        cmd.append(app)
        with open(log, "wb") as fh:
            proc = subprocess.Popen(
                cmd,
                env={**os.environ, **env},
                stdout=fh,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(proc)
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        """Stop every started server (TERM, then KILL after a grace period)."""
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs.clear()


def wait_ready(url: str, proc: subprocess.Popen, log: Path, timeout_s: float = 180.0) -> None:
    """Wait until ``url`` answers (or raise, with the server log, if ``proc`` died)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise click.ClickException(
                f"server exited:\n{log.read_text(errors='replace')[-3000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise click.ClickException(f"server not ready after {timeout_s:.0f} s: {url}")


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def parse_wrk(text: str) -> dict[str, float]:
    r"""Return requests/s, p50/p99 (ms) and non-2xx count from ``wrk --latency`` output.

    >>> t = ("  Latency Distribution\n     50%  1.50ms\n     99%  812.00us\n"
    ...      "Requests/sec:   2800.50\n")
    >>> parse_wrk(t)
    {'rps': 2800.5, 'p50_ms': 1.5, 'p99_ms': 0.812, 'non2xx': 0.0, 'errors': 0.0}
    """

    def pct(p: str) -> float:
        m = re.search(rf"^\s*{p}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
        return float(m.group(1)) * _UNIT[m.group(2)] if m else math.nan

    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors:.*?(\d+).*?(\d+).*?(\d+).*?(\d+)", text)
    return {
        "rps": float(rps.group(1)) if rps else math.nan,
        "p50_ms": pct("50"),
        "p99_ms": pct("99"),
        "non2xx": float(non2xx.group(1)) if non2xx else 0.0,
        "errors": float(sum(int(g) for g in errors.groups())) if errors else 0.0,
    }


def lua_script(path: Path, n_points: int = 1000) -> None:
    """Return a wrk script requesting the nearest endpoint at random points of the city."""
    q = synth_arrays(n_points, seed=7)
    rows = ",\n".join(f"{{{x:.6f},{y:.6f}}}" for x, y in zip(q["lon"], q["lat"], strict=True))
    path.write_text(
        f"local pts = {{\n{rows}\n}}\n"
        "math.randomseed(42)\n"
        "request = function()\n"
        "  local p = pts[math.random(#pts)]\n"
        "  return wrk.format('GET', '/api/v1/nearest?lon=' .. p[1] .. '&lat=' .. p[2]"
        " .. '&mode=straight&k=5')\n"
        "end\n"
    )


def run_wrk(url: str, script: Path, duration_s: int) -> tuple[dict[str, float], str]:
    """Load ``url`` with wrk for ``duration_s``; return the parsed figures and raw output."""
    cmd = ["wrk", "-t2", "-c8", f"-d{duration_s}s", "--latency", "-s", str(script), url]
    res = subprocess.run(
        cmd, capture_output=True, text=True, timeout=duration_s + 60, check=True
    )
    return parse_wrk(res.stdout), res.stdout


def bench_http(
    venues: int, duration_s: int, workers: int, ours: bool
) -> list[tuple[str, bool]]:
    """Load the geosvc app and a bare app with wrk; print both and the targets."""
    if shutil.which("wrk") is None:
        raise click.ClickException("wrk is not installed (apt-get install wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="geosvc-bench-"))
    servers = Servers()
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        script = tmp / "nearest.lua"
        lua_script(script)
        probe = "/api/v1/nearest?lon=117.0&lat=31.0&mode=straight&k=5"
        apps = [
            (
                "bare",
                "bench_index:bare_app()",
                {"BENCH_VENUES": str(venues)},
                str(Path(__file__).resolve().parent),
            )
        ]
        if ours:
            db = tmp / "bench.sqlite"
            t = time.perf_counter()
            write_bench_db(db, venues)
            click.echo(f"bench db: {venues} venues written in {time.perf_counter() - t:.1f} s")
            apps.append(
                (
                    "geosvc",
                    "geosvc.web.asgi:create_asgi_app()",
                    {"GEOSVC_DB": str(db), "GEOSVC_CACHE_DIR": str(tmp / "cache")},
                    None,
                )
            )
        figures = {}
        for name, app, env, path in apps:
            log = tmp / f"{name}.log"
            url = servers.start(app, env, workers=workers, pythonpath=path, log=log,
                                asgi=app.startswith("geosvc."))
            wait_ready(url + probe, servers.procs[-1], log)
            with urllib.request.urlopen(url + probe, timeout=10) as resp:
                sample = resp.read()
            run_wrk(url, script, 2)  # warm every worker (first-request costs), not counted
            figures[name], raw = run_wrk(url, script, duration_s)
            f = figures[name]
            click.echo(
                f"{name:>7}: {f['rps']:8.0f} req/s  p50 {f['p50_ms']:6.2f} ms  "
                f"p99 {f['p99_ms']:6.2f} ms  non-2xx {f['non2xx']:.0f}  "
                f"socket errors {f['errors']:.0f}  ({len(sample)} bytes/response)"
            )
            servers.stop()
    finally:
        servers.stop()
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(tmp, ignore_errors=True)
    if not ours:
        return []
    g, b = figures["geosvc"], figures["bare"]
    ratio = g["rps"] / b["rps"]
    checks = [
        (
            f"HTTP throughput >= 0.5x the bare app ({ratio:.2f}x)",
            ratio >= 0.5 and g["non2xx"] == 0,
        ),
        (f"HTTP p99 <= 20 ms ({g['p99_ms']:.2f} ms)", g["p99_ms"] <= 20.0),
    ]
    _print_checks(checks)
    return checks


# ---------------------------------------------------------------- CLI
@click.command()
@click.option(
    "--quick", is_flag=True, help="Smoke run: 1k and 10k venues, few queries, 5 s of HTTP load."
)
@click.option("--sizes", default="1000,10000,100000", show_default=True, help="Venue counts.")
@click.option("--queries", default=2000, show_default=True, help="Queries per method and size.")
@click.option("--index/--no-index", "do_index", default=True, help="Run the index part.")
@click.option("--http/--no-http", "do_http", default=True, help="Run the HTTP part.")
@click.option("--bare-only", is_flag=True, help="HTTP: load only the bare app (harness check).")
@click.option(
    "--http-venues", default=10000, show_default=True, help="Venues served over HTTP."
)
@click.option("--duration", default=10, show_default=True, help="Seconds of wrk load per app.")
@click.option("--workers", default=2, show_default=True, help="gunicorn workers per app.")
@click.option("--scale/--no-scale", "do_scale", default=False,
              help="Province scale (issue 13): build, memory, loop, batch and bbox at 1M "
                   "venues against cKDTree and STRtree; the whole snapshot from a store.")
@click.option("--scale-10m", is_flag=True,
              help="With --scale: also 10M venues (about 8 GB peak, a few minutes).")
@click.option("--scale-sizes", default=None, help="With --scale: venue counts instead.")
@click.option("--scale-modes", default=",".join(SCALE_MODES), show_default=True,
              help="With --scale: structures to measure (cKDTree always): ckdtree, strtree, "
                   "search (spatial part), ours (from Venue objects), store (whole snapshot "
                   "from a SQLite store, written once into the temp dir).")
@click.option("--scale-worker", "worker_spec", default=None, hidden=True)
@write_md_option
def main(quick, sizes, queries, do_index, do_http, bare_only, http_venues, duration, workers,
         do_scale, scale_10m, scale_sizes, scale_modes, worker_spec, write_md):
    """Benchmark ServiceIndex against brute force, cKDTree, rtree, STRtree; and the HTTP API."""
    if worker_spec:
        import json

        mode, n = worker_spec.split(":")
        click.echo(json.dumps(scale_worker(mode, int(n))))
        return
    checks: list[tuple[str, bool | None]] = []
    if quick:
        # 5 s of HTTP load: a 2-s sample read 0.23x to 0.66x the bare app on one commit
        sizes, queries, duration = "1000,10000", 300, 5
    if do_scale:
        if scale_sizes:
            big = [int(v) for v in scale_sizes.split(",")]
        else:
            big = [1_000_000] + ([10_000_000] if scale_10m else [])
        modes = tuple(m for m in scale_modes.split(",") if m)
        unknown = set(modes) - set(SCALE_MODES)
        if unknown:
            raise click.BadParameter(f"unknown {sorted(unknown)}", param_hint="--scale-modes")
        checks += bench_scale(big, modes)
    if do_index:
        results = []
        for n in (int(s) for s in sizes.split(",")):
            click.echo(f"... {n} venues", err=True)
            results.append(bench_size(n, queries))
        checks += print_index_results(results)
    if do_http:
        click.echo(
            f"\nHTTP: GET /api/v1/nearest?mode=straight&k=5, {http_venues} venues, "
            f"gunicorn -w {workers}, wrk -t2 -c8 -d{duration}s"
        )
        checks += bench_http(http_venues, duration, workers, ours=not bare_only)
    measured = [ok for _, ok in checks if ok is not None]
    unmeasured = len(checks) - len(measured)
    click.echo(f"\n{sum(measured)}/{len(measured)} targets met"
               + (f" ({unmeasured} not measured at these sizes)" if unmeasured else ""))
    finish(write_md, __file__, checks)


if __name__ == "__main__":
    main()
