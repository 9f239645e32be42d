"""``GET /api/v1/imports`` (the dataset's version) and ``POST /api/v1/imports`` (an upload).

Framework-free: the web layer authenticates the key, saves the uploaded
file to a private temporary directory and calls :func:`import_upload` with
the form fields (a mapping of lists: ``map`` and ``set`` repeat).  The
import is the command line's: every row validated, all written in one
transaction or none (:func:`geosvc.app.importing.import_layers`), with the
same report; the write checks ``If-Match`` under its lock and is logged in
the audit log in its own transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geosvc.app.access import dataset_version, expected_revision
from geosvc.app.importing import ImportRequest, import_layers
from geosvc.errors import ImportRejected, InvalidParameter
from geosvc.importer import ImportReport, mapping_of, split_assignments
from geosvc.store.access import Actor, WriteGuard, etag_of

if TYPE_CHECKING:
    from geosvc.app.service import GeoService
    from geosvc.store import Store
    from geosvc.store.access import ApiKey

__all__ = ["ENDPOINT", "FORM_FIELDS", "LAYERS", "PATH", "SCHEMAS", "SECURITY_SCHEMES",
           "SUFFIXES", "import_upload", "openapi_operation", "version"]

ENDPOINT = "POST /api/v1/imports"
#: The layers an upload may fill (a manifest names files: command line only).
LAYERS = ("venues", "items", "links", "population", "areas", "bundles")
#: File suffixes the importer reads (a population raster: .tif / .tiff).
SUFFIXES = (".csv", ".geojson", ".json", ".xlsx", ".tif", ".tiff")
#: Form fields besides ``file``: name -> description (OpenAPI, docs/api.md).
FORM_FIELDS = {
    "layer": "The layer the file holds: " + ", ".join(LAYERS) + ".",
    "crs": "Coordinate system of the file's lon/lat and geometries: wgs84 (default), "
           "gcj02, bd09.",
    "encoding": "Text encoding of a CSV file (default UTF-8; e.g. gb18030).",
    "dry_run": "true: validate and count, write nothing (default false).",
    "id_field": "Column holding the code, when it is not called `code`.",
    "replace": "links: true = the file replaces the whole link set of each venue it names.",
    "append": "population: true = add the cells instead of replacing the layer.",
    "map": "COLUMN=SOURCE: take COLUMN from the file's column SOURCE (or a template "
           "`{a} {b}`); repeatable, as `geosvc import --map`.",
    "set": "COLUMN=VALUE: give COLUMN this value on every row; repeatable, as "
           "`geosvc import --set`.",
}
_CRS = ("wgs84", "gcj02", "bd09")
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


def version(service: GeoService) -> tuple[dict[str, Any], str]:
    """Return the dataset's version ``{revision, etag, counts, layers}`` and its ETag."""
    store = service.open_store()
    try:
        current = dataset_version(store)
    finally:
        store.close()
    doc = {"revision": current.revision, "etag": current.etag, "counts": current.counts,
           "layers": list(LAYERS)}
    return doc, current.etag


