"""The OSM rules of each mode (geosvc.modes.OsmRules), one small hand-written extract per rule.

Each extract is written as ``.osm`` XML and, with pyrosm's PBF writer, as
``.osm.pbf``; both are built and must give the same network (nodes, directed
edges, times, layers), then the rule is checked on it: which edges exist, in
which direction, how long they take.  Ways are laid out as separate straight
lines (way ``i`` from node ``100 i`` eastwards), so an edge is named by its
OSM node ids.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from pyrosm.pbf_export import write_pbf_from_records
from scipy.sparse.csgraph import dijkstra

from geosvc.config import Settings
from geosvc.modes import TRAVEL_MODES
from geosvc.network.graph import ABOVE, BELOW, GROUND, RoadNetwork
from geosvc.network.osm import OSM_RULES, build_network
from geosvc.network.tags import (
    barrier_time_s,
    node_closed,
    parse_duration_s,
    parse_maxspeed,
    way_use,
)

LAT0, LON0 = 60.2, 24.9
M_LAT = 1 / 111_412.0  # metres -> degrees near latitude 60.2 (WGS-84)
M_LON = 1 / (111_412.0 * math.cos(math.radians(LAT0)) * 1.0017)
SEG_M = 100.0  # every segment of the hand-written ways is about 100 m
SETTINGS = Settings()
WALK_MPS = SETTINGS.walk_speed_kph / 3.6
BIKE_MPS = SETTINGS.bike_speed_kph / 3.6

Way = tuple[dict[str, str], int]  # tags, number of segments


def _ll(x: float, y: float) -> tuple[float, float]:
    return LON0 + x * M_LON, LAT0 + y * M_LAT


def _layout(ways: list[Way]) -> tuple[dict[int, tuple[float, float]], list[list[int]]]:
    """Node positions and node refs of each way: way i runs east from node 100 i."""
    nodes: dict[int, tuple[float, float]] = {}
    refs: list[list[int]] = []
    for i, (_tags, n_seg) in enumerate(ways):
        base = 100 * (i + 1)
        ids = [base + k for k in range(n_seg + 1)]
        for k, nid in enumerate(ids):
            nodes[nid] = _ll(k * SEG_M, i * 50.0)
        refs.append(ids)
    return nodes, refs


def write_extract(folder: Path, ways: list[Way], *, ring: dict[str, str] | None = None,
                  node_tags: dict[int, dict[str, str]] | None = None) -> tuple[Path, Path]:
    """Write the ways as ``x.osm`` and ``x.osm.pbf``; ``ring``: one closed square way too.

    ``node_tags``: tags of some nodes (by id), e.g. a gate.
    """
    nodes, refs = _layout(ways)
    tags = [t for t, _ in ways]
    if ring is not None:
        ids = [9001, 9002, 9003, 9004]
        for nid, (x, y) in zip(ids, [(0, -100), (100, -100), (100, -200), (0, -200)],
                               strict=True):
            nodes[nid] = _ll(x, y)
        refs.append([*ids, ids[0]])
        tags.append(ring)
    return write_records(folder, nodes, refs, tags, node_tags=node_tags)


def write_records(folder: Path, nodes: dict[int, tuple[float, float]], refs: list[list[int]],
                  tags: list[dict[str, str]], *,
                  node_tags: dict[int, dict[str, str]] | None = None) -> tuple[Path, Path]:
    """Write nodes (id: lon, lat) and ways (refs, tags) as ``x.osm`` and ``x.osm.pbf``."""
    node_tags = node_tags or {}
    # 7 decimals: the precision of .osm.pbf (1e-7 degree), so both files hold the same
    nodes = {k: (round(lon, 7), round(lat, 7)) for k, (lon, lat) in nodes.items()}
    xml = ["<?xml version='1.0' encoding='UTF-8'?>", '<osm version="0.6">']
    for k, (lon, lat) in nodes.items():
        ntg = "".join(f'<tag k="{a}" v="{b}"/>' for a, b in node_tags.get(k, {}).items())
        xml.append(f'  <node id="{k}" lat="{lat:.7f}" lon="{lon:.7f}">{ntg}</node>'
                   if ntg else f'  <node id="{k}" lat="{lat:.7f}" lon="{lon:.7f}"/>')
    for w, (r, t) in enumerate(zip(refs, tags, strict=True)):
        nds = "".join(f'<nd ref="{x}"/>' for x in r)
        tg = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in t.items())
        xml.append(f'  <way id="{w + 1}">{nds}{tg}</way>')
    xml += ["</osm>", ""]
    osm = folder / "x.osm"
    osm.write_text("\n".join(xml), encoding="utf-8")
    pbf = folder / "x.osm.pbf"
    ids = np.array(list(nodes), dtype=np.int64)
    lonlat = np.array(list(nodes.values()))
    write_pbf_from_records(
        {"id": ids, "lon": lonlat[:, 0], "lat": lonlat[:, 1],
         "tags": np.array([node_tags.get(int(k)) for k in ids], dtype=object)},
        [{"id": w + 1, "refs": r, "tags": t} for w, (r, t) in enumerate(zip(refs, tags,
                                                                           strict=True))],
        [], str(pbf), (lonlat[:, 0].min(), lonlat[:, 1].min(), lonlat[:, 0].max(),
                       lonlat[:, 1].max()))
    return osm, pbf


def edges_of(net: RoadNetwork) -> dict[tuple[int, int], tuple[float, float, int]]:
    """``{(osm u, osm v): (length m, time s, layer)}`` of every directed edge."""
    u, v = net.node_id[net.edge_u], net.node_id[net.edge_v]
    return {(int(a), int(b)): (float(m), float(t), int(lay)) for a, b, m, t, lay in
            zip(u, v, net.edge_length_m, net.edge_time_s, net.edge_layer, strict=True)}


def same_network(a: RoadNetwork, b: RoadNetwork) -> None:
    """Assert two builds of the same data are the same network (order aside)."""
    ea, eb = edges_of(a), edges_of(b)
    assert sorted(ea) == sorted(eb)
    for key, (m, t, lay) in ea.items():
        assert eb[key][0] == pytest.approx(m, rel=1e-9)
        assert eb[key][1] == pytest.approx(t, rel=1e-9)
        assert eb[key][2] == lay
    assert sorted(a.node_id.tolist()) == sorted(b.node_id.tolist())
    assert a.meta["build"]["ways"] == b.meta["build"]["ways"]
    assert a.meta["build"]["ways_unused"] == b.meta["build"]["ways_unused"]
    assert a.meta["build"]["nodes_closed"] == b.meta["build"]["nodes_closed"]


def build(tmp_path: Path, ways: list[Way], mode: str, *,
          ring: dict[str, str] | None = None,
          node_tags: dict[int, dict[str, str]] | None = None) -> RoadNetwork:
    """Build ``mode`` from both files; assert they agree; return the XML one."""
    osm, pbf = write_extract(tmp_path, ways, ring=ring, node_tags=node_tags)
    net = build_network(osm, mode, settings=SETTINGS)
    same_network(net, build_network(pbf, mode, settings=SETTINGS))
    return net


def way_edges(net: RoadNetwork, i: int) -> dict[tuple[int, int], tuple[float, float, int]]:
    """The directed edges of way ``i`` (0-based, as laid out)."""
    lo, hi = 100 * (i + 1), 100 * (i + 2)
    return {k: v for k, v in edges_of(net).items() if lo <= k[0] < hi}


def directions(net: RoadNetwork, i: int) -> str:
    """``"both"``, ``"forward"``, ``"backward"`` or ``"none"`` for way ``i``'s first segment."""
    first = 100 * (i + 1)
    got = edges_of(net)
    f, b = (first, first + 1) in got, (first + 1, first) in got
    return {(True, True): "both", (True, False): "forward", (False, True): "backward",
            (False, False): "none"}[(f, b)]


