"""Row validators: raw rows of one layer -> domain objects + every problem found.

Each ``parse_<what>`` reads every row, collects every problem, and returns a
:class:`Parsed` holding the domain objects of the good rows (in WGS-84).  The
caller decides to write them only when there is no problem at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np

from geosvc import vocab
from geosvc.coords import to_wgs84
from geosvc.errors import RowProblem
from geosvc.hours import hours_problem
from geosvc.importer._fields import (
    CATEGORIES,
    KINDS,
    LEVELS,
    SCOPES,
    STATUSES,
    RowReader,
    as_text,
    is_blank,
    shown,
)
from geosvc.model import (
    KIND_CHANNELS,
    Area,
    Bundle,
    Category,
    Channel,
    Level,
    Link,
    PopulationCell,
    Scope,
    ServiceItem,
    Status,
    Venue,
    VenueKind,
    status_problem,
)

if TYPE_CHECKING:
    from geosvc.importer._mapping import MappingReport

#: Columns per layer: (required, optional).
COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "venues": (("code", "name", "kind", "lon", "lat"),
               ("level", "channels", "area_code", "area_name", "address", "phone",
                "opening_hours", "official_calendar", "accessible", "cross_province",
                "regional", "bank", "machines", "name_en", "source", "status")),
    "items": (("code", "name"),
              ("name_en", "department", "category", "high_frequency", "scope", "description",
               "materials", "conditions", "fee", "legal_days", "promised_days", "apply_url",
               "can_do_online", "by_post", "at_kiosk")),
    "links": (("venue_code", "item_code"), ("channels",)),
    "population": (("count",), ("code", "lon", "lat", "geometry")),
    "areas": (("code", "name", "geometry"), ("level", "population")),
    "bundles": (("code", "name", "items"), ("name_en", "description")),
}

#: Separators of the materials list (commas and 、 may be part of a material's name).
MATERIAL_SEPARATORS = (";", "；", "|", "\n")
#: Separators of a bundle's item codes.
CODE_SEPARATORS = (*MATERIAL_SEPARATORS, ",", "，", "、")

#: URL schemes an ``apply_url`` may have (anything else is a row problem).
URL_SCHEMES = ("http", "https")

#: The longest time limit accepted, days.
MAX_DAYS = 3650

#: Channels a venue of each kind gets when its ``channels`` cell is empty (a bank
#: outlet gets none: a planning candidate); from :data:`geosvc.vocab.KINDS`.
DEFAULT_CHANNELS: dict[VenueKind, frozenset[Channel]] = {
    k.code: k.default_channels for k in vocab.KINDS}


@dataclass
class Parsed:
    """The outcome of validating one layer."""

    what: str
    rows: int = 0
    records: list[Any] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    ignored_columns: tuple[str, ...] = ()
    #: key (code, or (venue_code, item_code)) -> data row, for every row that had one
    keys: dict[Any, int] = field(default_factory=dict)
    #: venues only: code -> channels of each good venue row (None for a bad row)
    venue_channels: dict[str, frozenset[Channel] | None] = field(default_factory=dict)
    #: how each file of the layer was mapped (one report per file)
    mappings: tuple[MappingReport, ...] = ()
    #: venues only: status -> number of good rows with it, in registry order
    statuses: dict[str, int] = field(default_factory=dict)
    #: things the user should know although every row is valid (one line each)
    warnings: list[str] = field(default_factory=list)


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(k for row in rows for k in row))


def _start(what: str, rows: list[dict[str, Any]]) -> tuple[Parsed, set[str]]:
    """Check the header: report absent required columns once (row 0)."""
    parsed = Parsed(what)
    required, optional = COLUMNS[what]
    cols = _columns(rows)
    absent = {c for c in required if c not in cols}
    if what == "population":
        if "geometry" not in cols and not {"lon", "lat"} <= set(cols):
            parsed.problems.append(RowProblem(0, "lon", "the file needs lon and lat columns "
                                                        "or a geometry (polygon) column"))
    if rows:
        for col in sorted(absent, key=required.index):
            found = ", ".join(cols) or "none"
            parsed.problems.append(RowProblem(0, col, f"column is missing from the file "
                                                      f"(columns found: {found})"))
    parsed.ignored_columns = tuple(c for c in cols if c not in required + optional)
    return parsed, absent


def _readers(parsed: Parsed, rows: list[dict[str, Any]],
             absent: set[str]) -> Iterator[RowReader]:
    """Yield a reader of each non-blank row (numbered from 1), counted in ``parsed.rows``."""
    for n, data in enumerate(rows, start=1):
        if is_blank(data):
            continue
        parsed.rows += 1
        yield RowReader(n, data, parsed.problems, absent)


def _duplicate(r: RowReader, parsed: Parsed, key: Any, field_name: str, what: str) -> bool:
    first = parsed.keys.get(key)
    if first is not None:
        r.problem(field_name, f"duplicate {what} {shown(key)} (also on row {first})")
        return True
    parsed.keys[key] = r.row
    return False


def _coordinates(r: RowReader) -> tuple[float, float] | None:
    lon = r.number("lon", required=True, lo=-180, hi=180)
    lat = r.number("lat", required=True, lo=-90, hi=90)
    if lon is None or lat is None:
        return None
    if lon == 0 and lat == 0:
        r.problem("lon", "lon and lat are both 0: looks like a missing coordinate")
        return None
    return lon, lat


def _to_wgs84(points: list[tuple[float, float]], crs: str) -> list[tuple[float, float]]:
    if crs == "wgs84" or not points:
        return points
    arr = np.asarray(points, dtype=float)
    lon, lat = to_wgs84(arr[:, 0], arr[:, 1], crs)
    return list(zip(lon.tolist(), lat.tolist(), strict=True))


def parse_venues(rows: list[dict[str, Any]], *, crs: str) -> Parsed:
    """Validate venue rows (see the importer's module docstring for columns)."""
    parsed, absent = _start("venues", rows)
    good: list[tuple[dict[str, Any], tuple[float, float]]] = []
    for r in _readers(parsed, rows, absent):
        row = _venue_row(r, parsed)
        if row is not None:
            good.append(row)
    points = _to_wgs84([p for _, p in good], crs)
    parsed.records = [Venue(lon=lon, lat=lat, **values)
                      for (values, _), (lon, lat) in zip(good, points, strict=True)]
    _count_statuses(parsed, [values["status"] is None for values, _ in good])
    return parsed


def _count_statuses(parsed: Parsed, derived: list[bool]) -> None:
    """Count the venues of each status; warn about candidates nobody asked for.

    A venue whose status cell is empty and whose kind makes it a candidate
    without channels (a bank outlet) is most likely a service point whose
    channels the file forgot: say how many, per kind, and how to fix it.
    """
    venues: list[Venue] = parsed.records
    counts = Counter(str(v.status) for v in venues)
    parsed.statuses = {code: counts[code] for code in vocab.STATUSES.codes() if counts[code]}
    implicit = Counter(v.kind for v, d in zip(venues, derived, strict=True)
                       if d and v.status is Status.CANDIDATE)
    for spec in vocab.KINDS:
        n = implicit[spec.code]
        if n:
            example = next(str(c) for c in Channel if c in spec.channels)
            many = n != 1
            them = "them" if many else "it"
            parsed.warnings.append(
                f"{n} {spec.en.lower()}{'s' if many else ''} without a channel stored as "
                f"{'' if many else 'a '}planning candidate{'s' if many else ''} "
                f"(status=candidate); give channels={example},... to make {them} "
                f"{'' if many else 'a '}service point{'s' if many else ''} "
                f"(or status=candidate to keep {them} so without this warning)")


def _venue_row(r: RowReader,
               parsed: Parsed) -> tuple[dict[str, Any], tuple[float, float]] | None:
    """Read one venue row: its Venue fields and lon/lat (file CRS); None when it is bad."""
    code = _venue_code(r, parsed)
    name = r.text("name", required=True)
    kind = r.choice("kind", KINDS, required=True)
    point = _coordinates(r)
    level = r.choice("level", LEVELS)
    channels = r.channels("channels")
    _check_level(r, kind, level)
    _check_kind_channels(r, kind, channels)
    hours = r.text("opening_hours")
    if hours is not None:
        r.check("opening_hours", partial(hours_problem, hours))
    machines = r.number("machines", lo=0, integer=True)
    values = _venue_details(r)
    status = r.choice("status", STATUSES)
    chosen = None if kind is None else DEFAULT_CHANNELS[kind] if channels is None else channels
    _check_status(r, kind, chosen, status)
    if not r.ok or code is None or kind is None or chosen is None or point is None:
        return None
    parsed.venue_channels[code] = chosen
    values.update(code=code, name=name, kind=kind, level=level, channels=chosen,
                  opening_hours=hours, status=status,
                  machines=None if machines is None else int(machines))
    return values, point


def _check_status(r: RowReader, kind: VenueKind | None, channels: frozenset[Channel] | None,
                  status: Status | None) -> None:
    """Report an explicit status that does not fit the venue (an empty cell is derived)."""
    if status is not None and kind is not None and channels is not None:
        problem = status_problem(kind, channels, status)
        if problem is not None:
            r.problem("status", problem)


def _venue_code(r: RowReader, parsed: Parsed) -> str | None:
    """Read the venue code (known from now on, without channels); None if bad or repeated."""
    code = r.code("code")
    if code is not None:
        parsed.venue_channels[code] = None
        if _duplicate(r, parsed, code, "code", "venue code"):
            code = None
    return code


def _check_level(r: RowReader, kind: VenueKind | None, level: Level | None) -> None:
    """Report a missing level of a kind that requires one (not when the level cell is bad)."""
    if (kind is not None and vocab.KINDS[kind].requires_level and level is None
            and r.text("level") is None):
        r.problem("level", f"is required for a {kind} "
                           f"(one of {', '.join(Level)})")


def _check_kind_channels(r: RowReader, kind: VenueKind | None,
                         channels: frozenset[Channel] | None) -> None:
    """Report channels a venue of ``kind`` cannot offer."""
    if kind is not None and channels is not None:
        allowed = KIND_CHANNELS[kind]
        if not channels <= allowed:
            bad = ", ".join(sorted(channels - allowed))
            r.problem("channels", f"a {kind} can only offer {', '.join(sorted(allowed))} "
                                  f"(got {bad})")


def _venue_details(r: RowReader) -> dict[str, Any]:
    """Read the optional descriptive fields of a venue row."""
    return dict(
        area_code=r.text("area_code"), area_name=r.text("area_name"),
        address=r.text("address"), phone=r.text("phone", max_len=100),
        official_calendar=r.boolean("official_calendar", default=True),
        accessible=r.boolean("accessible", default=False),
        cross_province=r.boolean("cross_province", default=False),
        regional=r.boolean("regional", default=False),
        bank=r.text("bank"), name_en=r.text("name_en"), source=r.text("source"),
    )


def parse_items(rows: list[dict[str, Any]], *, crs: str) -> Parsed:  # noqa: ARG001
    """Validate service-item rows."""
    parsed, absent = _start("items", rows)
    for r in _readers(parsed, rows, absent):
        code = r.code("code")
        if code is not None and _duplicate(r, parsed, code, "code", "item code"):
            code = None
        item = ServiceItem(
            code=code or "", name=r.text("name", required=True) or "",
            name_en=r.text("name_en") or "", department=r.text("department") or "",
            category=r.choice("category", CATEGORIES) or Category.PERSON,
            high_frequency=r.boolean("high_frequency", default=False),
            scope=r.choice("scope", SCOPES) or Scope.CITY,
            description=r.text("description", max_len=10000) or "",
            materials=_text_list(r, "materials", MATERIAL_SEPARATORS),
            conditions=r.text("conditions", max_len=10000) or "",
            fee=r.text("fee") or "",
            legal_days=_days(r, "legal_days"), promised_days=_days(r, "promised_days"),
            apply_url=_url(r, "apply_url") or "",
            can_do_online=r.boolean("can_do_online", default=False),
            by_post=r.boolean("by_post", default=False),
            at_kiosk=r.boolean("at_kiosk", default=False),
        )
        if r.ok and code is not None:
            parsed.records.append(item)
    return parsed


def _text_list(r: RowReader, field_name: str, separators: tuple[str, ...]) -> tuple[str, ...]:
    """Read a list cell: a list value, or text split at ``separators`` (blanks dropped)."""
    raw = r.data.get(field_name)
    if isinstance(raw, list | tuple):
        parts = [as_text(v) for v in raw]
        return tuple(p for p in parts if p)
    text = r.text(field_name, max_len=10000)
    if text is None:
        return ()
    for sep in separators:
        text = text.replace(sep, "\n")
    return tuple(p.strip() for p in text.split("\n") if p.strip())


def _days(r: RowReader, field_name: str) -> int | None:
    """Read a time limit in whole days (0 .. :data:`MAX_DAYS`); None when empty."""
    value = r.number(field_name, lo=0, hi=MAX_DAYS, integer=True)
    return None if value is None else int(value)


def _url(r: RowReader, field_name: str) -> str | None:
    """Read an http(s) URL with a host; anything else is a problem of the row."""
    text = r.text(field_name, max_len=2000)
    if text is None:
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in URL_SCHEMES or not parts.netloc \
            or any(c.isspace() for c in text):
        r.problem(field_name, f"must be an http:// or https:// address (got {shown(text)})")
        return None
    return text


def parse_bundles(rows: list[dict[str, Any]], *, crs: str,  # noqa: ARG001
                  items: Mapping[str, Any]) -> Parsed:
    """Validate 一件事 bundle rows against the known item codes (``items``)."""
    parsed, absent = _start("bundles", rows)
    for r in _readers(parsed, rows, absent):
        code = r.code("code")
        if code is not None and _duplicate(r, parsed, code, "code", "bundle code"):
            code = None
        name = r.text("name", required=True)
        members = _text_list(r, "items", CODE_SEPARATORS)
        if not members and "items" not in absent:
            r.problem("items", "is required (item codes separated by commas)")
        unknown = [m for m in members if m not in items]
        if unknown:
            r.problem("items", f"unknown item {', '.join(shown(m) for m in unknown)} "
                               "(import items first)")
        repeated = sorted({m for m in members if members.count(m) > 1})
        if repeated:
            r.problem("items", f"names {', '.join(shown(m) for m in repeated)} twice")
        if r.ok and code is not None and name is not None:
            parsed.records.append(Bundle(code, name, members, r.text("name_en") or "",
                                         r.text("description", max_len=10000) or ""))
    return parsed


def parse_links(rows: list[dict[str, Any]], *, crs: str,  # noqa: ARG001
                venues: Mapping[str, frozenset[Channel] | None],
                items: Mapping[str, Any]) -> Parsed:
    """Validate link rows against known venues (code -> channels) and items.

    A venue mapped to None is known but its own row was bad: links to it are
    accepted here (its problem is reported where it is).
    """
    parsed, absent = _start("links", rows)
    for r in _readers(parsed, rows, absent):
        venue = r.code("venue_code")
        item = r.code("item_code")
        channels = r.channels("channels")
        offered = _offered(r, venue, venues)
        if item is not None and item not in items:
            r.problem("item_code", f"unknown item {shown(item)} (import items first)")
        if venue is not None and item is not None:
            _duplicate(r, parsed, (venue, item), "item_code", "link")
        if offered is not None:
            channels = _link_channels(r, venue, offered, channels)
        if r.ok and venue is not None and item is not None and channels:
            parsed.records.append(Link(venue, item, channels))
    return parsed


def _offered(r: RowReader, venue: str | None,
             venues: Mapping[str, frozenset[Channel] | None]) -> frozenset[Channel] | None:
    """Return the channels ``venue`` offers (None if unknown, reported, or its row was bad)."""
    if venue is None:
        return None
    if venue not in venues:
        r.problem("venue_code", f"unknown venue {shown(venue)} (import venues first)")
        return None
    return venues[venue]


def _link_channels(r: RowReader, venue: str | None, offered: frozenset[Channel],
                   channels: frozenset[Channel] | None) -> frozenset[Channel]:
    """Return a link's channels (default: all the venue offers); report any it does not."""
    if channels is None:
        if not offered:
            r.problem("channels", f"venue {shown(venue)} offers no government channel "
                                  "yet; give the venue channels first")
        return offered
    if not channels <= offered:
        has = ", ".join(sorted(offered)) or "none"
        bad = ", ".join(sorted(channels - offered))
        r.problem("channels", f"venue {shown(venue)} does not offer {bad} "
                              f"(it offers {has})")
    return channels


def _geometry(r: RowReader, field_name: str, *, crs: str, required: bool):
    """Read a (Multi)Polygon from WKT text or a GeoJSON object, in WGS-84; None if bad."""
    import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it
    from shapely import (
        wkt as shapely_wkt,  # lazy: shapely takes ~0.12 s to import; only this path needs it
    )
    from shapely.errors import (
        ShapelyError,  # lazy: shapely takes ~0.12 s to import; only this path needs it
    )
    from shapely.geometry import (
        shape,  # lazy: shapely takes ~0.12 s to import; only this path needs it
    )

    raw = r.data.get(field_name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            r.problem(field_name, "is required (WKT text or a GeoJSON polygon)")
        return None
    try:
        geom = shape(raw) if isinstance(raw, dict) else shapely_wkt.loads(str(raw))
    except (ShapelyError, AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
        kind = "GeoJSON geometry" if isinstance(raw, dict) else "WKT"
        r.problem(field_name, f"is not valid {kind} ({exc}) (got {shown(as_text(raw))})")
        return None
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        r.problem(field_name, f"must be a Polygon or MultiPolygon (got {geom.geom_type})")
        return None
    if geom.is_empty:
        r.problem(field_name, "is an empty polygon")
        return None
    minx, miny, maxx, maxy = geom.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        r.problem(field_name, "has coordinates outside lon -180..180 / lat -90..90 "
                              "(is it in a projected CRS?)")
        return None
    if crs != "wgs84":
        geom = shapely.transform(
            geom, lambda xy: np.column_stack(to_wgs84(xy[:, 0], xy[:, 1], crs)))
    if not geom.is_valid:
        r.problem(field_name, f"is not a valid polygon ({shapely.is_valid_reason(geom)})")
        return None
    return geom


def parse_population(rows: list[dict[str, Any]], *, crs: str) -> Parsed:
    """Validate population rows: ``count`` at lon/lat, or over a polygon."""
    parsed, absent = _start("population", rows)
    good: list[tuple[dict[str, Any], tuple[float, float] | None]] = []
    for r in _readers(parsed, rows, absent):
        code = r.text("code", max_len=100)
        if code is not None and _duplicate(r, parsed, code, "code", "cell code"):
            code = None
        count = r.number("count", required=True, lo=0)
        geom = _geometry(r, "geometry", crs=crs, required=False)
        point = _cell_point(r, geom)
        if r.ok and count is not None:
            good.append(_cell_values(count, code, geom, point))
    converted = iter(_to_wgs84([p for _, p in good if p is not None], crs))
    for values, point in good:
        lon, lat = values.pop("wgs") if point is None else next(converted)
        parsed.records.append(PopulationCell(lon=lon, lat=lat, **values))
    return parsed


def _cell_point(r: RowReader, geom: Any) -> tuple[float, float] | None:
    """Read a population cell's lon/lat (None without them); report when it has no place."""
    has_point = r.text("lon") is not None or r.text("lat") is not None
    if has_point:
        return _coordinates(r)
    if geom is None and r.text("geometry") is None:
        r.problem("lon", "needs lon and lat, or a polygon geometry")
    return None


def _cell_values(count: float, code: str | None, geom: Any,
                 point: tuple[float, float] | None
                 ) -> tuple[dict[str, Any], tuple[float, float] | None]:
    """Return a good cell's PopulationCell fields, and its lon/lat in the file's CRS.

    A polygon cell without lon/lat is placed at its centroid, else (a centroid
    outside it) at a representative point, already in WGS-84 (``wgs``; no
    lon/lat returned).
    """
    wkt = None if geom is None else geom.wkt
    if geom is None or point is not None:
        return dict(count=count, wkt=wkt, code=code), point
    centre = geom.centroid
    centre = centre if geom.contains(centre) else geom.representative_point()
    return dict(count=count, wkt=wkt, code=code, wgs=(centre.x, centre.y)), None


def parse_areas(rows: list[dict[str, Any]], *, crs: str) -> Parsed:
    """Validate area rows: code, name, (Multi)Polygon geometry, level, population."""
    parsed, absent = _start("areas", rows)
    for r in _readers(parsed, rows, absent):
        code = r.code("code")
        if code is not None and _duplicate(r, parsed, code, "code", "area code"):
            code = None
        name = r.text("name", required=True)
        level = r.choice("level", LEVELS) or Level.COUNTY
        population = r.number("population", lo=0)
        geom = None
        if "geometry" not in absent:
            geom = _geometry(r, "geometry", crs=crs, required=True)
        if r.ok and code is not None and name is not None and geom is not None:
            parsed.records.append(Area(code, name, geom.wkt, level, population))
    return parsed


#: Row parser of each layer kind (``links`` also takes the known venues and items).
PARSERS: dict[str, Callable[..., Parsed]] = {
    "items": parse_items,
    "venues": parse_venues,
    "links": parse_links,
    "areas": parse_areas,
    "population": parse_population,
    "bundles": parse_bundles,
}
