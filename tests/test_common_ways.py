"""``scripts/make_common_ways.py``: the extract of ``bench_peers.py --common-ways``.

A hand-written extract holds one way of each kind Valhalla's tile builder
drops (an ``area=yes`` pedestrian square, a way with a node outside the
extract, a ``highway=trail``) next to two plain footways; the script must
drop exactly those three, keep every node, and geosvc must build its walk
network from what is left (the footways only).
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from types import ModuleType

import numpy as np

from geosvc.config import Settings
from geosvc.network.graph import RoadNetwork
from geosvc.network.osm import build_network

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "make_common_ways.py"
LAT0, LON0 = 60.2, 24.9
M_LAT = 1 / 111_412.0
M_LON = 1 / (111_412.0 * math.cos(math.radians(LAT0)))


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_common_ways", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _write_osm(path: Path) -> None:
    """Nodes 1-3 and 4-6: two footways 100 m apart; 7-10: a square; 11-12: a trail."""
    pos = {1: (0, 0), 2: (100, 0), 3: (200, 0), 4: (0, 100), 5: (100, 100),
           6: (200, 100), 7: (0, 200), 8: (100, 200), 9: (100, 300), 10: (0, 300),
           11: (0, 400), 12: (100, 400)}
    ways = [
        (101, [1, 2, 3], {"highway": "footway"}),
        (102, [4, 5, 6], {"highway": "footway"}),
        (103, [7, 8, 9, 10, 7], {"highway": "pedestrian", "area": "yes"}),
        (104, [3, 6, 99], {"highway": "footway"}),  # node 99 is outside the extract
        (105, [11, 12], {"highway": "trail"}),
        (106, [2, 5], {"building": "yes", "area": "yes"}),  # not a road either way
    ]
    lines = ["<?xml version='1.0' encoding='UTF-8'?>", '<osm version="0.6">']
    for nid, (x, y) in pos.items():
        lines.append(f'<node id="{nid}" version="1" lat="{LAT0 + y * M_LAT:.7f}" '
                     f'lon="{LON0 + x * M_LON:.7f}"/>')
    for wid, refs, tags in ways:
        lines.append(f'<way id="{wid}" version="1">')
        lines += [f'<nd ref="{r}"/>' for r in refs]
        lines += [f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("</way>")
    lines.append("</osm>")
    path.write_text("\n".join(lines), encoding="utf-8")


def test_drops_exactly_what_valhalla_drops(tmp_path: Path) -> None:
    import osmium  # lazy: only this test reads the written file back

    src = tmp_path / "x.osm"
    _write_osm(src)
    out = tmp_path / "x-common.osm.pbf"
    counts = _script().write_common_ways(src, out)
    assert counts == {"areas": 2, "clipped": 1, "unknown": 1, "kept": 2}
    ways = {w.id for w in osmium.FileProcessor(str(out), osmium.osm.WAY)}
    nodes = {n.id for n in osmium.FileProcessor(str(out), osmium.osm.NODE)}
    assert ways == {101, 102}
    assert nodes == set(range(1, 13))
    assert not list(tmp_path.glob("*.tmp.*"))


def test_geosvc_walks_the_common_ways_only(tmp_path: Path) -> None:
    src = tmp_path / "x.osm"
    _write_osm(src)
    out = tmp_path / "x-common.osm.pbf"
    _script().write_common_ways(src, out)
    full = build_network(src, "walk", settings=Settings())
    common = build_network(out, "walk", settings=Settings())

    def edges(net: RoadNetwork) -> set[tuple[int, int]]:
        ids = np.asarray(net.node_id)
        return {(int(ids[u]), int(ids[v])) for u, v in zip(net.edge_u, net.edge_v, strict=True)}

    kept = {(1, 2), (2, 1), (2, 3), (3, 2), (4, 5), (5, 4), (5, 6), (6, 5)}
    assert edges(common) == kept
    # geosvc itself walks the square's outline, the trail and the clipped way's segment
    assert kept < edges(full)
    assert {(11, 12), (3, 6), (7, 8)} <= edges(full)
