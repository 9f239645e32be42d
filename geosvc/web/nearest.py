"""`GET /api/v1/nearest`."""

from __future__ import annotations

from flask import Blueprint, Response

from geosvc.api.nearest import nearest as nearest_handler
from geosvc.web._respond import args, json_response
from geosvc.web._service import service

bp = Blueprint("nearest", __name__)


@bp.get("/api/v1/nearest")
def nearest() -> Response:
    """Answer the k best venues from a point."""
    return json_response(nearest_handler(service(), args()), mimetype="application/geo+json")
