"""The work of one part on a Dask worker (or in-process): its pass and point times.

* :func:`part_coverage` - from a part's arrays
  (:func:`~geosvc.distributed.partition.part_arrays`, cut and sent by the
  driver): one cut multi-source pass over the sub-network, then each
  resident's time and venue;
* :func:`shared_part` - from the run's memory-mapped files
  (:mod:`~geosvc.distributed.shared`): the worker snaps the part's residents
  (:func:`~geosvc.distributed.snapping.snap_local`) and cuts the part itself,
  then :func:`part_coverage`.

Plain picklable arguments and results (numpy arrays, str, numbers).
"""

from __future__ import annotations

import os
import resource
import sys
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from geosvc.errors import InvalidParameter
from geosvc.network.graph import RoadNetwork
from geosvc.network.paths import point_times, times_to_sources
from geosvc.network.reach import coverage_sets
from geosvc.network.snap import Snapped

from geosvc.distributed.partition import PartPlan, part_arrays  # isort: skip
from geosvc.distributed.shared import open_shared  # isort: skip
from geosvc.distributed.snapping import snap_local  # isort: skip

__all__ = ["part_coverage", "part_network", "part_task", "shared_part"]


def _snapped(edge: NDArray[np.int64], frac: NDArray[np.float64],
             dist_m: NDArray[np.float64]) -> Snapped:
    """Return a :class:`Snapped` of the pass fields only (positions unused: zeros)."""
    z = np.zeros(len(edge))
    return Snapped(edge=edge, frac=frac, dist_m=dist_m, x=z, y=z, px=z, py=z, lon=z, lat=z)


def part_network(arrays: dict[str, Any]) -> RoadNetwork:
    """Rebuild a part's sub-network from :func:`part_arrays` (for passes only).

    No polylines nor lon/lat travel (passes read the node ids and the edge
    arrays; lengths say which edges are turns): those fields are zeros,
    which the OS does not even allocate until touched.
    """
    n = len(arrays["node_x"])
    e = len(arrays["edge_u"])
    zero_n = np.zeros(n)
    return RoadNetwork(
        mode=arrays["mode"], crs=arrays["crs"], source_hash=f"part:{arrays['label']}",
        node_id=arrays["node_id"], node_lon=zero_n, node_lat=zero_n,
        node_x=arrays["node_x"], node_y=arrays["node_y"],
        edge_u=arrays["edge_u"], edge_v=arrays["edge_v"],
        edge_length_m=arrays["edge_length_m"], edge_time_s=arrays["edge_time_s"],
        edge_twin=arrays["edge_twin"], geom_offsets=np.zeros(e + 1, dtype=np.int64),
        geom_x=np.zeros(0), geom_y=np.zeros(0), edge_layer=np.zeros(e, dtype=np.int8))


def part_coverage(arrays: dict[str, Any], limit_s: float,
                  walk_speed_mps: float, *, node_times: bool = False) -> dict[str, Any]:
    """Compute one part on a worker: each demand point's time and venue when covered.

    One multi-source pass (:func:`~geosvc.network.paths.times_to_sources`,
    cut off at ``limit_s``) over the part's sub-network from its venues, then
    :func:`~geosvc.network.paths.point_times` for its demand points: the
    single-process recipe on fewer nodes.

    Returns
    -------
    dict
        ``label``, ``points`` (demand positions), ``time_s`` (inf where not
        covered), ``venue`` (venue id, -1 where not covered), ``nodes``,
        ``edges``, ``venues``, ``seconds`` (wall time of the part on the
        worker), ``pid``, ``peak_rss_mb`` (the worker process's peak
        resident memory so far: ``VmHWM``) and ``rss_file_mb`` (of its
        resident memory now, the file-backed pages: libraries and the
        mapped network, shared with the other workers; 0 if unknown); with ``node_times`` also
        ``reached_nodes`` (full-network positions, from ``node_pos``) and
        ``reached_time_s``: the sub-network's nodes within ``limit_s`` of a
        venue and their times (for the gaps).  With a plan's candidates in
        ``arrays`` (``cand_*``, :func:`~geosvc.distributed.partition.part_arrays`)
        also ``pair_point`` / ``pair_cand`` (demand position, candidate
        position): which candidate each point not covered yet, with residents
        (``plan_rows``, bool per point; default all) reaches within
        ``limit_s`` (:func:`~geosvc.network.reach.coverage_sets` on the
        sub-network), and ``plan_s`` (its seconds).
    """
    t0 = time.perf_counter()
    net = part_network(arrays)
    venues = _snapped(arrays["venue_edge"], arrays["venue_frac"], arrays["venue_dist_m"])
    demand = _snapped(arrays["demand_edge"], arrays["demand_frac"], arrays["demand_dist_m"])
    ids = arrays["venue_ids"]
    nt = times_to_sources(net, venues, cutoff_s=limit_s, walk_speed_mps=walk_speed_mps,
                          source_ids=ids)
    t, src = point_times(net, demand, nt, walk_speed_mps=walk_speed_mps)
    covered = (t <= limit_s) & (src >= 0)
    venue = np.full(len(t), -1, dtype=np.int64)
    venue[covered] = ids[src[covered]]
    out = {"label": arrays["label"], "points": arrays["points"],
           "time_s": np.where(covered, t, np.inf), "venue": venue,
           "nodes": net.n_nodes, "edges": net.n_edges, "venues": len(ids),
           "seconds": time.perf_counter() - t0, "pid": os.getpid(),
           "peak_rss_mb": _peak_rss_mb(), "rss_file_mb": _rss_file_mb()}
    if "cand_edge" in arrays:
        t1 = time.perf_counter()
        out["pair_point"], out["pair_cand"] = _plan_pairs(net, demand, arrays, covered,
                                                          limit_s, walk_speed_mps)
        out["plan_s"] = time.perf_counter() - t1
        out["seconds"] = time.perf_counter() - t0
        out["peak_rss_mb"] = _peak_rss_mb()
    if node_times:
        near = np.flatnonzero(nt.time_s <= limit_s)
        out["reached_nodes"] = np.asarray(arrays["node_pos"], dtype=np.int64)[near]
        out["reached_time_s"] = nt.time_s[near]
    return out


