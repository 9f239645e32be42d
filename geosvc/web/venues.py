"""`GET /api/v1/venues` (``f=geojson|json|csv`` or ``Accept``) and `GET /api/v1/venues/<id>`."""

from __future__ import annotations

from flask import Blueprint, Response

from geosvc.api.venues import get_venue, list_venues
from geosvc.formats import FEATURES, Output
from geosvc.web._respond import args, format_response, json_response, negotiate
from geosvc.web._service import service

bp = Blueprint("venues", __name__, url_prefix="/api/v1/venues")
GEOJSON = "application/geo+json"


@bp.get("")
def venues() -> Response:
    """Serve a page of venues (GeoJSON FeatureCollection; or a CSV table)."""
    fmt = negotiate(FEATURES, default="geojson")
    return format_response(fmt, Output(FEATURES, list_venues(service(), args())))


@bp.get("/<path:code>")
def venue(code: str) -> Response:
    """Serve one venue Feature with its items."""
    return json_response(get_venue(service(), code, args()), mimetype=GEOJSON)
