"""OSM tags -> which ways a mode uses, in which directions, how fast: the rules applied.

The rules themselves are data in the travel-mode registry
(:class:`geosvc.modes.OsmRules`, one per road mode); this module reads a
way's tags with them.  Both readers of :mod:`geosvc.network.osm` (``.osm``
XML and ``.osm.pbf``) call :func:`way_use` on the same tags, so the same data
gives the same network whichever file it comes in.  The rule table, with
the reasons, is ``docs/osm-rules.md``.

Speeds: ``walk`` / ``bike`` the mode's setting; ``drive`` the way's
``maxspeed`` (:func:`parse_maxspeed`: km/h, mph, knots, ``walk``, country
zones like ``FI:urban`` from :data:`MAXSPEED_ZONES_KPH`), else
:data:`DRIVE_SPEEDS_KPH` by class, else ``settings.drive_default_kph``.  Then
the class factor and penalty of :attr:`OsmRules.class_time` (steps) apply;
ferries go at their ``duration`` (:func:`parse_duration_s`) or the mode's
ferry speed, plus the boarding wait.  Penalties and durations belong to a
whole way and are spread over its segments by length.

Examples
--------
>>> from geosvc.modes import TRAVEL_MODES
>>> walk = TRAVEL_MODES["walk"].osm
>>> way_use({"highway": "cycleway"}, walk) is None
True
>>> way_use({"highway": "cycleway", "foot": "yes"}, walk)  # doctest: +NORMALIZE_WHITESPACE
WayUse(forward=True, backward=True, speed_factor=1.0, penalty_s=0.0,
       duration_s=None, ferry=False)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

from geosvc.modes import ACCESS_DENIED, ACCESS_GRANTED, TRAVEL_MODES, OsmRules

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from geosvc.config import Settings

__all__ = [
    "DRIVE_SPEEDS_KPH",
    "MAXSPEED_ZONES_KPH",
    "TAG_KEYS",
    "NODE_TAG_KEYS",
    "WayUse",
    "barrier_time_s",
    "crossing_times_s",
    "node_closed",
    "parse_duration_s",
    "parse_maxspeed",
    "segment_times_s",
    "way_use",
]

#: Driving speed by ``highway`` class when a way has no usable ``maxspeed``, km/h.
DRIVE_SPEEDS_KPH: Mapping[str, float] = {
    "motorway": 100.0,
    "motorway_link": 60.0,
    "trunk": 80.0,
    "trunk_link": 50.0,
    "primary": 60.0,
    "primary_link": 40.0,
    "secondary": 50.0,
    "secondary_link": 40.0,
    "tertiary": 40.0,
    "tertiary_link": 30.0,
    "unclassified": 30.0,
    "residential": 30.0,
    "living_street": 10.0,
    "service": 20.0,
    "road": 30.0,
}

_MPH = 1.609344
_KNOT = 1.852
#: Implicit limits of ``maxspeed=CC:zone`` values, km/h, by country code; ``*`` is
#: any other country.  ``XX:zone30`` / ``XX:zone:30`` read the number; ``walk``
#: (the value ``maxspeed=walk`` too) is walking pace for cars.  Sources: the
#: OSM wiki "Default speed limits" (2026) for these countries.
MAXSPEED_ZONES_KPH: Mapping[str, Mapping[str, float]] = {
    "*": {"urban": 50.0, "rural": 80.0, "trunk": 90.0, "motorway": 110.0,
          "living_street": 20.0, "walk": 7.0},
    "CN": {"urban": 50.0, "rural": 70.0, "trunk": 100.0, "motorway": 120.0},
    "FI": {"urban": 50.0, "rural": 80.0, "trunk": 100.0, "motorway": 120.0,
           "living_street": 20.0},
    "RU": {"urban": 60.0, "rural": 90.0, "trunk": 90.0, "motorway": 110.0,
           "living_street": 20.0},
    "DE": {"urban": 50.0, "rural": 100.0, "trunk": 100.0, "motorway": 130.0,
           "living_street": 7.0, "bicycle_road": 30.0},
    "FR": {"urban": 50.0, "rural": 80.0, "trunk": 110.0, "motorway": 130.0,
           "living_street": 20.0},
    "GB": {"urban": 30 * _MPH, "rural": 60 * _MPH, "nsl_single": 60 * _MPH,
           "nsl_dual": 70 * _MPH, "motorway": 70 * _MPH},
}
_UNIT = {"": 1.0, "km/h": 1.0, "kmh": 1.0, "kph": 1.0, "mph": _MPH, "knots": _KNOT,
         "knot": _KNOT, "kn": _KNOT}
_SPEED = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(km/h|kmh|kph|mph|knots?|kn)?\s*")
_ZONE = re.compile(r"([a-z]{2}):([a-z_:0-9]+)")
_ZONE_NUMBER = re.compile(r"zone:?(\d+)")
_YES = frozenset({"yes", "true", "1"})
_REVERSE = frozenset({"-1", "reverse"})


class WayUse(NamedTuple):
    """How a mode uses one way (None from :func:`way_use`: not at all)."""

    forward: bool  # along the way's node order
    backward: bool
    speed_factor: float  # of the mode's speed (steps: slower)
    penalty_s: float  # per whole way, spread over its segments by length
    duration_s: float | None  # a ferry's crossing time (``duration``), whole way
    ferry: bool


def _rule_keys() -> tuple[str, ...]:
    keys = ["highway", "route", "area", "junction", "maxspeed", "duration",
            "bridge", "layer", "level"]
    for mode in TRAVEL_MODES.values():
        r = mode.osm
        if r is None:
            continue
        keys += [*r.access_keys, *(k for k, _ in r.granted_by), *r.oneway_keys,
                 *(k for k, _ in r.oneway_exempt)]
    return tuple(dict.fromkeys(keys))


#: Every tag key the rules read (the columns both readers keep per segment).
TAG_KEYS: tuple[str, ...] = _rule_keys()
#: Node tag keys that may close a node (:func:`node_closed`: every mode's access keys)
#: or time it (:func:`barrier_time_s`: ``barrier``, ``bollard``).
NODE_TAG_KEYS: tuple[str, ...] = tuple(dict.fromkeys(
    ["impassable", *(k for m in TRAVEL_MODES.values() if m.osm is not None
                     for k in m.osm.access_keys),
     *(sel.split("=", 1)[0] for m in TRAVEL_MODES.values() if m.osm is not None
       for sel, _ in m.osm.barrier_s)]))


def _values(value: object) -> list[str]:
    """Return the ``;``-separated values of a tag, stripped, lower-cased ([] if absent)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return [p.strip().lower() for p in str(value).split(";") if p.strip()]


