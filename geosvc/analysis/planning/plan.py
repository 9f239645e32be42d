"""Plan new sites: maximal covering, minimum sites to a target share, and what-if.

:func:`plan_sites` measures coverage exactly as
:func:`geosvc.analysis.coverage.compute_coverage` does (the same demand set,
the same multi-source pass over the venues matching the filters, the same
trip model TO the venue), removes the demand the fixed sites (existing
venues matching the filters) already cover, builds the sparse coverage sets
of the candidates over the rest (:meth:`Router.reach_sets`; on roads
:func:`~geosvc.network.reach.coverage_sets`, on straight lines the sites
within the circle) and solves.  Any router works: road networks or straight
lines (:mod:`geosvc.routing`).

Solver choice (``solver="auto"``), on the reduced instance (demand rows no
candidate reaches dropped, rows with the same candidate set merged):

* exact MIP when it has at most :data:`EXACT_MAX_CANDIDATES` useful
  candidates and :data:`EXACT_MAX_NONZEROS` coverage pairs (measured by
  ``scripts/bench_plan.py``: 4-45k pairs solve in 0.1-3.5 s with CBC, while
  118k pairs (2,000 candidates on a 40k-node synthetic city) took 24-53 s);
  greedy is then run too and its gap to the optimum reported;
* greedy (CELF) otherwise.

Candidates keep the filter's meaning (:func:`~geosvc.analysis.planning.candidates.offering`):
only sites that would offer the filtered kind / channel / level are
candidates, so ``after_share`` is what ``/api/v1/coverage`` with the same
filters would answer once the chosen sites exist; each selected site states
what it offers (``offers: {kind, channels}``).

An exact solve that hits :data:`EXACT_TIME_LIMIT_S` keeps the better of its
incumbent and the greedy answer and says ``optimal: false``.

Under a time budget (``deadline``, :mod:`geosvc.budget`) a plan whose
candidates x demand cells exceed what the time left admits at
:data:`PLAN_PAIRS_PER_S` is refused before any reach set is built; the
phases (fixed sites, reach sets, solve) are not started once it has passed;
the exact solver gets at most 80 % of the time left (then keeps its
incumbent or the greedy answer, ``optimal: false``), and without a second
left for it the greedy answer is given (``solver`` says so).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from geosvc.analysis.planning.candidates import Candidates
from geosvc.analysis.planning.solvers import (
    Solution,
    exact_max_cover,
    exact_min_sites,
    greedy_max_cover,
    greedy_min_sites,
    reduce_instance,
)
from geosvc.budget import UNLIMITED
from geosvc.errors import InvalidParameter
from geosvc.routing import as_router

if TYPE_CHECKING:
    import scipy.sparse as sp

    from geosvc.analysis.demand import DemandSet
    from geosvc.analysis.planning.solvers import Reduced
    from geosvc.budget import Deadline
    from geosvc.model import VenueFilter
    from geosvc.routing.base import Router

__all__ = [
    "DEFAULT_K",
    "EXACT_MAX_CANDIDATES",
    "EXACT_MAX_NONZEROS",
    "EXACT_TIME_LIMIT_S",
    "MAX_K",
    "PLAN_PAIRS_PER_S",
    "PlanResult",
    "admit_plan",
    "check_problem",
    "plan_from_sets",
    "plan_sites",
]

#: ``solver=auto`` solves exactly up to this many useful candidates ...
EXACT_MAX_CANDIDATES = 2500
#: ... and this many (reduced) demand-candidate coverage pairs.
EXACT_MAX_NONZEROS = 60_000
#: Time limit of an exact solve, seconds.
EXACT_TIME_LIMIT_S = 30.0
#: Largest ``k`` accepted.
MAX_K = 1000
#: Sites chosen by maximal covering when ``k`` is not given (every candidate when fewer).
DEFAULT_K = 10
SOLVERS = ("auto", "exact", "greedy")
#: Candidate x demand-cell pairs whose reach sets a plan builds per second (about
#: 2.5e7 measured: 2,000 candidates on the demo city's building demand in
#: 0.36-0.48 s, docs/benchmarks.md); the up-front estimate of a budgeted plan.
PLAN_PAIRS_PER_S = 2.5e7
#: The exact solver is skipped (greedy answer) with less time left than this, s.
MIN_EXACT_TIME_S = 1.0


@dataclass
class PlanResult:
    """Everything a plan reports; :meth:`to_dict` is the API document."""

    problem: str
    mode: str
    minutes: float
    candidates: Candidates
    total_population: float
    before_population: float
    after_population: float
    selected: list[int]
    gains: list[float]
    solver: str
    optimal: bool
    solve_time_s: float
    build_time_s: float
    fixed_sites: int
    k: int | None = None
    target_share: float | None = None
    status: str = "ok"
    comparison: dict[str, Any] = field(default_factory=dict)
    demand_covered_before: NDArray[np.bool_] | None = None
    demand_covered_after: NDArray[np.bool_] | None = None
    fixed_lonlat: list[tuple[float, float]] = field(default_factory=list)

    def share(self, population: float) -> float:
        """Return ``population`` as a share of the total (0 when there is none)."""
        return population / self.total_population if self.total_population > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Return the plan as a JSON-ready dict.

        ``{before_share, after_share, selected: [...], solver, solve_time_s, problem, ...}``.
        """
        c = self.candidates
        cum = self.before_population
        rows = []
        for rank, (j, g) in enumerate(zip(self.selected, self.gains, strict=True), start=1):
            cum += g
            rows.append({
                "rank": rank, "id": c.ids[j], "name": c.names[j],
                "lon": round(float(c.lon[j]), 7), "lat": round(float(c.lat[j]), 7),
                "gain_population": round(g, 2),
                "cumulative_population": round(cum, 2),
                "cumulative_share": round(self.share(cum), 6),
                "offers": c.offer(j).to_dict(),
            })
        doc: dict[str, Any] = {
            "problem": self.problem,
            "mode": self.mode,
            "minutes": self.minutes,
            "candidates": c.source,
            "candidates_count": len(c),
            "candidates_off_network": list(c.off_network),
            "candidates_not_offering": list(c.not_offering),
            "fixed_sites": self.fixed_sites,
            "total_population": round(self.total_population, 2),
            "before_population": round(self.before_population, 2),
            "before_share": round(self.share(self.before_population), 6),
            "after_population": round(self.after_population, 2),
            "after_share": round(self.share(self.after_population), 6),
            "gain_population": round(self.after_population - self.before_population, 2),
            "selected": rows,
            "solver": self.solver,
            "optimal": self.optimal,
            "solve_time_s": round(self.solve_time_s, 4),
            "build_time_s": round(self.build_time_s, 4),
            "status": self.status,
        }
        if self.k is not None:
            doc["k"] = self.k
        if self.target_share is not None:
            doc["target_share"] = self.target_share
            doc["target_reached"] = self.status == "ok"
        if self.comparison:
            doc["comparison"] = self.comparison
        return doc


