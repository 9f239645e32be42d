"""``geosvc doctor``: the dataset check (geosvc/app/doctor.py), its CLI verb and /healthz.

A small dataset written here through the store API plants one problem per
check (duplicate positions, an item no venue handles, a venue out at sea far
from the demo walking network, no population and no areas layer, unknown
hours, a planning candidate, a venue with no item); the demo city must come
out clean apart from its known facts.  Holiday data: the last year
chinese-calendar knows is found by probing it, so the tests outlive upgrades.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import chinese_calendar
import pytest
from click.testing import CliRunner

import geosvc.app.doctor as doctor
from geosvc.app.doctor import DoctorInput, diagnose, diagnose_dataset, diagnose_service
from geosvc.app.service import GeoService
from geosvc.cli import main
from geosvc.config import Settings
from geosvc.errors import InvalidParameter
from geosvc.model import (
    Channel,
    DatasetInfo,
    Level,
    Link,
    ServiceItem,
    Venue,
    VenueKind,
)
from geosvc.store import Batch, open_store

H, B, K = VenueKind.HALL, VenueKind.BANK_OUTLET, VenueKind.KIOSK
W, S = Channel.WINDOW, Channel.SELF_SERVICE
HOURS = "Mo-Fr 09:00-17:00"
SEA = (25.60, 59.60)  # Gulf of Finland: far from every road of the demo extract


def last_holiday_year() -> int:
    """The last year chinese-calendar has data for (probed: later years raise)."""
    year = 2020
    while True:
        try:
            chinese_calendar.is_holiday(date(year + 1, 1, 1))
        except NotImplementedError:
            return year
        year += 1


LAST = last_holiday_year()
NEAR_END = date(LAST, 11, 30)  # within 90 days of the end of the holiday data
FAR_FROM_END = date(LAST, 1, 2)

PLANTED = [
    Venue("P-H-01", "Keskustan palvelupiste", H, 24.9384, 60.1699, Level.CITY,
          frozenset({W}), opening_hours=HOURS),
    Venue("P-H-02", "Toinen palvelupiste", H, 24.9384, 60.1699, Level.COUNTY,
          frozenset({W}), opening_hours=HOURS),  # same position, same kind
    Venue("P-K-01", "Kioski ilman aukioloa", K, 24.9450, 60.1710, None, frozenset({S})),
    Venue("P-H-03", "Merellä", H, SEA[0], SEA[1], Level.TOWNSHIP, frozenset({W}),
          opening_hours=HOURS),
    Venue("P-B-01", "Pankki ilman kanavaa", B, 24.9500, 60.1680, opening_hours=HOURS),
    Venue("P-K-02", "Kioski ilman asioita", K, 24.9360, 60.1720, None, frozenset({S}),
          opening_hours="24/7"),
]
ITEMS = [ServiceItem("I-1", "Henkilökortti"), ServiceItem("I-2", "Ei missään")]
LINKS = [Link(code, "I-1", frozenset({W if code.startswith("P-H") else S}))
         for code in ("P-H-01", "P-H-02", "P-K-01", "P-H-03")]


def write_dataset(path: Path, venues: list[Venue], *, calendar: str | None = "cn") -> Path:
    """Write ``venues`` with ITEMS and their LINKS through the store API (no population)."""
    codes = {v.code for v in venues}
    store = open_store(str(path))
    try:
        store.write(Batch(
            venues=venues, items=ITEMS, links=[x for x in LINKS if x.venue_code in codes],
            info=DatasetInfo(name="planted", timezone="Europe/Helsinki", calendar=calendar,
                             country="FI")))
    finally:
        store.close()
    return path


def settings_for(db: Path, osm: Path | None, cache: Path, **more: object) -> Settings:
    overrides: dict[str, object] = {"db": str(db), "modes": "walk", "cache_dir": str(cache),
                                    **more}
    if osm is not None:
        overrides["osm"] = str(osm)
    return Settings.load(env={}, overrides=overrides)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo walking network's cache, shared with the web and routing tests."""
    path = tmp_path_factory.getbasetemp() / "demo-walk-cache"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="module")
