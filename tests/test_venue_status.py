"""Venue status instead of hidden rows (issue 9, item 7).

A bureau file with a status column in Chinese (simplified and traditional),
bank outlets without channels, planned and closed sites: the importer
validates and counts statuses and warns about candidates nobody asked for;
only venues in service answer service queries, candidates with
``include_candidates``, planned and closed ones only in the venue list's
``status`` filter.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from geosvc.cli import main
from geosvc.errors import ImportRejected
from geosvc.importer import import_file
from geosvc.index import ServiceIndex
from geosvc.model import (
    Channel,
    DatasetInfo,
    Status,
    Venue,
    VenueFilter,
    VenueKind,
    derived_status,
)
from geosvc.store import open_store
from geosvc.web import create_app

HEADER = ("编码", "名称", "类型", "经度", "纬度", "层级", "渠道", "状态")
#: Around (118.76, 30.94); the closest venues to the query point are not in service.
ROWS = [
    ("P-1", "规划中的便民服务中心", "大厅", 118.7600, 30.9400, "乡镇", "", "筹建"),
    ("C-1", "已关闭的自助服务站", "自助终端", 118.7601, 30.9401, "", "", "停用"),
    ("B-1", "工商银行 甲支行", "银行网点", 118.7602, 30.9402, "", "", ""),
    ("B-2", "建设银行 乙支行", "银行网点", 118.7603, 30.9403, "", "", ""),
    ("B-3", "農業銀行 丙支行", "銀行網點", 118.7604, 30.9404, "", "", ""),
    ("B-4", "中國銀行 丁支行", "銀行網點", 118.7605, 30.9405, "", "", "候選"),
    ("B-5", "交通银行 戊支行", "银行网点", 118.7606, 30.9406, "", "窗口", "运营中"),
    ("H-1", "市政务服务中心", "便民服务中心", 118.7700, 30.9500, "市", "", ""),
    ("K-1", "自助服务站", "自助终端", 118.7800, 30.9600, "", "", "已關閉"),
]
POINT = (118.7600, 30.9400)


def write_csv(path: Path, rows: list[tuple[Any, ...]] = ROWS) -> Path:
    """Write a bureau-style CSV with simplified-Chinese headers and a status column."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A dataset holding :data:`ROWS` (imported through the CLI's library call)."""
    path = tmp_path / "status.sqlite"
    with open_store(str(path)) as store:
        import_file(store, "venues", write_csv(tmp_path / "venues.csv"))
    return path


# ---------------------------------------------------------------------- import

def test_statuses_are_read_from_labels_and_derived_when_empty(db: Path) -> None:
    """Chinese labels in both scripts; empty = candidate for a bank outlet without channels."""
    with open_store(str(db), create=False) as store:
        got = {v.code: v.status for v in store.venues()}
    assert got == {"P-1": "planned", "C-1": "closed", "B-1": "candidate", "B-2": "candidate",
                   "B-3": "candidate", "B-4": "candidate", "B-5": "in_service",
                   "H-1": "in_service", "K-1": "closed"}


def test_cli_summary_counts_each_status_and_warns_about_bare_bank_outlets(
        tmp_path: Path) -> None:
    """Three bank outlets without channels and status: one warning on stderr, with the fix."""
    res = CliRunner().invoke(main, ["import", "venues", str(write_csv(tmp_path / "v.csv")),
                                    "--db", str(tmp_path / "v.sqlite")])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == ("venues: 9 rows, 9 created, 0 updated, 0 unchanged; "
                                  "status: 2 in_service, 4 candidate, 1 planned, 2 closed")
    assert res.stderr.strip() == (
        "warning: venues: 3 bank outlets without a channel stored as planning candidates "
        "(status=candidate); give channels=window,... to make them service points "
        "(or status=candidate to keep them so without this warning)")


def test_no_warning_when_every_candidate_is_explicit(tmp_path: Path) -> None:
    rows = [r for r in ROWS if r[0] not in ("B-1", "B-2", "B-3")]
    with open_store(str(tmp_path / "s.sqlite")) as store:
        report = import_file(store, "venues", write_csv(tmp_path / "v.csv", rows))
    assert report.warnings == ()
    assert report.statuses == (("in_service", 2), ("candidate", 1), ("planned", 1),
                               ("closed", 2))


@pytest.mark.parametrize(("row", "message"), [
    (("B-9", "无渠道网点", "银行网点", 118.76, 30.94, "", "", "in_service"),
     "row 1: status: a bank_outlet with no channel cannot be in_service; give its "
     "channels (e.g. window) or status=candidate"),
    (("B-9", "网点", "银行网点", 118.76, 30.94, "", "窗口", "营业"),
     "row 1: status: must be one of in_service, candidate, planned, closed"),
])
def test_a_status_that_does_not_fit_is_a_row_problem(
        tmp_path: Path, row: tuple[Any, ...], message: str) -> None:
    with open_store(str(tmp_path / "s.sqlite")) as store:
        with pytest.raises(ImportRejected) as err:
            import_file(store, "venues", write_csv(tmp_path / "v.csv", [row]))
        assert store.counts()["venues"] == 0
    assert str(err.value.problems[0]).startswith(message), err.value.problems