def _plan_pairs(net: RoadNetwork, demand: Snapped, arrays: dict[str, Any],
                covered: NDArray[np.bool_], limit_s: float,
                walk_speed_mps: float) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Return (demand position, candidate position) of every open point's reachable sites.

    The rows :func:`~geosvc.analysis.planning.plan.plan_sites` gives coverage
    sets: not covered by the venues, with residents, on the network.
    """
    cands = _snapped(arrays["cand_edge"], arrays["cand_frac"], arrays["cand_dist_m"])
    wanted = arrays.get("plan_rows")
    open_ = ~covered & (demand.edge >= 0)
    if wanted is not None:
        open_ &= np.asarray(wanted, dtype=bool)
    mat = coverage_sets(net, demand, cands, limit_s, walk_speed_mps=walk_speed_mps,
                        rows=np.flatnonzero(open_)).tocoo()
    points = np.asarray(arrays["points"], dtype=np.int64)
    cols = np.asarray(arrays["cand_cols"], dtype=np.int64)
    return points[mat.row], cols[mat.col]


def shared_part(directory: str, label: str, points: NDArray[np.int64],
                bbox: tuple[float, float, float, float], limit_s: float,
                walk_speed_mps: float, radius_m: float, node_times: bool,
                plan_rows: NDArray[np.bool_] | None = None) -> dict[str, Any]:
    """Compute one part on a worker from the run's memory-mapped files (:mod:`.shared`).

    Snaps the part's points on the network around them when the driver did
    not (:func:`~geosvc.distributed.snapping.snap_local`: the full
    network's answer), cuts the part's sub-network
    (:func:`~geosvc.distributed.partition.part_arrays`) and runs
    :func:`part_coverage`.  Adds ``snapped`` (bool per point: placed on the
    network) and ``prepare_s`` (snapping + cutting, seconds).  When the
    files hold a plan's candidates, the part gives its coverage-set pairs
    too (:func:`part_coverage`; ``plan_rows``: per point, has residents).
    """
    t0 = time.perf_counter()
    sh = open_shared(directory)
    points = np.asarray(points, dtype=np.int64)
    if sh.demand is None:
        if sh.basis is None:  # pragma: no cover - write_shared refuses it
            raise InvalidParameter("shared_dir", "has neither snapped demand nor a basis")
        local = snap_local(sh.net, sh.demand_x[points], sh.demand_y[points],
                           max_dist_m=sh.max_snap_m, basis=sh.basis)
    else:
        local = _snapped(np.asarray(sh.demand.edge[points]),
                         np.asarray(sh.demand.frac[points]),
                         np.asarray(sh.demand.dist_m[points]))
    plan = PartPlan(label, np.arange(len(points), dtype=np.int64), bbox)
    arrays = part_arrays(sh.net, plan, local, sh.venues, sh.venue_ids, radius_m=radius_m,
                         candidates=sh.candidates)
    arrays["points"] = points
    if plan_rows is not None:
        arrays["plan_rows"] = plan_rows
    prepared = time.perf_counter() - t0
    out = part_coverage(arrays, limit_s, walk_speed_mps, node_times=node_times)
    out["snapped"] = local.edge >= 0
    out["prepare_s"] = prepared
    out["seconds"] += prepared
    return out


def _status_mb(key: str) -> float | None:
    """Return the ``key:`` line of ``/proc/self/status`` (kB) in MB; None if unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def _rss_file_mb() -> float:
    """Return this process's file-backed resident memory now (``RssFile``), MB; 0 if unknown."""
    return _status_mb("RssFile") or 0.0


def _peak_rss_mb() -> float:
    """Return the peak resident memory of this process, MB.

    ``VmHWM`` of ``/proc/self/status`` where there is one (Linux): the peak of
    this process image.  ``ru_maxrss`` is only the fallback: Linux carries it
    across ``fork`` + ``exec``, so a spawned worker would report its parent's
    peak.
    """
    hwm = _status_mb("VmHWM")
    if hwm is not None:
        return hwm
    peak = float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def part_task(arrays: dict[str, Any], limit_s: float, walk_speed_mps: float,
              node_times: bool) -> dict[str, Any]:
    """Compute a part sent as arrays (no shared files): :func:`part_coverage`.

    A plan's candidates and ``plan_rows`` travel in ``arrays``.
    """
    return part_coverage(arrays, limit_s, walk_speed_mps, node_times=node_times)