def _first_present(tags: Mapping[str, str | None],
                   keys: tuple[str, ...]) -> tuple[int, list[str]]:
    """(position in ``keys``, values) of the first key ``tags`` has; (-1, []) if none."""
    for i, key in enumerate(keys):
        vals = _values(tags.get(key))
        if vals:
            return i, vals
    return -1, []


def way_use(tags: Mapping[str, str | None], rules: OsmRules) -> WayUse | None:
    """Return how a mode with ``rules`` uses a way with ``tags``; None: not at all.

    See :class:`~geosvc.modes.OsmRules` for the rules.  Absent tags may be
    missing keys or None.

    Examples
    --------
    >>> from geosvc.modes import TRAVEL_MODES
    >>> bike, drive = TRAVEL_MODES["bike"].osm, TRAVEL_MODES["drive"].osm
    >>> u = way_use({"highway": "residential", "oneway": "yes",
    ...              "cycleway": "opposite_lane"}, bike)
    >>> u.forward, u.backward
    (True, True)
    >>> u = way_use({"highway": "residential", "oneway": "yes",
    ...              "cycleway": "opposite_lane"}, drive)
    >>> u.forward, u.backward
    (True, False)
    >>> way_use({"highway": "residential", "access": "no", "motorcar": "yes"}, drive) is None
    False
    >>> way_use({"highway": "residential", "access": "private;delivery"}, drive) is None
    True
    """
    highway = _values(tags.get("highway"))
    ferry = not highway and "ferry" in _values(tags.get("route"))
    if ferry:
        if not rules.ferry:
            return None
    else:
        if not highway:
            return None
        hwy = highway[0]
        if hwy in rules.highways_never:
            return None
        if "yes" in _values(tags.get("area")) and hwy not in rules.area_highways:
            return None
        if hwy in rules.highways_if_granted and not _granted(tags, rules):
            return None
    _, access = _first_present(tags, rules.access_keys)
    if any(v in ACCESS_DENIED for v in access):
        return None
    forward, backward = _directions(tags, rules)
    factor, penalty, duration = 1.0, 0.0, None
    if ferry:
        penalty = rules.ferry_penalty_s
        duration = parse_duration_s(tags.get("duration"))
    else:
        for cls, f, p in rules.class_time:
            if cls == highway[0]:
                factor, penalty = f, p
    return WayUse(forward, backward, factor, penalty, duration, ferry)


