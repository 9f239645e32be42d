#!/usr/bin/env python
"""Write a synthetic drive city as ``.osm`` XML and convert it to ``.osm.pbf``.

Used by ``scripts/bench_peers.py`` so that geosvc and Valhalla build their
drive networks from the same file.  The city is an ``n`` x ``n`` street grid
(``--spacing`` metres, node positions jittered by up to a fifth of it, seeded)
centred on ``--lon`` / ``--lat``, one OSM way per block so that turn
restrictions can name their ``from`` / ``to`` ways as OSM requires:

* every 8th street (and the outer ring): ``highway=primary``, ``maxspeed=50``,
  two-way;
* every 8th street offset by 4: ``secondary``, ``maxspeed=40``, two-way;
* the other streets: ``residential``, ``maxspeed=30``; those with index 1, 3,
  5, 7 (mod 8) are one-way (``oneway=yes``), eastbound / northbound at 1 and
  5, westbound / southbound at 3 and 7 (a Manhattan pattern: strongly
  connected);
* ``type=restriction`` relations: ``no_left_turn`` for traffic arriving
  eastbound at every primary x primary crossing, ``only_straight_on`` for
  traffic arriving northbound at every secondary x secondary crossing.

Every way carries ``maxspeed``, so both engines time edges from the same
speeds (Valhalla still adds its own turn and intersection costs).

The XML is written with the standard library; the conversion to PBF needs
``osmium`` (pyosmium), which the benchmark installs in its own virtual
environment (this script runs there).

Usage::

    python scripts/make_synthetic_city.py OUT.osm.pbf [--n 150] [--spacing 100]
"""

from __future__ import annotations

import argparse
import math
import random
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import quoteattr

#: Metres per degree of latitude (spherical Earth; good enough for a synthetic grid).
M_PER_DEG = 111_320.0


def _street(index: int, n: int) -> tuple[str, int, int]:
    """Return (highway, maxspeed, direction) of street ``index``; direction 0 = two-way."""
    if index in (0, n - 1) or index % 8 == 0:
        return "primary", 50, 0
    if index % 8 == 4:
        return "secondary", 40, 0
    if index % 2 == 1:
        return "residential", 30, 1 if index % 4 == 1 else -1
    return "residential", 30, 0


def write_city_xml(path: Path, *, n: int = 150, spacing_m: float = 100.0,
                   lon0: float = 25.0, lat0: float = 60.2, seed: int = 0) -> dict[str, int]:
    """Write the grid city as OSM XML to ``path``; return counts of what was written."""
    rng = random.Random(seed)
    dlat = spacing_m / M_PER_DEG
    dlon = spacing_m / (M_PER_DEG * math.cos(math.radians(lat0)))
    jitter = 0.2
    west = lon0 - dlon * (n - 1) / 2
    south = lat0 - dlat * (n - 1) / 2

    def nid(i: int, j: int) -> int:  # column i (west -> east), row j (south -> north)
        return 1 + j * n + i

    lines = ["<?xml version='1.0' encoding='UTF-8'?>",
             "<osm version='0.6' generator='geosvc make_synthetic_city'>"]
    for j in range(n):
        for i in range(n):
            lon = west + (i + rng.uniform(-jitter, jitter)) * dlon
            lat = south + (j + rng.uniform(-jitter, jitter)) * dlat
            lines.append(f"<node id='{nid(i, j)}' version='1' "
                         f"lat='{lat:.7f}' lon='{lon:.7f}'/>")

    way_id = 0
    horiz: dict[tuple[int, int], int] = {}  # block (i, j) -> (i + 1, j)
    vert: dict[tuple[int, int], int] = {}  # block (i, j) -> (i, j + 1)
    oneways = 0

    def way(a: int, b: int, street: tuple[str, int, int], name: str) -> int:
        nonlocal way_id, oneways
        way_id += 1
        hwy, speed, direction = street
        refs = (a, b) if direction >= 0 else (b, a)
        tags = {"highway": hwy, "maxspeed": str(speed), "name": name}
        if direction:
            tags["oneway"] = "yes"
            oneways += 1
        lines.append(f"<way id='{way_id}' version='1'>")
        lines.extend(f"<nd ref='{r}'/>" for r in refs)
        lines.extend(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        lines.append("</way>")
        return way_id

    for j in range(n):
        street = _street(j, n)
        for i in range(n - 1):
            horiz[i, j] = way(nid(i, j), nid(i + 1, j), street, f"Row {j}")
    for i in range(n):
        street = _street(i, n)
        for j in range(n - 1):
            vert[i, j] = way(nid(i, j), nid(i, j + 1), street, f"Column {i}")

    rels = _restrictions(n, horiz, vert, nid)
    lines.extend(rels)
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"nodes": n * n, "ways": way_id, "oneway_ways": oneways,
            "restrictions": sum(ln.startswith("<relation") for ln in rels)}


