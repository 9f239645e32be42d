"""GeoJSON geometries converted to the request's ``crs``, whatever their nesting."""

from __future__ import annotations

import pytest

from geosvc.api._geometry import convert_geometry
from geosvc.coords import from_wgs84

# Beijing: GCJ-02 shifts positions inside China only
OUTER = [[116.39, 39.90], [116.40, 39.90], [116.40, 39.91], [116.39, 39.91], [116.39, 39.90]]
HOLE = [[116.395, 39.905], [116.396, 39.905], [116.395, 39.906], [116.395, 39.905]]


@pytest.mark.parametrize("geom", [
    {"type": "Point", "coordinates": [116.39, 39.90]},
    {"type": "LineString", "coordinates": OUTER},
    {"type": "Polygon", "coordinates": [OUTER, HOLE]},
    # was: ValueError (numpy refused the ragged rings of a holed part) -> a 500 on
    # /api/v1/coverage?circles=true&crs=gcj02 once a gap had a hole
    {"type": "MultiPolygon", "coordinates": [[OUTER, HOLE], [OUTER]]},
])
def test_every_position_is_converted(geom):
    got = convert_geometry(geom, "gcj02")
    assert got is not None and got["type"] == geom["type"]

    def pairs(a, b):
        if isinstance(a[0], float):
            yield a, b
        else:
            for x, y in zip(a, b, strict=True):
                yield from pairs(x, y)

    n = 0
    for (lon, lat), conv in pairs(geom["coordinates"], got["coordinates"]):
        want = from_wgs84(lon, lat, "gcj02")
        assert conv == pytest.approx([float(want[0]), float(want[1])], abs=1e-7)
        assert conv != [lon, lat]
        n += 1
    assert n >= 1
