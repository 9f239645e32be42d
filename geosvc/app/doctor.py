"""``geosvc doctor``: what a dataset lacks or gets wrong, each finding with its fix.

One report for the CLI (``geosvc doctor``, text or JSON) and for
``GET /healthz?details=true`` (member ``doctor``).  The checks read a
:class:`DoctorInput`: the dataset's venues, items and which of them are
linked, the sizes of its population and areas layers, the road networks
loaded and the venues each mode cannot reach.  Two builders make one:
:func:`service_input` from a running :class:`~geosvc.app.service.GeoService`
(its current snapshot, nothing re-read but two row counts) and
:func:`store_input` from a store read whole, for a dataset a service cannot
load (venues with invalid coordinates).  :func:`diagnose` runs every check
of :data:`CHECKS`; :func:`diagnose_service` and :func:`diagnose_store` do
both steps.

Severities: ``error`` (answers are wrong or the dataset cannot be served:
``geosvc doctor`` exits 1), ``warning`` (answers are incomplete or
misleading until fixed), ``info`` (a fact worth knowing; a fallback used).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from geosvc.analysis.demand import FALLBACK_GRID, estimate_applies
from geosvc.app.dataset import dataset_zone
from geosvc.app.service import GeoService
from geosvc.coords import valid_lonlat
from geosvc.errors import InvalidParameter
from geosvc.hours import ANNOUNCED_KEY, announced_days, get_calendar, hours_problem
from geosvc.modes import network_modes
from geosvc.network.cache import load_network
from geosvc.store import open_store

if TYPE_CHECKING:
    from geosvc.config import Settings
    from geosvc.model import DatasetInfo, ServiceItem, Venue
    from geosvc.network.graph import RoadNetwork

__all__ = [
    "CHECKS",
    "HOLIDAY_HORIZON_DAYS",
    "MAX_EXAMPLES",
    "DoctorInput",
    "DoctorReport",
    "Finding",
    "diagnose",
    "diagnose_dataset",
    "diagnose_service",
    "diagnose_store",
    "service_input",
    "store_input",
]

Severity = Literal["error", "warning", "info"]
#: Severities, worst first (the order of a report's findings).
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
#: Examples listed per finding (the count is always complete).
MAX_EXAMPLES = 5
#: Warn when the holiday calendar's data ends within this many days of today.
HOLIDAY_HORIZON_DAYS = 90


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a dataset lacks or gets wrong.

    Attributes
    ----------
    code : str
        Stable slug (``no_population``, ``duplicate_positions`` ...; docs/api.md
        ``geosvc doctor`` lists them).
    severity : {"error", "warning", "info"}
        ``error`` makes ``geosvc doctor`` exit 1.
    message : str
        What is wrong and what the service does meanwhile (one sentence or two).
    fix : str
        How to fix it (a command or a setting).
    count : int
        How many venues, items, modes ... are concerned.
    examples : tuple of str
        Up to :data:`MAX_EXAMPLES` of them (venue ``CODE name``, mode names ...).
    """

    code: str
    severity: Severity
    message: str
    fix: str
    count: int = 0
    examples: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return ``{code, severity, message, fix, count, examples}`` (JSON-ready)."""
        return {"code": self.code, "severity": self.severity, "message": self.message,
                "fix": self.fix, "count": self.count, "examples": list(self.examples)}


@dataclass(frozen=True, slots=True)
class DoctorReport:
    """Every finding of one dataset, worst first.

    Attributes
    ----------
    dataset : str
        The dataset's name.
    revision : int
        The store revision examined.
    modes : tuple of str
        The travel modes with a road network loaded (checked for off-network venues).
    today : date
        The date the holiday calendar was judged against.
    findings : tuple of Finding
        Errors first, then warnings, then infos (each group in check order).
    """

    dataset: str
    revision: int
    modes: tuple[str, ...]
    today: date
    findings: tuple[Finding, ...]

    def count(self, severity: Severity) -> int:
        """Return the number of findings of ``severity``."""
        return sum(f.severity == severity for f in self.findings)

    @property
    def ok(self) -> bool:
        """True when no finding is an error (``geosvc doctor`` exits 0)."""
        return self.count("error") == 0

    @property
    def codes(self) -> list[str]:
        """The findings' codes, in report order."""
        return [f.code for f in self.findings]

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON document of docs/api.md (``geosvc doctor --json``, ``doctor``)."""
        return {"ok": self.ok, "dataset": self.dataset, "revision": self.revision,
                "modes": list(self.modes), "today": self.today.isoformat(),
                "errors": self.count("error"), "warnings": self.count("warning"),
                "infos": self.count("info"),
                "findings": [f.to_dict() for f in self.findings]}


@dataclass(frozen=True, slots=True)
class DoctorInput:
    """What the checks read; see :func:`service_input` and :func:`store_input`.

    Attributes
    ----------
    info : DatasetInfo
        Name, time zone, calendar, country.
    revision : int
        Store revision.
    venues, items : sequences
        Every venue and item of the dataset (candidates included).
    linked_venues, linked_items : frozenset of str
        Codes of the venues and items that appear in at least one link.
    population_cells, areas : int
        Rows of the population and areas layers.
    networks : mapping of str to RoadNetwork
        The road networks loaded, by mode.
    off_network : mapping of str to sequence of dict, or None
        Per loaded mode, ``{code, name, reason}`` of each venue no query of
        that mode can reach (:meth:`GeoService.off_network_venues`); None when
        not checked (a dataset the service cannot load).
    osm : str or None
        The OSM extract the networks come from.
    snap_max_m : float
        The snapping limit (for messages).
    """

    info: DatasetInfo
    revision: int
    venues: Sequence[Venue]
    items: Sequence[ServiceItem]
    linked_venues: frozenset[str]
    linked_items: frozenset[str]
    population_cells: int
    areas: int
    networks: Mapping[str, RoadNetwork] = field(default_factory=dict)
    off_network: Mapping[str, Sequence[Mapping[str, Any]]] | None = None
    osm: str | None = None
    snap_max_m: float = 1000.0


# --------------------------------------------------------------------------- helpers


def _venue_label(venue: Venue) -> str:
    return f"{venue.code} {venue.name}"


def _examples(labels: Sequence[str]) -> tuple[str, ...]:
    return tuple(labels[:MAX_EXAMPLES])


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _venue_arrays(venues: Sequence[Venue]) -> tuple[np.ndarray, np.ndarray]:
    n = len(venues)
    lon = np.fromiter((_as_float(v.lon) for v in venues), dtype=np.float64, count=n)
    lat = np.fromiter((_as_float(v.lat) for v in venues), dtype=np.float64, count=n)
    return lon, lat


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _valid_mask(venues: Sequence[Venue]) -> np.ndarray:
    """Mark the venues whose coordinate is finite, in range and not (0, 0)."""
    lon, lat = _venue_arrays(venues)
    return valid_lonlat(lon, lat) & ~((lon == 0.0) & (lat == 0.0))


def check_layers(inp: DoctorInput, today: date) -> list[Finding]:
    """No population layer, no areas layer: the fallbacks coverage takes."""
    out = []
    if inp.population_cells == 0:
        fix = ("import residents: `geosvc import population FILE` (points or cells with a "
               "count), then restart or wait for the reload")
        if estimate_applies(inp.osm):
            out.append(Finding(
                "no_population", "warning",
                "no population layer: coverage, isochrone populations and plans estimate "
                f"residents from the residential buildings of {Path(str(inp.osm)).name} "
                "(floor area / person; rough)", fix))
        else:
            why = ("the extract is neither .osm.pbf nor OSM XML" if inp.osm
                   else "no OSM extract is loaded")
            out.append(Finding(
                "no_population", "warning",
                f"no population layer and {why}, so there is no building estimate either: "
                "coverage answers null shares (with a no-population warning) and the area "
                "share instead", fix))
    if inp.areas == 0:
        nx, ny, prefix = FALLBACK_GRID
        out.append(Finding(
            "no_areas", "info",
            f"no areas layer: per-area coverage uses a {nx} x {ny} grid "
            f"({prefix}-1..{prefix}-{nx * ny}) over the network, or over the venues and "
            "residents without one",
            "import districts: `geosvc import areas FILE` (polygons with code and name)"))
    return out


def check_networks(inp: DoctorInput, today: date) -> list[Finding]:
    """Travel modes without a road network."""
    missing = [m for m in network_modes() if m not in inp.networks]
    if not missing:
        return []
    if inp.networks:
        loaded = ", ".join(sorted(inp.networks))
        message = (f"no road network for {', '.join(missing)} (loaded: {loaded}): "
                   f"mode={'|'.join(missing)} answers 422 mode-unavailable; mode=straight "
                   "works without a network")
        severity: Severity = "info"
    else:
        message = ("no road network is loaded: only mode=straight (great-circle distance at "
                   "walking speed) answers; nearest, isochrones, coverage and plans by "
                   f"{', '.join(missing)} answer 422 mode-unavailable")
        severity = "warning"
    fix = (f"give an OSM extract: `--osm FILE.osm.pbf --modes {','.join(network_modes())}` "
           "(geosvc serve, doctor, coverage); build it once with `geosvc network build`")
    return [Finding("no_network", severity, message, fix, len(missing), tuple(missing))]


def check_coordinates(inp: DoctorInput, today: date) -> list[Finding]:
    """Venues with invalid coordinates; venues outside the extract's bounds."""
    out = []
    valid = _valid_mask(inp.venues)
    bad = np.flatnonzero(~valid).tolist()
    if bad:
        labels = [f"{_venue_label(inp.venues[i])} ({inp.venues[i].lon}, {inp.venues[i].lat})"
                  for i in bad]
        out.append(Finding(
            "invalid_coordinates", "error",
            f"{_plural(len(bad), 'venue')} with an invalid coordinate (not finite, out of "
            "range, or 0, 0): the service cannot load the dataset (or places them nowhere)",
            "correct lon/lat in the source file (WGS-84 degrees, or give `--crs gcj02|bd09` "
            "on import) and import it again", len(bad), _examples(labels)))
    box = _extract_box(inp.networks)
    if box is not None and len(inp.venues):
        lon, lat = _venue_arrays(inp.venues)
        x0, y0, x1, y1 = box
        with np.errstate(invalid="ignore"):
            outside = valid & ~((lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1))
        idx = np.flatnonzero(outside).tolist()
        if idx:
            every = len(idx) == int(valid.sum())
            out.append(Finding(
                "venues_outside_extract", "error" if every else "warning",
                f"{_plural(len(idx), 'venue')} outside the road network's extent "
                f"({x0:.4f},{y0:.4f},{x1:.4f},{y1:.4f})"
                + (": the extract covers another place" if every else
                   ": travel by road cannot reach them"),
                "use an OSM extract that covers every venue (e.g. a larger region from "
                "Geofabrik, clipped with osmium), or correct the venues' coordinates",
                len(idx), _examples([_venue_label(inp.venues[i]) for i in idx])))
    return out


