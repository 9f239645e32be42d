r"""Announced statutory holidays and make-up working days, from a data office's file.

The State Council announces each year's breaks and make-up working days (调休)
in the autumn; ``chinese-calendar`` publishes them some time later.  Until it
does, a data office types the notice into a small table and stores it with the
dataset (``geosvc dataset holidays --db FILE days.csv``); the dataset's
calendar then takes the years the table mentions from it
(:func:`geosvc.hours.get_calendar`).

The table (CSV, ``.xlsx`` or GeoJSON properties, as every import reads them):

==========  =====================================================================
column      values
==========  =====================================================================
``date``    ``2027-10-01``, ``2027/10/01``, ``2027年10月1日`` or a spreadsheet date;
            headers ``date``, ``日期``, ``day``
``kind``    ``holiday`` (also ``放假``, ``休``, ``假``, ``off``) or ``workday``
            (also ``上班``, ``班``, ``调休上班``/``調休上班``, ``补班``/``補班``,
            ``work``); headers ``kind``, ``type``, ``类型``/``類型``,
            ``类别``/``類別``, ``安排``
==========  =====================================================================

Every day off of a break is listed (weekend days inside a break too), and the
table lists a year whole: the package's days of a year the table mentions are
dropped.  A make-up working day must be a Saturday or Sunday.  Every bad row
is reported (:class:`~geosvc.errors.ImportRejected`), and nothing is kept.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geosvc.errors import ImportRejected, RowProblem
from geosvc.importer._read import read_table

if TYPE_CHECKING:
    import os

__all__ = ["AnnouncedDays", "read_announced"]

#: Header names of each column (compared case-insensitively, stripped).
HEADERS: dict[str, tuple[str, ...]] = {
    "date": ("date", "日期", "day"),
    "kind": ("kind", "type", "类型", "類型", "类别", "類別", "安排"),
}

#: Values of ``kind`` (compared case-insensitively, stripped).
KINDS: dict[str, tuple[str, ...]] = {
    "holiday": ("holiday", "off", "放假", "休", "假", "休息", "假日", "节假日", "節假日"),
    "workday": ("workday", "work", "上班", "班", "调休上班", "調休上班", "补班", "補班",
                "调休", "調休"),
}

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


@dataclass(frozen=True, slots=True)
class AnnouncedDays:
    """Days off and make-up working days read from a table (each sorted)."""

    holidays: tuple[date, ...]
    workdays: tuple[date, ...]

    @property
    def years(self) -> tuple[int, ...]:
        """The years the table mentions, ascending."""
        return tuple(sorted({d.year for d in (*self.holidays, *self.workdays)}))

    def setting(self) -> str:
        """Return the stored form (read back by :func:`geosvc.hours.announced_days`).

        >>> AnnouncedDays((date(2027, 1, 1),), ()).setting()
        '{"holidays":["2027-01-01"],"workdays":[]}'
        """
        return json.dumps({"holidays": [d.isoformat() for d in self.holidays],
                           "workdays": [d.isoformat() for d in self.workdays]},
                          separators=(",", ":"))


def _column(headers: list[str], field: str) -> str | None:
    names = HEADERS[field]
    for h in headers:
        if h.strip().lower() in names:
            return h
    return None


def _as_date(value: Any) -> date | None:
    """``2027-10-01``, ``2027/10/1``, ``2027年10月1日``, or a spreadsheet date; else None."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    m = _DATE.fullmatch(str(value).strip())
    if m is None:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _kind(value: Any) -> str | None:
    text = str(value).strip().lower()
    return next((k for k, names in KINDS.items() if text in names), None)


def read_announced(path: str | os.PathLike[str], *,
                   encoding: str | None = None) -> AnnouncedDays:
    """Read and check a table of announced days (module docstring).

    Raises
    ------
    InvalidParameter
        Named ``path``: the file cannot be read (as :func:`read_table`).
    ImportRejected
        Every bad row (row 0: the header or an empty table); nothing is kept.
    """
    rows = read_table(path, encoding=encoding)
    headers = list(rows[0]) if rows else []
    cols = {f: _column(headers, f) for f in HEADERS}
    problems = [RowProblem(0, f, f"no such column (one of {', '.join(HEADERS[f])})")
                for f, c in cols.items() if c is None]
    if problems:
        raise ImportRejected(problems, source=Path(path).name)
    seen: dict[date, int] = {}
    holidays: list[date] = []
    workdays: list[date] = []
    for i, row in enumerate(rows, start=1):
        raw_day, raw_kind = row.get(cols["date"] or ""), row.get(cols["kind"] or "")
        if all(v is None or str(v).strip() == "" for v in row.values()):
            continue  # a blank line
        day, kind = _as_date(raw_day), _kind(raw_kind)
        if day is None:
            problems.append(RowProblem(i, "date", f"is not a date like 2027-10-01 "
                                                  f"(got {str(raw_day or '')!r})"))
        if kind is None:
            choices = ", ".join(f"{k} ({'/'.join(v[2:4])})" for k, v in KINDS.items())
            problems.append(RowProblem(i, "kind", f"must be {choices} (got "
                                                  f"{str(raw_kind or '')!r})"))
        if day is None or kind is None:
            continue
        if day in seen:
            problems.append(RowProblem(i, "date", f"{day.isoformat()} is listed again "
                                                  f"(first on row {seen[day]})"))
            continue
        seen[day] = i
        if kind == "workday" and day.weekday() < 5:
            problems.append(RowProblem(
                i, "kind", f"{day.isoformat()} is a {_WEEKDAYS[day.weekday()]}: a make-up "
                           "working day (调休) is a Saturday or Sunday"))
            continue
        (holidays if kind == "holiday" else workdays).append(day)
    if not problems and not seen:
        problems.append(RowProblem(0, "date", "the table lists no days"))
    if problems:
        raise ImportRejected(problems, source=Path(path).name)
    return AnnouncedDays(tuple(sorted(holidays)), tuple(sorted(workdays)))
