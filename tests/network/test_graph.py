"""Building networks from OSM (pbf and XML), direction and speed rules, the disk cache."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from geosvc.errors import InvalidParameter
from geosvc.network.cache import load_network, read_npz
from geosvc.network.osm import build_network

# A tiny OSM XML: nodes 1-2-3 in a row ~100 m apart, 3-4 north.
# way 10: 1-2 residential, oneway=yes, oneway:bicycle=no, maxspeed 50
# way 11: 2-3 primary, oneway=-1 (travel 3 -> 2 only), no maxspeed
# way 12: 3-4 footway (walk and bike only? bike: footway excluded; drive: excluded)
OSM_XML = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6">
  <node id="1" lat="31.0" lon="117.0"/>
  <node id="2" lat="31.0" lon="117.00105"/>
  <node id="3" lat="31.0" lon="117.0021"/>
  <node id="4" lat="31.0009" lon="117.0021"/>
  <way id="10"><nd ref="1"/><nd ref="2"/>
    <tag k="highway" v="residential"/><tag k="oneway" v="yes"/>
    <tag k="oneway:bicycle" v="no"/><tag k="maxspeed" v="50"/></way>
  <way id="11"><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="primary"/><tag k="oneway" v="-1"/></way>
  <way id="12"><nd ref="3"/><nd ref="4"/><tag k="highway" v="footway"/></way>
</osm>
"""


@pytest.fixture()
def osm_xml(tmp_path):
    path = tmp_path / "tiny.osm"
    path.write_text(OSM_XML, encoding="utf-8")
    return path


def pairs(net):
    ids = net.node_id
    pairs = zip(net.edge_u, net.edge_v, strict=True)
    return sorted((int(ids[u]), int(ids[v])) for u, v in pairs)


def test_xml_directions_per_mode(osm_xml, settings):
    walk = build_network(osm_xml, "walk", settings=settings)
    bike = build_network(osm_xml, "bike", settings=settings)
    drive = build_network(osm_xml, "drive", settings=settings)
    assert pairs(walk) == [(1, 2), (2, 1), (2, 3), (3, 2), (3, 4), (4, 3)]
    assert pairs(bike) == [(1, 2), (2, 1), (3, 2)]  # contraflow allowed; footway dropped
    assert pairs(drive) == [(1, 2), (3, 2)]
    assert walk.crs == "EPSG:32650" and (walk.edge_twin >= 0).all()
    assert (drive.edge_twin == -1).all()


def test_xml_speeds(osm_xml, settings):
    drive = build_network(osm_xml, "drive", settings=settings)
    kph = dict(zip(pairs(drive), (drive.edge_length_m / drive.edge_time_s * 3.6)[
        np.argsort([f"{a}-{b}" for a, b in zip(drive.node_id[drive.edge_u],
                                                  drive.node_id[drive.edge_v], strict=True)])],
                   strict=True))
    assert kph[(1, 2)] == pytest.approx(50)  # maxspeed
    assert kph[(3, 2)] == pytest.approx(60)  # primary class table
    walk = build_network(osm_xml, "walk", settings=settings.with_(walk_speed_kph=5))
    np.testing.assert_allclose(walk.edge_length_m / walk.edge_time_s * 3.6, 5)
    assert walk.edge_length_m[0] == pytest.approx(100, rel=0.01)


def test_helsinki_networks(helsinki_walk, helsinki_drive):
    assert helsinki_walk.n_nodes > 5000 and helsinki_walk.crs == "EPSG:32635"
    assert (helsinki_walk.edge_twin >= 0).all()
    assert (helsinki_drive.edge_twin < 0).sum() > 100  # one-way streets
    assert helsinki_walk.components() > 1  # disconnected parts are kept
    # polylines start at u and end at v
    off = helsinki_drive.geom_offsets
    np.testing.assert_allclose(helsinki_drive.geom_x[off[:-1]],
                               helsinki_drive.node_x[helsinki_drive.edge_u])
    np.testing.assert_allclose(helsinki_drive.geom_x[off[1:] - 1],
                               helsinki_drive.node_x[helsinki_drive.edge_v])
    street = ~helsinki_drive.edge_is_turn  # turn edges (zero length) have no speed
    assert street.sum() < helsinki_drive.n_edges  # drive is turn-expanded
    kph = helsinki_drive.edge_length_m[street] / helsinki_drive.edge_time_s[street] * 3.6
    assert set(np.round(kph)) <= {30.0, 40.0, 50.0, 60.0}


def test_network_pickles_without_caches(helsinki_drive):
    _ = helsinki_drive.csr
    back = pickle.loads(pickle.dumps(helsinki_drive))
    assert "csr" not in back.__dict__
    assert (back.csr != helsinki_drive.csr).nnz == 0