def _extract_box(networks: Mapping[str, RoadNetwork]) -> tuple[float, ...] | None:
    """Return the union of the networks' node extents (None without a non-empty one)."""
    boxes = [net.bounds_lonlat for net in networks.values() if net.n_nodes]
    if not boxes:
        return None
    arr = np.asarray(boxes, dtype=np.float64)
    return (float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 2].max()),
            float(arr[:, 3].max()))


def check_off_network(inp: DoctorInput, today: date) -> list[Finding]:
    """Per loaded mode: venues too far from its roads to be returned."""
    if inp.off_network is None:
        return []
    out = []
    total = len(inp.venues)
    for mode in sorted(inp.off_network):
        rows = inp.off_network[mode]
        if not rows:
            continue
        every = len(rows) == total
        labels = [f"{r['code']} {r['name']}" + (f" ({r['reason']})" if r.get("reason") else "")
                  for r in rows]
        out.append(Finding(
            "venues_off_network", "error" if every else "warning",
            f"{mode}: {_plural(len(rows), 'venue')} farther than {inp.snap_max_m:g} m from "
            f"the {mode} roads (of a large enough component): queries by {mode} never "
            "return them and coverage does not count them",
            "correct their coordinates (swapped lon/lat? GCJ-02 imported as WGS-84? give "
            "`--crs gcj02` on import), or use an extract that covers them",
            len(rows), _examples(labels)))
    return out


