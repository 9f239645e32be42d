"""Batch coverage over a real Dask LocalCluster (2 worker processes) on the demo city.

Datasets: the demo (all venues), the demo with a hall-only filter, one job
whose OSM file is missing and one whose filter names an item the dataset
does not have.  The good ones must give exactly what compute_coverage gives
when run directly in this process.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from geosvc.cli import main
from geosvc.config import Settings
from geosvc.distributed import SUMMARY_FIELDS, BatchJob, load_jobs, parse_jobs, run_batch
from geosvc.errors import ConfigError, InvalidParameter


@pytest.fixture(scope="module")
def osm() -> str:
    from geosvc.demo import demo_osm_path

    return str(demo_osm_path())


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    cache = tmp_path_factory.mktemp("batch-cache")
    return Settings.load(env={}, overrides={"cache_dir": str(cache)})


@pytest.fixture(scope="module")
def db_copy(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Return a second dataset: a copy of the demo store (a different file, same contents)."""
    target = tmp_path_factory.mktemp("batch-db") / "copy.sqlite"
    shutil.copy(demo_db, target)
    return str(target)


@pytest.fixture(scope="module")
def cluster():
    """Yield a client of a real LocalCluster (2 worker processes); closed afterwards."""
    from distributed import Client, LocalCluster

    lc = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=40)
    client = Client(lc)
    try:
        yield client
    finally:
        client.close()
        lc.close()


#: The halls job: halls of township level and above (all halls reach the same share
#: as every venue within 10 minutes, since the demo's kiosks stand at halls and hosts).
HALLS = {"kind": "hall", "level": "city,county,township"}


def _jobs_data(demo_db: Path, db_copy: str, osm: str, tmp: Path) -> list[dict]:
    return [
        {"name": "demo", "db": str(demo_db), "osm": osm, "minutes": [10, 15]},
        {"name": "demo-halls", "db": db_copy, "osm": osm, "minutes": [10],
         "filters": HALLS, "curves": True},
        {"name": "no-osm", "db": str(demo_db), "osm": str(tmp / "missing.osm.pbf")},
        {"name": "bad-item", "db": str(demo_db), "osm": osm, "filters": {"item": "NO-SUCH"}},
    ]


def _direct(db: str, osm: str, settings: Settings, filters: dict[str, str],
            minutes: float) -> dict:
    """compute_coverage in this process, the recipe of `geosvc coverage` by hand."""
    from zoneinfo import ZoneInfo

    from geosvc.analysis.coverage import compute_coverage
    from geosvc.analysis.demand import build_demand, demand_inputs
    from geosvc.api.params import ParseContext, parse_query
    from geosvc.index import ServiceIndex
    from geosvc.network.cache import load_network
    from geosvc.network.nearest import TravelEngine
    from geosvc.store import open_store

    store = open_store(db, create=False)
    try:
        info = store.info()
        idx = ServiceIndex.build(store.venues(), store.items(), store.links(), info=info)
        population, areas = store.population(), store.areas()
    finally:
        store.close()
    ctx = ParseContext(max_limit=1000, default_limit=50,
                       tz=ZoneInfo(info.timezone or settings.timezone))
    flt = parse_query("coverage", filters, ctx).filter
    net = load_network(osm, "walk", settings=settings)
    cells, areas, _ = demand_inputs(population, areas, net, osm=osm)
    demand = build_demand(net, cells, areas, max_snap_m=settings.snap_max_m,
                          min_component_nodes=settings.min_component_nodes)
    engine = TravelEngine(net, idx.lon, idx.lat, settings=settings)
    res = compute_coverage(engine, demand, candidates=idx.candidate_positions(flt),
                           minutes=minutes)
    return res.to_dict(catchments=False)


