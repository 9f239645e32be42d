"""Named places of an OSM extract, for the search box: streets, POIs, neighbourhoods.

A citizen types a place to set the start of a search ("Mannerheimintie",
"Kamppi", "Ateneum").  :func:`read_places` lists, from the same extract the
road networks come from:

``street``
    Every distinct ``name`` of a ``highway`` way, once; its point is the
    middle (half the length along) of the longest way bearing the name.
``poi``
    Named objects tagged as in :data:`POI_TAGS` (amenity, shop, tourism,
    stations, parks ...): nodes at their point, ways and relations at a
    point inside (pyrosm) or the mean of their nodes (XML).  The same name
    within about a kilometre (same 0.01 degree cell) is kept once.
``district``
    Named ``place=suburb|quarter|neighbourhood`` objects (the dataset's own
    areas are added by the application layer).

:func:`load_places` caches the list next to the network caches
(``<cache_dir>/<stem>-places-<key>.json``, keyed by the file's sha256 and
:data:`FORMAT_VERSION`), so it is read once per extract: on the demo extract
(0.7 MB) reading it costs about 0.25 s, against 0.25 s per mode for a
network; loading the cached file about 5 ms.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from geosvc.errors import InvalidParameter
from geosvc.model import Place
from geosvc.network.osm import _open_xml, extract_kind, file_sha256

__all__ = ["DISTRICT_PLACES", "FORMAT_VERSION", "POI_TAGS", "load_places", "read_places"]

#: Bump when the rules or the file layout change.
FORMAT_VERSION = 1

#: Tags that make a named object a POI: tag -> accepted values (None: any value).
POI_TAGS: Mapping[str, frozenset[str] | None] = {
    "amenity": None,
    "shop": None,
    "tourism": None,
    "historic": None,
    "office": frozenset({"government", "administrative"}),
    "leisure": frozenset({"park", "garden", "stadium", "sports_centre", "marina"}),
    "railway": frozenset({"station", "halt", "tram_stop"}),
    "public_transport": frozenset({"station"}),
}
#: ``place`` values listed as districts.
DISTRICT_PLACES = frozenset({"suburb", "quarter", "neighbourhood", "borough"})

_CELL_DEG = 0.01  # duplicate POI names within one cell are kept once


def _poi_kind(tags: Mapping[str, Any]) -> str | None:
    """Return ``poi``, ``district`` or None for an object's tags."""
    if tags.get("place") in DISTRICT_PLACES:
        return "district"
    for key, values in POI_TAGS.items():
        value = tags.get(key)
        if value and isinstance(value, str) and (values is None or value in values):
            return "poi"
    return None


def _line_length(coords: list[tuple[float, float]]) -> float:
    """Length of a lon/lat polyline in local degrees (enough to compare ways)."""
    total = 0.0
    for (x0, y0), (x1, y1) in zip(coords, coords[1:], strict=False):
        total += math.hypot((x1 - x0) * math.cos(math.radians(y0)), y1 - y0)
    return total


def _midpoint(coords: list[tuple[float, float]]) -> tuple[float, float]:
    """Return the point half the length along a lon/lat polyline."""
    if len(coords) == 1:
        return coords[0]
    half = _line_length(coords) / 2.0
    run = 0.0
    for (x0, y0), (x1, y1) in zip(coords, coords[1:], strict=False):
        step = math.hypot((x1 - x0) * math.cos(math.radians(y0)), y1 - y0)
        if step > 0 and run + step >= half:
            t = (half - run) / step
            return (x0 + t * (x1 - x0), y0 + t * (y1 - y0))
        run += step
    return coords[-1]


class _Collector:
    """Keep the longest way per street name and one POI per (name, cell)."""

    def __init__(self) -> None:
        self.streets: dict[str, tuple[float, list[tuple[float, float]]]] = {}
        self.pois: dict[tuple[str, str, int, int], Place] = {}

    def street(self, name: str, coords: list[tuple[float, float]]) -> None:
        if not coords:
            return
        length = _line_length(coords)
        best = self.streets.get(name)
        if best is None or length > best[0]:
            self.streets[name] = (length, coords)

    def poi(self, name: str, kind: str, lon: float, lat: float) -> None:
        if not (math.isfinite(lon) and math.isfinite(lat)):
            return
        key = (name, kind, math.floor(lon / _CELL_DEG), math.floor(lat / _CELL_DEG))
        self.pois.setdefault(key, Place(name=name, kind=kind, lon=lon, lat=lat))

    def places(self) -> list[Place]:
        out = [p for p in self.pois.values() if p.kind == "district"]
        for name, (_length, coords) in self.streets.items():
            lon, lat = _midpoint(coords)
            out.append(Place(name=name, kind="street", lon=lon, lat=lat))
        out.extend(p for p in self.pois.values() if p.kind == "poi")
        out.sort(key=lambda p: (p.kind != "district", p.kind != "street", p.name, p.lon,
                                p.lat))
        return out


