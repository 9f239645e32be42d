"""Row <-> dataclass conversion and change detection shared by the store backends.

A backend stores the records of :mod:`geosvc.model` as flat rows whose
columns follow the dataclass fields (venues: ``code, name, kind, lon, lat,
level, channels, ...``).  The backends differ only in how a few values are
encoded, which they pass in: flags (SQLite ``int``, PostgreSQL ``bool``) and
channel sets (SQLite ``"self_service,window"``, PostgreSQL ``text[]``); both
store channels sorted by name, so equal sets give equal rows.  Geometry
columns stay with each backend.

Change detection compares the rows a batch would write with the stored ones
by key, which gives the created / updated / unchanged counts of
:class:`~geosvc.store.base.TableCounts` and what to INSERT and UPDATE.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, TypeVar

from geosvc.errors import InvalidParameter
from geosvc.model import (
    Area,
    Bundle,
    Category,
    Channel,
    DatasetInfo,
    Level,
    Link,
    PopulationCell,
    Scope,
    ServiceItem,
    Status,
    Venue,
    VenueKind,
)
from geosvc.store.base import Batch, TableCounts

P = TypeVar("P")

#: ``meta`` keys holding :class:`DatasetInfo` fields (plus ``extra.<key>``).
INFO_KEYS: Final = ("name", "timezone", "calendar", "country")

#: Columns of the items table (the :class:`ServiceItem` fields, both backends).
ITEM_COLS: Final = ("code", "name", "name_en", "department", "category", "high_frequency",
                    "scope", "description", "materials", "conditions", "fee", "legal_days",
                    "promised_days", "apply_url", "can_do_online", "by_post", "at_kiosk")

KINDS: Final = {k.value: k for k in VenueKind}
LEVELS: Final = {lv.value: lv for lv in Level}
CATEGORIES: Final = {c.value: c for c in Category}
SCOPES: Final = {s.value: s for s in Scope}
STATUSES: Final = {s.value: s for s in Status}


# ---------------------------------------------------------------------- channels
def channel_names(channels: Iterable[Channel]) -> list[str]:
    """Return the channel values sorted by name (the stored order).

    Examples
    --------
    >>> channel_names({Channel.WINDOW, Channel.SELF_SERVICE})
    ['self_service', 'window']
    """
    return sorted(str(c) for c in channels)


def channels_text(channels: Iterable[Channel]) -> str:
    """Return the channels as one sorted comma-separated string (SQLite form).

    Examples
    --------
    >>> channels_text({Channel.WINDOW, Channel.SELF_SERVICE})
    'self_service,window'
    >>> channels_text(())
    ''
    """
    return ",".join(channel_names(channels))


class ChannelSets:
    """Parse stored channels, one shared frozenset per distinct value.

    Accepts the SQLite text form or the PostgreSQL array form.

    Examples
    --------
    >>> chans = ChannelSets()
    >>> chans("self_service,window") is chans(["self_service", "window"])
    True
    >>> chans("")
    frozenset()
    """

    def __init__(self) -> None:
        self._cache: dict[str, frozenset[Channel]] = {"": frozenset()}

    def __call__(self, value: str | Sequence[str]) -> frozenset[Channel]:
        """Return the frozenset of channels of ``value``."""
        text = value if isinstance(value, str) else ",".join(value)
        found = self._cache.get(text)
        if found is None:
            found = frozenset(Channel(c) for c in text.split(","))
            self._cache[text] = found
        return found


# ---------------------------------------------------------------------- records -> rows
def venue_row(
    v: Venue,
    *,
    flag: Callable[[Any], Any] = int,
    channels: Callable[[Iterable[Channel]], Any] = channels_text,
) -> tuple:
    """Return a venue as a row: every field in order, lon/lat as two floats.

    ``flag`` encodes the booleans and ``channels`` the channel set.
    """
    return (v.code, v.name, str(v.kind), float(v.lon), float(v.lat),
            None if v.level is None else str(v.level), channels(v.channels),
            v.area_code, v.area_name, v.address, v.phone, v.opening_hours,
            flag(v.official_calendar), flag(v.accessible), flag(v.cross_province),
            flag(v.regional), v.bank, v.machines, v.name_en, v.source, str(v.status))


def item_row(i: ServiceItem, *, flag: Callable[[Any], Any] = int) -> tuple:
    """Return a service item as a row (``flag`` encodes ``high_frequency``)."""
    return (i.code, i.name, i.name_en, i.department, str(i.category),
            flag(i.high_frequency), str(i.scope), i.description, materials_text(i.materials),
            i.conditions, i.fee, i.legal_days, i.promised_days, i.apply_url,
            flag(i.can_do_online), flag(i.by_post), flag(i.at_kiosk))


def materials_text(materials: Sequence[str]) -> str:
    """Return the materials list as stored: compact JSON text, non-ASCII kept.

    Examples
    --------
    >>> materials_text(("身份证", "户口簿"))
    '["身份证","户口簿"]'
    >>> materials_text(())
    '[]'
    """
    return json.dumps(list(materials), ensure_ascii=False, separators=(",", ":"))


def materials_from(text: str | None) -> tuple[str, ...]:
    """Return the materials of stored JSON text (empty for NULL or ``[]``).

    Examples
    --------
    >>> materials_from('["身份证"]'), materials_from(None)
    (('身份证',), ())
    """
    if not text:
        return ()
    return tuple(str(m) for m in json.loads(text))


def bundle_rows(b: Bundle) -> tuple[tuple, list[tuple[str, int, str]]]:
    """Return a bundle as ``(code, name, name_en, description)`` and its item rows.

    Item rows are ``(bundle_code, position, item_code)``, positions from 0.
    """
    return ((b.code, b.name, b.name_en, b.description),
            [(b.code, n, code) for n, code in enumerate(b.items)])


def bundles_from(rows: Iterable[Sequence[Any]],
                 item_rows: Iterable[Sequence[Any]]) -> list[Bundle]:
    """Build bundles from bundle rows and ``(bundle_code, item_code)`` rows (by position)."""
    members: dict[str, list[str]] = {}
    for bundle_code, item_code in item_rows:
        members.setdefault(bundle_code, []).append(item_code)
    return [Bundle(code, name, tuple(members.get(code, ())), name_en, description)
            for code, name, name_en, description in rows]


def link_row(
    k: Link, *, channels: Callable[[Iterable[Channel]], Any] = channels_text
) -> tuple:
    """Return a link as ``(venue_code, item_code, encoded channels)``."""
    return (k.venue_code, k.item_code, channels(k.channels))


def area_population(a: Area) -> float | None:
    """Return an area's population as a float (None when unknown)."""
    return None if a.population is None else float(a.population)


