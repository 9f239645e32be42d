"""Read one dataset for the offline coverage runs (``geosvc coverage``, ``geosvc batch``).

Both verbs follow the same recipe: read the store once, build the venue
index, parse the filters as ``/api/v1/coverage`` does and pick the venues
they match.  It lives here once so their figures cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geosvc.config import Settings
    from geosvc.index import ServiceIndex
    from geosvc.model import VenueFilter

__all__ = ["filter_positions", "load_dataset"]


def load_dataset(db: str, settings: Settings, params: Mapping[str, str]) -> dict[str, Any]:
    """Read the dataset at ``db`` and parse the coverage ``params`` against it.

    Parameters
    ----------
    db : str
        Store path or URL (must exist).
    settings : Settings
        Open margin, page limits and the fallback time zone.
    params : mapping of str to str
        Query parameters of ``/api/v1/coverage`` (filters, ``mode``, ``minutes``).

    Returns
    -------
    dict
        ``{index, query, filter, candidates, population, areas}``; ``candidates``
        are the positions of the venues matching the filter (open at
        ``open_at`` when given).

    Raises
    ------
    StorageUnavailable
        The store cannot be read.
    InvalidParameter
        A bad parameter (all named).
    """
    from zoneinfo import ZoneInfo

    from geosvc.api.params import ParseContext, parse_query
    from geosvc.index import ServiceIndex
    from geosvc.store import open_store

    store = open_store(db, create=False)
    try:
        info = store.info()
        venues, items, links = store.venues(), store.items(), store.links()
        population, areas = store.population(), store.areas()
    finally:
        store.close()
    idx = ServiceIndex.build(venues, items, links, info=info,
                             open_margin_min=settings.open_margin_min)
    ctx = ParseContext(max_limit=settings.max_limit, default_limit=settings.default_limit,
                       tz=ZoneInfo(info.timezone or settings.timezone),
                       known_item=lambda code: idx.item(code) is not None)
    query = parse_query("coverage", params, ctx)
    return {"index": idx, "query": query, "filter": query.filter,
            "candidates": filter_positions(idx, query.filter),
            "population": population, "areas": areas}


def filter_positions(idx: ServiceIndex, flt: VenueFilter) -> Any:
    """Return the venue positions matching ``flt``, open at ``flt.open_at`` when it is set."""
    positions = idx.candidate_positions(flt)
    if flt.open_at is not None:
        positions = positions[idx.mask(flt, at=flt.open_at)[positions]]
    return positions