def check_links(inp: DoctorInput, today: date) -> list[Finding]:
    """Items no venue handles; service venues that handle no item."""
    out = []
    lonely = [i for i in inp.items if i.code not in inp.linked_items]
    if lonely:
        out.append(Finding(
            "items_without_venue", "warning",
            f"{_plural(len(lonely), 'item')} handled at no venue: a search finds them, but "
            "filtering venues by them returns nothing",
            "import links (`geosvc import links FILE`: venue code, item code, channels) or "
            "remove the items", len(lonely),
            _examples([f"{i.code} {i.name}" for i in lonely])))
    idle = [v for v in inp.venues if v.code not in inp.linked_venues and not v.is_candidate]
    if idle:
        out.append(Finding(
            "venues_without_item", "warning",
            f"{_plural(len(idle), 'venue')} (not planning candidates) handle no item: they "
            "show on maps but never match an item filter",
            "import their links (`geosvc import links FILE`), or remove the venues",
            len(idle), _examples([_venue_label(v) for v in idle])))
    return out


def check_duplicates(inp: DoctorInput, today: date) -> list[Finding]:
    """Several venues at exactly the same lon/lat.

    A warning when two venues of one kind share a position (likely geocoded
    to a street or district centre); only an info when the kinds differ (a
    kiosk inside a hall is common).
    """
    groups: dict[tuple[float, float], list[Venue]] = defaultdict(list)
    for venue in inp.venues:
        groups[(_as_float(venue.lon), _as_float(venue.lat))].append(venue)
    shared = [g for g in groups.values() if len(g) > 1]
    if not shared:
        return []
    same_kind: list[list[Venue]] = []
    mixed: list[list[Venue]] = []
    for group in shared:
        (same_kind if len({v.kind for v in group}) < len(group) else mixed).append(group)
    venues = sum(len(g) for g in shared)
    first = same_kind + mixed  # suspicious ones first
    labels = [f"{g[0].lon},{g[0].lat}: " + ", ".join(v.code for v in g) for g in first]
    if same_kind:
        severity: Severity = "warning"
        why = (f"{_plural(len(same_kind), 'position')} held by venues of one kind: often "
               "geocoded to a street or district centre, not the building")
    else:
        severity, why = "info", "each by venues of different kinds (a kiosk in a hall?)"
    return [Finding(
        "duplicate_positions", severity,
        f"{venues} venues share {_plural(len(shared), 'position')} exactly, their markers "
        f"overlapping; {why}",
        "check their addresses and give each its own coordinate; venues truly in one "
        "building (a kiosk in a hall) may stay", venues, _examples(labels))]


