"""`GET /venues/{id}`: one venue's page for citizens (HTML), and its page builder.

:func:`venue_page` is the adapter: it parses the query as
``/api/v1/venues/{id}`` does (``open_at``, ``crs``), takes the venue's feature
and items from the API's serialisers (each item with its service guide, as
``/api/v1/items/{code}`` gives it) and its next seven days from the use case
:func:`geosvc.app.opening.venue_week`, and hands the results to
:func:`geosvc.render.venue_page.venue_page_html` in the request's language
(``lang``, cookie, ``Accept-Language``) and mode (``elder``).  An unknown code
raises :class:`~geosvc.errors.NotFound`, which :mod:`geosvc.web.problems`
answers with an HTML page on this path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import quote

from flask import Blueprint, Response, request

from geosvc.api._common import parse
from geosvc.api.features import venue_feature
from geosvc.api.items import guide_dict
from geosvc.api.venues import venue_details
from geosvc.app.opening import venue_week
from geosvc.coords import from_wgs84
from geosvc.hours import calendar_of
from geosvc.render.i18n import Prefs
from geosvc.render.shell import switch_nav_html
from geosvc.render.venue_page import venue_page_html
from geosvc.web._prefs import page_prefs, remember
from geosvc.web._respond import args
from geosvc.web._service import service

if TYPE_CHECKING:
    from geosvc.app.service import GeoService

__all__ = ["bp", "venue_page"]

bp = Blueprint("venue_pages", __name__)


def venue_page(svc: GeoService, code: str, params: Mapping[str, str], *,
               prefs: Prefs | None = None, nav: str = "") -> str:
    """Return the HTML page of venue ``code``.

    Parameters
    ----------
    svc : GeoService
        The running service.
    code : str
        Venue code.
    params : mapping of str to str
        ``open_at`` (the time of the open state and the first of the seven
        days; default now) and ``crs`` (of the printed coordinates).
    prefs : Prefs, optional
        Language and elder mode of the page.
    nav : str
        Ready HTML of the page switches.

    Raises
    ------
    InvalidParameter
        Bad ``open_at`` or ``crs``.
    NotFound
        No venue ``code``.
    """
    snap = svc.snapshot
    query = parse(svc, snap, "venue", params)
    week = venue_week(snap, code, query.at.astimezone(snap.tz).date())
    extra = venue_details(snap, week.position, query.at)
    for entry in extra.get("items") or []:
        item = snap.index.item(str(entry["code"]))
        if item is not None and item.has_guide:
            entry["guide"] = guide_dict(item)
    feature = venue_feature(snap, week.position, crs="wgs84", at=query.at, extra=extra)
    lon, lat = feature["geometry"]["coordinates"]
    x, y = from_wgs84(float(lon), float(lat), query.crs)
    calendar = calendar_of(snap.info)
    end = None if calendar is None else calendar.last_day
    beyond = end is not None and any(d.day > end for d in week.days)
    return venue_page_html(feature, week, shown=(float(x), float(y), query.crs),
                           prefs=prefs, nav=nav, holidays_end=end if beyond else None)


@bp.get("/venues/<path:code>")
def venue(code: str) -> Response:
    """Serve one venue's page (HTML), in the request's language and mode."""
    prefs = page_prefs()
    params = args()
    nav = switch_nav_html(prefs, quote(request.path), params)
    resp = Response(venue_page(service(), code, params, prefs=prefs, nav=nav),
                    mimetype="text/html")
    resp.headers["Content-Type"] = "text/html; charset=utf-8"
    resp.headers["Cache-Control"] = "public, max-age=30"
    return remember(resp, prefs)
