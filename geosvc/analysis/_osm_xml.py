"""Buildings and residential land use of an OSM XML extract, for the building estimate.

:func:`read_osm_xml` gives :func:`geosvc.analysis.demand.estimate_population_from_osm`
the same two tables pyrosm gives it for ``.osm.pbf`` (buildings with their tags,
``osm_type`` and ``id``; ``landuse`` polygons), read from ``.osm`` / ``.osm.xml``
(also gzip ``.gz`` and bzip2 ``.bz2`` compressed) with the standard library's
streaming parser: one pass keeps every node's coordinates and the tagged ways
and relations; a second pass, only when a multipolygon relation needs them,
fetches the untagged member ways.  Closed ways become polygons; multipolygon
relations become their outer rings (polygonised) minus their inner rings.
Ways whose nodes are missing from a clipped extract are skipped.
"""

from __future__ import annotations

import bz2
import gzip
import xml.etree.ElementTree as ET
from array import array
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from geosvc.errors import InvalidParameter

__all__ = ["XML_SUFFIXES", "is_osm_xml", "read_osm_xml"]

#: File names the XML reader accepts (lower case).
XML_SUFFIXES = (".osm", ".osm.xml", ".xml", ".osm.gz", ".osm.xml.gz", ".osm.bz2",
                ".osm.xml.bz2")


def is_osm_xml(path: str | Path) -> bool:
    """Tell whether ``path`` names an OSM XML extract (by its suffix).

    Examples
    --------
    >>> is_osm_xml("city.osm"), is_osm_xml("x.osm.xml.gz"), is_osm_xml("x.osm.pbf")
    (True, True, False)
    """
    return str(path).lower().endswith(XML_SUFFIXES)


def _open(path: Path) -> BinaryIO:
    name = path.name.lower()
    if name.endswith(".gz"):
        return gzip.GzipFile(path, "rb")  # type: ignore[return-value]  # a binary file
    if name.endswith(".bz2"):
        return bz2.BZ2File(path, "rb")  # type: ignore[return-value]  # a binary file
    return path.open("rb")


def _wanted(tags: dict[str, str]) -> str | None:
    """Return "building", "landuse" or None: what a way or relation is to the estimate."""
    if tags.get("building", "no") != "no":
        return "building"
    if tags.get("landuse") == "residential":
        return "landuse"
    return None


class _Reader:
    """The first pass: nodes, tagged ways and multipolygon relations."""

    def __init__(self) -> None:
        self.node_id = array("q")
        self.lon = array("d")
        self.lat = array("d")
        self.ways: list[tuple[int, list[int], dict[str, str], str]] = []
        self.relations: list[tuple[int, list[tuple[int, str]], dict[str, str], str]] = []

    def element(self, el: ET.Element) -> None:
        if el.tag == "node":
            self.node_id.append(int(el.attrib["id"]))
            self.lon.append(float(el.attrib["lon"]))
            self.lat.append(float(el.attrib["lat"]))
        elif el.tag == "way":
            tags = {t.attrib["k"]: t.attrib["v"] for t in el.iter("tag")}
            what = _wanted(tags)
            if what is not None:
                refs = [int(nd.attrib["ref"]) for nd in el.iter("nd")]
                self.ways.append((int(el.attrib["id"]), refs, tags, what))
        elif el.tag == "relation":
            tags = {t.attrib["k"]: t.attrib["v"] for t in el.iter("tag")}
            what = _wanted(tags)
            if what is not None and tags.get("type") == "multipolygon":
                members = [(int(m.attrib["ref"]), m.attrib.get("role", "outer"))
                           for m in el.iter("member") if m.attrib.get("type") == "way"]
                self.relations.append((int(el.attrib["id"]), members, tags, what))
        else:
            return
        el.clear()


def _parse(path: Path, on_element: Any) -> None:
    try:
        with _open(path) as fh:
            for _event, el in ET.iterparse(fh, events=("end",)):
                on_element(el)
    except (ET.ParseError, KeyError, ValueError, OSError, EOFError) as exc:
        msg = f"{path.name!r} cannot be read as OSM XML: {exc}"
        raise InvalidParameter("osm_path", msg) from exc