def _fixed_positions(index: Any, flt: VenueFilter) -> NDArray[np.int64]:
    """Positions of the venues coverage counts for ``flt`` (``open_at`` applied)."""
    return np.flatnonzero(index.mask(flt)).astype(np.int64)


def covered_by_fixed(engine: Router | Any, demand: DemandSet, positions: NDArray[np.int64],
                     cutoff_s: float, *, key: Any = None) -> NDArray[np.bool_]:
    """Per demand point: reaches one of the venues at ``positions`` within ``cutoff_s``.

    The same pass (:meth:`Router.pass_for`, cached under ``key`` as
    ``/api/v1/coverage`` does) and the same test as
    :func:`~geosvc.analysis.coverage.compute_coverage`: time <= limit and a
    venue reached.  ``engine`` is a router (or a TravelEngine).
    """
    if len(positions) == 0 or len(demand) == 0:
        return np.zeros(len(demand), dtype=bool)
    router = as_router(engine)
    t, src = router.pass_for(positions, key, cutoff_s=cutoff_s).times_at(demand.snapped)
    return (t <= cutoff_s) & (src >= 0)


def admit_plan(deadline: Deadline, candidates: int, cells: int) -> None:
    """Refuse a plan of ``candidates`` x ``cells`` pairs the time left cannot build.

    The estimate ``candidate_demand_pairs`` at :data:`PLAN_PAIRS_PER_S`
    (:meth:`Deadline.admit <geosvc.budget.Deadline.admit>`).
    """
    deadline.admit("candidate_demand_pairs", float(candidates) * cells,
                   per_s=PLAN_PAIRS_PER_S, unit="candidate x demand-cell pairs")


