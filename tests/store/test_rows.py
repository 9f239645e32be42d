"""Row <-> record conversion and change detection shared by the SQL backends."""

from __future__ import annotations

import pytest

from geosvc.errors import InvalidParameter
from geosvc.model import DatasetInfo, Link
from geosvc.store import Batch
from geosvc.store._rows import (
    channel_names,
    check_batch,
    info_from,
    info_meta,
    item_row,
    items_from,
    link_row,
    links_from,
    split_changes,
    venue_row,
    venues_from,
)
from tests.store.records import ITEMS, LINKS, VENUES, W

# (flag encoding, channel encoding): SQLite, PostgreSQL
ENCODINGS = [(int, None), (bool, channel_names)]


@pytest.mark.parametrize(("flag", "channels"), ENCODINGS, ids=["sqlite", "postgis"])
def test_records_survive_either_row_encoding(flag, channels) -> None:
    """Records -> rows -> records is the identity in the SQLite and the PostgreSQL form."""
    kw = {} if channels is None else {"channels": channels}
    venue_rows = [venue_row(v, flag=flag, **kw) for v in VENUES]
    assert all(type(r[12]) is flag for r in venue_rows)  # official_calendar
    assert venues_from(venue_rows) == VENUES
    assert items_from([item_row(i, flag=flag) for i in ITEMS]) == ITEMS
    assert links_from([link_row(k, **kw) for k in LINKS]) == LINKS


def test_channel_encodings_are_sorted_so_equal_sets_give_equal_rows() -> None:
    """Channels are stored sorted, so an equal set is never seen as a change."""
    a = Link("V", "I", frozenset({W}) | {c for c in VENUES[1].channels})
    rows = {link_row(a), link_row(Link("V", "I", frozenset(reversed(sorted(a.channels)))))}
    assert rows == {("V", "I", "self_service,smart_teller,window")}
    assert link_row(a, channels=channel_names)[2] == ["self_service", "smart_teller", "window"]


def test_info_meta_round_trip_and_no_change_detection() -> None:
    """Settings written as meta read back equal, and equal settings need no write."""
    info = DatasetInfo(name="x", timezone="Asia/Shanghai", calendar=None, country="CN",
                       extra={"k": "v"})
    meta = info_meta(info, [("revision", "3"), ("schema_version", "1")])
    assert meta is not None
    stored = [("revision", "3"), *meta.items()]
    assert info_from(stored) == info
    assert info_meta(info, stored) is None  # unchanged: nothing to write
    assert info_from([("revision", "0")]) == DatasetInfo()


def test_split_changes_counts_created_updated_unchanged() -> None:
    """New keys are created, differing rows updated, equal rows left alone."""
    rows = [venue_row(v) for v in VENUES]
    stored = {rows[0][:1]: rows[0], rows[1][:1]: rows[1][:-1] + ("other",)}
    created, updated = split_changes(((r, r[0]) for r in rows), stored, 1)
    assert created == ["K1", "B2"]
    assert updated == ["B1"]


def test_check_batch_names_the_repeated_key() -> None:
    """A key repeated within one batch is refused, naming `batch` and the key."""
    with pytest.raises(InvalidParameter, match="venue code 'H1' twice") as err:
        check_batch(Batch(venues=[VENUES[0], VENUES[0]]))
    assert [p["name"] for p in err.value.invalid_params] == ["batch"]
