"""Coverage sets: which demand points reach which candidate site within a time limit.

The trip is measured exactly as coverage measures it (see
:mod:`geosvc.network.paths`): FROM the demand point TO the site, leaving the
point's street towards its end nodes (direction respected) with the point's
access leg, along the network, and onto the site's street position with the
site's access leg; plus trips along one street line.  A demand point is
covered by a site when that time is <= the limit, so the union of the sets
of chosen sites equals what one multi-source coverage pass over them gives.

Cost: one Dijkstra per candidate on the reversed graph, bounded by the limit
(``limit=cutoff``), run in chunks of candidates by scipy's C Dijkstra so a
chunk's dense (chunk x nodes) distance block stays under ``chunk_cells``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike, NDArray
from scipy.sparse.csgraph import dijkstra

from geosvc.errors import InvalidParameter
from geosvc.network.paths import augmented_graph, entries, exits, same_line_times

if TYPE_CHECKING:
    from geosvc.network.graph import RoadNetwork
    from geosvc.network.snap import Snapped

__all__ = ["coverage_sets"]

#: Largest dense distance block of one chunk (float64 cells; 4e6 = 32 MB).
CHUNK_CELLS = 4_000_000


def coverage_sets(
    net: RoadNetwork,
    demand: Snapped,
    candidates: Snapped,
    cutoff_s: float,
    *,
    walk_speed_mps: float,
    rows: ArrayLike | None = None,
    chunk_cells: int = CHUNK_CELLS,
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
    chunk_cells : int
        Memory bound of one chunk's distance block, float64 cells.

    Returns
    -------
    scipy.sparse.csr_matrix of bool, shape (len(demand), len(candidates))
    """
    if not (np.isfinite(cutoff_s) and cutoff_s >= 0):
        msg = f"must be a finite number of seconds >= 0, not {cutoff_s!r}"
        raise InvalidParameter("cutoff_s", msg)
    n, nd, m = net.n_nodes, len(demand), len(candidates)
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
        graph = augmented_graph(net.csr_reverse, m, cidx, cnode, csec)
        used = np.unique(cidx)
        # only the columns of nodes some demand leaves through matter
        cols, inv = np.unique(pnode, return_inverse=True)
        chunk = max(1, int(chunk_cells) // max(n + m, len(pidx)))
        limit = cutoff_s * (1 + 1e-12) + 1e-9
        for s in range(0, len(used), chunk):
            src = used[s:s + chunk]
            dist = dijkstra(graph, directed=True, indices=n + src, limit=limit)
            block = dist[:, cols][:, inv] + psec
            r, e = np.nonzero(block <= cutoff_s)
            out_c.append(src[r])
            out_r.append(pidx[e])
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