def pop_row(p: PopulationCell, cell: Any) -> tuple:
    """Return a population cell as ``(code, lon, lat, count, cell)``.

    ``cell`` is the cell geometry as the backend writes or reads it back
    (WKT, WKB or None).
    """
    return (p.code, float(p.lon), float(p.lat), float(p.count), cell)


# ---------------------------------------------------------------------- rows -> records
def venues_from(rows: Iterable[Sequence[Any]]) -> list[Venue]:
    """Build venues from rows in :func:`venue_row` order (either encoding)."""
    kinds, levels, statuses, chans = KINDS, LEVELS, STATUSES, ChannelSets()
    return [
        Venue(code, name, kinds[kind], lon, lat,
              None if level is None else levels[level], chans(channels),
              area_code, area_name, address, phone, hours, bool(official),
              bool(accessible), bool(cross), bool(regional), bank, machines,
              name_en, source, statuses[status])
        for (code, name, kind, lon, lat, level, channels, area_code, area_name,
             address, phone, hours, official, accessible, cross, regional, bank,
             machines, name_en, source, status) in rows
    ]


def items_from(rows: Iterable[Sequence[Any]]) -> list[ServiceItem]:
    """Build service items from rows in :func:`item_row` order."""
    return [ServiceItem(code, name, name_en, dept, CATEGORIES[cat], bool(hf),
                        SCOPES[scope], desc, materials_from(materials), conditions, fee,
                        legal, promised, url, bool(online), bool(post), bool(kiosk))
            for (code, name, name_en, dept, cat, hf, scope, desc, materials, conditions, fee,
                 legal, promised, url, online, post, kiosk) in rows]


def links_from(rows: Iterable[Sequence[Any]]) -> list[Link]:
    """Build links from ``(venue_code, item_code, channels)`` rows."""
    chans = ChannelSets()
    return [Link(v, i, chans(c)) for v, i, c in rows]


