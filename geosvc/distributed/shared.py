"""A province's network, demand points and venues as files the workers memory-map.

Sending every part its sub-network as pickled arrays keeps the driver busy
(cutting and serialising 20-46 MB per part) while the workers wait: on two
cores, two workers were no faster than one.  Instead the driver writes, once,

* the network's arrays the parts read (nodes, edges, polylines, twins,
  layers), its part index (nodes by x, edges by their ends;
  :func:`geosvc.distributed.partition.prepare`) and its snapping basis
  (:class:`~geosvc.distributed.snapping.SnapBasis`);
* the demand points (projected ``x`` / ``y``; their central snapping too
  when the driver snapped them) and the snapped venues with their ids;
* for a plan, the snapped candidate sites;

as plain ``.npy`` files in one directory, and sends each task only the
part's name, point positions and box.  Every worker maps the same files
read-only (:func:`open_shared`): the pages are shared through the OS page
cache, each part reads only the rows near it, and nothing is pickled.  The
workers must see the directory: a LocalCluster always does; a real cluster
needs it on a shared file system (else the parts are sent as arrays, see
:func:`geosvc.distributed.run_province`).  The driver removes the directory
after the run; a long-lived worker keeps its maps of the last run's files
(and so their disk space) until it opens the next run's.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from geosvc.errors import InvalidParameter
from geosvc.network.graph import RoadNetwork
from geosvc.network.snap import Snapped

from geosvc.distributed.partition import PART_INDEX_KEY, _adjacency, _Adjacency  # isort: skip
from geosvc.distributed.snapping import SnapBasis  # isort: skip

__all__ = ["SharedProvince", "open_shared", "write_shared"]

#: Bump when the files change.
SHARED_FORMAT = 1
_NET = ("node_id", "node_x", "node_y", "edge_u", "edge_v", "edge_length_m", "edge_time_s",
        "edge_twin", "geom_offsets", "geom_x", "geom_y", "edge_layer")
_ADJ = ("by_x", "xs", "out_edges", "out_ptr", "in_edges", "in_ptr")


@dataclass(frozen=True, eq=False)
class SharedProvince:
    """The memory-mapped province of one run (see the module).

    Attributes
    ----------
    net : RoadNetwork
        The full network over the mapped arrays (lon/lat are zeros: unused);
        its part index is attached.
    basis : SnapBasis or None
        For snapping in the parts (None when the driver snapped the demand).
    demand_x, demand_y : float64[M]
    demand : Snapped or None
        The driver's snapping of the demand (None when the parts snap).
    venues : Snapped
        The candidate venues (edge, frac, dist_m; positions zeros).
    venue_ids : int64[V]
    max_snap_m : float
    candidates : Snapped or None
        A plan's candidate sites (edge, frac, dist_m), else None.
    """

    net: RoadNetwork
    basis: SnapBasis | None
    demand_x: NDArray[np.float64]
    demand_y: NDArray[np.float64]
    demand: Snapped | None
    venues: Snapped
    venue_ids: NDArray[np.int64]
    max_snap_m: float
    candidates: Snapped | None = None


def _snapped(arrays: dict[str, NDArray], prefix: str) -> Snapped:
    edge = arrays[f"{prefix}_edge"]
    z = np.zeros(0)
    return Snapped(edge=edge, frac=arrays[f"{prefix}_frac"], dist_m=arrays[f"{prefix}_dist_m"],
                   x=z, y=z, px=z, py=z, lon=z, lat=z)


def write_shared(directory: str | os.PathLike[str], net: RoadNetwork, *,
                 demand_x: NDArray[np.float64], demand_y: NDArray[np.float64],
                 demand: Snapped | None, venues: Snapped, venue_ids: NDArray[np.int64],
                 basis: SnapBasis | None, max_snap_m: float,
                 candidates: Snapped | None = None) -> Path:
    """Write the run's files into ``directory`` (created; must be empty or new).

    ``demand`` None: the parts snap their points (``basis`` required);
    ``candidates``: a plan's sites (snapped on the full network).
    Returns the directory.  Writes O(network + demand) bytes once.
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    if demand is None and basis is None:
        raise InvalidParameter("basis", "is needed when the parts snap the demand")
    adj = _adjacency(net)
    arrays: dict[str, Any] = {name: getattr(net, name) for name in _NET}
    arrays.update({name: getattr(adj, name) for name in _ADJ})
    arrays.update(demand_x=demand_x, demand_y=demand_y, venue_edge=venues.edge,
                  venue_frac=venues.frac, venue_dist_m=venues.dist_m,
                  venue_ids=np.asarray(venue_ids, dtype=np.int64))
    if demand is not None:
        arrays.update(demand_edge=demand.edge, demand_frac=demand.frac,
                      demand_dist_m=demand.dist_m)
    if candidates is not None:
        arrays.update(cand_edge=candidates.edge, cand_frac=candidates.frac,
                      cand_dist_m=candidates.dist_m)
    if basis is not None:
        arrays.update(basis.arrays())
    for name, arr in arrays.items():
        np.save(d / f"{name}.npy", np.ascontiguousarray(arr), allow_pickle=False)
    header = {"format": SHARED_FORMAT, "mode": net.mode, "crs": net.crs,
              "source_hash": net.source_hash, "names": sorted(arrays),
              "threshold": None if basis is None else basis.threshold,
              "longest_m": None if basis is None else basis.longest_m,
              "max_snap_m": float(max_snap_m)}
    (d / "province.json").write_text(json.dumps(header), encoding="utf-8")
    return d


@functools.lru_cache(maxsize=1)
def open_shared(directory: str) -> SharedProvince:
    """Map the files of :func:`write_shared` (cached: one run's per worker process).

    Raises
    ------
    InvalidParameter
        Not a province directory of this format (``shared_dir``).
    """
    d = Path(directory)
    try:
        header = json.loads((d / "province.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidParameter("shared_dir", f"{directory!r} is not readable: {exc}") from exc
    if header.get("format") != SHARED_FORMAT:
        raise InvalidParameter("shared_dir", f"has format {header.get('format')}, "
                                             f"expected {SHARED_FORMAT}")
    a = {name: np.load(d / f"{name}.npy", mmap_mode="r", allow_pickle=False)
         for name in header["names"]}
    a = {k: (v.view(np.ndarray) if isinstance(v, np.memmap) else v) for k, v in a.items()}
    zn = np.zeros(len(a["node_x"]))
    net = RoadNetwork(mode=header["mode"], crs=header["crs"],
                      source_hash=header["source_hash"], node_lon=zn, node_lat=zn,
                      **{name: a[name] for name in _NET})
    net.__dict__[PART_INDEX_KEY] = _Adjacency(*(a[name] for name in _ADJ))
    basis = (None if header["threshold"] is None else
             SnapBasis.from_arrays(a, int(header["threshold"]), float(header["longest_m"])))
    return SharedProvince(
        net=net, basis=basis, demand_x=a["demand_x"], demand_y=a["demand_y"],
        demand=_snapped(a, "demand") if "demand_edge" in a else None,
        venues=_snapped(a, "venue"), venue_ids=a["venue_ids"],
        max_snap_m=float(header["max_snap_m"]),
        candidates=_snapped(a, "cand") if "cand_edge" in a else None)
