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
    # 6,523 nodes before closed nodes: 17 gates closed to walkers, each end at one its own
    # copy (the botanical garden's "no public entrance" gate among them): 6,530; then 18
    # gates without access tags timed, each street side beyond the first its own copy of
    # the node (same OSM id): 6,549
    assert "walk: 6,549 nodes" in res.output and "built in" in res.output
    assert "17 nodes closed to walk" in res.output
    assert "18 gates timed" in res.output
    assert "drive:" in res.output and "components" in res.output
    assert "125 other highway / ferry ways left out by the walk rules" in res.output
    assert "not snapped to: 0 edges of one-way traps, 252 on fragments" in res.output
    assert len(list(tmp_path.glob("Helsinki-*.npz"))) == 2
    res2 = runner.invoke(main, args)
    assert res2.exit_code == 0 and res2.output.count("loaded from cache") == 3
    assert "places: 100 streets, 1,207 POIs, 6 neighbourhoods" in res.output
    assert len(list(tmp_path.glob("Helsinki-places-*.json"))) == 1


def test_network_build_cli_errors(tmp_path):
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"junk" * 10)
    res = CliRunner().invoke(main, ["network", "build", str(bad), "--modes", "walk",
                                    "--cache-dir", str(tmp_path)])
    assert res.exit_code != 0 and "cannot be read as OSM PBF" in res.output
    res = CliRunner().invoke(main, ["network", "build", str(bad), "--modes", "walk,fly"])
    assert res.exit_code == 2 and "unknown mode(s) fly" in res.output


def _db_with_far_venue(src, dst):
    """A copy of the demo db plus one kiosk 5 km out at sea (beyond snap_max_m)."""
    import shutil

    from geosvc.model import Channel, Venue, VenueKind
    from geosvc.store import Batch, open_store

    shutil.copy(src, dst)
    store = open_store(str(dst))
    try:
        store.write(Batch(venues=[Venue("SEA-1", "Kiosk at sea", VenueKind.KIOSK, 24.95, 60.12,
                                        channels=frozenset({Channel.SELF_SERVICE}),
                                        opening_hours="24/7")]))
    finally:
        store.close()
    return dst


def test_network_build_reports_unreachable_venues(helsinki_pbf, demo_db, tmp_path):
    runner = CliRunner()
    cache = str(tmp_path / "cache")
    ok = runner.invoke(main, ["network", "build", str(helsinki_pbf), "--modes", "walk",
                              "--cache-dir", cache, "--db", str(demo_db)])
    assert ok.exit_code == 0, ok.output
    assert "walk: all 74 venues are within 1000 m of the network" in ok.output
    db = _db_with_far_venue(demo_db, tmp_path / "sea.sqlite")
    bad = runner.invoke(main, ["network", "build", str(helsinki_pbf), "--modes", "walk",
                               "--cache-dir", cache, "--db", str(db)])
    assert bad.exit_code == 1
    assert "walk: 1 of 75 venues cannot be reached" in bad.stderr
    assert "SEA-1 Kiosk at sea: farther than 1000 m from any walk road" in bad.stderr
    missing = runner.invoke(main, ["network", "build", str(helsinki_pbf), "--modes", "walk",
                                   "--cache-dir", cache, "--db", str(tmp_path / "nope.sqlite")])
    assert missing.exit_code == 1 and "Traceback" not in missing.output


def test_serve_warns_and_healthz_counts_unreachable_venues(helsinki_pbf, demo_db, tmp_path):
    from geosvc.commands.serve import report_off_network
    from geosvc.web import create_app

    db = _db_with_far_venue(demo_db, tmp_path / "sea.sqlite")
    app = create_app({"TESTING": True, "db": str(db), "osm": str(helsinki_pbf),
                      "modes": "walk", "cache_dir": str(tmp_path / "cache")})
    client = app.test_client()
    assert client.get("/healthz").get_json()["off_network_venues"] == {}  # nothing built yet
    service = app.extensions["geosvc"]
    runner = CliRunner()
    with runner.isolation() as (_out, err, *_):
        report_off_network(service)
        text = err.getvalue().decode()
    assert "warning: 1 venue(s) unreachable by walk: SEA-1" in text
    assert client.get("/healthz").get_json()["off_network_venues"] == {"walk": 1}
    near = client.get("/api/v1/nearest?lon=24.95&lat=60.1205&mode=straight&k=1").get_json()
    assert near["features"][0]["id"] == "SEA-1"  # straight line still finds it
