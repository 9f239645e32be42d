"""Field parsers of the importer: text, numbers, booleans, vocabularies, geometry.

A :class:`RowReader` reads the fields of one row and records a
:class:`~geosvc.errors.RowProblem` for each bad value instead of raising, so
that every problem of every row is collected.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable, Mapping
from enum import StrEnum
from typing import Any, TypeVar

from geosvc import vocab
from geosvc.errors import RowProblem
from geosvc.vocab import (
    Category,
    Channel,
    Level,
    Registry,
    Scope,
    Status,
    VenueKind,
    normalise_label,
)

E = TypeVar("E", bound=StrEnum)

def _vocab(registry: Registry[Any]) -> dict[str, Any]:
    """``{code or label: enum member}`` of a registry, codes first, then its aliases."""
    table: dict[str, Any] = {str(e.code): e.code for e in registry}
    for entry in registry:
        table.update(dict.fromkeys(entry.aliases, entry.code))
    for entry in registry:
        table.update(dict.fromkeys(entry.aliases_hant, entry.code))
    return table


#: Import vocabularies: value or Chinese label (simplified or traditional) -> enum member;
#: derived from the registries of :mod:`geosvc.vocab`.
KINDS: dict[str, VenueKind] = _vocab(vocab.KINDS)
LEVELS: dict[str, Level] = _vocab(vocab.LEVELS)
CHANNELS: dict[str, Channel] = _vocab(vocab.CHANNELS)
CATEGORIES: dict[str, Category] = _vocab(vocab.CATEGORIES)
SCOPES: dict[str, Scope] = _vocab(vocab.SCOPES)
STATUSES: dict[str, Status] = _vocab(vocab.STATUSES)

_TRUE = {"true", "1", "yes", "y", "t", "是", "有"}
_FALSE = {"false", "0", "no", "n", "f", "否", "无"}
_CODE_FORBIDDEN = set("/?#%\\")


def describe(table: Mapping[str, StrEnum]) -> str:
    """Say which values a vocabulary allows (enum values, then labels)."""
    values = list(dict.fromkeys(str(v) for v in table.values()))
    labels = [k for k in table if k not in values]
    text = ", ".join(values)
    if not labels:
        return text
    more = ", ..." if len(labels) > 8 else ""
    return f"{text} (or a Chinese label: {', '.join(labels[:8])}{more})"


def _key(text: str) -> str:
    return text.strip().lower().replace("-", "_").replace(" ", "_")


def as_text(value: Any) -> str | None:
    """Return a cell's value as stripped text; None when empty.

    Examples
    --------
    >>> as_text("  a "), as_text(""), as_text(None), as_text(1001.0), as_text(2.5)
    ('a', None, None, '1001', '2.5')
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, list | tuple):
        parts = [as_text(v) for v in value]
        return ",".join(p for p in parts if p) or None
    text = str(value).strip()
    return text or None


def shown(value: Any, *, quote: bool = True) -> str:
    """Render a bad value for a problem message (short)."""
    text = repr(value) if isinstance(value, str) and quote else str(value).strip()
    return text if len(text) <= 60 else text[:57] + "..."


