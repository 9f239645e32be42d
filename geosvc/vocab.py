"""The vocabulary of geosvc: venue kinds, channels, levels, statuses, item scopes, categories.

Everything a user can name is one entry in one registry here, and the rest of
the code looks it up: the importer's Chinese labels (simplified and
traditional), the store's constraints, the API's parameter checks and OpenAPI
enums, the OGC collections, map styles, legends and popups all derive from
these tables (``tests/test_vocab.py`` checks that they agree).

Import column headers have their own table, :data:`HEADERS`: the header
aliases (simplified and traditional Chinese, English) the importer renames to
its column names; README and docs/api.md show it as a table that
``tests/test_vocab.py`` checks.

Adding a venue kind is one :class:`KindSpec` in :data:`KINDS` (and one member
of :class:`VenueKind`, in this file); the stores' ``venue_kinds`` table follows
the registry from the next venue write, so no store migration is needed (see
``docs/architecture.md``, "Adding a venue kind").

No I/O, no imports of the rest of geosvc.

Examples
--------
>>> KINDS.lookup("便民服務中心").code
<VenueKind.HALL: 'hall'>
>>> CHANNELS["smart_teller"].zh
'智慧柜员机'
>>> KINDS.codes()
('hall', 'bank_outlet', 'kiosk')
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

__all__ = [
    "CATEGORIES",
    "CHANNELS",
    "HEADERS",
    "KINDS",
    "LEVELS",
    "SCOPES",
    "STATUSES",
    "Category",
    "Channel",
    "HeaderSpec",
    "KindSpec",
    "Level",
    "Registry",
    "Scope",
    "Status",
    "Term",
    "VenueKind",
    "header_aliases",
    "normalise_label",
]


class VenueKind(StrEnum):
    """What a venue is (one member per entry of :data:`KINDS`)."""

    HALL = "hall"  # staffed government hall 政务服务大厅 / 便民服务中心
    BANK_OUTLET = "bank_outlet"  # bank branch 政银通办网点
    KIOSK = "kiosk"  # self-service machine or 7x24 station 自助终端 / 自助服务站


class Level(StrEnum):
    """Administrative level of a hall (the four levels of the seeds)."""

    CITY = "city"  # 市
    COUNTY = "county"  # 县 / 区
    TOWNSHIP = "township"  # 乡镇 / 街道
    VILLAGE = "village"  # 村 / 社区


class Channel(StrEnum):
    """How an item is handled at a venue."""

    WINDOW = "window"  # staffed window 窗口
    SELF_SERVICE = "self_service"  # government self-service machine 自助一体机
    SMART_TELLER = "smart_teller"  # the bank's own smart teller 智慧柜员机


class Status(StrEnum):
    """Whether a venue serves now (only ``in_service`` venues answer service queries)."""

    IN_SERVICE = "in_service"  # open for service 运营中
    CANDIDATE = "candidate"  # planning candidate, e.g. a bank outlet without a window 候选
    PLANNED = "planned"  # decided or being built, not open yet 规划 / 筹建
    CLOSED = "closed"  # no longer serving 关闭 / 停用


class Scope(StrEnum):
    """Where a service item may be handled (通办范围)."""

    CITY = "city"  # anywhere in the city 全市通办
    COUNTY = "county"  # only in the citizen's own county / district 属地办理
    CROSS_PROVINCE = "cross_province"  # also across provinces 跨省通办


class Category(StrEnum):
    """Whom a service item serves."""

    PERSON = "person"  # 个人
    BUSINESS = "business"  # 法人 / 企业


E = TypeVar("E", bound=StrEnum)


def normalise_label(text: str) -> str:
    """Return the lookup key of a code or label: stripped, lower case, ``-``/space as ``_``.

    Examples
    --------
    >>> normalise_label(" Bank-Outlet "), normalise_label("自助 一体机")
    ('bank_outlet', '自助_一体机')
    """
    return text.strip().lower().replace("-", "_").replace(" ", "_")


@dataclass(frozen=True, slots=True)
class Term(Generic[E]):
    """One entry of a plain vocabulary: a code with its labels.

    Attributes
    ----------
    code : StrEnum member
        The value stored and sent over the API.
    zh, en : str
        Display labels (Chinese, English).
    aliases : tuple of str
        Other labels the importer accepts (simplified Chinese).
    aliases_hant : tuple of str
        The same labels in traditional Chinese (Hong Kong, Macao, Taiwan files).
    colour : str or None
        Map colour where the vocabulary drives a marker style (``#rrggbb``).
    """

    code: E
    zh: str
    en: str
    aliases: tuple[str, ...] = ()
    aliases_hant: tuple[str, ...] = ()
    colour: str | None = None

    @property
    def labels(self) -> tuple[str, str]:
        """``(zh, en)``."""
        return (self.zh, self.en)


@dataclass(frozen=True, slots=True)
class KindSpec:
    """One venue kind and everything the system derives from it.

    Attributes
    ----------
    code : VenueKind
        Stored value.
    zh, en : str
        Display labels.
    aliases, aliases_hant : tuple of str
        Import labels in simplified and in traditional Chinese.
    channels : frozenset of Channel
        Channels a venue of this kind may offer.
    default_channels : frozenset of Channel
        Channels a venue gets when its import cell is empty.
    candidate : bool
        Whether a venue of this kind with no channel is a planning candidate
        (a bank outlet that could get a government window) rather than a
        service point; such venues are left out of service queries unless
        ``include_candidates``.
    requires_level : bool
        Whether the importer requires a hall level for this kind.
    collection, collection_title, collection_description : str
        The OGC API - Features collection of this kind.
    glyph : str
        One character on the map marker.
    marker : str
        How markers of this kind are coloured: ``"level"`` (by the hall
        level's colour), ``"channel"`` (by the strongest channel offered;
        grey for a candidate), ``"hours"`` (24/7 or set hours) or ``"plain"``
        (always :attr:`colour`).
    colour : str
        Default marker colour.
    colour_alt : str
        Second colour of ``"hours"`` markers (set hours).
    """

    code: VenueKind
    zh: str
    en: str
    aliases: tuple[str, ...]
    aliases_hant: tuple[str, ...]
    channels: frozenset[Channel]
    default_channels: frozenset[Channel]
    candidate: bool
    requires_level: bool
    collection: str
    collection_title: str
    collection_description: str
    glyph: str
    marker: str
    colour: str
    colour_alt: str = "#8c8c8c"

    @property
    def labels(self) -> tuple[str, str]:
        """``(zh, en)``."""
        return (self.zh, self.en)


class _Entry(Protocol):
    @property
    def code(self) -> StrEnum: ...

    @property
    def aliases(self) -> tuple[str, ...]: ...

    @property
    def aliases_hant(self) -> tuple[str, ...]: ...


T = TypeVar("T", bound=_Entry)


@dataclass(frozen=True)
class Registry(Generic[T]):
    """An ordered, read-only table of vocabulary entries keyed by code.

    ``registry[code]`` and ``code in registry`` take the code (or its enum
    member); :meth:`lookup` also takes any alias, case- and space-insensitive.
    """

    name: str
    entries: tuple[T, ...]
    _by_label: dict[str, T] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table: dict[str, T] = {}
        for entry in self.entries:
            for label in (str(entry.code), *entry.aliases, *entry.aliases_hant):
                key = normalise_label(label)
                other = table.get(key)
                if other is not None and other is not entry:
                    msg = (f"{self.name}: label {label!r} names both {other.code} "
                           f"and {entry.code}")
                    raise ValueError(msg)
                table[key] = entry
        object.__setattr__(self, "_by_label", table)

    def __iter__(self) -> Iterator[T]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, code: object) -> bool:
        return any(str(e.code) == str(code) for e in self.entries)

    def __getitem__(self, code: str) -> T:
        for entry in self.entries:
            if str(entry.code) == str(code):
                return entry
        msg = f"unknown {self.name} {code!r}; one of {', '.join(self.codes())}"
        raise KeyError(msg)

    def codes(self) -> tuple[str, ...]:
        """Return the codes in registry order."""
        return tuple(str(e.code) for e in self.entries)

    def lookup(self, label: str) -> T | None:
        """Return the entry a code or alias names; None when nothing matches."""
        return self._by_label.get(normalise_label(label))

    def labels(self) -> dict[str, str]:
        """Return ``{normalised label: code}`` for every code and alias."""
        return {k: str(v.code) for k, v in self._by_label.items()}

    def aliases(self) -> tuple[str, ...]:
        """Return every alias (not the codes): simplified first, then traditional."""
        return (tuple(a for e in self.entries for a in e.aliases)
                + tuple(a for e in self.entries for a in e.aliases_hant))


def _check_enum(registry: Registry[T], enum: Iterable[StrEnum]) -> Registry[T]:
    """Fail at import when an enum and its registry disagree (a developer error)."""
    if registry.codes() != tuple(str(m) for m in enum):
        msg = f"the {registry.name} registry and its enum disagree: {registry.codes()}"
        raise ValueError(msg)
    return registry


#: Venue kinds.
KINDS: Registry[KindSpec] = _check_enum(Registry("venue kind", (
    KindSpec(
        code=VenueKind.HALL, zh="政务服务大厅", en="Service hall",
        aliases=("大厅", "政务服务大厅", "政务大厅", "便民服务中心", "为民服务中心"),
        aliases_hant=("大廳", "政務服務大廳", "政務大廳", "便民服務中心", "為民服務中心"),
        channels=frozenset({Channel.WINDOW, Channel.SELF_SERVICE}),
        default_channels=frozenset({Channel.WINDOW}),
        candidate=False, requires_level=True,
        collection="halls", collection_title="Service halls",
        collection_description="Staffed government halls of the four levels.",
        glyph="厅", marker="level", colour="#b2182b"),
    KindSpec(
        code=VenueKind.BANK_OUTLET, zh="政银通办网点", en="Bank outlet",
        aliases=("银行网点", "政银通办网点", "网点"),
        aliases_hant=("銀行網點", "政銀通辦網點", "網點"),
        channels=frozenset(Channel),
        default_channels=frozenset(),
        candidate=True, requires_level=False,
        collection="bank_outlets", collection_title="Bank-outlet service points",
        collection_description="Bank branches offering government items (window, "
                               "self-service machine or smart teller).",
        glyph="银", marker="channel", colour="#8c8c8c"),
    KindSpec(
        code=VenueKind.KIOSK, zh="自助服务终端", en="Self-service kiosk",
        aliases=("自助终端", "自助服务站", "自助服务区", "一体机", "自助一体机"),
        aliases_hant=("自助終端", "自助服務站", "自助服務區", "一體機", "自助一體機"),
        channels=frozenset({Channel.SELF_SERVICE}),
        default_channels=frozenset({Channel.SELF_SERVICE}),
        candidate=False, requires_level=False,
        collection="kiosks", collection_title="24/7 self-service kiosks",
        collection_description="Self-service machines and stations.",
        glyph="自", marker="hours", colour="#542788", colour_alt="#998ec3"),
)), VenueKind)

#: Channels, strongest first (a bank outlet's marker takes the first it offers).
CHANNELS: Registry[Term[Channel]] = _check_enum(Registry("channel", (
    Term(Channel.WINDOW, "窗口", "staffed window", ("窗口",), (), "#1a7837"),
    Term(Channel.SELF_SERVICE, "自助一体机", "self-service machine",
         ("自助", "自助一体机", "一体机"), ("自助一體機", "一體機"), "#2171b5"),
    Term(Channel.SMART_TELLER, "智慧柜员机", "bank smart teller",
         ("智慧柜员机", "柜员机"), ("智慧櫃員機", "櫃員機"), "#41b6c4"),
)), Channel)

#: Administrative levels of halls, highest first.
LEVELS: Registry[Term[Level]] = _check_enum(Registry("level", (
    Term(Level.CITY, "市级", "city", ("市", "市级"), ("市級",), "#b2182b"),
    Term(Level.COUNTY, "县（区）级", "county", ("县", "区", "县级", "区级", "县区"),
         ("縣", "區", "縣級", "區級", "縣區"), "#e66101"),
    Term(Level.TOWNSHIP, "乡镇（街道）级", "township", ("乡镇", "乡", "镇", "街道", "乡镇街道"),
         ("鄉鎮", "鄉", "鎮", "鄉鎮街道"), "#c51b7d"),
    Term(Level.VILLAGE, "村（社区）级", "village", ("村", "社区", "村社区"), ("社區", "村社區"),
         "#f1a340"),
)), Level)

#: Venue statuses.  A venue without an explicit status is ``candidate`` when its
#: kind's :attr:`KindSpec.candidate` rule applies and it has no channel, else
#: ``in_service`` (:func:`geosvc.model.derived_status`).
STATUSES: Registry[Term[Status]] = _check_enum(Registry("status", (
    Term(Status.IN_SERVICE, "运营中", "in service",
         ("运营中", "在用", "营业中", "正常"), ("運營中", "營業中")),
    Term(Status.CANDIDATE, "候选", "planning candidate", ("候选", "候选点", "备选"),
         ("候選", "候選點", "備選")),
    Term(Status.PLANNED, "规划", "planned", ("规划", "规划中", "筹建", "筹建中", "在建"),
         ("規劃", "規劃中", "籌建", "籌建中")),
    Term(Status.CLOSED, "关闭", "closed", ("关闭", "已关闭", "停用", "撤销", "已撤销"),
         ("關閉", "已關閉", "撤銷", "已撤銷")),
)), Status)

#: Where an item may be handled.
SCOPES: Registry[Term[Scope]] = _check_enum(Registry("scope", (
    Term(Scope.CITY, "全市通办", "city-wide", ("全市通办",), ("全市通辦",)),
    Term(Scope.COUNTY, "属地办理", "own county only", ("属地", "属地办理"),
         ("屬地", "屬地辦理")),
    Term(Scope.CROSS_PROVINCE, "跨省通办", "cross-province", ("跨省通办",), ("跨省通辦",)),
)), Scope)

#: Whom an item serves.
CATEGORIES: Registry[Term[Category]] = _check_enum(Registry("category", (
    Term(Category.PERSON, "个人", "person", ("个人", "自然人"), ("個人",)),
    Term(Category.BUSINESS, "法人", "business", ("法人", "企业"), ("企業",)),
)), Category)


@dataclass(frozen=True, slots=True)
class HeaderSpec:
    """The header aliases of one import column.

    Attributes
    ----------
    column : str
        The importer's column name (see the :mod:`geosvc.importer` docstring).
    hans, hant, en : tuple of str
        Headers renamed to ``column``: simplified Chinese, traditional Chinese,
        English (matched case-insensitively, ``-`` and spaces as ``_``).
    layers : tuple of str
        Layers (``venues``, ``items``, ``links``, ``population``, ``areas``, ``bundles``)
        where the aliases apply; empty = every layer.
    """

    column: str
    hans: tuple[str, ...] = ()
    hant: tuple[str, ...] = ()
    en: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()

    @property
    def aliases(self) -> tuple[str, ...]:
        """Every alias, simplified, then traditional, then English, without repeats."""
        return tuple(dict.fromkeys((*self.hans, *self.hant, *self.en)))


#: Header aliases of the importer, one entry per column (and layer group).
HEADERS: tuple[HeaderSpec, ...] = (
    HeaderSpec("code", ("编码", "代码", "编号"), ("編碼", "代碼", "編號"), ("ref",)),
    HeaderSpec("name", ("名称", "网点名称", "机构名称", "场所名称", "事项名称"),
               ("名稱", "網點名稱", "機構名稱", "場所名稱", "事項名稱"), ("title",)),
    HeaderSpec("kind", ("类型", "场所类型", "网点类型"), ("類型", "場所類型", "網點類型"),
               ("type", "venue_type"), ("venues",)),
    HeaderSpec("lon", ("经度",), ("經度",), ("longitude", "lng", "long"),
               ("venues", "population")),
    HeaderSpec("lat", ("纬度",), ("緯度",), ("latitude",), ("venues", "population")),
    HeaderSpec("level", ("层级", "级别"), ("層級", "級別"), ("admin_level",),
               ("venues", "areas")),
    HeaderSpec("channels", ("渠道", "办理渠道"), ("辦理渠道",), ("channel",),
               ("venues", "links")),
    HeaderSpec("status", ("状态", "运营状态", "营业状态"), ("狀態", "運營狀態", "營業狀態"),
               ("state", "venue_status"), ("venues",)),
    HeaderSpec("area_code", ("区划代码", "行政区划代码"), ("區劃代碼", "行政區劃代碼"),
               ("district_code", "county_code"), ("venues",)),
    HeaderSpec("area_name", ("所属区县", "区县", "行政区"), ("所屬區縣", "區縣", "行政區"),
               ("district", "county"), ("venues",)),
    HeaderSpec("address", ("地址", "详细地址"), ("詳細地址",), ("addr", "street_address"),
               ("venues",)),
    HeaderSpec("phone", ("电话", "联系电话"), ("電話", "聯絡電話", "聯繫電話"),
               ("telephone", "tel"), ("venues",)),
    HeaderSpec("opening_hours", ("开放时间", "办公时间", "营业时间"),
               ("開放時間", "辦公時間", "營業時間"), ("hours", "open_hours"), ("venues",)),
    HeaderSpec("accessible", ("无障碍",), ("無障礙",), ("barrier_free",), ("venues",)),
    HeaderSpec("bank", ("银行", "所属银行"), ("銀行", "所屬銀行"), ("bank_name",),
               ("venues",)),
    HeaderSpec("machines", ("设备数量", "机器数量"), ("設備數量", "機器數量"),
               ("machine_count",), ("venues",)),
    HeaderSpec("name_en", ("英文名称",), ("英文名稱",), ("english_name",)),
    HeaderSpec("source", ("来源", "数据来源"), ("來源", "數據來源", "資料來源"), (),
               ("venues",)),
    HeaderSpec("venue_code", ("场所编码", "网点编码"), ("場所編碼", "網點編碼"),
               ("venue", "venue_id"), ("links",)),
    HeaderSpec("item_code", ("事项编码", "事项代码"), ("事項編碼", "事項代碼"),
               ("item", "item_id"), ("links",)),
    HeaderSpec("department", ("部门", "主管部门", "办理部门"), ("部門", "主管部門", "辦理部門"),
               ("dept", "agency"), ("items",)),
    HeaderSpec("category", ("类别", "服务对象"), ("類別", "服務對象"), (), ("items",)),
    HeaderSpec("scope", ("通办范围",), ("通辦範圍",), (), ("items",)),
    HeaderSpec("high_frequency", ("高频", "高频事项"), ("高頻", "高頻事項"), ("frequent",),
               ("items",)),
    HeaderSpec("description", ("描述", "说明", "事项说明"), ("說明", "事項說明"), (),
               ("items", "bundles")),
    HeaderSpec("materials", ("申请材料", "所需材料", "办理材料"),
               ("申請材料", "所需材料", "辦理材料"), ("required_documents",), ("items",)),
    HeaderSpec("conditions", ("办理条件", "受理条件", "申请条件"),
               ("辦理條件", "受理條件", "申請條件"), (), ("items",)),
    HeaderSpec("fee", ("收费标准", "收费", "是否收费"), ("收費標準", "收費", "是否收費"),
               ("fees", "charge"), ("items",)),
    HeaderSpec("legal_days", ("法定时限", "法定办结时限"), ("法定時限", "法定辦結時限"),
               ("legal_time_limit",), ("items",)),
    HeaderSpec("promised_days", ("承诺时限", "承诺办结时限"), ("承諾時限", "承諾辦結時限"),
               ("promised_time_limit",), ("items",)),
    HeaderSpec("apply_url", ("网上办理地址", "在线办理地址", "办理网址"),
               ("網上辦理地址", "線上辦理地址", "辦理網址"), ("online_url", "url"), ("items",)),
    HeaderSpec("can_do_online", ("可网办", "网上可办", "全程网办"),
               ("可網辦", "網上可辦", "全程網辦"), ("online",), ("items",)),
    HeaderSpec("by_post", ("可邮寄", "邮寄办理"), ("可郵寄", "郵寄辦理"), ("post",),
               ("items",)),
    HeaderSpec("at_kiosk", ("可自助", "自助办理"), ("可自助", "自助辦理"), ("kiosk",),
               ("items",)),
    HeaderSpec("items", ("包含事项", "事项清单", "事项编码"),
               ("包含事項", "事項清單", "事項編碼"), ("item_codes",), ("bundles",)),
    HeaderSpec("geometry", ("几何", "边界"), ("幾何", "邊界"), ("wkt", "geom", "the_geom"),
               ("areas", "population")),
    HeaderSpec("count", ("人口", "人数", "常住人口"), ("人數",), ("population", "pop"),
               ("population",)),
    HeaderSpec("population", ("人口", "常住人口"), (), ("pop",), ("areas",)),
)


def header_aliases(layer: str | None = None) -> dict[str, str]:
    """Return ``{normalised header alias: column}`` of :data:`HEADERS` for ``layer``.

    ``layer=None`` gives the aliases that apply to every layer only.

    Examples
    --------
    >>> header_aliases("venues")["經度"], header_aliases("population")["人口"]
    ('lon', 'count')
    >>> header_aliases("areas")["人口"]
    'population'
    """
    table: dict[str, str] = {}
    for spec in HEADERS:
        if spec.layers and layer not in spec.layers:
            continue
        for alias in spec.aliases:
            key = normalise_label(alias)
            other = table.get(key)
            if other is not None and other != spec.column:
                msg = f"header alias {alias!r} names both {other} and {spec.column} in {layer}"
                raise ValueError(msg)
            table[key] = spec.column
    return table

