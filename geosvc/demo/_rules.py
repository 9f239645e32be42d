"""The demo city's own rules: channels, links, default hours and 24/7 areas.

Which OSM features become which venues (and at which hall level) is the
public rule set of :mod:`geosvc.importer.osm_venues`, limited to
:data:`DEMO_ROLES`.  What only the demo invents is here: every rule is listed
in ``layers/demo/README.md`` and in the docstring of :mod:`geosvc.demo`; keep
the three in step.  All choices that look random (which bank outlets get
government channels, which county halls have a cross-province window ...)
come from :func:`unit_hash`, a SHA-256 of the feature's OSM type/id and a
salt, so a re-run gives identical output.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import replace

from geosvc.demo.catalog import CATALOG, CatalogItem
from geosvc.importer.osm_venues import Draft
from geosvc.model import Channel, Level, Link, Venue, VenueKind

__all__ = [
    "DEFAULT_HOURS",
    "DEMO_ROLES",
    "links_for",
    "unit_hash",
]

_H, _B, _K = VenueKind.HALL, VenueKind.BANK_OUTLET, VenueKind.KIOSK
_LEVEL_RANK = {Level.CITY: 0, Level.COUNTY: 1, Level.TOWNSHIP: 2, Level.VILLAGE: 3}

#: The roles of :data:`geosvc.importer.osm_venues.RULES` the demo keeps (each
#: kiosk role has its item set in :data:`_KIOSK_ITEMS`).
DEMO_ROLES = frozenset({
    "townhall", "tax_office", "ministry", "government_office", "courthouse", "police",
    "post_office", "community_centre", "library", "social_facility", "public_building",
    "bank", "atm", "parking", "transit_ticket", "parcel_locker", "luggage_locker",
    "ticket_office",
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
