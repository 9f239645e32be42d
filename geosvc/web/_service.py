"""Access to the app's :class:`~geosvc.app.service.GeoService` from a view."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from geosvc.app.service import GeoService

__all__ = ["service"]


def service() -> GeoService:
    """Return the service of the current app (``app.extensions["geosvc"]``)."""
    return current_app.extensions["geosvc"]
