"""The demo extract's named streets and the kiosk hosts that are not halls.

Reading the candidate POIs is :func:`geosvc.importer.osm_venues.read_features`
(the same reader ``geosvc import osm-venues`` uses).
"""

from __future__ import annotations

from pathlib import Path

from geosvc.coords import local_projection
from geosvc.demo._rules import HOST_FILTER
from geosvc.importer._osm import read_pbf_pois
from geosvc.importer.osm_venues import OsmFeature, open_pbf

__all__ = ["StreetNamer", "read_kiosk_hosts"]


def read_kiosk_hosts(osm_path: Path) -> list[OsmFeature]:
    """Read the stations and shopping centres of the extract (:data:`HOST_FILTER`).

    Which of them host kiosks is :func:`geosvc.demo._rules.host_role`.
    """
    return read_pbf_pois(osm_path, HOST_FILTER)


class StreetNamer:
    """Name of the nearest named street, for describing unnamed machines.

    Built from every named way of pyrosm's ``all`` network, projected to the
    extract's UTM zone (metres); ties break on the street name.
    """

    def __init__(self, osm_path: Path) -> None:
        import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it

        edges = open_pbf(osm_path).get_network("all")
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
