"""Parse and validate the query parameters of the HTTP API into typed values.

One table, :data:`PARAMS`, defines every query parameter of docs/api.md: its
name, OpenAPI schema, description, example and parser.  :data:`ENDPOINT_PARAMS`
says which parameters each endpoint accepts; the OpenAPI document
(:mod:`geosvc.api.openapi`) is generated from the same two tables, so the
contract and the validation cannot drift apart.

:func:`parse_query` checks **every** parameter an endpoint accepts and raises
one :class:`~geosvc.errors.InvalidParameter` naming all bad ones at once.
Parameters an endpoint does not know are ignored (clients may send extra
parameters, e.g. cache busters).  An empty value (``kind=``) counts as absent.
Repeated parameters are joined with commas by the web layer
(``kind=hall&kind=kiosk`` is ``kind=hall,kiosk``).

Coordinates are accepted in the request's ``crs`` (wgs84, gcj02, bd09) and
converted to WGS-84 here; handlers convert output back with
:func:`geosvc.coords.from_wgs84`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from geosvc import formats, vocab
from geosvc.coords import parse_crs, to_wgs84
from geosvc.errors import InvalidParameter
from geosvc.model import VenueFilter
from geosvc.modes import mode_names, network_modes
from geosvc.routing.road import DEFAULT_SHAPE, SHAPES

__all__ = [
    "ENDPOINT_PARAMS",
    "MODES",
    "PARAMS",
    "Param",
    "ParseContext",
    "Query",
    "format_param",
    "parse_query",
]

#: Travel modes of the API (:mod:`geosvc.modes`); ``straight`` needs no road network.
MODES = mode_names()
#: Longest ``q`` accepted, characters.
MAX_Q_CHARS = 100
#: Largest ``limit`` of the search box (per group), and its default.
MAX_SEARCH_LIMIT = 50
DEFAULT_SEARCH_LIMIT = 8
#: Largest ``k`` of nearest queries.
MAX_K = 100
#: Largest ``max_minutes`` of nearest queries, minutes.
MAX_MINUTES_NEAREST = 180.0
#: Largest isochrone / coverage band, minutes.
MAX_MINUTES_BAND = 120.0
#: Most isochrone bands in one request.
MAX_BANDS = 6
#: Largest ``offset`` (keeps echoed values inside JSON's 64-bit integers).
MAX_OFFSET = 1_000_000_000
#: Range of ``open_at`` (UTC): a year of margin on both sides of what
#: :class:`datetime` can hold, for zone conversion, arrival times and the
#: one-year search of the next opening.
OPEN_AT_RANGE = (datetime(2, 1, 1, tzinfo=UTC), datetime(9998, 1, 1, tzinfo=UTC))
#: ``open_at`` as accepted: a date, a time to the minute (seconds and up to 6 fraction
#: digits optional), ``T`` or one space between them, and an optional offset in whole
#: minutes or ``Z`` (RFC 3339 without its required seconds and offset; the OpenAPI
#: ``pattern`` of ``open_at``).  The date must exist (no 02-30).
DATETIME_PATTERN = (r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3])"
                    r":[0-5]\d(:[0-5]\d(\.\d{1,6})?)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)?$")
_DATETIME_RE = re.compile(DATETIME_PATTERN)
#: The OpenAPI ``pattern`` of a number as :func:`_number` reads it.
NUMBER_PATTERN = r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?"
_UNSIGNED = r"\+?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?"
#: The OpenAPI ``pattern`` of free text: no control characters (below U+0020).
NO_CONTROL_PATTERN = r"^[^\u0000-\u001F]*$"
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


class _Reject(Exception):
    """A parser's refusal; the message is the reason shown to the client."""


@dataclass(frozen=True, slots=True)
class ParseContext:
    """What parsers need besides the raw string.

    Attributes
    ----------
    max_limit, default_limit : int
        Page size bounds (``Settings.max_limit`` / ``default_limit``).
    tz : tzinfo
        The dataset's time zone: ``open_at`` without offset is read in it.
    known_item : callable, optional
        ``known_item(code) -> bool``; None accepts any item code.
    now : datetime, optional
        The current time (aware); taken from the clock when None.
    """

    max_limit: int
    default_limit: int
    tz: tzinfo
    known_item: Callable[[str], bool] | None = None
    now: datetime | None = None


