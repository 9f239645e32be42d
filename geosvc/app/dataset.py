"""Read one dataset: the store's contents, the venue index and the dataset's zone.

The one recipe behind every way a dataset is opened: the server's snapshots
(:class:`~geosvc.app.service.GeoService`), the offline coverage runs
(``geosvc coverage``) and the Dask batch tasks (``geosvc batch``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from geosvc.index import ServiceIndex
from geosvc.store import open_store

if TYPE_CHECKING:
    from geosvc.config import Settings
    from geosvc.model import Area, DatasetInfo, PopulationCell, VenueFilter
    from geosvc.store.base import Contents

__all__ = ["Dataset", "build_index", "dataset_zone", "filter_positions", "read_dataset"]

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


def build_index(contents: Contents, settings: Settings) -> ServiceIndex:
    """Build the venue index of a store read (``Store.read()``) under ``settings``."""
    return ServiceIndex.build(contents.venues, contents.items, contents.links,
                              info=contents.info, open_margin_min=settings.open_margin_min)


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
        contents = store.read()  # revision, info, venues, items, links: consistent
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
