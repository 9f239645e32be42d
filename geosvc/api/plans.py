"""`POST /api/v1/plans`: choose new sites that raise coverage most (framework-free).

Request body (JSON object; unknown members are ignored)::

    {"mode": "walk", "minutes": 10, "k": 10,
     "candidates": "bank_outlets" | "kiosk_sites" | {FeatureCollection of Points},
     "filters": {"kind": "hall,kiosk", "item": ["SB-01"], "open_at": ..., ...},
     "target_share": 0.95,          # optional: fewest sites reaching this share
     "add": ["ID", ...],            # optional: what-if, these candidates in this order
     "solver": "auto" | "exact" | "greedy",
     "site_spacing_m": 250}         # optional: cell size of kiosk_sites, metres

``filters`` are the query parameters of ``/api/v1/coverage`` (strings, or
JSON booleans / numbers / lists turned into their query form), validated by
the same table; the venues matching them are the fixed sites, so
``before_share`` equals ``/api/v1/coverage``'s ``covered_share`` for the same
``mode``, ``minutes`` and filters.  Supplied candidate points are WGS-84.
Every bad member is named in one 400 (``filters.kind`` for a bad filter).
Candidates keep the filters' meaning
(:func:`~geosvc.analysis.planning.candidates.offering`): only sites that
would offer the filtered kind / channel / level count, the others are listed
in ``candidates_not_offering``, none left is a 400 naming ``candidates``
(e.g. ``kiosk_sites`` with ``channel=window``: a kiosk offers only
self-service); each selected site states ``offers: {kind, channels}``.
Supplied points may state ``kind`` / ``channels`` / ``level`` in their
properties.
Problem precedence: ``add`` (what-if), else ``target_share`` (minimum
sites), else ``k`` (maximal covering, default 10, or every candidate when
fewer: ``{}`` is a valid body).  A member is either left out or given a
value: ``null`` is a 400 naming it (the schema's members are not nullable).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import ijson

from geosvc.analysis.planning.candidates import MAX_CANDIDATES
from geosvc.api._common import parse
from geosvc.app.travel import PlanRequest, plan_new_sites
from geosvc.budget import Deadline
from geosvc.errors import InvalidParameter
from geosvc.modes import mode_names

if TYPE_CHECKING:
    from geosvc.app.service import GeoService

__all__ = ["create_plan", "parse_plan_body", "read_plan_body"]

_SOLVERS = ("auto", "exact", "greedy")
#: Longest service circle of a plan, minutes (as coverage).
MAX_MINUTES = 120.0
#: Largest ``k`` and most ids in one what-if.
MAX_K = 1000
#: The members of a request body (others are ignored).
_MEMBERS = ("mode", "minutes", "k", "target_share", "add", "candidates", "solver",
            "site_spacing_m", "filters")


#: Longest JSON integer literal kept exact; longer ones are read as floats
#: (``inf`` beyond float range), which the body checks reject as non-finite.
_MAX_INT_DIGITS = 18


def _json_int(text: str) -> int | float:
    digits = len(text) - text.startswith("-")
    return int(text) if digits <= _MAX_INT_DIGITS else float(text)


def _count_candidates(data: bytes) -> None:
    """Stream over ``data`` counting ``candidates.features`` items; stop past the limit.

    Each item is built alone (ijson, C backend: ~40 ms for 20,000 points) and
    dropped; at the item after :data:`MAX_CANDIDATES` reading stops, so an
    oversized body costs the time and memory of the limit, not of its size.
    A body that is not JSON is left to :func:`json.loads`.

    Raises
    ------
    InvalidParameter
        Named ``candidates``: more than :data:`MAX_CANDIDATES` items.
    """
    count = 0
    try:
        for _ in ijson.items(data, "candidates.features.item", use_float=True):
            count += 1
            if count > MAX_CANDIDATES:
                break
    except (ijson.JSONError, ValueError, RecursionError):
        return  # not JSON (or too deep): json.loads refuses it
    if count > MAX_CANDIDATES:
        msg = (f"holds more than {MAX_CANDIDATES} points; at most {MAX_CANDIDATES} "
               "are accepted (the body was read no further)")
        raise InvalidParameter("candidates", msg)


def read_plan_body(data: bytes) -> Any:
    """Decode a plan request body; None when it is missing, not JSON or nested too deeply.

    Supplied candidates are counted while the body is streamed, before it is
    decoded (:func:`_count_candidates`): more than :data:`MAX_CANDIDATES`
    is a 400 naming ``candidates`` without the rest of the body being read.

    Examples
    --------
    >>> read_plan_body(b'{"k": 3}'), read_plan_body(b"{nope") is None
    ({'k': 3}, True)
    >>> big = b'{"candidates": {"features": [' + b",".join([b"{}"] * 20001) + b"]}}"
    >>> read_plan_body(big)
    Traceback (most recent call last):
    ...
    geosvc.errors.InvalidParameter: `candidates` holds more than 20000 points; ...
    """
    _count_candidates(data)
    try:
        return json.loads(data, parse_int=_json_int)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None


def _is_number(v: object) -> bool:
    # a JSON integer may exceed float range: math.isfinite would raise OverflowError
    if isinstance(v, bool):
        return False
    return isinstance(v, int) or (isinstance(v, float) and math.isfinite(v))


def _filter_value(v: object) -> str | None:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    if _is_number(v):
        return f"{v:g}" if isinstance(v, float) else str(v)
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return ",".join(v)
    return None


def _check_body(body: object) -> tuple[dict[str, Any], dict[str, str], list[tuple[str, str]]]:
    """Return (values, filter query params, problems) of a request body."""
    if not isinstance(body, Mapping):
        msg = "must be a JSON object {mode, minutes, k, candidates, filters}"
        raise InvalidParameter("body", msg)
    problems: list[tuple[str, str]] = [
        (name, "must not be null (leave the member out for its default)")
        for name in _MEMBERS if name in body and body[name] is None]

    def member(name: str, default: object, ok: Callable[[Any], bool], reason: str) -> Any:
        value = body.get(name, default)
        if value is None and name in body:
            return default  # named above
        if not ok(value):
            problems.append((name, reason))
        return value

    out: dict[str, Any] = {
        "mode": member("mode", "walk", lambda v: isinstance(v, str) and v in mode_names(),
                       f"must be one of {' | '.join(mode_names())}"),
        "minutes": member("minutes", 10, lambda v: _is_number(v) and 0 < v <= MAX_MINUTES,
                          f"must be a number of minutes > 0 and <= {MAX_MINUTES:g}"),
    }
    out.update(_check_problem(body, problems))
    out["candidates"] = member(
        "candidates", "bank_outlets",
        lambda v: v in ("bank_outlets", "kiosk_sites") or isinstance(v, Mapping),
        "must be 'bank_outlets', 'kiosk_sites' or a GeoJSON "
        "FeatureCollection of Point features",
    )
    out["solver"] = member("solver", "auto", lambda v: v in _SOLVERS,
                           f"must be one of {' | '.join(_SOLVERS)}")
    out["site_spacing_m"] = member(
        "site_spacing_m", None, lambda v: v is None or (_is_number(v) and 10 <= v <= 10_000),
        "must be a number of metres between 10 and 10000",
    )
    filters = body.get("filters")
    return out, _check_filters({} if filters is None else filters, problems), problems


def _check_problem(body: Mapping[str, Any], problems: list[tuple[str, str]]) -> dict[str, Any]:
    """Return ``k``, ``target_share`` and ``add`` (None when not given).

    Without any of them the problem is maximal covering with the planner's
    default ``k`` (:data:`~geosvc.analysis.planning.plan.DEFAULT_K`, or every
    candidate when fewer).
    """
    k = body.get("k")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K):
        problems.append(("k", f"must be an integer between 1 and {MAX_K}"))
    target = body.get("target_share")
    if target is not None and not (_is_number(target) and 0 <= target <= 1):
        problems.append(("target_share", "must be a number between 0 and 1"))
    add = body.get("add")
    if add is not None and not (isinstance(add, list) and add and len(add) <= MAX_K
                                and all(isinstance(a, str) and a for a in add)):
        problems.append(("add", f"must be a list of 1 to {MAX_K} candidate ids (strings)"))
    return {"k": k, "target_share": target, "add": add}


def _check_filters(filters: object, problems: list[tuple[str, str]]) -> dict[str, str]:
    """Return the ``filters`` member as query parameters (checked later against the data)."""
    flt: dict[str, str] = {}
    if not isinstance(filters, Mapping):
        problems.append(("filters", "must be an object of venue filters (as /api/v1/coverage)"))
        return flt
    for name, value in filters.items():
        text = _filter_value(value)
        if text is None or name in ("mode", "minutes", "crs"):
            problems.append((f"filters.{name}", "must be a string, number, boolean or "
                             "list of strings naming a venue filter"))
        else:
            flt[str(name)] = text
    return flt


def parse_plan_body(body: object) -> tuple[dict[str, Any], dict[str, str]]:
    """Check the members of a plan request; return (values, filter query params).

    Filter values are checked later against the dataset (:func:`create_plan`).

    Examples
    --------
    >>> values, flt = parse_plan_body({"k": 3, "filters": {"kind": ["hall", "kiosk"]}})
    >>> values["k"], values["candidates"], values["solver"], flt
    (3, 'bank_outlets', 'auto', {'kind': 'hall,kiosk'})
    >>> parse_plan_body({"k": 0, "minutes": "ten"})
    Traceback (most recent call last):
    ...
    geosvc.errors.InvalidParameter: `minutes` must be a number of minutes > 0 and <= 120;
    `k` must be an integer between 1 and 1000
    """
    values, flt, problems = _check_body(body)
    if problems:
        raise InvalidParameter.many(problems)
    return values, flt


def _filter_query(service: GeoService, snap: Any, values: dict[str, Any],
                  flt: dict[str, str], problems: list[tuple[str, str]]) -> Any:
    """Return the coverage query of the filters (+ mode, minutes); add to ``problems``."""
    params = dict(flt)
    if not any(p[0] in ("mode", "minutes") for p in problems):
        params.update(mode=values["mode"], minutes=f"{values['minutes']!r}")
    try:
        return parse(service, snap, "coverage", params)
    except InvalidParameter as exc:
        problems += [(f"filters.{p['name']}" if p["name"] in flt else p["name"], p["reason"])
                     for p in exc.invalid_params]
        return None


def create_plan(service: GeoService, body: Mapping[str, Any]) -> dict[str, Any]:
    """``{before_share, after_share, selected: [...], solver, solve_time_s, problem, ...}``.

    Raises
    ------
    InvalidParameter
        The body is malformed (every bad member named; filters as
        ``filters.<name>``), ``k`` above the number of candidates, unknown or
        off-network ``add`` ids, an empty candidate set.
    ModeUnavailable
        No road network is loaded for a ``mode`` that needs one (``straight``
        needs none: coverage sets by great-circle distance, and the answer
        carries ``straight_line``).
    BudgetExceeded
        Beyond ``analysis_budget_s`` (:mod:`geosvc.budget`): refused up front
        (candidates x demand cells) or stopped between phases.
    """
    deadline = Deadline.start(service.settings.analysis_budget_s, what="plan")
    values, flt, problems = _check_body(body)
    snap = service.snapshot
    query = _filter_query(service, snap, values, flt, problems)
    if problems or query is None:
        raise InvalidParameter.many(problems)
    add = values["add"]
    request = PlanRequest(
        mode=query.mode, minutes=query.minutes[0], k=values["k"],
        target_share=values["target_share"], add=tuple(add) if add is not None else None,
        candidates=values["candidates"], solver=values["solver"],
        site_spacing_m=values["site_spacing_m"], filter=query.filter)
    answer = plan_new_sites(service, snap, request, deadline=deadline)
    doc = answer.result.to_dict()
    if answer.straight_line is not None:
        doc["straight_line"] = answer.straight_line.to_dict()
    return doc
