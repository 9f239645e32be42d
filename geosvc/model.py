"""Domain types of geosvc: venues, service items, links and query filters.

Plain frozen dataclasses; the string enums (kinds, levels, channels, scopes,
categories) come from :mod:`geosvc.vocab` and are re-exported here.  No I/O,
no Flask.  Coordinates are
always WGS-84 longitude/latitude in decimal degrees inside geosvc; conversion
from GCJ-02 / BD-09 happens at the edges (:mod:`geosvc.coords`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from geosvc.vocab import KINDS, Category, Channel, Level, Scope, Status, VenueKind

__all__ = [
    "CANDIDATE_KINDS",
    "KIND_CHANNELS",
    "Area",
    "Bundle",
    "Category",
    "Channel",
    "DatasetInfo",
    "Level",
    "PLACE_KINDS",
    "Link",
    "Place",
    "PopulationCell",
    "Scope",
    "ServiceItem",
    "Status",
    "Venue",
    "VenueFilter",
    "VenueKind",
    "derived_status",
    "status_problem",
]

#: Channels a venue of each kind may offer (from :data:`geosvc.vocab.KINDS`).
KIND_CHANNELS: dict[VenueKind, frozenset[Channel]] = {k.code: k.channels for k in KINDS}
#: Kinds whose venues without a channel are planning candidates (``KindSpec.candidate``).
CANDIDATE_KINDS: frozenset[str] = frozenset(str(k.code) for k in KINDS if k.candidate)


def derived_status(kind: VenueKind | str, channels: frozenset[Channel]) -> Status:
    """Return the status of a venue that states none.

    ``candidate`` when the kind's :attr:`~geosvc.vocab.KindSpec.candidate`
    rule applies (a bank outlet) and the venue offers no channel, else
    ``in_service`` (the rule of schema versions before 3).

    Examples
    --------
    >>> derived_status(VenueKind.BANK_OUTLET, frozenset())
    <Status.CANDIDATE: 'candidate'>
    >>> derived_status(VenueKind.BANK_OUTLET, frozenset({Channel.WINDOW}))
    <Status.IN_SERVICE: 'in_service'>
    """
    if not channels and str(kind) in CANDIDATE_KINDS:
        return Status.CANDIDATE
    return Status.IN_SERVICE


def status_problem(kind: VenueKind | str, channels: frozenset[Channel],
                   status: Status) -> str | None:
    """Return why ``status`` does not fit a venue, or None when it does.

    A venue ``in_service`` must offer a channel when its kind's candidate
    rule applies (a bank outlet with no channel serves no government item).

    Examples
    --------
    >>> print(status_problem(VenueKind.BANK_OUTLET, frozenset(), Status.IN_SERVICE))
    a bank_outlet with no channel cannot be in_service; give its channels (e.g. window) or
    status=candidate
    >>> status_problem(VenueKind.BANK_OUTLET, frozenset(), Status.PLANNED) is None
    True
    """
    if status is Status.IN_SERVICE and not channels and str(kind) in CANDIDATE_KINDS:
        example = next((str(c) for c in Channel if c in KINDS[kind].channels), "window")
        return (f"a {kind} with no channel cannot be in_service; give its channels "
                f"(e.g. {example}) or status=candidate")
    return None


@dataclass(frozen=True, slots=True)
class Venue:
    """A place where service items can be handled.

    Attributes
    ----------
    code : str
        Stable venue code (the seeds number every venue), unique in a dataset.
    name : str
        Display name, usually Chinese.
    kind : VenueKind
        hall, bank_outlet or kiosk.
    lon, lat : float
        WGS-84 degrees.
    level : Level or None
        Administrative level; required for halls, optional for others (the
        level of the area a bank outlet or kiosk serves).
    channels : frozenset of Channel
        Government channels the venue offers.  A bank outlet with none is a
        planning candidate, not a service point (unless ``status`` says otherwise).
    area_code, area_name : str or None
        The county / district the venue belongs to (for county-scoped items).
    opening_hours : str or None
        OpenStreetMap ``opening_hours`` syntax; None means unknown (treated
        as closed by ``open_at`` filters, and reported as unknown).
    official_calendar : bool
        Whether the venue follows the dataset's official holiday calendar
        (statutory holidays closed as ``PH``, make-up working days open).
    accessible : bool
        Green channel for the elderly and disabled (绿色通道).
    cross_province : bool
        Has a cross-province (跨省通办) window.
    regional : bool
        Has a regional one-network (e.g. 长三角一网通办) window.
    status : Status
        ``in_service`` (answers service queries), ``candidate`` (only with
        ``include_candidates``), ``planned`` or ``closed`` (never; listed by
        a ``statuses`` filter).  None on construction means derived from the
        kind and channels (:func:`derived_status`); it is never None after.
        :func:`dataclasses.replace` keeps it: pass ``status=None`` to derive
        it again from new channels.
    """

    code: str
    name: str
    kind: VenueKind
    lon: float
    lat: float
    level: Level | None = None
    channels: frozenset[Channel] = frozenset()
    area_code: str | None = None
    area_name: str | None = None
    address: str | None = None
    phone: str | None = None
    opening_hours: str | None = None
    official_calendar: bool = True
    accessible: bool = False
    cross_province: bool = False
    regional: bool = False
    bank: str | None = None
    machines: int | None = None
    name_en: str | None = None
    source: str | None = None  # provenance, e.g. "osm:node/123"
    status: Status | None = None

    def __post_init__(self) -> None:
        if self.status is None:
            object.__setattr__(self, "status", derived_status(self.kind, self.channels))

    @property
    def is_candidate(self) -> bool:
        """True for a planning candidate.

        ``status`` candidate: by default a bank outlet with no government channel yet.
        """
        return self.status is Status.CANDIDATE

    @property
    def in_service(self) -> bool:
        """True when the venue answers service queries (``status`` in_service)."""
        return self.status is Status.IN_SERVICE


@dataclass(frozen=True, slots=True)
class ServiceItem:
    """A unit of government business (政务服务事项)."""

    code: str
    name: str
    name_en: str = ""
    department: str = ""
    category: Category = Category.PERSON
    high_frequency: bool = False
    scope: Scope = Scope.CITY
    description: str = ""
    # the service guide (办事指南); empty / None / False when unknown
    materials: tuple[str, ...] = ()
    conditions: str = ""
    fee: str = ""
    legal_days: int | None = None
    promised_days: int | None = None
    apply_url: str = ""
    can_do_online: bool = False
    by_post: bool = False
    at_kiosk: bool = False

    @property
    def has_guide(self) -> bool:
        """True when any guide field is set (materials, conditions, fee, limits, URL, flags)."""
        return bool(self.materials or self.conditions or self.fee or self.apply_url
                    or self.legal_days is not None or self.promised_days is not None
                    or self.can_do_online or self.by_post or self.at_kiosk)


@dataclass(frozen=True, slots=True)
class Bundle:
    """A 一件事 bundle: one life event made of several service items (in order)."""

    code: str
    name: str
    items: tuple[str, ...]
    name_en: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class Link:
    """Venue ``venue_code`` handles item ``item_code`` through ``channels``."""

    venue_code: str
    item_code: str
    channels: frozenset[Channel]


@dataclass(frozen=True, slots=True)
class Area:
    """An administrative area (county / district) with its boundary as WKT."""

    code: str
    name: str
    wkt: str
    level: Level = Level.COUNTY
    population: float | None = None


#: Kinds of :class:`Place`, in the order a search lists equally good matches.
PLACE_KINDS: tuple[str, ...] = ("district", "street", "poi")


@dataclass(frozen=True, slots=True)
class Place:
    """A named place a citizen may type as a start: a district, a street or a POI.

    ``lon``/``lat`` are WGS-84: a point inside the district, on the street,
    or the POI itself.  ``code`` is the district's area code ('' otherwise).
    """

    name: str
    kind: str
    lon: float
    lat: float
    code: str = ""


@dataclass(frozen=True, slots=True)
class PopulationCell:
    """Demand: ``count`` residents at a point, or spread over a polygon (WKT)."""

    lon: float
    lat: float
    count: float
    wkt: str | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True)
class VenueFilter:
    """The venue filters shared by every query of docs/api.md.

    Empty tuples mean "no restriction".  ``items`` are combined with AND (a
    venue must handle all of them); ``kinds`` and ``levels`` with OR.
    ``channel`` restricts both the venue's channels and, when ``items`` are
    given, the channel through which each item is handled there.
    ``home_area`` is the citizen's county / district code: county-scoped
    items then only match venues of that area.
    ``open_at`` must be timezone-aware.

    Only ``in_service`` venues match, and ``candidate`` ones too with
    ``include_candidates``; ``statuses`` (non-empty) replaces ``in_service``
    by the statuses it lists (``include_candidates`` still adds candidates),
    so ``statuses=(Status.PLANNED,)`` lists the planned venues.
    """

    kinds: tuple[VenueKind, ...] = ()
    levels: tuple[Level, ...] = ()
    items: tuple[str, ...] = ()
    channel: Channel | None = None
    open_at: datetime | None = None
    accessible: bool | None = None
    home_area: str | None = None
    include_candidates: bool = False
    statuses: tuple[Status, ...] = ()

    def allowed_statuses(self) -> frozenset[Status]:
        """Return the statuses a matching venue may have.

        Examples
        --------
        >>> sorted(VenueFilter(include_candidates=True).allowed_statuses())
        [<Status.CANDIDATE: 'candidate'>, <Status.IN_SERVICE: 'in_service'>]
        >>> sorted(VenueFilter(statuses=(Status.PLANNED,)).allowed_statuses())
        [<Status.PLANNED: 'planned'>]
        """
        allowed = {Status(s) for s in self.statuses} or {Status.IN_SERVICE}
        if self.include_candidates:
            allowed.add(Status.CANDIDATE)
        return frozenset(allowed)

    def cache_key(self) -> tuple:
        """Return a hashable key of everything except ``open_at`` (for pass caches).

        Without ``statuses`` the key is the one of versions before statuses
        (caches keyed by it stay valid).
        """
        key: tuple = (
            tuple(sorted(self.kinds)),
            tuple(sorted(self.levels)),
            tuple(sorted(self.items)),
            self.channel,
            self.accessible,
            self.home_area,
            self.include_candidates,
        )
        if self.statuses:
            key += (tuple(sorted(set(self.statuses))),)
        return key

    def without_time(self) -> VenueFilter:
        """Return a copy with ``open_at`` cleared."""
        return VenueFilter(
            kinds=self.kinds,
            levels=self.levels,
            items=self.items,
            channel=self.channel,
            open_at=None,
            accessible=self.accessible,
            home_area=self.home_area,
            include_candidates=self.include_candidates,
            statuses=self.statuses,
        )


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    """Dataset-wide settings stored with the data."""

    name: str = "geosvc"
    timezone: str = "Asia/Shanghai"
    calendar: str | None = "cn"  # "cn" = Chinese statutory calendar; None = none
    country: str = "CN"
    extra: dict[str, str] = field(default_factory=dict)
