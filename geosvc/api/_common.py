"""Small helpers shared by the handlers and the offline runs: parsing against a dataset."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from geosvc.api.params import ParseContext, Query, parse_query
from geosvc.app.dataset import filter_positions, read_dataset

if TYPE_CHECKING:
    from geosvc.app.service import GeoService, Snapshot
    from geosvc.config import Settings
    from geosvc.index import ServiceIndex

__all__ = ["load_dataset", "parse", "parse_for"]


def parse_for(index: ServiceIndex, tz: tzinfo, settings: Settings, endpoint: str,
              params: Mapping[str, str]) -> Query:
    """Parse ``params`` of ``endpoint`` against the limits and vocabulary of ``index``."""
    ctx = ParseContext(
        max_limit=settings.max_limit,
        default_limit=settings.default_limit,
        tz=tz,
        known_item=lambda code: index.item(code) is not None,
    )
    return parse_query(endpoint, params, ctx)


def parse(
    service: GeoService, snap: Snapshot, endpoint: str, params: Mapping[str, str]
) -> Query:
    """Parse ``params`` of ``endpoint`` against the limits and vocabulary of ``snap``."""
    return parse_for(snap.index, snap.tz, service.settings, endpoint, params)


def load_dataset(db: str, settings: Settings, params: Mapping[str, str]) -> dict[str, Any]:
    """Read the dataset at ``db`` and parse the coverage ``params`` against it.

    The recipe of the offline coverage runs (``geosvc coverage``, ``geosvc
    batch``): one store read (:func:`geosvc.app.dataset.read_dataset`), the
    filters parsed as ``/api/v1/coverage`` parses them, and the venues they
    match, so the figures of the CLI, the batch and the API cannot drift apart.

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
    ds = read_dataset(db, settings)
    query = parse_for(ds.index, ds.tz, settings, "coverage", params)
    return {"index": ds.index, "query": query, "filter": query.filter,
            "candidates": filter_positions(ds.index, query.filter),
            "population": ds.population, "areas": ds.areas}
