"""Covered share against minutes, for the planner's chart (one pass per venue set).

A multi-source pass gives every demand point its time to the nearest venue
of a set (:meth:`geosvc.routing.base.SourcePass.times_at`), so ONE pass answers
every minutes threshold: the share at ``m`` minutes is the residents whose
time is ``<= m * 60`` over all residents - exactly the rule of
:func:`~geosvc.analysis.coverage.compute_coverage` (so the curve's point at
the report's own minutes equals its headline share).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from geosvc.routing import as_router

if TYPE_CHECKING:
    from geosvc.analysis.demand import DemandSet
    from geosvc.network.nearest import TravelEngine
    from geosvc.routing.base import Router

__all__ = ["CURVE_MINUTES", "share_curves", "shares_by_minutes"]

#: Default thresholds of the chart, minutes.
CURVE_MINUTES: tuple[float, ...] = (5.0, 10.0, 15.0, 20.0, 25.0, 30.0)


def shares_by_minutes(time_s: ArrayLike, count: ArrayLike,
                      minutes: Sequence[float] = CURVE_MINUTES) -> list[tuple[float, float]]:
    """Return ``[(minutes, covered share)]``: residents within each threshold over all.

    Parameters
    ----------
    time_s : float array [M]
        Each demand point's time to its nearest venue, seconds (inf = never).
    count : float array [M]
        Residents per point.
    minutes : sequence of float
        Thresholds, minutes.

    Examples
    --------
    >>> shares_by_minutes([60, 400, float("inf")], [1, 1, 2], [5, 10])
    [(5.0, 0.25), (10.0, 0.5)]
    """
    t = np.asarray(time_s, dtype=np.float64)
    c = np.asarray(count, dtype=np.float64)
    total = float(c.sum())
    if total <= 0:
        return [(float(m), 0.0) for m in minutes]
    order = np.argsort(t, kind="stable")
    cum = np.concatenate([[0.0], np.cumsum(c[order])])
    ts = t[order]
    out = []
    for m in minutes:
        k = int(np.searchsorted(ts, float(m) * 60.0, side="right"))
        out.append((float(m), round(float(cum[k]) / total, 6)))
    return out


def share_curves(
    engine: Router | TravelEngine,
    demand: DemandSet,
    sets: Mapping[str, tuple[NDArray[np.int64] | NDArray[np.bool_] | None, Hashable | None]],
    minutes: Sequence[float] = CURVE_MINUTES,
    *,
    progress: Callable[[str], None] | None = None,
) -> dict[str, list[tuple[float, float]]]:
    """Return the covered-share curve of each venue set (one multi-source pass per set).

    Parameters
    ----------
    engine : Router or TravelEngine
        Its pass cache is used (a set already computed is not recomputed).
    demand : DemandSet
        Placed by the same router (built for ``engine.net``).
    sets : mapping of label to (candidates, key)
        Venue positions / mask (None = all venues) and the pass cache key.
        An empty set gives a curve of zeros.
    minutes : sequence of float
        Thresholds, minutes (default 5, 10, ..., 30).
    progress : callable(str), optional
        Called with each label before its pass.

    Returns
    -------
    dict
        ``{label: [(minutes, share), ...]}`` in the order of ``sets``.
    """
    router = as_router(engine)
    out: dict[str, list[tuple[float, float]]] = {}
    # shares at the largest threshold need no times beyond it (times past it read inf)
    cutoff_s = max((float(m) for m in minutes), default=0.0) * 60.0
    for label, (cands, key) in sets.items():
        if progress is not None:
            progress(label)
        time_s, _ = router.pass_for(cands, key, cutoff_s=cutoff_s).times_at(demand.snapped)
        out[label] = shares_by_minutes(time_s, demand.count, minutes)
    return out
