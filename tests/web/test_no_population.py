"""A city without residents: null shares and a `no-population` warning, never a fake 0 %.

The small city of tests/web/citydata.py without its population layer, once
with straight lines only and once with a road network from an OSM XML street
grid that has no buildings (so the building estimate finds nobody either).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from geosvc.web import create_app
from tests.web.citydata import AREAS, VENUES, build_city_db

NO_POP = "no-population"


def _street_grid(path: Path) -> Path:
    """Write a walkable street grid over the city (lon 118.715..118.805, lat 30.915..30.985)."""
    nx, ny, step = 19, 15, 0.005
    nodes, ways = [], []
    ids = {}
    for j in range(ny):
        for i in range(nx):
            ids[i, j] = len(ids) + 1
            nodes.append(f'<node id="{ids[i, j]}" lon="{118.715 + i * step:.4f}" '
                         f'lat="{30.915 + j * step:.4f}"/>')
    way = 1
    for j in range(ny):
        refs = "".join(f'<nd ref="{ids[i, j]}"/>' for i in range(nx))
        ways.append(f'<way id="{way}">{refs}<tag k="highway" v="residential"/></way>')
        way += 1
    for i in range(nx):
        refs = "".join(f'<nd ref="{ids[i, j]}"/>' for j in range(ny))
        ways.append(f'<way id="{way}">{refs}<tag k="highway" v="residential"/></way>')
        way += 1
    path.write_text('<?xml version="1.0"?>\n<osm version="0.6">\n' + "\n".join(nodes + ways)
                    + "\n</osm>\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def empty_city(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("no-pop")
    return (build_city_db(tmp / "city.sqlite", population=False),
            _street_grid(tmp / "streets.osm"))


@pytest.fixture(scope="module")
def straight_client(empty_city):
    db, _osm = empty_city
    return create_app({"TESTING": True, "db": str(db), "osm": None}).test_client()


@pytest.fixture(scope="module")
def road_client(empty_city, tmp_path_factory: pytest.TempPathFactory):
    db, osm = empty_city
    app = create_app({"TESTING": True, "db": str(db), "osm": str(osm), "modes": "walk",
                      "cache_dir": str(tmp_path_factory.mktemp("no-pop-cache"))})
    return app.test_client()


def _check_null_coverage(doc: dict) -> None:
    for key in ("total_population", "covered_population", "covered_share",
                "off_network_population"):
        assert doc[key] is None, key
    [warning] = doc["warnings"]
    assert warning["code"] == NO_POP
    assert "geosvc import population" in warning["message"]
    assert ".osm" in warning["message"] and "covered_area_share" in warning["message"]
    assert doc["gaps"]["features"] == [] and doc["catchments"] == []
    assert doc["venues_used"] > 0 and doc["covered_area_km2"] > 0
    assert 0 < doc["covered_area_share"] <= 1
    rows = doc["by_area"]
    assert [r["area_id"] for r in rows] == ["A", "B"]
    for r in rows:
        assert r["total_population"] is None and r["covered_population"] is None
        assert r["covered_share"] is None and 0 < r["covered_area_share"] <= 1


@pytest.mark.parametrize("client_name, mode", [("straight_client", "straight"),
                                               ("road_client", "walk")])
def test_coverage_without_residents_is_null_with_a_warning(request, client_name: str,
                                                           mode: str) -> None:
    client = request.getfixturevalue(client_name)
    resp = client.get(f"/api/v1/coverage?mode={mode}&minutes=10")
    assert resp.status_code == 200
    _check_null_coverage(resp.get_json())


@pytest.mark.parametrize("client_name, mode", [("straight_client", "straight"),
                                               ("road_client", "walk")])
def test_isochrones_agree_with_coverage(request, client_name: str, mode: str) -> None:
    client = request.getfixturevalue(client_name)
    doc = client.get(f"/api/v1/isochrones?lon=118.758&lat=30.940&mode={mode}"
                     "&minutes=5,10").get_json()
    assert [f["properties"]["population"] for f in doc["features"]] == [None, None]
    assert [w["code"] for w in doc["warnings"]] == [NO_POP]


def test_covered_area_share_is_the_exact_share_of_the_circles(straight_client) -> None:
    """Straight lines: the union of 375 m disks (5 min at 4.5 km/h) over each area, exactly."""
    doc = straight_client.get("/api/v1/coverage?mode=straight&minutes=5").get_json()
    fwd = Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True)

    def project(g):
        return shapely.transform(g, lambda xy: np.column_stack(
            fwd.transform(xy[:, 0], xy[:, 1])))

    used = [v for v in VENUES if v.channels]  # a bank outlet without channels is a candidate
    assert doc["venues_used"] == len(used)
    disks = shapely.union_all([project(shapely.Point(v.lon, v.lat)).buffer(375.0, 256)
                               for v in used])
    areas = [project(shapely.from_wkt(a.wkt)) for a in AREAS]
    for row, area in zip(doc["by_area"], areas, strict=True):
        exact = area.intersection(disks).area / area.area
        assert row["covered_area_share"] == pytest.approx(exact, rel=0.01, abs=0.001)
    whole = shapely.union_all(areas)
    assert doc["covered_area_share"] == pytest.approx(
        whole.intersection(disks).area / whole.area, rel=0.01)


def test_answers_with_residents_have_no_warning(client) -> None:
    doc = client.get("/api/v1/coverage?mode=straight&minutes=7").get_json()
    assert doc["warnings"] == [] and doc["covered_share"] is not None
    assert 0 < doc["covered_area_share"] <= 1
    iso = client.get("/api/v1/isochrones?lon=118.758&lat=30.940&mode=straight").get_json()
    assert iso["warnings"] == []
    assert all(f["properties"]["population"] is not None for f in iso["features"])


@pytest.mark.parametrize("client_name, mode", [("straight_client", "straight"),
                                               ("road_client", "walk")])
def test_report_and_map_show_the_banner(request, client_name: str, mode: str) -> None:
    client = request.getfixturevalue(client_name)
    for url in (f"/api/v1/coverage?mode={mode}&f=html", f"/map?layer=coverage&mode={mode}"):
        resp = client.get(url)
        assert resp.status_code == 200, url
        html = resp.get_data(as_text=True)
        assert "gs-warnings" in html and f'data-gs-warning="{NO_POP}"' in html, url
        assert "无人口数据" in html and "geosvc import population" in html, url
        assert "覆盖 0.0%" not in html and "0.0% covered" not in html, url
        assert "覆盖 –" in html, url


def test_cli_coverage_without_residents(empty_city, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from geosvc.cli import main

    db, osm = empty_city
    for mode, extra in (("straight", []), ("walk", ["--osm", str(osm),
                                                     "--cache-dir", str(tmp_path)])):
        out = tmp_path / f"{mode}.json"
        r = CliRunner().invoke(main, ["coverage", "--db", str(db), "--mode", mode,
                                      *extra, "--out", str(out)])
        assert r.exit_code == 0, r.output
        assert f"warning ({NO_POP})" in r.output and "no residents" in r.output
        assert "0.0%" not in r.output
        _check_null_coverage(json.loads(out.read_text(encoding="utf-8")))
        csv = tmp_path / f"{mode}.csv"
        r = CliRunner().invoke(main, ["coverage", "--db", str(db), "--mode", mode,
                                      *extra, "--out", str(csv)])
        assert r.exit_code == 0, r.output
        total = csv.read_text(encoding="utf-8-sig").splitlines()[-1].split(",")
        assert total[:5] == ["TOTAL", "", "", "", ""] and float(total[5]) > 0
    report = tmp_path / "r.html"
    r = CliRunner().invoke(main, ["coverage", "--db", str(db), "--mode", "straight",
                                  "--out", str(report)])
    assert r.exit_code == 0, r.output
    html = report.read_text(encoding="utf-8")
    assert "无人口数据" in html and "gs-chart" not in html
