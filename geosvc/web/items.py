"""`GET /api/v1/items`, `/api/v1/items/<code>`, `/api/v1/bundles/<code>`, `/api/v1/search`."""

from __future__ import annotations

from flask import Blueprint, Response

from geosvc.api.items import get_bundle, get_item, search_items
from geosvc.api.search import search
from geosvc.web._respond import args, json_response
from geosvc.web._service import service

bp = Blueprint("items", __name__, url_prefix="/api/v1")


@bp.get("/items")
def items() -> Response:
    """Item search by Chinese text, pinyin or initials."""
    return json_response(search_items(service(), args()))


@bp.get("/items/<path:code>")
def item(code: str) -> Response:
    """One item with venue counts by kind."""
    return json_response(get_item(service(), code, args()))


@bp.get("/bundles/<path:bundle>")
def bundle_detail(bundle: str) -> Response:
    """One 一件事 bundle with its items."""
    return json_response(get_bundle(service(), bundle, args()))


@bp.get("/search")
def search_box() -> Response:
    """Search items, bundles, venues and places (the citizens' search box)."""
    return json_response(search(service(), args()))
