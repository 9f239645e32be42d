"""Covering solvers over a sparse coverage matrix: greedy (CELF) and exact (MIP).

A covering instance is a boolean sparse matrix ``A`` (demand rows x
candidate columns; ``A[i, j]`` = demand point ``i`` reaches candidate ``j``
within the time limit) and non-negative demand weights ``w`` (residents).
Demand already covered by fixed sites is removed by the caller.

Two problems:

* **maximal covering** (MCLP): choose at most ``k`` columns maximising the
  weight of rows covered;
* **minimum sites** (partial set covering, LSCP when the target is all the
  coverable demand): fewest columns whose covered weight reaches ``need``.

Two families of solvers:

* greedy with lazy evaluation (CELF, Leskovec et al. 2007): marginal gains
  only shrink as sites are added (coverage is submodular), so a stale gain is
  an upper bound and only the top of a heap is re-evaluated.  Guarantee for
  maximal covering: at least ``1 - 1/e`` (about 63.2 %) of the optimum; in
  practice within a few per cent.  Cost about ``O(nnz log m)``.
* exact mixed-integer programs solved by CBC (the build bundled with pulp,
  chosen on measurement: HiGHS through ``highspy`` was 5-8x slower here at
  2,000 candidates and hit a 300 s limit at 10,000; ``scripts/bench_plan.py``
  times both when ``highspy`` is installed): spopt's ``MCLP.from_cost_matrix`` for
  small instances (it builds a dense matrix), our own sparse pulp model for
  the rest.  ``y`` (row covered) is continuous in [0, 1]: with binary ``x``
  the optimum has ``y_i = min(1, sum_j a_ij x_j)``, which is integral.

:func:`reduce_instance` first drops rows no candidate reaches and merges
rows with the same candidate set (summing weights), which shrinks the MIP
several-fold on real data without changing any optimum.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from geosvc.budget import UNLIMITED, Deadline
from geosvc.errors import InvalidParameter

__all__ = [
    "SPOPT_MAX_CELLS",
    "Reduced",
    "Solution",
    "exact_max_cover",
    "exact_min_sites",
    "greedy_max_cover",
    "greedy_min_sites",
    "order_by_gain",
    "reduce_instance",
]

#: spopt builds a dense demand x candidate matrix: used up to this many cells.
SPOPT_MAX_CELLS = 400_000
#: Relative tolerance when comparing covered weights with a target.
_REL_TOL = 1e-9
#: The greedy loop checks its deadline every this many heap steps.
_CHECK_EVERY = 256


@dataclass(frozen=True)
class Reduced:
    """A covering instance without useless rows and with duplicate rows merged.

    Attributes
    ----------
    matrix : scipy.sparse.csc_matrix of bool, (r, m)
        Unique non-empty rows of the original matrix.
    weight : float64[r]
        Summed weight of the original rows merged into each row.
    rows : int64[n]
        Per original row, its reduced row (-1 = dropped: zero weight or no candidate).
    """

    matrix: sp.csc_matrix
    weight: NDArray[np.float64]
    rows: NDArray[np.int64]

    @property
    def n_candidates(self) -> int:
        """Number of candidate columns."""
        return int(self.matrix.shape[1])


@dataclass
class Solution:
    """Result of one solver run.

    Attributes
    ----------
    selected : list of int
        Chosen columns, in order of decreasing marginal gain (greedy order).
    gains : list of float
        Marginal weight each chosen column adds, in that order.
    covered : float
        Total weight covered by the selection.
    solver : str
        ``"greedy"``, ``"exact:spopt-mclp/cbc"``, ``"exact:pulp/cbc"``...
    optimal : bool
        Proven optimal (exact solvers that finished within their time limit).
    solve_time_s : float
        Wall time of the solver, seconds.
    status : str
        ``"ok"``, ``"greedy"``, ``"unreachable"`` (min sites) or
        ``"time_limit (<pulp status>)"``.
    """

    selected: list[int]
    gains: list[float]
    covered: float
    solver: str
    optimal: bool
    solve_time_s: float
    status: str = "ok"
    extra: dict[str, object] = field(default_factory=dict)


# --------------------------------------------------------------------------- preparation


def _check_instance(
    matrix: sp.spmatrix, weight: ArrayLike
) -> tuple[sp.csr_matrix, NDArray[np.float64]]:
    a = sp.csr_matrix(matrix, dtype=bool)
    w = np.asarray(weight, dtype=np.float64).ravel()
    if w.shape != (a.shape[0],):
        msg = f"must have one weight per demand row ({a.shape[0]}), not {w.shape}"
        raise InvalidParameter("weight", msg)
    if not np.all(np.isfinite(w)) or (w < 0).any():
        msg = "must be finite and >= 0"
        raise InvalidParameter("weight", msg)
    a.eliminate_zeros()
    return a, w


def reduce_instance(matrix: sp.spmatrix, weight: ArrayLike) -> Reduced:
    """Drop rows of zero weight or without candidates; merge identical rows.

    Parameters
    ----------
    matrix : sparse (n, m)
        ``matrix[i, j]`` true when demand ``i`` reaches candidate ``j``.
    weight : array (n,)
        Demand weights (residents), >= 0.

    Returns
    -------
    Reduced

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> a = sp.csr_matrix([[1, 0], [1, 0], [0, 0], [0, 1]], dtype=bool)
    >>> r = reduce_instance(a, [2.0, 3.0, 9.0, 1.0])
    >>> r.weight.tolist(), r.rows.tolist()
    ([5.0, 1.0], [0, 0, -1, 1])
    """
    a, w = _check_instance(matrix, weight)
    a.sort_indices()
    n, m = a.shape
    rows = np.full(n, -1, dtype=np.int64)
    keys: dict[bytes, int] = {}
    out_rows: list[NDArray[np.int32]] = []
    weights: list[float] = []
    indptr, indices = a.indptr, a.indices.astype(np.int32, copy=False)
    for i in np.flatnonzero((np.diff(indptr) > 0) & (w > 0)):
        cols = indices[indptr[i]:indptr[i + 1]]
        key = cols.tobytes()
        r = keys.get(key)
        if r is None:
            r = len(out_rows)
            keys[key] = r
            out_rows.append(cols)
            weights.append(0.0)
        weights[r] += float(w[i])
        rows[i] = r
    if out_rows:
        lengths = np.array([len(c) for c in out_rows])
        red = sp.csr_matrix(
            (np.ones(int(lengths.sum()), dtype=bool), np.concatenate(out_rows),
             np.concatenate([[0], np.cumsum(lengths)])),
            shape=(len(out_rows), m),
        )
    else:
        red = sp.csr_matrix((0, m), dtype=bool)
    return Reduced(matrix=red.tocsc(), weight=np.array(weights, dtype=np.float64), rows=rows)


def _as_reduced(instance: Reduced | tuple[sp.spmatrix, ArrayLike]) -> Reduced:
    if isinstance(instance, Reduced):
        return instance
    matrix, weight = instance
    return reduce_instance(matrix, weight)


def _check_k(k: int, m: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        msg = f"must be a positive integer, not {k!r}"
        raise InvalidParameter("k", msg)
    return min(int(k), m)


# --------------------------------------------------------------------------- greedy


def _celf(red: Reduced, *, k: int | None, need: float | None,
          fixed_order: list[int] | None = None,
          deadline: Deadline = UNLIMITED) -> tuple[list[int], list[float], float]:
    """Lazy greedy: pick columns by marginal gain until ``k`` or ``need`` is met.

    Ties are broken by the lower column index (deterministic).  Stops early
    when no column adds anything.  With ``fixed_order`` the columns are those
    given (in greedy order among them).  ``deadline`` is checked every
    :data:`_CHECK_EVERY` heap steps.
    """
    a = red.matrix
    w = red.weight
    covered = np.zeros(a.shape[0], dtype=bool)
    indptr, indices = a.indptr, a.indices
    pool = range(a.shape[1]) if fixed_order is None else fixed_order
    heap = []
    for j in pool:
        g = float(w[indices[indptr[j]:indptr[j + 1]]].sum())
        heap.append((-g, j, 0))
    heapq.heapify(heap)
    selected: list[int] = []
    gains: list[float] = []
    total = 0.0
    rnd = 0
    steps = 0
    while heap:
        steps += 1
        if not steps % _CHECK_EVERY:
            deadline.check("greedy")
        if k is not None and len(selected) >= k:
            break
        if need is not None and total >= need * (1 - _REL_TOL):
            break
        neg, j, stamp = heapq.heappop(heap)
        if stamp != rnd:
            rows = indices[indptr[j]:indptr[j + 1]]
            g = float(w[rows[~covered[rows]]].sum())
            heapq.heappush(heap, (-g, j, rnd))
            continue
        g = -neg
        if g <= 0 and fixed_order is None:
            break
        rows = indices[indptr[j]:indptr[j + 1]]
        covered[rows] = True
        selected.append(int(j))
        gains.append(g)
        total += g
        rnd += 1
    return selected, gains, total


def greedy_max_cover(instance: Reduced | tuple[sp.spmatrix, ArrayLike], k: int, *,
                     deadline: Deadline = UNLIMITED) -> Solution:
    """Choose up to ``k`` candidates greedily (CELF) to maximise covered weight.

    Fewer than ``k`` are returned when the remaining candidates add nothing.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> a = sp.csr_matrix([[1, 0, 1], [1, 0, 0], [0, 1, 1], [0, 1, 0]], dtype=bool)
    >>> s = greedy_max_cover((a, [1, 1, 1, 1]), 2)
    >>> s.selected, s.gains, s.covered
    ([0, 1], [2.0, 2.0], 4.0)
    """
    red = _as_reduced(instance)
    t0 = time.perf_counter()
    if red.n_candidates == 0:
        return Solution([], [], 0.0, "greedy", False, 0.0, "greedy")
    k = _check_k(k, red.n_candidates)
    sel, gains, total = _celf(red, k=k, need=None, deadline=deadline)
    return Solution(sel, gains, total, "greedy", False, time.perf_counter() - t0, "greedy")


def greedy_min_sites(
    instance: Reduced | tuple[sp.spmatrix, ArrayLike], need: float, *,
    deadline: Deadline = UNLIMITED,
) -> Solution:
    """Add candidates greedily until the covered weight reaches ``need``.

    ``status`` is ``"unreachable"`` when all useful candidates together fall
    short (the selection then covers every coverable row).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> a = sp.csr_matrix([[1, 0], [0, 1], [0, 0]], dtype=bool)
    >>> greedy_min_sites((a, [5, 1, 4]), 5).selected
    [0]
    >>> greedy_min_sites((a, [5, 1, 4]), 8).status
    'unreachable'
    """
    red = _as_reduced(instance)
    t0 = time.perf_counter()
    sel, gains, total = _celf(red, k=None, need=float(need), deadline=deadline)
    status = "ok" if total >= need * (1 - _REL_TOL) else "unreachable"
    return Solution(sel, gains, total, "greedy", False, time.perf_counter() - t0, status)


def order_by_gain(instance: Reduced | tuple[sp.spmatrix, ArrayLike],
                  columns: list[int]) -> tuple[list[int], list[float], float]:
    """Order ``columns`` greedily by marginal gain; return (order, gains, covered).

    Every column is kept, including those that add nothing (gain 0, last).
    """
    red = _as_reduced(instance)
    return _celf(red, k=None, need=None, fixed_order=list(columns))


# --------------------------------------------------------------------------- exact


#: The MIP solver of exact plans, by pulp name: CBC, measured faster than HiGHS on
#: these covering models (module notes); "HiGHS" is the benchmark's peer.
MIP_SOLVER = "PULP_CBC_CMD"


def _pulp_solver(time_limit_s: float, name: str = MIP_SOLVER):  # noqa: ANN202 - pulp solver
    """Return ``(pulp solver, short name)``: CBC unless ``name`` picks HiGHS (benchmarks)."""
    import pulp  # lazy: pulp takes ~0.04 s to import; only this path needs it

    if name == "HiGHS":
        return pulp.HiGHS(msg=False, timeLimit=time_limit_s, threads=1), "highs"
    return pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s), "cbc"


def _sparse_model(red: Reduced, *, k: int | None, need: float | None):  # noqa: ANN202
    """Sparse pulp model: max cover (``k``) or min sites (``need``)."""
    import pulp  # lazy: pulp takes ~0.04 s to import; only this path needs it

    a = red.matrix.tocsr()
    m = a.shape[1]
    sense = pulp.LpMaximize if k is not None else pulp.LpMinimize
    prob = pulp.LpProblem("geosvc_plan", sense)
    x = [pulp.LpVariable(f"x{j}", cat=pulp.LpBinary) for j in range(m)]
    y = [pulp.LpVariable(f"y{i}", lowBound=0, upBound=1) for i in range(a.shape[0])]
    w = red.weight
    covered = pulp.lpSum(float(w[i]) * y[i] for i in range(len(y)))
    if k is not None:
        prob += covered
        prob += pulp.lpSum(x) <= k, "sites"
    else:
        prob += pulp.lpSum(x)
        prob += covered >= need, "target"
    indptr, indices = a.indptr, a.indices
    for i in range(a.shape[0]):
        prob += y[i] <= pulp.lpSum(x[j] for j in indices[indptr[i]:indptr[i + 1]]), f"c{i}"
    return prob, x


def _finish(red: Reduced, prob, x, solver_name: str, t0: float) -> Solution:  # noqa: ANN001
    import pulp  # lazy: pulp takes ~0.04 s to import; only this path needs it

    status = pulp.LpStatus[prob.status]
    chosen = [j for j, var in enumerate(x) if (var.value() or 0.0) > 0.5]
    order, gains, total = order_by_gain(red, chosen)
    keep = [i for i, g in enumerate(gains) if g > 0]
    order, gains = [order[i] for i in keep], [gains[i] for i in keep]
    sol_status = getattr(prob, "sol_status", None)
    optimal = status == "Optimal" and sol_status in (None, pulp.LpSolutionOptimal)
    return Solution(order, gains, total, solver_name, optimal,
                    time.perf_counter() - t0, "ok" if optimal else f"time_limit ({status})")


def exact_max_cover(
    instance: Reduced | tuple[sp.spmatrix, ArrayLike],
    k: int,
    *,
    time_limit_s: float = 60.0,
    backend: str = "auto",
    mip: str = MIP_SOLVER,
) -> Solution:
    """Solve maximal covering exactly (MIP), selection ordered by marginal gain.

    Parameters
    ----------
    instance : Reduced or (matrix, weight)
    k : int
        Most candidates to open.
    time_limit_s : float
        Solver time limit, seconds; when hit, ``optimal`` is False and the
        best integer solution found is returned.
    backend : {"auto", "spopt", "pulp"}
        ``spopt`` = ``spopt.locate.MCLP.from_cost_matrix`` (dense; small
        instances); ``pulp`` = a sparse model; ``auto`` = spopt up to
        :data:`SPOPT_MAX_CELLS` reduced cells.
    mip : str
        pulp name of the MIP solver: :data:`MIP_SOLVER` (CBC), or ``"HiGHS"``
        (needs ``highspy``; the benchmark's peer).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> a = sp.csr_matrix([[1, 0, 1], [1, 0, 0], [0, 1, 1], [0, 1, 0]], dtype=bool)
    >>> exact_max_cover((a, [1, 1, 1, 1]), 2).covered
    4.0
    """
    red = _as_reduced(instance)
    t0 = time.perf_counter()
    m = red.n_candidates
    if m == 0 or len(red.weight) == 0:
        return Solution([], [], 0.0, "exact:trivial", True, time.perf_counter() - t0, "ok")
    k = _check_k(k, m)
    if backend not in ("auto", "spopt", "pulp"):
        msg = f"must be auto, spopt or pulp, not {backend!r}"
        raise InvalidParameter("backend", msg)
    solver, sname = _pulp_solver(time_limit_s, mip)
    cells = red.matrix.shape[0] * m
    if backend == "spopt" or (backend == "auto" and cells <= SPOPT_MAX_CELLS):
        from spopt.locate import (
            MCLP,  # lazy: spopt takes ~2.1 s to import; only this path needs it
        )

        cost = np.where(red.matrix.toarray(), 0.0, 2.0)
        model = MCLP.from_cost_matrix(cost, red.weight, service_radius=1.0, p_facilities=k)
        # spopt asks for exactly p sites; k <= m so the model is feasible.
        model.solve(solver, results=False)
        return _finish(red, model.problem, _spopt_x(model, m), f"exact:spopt-mclp/{sname}", t0)
    prob, x = _sparse_model(red, k=k, need=None)
    prob.solve(solver)
    return _finish(red, prob, x, f"exact:pulp/{sname}", t0)


def _spopt_x(model, m: int) -> list:  # noqa: ANN001
    """Return the facility variables of a solved spopt model, by column."""
    fac = getattr(model, "fac_vars", None)
    if fac is None:
        names = {v.name: v for v in model.problem.variables()}
        fac = [names[f"x[{j}]"] for j in range(m)]
    return list(fac)


def exact_min_sites(
    instance: Reduced | tuple[sp.spmatrix, ArrayLike],
    need: float,
    *,
    time_limit_s: float = 60.0,
) -> Solution:
    """Fewest candidates whose covered weight reaches ``need`` (partial set covering MIP).

    When ``need`` exceeds what all candidates together cover, ``status`` is
    ``"unreachable"`` and the selection is the fewest sites covering
    everything coverable (the best share possible).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> a = sp.csr_matrix([[1, 1, 0], [1, 0, 1], [0, 1, 1]], dtype=bool)
    >>> exact_min_sites((a, [1, 1, 1]), 3).selected.__len__()
    2
    """
    red = _as_reduced(instance)
    t0 = time.perf_counter()
    total = float(red.weight.sum())
    status = "ok"
    if total < need * (1 - _REL_TOL):
        need, status = total, "unreachable"
    if need <= 0 or len(red.weight) == 0:
        return Solution([], [], 0.0, "exact:trivial", True, time.perf_counter() - t0, status)
    solver, sname = _pulp_solver(time_limit_s)
    prob, x = _sparse_model(red, k=None, need=min(float(need), total) * (1 - _REL_TOL))
    prob.solve(solver)
    sol = _finish(red, prob, x, f"exact:pulp/{sname}", t0)
    if sol.optimal and status == "unreachable":
        sol.status = "unreachable"
    return sol