# -- the registry -----------------------------------------------------------------

def test_rules_are_registry_data() -> None:
    assert set(OSM_RULES) == {m.name for m in TRAVEL_MODES.values() if m.needs_network}
    for name, rules in OSM_RULES.items():
        assert rules is TRAVEL_MODES[name].osm
        assert rules.access_keys[-1] == "access"
        assert not rules.highways_never & rules.highways_if_granted
    assert OSM_RULES["walk"].access_keys == ("foot", "access")
    assert OSM_RULES["bike"].access_keys == ("bicycle", "vehicle", "access")
    assert OSM_RULES["drive"].access_keys == ("motorcar", "motor_vehicle", "vehicle", "access")


# -- access and mode overrides ------------------------------------------------------

RES = {"highway": "residential"}

ACCESS_CASES: list[tuple[str, dict[str, str], bool]] = [
    ("walk", {}, True),
    ("walk", {"access": "no"}, False),
    ("walk", {"access": "private"}, False),
    ("walk", {"access": "no", "foot": "yes"}, True),  # most specific wins
    ("walk", {"access": "private", "foot": "permissive"}, True),
    ("walk", {"foot": "no"}, False),
    ("walk", {"access": "yes", "foot": "private"}, False),
    ("walk", {"access": "destination"}, True),
    ("walk", {"motor_vehicle": "no"}, True),  # not a walking key
    ("bike", {"access": "no", "bicycle": "designated"}, True),
    ("bike", {"vehicle": "no"}, False),
    ("bike", {"vehicle": "no", "bicycle": "yes"}, True),
    ("bike", {"bicycle": "use_sidepath"}, False),
    ("bike", {"foot": "no"}, True),
    ("drive", {"access": "no"}, False),
    ("drive", {"access": "no", "motorcar": "yes"}, True),
    ("drive", {"access": "no", "motor_vehicle": "destination"}, True),
    ("drive", {"motor_vehicle": "no"}, False),
    ("drive", {"motor_vehicle": "no", "motorcar": "yes"}, True),
    ("drive", {"vehicle": "no"}, False),
    ("drive", {"access": "private;delivery"}, False),
    ("drive", {"access": "agricultural"}, False),
    ("drive", {"bicycle": "no", "foot": "no"}, True),
]


