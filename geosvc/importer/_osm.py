"""Read the venue candidates of an OpenStreetMap extract as plain tagged points.

Two readers give the same :class:`OsmFeature` records, sorted by OSM type
(node, way, relation) and id, in WGS-84:

``.osm.pbf``
    pyrosm, with the tag filters :data:`POI_FILTER` and
    :data:`BUILDING_FILTER`; polygons are reduced to their representative
    point (a point guaranteed inside the polygon).
``.osm``, ``.osm.xml``, ``.xml`` (optionally ``.gz`` / ``.bz2`` compressed)
    The standard library's ``iterparse`` in at most three streaming passes
    (tagged objects the caller wants; the member ways of wanted relations;
    the coordinates of the nodes those use), so memory grows with the
    venues kept, not with the extract.  Ways become the representative point
    of their ring (or the middle vertex of an open way); relations the
    representative point of their member ways.

Any unreadable extract raises :class:`~geosvc.errors.InvalidParameter` named
``extract`` whose message names the path.
"""

from __future__ import annotations

import bz2
import gzip
import json
import math
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, cast

from geosvc.errors import InvalidParameter

__all__ = [
    "BUILDING_FILTER",
    "POI_FILTER",
    "OsmFeature",
    "bad_extract",
    "open_pbf",
    "read_features",
    "read_pbf_pois",
]

#: The tag values read from a ``.pbf`` (a superset of what the rules keep).
POI_FILTER: dict[str, list[str]] = {
    "amenity": [
        "townhall", "courthouse", "police", "post_office", "community_centre",
        "library", "social_facility", "public_building", "bank", "atm",
        "vending_machine", "parcel_locker", "luggage_locker", "ticket_validator",
        "tickets", "payment_terminal",
    ],
    "office": ["government", "administrative", "tax", "tax_advisor"],
    "vending": [
        "parking_tickets", "public_transport_tickets", "parcel_pickup",
        "parcel_mail_in", "parcel_mail_in;parcel_pickup", "parcel_pickup;parcel_mail_in",
    ],
}
BUILDING_FILTER: dict[str, list[str]] = {"building": ["public", "civic", "government"]}

_META = {"id", "osm_type", "geometry", "tags", "lon", "lat", "visible", "version",
         "timestamp", "changeset"}
_TYPE_ORDER = {"node": 0, "way": 1, "relation": 2}
_XML_SUFFIXES = (".osm", ".osm.xml", ".xml")
_OPENERS: dict[str, Callable[[Path], BinaryIO]] = {
    ".gz": lambda p: cast("BinaryIO", gzip.open(p, "rb")),
    ".bz2": lambda p: cast("BinaryIO", bz2.open(p, "rb")),
}


@dataclass(frozen=True, slots=True)
class OsmFeature:
    """One OSM object reduced to a point with its tags."""

    osm_type: str
    osm_id: int
    lon: float
    lat: float
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def source(self) -> str:
        """Provenance string, e.g. ``osm:node/123``."""
        return f"osm:{self.osm_type}/{self.osm_id}"

    @property
    def sort_key(self) -> tuple[int, int]:
        """(type rank, id): nodes first, then ways, then relations."""
        return (_TYPE_ORDER.get(self.osm_type, 9), self.osm_id)

    def tag(self, key: str) -> str | None:
        """Return a tag value stripped, or None when missing or blank."""
        value = self.tags.get(key)
        if value is None:
            return None
        value = str(value).strip()
        return value or None


def bad_extract(path: Path, reason: str) -> InvalidParameter:
    """Return the error of an unreadable extract (names ``extract`` and the path)."""
    return InvalidParameter("extract", f"file {str(path)!r} {reason}")


def _kind(path: Path) -> tuple[str, str | None]:
    """Return (``pbf`` | ``xml``, compression suffix or None), or raise."""
    name = path.name.lower()
    if name.endswith(".osm.pbf") or name.endswith(".pbf"):
        return "pbf", None
    compression = next((s for s in _OPENERS if name.endswith(s)), None)
    base = name[: -len(compression)] if compression else name
    if base.endswith(_XML_SUFFIXES):
        return "xml", compression
    msg = ("is not an OSM extract (use .osm.pbf, .osm, .osm.xml, or .osm/.osm.xml "
           "compressed as .gz or .bz2)")
    raise bad_extract(path, msg)


def _check_file(path: Path) -> None:
    if not path.exists():
        raise bad_extract(path, "does not exist")
    if not path.is_file():
        raise bad_extract(path, "is not a file")