def planted_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("doctor") / "planted.sqlite", PLANTED)


@pytest.fixture(scope="module")
def planted_service(planted_db: Path, helsinki_pbf: Path, cache: Path) -> GeoService:
    return GeoService(settings_for(planted_db, helsinki_pbf, cache))


def finding(report: doctor.DoctorReport, code: str) -> doctor.Finding:
    found = [f for f in report.findings if f.code == code]
    assert len(found) == 1, report.codes
    return found[0]


# --------------------------------------------------------------------------- planted


def test_planted_dataset_reports_every_planted_problem(planted_service: GeoService) -> None:
    report = diagnose_service(planted_service, today=NEAR_END)
    assert report.codes == [
        # warnings, in check order
        "venues_outside_extract", "venues_off_network", "no_population",
        "items_without_venue", "venues_without_item", "duplicate_positions",
        "holidays_end", "unknown_hours",
        # infos
        "no_network", "no_areas", "planning_candidates",
    ]
    assert report.ok and report.modes == ("walk",)
    assert report.count("error") == 0 and report.count("warning") == 8


def test_planted_findings_name_what_and_how(planted_service: GeoService) -> None:
    report = diagnose_service(planted_service, today=NEAR_END)
    dup = finding(report, "duplicate_positions")
    assert (dup.severity, dup.count) == ("warning", 2)
    assert dup.examples == ("24.9384,60.1699: P-H-01, P-H-02",)
    lonely = finding(report, "items_without_venue")
    assert (lonely.count, lonely.examples) == (1, ("I-2 Ei missään",))
    idle = finding(report, "venues_without_item")  # the candidate P-B-01 is not counted
    assert (idle.count, idle.examples) == (1, ("P-K-02 Kioski ilman asioita",))
    off = finding(report, "venues_off_network")
    assert off.count == 1 and off.examples[0].startswith("P-H-03 Merellä")
    assert "walk" in off.message and "1000 m" in off.message
    outside = finding(report, "venues_outside_extract")
    assert (outside.severity, outside.examples) == ("warning", ("P-H-03 Merellä",))
    population = finding(report, "no_population")
    assert "Helsinki.osm.pbf" in population.message  # the fallback: the building estimate
    assert "geosvc import population" in population.fix
    assert "3 x 2" in finding(report, "no_areas").message
    net = finding(report, "no_network")
    assert (net.severity, net.examples) == ("info", ("bike", "drive"))
    assert "mode=straight" in net.message
    assert finding(report, "planning_candidates").examples == ("P-B-01 Pankki ilman kanavaa",)
    assert finding(report, "unknown_hours").count == 1
    for f in report.findings:
        assert f.message and f.fix, f.code


def test_holiday_data_end_is_the_probed_year(planted_service: GeoService) -> None:
    near = finding(diagnose_service(planted_service, today=NEAR_END), "holidays_end")
    assert f"from {LAST + 1}-01-01" in near.message
    assert near.count == len(PLANTED)  # every venue follows the official calendar
    after = finding(diagnose_service(planted_service, today=date(LAST + 1, 3, 1)),
                    "holidays_end")
    assert f"since {LAST + 1}-01-01" in after.message
    assert "holidays_end" not in diagnose_service(planted_service, today=FAR_FROM_END).codes


def test_no_calendar_no_holiday_finding(tmp_path: Path) -> None:
    db = write_dataset(tmp_path / "none.sqlite", PLANTED[:2], calendar=None)
    report = diagnose_dataset(settings_for(db, None, tmp_path), today=NEAR_END)
    assert "holidays_end" not in report.codes