@dataclass(frozen=True, slots=True)
class Param:
    """One query parameter: its OpenAPI description and its parser."""

    name: str
    description: str
    schema: Mapping[str, Any]
    parse: Callable[[str, ParseContext], Any]
    example: str | None = None


@dataclass(frozen=True, slots=True)
class Query:
    """Typed values of a request; absent parameters are None / empty / default.

    ``lon``, ``lat`` and ``bbox`` are WGS-84 degrees (converted from ``crs``).
    ``at`` is the time at which ``open`` properties are evaluated: ``open_at``
    when given, else now (dataset time zone).  ``filter`` is the venue filter.
    """

    crs: str = "wgs84"
    lon: float | None = None
    lat: float | None = None
    bbox: tuple[float, float, float, float] | None = None
    k: int = 5
    limit: int = 50
    offset: int = 0
    q: str | None = None
    bundle: str | None = None
    mode: str = "straight"
    max_minutes: float | None = None
    minutes: tuple[float, ...] = ()
    route: bool = False
    circles: bool = False
    details: bool = False
    shape: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    time_given: bool = False
    filter: VenueFilter = field(default_factory=VenueFilter)

    def lonlat(self) -> tuple[float, float]:
        """Return ``(lon, lat)``, WGS-84; for the endpoints that require them.

        Raises
        ------
        InvalidParameter
            Named ``lon``: the query has no point (its endpoint does not require one).
        """
        if self.lon is None or self.lat is None:
            msg = "is required"
            raise InvalidParameter("lon", msg)
        return self.lon, self.lat


# --------------------------------------------------------------------------- parsers


#: Numbers as a query may spell them: no spaces, underscores, hex, ``inf`` or ``nan``
#: (Python's float() and int() accept ``1_0``, `` 24.9`` and more).
_NUMBER_RE = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_INT_RE = re.compile(r"[-+]?\d+")
#: Schema types whose values are parsed as sent (not stripped of spaces).
_STRICT_TYPES = frozenset({"number", "integer"})
#: Longest number accepted, characters (int() refuses more than 4,300 digits).
_MAX_DIGITS = 64


def _number(raw: str) -> float:
    """Parse a decimal number strictly.

    Examples
    --------
    >>> _number("24.9"), _number("-1e3"), _number(".5")
    (24.9, -1000.0, 0.5)
    >>> _number("1_0")
    Traceback (most recent call last):
    ...
    geosvc.api.params._Reject: must be a number, got '1_0'
    """
    if len(raw) > _MAX_DIGITS or not _NUMBER_RE.fullmatch(raw):
        msg = f"must be a number, got {raw[:40]!r}"
        raise _Reject(msg)
    value = float(raw)
    if not math.isfinite(value):
        msg = "must be a finite number"
        raise _Reject(msg)
    return value


def _degrees(raw: str, limit: int) -> float:
    """Parse a coordinate in degrees between -``limit`` and ``limit`` (lon 180, lat 90).

    Examples
    --------
    >>> _degrees("-180", 180), _degrees("60.17", 90)
    (-180.0, 60.17)
    >>> _degrees("90.5", 90)
    Traceback (most recent call last):
    ...
    geosvc.api.params._Reject: must be a number between -90 and 90
    """
    value = _number(raw)
    if not -limit <= value <= limit:
        msg = f"must be a number between {-limit} and {limit}"
        raise _Reject(msg)
    return value


def _lon(raw: str, ctx: ParseContext) -> float:
    return _degrees(raw, 180)


def _lat(raw: str, ctx: ParseContext) -> float:
    return _degrees(raw, 90)


def _choice(raw: str, names: tuple[str, ...]) -> str:
    """Return ``raw`` in lower case when it is one of ``names``.

    Examples
    --------
    >>> _choice("Walk", ("walk", "drive"))
    'walk'
    >>> _choice("fly", ("walk", "drive"))
    Traceback (most recent call last):
    ...
    geosvc.api.params._Reject: must be one of walk | drive
    """
    low = raw.lower()
    if low not in names:
        msg = f"must be one of {' | '.join(names)}"
        raise _Reject(msg)
    return low


