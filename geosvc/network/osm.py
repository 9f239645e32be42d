"""Read an OSM extract into a :class:`RoadNetwork` of one travel mode.

Sources
-------
Which ways a mode uses, in which directions and how fast is decided by
:func:`geosvc.network.tags.way_use` from the mode's rules in the registry
(:class:`geosvc.modes.OsmRules`; the table is ``docs/osm-rules.md``), on the
same tags whichever reader produced them:

``.osm.pbf``
    pyrosm ``OSM(path).get_network(custom_filter=[highway, route=ferry],
    nodes=True)``: every way with a ``highway`` and every ferry, with the tags
    of :data:`~geosvc.network.tags.TAG_KEYS`; our rules pick the mode's ways
    (pyrosm's own walking / cycling / driving filters are not used).  With
    ``nodes=True`` every way is split into its node-to-node segments, so each
    edge is one straight segment between two OSM nodes and node ids are OSM ids.
``.osm`` / ``.osm.xml``, also compressed (``.osm.gz``, ``.osm.bz2``, ``.osm.xml.gz``...)
    Parsed with the standard library (``xml.etree.ElementTree.iterparse``),
    split into the same segments.  (osmnx ``graph_from_xml`` loads every
    way regardless of the mode and drops ``oneway:bicycle``, so it is not used.)
    gzip and bzip2 are recognised by their first bytes (whatever the name says)
    and decompressed while parsing: no temporary file.

Segment lengths are geodesic (WGS-84) in both readers.

Clipped extracts
----------------
An extract cut out of a bigger map keeps ways that cross its border with
references to nodes it does not contain.  Those ways are split at the
missing nodes (the segments between two present nodes are kept) and
counted: :func:`build_network` records a build report in ``net.meta["build"]``
(:data:`BUILD_REPORT_KEYS`): the ways read for the mode, how many of them
are clipped and how many node references are missing, the segments dropped,
and the nodes, edges and components kept.  (From ``.osm.pbf``, pyrosm drops
missing references itself: ``clipped_ways`` and ``missing_refs`` are then
None.)

Directions and speeds
---------------------
By the mode's one-way keys (``oneway:foot`` for walking, ``oneway:bicycle``
then ``oneway`` for bikes, with the contraflow exceptions ``cycleway=opposite*``),
roundabouts, and speeds by setting or ``maxspeed`` / class with steps and
ferry times: see :mod:`geosvc.network.tags`.  Crossing times on foot
(:attr:`~geosvc.modes.OsmRules.crossing_s`: a footway across a primary road
+5 s) are added to each directed edge entering a node where four or more of
the mode's segments meet (:func:`geosvc.network.tags.crossing_times_s`), so
every search counts them with no node costs of its own.

Closed nodes
------------
Access tags on nodes count too (:func:`geosvc.network.tags.node_closed`; the
``.pbf`` reader reads node tags with pyosmium, the XML one while parsing): a
node the mode may not pass (a gate with ``access=no``) is split, each segment
end there getting its own copy, so the ways up to it stay and routes no
longer pass it (``meta["build"]["nodes_closed"]``).

Barrier times
-------------
A node the mode may pass at a cost of time (a gate without access tags:
:func:`geosvc.network.tags.barrier_time_s`, 30 s as Valhalla) is charged once
per pass through it, never in part to a point snapped beside it:
:func:`geosvc.network.barriers.split_barriers` (walk, bike) or the turns
through it (drive, :func:`geosvc.network.turns.expand_turns`);
``meta["build"]["barriers_timed"]`` counts them.

Layers
------
Every edge is classed below the ground (a negative ``layer`` or ``level``),
on it, or above it (a ``bridge``, a positive ``layer`` or ``level``) by
:func:`edge_layers`.  ``tunnel`` alone does not say how deep: ground-level
arcades through a block are often tagged ``tunnel=yes`` without a layer
(Helsinki's City-käytävä), real underground ways carry one (its service
tunnels ``layer=-4``).  Routes use every edge alike; snapping prefers the
ground (:mod:`geosvc.network.snap`).

The per-mode rules are looked up in the travel-mode registry
(:mod:`geosvc.modes`): ``osm`` (:class:`~geosvc.modes.OsmRules`) and
``speed_setting`` / ``speed_by_class``.

Turns
-----
Modes with turn costs (``TravelMode.turns``: drive) are turn-expanded after
assembly by :func:`geosvc.network.turns.expand_turns`: restriction relations
and traffic signals are read from the same extract
(:func:`geosvc.network.turns.read_turn_source`), the build report's
``turns`` member counts them.

Segments shorter than 1 cm are given 1 cm (so every time is > 0); self-loops
are dropped; disconnected parts are kept.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import os
import re
import time
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import IO, TYPE_CHECKING, Any, cast

import numpy as np
import osmium
import pandas as pd
from numpy.typing import NDArray

from geosvc.coords import geodesic_distance_m, local_projection
from geosvc.errors import InvalidParameter
from geosvc.modes import TRAVEL_MODES, OsmRules
from geosvc.network.barriers import split_barriers
from geosvc.network.graph import RoadNetwork, check_mode, make_network
from geosvc.network.tags import (
    DRIVE_SPEEDS_KPH,
    NODE_TAG_KEYS,
    TAG_KEYS,
    WayUse,
    barrier_time_s,
    crossing_times_s,
    node_closed,
    parse_maxspeed,
    segment_times_s,
    way_use,
)
from geosvc.network.turns import expand_turns, read_turn_source

if TYPE_CHECKING:
    from geosvc.config import Settings

__all__ = [
    "BUILD_REPORT_KEYS",
    "DRIVE_SPEEDS_KPH",
    "GROUND_BRIDGES",
    "OSM_RULES",
    "build_network",
    "edge_layers",
    "file_sha256",
    "parse_maxspeed",
]

#: The OSM rules of every road mode (:class:`geosvc.modes.OsmRules`), from the registry.
OSM_RULES: Mapping[str, OsmRules] = MappingProxyType(
    {m.name: m.osm for m in TRAVEL_MODES.values() if m.osm is not None})

#: Members of ``net.meta["build"]``, the build report of :func:`build_network`.
BUILD_REPORT_KEYS: tuple[str, ...] = (
    "ways",  # ways of the mode read from the extract
    "ways_unused",  # highway / ferry ways the mode's rules leave out (access, class...)
    "clipped_ways",  # of those, ways with node references missing from the extract
    "missing_refs",  # node references of those ways that the extract does not contain
    "segments_dropped",  # node-to-node segments dropped for a missing end node
    "nodes_closed",  # nodes of the mode's ways it cannot pass (gates with access=no...)
    "barriers_timed",  # nodes passed at a cost of time (gates without access tags)
    "nodes",  # nodes kept (used by an edge of the mode)
    "edges",  # directed edges kept
    "components",  # weakly connected components
    "largest_component_nodes",  # nodes of the largest one
    "strong_components",  # strongly connected components
    "core_nodes",  # nodes of the largest travel core (see geosvc.network.snap)
    "turns",  # modes with turn costs: restrictions read/applied/skipped, sizes (else None)
)

_TAGS = TAG_KEYS
#: pyrosm filter of the ways the rules look at: every highway and every ferry.
_PBF_FILTER = ['["highway"]', '["route"="ferry"]']
#: ``bridge`` values of ways that run on the ground all the same (``boardwalk``:
#: planks laid on marshy ground); every other value is above the ground.
GROUND_BRIDGES: tuple[str, ...] = ("no", "boardwalk")
_GZIP_MAGIC, _BZIP2_MAGIC = b"\x1f\x8b", b"BZh"  # first bytes of the compressed streams
_COMPRESSED = (".gz", ".bz2")
_MIN_LENGTH_M = 0.01
_LEVEL = re.compile(r"([+-]?\d+(?:\.\d+)?)(?:-([+-]?\d+(?:\.\d+)?))?")


def file_sha256(path: str | os.PathLike[str], *, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes (streamed)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


@dataclass
class _Segments:
    """Node-to-node segments of the ways kept for a mode (before directing)."""

    node_id: NDArray[np.int64]  # sorted unique OSM ids
    node_lon: NDArray[np.float64]
    node_lat: NDArray[np.float64]
    u: NDArray[np.int64]  # positions into node_id
    v: NDArray[np.int64]
    length_m: NDArray[np.float64]
    tags: pd.DataFrame  # columns _TAGS (object), one row per segment
    way: NDArray[np.int64]  # each segment's way: an index into ``uses``
    uses: list[WayUse]  # per way kept, how the mode uses it (geosvc.network.tags)
    geom_offsets: NDArray[np.int64]  # lon/lat vertices per segment, u first
    geom_lon: NDArray[np.float64]
    geom_lat: NDArray[np.float64]
    #: ways / ways_unused / clipped_ways / missing_refs / segments_dropped (BUILD_REPORT_KEYS)
    report: dict[str, int | None] = field(default_factory=dict)
    #: OSM ids of the nodes the mode cannot pass (:func:`~geosvc.network.tags.node_closed`)
    closed_ids: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    #: OSM ids of the nodes passed at a cost of time, and the seconds
    #: (:func:`~geosvc.network.tags.barrier_time_s`)
    barrier_ids: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    barrier_s: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))


def build_network(
    osm_path: str | os.PathLike[str],
    mode: str,
    *,
    settings: Settings,
    progress: Callable[[str], None] | None = None,
    source_hash: str | None = None,
) -> RoadNetwork:
    """Build the ``mode`` network of an OSM extract; see the module notes for the rules.

    ``net.meta["build"]`` holds the build report (:data:`BUILD_REPORT_KEYS`).

    Parameters
    ----------
    osm_path : path
        ``.osm.pbf``, ``.osm`` or ``.osm.xml`` file; the XML ones also
        compressed with gzip (``.gz``) or bzip2 (``.bz2``).
    mode : str
        A mode of :mod:`geosvc.modes` that needs a road network.
    settings : Settings
        Speeds (``walk_speed_kph``, ``bike_speed_kph``, ``drive_default_kph``).
    progress : callable, optional
        Called with the name of each step.
    source_hash : str, optional
        sha256 of the file when the caller already has it.

    Raises
    ------
    InvalidParameter
        ``mode`` unknown; ``osm_path`` missing, of an unknown kind, unreadable,
        or without any road of this mode.
    """
    check_mode(mode)
    path = Path(osm_path)
    if not path.is_file():
        raise InvalidParameter("osm_path", f"{str(path)!r} does not exist or is not a file")
    kind = extract_kind(path)
    step = progress or (lambda _s: None)
    started = time.perf_counter()
    step(f"reading {mode} roads")
    seg = _read_pbf(path, mode) if kind == "pbf" else _read_xml(path, mode)
    if len(seg.u) == 0:
        msg = f"{path.name!r} has no {mode} roads"
        raise InvalidParameter("osm_path", msg)
    seg = _split_closed(seg)
    step("directing and timing edges")
    net, rows = _assemble(seg, mode, settings, source_hash or file_sha256(path))
    node_s = _barrier_times(net, seg)
    turns = TRAVEL_MODES[mode].turns
    if turns is not None:
        step("turn restrictions and turn costs")
        source = read_turn_source(path, kind, turns, open_xml=_open_xml)
        highway = seg.tags["highway"].to_numpy(dtype=object)[rows]
        net = expand_turns(net, turns, source=source, edge_highway=highway, node_s=node_s)
        seg.report["barriers_timed"] = net.meta["turns"]["barrier_nodes"]
    else:
        before = net.n_nodes
        net = split_barriers(net, node_s)
        seg.report["barriers_timed"] = int(len(np.unique(net.node_id[before:])))
    report = build_report(net, seg.report)
    report["turns"] = net.meta.pop("turns", None)
    net.meta.update(source=str(path), build_s=round(time.perf_counter() - started, 3),
                    build=report)
    return net


def extract_kind(path: str | os.PathLike[str]) -> str:
    """Return ``"pbf"`` or ``"xml"`` for an OSM extract's file name (compression allowed).

    Raises
    ------
    InvalidParameter
        A name of no known kind, or a compressed ``.pbf`` (named ``osm_path``).

    Examples
    --------
    >>> [extract_kind(n) for n in ("a.osm.pbf", "a.osm", "a.osm.xml.gz", "a.OSM.BZ2")]
    ['pbf', 'xml', 'xml', 'xml']
    """
    name = Path(path).name
    base = name.lower()
    packed = base.endswith(_COMPRESSED)
    if packed:
        base = base.rsplit(".", 1)[0]
    if base.endswith(".pbf"):
        if packed:
            msg = (f"{name!r}: an .osm.pbf is compressed inside already and cannot be read "
                   "compressed again; unpack it first")
            raise InvalidParameter("osm_path", msg)
        return "pbf"
    if base.endswith((".osm", ".xml")):
        return "xml"
    msg = (f"{name!r} is not an OSM extract: expected .osm.pbf, .osm or .osm.xml (the XML "
           "also as .gz or .bz2)")
    raise InvalidParameter("osm_path", msg)


def build_report(net: RoadNetwork, read: Mapping[str, int | None]) -> dict[str, Any]:
    """Return the build report of ``net`` (:data:`BUILD_REPORT_KEYS`) from the reader's counts.

    The component counts are computed here (and stay cached on ``net``).
    """
    core = net.main_strong[net.strong_labels]
    core_sizes = np.where(net.main_strong, net.strong_sizes, 0)
    out: dict[str, Any] = {key: read.get(key) for key in BUILD_REPORT_KEYS[:7]}
    out.update(
        nodes=net.n_nodes,
        edges=net.n_edges,
        components=net.components(),
        largest_component_nodes=int(net.component_sizes.max()) if net.n_nodes else 0,
        strong_components=int(len(net.strong_sizes)),
        core_nodes=int(core_sizes.max()) if core.any() else 0,
        turns=None,
    )
    return out


def _open_xml(path: Path) -> IO[bytes]:
    """Open an XML extract for reading, decompressing gzip / bzip2 on the fly (by magic)."""
    with open(path, "rb") as fh:
        head = fh.read(3)
    if head.startswith(_GZIP_MAGIC):
        return cast("IO[bytes]", gzip.open(path, "rb"))
    if head.startswith(_BZIP2_MAGIC):
        return cast("IO[bytes]", bz2.open(path, "rb"))
    return open(path, "rb")  # noqa: SIM115 - the caller closes it


def _read_pbf(path: Path, mode: str) -> _Segments:
    import pyrosm  # lazy: pyrosm takes ~0.04 s to import; only this path needs it
    import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it
    from pyrosm.exceptions import (
        PBFException,  # lazy: pyrosm takes ~0.04 s to import; only this path needs it
    )

    try:
        osm = pyrosm.OSM(str(path))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyrosm's own chatter (e.g. missing columns)
            got = osm.get_network(custom_filter=_PBF_FILTER, nodes=True,
                                  tags_to_keep=list(_TAGS))
    except (PBFException, ValueError, OSError) as exc:
        msg = f"{path.name!r} cannot be read as OSM PBF: {exc}"
        raise InvalidParameter("osm_path", msg) from exc
    if got is None or got[1] is None or len(got[1]) == 0:
        return _empty_segments()
    nodes, edges = got
    tags = pd.DataFrame({t: (edges[t].astype(object) if t in edges else None) for t in _TAGS},
                        index=edges.index).reset_index(drop=True)
    tags = tags.where(tags.notna(), None)
    way_ids = edges["id"].to_numpy(dtype=np.int64)
    unique_ids, first_row, way_of_row = np.unique(way_ids, return_index=True,
                                                  return_inverse=True)
    rules = OSM_RULES[mode]
    cols = list(tags.columns)
    uses_all = [way_use(dict(zip(cols, row, strict=True)), rules)
                for row in tags.to_numpy(dtype=object)[first_row]]
    kept_way = np.array([u is not None for u in uses_all], dtype=bool)
    new_index = np.cumsum(kept_way) - 1
    uses = [u for u in uses_all if u is not None]
    node_id = nodes["id"].to_numpy(dtype=np.int64)
    order = np.argsort(node_id, kind="stable")
    node_id = node_id[order]
    lon = nodes["lon"].to_numpy(dtype=np.float64)[order]
    lat = nodes["lat"].to_numpy(dtype=np.float64)[order]
    u = _positions(node_id, edges["u"].to_numpy(dtype=np.int64))
    v = _positions(node_id, edges["v"].to_numpy(dtype=np.int64))
    ok = (u >= 0) & (v >= 0)
    keep = ok & kept_way[way_of_row]
    geoms = edges.geometry.to_numpy()
    coords, gidx = shapely.get_coordinates(geoms, return_index=True)
    counts = np.bincount(gidx, minlength=len(geoms))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    length = _polyline_length(offsets, coords[:, 0], coords[:, 1])
    report: dict[str, int | None] = {
        "ways": len(uses), "ways_unused": int(len(unique_ids) - len(uses)),
        "clipped_ways": None, "missing_refs": None,  # pyrosm drops them unseen
        "segments_dropped": int((~ok & kept_way[way_of_row]).sum()),
    }
    seg = _Segments(node_id, lon, lat, u, v, length, tags,
                    new_index[way_of_row].astype(np.int64), uses, offsets,
                    coords[:, 0], coords[:, 1], report)
    _read_pbf_nodes(path, rules, seg)
    return _subset(seg, np.flatnonzero(keep))


def _read_pbf_nodes(path: Path, rules: OsmRules, seg: _Segments) -> None:
    """Set the closed and the timed nodes of a ``.osm.pbf`` on ``seg`` (by their tags)."""
    if not rules.node_access and not rules.barrier_s:
        return
    nodes = osmium.FileProcessor(str(path), osmium.osm.NODE).with_filter(
        osmium.filter.KeyFilter(*NODE_TAG_KEYS))
    closed: list[int] = []
    timed: dict[int, float] = {}
    for n in nodes:
        _node_rule(n.id, {t.k: t.v for t in n.tags}, rules, closed, timed)
    _set_node_rules(seg, closed, timed)


def _node_rule(node: int, tags: Mapping[str, str], rules: OsmRules, closed: list[int],
               timed: dict[int, float]) -> None:
    """File a node as closed to the mode (:func:`node_closed`) or timed (a gate)."""
    if node_closed(tags, rules):
        closed.append(node)
    elif (sec := barrier_time_s(tags, rules)) > 0:
        timed[node] = sec


def _set_node_rules(seg: _Segments, closed: list[int], timed: dict[int, float]) -> None:
    """Keep on ``seg`` the nodes :func:`_node_rule` filed (closed ids; timed ids, seconds)."""
    seg.closed_ids = np.asarray(closed, dtype=np.int64)
    seg.barrier_ids = np.fromiter(timed, dtype=np.int64, count=len(timed))
    seg.barrier_s = np.fromiter(timed.values(), dtype=np.float64, count=len(timed))


def _barrier_times(net: RoadNetwork, seg: _Segments) -> NDArray[np.float64]:
    """Seconds of passing each node of ``net`` (its OSM id among ``seg``'s timed nodes)."""
    node_s = np.zeros(net.n_nodes)
    if len(seg.barrier_ids):
        order = np.argsort(seg.barrier_ids)
        pos = _positions(seg.barrier_ids[order], net.node_id)
        sec = seg.barrier_s[order]
        node_s[pos >= 0] = sec[pos[pos >= 0]]
    return node_s


def _read_xml(path: Path, mode: str) -> _Segments:
    node_ids: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    ways: list[tuple[list[int], dict[str, str], WayUse]] = []
    closed: list[int] = []
    timed: dict[int, float] = {}
    try:
        with _open_xml(path) as stream:
            unused = _parse_xml(stream, mode, node_ids, lons, lats, ways, closed, timed)
    except (ET.ParseError, KeyError, ValueError, OSError, EOFError) as exc:
        msg = f"{path.name!r} cannot be read as OSM XML: {exc}"
        raise InvalidParameter("osm_path", msg) from exc
    seg = _xml_segments(node_ids, lons, lats, ways)
    seg.report["ways_unused"] = unused
    _set_node_rules(seg, closed, timed)
    return seg


def _parse_xml(stream: IO[bytes], mode: str, node_ids: list[int], lons: list[float],
               lats: list[float], ways: list[tuple[list[int], dict[str, str], WayUse]],
               closed: list[int], timed: dict[int, float]) -> int:
    """Stream the nodes and the ``mode``'s ways of an OSM XML document; return the unused ways.

    Ways with a ``highway`` or ``route=ferry`` that the mode's rules leave out
    are counted, not kept; the ids of nodes the mode cannot pass go to
    ``closed``, those it passes at a cost of time to ``timed`` (id: seconds).
    """
    rules = OSM_RULES[mode]
    unused = 0
    for _event, el in ET.iterparse(stream, events=("end",)):
        if el.tag == "node":
            node_ids.append(int(el.attrib["id"]))
            lons.append(float(el.attrib["lon"]))
            lats.append(float(el.attrib["lat"]))
            ntags = {t.attrib["k"]: t.attrib["v"] for t in el.iter("tag")}
            if ntags:
                _node_rule(node_ids[-1], ntags, rules, closed, timed)
            el.clear()
        elif el.tag == "way":
            tags = {t.attrib["k"]: t.attrib["v"] for t in el.iter("tag")}
            if "highway" in tags or "route" in tags:
                use = way_use(tags, rules)
                if use is not None:
                    ways.append(([int(nd.attrib["ref"]) for nd in el.iter("nd")], tags, use))
                elif "highway" in tags or tags["route"] == "ferry":
                    unused += 1
            el.clear()
    return unused


def _xml_segments(node_ids: list[int], lons: list[float], lats: list[float],
                  ways: list[tuple[list[int], dict[str, str], WayUse]]) -> _Segments:
    """Split the parsed ways into node-to-node segments (missing nodes counted, skipped)."""
    if not ways:
        return _empty_segments()
    all_id = np.asarray(node_ids, dtype=np.int64)
    order = np.argsort(all_id, kind="stable")
    all_id = all_id[order]
    all_lon = np.asarray(lons)[order]
    all_lat = np.asarray(lats)[order]
    us: list[int] = []
    vs: list[int] = []
    rows: list[int] = []
    for w, (refs, _tags, _use) in enumerate(ways):
        us.extend(refs[:-1])
        vs.extend(refs[1:])
        rows.extend([w] * max(len(refs) - 1, 0))
    uid = np.asarray(us, dtype=np.int64)
    vid = np.asarray(vs, dtype=np.int64)
    ui = _positions(all_id, uid)
    vi = _positions(all_id, vid)
    ok = (ui >= 0) & (vi >= 0)
    report = _missing_refs(all_id, ways)
    report["segments_dropped"] = int((~ok).sum())
    uid, vid, ui, vi = uid[ok], vid[ok], ui[ok], vi[ok]
    row = np.asarray(rows, dtype=np.int64)[ok]
    used = np.unique(np.concatenate([uid, vid]))
    upos = _positions(all_id, used)
    node_lon, node_lat = all_lon[upos], all_lat[upos]
    u = _positions(used, uid)
    v = _positions(used, vid)
    way_tags = pd.DataFrame([{t: tags.get(t) for t in _TAGS} for _, tags, _ in ways],
                            columns=list(_TAGS), dtype=object)
    tags_df = way_tags.iloc[row].reset_index(drop=True)
    uses = [use for _, _, use in ways]
    glon = np.empty(2 * len(u))
    glat = np.empty(2 * len(u))
    glon[0::2], glon[1::2] = node_lon[u], node_lon[v]
    glat[0::2], glat[1::2] = node_lat[u], node_lat[v]
    length = np.asarray(geodesic_distance_m(node_lon[u], node_lat[u], node_lon[v], node_lat[v]))
    offsets = np.arange(0, 2 * len(u) + 1, 2, dtype=np.int64)
    return _Segments(used, node_lon, node_lat, u, v, length, tags_df, row, uses, offsets,
                     glon, glat, report)


def _missing_refs(all_id: NDArray[np.int64],
                  ways: list[tuple[list[int], dict[str, str], WayUse]],
                  ) -> dict[str, int | None]:
    """Count the ways, the clipped ones and their node references absent from ``all_id``."""
    counts = np.fromiter((len(w[0]) for w in ways), dtype=np.int64, count=len(ways))
    flat = np.fromiter((r for w in ways for r in w[0]), dtype=np.int64,
                       count=int(counts.sum()))
    missing = _positions(all_id, flat) < 0
    way_of = np.repeat(np.arange(len(ways)), counts)
    return {"ways": len(ways), "clipped_ways": int(len(np.unique(way_of[missing]))),
            "missing_refs": int(missing.sum())}


def _empty_segments() -> _Segments:
    z = np.zeros(0, dtype=np.int64)
    f = np.zeros(0)
    return _Segments(z, f, f, z, z, f, pd.DataFrame(columns=list(_TAGS)), z, [],
                     np.zeros(1, np.int64), f, f,
                     {"ways": 0, "ways_unused": 0, "clipped_ways": 0, "missing_refs": 0,
                      "segments_dropped": 0, "nodes_closed": 0})


def _positions(sorted_ids: NDArray[np.int64], ids: NDArray[np.int64]) -> NDArray[np.int64]:
    """Positions of ``ids`` in ``sorted_ids``, -1 where absent."""
    if len(sorted_ids) == 0:
        return np.full(len(ids), -1, dtype=np.int64)
    pos = np.searchsorted(sorted_ids, ids)
    pos_c = np.minimum(pos, len(sorted_ids) - 1)
    return np.where(sorted_ids[pos_c] == ids, pos_c, -1).astype(np.int64)


def _polyline_length(off: NDArray[np.int64], lon: NDArray[np.float64],
                     lat: NDArray[np.float64]) -> NDArray[np.float64]:
    d = np.asarray(geodesic_distance_m(lon[:-1], lat[:-1], lon[1:], lat[1:]))
    cum = np.concatenate([[0.0], np.cumsum(d)])
    return cum[off[1:] - 1] - cum[off[:-1]]


def _subset(seg: _Segments, rows: NDArray[np.int64]) -> _Segments:
    counts = np.diff(seg.geom_offsets)[rows]
    starts = seg.geom_offsets[:-1][rows]
    shift = starts - np.concatenate([[0], np.cumsum(counts)[:-1]])
    vert = np.repeat(shift, counts) + np.arange(counts.sum())
    return _Segments(
        seg.node_id, seg.node_lon, seg.node_lat, seg.u[rows], seg.v[rows], seg.length_m[rows],
        seg.tags.iloc[rows].reset_index(drop=True), seg.way[rows], seg.uses,
        np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        seg.geom_lon[vert], seg.geom_lat[vert], seg.report, seg.closed_ids,
        seg.barrier_ids, seg.barrier_s,
    )


def _split_closed(seg: _Segments) -> _Segments:
    """Give each segment end at a closed node its own copy of the node (a dead end there).

    The ways up to a closed gate are kept; they no longer meet at it, so no
    route passes it.  The copies take ids above the largest id the segments
    use, in the order (closed node, node at the segment's other end, length),
    so both readers give the same ids; the closed node itself is then used by
    no segment.  Counts the closed nodes the mode's segments use as
    ``report["nodes_closed"]``.
    """
    n = len(seg.u)
    shut = np.zeros(len(seg.node_id), dtype=bool)
    pos = _positions(seg.node_id, seg.closed_ids)
    shut[pos[pos >= 0]] = True
    ends = np.concatenate([seg.u, seg.v])
    other = np.concatenate([seg.v, seg.u])
    hit = np.flatnonzero(shut[ends])
    seg.report["nodes_closed"] = int(len(np.unique(ends[hit])))
    if not len(hit):
        return seg
    hit = hit[np.lexsort((np.concatenate([seg.length_m, seg.length_m])[hit],
                          seg.node_id[other[hit]], seg.node_id[ends[hit]]))]
    top = int(seg.node_id[ends].max())
    ends = ends.copy()
    old = ends[hit]
    ends[hit] = len(seg.node_id) + np.arange(len(hit))
    return _Segments(
        np.concatenate([seg.node_id, top + 1 + np.arange(len(hit), dtype=np.int64)]),
        np.concatenate([seg.node_lon, seg.node_lon[old]]),
        np.concatenate([seg.node_lat, seg.node_lat[old]]),
        ends[:n], ends[n:], seg.length_m, seg.tags, seg.way, seg.uses, seg.geom_offsets,
        seg.geom_lon, seg.geom_lat, seg.report, seg.closed_ids,
        seg.barrier_ids, seg.barrier_s,
    )


def edge_layers(tags: pd.DataFrame) -> NDArray[np.int8]:
    """Classify way segments as below (-1), on (0) or above (1) the ground.

    The values are :data:`~geosvc.network.graph.BELOW`, ``GROUND`` and ``ABOVE``.
    Below: a negative ``layer`` (its first number: ``"-1;0"`` is -1), or
    ``level`` values all negative.  Above: a ``bridge`` other than
    :data:`GROUND_BRIDGES`, a positive ``layer``, or ``level`` values all
    positive.  Below wins over above.  Everything else is on the ground: no
    tag, ``layer=0``, ``level=0`` or ``-1;0``, and a ``tunnel`` without a
    negative layer or level (see the module notes: ``tunnel=yes`` alone is
    often a ground-level arcade; ``building_passage`` always is).
    Unparseable values count as absent.  Each distinct value is parsed once.

    Parameters
    ----------
    tags : DataFrame
        Columns ``bridge``, ``layer``, ``level`` (missing columns and None /
        NaN values count as absent; ``tunnel`` is not read).

    Examples
    --------
    >>> t = pd.DataFrame({"tunnel": ["yes", "yes", None, None, None, None],
    ...                   "bridge": [None, None, "yes", None, None, None],
    ...                   "layer": ["-4", None, None, "1", None, "0"],
    ...                   "level": [None, None, None, None, "-1;-2", "0"]})
    >>> edge_layers(t).tolist()
    [-1, 0, 1, 1, -1, 0]
    """
    n = len(tags)

    def column(name: str) -> pd.Series:
        if name not in tags:
            return pd.Series([""] * n, dtype=object)
        col = tags[name].astype(object)
        return col.where(col.notna(), "").astype(str).str.strip().str.lower()

    bridge, layer_col, level_col = column("bridge"), column("layer"), column("level")
    layers = {val: _layer_number(val) for val in pd.unique(layer_col)}
    levels = {val: _level_range(val) for val in pd.unique(level_col)}
    layer = layer_col.map(layers).to_numpy(dtype=np.float64)
    lvl_lo = level_col.map({k: r[0] for k, r in levels.items()}).to_numpy(dtype=np.float64)
    lvl_hi = level_col.map({k: r[1] for k, r in levels.items()}).to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore"):
        below = (layer < 0) | (lvl_hi < 0)
        on_bridge = ((bridge != "") & ~bridge.isin(GROUND_BRIDGES)).to_numpy()
        above = on_bridge | (layer > 0) | (lvl_lo > 0)
    out = np.zeros(n, dtype=np.int8)
    out[above] = 1
    out[below] = -1
    return out


def _layer_number(value: str) -> float:
    """First number of a ``layer`` value, NaN if none (``"-1;0"`` -> -1.0)."""
    m = re.match(r"\s*([+-]?\d+(?:\.\d+)?)", value)
    return float(m.group(1)) if m else np.nan


def _level_range(value: str) -> tuple[float, float]:
    """(lowest, highest) number of a ``level`` value, NaN if none.

    ``;``-lists and ranges (``"-1;0"``, ``"0-2"``, ``"-2--1"``) are read;
    parts that are not numbers are skipped.

    Examples
    --------
    >>> _level_range("-1;0"), _level_range("0-2"), _level_range("-2--1"), _level_range("roof")
    ((-1.0, 0.0), (0.0, 2.0), (-2.0, -1.0), (nan, nan))
    """
    nums: list[float] = []
    for part in value.split(";"):
        m = _LEVEL.fullmatch(part.strip())
        if m:
            nums.extend(float(g) for g in m.groups() if g is not None)
    return (min(nums), max(nums)) if nums else (np.nan, np.nan)


def _assemble(seg: _Segments, mode: str, settings: Settings,
              source_hash: str) -> tuple[RoadNetwork, NDArray[np.int64]]:
    """Direct, time and project the segments; also return each edge's segment row."""
    keep = seg.u != seg.v
    if not keep.all():
        seg = _subset(seg, np.flatnonzero(keep))
    fwd = np.array([use.forward for use in seg.uses], dtype=bool)[seg.way]
    bwd = np.array([use.backward for use in seg.uses], dtype=bool)[seg.way]
    length = np.maximum(np.nan_to_num(seg.length_m, nan=_MIN_LENGTH_M), _MIN_LENGTH_M)
    time_s = segment_times_s(mode, settings, length_m=length, way=seg.way, uses=seg.uses,
                             highway=seg.tags["highway"].to_numpy(dtype=object),
                             maxspeed=seg.tags["maxspeed"].to_numpy(dtype=object))
    # keep only nodes used by a directed edge
    f_rows = np.flatnonzero(fwd)
    b_rows = np.flatnonzero(bwd)
    used = np.zeros(len(seg.node_id), dtype=bool)
    used[seg.u[fwd | bwd]] = True
    used[seg.v[fwd | bwd]] = True
    new_pos = np.cumsum(used) - 1
    lon, lat = seg.node_lon[used], seg.node_lat[used]
    bounds = (lon.min(), lat.min(), lon.max(), lat.max())
    proj = local_projection(bounds)
    crs, tr = proj.crs, proj.forward
    x, y = tr.transform(lon, lat)
    gx, gy = tr.transform(seg.geom_lon, seg.geom_lat)
    gx, gy = np.asarray(gx), np.asarray(gy)
    # directed edges: forward rows keep their vertices, backward rows reversed
    counts = np.diff(seg.geom_offsets)
    starts = seg.geom_offsets[:-1]
    f_vert = _vertex_index(starts[f_rows], counts[f_rows], reverse=False)
    b_vert = _vertex_index(starts[b_rows], counts[b_rows], reverse=True)
    vert = np.concatenate([f_vert, b_vert])
    rows = np.concatenate([f_rows, b_rows])
    u = np.concatenate([seg.u[f_rows], seg.v[b_rows]])
    v = np.concatenate([seg.v[f_rows], seg.u[b_rows]])
    offsets = np.concatenate([[0], np.cumsum(counts[rows])]).astype(np.int64)
    # crossing times at the node each edge enters (walk: OsmRules.crossing_s)
    rules = TRAVEL_MODES[mode].osm
    usable = np.flatnonzero(fwd | bwd)
    seg_row = np.full(len(seg.u), -1, dtype=np.int64)
    seg_row[usable] = np.arange(len(usable))
    crossing = np.zeros(len(rows)) if rules is None else crossing_times_s(
        rules, seg_u=seg.u[usable], seg_v=seg.v[usable], seg_way=seg.way[usable],
        seg_highway=seg.tags["highway"].to_numpy(dtype=object)[usable],
        edge_seg=seg_row[rows], edge_v=v)
    # twins: a two-way segment's forward edge i pairs with its backward edge
    twin = np.full(len(rows), -1, dtype=np.int64)
    b_index = np.full(len(seg.u), -1, dtype=np.int64)
    b_index[b_rows] = len(f_rows) + np.arange(len(b_rows))
    f_index = np.full(len(seg.u), -1, dtype=np.int64)
    f_index[f_rows] = np.arange(len(f_rows))
    both = np.flatnonzero(fwd & bwd)
    twin[f_index[both]] = b_index[both]
    twin[b_index[both]] = f_index[both]
    net = make_network(
        mode=mode,
        crs=crs,
        source_hash=source_hash,
        node_id=seg.node_id[used],
        node_lon=lon,
        node_lat=lat,
        node_x=np.asarray(x),
        node_y=np.asarray(y),
        edge_u=new_pos[u],
        edge_v=new_pos[v],
        edge_length_m=length[rows],
        edge_time_s=time_s[rows] + crossing,
        geom_offsets=offsets,
        geom_x=gx[vert],
        geom_y=gy[vert],
        edge_twin=twin,
        edge_layer=edge_layers(seg.tags)[rows],
    )
    return net, rows


def _vertex_index(starts: NDArray[np.int64], counts: NDArray[np.int64], *,
                  reverse: bool) -> NDArray[np.int64]:
    """Flat vertex indices of several polylines, each optionally reversed."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    seg_of = np.repeat(np.arange(len(counts)), counts)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    k = np.arange(total) - first[seg_of]
    if reverse:
        k = counts[seg_of] - 1 - k
    return starts[seg_of] + k