def test_access_overrides(tmp_path: Path) -> None:
    """One extract per mode holding every case: each way is there exactly when allowed."""
    for mode in ("walk", "bike", "drive"):
        cases = [(extra, ok) for m, extra, ok in ACCESS_CASES if m == mode]
        ways = [({**RES, **extra}, 1) for extra, _ in cases]
        folder = tmp_path / mode
        folder.mkdir()
        net = build(folder, ways, mode)
        for i, (extra, ok) in enumerate(cases):
            assert (directions(net, i) != "none") is ok, (mode, extra)
        assert net.meta["build"]["ways_unused"] == sum(not ok for _, ok in cases)


@pytest.mark.parametrize(("mode", "tags", "ok"), ACCESS_CASES)
def test_way_use_access(mode: str, tags: dict[str, str], ok: bool) -> None:
    assert (way_use({**RES, **tags}, OSM_RULES[mode]) is not None) is ok


# -- closed nodes: access tags on a way's nodes (gates) ------------------------------

NODE_CASES: list[tuple[str, dict[str, str], bool]] = [
    ("walk", {"barrier": "gate", "access": "no"}, True),  # "no public entrance"
    ("walk", {"barrier": "gate", "access": "no", "foot": "yes"}, False),
    ("walk", {"barrier": "gate", "access": "private"}, True),
    ("walk", {"barrier": "gate", "access": "permissive"}, False),
    ("walk", {"barrier": "gate"}, False),
    ("walk", {"barrier": "bollard"}, False),
    ("walk", {"foot": "no"}, True),
    ("walk", {"impassable": "yes"}, True),
    ("walk", {"barrier": "bollard", "motor_vehicle": "no"}, False),  # not a walking key
    ("bike", {"barrier": "gate", "vehicle": "no"}, True),
    ("bike", {"barrier": "gate", "vehicle": "no", "bicycle": "yes"}, False),
    ("drive", {"barrier": "bollard", "motor_vehicle": "no"}, True),
    ("drive", {"barrier": "gate", "access": "no", "motorcar": "yes"}, False),
    ("drive", {"barrier": "gate", "access": "destination"}, False),
]


def test_closed_nodes(tmp_path: Path) -> None:
    """A way through a closed node keeps both halves, but they no longer meet there."""
    for mode in ("walk", "bike", "drive"):
        cases = [(tags, closed) for m, tags, closed in NODE_CASES if m == mode]
        ways = [(RES, 2) for _ in cases]  # way i: nodes 100(i+1) .. 100(i+1)+2
        node_tags = {100 * (i + 1) + 1: tags for i, (tags, _) in enumerate(cases)}
        folder = tmp_path / mode
        folder.mkdir()
        net = build(folder, ways, mode, node_tags=node_tags)
        n_closed = sum(closed for _, closed in cases)
        assert net.meta["build"]["nodes_closed"] == n_closed
        # both halves of every way, both directions; an open gate without access tags
        # also gets its two zero-length barrier edges (its 30 s, rule 10)
        n_timed = sum(barrier_time_s(tags, OSM_RULES[mode]) > 0 for tags, _ in cases)
        assert net.meta["build"]["barriers_timed"] == n_timed
        assert int((~net.edge_is_turn).sum()) == 4 * len(cases)
        if TRAVEL_MODES[mode].turns is None:
            assert net.n_edges == 4 * len(cases) + 2 * n_timed
        assert net.components() == len(cases) + n_closed
        ids = set(net.node_id.tolist())
        for i, (tags, closed) in enumerate(cases):
            middle = 100 * (i + 1) + 1
            assert (middle not in ids) is closed, (mode, tags)
        # the copies of a closed node: one per segment end, at its position, ids above the rest
        top = 100 * len(cases) + 2  # the extract's largest node id
        copies = sorted(k for k in ids if k > top)
        assert copies == list(range(top + 1, top + 1 + 2 * n_closed))


