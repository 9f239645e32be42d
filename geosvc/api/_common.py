"""Small helpers shared by the handlers: the parse context of a snapshot."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from geosvc.api.params import ParseContext, Query, parse_query

if TYPE_CHECKING:
    from geosvc.service import GeoService, Snapshot

__all__ = ["parse"]


def parse(
    service: GeoService, snap: Snapshot, endpoint: str, params: Mapping[str, str]
) -> Query:
    """Parse ``params`` of ``endpoint`` against the limits and vocabulary of ``snap``."""
    settings = service.settings
    index = snap.index
    ctx = ParseContext(
        max_limit=settings.max_limit,
        default_limit=settings.default_limit,
        tz=snap.tz,
        known_item=lambda code: index.item(code) is not None,
    )
    return parse_query(endpoint, params, ctx)
