"""`GET /api/v1/coverage` (``f=json|geojson|csv|html`` or ``Accept``).

The ``html`` answer (the coverage report) is in the request's language:
``lang=zh|en``, else the remembered cookie, else ``Accept-Language``.
"""

from __future__ import annotations

from flask import Blueprint, Response

from geosvc.api.coverage import coverage as coverage_handler
from geosvc.formats import CIRCLES, COVERAGE, Output
from geosvc.web._answers import cached_answer
from geosvc.web._prefs import page_prefs, remember
from geosvc.web._respond import args, format_response, negotiate
from geosvc.web._service import service

bp = Blueprint("coverage", __name__)


@bp.get("/api/v1/coverage")
def coverage() -> Response:
    """Share of the population inside the service circles, by area, and gaps."""
    fmt = negotiate(COVERAGE, default="json")
    params = args()
    if CIRCLES in fmt.needs:  # the format draws the service-circle polygon
        params["circles"] = "true"
    if fmt.media_type != "text/html":
        return cached_answer(lambda: format_response(
            fmt, Output(COVERAGE, coverage_handler(service(), params)), max_age=300),
            variant=fmt.name)
    prefs = page_prefs()

    def report() -> Response:
        output = Output(COVERAGE, coverage_handler(service(), params), {"lang": prefs.lang})
        return format_response(fmt, output, max_age=300)

    return remember(cached_answer(report, variant=f"{fmt.name}:{prefs.lang}"), prefs)