@pytest.mark.parametrize(("mode", "tags", "closed"), NODE_CASES)
def test_node_closed(mode: str, tags: dict[str, str], closed: bool) -> None:
    assert node_closed(tags, OSM_RULES[mode]) is closed


def test_closed_gate_is_walked_round(tmp_path: Path) -> None:
    """Two parallel footways joined at both ends: a closed gate on one sends walkers round."""
    nodes = {1: _ll(0, 0), 2: _ll(50, 0), 3: _ll(100, 0), 4: _ll(0, 30), 5: _ll(100, 30)}
    xml = ["<?xml version='1.0' encoding='UTF-8'?>", '<osm version="0.6">']
    for k, (lon, lat) in nodes.items():
        gate = '<tag k="barrier" v="gate"/><tag k="access" v="no"/>' if k == 2 else ""
        xml.append(f'  <node id="{k}" lat="{lat:.7f}" lon="{lon:.7f}">{gate}</node>')
    for wid, refs in ((1, [1, 2, 3]), (2, [1, 4, 5, 3])):
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        xml.append(f'  <way id="{wid}">{nds}<tag k="highway" v="footway"/></way>')
    xml += ["</osm>", ""]
    osm = tmp_path / "gate.osm"
    osm.write_text("\n".join(xml), encoding="utf-8")
    net = build_network(osm, "walk", settings=SETTINGS)
    start = int(np.flatnonzero(net.node_id == 1)[0])
    end = int(np.flatnonzero(net.node_id == 3)[0])
    t = dijkstra(net.csr, indices=start)[end]
    round_m = 30 + 100 + 30  # via nodes 4 and 5, not through the gate (100 m)
    assert t == pytest.approx(round_m / WALK_MPS, rel=1e-2)


# -- classes a mode uses only when allowed ----------------------------------------------

CLASS_CASES: list[tuple[str, dict[str, str], bool]] = [
    ("walk", {"highway": "cycleway"}, False),
    ("walk", {"highway": "cycleway", "foot": "designated"}, True),  # 85 in the demo
    ("walk", {"highway": "cycleway", "foot": "yes"}, True),
    ("walk", {"highway": "cycleway", "foot": "permissive"}, True),
    ("walk", {"highway": "cycleway", "foot": "no"}, False),
    ("walk", {"highway": "cycleway", "access": "yes"}, False),  # access is not foot
    ("walk", {"highway": "footway"}, True),
    ("walk", {"highway": "motorway"}, False),
    ("walk", {"highway": "trunk"}, False),
    ("walk", {"highway": "trunk", "sidewalk": "both"}, True),
    ("walk", {"highway": "trunk", "sidewalk": "left"}, True),
    ("walk", {"highway": "trunk", "sidewalk:right": "yes"}, True),
    ("walk", {"highway": "trunk", "sidewalk": "separate"}, False),
    ("walk", {"highway": "trunk", "sidewalk": "both", "foot": "no"}, False),
    ("walk", {"highway": "residential", "sidewalk": "no"}, True),  # no sidewalk: still walked
    ("walk", {"highway": "residential", "sidewalk": "no", "foot": "no"}, False),
    ("walk", {"highway": "construction"}, False),
    ("walk", {"highway": "platform"}, False),
    ("bike", {"highway": "footway"}, False),
    ("bike", {"highway": "footway", "bicycle": "yes"}, True),
    ("bike", {"highway": "footway", "bicycle": "designated"}, True),
    ("bike", {"highway": "pedestrian"}, False),
    ("bike", {"highway": "pedestrian", "bicycle": "yes"}, True),
    ("bike", {"highway": "cycleway"}, True),
    ("bike", {"highway": "steps"}, False),
    ("bike", {"highway": "steps", "bicycle": "yes"}, True),
    ("bike", {"highway": "steps", "ramp:bicycle": "yes"}, True),
    ("bike", {"highway": "motorway", "bicycle": "yes"}, False),  # never
    ("bike", {"highway": "trunk"}, False),
    ("drive", {"highway": "footway"}, False),
    ("drive", {"highway": "service"}, False),
    ("drive", {"highway": "cycleway", "motorcar": "yes"}, False),  # never
    ("drive", {"highway": "living_street"}, True),
    ("drive", {"highway": "motorway"}, True),
    ("drive", {"highway": "trunk", "foot": "no", "bicycle": "no"}, True),
]


def test_classes_and_grants(tmp_path: Path) -> None:
    for mode in ("walk", "bike", "drive"):
        cases = [(tags, ok) for m, tags, ok in CLASS_CASES if m == mode]
        folder = tmp_path / mode
        folder.mkdir()
        net = build(folder, [(tags, 1) for tags, _ in cases], mode)
        for i, (tags, ok) in enumerate(cases):
            assert (directions(net, i) != "none") is ok, (mode, tags)


