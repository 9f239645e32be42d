"""`GET /healthz` (``details=true``: with the dataset's check report)."""

from __future__ import annotations

from flask import Blueprint, Response

from geosvc.api.health import health
from geosvc.web._respond import args, json_response
from geosvc.web._service import service

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness and what is loaded (never cached); ``details=true`` adds ``doctor``."""
    return json_response(health(service(), args()), max_age=None)
