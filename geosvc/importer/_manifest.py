"""Layers manifests: several files imported as one dataset, in ONE transaction.

A manifest is YAML::

    dataset: {name: "Demo city", timezone: Asia/Shanghai, calendar: cn, country: CN}
    layers:
      - {name: items,  what: items,  path: items.csv}
      - {name: venues, what: venues, path: venues.csv, crs: gcj02, id_field: code}
      - {name: links,  what: links,  path: links.csv}
      - {name: areas,  what: areas,  path: areas.geojson}
      - name: banks
        what: venues
        path: 銀行.geojson
        fields: {code: ID, name: "{銀行牌子} {sub區}"}
        set: {kind: bank_outlet, channels: window}

``path`` is relative to the manifest's directory; ``crs`` defaults to wgs84,
``id_field`` to ``code``, ``name`` to ``what``; ``encoding`` may name a CSV's
text encoding; ``fields`` maps columns to source columns or templates and
``set`` gives columns a constant (as ``--map``/``--set`` of ``geosvc
import``, :mod:`geosvc.importer._mapping`).  ``dataset`` settings not given
keep their stored values.  A population layer may be a GeoTIFF (``path:
pop.tif``, optional ``bbox: [min_lon, min_lat, max_lon, max_lat]``; default
extent: the manifest's and the store's venues and areas + 5 km).  Layers are
validated in dependency order (items, venues, links, areas, population; links
may name venues and items of the same manifest), then written with one
:meth:`Store.write` together with the dataset's settings.  A population
layer replaces the stored population.  Problems are reported with the field
prefixed by the layer's name (``venues:lat``).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from geosvc.coords import parse_crs
from geosvc.errors import ImportRejected, InvalidParameter, RowProblem
from geosvc.importer._file import (
    WHAT,
    ImportReport,
    batch_of,
    mapping_of,
    parse_rows,
    report_of,
)
from geosvc.importer._mapping import FieldMap
from geosvc.importer._raster import Bbox, is_raster, parse_bbox, raster_layer
from geosvc.importer._read import read_table
from geosvc.importer._rows import Parsed
from geosvc.importer._settings import SETTINGS, check_settings, merge_settings
from geosvc.model import DatasetInfo

if TYPE_CHECKING:
    from geosvc.importer._rows import Parsed
    from geosvc.store.base import Store

_LAYER_KEYS = {"name", "what", "path", "crs", "id_field", "encoding", "title",
               "description", "backend", "fields", "set", "bbox"}


@dataclass(frozen=True)
class LayerSpec:
    """One layer of a manifest."""

    name: str
    what: str
    path: Path
    crs: str = "wgs84"
    id_field: str = "code"
    encoding: str | None = None
    mapping: FieldMap | None = None
    bbox: Bbox | None = None


@dataclass(frozen=True)
class Manifest:
    """A parsed layers manifest.

    ``dataset`` holds the settings the manifest gives (checked, stored form);
    None when it has no ``dataset`` entry.
    """

    path: Path
    dataset: dict[str, Any] | None
    layers: tuple[LayerSpec, ...]


@dataclass(frozen=True)
class ManifestReport:
    """What a manifest import did: one report per table, in dependency order."""

    reports: tuple[ImportReport, ...]
    info: DatasetInfo | None
    revision: int
    dry_run: bool

    def summary(self) -> str:
        """One line per table."""
        return "\n".join(r.summary() for r in self.reports)


def load_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Read and check a layers manifest (see the module docstring).

    Raises
    ------
    InvalidParameter
        Naming every bad entry (``path``, ``dataset.timezone``,
        ``layers[2].what``, ...).
    """
    p = Path(path)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        msg = f"manifest {str(p)!r} does not exist"
        raise InvalidParameter("path", msg) from exc
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"manifest {str(p)!r} cannot be read ({exc})"
        raise InvalidParameter("path", msg) from exc
    except yaml.YAMLError as exc:
        msg = f"manifest {str(p)!r} is not valid YAML ({exc})"
        raise InvalidParameter("path", msg) from exc
    problems: list[tuple[str, str]] = []
    if not isinstance(doc, dict):
        problems.append(("path", f"manifest {str(p)!r} must be a mapping with `layers`"))
        raise InvalidParameter.many(problems)
    info = _dataset(doc.get("dataset"), problems)
    raw_layers = doc.get("layers")
    layers: list[LayerSpec] = []
    if not isinstance(raw_layers, list) or not raw_layers:
        problems.append(("layers", "must be a non-empty list of layers"))
    else:
        for n, entry in enumerate(raw_layers, start=1):
            spec = _layer(entry, f"layers[{n}]", p.parent, problems)
            if spec is not None:
                layers.append(spec)
    if problems:
        raise InvalidParameter.many(problems)
    return Manifest(p, info, tuple(layers))