def check_calendar(inp: DoctorInput, today: date) -> list[Finding]:
    """Unknown time zone or calendar; holiday data that ends before the dataset's dates."""
    out = []
    info = inp.info
    if info.timezone:
        try:
            ZoneInfo(info.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            out.append(Finding(
                "unknown_timezone", "error",
                f"time zone {info.timezone!r} is unknown: opening hours are judged in the "
                "server's default zone", "`geosvc dataset set --db FILE --timezone "
                "Asia/Shanghai` (an IANA zone name)", 1, (info.timezone,)))
    announced = info.extra.get(ANNOUNCED_KEY)
    try:
        announced_days(announced)
    except InvalidParameter as exc:
        out.append(Finding(
            "unreadable_holidays", "error",
            f"the dataset's announced holidays cannot be read: {exc.detail}; they are "
            "left out", "`geosvc dataset holidays --db FILE FILE.csv` (or `--clear`)", 1,
            ()))
        announced = None
    try:
        calendar = get_calendar(info.calendar, announced)
    except InvalidParameter:
        return [*out, Finding(
            "unknown_calendar", "error",
            f"holiday calendar {info.calendar!r} is unknown: the service cannot build "
            "opening-hours schedules", "`geosvc dataset set --db FILE --calendar cn` (or "
            "`none`)", 1, (str(info.calendar),))]
    end = None if calendar is None else calendar.last_day
    if calendar is None or calendar.years is None or end is None:
        return out
    last = end.year
    if end - today > timedelta(days=HOLIDAY_HORIZON_DAYS):
        return out
    following = sum(v.official_calendar for v in inp.venues)
    since = "since" if end < today else "from"
    out.append(Finding(
        "holidays_end", "warning",
        f"the {calendar.name} holiday data ends on {end.isoformat()}: {since} "
        f"{last + 1}-01-01 statutory holidays and make-up working days are unknown, so "
        f"the {following} venues following the official calendar are shown open on "
        "holidays and closed on make-up days",
        "enter the State Council's notice for the next year (`geosvc dataset holidays "
        "--db FILE days.csv`) or upgrade the calendar package (`pip install -U "
        "chinese-calendar`) once it has the year, then restart", following,
        (f"data covers {calendar.years[0]}-{last}",)))
    return out


def check_venue_facts(inp: DoctorInput, today: date) -> list[Finding]:
    """Planning candidates; unknown or unreadable opening hours."""
    out = []
    candidates = [v for v in inp.venues if v.is_candidate]
    if candidates:
        out.append(Finding(
            "planning_candidates", "info",
            f"{_plural(len(candidates), 'bank outlet')} without a government channel are "
            "planning candidates: no citizen query shows them (include_candidates=true "
            "does); plans may choose them",
            "if they already serve, import them with their channels "
            "(`--set channels=window`); else nothing to do", len(candidates),
            _examples([_venue_label(v) for v in candidates])))
    unknown = [v for v in inp.venues if v.opening_hours is None]
    if unknown:
        out.append(Finding(
            "unknown_hours", "warning",
            f"opening hours unknown for {_plural(len(unknown), 'venue')}: open_at / "
            "open_now filters treat them as closed and maps show 'hours unknown'",
            "add an opening_hours column (OSM syntax, e.g. `Mo-Fr 09:00-17:00; PH off`) "
            "and import again", len(unknown), _examples([_venue_label(v) for v in unknown])))
    problems = _hours_problems(inp.venues)
    if problems:
        out.append(Finding(
            "invalid_hours", "error",
            f"{_plural(len(problems), 'venue')} with opening hours the parser refuses",
            "correct them to OSM opening_hours syntax and import again", len(problems),
            _examples(problems)))
    return out


def _hours_problems(venues: Sequence[Venue]) -> list[str]:
    """``CODE: reason`` of each venue whose opening hours do not parse (each text once)."""
    reasons: dict[str, str | None] = {}
    out = []
    for venue in venues:
        expr = venue.opening_hours
        if expr is None:
            continue
        if expr not in reasons:
            reasons[expr] = hours_problem(expr)
        reason = reasons[expr]
        if reason is not None:
            out.append(f"{venue.code}: {expr!r} {reason}")
    return out


def check_empty(inp: DoctorInput, today: date) -> list[Finding]:
    """Report a dataset with no venue or no item."""
    out = []
    if not inp.venues:
        out.append(Finding("no_venues", "error", "the dataset has no venue: every query "
                           "answers nothing", "`geosvc import venues FILE` (or a manifest); "
                           "`geosvc import osm-venues EXTRACT` gives a starter layer"))
    if not inp.items:
        out.append(Finding("no_items", "warning", "the dataset has no service item: item "
                           "search and item filters answer nothing",
                           "`geosvc import items FILE`, then `geosvc import links FILE`"))
    return out


#: Every check, in report order within a severity.
CHECKS: tuple[Callable[[DoctorInput, date], list[Finding]], ...] = (
    check_empty, check_coordinates, check_off_network, check_networks, check_layers,
    check_links, check_duplicates, check_calendar, check_venue_facts,
)


# --------------------------------------------------------------------------- use cases


def diagnose(inp: DoctorInput, *, today: date) -> DoctorReport:
    """Run every check of :data:`CHECKS` over ``inp``.

    Parameters
    ----------
    inp : DoctorInput
        The dataset and what is loaded.
    today : date
        The date the holiday data is judged against (the dataset's zone).

    Returns
    -------
    DoctorReport
        Findings worst first.
    """
    found = [f for check in CHECKS for f in check(inp, today)]
    order = {s: i for i, s in enumerate(SEVERITIES)}
    found.sort(key=lambda f: order[f.severity])  # stable: check order within a severity
    return DoctorReport(dataset=inp.info.name, revision=inp.revision,
                        modes=tuple(sorted(inp.networks)), today=today,
                        findings=tuple(found))


def service_input(service: GeoService, *, build: bool = True) -> DoctorInput:
    """Build the checks' input from ``service``'s current snapshot.

    Reads the layer sizes from the store (one ``count(*)`` per table);
    ``build=False`` checks off-network venues only for the travel engines
    already built (see :meth:`GeoService.off_network_venues`).
    """
    snap = service.snapshot
    index = snap.index
    linked_venues = frozenset(v.code for pos, v in enumerate(index.venues)
                              if index.venue_items(pos))
    linked_items = frozenset(i.code for i in index.items
                             if len(index.item_venue_positions(i.code)))
    store = service.open_store()
    try:
        counts = store.counts()
    finally:
        store.close()
    settings = service.settings
    return DoctorInput(
        info=snap.info, revision=snap.revision, venues=tuple(index.venues),  # objects once
        items=index.items,
        linked_venues=linked_venues, linked_items=linked_items,
        population_cells=counts.get("population", 0), areas=counts.get("areas", 0),
        networks=service.networks, off_network=service.off_network_venues(build=build),
        osm=settings.osm, snap_max_m=settings.snap_max_m)


def store_input(db: str, settings: Settings,
                networks: Mapping[str, RoadNetwork] | None = None) -> DoctorInput:
    """Build the checks' input from the store at ``db`` read whole (no index built).

    For a dataset a :class:`GeoService` cannot load (venues with invalid
    coordinates): off-network venues are not checked (``off_network`` None).

    Raises
    ------
    StorageUnavailable
        The store cannot be read (or does not exist).
    """
    store = open_store(db, create=False)
    try:
        contents = store.read()
        counts = store.counts()
    finally:
        store.close()
    return DoctorInput(
        info=contents.info, revision=contents.revision,
        venues=tuple(contents.venues),  # the checks pass over the objects several times
        items=contents.items,
        linked_venues=frozenset(link.venue_code for link in contents.links),
        linked_items=frozenset(link.item_code for link in contents.links),
        population_cells=counts.get("population", 0), areas=counts.get("areas", 0),
        networks=dict(networks or {}), off_network=None, osm=settings.osm,
        snap_max_m=settings.snap_max_m)


def _today(info: DatasetInfo, settings: Settings) -> date:
    return datetime.now(dataset_zone(info.timezone, settings.timezone)).date()


def diagnose_service(service: GeoService, *, build: bool = True,
                     today: date | None = None) -> DoctorReport:
    """Examine the dataset ``service`` serves (``/healthz?details=true``, ``geosvc doctor``).

    Parameters
    ----------
    service : GeoService
        Its current snapshot, networks and store.
    build : bool
        Build the travel engines not built yet (to list off-network venues of
        every loaded mode); False looks only at those already built.
    today : date, optional
        Default: today in the dataset's time zone.
    """
    inp = service_input(service, build=build)
    when = today or _today(inp.info, service.settings)
    return diagnose(inp, today=when)


def diagnose_store(db: str, settings: Settings, *,
                   networks: Mapping[str, RoadNetwork] | None = None,
                   today: date | None = None) -> DoctorReport:
    """Examine the dataset at ``db`` read whole (see :func:`store_input`).

    Raises
    ------
    StorageUnavailable
        The store cannot be read (or does not exist).
    """
    inp = store_input(db, settings, networks)
    when = today or _today(inp.info, settings)
    return diagnose(inp, today=when)


def diagnose_dataset(settings: Settings, *, today: date | None = None) -> DoctorReport:
    """Examine the dataset ``settings.db`` as a server with ``settings`` would load it.

    The ``geosvc doctor`` recipe: a :class:`GeoService` over ``settings``
    (the networks of ``settings.modes`` from ``settings.osm``, every travel
    engine built) and :func:`diagnose_service`.  When the service cannot load
    the dataset (an index refusing invalid coordinates), the store is read
    whole instead (:func:`diagnose_store`, no off-network check) and a
    ``not_servable`` error says why.

    Raises
    ------
    ConfigError
        ``settings.db`` or ``settings.osm`` does not exist.
    StorageUnavailable
        The store cannot be read.
    """
    try:
        service = GeoService(settings)
    except InvalidParameter as exc:
        networks = {}
        if settings.osm:
            networks = {mode: load_network(settings.osm, mode, settings=settings,
                                           cache_dir=settings.cache_dir)
                        for mode in settings.modes}
        inp = store_input(str(settings.db), settings, networks)
        refused = Finding(
            "not_servable", "error",
            f"the service cannot load this dataset: {exc.detail}; venues off the network "
            "were not checked", "fix the findings below (invalid coordinates first) and "
            "run `geosvc doctor` again")
        report = diagnose(inp, today=today or _today(inp.info, settings))
        return replace(report, findings=(refused, *report.findings))
    return diagnose_service(service, today=today)