@pytest.fixture(scope="module")
def batch(cluster, demo_db: Path, db_copy: str, osm: str, settings: Settings,
          tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], list[BatchJob], Path]:
    """run_batch on the cluster, by its address (as for a remote scheduler)."""
    out = tmp_path_factory.mktemp("batch-out")
    jobs = parse_jobs(_jobs_data(demo_db, db_copy, osm, out), out_dir=out)
    ticks: list[tuple[int, int]] = []
    rows = run_batch(jobs, scheduler=cluster.scheduler.address, settings=settings,
                     progress=lambda done, total: ticks.append((done, total)))
    assert ticks == [(1, 4), (2, 4), (3, 4), (4, 4)]
    return rows, jobs, out


def test_rows_one_per_dataset_mode_minutes_in_job_order(batch) -> None:
    rows, _, _ = batch
    assert [(r["dataset"], r["mode"], r["minutes"]) for r in rows] == [
        ("demo", "walk", 10), ("demo", "walk", 15), ("demo-halls", "walk", 10),
        ("no-osm", "walk", 10), ("bad-item", "walk", 10)]
    assert all(set(r) == set(SUMMARY_FIELDS) for r in rows)


def test_good_datasets_equal_compute_coverage_in_process(batch, demo_db: Path, db_copy: str,
                                                         osm: str, settings: Settings) -> None:
    rows, _, _ = batch
    by = {(r["dataset"], r["minutes"]): r for r in rows}
    cases = [(("demo", 10), str(demo_db), {}, 10), (("demo", 15), str(demo_db), {}, 15),
             (("demo-halls", 10), db_copy, HALLS, 10)]
    for key, db, filters, minutes in cases:
        want = _direct(db, osm, settings, filters, minutes)
        got = by[key]
        assert got["error"] is None, got
        assert got["covered_share"] == want["covered_share"], key
        assert got["covered_population"] == want["covered_population"], key
        assert got["total_population"] == want["total_population"], key
        assert got["venues_used"] == want["venues_used"], key
        assert got["gaps"] == len(want["gaps"]["features"]), key
        assert got["seconds"] >= 0
    # the hall filter is a real difference, not the same numbers twice
    assert by["demo-halls", 10]["venues_used"] < by["demo", 10]["venues_used"]
    assert by["demo-halls", 10]["covered_share"] < by["demo", 10]["covered_share"]


def test_failed_datasets_report_their_error_and_do_not_stop_the_others(batch) -> None:
    rows, _, out = batch
    by = {r["dataset"]: r for r in rows}
    assert "'no-osm'" in by["no-osm"]["error"]
    assert "missing.osm.pbf" in by["no-osm"]["error"]
    assert "does not exist" in by["no-osm"]["error"]
    assert "'bad-item'" in by["bad-item"]["error"] and "NO-SUCH" in by["bad-item"]["error"]
    for name in ("no-osm", "bad-item"):
        assert by[name]["covered_share"] is None
        assert not (out / name).exists() or not any((out / name).iterdir())


def test_each_dataset_writes_json_csv_and_curves(batch) -> None:
    rows, jobs, out = batch
    row = next(r for r in rows if r["dataset"] == "demo-halls")
    folder = out / "demo-halls"
    doc = json.loads((folder / "demo-halls_walk_10min.json").read_text(encoding="utf-8"))
    assert doc["covered_share"] == row["covered_share"]
    assert doc["covered_population"] == row["covered_population"]
    with open(folder / "demo-halls_walk_10min.csv", encoding="utf-8-sig") as fh:
        table = list(csv.DictReader(fh))
    assert table[-1]["area_id"] == "TOTAL"
    assert float(table[-1]["covered_population"]) == row["covered_population"]
    assert (folder / "demo-halls_walk_10min_catchments.csv").is_file()
    with open(folder / "demo-halls_walk_curves.csv", encoding="utf-8-sig") as fh:
        curves = list(csv.DictReader(fh))
    sel = {float(c["minutes"]): float(c["covered_share"]) for c in curves
           if c["set"] == "selection"}
    assert sel[10.0] == pytest.approx(row["covered_share"], abs=1e-4)
    assert sorted(sel) == [5.0, 10.0, 15.0, 20.0, 25.0, 30.0]
    assert {c["set"] for c in curves} == {"hall", "bank_outlet", "kiosk", "all", "selection"}
    assert sorted(p.name for p in (out / "demo").iterdir()) == [
        "demo_walk_10min.csv", "demo_walk_10min.json", "demo_walk_10min_catchments.csv",
        "demo_walk_15min.csv", "demo_walk_15min.json", "demo_walk_15min_catchments.csv"]