def open_pbf(path: Path) -> Any:
    """Return a ``pyrosm.OSM`` reader of the ``.osm.pbf`` ``path`` (checked to exist)."""
    import pyrosm  # lazy: pyrosm takes ~0.04 s to import; only this path needs it

    _check_file(path)
    return pyrosm.OSM(str(path))


# --------------------------------------------------------------------- pbf


def _row_tags(row: Mapping[str, Any]) -> dict[str, str]:
    tags: dict[str, str] = {}
    extra = row.get("tags")
    if isinstance(extra, str) and extra:
        tags.update({k: str(v) for k, v in json.loads(extra).items()})
    elif isinstance(extra, Mapping):
        tags.update({k: str(v) for k, v in extra.items()})
    for key, value in row.items():
        if key in _META or value is None:
            continue
        if isinstance(value, float) and math.isnan(value):
            continue
        tags[key] = str(value)
    return tags


def _frame_features(frame: Any) -> list[OsmFeature]:
    out: list[OsmFeature] = []
    if frame is None or len(frame) == 0:
        return out
    for row in frame.to_dict("records"):
        geom = row.get("geometry")
        if geom is None or geom.is_empty:
            continue
        point = geom if geom.geom_type == "Point" else geom.representative_point()
        out.append(OsmFeature(
            osm_type=str(row["osm_type"]),
            osm_id=int(row["id"]),
            lon=float(point.x),
            lat=float(point.y),
            tags=_row_tags(row),
        ))
    return out


def _read_pbf(path: Path) -> tuple[list[OsmFeature], list[OsmFeature]]:
    from pyrosm.exceptions import (
        PBFException,  # lazy: pyrosm takes ~0.04 s to import; only this path needs it
    )

    try:
        osm = open_pbf(path)
        pois = _frame_features(osm.get_pois(custom_filter=POI_FILTER))
        buildings = _frame_features(osm.get_buildings(custom_filter=BUILDING_FILTER))
    except (PBFException, OSError, ValueError, RuntimeError, zlib.error) as exc:
        raise bad_extract(path, f"cannot be read as .osm.pbf ({exc})") from exc
    return pois, buildings


def read_pbf_pois(path: Path, custom_filter: Mapping[str, list[str]]) -> list[OsmFeature]:
    """Read the POIs of the ``.osm.pbf`` ``path`` that pass ``custom_filter``.

    The same reduction as :func:`read_features` (polygons to their
    representative point), with a caller's pyrosm tag filter; sorted by
    (OSM type, id).

    Raises
    ------
    InvalidParameter
        Named ``extract``, when the file cannot be read.
    """
    from pyrosm.exceptions import (
        PBFException,  # lazy: pyrosm takes ~0.04 s to import; only this path needs it
    )

    try:
        frame = open_pbf(path).get_pois(custom_filter=dict(custom_filter))
    except (PBFException, OSError, ValueError, RuntimeError, zlib.error) as exc:
        raise bad_extract(path, f"cannot be read as .osm.pbf ({exc})") from exc
    return sorted(_frame_features(frame), key=lambda f: f.sort_key)


# --------------------------------------------------------------------- xml


def _elements(path: Path, compression: str | None) -> Iterator[ET.Element]:
    """Yield every closed node/way/relation element of an OSM XML file."""
    opener = _OPENERS.get(compression or "")
    try:
        with (opener(path) if opener else path.open("rb")) as fh:
            for _event, el in ET.iterparse(fh, events=("end",)):
                if el.tag in _TYPE_ORDER:
                    yield el
                    el.clear()
    except (ET.ParseError, OSError, EOFError, zlib.error) as exc:
        raise bad_extract(path, f"cannot be read as OSM XML ({exc})") from exc


def _tags(el: ET.Element) -> dict[str, str]:
    return {t.attrib["k"]: t.attrib["v"] for t in el.iter("tag") if "k" in t.attrib}


