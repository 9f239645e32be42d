"""The written-down rules that turn OSM features into demo venues and links.

Every rule is listed in ``layers/demo/README.md`` and in the docstring of
:mod:`geosvc.demo`; keep the three in step.  All choices that look random
(which bank outlets get government channels, which county halls have a
cross-province window ...) come from :func:`unit_hash`, a SHA-256 of the
feature's OSM type/id and a salt, so a re-run gives identical output.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from geosvc.coords import geodesic_distance_m
from geosvc.demo._osm import OsmFeature
from geosvc.demo.catalog import CATALOG, CatalogItem
from geosvc.model import Channel, Level, Link, Venue, VenueKind

__all__ = [
    "DEFAULT_HOURS",
    "Draft",
    "classify",
    "dedupe_halls",
    "links_for",
    "unit_hash",
]

_H, _B, _K = VenueKind.HALL, VenueKind.BANK_OUTLET, VenueKind.KIOSK
_LEVEL_RANK = {Level.CITY: 0, Level.COUNTY: 1, Level.TOWNSHIP: 2, Level.VILLAGE: 3}

#: Documented defaults where a feature has no usable ``opening_hours`` tag.
DEFAULT_HOURS: dict[tuple[VenueKind, Level | None], str] = {
    (_H, Level.CITY): "Mo-Fr 08:00-16:15; PH off",
    (_H, Level.COUNTY): "Mo-Fr 09:00-17:00; Sa 09:00-12:00; PH off",
    (_H, Level.TOWNSHIP): "Mo-Fr 09:00-12:00,13:00-17:00; Sa 09:00-12:00; PH off",
    (_H, Level.VILLAGE): "Mo-Fr 09:00-12:00,13:30-16:30; PH off",
    (_B, None): "Mo-Fr 10:00-16:30; PH off",
    (_K, None): "24/7",
}

#: Kiosk roles whose ``opening_hours`` tag is not the machine's availability
#: (on parking / ticket machines it states the charging period).
_IGNORE_HOURS_TAG = {"parking", "transit_ticket"}


def unit_hash(source: str, salt: str) -> float:
    """Return a deterministic number in [0, 1) for ``source`` and ``salt``.

    Examples
    --------
    >>> unit_hash("osm:node/1", "bank") == unit_hash("osm:node/1", "bank")
    True
    >>> 0 <= unit_hash("osm:node/1", "bank") < 1
    True
    """
    digest = hashlib.sha256(f"geosvc-demo/{salt}/{source}".encode()).hexdigest()
    return int(digest[:12], 16) / float(16**12)


@dataclass(frozen=True, slots=True)
class Draft:
    """A feature that a venue rule kept, before codes and areas are given."""

    feature: OsmFeature
    kind: VenueKind
    level: Level | None
    role: str  # the rule that matched, e.g. "townhall", "bank", "atm"
    label: str  # English description used in generated names
    suffix: str = ""  # "" for the feature itself, "#self-service" for a 24/7 area

    @property
    def source(self) -> str:
        return self.feature.source + self.suffix

    @property
    def sort_key(self) -> tuple[int, int, str]:
        return (*self.feature.sort_key, self.suffix)


def _vending(f: OsmFeature) -> set[str]:
    return set((f.tag("vending") or "").split(";")) - {""}


def _is_ministry(f: OsmFeature) -> bool:
    name = (f.tag("name") or "").lower()
    return f.tag("government") == "ministry" or "ministeriö" in name


#: (role, kind, level, label, predicate) -- first match wins.
RULES: tuple[tuple[str, VenueKind, Level | None, str, Callable[[OsmFeature], bool]], ...] = (
    ("townhall", _H, Level.CITY, "City hall", lambda f: f.tag("amenity") == "townhall"),
    ("tax_office", _H, Level.COUNTY, "Tax office",
     lambda f: f.tag("office") == "tax"
     or (f.tag("office") == "government" and f.tag("government") == "tax")),
    ("ministry", _H, Level.COUNTY, "Ministry",
     lambda f: f.tag("office") == "government" and _is_ministry(f)),
    ("government_office", _H, Level.COUNTY, "Government office",
     lambda f: f.tag("office") in {"government", "administrative"}),
    ("courthouse", _H, Level.TOWNSHIP, "Court", lambda f: f.tag("amenity") == "courthouse"),
    ("police", _H, Level.TOWNSHIP, "Police station", lambda f: f.tag("amenity") == "police"),
    ("post_office", _H, Level.TOWNSHIP, "Post office",
     lambda f: f.tag("amenity") == "post_office"),
    ("community_centre", _H, Level.TOWNSHIP, "Community centre",
     lambda f: f.tag("amenity") == "community_centre"),
    ("library", _H, Level.VILLAGE, "Library", lambda f: f.tag("amenity") == "library"),
    ("social_facility", _H, Level.VILLAGE, "Social facility",
     lambda f: f.tag("amenity") == "social_facility"),
    ("public_building", _H, Level.VILLAGE, "Public building",
     lambda f: f.tag("amenity") == "public_building"
     or (f.tag("building") in {"public", "civic", "government"} and f.tag("name") is not None
         and not any(f.tag(k) for k in ("amenity", "office", "shop", "tourism")))),
    ("bank", _B, None, "Bank", lambda f: f.tag("amenity") == "bank"),
    ("atm", _K, None, "ATM", lambda f: f.tag("amenity") == "atm"),
    ("parking", _K, None, "Parking ticket machine",
     lambda f: "parking_tickets" in _vending(f)),
    ("transit_ticket", _K, None, "Public transport ticket machine",
     lambda f: "public_transport_tickets" in _vending(f)
     or f.tag("amenity") == "ticket_validator"),
    ("parcel_locker", _K, None, "Parcel locker",
     lambda f: f.tag("amenity") == "parcel_locker"
     or bool(_vending(f) & {"parcel_pickup", "parcel_mail_in"})),
    ("luggage_locker", _K, None, "Luggage locker",
     lambda f: f.tag("amenity") == "luggage_locker"),
    ("ticket_office", _K, None, "Ticket sales point", lambda f: f.tag("amenity") == "tickets"),
)


def classify(features: Iterable[OsmFeature]) -> list[Draft]:
    """Apply :data:`RULES` to ``features``; each OSM object is kept at most once."""
    seen: set[str] = set()
    drafts = []
    for f in features:
        if f.source in seen:
            continue
        for role, kind, level, label, matches in RULES:
            if matches(f):
                drafts.append(Draft(f, kind, level, role, label))
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


def self_service_areas(drafts: Sequence[Draft]) -> list[Draft]:
    """Drafts of the 7x24 self-service areas beside the city and county halls.

    The city hall always has one; a county hall has one when
    ``unit_hash(source, "area") < 0.5``.
    """
    out = []
    for d in drafts:
        if d.kind is _H and (d.level is Level.CITY or (
                d.level is Level.COUNTY and unit_hash(d.source, "area") < 0.5)):
            out.append(replace(d, kind=_K, level=None, role="self_service_area",
                               label="24/7 self-service area", suffix="#self-service"))
    return out


def bank_channels(source: str) -> frozenset[Channel]:
    """Government channels of a bank outlet (empty = planning candidate).

    About half the outlets (``unit_hash(source, "bank") < 0.5``) are service
    points; each of those has a staffed window when ``unit_hash(.., "window")
    < 0.5``, a government self-service machine when ``.. "self" < 0.6``, and
    the items on its smart tellers when ``.. "teller" < 0.5``; an outlet
    that draws none of the three gets a window.
    """
    if unit_hash(source, "bank") >= 0.5:
        return frozenset()
    channels = set()
    if unit_hash(source, "window") < 0.5:
        channels.add(Channel.WINDOW)
    if unit_hash(source, "self") < 0.6:
        channels.add(Channel.SELF_SERVICE)
    if unit_hash(source, "teller") < 0.5:
        channels.add(Channel.SMART_TELLER)
    return frozenset(channels or {Channel.WINDOW})


#: Which catalog flag each kiosk role serves (all through ``self_service``).
_KIOSK_ITEMS: dict[str, Callable[[CatalogItem], bool]] = {
    "self_service_area": lambda c: c.self_service,
    "atm": lambda c: c.smart_teller,
    "parking": lambda c: c.payment,
    "transit_ticket": lambda c: c.payment,
    "ticket_office": lambda c: c.payment,
    "parcel_locker": lambda c: c.locker,
    "luggage_locker": lambda c: c.locker,
}


def links_for(venue: Venue, role: str, catalog: Sequence[CatalogItem] = CATALOG) -> list[Link]:
    """Apply the channel rules to one venue; links sorted by item code.

    * hall of level L: ``window`` for every item whose ``lowest_level`` is L
      or lower (city hall: every item); ``self_service`` for self-service
      items when the hall has machines;
    * bank outlet: ``window`` for bank-window items, ``self_service`` for
      self-service items, ``smart_teller`` for smart-teller items, each only
      if the outlet offers that channel (a candidate gets no links);
    * kiosk: ``self_service`` for the item set of its role (see
      :data:`_KIOSK_ITEMS`).
    """
    wanted: dict[str, set[Channel]] = {}

    def add(flag: Callable[[CatalogItem], bool], channel: Channel) -> None:
        if channel in venue.channels:
            for c in catalog:
                if flag(c):
                    wanted.setdefault(c.item.code, set()).add(channel)

    if venue.kind is _H and venue.level is not None:
        rank = _LEVEL_RANK[venue.level]
        add(lambda c: _LEVEL_RANK[c.lowest_level] >= rank, Channel.WINDOW)
        add(lambda c: c.self_service, Channel.SELF_SERVICE)
    elif venue.kind is _B:
        add(lambda c: c.bank_window, Channel.WINDOW)
        add(lambda c: c.self_service, Channel.SELF_SERVICE)
        add(lambda c: c.smart_teller, Channel.SMART_TELLER)
    elif venue.kind is _K:
        add(_KIOSK_ITEMS[role], Channel.SELF_SERVICE)
    return [Link(venue.code, code, frozenset(ch)) for code, ch in sorted(wanted.items())]
