"""ServiceIndex: exact equality with brute force for every filter, and the edge cases."""

from __future__ import annotations

import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from geosvc.coords import geodesic_distance_m
from geosvc.errors import InvalidParameter
from geosvc.hours import compile_schedule, get_calendar
from geosvc.index import ServiceIndex
from geosvc.model import (
    KIND_CHANNELS,
    Channel,
    DatasetInfo,
    Level,
    Link,
    Scope,
    ServiceItem,
    Venue,
    VenueFilter,
    VenueKind,
)

TZ = ZoneInfo("Asia/Shanghai")
INFO = DatasetInfo(name="test", timezone="Asia/Shanghai", calendar="cn")
HOURS = (
    "Mo-Fr 09:00-12:00,13:30-17:00; PH off",  # lunch break, statutory holidays closed
    "24/7",
    None,  # unknown: never open
    "Mo-Su 08:00-20:00",
    "Mo-Fr 09:00-17:00; Sa 09:00-12:00",
)
AREAS = ("A1", "A2", "A3")
# share of venues handling each item; item i5 is county-scoped
ITEM_SHARE = (0.6, 0.45, 0.3, 0.2, 0.1, 0.35, 0.05, 0.02)
TIMES = (
    datetime(2026, 9, 30, 10, 0, tzinfo=TZ),  # Wednesday morning
    datetime(2026, 9, 30, 12, 30, tzinfo=TZ),  # lunch break
    datetime(2026, 9, 30, 22, 0, tzinfo=TZ),  # night: 24/7 only
    datetime(2026, 10, 1, 10, 0, tzinfo=TZ),  # National Day (PH)
    datetime(2026, 10, 10, 10, 0, tzinfo=TZ),  # Saturday, make-up working day
)


def make_dataset(
    n: int, seed: int, *, lon0: float = 117.0, lat0: float = 31.0, spread: float = 0.15
):
    """Seeded venues around (lon0, lat0) with every attribute the filters look at."""
    rng = np.random.default_rng(seed)
    kinds = list(VenueKind)
    venues = []
    for i in range(n):
        kind = kinds[rng.choice(3, p=[0.4, 0.35, 0.25])]
        allowed = sorted(KIND_CHANNELS[kind])
        if kind is VenueKind.BANK_OUTLET and rng.random() < 0.2:
            chans: frozenset[Channel] = frozenset()  # planning candidate
        else:
            chans = frozenset(c for c in allowed if rng.random() < 0.7) or frozenset(
                allowed[:1]
            )
        level = (
            None
            if (kind is not VenueKind.HALL and rng.random() < 0.5)
            else list(Level)[rng.integers(4)]
        )
        venues.append(
            Venue(
                code=f"V{i:05d}",
                name=f"venue {i}",
                kind=kind,
                lon=float(lon0 + rng.normal(0, spread)),
                lat=float(lat0 + rng.normal(0, spread)),
                level=level,
                channels=chans,
                area_code=AREAS[rng.integers(3)],
                opening_hours=HOURS[rng.integers(len(HOURS))],
                official_calendar=bool(rng.random() < 0.8),
                accessible=bool(rng.random() < 0.3),
            )
        )
    items = [
        ServiceItem(
            code=f"i{j}", name=f"item {j}", scope=Scope.COUNTY if j == 5 else Scope.CITY
        )
        for j in range(len(ITEM_SHARE))
    ]
    links = []
    for v in venues:
        for j, share in enumerate(ITEM_SHARE):
            if v.channels and rng.random() < share:
                ch = frozenset(c for c in v.channels if rng.random() < 0.6) or frozenset(
                    v.channels
                )
                links.append(Link(v.code, f"i{j}", ch))
    return venues, items, links