def node_closed(tags: Mapping[str, str | None], rules: OsmRules) -> bool:
    """Whether a mode with ``rules`` cannot pass a node with ``tags`` (a closed gate).

    With :attr:`~geosvc.modes.OsmRules.node_access`: ``impassable=yes``, or the
    most specific of the mode's access keys on the node says one of
    :data:`~geosvc.modes.ACCESS_DENIED` (``foot=yes`` opens an ``access=no``
    gate to walkers).

    Examples
    --------
    >>> from geosvc.modes import TRAVEL_MODES
    >>> walk, drive = TRAVEL_MODES["walk"].osm, TRAVEL_MODES["drive"].osm
    >>> gate = {"barrier": "gate", "access": "no"}
    >>> node_closed(gate, walk), node_closed({**gate, "foot": "yes"}, walk)
    (True, False)
    >>> node_closed({"barrier": "bollard", "motor_vehicle": "no"}, walk)
    False
    >>> node_closed({"barrier": "bollard", "motor_vehicle": "no"}, drive)
    True
    """
    if not rules.node_access:
        return False
    if "yes" in _values(tags.get("impassable")):
        return True
    _, access = _first_present(tags, rules.access_keys)
    return any(v in ACCESS_DENIED for v in access)


def barrier_time_s(tags: Mapping[str, str | None], rules: OsmRules) -> float:
    """Seconds a mode with ``rules`` spends passing a node with ``tags`` (a gate), 0 if none.

    The largest of :attr:`~geosvc.modes.OsmRules.barrier_s` whose
    ``key=value`` the node carries (one of several ``;`` values is enough);
    0 when the node carries one of
    :attr:`~geosvc.modes.OsmRules.barrier_free_keys` (its access is tagged)
    or the mode cannot pass it (:func:`node_closed`).

    Examples
    --------
    >>> from geosvc.modes import TRAVEL_MODES
    >>> walk, bike = TRAVEL_MODES["walk"].osm, TRAVEL_MODES["bike"].osm
    >>> barrier_time_s({"barrier": "gate"}, walk), barrier_time_s({"barrier": "gate"}, bike)
    (30.0, 30.0)
    >>> barrier_time_s({"barrier": "gate", "access": "yes"}, walk)
    0.0
    >>> barrier_time_s({"barrier": "gate", "access": "no"}, walk)  # closed, not timed
    0.0
    >>> barrier_time_s({"barrier": "bollard"}, walk), barrier_time_s({"barrier": "kerb"}, walk)
    (0.0, 0.0)
    >>> barrier_time_s({"barrier": "bollard", "bollard": "rising"}, walk)
    30.0
    """
    if not rules.barrier_s or any(_values(tags.get(k)) for k in rules.barrier_free_keys):
        return 0.0
    seconds = 0.0
    for selector, sec in rules.barrier_s:
        key, value = selector.split("=", 1)
        if value in _values(tags.get(key)):
            seconds = max(seconds, sec)
    if seconds and node_closed(tags, rules):
        return 0.0
    return seconds