def _one(form: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = form.get(name) or ()
    return values[-1].strip() if values else None


def _flag(form: Mapping[str, Sequence[str]], name: str,
          problems: list[tuple[str, str]]) -> bool:
    raw = (_one(form, name) or "").lower()
    if raw not in _TRUE | _FALSE:
        problems.append((name, "must be true or false"))
    return raw in _TRUE


def _request(form: Mapping[str, Sequence[str]], filename: str, path: Path,
             db: str) -> ImportRequest:
    """Check the form fields (every bad one named in one 400) and build the request."""
    problems: list[tuple[str, str]] = []
    layer = _one(form, "layer")
    if layer not in LAYERS:
        problems.append(("layer", f"must be one of {', '.join(LAYERS)} "
                                  f"(got {(layer or '')[:40]!r})"))
    crs = (_one(form, "crs") or "wgs84").lower()
    if crs not in _CRS:
        problems.append(("crs", f"must be one of {', '.join(_CRS)}"))
    suffix = Path(filename).suffix.lower()
    if suffix not in SUFFIXES:
        problems.append(("file", f"must be a file named *{', *'.join(SUFFIXES)} "
                                 f"(got {filename[:60]!r})"))
    dry_run = _flag(form, "dry_run", problems)
    replace = _flag(form, "replace", problems)
    append = _flag(form, "append", problems)
    if replace and layer != "links":
        problems.append(("replace", "applies only to links"))
    if append and layer != "population":
        problems.append(("append", "applies only to population"))
    encoding = _one(form, "encoding") or None
    id_field = _one(form, "id_field") or "code"
    mapping = None
    try:
        if layer in LAYERS and (form.get("map") or form.get("set")):
            mapping = mapping_of(layer, fields=split_assignments(form.get("map", ()), "map"),
                                 constants=split_assignments(form.get("set", ()), "set"),
                                 fields_option="map", constants_option="set")
    except InvalidParameter as exc:
        problems += [(p["name"], p["reason"]) for p in exc.invalid_params]
    if problems:
        raise InvalidParameter.many(problems)
    return ImportRequest(db=db, what=str(layer), path=str(path), crs=crs, dry_run=dry_run,
                         id_field=id_field, replace_links=replace, append_population=append,
                         encoding=encoding, mapping=mapping)


def _report(report: ImportReport, *, before: int) -> dict[str, Any]:
    return {
        "layer": report.what, "rows": report.rows, "created": report.created,
        "updated": report.updated, "unchanged": report.unchanged, "deleted": report.deleted,
        "dry_run": report.dry_run, "revision_before": before, "revision": report.revision,
        "etag": etag_of(report.revision), "ignored_columns": list(report.ignored_columns),
        "warnings": list(report.warnings), "summary": report.summary(),
    }


def import_upload(service: GeoService, store: Store, key: ApiKey, *,
                  form: Mapping[str, Sequence[str]], filename: str, path: Path,
                  if_match: str | None) -> dict[str, Any]:
    """Import the uploaded file at ``path`` (named ``filename`` by the client).

    ``store`` is the connection the key was checked on (its revision is the
    one ``If-Match`` is compared with first); the import opens its own.

    Raises
    ------
    InvalidParameter
        Bad form fields, or a file the importer cannot read (named ``file``).
    PreconditionFailed
        ``If-Match`` names another revision (checked now and under the write lock).
    ImportRejected
        Every bad row (row, field, reason); nothing was written.
    """
    before = store.revision()
    expect = expected_revision(if_match, before)
    request = _request(form, filename, path, service.settings.db)
    guard = WriteGuard(Actor(key.id, key.name), "import", ENDPOINT, layer=request.what,
                       expect_revision=expect, expect_tag=(if_match or "").strip())
    where = str(path.parent)
    try:
        report = import_layers(replace(request, guard=guard))
    except ImportRejected as exc:  # name the client's file, never the temporary path
        raise ImportRejected(exc.problems, source=filename[:100]) from None
    except InvalidParameter as exc:
        problems = [("file" if p["name"] == "path" else p["name"],
                     p["reason"].replace(str(path), filename[:100]).replace(where, "."))
                    for p in exc.invalid_params]
        raise InvalidParameter.many(problems) from None
    if not isinstance(report, ImportReport):  # a layer, never a manifest
        msg = "an upload imports one layer"
        raise TypeError(msg)
    return _report(report, before=before)


# ---------------------------------------------------------------------- OpenAPI

PATH = "/api/v1/imports"
_REF = "#/components/schemas/"

#: ``components.securitySchemes`` of the document: how a write presents its key.
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "An API key `gsk_<id>_<secret>` (`geosvc keys create`)."},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
               "description": "The same key in `X-API-Key`."},
}