@pytest.mark.parametrize(("mode", "tags", "ok"), CLASS_CASES)
def test_way_use_classes(mode: str, tags: dict[str, str], ok: bool) -> None:
    assert (way_use(tags, OSM_RULES[mode]) is not None) is ok


# -- pedestrian areas ---------------------------------------------------------------

def test_pedestrian_area_is_walked_around(tmp_path: Path) -> None:
    """``highway=pedestrian`` + ``area=yes``: its outline ring, both ways; not by bike."""
    square = {"highway": "pedestrian", "area": "yes", "name": "Tori"}
    net = build(tmp_path, [(RES, 1)], "walk", ring=square)
    ring = {k: v for k, v in edges_of(net).items() if k[0] > 9000}
    assert len(ring) == 8  # 4 sides, both directions
    assert {(9001, 9002), (9002, 9001), (9004, 9001), (9001, 9004)} <= set(ring)
    parking = tmp_path / "parking"
    parking.mkdir()
    net = build(parking, [(RES, 1)], "walk",
                ring={"highway": "service", "area": "yes"})
    assert not [k for k in edges_of(net) if k[0] > 9000]
    bike = tmp_path / "bike"
    bike.mkdir()
    net = build(bike, [(RES, 1)], "bike", ring=square)
    assert not [k for k in edges_of(net) if k[0] > 9000]


# -- one-way rules ------------------------------------------------------------------

ONEWAY_CASES: list[tuple[str, dict[str, str], str]] = [
    ("drive", {"oneway": "yes"}, "forward"),
    ("drive", {"oneway": "-1"}, "backward"),
    ("drive", {"oneway": "no"}, "both"),
    ("drive", {"junction": "roundabout"}, "forward"),
    ("drive", {"junction": "roundabout", "oneway": "no"}, "both"),
    ("drive", {"oneway": "yes", "oneway:bicycle": "no"}, "forward"),
    ("drive", {"oneway": "yes", "cycleway": "opposite"}, "forward"),
    ("bike", {"oneway": "yes"}, "forward"),
    ("bike", {"oneway": "yes", "oneway:bicycle": "no"}, "both"),
    ("bike", {"oneway:bicycle": "yes"}, "forward"),
    ("bike", {"oneway": "yes", "cycleway": "opposite"}, "both"),
    ("bike", {"oneway": "yes", "cycleway": "opposite_lane"}, "both"),
    ("bike", {"oneway": "yes", "cycleway:left": "opposite_lane"}, "both"),
    ("bike", {"oneway": "yes", "cycleway:right": "opposite_track"}, "both"),
    ("bike", {"oneway": "yes", "cycleway": "lane"}, "forward"),
    ("bike", {"oneway": "yes", "oneway:bicycle": "yes", "cycleway": "opposite"}, "forward"),
    ("bike", {"oneway": "-1", "cycleway": "opposite_lane"}, "both"),
    ("bike", {"junction": "roundabout"}, "forward"),
    ("walk", {"oneway": "yes"}, "both"),  # pedestrians ignore oneway
    ("walk", {"junction": "roundabout"}, "both"),
    ("walk", {"oneway:foot": "yes"}, "forward"),
    ("walk", {"oneway": "yes", "oneway:foot": "-1"}, "backward"),
]


def test_oneway_and_exceptions(tmp_path: Path) -> None:
    for mode in ("walk", "bike", "drive"):
        cases = [(extra, want) for m, extra, want in ONEWAY_CASES if m == mode]
        folder = tmp_path / mode
        folder.mkdir()
        net = build(folder, [({**RES, **extra}, 2) for extra, _ in cases], mode)
        for i, (extra, want) in enumerate(cases):
            assert directions(net, i) == want, (mode, extra)
            n_edges = {"both": 4, "forward": 2, "backward": 2}[want]
            assert len(way_edges(net, i)) == n_edges


# -- steps and ferries: times ---------------------------------------------------------

def test_steps_are_slower(tmp_path: Path) -> None:
    net = build(tmp_path, [({"highway": "steps"}, 1), ({"highway": "footway"}, 1)], "walk")
    (steps,) = {v for k, v in way_edges(net, 0).items() if k[0] < k[1]}
    (foot,) = {v for k, v in way_edges(net, 1).items() if k[0] < k[1]}
    assert steps[0] == pytest.approx(foot[0], rel=1e-4)  # ~100 m each
    assert foot[1] == pytest.approx(foot[0] / WALK_MPS)
    assert steps[1] == pytest.approx(2 * steps[0] / WALK_MPS)  # half pace on stairs
    bike = tmp_path / "bike"
    bike.mkdir()
    net = build(bike, [({"highway": "steps", "ramp:bicycle": "yes"}, 1)], "bike")
    (ramp,) = {v for k, v in way_edges(net, 0).items() if k[0] < k[1]}
    assert ramp[1] == pytest.approx(4 * ramp[0] / BIKE_MPS)  # pushing the bike