def _choose(kind: str, red: Any, *, k: int | None, need: float | None) -> str:
    if kind != "auto":
        return kind
    useful = int((np.diff(red.matrix.indptr) > 0).sum())
    small = useful <= EXACT_MAX_CANDIDATES and red.matrix.nnz <= EXACT_MAX_NONZEROS
    return "exact" if small else "greedy"


def _solve(kind: str, red: Any, *, k: int | None, need: float | None,
           deadline: Deadline = UNLIMITED) -> tuple[Solution, dict]:
    choice = _choose(kind, red, k=k, need=need)
    greedy = (greedy_max_cover(red, k, deadline=deadline) if k is not None
              else greedy_min_sites(red, need or 0.0, deadline=deadline))
    if choice == "greedy":
        return greedy, {}
    limit_s = deadline.time_limit_s(EXACT_TIME_LIMIT_S)
    if limit_s < MIN_EXACT_TIME_S:
        greedy.solver = "greedy (no time left for the exact solver within the budget)"
        return greedy, {}
    if k is not None:
        exact = exact_max_cover(red, k, time_limit_s=limit_s)
    else:
        exact = exact_min_sites(red, need or 0.0, time_limit_s=limit_s)
    comparison: dict[str, Any] = {"greedy_solve_time_s": round(greedy.solve_time_s, 4)}
    if k is not None:
        comparison["greedy_gain_population"] = round(greedy.covered, 2)
        comparison["exact_gain_population"] = round(exact.covered, 2)
        comparison["greedy_gap"] = (round(1 - greedy.covered / exact.covered, 6)
                                    if exact.covered > 0 else 0.0)
        better = greedy.covered > exact.covered
    else:
        comparison["greedy_sites"] = len(greedy.selected)
        comparison["exact_sites"] = len(exact.selected)
        better = (not exact.optimal and greedy.status == "ok"
                  and len(greedy.selected) < len(exact.selected))
    if not exact.optimal and better:
        greedy.solver = f"greedy (exact {exact.solver} hit its time limit)"
        return greedy, comparison
    return exact, comparison


