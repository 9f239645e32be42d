"""`geosvc import`: exit codes, stdout summary, stderr problem report, real console script."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from geosvc.cli import main
from geosvc.store import open_store

DATA = Path(__file__).parent / "data" / "import"


@pytest.fixture
def runner():
    return CliRunner()


def run(runner, *args):
    return runner.invoke(main, ["import", *map(str, args)])


def counts(db: Path):
    with open_store(str(db), create=False) as s:
        return s.counts(), s.revision()


def test_import_creates_db_and_prints_summary(runner, tmp_path):
    db = tmp_path / "new" / "db.sqlite"
    db.parent.mkdir()
    res = run(runner, "items", DATA / "items.csv", "--db", db)
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == "items: 3 rows, 3 created, 0 updated, 0 unchanged"
    res = run(runner, "venues", DATA / "venues.csv", "--db", db, "--crs", "gcj02")
    assert res.exit_code == 0 and res.stdout.startswith("venues: 4 rows, 4 created")
    res = run(runner, "venues", DATA / "venues.csv", "--db", db, "--crs", "gcj02")
    assert res.stdout.strip() == ("venues: 4 rows, 0 created, 0 updated, 4 unchanged; "
                                  "status: 3 in_service, 1 candidate")
    res = run(runner, "links", DATA / "links.csv", "--db", db, "--dry-run")
    assert res.exit_code == 0
    assert res.stdout.strip() == (
        "links: 5 rows, 5 created, 0 updated, 0 unchanged (dry run, nothing written)"
    )
    assert counts(db)[0]["links"] == 0


def test_bad_rows_exit_1_with_every_problem_on_stderr(runner, tmp_path):
    db = tmp_path / "db.sqlite"
    run(runner, "items", DATA / "items.csv", "--db", db)
    before = counts(db)
    res = run(runner, "venues", DATA / "bad_venues.csv", "--db", db)
    assert res.exit_code == 1
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert "row 4, field lat: must be between -90 and 90 (got 91.2)" in lines
    assert "row 5, field code: duplicate venue code 'V1' (also on row 1)" in lines
    assert len(lines) == 13 + 1
    assert lines[-1].endswith("13 problem(s); nothing was written "
                              "(rows count from 1 = the line after the header)")
    assert counts(db) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["venues", "missing.csv"], "`path` file 'missing.csv' does not exist"),
        (["venues", str(DATA / "venues.csv"), "--crs", "utm"], "Invalid value for '--crs'"),
        (["shops", str(DATA / "venues.csv")], "'shops' is not one of 'venues'"),
        (["items", str(DATA / "items.csv"), "--append"], "--append applies only to population"),
        (["manifest", str(DATA / "items.csv"), "--crs", "gcj02"], "do not apply to a manifest"),
    ],
)
def test_usage_errors_are_readable(runner, tmp_path, args, message):
    res = run(runner, *args, "--db", tmp_path / "db.sqlite")
    assert res.exit_code != 0
    assert message in res.stderr
    assert "Traceback" not in res.output


def test_unopenable_db(runner, tmp_path):
    bad = tmp_path / "db.sqlite"
    bad.write_bytes(b"garbage" * 200)
    res = run(runner, "items", DATA / "items.csv", "--db", bad)
    assert res.exit_code == 1 and "not a database" in res.stderr


def test_manifest_verb(runner, tmp_path):
    demo = Path(__file__).resolve().parent.parent / "layers" / "demo" / "manifest.yaml"
    db = tmp_path / "demo.sqlite"
    res = run(runner, "manifest", demo, "--db", db)
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    # one summary line per layer, in dependency order (items before venues before links)
    names = [ln.split(":")[0] for ln in lines]
    assert names[:3] == ["items", "venues", "links"]
    assert set(names[3:]) <= {"areas", "population", "bundles"} and "areas" in names
    assert counts(db)[0]["venues"] > 60


def test_manifest_problems_name_the_layer(runner, tmp_path):
    import shutil

    for name in ("items.csv", "venues.csv"):
        shutil.copy(DATA / name, tmp_path / name)
    (tmp_path / "links.csv").write_text("venue_code,item_code\nGHOST,SB-01\n", encoding="utf-8")
    manifest = tmp_path / "m.yaml"
    manifest.write_text("layers:\n - {what: items, path: items.csv}\n"
                        " - {what: venues, path: venues.csv}\n"
                        " - {what: links, path: links.csv}\n",
                        encoding="utf-8")
    res = run(runner, "manifest", manifest, "--db", tmp_path / "db.sqlite")
    assert res.exit_code == 1
    assert res.stderr.splitlines()[0] == \
        "layer links, row 1, field venue_code: unknown venue 'GHOST' (import venues first)"
    assert counts(tmp_path / "db.sqlite")[0]["items"] == 0


def test_installed_console_script(tmp_path):
    exe = Path(sys.executable).with_name("geosvc")
    assert exe.exists(), "the geosvc console script is not installed in this environment"
    db = tmp_path / "db.sqlite"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    ok = subprocess.run([str(exe), "import", "items", str(DATA / "items.csv"), "--db", str(db)],
                        capture_output=True, text=True, env=env, timeout=120, check=False)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "items: 3 rows, 3 created, 0 updated, 0 unchanged"
    bad = subprocess.run(
        [str(exe), "import", "venues", str(DATA / "bad_venues.csv"), "--db", str(db)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert bad.returncode == 1
    assert "row 4, field lat: must be between -90 and 90 (got 91.2)" in bad.stderr
    assert "nothing was written" in bad.stderr.splitlines()[-1]
    assert counts(db)[0] == {"items": 3, "venues": 0, "links": 0, "areas": 0, "population": 0,
                             "bundles": 0}