def read_osm_xml(path: str | Path) -> tuple[Any, Any]:
    """Return ``(buildings, landuse)`` GeoDataFrames (WGS-84) of an OSM XML extract.

    ``buildings`` has the columns ``building``, every tag key of the
    buildings, ``tags`` (all tags as a dict), ``osm_type`` (way / relation)
    and ``id``; ``landuse`` the column ``landuse``.  Either is None when the
    extract has no such feature (as pyrosm answers).

    Raises
    ------
    InvalidParameter
        The file cannot be read as OSM XML (``osm_path``).
    """
    import geopandas as gpd  # lazy: geopandas takes ~0.5 s to import; only this path needs it
    import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it

    p = Path(path)
    reader = _Reader()
    _parse(p, reader.element)
    ids = np.frombuffer(reader.node_id, dtype=np.int64) if len(reader.node_id) else \
        np.zeros(0, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    lon = np.frombuffer(reader.lon, dtype=np.float64)[order] if len(ids) else np.zeros(0)
    lat = np.frombuffer(reader.lat, dtype=np.float64)[order] if len(ids) else np.zeros(0)

    def coords(refs: list[int]) -> Any:
        r = np.asarray(refs, dtype=np.int64)
        pos = np.searchsorted(sorted_ids, r)
        pos = np.clip(pos, 0, max(len(sorted_ids) - 1, 0))
        if not len(sorted_ids) or not (sorted_ids[pos] == r).all():
            return None  # a node clipped off the extract
        return np.column_stack([lon[pos], lat[pos]])

    member_refs = _member_ways(p, reader)
    rows: dict[str, list[dict[str, Any]]] = {"building": [], "landuse": []}
    for oid, refs, tags, what in reader.ways:
        xy = coords(refs)
        if xy is None or len(xy) < 4 or refs[0] != refs[-1]:
            continue
        rows[what].append({**tags, "tags": tags, "osm_type": "way", "id": oid,
                           "geometry": shapely.Polygon(xy)})
    for oid, members, tags, what in reader.relations:
        geom = _multipolygon(members, member_refs, coords)
        if geom is None:
            continue
        rows[what].append({**tags, "tags": tags, "osm_type": "relation", "id": oid,
                           "geometry": geom})
    out: list[Any] = []
    for what in ("building", "landuse"):
        if not rows[what]:
            out.append(None)
            continue
        out.append(gpd.GeoDataFrame(rows[what], geometry="geometry", crs="EPSG:4326"))
    return out[0], out[1]


def _member_ways(path: Path, reader: _Reader) -> dict[int, list[int]]:
    """Return the node refs of every way a relation names (a second pass when needed)."""
    wanted = {ref for _, members, _, _ in reader.relations for ref, _ in members}
    found = {oid: refs for oid, refs, _, _ in reader.ways if oid in wanted}
    missing = wanted - set(found)
    if missing:
        def on_element(el: ET.Element) -> None:
            if el.tag == "way":
                oid = int(el.attrib["id"])
                if oid in missing:
                    found[oid] = [int(nd.attrib["ref"]) for nd in el.iter("nd")]
                el.clear()
            elif el.tag in ("node", "relation"):
                el.clear()

        _parse(path, on_element)
    return found


def _multipolygon(members: list[tuple[int, str]], refs: dict[int, list[int]],
                  coords: Any) -> Any:
    """Return the polygon of a multipolygon relation (outer minus inner), or None."""
    import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it

    lines: dict[str, list[Any]] = {"outer": [], "inner": []}
    for ref, role in members:
        xy = coords(refs[ref]) if ref in refs else None
        if xy is None or len(xy) < 2:
            continue
        lines["inner" if role == "inner" else "outer"].append(shapely.LineString(xy))
    if not lines["outer"]:
        return None
    outer = shapely.polygonize(lines["outer"])
    if outer.is_empty:
        return None
    geom = shapely.union_all(shapely.get_parts(outer))
    if lines["inner"]:
        inner = shapely.polygonize(lines["inner"])
        if not inner.is_empty:
            geom = geom.difference(shapely.union_all(shapely.get_parts(inner)))
    return None if geom.is_empty else geom
