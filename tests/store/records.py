"""Records shared by the store tests: every field set, exact floats, edge coordinates."""

from __future__ import annotations

from typing import Any

from geosvc.model import (
    Area,
    Category,
    Channel,
    Level,
    Link,
    PopulationCell,
    Scope,
    ServiceItem,
    Venue,
    VenueKind,
)

W, S, T = Channel.WINDOW, Channel.SELF_SERVICE, Channel.SMART_TELLER


def venue(code: str, **kw: Any) -> Venue:
    """Return a city hall at a fixed point, with ``kw`` overriding any field."""
    base: dict[str, Any] = dict(name=f"hall {code}", kind=VenueKind.HALL, lon=118.76,
                                lat=30.94, level=Level.CITY, channels=frozenset({W}))
    base.update(kw)
    return Venue(code, **base)


ITEMS = [ServiceItem("I1", "社保卡补领", "card", "人社局", Category.PERSON, True, Scope.CITY,
                     "d"),
         ServiceItem("I2", "营业执照", category=Category.BUSINESS, scope=Scope.COUNTY)]
VENUES = [
    venue("H1", channels=frozenset({W, S}), area_code="D1", area_name="宣州区",
          address="梅溪路", phone="0563", opening_hours="Mo-Fr 09:00-17:00",
          official_calendar=False, accessible=True, cross_province=True, regional=True,
          name_en="Hall",
          source="osm:node/1", lon=118.123456789012345, lat=-30.987654321098765),
    venue("B1", kind=VenueKind.BANK_OUTLET, level=None, channels=frozenset({W, S, T}),
          bank="ICBC", machines=2, lon=-179.999999, lat=89.9),
    venue("K1", kind=VenueKind.KIOSK, level=Level.VILLAGE, channels=frozenset({S}),
          opening_hours="24/7"),
    venue("B2", kind=VenueKind.BANK_OUTLET, level=None, channels=frozenset(), lon=1e-07,
          lat=-2.5e-12),
]
LINKS = [Link("H1", "I1", frozenset({W})), Link("H1", "I2", frozenset({W, S})),
         Link("B1", "I1", frozenset({T}))]
AREAS = [
    Area("D1", "宣州区",
         "POLYGON ((118.1234567890123 30, 119 30, 119 31, 118.1234567890123 30))",
         Level.COUNTY, 5000.0),
    Area("D2", "two parts", "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((2 2, 3 2, 3 3, 2 2)))",
         Level.TOWNSHIP, None),
    Area("D3", "with hole",
         "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 2 3, 3 3, 3 2, 2 2))", Level.CITY, 0.5),
]
CELLS = [PopulationCell(118.7, 30.9, 100.0),
         PopulationCell(118.8, 30.95, 50.5, "POLYGON ((1 1, 2 1, 2 2, 1 1))", "c2")]


def state(store: Any) -> tuple:
    """Return everything a store reads, to compare before and after an operation."""
    return (store.counts(), store.revision(), store.venues(), store.items(), store.links(),
            store.areas(), store.population(), store.info())
