"""Travel modes: one registry entry per mode, looked up everywhere else.

Each :class:`TravelMode` says how the mode is named and labelled, how fast it
goes (and which :class:`~geosvc.config.Settings` field overrides the speed),
which router serves it (``"road"`` needs a road network built from OSM,
``"straight"`` needs none), and, for road modes, how the network is built
from OpenStreetMap (the pyrosm network type and the osmnx-style way filter
of ``.osm`` XML, the one-way rule, speeds by highway class).  Isochrone
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
        the last band the turn is a U-turn.  The sizes follow OSRM's car
        profile (at most 7.5 s a turn, 20 s a U-turn, 2 s a traffic light);
        on the demo city they lengthen the median drive by 9 %.
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
        (:data:`geosvc.network.turns.ROAD_CLASS_RANK`).
    restriction_keys : tuple of str
        Tags of ``type=restriction`` relations read, the first present wins
        (``restriction:motorcar`` before ``restriction``).
    exempt : tuple of str
        Values of a restriction's ``except`` tag that exempt this mode.
    """

    angle_s: tuple[tuple[float, float, float], ...] = (
        (25.0, 0.0, 0.0),  # straight on
        (60.0, 1.0, 1.5),  # slight
        (120.0, 2.0, 4.0),  # right / left
        (165.0, 4.0, 6.0),  # sharp
    )
    uturn_s: float = 20.0
    dead_end_s: float = 0.0
    signal_s: float = 2.0
    signal_reach_m: float = 30.0
    yield_s: float = 2.0
    restriction_keys: tuple[str, ...] = ("restriction:motorcar", "restriction")
    exempt: tuple[str, ...] = ("motorcar", "motor_vehicle")

    def angle_cost_s(self, degrees: float) -> float | None:
        """Return the seconds of a turn of ``degrees`` (+ left, - right), None for a U-turn.

        Examples
        --------
        >>> t = TurnCosts()
        >>> [t.angle_cost_s(a) for a in (0.0, -90.0, 90.0, 179.0)]
        [0.0, 2.0, 4.0, None]
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
    network_type : str or None
        pyrosm's ``network_type`` of ``.osm.pbf`` extracts (road modes).
    way_filter : tuple of (tag, regex)
        osmnx-style filter of ``.osm`` XML ways (``osmnx._overpass``): a way
        with ``highway`` is dropped when any ``tag`` matches its ``regex``.
    oneway : {"none", "oneway", "bicycle"}
        How one-way tags apply: ignored (walking), ``oneway`` (and
        roundabouts), or ``oneway:bicycle`` overriding ``oneway``.
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
    network_type: str | None = None
    way_filter: tuple[tuple[str, str], ...] = ()
    oneway: Literal["none", "oneway", "bicycle"] = "none"
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


_ENTRIES = (
    TravelMode(
        name="walk", label_zh="步行", label_en="walk", router=ROAD,
        speed_setting="walk_speed_kph", default_speed_kph=4.5, colour="#1a9850",
        osrm_engine="fossgis_osrm_foot", amap_mode="walk", buffer_m=30.0,
        network_type="walking", oneway="none",
        way_filter=(
            ("area", "yes"),
            ("access", "private"),
            ("highway", "abandoned|bus_guideway|construction|cycleway|motor|no|planned"
                        "|platform|proposed|raceway|razed"),
            ("foot", "no"),
            ("service", "private"),
        ),
    ),
    TravelMode(
        name="bike", label_zh="骑行", label_en="by bike", router=ROAD,
        speed_setting="bike_speed_kph", default_speed_kph=15.0, colour="#2166ac",
        osrm_engine="fossgis_osrm_bike", amap_mode="ride", buffer_m=40.0,
        network_type="cycling", oneway="bicycle",
        way_filter=(
            ("area", "yes"),
            ("access", "private"),
            ("highway", "abandoned|bus_guideway|construction|corridor|elevator|escalator"
                        "|footway|motor|no|planned|platform|proposed|raceway|razed|steps"),
            ("bicycle", "no"),
            ("service", "private"),
        ),
    ),
    TravelMode(
        name="drive", label_zh="驾车", label_en="by car", router=ROAD,
        speed_setting="drive_default_kph", default_speed_kph=30.0, colour="#b2182b",
        osrm_engine="fossgis_osrm_car", amap_mode="car", buffer_m=50.0,
        network_type="driving", oneway="oneway", speed_by_class=True,
        way_filter=(
            ("area", "yes"),
            ("highway", "abandoned|bridleway|bus_guideway|construction|corridor|cycleway"
                        "|elevator|escalator|footway|no|path|pedestrian|planned|platform"
                        "|proposed|raceway|razed|service|steps|track"),
            ("motor_vehicle", "no"),
            ("motorcar", "no"),
            ("access", "private"),
            ("service", "alley|driveway|emergency_access|parking|parking_aisle|private"),
        ),
        turns=TurnCosts(),
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