def _crs(raw: str, ctx: ParseContext) -> str:
    try:
        return parse_crs(raw)
    except InvalidParameter as exc:
        raise _Reject(exc.invalid_params[0]["reason"]) from None


def _bbox(raw: str, ctx: ParseContext) -> tuple[float, float, float, float]:
    parts = raw.split(",")
    if len(parts) != 4:
        msg = "must be four numbers minLon,minLat,maxLon,maxLat"
        raise _Reject(msg)
    try:
        x0, y0, x1, y1 = (_number(p.strip()) for p in parts)
    except _Reject:
        msg = "must be four finite numbers minLon,minLat,maxLon,maxLat"
        raise _Reject(msg) from None
    if not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        msg = "must lie within longitude -180..180 and latitude -90..90"
        raise _Reject(msg)
    if not (x0 != x1 and y0 < y1):
        msg = ("must have minLat < maxLat and minLon != maxLon "
               "(minLon > maxLon is a box crossing the antimeridian)")
        raise _Reject(msg)
    return (x0, y0, x1, y1)


def _int_between(low: int, high: int | None) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        if len(raw) > _MAX_DIGITS or not _INT_RE.fullmatch(raw):
            msg = f"must be an integer, got {raw[:40]!r}"
            raise _Reject(msg)
        value = int(raw)
        if value < low or (high is not None and value > high):
            bound = f"between {low} and {high}" if high is not None else f">= {low}"
            msg = f"must be an integer {bound}"
            raise _Reject(msg)
        return value

    return parse


def _k(raw: str, ctx: ParseContext) -> int:
    return _int_between(1, MAX_K)(raw)


def _limit(raw: str, ctx: ParseContext) -> int:
    return _int_between(1, ctx.max_limit)(raw)


def _search_limit(raw: str, ctx: ParseContext) -> int:
    return _int_between(1, MAX_SEARCH_LIMIT)(raw)


def _offset(raw: str, ctx: ParseContext) -> int:
    return _int_between(0, MAX_OFFSET)(raw)


def _words(raw: str) -> list[str]:
    return [w.strip() for w in raw.split(",") if w.strip()]


def _vocabulary(registry: vocab.Registry[Any], *,
                many: bool) -> Callable[[str, ParseContext], Any]:
    """Parse codes or Chinese labels (simplified, traditional) of ``registry``.

    Each word goes through :meth:`geosvc.vocab.Registry.lookup`, the table the
    importer reads labels by, so ``level=县`` is ``level=county``.
    """
    allowed = list(registry.codes())

    def parse(raw: str, ctx: ParseContext) -> Any:
        words = _words(raw)
        found = [registry.lookup(w) for w in words]
        bad = [w for w, entry in zip(words, found, strict=True) if entry is None]
        if bad or not words:
            msg = f"must be {'a comma list of ' if many else 'one of '}{' | '.join(allowed)}"
            if bad:
                msg += f"; unknown {', '.join(repr(b[:40]) for b in bad[:5])}"
            raise _Reject(msg)
        values = tuple(dict.fromkeys(entry.code for entry in found if entry is not None))
        if not many:
            if len(values) > 1:
                msg = f"takes one value, one of {' | '.join(allowed)}"
                raise _Reject(msg)
            return values[0]
        return values

    return parse


def _items(raw: str, ctx: ParseContext) -> tuple[str, ...]:
    codes = tuple(dict.fromkeys(_words(raw)))
    if len(codes) > 20:
        msg = "takes at most 20 item codes"
        raise _Reject(msg)
    if ctx.known_item is not None:
        unknown = [c for c in codes if not ctx.known_item(c)]
        if unknown:
            shown = ", ".join(u[:40] for u in unknown[:5])
            msg = f"has unknown item code(s): {shown}"
            raise _Reject(msg)
    return codes


