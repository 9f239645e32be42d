"""Site plans of ONE dataset too large for one process: coverage sets part by part.

The heavy part of :func:`geosvc.analysis.planning.plan.plan_sites` is
knowing which demand points each candidate site reaches within the limit
(and which points the existing venues cover already).  :func:`plan_province`
computes both in the parts of :func:`geosvc.distributed.run_province` (by
area or grid square, the same travel-time buffer, the same shared files):
each part runs the venues' pass over its sub-network, then
:func:`~geosvc.network.reach.coverage_sets` for its points not covered yet
(with residents, on the network) against the candidates whose street is in
its sub-network, and sends back the sparse (point, candidate) pairs.  The
driver merges the pairs into the plan's boolean matrix and runs the same
solver as the single process (:func:`~geosvc.analysis.planning.plan.plan_from_sets`).

**Exactness.**  A pair (p, c) of the single process is a trip from p to c
within ``L = minutes x 60``: every node of it, the ends of its first and
last edges and c's street lie within ``R`` of p
(:mod:`~geosvc.distributed.partition`), so p's part holds the whole trip and
the candidate, and its sub-network's times are the full network's (the same
float sums; never shorter, as its paths are the network's).  Each point is
in exactly one part, so the merged pairs are the single process's, no more
and no fewer, and the covered-before mask is the coverage's (equal to
:func:`~geosvc.analysis.coverage.compute_coverage`).  The matrix is built
as :func:`~geosvc.network.reach.coverage_sets` builds it (canonical CSR), so
the reduction, the solver's choices and their order, every gain and share
are the single process's.  ``tests/test_province_plan.py`` checks it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from geosvc.analysis.coverage import DEFAULT_GAP_RADIUS_M
from geosvc.analysis.planning.plan import PlanResult, check_problem, plan_from_sets
from geosvc.errors import InvalidParameter
from geosvc.network.snap import Snapped

from geosvc.distributed.province import ProvinceResult, run_province  # isort: skip

if TYPE_CHECKING:
    from geosvc.analysis.demand import DemandSet
    from geosvc.analysis.planning.candidates import Candidates
    from geosvc.distributed.snapping import SnapBasis
    from geosvc.network.graph import RoadNetwork

__all__ = ["ProvincePlan", "plan_province", "sets_matrix"]


@dataclass(frozen=True, eq=False)
class ProvincePlan:
    """A plan computed part by part, and the coverage run behind it.

    Attributes
    ----------
    plan : PlanResult
        Equal to :func:`~geosvc.analysis.planning.plan.plan_sites`' (but
        ``build_time_s`` and ``solve_time_s``, which are timings).
    coverage : ProvinceResult
        The merged coverage by the fixed venues (parts, workers' memory).
    timings_s : dict
        ``parts`` (the distributed phase), ``sets`` (the driver's merge of the
        pairs into the matrix), ``solve`` (reduction + solver).
    """

    plan: PlanResult
    coverage: ProvinceResult
    timings_s: dict[str, float] = field(default_factory=dict)

    @property
    def pairs(self) -> int:
        """Coverage-set pairs merged (demand point, candidate)."""
        return int(self.coverage.plan_pairs[0].size) if self.coverage.plan_pairs else 0

    def to_dict(self) -> dict[str, Any]:
        """Return the plan document plus ``province``: parts, workers, pairs and timings."""
        cov = self.coverage.to_dict()
        return {**self.plan.to_dict(), "province": {
            "parts": cov["parts"], "workers": cov["workers"], "pairs": self.pairs,
            "timings_s": {**cov["timings_s"], **self.timings_s}}}


def sets_matrix(rows: NDArray[np.int64], cols: NDArray[np.int64],
                shape: tuple[int, int]) -> sp.csr_matrix:
    """Return the boolean coverage-set matrix of the pairs, as coverage_sets builds it.

    Examples
    --------
    >>> m = sets_matrix(np.array([2, 0, 2]), np.array([1, 0, 1]), (3, 2))
    >>> m.toarray().astype(int).tolist(), m.dtype.name
    ([[1, 0], [0, 0], [0, 1]], 'bool')
    """
    mat = sp.csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=shape)
    mat.sum_duplicates()
    mat.data[:] = 1
    return mat.astype(bool)


def plan_province(
    net: RoadNetwork,
    demand: DemandSet,
    venues: Snapped,
    candidates: Candidates,
    *,
    minutes: float,
    walk_speed_mps: float,
    venue_ids: NDArray[np.int64] | None = None,
    k: int | None = None,
    target_share: float | None = None,
    add: list[str] | None = None,
    solver: str = "auto",
    fixed_sites: int | None = None,
    fixed_lonlat: Sequence[tuple[float, float]] | None = None,
    partition: str = "area",
    scheduler: Any = "local",
    workers: int | None = None,
    venue_labels: Sequence[tuple[str, str]] | None = None,
    progress: bool | Callable[[int, int], None] = False,
    connect_timeout_s: float = 10.0,
    shared: bool | str | None = None,
    snap_in_parts: bool = False,
    max_snap_m: float = 1000.0,
    min_component_nodes: int | None = None,
    gaps: bool = False,
    gap_radius_m: float = DEFAULT_GAP_RADIUS_M,
    basis: SnapBasis | None = None,
) -> ProvincePlan:
    """Plan sites among ``candidates`` with the coverage sets computed in parts.

    The problem is :func:`~geosvc.analysis.planning.plan.plan_sites`' (what-if
    with ``add``, else minimum sites with ``target_share``, else maximal
    covering with ``k``), the fixed sites are ``venues`` (the ones matching
    the coverage filters, placed on ``net``), and the answer is the same.

    Parameters
    ----------
    net, demand, venues, venue_ids, minutes, walk_speed_mps
        As :func:`~geosvc.distributed.run_province` (``venues``: the fixed sites).
    candidates : Candidates
        Snapped on ``net`` (a :class:`~geosvc.network.snap.Snapped`), as
        :func:`~geosvc.analysis.planning.candidates.build_candidates` places them.
    k, target_share, add, solver
        As :func:`~geosvc.analysis.planning.plan.plan_sites`.
    fixed_sites : int, optional
        How many venues match the filters (default ``len(venues)``; the
        single process counts those off the network too).
    fixed_lonlat : sequence of (lon, lat), optional
        Their positions, for the plan's map.
    partition, scheduler, workers, venue_labels, progress, connect_timeout_s, shared,
    snap_in_parts, max_snap_m, min_component_nodes, gaps, gap_radius_m, basis
        As :func:`~geosvc.distributed.run_province` (``progress``: parts done).

    Raises
    ------
    InvalidParameter
        As ``plan_sites`` (``k``, ``target_share``, ``add``, ``solver``,
        ``candidates``) and ``run_province``.
    """
    problem, k_sites, share = check_problem(candidates, solver=solver, k=k,
                                            target_share=target_share, add=add)
    placed = candidates.snapped
    if not isinstance(placed, Snapped):
        raise InvalidParameter("candidates", "must be snapped to the road network (Snapped)")
    t0 = time.perf_counter()
    count = np.asarray(demand.count, dtype=np.float64)
    cov = run_province(net, demand, venues, venue_ids=venue_ids, minutes=minutes,
                       walk_speed_mps=walk_speed_mps, partition=partition,
                       scheduler=scheduler, workers=workers, venue_labels=venue_labels,
                       progress=progress, connect_timeout_s=connect_timeout_s, shared=shared,
                       snap_in_parts=snap_in_parts, max_snap_m=max_snap_m,
                       min_component_nodes=min_component_nodes, gaps=gaps,
                       gap_radius_m=gap_radius_m, candidates=placed, plan_rows=count > 0,
                       basis=basis)
    t1 = time.perf_counter()
    rows, cols = cov.plan_pairs or (np.zeros(0, np.int64), np.zeros(0, np.int64))
    mat = sets_matrix(rows, cols, (len(count), len(candidates)))
    t2 = time.perf_counter()
    result = plan_from_sets(
        problem, candidates, count, np.asarray(cov.covered, dtype=bool), mat,
        mode=net.mode, minutes=float(minutes), k_sites=k_sites, share=share, add=add,
        solver=solver, build_s=t2 - t0,
        fixed_sites=len(venues) if fixed_sites is None else int(fixed_sites),
        fixed_lonlat=list(fixed_lonlat or []))
    timings = {"province": round(t1 - t0, 4), "sets": round(t2 - t1, 4),
               "solve": round(time.perf_counter() - t2, 4)}
    return ProvincePlan(result, cov, timings)