def plan_sites(
    engine: Router | Any,
    demand: DemandSet,
    index: Any,
    flt: VenueFilter,
    candidates: Candidates,
    *,
    minutes: float,
    k: int | None = None,
    target_share: float | None = None,
    add: list[str] | None = None,
    solver: str = "auto",
    deadline: Deadline = UNLIMITED,
) -> PlanResult:
    """Choose sites among ``candidates`` that raise coverage within ``minutes``.

    Exactly one problem is solved: ``add`` given = what-if (those ids added,
    in that order, no optimisation); else ``target_share`` given = minimum
    sites; else maximal covering with ``k`` sites.

    Parameters
    ----------
    engine : Router or TravelEngine
        Of the mode planned for (road network or straight lines); an engine
        is wrapped as a road router.
    demand : DemandSet
        The coverage demand placed for that router.
    index : ServiceIndex
        Venues; those matching ``flt`` are fixed sites.
    flt : VenueFilter
        The coverage filters (the same as ``/api/v1/coverage``).
    candidates : Candidates
        Placed by the same router (:func:`build_candidates`).
    minutes : float
        Service-circle size, minutes.
    k : int, optional
        Sites to open (maximal covering), 1 .. min(number of candidates, 1000);
        None: :data:`DEFAULT_K` (10), or every candidate when there are fewer.
    target_share : float, optional
        Covered share to reach, 0 .. 1 (minimum sites).
    add : list of str, optional
        Candidate ids of a what-if.
    solver : {"auto", "exact", "greedy"}
    deadline : Deadline, optional
        The time budget (see the module; default none).

    Returns
    -------
    PlanResult

    Raises
    ------
    InvalidParameter
        Named ``k``, ``target_share``, ``add``, ``solver`` or ``candidates``.
    BudgetExceeded
        Candidates x demand cells beyond what ``deadline`` admits, or a phase
        reached after it.
    """
    problem, k_sites, share = check_problem(
        candidates, solver=solver, k=k, target_share=target_share, add=add
    )
    t0 = time.perf_counter()
    router = as_router(engine)
    cutoff_s = float(minutes) * 60.0
    fixed = _fixed_positions(index, flt)
    key = flt.cache_key() if flt.open_at is None else None  # as /api/v1/coverage
    admit_plan(deadline, len(candidates), len(demand))
    before = covered_by_fixed(router, demand, fixed, cutoff_s, key=key)
    deadline.check("fixed sites")
    count = np.asarray(demand.count, dtype=np.float64)
    open_rows = np.flatnonzero(~before & (count > 0) & demand.snapped.ok)
    mat = router.reach_sets(demand.snapped, candidates.snapped, cutoff_s, rows=open_rows)
    build_s = time.perf_counter() - t0
    deadline.check("reach sets")
    return plan_from_sets(
        problem, candidates, count, before, mat, mode=router.mode, minutes=float(minutes),
        k_sites=k_sites, share=share, add=add, solver=solver, deadline=deadline,
        fixed_sites=len(fixed), build_s=build_s,
        fixed_lonlat=[(float(index.lon[i]), float(index.lat[i])) for i in fixed])


def plan_from_sets(
    problem: str,
    candidates: Candidates,
    count: NDArray[np.float64],
    before: NDArray[np.bool_],
    mat: sp.csr_matrix,
    *,
    mode: str,
    minutes: float,
    k_sites: int,
    share: float,
    add: list[str] | None,
    solver: str,
    fixed_sites: int,
    build_s: float,
    fixed_lonlat: list[tuple[float, float]] | None = None,
    deadline: Deadline = UNLIMITED,
) -> PlanResult:
    """Solve a plan from its coverage sets: the second half of :func:`plan_sites`.

    For callers that build the sets their own way with the same answer
    (:func:`geosvc.distributed.plans.plan_province`: part by part).

    Parameters
    ----------
    problem, k_sites, share
        As :func:`check_problem` returns them.
    candidates : Candidates
    count : float64[M]
        Residents per demand point.
    before : bool[M]
        Covered by the fixed sites.
    mat : scipy.sparse.csr_matrix of bool, (M, C)
        The coverage sets (:meth:`Router.reach_sets`) of the demand points
        not covered yet, with residents, placed on the network; the other
        rows empty.
    """
    count = np.asarray(count, dtype=np.float64)
    total = float(count.sum())
    before_pop = float(count[before].sum())
    weight = np.where(before, 0.0, count)
    red = reduce_instance(mat, weight)

    comparison: dict[str, Any] = {}
    if add is not None:
        sol = _what_if(red, candidates, add)
    elif problem == "min_sites":
        need = share * total - before_pop
        if need <= 0:
            sol = Solution([], [], 0.0, "none (target already reached)", True, 0.0, "ok")
        else:
            sol, comparison = _solve(solver, red, k=None, need=need, deadline=deadline)
    else:
        sol, comparison = _solve(solver, red, k=k_sites, need=None, deadline=deadline)
    status = sol.status if problem == "min_sites" else "ok"
    after_pop = before_pop + sol.covered
    after = before.copy()
    if sol.selected:
        hit = np.asarray(mat[:, sol.selected].sum(axis=1)).ravel() > 0
        after |= hit
    return PlanResult(
        problem=problem, mode=mode, minutes=float(minutes), candidates=candidates,
        total_population=total, before_population=before_pop, after_population=after_pop,
        selected=list(sol.selected), gains=list(sol.gains), solver=sol.solver,
        optimal=sol.optimal, solve_time_s=sol.solve_time_s, build_time_s=build_s,
        fixed_sites=fixed_sites, k=k_sites if problem == "max_cover" else None,
        target_share=share if problem == "min_sites" else None,
        status=status, comparison=comparison, demand_covered_before=before,
        demand_covered_after=after, fixed_lonlat=list(fixed_lonlat or []),
    )