def test_ferries(tmp_path: Path) -> None:
    """Ferry: its ``duration`` (or 15 km/h) + a 300 s wait, spread over its segments."""
    rules = OSM_RULES["walk"]
    ways = [({"route": "ferry", "duration": "00:10"}, 3),
            ({"route": "ferry"}, 2),
            ({"route": "ferry", "foot": "no"}, 1),
            ({"route": "bus"}, 1)]
    net = build(tmp_path, ways, "walk")
    timed = way_edges(net, 0)
    assert len(timed) == 6
    forward = [t for (a, b), (_m, t, _l) in timed.items() if a < b]
    assert sum(forward) == pytest.approx(600 + rules.ferry_penalty_s)
    assert forward == pytest.approx([sum(forward) / 3] * 3, rel=1e-3)  # equal segments
    untimed = way_edges(net, 1)
    length = sum(m for (a, b), (m, _t, _l) in untimed.items() if a < b)
    total = sum(t for (a, b), (_m, t, _l) in untimed.items() if a < b)
    ferry_mps = rules.ferry_speed_kph / 3.6
    assert total == pytest.approx(length / ferry_mps + rules.ferry_penalty_s)
    assert directions(net, 2) == "none" and directions(net, 3) == "none"
    assert net.meta["build"]["ways_unused"] == 1  # the foot=no ferry (a bus route is no way)
    drive = tmp_path / "drive"
    drive.mkdir()
    net = build(drive, [({"route": "ferry", "motor_vehicle": "no"}, 1),
                        ({"route": "ferry", "motor_vehicle": "yes", "duration": "PT30M"}, 1)],
                "drive")
    assert directions(net, 0) == "none"
    assert sum(t for (a, b), (_m, t, _l) in way_edges(net, 1).items() if a < b) == \
        pytest.approx(1800 + OSM_RULES["drive"].ferry_penalty_s)


# -- crossing times on foot --------------------------------------------------------

def _crossing(tmp_path: Path, walked: str, crossed: str, mode: str = "walk", *,
              tee: bool = False) -> RoadNetwork:
    """A ``walked`` way west-east through node 1, a ``crossed`` way south-north through it.

    ``tee``: the crossed way ends at node 1 (coming from the south).  A trunk
    gets a sidewalk (walkable only so).
    """
    nodes = {1: _ll(0, 0), 11: _ll(-100, 0), 12: _ll(100, 0), 21: _ll(0, -100),
             22: _ll(0, 100)}
    nodes = {k: (round(lon, 7), round(lat, 7)) for k, (lon, lat) in nodes.items()}
    refs = [[11, 1, 12], [21, 1] if tee else [21, 1, 22]]
    if tee:
        del nodes[22]
    crossed_tags = {"highway": crossed}
    if crossed == "trunk":
        crossed_tags["sidewalk"] = "both"
    osm, pbf = write_records(tmp_path, nodes, refs, [{"highway": walked}, crossed_tags])
    net = build_network(osm, mode, settings=SETTINGS)
    same_network(net, build_network(pbf, mode, settings=SETTINGS))
    return net


def _extra_s(net: RoadNetwork, u: int, v: int, mps: float = WALK_MPS) -> float:
    """Seconds of edge ``u -> v`` beyond its length at ``mps``."""
    m, t, _lay = edges_of(net)[(u, v)]
    return t - m / mps


@pytest.mark.parametrize(("walked", "crossed", "walked_s", "crossed_s"), [
    ("footway", "primary", 5.0, 0.0),  # across a main road; along it, a footway is nothing
    ("footway", "primary_link", 5.0, 0.0),  # links cost as their roads
    ("footway", "secondary", 3.0, 0.0),
    ("footway", "tertiary", 2.0, 0.0),
    ("footway", "trunk", 15.0, 0.0),  # trunk with a sidewalk: walkable only when granted
    ("residential", "residential", 0.0, 0.0),  # equal classes: crossing_same_s (0 s)
    ("footway", "residential", 0.0, 0.0),  # residential counts as small as a footway
    ("footway", "footway", 0.0, 0.0),
    ("tertiary", "primary", 5.0, 0.0),
    ("primary", "secondary", 0.0, 5.0),  # along the side street: the main road's time
])
def test_crossing_times(tmp_path: Path, walked: str, crossed: str, walked_s: float,
                        crossed_s: float) -> None:
    """Entering a 4-way node costs the crossing of the largest other way's class."""
    net = _crossing(tmp_path, walked, crossed)
    for a, b in ((11, 1), (12, 1)):
        assert _extra_s(net, a, b) == pytest.approx(walked_s, abs=1e-6)
    for a, b in ((21, 1), (22, 1)):
        assert _extra_s(net, a, b) == pytest.approx(crossed_s, abs=1e-6)
    for a, b in ((1, 11), (1, 12), (1, 21), (1, 22)):  # leaving the node: nothing
        assert _extra_s(net, a, b) == pytest.approx(0.0, abs=1e-6)


