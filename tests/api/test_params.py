"""Query-parameter parsing: every bad parameter named at once, typed values out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from geosvc.api.params import ENDPOINT_PARAMS, MAX_BANDS, ParseContext, parse_query
from geosvc.coords import to_wgs84
from geosvc.errors import InvalidParameter
from geosvc.model import Channel, Level, VenueKind

TZ = ZoneInfo("Asia/Shanghai")
CTX = ParseContext(max_limit=1000, default_limit=50, tz=TZ,
                   known_item=lambda c: c in {"SB-01", "YB-01"})


def bad_names(endpoint: str, params: dict[str, str]) -> list[str]:
    with pytest.raises(InvalidParameter) as info:
        parse_query(endpoint, params, CTX)
    return [p["name"] for p in info.value.invalid_params]


def test_all_bad_parameters_are_reported_together() -> None:
    names = bad_names("nearest", {"lon": "abc", "lat": "95", "k": "0", "mode": "fly",
                                  "crs": "mercator", "open_at": "yesterday", "kind": "shop",
                                  "route": "maybe", "max_minutes": "-1"})
    assert sorted(names) == sorted(["lon", "lat", "k", "mode", "crs", "open_at", "kind",
                                    "route", "max_minutes"])


def test_required_and_paired_coordinates() -> None:
    assert bad_names("nearest", {}) == ["lon", "lat"]
    assert bad_names("nearest", {"lon": "118.7"}) == ["lat"]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999", "", " "])
def test_non_finite_or_empty_lon_is_refused_or_missing(value: str) -> None:
    names = bad_names("nearest", {"lon": value, "lat": "30.9"})
    assert names == ["lon"]


@pytest.mark.parametrize("bbox", ["1,2,3", "1,2,3,x", "1,5,3,4", "1,2,1,4", "0,-91,1,1",
                                  "nan,1,2,3", "1,2,3,4,5"])
def test_bad_bbox(bbox: str) -> None:
    assert bad_names("venues", {"bbox": bbox}) == ["bbox"]


def test_bbox_crossing_antimeridian_is_accepted() -> None:
    assert parse_query("venues", {"bbox": "170,-10,-170,10"}, CTX).bbox == (170, -10, -170, 10)


def test_vocabularies() -> None:
    q = parse_query("venues", {"kind": "Hall, kiosk,hall", "level": "township,village",
                               "channel": "smart_teller", "accessible": "true",
                               "item": "SB-01,YB-01", "include_candidates": "1"}, CTX)
    assert q.filter.kinds == (VenueKind.HALL, VenueKind.KIOSK)
    assert q.filter.levels == (Level.TOWNSHIP, Level.VILLAGE)
    assert q.filter.channel is Channel.SMART_TELLER
    assert q.filter.accessible is True
    assert q.filter.items == ("SB-01", "YB-01")
    assert q.filter.include_candidates is True
    assert bad_names("venues", {"channel": "window,self_service"}) == ["channel"]


@pytest.mark.parametrize(("label", "code"), [
    ({"level": "县"}, {"level": "county"}),
    ({"level": "縣,鄉鎮"}, {"level": "county,township"}),
    ({"kind": "便民服務中心"}, {"kind": "hall"}),
    ({"kind": "便民服务中心,自助終端"}, {"kind": "hall,kiosk"}),
    ({"kind": "銀行網點"}, {"kind": "bank_outlet"}),
    ({"channel": "窗口"}, {"channel": "window"}),
    ({"channel": "智慧櫃員機"}, {"channel": "smart_teller"}),
])
def test_vocabulary_filters_take_the_importers_chinese_labels(label, code) -> None:
    """Simplified and traditional labels mean their code, as in the importer."""
    assert parse_query("venues", label, CTX).filter == parse_query("venues", code, CTX).filter


def test_an_unknown_label_is_still_a_400_naming_the_parameter() -> None:
    with pytest.raises(InvalidParameter) as info:
        parse_query("venues", {"level": "县,省", "kind": "医院", "channel": "窗口,自助"}, CTX)
    assert {p["name"]: p["reason"] for p in info.value.invalid_params} == {
        "level": "must be a comma list of city | county | township | village; unknown '省'",
        "kind": "must be a comma list of hall | bank_outlet | kiosk; unknown '医院'",
        "channel": "takes one value, one of window | self_service | smart_teller",
    }


def test_unknown_item_code_is_named() -> None:
    with pytest.raises(InvalidParameter) as info:
        parse_query("venues", {"item": "SB-01,NOPE-9"}, CTX)
    assert info.value.invalid_params == [
        {"name": "item", "reason": "has unknown item code(s): NOPE-9"}]


def test_open_at_without_offset_is_in_dataset_zone() -> None:
    q = parse_query("venues", {"open_at": "2026-05-06T10:30"}, CTX)
    assert q.filter.open_at == datetime(2026, 5, 6, 10, 30, tzinfo=TZ)
    assert q.time_given
    q = parse_query("venues", {"open_at": "2026-05-06T02:30Z"}, CTX)
    assert q.filter.open_at.utcoffset() == timedelta(0)
    assert q.filter.open_at == datetime(2026, 5, 6, 10, 30, tzinfo=TZ)


def test_open_now_and_open_at_conflict() -> None:
    assert bad_names("venues", {"open_now": "true", "open_at": "2026-05-06T10:30"}) == [
        "open_now"]
    now = datetime(2026, 5, 6, 3, 0, tzinfo=UTC)
    ctx = ParseContext(max_limit=10, default_limit=5, tz=TZ, now=now)
    q = parse_query("venues", {"open_now": "true"}, ctx)
    assert q.filter.open_at == now and q.limit == 5
    q = parse_query("venues", {"open_now": "false"}, ctx)
    assert q.filter.open_at is None and q.at == now


def test_paging_bounds() -> None:
    ctx = ParseContext(max_limit=20, default_limit=5, tz=TZ)
    assert parse_query("venues", {"limit": "20", "offset": "7"}, ctx).limit == 20
    with pytest.raises(InvalidParameter) as info:
        parse_query("venues", {"limit": "21", "offset": "-1"}, ctx)
    assert [p["name"] for p in info.value.invalid_params] == ["limit", "offset"]
    assert "between 1 and 20" in info.value.detail


def test_minutes_bands_and_single() -> None:
    q = parse_query("isochrones", {"lon": "1", "lat": "2", "minutes": "15,5,10,5"}, CTX)
    assert q.minutes == (5.0, 10.0, 15.0) and q.mode == "walk"
    too_many = ",".join(str(i) for i in range(1, MAX_BANDS + 2))
    assert bad_names("isochrones", {"lon": "1", "lat": "2", "minutes": too_many}) == ["minutes"]
    assert bad_names("isochrones", {"lon": "1", "lat": "2", "minutes": "5,121"}) == ["minutes"]
    assert bad_names("isochrones", {"lon": "1", "lat": "2", "mode": "boat"}) == ["mode"]
    assert q.shape is None  # the router's default outline
    assert parse_query("isochrones", {"lon": "1", "lat": "2", "shape": "Streets"},
                       CTX).shape == "streets"
    assert bad_names("isochrones", {"lon": "1", "lat": "2", "shape": "hull"}) == ["shape"]
    # straight lines need no road network: isochrones and coverage accept them too
    assert parse_query("isochrones", {"lon": "1", "lat": "2", "mode": "straight"},
                       CTX).mode == "straight"
    assert parse_query("coverage", {"mode": "Straight"}, CTX).mode == "straight"
    assert parse_query("coverage", {"minutes": "12.5"}, CTX).minutes == (12.5,)
    assert bad_names("coverage", {"minutes": "5,10"}) == ["minutes"]
    assert bad_names("nearest", {"lon": "1", "lat": "2", "max_minutes": "181"}) == [
        "max_minutes"]


def test_crs_converts_query_point_to_wgs84() -> None:
    q = parse_query("nearest", {"lon": "118.76", "lat": "30.94", "crs": "GCJ-02"}, CTX)
    assert q.crs == "gcj02"
    assert (q.lon, q.lat) == pytest.approx(to_wgs84(118.76, 30.94, "gcj02"), abs=1e-12)
    assert abs(q.lon - 118.76) > 1e-4  # the offset really applied


def test_q_length_and_control_characters() -> None:
    assert bad_names("items", {"q": "x" * 101}) == ["q"]
    assert bad_names("items", {"q": "a\x00b"}) == ["q"]
    assert parse_query("items", {"q": "  社保  "}, CTX).q == "社保"


def test_unknown_parameters_are_ignored() -> None:
    q = parse_query("venues", {"f": "json", "_": "123", "kind": "kiosk"}, CTX)
    assert q.filter.kinds == (VenueKind.KIOSK,)


def test_every_endpoint_parameter_has_a_schema_and_description() -> None:
    for endpoint, specs in ENDPOINT_PARAMS.items():
        names = [p.name for p in specs]
        assert len(names) == len(set(names)), endpoint
        for p in specs:
            assert p.description and p.schema.get("type"), (endpoint, p.name)


@pytest.mark.parametrize("value", ["9999-12-31T23:59", "9999-12-31T23:59:59-12:00",
                                   "0001-01-01T00:00", "0001-01-01T00:00:00+14:00"])
def test_open_at_beyond_the_calendar_is_refused(value: str) -> None:
    # these reached the hours code and overflowed (a 500) before
    assert bad_names("nearest", {"lon": "1", "lat": "2", "open_at": value}) == ["open_at"]


def test_open_at_far_but_representable_is_accepted() -> None:
    q = parse_query("venues", {"open_at": "9997-06-01T10:00"}, CTX)
    assert q.filter.open_at == datetime(9997, 6, 1, 10, tzinfo=TZ)