def _bool(raw: str, ctx: ParseContext) -> bool:
    low = raw.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    msg = "must be true or false"
    raise _Reject(msg)


def _datetime(raw: str, ctx: ParseContext) -> datetime:
    """Parse ``open_at``: exactly :data:`DATETIME_PATTERN`, then a real date and time.

    Examples
    --------
    >>> from zoneinfo import ZoneInfo
    >>> ctx = ParseContext(max_limit=1, default_limit=1, tz=ZoneInfo("Asia/Shanghai"))
    >>> _datetime("2026-05-06 10:30", ctx).isoformat()
    '2026-05-06T10:30:00+08:00'
    >>> _datetime("2026-05-06T10:30+01:39:49", ctx)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geosvc.api.params._Reject: must be an ISO 8601 date-time, e.g. 2026-05-06T10:30 or ...
    """
    text = raw.replace(" ", "T", 1) if "T" not in raw and " " in raw else raw
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        if not _DATETIME_RE.fullmatch(raw):
            raise ValueError(raw)  # fromisoformat also reads 20260506, weeks, odd offsets
        value = datetime.fromisoformat(text)
    except ValueError:
        msg = "must be an ISO 8601 date-time, e.g. 2026-05-06T10:30 or 2026-05-06T10:30+08:00"
        raise _Reject(msg) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ctx.tz)
    low, high = OPEN_AT_RANGE
    try:
        inside = low <= value.astimezone(UTC) < high
    except OverflowError:  # e.g. 0001-01-01T00:00+14:00 is before year 1 in UTC
        inside = False
    if not inside:
        msg = f"must lie between the years {low.year} and {high.year - 1}"
        raise _Reject(msg)
    return value


def _mode(raw: str, ctx: ParseContext) -> str:
    return _choice(raw, MODES)


def _minutes_value(raw: str, high: float) -> float:
    value = _number(raw)
    if not 0 < value <= high:
        msg = f"must be a number of minutes > 0 and <= {high:g}"
        raise _Reject(msg)
    return value


def _max_minutes(raw: str, ctx: ParseContext) -> float:
    return _minutes_value(raw, MAX_MINUTES_NEAREST)


def _bands(raw: str, ctx: ParseContext) -> tuple[float, ...]:
    words = _words(raw)
    if not words:
        msg = "must be a comma list of minutes"
        raise _Reject(msg)
    if len(words) > MAX_BANDS:
        msg = f"takes at most {MAX_BANDS} bands"
        raise _Reject(msg)
    try:
        values = sorted({_minutes_value(w, MAX_MINUTES_BAND) for w in words})
    except _Reject as exc:
        msg = f"must be a comma list of minutes, each > 0 and <= {MAX_MINUTES_BAND:g}"
        raise _Reject(msg) from exc
    return tuple(values)


def _one_band(raw: str, ctx: ParseContext) -> tuple[float, ...]:
    return (_minutes_value(raw, MAX_MINUTES_BAND),)


def _text(max_chars: int) -> Callable[[str, ParseContext], str]:
    def parse(raw: str, ctx: ParseContext) -> str:
        if len(raw) > max_chars:
            msg = f"must be at most {max_chars} characters"
            raise _Reject(msg)
        if any(ord(ch) < 32 for ch in raw):
            msg = "must not contain control characters"
            raise _Reject(msg)
        return raw

    return parse


def _vocab_schema(registry: vocab.Registry[Any], *, many: bool) -> dict[str, Any]:
    """Return the schema of a vocabulary parameter: the codes, and the labels accepted too.

    ``pattern`` (comma list) or ``enum`` (one value) hold the codes only, the
    canonical spelling; ``x-labels`` maps each Chinese label (simplified and
    traditional) the parser also accepts to its code.
    """
    values = list(registry.codes())
    labels = {alias: str(e.code) for e in registry for alias in (*e.aliases, *e.aliases_hant)}
    schema: dict[str, Any]
    if many:
        alternatives = "|".join(values)
        schema = {"type": "string", "pattern": f"^({alternatives})(,({alternatives}))*$"}
    else:
        schema = {"type": "string", "enum": values}
    return {**schema, "x-labels": labels}


