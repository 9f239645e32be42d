"""The index's own structures against brute force.

The slab box index, the k-d tree k-nearest (ties included) and the batched
nearest path.
"""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from geosvc.coords import geodesic_distance_m
from geosvc.errors import InvalidParameter
from geosvc.index import ServiceIndex
from geosvc.index._boxes import BoxIndex
from geosvc.index._sphere import SphereTree, unit_vectors
from geosvc.model import Channel, Link, ServiceItem, Venue, VenueFilter, VenueKind
from tests.test_index import INFO, TIMES, make_dataset


def brute_box(lon, lat, box):
    x0, y0, x1, y1 = box
    inside = (lon >= x0) & (lon <= x1) if x0 <= x1 else (lon >= x0) | (lon <= x1)
    return np.flatnonzero(inside & (lat >= y0) & (lat <= y1))


def brute_knn(lon, lat, x, y, k, sel=None):
    pos = np.arange(len(lon)) if sel is None else np.flatnonzero(sel)
    d = geodesic_distance_m(x, y, lon[pos], lat[pos])
    order = np.lexsort((pos, d))[:k]
    return pos[order], d[order]


def kiosks(lon, lat):
    return [
        Venue(code=f"K{i}", name="k", kind=VenueKind.KIOSK, lon=float(x), lat=float(y),
              channels=frozenset({Channel.SELF_SERVICE}))
        for i, (x, y) in enumerate(zip(lon, lat, strict=True))
    ]


def random_boxes(rng, n):
    """Boxes of every size, some crossing the antimeridian, some degenerate."""
    out = []
    for _ in range(n):
        w = float(rng.choice([0.0, 0.01, 1.0, 30.0, 200.0]))
        h = float(rng.choice([0.0, 0.01, 1.0, 30.0, 170.0]))
        x0 = float(rng.uniform(-180, 180))
        y0 = float(rng.uniform(-90, 90 - h))
        x1 = x0 + w
        if x1 > 180:
            x1 -= 360  # crosses the antimeridian
        out.append((x0, y0, x1, y0 + h))
    out += [(179.0, -90.0, -179.0, 90.0), (-180.0, -90.0, 180.0, 90.0),
            (180.0, -5.0, -180.0, 5.0), (170.0, 0.0, 170.0, 0.0)]
    return out


@pytest.mark.parametrize("n", [0, 1, 7, 500, 20_000])
def test_box_index_equals_brute_force(n):
    rng = np.random.default_rng(n)
    # clustered and global points, repeated coordinates, the antimeridian and the poles
    half = n // 2
    lon = np.concatenate([rng.uniform(-180, 180, half), 117 + rng.normal(0, 0.05, n - half)])
    lat = np.concatenate([rng.uniform(-90, 90, half), 31 + rng.normal(0, 0.05, n - half)])
    if n >= 7:
        lon[:3], lat[:3] = [180.0, -180.0, 170.0], [0.0, 0.0, 0.0]
        lon[3:5], lat[3:5] = [0.0, 45.0], [90.0, -90.0]
        lon[5], lat[5] = lon[6], lat[6]  # a duplicate
    idx = BoxIndex(lon, lat)
    boxes = random_boxes(rng, 300)
    boxes += [(x - 0.01, y - 0.01, x + 0.01, y + 0.01) for x, y in zip(lon[:100], lat[:100],
                                                                     strict=True)]
    boxes += [(x, y, x, y) for x, y in zip(lon[:50], lat[:50], strict=True)]  # edges count
    for box in boxes:
        got = idx.query(*box)
        assert got.dtype == np.intp
        np.testing.assert_array_equal(got, brute_box(lon, lat, box), err_msg=str(box))


def test_box_index_same_longitude_and_close_latitudes():
    # every point on one meridian (one slab boundary value), latitudes 1e-13 apart
    n = 5000
    lon = np.full(n, 12.5)
    lat = 45.0 + (np.arange(n) % 97) * 1e-13
    idx = BoxIndex(lon, lat)
    for box in [(12.5, 45.0, 12.5, 45.0), (12.0, 45.0 + 5e-13, 13.0, 45.0 + 40e-13),
                (12.6, 40.0, 13.0, 50.0), (12.5, 44.0, -170.0, 46.0)]:
        np.testing.assert_array_equal(idx.query(*box), brute_box(lon, lat, box))