def reference_mask(venues, items, links, flt: VenueFilter, at=None) -> np.ndarray:
    """The filter semantics, written directly over the domain objects."""
    by_venue: dict[str, dict[str, frozenset]] = {}
    for link in links:
        by_venue.setdefault(link.venue_code, {})[link.item_code] = link.channels
    scope = {it.code: it.scope for it in items}
    cal = get_calendar(INFO.calendar)
    at = at if at is not None else flt.open_at
    out = np.zeros(len(venues), dtype=bool)
    for p, v in enumerate(venues):
        if v.is_candidate and not flt.include_candidates:
            continue
        if flt.kinds and v.kind not in flt.kinds:
            continue
        if flt.levels and v.level not in flt.levels:
            continue
        if flt.channel is not None and flt.channel not in v.channels:
            continue
        if flt.accessible and not v.accessible:
            continue
        ok = True
        for code in flt.items:
            chans = by_venue.get(v.code, {}).get(code)
            if chans is None or code not in scope:
                ok = False
            elif flt.channel is not None and flt.channel not in chans:
                ok = False
            elif (
                scope[code] is Scope.COUNTY
                and flt.home_area is not None
                and v.area_code != flt.home_area
            ):
                ok = False
        if not ok:
            continue
        if at is not None:
            sched = compile_schedule(
                v.opening_hours, tz=INFO.timezone, calendar=cal if v.official_calendar else None
            )
            if not sched.is_open(at):
                continue
        out[p] = True
    return out


def brute_nearest(lon_arr, lat_arr, mask, lon, lat, k, max_dist_m=None):
    d = geodesic_distance_m(lon, lat, lon_arr, lat_arr)
    ok = mask.copy()
    if max_dist_m is not None:
        ok &= d <= max_dist_m
    pos = np.flatnonzero(ok)
    order = np.lexsort((pos, d[pos]))[:k]
    return pos[order], d[pos][order]


@pytest.fixture(scope="module")
def data():
    return make_dataset(3000, seed=7)


@pytest.fixture(scope="module")
def idx(data):
    return ServiceIndex.build(*data, info=INFO)


FILTERS = (
    [
        VenueFilter(),
        VenueFilter(include_candidates=True),
        VenueFilter(kinds=(VenueKind.HALL,)),
        VenueFilter(kinds=(VenueKind.KIOSK, VenueKind.BANK_OUTLET)),
        VenueFilter(levels=(Level.TOWNSHIP,)),
        VenueFilter(levels=(Level.CITY, Level.COUNTY), kinds=(VenueKind.HALL,)),
        VenueFilter(items=("i0",)),
        VenueFilter(items=("i2",)),
        VenueFilter(items=("i4",)),
        VenueFilter(items=("i7",)),  # rare: ranked directly
        VenueFilter(items=("i0", "i1")),
        VenueFilter(items=("i1", "i3")),
        VenueFilter(channel=Channel.SMART_TELLER),
        VenueFilter(channel=Channel.WINDOW, items=("i0",)),
        VenueFilter(channel=Channel.SELF_SERVICE, items=("i1", "i2")),
        VenueFilter(accessible=True),
        VenueFilter(accessible=True, items=("i0",), kinds=(VenueKind.HALL,)),
        VenueFilter(
            accessible=True, kinds=(VenueKind.HALL,)
        ),  # 1 in 8.5: own sub-index on reuse
        VenueFilter(items=("i5",), home_area="A2"),
        VenueFilter(items=("i5", "i0"), home_area="A1", channel=Channel.WINDOW),
        VenueFilter(items=("i5",), home_area="nowhere"),
        VenueFilter(items=("i5",)),  # no home_area: no area restriction
        VenueFilter(items=("nope",)),  # unknown item: no match
        VenueFilter(include_candidates=True, kinds=(VenueKind.BANK_OUTLET,)),
    ]
    + [VenueFilter(open_at=t) for t in TIMES]
    + [
        VenueFilter(open_at=TIMES[0], items=("i2",), channel=Channel.WINDOW),
        VenueFilter(open_at=TIMES[2], kinds=(VenueKind.KIOSK,)),
        VenueFilter(open_at=TIMES[4], items=("i0",), accessible=True),
    ]
)


@pytest.mark.parametrize("flt", FILTERS, ids=lambda f: repr(f.cache_key()) + str(f.open_at))
def test_mask_equals_reference(data, idx, flt):
    expected = reference_mask(*data, flt)
    np.testing.assert_array_equal(idx.mask(flt), expected)


