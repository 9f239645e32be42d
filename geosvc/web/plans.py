"""`POST /api/v1/plans` (``?f=json|csv|html`` or ``Accept``).

The blueprint over :func:`geosvc.api.plans.create_plan`.  The ``html`` answer
(the plan map) is in the request's language (``lang``, cookie,
``Accept-Language``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from geosvc.api.plans import create_plan, read_plan_body
from geosvc.errors import InvalidParameter
from geosvc.formats import PLAN, Output
from geosvc.web._answers import cached_answer
from geosvc.web._prefs import page_prefs, remember
from geosvc.web._respond import format_response, negotiate
from geosvc.web._service import service

bp = Blueprint("plans", __name__)

def _body() -> Any:
    """Decode the JSON body (:func:`~geosvc.api.plans.read_plan_body`: candidates counted)."""
    return read_plan_body(request.get_data(cache=True))


@bp.post("/api/v1/plans")
def plans() -> Response:
    """Pick new sites that raise coverage most (JSON body; see docs/api.md)."""
    fmt = negotiate(PLAN, default="json")
    body = _body()
    if not isinstance(body, dict):
        msg = ("must be a JSON object {mode, minutes, k, candidates, filters} "
               "(the body is missing, not JSON, or not an object)")
        raise InvalidParameter("body", msg)
    if fmt.media_type != "text/html":
        return cached_answer(lambda: format_response(
            fmt, Output(PLAN, create_plan(service(), body)), max_age=None), variant=fmt.name)
    prefs = page_prefs()

    def plan_map() -> Response:
        output = Output(PLAN, create_plan(service(), body), {"lang": prefs.lang})
        return format_response(fmt, output, max_age=None)

    return remember(cached_answer(plan_map, variant=f"{fmt.name}:{prefs.lang}"), prefs)
