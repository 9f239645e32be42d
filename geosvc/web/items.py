"""`GET /api/v1/items` and `GET /api/v1/items/<code>`."""

from __future__ import annotations

from flask import Blueprint, Response

from geosvc.api.items import get_item, search_items
from geosvc.web._respond import args, json_response
from geosvc.web._service import service

bp = Blueprint("items", __name__, url_prefix="/api/v1/items")


@bp.get("")
def items() -> Response:
    """Item search by Chinese text, pinyin or initials."""
    return json_response(search_items(service(), args()))


@bp.get("/<path:code>")
def item(code: str) -> Response:
    """One item with venue counts by kind."""
    return json_response(get_item(service(), code, args()))