def test_filter_semantics_are_not_trivial(data, idx):
    """The fixture exercises every condition: each filter removes some venues and keeps some."""
    everything = idx.mask(VenueFilter(include_candidates=True)).sum()
    for flt in FILTERS[2:-8]:
        n = idx.mask(flt).sum()
        if "nope" in flt.items or flt.home_area == "nowhere":
            assert n == 0
        else:
            assert 0 < n < everything, flt
    # home_area restricts county-scoped items only; open_at differs between times
    assert (
        idx.mask(VenueFilter(items=("i5",), home_area="A2")).sum()
        < idx.mask(VenueFilter(items=("i5",))).sum()
    )
    open_counts = [idx.mask(VenueFilter(open_at=t)).sum() for t in TIMES]
    assert len(set(open_counts)) == len(TIMES)
    # candidates are excluded by default
    cands = np.array([v.is_candidate for v in data[0]])
    assert cands.any() and not idx.mask(VenueFilter())[cands].any()


@pytest.mark.parametrize("flt", FILTERS, ids=lambda f: repr(f.cache_key()) + str(f.open_at))
def test_nearest_equals_brute_force(data, idx, flt):
    venues = data[0]
    lon = np.array([v.lon for v in venues])
    lat = np.array([v.lat for v in venues])
    ref = reference_mask(*data, flt)
    rng = np.random.default_rng(abs(hash(repr(flt.cache_key()))) % 2**32)
    # mostly inside the cloud, some far outside it
    pts = np.column_stack([117 + rng.normal(0, 0.25, 120), 31 + rng.normal(0, 0.25, 120)])
    pts = np.vstack([pts, [[118.5, 32.0], [100.0, 10.0]]])
    for i, (x, y) in enumerate(pts):
        k = (1, 5, 12)[i % 3]
        pos, dist = idx.nearest_k(x, y, k, flt)
        exp_pos, exp_d = brute_nearest(lon, lat, ref, x, y, k)
        np.testing.assert_array_equal(pos, exp_pos)
        np.testing.assert_allclose(dist, exp_d, rtol=1e-12, atol=1e-9)
        assert np.all(np.diff(dist) >= 0)


def test_sub_indexes_are_built_lazily_and_used(data):
    idx = ServiceIndex.build(*data, info=INFO)
    venues = data[0]
    lon = np.array([v.lon for v in venues])
    lat = np.array([v.lat for v in venues])
    item_flt = VenueFilter(items=("i2",), channel=Channel.WINDOW)
    sel_flt = VenueFilter(accessible=True, kinds=(VenueKind.HALL,))
    assert len(idx._search.subtrees) == 0
    for flt in (item_flt, sel_flt):
        ref = reference_mask(*data, flt)
        for x, y in [(117.0, 31.0), (117.1, 30.9), (116.5, 31.5)]:
            np.testing.assert_array_equal(
                idx.nearest_k(x, y, 5, flt)[0], brute_nearest(lon, lat, ref, x, y, 5)[0]
            )
    keys = {key[0] for key in idx._search.subtrees._data}
    assert keys == {"item", "filter"}  # i2's tree; the selective filter's own tree


def test_nearest_with_max_dist(data, idx):
    venues = data[0]
    lon = np.array([v.lon for v in venues])
    lat = np.array([v.lat for v in venues])
    rng = np.random.default_rng(3)
    for flt in (VenueFilter(), VenueFilter(items=("i2",)), VenueFilter(open_at=TIMES[2])):
        ref = reference_mask(*data, flt)
        for x, y, r in zip(
            117 + rng.normal(0, 0.2, 60),
            31 + rng.normal(0, 0.2, 60),
            rng.choice([0.0, 300.0, 1500.0, 8000.0], 60), strict=True,
        ):
            pos, dist = idx.nearest_k(x, y, 10, flt, max_dist_m=float(r))
            exp_pos, exp_d = brute_nearest(lon, lat, ref, x, y, 10, max_dist_m=r)
            np.testing.assert_array_equal(pos, exp_pos)
            assert np.all(dist <= r)


def test_k_larger_than_matches(data, idx):
    flt = VenueFilter(items=("i7",), kinds=(VenueKind.HALL,))
    expected = np.flatnonzero(reference_mask(*data, flt))
    assert 0 < len(expected) < 60
    pos, dist = idx.nearest_k(117.0, 31.0, 1000, flt)
    assert sorted(pos.tolist()) == expected.tolist()
    assert np.all(np.diff(dist) >= 0)
    big = idx.nearest_k(117.0, 31.0, 5000, VenueFilter(include_candidates=True))[0]
    assert sorted(big.tolist()) == list(range(3000))


