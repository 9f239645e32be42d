"""The demo city's own rules: channels, links, default hours and the kiosks.

Which OSM features become halls and bank outlets (and at which hall level) is
the public rule set of :mod:`geosvc.importer.osm_venues`, limited to
:data:`DEMO_ROLES`.  What only the demo invents is here: every rule is listed
in ``layers/demo/README.md`` and in the docstring of :mod:`geosvc.demo`; keep
the three in step.

Kiosks are government self-service terminals placed where a city places
them (:data:`KIOSK_SITES`): the 7×24 self-service areas of the city hall and
the tax office, community centres, libraries, police stations, the main
railway station and shopping centres; each :class:`Terminal` type handles
its own items.  No vending, parking, ticket or cash machine of the extract
becomes a kiosk.

All choices that look random (which bank outlets get government channels,
which county halls have a cross-province window ...) come from
:func:`unit_hash`, a SHA-256 of the feature's OSM type/id and a salt, so a
re-run gives identical output.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from geosvc.coords import geodesic_distance_m
from geosvc.demo.catalog import CATALOG, CatalogItem
from geosvc.importer.osm_venues import Draft, OsmFeature
from geosvc.model import Channel, Level, Link, Venue, VenueKind

__all__ = [
    "DEFAULT_HOURS",
    "DEMO_ROLES",
    "HOST_FILTER",
    "KIOSK_SITES",
    "SPECIAL_MACHINES",
    "TERMINALS",
    "TERMINAL_SPACING_M",
    "KioskSite",
    "Terminal",
    "host_role",
    "kiosk_drafts",
    "links_for",
    "terminal_handles",
    "unit_hash",
]

_H, _B, _K = VenueKind.HALL, VenueKind.BANK_OUTLET, VenueKind.KIOSK
_LEVEL_RANK = {Level.CITY: 0, Level.COUNTY: 1, Level.TOWNSHIP: 2, Level.VILLAGE: 3}

#: The roles of :data:`geosvc.importer.osm_venues.RULES` the demo keeps: halls
#: and bank outlets.  Its machine roles (ATMs, parking, ticket and parcel
#: machines) are not government terminals and are left out.
DEMO_ROLES = frozenset({
    "townhall", "tax_office", "ministry", "government_office", "courthouse", "police",
    "post_office", "community_centre", "library", "social_facility", "public_building",
    "bank",
})

#: Documented defaults where a feature has no usable ``opening_hours`` tag.
DEFAULT_HOURS: dict[tuple[VenueKind, Level | None], str] = {
    (_H, Level.CITY): "Mo-Fr 08:00-16:15; PH off",
    (_H, Level.COUNTY): "Mo-Fr 09:00-17:00; Sa 09:00-12:00; PH off",
    (_H, Level.TOWNSHIP): "Mo-Fr 09:00-12:00,13:00-17:00; Sa 09:00-12:00; PH off",
    (_H, Level.VILLAGE): "Mo-Fr 09:00-12:00,13:30-16:30; PH off",
    (_B, None): "Mo-Fr 10:00-16:30; PH off",
    (_K, None): "24/7",
}

#: Items that need a machine of their own, beyond a general 一体机 (card
#: issuing, exit-entry endorsement); ``locker`` items need a certificate printer.
SPECIAL_MACHINES: dict[str, str] = {
    "RS-01": "card", "RS-02": "card", "CRJ-02": "endorse", "CRJ-03": "endorse",
}


def _special(c: CatalogItem) -> str | None:
    return SPECIAL_MACHINES.get(c.item.code) or ("print" if c.locker else None)


@dataclass(frozen=True, slots=True)
class Terminal:
    """A type of government self-service terminal and the items it handles.

    It handles the catalog's self-service items of its ``departments`` (the
    item-code prefix; ``None`` = every department) that need no special
    machine, plus those needing one of its ``special`` machines.
    """

    key: str
    zh: str
    en: str
    departments: frozenset[str] | None = None
    special: frozenset[str] = frozenset()
    only_special: bool = False


#: The terminal types (the seeds' 政务服务一体机, 社保 / 公积金 / 税务 / 公安
#: terminals, certificate printers).
TERMINALS: dict[str, Terminal] = {t.key: t for t in (
    Terminal("general", "政务服务一体机", "Government services self-service machine"),
    Terminal("social", "社保自助服务终端", "Social security self-service terminal",
             frozenset({"RS", "YB"}), frozenset({"card"})),
    Terminal("fund", "公积金自助服务终端", "Housing provident fund self-service terminal",
             frozenset({"GJJ"})),
    Terminal("tax", "自助办税终端", "Self-service tax terminal", frozenset({"SW"})),
    Terminal("public_security", "公安自助服务一体机", "Police self-service machine",
             frozenset({"GA", "CRJ", "JJ"}), frozenset({"endorse", "print"})),
    Terminal("print", "证照自助打印领取机", "Certificate self-service printer",
             None, frozenset({"print"}), only_special=True),
)}


def _department(c: CatalogItem) -> str:
    return c.item.code.split("-")[0]


def _tax_office_only(c: CatalogItem) -> bool:
    """Tax items of county level and above: at a tax office's (or the city hall's) windows."""
    return _department(c) == "SW" and _LEVEL_RANK[c.lowest_level] <= _LEVEL_RANK[Level.COUNTY]


def terminal_handles(terminal: Terminal, c: CatalogItem) -> bool:
    """Return whether a terminal of this type handles the catalog item ``c``.

    Examples
    --------
    >>> by_code = {c.item.code: c for c in CATALOG}
    >>> [terminal_handles(TERMINALS[t], by_code["RS-01"]) for t in ("social", "general")]
    [True, False]
    """
    if not c.self_service:
        return False
    if terminal.departments is not None and _department(c) not in terminal.departments:
        return False
    special = _special(c)
    if special is None:
        return not terminal.only_special
    return special in terminal.special


@dataclass(frozen=True, slots=True)
class KioskSite:
    """Where a city places terminals: the host's role and what stands there.

    ``place_zh`` / ``place_en`` name a 24/7 area or station ("" when the
    terminals stand inside the host and keep its hours); ``terminals`` are
    ``(terminal key, machines)``; ``default_hours`` is used when a host
    that is not a hall has no valid ``opening_hours`` tag.
    """

    role: str
    place_zh: str
    place_en: str
    always_open: bool
    terminals: tuple[tuple[str, int], ...]
    default_hours: str | None = None


#: Terminals of one site stand this far apart, eastwards from the host's point
#: in the order of :attr:`KioskSite.terminals` (the first at the point), so no
#: two machines share a position.
TERMINAL_SPACING_M = 3.0

_AREA = ("7×24小时自助服务区", "24/7 self-service area")
_STATION = ("7×24小时自助服务站", "24/7 self-service station")

#: Kiosk placement, by the host's role (halls of :data:`DEMO_ROLES`, plus the
#: ``station`` and ``mall`` hosts of :func:`host_role`).
KIOSK_SITES: dict[str, KioskSite] = {s.role: s for s in (
    KioskSite("townhall", *_AREA, True, (("general", 4), ("social", 2), ("fund", 1),
                                         ("tax", 1), ("public_security", 1), ("print", 1))),
    KioskSite("tax_office", *_AREA, True, (("tax", 2), ("general", 1))),
    KioskSite("police", "", "", False, (("public_security", 1),)),
    KioskSite("community_centre", "", "", False, (("social", 1), ("general", 1))),
    KioskSite("library", "", "", False, (("general", 1),)),
    KioskSite("station", *_STATION, True,
              (("general", 2), ("social", 1), ("public_security", 1))),
    KioskSite("mall", "", "", False, (("general", 1), ("social", 1)),
              default_hours="Mo-Fr 09:00-21:00; Sa 09:00-18:00; Su 12:00-18:00"),
)}

#: pyrosm filter of the hosts that are not halls (stations, shopping centres).
HOST_FILTER: dict[str, list[str]] = {
    "railway": ["station"], "building": ["train_station"], "shop": ["mall"],
}
_SMALL_STATIONS = frozenset({"subway", "light_rail", "tram", "monorail", "funicular"})


def host_role(f: OsmFeature) -> str | None:
    """``station`` or ``mall`` for a host that is not a hall, else None.

    A station: ``building=train_station``, or ``railway=station`` that is not a
    metro / tram / light-rail stop (``station=subway`` ...).  A shopping
    centre: ``shop=mall``.

    Examples
    --------
    >>> host_role(OsmFeature("node", 1, 0, 0, {"railway": "station"}))
    'station'
    >>> host_role(OsmFeature("node", 2, 0, 0, {"railway": "station", "station": "subway"}))
    >>> host_role(OsmFeature("node", 3, 0, 0, {"vending": "parking_tickets"}))
    """
    if f.tag("building") == "train_station" or (
            f.tag("railway") == "station" and f.tag("station") not in _SMALL_STATIONS):
        return "station"
    if f.tag("shop") == "mall":
        return "mall"
    return None


def _stations_once(hosts: Iterable[tuple[OsmFeature, str]], within_m: float
                   ) -> list[tuple[OsmFeature, str]]:
    """Keep one station within ``within_m`` metres (polygons first, then lower id)."""
    kept: list[tuple[OsmFeature, str]] = []
    for f, role in sorted(hosts, key=lambda h: (h[0].osm_type == "node", h[0].osm_id)):
        if role != "station" or not any(
                r == role and geodesic_distance_m(k.lon, k.lat, f.lon, f.lat) <= within_m
                for k, r in kept):
            kept.append((f, role))
    return kept


def kiosk_drafts(halls: Sequence[Draft], extra: Sequence[OsmFeature], *,
                 within_m: float = 300.0) -> list[tuple[Draft, KioskSite, int]]:
    """Place the demo's terminals: ``(draft, site, machines)`` sorted by source.

    ``halls`` are the hall drafts (one per hall after
    :func:`~geosvc.importer.osm_venues.dedupe_halls`); a hall whose role is
    in :data:`KIOSK_SITES` hosts that site's terminals.  ``extra`` are the
    extract's other features (each object once); those :func:`host_role`
    names host theirs, a station mapped twice (stations within ``within_m`` metres: the railway
    station node and its building) once, the polygon.  Each terminal's
    draft is the host feature with ``role`` = the terminal key and
    ``suffix`` = ``#<key>``.
    """
    hosts = [(d.feature, d.role) for d in halls if d.kind is _H and d.role in KIOSK_SITES]
    taken = {f.source for f, _ in hosts}
    others: dict[str, tuple[OsmFeature, str]] = {}
    for f in extra:
        if f.source not in taken and (r := host_role(f)) is not None:
            others.setdefault(f.source, (f, r))
    hosts += _stations_once(others.values(), within_m)
    out = []
    for f, role in hosts:
        site = KIOSK_SITES[role]
        for key, machines in site.terminals:
            t = TERMINALS[key]
            draft = Draft(f, _K, None, key, t.en, suffix=f"#{key}", label_zh=t.zh)
            out.append((draft, site, machines))
    return sorted(out, key=lambda k: k[0].sort_key)


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


def links_for(venue: Venue, role: str, catalog: Sequence[CatalogItem] = CATALOG) -> list[Link]:
    """Apply the channel rules to one venue; links sorted by item code.

    * hall of level L: ``window`` for every item whose ``lowest_level`` is L
      or lower (city hall: every item), except the tax items of county level
      (registration, invoices, certificates: the tax office's) below the city
      hall; ``self_service`` for self-service items when the hall has
      machines;
    * a tax office (``role`` ``tax_office``, a county hall): ``window`` for
      every tax (``SW``) item, ``self_service`` for the self-service ones;
    * bank outlet: ``window`` for bank-window items, ``self_service`` for
      the items of a general 政务服务一体机, ``smart_teller`` for the
      smart-teller and payment items, each only if the outlet offers that
      channel (a candidate gets no links);
    * kiosk (``role`` = its terminal key): ``self_service`` for the items of
      its :class:`Terminal` type.
    """
    wanted: dict[str, set[Channel]] = {}

    def add(flag: Callable[[CatalogItem], bool], channel: Channel) -> None:
        if channel in venue.channels:
            for c in catalog:
                if flag(c):
                    wanted.setdefault(c.item.code, set()).add(channel)

    general = TERMINALS["general"]
    if venue.kind is _H and role == "tax_office":
        add(lambda c: _department(c) == "SW", Channel.WINDOW)
        add(lambda c: c.self_service and _department(c) == "SW", Channel.SELF_SERVICE)
    elif venue.kind is _H and venue.level is not None:
        rank = _LEVEL_RANK[venue.level]
        add(lambda c: _LEVEL_RANK[c.lowest_level] >= rank and (
            venue.level is Level.CITY or not _tax_office_only(c)), Channel.WINDOW)
        add(lambda c: c.self_service, Channel.SELF_SERVICE)
    elif venue.kind is _B:
        add(lambda c: c.bank_window, Channel.WINDOW)
        add(lambda c: terminal_handles(general, c), Channel.SELF_SERVICE)
        add(lambda c: c.smart_teller or c.payment, Channel.SMART_TELLER)
    elif venue.kind is _K:
        terminal = TERMINALS[role]
        add(lambda c: terminal_handles(terminal, c), Channel.SELF_SERVICE)
    return [Link(venue.code, code, frozenset(ch)) for code, ch in sorted(wanted.items())]