def _dataset(raw: Any, problems: list[tuple[str, str]]) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        problems.append(("dataset", "must be a mapping of name, timezone, calendar, country"))
        return None
    unknown = set(raw) - set(SETTINGS)
    if unknown:
        problems.append(("dataset", f"has unknown keys {', '.join(sorted(map(str, unknown)))}"))
    try:
        return check_settings({k: v for k, v in raw.items() if k in SETTINGS},
                              prefix="dataset.")
    except InvalidParameter as exc:
        problems += [(p["name"], p["reason"]) for p in exc.invalid_params]
        return None


def _layer(entry: Any, where: str, base: Path,
           problems: list[tuple[str, str]]) -> LayerSpec | None:
    if not isinstance(entry, dict):
        problems.append((where, "must be a mapping with what and path"))
        return None
    start = len(problems)
    unknown = set(entry) - _LAYER_KEYS
    if unknown:
        problems.append((where, f"has unknown keys {', '.join(sorted(map(str, unknown)))} "
                                f"(known: {', '.join(sorted(_LAYER_KEYS))})"))
    what = entry.get("what")
    if what not in WHAT:
        problems.append((f"{where}.what", f"must be one of {', '.join(WHAT)} (got {what!r})"))
    raw_path = entry.get("path")
    path = None
    if not isinstance(raw_path, str) or not raw_path.strip():
        problems.append((f"{where}.path", "is required (a file relative to the manifest)"))
    else:
        path = Path(raw_path)
        path = path if path.is_absolute() else (base / path).resolve()
        if not path.is_file():
            problems.append((f"{where}.path", f"file {str(path)!r} does not exist"))
    try:
        crs = parse_crs(entry.get("crs"))
    except InvalidParameter as exc:
        problems.append((f"{where}.crs", exc.invalid_params[0]["reason"]))
        crs = "wgs84"
    id_field = entry.get("id_field") or "code"
    if not isinstance(id_field, str):
        problems.append((f"{where}.id_field", "must be a column name"))
    mapping = _mapping(entry, where, what, problems)
    bbox = _layer_bbox(entry.get("bbox"), f"{where}.bbox", path, problems)
    if len(problems) > start or path is None or not isinstance(what, str):
        return None
    name = str(entry.get("name") or what)
    return LayerSpec(name=name, what=what, path=path, crs=crs, id_field=id_field,
                     encoding=entry.get("encoding"), mapping=mapping, bbox=bbox)


def _mapping(entry: dict[str, Any], where: str, what: Any,
             problems: list[tuple[str, str]]) -> FieldMap | None:
    """Build the ``fields``/``set`` mapping of a layer entry, recording problems."""
    given = {}
    for key in ("fields", "set"):
        value = entry.get(key)
        if value is not None and not isinstance(value, dict):
            problems.append((f"{where}.{key}", "must be a mapping of column: source"
                             if key == "fields" else "must be a mapping of column: value"))
        else:
            given[key] = value
    if what not in WHAT or not (given.get("fields") or given.get("set")):
        return None
    try:
        return mapping_of(what, fields=given.get("fields"), constants=given.get("set"),
                          fields_option=f"{where}.fields", constants_option=f"{where}.set")
    except InvalidParameter as exc:
        problems += [(p["name"], p["reason"]) for p in exc.invalid_params]
        return None


def _after_layer(name: str) -> str:
    """``layers[2].fields.name`` -> ``fields.name`` (the layer is named otherwise)."""
    return name.split(".", 1)[1] if name.startswith("layers[") and "." in name else name


