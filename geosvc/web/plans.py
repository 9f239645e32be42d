"""`POST /api/v1/plans`."""

from __future__ import annotations

from flask import Blueprint, Response, request

from geosvc.api.plans import plan as plan_handler
from geosvc.errors import InvalidParameter
from geosvc.web._respond import json_response
from geosvc.web._service import service

bp = Blueprint("plans", __name__)


@bp.post("/api/v1/plans")
def plans() -> Response:
    """Pick new sites that raise coverage most."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        msg = "must be a JSON object {mode, minutes, k, candidates, filters}"
        raise InvalidParameter("body", msg)
    return json_response(plan_handler(service(), body), max_age=None)
