#!/usr/bin/env python
"""Write the "common ways" extract: the input without the ways Valhalla's builder drops.

Used by ``scripts/bench_peers.py --common-ways`` so that geosvc and Valhalla
build their walk networks from the *same* ways, and the comparison judges
routing, not ingestion.  Two kinds of way never reach Valhalla's graph
(checked in Valhalla's source):

* **areas**: every way tagged ``area=yes`` (``lua/graph.lua``, ``filter_tags_generic``:
  "toss actual areas", after the mode checks: a way no mode uses is dropped
  anyway, so dropping every ``area=yes`` way changes nothing else);
* **clipped ways**: a way referring to a node the extract does not hold
  (``src/mjolnir/graphbuilder.cc``, ``ConstructEdges``: "Node ... has not had
  coordinates initialized" / "Do not add edge!": the rest of the way from
  there, i.e. the whole way, is skipped);
* **unknown classes**: a ``highway`` value missing from the ``highway`` table
  of ``lua/graph.lua`` gives the way no mode, and ways no mode uses are
  dropped ("if none of the modes were set ... return 1").  Of the classes
  geosvc walks, only ``trail`` is such a value (158 ways of the demo extract,
  the botanical garden's paths); ``corridor`` and ``elevator`` are missing
  from the table too but kept by Valhalla's other rules (checked on the demo
  tiles: every such way has its edges), so they stay.

Everything else (all nodes, the other ways, relations) is copied unchanged, in
file order.  Needs ``osmium`` (pyosmium), which the benchmark installs in its
own virtual environment (this script runs there).

Usage::

    python scripts/make_common_ways.py IN.osm.pbf OUT.osm.pbf

Prints ``areas=N clipped=M unknown=U kept=K`` (ways).
"""

from __future__ import annotations

import argparse
from pathlib import Path

#: ``highway`` values geosvc walks that Valhalla's ``lua/graph.lua`` does not know.
UNKNOWN_TO_VALHALLA = frozenset({"trail"})


def write_common_ways(src: Path, out: Path) -> dict[str, int]:
    """Copy ``src`` to ``out`` without the ways Valhalla drops (see the module)."""
    import osmium  # lazy: only the benchmark's own environment has pyosmium

    have = set()
    for obj in osmium.FileProcessor(str(src), osmium.osm.NODE):
        have.add(obj.id)
    counts = {"areas": 0, "clipped": 0, "unknown": 0, "kept": 0}
    tmp = out.with_name(out.name + ".tmp.osm.pbf")
    tmp.unlink(missing_ok=True)
    writer = osmium.SimpleWriter(str(tmp))
    try:
        for obj in osmium.FileProcessor(str(src)):
            if obj.is_way():
                if obj.tags.get("area") == "yes":
                    counts["areas"] += 1
                    continue
                if any(n.ref not in have for n in obj.nodes):
                    counts["clipped"] += 1
                    continue
                if obj.tags.get("highway") in UNKNOWN_TO_VALHALLA:
                    counts["unknown"] += 1
                    continue
                counts["kept"] += 1
            writer.add(obj)
    finally:
        writer.close()
    tmp.replace(out)
    return counts


def main(argv: list[str] | None = None) -> None:
    """Write ``OUT`` from ``IN`` and print the counts."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", type=Path, help="the .osm.pbf to read")
    ap.add_argument("out", type=Path, help="the .osm.pbf to write")
    args = ap.parse_args(argv)
    counts = write_common_ways(args.src, args.out)
    print(" ".join(f"{k}={v}" for k, v in counts.items()), f"-> {args.out}")


if __name__ == "__main__":
    main()