class RowReader:
    """Read the fields of one data row, recording problems.

    Parameters
    ----------
    row : int
        1-based data row number.
    data : mapping
        Column -> raw value.
    problems : list of RowProblem
        Where problems are appended.
    absent : set of str
        Columns missing from the file's header (reported once, not per row).
    """

    def __init__(self, row: int, data: Mapping[str, Any], problems: list[RowProblem],
                 absent: Iterable[str] = ()) -> None:
        self.row = row
        self.data = data
        self.problems = problems
        self.absent = frozenset(absent)
        self.ok = True

    def problem(self, field: str, reason: str) -> None:
        """Record a problem of ``field`` in this row."""
        self.problems.append(RowProblem(self.row, field, reason))
        self.ok = False

    def _missing(self, field: str, required: bool) -> None:
        if required and field not in self.absent:
            self.problem(field, "is required")

    def text(self, field: str, *, required: bool = False, max_len: int = 1000) -> str | None:
        """Read a text field; None when empty."""
        raw = self.data.get(field)
        if isinstance(raw, dict):
            self.problem(field, f"must be text, not an object ({shown(raw)})")
            return None
        value = as_text(raw)
        if value is None:
            self._missing(field, required)
        elif len(value) > max_len:
            self.problem(field, f"is longer than {max_len} characters ({len(value)})")
            return None
        return value

    def code(self, field: str) -> str | None:
        r"""Read a required code: no whitespace, no ``/ ? # % \`` (codes go in URLs)."""
        value = self.text(field, required=True, max_len=100)
        if value is not None:
            bad = sorted({c for c in value if c in _CODE_FORBIDDEN or c.isspace()})
            if bad:
                shown_bad = " ".join("space" if c.isspace() else c for c in bad)
                self.problem(field, f"must not contain {shown_bad} (got {shown(value)})")
                return None
        return value

    def number(self, field: str, *, required: bool = False, lo: float | None = None,
               hi: float | None = None, integer: bool = False) -> float | None:
        """Read a finite number in ``[lo, hi]``; None when empty and not required."""
        raw = self.data.get(field)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            self._missing(field, required)
            return None
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            self.problem(field, f"must be a number (got {shown(raw)})")
            return None
        try:
            value = float(raw.strip()) if isinstance(raw, str) else float(raw)
        except ValueError:
            self.problem(field, f"must be a number (got {shown(raw)})")
            return None
        if not math.isfinite(value):
            self.problem(field, f"must be a finite number (got {shown(raw, quote=False)})")
            return None
        if integer and not value.is_integer():
            self.problem(field, f"must be a whole number (got {shown(raw, quote=False)})")
            return None
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            if hi is None:
                self.problem(field, f"must be at least {lo:g} (got {shown(raw, quote=False)})")
            elif lo is None:
                self.problem(field, f"must be at most {hi:g} (got {shown(raw, quote=False)})")
            else:
                self.problem(field, f"must be between {lo:g} and {hi:g} "
                                    f"(got {shown(raw, quote=False)})")
            return None
        return value

    def boolean(self, field: str, *, default: bool) -> bool:
        """Read a yes/no field: true/false/1/0/yes/no/y/n/是/否; empty -> ``default``."""
        raw = self.data.get(field)
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int | float) and raw in (0, 1):
            return bool(raw)
        text = as_text(raw) if not isinstance(raw, dict) else "?"
        if text is None:
            return default
        key = text.lower()
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
        self.problem(field, "must be true or false (or 1/0, yes/no, y/n, 是/否) "
                            f"(got {shown(raw)})")
        return default

    def choice(self, field: str, table: Mapping[str, E], *, required: bool = False) -> E | None:
        """One value of a vocabulary (enum value or Chinese label)."""
        text = self.text(field, required=required)
        if text is None:
            return None
        found = table.get(_key(text)) or table.get(text)
        if found is None:
            self.problem(field, f"must be one of {describe(table)} (got {shown(text)})")
        return found

    def channels(self, field: str) -> frozenset[Channel] | None:
        """Read channels separated by ``,``, ``;``, ``|`` or ``、``; None when empty."""
        raw = self.data.get(field)
        parts: list[str]
        if isinstance(raw, list | tuple):
            parts = [p for p in (as_text(v) for v in raw) if p]
        else:
            text = as_text(raw) if not isinstance(raw, dict) else None
            if text is None:
                return None
            for sep in ";|、，":
                text = text.replace(sep, ",")
            parts = [p.strip() for p in text.split(",") if p.strip()]
        if not parts:
            return None
        found, bad = set(), []
        for part in parts:
            channel = CHANNELS.get(_key(part)) or CHANNELS.get(part)
            if channel is None:
                bad.append(part)
            else:
                found.add(channel)
        if bad:
            self.problem(field, f"has unknown channel(s) {', '.join(map(shown, bad))}; "
                                f"allowed: {describe(CHANNELS)}")
            return None
        return frozenset(found)

    def check(self, field: str, test: Callable[[], str | None]) -> None:
        """Record the reason ``test()`` returns, if any."""
        reason = test()
        if reason:
            self.problem(field, reason)


def is_blank(data: Mapping[str, Any]) -> bool:
    """Return True when every value of a row is empty."""
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in data.values())


def header_renames(headers: Iterable[str], what: str | None = None,
                   known: Collection[str] = ()) -> dict[str, str]:
    """Return ``{header: column}``: the importer's column name of each header of a file.

    Headers are matched case-insensitively (``-`` and spaces as ``_``) against
    the ``known`` column names and the aliases of :data:`geosvc.vocab.HEADERS`
    that apply to layer ``what``.  A header never takes a column another
    header already names exactly (``名称`` stays ``名称`` beside ``name``); of
    two aliases of one column the first wins.  Other headers are kept,
    lower-cased.

    Examples
    --------
    >>> header_renames(["Code", "名稱", "經度", "緯度", "颜色"], "venues")
    {'Code': 'code', '名稱': 'name', '經度': 'lon', '緯度': 'lat', '颜色': '颜色'}
    >>> header_renames(["name", "名称", "Opening Hours"], "venues", known=["opening_hours"])
    {'name': 'name', '名称': '名称', 'Opening Hours': 'opening_hours'}
    """
    aliases = vocab.header_aliases(what)
    headers = list(headers)
    plain = [h.strip().lower() for h in headers]
    out: dict[str, str] = {}
    taken = {p for p in plain if p not in aliases}
    for header, low in zip(headers, plain, strict=True):
        key = normalise_label(header)
        target = aliases.get(key) or (key if key in known else low)
        if target != low and target in taken:
            target = low
        taken.add(target)
        out[header] = target
    return out


def normalise_header(rows: list[dict[str, Any]], what: str | None = None,
                     known: Collection[str] = ()) -> list[dict[str, Any]]:
    """Return rows whose keys are the importer's column names (:func:`header_renames`)."""
    renames = header_renames(dict.fromkeys(k for row in rows for k in row), what, known)
    return [{renames[k]: v for k, v in row.items()} for row in rows]