def test_crossing_same_class_is_data() -> None:
    """``crossing_same_s`` applies between equal classes (0 s for walking, by the registry)."""
    import dataclasses

    from geosvc.network.tags import crossing_times_s

    rules = dataclasses.replace(OSM_RULES["walk"], crossing_same_s=1.5)
    plus = dict(seg_u=np.array([1, 0, 3, 0]), seg_v=np.array([0, 2, 0, 4]),
                seg_way=np.array([0, 0, 1, 1]),
                seg_highway=np.array(["residential"] * 2 + ["tertiary"] * 2, dtype=object))
    got = crossing_times_s(rules, edge_seg=np.array([0, 2]), edge_v=np.array([0, 0]), **plus)
    assert got.tolist() == [2.0, 0.0]  # across the tertiary road; along it: nothing
    plus["seg_highway"] = np.array(["residential"] * 2 + ["living_street"] * 2, dtype=object)
    got = crossing_times_s(rules, edge_seg=np.array([0, 2]), edge_v=np.array([0, 0]), **plus)
    assert got.tolist() == [1.5, 1.5]
    assert OSM_RULES["walk"].crossing_same_s == 0.0


def test_no_crossing_at_a_tee_or_for_other_modes(tmp_path: Path) -> None:
    """A T junction (3 ways meeting) is no crossing; bikes and cars have no crossing times."""
    net = _crossing(tmp_path, "footway", "primary", tee=True)
    for a, b in ((11, 1), (12, 1), (21, 1)):
        assert _extra_s(net, a, b) == pytest.approx(0.0, abs=1e-6)
    bike = tmp_path / "bike"
    bike.mkdir()
    net = _crossing(bike, "residential", "primary", "bike")
    assert _extra_s(net, 11, 1, BIKE_MPS) == pytest.approx(0.0, abs=1e-6)
    drive = tmp_path / "drive"
    drive.mkdir()
    assert not OSM_RULES["drive"].crossing_s and not OSM_RULES["bike"].crossing_s


def test_crossing_times_in_every_pass(tmp_path: Path) -> None:
    """The crossing time is part of the edge time: shortest times include it once."""
    net = _crossing(tmp_path, "footway", "primary")
    ids = {int(n): i for i, n in enumerate(net.node_id)}
    dist = dijkstra(net.csr, indices=ids[11])
    m = edges_of(net)
    walk = (m[(11, 1)][0] + m[(1, 12)][0]) / WALK_MPS
    assert dist[ids[12]] == pytest.approx(walk + 5.0)  # across the primary road
    back = dijkstra(net.csr, indices=ids[21])
    assert back[ids[22]] == pytest.approx((m[(21, 1)][0] + m[(1, 22)][0]) / WALK_MPS)


# -- maxspeed -----------------------------------------------------------------------

MAXSPEED_CASES: list[tuple[dict[str, str], float]] = [
    ({"maxspeed": "50"}, 50.0),
    ({"maxspeed": "50 km/h"}, 50.0),
    ({"maxspeed": "30 mph"}, 30 * 1.609344),
    ({"maxspeed": "20 knots"}, 20 * 1.852),
    ({"maxspeed": "FI:urban"}, 50.0),
    ({"maxspeed": "RU:urban"}, 60.0),
    ({"maxspeed": "CN:urban"}, 50.0),
    ({"maxspeed": "DE:zone30"}, 30.0),
    ({"maxspeed": "RU:living_street"}, 20.0),
    ({"maxspeed": "walk"}, 7.0),
    ({"maxspeed": "none"}, 30.0),  # residential class speed
    ({"maxspeed": "signals", "highway": "primary"}, 60.0),
    ({"maxspeed": "30;50"}, 40.0),
    ({}, 30.0),
    ({"highway": "road", "maxspeed": "bogus"}, 30.0),
]


def test_maxspeed_units_and_zones(tmp_path: Path) -> None:
    ways = [({**RES, **extra}, 1) for extra, _ in MAXSPEED_CASES]
    net = build(tmp_path, ways, "drive")
    for i, (extra, kph) in enumerate(MAXSPEED_CASES):
        ((m, t, _l),) = {v for k, v in way_edges(net, i).items() if k[0] < k[1]}
        assert m / t * 3.6 == pytest.approx(kph), extra