@pytest.mark.parametrize(
    "flt",
    [
        VenueFilter(),
        VenueFilter(items=("i3",), channel=Channel.WINDOW),
        VenueFilter(kinds=(VenueKind.KIOSK,), open_at=TIMES[1]),
    ],
)
def test_bbox_equals_brute_force(data, idx, flt):
    venues = data[0]
    lon = np.array([v.lon for v in venues])
    lat = np.array([v.lat for v in venues])
    ref = reference_mask(*data, flt)
    rng = np.random.default_rng(11)
    for _ in range(150):
        x0, y0 = 117 + rng.normal(0, 0.2), 31 + rng.normal(0, 0.2)
        w, h = rng.exponential(0.1, 2)
        got = idx.query_bbox((x0, y0, x0 + w, y0 + h), flt)
        exp = np.flatnonzero(
            ref & (lon >= x0) & (lon <= x0 + w) & (lat >= y0) & (lat <= y0 + h)
        )
        np.testing.assert_array_equal(got, exp)  # ascending by position
    assert len(idx.query_bbox((-180, -90, 180, 90), flt)) == ref.sum()
    # a venue exactly on the edge is inside
    v = venues[int(np.flatnonzero(ref)[0])]
    assert idx.position(v.code) in idx.query_bbox((v.lon, v.lat, v.lon + 1, v.lat + 1), flt)


def test_candidate_positions_ignore_time(data, idx):
    flt = VenueFilter(items=("i1",), open_at=TIMES[2])
    np.testing.assert_array_equal(
        idx.candidate_positions(flt), np.flatnonzero(idx.mask(flt.without_time()))
    )
    assert idx.mask(flt).sum() < len(idx.candidate_positions(flt))
    # mask(at=...) overrides open_at
    np.testing.assert_array_equal(
        idx.mask(flt, at=TIMES[0]), reference_mask(*data, flt, at=TIMES[0])
    )


def test_lookups(data, idx):
    venues, items, links = data
    assert len(idx) == 3000 and idx.venues == tuple(venues) and idx.items == tuple(items)
    assert idx.position("V00042") == 42 and idx.position("missing") is None
    assert idx.item("i5").scope is Scope.COUNTY and idx.item("nope") is None
    got = idx.venue_items(42)
    exp = sorted((lk.item_code, lk.channels) for lk in links if lk.venue_code == "V00042")
    assert got == exp
    pos = idx.item_venue_positions("i4")
    assert pos.tolist() == sorted(
        int(lk.venue_code[1:]) for lk in links if lk.item_code == "i4"
    )
    assert len(idx.item_venue_positions("nope")) == 0
    counts = idx.counts_by_kind()
    assert sum(counts.values()) == 3000
    assert counts[VenueKind.HALL] == sum(v.kind is VenueKind.HALL for v in venues)
    halls = idx.counts_by_kind(VenueFilter(kinds=(VenueKind.HALL,)))
    assert halls[VenueKind.KIOSK] == 0 and halls[VenueKind.HALL] > 0


def test_schedule_and_open_on_arrival(idx):
    p24 = next(i for i, v in enumerate(idx.venues) if v.opening_hours == "24/7")
    plunch = next(
        i
        for i, v in enumerate(idx.venues)
        if v.opening_hours == HOURS[0] and v.official_calendar
    )
    assert idx.schedule(p24).always_open
    assert idx.schedule(plunch).is_open(TIMES[0]) and not idx.schedule(plunch).is_open(TIMES[1])
    assert not idx.schedule(plunch).is_open(TIMES[3])  # National Day
    assert idx.schedule(plunch) is idx.schedule(plunch)  # cached
    at = datetime(2026, 9, 30, 11, 45, tzinfo=TZ)  # closes for lunch at 12:00
    assert idx.open_margin_min == 30.0
    assert idx.schedule(plunch).is_open(at) and not idx.open_on_arrival(plunch, at)
    assert idx.open_on_arrival(p24, at)