def test_query_bbox_with_filters_equals_brute_force():
    # a city astride the antimeridian
    venues, items, links = make_dataset(3000, 11, lon0=179.8, spread=0.3)
    venues = [dataclasses.replace(v, lon=((v.lon + 180.0) % 360.0) - 180.0) for v in venues]
    lon = np.array([v.lon for v in venues])
    lat = np.array([v.lat for v in venues])
    assert (lon < 0).sum() > 300 and (lon > 0).sum() > 300
    idx = ServiceIndex.build(venues, items, links, info=INFO)
    rng = np.random.default_rng(4)
    for flt in (None, VenueFilter(items=("i2",)), VenueFilter(include_candidates=True),
                VenueFilter(items=("i7",)), VenueFilter(open_at=TIMES[2])):
        sel = idx.mask(flt)
        for _ in range(60):
            x0 = float(rng.uniform(179.0, 180.0))
            x1 = float(rng.uniform(-180.0, -179.0)) if rng.random() < 0.7 else 180.0
            y0 = float(rng.uniform(30.4, 31.4))
            box = (x0, y0, x1, y0 + float(rng.uniform(0, 0.6)))
            exp = brute_box(lon, lat, box)
            np.testing.assert_array_equal(idx.query_bbox(box, flt), exp[sel[exp]])


def test_sphere_tree_is_exact_k_nearest_by_chord():
    rng = np.random.default_rng(2)
    lon, lat = rng.uniform(-180, 180, 5000), rng.uniform(-90, 90, 5000)
    xyz = unit_vectors(lon, lat)
    ids = np.arange(10_000, 15_000)
    tree = SphereTree(xyz, ids)
    q = unit_vectors(rng.uniform(-180, 180, 200), rng.uniform(-90, 90, 200))
    many = tree.nearest_many(q, 7)
    for i in range(len(q)):
        d = np.linalg.norm(xyz - q[i], axis=1)
        exp = ids[np.argsort(d)[:7]]
        assert set(tree.nearest(q[i : i + 1], 7).tolist()) == set(exp.tolist())
        np.testing.assert_array_equal(many[i], exp)
    assert len(tree.nearest(q[:1], 10**6)) == 5000  # n above the size: everything
    assert len(SphereTree(np.empty((0, 3)), None).nearest(q[:1], 3)) == 0


def test_nearest_ties_equal_brute_force():
    # exact ties: duplicates, and mirror images about a query on the prime meridian /
    # the equator (haversine is exactly symmetric there)
    rng = np.random.default_rng(8)
    base_lon = rng.uniform(0.001, 0.05, 150)
    base_lat = rng.uniform(0.001, 0.05, 150)
    lon = np.concatenate([base_lon, -base_lon, base_lon, -base_lon, np.zeros(40)])
    lat = np.concatenate([base_lat, base_lat, -base_lat, -base_lat, np.full(40, 0.02)])
    perm = rng.permutation(len(lon))
    lon, lat = lon[perm], lat[perm]
    idx = ServiceIndex.build(kiosks(lon, lat), [], [], info=INFO)
    for x, y in [(0.0, 0.0), (0.0, 0.02), (0.0, 0.01)]:
        for k in (1, 2, 3, 4, 5, 8, 41, 100):
            pos, d = idx.nearest_k(x, y, k)
            exp_p, exp_d = brute_knn(lon, lat, x, y, k)
            np.testing.assert_array_equal(pos, exp_p)
            np.testing.assert_allclose(d, exp_d, rtol=1e-12, atol=1e-9)
            got_p, got_d = idx.nearest_many([x], [y], k)
            np.testing.assert_array_equal(got_p[0], exp_p)


@pytest.fixture(scope="module")
def big():
    data = make_dataset(4000, 21)
    return data, ServiceIndex.build(*data, info=INFO)


