"""Starter venues from an OpenStreetMap extract: the rules of ``geosvc import osm-venues``.

:func:`classify` applies :data:`RULES` (first match wins) to the tagged
points of :func:`geosvc.importer._osm.read_features`; hall levels are then
refined by the admin tags and the Chinese naming rules of
:func:`hall_level`.  :func:`osm_venue_rows` turns the kept features into
venue rows (the columns of ``geosvc import venues``) and
:func:`import_osm_venues` validates them and upserts them by code.

=============================================================  ===========  ========
OSM tags (first match wins)                                    kind         level
=============================================================  ===========  ========
amenity=townhall                                               hall         city
office=tax; office=government + government=tax                 hall         county
office=government + ministry (tag or name)                     hall         county
office=government | administrative                             hall         county
amenity=courthouse | police | post_office | community_centre   hall         township
amenity=library | social_facility | public_building; a named   hall         village
building=public|civic|government with no amenity/office/shop/
tourism tag
amenity=bank                                                   bank_outlet  -
amenity=atm; vending=parking_tickets | public_transport_       kiosk        -
tickets | parcel_*; amenity=ticket_validator | parcel_locker |
luggage_locker | tickets
amenity=vending_machine | payment_terminal with a government   kiosk        -
vending value or a self-service name (自助服务终端, 自助终端,
自助服务机, 政务一体机 ...); amenity=payment_terminal
=============================================================  ===========  ========

Hall levels, in order: ``admin_level`` (<= 5 city, 6-7 county, 8-9
township, >= 10 village) or ``townhall:type``; else the name
(:func:`level_from_name`: 村民委员会 / 居民委员会 / 社区居委会 -> village;
街道办事处 / 镇 / 乡 -> township; 人民政府 / 政务服务中心 / 行政公署 -> city after
市 / 州 / 盟 / 地区, county after 区 / 县 / 旗); else the rule's level.

Each venue has the stable code ``OSM-N123`` (``W`` way, ``R`` relation) and
``source=osm:<type>/<id>``.  A bureau file replaces a starter venue either by
using the same code (an ordinary upsert), or by carrying the same ``source``
under its own code: a later run of ``osm-venues`` then neither creates nor
updates the starter for that OSM object (it reports a stored starter as a
duplicate).  A run never overwrites a stored venue with the starter's code
whose ``source`` is no longer that OSM object's (a bureau row took it over).
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geosvc.coords import geodesic_distance_m
from geosvc.errors import ImportRejected
from geosvc.hours import hours_problem
from geosvc.importer._file import parse_rows
from geosvc.importer._osm import OsmFeature, open_pbf, read_features
from geosvc.importer._rows import COLUMNS
from geosvc.model import Level, VenueKind
from geosvc.store.base import Batch

if TYPE_CHECKING:
    from geosvc.store.base import Store

__all__ = [
    "IGNORE_HOURS_TAG",
    "RULES",
    "Draft",
    "OsmFeature",
    "OsmVenuesReport",
    "VenueRule",
    "classify",
    "dedupe_halls",
    "hall_level",
    "import_osm_venues",
    "level_from_name",
    "open_pbf",
    "osm_venue_rows",
    "read_features",
    "venue_code",
    "write_venue_csv",
]

_H, _B, _K = VenueKind.HALL, VenueKind.BANK_OUTLET, VenueKind.KIOSK
VENUE_COLUMNS: tuple[str, ...] = COLUMNS["venues"][0] + COLUMNS["venues"][1]

#: Kiosk roles whose ``opening_hours`` tag is not the machine's availability
#: (on parking / ticket machines it states the charging period).
IGNORE_HOURS_TAG = frozenset({"parking", "transit_ticket"})

_SELF_SERVICE_NAME = re.compile(r"自助服务终端|自助终端|自助服务机|自助机|一体机|政务服务自助")


@dataclass(frozen=True, slots=True)
class VenueRule:
    """One row of :data:`RULES`: which OSM features become which venue."""

    role: str
    kind: VenueKind
    level: Level | None
    label: str  # English description used in generated names
    label_zh: str  # Chinese description used in generated names
    matches: Callable[[OsmFeature], bool]


def _vending(f: OsmFeature) -> set[str]:
    return set((f.tag("vending") or "").split(";")) - {""}


def _is_ministry(f: OsmFeature) -> bool:
    name = (f.tag("name") or "").lower()
    return f.tag("government") == "ministry" or "ministeriö" in name


def _is_self_service_terminal(f: OsmFeature) -> bool:
    if f.tag("amenity") not in {"vending_machine", "payment_terminal"}:
        return False
    return (any("government" in v for v in _vending(f))
            or bool(_SELF_SERVICE_NAME.search(f.tag("name") or "")))


def _public_building(f: OsmFeature) -> bool:
    return (f.tag("amenity") == "public_building"
            or (f.tag("building") in {"public", "civic", "government"}
                and f.tag("name") is not None
                and not any(f.tag(k) for k in ("amenity", "office", "shop", "tourism"))))


#: The rules, first match wins (see the module docstring).
RULES: tuple[VenueRule, ...] = (
    VenueRule("townhall", _H, Level.CITY, "City hall", "政府",
              lambda f: f.tag("amenity") == "townhall"),
    VenueRule("tax_office", _H, Level.COUNTY, "Tax office", "税务",
              lambda f: f.tag("office") == "tax"
              or (f.tag("office") == "government" and f.tag("government") == "tax")),
    VenueRule("ministry", _H, Level.COUNTY, "Ministry", "部委",
              lambda f: f.tag("office") == "government" and _is_ministry(f)),
    VenueRule("government_office", _H, Level.COUNTY, "Government office", "政府机关",
              lambda f: f.tag("office") in {"government", "administrative"}),
    VenueRule("courthouse", _H, Level.TOWNSHIP, "Court", "法院",
              lambda f: f.tag("amenity") == "courthouse"),
    VenueRule("police", _H, Level.TOWNSHIP, "Police station", "派出所",
              lambda f: f.tag("amenity") == "police"),
    VenueRule("post_office", _H, Level.TOWNSHIP, "Post office", "邮局",
              lambda f: f.tag("amenity") == "post_office"),
    VenueRule("community_centre", _H, Level.TOWNSHIP, "Community centre", "社区中心",
              lambda f: f.tag("amenity") == "community_centre"),
    VenueRule("library", _H, Level.VILLAGE, "Library", "图书馆",
              lambda f: f.tag("amenity") == "library"),
    VenueRule("social_facility", _H, Level.VILLAGE, "Social facility", "社会福利机构",
              lambda f: f.tag("amenity") == "social_facility"),
    VenueRule("public_building", _H, Level.VILLAGE, "Public building", "公共建筑",
              _public_building),
    VenueRule("bank", _B, None, "Bank", "银行", lambda f: f.tag("amenity") == "bank"),
    VenueRule("atm", _K, None, "ATM", "自动柜员机", lambda f: f.tag("amenity") == "atm"),
    VenueRule("parking", _K, None, "Parking ticket machine", "停车缴费机",
              lambda f: "parking_tickets" in _vending(f)),
    VenueRule("transit_ticket", _K, None, "Public transport ticket machine", "公交售票机",
              lambda f: "public_transport_tickets" in _vending(f)
              or f.tag("amenity") == "ticket_validator"),
    VenueRule("parcel_locker", _K, None, "Parcel locker", "快递柜",
              lambda f: f.tag("amenity") == "parcel_locker"
              or bool(_vending(f) & {"parcel_pickup", "parcel_mail_in"})),
    VenueRule("luggage_locker", _K, None, "Luggage locker", "行李寄存柜",
              lambda f: f.tag("amenity") == "luggage_locker"),
    VenueRule("ticket_office", _K, None, "Ticket sales point", "售票点",
              lambda f: f.tag("amenity") == "tickets"),
    VenueRule("self_service_terminal", _K, None, "Self-service terminal", "自助服务终端",
              _is_self_service_terminal),
    VenueRule("payment_terminal", _K, None, "Payment terminal", "缴费终端",
              lambda f: f.tag("amenity") == "payment_terminal"),
)


# ----------------------------------------------------------- hall levels

#: Words that fix the level by themselves (longest first).
_LEVEL_WORDS: tuple[tuple[str, Level], ...] = (
    ("村民委员会", Level.VILLAGE), ("居民委员会", Level.VILLAGE), ("社区居委会", Level.VILLAGE),
    ("村委会", Level.VILLAGE), ("居委会", Level.VILLAGE), ("便民服务站", Level.VILLAGE),
    ("街道办事处", Level.TOWNSHIP), ("街道办", Level.TOWNSHIP),
)
#: Words whose level comes from the place named just before them.
_SEAT_WORDS = ("人民政府", "行政公署", "政务服务中心", "行政服务中心", "便民服务中心", "政府")
#: Place-name endings -> level (checked in order: 地区 before 区).
_PLACE_ENDINGS: tuple[tuple[str, Level], ...] = (
    ("社区", Level.VILLAGE), ("村", Level.VILLAGE), ("嘎查", Level.VILLAGE),
    ("街道", Level.TOWNSHIP), ("镇", Level.TOWNSHIP), ("乡", Level.TOWNSHIP),
    ("苏木", Level.TOWNSHIP),
    ("地区", Level.CITY), ("自治州", Level.CITY), ("市", Level.CITY), ("州", Level.CITY),
    ("盟", Level.CITY),
    ("区", Level.COUNTY), ("县", Level.COUNTY), ("旗", Level.COUNTY),
)
_TOWNHALL_TYPES = {
    "city": Level.CITY, "county": Level.COUNTY, "district": Level.COUNTY,
    "town": Level.TOWNSHIP, "township": Level.TOWNSHIP, "subdistrict": Level.TOWNSHIP,
    "village": Level.VILLAGE, "community": Level.VILLAGE,
}


def _place_level(place: str) -> Level | None:
    place = place.strip()
    for ending, level in _PLACE_ENDINGS:
        if place.endswith(ending):
            return level
    return None


def level_from_name(name: str | None) -> Level | None:
    """Return the hall level a Chinese name states, or None.

    Examples
    --------
    >>> [str(level_from_name(n)) for n in ("北京市海淀区人民政府", "杭州市人民政府",
    ...  "西湖街道办事处", "龙坞镇人民政府", "新建村民委员会", "海淀区政务服务中心")]
    ['county', 'city', 'township', 'township', 'village', 'county']
    >>> level_from_name("Helsingin kaupungintalo") is None
    True
    """
    if not name:
        return None
    for word, level in _LEVEL_WORDS:
        if word in name:
            return level
    seats = [at for at in (name.find(word) for word in _SEAT_WORDS) if at > 0]
    return _place_level(name[:min(seats)]) if seats else None


def _admin_level(f: OsmFeature) -> Level | None:
    raw = f.tag("admin_level")
    if raw is not None and raw.isdigit():
        n = int(raw)
        if n <= 5:
            return Level.CITY
        if n <= 7:
            return Level.COUNTY
        return Level.TOWNSHIP if n <= 9 else Level.VILLAGE
    return _TOWNHALL_TYPES.get((f.tag("townhall:type") or "").lower())


def hall_level(f: OsmFeature, default: Level | None) -> Level | None:
    """Level of a hall: admin tags, else the (Chinese) name, else ``default``."""
    return _admin_level(f) or level_from_name(f.tag("name")) or default


# ----------------------------------------------------------- classify


@dataclass(frozen=True, slots=True)
class Draft:
    """A feature that a venue rule kept, before codes and areas are given."""

    feature: OsmFeature
    kind: VenueKind
    level: Level | None
    role: str  # the rule that matched, e.g. "townhall", "bank", "atm"
    label: str  # English description used in generated names
    suffix: str = ""  # "" for the feature itself, "#..." for a derived venue
    label_zh: str = ""  # Chinese description used in generated names

    @property
    def source(self) -> str:
        """``osm:<type>/<id>`` plus the suffix of a derived venue."""
        return self.feature.source + self.suffix

    @property
    def sort_key(self) -> tuple[int, int, str]:
        """(type rank, id, suffix)."""
        return (*self.feature.sort_key, self.suffix)


def classify(features: Iterable[OsmFeature], *,
             roles: Iterable[str] | None = None) -> list[Draft]:
    """Apply :data:`RULES` to ``features``; each OSM object is kept at most once.

    ``roles`` limits the rules to those roles (the demo city keeps its own
    set).  Hall levels go through :func:`hall_level`.
    """
    keep = None if roles is None else frozenset(roles)
    rules = [r for r in RULES if keep is None or r.role in keep]
    seen: set[str] = set()
    drafts = []
    for f in features:
        if f.source in seen:
            continue
        for rule in rules:
            if rule.matches(f):
                level = hall_level(f, rule.level) if rule.kind is _H else None
                drafts.append(Draft(f, rule.kind, level, rule.role, rule.label,
                                    label_zh=rule.label_zh))
                seen.add(f.source)
                break
    return drafts


def _dist_m(a: OsmFeature, b: OsmFeature) -> float:
    return float(geodesic_distance_m(a.lon, a.lat, b.lon, b.lat))


def dedupe_halls(drafts: Sequence[Draft], *, within_m: float = 300.0) -> list[Draft]:
    """Drop a hall mapped twice (same rule, same name, within ``within_m`` metres).

    The polygon (way / relation) is kept over the node; among equals the
    lower id.  Bank outlets and kiosks are never merged (two ATMs at one
    address are two machines).
    """
    def preference(d: Draft) -> tuple[int, int]:
        return (0 if d.feature.osm_type != "node" else 1, d.feature.osm_id)

    kept: list[Draft] = []
    for d in sorted(drafts, key=preference):
        name = d.feature.tag("name")
        twin = d.kind is _H and name is not None and any(
            k.kind is _H and k.role == d.role and k.feature.tag("name") == name
            and _dist_m(k.feature, d.feature) <= within_m
            for k in kept
        )
        if not twin:
            kept.append(d)
    return sorted(kept, key=lambda d: d.sort_key)


def _rule_wanted(tags: Mapping[str, str]) -> bool:
    f = OsmFeature("node", 0, 0.0, 0.0, tags)
    return any(rule.matches(f) for rule in RULES)


# ----------------------------------------------------------- venue rows


def venue_code(f: OsmFeature) -> str:
    """Return the stable code of a starter venue, e.g. ``OSM-N123``, ``OSM-W45``."""
    return f"OSM-{f.osm_type[:1].upper()}{f.osm_id}"


def _address(f: OsmFeature) -> str | None:
    full = f.tag("addr:full")
    if full:
        return full
    street, number = f.tag("addr:street"), f.tag("addr:housenumber")
    if street and number:
        sep = "" if street[-1] > "\u2e80" else " "  # Chinese addresses have no space
        return f"{street}{sep}{number}"
    return street


def _who(f: OsmFeature) -> str | None:
    return f.tag("brand:zh") or f.tag("brand") or f.tag("operator:zh") or f.tag("operator")


def _names(d: Draft) -> tuple[str, str | None]:
    f = d.feature
    name = f.tag("name") or f.tag("name:zh")
    if name:
        en = f.tag("name:en")
        return name, (en if en and en != name else None)
    who, street = _who(f), f.tag("addr:street")
    zh = d.label_zh + (f"（{who}）" if who else "") + (f" {street}" if street else "")
    en = d.label + (f" ({who})" if who else "") + (f" {street}" if street else "")
    return zh, en


def _hours(d: Draft, stats: Counter[str], bad: list[str]) -> str | None:
    tag = d.feature.tag("opening_hours")
    if not tag or d.role in IGNORE_HOURS_TAG:
        return None
    if hours_problem(tag) is None:
        stats["hours_from_osm"] += 1
        return tag
    stats["hours_tag_invalid"] += 1
    bad.append(f"{d.source}: {tag!r}")
    return None


def _row(d: Draft, stats: Counter[str], bad_hours: list[str]) -> dict[str, Any]:
    f = d.feature
    name, name_en = _names(d)
    channels = {_H: "window", _B: "", _K: "self_service"}[d.kind]
    bank = None
    if d.role in {"bank", "atm"}:
        bank = _who(f) or (f.tag("name") if d.role == "bank" else None)
    return {
        "code": venue_code(f), "name": name, "kind": str(d.kind),
        "lon": f"{f.lon:.7f}", "lat": f"{f.lat:.7f}",
        "level": str(d.level) if d.level else "", "channels": channels,
        "area_code": "", "area_name": "", "address": _address(f) or "",
        "phone": f.tag("phone") or f.tag("contact:phone") or "",
        "opening_hours": _hours(d, stats, bad_hours) or "",
        "official_calendar": "false" if d.kind is _K else "true",
        "accessible": "true" if f.tag("wheelchair") == "yes" else "false",
        "cross_province": "false", "regional": "false", "bank": bank or "",
        "machines": "", "name_en": name_en or "", "source": d.source,
    }


@dataclass
class StarterLayer:
    """The rows built from an extract and how they were made."""

    rows: list[dict[str, Any]]
    stats: Counter[str] = field(default_factory=Counter)
    bad_hours: list[str] = field(default_factory=list)


def osm_venue_rows(extract: str | Path) -> StarterLayer:
    """Read ``extract`` and build the starter venue rows, by OSM type and id.

    Parameters
    ----------
    extract : path
        ``.osm.pbf`` or OSM XML (``.osm``, ``.osm.xml``, ``.gz``/``.bz2``).

    Returns
    -------
    StarterLayer
        ``rows`` in the columns of ``geosvc import venues`` (WGS-84, 7
        decimals); ``stats`` counts kinds, levels, roles and opening hours;
        ``bad_hours`` lists the dropped invalid ``opening_hours`` tags.

    Raises
    ------
    InvalidParameter
        Named ``extract``: the file is missing or unreadable.
    """
    pois, buildings = read_features(extract, wanted=_rule_wanted)
    drafts = dedupe_halls(classify([*pois, *buildings]))
    out = StarterLayer(rows=[])
    for d in drafts:
        out.rows.append(_row(d, out.stats, out.bad_hours))
        out.stats[f"kind:{d.kind}"] += 1
        out.stats[f"role:{d.role}"] += 1
        if d.level is not None:
            out.stats[f"level:{d.level}"] += 1
    return out


def write_venue_csv(path: str | Path, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write ``rows`` as a UTF-8 venues CSV that ``geosvc import venues`` reads back."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=VENUE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    Path(path).write_text(buf.getvalue(), encoding="utf-8")


# ----------------------------------------------------------- import


@dataclass(frozen=True)
class OsmVenuesReport:
    """What ``import osm-venues`` did (or, for a dry run, would do)."""

    source: str
    rows: int
    created: int
    updated: int
    unchanged: int
    dry_run: bool = False
    by_kind: Mapping[str, int] = field(default_factory=dict)
    by_level: Mapping[str, int] = field(default_factory=dict)
    candidates: int = 0
    hours_from_osm: int = 0
    hours_invalid: tuple[str, ...] = ()  # "osm:node/1: 'tag'": invalid tags dropped
    claimed: tuple[str, ...] = ()  # OSM sources a venue with another code carries
    kept: tuple[str, ...] = ()  # starter codes a bureau row took over (left alone)
    duplicates: tuple[str, ...] = ()  # "OSM-N1 = B-7": stored starters a bureau row claims
    out: str | None = None

    def summary(self) -> str:
        """One line, e.g. ``osm-venues: 12 rows, 12 created, 0 updated, 0 unchanged (...)``."""
        kinds = ", ".join(f"{n} {k}" for k, n in self.by_kind.items()) or "none"
        text = (f"osm-venues: {self.rows} rows, {self.created} created, "
                f"{self.updated} updated, {self.unchanged} unchanged ({kinds}; "
                f"{self.candidates} bank outlet(s) without a channel stored as "
                "planning candidates)")
        if self.dry_run:
            text += " (dry run, nothing written)"
        return text


def _ownership(store: Store, rows: list[dict[str, Any]]
               ) -> tuple[list[dict[str, Any]], list[str], list[str], list[str]]:
    """Drop rows a bureau venue replaced (same code, other source; or same source)."""
    stored = {v.code: v.source for v in store.venues()}
    by_source = {src: code for code, src in stored.items()
                 if src and not code.startswith("OSM-")}
    keep, claimed, kept, dups = [], [], [], []
    for row in rows:
        code, src = row["code"], row["source"]
        if src in by_source:
            claimed.append(src)
            if code in stored:
                dups.append(f"{code} = {by_source[src]}")
        elif code in stored and stored[code] != src:
            kept.append(code)
        else:
            keep.append(row)
    return keep, claimed, kept, dups


def import_osm_venues(store: Store, extract: str | Path, *, dry_run: bool = False,
                      out: str | Path | None = None) -> OsmVenuesReport:
    """Build the starter venues of ``extract`` and upsert them into ``store`` by code.

    Parameters
    ----------
    store : Store
        Where to write (one transaction).
    extract : path
        ``.osm.pbf`` or OSM XML (``.osm``, ``.osm.xml``, ``.gz``/``.bz2``).
    dry_run : bool
        Validate and count; write nothing to the store.
    out : path, optional
        Also write every starter row to this CSV (even on a dry run), to
        edit and re-import with ``geosvc import venues``.

    Returns
    -------
    OsmVenuesReport

    Raises
    ------
    InvalidParameter
        Named ``extract``: missing or unreadable file.
    ImportRejected
        A built row fails validation (a bug of the rules; nothing written).
    """
    layer = osm_venue_rows(extract)
    if out is not None:
        write_venue_csv(out, layer.rows)
    rows, claimed, kept, dups = _ownership(store, layer.rows)
    parsed = parse_rows("venues", rows, crs="wgs84")
    if parsed.problems:
        raise ImportRejected(parsed.problems, source=str(extract))
    result = store.write(Batch(venues=parsed.records), dry_run=dry_run)
    counts = result["venues"]
    stats = layer.stats
    return OsmVenuesReport(
        source=str(extract), rows=len(layer.rows), created=counts.created,
        updated=counts.updated, unchanged=counts.unchanged, dry_run=result.dry_run,
        by_kind={str(k): stats[f"kind:{k}"] for k in (_H, _B, _K) if stats[f"kind:{k}"]},
        by_level={str(lv): stats[f"level:{lv}"] for lv in Level if stats[f"level:{lv}"]},
        candidates=stats[f"kind:{_B}"], hours_from_osm=stats["hours_from_osm"],
        hours_invalid=tuple(layer.bad_hours), claimed=tuple(claimed),
        kept=tuple(kept), duplicates=tuple(dups), out=str(out) if out else None,
    )