def check_problem(
    candidates: Candidates,
    *,
    solver: str,
    k: int | None,
    target_share: float | None,
    add: list[str] | None,
) -> tuple[str, int, float]:
    """Validate the arguments of :func:`plan_sites`; return the problem, ``k`` and share.

    The problem is ``what_if`` (``add`` given), else ``min_sites``
    (``target_share`` given), else ``max_cover``; ``k`` is 0 and the share 0.0
    for the problems that do not use them.

    Raises
    ------
    InvalidParameter
        Named ``solver``, ``add``, ``target_share``, ``k`` or ``candidates``.
    """
    if solver not in SOLVERS:
        msg = f"must be one of {' | '.join(SOLVERS)}, not {solver!r}"
        raise InvalidParameter("solver", msg)
    n_cand = len(candidates)
    k_sites, share = 0, 0.0
    if add is not None:
        problem = "what_if"
        _check_add(candidates, add)
    elif target_share is not None:
        problem = "min_sites"
        if not (isinstance(target_share, (int, float)) and not isinstance(target_share, bool)
                and 0 <= target_share <= 1):
            msg = f"must be a number between 0 and 1, not {target_share!r}"
            raise InvalidParameter("target_share", msg)
        share = float(target_share)
    else:
        problem = "max_cover"
        if k is None:  # not asked for: DEFAULT_K, or every candidate when fewer
            k = max(1, min(DEFAULT_K, n_cand))
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            msg = f"must be an integer >= 1, not {k!r}"
            raise InvalidParameter("k", msg)
        if k > MAX_K or k > n_cand:
            msg = (f"must be at most the number of candidates ({n_cand}) and at most "
                   f"{MAX_K}, not {k}")
            raise InvalidParameter("k", msg)
        k_sites = int(k)
    if n_cand == 0:
        msg = f"the set {candidates.source!r} holds no candidate site"
        raise InvalidParameter("candidates", msg)
    if n_cand == len(candidates.off_network):
        msg = (f"every candidate is off the road network: "
               f"{', '.join(candidates.off_network[:20])}")
        raise InvalidParameter("candidates", msg)
    return problem, k_sites, share


def _check_add(candidates: Candidates, add: list[str]) -> None:
    """Raise unless ``add`` names distinct candidates on the road network.

    Raises
    ------
    InvalidParameter
        Named ``add``.
    """
    pos = candidates.position()
    refused = set(candidates.not_offering).intersection(add)
    if refused:
        msg = (f"candidates that would not offer what the filters ask: "
               f"{', '.join(a for a in add if a in refused)}")
        raise InvalidParameter("add", msg)
    unknown = [a for a in add if a not in pos]
    if unknown:
        msg = f"unknown candidate ids: {', '.join(map(str, unknown[:20]))}"
        raise InvalidParameter("add", msg)
    off = set(candidates.off_network)
    if off.intersection(add):
        msg = (f"candidates off the road network: "
               f"{', '.join(a for a in add if a in off)}")
        raise InvalidParameter("add", msg)
    if len(set(add)) != len(add):
        msg = "lists an id more than once"
        raise InvalidParameter("add", msg)


def _what_if(red: Reduced, candidates: Candidates, add: list[str]) -> Solution:
    """Open the ``add`` sites in the caller's order (no optimisation).

    Each id's gain is over the fixed sites and the ids before it.
    """
    t1 = time.perf_counter()
    pos = candidates.position()
    cols = [pos[a] for a in add]
    gains: list[float] = []
    covered = np.zeros(red.matrix.shape[0], dtype=bool)
    csc = red.matrix
    for j in cols:
        rows = csc.indices[csc.indptr[j]:csc.indptr[j + 1]]
        gains.append(float(red.weight[rows[~covered[rows]]].sum()))
        covered[rows] = True
    return Solution(cols, gains, float(sum(gains)), "what-if", True,
                    time.perf_counter() - t1, "ok")