def read_places(osm_path: str | os.PathLike[str]) -> list[Place]:
    """Return the named streets, POIs and neighbourhoods of an OSM extract (WGS-84).

    Districts first, then streets, then POIs, each by name.

    Raises
    ------
    InvalidParameter
        The file cannot be read as an OSM extract (named ``osm_path``).
    """
    path = Path(osm_path)
    found = _Collector()
    if extract_kind(path) == "pbf":
        _read_pbf(path, found)
    else:
        try:
            with _open_xml(path) as stream:
                _read_xml(stream, found)
        except (ET.ParseError, KeyError, ValueError, OSError, EOFError) as exc:
            msg = f"{path.name!r} cannot be read as OSM XML: {exc}"
            raise InvalidParameter("osm_path", msg) from exc
    return found.places()


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _read_pbf(path: Path, found: _Collector) -> None:
    import pyrosm  # lazy: pyrosm takes ~0.04 s to import; only this path needs it
    import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it
    from pyrosm.exceptions import (
        PBFException,  # lazy: pyrosm takes ~0.04 s to import; only this path needs it
    )

    poi_filter: dict[str, Any] = {k: (True if v is None else sorted(v))
                                  for k, v in POI_TAGS.items()}
    poi_filter["place"] = sorted(DISTRICT_PLACES)
    try:
        osm = pyrosm.OSM(str(path))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyrosm's own chatter (e.g. missing columns)
            ways = osm.get_data_by_custom_criteria(
                custom_filter={"highway": True}, filter_type="keep", keep_nodes=False,
                keep_relations=False, extra_attributes=["name"])
            pois = osm.get_pois(custom_filter=poi_filter)
    except (PBFException, ValueError, OSError) as exc:
        msg = f"{path.name!r} cannot be read as OSM PBF: {exc}"
        raise InvalidParameter("osm_path", msg) from exc
    if ways is not None and "name" in ways:
        named = ways[ways["name"].map(lambda v: bool(_text(v)))]
        for name, geom in zip(named["name"], named.geometry, strict=True):
            if geom is None or geom.is_empty:
                continue
            for part in getattr(geom, "geoms", [geom]):
                found.street(_text(name), [(float(x), float(y))
                                           for x, y in shapely.get_coordinates(part)])
    if pois is None or "name" not in pois:
        return
    columns = [c for c in (*POI_TAGS, "place") if c in pois]
    for row, geom in zip(pois[["name", *columns]].to_dict("records"), pois.geometry,
                         strict=True):
        name = _text(row.get("name"))
        kind = _poi_kind(row) if name else None
        if kind is None or geom is None or geom.is_empty:
            continue
        point = geom if geom.geom_type == "Point" else geom.representative_point()
        found.poi(name, kind, float(point.x), float(point.y))


def _read_xml(stream: Any, found: _Collector) -> None:
    """One streaming pass: node coordinates, named POI nodes, named ways (highway or POI)."""
    coords: dict[int, tuple[float, float]] = {}
    ways: list[tuple[str, str, list[int]]] = []  # (name, "street" | kind, refs)
    for _event, el in ET.iterparse(stream, events=("end",)):
        if el.tag == "node":
            lonlat = (float(el.attrib["lon"]), float(el.attrib["lat"]))
            coords[int(el.attrib["id"])] = lonlat
            tags = {t.attrib["k"]: t.attrib["v"] for t in el.iter("tag")}
            name = _text(tags.get("name"))
            kind = _poi_kind(tags) if name else None
            if kind is not None:
                found.poi(name, kind, *lonlat)
            el.clear()
        elif el.tag == "way":
            tags = {t.attrib["k"]: t.attrib["v"] for t in el.iter("tag")}
            name = _text(tags.get("name"))
            if name:
                refs = [int(nd.attrib["ref"]) for nd in el.iter("nd")]
                if "highway" in tags:
                    ways.append((name, "street", refs))
                else:
                    kind = _poi_kind(tags)
                    if kind is not None:
                        ways.append((name, kind, refs))
            el.clear()
        elif el.tag == "relation":
            el.clear()
    for name, kind, refs in ways:
        points = [coords[r] for r in refs if r in coords]
        if not points:
            continue
        if kind == "street":
            found.street(name, points)
        else:
            found.poi(name, kind, sum(p[0] for p in points) / len(points),
                      sum(p[1] for p in points) / len(points))


def _cache_file(cache_dir: str | os.PathLike[str], osm_path: Path, source_hash: str) -> Path:
    key = hashlib.sha256(json.dumps({"src": source_hash, "places": FORMAT_VERSION},
                                    sort_keys=True).encode()).hexdigest()
    stem = osm_path.name.split(".")[0] or "network"
    return Path(cache_dir) / f"{stem}-places-{key[:16]}.json"


def _write(places: Iterable[Place], target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    rows = [[p.name, p.kind, round(p.lon, 7), round(p.lat, 7)] for p in places]
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"format": FORMAT_VERSION, "places": rows},
                              ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, target)


def _read(target: Path) -> list[Place] | None:
    try:
        doc = json.loads(target.read_text(encoding="utf-8"))
        if doc.get("format") != FORMAT_VERSION:
            return None
        return [Place(name=str(n), kind=str(k), lon=float(x), lat=float(y))
                for n, k, x, y in doc["places"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_places(
    osm_path: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str],
    source_hash: str | None = None,
) -> tuple[list[Place], dict[str, Any]]:
    """Return the places of ``osm_path`` (:func:`read_places`), from the cache when there.

    An unreadable cache file is read again from the extract; an unwritable
    cache directory only warns.

    Returns
    -------
    places : list of Place
    meta : dict
        ``{cache_path, from_cache, load_s, places}``.
    """
    path = Path(osm_path)
    started = time.perf_counter()
    target = _cache_file(cache_dir, path, source_hash or file_sha256(path))
    places = _read(target) if target.is_file() else None
    from_cache = places is not None
    if places is None:
        places = read_places(path)
        try:
            _write(places, target)
        except OSError as exc:
            warnings.warn(f"cannot write the place cache {target}: {exc.strerror}",
                          stacklevel=2)
    meta = {"cache_path": str(target), "from_cache": from_cache,
            "load_s": round(time.perf_counter() - started, 3), "places": len(places)}
    return places, meta
