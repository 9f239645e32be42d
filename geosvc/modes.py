"""Travel modes: one registry entry per mode, looked up everywhere else.

Each :class:`TravelMode` says how the mode is named and labelled, how fast it
goes (and which :class:`~geosvc.config.Settings` field overrides the speed),
which router serves it (``"road"`` needs a road network built from OSM,
``"straight"`` needs none), and, for road modes, how OpenStreetMap tags are
read (:class:`OsmRules`: access keys, highway classes, one-way keys and
exceptions, sidewalks, pedestrian areas, steps, ferries, crossing and gate
times; applied by :mod:`geosvc.network.tags`, the table is in
``docs/osm-rules.md``).  Isochrone
buffers, snapping limits, map colours and the labels of maps and answers
come from here too.

The API enums (``mode`` of ``/api/v1/nearest``, ``/api/v1/isochrones``,
``/api/v1/coverage`` and ``POST /api/v1/plans``), the OpenAPI document, the
settings' ``modes`` validation, the network builder and the map labels all
derive from :data:`TRAVEL_MODES`; adding a mode is one entry here (plus its
router in :mod:`geosvc.routing` when it is a new kind of router).

Examples
--------
>>> [m.name for m in TRAVEL_MODES.values()]
['walk', 'bike', 'drive', 'straight']
>>> network_modes()
('walk', 'bike', 'drive')
>>> get_mode("straight").needs_network, get_mode("walk").speed_setting
(False, 'walk_speed_kph')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal

from geosvc.errors import InvalidParameter

__all__ = [
    "ACCESS_DENIED",
    "ACCESS_GRANTED",
    "OsmRules",
    "ROAD",
    "STRAIGHT",
    "TRAVEL_MODES",
    "TravelMode",
    "TurnCosts",
    "get_mode",
    "mode_labels",
    "mode_names",
    "network_modes",
]

#: Router kind of modes that travel on a road network built from OSM.
ROAD: Final = "road"
#: Router kind of modes that measure great-circle distance (no network).
STRAIGHT: Final = "straight"

#: Access values that close a way to a mode (the way's most specific key of the
#: mode decides; one of several ``;``-separated values is enough).
ACCESS_DENIED: Final = frozenset({"no", "private", "use_sidepath", "agricultural",
                                  "forestry", "emergency", "military"})
#: Values of a mode's own keys that open a class the mode uses only when allowed
#: (:attr:`OsmRules.highways_if_granted`).
ACCESS_GRANTED: Final = frozenset({"yes", "designated", "permissive", "destination"})
#: Highway values no mode uses: not built (yet or any more), not a street.
_NOT_STREETS: Final = frozenset({"abandoned", "construction", "no", "planned", "platform",
                                 "proposed", "raceway", "razed", "rest_area", "services"})
_SIDEWALK_KEYS: Final = ("sidewalk", "sidewalk:both", "sidewalk:left", "sidewalk:right")
_SIDEWALK_YES: Final = frozenset({"both", "left", "right", "yes"})


@dataclass(frozen=True, slots=True)
class OsmRules:
    """How a road mode reads OpenStreetMap tags: data, applied by :mod:`geosvc.network.tags`.

    A way is used when it has a ``highway`` (its first ``;`` value) or is a
    ferry (``route=ferry`` without ``highway``), and:

    - its class is not in :attr:`highways_never`;
    - ``area=yes`` only for the classes of :attr:`area_highways` (kept as their
      outline ring);
    - a class of :attr:`highways_if_granted` only when the mode's own keys
      (:attr:`access_keys` without ``access``) say one of :data:`ACCESS_GRANTED`
      or a tag of :attr:`granted_by` is set (a trunk with a sidewalk);
    - and the most specific of :attr:`access_keys` present is not one of
      :data:`ACCESS_DENIED` (``foot=yes`` beats ``access=no``).

    Attributes
    ----------
    access_keys : tuple of str
        The mode's access keys, most specific first, ``access`` last.
    highways_never : frozenset of str
        ``highway`` values the mode never uses, whatever the access tags say.
    highways_if_granted : frozenset of str
        Values used only when granted (see above); every other value is used
        unless its access tags deny it.
    granted_by : tuple of (str, frozenset of str)
        Other tags that grant those classes (``sidewalk=both`` on a trunk).
    area_highways : frozenset of str
        Classes whose ``area=yes`` ways are kept (walked around their outline).
    oneway_keys : tuple of str
        One-way keys, most specific first (``oneway:bicycle`` before ``oneway``);
        empty: every way both ways.  Values ``yes``/``true``/``1`` (along the
        way), ``-1``/``reverse`` (against it), anything else both ways.
    oneway_junctions : frozenset of str
        ``junction`` values one-way along the way when no one-way key is set.
    oneway_exempt : tuple of (str, str)
        ``(tag, regex)``: a way one-way by the generic ``oneway`` key only
        (the last of :attr:`oneway_keys`) is two-way for the mode when a tag
        matches (``cycleway=opposite``: a contraflow lane).
    class_time : tuple of (str, float, float)
        ``(highway, speed factor, penalty s per way)``: steps at half pace.  The
        penalty is spread over the way's segments by length.
    ferry : bool
        Whether the mode boards ferries (``route=ferry``).
    ferry_speed_kph, ferry_penalty_s : float
        A ferry's speed when it has no ``duration`` tag, and the wait added
        per crossing (spread over its segments by length).
    node_access : bool
        Whether access tags on a way's nodes apply: a node (a gate, a
        bollard, an entrance) whose most specific of :attr:`access_keys` is
        one of :data:`ACCESS_DENIED`, or tagged ``impassable=yes``, cannot be
        passed (``barrier=gate`` + ``access=no``: "no public entrance");
        the ways up to it are kept, they just do not meet there.
    crossing_s : tuple of (str, float)
        ``(highway, seconds)``: the time of crossing a road of that class at
        an intersection (waiting for a gap or the lights, then the width of
        the road), charged on every edge entering a node where at least
        :attr:`crossing_min_ways` segments meet, by the largest class of the
        *other* ways there: its seconds when it is larger than the walked
        way's class (a class not listed counts 0), :attr:`crossing_same_s`
        when it is the same, nothing when it is smaller (a side street gives
        way to the main road's walkers).  Empty: no crossing times.
    crossing_same_s : float
        Crossing a road of the walked way's own class (two residential
        streets, a footway across a residential street); 0 for walking: no
        wait at such quiet crossings, their width is walked already (1 s
        measured no closer to Valhalla: see ``docs/osm-rules.md``).
    crossing_min_ways : int
        Segments meeting at a node that make it a crossing: 4 (a walker
        passing straight on has a road on either side; at a T junction or a
        bend, nothing is crossed).
    barrier_s : tuple of (str, float)
        ``("key=value", seconds)``: the time of passing a barrier node with
        that tag (``barrier=gate``: opening and closing a gate), charged once
        per pass *through* the node (a route that starts or ends beside it
        and turns back pays nothing; a node matching several entries pays
        the largest).  Valhalla's ``gate_cost``: 30 s of time for every mode
        at its gate nodes (``barrier=gate``, ``yes``, ``lift_gate``,
        ``swing_gate``, ``sliding_beam``; a rising bollard).  Not charged at
        a closed node (:attr:`node_access`), nor when the node carries one
        of :attr:`barrier_free_keys`.  Empty: barriers cost no time (a city
        whose gates stand open).
    barrier_free_keys : tuple of str
        Access keys that, present on a barrier node with any value, waive
        its time: its access was surveyed (``access=yes``, ``foot=yes``, and
        ``motorcar=no`` too: a gate keeping cars out stands open to others).
        Valhalla's ``tagged_access``: it charges ``gate_cost`` only at gates
        without access tags.
    """

    access_keys: tuple[str, ...]
    highways_never: frozenset[str]
    highways_if_granted: frozenset[str] = frozenset()
    granted_by: tuple[tuple[str, frozenset[str]], ...] = ()
    area_highways: frozenset[str] = frozenset()
    oneway_keys: tuple[str, ...] = ()
    oneway_junctions: frozenset[str] = frozenset()
    oneway_exempt: tuple[tuple[str, str], ...] = ()
    class_time: tuple[tuple[str, float, float], ...] = ()
    ferry: bool = True
    ferry_speed_kph: float = 15.0
    ferry_penalty_s: float = 300.0
    node_access: bool = True
    crossing_s: tuple[tuple[str, float], ...] = ()
    crossing_same_s: float = 0.0
    crossing_min_ways: int = 4
    barrier_s: tuple[tuple[str, float], ...] = ()
    barrier_free_keys: tuple[str, ...] = ()

    @property
    def mode_keys(self) -> tuple[str, ...]:
        """The access keys of the mode itself (without the general ``access``)."""
        return tuple(k for k in self.access_keys if k != "access")



@dataclass(frozen=True, slots=True)
class TurnCosts:
    """Turn restrictions and turn costs of a road mode (traffic drives on the right).

    Applied by :mod:`geosvc.network.turns` when the mode's network is built:
    the network is turn-expanded and each allowed turn at an intersection
    costs the seconds below.  A mode with ``TravelMode.turns = None`` has
    neither (walk, bike).  Documented in ``docs/routing.md``.

    Attributes
    ----------
    angle_s : tuple of (max_degrees, right_s, left_s)
        Seconds of a turn by its angle (0 = straight on, 180 = back), the
        first band whose ``max_degrees`` is not exceeded; right turns are
        cheaper than left ones, which cross the oncoming traffic.  Beyond
        the last band the turn is a U-turn.  Half of OSRM's car profile's
        sizes (at most 3 s a turn; 20 s a U-turn, 2 s a traffic light as
        OSRM): with OSRM's full sizes geosvc's quickest drives came out 1.06x
        Valhalla's at the median on the synthetic city, halved 1.01x
        (``docs/routing.md``).
    uturn_s : float
        A U-turn (back along the same street, or an angle beyond the last
        band).  U-turns are allowed only where nothing else is: at dead ends
        (which cost ``dead_end_s``) and where every other way is forbidden.
    dead_end_s : float
        Turning round at a dead end.
    signal_s : float
        Passing a ``highway=traffic_signals`` node (at an intersection, or on
        the approach to one within ``signal_reach_m``), added to the turn.
    signal_reach_m : float
        A signal node that is not an intersection stops the traffic heading
        to an intersection this near (both directions when none is).
    yield_s : float
        Entering an intersection (without signals) from a road of a lower
        class than another road there: stop or give way
        (:data:`geosvc.network.turns.ROAD_CLASS_RANK`); 1 s (half of the
        former 2 s, with the angle table).
    restriction_keys : tuple of str
        Tags of ``type=restriction`` relations read, the first present wins
        (``restriction:motorcar`` before ``restriction``).
    exempt : tuple of str
        Values of a restriction's ``except`` tag that exempt this mode.
    """

    angle_s: tuple[tuple[float, float, float], ...] = (
        (25.0, 0.0, 0.0),  # straight on
        (60.0, 0.5, 0.75),  # slight
        (120.0, 1.0, 2.0),  # right / left
        (165.0, 2.0, 3.0),  # sharp
    )
    uturn_s: float = 20.0
    dead_end_s: float = 0.0
    signal_s: float = 2.0
    signal_reach_m: float = 30.0
    yield_s: float = 1.0
    restriction_keys: tuple[str, ...] = ("restriction:motorcar", "restriction")
    exempt: tuple[str, ...] = ("motorcar", "motor_vehicle")

    def angle_cost_s(self, degrees: float) -> float | None:
        """Return the seconds of a turn of ``degrees`` (+ left, - right), None for a U-turn.

        Examples
        --------
        >>> t = TurnCosts()
        >>> [t.angle_cost_s(a) for a in (0.0, -90.0, 90.0, 179.0)]
        [0.0, 1.0, 2.0, None]
        """
        a = abs(degrees)
        for top, right_s, left_s in self.angle_s:
            if a <= top:
                return left_s if degrees > 0 else right_s
        return None


@dataclass(frozen=True, slots=True)
class TravelMode:
    """One travel mode.

    Attributes
    ----------
    name : str
        The value of the API's ``mode`` parameter.
    label_zh, label_en : str
        Labels of maps and result lists ("8 分钟步行 · 8 min walk").
    router : {"road", "straight"}
        Which router serves the mode (:mod:`geosvc.routing`).
    speed_setting : str
        The :class:`~geosvc.config.Settings` field holding the speed, km/h
        (for ``drive`` the speed of roads without ``maxspeed`` and class).
    default_speed_kph : float
        The default of that setting.
    osm : OsmRules or None
        How the mode reads OSM tags (road modes): which ways, which directions,
        time penalties.  Both readers (``.osm.pbf``, ``.osm`` XML) apply it.
    speed_by_class : bool
        Edge speed = ``maxspeed``, else the highway-class table
        (:data:`geosvc.network.osm.DRIVE_SPEEDS_KPH`), else the setting;
        False: the setting everywhere.
    snap_max_m : float or None
        Farthest a point may lie from the mode's network, metres; None =
        ``Settings.snap_max_m``.  Meaningless for straight-line modes.
    buffer_m : float
        Buffer around reached streets in isochrones and service circles, metres.
    colour : str
        Map colour of the mode (``#rrggbb``), for maps that draw several modes.
    osrm_engine, amap_mode : str
        Directions engines of the popups' navigation links (openstreetmap.org,
        Amap).
    open_on_arrival : bool
        True: nearest answers carry travel times and arrival times, and an
        ``open_at`` filter keeps venues open on arrival.  False (straight
        lines): ranking by distance, ``travel_time_min`` null, venues open at
        departure.
    note : str
        One line saying how the mode measures (added to straight-line answers).
    turns : TurnCosts or None
        Turn restrictions and turn costs of the mode's network (None = off:
        every turn free, restrictions ignored).
    """

    name: str
    label_zh: str
    label_en: str
    router: Literal["road", "straight"]
    speed_setting: str
    default_speed_kph: float
    colour: str
    osrm_engine: str
    amap_mode: str
    buffer_m: float = 30.0
    osm: OsmRules | None = None
    speed_by_class: bool = False
    snap_max_m: float | None = None
    open_on_arrival: bool = True
    note: str = ""
    turns: TurnCosts | None = None

    @property
    def needs_network(self) -> bool:
        """Whether the mode needs a road network (OSM extract) to answer."""
        return self.router == ROAD

    @property
    def labels(self) -> tuple[str, str]:
        """``(label_zh, label_en)``."""
        return (self.label_zh, self.label_en)

    def speed_kph(self, settings: Any) -> float:
        """Return the mode's speed in ``settings`` (its :attr:`speed_setting`), km/h."""
        return float(getattr(settings, self.speed_setting))

    def snap_limit_m(self, settings: Any) -> float:
        """Return the snapping limit of the mode's network, metres."""
        return float(self.snap_max_m if self.snap_max_m is not None else settings.snap_max_m)


