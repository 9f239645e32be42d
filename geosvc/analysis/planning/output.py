"""Plain-data views of a plan: the table of selected sites and what its map shows.

:func:`plan_rows` is the table (:data:`CSV_FIELDS`) of a plan document;
:func:`plan_map_data` is what the plan map draws besides the document:
demand points by state (covered before, newly covered, still uncovered) and
the existing (fixed) sites.  Nothing here writes a file format or draws:
:mod:`geosvc.formats` writes these views and :mod:`geosvc.render.plan_map`
draws the map.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from geosvc.analysis.demand import DemandSet
    from geosvc.analysis.planning.plan import PlanResult

__all__ = ["CSV_FIELDS", "MAX_DEMAND_DOTS", "plan_map_data", "plan_rows"]

#: Columns of the table of selected sites.
CSV_FIELDS = ("rank", "id", "name", "lon", "lat", "gain_population",
              "cumulative_population", "cumulative_share")
#: Most demand points a plan map draws (the most populated first).
MAX_DEMAND_DOTS = 4000


def plan_rows(doc: Mapping[str, Any]) -> list[list[Any]]:
    """Return one row of :data:`CSV_FIELDS` per selected site of a plan document.

    Examples
    --------
    >>> plan_rows({"selected": [{"rank": 1, "id": "B1", "name": "bank", "lon": 24.9,
    ...            "lat": 60.1, "gain_population": 50.0}]})
    [[1, 'B1', 'bank', 24.9, 60.1, 50.0, None, None]]
    """
    return [[row.get(f) for f in CSV_FIELDS] for row in doc.get("selected") or []]


def plan_map_data(result: PlanResult, demand: DemandSet, *,
                  max_dots: int = MAX_DEMAND_DOTS) -> dict[str, Any]:
    """Return the plan map's context: demand points by state and the fixed sites (WGS-84).

    Returns
    -------
    dict
        ``demand_points``: ``[lon, lat, residents, state]`` of the (at most
        ``max_dots``) most populated demand points, state ``before``
        (covered before the plan), ``new`` (covered by it) or ``none``;
        ``fixed_sites``: ``[lon, lat]`` of the existing sites.
    """
    before = result.demand_covered_before
    after = result.demand_covered_after
    count = np.asarray(demand.count)
    order = np.argsort(-count, kind="stable")[:max_dots]
    points = []
    for i in order.tolist():
        if count[i] <= 0:
            continue
        state = "before" if before is not None and before[i] else (
            "new" if after is not None and after[i] else "none")
        points.append([float(demand.lon[i]), float(demand.lat[i]), float(count[i]), state])
    return {"demand_points": points,
            "fixed_sites": [[float(x), float(y)] for x, y in result.fixed_lonlat]}