_LABELS_NOTE = " Chinese labels (simplified or traditional, listed in `x-labels`) work too."


_BOOL = {"type": "boolean"}

#: Every query parameter of the API, by name.
PARAMS: dict[str, Param] = {
    p.name: p
    for p in (
        Param("lon", "Longitude of the query point, decimal degrees in `crs`.",
              {"type": "number", "minimum": -180, "maximum": 180}, _lon, "24.9384"),
        Param("lat", "Latitude of the query point, decimal degrees in `crs`.",
              {"type": "number", "minimum": -90, "maximum": 90}, _lat, "60.1699"),
        Param("crs", "Coordinate system of the request's and the response's coordinates.",
              {"type": "string", "enum": ["wgs84", "gcj02", "bd09"], "default": "wgs84"},
              _crs, "wgs84"),
        Param("bbox", "Bounding box `minLon,minLat,maxLon,maxLat` in `crs`: longitudes "
              "-180..180, latitudes -90..90, minLat < maxLat, minLon != maxLon (minLon > "
              "maxLon crosses the antimeridian).",
              {"type": "string",
               "pattern": f"^ *{NUMBER_PATTERN}( *, *{NUMBER_PATTERN}){{3}} *$"},
              _bbox, "24.92,60.16,24.96,60.18"),
        Param("k", f"Number of venues to return (1..{MAX_K}).",
              {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 5}, _k, "5"),
        Param("limit", "Page size (default 50, at most the server's `max_limit`, 1000).",
              {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}, _limit, "50"),
        Param("offset", "Number of results to skip (paging).",
              {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}, _offset,
              "0"),
        Param("kind", "Venue kinds, comma list (any of them)." + _LABELS_NOTE,
              _vocab_schema(vocab.KINDS, many=True), _vocabulary(vocab.KINDS, many=True),
              "hall,kiosk"),
        Param("level", "Administrative levels, comma list (any of them)." + _LABELS_NOTE,
              _vocab_schema(vocab.LEVELS, many=True), _vocabulary(vocab.LEVELS, many=True),
              "township"),
        Param("channel", "Channel through which the venue (and each `item`) is handled."
              + _LABELS_NOTE, _vocab_schema(vocab.CHANNELS, many=False),
              _vocabulary(vocab.CHANNELS, many=False), "self_service"),
        Param("item", "Service item codes, comma list: venues must handle all of them. "
              "An unknown code is a 400 naming it.", {"type": "string"}, _items, None),
        Param("open_at", "ISO 8601 time (`2026-05-06T10:30`, seconds and offset optional, "
              "the offset in whole minutes, years 2..9997); only venues open then (and for the "
              "server's open margin after it). Without offset: the dataset's time zone.",
              {"type": "string", "pattern": DATETIME_PATTERN}, _datetime, "2026-05-06T10:30"),
        Param("open_now", "`true`: only venues open now. Not together with `open_at`.",
              _BOOL, _bool, "true"),
        Param("accessible", "`true`: only venues with a green channel for the elderly and "
              "disabled; `false`: only those without.", _BOOL, _bool, "true"),
        Param("home_area", "The citizen's county / district code: county-scoped items only "
              "match venues of that area.",
              {"type": "string", "maxLength": 64, "pattern": NO_CONTROL_PATTERN},
              _text(64), None),
        Param("include_candidates", "`true`: also list bank outlets without a government "
              "channel yet (planning candidates).", _BOOL, _bool, "false"),
        Param("status", "Venue statuses, comma list (any of them): `in_service`, "
              "`candidate` (planning candidates), `planned`, `closed`. Replaces the default "
              "`in_service` (`include_candidates=true` still adds `candidate`); the only way "
              "to list `planned` and `closed` venues, which never answer service queries."
              + _LABELS_NOTE, _vocab_schema(vocab.STATUSES, many=True),
              _vocabulary(vocab.STATUSES, many=True), "planned"),
        Param("mode", "Travel mode; `straight` ranks by straight-line distance and needs no "
              "road network.", {"type": "string", "enum": list(MODES)}, _mode, "walk"),
        Param("max_minutes", f"Only venues reachable within this many minutes "
              f"(0 < x <= {MAX_MINUTES_NEAREST:g}).",
              {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_MINUTES_NEAREST},
              _max_minutes, "15"),
        Param("route", "`true`: each feature carries `route`, a GeoJSON LineString from the "
              "query point to the venue.", _BOOL, _bool, "true"),
        Param("circles", "`true`: the answer also carries `circles`, a FeatureCollection "
              "with the service-circle polygon (the area reached within `minutes`).",
              _BOOL, _bool, "true"),
        Param("details", "`true`: the answer also carries `doctor`, the dataset's check "
              "report (as `geosvc doctor --json`): what it lacks or gets wrong, each with "
              "its fix. Builds the travel engines not built yet.", _BOOL, _bool, "true"),
        Param("bundle", "A 一件事 bundle code: venues must handle every item of the bundle "
              "(added to `item`); when none is found, the answer carries `two_stop`, the "
              "quickest pair of venues that together handle them all. An unknown code is a "
              "400.", {"type": "string", "maxLength": 100, "pattern": NO_CONTROL_PATTERN},
              _text(100), None),
        Param("q", f"Search text (Chinese, pinyin or pinyin initials for items; name for "
              f"venues), at most {MAX_Q_CHARS} characters.",
              {"type": "string", "maxLength": MAX_Q_CHARS, "pattern": NO_CONTROL_PATTERN},
              _text(MAX_Q_CHARS), "社保"),
    )
}

