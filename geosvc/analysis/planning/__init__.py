"""Site planning: which candidate sites close the coverage gaps.

See :mod:`geosvc.analysis.planning.solvers` (greedy / exact covering) and
:mod:`geosvc.analysis.planning.plan` (candidates, coverage sets, plans).
"""

from __future__ import annotations

from geosvc.analysis.planning.solvers import (
    Reduced,
    Solution,
    exact_max_cover,
    exact_min_sites,
    greedy_max_cover,
    greedy_min_sites,
    order_by_gain,
    reduce_instance,
)

__all__ = [
    "Reduced",
    "Solution",
    "exact_max_cover",
    "exact_min_sites",
    "greedy_max_cover",
    "greedy_min_sites",
    "order_by_gain",
    "reduce_instance",
]