def test_cache_reuse_and_key_follows_source(osm_xml, settings, tmp_path):
    cache = tmp_path / "cache"
    first = load_network(osm_xml, "walk", settings=settings, cache_dir=cache)
    again = load_network(osm_xml, "walk", settings=settings, cache_dir=cache)
    assert not first.meta["from_cache"] and again.meta["from_cache"]
    assert again.meta["cache_path"] == first.meta["cache_path"]
    np.testing.assert_array_equal(again.edge_time_s, first.edge_time_s)
    faster = load_network(osm_xml, "walk", settings=settings.with_(walk_speed_kph=6),
                          cache_dir=cache)
    assert faster.meta["cache_path"] != first.meta["cache_path"]
    osm_xml.write_text(OSM_XML.replace('lon="117.0021"/>\n  <node id="4"',
                                       'lon="117.0030"/>\n  <node id="4"'), encoding="utf-8")
    changed = load_network(osm_xml, "walk", settings=settings, cache_dir=cache)
    assert not changed.meta["from_cache"]
    assert changed.source_hash != first.source_hash
    assert changed.meta["cache_path"] != first.meta["cache_path"]
    assert len(list(cache.glob("*.npz"))) == 3


def test_corrupt_cache_is_rebuilt_with_warning(osm_xml, settings, tmp_path):
    net = load_network(osm_xml, "walk", settings=settings, cache_dir=tmp_path)
    path = net.meta["cache_path"]
    with open(path, "wb") as fh:
        fh.write(b"garbage")
    with pytest.raises(InvalidParameter, match="not a readable network cache"):
        read_npz(path)
    with pytest.warns(UserWarning, match="rebuilding network cache"):
        again = load_network(osm_xml, "walk", settings=settings, cache_dir=tmp_path)
    assert again.n_edges == net.n_edges


def test_helsinki_cache_load_is_fast(helsinki_pbf, helsinki_walk, settings, network_cache):
    again = load_network(helsinki_pbf, "walk", settings=settings, cache_dir=network_cache)
    assert again.meta["from_cache"] and again.meta["load_s"] < 2.0
    assert again.n_nodes == helsinki_walk.n_nodes


@pytest.mark.parametrize("content,name,match", [
    (b"not a pbf at all" * 8, "bad.osm.pbf", "cannot be read as OSM PBF"),
    (b"<osm><node id='1' lat='x'", "bad.osm", "cannot be read as OSM XML"),
    (b"<osm></osm>", "empty.osm", "has no walk roads"),
    (b"whatever", "data.csv", "is not an OSM extract: expected .osm.pbf"),
])
def test_bad_files(tmp_path, settings, content, name, match):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InvalidParameter, match=match) as err:
        build_network(path, "walk", settings=settings)
    assert err.value.invalid_params[0]["name"] == "osm_path"


def test_missing_file_and_bad_mode(tmp_path, settings, osm_xml):
    with pytest.raises(InvalidParameter, match="does not exist"):
        load_network(tmp_path / "nope.osm.pbf", "walk", settings=settings)
    with pytest.raises(InvalidParameter, match="`mode`"):
        build_network(osm_xml, "fly", settings=settings)


def test_cache_is_memory_mapped_and_equal(helsinki_walk, tmp_path):
    """Issue 13: the cache loads by memory map: the same arrays, read-only, over the file."""
    import mmap

    from geosvc.network.cache import write_npz
    from geosvc.network.graph import _ARRAY_FIELDS

    path = write_npz(helsinki_walk, tmp_path / "walk.npz")
    mapped, read = read_npz(path), read_npz(path, mmap=False)
    for name in _ARRAY_FIELDS:
        a, b = getattr(mapped, name), getattr(read, name)
        assert a.dtype == b.dtype and np.array_equal(a, b), name
        assert not a.flags.writeable
    base = mapped.edge_time_s
    while base.base is not None and not isinstance(base.base, mmap.mmap):
        base = base.base
    assert isinstance(base.base, mmap.mmap)  # a view of the file's pages, not a copy
    # answers from the mapped network equal those of the read one
    for part in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(mapped.csr, part), getattr(read.csr, part))


def test_a_mapped_cache_holds_one_file_descriptor(helsinki_walk, tmp_path):
    """One mapping per cache file, the arrays views of it (was one descriptor per array)."""
    import os

    from geosvc.network.cache import write_npz

    path = write_npz(helsinki_walk, tmp_path / "walk.npz")
    fds = len(os.listdir("/proc/self/fd"))
    nets = [read_npz(path) for _ in range(3)]
    assert len(os.listdir("/proc/self/fd")) - fds <= 3
    assert all(np.array_equal(n.edge_time_s, helsinki_walk.edge_time_s) for n in nets)


def test_a_compressed_cache_is_read_whole(helsinki_walk, tmp_path):
    import json

    from geosvc.network.cache import FORMAT_VERSION
    from geosvc.network.graph import _ARRAY_FIELDS

    path = tmp_path / "walk.npz"
    header = {"mode": "walk", "crs": helsinki_walk.crs, "source_hash": "x",
              "format": FORMAT_VERSION, "meta": {}}
    np.savez_compressed(path, header=np.array(json.dumps(header)),
                        **{n: getattr(helsinki_walk, n) for n in _ARRAY_FIELDS})
    net = read_npz(path)
    assert np.array_equal(net.edge_u, helsinki_walk.edge_u)
    assert not isinstance(net.edge_u.base, np.memmap)