#: ``minutes`` differs by endpoint: bands for isochrones, one value for coverage.
MINUTES_BANDS = Param(
    "minutes", f"Band limits in minutes, comma list (each > 0 and <= {MAX_MINUTES_BAND:g}, "
    f"at most {MAX_BANDS}).",
    {"type": "string", "default": "5,10,15",
     "pattern": f"^ *{_UNSIGNED}( *, *{_UNSIGNED}){{0,{MAX_BANDS - 1}}} *$"},
    _bands, "5,10,15")
MINUTES_ONE = Param(
    "minutes", f"Service-circle size in minutes (> 0 and <= {MAX_MINUTES_BAND:g}).",
    {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_MINUTES_BAND, "default": 10},
    _one_band, "10")

MODE_ANALYSIS = Param(
    "mode", f"Travel mode: {', '.join(f'`{m}`' for m in network_modes())} on the road "
    "network (422 mode-unavailable when the server has none); `straight` along great "
    "circles at the walking speed, needing no network (the answer then carries "
    "`straight_line`).",
    {"type": "string", "enum": list(MODES), "default": "walk"}, _mode, "walk")

def _shape(raw: str, ctx: ParseContext) -> str:
    return _choice(raw, SHAPES)


SHAPE = Param(
    "shape", f"Outline of road-mode bands: `contour` (default `{DEFAULT_SHAPE}`; the area "
    "a resident reaches: the streets reached, then a straight walk off them at walking "
    "speed, at most 60 m and as far as the time left allows; one travel-time grid of half "
    "the mode's street buffer, contoured at every band: fast) or `streets` (the streets "
    "reached, buffered exactly; slower). Ignored by `mode=straight` (circles).",
    {"type": "string", "enum": list(SHAPES), "default": DEFAULT_SHAPE}, _shape, "streets")

SEARCH_LIMIT = Param(
    "limit", f"Results per group (items, bundles, venues, places), 1..{MAX_SEARCH_LIMIT}.",
    {"type": "integer", "minimum": 1, "maximum": MAX_SEARCH_LIMIT,
     "default": DEFAULT_SEARCH_LIMIT}, _search_limit, str(DEFAULT_SEARCH_LIMIT))
SEARCH_Q = Param(
    "q", f"Search text, 1..{MAX_Q_CHARS} characters: Chinese, pinyin or initials (items, "
    "bundles, Chinese names), names of venues, districts, streets and places "
    "(case and accents ignored), codes.",
    {"type": "string", "minLength": 1, "maxLength": MAX_Q_CHARS, "pattern": NO_CONTROL_PATTERN},
    _text(MAX_Q_CHARS), "sb")