def test_helsinki_latitude_60():
    venues, items, links = make_dataset(800, seed=60, lon0=24.94, lat0=60.17, spread=0.08)
    idx = ServiceIndex.build(venues, items, links, info=INFO)
    lon = idx.lon.copy()
    lat = idx.lat.copy()
    everything = np.ones(len(venues), bool)
    rng = np.random.default_rng(60)
    xs, ys = 24.94 + rng.normal(0, 0.15, 300), 60.17 + rng.normal(0, 0.08, 300)
    for x, y in zip(xs, ys, strict=True):
        pos, d = idx.nearest_k(x, y, 7, VenueFilter(include_candidates=True))
        np.testing.assert_array_equal(pos, brute_nearest(lon, lat, everything, x, y, 7)[0])


def test_poles_and_antimeridian():
    rng = np.random.default_rng(90)
    pts = [
        (-179.99, 0.0),
        (179.0, 0.0),
        (-178.0, 0.5),
        (0.0, 89.99),
        (180.0, 89.98),
        (90.0, -89.995),
        (-90.0, -89.99),
    ]
    pts += [
        (float(x), float(y))
        for x, y in zip(rng.uniform(-180, 180, 400), rng.uniform(-90, 90, 400), strict=True)
    ]
    pts += [
        (float(x), float(y))
        for x, y in zip(rng.uniform(-180, 180, 300), rng.uniform(88, 90, 300), strict=True)
    ]
    venues = [
        Venue(
            code=f"P{i}",
            name="p",
            kind=VenueKind.KIOSK,
            lon=x,
            lat=y,
            channels=frozenset({Channel.SELF_SERVICE}),
        )
        for i, (x, y) in enumerate(pts)
    ]
    idx = ServiceIndex.build(venues, [], [], info=INFO)
    pos, d = idx.nearest_k(179.99, 0.0, 1)
    assert pos.tolist() == [0] and d[0] == pytest.approx(2 * 0.01 * 111195.08, rel=1e-4)
    assert idx.query_bbox((179.5, -1, -179.5, 1)).tolist() == [0]  # crosses the antimeridian
    lon, lat = idx.lon.copy(), idx.lat.copy()
    everything = np.ones(len(venues), bool)
    queries = [
        (179.99, 0.0),
        (-180.0, 0.2),
        (0.0, 90.0),
        (123.0, 89.999),
        (0.0, -90.0),
        (45.0, -89.99),
    ]
    queries += [
        (float(x), float(y))
        for x, y in zip(rng.uniform(-180, 180, 300), rng.uniform(85, 90, 300), strict=True)
    ]
    for x, y in queries:
        got = idx.nearest_k(x, y, 6)
        exp = brute_nearest(lon, lat, everything, x, y, 6)
        np.testing.assert_array_equal(got[0], exp[0])
        np.testing.assert_allclose(got[1], exp[1], rtol=1e-9)


def test_duplicate_coordinates_tie_by_position():
    venues = [
        Venue(
            code=f"D{i}",
            name="d",
            kind=VenueKind.KIOSK,
            lon=117.0,
            lat=31.0,
            channels=frozenset({Channel.SELF_SERVICE}),
        )
        for i in range(300)
    ]
    venues += [
        Venue(
            code=f"E{i}",
            name="e",
            kind=VenueKind.KIOSK,
            lon=117.0 + 0.001 * i,
            lat=31.01,
            channels=frozenset({Channel.SELF_SERVICE}),
        )
        for i in range(300)
    ]
    idx = ServiceIndex.build(venues, [], [], info=INFO)
    pos, d = idx.nearest_k(117.0, 31.0, 5)
    assert pos.tolist() == [0, 1, 2, 3, 4] and np.all(d == 0)
    pos, d = idx.nearest_k(117.0, 31.0, 302)
    assert pos[:300].tolist() == list(range(300)) and pos[300] == 300


def test_empty_index():
    idx = ServiceIndex.build([], [], [], info=INFO)
    pos, d = idx.nearest_k(117.0, 31.0, 5)
    assert len(pos) == 0 and len(d) == 0
    assert len(idx.query_bbox((0, 0, 1, 1))) == 0
    assert len(idx.mask(VenueFilter(open_at=TIMES[0]))) == 0
    assert idx.counts_by_kind() == {k: 0 for k in VenueKind}