@pytest.mark.parametrize(
    "flt",
    [
        None,
        VenueFilter(items=("i2",)),
        VenueFilter(items=("i7",)),  # few venues: ranked directly
        VenueFilter(accessible=True, kinds=(VenueKind.HALL,)),
        VenueFilter(include_candidates=True),
        VenueFilter(open_at=TIMES[2]),
        VenueFilter(open_at=TIMES[0], items=("i0",)),
        VenueFilter(items=("nope",)),
    ],
    ids=repr,
)
@pytest.mark.parametrize("max_dist_m", [None, 700.0])
def test_nearest_many_equals_looped(big, flt, max_dist_m):
    _, idx = big
    rng = np.random.default_rng(1)
    x = np.concatenate([117 + rng.normal(0, 0.2, 300), [100.0, 117.0]])
    y = np.concatenate([31 + rng.normal(0, 0.2, 300), [10.0, 31.0]])
    for k in (1, 5, 13):
        got_p, got_d = idx.nearest_many(x, y, k, flt, max_dist_m=max_dist_m)
        assert got_p.shape == got_d.shape == (len(x), k)
        for i in range(len(x)):
            p, d = idx.nearest_k(float(x[i]), float(y[i]), k, flt, max_dist_m=max_dist_m)
            np.testing.assert_array_equal(got_p[i, : len(p)], p)
            assert np.all(got_p[i, len(p):] == -1) and np.all(np.isinf(got_d[i, len(p):]))
            np.testing.assert_allclose(got_d[i, : len(d)], d, rtol=1e-12, atol=1e-9)


def test_nearest_many_edge_cases(big):
    _, idx = big
    p, d = idx.nearest_many([], [], 3)
    assert p.shape == (0, 3) and d.shape == (0, 3)
    empty = ServiceIndex.build([], [], [], info=INFO)
    p, d = empty.nearest_many([1.0, 2.0], [3.0, 4.0], 2)
    assert (p == -1).all() and np.isinf(d).all()
    for args, name in [
        (([117.0, np.nan], [31.0, 31.0], 3), "lon"),
        (([117.0], [31.0, 32.0], 3), "lat"),
        (([[117.0]], [31.0], 3), "lon"),
        ((["a"], [31.0], 3), "lon"),
        (([117.0], [95.0], 3), "lat"),
        (([117.0], [31.0], 0), "k"),
    ]:
        with pytest.raises(InvalidParameter) as e:
            idx.nearest_many(*args)
        assert [p["name"] for p in e.value.invalid_params] == [name]
    with pytest.raises(InvalidParameter) as e:
        idx.nearest_many([117.0, 200.0], [31.0, -91.0], 3)
    assert [p["name"] for p in e.value.invalid_params] == ["lon", "lat"]
    assert "[1]" in e.value.detail


def test_trees_answer_from_many_threads(big):
    (venues, _, _), idx = big
    lon = np.array([v.lon for v in venues])
    lat = np.array([v.lat for v in venues])
    sel = idx.mask()
    rng = np.random.default_rng(3)
    pts = list(zip(117 + rng.normal(0, 0.2, 200), 31 + rng.normal(0, 0.2, 200), strict=True))
    expected = [brute_knn(lon, lat, x, y, 5, sel)[0].tolist() for x, y in pts]
    errors: list[str] = []

    def worker():
        for (x, y), exp in zip(pts, expected, strict=True):
            if idx.nearest_k(float(x), float(y), 5)[0].tolist() != exp:
                errors.append(f"{x}, {y}")

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


class _Colliding(str):
    """A str subclass as a code (the index hashes the UTF-8 bytes, not ``__hash__``)."""

    __slots__ = ()

    def __hash__(self) -> int:
        return 42


class _NarrowKernels:
    """The code index's hash kernels cut to 3 bits: every look-up meets collisions."""

    def __init__(self) -> None:
        from geosvc.index import _textkernel

        self._k = _textkernel
        self.rows_equal = _textkernel.rows_equal
        self.follow_rows = _textkernel.follow_rows  # takes the (narrowed) hashes

    def fnv1a(self, text: str) -> int:
        return self._k.fnv1a(text) & 7

    def hash_rows(self, blob, offsets):
        return self._k.hash_rows(blob, offsets) & 7


def test_code_index_answers_through_hash_collisions():
    from geosvc.index._build import CodeIndex

    codes = [f"C{i:03d}" for i in range(40)] + ["", "宣城-01"]
    idx = CodeIndex(np.array(codes), kernels=_NarrowKernels())
    assert len(set(idx.parts()["hash"].tolist())) <= 8  # 42 codes in at most 8 buckets
    assert [idx.get(c) for c in codes] == list(range(42))
    assert idx.get("C040") is None and idx.get("C00") is None and idx.duplicates() == []
    asked = np.array(["C039", "missing", "宣城-01", "C000", "", "C0390"])
    assert idx.get_many(asked).tolist() == [39, -1, 41, 0, 40, -1]
    dup = CodeIndex(np.array([*codes, "C005", "C007", "C005"]), kernels=_NarrowKernels())
    assert dup.duplicates() == [42, 43, 44]  # each later copy of a code seen before