#: Valhalla's gate nodes (``lua/graph.lua`` ``nodes_proc``: ``barrier=gate``, ``yes``,
#: ``lift_gate``, ``swing_gate``, ``sliding_beam``, and a bollard with ``bollard=rising``)
#: and the 30 s of time its costings add at each (``gate_cost``, sif ``dynamiccost``; the
#: ``gate_penalty`` on top is cost only).  See docs/osm-rules.md, rule 10.
_GATE_S: Final = tuple((tag, 30.0) for tag in (
    "barrier=gate", "barrier=yes", "barrier=lift_gate", "barrier=swing_gate",
    "barrier=sliding_beam", "bollard=rising"))
#: Node access keys that mark a gate's access as tagged (Valhalla's ``tagged_access``:
#: the keys its ``nodes_proc`` reads); a tagged gate costs no time.
_GATE_FREE_KEYS: Final = ("access", "foot", "wheelchair", "bicycle", "hgv", "motorcar",
                          "motor_vehicle", "moped", "mofa", "motorcycle", "bus", "taxi",
                          "psv", "emergency", "hov")

_WALK_RULES = OsmRules(
    access_keys=("foot", "access"),
    highways_never=_NOT_STREETS | {"bus_guideway", "busway"},
    # drive-only roads and cycleways: with foot=yes/designated/permissive, or a sidewalk
    highways_if_granted=frozenset({"cycleway", "motorway", "motorway_link", "trunk",
                                   "trunk_link"}),
    granted_by=tuple((key, _SIDEWALK_YES) for key in _SIDEWALK_KEYS),
    area_highways=frozenset({"pedestrian", "footway", "path"}),
    oneway_keys=("oneway:foot",),
    class_time=(("steps", 0.5, 0.0),),
    # seconds to cross a road of the class (links like their roads): Valhalla's
    # pedestrian crossing times (sif kCrossingCosts by stop impact) for a walker
    # on a minor way; see docs/osm-rules.md
    crossing_s=(("motorway", 15.0), ("motorway_link", 15.0), ("trunk", 15.0),
                ("trunk_link", 15.0), ("primary", 5.0), ("primary_link", 5.0),
                ("secondary", 3.0), ("secondary_link", 3.0), ("tertiary", 2.0),
                ("tertiary_link", 2.0)),
    barrier_s=_GATE_S,
    barrier_free_keys=_GATE_FREE_KEYS,
)
_BIKE_RULES = OsmRules(
    access_keys=("bicycle", "vehicle", "access"),
    highways_never=_NOT_STREETS | {"bus_guideway", "busway", "corridor", "elevator",
                                   "escalator", "motorway", "motorway_link"},
    highways_if_granted=frozenset({"footway", "pedestrian", "steps", "trunk", "trunk_link"}),
    granted_by=(("ramp:bicycle", frozenset({"yes"})),),
    oneway_keys=("oneway:bicycle", "oneway"),
    oneway_junctions=frozenset({"roundabout", "circular"}),
    oneway_exempt=(("cycleway", r"^opposite"),
                   ("cycleway:both", r"^opposite"),
                   ("cycleway:left", r"^opposite"),
                   ("cycleway:right", r"^opposite")),
    class_time=(("steps", 0.25, 0.0),),  # pushing the bike up a ramp
    barrier_s=_GATE_S,
    barrier_free_keys=_GATE_FREE_KEYS,
)
_DRIVE_RULES = OsmRules(
    access_keys=("motorcar", "motor_vehicle", "vehicle", "access"),
    highways_never=_NOT_STREETS | {"bridleway", "bus_guideway", "busway", "corridor",
                                   "cycleway", "elevator", "escalator", "footway", "ladder",
                                   "path", "pedestrian", "service", "steps", "track",
                                   "trail"},
    oneway_keys=("oneway:motor_vehicle", "oneway"),
    oneway_junctions=frozenset({"roundabout", "circular"}),
    barrier_s=_GATE_S,
    barrier_free_keys=_GATE_FREE_KEYS,
)

