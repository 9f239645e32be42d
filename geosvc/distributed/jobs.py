"""Batch jobs: one dataset each, validated as a whole before anything runs.

A jobs file (YAML or JSON) is either a list of jobs or a mapping
``{defaults: {...}, jobs: [...]}`` whose ``defaults`` apply to every job
that does not set the field itself::

    defaults: {modes: [walk], minutes: [10, 15]}
    jobs:
      - {name: helsinki, db: var/demo.sqlite, osm: data/helsinki.osm.pbf}
      - {name: helsinki-halls, db: var/demo.sqlite, osm: data/helsinki.osm.pbf,
         filters: {kind: hall}, curves: true}

Fields of a job:

``name`` (required)
    Unique; letters, digits, ``_ . -`` (names output files).
``db`` (required)
    The dataset's store: SQLite path or URL (``postgresql://...``).
``osm`` (required)
    Its OSM extract (``.osm.pbf`` / ``.osm``).
``modes``
    ``walk``, ``bike``, ``drive`` (list or comma string; default ``[walk]``).
``minutes``
    Service-circle sizes, minutes, each > 0 and <= 240 (default ``[10]``).
``filters``
    The venue filters of ``GET /api/v1/coverage``: ``kind``, ``level``,
    ``item``, ``channel``, ``open_at``, ``accessible``, ``home_area``,
    ``include_candidates`` (a value may be a string, a list, or a boolean).
``curves``
    Also write the covered share at 5..30 minutes per venue kind (default false).
``out``
    Output prefix (default: the name); relative to the output directory.
``gap_radius_m``
    Radius grouping uncovered residents into gaps, metres (default 100).

Files are NOT opened here: on a cluster the paths are the workers' paths, and
a missing file fails that dataset only (its summary rows carry the error).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from geosvc.api.params import ParseContext, parse_query
from geosvc.errors import InvalidParameter
from geosvc.modes import network_modes

__all__ = ["FILTERS", "MODES", "BatchJob", "load_jobs", "parse_jobs"]

#: Travel modes a job may ask for (the road modes of :mod:`geosvc.modes`).
MODES = network_modes()
#: Filter names a job may set (those of ``GET /api/v1/coverage``).
FILTERS = ("kind", "level", "item", "channel", "open_at", "accessible", "home_area",
           "include_candidates")
_FIELDS = ("name", "db", "osm", "modes", "minutes", "filters", "curves", "out",
           "gap_radius_m")
_NAME = re.compile(r"^[\w][\w.-]*$")
_MAX_MINUTES = 240.0


@dataclass(frozen=True, slots=True)
class BatchJob:
    """One dataset of a batch: what to compute and where to write it.

    Attributes
    ----------
    name : str
        Unique name of the dataset (the ``dataset`` column of the summary).
    db : str
        Store path or URL, as the worker sees it.
    osm : str
        OSM extract path, as the worker sees it.
    modes : tuple of str
        Travel modes (``walk``, ``bike``, ``drive``).
    minutes : tuple of float
        Service-circle sizes, minutes.
    filters : tuple of (str, str)
        Coverage filter parameters as API query strings (``("kind", "hall")``).
    out : str
        Output prefix: files are ``<out>_<mode>_<minutes>min.json`` / ``.csv``
        (+ ``_catchments.csv``) and, with ``curves``, ``<out>_<mode>_curves.csv``.
    curves : bool
        Also compute the covered share at 5..30 minutes per venue kind.
    gap_radius_m : float
        Radius grouping uncovered residents into gap polygons, metres.
    """

    name: str
    db: str
    osm: str
    out: str
    modes: tuple[str, ...] = ("walk",)
    minutes: tuple[float, ...] = (10.0,)
    filters: tuple[tuple[str, str], ...] = field(default=())
    curves: bool = False
    gap_radius_m: float = 100.0

    def as_dict(self) -> dict[str, Any]:
        """Return the job as plain, picklable values (lists, str, float, bool)."""
        return {"name": self.name, "db": self.db, "osm": self.osm, "out": self.out,
                "modes": list(self.modes), "minutes": list(self.minutes),
                "filters": dict(self.filters), "curves": self.curves,
                "gap_radius_m": self.gap_radius_m}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchJob:
        """Rebuild a job from :meth:`as_dict` (no validation: it came from one)."""
        return cls(name=data["name"], db=data["db"], osm=data["osm"], out=data["out"],
                   modes=tuple(data["modes"]), minutes=tuple(float(m) for m in data["minutes"]),
                   filters=tuple(dict(data["filters"]).items()), curves=bool(data["curves"]),
                   gap_radius_m=float(data["gap_radius_m"]))


def load_jobs(path: str | Path, *, out_dir: str | Path | None = None) -> list[BatchJob]:
    """Read and validate a jobs file (YAML or JSON; see the module docstring).

    Parameters
    ----------
    path : path-like
        The jobs file.
    out_dir : path-like, optional
        Relative ``out`` prefixes (and the default, the job's name) are
        placed in ``<out_dir>/<name>/``; None keeps them as written.

    Raises
    ------
    InvalidParameter
        An unreadable file (``jobs``), or every problem of every job, each
        named ``jobs[i].field`` (``i`` from 0, in file order).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidParameter("jobs", f"cannot read {str(p)!r}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise InvalidParameter("jobs", f"{str(p)!r} is not UTF-8 text") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise InvalidParameter("jobs", f"{str(p)!r} is not valid YAML{at}") from exc
    return parse_jobs(data, out_dir=out_dir)


def parse_jobs(data: Any, *, out_dir: str | Path | None = None) -> list[BatchJob]:
    """Validate parsed jobs data (a list, or ``{defaults, jobs}``); see :func:`load_jobs`.

    Examples
    --------
    >>> jobs = parse_jobs([{"name": "a", "db": "a.sqlite", "osm": "a.osm.pbf",
    ...                     "minutes": [10, 15], "filters": {"kind": ["hall", "kiosk"]}}])
    >>> jobs[0].minutes, jobs[0].filters, jobs[0].out
    ((10.0, 15.0), (('kind', 'hall,kiosk'),), 'a')
    >>> parse_jobs([{"name": "a", "db": "x", "minutes": [0]}, {"name": "a", "db": "y",
    ...             "osm": "y.pbf", "mode": "walk"}])
    Traceback (most recent call last):
    ...
    geosvc.errors.InvalidParameter: `jobs[0].osm` is required; `jobs[0].minutes` must be ...
    """
    problems: list[tuple[str, str]] = []
    defaults: Mapping[str, Any] = {}
    if isinstance(data, Mapping):
        extra = sorted(set(map(str, data)) - {"defaults", "jobs"})
        if extra:
            problems.append(("jobs", f"has unknown top-level keys {extra}; "
                                     "expected `defaults` and `jobs`"))
        defaults = data.get("defaults") or {}
        if not isinstance(defaults, Mapping):
            problems.append(("defaults", "must be a mapping of job fields"))
            defaults = {}
        else:
            bad = sorted(set(map(str, defaults)) - (set(_FIELDS) - {"name", "out"}))
            if bad:
                problems.append(("defaults", f"has unknown or per-job fields {bad}"))
        data = data.get("jobs")
    if not isinstance(data, list) or not data:
        problems.append(("jobs", "must be a non-empty list of jobs"))
        raise InvalidParameter.many(problems)
    jobs: list[BatchJob] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(data):
        where = f"jobs[{i}]"
        if not isinstance(raw, Mapping):
            problems.append((where, "must be a mapping with name, db, osm, ..."))
            continue
        inherited = {str(k): v for k, v in defaults.items()
                     if str(k) in _FIELDS and k not in ("name", "out") and k not in raw}
        name = raw.get("name")
        if isinstance(name, str) and name.strip():
            if name.strip() in seen:
                problems.append((f"{where}.name", f"{name.strip()!r} is already the name of "
                                                  f"jobs[{seen[name.strip()]}]"))
            else:
                seen[name.strip()] = i
        job = _parse_job(where, {**inherited, **raw}, problems, out_dir, set(inherited))
        if job is not None:
            jobs.append(job)
    if problems:
        raise InvalidParameter.many(dict.fromkeys(problems))
    return jobs


#: Reports one problem of a job: ``bad(field, reason)``.
_Report = Callable[[str, str], None]


def _parse_job(where: str, raw: Mapping[str, Any], problems: list[tuple[str, str]],
               out_dir: str | Path | None, inherited: set[str]) -> BatchJob | None:
    """Return the job of ``raw`` or None, appending every problem found to ``problems``.

    A problem with a field taken from ``defaults`` (``inherited``) is named
    ``defaults.<field>``.
    """
    before = len(problems)

    def bad(name: str, reason: str) -> None:
        root = "defaults" if name.split(".")[0] in inherited else where
        problems.append((f"{root}.{name}", reason))

    for key in sorted(set(map(str, raw)) - set(_FIELDS)):
        bad(key, f"is not a job field (expected one of {', '.join(_FIELDS)})")
    text = _job_text(raw, bad)
    modes = _job_modes(raw, bad)
    minutes = _minutes(raw.get("minutes", [10]))
    if isinstance(minutes, str):
        bad("minutes", minutes)
    filters = _filters(raw.get("filters") or {},
                       lambda n, r: bad(f"filters.{n}" if n else "filters", r))
    curves = raw.get("curves", False)
    if not isinstance(curves, bool):
        bad("curves", f"must be true or false, not {curves!r}")
    gap = _job_gap(raw, bad)
    out = raw.get("out", text.get("name"))
    if out is not None and (not isinstance(out, str) or not out.strip()):
        bad("out", f"must be a non-empty path prefix, not {out!r}")
    if len(problems) > before or isinstance(minutes, str) or not isinstance(out, str):
        return None
    prefix = Path(out.strip())
    if out_dir is not None and not prefix.is_absolute():
        prefix = Path(out_dir) / text["name"] / prefix
    return BatchJob(name=text["name"], db=text["db"], osm=text["osm"], out=str(prefix),
                    modes=tuple(dict.fromkeys(modes)), minutes=minutes, filters=filters,
                    curves=curves, gap_radius_m=gap)


def _job_text(raw: Mapping[str, Any], bad: _Report) -> dict[str, str]:
    """Return the required text fields (``name``, ``db``, ``osm``) that are valid, stripped."""
    text: dict[str, str] = {}
    for key in ("name", "db", "osm"):
        value = raw.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            bad(key, "is required")
        elif not isinstance(value, str):
            bad(key, f"must be a string, not {value!r}")
        else:
            text[key] = value.strip()
    if "name" in text and not _NAME.match(text["name"]):
        bad("name", f"must be letters, digits, `_`, `.` or `-` (a file name), "
                    f"not {text['name']!r}")
    return text


def _job_modes(raw: Mapping[str, Any], bad: _Report) -> list[str]:
    """Return the job's travel modes (empty after reporting a problem)."""
    modes = _strings(raw.get("modes", ["walk"]))
    if modes is None or not modes:
        bad("modes", f"must be a list of {', '.join(MODES)}, not {raw.get('modes')!r}")
        return []
    wrong = [m for m in modes if m not in MODES]
    if wrong:
        bad("modes", f"has unknown modes {wrong}; use {', '.join(MODES)}")
    return modes


def _job_gap(raw: Mapping[str, Any], bad: _Report) -> float:
    """Return ``gap_radius_m`` (default 100 m; NaN after reporting a problem)."""
    gap = raw.get("gap_radius_m", 100.0)
    if isinstance(gap, bool) or not isinstance(gap, (int, float)) or \
            not (math.isfinite(gap) and gap > 0):
        bad("gap_radius_m", f"must be a number of metres > 0, not {gap!r}")
        return math.nan
    return float(gap)


def _strings(value: Any) -> list[str] | None:
    """Return a list of stripped strings from a list or comma string; None if it is neither."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()]
    return None


def _minutes(value: Any) -> tuple[float, ...] | str:
    """Return the minutes as a tuple of unique floats, or the reason they are refused."""
    values = value if isinstance(value, list) else [value]
    out: list[float] = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or \
                not (math.isfinite(v) and 0 < v <= _MAX_MINUTES):
            return f"must be a list of minutes, each > 0 and <= {_MAX_MINUTES:g}, not {value!r}"
        out.append(float(v))
    if not out:
        return "must list at least one number of minutes"
    return tuple(dict.fromkeys(out))


def _filters(value: Any, bad: _Report) -> tuple[tuple[str, str], ...]:
    """Return the filters as API query strings, checked with the coverage endpoint's parsers."""
    if not isinstance(value, Mapping):
        bad("", f"must be a mapping of filter names to values, not {value!r}")
        return ()
    params: dict[str, str] = {}
    for key, v in value.items():
        name = str(key)
        if name not in FILTERS:
            bad(name, f"is not a coverage filter (use {', '.join(FILTERS)})")
        elif isinstance(v, bool):
            params[name] = "true" if v else "false"
        elif isinstance(v, (str, int, float)):
            params[name] = str(v)
        elif isinstance(v, list) and v and all(isinstance(x, (str, int)) and
                                               not isinstance(x, bool) for x in v):
            params[name] = ",".join(str(x) for x in v)
        else:
            bad(name, f"must be a string, a list of strings or true/false, not {v!r}")
    if params:
        # Syntax only: the dataset's time zone and item codes are checked by the worker.
        ctx = ParseContext(max_limit=1000, default_limit=50, tz=ZoneInfo("UTC"))
        try:
            parse_query("coverage", params, ctx)
        except InvalidParameter as exc:
            for p in exc.invalid_params:
                bad(p["name"], p["reason"])
    return tuple(params.items())
