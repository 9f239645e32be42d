"""A coverage result shaped as docs/api.md ``/api/v1/coverage`` (plain data, Xuancheng)."""

from __future__ import annotations

from typing import Any

X, Y = 118.7580, 30.9400


def square(x: float, y: float, d: float) -> dict[str, Any]:
    """A GeoJSON square polygon of half-size ``d`` degrees around (x, y)."""
    return {"type": "Polygon", "coordinates": [[[x - d, y - d], [x + d, y - d], [x + d, y + d],
                                                [x - d, y + d], [x - d, y - d]]]}


def coverage_result() -> dict[str, Any]:
    """Four gaps (one with a hostile name), two areas, catchments, service circles."""
    gaps = [
        {"type": "Feature", "id": i + 1, "geometry": square(X + dx, Y + dy, 0.002),
         "properties": {"id": i + 1, "name": name, "uncovered_population": pop}}
        for i, (dx, dy, pop, name) in enumerate([
            (0.02, 0.01, 900.0, "北门片区"),
            (-0.02, 0.012, 600.0, "<b onmouseover=alert(1)>x</b>"),
            (0.01, -0.02, 300.0, None), (-0.015, -0.015, 120.0, "南湖")])
    ]
    return {
        "mode": "walk", "minutes": 10.0,
        "total_population": 10000.0, "covered_population": 8080.0, "covered_share": 0.808,
        "covered_area_km2": 3.2, "venues_used": 8,
        "by_area": [
            {"area_id": "341802", "name": "宣州区", "total_population": 7000.0,
             "covered_population": 6000.0, "covered_share": 6000 / 7000},
            {"area_id": "341821", "name": "郎溪县", "total_population": 3000.0,
             "covered_population": 2080.0, "covered_share": 2080 / 3000},
        ],
        "gaps": {"type": "FeatureCollection", "features": gaps},
        "circles": {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": square(X, Y, 0.008), "properties": {}}]},
        "catchments": [
            {"venue_id": "XC-H-0001", "name": "宣城市政务服务中心", "kind": "hall",
             "population": 4000.0, "lon": X, "lat": Y},
            {"venue_id": "XC-K-0002", "name": "<img src=x onerror=alert(1)>", "kind": "kiosk",
             "population": 800.0, "lon": X - 0.002, "lat": Y + 0.009},
        ],
    }


CURVES = {
    "hall 政务大厅": [(5, 0.3), (10, 0.6), (15, 0.8), (20, 0.9), (25, 0.95), (30, 0.97)],
    "kiosk 7×24": [(5, 0.1), (10, 0.3), (15, 0.5), (20, 0.6), (25, 0.7), (30, 0.8)],
}
