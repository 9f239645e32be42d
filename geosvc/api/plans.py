"""`POST /api/v1/plans`: choose new sites that raise coverage most.

Body (JSON object)::

    {"mode": "walk", "minutes": 10, "k": 5,
     "candidates": "bank_outlets" | "kiosk_sites" | <FeatureCollection of points>,
     "filters": {"kind": "hall,kiosk", "item": ["SB-01"], ...},
     "target_share": 0.9,      # optional: fewest sites reaching this share instead of k
     "add": ["id", ...],       # optional: what-if, these candidates in this order
     "solver": "auto" | "exact" | "greedy"}

``filters`` take the query-string filters of ``/api/v1/coverage`` (values
may be strings, lists or booleans); venues matching them are the fixed
sites.  Supplied candidate points are WGS-84.  Every bad member is named in
one 400 (``filters.kind`` for a bad filter).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from geosvc.api._common import parse
from geosvc.errors import InvalidParameter

if TYPE_CHECKING:
    from geosvc.service import GeoService

__all__ = ["create_plan"]

_SOLVERS = ("auto", "exact", "greedy")
_MAX_K = 1000


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _filter_strings(filters: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for name, value in filters.items():
        if isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            out[name] = ",".join(str(v) for v in value)
        elif value is not None:
            out[name] = str(value)
    return out


def create_plan(service: GeoService, body: Mapping[str, Any]) -> dict[str, Any]:
    """``{before_share, after_share, selected: [...], ...}`` for a JSON request body.

    Raises
    ------
    InvalidParameter
        The body is malformed (every bad member named).
    ModeUnavailable
        No network for ``mode``.
    """
    problems: list[tuple[str, str]] = []
    mode = body.get("mode", "walk")
    if mode not in ("walk", "bike", "drive"):
        problems.append(("mode", "must be one of walk | bike | drive"))
    minutes = _number(body.get("minutes", 10))
    if minutes is None or not 0 < minutes <= 120:
        problems.append(("minutes", "must be a number of minutes > 0 and <= 120"))
    k = body.get("k")
    target = body.get("target_share")
    add = body.get("add")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= _MAX_K):
        problems.append(("k", f"must be an integer between 1 and {_MAX_K}"))
    if target is not None and (_number(target) is None or not 0 <= target <= 1):
        problems.append(("target_share", "must be a number between 0 and 1"))
    if add is not None and (not isinstance(add, list) or not all(isinstance(a, str) for a in add)):
        problems.append(("add", "must be a list of candidate ids"))
    if k is None and target is None and add is None:
        k = 10
    solver = body.get("solver", "auto")
    if solver not in _SOLVERS:
        problems.append(("solver", f"must be one of {' | '.join(_SOLVERS)}"))
    cands = body.get("candidates", "bank_outlets")
    if not (cands in ("bank_outlets", "kiosk_sites") or isinstance(cands, (Mapping, list))):
        problems.append(("candidates", 'must be "bank_outlets", "kiosk_sites" or a '
                                       "FeatureCollection of points"))
    filters = body.get("filters") or {}
    snap = service.snapshot
    query = None
    if not isinstance(filters, Mapping):
        problems.append(("filters", "must be an object of filter parameters"))
    else:
        try:
            query = parse(service, snap, "coverage", _filter_strings(filters))
        except InvalidParameter as exc:
            problems += [(f"filters.{p['name']}", p["reason"]) for p in exc.invalid_params]
    if problems:
        raise InvalidParameter.many(problems)

    engine = service.travel(mode, snap)
    demand = service.demand(mode, snap)
    from geosvc.analysis.planning.candidates import (
        bank_outlet_candidates,
        kiosk_site_candidates,
        supplied_candidates,
    )
    from geosvc.analysis.planning.plan import plan_sites

    if cands == "bank_outlets":
        candidates = bank_outlet_candidates(snap.index, engine)
    elif cands == "kiosk_sites":
        candidates = kiosk_site_candidates(engine.net, demand)
    else:
        candidates = supplied_candidates(engine.net, cands,
                                         snap_max_m=service.settings.snap_max_m)
    result = plan_sites(engine, demand, snap.index, query.filter, candidates,
                        minutes=minutes, k=k, target_share=target, add=add, solver=solver)
    return result.to_dict()
