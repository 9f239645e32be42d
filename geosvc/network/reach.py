"""Coverage sets: which demand points reach which candidate site within a time limit.

The trip is measured exactly as coverage measures it (see
:mod:`geosvc.network.paths`): FROM the demand point TO the site, leaving the
point's street towards its end nodes (direction respected) with the point's
access leg, along the network, and onto the site's street position with the
site's access leg; plus trips along one street line.  A demand point is
covered by a site when that time is <= the limit, so the union of the sets
of chosen sites equals what one multi-source coverage pass over them gives.

Cost: one Dijkstra per candidate on the reversed graph, bounded by the limit,
in compiled code with reused scratch arrays (:func:`geosvc.network._dijkstra.
reach_pairs`): a candidate costs the nodes within the limit of it, not N, and
no copy of the graph is made.  The times add up exactly as scipy's Dijkstra
from a virtual node per candidate (the way this module used to run it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray

from geosvc.errors import InvalidParameter
from geosvc.network._dijkstra import reach_pairs
from geosvc.network.paths import entries, exits, same_line_times

if TYPE_CHECKING:
    from geosvc.network.graph import RoadNetwork
    from geosvc.network.snap import Snapped

__all__ = ["coverage_sets"]


def coverage_sets(
    net: RoadNetwork,
    demand: Snapped,
    candidates: Snapped,
    cutoff_s: float,
    *,
    walk_speed_mps: float,
    rows: ArrayLike | None = None,
) -> sp.csr_matrix:
    """Boolean sparse matrix (demand x candidates): trip time to the site <= ``cutoff_s``.

    Parameters
    ----------
    net : RoadNetwork
    demand : Snapped
        Demand points (unsnapped ones, ``edge == -1``, reach nothing).
    candidates : Snapped
        Candidate sites (unsnapped ones are reached by nobody).
    cutoff_s : float
        Time limit, seconds (>= 0).
    walk_speed_mps : float
        Speed of both access legs, m/s (``settings.walk_speed_kph / 3.6``).
    rows : int array, optional
        Only these demand points get entries (others stay empty), e.g. the
        demand not covered yet.

    Returns
    -------
    scipy.sparse.csr_matrix of bool, shape (len(demand), len(candidates))
    """
    if not (np.isfinite(cutoff_s) and cutoff_s >= 0):
        msg = f"must be a finite number of seconds >= 0, not {cutoff_s!r}"
        raise InvalidParameter("cutoff_s", msg)
    nd, m = len(demand), len(candidates)
    shape = (nd, m)
    if nd == 0 or m == 0:
        return sp.csr_matrix(shape, dtype=bool)
    if rows is not None:
        keep = np.zeros(nd, dtype=bool)
        keep[np.asarray(rows, dtype=np.int64)] = True
        demand_mask = keep
    else:
        demand_mask = np.ones(nd, dtype=bool)
    pidx, pnode, psec = exits(net, demand, walk_speed_mps)
    sel = demand_mask[pidx] & (psec <= cutoff_s)
    pidx, pnode, psec = pidx[sel], pnode[sel], psec[sel]
    cidx, cnode, csec = entries(net, candidates, walk_speed_mps)
    sel = csec <= cutoff_s
    cidx, cnode, csec = cidx[sel], cnode[sel], csec[sel]
    out_r: list[NDArray[np.int64]] = []
    out_c: list[NDArray[np.int64]] = []
    if len(pidx) and len(cidx):
        # a search from each site back along the reversed graph; demand points are
        # the targets, left through their exits (psec after the node)
        c, r = reach_pairs(net.csr_reverse, (cidx, cnode, csec), (pidx, pnode, psec), m,
                           limit_s=cutoff_s)
        out_c.append(c)
        out_r.append(r)
    pi, si, sec = same_line_times(net, demand, candidates, walk_speed_mps)
    ok = (sec <= cutoff_s) & demand_mask[pi]
    out_r.append(pi[ok].astype(np.int64))
    out_c.append(si[ok].astype(np.int64))
    r = np.concatenate(out_r) if out_r else np.zeros(0, np.int64)
    c = np.concatenate(out_c) if out_c else np.zeros(0, np.int64)
    mat = sp.csr_matrix((np.ones(len(r), dtype=np.int8), (r, c)), shape=shape)
    mat.sum_duplicates()
    mat.data[:] = 1
    return mat.astype(bool)
