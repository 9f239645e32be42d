"""`geosvc network build` on the real Helsinki extract."""

from __future__ import annotations

from click.testing import CliRunner

from geosvc.cli import main


def test_network_build_cli(helsinki_pbf, tmp_path):
    runner = CliRunner()
    args = ["network", "build", str(helsinki_pbf), "--modes", "walk,drive",
            "--cache-dir", str(tmp_path)]
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "walk: 5,559 nodes" in res.output and "built in" in res.output
    assert "drive:" in res.output and "components" in res.output
    assert len(list(tmp_path.glob("Helsinki-*.npz"))) == 2
    res2 = runner.invoke(main, args)
    assert res2.exit_code == 0 and res2.output.count("loaded from cache") == 2


def test_network_build_cli_errors(tmp_path):
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"junk" * 10)
    res = CliRunner().invoke(main, ["network", "build", str(bad), "--modes", "walk",
                                    "--cache-dir", str(tmp_path)])
    assert res.exit_code != 0 and "cannot be read as OSM PBF" in res.output
    res = CliRunner().invoke(main, ["network", "build", str(bad), "--modes", "walk,fly"])
    assert res.exit_code == 2 and "unknown mode(s) fly" in res.output
