"""Venues and links as columns (geosvc.table): encoding, lazy objects, equality."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from geosvc.index import ServiceIndex
from geosvc.model import Channel, DatasetInfo, Level, Link, Status, Venue, VenueKind
from geosvc.table import CHANNEL_SETS, NO_INT, LinkTable, OptText, VenueTable

W, S, T = Channel.WINDOW, Channel.SELF_SERVICE, Channel.SMART_TELLER


def _venues() -> list[Venue]:
    return [
        Venue("H1", "政务服务中心", VenueKind.HALL, 118.123456789012345, -30.987654321098765,
              Level.CITY, frozenset({W, S}), "D1", "宣州区", "梅溪路 1 号", "0563",
              "Mo-Fr 09:00-17:00", False, True, True, True, None, None, "Hall", "osm:node/1"),
        Venue("B1", "bank", VenueKind.BANK_OUTLET, 179.999999, 89.5, None,
              frozenset({W, S, T}), bank="某银行", machines=3),
        Venue("B2", "candidate", VenueKind.BANK_OUTLET, -180.0, -90.0),  # status derived
        Venue("K1", "kiosk", VenueKind.KIOSK, 0.0, 0.0, channels=frozenset({S}),
              area_code="D1", opening_hours="24/7", machines=0, status=Status.CLOSED),
    ]


def test_round_trip_makes_equal_venues_only_when_asked():
    vs = _venues()
    t = VenueTable.from_venues(vs)
    assert len(t) == 4 and t == vs and t == tuple(vs) and list(t) == vs
    assert t.venue(2).status is Status.CANDIDATE and t[2].is_candidate
    assert t[-1] == vs[-1] and t[1:3] == vs[1:3] and t.venues_at([3, 0]) == [vs[3], vs[0]]
    assert t[0].lon == vs[0].lon and t[0].lat == vs[0].lat  # floats exact
    assert t.machines.tolist() == [NO_INT, 3, NO_INT, 0]
    assert t.area_codes == ("D1",) and t.area.tolist() == [0, -1, -1, 0]
    assert CHANNEL_SETS[int(t.chan[1])] == {W, S, T}
    with pytest.raises(IndexError):
        t.venue(4)
    assert t != vs[:3] and t != [*vs[:3], dataclasses.replace(vs[3], name="other")]
    assert VenueTable.from_venues([]) == [] and len(VenueTable.from_rows([])) == 0


def test_columns_from_text_list_and_set_channel_forms_agree():
    vs = _venues()
    cols = {f.name: [getattr(v, f.name) for v in vs] for f in dataclasses.fields(Venue)}
    as_text = dict(cols, channels=[",".join(sorted(str(c) for c in v.channels)) for v in vs],
                   kind=[str(v.kind) for v in vs], status=[str(v.status) for v in vs],
                   official_calendar=[int(v.official_calendar) for v in vs])
    as_list = dict(cols, channels=[sorted(str(c) for c in v.channels) for v in vs])
    ref = VenueTable.from_venues(vs)
    assert VenueTable.from_columns(**as_text) == ref == VenueTable.from_columns(**as_list)
    with pytest.raises(ValueError, match="'nope'"):
        VenueTable.from_columns(**dict(cols, kind=["nope", *cols["kind"][1:]]))


def test_concat_renumbers_ids_and_keeps_rows():
    vs = _venues() * 3
    vs = [dataclasses.replace(v, code=f"{v.code}-{i}") for i, v in enumerate(vs)]
    whole = VenueTable.from_venues(vs)
    parts = [VenueTable.from_venues(vs[i:i + 5]) for i in range(0, len(vs), 5)]
    joined = VenueTable.concat(parts)
    assert joined == vs and joined == whole
    links = [Link(v.code, "I1" if i % 2 else "I2", v.channels) for i, v in enumerate(vs)]
    lt = LinkTable.concat([LinkTable.from_links(links[:4]), LinkTable.from_links(links[4:])])
    assert lt == links and lt == LinkTable.from_links(links) and lt[-1] == links[-1]


@pytest.mark.parametrize("values", [
    [None] * 5, ["a", None, "b", None, None], ["x", "y", None], [], ["长文本" * 10, None]])
def test_optional_text_sparse_or_dense(values):
    col = OptText.of(values)
    assert col.tolist() == values and len(col) == len(values)
    assert (col.rows is None) == (sum(v is not None for v in values) * 2 > len(values))
    assert OptText.concat([col, OptText.of(["z"]), col]).tolist() == [*values, "z", *values]
    if values:
        assert col.take(np.array([len(values) - 1, 0])) == [values[-1], values[0]]


def test_index_from_columns_equals_index_from_objects():
    rng = np.random.default_rng(3)
    kinds = list(VenueKind)
    vs = [Venue(f"V{i:04d}", f"venue {i}", kinds[i % 3], float(x), float(y),
                Level.TOWNSHIP if i % 3 == 0 else None,
                frozenset() if i % 7 == 0 else frozenset({W}), f"A{i % 4}",
                opening_hours=("24/7", None, "Mo-Fr 09:00-17:00")[i % 3],
                official_calendar=bool(i % 2))
          for i, (x, y) in enumerate(rng.uniform([116, 30], [118, 32], (500, 2)))]
    links = [Link(v.code, f"I{i % 5}", v.channels | {S}) for i, v in enumerate(vs)]
    links.append(Link("V0001", "I0", frozenset({T})))  # merges with V0001's own link
    from geosvc.model import ServiceItem

    items = [ServiceItem(f"I{j}", f"item {j}") for j in range(5)]
    info = DatasetInfo(calendar="cn", timezone="Asia/Shanghai")
    a = ServiceIndex.build(vs, items, links, info=info)
    b = ServiceIndex.build(VenueTable.from_venues(vs), items, LinkTable.from_links(links),
                           info=info)
    assert isinstance(b.venues, VenueTable) and b.venues == list(a.venues)
    assert b.venues_at([5, 1]) == [vs[5], vs[1]] == a.venues_at([5, 1])
    for p in (0, 1, 7, 499):
        assert b.venue_items(p) == a.venue_items(p) and b.venue(p) == a.venue(p)
        assert str(b.schedule(p)) == str(a.schedule(p))
    for x, y in rng.uniform([116, 30], [118, 32], (20, 2)):
        assert np.array_equal(a.nearest_k(x, y, 5)[0], b.nearest_k(x, y, 5)[0])
    assert a.counts_by_kind() == b.counts_by_kind()
    assert b.position("V0499") == 499 and b.position("nope") is None


def test_the_index_reads_the_same_codes():
    """The index takes the table's code columns as they are: the encodings must agree."""
    from geosvc.index import _filters
    from geosvc.table import KIND_CODE, LEVEL_CODE, STATUS_CODE, chan_bits

    assert _filters.KIND_CODE == KIND_CODE and _filters.LEVEL_CODE == LEVEL_CODE
    assert _filters.STATUS_CODE == STATUS_CODE and _filters.CHANNEL_SETS == CHANNEL_SETS
    for s in CHANNEL_SETS:
        assert _filters.channel_bits(s) == chan_bits(s)