def test_reimport_is_unchanged_and_a_status_change_is_an_update(
        db: Path, tmp_path: Path) -> None:
    with open_store(str(db), create=False) as store:
        again = import_file(store, "venues", write_csv(tmp_path / "again.csv"))
        assert (again.created, again.updated, again.unchanged) == (0, 0, 9)
        opened = [("P-1", *ROWS[0][1:7], "运营中"), *ROWS[1:]]
        changed = import_file(store, "venues", write_csv(tmp_path / "opened.csv", opened))
        assert changed.updated == 1
        assert next(v for v in store.venues() if v.code == "P-1").status is Status.IN_SERVICE


# ---------------------------------------------------------------------- index

def _index(db: Path) -> ServiceIndex:
    with open_store(str(db), create=False) as store:
        return ServiceIndex.build(store.venues(), [], [], info=DatasetInfo())


def _codes(index: ServiceIndex, flt: VenueFilter | None = None) -> list[str]:
    positions, _ = index.nearest_k(*POINT, k=20, flt=flt)
    return [index.venues[int(p)].code for p in positions]


def test_only_venues_in_service_answer_nearest(db: Path) -> None:
    """Planned and closed sites next to the point never answer; candidates on request."""
    index = _index(db)
    assert _codes(index) == ["B-5", "H-1"]
    assert _codes(index, VenueFilter(include_candidates=True)) == [
        "B-1", "B-2", "B-3", "B-4", "B-5", "H-1"]
    assert _codes(index, VenueFilter(statuses=(Status.PLANNED, Status.CLOSED))) == [
        "P-1", "C-1", "K-1"]
    assert _codes(index, VenueFilter(statuses=(Status.CLOSED,), kinds=(VenueKind.KIOSK,))) == [
        "C-1", "K-1"]


def test_derived_status_is_the_rule_of_the_old_schema() -> None:
    """Bank outlets without channels are candidates; every other venue is in service."""
    for kind in VenueKind:
        for channels in (frozenset(), frozenset({Channel.SELF_SERVICE})):
            old_rule = kind is VenueKind.BANK_OUTLET and not channels
            assert (derived_status(kind, channels) is Status.CANDIDATE) == old_rule
            venue = Venue("V", "v", kind, 118.0, 30.0, channels=channels)
            assert venue.is_candidate == old_rule
            assert venue.in_service == (not old_rule)


# ---------------------------------------------------------------------- HTTP

@pytest.fixture
def client(db: Path) -> Any:
    return create_app({"TESTING": True, "db": str(db), "osm": None}).test_client()


def _ids(client: Any, query: str) -> list[str]:
    res = client.get(f"/api/v1/venues?{query}")
    assert res.status_code == 200, res.get_json()
    return [f["id"] for f in res.get_json()["features"]]


def test_venue_list_status_filter(client: Any) -> None:
    """`status` lists planned and closed sites; labels work; the default is in service."""
    assert _ids(client, "") == ["B-5", "H-1"]
    assert _ids(client, "include_candidates=true") == ["B-1", "B-2", "B-3", "B-4", "B-5",
                                                       "H-1"]
    assert _ids(client, "status=planned") == ["P-1"]
    assert _ids(client, "status=规划,已關閉") == ["P-1", "C-1", "K-1"]
    assert _ids(client, "status=candidate") == ["B-1", "B-2", "B-3", "B-4"]
    assert _ids(client, "status=closed&include_candidates=true") == [
        "C-1", "B-1", "B-2", "B-3", "B-4", "K-1"]
    bad = client.get("/api/v1/venues?status=open")
    assert bad.status_code == 400
    assert [p["name"] for p in bad.get_json()["invalid_params"]] == ["status"]


def test_features_carry_status_and_candidate(client: Any) -> None:
    res = client.get("/api/v1/venues?status=planned,candidate&limit=2")
    props = [f["properties"] for f in res.get_json()["features"]]
    assert [(p["status"], p["candidate"]) for p in props] == [("planned", False),
                                                               ("candidate", True)]
    one = client.get("/api/v1/venues/C-1").get_json()["properties"]
    assert one["status"] == "closed" and one["candidate"] is False


def test_nearest_never_answers_with_a_planned_or_closed_site(client: Any) -> None:
    lon, lat = POINT
    res = client.get(f"/api/v1/nearest?lon={lon}&lat={lat}&k=10&include_candidates=true")
    assert res.status_code == 200
    statuses = {f["properties"]["status"] for f in res.get_json()["features"]}
    assert statuses == {"in_service", "candidate"}
    # `status` is not a parameter of service queries: ignored like any unknown name
    res = client.get(f"/api/v1/nearest?lon={lon}&lat={lat}&k=10&status=planned")
    assert [f["id"] for f in res.get_json()["features"]] == ["B-5", "H-1"]
