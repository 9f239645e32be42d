"""Read the demo city's raw features from an OpenStreetMap extract (pyrosm).

Only reading happens here: every POI that any venue rule of
:mod:`geosvc.demo._rules` may use, as plain :class:`OsmFeature` records
sorted by OSM type and id, plus the named streets used to describe
unnamed machines.  Polygon POIs (ways, relations) are reduced to their
representative point (a point guaranteed inside the polygon).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geosvc.coords import local_projection
from geosvc.errors import ConfigError

__all__ = ["OsmFeature", "StreetNamer", "read_features"]

#: The tag values read from the extract (a superset of what the rules keep).
POI_FILTER: dict[str, list[str]] = {
    "amenity": [
        "townhall", "courthouse", "police", "post_office", "community_centre",
        "library", "social_facility", "public_building", "bank", "atm",
        "vending_machine", "parcel_locker", "luggage_locker", "ticket_validator",
        "tickets",
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
        return (_TYPE_ORDER.get(self.osm_type, 9), self.osm_id)

    def tag(self, key: str) -> str | None:
        """Return a tag value stripped, or None when missing or blank."""
        value = self.tags.get(key)
        if value is None:
            return None
        value = str(value).strip()
        return value or None


def _open(osm_path: Path) -> Any:
    import pyrosm  # lazy: pyrosm takes ~0.04 s to import; only this path needs it

    if not osm_path.is_file():
        msg = f"`osm_path` {osm_path} is not a file"
        raise ConfigError(msg)
    return pyrosm.OSM(str(osm_path))


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


def _features(frame: Any) -> list[OsmFeature]:
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


def read_features(osm_path: Path) -> tuple[list[OsmFeature], list[OsmFeature]]:
    """Read candidate POIs and public buildings from ``osm_path``.

    Parameters
    ----------
    osm_path : Path
        An ``.osm.pbf`` extract.

    Returns
    -------
    (pois, buildings) : two lists of OsmFeature
        Sorted by (OSM type, id); WGS-84 points.  A building that is also a
        POI appears in both lists; the rules keep it once.
    """
    osm = _open(osm_path)
    pois = _features(osm.get_pois(custom_filter=POI_FILTER))
    buildings = _features(osm.get_buildings(custom_filter=BUILDING_FILTER))
    return (sorted(pois, key=lambda f: f.sort_key),
            sorted(buildings, key=lambda f: f.sort_key))


class StreetNamer:
    """Name of the nearest named street, for describing unnamed machines.

    Built from every named way of pyrosm's ``all`` network, projected to the
    extract's UTM zone (metres); ties break on the street name.
    """

    def __init__(self, osm_path: Path) -> None:
        import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it


        edges = _open(osm_path).get_network("all")
        bounds = edges.total_bounds
        self.bounds = tuple(float(b) for b in bounds)
        named = edges[edges["name"].notna()]
        proj = local_projection([float(b) for b in bounds])
        self._crs = proj.crs
        projected = named.to_crs(self._crs)
        self._names = [str(n) for n in projected["name"]]
        self._geoms = list(projected.geometry)
        self._tree = shapely.STRtree(self._geoms)
        self._to_utm = proj.forward

    def nearest(self, lon: float, lat: float, *, max_dist_m: float = 150.0) -> str | None:
        """Return the nearest street name within ``max_dist_m`` metres, or None."""
        import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it

        x, y = self._to_utm.transform(lon, lat)
        point = shapely.Point(x, y)
        hits = self._tree.query(point, predicate="dwithin", distance=max_dist_m)
        if len(hits) == 0:
            return None
        best = min((round(self._geoms[i].distance(point), 3), self._names[i]) for i in hits)
        return best[1]