def _restrictions(n: int, horiz: dict[tuple[int, int], int], vert: dict[tuple[int, int], int],
                  nid: Callable[[int, int], int]) -> list[str]:
    """XML lines of the turn-restriction relations (see the module)."""
    lines: list[str] = []
    rel_id = 0

    def restriction(kind: str, from_way: int, via: int, to_way: int) -> None:
        nonlocal rel_id
        rel_id += 1
        lines.append(f"<relation id='{rel_id}' version='1'>")
        lines.append(f"<member type='way' ref='{from_way}' role='from'/>")
        lines.append(f"<member type='node' ref='{via}' role='via'/>")
        lines.append(f"<member type='way' ref='{to_way}' role='to'/>")
        lines.append("<tag k='type' v='restriction'/>")
        lines.append(f"<tag k='restriction' v='{kind}'/>")
        lines.append("</relation>")

    for j in range(1, n - 1):
        for i in range(1, n - 1):
            if _street(i, n)[0] == _street(j, n)[0] == "primary":
                # arriving eastbound on row j: left is north on column i
                restriction("no_left_turn", horiz[i - 1, j], nid(i, j), vert[i, j])
            elif _street(i, n)[0] == _street(j, n)[0] == "secondary":
                # arriving northbound on column i: straight on only
                restriction("only_straight_on", vert[i, j - 1], nid(i, j), vert[i, j])
    return lines


def convert_to_pbf(xml_path: Path, pbf_path: Path) -> None:
    """Convert an ``.osm`` file to ``.osm.pbf`` with pyosmium (objects kept in file order)."""
    import osmium  # lazy: only the benchmark's own environment has pyosmium

    tmp = pbf_path.with_name(pbf_path.name + ".tmp.osm.pbf")
    tmp.unlink(missing_ok=True)
    writer = osmium.SimpleWriter(str(tmp))
    try:
        for obj in osmium.FileProcessor(str(xml_path)):
            writer.add(obj)
    finally:
        writer.close()
    tmp.replace(pbf_path)


def main(argv: list[str] | None = None) -> None:
    """Write ``OUT`` (``.osm.pbf``) and the ``.osm`` XML next to it."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path, help="the .osm.pbf to write (the .osm goes next to it)")
    ap.add_argument("--n", type=int, default=150, help="streets each way (n*n nodes)")
    ap.add_argument("--spacing", type=float, default=100.0, help="block length, m")
    ap.add_argument("--lon", type=float, default=25.0)
    ap.add_argument("--lat", type=float, default=60.2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    out: Path = args.out
    xml = out.with_name(out.name.removesuffix(".pbf").removesuffix(".osm") + ".osm")
    counts = write_city_xml(xml, n=args.n, spacing_m=args.spacing, lon0=args.lon,
                            lat0=args.lat, seed=args.seed)
    convert_to_pbf(xml, out)
    print(" ".join(f"{k}={v}" for k, v in counts.items()), f"-> {out}")


if __name__ == "__main__":
    main()