_FILTERS = ("kind", "level", "item", "channel", "open_at", "open_now", "accessible",
            "home_area", "include_candidates")


class _FormatNames(Mapping[str, Any]):
    """The schema of ``f``: the formats registered for a result kind, read when used.

    A format registered later (an extension) is listed by the next OpenAPI
    document built, without this table changing.
    """

    def __init__(self, kind: str, default: str) -> None:
        self.kind = kind
        self.default = default

    def _schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(formats.names(self.kind)),
                "default": self.default}

    def __getitem__(self, key: str) -> Any:
        return self._schema()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._schema())

    def __len__(self) -> int:
        return len(self._schema())


def _format_name(raw: str, ctx: ParseContext) -> str:
    """Return the ``f`` value in lower case.

    The answer's format is the web layer's business: it checks ``f`` against
    the registry (:func:`geosvc.web._respond.negotiate`, a 400 naming the
    allowed values) before a handler runs.  The handlers ignore it, and so do
    the map pages that reuse these tables.
    """
    return raw.lower()


def format_param(kind: str, default: str) -> Param:
    """Return the ``f`` parameter of an endpoint answering a result of ``kind``."""
    return Param("f", f"Answer format (default `{default}`); without `f` the `Accept` "
                 "header picks one. CSV cells starting with = + - @ are prefixed with an "
                 "apostrophe (no spreadsheet formulas).",
                 _FormatNames(kind, default), _format_name, default)


def _pick(*names: str) -> tuple[Param, ...]:
    return tuple(PARAMS[n] for n in names)


#: The query parameters each endpoint accepts (by handler name).
ENDPOINT_PARAMS: dict[str, tuple[Param, ...]] = {
    "venues": (*_pick("crs", "bbox", "q", "limit", "offset", *_FILTERS, "status"),
               format_param(formats.FEATURES, "geojson")),
    "venue": _pick("crs", "open_at"),
    "items": _pick("q", "limit", "offset"),
    "search": (SEARCH_Q, SEARCH_LIMIT, *_pick("lon", "lat", "crs")),
    "item": (),
    "bundle": (),
    "nearest": _pick("lon", "lat", "crs", "k", "mode", "max_minutes", "route", "bundle",
                     *_FILTERS),
    "isochrones": (*_pick("lon", "lat", "crs"), MODE_ANALYSIS, MINUTES_BANDS, SHAPE),
    "coverage": (*_pick("crs"), MODE_ANALYSIS, MINUTES_ONE, *_pick(*_FILTERS, "circles"),
                 format_param(formats.COVERAGE, "json")),
    "plans": (format_param(formats.PLAN, "json"),),  # the query string of the POST
    "ogc_items": _pick("bbox", "limit", "offset"),
    "health": _pick("details"),
}
#: Parameters an endpoint requires.
REQUIRED: dict[str, tuple[str, ...]] = {
    "nearest": ("lon", "lat"),
    "isochrones": ("lon", "lat"),
    "search": ("q",),
}
_DEFAULT_LIMIT = {"search": DEFAULT_SEARCH_LIMIT}
_DEFAULT_MODE = {"nearest": "straight", "isochrones": "walk", "coverage": "walk"}
_DEFAULT_MINUTES = {"isochrones": (5.0, 10.0, 15.0), "coverage": (10.0,)}


