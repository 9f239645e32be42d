"""``GET /api/v1/imports`` (the dataset's version, ETag) and ``POST /api/v1/imports``.

The blueprint over :mod:`geosvc.api.imports`.  A POST needs a key with the
``import`` scope (:mod:`geosvc.web._auth`); the key is checked before the
body is parsed.  The uploaded file is saved in a private temporary
directory, removed when the answer is made; running servers pick the new
revision up through their background reload.  No snapshot cache is prepared
in the request (``geosvc import`` does so after its commit): the answer
would wait for a read of every row, and the reload that follows reads the
same revision anyway; that reload fills the cache once, under the
revision's fill lock, and the server's other processes map it
(:func:`geosvc.store.snapcache.filling`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, Response, request

from geosvc.api.imports import SUFFIXES, import_upload, version
from geosvc.app.access import authenticate
from geosvc.errors import InvalidParameter
from geosvc.web._auth import request_key
from geosvc.web._respond import json_response
from geosvc.web._service import service

bp = Blueprint("imports", __name__)


@bp.get("/api/v1/imports")
def current_version() -> Response:
    """Answer the dataset's revision, its ETag (what `If-Match` names) and row counts."""
    doc, etag = version(service())
    resp = json_response(doc, max_age=None)
    resp.headers["ETag"] = etag
    return resp


@bp.post("/api/v1/imports")
def upload() -> Response:
    """Import one uploaded layer file, all rows or none (multipart/form-data; key `import`)."""
    svc = service()
    store = svc.open_store()
    try:
        key = authenticate(store, request_key(), "import")
        file = request.files.get("file")
        if file is None or not file.filename:
            msg = ("is missing: send the layer as a multipart/form-data file field `file` "
                   "(with a name ending in .csv, .geojson, .json, .xlsx or .tif)")
            raise InvalidParameter("file", msg)
        suffix = Path(file.filename).suffix.lower()
        with tempfile.TemporaryDirectory(prefix="geosvc-upload-") as tmp:
            path = Path(tmp) / f"upload{suffix if suffix in SUFFIXES else ''}"
            file.save(path)
            doc = import_upload(svc, store, key, form=request.form.to_dict(flat=False),
                                filename=file.filename, path=path,
                                if_match=request.headers.get("If-Match"))
    finally:
        store.close()
    resp = json_response(doc, max_age=None)
    resp.headers["ETag"] = doc["etag"]
    return resp