@pytest.mark.parametrize(("value", "kph"), [
    ("60", 60.0), ("60 kmh", 60.0), ("15mph", 15 * 1.609344), ("5 kn", 5 * 1.852),
    ("GB:nsl_single", 60 * 1.609344), ("FI:rural", 80.0), ("XX:urban", 50.0),
    ("FR:motorway", 130.0), ("DE:zone:20", 20.0), ("variable", None), ("", None),
    ("0", None), (float("nan"), None), ("FI:nowhere", None),
])
def test_parse_maxspeed(value: object, kph: float | None) -> None:
    got = parse_maxspeed(value)
    assert got == (None if kph is None else pytest.approx(kph))


@pytest.mark.parametrize(("value", "seconds"), [
    ("00:10", 600.0), ("1:30", 5400.0), ("00:00:45", 45.0), ("25", 1500.0),
    ("PT45M", 2700.0), ("PT1H", 3600.0), ("PT", None), ("tbd", None), (None, None),
])
def test_parse_duration(value: object, seconds: float | None) -> None:
    assert parse_duration_s(value) == seconds


# -- layers, through both readers ------------------------------------------------------

def test_layers_both_readers(tmp_path: Path) -> None:
    ways = [({**RES, "tunnel": "yes", "layer": "-2"}, 1), ({**RES, "bridge": "yes"}, 1),
            ({**RES, "tunnel": "building_passage"}, 1), ({**RES, "level": "-1"}, 1),
            ({**RES, "bridge": "boardwalk"}, 1)]
    net = build(tmp_path, ways, "walk")
    want = [BELOW, ABOVE, GROUND, BELOW, GROUND]
    for i, lay in enumerate(want):
        assert {v[2] for v in way_edges(net, i).values()} == {lay}


# -- the demo extract, both readers ----------------------------------------------------

def test_demo_rules_on_real_data() -> None:
    """The demo's walk network now includes the cycleways that allow walking."""
    import geosvc.demo

    net = build_network(geosvc.demo.demo_osm_path(), "walk", settings=SETTINGS)
    rules = OSM_RULES["walk"]
    assert way_use({"highway": "cycleway", "foot": "designated"}, rules) is not None
    assert net.meta["build"]["ways"] > 2400
    assert net.meta["build"]["ways_unused"] > 0
    assert net.components() < 62  # the cycleways join fragments the old filter left apart


# -- docs/osm-rules.md states the registry ------------------------------------------

def _doc_cells(rules) -> dict[str, list[str]]:
    """The table's cells of one mode, as the registry says them (backticked tokens)."""
    return {
        "access keys (most specific first)": list(rules.access_keys),
        "classes never used": sorted(rules.highways_never),
        "classes used only when allowed": sorted(rules.highways_if_granted),
        "also allowed by": [f"{k}={'|'.join(sorted(v))}" for k, v in rules.granted_by],
        "areas kept (`area=yes`)": sorted(rules.area_highways),
        "one-way keys (most specific first)": list(rules.oneway_keys),
        "one-way junctions": sorted(rules.oneway_junctions),
        "two-way despite oneway": [f"{k}~{rx}" for k, rx in rules.oneway_exempt],
        "class times (speed factor, penalty per way)":
            [f"{c} x{f:g} +{p:g}s" for c, f, p in rules.class_time],
        "closed nodes (the keys deny, or)":
            [*rules.access_keys, "impassable=yes"] if rules.node_access else [],
        "crossing times (class crossed; same class)":
            [*(f"{c} {t:g}s" for c, t in rules.crossing_s),
             *([f"same {rules.crossing_same_s:g}s"] if rules.crossing_s else [])],
        "gate times (node tag, once per pass)":
            [f"{sel} {t:g}s" for sel, t in rules.barrier_s],
        "gate time waived by (any value)": list(rules.barrier_free_keys),
        "ferries (speed without `duration`, wait)":
            [f"{rules.ferry_speed_kph:g} km/h", f"+{rules.ferry_penalty_s:g} s"]
            if rules.ferry else [],
    }


def test_docs_table_equals_the_registry() -> None:
    import re

    text = (Path(__file__).resolve().parents[2] / "docs" / "osm-rules.md").read_text("utf-8")
    rows = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| rule"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            rows[cells[0]] = cells[1:]
    modes = ["walk", "bike", "drive"]
    for col, mode in enumerate(modes):
        for name, want in _doc_cells(OSM_RULES[mode]).items():
            assert name in rows, f"docs/osm-rules.md lacks the row {name!r}"
            got = [t.replace("\\|", "|") for t in re.findall(r"`([^`]*)`", rows[name][col])]
            assert got == want, (mode, name)