def test_inline_scheduler_gives_the_same_rows(batch, settings: Settings,
                                              tmp_path: Path) -> None:
    rows, jobs, _ = batch
    good = [BatchJob.from_dict({**j.as_dict(), "out": str(tmp_path / j.name)})
            for j in jobs if j.name == "demo"]
    inline = run_batch(good, scheduler="inline", settings=settings)
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in inline]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"}
                     for r in rows if r["dataset"] == "demo"]


def test_run_batch_refuses_bad_scheduler_workers_and_duplicate_names(batch,
                                                                     settings) -> None:
    _, jobs, _ = batch
    with pytest.raises(InvalidParameter, match="`scheduler`"):
        run_batch(jobs[:1], scheduler="cluster-please", settings=settings)
    with pytest.raises(InvalidParameter, match="`workers`"):
        run_batch(jobs[:1], scheduler="local", settings=settings, workers=0)
    with pytest.raises(InvalidParameter, match="unique names"):
        run_batch([jobs[0], jobs[0]], scheduler="inline", settings=settings)
    with pytest.raises(ConfigError, match="cannot be reached"):
        run_batch(jobs[:1], scheduler="tcp://127.0.0.1:9", settings=settings,
                  connect_timeout_s=1)


def _children() -> set[int]:
    import psutil

    return {p.pid for p in psutil.Process().children(recursive=True) if p.is_running()
            and p.status() != psutil.STATUS_ZOMBIE}


def test_cli_local_cluster_writes_summary_exit_1_and_leaves_no_workers(
        demo_db: Path, db_copy: str, osm: str, settings: Settings, tmp_path: Path) -> None:
    jobs = [{"name": "city-a", "db": str(demo_db), "osm": osm},
            {"name": "city-b", "db": db_copy, "osm": osm,
             "filters": {"kind": ["hall"], "level": ["city", "county", "township"]}},
            {"name": "city-c", "db": str(demo_db), "osm": str(tmp_path / "none.osm.pbf")}]
    path = tmp_path / "jobs.yaml"
    path.write_text(yaml.safe_dump({"defaults": {"minutes": [10]}, "jobs": jobs}),
                    encoding="utf-8")
    out = tmp_path / "out"
    before = _children()
    res = CliRunner().invoke(main, ["batch", str(path), "--out", str(out), "--workers", "2",
                                    "--cache-dir", settings.cache_dir])
    assert res.exit_code == 1, res.output
    assert "1 of 3 dataset(s) failed: city-c" in res.output
    assert "none.osm.pbf" in res.output
    assert _children() <= before  # the LocalCluster's worker processes are gone
    with open(out / "summary.csv", encoding="utf-8-sig") as fh:
        table = list(csv.DictReader(fh))
    assert [r["dataset"] for r in table] == ["city-a", "city-b", "city-c"]
    assert list(table[0]) == list(SUMMARY_FIELDS)
    assert table[0]["error"] == "" and "city-c" in table[2]["error"]
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["failed"] == ["city-c"]
    assert summary["rows"][0]["covered_share"] == float(table[0]["covered_share"])
    assert summary["rows"][1]["covered_share"] < summary["rows"][0]["covered_share"]
    assert (out / "city-a" / "city-a_walk_10min.json").is_file()
    # the table is printed
    assert "city-b" in res.output and "FAILED" in res.output


