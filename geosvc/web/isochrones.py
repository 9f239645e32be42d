"""`GET /api/v1/isochrones`."""

from __future__ import annotations

from flask import Blueprint, Response

from geosvc.api.isochrones import isochrones as isochrones_handler
from geosvc.web._answers import cached_answer
from geosvc.web._respond import args, json_response
from geosvc.web._service import service

bp = Blueprint("isochrones", __name__)


@bp.get("/api/v1/isochrones")
def isochrones() -> Response:
    """Service-circle bands around a point."""
    return cached_answer(lambda: json_response(
        isochrones_handler(service(), args()), mimetype="application/geo+json", max_age=300))