def info_from(rows: Iterable[tuple[str, str | None]]) -> DatasetInfo:
    """Build the dataset settings from ``meta`` (key, value) rows.

    Defaults when the settings were never written.
    """
    meta = dict(rows)
    if "name" not in meta:
        return DatasetInfo()
    text = {k: v for k, v in meta.items() if v is not None}  # only `calendar` may be NULL
    extra = {k[len("extra."):]: v for k, v in text.items() if k.startswith("extra.")}
    return DatasetInfo(name=text["name"], timezone=text["timezone"],
                       calendar=meta.get("calendar"), country=text["country"],
                       extra=extra)


def info_meta(info: DatasetInfo, stored: Iterable[tuple[str, str | None]]) -> (
        dict[str, str | None] | None):
    """Return the ``meta`` entries of ``info``, or None if ``stored`` already holds them.

    ``stored`` is every (key, value) row of ``meta``; keys that are not
    settings (``revision``, ``schema_version``) are ignored.
    """
    new = {"name": info.name, "timezone": info.timezone, "calendar": info.calendar,
           "country": info.country}
    new.update({f"extra.{k}": str(v) for k, v in info.extra.items()})
    old = {k: v for k, v in stored if k in INFO_KEYS or k.startswith("extra.")}
    return None if old == new else new


# ---------------------------------------------------------------------- writes
def check_unique(name: str, keys: Sequence[Any]) -> None:
    """Raise if ``keys`` repeats one.

    Raises
    ------
    InvalidParameter
        Named ``batch``, naming the first repeated key.
    """
    if len(set(keys)) != len(keys):
        seen: set[Any] = set()
        dup = None
        for key in keys:
            if key in seen:
                dup = key
                break
            seen.add(key)
        msg = f"has {name} {dup!r} twice; each may appear once per batch"
        raise InvalidParameter("batch", msg)


def check_batch(batch: Batch) -> None:
    """Raise if a batch names an item, venue, link or area twice.

    Raises
    ------
    InvalidParameter
        Named ``batch``.
    """
    check_unique("item code", [i.code for i in batch.items])
    check_unique("venue code", [v.code for v in batch.venues])
    check_unique("link", [(k.venue_code, k.item_code) for k in batch.links])
    check_unique("area code", [a.code for a in batch.areas])
    check_unique("bundle code", [b.code for b in batch.bundles])


def split_changes(
    rows: Iterable[tuple[tuple, P]], existing: Mapping[tuple, Sequence[Any]], nkey: int
) -> tuple[list[P], list[P]]:
    """Sort a batch's rows into new and changed ones.

    Parameters
    ----------
    rows : iterable of (comparable row, write parameters)
        The comparable row is in the form the stored rows are read back in;
        its first ``nkey`` values are the key.
    existing : mapping
        Key -> stored row, for the stored rows that may share a key.
    nkey : int
        Number of key columns.

    Returns
    -------
    created, updated : list
        Write parameters of the rows with a new key and of the rows that
        differ from the stored one; the rest are unchanged.

    Examples
    --------
    >>> rows = [(("a", 1), "A"), (("b", 2), "B"), (("c", 3), "C")]
    >>> split_changes(rows, {("b",): ("b", 2), ("c",): ("c", 0)}, 1)
    (['A'], ['C'])
    """
    created: list[P] = []
    updated: list[P] = []
    for cmp, params in rows:
        old = existing.get(cmp[:nkey])
        if old is None:
            created.append(params)
        elif tuple(old) != tuple(cmp):
            updated.append(params)
    return created, updated


def change_counts(total: int, created: int, updated: int) -> TableCounts:
    """Return the counts of an upsert of ``total`` rows.

    Examples
    --------
    >>> change_counts(5, 2, 1)
    TableCounts(created=2, updated=1, unchanged=2, deleted=0)
    """
    return TableCounts(created=created, updated=updated,
                       unchanged=total - created - updated)


def key_last(row: Sequence[Any], nkey: int) -> tuple:
    """Move the first ``nkey`` values to the end (``UPDATE ... SET rest WHERE key``).

    Examples
    --------
    >>> key_last(("V1", "a", "b"), 1)
    ('a', 'b', 'V1')
    """
    return (*row[nkey:], *row[:nkey])


def stale_links(
    stored: Iterable[tuple[str, str]], replaced: Iterable[str], keep: Iterable[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Return the stored (venue, item) links of ``replaced`` venues not in ``keep``.

    Examples
    --------
    >>> stale_links([("V1", "A"), ("V1", "B"), ("V2", "A")], ["V1"], [("V1", "A")])
    [('V1', 'B')]
    """
    venues = set(replaced)
    kept = set(keep)
    return [(v, i) for v, i in stored if v in venues and (v, i) not in kept]