_ENTRIES = (
    TravelMode(
        name="walk", label_zh="步行", label_en="walk", router=ROAD,
        speed_setting="walk_speed_kph", default_speed_kph=4.5, colour="#1a9850",
        osrm_engine="fossgis_osrm_foot", amap_mode="walk", buffer_m=30.0,
        osm=_WALK_RULES,
    ),
    TravelMode(
        name="bike", label_zh="骑行", label_en="by bike", router=ROAD,
        speed_setting="bike_speed_kph", default_speed_kph=15.0, colour="#2166ac",
        osrm_engine="fossgis_osrm_bike", amap_mode="ride", buffer_m=40.0,
        osm=_BIKE_RULES,
    ),
    TravelMode(
        name="drive", label_zh="驾车", label_en="by car", router=ROAD,
        speed_setting="drive_default_kph", default_speed_kph=30.0, colour="#b2182b",
        osrm_engine="fossgis_osrm_car", amap_mode="car", buffer_m=50.0,
        speed_by_class=True, osm=_DRIVE_RULES, turns=TurnCosts(),
    ),
    TravelMode(
        name="straight", label_zh="直线", label_en="straight-line", router=STRAIGHT,
        speed_setting="walk_speed_kph", default_speed_kph=4.5, colour="#6a3d9a",
        osrm_engine="fossgis_osrm_foot", amap_mode="walk", buffer_m=30.0,
        open_on_arrival=False,
        note="straight-line (great-circle) distances at the walking speed; "
             "no road network is used",
    ),
)

