"""`POST /api/v1/plans`: choose new sites that raise coverage most."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from geosvc.errors import InvalidParameter

if TYPE_CHECKING:
    from geosvc.service import GeoService

__all__ = ["plan"]


def plan(service: GeoService, body: Mapping[str, Any]) -> dict[str, Any]:
    """``{before_share, after_share, selected: [...]}`` for a JSON request body.

    Raises
    ------
    InvalidParameter
        The body is malformed (every bad member named).
    ModeUnavailable
    """
    mode = body.get("mode", "walk")
    if mode not in ("walk", "bike", "drive"):
        msg = "must be one of walk | bike | drive"
        raise InvalidParameter("mode", msg)
    service.network(mode)
    from geosvc.analysis import plan_sites

    return plan_sites(service, body)
