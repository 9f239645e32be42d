"""`GET /api/v1/venues` and `GET /api/v1/venues/<id>`."""

from __future__ import annotations

from flask import Blueprint, Response

from geosvc.api.venues import get_venue, list_venues
from geosvc.web._respond import args, json_response
from geosvc.web._service import service

bp = Blueprint("venues", __name__, url_prefix="/api/v1/venues")
GEOJSON = "application/geo+json"


@bp.get("")
def venues() -> Response:
    """Serve a page of venues (GeoJSON FeatureCollection)."""
    return json_response(list_venues(service(), args()), mimetype=GEOJSON)


@bp.get("/<path:code>")
def venue(code: str) -> Response:
    """Serve one venue Feature with its items."""
    return json_response(get_venue(service(), code, args()), mimetype=GEOJSON)