def _layer_bbox(raw: Any, where: str, path: Path | None,
                problems: list[tuple[str, str]]) -> Bbox | None:
    """Read a layer's ``bbox`` (a raster's extent): four numbers or ``"W,S,E,N"``."""
    if raw is None:
        return None
    if path is not None and not is_raster(path):
        problems.append((where, "applies only to a population raster (.tif)"))
        return None
    text = ",".join(map(str, raw)) if isinstance(raw, list) else str(raw)
    try:
        return parse_bbox(text)
    except InvalidParameter as exc:
        problems.append((where, exc.invalid_params[0]["reason"]))
        return None


def import_manifest(store: Store, manifest_path: str | os.PathLike[str], *,
                    dry_run: bool = False,
                    settings: Mapping[str, Any] | None = None) -> ManifestReport:
    """Import every layer of a manifest and the dataset's settings in ONE transaction.

    ``settings`` (name, timezone, calendar, country) override the manifest's
    ``dataset`` entry; settings neither gives keep their stored values.

    Raises
    ------
    InvalidParameter
        The manifest itself is bad (see :func:`load_manifest`).
    ImportRejected
        Any row of any layer has a problem (fields prefixed ``<layer>:``);
        nothing is written.
    """
    overrides = check_settings(settings or {})
    manifest = load_manifest(manifest_path)
    order = sorted(manifest.layers, key=lambda spec: WHAT.index(spec.what))
    problems: list[RowProblem] = []
    parsed_by_what: dict[str, list[tuple[LayerSpec, Parsed]]] = defaultdict(list)
    pending: dict[str, Parsed] = {}
    for n, spec in enumerate(order):
        if n and order[n - 1].what != spec.what:  # the previous kind is complete
            prev = order[n - 1].what
            pending[prev] = _merge(prev, parsed_by_what[prev], problems)
        parsed: Parsed
        rows: list[dict[str, Any]] | None = None
        try:
            if is_raster(spec.path):
                parsed = raster_layer(spec.what, spec.path, crs=spec.crs, bbox=spec.bbox,
                                      store=store, pending=pending)
            else:
                rows = read_table(spec.path, encoding=spec.encoding)
        except InvalidParameter as exc:
            problems.append(RowProblem(0, f"{spec.name}:file", exc.detail))
            continue
        if rows is not None:
            try:
                parsed = parse_rows(spec.what, rows, crs=spec.crs, store=store,
                                    id_field=spec.id_field, pending=pending,
                                    mapping=spec.mapping, layer=spec.name)
            except InvalidParameter as exc:
                problems += [RowProblem(0, f"{spec.name}:{_after_layer(p['name'])}",
                                        p["reason"]) for p in exc.invalid_params]
                continue
        problems += [RowProblem(p.row, f"{spec.name}:{p.field}", p.reason)
                     for p in parsed.problems]
        parsed_by_what[spec.what].append((spec, parsed))
    if order and order[-1].what in parsed_by_what:
        last = order[-1].what
        pending[last] = _merge(last, parsed_by_what[last], problems)
    if problems:
        raise ImportRejected(problems, source=str(manifest.path))
    changes = {**(manifest.dataset or {}), **overrides}
    info = merge_settings(store.info(), changes) if manifest.dataset is not None or changes \
        else None
    batch = replace(batch_of(pending), info=info)
    result = store.write(batch, dry_run=dry_run)
    reports = tuple(
        report_of(pending[what], result,
                  source=", ".join(str(s.path) for s, _ in parsed_by_what[what]))
        for what in WHAT if what in pending
    )
    return ManifestReport(reports, info, result.revision, dry_run)


def _merge(what: str, layers: list[tuple[LayerSpec, Parsed]],
           problems: list[RowProblem]) -> Parsed:
    """Combine layers of the same kind, reporting keys that appear in two of them."""
    if len(layers) == 1:
        return layers[0][1]

    merged = Parsed(what)
    owner: dict[Any, str] = {}
    for spec, parsed in layers:
        for key, row in parsed.keys.items():
            if key in merged.keys:
                problems.append(RowProblem(row, f"{spec.name}:code",
                                           f"duplicate {key!r} (also in layer {owner[key]}, "
                                           f"row {merged.keys[key]})"))
            else:
                merged.keys[key] = row
                owner[key] = spec.name
        merged.rows += parsed.rows
        merged.records += parsed.records
        merged.venue_channels.update(parsed.venue_channels)
        merged.ignored_columns += parsed.ignored_columns
        merged.mappings += parsed.mappings
    return merged