def _granted(tags: Mapping[str, str | None], rules: OsmRules) -> bool:
    """Whether a class the mode uses only when allowed is allowed here."""
    _, own = _first_present(tags, rules.mode_keys)
    if any(v in ACCESS_GRANTED for v in own):
        return True
    return any(v in values for key, values in rules.granted_by
               for v in _values(tags.get(key)))


def _directions(tags: Mapping[str, str | None], rules: OsmRules) -> tuple[bool, bool]:
    """(forward, backward) allowed, by the mode's one-way keys, junctions, exceptions."""
    if not rules.oneway_keys:
        return True, True
    pos, vals = _first_present(tags, rules.oneway_keys)
    if pos < 0:
        along = any(v in rules.oneway_junctions for v in _values(tags.get("junction")))
        return True, not along
    value = vals[0]
    if value not in _YES and value not in _REVERSE:
        return True, True
    generic = pos == len(rules.oneway_keys) - 1
    if generic and any(re.search(rx, v) for key, rx in rules.oneway_exempt
                       for v in _values(tags.get(key))):
        return True, True
    return (value in _YES), (value in _REVERSE)


def parse_maxspeed(value: object) -> float | None:
    """Parse an OSM ``maxspeed`` value to km/h, None if unusable (the class speed applies).

    Numbers are km/h unless ``mph`` or ``knots`` follow; ``walk`` and
    country zones (``FI:urban``, ``DE:zone30``, ``RU:living_street``) come
    from :data:`MAXSPEED_ZONES_KPH`; ``none``, ``signals``, ``variable`` are
    unusable.  Several values ``;``-separated are averaged.

    Examples
    --------
    >>> parse_maxspeed("50"), parse_maxspeed("30 mph"), parse_maxspeed("40;60")
    (50.0, 48.28032, 50.0)
    >>> parse_maxspeed("FI:urban"), parse_maxspeed("CN:motorway"), parse_maxspeed("DE:zone30")
    (50.0, 120.0, 30.0)
    >>> parse_maxspeed("10 knots"), parse_maxspeed("walk"), parse_maxspeed("XX:rural")
    (18.52, 7.0, 80.0)
    >>> parse_maxspeed(None), parse_maxspeed("none"), parse_maxspeed("signals")
    (None, None, None)
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    speeds = []
    for part in str(value).lower().split(";"):
        kph = _one_maxspeed(part)
        if kph is not None and kph > 0:
            speeds.append(kph)
    return float(np.mean(speeds)) if speeds else None


def _one_maxspeed(part: str) -> float | None:
    m = _SPEED.fullmatch(part)
    if m:
        return float(m.group(1)) * _UNIT[m.group(2) or ""]
    text = part.strip()
    if text == "walk":
        return MAXSPEED_ZONES_KPH["*"]["walk"]
    z = _ZONE.fullmatch(text)
    if not z:
        return None
    country, zone = z.group(1).upper(), z.group(2)
    number = _ZONE_NUMBER.fullmatch(zone)
    if number:
        return float(number.group(1))
    return MAXSPEED_ZONES_KPH.get(country, {}).get(zone, MAXSPEED_ZONES_KPH["*"].get(zone))


def parse_duration_s(value: object) -> float | None:
    """Parse an OSM ``duration`` (a ferry's crossing time) to seconds, None if unusable.

    ``HH:MM``, ``HH:MM:SS``, plain minutes and ISO 8601 ``PT1H30M``.

    Examples
    --------
    >>> parse_duration_s("00:20"), parse_duration_s("1:02:03"), parse_duration_s("15")
    (1200.0, 3723.0, 900.0)
    >>> parse_duration_s("PT1H30M"), parse_duration_s("soon"), parse_duration_s(None)
    (5400.0, None, None)
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip().upper()
    m = re.fullmatch(r"(\d+):(\d{1,2})(?::(\d{1,2}))?", text)
    if m:
        h, mi, s = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        return float(h * 3600 + mi * 60 + s)
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text) * 60.0
    iso = re.fullmatch(r"PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?",
                       text)
    if iso and any(iso.groups()):
        hours, minutes, seconds = (float(g or 0) for g in iso.groups())
        return hours * 3600 + minutes * 60 + seconds
    return None


