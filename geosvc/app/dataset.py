"""Read one dataset: the store's contents, the venue index and the dataset's zone.

The one recipe behind every way a dataset is opened: the server's snapshots
(:class:`~geosvc.app.service.GeoService`), the offline coverage runs
(``geosvc coverage``) and the Dask batch tasks (``geosvc batch``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from geosvc.analysis.demand import (
    DemandSet,
    build_demand,
    build_point_demand,
    demand_inputs,
    point_demand_inputs,
)
from geosvc.errors import InvalidParameter
from geosvc.index import PARTS_FORMAT, ServiceIndex
from geosvc.modes import get_mode
from geosvc.network.cache import load_network
from geosvc.routing import build_router
from geosvc.store import open_store
from geosvc.store.snapcache import (
    SnapshotCache,
    discard_arrays,
    filling,
    load_arrays,
    release,
    save_arrays,
)
from geosvc.table import LinkTable, VenueTable

if TYPE_CHECKING:
    from geosvc.config import Settings
    from geosvc.model import Area, DatasetInfo, PopulationCell, ServiceItem, VenueFilter
    from geosvc.routing.base import Router
    from geosvc.store.base import Contents

__all__ = [
    "Dataset",
    "PreparedSnapshot",
    "TravelInputs",
    "build_index",
    "dataset_zone",
    "filter_positions",
    "prepare_snapshot",
    "read_dataset",
    "travel_inputs",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Dataset:
    """One store revision read whole: the venue index and the demand layers.

    Attributes
    ----------
    index : ServiceIndex
        Venues, items, links, schedules and filters.
    info : DatasetInfo
        Name, time zone, calendar.
    revision : int
        The store revision read.
    tz : tzinfo
        The dataset's zone (``info.timezone``, else the settings').
    population, areas : list
        The population and areas layers (empty when not read or absent).
    """

    index: ServiceIndex
    info: DatasetInfo
    revision: int
    tz: tzinfo
    population: list[PopulationCell]
    areas: list[Area]


def dataset_zone(name: str | None, fallback: str) -> tzinfo:
    """Return the zone ``name``, else ``fallback``, else UTC (a bad name is logged).

    Examples
    --------
    >>> str(dataset_zone(None, "Asia/Shanghai")), str(dataset_zone("Nowhere/X", "UTC"))
    ('Asia/Shanghai', 'UTC')
    """
    for candidate in (name, fallback):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                msg = f"unknown time zone {candidate!r}; trying the next one"
                log.warning(msg)
    return UTC


def snapshot_cache(settings: Settings) -> SnapshotCache | None:
    """Return the snapshot cache of ``settings`` (``<cache_dir>/snapshots``; None: off)."""
    if not settings.snapshot_cache:
        return None
    return SnapshotCache(Path(settings.cache_dir) / "snapshots",
                         min_venues=settings.snapshot_cache_min_venues,
                         wait_s=settings.snapshot_cache_wait_s)


def build_index(contents: Contents, settings: Settings) -> ServiceIndex:
    """Build the venue index of a store read (``Store.read()``) under ``settings``.

    When the read came with a snapshot cache directory (``contents.cache_dir``)
    the index's derived arrays (:meth:`ServiceIndex.parts`) are mapped from its
    ``index-p<PARTS_FORMAT>`` directory, or written there after a build
    without them (:meth:`ServiceIndex.iter_parts`, each part written as it is
    made, mapped back and the index built once from the mapped files, so this
    process holds the shared files, not private copies; built without parts
    when they cannot be written);
    parts that do not fit are logged and the index is built without them.
    """
    where = contents.cache_dir
    name = f"index-p{PARTS_FORMAT}"

    def build(parts: dict[str, Any] | None) -> ServiceIndex:
        return ServiceIndex.build(contents.venues, contents.items, contents.links,
                                  info=contents.info, open_margin_min=settings.open_margin_min,
                                  parts=parts)

    parts = None if where is None else load_arrays(where, name)
    if parts is not None and where is not None:
        try:
            return build(parts)
        except (ValueError, KeyError) as exc:
            log.warning("snapshot cache %s/%s does not fit (%s); building without it",
                        where, name, exc)
            discard_arrays(where, name)
    if where is None or not isinstance(contents.venues, VenueTable) or not isinstance(
            contents.links, LinkTable):
        return build(None)
    return build(_fill_parts(contents.venues, contents.items, contents.links, where, settings,
                             release_columns=True))


def _fill_parts(venues: VenueTable, items: Sequence[ServiceItem], links: LinkTable,
                where: Path, settings: Settings, *,
                release_columns: bool) -> dict[str, Any] | None:
    """Map the index parts of the revision directory ``where``, written first when absent.

    Under the revision's fill lock (:func:`geosvc.store.snapcache.filling`):
    a process that finds another one writing them waits, then maps its files
    instead of making them again.  Returns None when they cannot be written
    (logged; the index is then built without them).
    """
    name = f"index-p{PARTS_FORMAT}"
    with filling(where, wait_s=settings.snapshot_cache_wait_s) as lock:
        if lock.held:
            parts = load_arrays(where, name)  # written by the one we waited for
            if parts is not None:
                return parts
        # the parts alone (no k-d tree), each written as it is made, then mapped back:
        # this process holds the shared, lazily paged files, not private copies
        made = ServiceIndex.iter_parts(venues, items, links,
                                       open_margin_min=settings.open_margin_min)
        saved = save_arrays(where, name, made)
    if release_columns:
        # making them read every code (and link) once; the snapshot reads them row by
        # row: this process lets go of those pages (as a warm load, which never touches them)
        release(venues, links)
    return load_arrays(where, name) if saved else None


@dataclass(frozen=True, slots=True)
class PreparedSnapshot:
    """What :func:`prepare_snapshot` left in the snapshot cache.

    Attributes
    ----------
    revision : int
        The store revision read.
    venues : int
        Its venues.
    where : Path or None
        The revision's cache directory (columns and index parts); None when
        the cache is off or the store is below ``snapshot_cache_min_venues``.
    seconds : float
        Wall time of the read and the writes.
    """

    revision: int
    venues: int
    where: Path | None
    seconds: float


def prepare_snapshot(db: str, settings: Settings) -> PreparedSnapshot:
    """Fill the snapshot cache with the store's current revision, as a first load would.

    ``geosvc import`` calls it after its commit (unless ``--no-prepare-cache``),
    so a server started afterwards maps the columns and the index's arrays
    (the warm path) instead of reading every row and sorting them (the cold
    path: ~45 s at 10M venues).  A running server reloading the same revision
    meanwhile does not do the work twice: whichever of the two takes the
    revision's fill lock first reads the rows and writes the files, the other
    waits and maps them (:func:`geosvc.store.snapcache.filling`).  Nothing is
    read or written when the cache is off or the store is small
    (``snapshot_cache_min_venues``, by the store's cheap bound
    :meth:`Store.venues_bound <geosvc.store.base.Store.venues_bound>`: one index lookup); a
    revision already cached is left as it is.  The k-d tree is not built (a
    loading process builds it from the mapped arrays).

    Raises
    ------
    StorageUnavailable
        The store cannot be read.
    """
    started = time.perf_counter()
    cache = snapshot_cache(settings)
    store = open_store(db)
    try:
        bound = store.venues_bound() if cache is not None else None
        if cache is None or (bound is not None and bound < cache.min_venues):
            return PreparedSnapshot(revision=store.revision(), venues=store.counts()["venues"],
                                    where=None, seconds=time.perf_counter() - started)
        contents = store.read(cache)
    finally:
        store.close()
    where = contents.cache_dir
    if (where is not None and isinstance(contents.venues, VenueTable)
            and isinstance(contents.links, LinkTable)):
        _fill_parts(contents.venues, contents.items, contents.links, where, settings,
                    release_columns=False)  # a failure is logged
    return PreparedSnapshot(revision=contents.revision, venues=len(contents.venues),
                            where=where, seconds=time.perf_counter() - started)


def read_dataset(db: str, settings: Settings, *, layers: bool = True,
                 create: bool = False) -> Dataset:
    """Read the dataset at ``db`` in one consistent read and build its index.

    Parameters
    ----------
    db : str
        Store path or URL.
    settings : Settings
        Open margin and the fallback time zone.
    layers : bool
        Also read the population and areas layers.
    create : bool
        Create an empty store when ``db`` does not exist (default: refuse).

    Raises
    ------
    StorageUnavailable
        The store cannot be read (or does not exist).
    """
    store = open_store(db, create=create)
    try:
        contents = store.read(snapshot_cache(settings))  # one consistent revision
        population = store.population() if layers else []
        areas = store.areas() if layers else []
    finally:
        store.close()
    return Dataset(index=build_index(contents, settings), info=contents.info,
                   revision=contents.revision,
                   tz=dataset_zone(contents.info.timezone, settings.timezone),
                   population=population, areas=areas)


def filter_positions(idx: ServiceIndex, flt: VenueFilter) -> Any:
    """Return the venue positions matching ``flt``, open at ``flt.open_at`` when it is set."""
    positions = idx.candidate_positions(flt)
    if flt.open_at is not None:
        positions = positions[idx.mask(flt, at=flt.open_at)[positions]]
    return positions


@dataclass(frozen=True, slots=True)
class TravelInputs:
    """What a coverage or plan run of one mode needs besides the venues.

    Attributes
    ----------
    router : Router
        The mode's router over the dataset's venues (road or straight line).
    demand : DemandSet
        The residents, placed for that router.
    notes : tuple of str
        What was used (network loaded or built, demand fallbacks, venues off
        the network), for a CLI's stderr or a log.
    """

    router: Router
    demand: DemandSet
    notes: tuple[str, ...]


def travel_inputs(index: ServiceIndex, population: Sequence[PopulationCell],
                  areas: Sequence[Area], mode: str, *, settings: Settings,
                  osm: str | None = None, cache_dir: str | None = None,
                  estimate: Callable[[str, float], Sequence[PopulationCell]] | None = None,
                  ) -> TravelInputs:
    """Build the router and the demand of ``mode`` for a dataset read whole (offline runs).

    Road modes load (or build and cache) the ``mode`` network of ``osm`` and
    snap the residents to it; ``straight`` needs no network and keeps them
    as they are.  Demand fallbacks are :func:`geosvc.analysis.demand.demand_inputs`'s
    (as the server's).  Shared by ``geosvc coverage`` and ``geosvc batch``.

    Raises
    ------
    InvalidParameter
        ``osm`` missing for a mode on roads (named ``osm``), bad data.
    """
    spec = get_mode(mode)
    if not spec.needs_network:
        router = build_router(mode, index.lon, index.lat, settings=settings, index=index)
        speed = spec.speed_kph(settings)
        notes = [f"straight-line analysis: great-circle distance at {speed:g} km/h "
                 "(no road network)"]
        cells, areas_used, more = point_demand_inputs(
            population, areas, index.lon, index.lat, osm=osm,
            floor_area_per_person_m2=settings.floor_area_per_person_m2, estimate=estimate)
        demand = build_point_demand(router, cells, areas_used, key=("offline", mode))
        return TravelInputs(router, demand, (*notes, *more))
    if osm is None:
        msg = f"is required for mode {mode} (a road network); without one use mode straight"
        raise InvalidParameter("osm", msg)
    started = time.perf_counter()
    net = load_network(osm, mode, settings=settings, cache_dir=cache_dir)
    notes = [f"{net.describe()} ({'cache' if net.meta.get('from_cache') else 'built'}, "
             f"{time.perf_counter() - started:.1f} s)"]
    cells, areas_used, more = demand_inputs(
        population, areas, net, osm=osm,
        floor_area_per_person_m2=settings.floor_area_per_person_m2, estimate=estimate)
    demand = build_demand(net, cells, areas_used, max_snap_m=settings.snap_max_m,
                          min_component_nodes=settings.min_component_nodes)
    router = build_router(mode, index.lon, index.lat, settings=settings, index=index,
                          network=net)
    placed = np.asarray(router.venues.ok, dtype=bool)
    off = int(placed.size - np.count_nonzero(placed))
    if off:
        more.append(f"{off} venue(s) too far from the {mode} network are not counted")
    return TravelInputs(router, demand, (*notes, *more))