@pytest.mark.parametrize("colliding", [False, True])
def test_code_index_positions_links_and_duplicates(colliding):
    wrap = _Colliding if colliding else str
    venues = kiosks(np.linspace(100, 101, 40), np.linspace(30, 31, 40))
    venues = [dataclasses.replace(v, code=wrap(f"C{i:03d}")) for i, v in enumerate(venues)]
    items = [ServiceItem(code="s1", name="s")]
    links = [Link(wrap(f"C{i:03d}"), "s1", frozenset({Channel.SELF_SERVICE}))
             for i in range(0, 40, 3)]
    idx = ServiceIndex.build(venues, items, links, info=INFO)
    assert [idx.position(wrap(f"C{i:03d}")) for i in range(40)] == list(range(40))
    assert idx.position(wrap("C040")) is None and idx.position(wrap("")) is None
    assert idx.position(["unhashable"]) is None  # type: ignore[arg-type]
    assert idx.item_venue_positions("s1").tolist() == list(range(0, 40, 3))
    dup = [*venues, dataclasses.replace(venues[5], lon=100.5), dataclasses.replace(venues[7])]
    with pytest.raises(InvalidParameter) as e:
        ServiceIndex.build(dup, items, links, info=INFO)
    assert [p["reason"] for p in e.value.invalid_params] == [
        "venue code `C005` appears more than once", "venue code `C007` appears more than once"]


@pytest.mark.parametrize("narrow", [False, True])
def test_code_index_get_many_in_order_with_gaps_and_shuffled(narrow):
    """Codes in the table's order (with gaps, repeats) follow it; shuffled ones search."""
    from geosvc.index._build import CodeIndex

    codes = np.array([f"V{i:05d}" for i in range(3000)])
    idx = CodeIndex(codes, kernels=_NarrowKernels() if narrow else None)
    rng = np.random.default_rng(3)
    # a store's links: venue by venue, some venues without links, some with several
    rows = np.sort(rng.choice(3000, 2500, replace=True))
    asked = np.concatenate([codes[rows], ["nope", "V03000"], codes[rows[:5]]])
    expected = [*rows.tolist(), -1, -1, *rows[:5].tolist()]
    assert idx.get_many(asked).tolist() == expected
    shuffled = rng.permutation(len(asked))  # past 1/16 searched: the sorted-keys path
    assert idx.get_many(asked[shuffled]).tolist() == np.array(expected)[shuffled].tolist()


def test_iter_parts_equals_the_parts_of_a_build():
    """The parts a cold load writes (no tree built) equal those of a full build, exactly."""
    from geosvc.table import LinkTable, VenueTable

    rng = np.random.default_rng(5)
    n = 3000
    venues = [dataclasses.replace(v, status=None) for v in kiosks(
        100 + rng.random(n), 30 + rng.random(n))]
    venues = [dataclasses.replace(v, channels=frozenset()) if i % 7 == 0 else v
              for i, v in enumerate(venues)]  # not in service: a tree of a subset
    items = [ServiceItem(code=c, name=c) for c in ("z9", "a1", "m5")]
    order = rng.permutation(n)  # links in another order than the venues, repeated
    links = [Link(venues[p].code, items[p % 3].code, frozenset({Channel.SELF_SERVICE}))
             for p in order] + [Link(venues[5].code, "a1", frozenset({Channel.WINDOW}))]
    table, link_table = VenueTable.from_venues(venues), LinkTable.from_links(links)
    built = ServiceIndex.build(table, items, link_table, info=INFO).parts()
    made = dict(ServiceIndex.iter_parts(table, items, link_table))
    assert sorted(made) == sorted(built)
    for key, a in built.items():
        assert made[key].dtype == a.dtype and np.array_equal(made[key], a), key
    again = ServiceIndex.build(table, items, link_table, info=INFO, parts=made)
    assert again.venue_items(5) == [("a1", frozenset({Channel.WINDOW})),
                                    ("m5", frozenset({Channel.SELF_SERVICE}))]
    assert again.item_venue_positions("a1").tolist() == sorted({*range(1, n, 3), 5})
    dup = VenueTable.from_venues([*venues, venues[3]])
    with pytest.raises(InvalidParameter):
        dict(ServiceIndex.iter_parts(dup, items, link_table))
