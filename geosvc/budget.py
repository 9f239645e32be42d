"""Time budgets of the heavy analyses: a cooperative deadline passed down to their loops.

A request to a heavy analysis (coverage, plans, isochrones, the pages and
reports built on them) gets a :class:`Deadline` of
:attr:`Settings.analysis_budget_s <geosvc.config.Settings.analysis_budget_s>`
seconds from the API handler; the use cases of :mod:`geosvc.app.travel` pass
it to the analysis, which

* refuses obviously too big work up front (:meth:`Deadline.admit`: a cheap
  estimate, e.g. candidates x demand cells of a plan, against a measured
  throughput),
* checks it between its phases (:meth:`Deadline.check`: a phase is not
  started once the budget is spent), and
* gives the exact planner's solver at most what is left
  (:meth:`Deadline.time_limit_s`).

Either way the analysis stops and :class:`~geosvc.errors.BudgetExceeded`
(503 with ``Retry-After``) says why.  The command line and batch jobs run
with :data:`UNLIMITED`.  Stopping is cooperative: a phase that has started
runs to its end, so the longest single phase (one multi-source pass, one
set of reach sets, one isochrone) bounds the overshoot, and the up-front
estimates keep that phase small.
"""

from __future__ import annotations

import math
import time
from typing import Final

from geosvc.errors import BudgetExceeded

__all__ = ["UNLIMITED", "Deadline"]


class Deadline:
    """A time budget started at a monotonic instant; :meth:`check` raises once it is spent.

    Parameters
    ----------
    budget_s : float
        Seconds allowed (> 0; ``math.inf`` = no budget).
    what : str
        The analysis, as named in the problem's detail (``"coverage"``...).
    started : float, optional
        ``time.monotonic()`` of the start (default: now).

    Examples
    --------
    >>> Deadline(30.0, what="plan").check("candidates")   # well within: nothing happens
    >>> spent = Deadline(2.0, what="plan", started=time.monotonic() - 5)
    >>> spent.check("reach sets")
    Traceback (most recent call last):
    ...
    geosvc.errors.BudgetExceeded: the plan was stopped after `reach sets`: ...
    >>> UNLIMITED.remaining_s(), UNLIMITED.time_limit_s(30.0)
    (inf, 30.0)
    """

    __slots__ = ("budget_s", "started", "what")

    def __init__(self, budget_s: float, *, what: str = "analysis",
                 started: float | None = None) -> None:
        if not budget_s > 0:
            msg = f"a budget must be > 0 seconds, not {budget_s!r}"
            raise ValueError(msg)
        self.budget_s = float(budget_s)
        self.what = what
        self.started = time.monotonic() if started is None else started

    @classmethod
    def start(cls, budget_s: float, *, what: str = "analysis") -> Deadline:
        """Return a deadline of ``budget_s`` from now; :data:`UNLIMITED` when it is 0."""
        return cls(budget_s, what=what) if budget_s > 0 else UNLIMITED

    @property
    def limited(self) -> bool:
        """True unless this is :data:`UNLIMITED` (or another infinite budget)."""
        return math.isfinite(self.budget_s)

    def elapsed_s(self) -> float:
        """Seconds since the start."""
        return time.monotonic() - self.started

    def remaining_s(self) -> float:
        """Seconds left (negative once spent; ``inf`` without a budget)."""
        return self.budget_s - self.elapsed_s() if self.limited else math.inf

    def check(self, phase: str) -> None:
        """Raise :class:`~geosvc.errors.BudgetExceeded` if the budget is spent.

        Call it between phases: ``phase`` names the one just finished.
        """
        if not self.limited:
            return
        elapsed = self.elapsed_s()
        if elapsed <= self.budget_s:
            return
        msg = (f"the {self.what} was stopped after `{phase}`: it had run {elapsed:.3g} s of "
               f"its {self.budget_s:g} s budget (`analysis_budget_s`); retry later, ask for "
               "less, or run it from the command line, which has no budget")
        raise BudgetExceeded(msg, budget_s=self.budget_s, phase=phase)

    def admit(self, estimate: str, value: float, *, per_s: float, unit: str) -> None:
        """Refuse work whose estimate alone would take longer than the time left.

        Parameters
        ----------
        estimate : str
            Name of the estimate (``candidate_demand_pairs``...), given in the problem.
        value : float
            Its value for this request.
        per_s : float
            How many ``unit`` the analysis gets through per second (measured,
            on the optimistic side: only obviously too big work is refused).
        unit : str
            What is counted, in words.

        Raises
        ------
        BudgetExceeded
            With ``estimate: {name, value, limit}`` (``limit`` = the most the
            time left admits).
        """
        left = self.remaining_s()
        if not self.limited or value <= per_s * max(left, 0.0):
            return
        limit = math.floor(per_s * max(left, 0.0))
        msg = (f"the {self.what} was refused before it started: its estimate "
               f"`{estimate}` is {value:,.0f} {unit}, more than the {limit:,} the "
               f"{self.budget_s:g} s budget (`analysis_budget_s`) admits; ask for less, or "
               "run it from the command line, which has no budget")
        shown = {"name": estimate, "value": math.ceil(value), "limit": limit, "unit": unit}
        raise BudgetExceeded(msg, budget_s=self.budget_s, estimate=shown)

    def time_limit_s(self, cap: float, *, share: float = 0.8) -> float:
        """Return a solver's time limit: ``cap``, or ``share`` of the time left if less."""
        return min(cap, share * self.remaining_s()) if self.limited else cap


#: No budget (the command line, batch jobs, ``analysis_budget_s = 0``).
UNLIMITED: Final = Deadline(math.inf, what="analysis", started=0.0)