def test_immutable_and_independent(data, idx):
    venues, items, links = data
    before_lon = idx.lon.copy()
    for arr in (
        idx.lon,
        idx.lat,
        idx.item_venue_positions("i0"),
        idx.candidate_positions(VenueFilter()),
    ):
        with pytest.raises(ValueError):
            arr[0] = 0
    with pytest.raises(AttributeError):
        idx.venues = ()
    with pytest.raises(AttributeError):
        idx.lon = np.zeros(3)
    assert isinstance(idx.venues, tuple) and isinstance(idx.items, tuple)
    moved = [
        Venue(
            code=v.code, name=v.name, kind=v.kind, lon=v.lon + 1, lat=v.lat, channels=v.channels
        )
        for v in venues[:50]
    ]
    other = ServiceIndex.build(moved, items, links[:10], info=INFO)
    assert len(other) == 50
    np.testing.assert_array_equal(idx.lon, before_lon)
    assert (
        idx.nearest_k(venues[0].lon, venues[0].lat, 1, VenueFilter(include_candidates=True))[0][
            0
        ]
        == 0
    )
    assert len(data[0]) == 3000  # the caller's lists are untouched


def test_unknown_links_warn_and_are_skipped(data):
    venues, items, links = data
    bad = [
        *links[:20],
        Link("ghost", "i0", frozenset({Channel.WINDOW})),
        Link("V00001", "ghost", frozenset()),
    ]
    with pytest.warns(UserWarning, match="2 link"):
        idx = ServiceIndex.build(venues[:100], items, bad, info=INFO)
    assert sum(len(idx.venue_items(p)) for p in range(100)) == len(
        {(lk.venue_code, lk.item_code) for lk in links[:20]}
    )


@pytest.mark.parametrize(
    "lon, lat",
    [
        (float("nan"), 31.0),
        (117.0, float("inf")),
        (181.0, 0.0),
        (0.0, -90.5),
        (None, 1.0),
        ("x", 1.0),
    ],
)
def test_bad_query_points(idx, lon, lat):
    with pytest.raises(InvalidParameter) as err:
        idx.nearest_k(lon, lat, 5)
    assert err.value.invalid_params[0]["name"] in ("lon", "lat")


def test_bad_arguments(data, idx):
    venues, items, links = data
    with pytest.raises(InvalidParameter, match="`lat` of venue `V00003`"):
        bad = list(venues[:5])
        bad[3] = Venue(
            code="V00003", name="n", kind=VenueKind.HALL, lon=117.0, lat=float("nan")
        )
        ServiceIndex.build(bad, items, [], info=INFO)
    with pytest.raises(ValueError, match="appears more than once"):
        ServiceIndex.build([venues[0], venues[0]], items, [], info=INFO)
    for k in (0, -1, 2.5, True):
        with pytest.raises(InvalidParameter, match="`k`"):
            idx.nearest_k(117.0, 31.0, k)
    with pytest.raises(InvalidParameter, match="`max_dist_m`"):
        idx.nearest_k(117.0, 31.0, 3, max_dist_m=float("nan"))
    with pytest.raises(InvalidParameter, match="`open_at`"):
        idx.nearest_k(117.0, 31.0, 3, VenueFilter(open_at=datetime(2026, 1, 1, 10)))
    for bbox in ((0, 0, 1), (0, float("nan"), 1, 1), (0, 2, 1, 1), (0, 0, 200, 1), "abcd"):
        with pytest.raises(InvalidParameter, match="`bbox`"):
            idx.query_bbox(bbox)
    with pytest.raises(InvalidParameter, match="`kind`"):
        idx.mask(VenueFilter(kinds=("castle",)))


def test_concurrent_readers(data, idx):
    flt = VenueFilter(items=("i3",), channel=Channel.SELF_SERVICE)
    pts = [(117 + 0.01 * i, 31 - 0.005 * i) for i in range(40)]
    expected = [idx.nearest_k(x, y, 5, flt)[0].tolist() for x, y in pts]
    results: list[list] = [None] * 4

    def work(t):
        results[t] = [idx.nearest_k(x, y, 5, flt)[0].tolist() for x, y in pts]

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert all(r == expected for r in results)
