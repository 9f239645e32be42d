"""The dataset of the schema-v1 fixtures in ``tests/data/store/`` and how to load them.

``scripts/make_v1_fixture.py`` wrote these records with the store code of
schema version 1 (commit 9f774d7, before numbered migrations existed) into

* ``v1.sqlite``: a SQLite file exactly as that code left it
  (``PRAGMA user_version = 1``);
* ``v1_postgis.sql``: the v1 PostGIS DDL as that code ran it, its ``meta``
  rows and one ``INSERT`` per stored row (geometries as hex EWKB, in insertion
  order), read back from a real PostGIS schema the v1 code had written.

The tests open copies of them with the current code (which migrates them in
place) and compare with :func:`batches` and with the raw rows.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from geosvc.model import (
    Area,
    Category,
    Channel,
    DatasetInfo,
    Level,
    Link,
    PopulationCell,
    Scope,
    ServiceItem,
    Venue,
    VenueKind,
)
from geosvc.store.base import Batch

DATA = Path(__file__).resolve().parents[1] / "data" / "store"
SQLITE_V1 = DATA / "v1.sqlite"
POSTGIS_V1 = DATA / "v1_postgis.sql"

W, S, T = Channel.WINDOW, Channel.SELF_SERVICE, Channel.SMART_TELLER

INFO = DatasetInfo(name="v1 fixture city", timezone="Asia/Shanghai", calendar="cn",
                   country="CN", extra={"source": "scripts/make_v1_fixture.py"})
ITEMS = [
    ServiceItem("I1", "社保卡补领", "Social security card", "人社局", Category.PERSON, True,
                Scope.CITY, "补办社保卡"),
    ServiceItem("I2", "营业执照变更", category=Category.BUSINESS, scope=Scope.COUNTY),
    ServiceItem("I3", "居住证签注", "Residence permit", "公安局", Category.PERSON, False,
                Scope.CROSS_PROVINCE),
]
VENUES = [
    Venue("H1", "市政务服务中心", VenueKind.HALL, 118.7588, 30.9402, Level.CITY,
          frozenset({W, S}), "D1", "宣州区", "梅溪路 1 号", "0563-1234567",
          "Mo-Fr 09:00-17:00", True, True, True, True, None, None, "City hall",
          "osm:node/1"),
    Venue("H2", "鳌峰街道便民服务中心", VenueKind.HALL, 118.123456789012345, 30.987654321098765,
          Level.TOWNSHIP, frozenset({W}), "D1", "宣州区", opening_hours="Mo-Sa 08:30-12:00",
          official_calendar=False),
    Venue("B1", "工商银行 鳌峰支行", VenueKind.BANK_OUTLET, 118.75, 30.95, None,
          frozenset({W, S, T}), "D2", "郎溪县", bank="ICBC", machines=2),
    Venue("B2", "建设银行 梅园支行", VenueKind.BANK_OUTLET, -179.999999, 89.9, Level.COUNTY,
          frozenset(), bank="CCB"),
    Venue("K1", "自助服务站 1", VenueKind.KIOSK, 118.76, 30.93, None, frozenset({S}),
          opening_hours="24/7", machines=1),
    Venue("K2", "自助服务站 2", VenueKind.KIOSK, 1e-07, -2.5e-12, Level.VILLAGE,
          frozenset({S}), accessible=True),
]
LINKS = [
    Link("H1", "I1", frozenset({W})),
    Link("H1", "I2", frozenset({W, S})),
    Link("H2", "I1", frozenset({W})),
    Link("B1", "I1", frozenset({T})),
    Link("B1", "I3", frozenset({W, S})),
    Link("K1", "I1", frozenset({S})),
    Link("K2", "I3", frozenset({S})),
]
AREAS = [
    Area("D1", "宣州区",
         "POLYGON ((118.1234567890123 30, 119 30, 119 31, 118.1234567890123 30))",
         Level.COUNTY, 5000.0),
    Area("D2", "郎溪县", "MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((2 2, 3 2, 3 3, 2 2)))",
         Level.COUNTY, None),
    Area("T1", "with hole",
         "POLYGON ((0 0, 10 0, 10 10, 0 10, 0 0), (2 2, 2 3, 3 3, 3 2, 2 2))", Level.TOWNSHIP,
         0.5),
]
CELLS = [
    PopulationCell(118.7, 30.9, 100.0),
    PopulationCell(118.8, 30.95, 50.5, "POLYGON ((1 1, 2 1, 2 2, 1 1))", "c2"),
    PopulationCell(118.75, 30.91, 0.0, None, "c3"),
]
#: The second write: H1 renamed in place (keeps its position), one more link.
H1_RENAMED = replace(VENUES[0], name="宣城市政务服务中心")
MORE_LINKS = [Link("H2", "I3", frozenset({W}))]


def batches() -> list[Batch]:
    """Return the writes the fixture was made of, in order (revision 2 at the end)."""
    return [Batch(venues=VENUES, items=ITEMS, links=LINKS, areas=AREAS, population=CELLS,
                  info=INFO),
            Batch(venues=[H1_RENAMED], links=MORE_LINKS)]


def expected() -> dict[str, Any]:
    """Return what the store API must read from the fixture (any schema version)."""
    return {"revision": 2, "info": INFO, "venues": [H1_RENAMED, *VENUES[1:]],
            "items": ITEMS, "links": [*LINKS, *MORE_LINKS], "areas": AREAS,
            "population": CELLS}


def read_all(store: Any) -> dict[str, Any]:
    """Return everything the store API reads, in the form of :func:`expected`."""
    return {"revision": store.revision(), "info": store.info(), "venues": store.venues(),
            "items": store.items(), "links": store.links(), "areas": store.areas(),
            "population": store.population()}


def load_postgis_v1(conn: Any, schema: str) -> None:
    """Create ``schema`` holding the v1 fixture (v1 DDL + rows) on a psycopg connection.

    The connection must be in autocommit mode; the load is one transaction.
    """
    with conn.transaction():
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public")
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute("SELECT set_config('search_path', %s, true)", (f'"{schema}", public',))
        conn.execute(POSTGIS_V1.read_text(encoding="utf-8"))