#: Schemas of the answers (``components.schemas``).
SCHEMAS: dict[str, Any] = {
    "DatasetVersion": {"type": "object", "required": ["revision", "etag", "counts", "layers"],
                       "properties": {
                           "revision": {"type": "integer"}, "etag": {"type": "string"},
                           "counts": {"type": "object",
                                      "additionalProperties": {"type": "integer"}},
                           "layers": {"type": "array", "items": {"type": "string",
                                                                 "enum": list(LAYERS)}}}},
    "ImportReport": {"type": "object", "required": [
        "layer", "rows", "created", "updated", "unchanged", "deleted", "dry_run",
        "revision_before", "revision", "etag", "ignored_columns", "warnings", "summary"],
        "properties": {
            "layer": {"type": "string", "enum": list(LAYERS)},
            **{n: {"type": "integer"} for n in ("rows", "created", "updated", "unchanged",
                                                  "deleted", "revision_before", "revision")},
            "dry_run": {"type": "boolean"}, "etag": {"type": "string"},
            "ignored_columns": {"type": "array", "items": {"type": "string"}},
            "warnings": {"type": "array", "items": {"type": "string"}},
            "summary": {"type": "string"}}},
}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "content": {
        "application/problem+json": {"schema": {"$ref": _REF + "Problem"}}}}


def openapi_operation(method: str) -> dict[str, Any]:
    """Return the OpenAPI members of ``GET`` or ``POST /api/v1/imports`` that differ."""
    etag = {"ETag": {"description": "The dataset's version (`If-Match` of the next write)",
                     "schema": {"type": "string"}}}
    unavailable = {"503": _problem("The data store cannot be read")}
    if method == "get":
        return {"responses": {"200": {"description": "The current version", "headers": etag,
                                      "content": {"application/json": {"schema": {
                                          "$ref": _REF + "DatasetVersion"}}}},
                              **unavailable}}
    fields: dict[str, Any] = {
        "file": {"type": "string", "format": "binary",
                 "description": "The layer file (" + ", ".join(SUFFIXES) + ")."},
        "layer": {"type": "string", "enum": list(LAYERS)},
        "crs": {"type": "string", "enum": list(_CRS), "default": "wgs84"},
        "encoding": {"type": "string"}, "dry_run": {"type": "boolean", "default": False},
        "id_field": {"type": "string", "default": "code"},
        "replace": {"type": "boolean", "default": False},
        "append": {"type": "boolean", "default": False},
        "map": {"type": "array", "items": {"type": "string"}},
        "set": {"type": "array", "items": {"type": "string"}},
    }
    for name, text in FORM_FIELDS.items():
        fields[name]["description"] = text
    return {
        "summary": "Import one layer file (key with scope `import`)",
        "description": "The command line's import over HTTP: every row checked, all "
                       "written in one transaction or none, the same report. Needs a key "
                       "with the scope `import` (or `admin`). `If-Match` with the ETag of "
                       "`GET /api/v1/imports` makes the write conditional (412 when another "
                       "write came first); without it the write proceeds. Logged in the "
                       "audit log (`geosvc keys audit`).",
        "security": [{"bearer": []}, {"apiKey": []}],
        "parameters": [{"name": "If-Match", "in": "header", "required": False,
                        "description": "The ETag the client read (`\"rev-<n>\"`) or `*`",
                        "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file", "layer"], "properties": fields}}}},
        "responses": {
            "200": {"description": "Imported (or checked, with `dry_run`): the report",
                    "headers": etag, "content": {"application/json": {"schema": {
                        "$ref": _REF + "ImportReport"}}}},
            "400": _problem("Bad form fields or an unreadable file, all named in "
                            "`invalid_params`"),
            "401": {**_problem("No key, or an unknown or revoked one"), "headers": {
                "WWW-Authenticate": {"schema": {"type": "string"}}}},
            "403": _problem("The key lacks the scope `import` (`scope` names it), or a "
                            "cross-origin write from an origin not in `write_origins`"),
            "412": _problem("`If-Match` names another version (`current_etag`)"),
            "413": _problem("The body is larger than `max_body_bytes`"),
            "415": _problem("A body that is neither `multipart/form-data` nor "
                            "`application/json`"),
            "422": _problem("Rows are bad: every one in `problems` (row, field, reason); "
                            "nothing was written"),
            **unavailable,
        },
    }