def segment_times_s(
    mode: str,
    settings: Settings,
    *,
    length_m: NDArray[np.float64],
    way: NDArray[np.int64],
    uses: list[WayUse],
    highway: NDArray[np.object_],
    maxspeed: NDArray[np.object_],
) -> NDArray[np.float64]:
    """Travel time of each segment of ``mode``'s ways, seconds (same in both directions).

    Parameters
    ----------
    mode : str
        A road mode.
    settings : Settings
        The mode's speed setting.
    length_m : array of float
        Segment lengths, metres (> 0).
    way : array of int
        Each segment's way, an index into ``uses``.
    uses : list of WayUse
        Per way, from :func:`way_use`.
    highway, maxspeed : array of object
        Per segment, the tags (None where absent).

    Examples
    --------
    >>> from geosvc.config import Settings
    >>> u = way_use({"highway": "steps"}, TRAVEL_MODES["walk"].osm)
    >>> segment_times_s("walk", Settings(), length_m=np.array([10.0, 5.0]),
    ...                 way=np.array([0, 0]), uses=[u], highway=np.array(["steps"] * 2),
    ...                 maxspeed=np.array([None, None])).round(2).tolist()
    [16.0, 8.0]
    """
    spec = TRAVEL_MODES[mode]
    rules = spec.osm
    n = len(length_m)
    if rules is None or n == 0:
        return np.zeros(n)
    speed = np.full(n, spec.speed_kph(settings))
    if spec.speed_by_class:
        speed = _class_speeds_kph(highway, maxspeed, speed)
    n_ways = len(uses)
    factor = np.array([u.speed_factor for u in uses], dtype=np.float64)[way]
    penalty = np.array([u.penalty_s for u in uses], dtype=np.float64)
    ferry = np.array([u.ferry for u in uses], dtype=bool)
    duration = np.array([np.nan if u.duration_s is None else u.duration_s for u in uses])
    way_len = np.bincount(way, weights=length_m, minlength=n_ways)
    share = length_m / np.maximum(way_len[way], 1e-9)
    speed = np.where(ferry[way], rules.ferry_speed_kph, speed) * factor
    time_s = length_m / (speed / 3.6)
    timed = ~np.isnan(duration[way])
    time_s[timed] = duration[way][timed] * share[timed]
    return time_s + penalty[way] * share


