"""Site planning: which candidate sites close the coverage gaps.

See :mod:`geosvc.analysis.planning.solvers` (greedy / exact covering) and
:mod:`geosvc.analysis.planning.plan` (candidates, coverage sets, plans).
"""

from __future__ import annotations

from geosvc.analysis.planning.candidates import (
    Candidates,
    Offer,
    bank_outlet_candidates,
    build_candidates,
    kiosk_site_candidates,
    offering,
    read_candidate_file,
    supplied_candidates,
)
from geosvc.analysis.planning.plan import PlanResult, plan_sites
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
    "Candidates",
    "Offer",
    "PlanResult",
    "bank_outlet_candidates",
    "build_candidates",
    "kiosk_site_candidates",
    "offering",
    "plan_sites",
    "read_candidate_file",
    "supplied_candidates",
    "Reduced",
    "Solution",
    "exact_max_cover",
    "exact_min_sites",
    "greedy_max_cover",
    "greedy_min_sites",
    "order_by_gain",
    "reduce_instance",
]