def test_without_an_extract_no_estimate_and_no_network(tmp_path: Path) -> None:
    db = write_dataset(tmp_path / "bare.sqlite", PLANTED)
    report = diagnose_dataset(settings_for(db, None, tmp_path), today=FAR_FROM_END)
    net = finding(report, "no_network")
    assert (net.severity, net.count) == ("warning", 3)
    assert "no building estimate" in finding(report, "no_population").message
    assert "venues_off_network" not in report.codes  # nothing to check against
    assert "venues_outside_extract" not in report.codes


def test_null_island_is_an_error(tmp_path: Path) -> None:
    venues = [*PLANTED[:2], Venue("P-H-09", "Null island", H, 0.0, 0.0, Level.CITY,
                                  frozenset({W}), opening_hours=HOURS)]
    db = write_dataset(tmp_path / "zero.sqlite", venues)
    report = diagnose_dataset(settings_for(db, None, tmp_path), today=FAR_FROM_END)
    bad = finding(report, "invalid_coordinates")
    assert (bad.severity, bad.count) == ("error", 1)
    assert bad.examples[0].startswith("P-H-09 Null island")
    assert report.codes[0] == "invalid_coordinates" and not report.ok


def test_a_dataset_the_service_refuses_is_read_whole(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    db = write_dataset(tmp_path / "refused.sqlite", PLANTED)

    def refuse(settings: Settings) -> GeoService:
        msg = "must be a finite number between -90 and 90"
        raise InvalidParameter("lat", msg)

    monkeypatch.setattr(doctor, "GeoService", refuse)
    report = diagnose_dataset(settings_for(db, None, tmp_path), today=FAR_FROM_END)
    assert report.codes[0] == "not_servable" and not report.ok
    assert "`lat` must be a finite number" in report.findings[0].message
    assert "duplicate_positions" in report.codes  # the other checks still ran


@pytest.mark.parametrize(("venues", "items", "codes"), [
    ([], [], ["no_venues", "no_items", "no_network", "no_population", "no_areas"]),
    ([PLANTED[0]], [ITEMS[0]], ["no_network", "no_population", "no_areas"]),
])
def test_empty_layers(venues: list[Venue], items: list[ServiceItem],
                      codes: list[str]) -> None:
    inp = DoctorInput(info=DatasetInfo(calendar=None), revision=0, venues=venues, items=items,
                      linked_venues=frozenset(v.code for v in venues),
                      linked_items=frozenset(i.code for i in items), population_cells=0,
                      areas=0)
    report = diagnose(inp, today=FAR_FROM_END)
    assert report.codes == codes
    assert report.ok is bool(venues)  # no venue at all is an error


def test_unknown_settings_are_errors() -> None:
    inp = DoctorInput(info=DatasetInfo(timezone="Mars/Olympus", calendar="xx"), revision=0,
                      venues=[PLANTED[0]], items=[ITEMS[0]],
                      linked_venues=frozenset({"P-H-01"}), linked_items=frozenset({"I-1"}),
                      population_cells=1, areas=1)
    report = diagnose(inp, today=FAR_FROM_END)
    assert report.codes[:2] == ["unknown_timezone", "unknown_calendar"]
    assert not report.ok


def test_report_json_shape(planted_service: GeoService) -> None:
    doc = diagnose_service(planted_service, today=NEAR_END).to_dict()
    assert list(doc) == ["ok", "dataset", "revision", "modes", "today", "errors", "warnings",
                         "infos", "findings"]
    assert doc["today"] == NEAR_END.isoformat() and doc["dataset"] == "planted"
    for row in doc["findings"]:
        assert list(row) == ["code", "severity", "message", "fix", "count", "examples"]
        assert len(row["examples"]) <= doctor.MAX_EXAMPLES
    json.dumps(doc)


# --------------------------------------------------------------------------- the demo city


def test_demo_city_is_clean_apart_from_known_facts(demo_db: Path, helsinki_pbf: Path,
                                                   cache: Path) -> None:
    """The demo: kiosks share their hall's position, 9 candidate banks, walk loaded only."""
    report = diagnose_dataset(settings_for(demo_db, helsinki_pbf, cache), today=NEAR_END)
    assert report.codes == ["no_network", "duplicate_positions", "planning_candidates"]
    assert report.ok
    dup = finding(report, "duplicate_positions")
    assert dup.severity == "info"  # hall + kiosk pairs only
    assert dup.count == 22  # the first terminal of each hall host stands at the hall
    assert finding(report, "planning_candidates").count == 9


# --------------------------------------------------------------------------- CLI


def test_cli_exit_status_and_json(demo_db: Path, helsinki_pbf: Path, cache: Path,
                                  tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["doctor", "--osm", str(helsinki_pbf), "--modes", "walk", "--cache-dir", str(cache)]
    clean = runner.invoke(main, [*base, "--db", str(demo_db)])
    assert clean.exit_code == 0, clean.output
    assert "planning_candidates (9)" in clean.output and "fix: " in clean.output
    as_json = runner.invoke(main, [*base, "--db", str(demo_db), "--json"])
    assert as_json.exit_code == 0
    doc = json.loads(as_json.output)
    assert doc["ok"] is True and doc["modes"] == ["walk"]
    zero = write_dataset(tmp_path / "zero.sqlite", [
        *PLANTED[:2], Venue("Z", "zero", H, 0.0, 0.0, Level.CITY, frozenset({W}))])
    failing = runner.invoke(main, ["doctor", "--db", str(zero)])
    assert failing.exit_code == 1
    assert failing.output.splitlines()[1].startswith("error    invalid_coordinates (1)")


def test_cli_bad_options(tmp_path: Path) -> None:
    runner = CliRunner()
    bad_mode = runner.invoke(main, ["doctor", "--db", "x.sqlite", "--modes", "boat"])
    assert bad_mode.exit_code == 2 and "--modes" in bad_mode.output
    missing = runner.invoke(main, ["doctor", "--db", str(tmp_path / "none.sqlite")])
    assert missing.exit_code == 1 and "does not exist" in missing.output


# --------------------------------------------------------------------------- /healthz


HEALTH_KEYS = ["status", "venues", "items", "network", "version", "dataset", "timezone",
               "calendar", "calendar_ends", "country", "revision", "built_at",
               "off_network_venues"]


@pytest.fixture(scope="module")
def planted_client(planted_db: Path):
    from geosvc.web import create_app

    return create_app({"TESTING": True, "db": str(planted_db), "osm": None}).test_client()


def test_healthz_without_details_is_unchanged(planted_client) -> None:
    plain = planted_client.get("/healthz")
    assert plain.status_code == 200
    keys = list(plain.get_json())
    # `warnings` (holidays-ending) comes last, only within 90 days of the data's end
    assert keys in (HEALTH_KEYS, [*HEALTH_KEYS, "warnings"])
    assert planted_client.get("/healthz?details=false").data == plain.data
    assert planted_client.get("/healthz?details=").data == plain.data
    assert plain.headers["Cache-Control"] == "no-store"


def test_healthz_details_adds_the_doctor_report(planted_client) -> None:
    plain = planted_client.get("/healthz").get_json()
    detailed = planted_client.get("/healthz?details=true")
    assert detailed.status_code == 200
    doc = detailed.get_json()
    report = doc.pop("doctor")
    assert doc == plain
    codes = [f["code"] for f in report["findings"]]
    assert {"no_network", "no_population", "duplicate_positions",
            "items_without_venue"} <= set(codes)
    assert report["ok"] is True and report["modes"] == []


def test_healthz_bad_details_is_a_400(planted_client) -> None:
    resp = planted_client.get("/healthz?details=maybe")
    assert resp.status_code == 400
    problem = resp.get_json()
    assert [p["name"] for p in problem["invalid_params"]] == ["details"]