#: Every travel mode by name, in the order of the API enums.
TRAVEL_MODES: Mapping[str, TravelMode] = MappingProxyType({m.name: m for m in _ENTRIES})


def mode_names() -> tuple[str, ...]:
    """Return every mode name (the API's ``mode`` enum).

    Examples
    --------
    >>> mode_names()
    ('walk', 'bike', 'drive', 'straight')
    """
    return tuple(TRAVEL_MODES)


def network_modes() -> tuple[str, ...]:
    """Return the names of the modes that need a road network (built from OSM)."""
    return tuple(m.name for m in TRAVEL_MODES.values() if m.needs_network)


def mode_labels() -> dict[str, tuple[str, str]]:
    """Return ``{name: (label_zh, label_en)}`` of every mode."""
    return {m.name: m.labels for m in TRAVEL_MODES.values()}


def get_mode(name: str) -> TravelMode:
    """Return the mode called ``name``; raise InvalidParameter("mode") otherwise.

    Examples
    --------
    >>> get_mode("bike").label_en
    'by bike'
    >>> get_mode("boat")
    Traceback (most recent call last):
    ...
    geosvc.errors.InvalidParameter: `mode` must be one of walk, bike, drive, straight,
    not 'boat'
    """
    mode = TRAVEL_MODES.get(name)
    if mode is None:
        msg = f"must be one of {', '.join(TRAVEL_MODES)}, not {name!r}"
        raise InvalidParameter("mode", msg)
    return mode
