"""`POST /api/v1/plans`: the blueprint over :func:`geosvc.api.plans.create_plan`."""

from __future__ import annotations

from flask import Blueprint, Response, request

from geosvc.api.plans import create_plan
from geosvc.errors import InvalidParameter
from geosvc.web._respond import json_response
from geosvc.web._service import service

bp = Blueprint("plans", __name__)


@bp.post("/api/v1/plans")
def plans() -> Response:
    """Pick new sites that raise coverage most (JSON body; see API.md)."""
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        msg = ("must be a JSON object {mode, minutes, k, candidates, filters} "
               "(the body is missing, not JSON, or not an object)")
        raise InvalidParameter("body", msg)
    return json_response(create_plan(service(), body), max_age=None)
