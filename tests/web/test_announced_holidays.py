"""Announced holidays: a data office enters a year chinese-calendar does not have yet.

``geosvc dataset holidays --db FILE days.csv`` stores the days of a notice with
the dataset; the calendar takes the years it mentions from it, so answers about
those dates follow it (``PH off`` halls closed on the announced days, make-up
Sundays open) and stop warning ``holidays-unknown``.  The 2027 days below are
the test's own (a National Day break Oct 1-7 with make-up days Sep 26 and Oct 9).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from geosvc.cli import main
from geosvc.errors import ImportRejected
from geosvc.hours import get_calendar
from geosvc.importer import read_announced
from geosvc.store import Batch, open_store
from geosvc.web import create_app
from tests.web.citydata import AREAS, INFO, ITEMS, LINKS, POPULATION, VENUES

HOURS = {"XC-H-01": "Mo-Fr 09:00-17:00; PH off", "XC-H-02": "Mo-Fr 09:00-17:00; PH off"}

#: A notice for 2027 in a bureau's shape: traditional headers, three date spellings.
NOTICE = ("日期,類型,備註\n"
          "2027年1月1日,放假,元旦\n"
          + "".join(f"2027/10/{d},休,國慶\n" for d in range(1, 8))
          + "\n"  # a blank line is skipped
          + "2027-09-26,調休上班,\n2027-10-09,調休上班,\n")


def _db(tmp: Path) -> str:
    venues = [dataclasses.replace(v, opening_hours=HOURS.get(v.code, v.opening_hours))
              for v in VENUES]
    db = tmp / "city.sqlite"
    store = open_store(str(db))
    try:
        store.write(Batch(venues=venues, items=ITEMS, links=LINKS, areas=AREAS,
                          population=POPULATION, info=dataclasses.replace(INFO, calendar="cn")))
    finally:
        store.close()
    return str(db)


def _revision(db: str) -> int:
    with open_store(db, create=False) as store:
        return store.revision()


def _run(*args: str):
    return CliRunner().invoke(main, ["dataset", *args])


def test_reader_takes_a_bureau_table(tmp_path):
    path = tmp_path / "days.csv"
    path.write_bytes(NOTICE.encode("gb18030"))  # saved by a Chinese Excel
    days = read_announced(path, encoding="gb18030")
    assert days.years == (2027,)
    assert days.holidays[0] == datetime.date(2027, 1, 1) and len(days.holidays) == 8
    assert days.workdays == (datetime.date(2027, 9, 26), datetime.date(2027, 10, 9))


def test_reader_takes_spreadsheet_dates(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Date", "Kind"])
    sheet.append([datetime.datetime(2027, 10, 1), "holiday"])
    sheet.append([datetime.datetime(2027, 10, 9), "workday"])
    book.save(tmp_path / "days.xlsx")
    days = read_announced(tmp_path / "days.xlsx")
    assert days.holidays == (datetime.date(2027, 10, 1),)
    assert days.workdays == (datetime.date(2027, 10, 9),)


def test_every_bad_row_is_reported_and_nothing_written(tmp_path):
    db = _db(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text("日期,类型\n2027-13-01,放假\n2027-10-01,休假吗\n2027-10-08,上班\n"
                   "2027-10-02,放假\n2027-10-02,放假\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as err:
        read_announced(bad)
    found = [(p.row, p.field) for p in err.value.problems]
    assert found == [(1, "date"), (2, "kind"), (3, "kind"), (5, "date")]
    assert "Friday" in str(err.value.problems[2])  # 2027-10-08 is no weekend day
    before = _revision(db)
    res = _run("holidays", "--db", db, str(bad))
    assert res.exit_code == 1
    assert "row 1: date" in res.output and "row 5: date" in res.output
    assert "nothing was written" in res.output
    assert _revision(db) == before
    missing = tmp_path / "missing.csv"
    missing.write_text("day,what\n2027-10-01,x\n", encoding="utf-8")
    res = _run("holidays", "--db", db, str(missing))
    assert res.exit_code == 1 and "row 0: kind: no such column" in res.output


def test_cli_needs_a_table_or_clear(tmp_path):
    db = _db(tmp_path)
    assert _run("holidays", "--db", db).exit_code == 2
    assert _run("holidays", "--db", db, "x.csv", "--clear").exit_code == 2


def test_answers_follow_the_announced_days(tmp_path):
    db = _db(tmp_path)
    table = tmp_path / "days.csv"
    table.write_text(NOTICE, encoding="utf-8")
    client = create_app({"TESTING": True, "db": db, "osm": None}).test_client()
    at = "/api/v1/venues/XC-H-01?open_at="
    if get_calendar("cn").last_day < datetime.date(2027, 10, 1):
        before = client.get(at + "2027-10-01T10:00").get_json()
        assert before["properties"]["open"] is True  # an ordinary Friday, with a warning
        assert [w["code"] for w in before["warnings"]] == ["holidays-unknown"]

    dry = _run("holidays", "--db", db, str(table), "--dry-run")
    assert dry.exit_code == 0 and "dry run, nothing written" in dry.output
    rev = _revision(db)
    res = _run("holidays", "--db", db, str(table))
    assert res.exit_code == 0, res.output
    assert "announced holidays: 2027 (8 days off, 2 make-up working days)" in res.output
    assert "holiday data ends: 2027-12-31" in res.output
    assert _revision(db) == rev + 1  # a running server reloads

    client = create_app({"TESTING": True, "db": db, "osm": None}).test_client()
    national_day = client.get(at + "2027-10-01T10:00").get_json()
    assert national_day["properties"]["open"] is False
    assert "warnings" not in national_day
    assert client.get(at + "2027-10-08T10:00").get_json()["properties"]["open"] is True
    # a make-up Sunday opens with Monday's hours; an ordinary Sunday does not
    assert client.get(at + "2027-09-26T10:00").get_json()["properties"]["open"] is True
    assert client.get(at + "2027-09-19T10:00").get_json()["properties"]["open"] is False
    # the package's years are kept
    assert client.get(at + "2026-10-01T10:00").get_json()["properties"]["open"] is False
    assert client.get("/healthz").get_json()["calendar_ends"] == "2027-12-31"
    shown = json.loads(_run("show", "--db", db, "--json").output)
    assert shown["announced_holidays"] == {"years": [2027], "holidays": 8, "workdays": 2}

    assert _run("holidays", "--db", db, "--clear").exit_code == 0
    client = create_app({"TESTING": True, "db": db, "osm": None}).test_client()
    assert client.get("/healthz").get_json()["calendar_ends"] == \
        get_calendar("cn").last_day.isoformat()