def parse_query(endpoint: str, params: Mapping[str, str], ctx: ParseContext) -> Query:
    """Parse the query parameters of ``endpoint`` into a :class:`Query`.

    Parameters
    ----------
    endpoint : str
        A key of :data:`ENDPOINT_PARAMS`.
    params : mapping of str to str
        The raw query string values; unknown names are ignored.
    ctx : ParseContext
        Limits, time zone, item vocabulary.

    Returns
    -------
    Query
        WGS-84 coordinates, aware times, a ready :class:`VenueFilter`.

    Raises
    ------
    InvalidParameter
        Naming every bad parameter (``invalid_params``), not only the first.

    Examples
    --------
    >>> from zoneinfo import ZoneInfo
    >>> ctx = ParseContext(max_limit=1000, default_limit=50, tz=ZoneInfo("Asia/Shanghai"))
    >>> q = parse_query("venues", {"kind": "hall,kiosk", "limit": "10"}, ctx)
    >>> q.filter.kinds, q.limit
    ((<VenueKind.HALL: 'hall'>, <VenueKind.KIOSK: 'kiosk'>), 10)
    >>> parse_query("nearest", {"lon": "200", "k": "0"}, ctx)
    Traceback (most recent call last):
    ...
    geosvc.errors.InvalidParameter: `lon` must be a number between -180 and 180;
    `k` must be an integer between 1 and 100; `lat` is required
    """
    specs = ENDPOINT_PARAMS[endpoint]
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for spec in specs:
        raw = params.get(spec.name)
        if raw is None:
            continue
        if not isinstance(raw, str):
            problems.append((spec.name, "must be a string"))
            continue
        if raw.strip(" ") == "":
            continue
        if spec.schema.get("type") not in _STRICT_TYPES:  # numbers: no padding either
            raw = raw.strip(" ")  # spaces only: a control character stays and is refused
        try:
            values[spec.name] = spec.parse(raw, ctx)
        except _Reject as exc:
            problems.append((spec.name, str(exc)))
    bad = {name for name, _ in problems}
    for name in REQUIRED.get(endpoint, ()):
        if name not in values and name not in bad:
            problems.append((name, "is required"))
    names = {s.name for s in specs}
    if "lon" in names and "lon" not in REQUIRED.get(endpoint, ()):
        for one, other in (("lon", "lat"), ("lat", "lon")):
            if one in values and other not in values and other not in bad:
                problems.append((other, f"is required together with `{one}`"))
    if values.get("open_now") and "open_at" in values:
        problems.append(("open_now", "cannot be combined with `open_at`"))
    if problems:
        raise InvalidParameter.many(problems)
    return _build(endpoint, values, ctx)


def _build(endpoint: str, values: dict[str, Any], ctx: ParseContext) -> Query:
    crs = values.get("crs", "wgs84")
    lon, lat = values.get("lon"), values.get("lat")
    if lon is not None and lat is not None and crs != "wgs84":
        lon, lat = to_wgs84(lon, lat, crs)
    bbox = values.get("bbox")
    if bbox is not None and crs != "wgs84" and bbox[0] < bbox[2]:
        xs, ys = [], []
        for x in (bbox[0], bbox[2]):
            for y in (bbox[1], bbox[3]):
                cx, cy = to_wgs84(x, y, crs)
                xs.append(cx)
                ys.append(cy)
        bbox = (min(xs), min(ys), max(xs), max(ys))
    open_at = values.get("open_at")
    time_given = open_at is not None or bool(values.get("open_now"))
    now = ctx.now or datetime.now(ctx.tz)
    at = open_at if open_at is not None else now
    flt = VenueFilter(
        kinds=values.get("kind", ()),
        levels=values.get("level", ()),
        items=values.get("item", ()),
        channel=values.get("channel"),
        open_at=at if time_given else None,
        accessible=values.get("accessible"),
        home_area=values.get("home_area"),
        include_candidates=bool(values.get("include_candidates", False)),
        statuses=values.get("status", ()),
    )
    return Query(
        crs=crs,
        lon=lon,
        lat=lat,
        bbox=bbox,
        k=values.get("k", 5),
        limit=values.get("limit", _DEFAULT_LIMIT.get(endpoint, ctx.default_limit)),
        offset=values.get("offset", 0),
        q=values.get("q"),
        bundle=values.get("bundle"),
        mode=values.get("mode", _DEFAULT_MODE.get(endpoint, "straight")),
        max_minutes=values.get("max_minutes"),
        minutes=values.get("minutes", _DEFAULT_MINUTES.get(endpoint, ())),
        shape=values.get("shape"),
        route=bool(values.get("route", False)),
        circles=bool(values.get("circles", False)),
        details=bool(values.get("details", False)),
        at=at,
        time_given=time_given,
        filter=flt,
    )