def crossing_times_s(
    rules: OsmRules,
    *,
    seg_u: NDArray[np.int64],
    seg_v: NDArray[np.int64],
    seg_way: NDArray[np.int64],
    seg_highway: NDArray[np.object_],
    edge_seg: NDArray[np.int64],
    edge_v: NDArray[np.int64],
) -> NDArray[np.float64]:
    """Crossing time of each directed edge at the node it enters, seconds.

    The rule (:attr:`~geosvc.modes.OsmRules.crossing_s`): at a node where at
    least ``crossing_min_ways`` of the mode's segments meet, the largest class
    of the ways other than the walked one is crossed: its seconds when larger
    than the walked way's class, ``crossing_same_s`` when the same, else
    nothing.  Vectorised over the segments; nodes are any integer positions.

    Parameters
    ----------
    rules : OsmRules
        The mode's rules.
    seg_u, seg_v : array of int
        Node positions of the mode's segments (every segment the mode uses, once).
    seg_way : array of int
        Each segment's way.
    seg_highway : array of object
        Each segment's ``highway`` tag (None for ferries).
    edge_seg : array of int
        Each directed edge's segment (a row of the arrays above).
    edge_v : array of int
        The node each directed edge enters.

    Examples
    --------
    A footway (way 0) across a primary road (way 1), both through node 0:

    >>> walk = TRAVEL_MODES["walk"].osm
    >>> kw = dict(seg_u=np.array([1, 0, 3, 0]), seg_v=np.array([0, 2, 0, 4]),
    ...           seg_way=np.array([0, 0, 1, 1]),
    ...           seg_highway=np.array(["footway"] * 2 + ["primary"] * 2, dtype=object))
    >>> crossing_times_s(walk, edge_seg=np.array([0, 2, 1]),
    ...                  edge_v=np.array([0, 0, 2]), **kw).tolist()
    [5.0, 0.0, 0.0]
    """
    n_edges = len(edge_seg)
    if not rules.crossing_s or n_edges == 0:
        return np.zeros(n_edges)
    table = dict(rules.crossing_s)
    first = [vals[0] if (vals := _values(h)) else "" for h in seg_highway]
    rank = np.array([table.get(h, 0.0) for h in first], dtype=np.float64)
    node = np.concatenate([seg_u, seg_v])
    n_nodes = int(max(node.max(initial=-1), edge_v.max(initial=-1))) + 1
    ways_at = np.bincount(node, minlength=n_nodes)
    # per node, the largest class of each way there; then the two largest ways
    per_way = (pd.DataFrame({"node": node, "way": np.concatenate([seg_way, seg_way]),
                             "rank": np.concatenate([rank, rank])})
               .groupby(["node", "way"], sort=False)["rank"].max().reset_index()
               .sort_values(["node", "rank", "way"], ascending=[True, False, True],
                            kind="stable"))
    order = per_way.groupby("node").cumcount().to_numpy()
    top_way = np.full(n_nodes, -1, dtype=np.int64)
    top_rank = np.full(n_nodes, -1.0)
    next_rank = np.full(n_nodes, -1.0)
    nodes, ways, ranks = (per_way[c].to_numpy() for c in ("node", "way", "rank"))
    top_way[nodes[order == 0]] = ways[order == 0]
    top_rank[nodes[order == 0]] = ranks[order == 0]
    next_rank[nodes[order == 1]] = ranks[order == 1]
    walked_way, walked = seg_way[edge_seg], rank[edge_seg]
    crossed = np.where(top_way[edge_v] != walked_way, top_rank[edge_v], next_rank[edge_v])
    seconds = np.where(crossed > walked, crossed,
                       np.where(crossed == walked, rules.crossing_same_s, 0.0))
    return np.where(ways_at[edge_v] >= rules.crossing_min_ways, seconds, 0.0)


def _class_speeds_kph(highway: NDArray[np.object_], maxspeed: NDArray[np.object_],
                      default: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return speeds by ``maxspeed``, else class, else ``default`` (each value parsed once)."""
    limit = pd.Series(maxspeed, dtype=object)
    limit = limit.where(limit.notna(), None)
    parsed = {v: parse_maxspeed(v) for v in pd.unique(limit.dropna())}
    by_max = limit.map(lambda x: parsed.get(x) if x is not None else None).astype(float)
    first = pd.Series(highway, dtype=object).fillna("").astype(str).str.split(";").str[0]
    by_class = first.str.strip().str.lower().map(DRIVE_SPEEDS_KPH).astype(float)
    return by_max.fillna(by_class).fillna(pd.Series(default)).to_numpy(dtype=np.float64)
