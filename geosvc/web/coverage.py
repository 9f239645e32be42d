"""`GET /api/v1/coverage`."""

from __future__ import annotations

from flask import Blueprint, Response

from geosvc.api.coverage import coverage as coverage_handler
from geosvc.web._respond import args, json_response
from geosvc.web._service import service

bp = Blueprint("coverage", __name__)


@bp.get("/api/v1/coverage")
def coverage() -> Response:
    """Share of the population inside the service circles, by area, and gaps."""
    return json_response(coverage_handler(service(), args()), max_age=300)