def test_cli_exit_0_when_every_dataset_succeeds(cluster, demo_db: Path, osm: str,
                                                settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text(yaml.safe_dump([{"name": "one", "db": str(demo_db), "osm": osm,
                                     "minutes": [5]}]), encoding="utf-8")
    res = CliRunner().invoke(main, ["batch", str(path), "--out", str(tmp_path / "o"),
                                    "--scheduler", cluster.scheduler.address,
                                    "--cache-dir", settings.cache_dir])
    assert res.exit_code == 0, res.output
    assert "one" in res.output and "summary.csv" in res.output


def test_cli_names_every_problem_of_the_jobs_and_runs_nothing(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text(yaml.safe_dump([
        {"name": "a", "db": "a.sqlite", "osm": "a.osm.pbf", "minutes": [10, -5]},
        {"name": "a", "db": "b.sqlite", "modes": ["walk", "fly"], "filters": {"kind": "pub"}},
        "not a job",
    ]), encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["batch", str(path), "--out", str(out)])
    assert res.exit_code == 2, res.output
    for text in ("jobs[0].minutes", "jobs[1].name: 'a' is already the name of jobs[0]",
                 "jobs[1].osm: is required", "jobs[1].modes", "fly", "jobs[1].filters.kind",
                 "jobs[2]: must be a mapping", "nothing was run"):
        assert text in res.output, text
    assert not out.exists()


def test_cli_refuses_bad_options(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text("- {name: a, db: a.sqlite, osm: a.pbf}\n", encoding="utf-8")
    runner = CliRunner()
    res = runner.invoke(main, ["batch", str(path), "--out", str(tmp_path / "o"),
                               "--scheduler", "somewhere"])
    assert res.exit_code == 2 and "--scheduler" in res.output
    res = runner.invoke(main, ["batch", str(path), "--out", str(tmp_path / "o"),
                               "--scheduler", "inline", "--workers", "2"])
    assert res.exit_code == 2 and "--workers" in res.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {name: a, db: [unclosed\n", encoding="utf-8")
    res = runner.invoke(main, ["batch", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "not valid YAML" in res.output


def test_load_jobs_places_outputs_under_the_out_dir(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text("defaults:\n  modes: walk,bike\n  minutes: 12.5\n"
                    "jobs:\n- {name: x, db: x.sqlite, osm: x.pbf}\n"
                    "- {name: y, db: y.sqlite, osm: y.pbf, out: sub/yy, modes: [drive]}\n",
                    encoding="utf-8")
    x, y = load_jobs(path, out_dir=tmp_path / "o")
    assert x.out == str(tmp_path / "o" / "x" / "x") and x.modes == ("walk", "bike")
    assert x.minutes == (12.5,) and y.modes == ("drive",)
    assert y.out == str(tmp_path / "o" / "y" / "sub" / "yy")
    assert BatchJob.from_dict(x.as_dict()) == x


def test_settings_reach_the_workers(cluster, demo_db: Path, osm: str, settings: Settings,
                                    tmp_path: Path) -> None:
    """The snapping limit changes the demo's 10-minute walk share; the workers must use it.

    (It was ``min_component_nodes=1``, which stranded a 348-resident block on a
    fragment; since the walking rules of issue 12 join that fragment to the
    city, the snapping limit is the setting that shows.)
    """
    jobs = parse_jobs([{"name": "near-roads", "db": str(demo_db), "osm": osm}],
                      out_dir=tmp_path)
    tight = settings.with_(snap_max_m=5.0)
    (row,) = run_batch(jobs, scheduler=cluster, settings=tight)
    want = _direct(str(demo_db), osm, tight, {}, 10)
    assert row["covered_share"] == want["covered_share"]
    (default,) = run_batch(jobs, scheduler=cluster, settings=settings)
    assert row["covered_share"] != default["covered_share"]
