"""OGC API - Features under ``/ogc``."""

from __future__ import annotations

from flask import Blueprint, Response, request

from geosvc.api import ogc
from geosvc.web._respond import args, json_response
from geosvc.web._service import service

bp = Blueprint("ogc", __name__, url_prefix="/ogc")
GEOJSON = "application/geo+json"


@bp.get("")
@bp.get("/")
def landing() -> Response:
    """Serve the landing page."""
    return json_response(ogc.landing(service(), request.url_root))


@bp.get("/conformance")
def conformance() -> Response:
    """Serve the conformance classes."""
    return json_response(ogc.conformance(), max_age=3600)


@bp.get("/collections")
def collections() -> Response:
    """List the four collections with their extents."""
    return json_response(ogc.collections(service(), request.url_root))


@bp.get("/collections/<cid>")
def collection(cid: str) -> Response:
    """Serve one collection."""
    return json_response(ogc.collection(service(), cid, request.url_root))


@bp.get("/collections/<cid>/items")
def items(cid: str) -> Response:
    """Serve a page of features."""
    doc = ogc.collection_items(service(), cid, args(), request.url_root)
    return json_response(doc, mimetype=GEOJSON)


@bp.get("/collections/<cid>/items/<path:fid>")
def feature(cid: str, fid: str) -> Response:
    """Serve one feature."""
    return json_response(ogc.collection_feature(service(), cid, fid, request.url_root),
                         mimetype=GEOJSON)