def _representative(coords: list[tuple[float, float]]) -> tuple[float, float] | None:
    """Return a point inside a closed ring, or the middle vertex of an open way."""
    import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it

    if not coords:
        return None
    if len(coords) >= 4 and coords[0] == coords[-1]:
        poly = shapely.Polygon(coords)
        if poly.is_valid and not poly.is_empty:
            p = poly.representative_point()
            return float(p.x), float(p.y)
    return coords[len(coords) // 2]


def _relation_point(parts: list[list[tuple[float, float]]]) -> tuple[float, float] | None:
    import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it
    from shapely import ops  # lazy: shapely, as above

    lines = [shapely.LineString(p) for p in parts if len(p) >= 2]
    polygons = list(ops.polygonize(lines))
    if polygons:
        p = shapely.MultiPolygon(polygons).representative_point()
        return float(p.x), float(p.y)
    flat = [c for p in parts for c in p]
    return flat[len(flat) // 2] if flat else None


def _read_xml(path: Path, compression: str | None,
              wanted: Callable[[Mapping[str, str]], bool]) -> list[OsmFeature]:
    points: dict[int, tuple[float, float]] = {}
    found_nodes: list[tuple[int, dict[str, str]]] = []
    ways: dict[int, tuple[list[int], dict[str, str]]] = {}
    relations: dict[int, tuple[list[int], dict[str, str]]] = {}
    seen_osm = False
    try:
        for el in _elements(path, compression):
            seen_osm = True
            tags = _tags(el)
            if not tags or not wanted(tags):
                continue
            oid = int(el.attrib["id"])
            if el.tag == "node":
                points[oid] = (float(el.attrib["lon"]), float(el.attrib["lat"]))
                found_nodes.append((oid, tags))
            elif el.tag == "way":
                ways[oid] = ([int(nd.attrib["ref"]) for nd in el.iter("nd")], tags)
            else:
                members = [int(m.attrib["ref"]) for m in el.iter("member")
                           if m.attrib.get("type") == "way"]
                relations[oid] = (members, tags)
    except (KeyError, ValueError) as exc:
        raise bad_extract(path, f"has a malformed OSM element ({exc!r})") from exc
    if not seen_osm:
        raise bad_extract(path, "holds no OSM node, way or relation")
    member_refs = _member_ways(path, compression, relations)
    needed = {r for refs, _ in ways.values() for r in refs}
    needed.update(r for refs in member_refs.values() for r in refs)
    needed -= points.keys()
    if needed:
        for el in _elements(path, compression):
            if el.tag == "node" and int(el.attrib["id"]) in needed:
                points[int(el.attrib["id"])] = (float(el.attrib["lon"]),
                                                float(el.attrib["lat"]))
    out = [OsmFeature("node", oid, *points[oid], tags=tags) for oid, tags in found_nodes]
    for oid, (refs, tags) in ways.items():
        at = _representative([points[r] for r in refs if r in points])
        if at is not None:
            out.append(OsmFeature("way", oid, *at, tags=tags))
    for oid, (members, tags) in relations.items():
        parts = [[points[r] for r in member_refs.get(m, []) if r in points] for m in members]
        at = _relation_point(parts)
        if at is not None:
            out.append(OsmFeature("relation", oid, *at, tags=tags))
    return out


def _member_ways(path: Path, compression: str | None,
                 relations: Mapping[int, tuple[list[int], dict[str, str]]]
                 ) -> dict[int, list[int]]:
    """Node refs of the member ways of ``relations`` (a second pass, only when needed)."""
    wanted = {m for members, _ in relations.values() for m in members}
    out: dict[int, list[int]] = {}
    if wanted:
        for el in _elements(path, compression):
            if el.tag == "way" and int(el.attrib["id"]) in wanted:
                out[int(el.attrib["id"])] = [int(nd.attrib["ref"]) for nd in el.iter("nd")]
    return out


def _filter_match(tags: Mapping[str, str]) -> bool:
    """Say whether ``tags`` pass :data:`POI_FILTER` or :data:`BUILDING_FILTER` (as pyrosm)."""
    return any(tags.get(k) in values
               for k, values in (*POI_FILTER.items(), *BUILDING_FILTER.items()))


def read_features(path: str | Path, *,
                  wanted: Callable[[Mapping[str, str]], bool] | None = None,
                  ) -> tuple[list[OsmFeature], list[OsmFeature]]:
    """Read candidate POIs and public buildings from an extract.

    Parameters
    ----------
    path : path
        ``.osm.pbf``, or OSM XML (``.osm``, ``.osm.xml``; ``.gz``/``.bz2`` too).
    wanted : callable, optional
        XML only: which tag sets to keep (default: those passing
        :data:`POI_FILTER` or :data:`BUILDING_FILTER`).  A ``.pbf`` is always
        read through those filters.

    Returns
    -------
    (pois, buildings) : two lists of OsmFeature
        Sorted by (OSM type, id); WGS-84 points.  A building that is also a
        POI appears in both lists from a ``.pbf``; an XML extract gives every
        feature in ``pois`` and none in ``buildings``.

    Raises
    ------
    InvalidParameter
        Named ``extract``: a missing file, an unknown extension or content
        that cannot be parsed (the message names the path).
    """
    p = Path(path)
    kind, compression = _kind(p)
    _check_file(p)
    if kind == "pbf":
        pois, buildings = _read_pbf(p)
    else:
        pois, buildings = _read_xml(p, compression, wanted or _filter_match), []
    return (sorted(pois, key=lambda f: f.sort_key),
            sorted(buildings, key=lambda f: f.sort_key))
