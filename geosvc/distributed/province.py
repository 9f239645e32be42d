"""Coverage of ONE dataset too large for one process: parts by area over Dask.

:func:`run_province` plans the parts (:mod:`geosvc.distributed.partition`:
by area or grid square, each with its travel-time buffer) and runs one task
per part (:mod:`geosvc.distributed.parts`), then merges what comes back: per
demand point its time to and identity of its nearest venue when covered.
Two ways to give a worker its part:

* **shared files** (default for a local cluster and ``inline``): the
  driver writes the network, the residents and the venues once as files
  every worker memory-maps (:mod:`geosvc.distributed.shared`); a task is a
  part's name, point positions and box; the worker snaps its residents
  (unless the driver did) and cuts its sub-network itself.  The driver stays
  idle while the parts run, and never needs the whole network's snapping
  index (``snap_in_parts``).
* **arrays**: the driver cuts each part's sub-network and sends it
  (scattered, two per worker in flight): for a cluster whose workers do not
  see the driver's disks.

From the merge: the covered and total residents, per area, per venue
(catchments), the uncovered points, and (``gaps=True``) the gap polygons,
drawn by the driver from the parts' node times.

The merged answer equals :func:`geosvc.analysis.coverage.compute_coverage`
(and so :func:`geosvc.app.travel.measure_coverage`) on the same network,
demand and venues exactly: covered and total population, the per-area rows'
population members, the catchments, each covered point's time and venue
(see :mod:`~geosvc.distributed.partition` for the proof;
:mod:`~geosvc.distributed.snapping` for snapping in the parts) and the gap
polygons (:func:`gap_margin_m`).  Uncovered points get ``time_s = inf`` and
``venue = -1`` (the single-process answer may know a time beyond the limit;
the parts do not compute it).  The service-circle polygon and the covered
area shares are not computed.

With ``candidates`` (a plan's sites) each part also gives the coverage-set
pairs of its residents not covered yet (:mod:`geosvc.distributed.plans`).

Schedulers: ``"local"`` (a :class:`distributed.LocalCluster` of ``workers``
one-thread processes on this machine), ``"inline"`` (no Dask: parts one
after another in this process), a scheduler address (``tcp://host:8786``: a
real cluster), or a :class:`distributed.Client`.
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from geosvc.analysis.coverage import (  # the figures rounded as coverage rounds them
    DEFAULT_GAP_RADIUS_M,
    _num,
    _round,
    _share,
    area_rows,
    catchment_rows,
    gap_features,
    population_warnings,
)
from geosvc.distributed._progress import connect, progress_ticker
from geosvc.errors import ConfigError, InvalidParameter
from geosvc.network.graph import RoadNetwork
from geosvc.network.paths import NodeTimes
from geosvc.network.snap import Snapped
from geosvc.routing._geometry import Raster, pass_piece_chunks, to_lonlat
from geosvc.routing.road import default_buffer_m

from geosvc.distributed.parts import part_coverage, part_task, shared_part  # isort: skip
from geosvc.distributed.partition import (  # isort: skip
    buffer_radius_m,
    part_arrays,
    PART_INDEX_KEY,
    part_nbytes,
    plan_parts,
    prepare,
)
from geosvc.distributed.shared import open_shared, write_shared  # isort: skip
from geosvc.distributed.snapping import (  # isort: skip
    SnapBasis,
    longest_edge_m,
    snap_basis,
    snap_basis_threshold,
)

if TYPE_CHECKING:
    from geosvc.analysis.demand import DemandSet

__all__ = ["ProvinceResult", "part_coverage", "run_province", "shared_part"]



@dataclass(frozen=True, eq=False)
class ProvinceResult:
    """The merged coverage of :func:`run_province`.

    Attributes
    ----------
    mode : str
    minutes : float
    total_population, covered_population : float
    venues_used : int
        Candidate venues placed on the network.
    venues_off_network : int
    off_network_population : float
    by_area : list of dict
        ``{area_id, name, total_population, covered_population,
        covered_share}`` as :func:`compute_coverage` gives them (plus the
        row outside every area when there is such demand).
    catchments : list of dict
        ``{venue, code, name, population, share}``, as compute_coverage.
    time_s : float64[M]
        Each demand point's time to its nearest venue when covered, else inf.
    venue : int64[M]
        That venue (position / id) when covered, else -1.
    parts : list of dict
        Per part: ``label``, ``points``, ``nodes``, ``edges``, ``venues``,
        ``sent_mb`` (arrays sent), ``seconds`` (on the worker), ``pid``.
    workers : dict
        Per worker process (pid): ``{parts, peak_rss_mb, rss_file_mb}``
        (peak resident memory, and the most of it seen file-backed at the
        end of a part: libraries and the shared memory-mapped network).
    gaps : list of dict or None
        With ``gaps=True``: the gap polygons as compute_coverage's GeoJSON
        features (same order, ids and members).
    timings_s : dict
        ``plan``, ``parts`` (wall time of the distributed phase), ``merge``.
    plan_pairs : (int64[P], int64[P]) or None
        With ``candidates``: the parts' coverage-set pairs (demand position,
        candidate position), unordered (:mod:`geosvc.distributed.plans`).
    """

    mode: str
    minutes: float
    total_population: float
    covered_population: float
    venues_used: int
    venues_off_network: int
    off_network_population: float
    by_area: list[dict[str, Any]]
    catchments: list[dict[str, Any]]
    time_s: NDArray[np.float64]
    venue: NDArray[np.int64]
    parts: list[dict[str, Any]]
    workers: dict[int, dict[str, Any]]
    warnings: tuple[dict[str, str], ...] = ()
    timings_s: dict[str, float] = field(default_factory=dict)
    gaps: list[dict[str, Any]] | None = None
    plan_pairs: tuple[NDArray[np.int64], NDArray[np.int64]] | None = None

    @property
    def covered(self) -> NDArray[np.bool_]:
        """Per demand point: reached within the limit."""
        return self.venue >= 0

    @property
    def covered_share(self) -> float:
        """Covered / total residents (0 when nobody lives there)."""
        return _share(self.covered_population, self.total_population)

    def to_dict(self) -> dict[str, Any]:
        """Return the document: figures, ``by_area``, ``catchments``, ``parts``, ``workers``."""
        known = self.total_population > 0
        return {
            "mode": self.mode, "minutes": _num(self.minutes),
            "total_population": _round(self.total_population) if known else None,
            "covered_population": _round(self.covered_population) if known else None,
            "covered_share": round(self.covered_share, 4) if known else None,
            "venues_used": self.venues_used, "venues_off_network": self.venues_off_network,
            "off_network_population": (_round(self.off_network_population)
                                       if known else None),
            "uncovered_points": int((~self.covered).sum()),
            "by_area": [dict(r) for r in self.by_area],
            "catchments": [dict(c) for c in self.catchments],
            "parts": [dict(p) for p in self.parts],
            "workers": [{"pid": pid, **w} for pid, w in sorted(self.workers.items())],
            "timings_s": dict(self.timings_s),
            "warnings": [dict(w) for w in self.warnings],
            **({} if self.gaps is None else {"gaps": {
                "type": "FeatureCollection", "features": list(self.gaps),
                "numberMatched": len(self.gaps), "numberReturned": len(self.gaps)}}),
        }

    def gap_points(self, demand: DemandSet) -> list[dict[str, Any]]:
        """Return the uncovered points with residents: ``{lon, lat, residents, area_id}``."""
        sel = np.flatnonzero(~self.covered & (demand.count > 0))
        codes = [a.code for a in demand.areas]
        return [{"lon": round(float(demand.lon[i]), 6), "lat": round(float(demand.lat[i]), 6),
                 "residents": _round(demand.count[i]),
                 "area_id": codes[int(demand.area[i])] if demand.area[i] >= 0 else None}
                for i in sel]


def run_province(
    net: RoadNetwork,
    demand: DemandSet,
    venues: Snapped,
    *,
    venue_ids: NDArray[np.int64] | None = None,
    minutes: float = 10.0,
    walk_speed_mps: float,
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
    candidates: Snapped | None = None,
    plan_rows: NDArray[np.bool_] | None = None,
    basis: SnapBasis | None = None,
) -> ProvinceResult:
    """Compute the coverage of ``demand`` by ``venues`` part by part (see the module).

    Parameters
    ----------
    net : RoadNetwork
        The full network; ``venues`` snapped to it, and ``demand`` too
        unless ``snap_in_parts``.
    demand : DemandSet
        :func:`~geosvc.analysis.demand.build_demand` on ``net`` (with
        ``snap_in_parts`` its ``snapped`` is not read: any placeholder).
    venues : Snapped
        The candidate venues in the order of the single-process pass (e.g.
        ``router.venues.take(positions)`` with ascending positions).
    venue_ids : int64[V], optional
        Their ids (venue positions); default ``arange(V)``.
    minutes : float
        The service-circle limit, minutes (> 0, <= 240).
    walk_speed_mps : float
        Access-leg speed, m/s (the router's / engine's).
    partition : str
        ``area`` / ``county`` (the dataset's areas) or ``grid:<km>``.
    scheduler : str or distributed.Client
        ``local``, ``inline``, a Dask scheduler address, or a Client.
    workers : int, optional
        Worker processes of the local cluster (default: CPUs, at most parts).
    venue_labels : sequence of (code, name), optional
        Per venue position, for the catchment rows.
    progress : bool or callable(done, total)
        True: a tqdm bar on stderr (parts done / planned).
    shared : bool or str, optional
        Workers read the network from memory-mapped files
        (:mod:`~geosvc.distributed.shared`) and cut their parts themselves;
        a str is the directory to write them in (a subdirectory is made and
        removed; it must be visible to every worker).  None (default): files
        in a temporary directory for ``local`` / ``inline`` / a Client of a
        cluster of this process, arrays sent by the driver for a scheduler
        address (its workers may not see this machine's disks).
    snap_in_parts : bool
        Each part snaps its own points
        (:func:`~geosvc.distributed.snapping.snap_local`, the full network's
        answer) within ``max_snap_m`` with ``min_component_nodes``; the driver
        never builds the whole network's snapping index.  Needs ``shared``.
    gaps : bool
        Also the gap polygons, equal to
        :func:`~geosvc.analysis.coverage.compute_coverage`'s (default
        ``gap_radius_m`` and street buffer): the parts' sub-networks are
        widened so that every node near an uncovered resident gets its exact
        time, and the driver draws the covered raster from the merged node
        times (one O(E) pass over the network, a slice of streets at a time).
    basis : SnapBasis, optional
        :func:`~geosvc.distributed.snapping.snap_basis` of ``net`` with
        ``min_component_nodes``, when the caller has it already (e.g. from
        snapping the venues): not computed (nor held) twice.

    Memory of the driver: besides what the caller holds (the network, the
    demand), the O(network) passes run a slice at a time, the network's
    part index is dropped once written to the files (even if the caller's
    snapping built it: it is rebuilt on use), and the parts' answers are
    written into preallocated arrays and dropped as they are merged.

    Raises
    ------
    InvalidParameter
        Bad ``minutes``, ``partition``, ``scheduler``, ``workers``,
        ``snap_in_parts`` without ``shared``, or a ``basis`` of another
        threshold.
    ConfigError
        Dask is not installed, or the scheduler cannot be reached.
    """
    ids = _checked(minutes, workers, venues, venue_ids)
    placed = None if snap_in_parts else demand.snapped
    if not snap_in_parts and not isinstance(placed, Snapped):
        raise InvalidParameter("demand", "must be snapped to the road network (a Snapped)")
    use_files = _use_files(shared, scheduler)
    if snap_in_parts and not use_files:
        raise InvalidParameter("snap_in_parts", "needs the shared files (`shared`)")
    limit = float(minutes) * 60.0
    timings: dict[str, float] = {}
    cached = set(net.__dict__)  # the caches this run adds to `net` are dropped once written
    t0 = time.perf_counter()
    plans = plan_parts(demand, partition, snapped_only=not (snap_in_parts or gaps))
    radius = buffer_radius_m(net, minutes, walk_speed_mps)
    basis = _basis_of(net, basis, min_component_nodes) if snap_in_parts else None
    if gaps:
        radius += gap_margin_m(net, gap_radius_m, basis, demand=demand)
    prepare(net)
    timings["plan"] = time.perf_counter() - t0
    sizes: dict[str, int] = {}
    tmp: str | None = None
    try:
        if use_files:
            t0 = time.perf_counter()
            root = shared if isinstance(shared, str) else None
            tmp = tempfile.mkdtemp(prefix="geosvc-province-", dir=root)
            write_shared(tmp, net, demand_x=demand.x, demand_y=demand.y,
                         demand=placed if isinstance(placed, Snapped) else None,
                         venues=venues, venue_ids=ids, basis=basis, max_snap_m=max_snap_m,
                         candidates=candidates)
            timings["write"] = time.perf_counter() - t0
            basis = None  # the running lengths (8 bytes a vertex) are in the files now
            _drop_caches(net, cached)
            # the part index (this package's cache, ~95 MB a million nodes) is in the
            # files too: dropped even when the caller's snapping built it (rebuilt on use)
            net.__dict__.pop(PART_INDEX_KEY, None)
            directory = tmp
            tasks: Iterator[tuple[Callable[..., dict[str, Any]], tuple[Any, ...]]] = (
                (shared_part, (directory, p.label, p.points, p.bbox, limit, walk_speed_mps,
                               radius, gaps, _rows_of(plan_rows, p.points)))
                for p in plans)
        else:
            if not isinstance(placed, Snapped):  # pragma: no cover - refused above
                raise InvalidParameter("snap_in_parts", "needs the shared files (`shared`)")
            snapped_demand = placed

            def sent() -> Iterator[tuple[Callable[..., dict[str, Any]], tuple[Any, ...]]]:
                for p in plans:
                    a = part_arrays(net, p, snapped_demand, venues, ids, radius_m=radius,
                                    candidates=candidates)
                    rows = _rows_of(plan_rows, p.points)
                    if rows is not None:
                        a["plan_rows"] = rows
                    sizes[p.label] = part_nbytes(a)
                    yield part_task, (a, limit, walk_speed_mps, gaps)
            tasks = sent()
        t0 = time.perf_counter()
        tick = progress_ticker(progress, len(plans), unit="part", desc="province")
        try:
            if scheduler == "inline":
                outs = []
                for fn, args in tasks:
                    outs.append(fn(*args))
                    tick(1)
            else:
                outs = _run_dask(tasks, scheduler,
                                 workers or max(1, min(len(plans), os.cpu_count() or 1)),
                                 connect_timeout_s, tick, throttle=not use_files)
        finally:
            tick(None)
        timings["parts"] = time.perf_counter() - t0
    finally:
        _drop_caches(net, cached)
        if tmp is not None:
            open_shared.cache_clear()  # inline: this process's maps of the files
            shutil.rmtree(tmp, ignore_errors=True)
    t0 = time.perf_counter()
    # each step takes (pops) the parts' arrays it merges: none is held twice
    ok = (np.asarray(placed.ok) if isinstance(placed, Snapped)
          else _placed_of(len(demand.x), outs))
    pairs = _pairs_of(outs) if candidates is not None else None
    node_times = _node_times_of(net.n_nodes, outs) if gaps else None
    result = _merge(net.mode, float(minutes), demand, ok, venues, outs, sizes, venue_labels,
                    limit)
    del outs
    if pairs is not None:
        result = dataclasses.replace(result, plan_pairs=pairs)
    timings["merge"] = time.perf_counter() - t0
    if node_times is not None:
        t0 = time.perf_counter()
        result = dataclasses.replace(result, gaps=_gap_features(
            net, demand, venues, ids, node_times, result, limit, walk_speed_mps,
            gap_radius_m))
        timings["gaps"] = time.perf_counter() - t0
    result.timings_s.update({k: round(v, 4) for k, v in timings.items()})
    return result


def _checked(minutes: Any, workers: Any, venues: Snapped,
             venue_ids: NDArray[np.int64] | None) -> NDArray[np.int64]:
    """Check ``minutes`` and ``workers``; return the venue ids (default ``arange``)."""
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or \
            not (0 < float(minutes) <= 240):
        raise InvalidParameter("minutes", f"must be > 0 and <= 240, not {minutes!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise InvalidParameter("workers", f"must be an integer >= 1, not {workers!r}")
    ids = (np.arange(len(venues), dtype=np.int64) if venue_ids is None
           else np.asarray(venue_ids, dtype=np.int64))
    if len(ids) != len(venues):
        raise InvalidParameter("venue_ids", f"must have one id per venue ({len(venues)})")
    return ids


def _basis_of(net: RoadNetwork, basis: SnapBasis | None,
              min_component_nodes: int | None) -> SnapBasis:
    """Return the caller's snapping basis (checked) or the network's, computed now."""
    if basis is None:
        return snap_basis(net, min_component_nodes)
    if basis.threshold != snap_basis_threshold(min_component_nodes):
        msg = (f"has threshold {basis.threshold}, not the `min_component_nodes` "
               f"{min_component_nodes!r} of this run")
        raise InvalidParameter("basis", msg)
    return basis


def _drop_caches(net: RoadNetwork, keep: set[str]) -> None:
    """Drop the caches the run added to ``net`` (its CSR, components, part index).

    They are rebuilt on demand; at 10 M nodes they hold about 2 GB the driver
    does not need while the parts run.
    """
    for key in set(net.__dict__) - keep:
        del net.__dict__[key]


def _use_files(shared: bool | str | None, scheduler: Any) -> bool:
    """Whether the workers read the network from files (see ``run_province``'s ``shared``)."""
    if shared is not None:
        return bool(shared)
    if scheduler in (None, "local", "inline"):
        return True
    if isinstance(scheduler, str):
        return scheduler.startswith("inproc://")
    return getattr(scheduler, "cluster", None) is not None  # a Client of a cluster made here


def _rows_of(rows: NDArray[np.bool_] | None,
             points: NDArray[np.int64]) -> NDArray[np.bool_] | None:
    """Return ``rows`` at the part's ``points`` (None stays None)."""
    return None if rows is None else np.asarray(rows, dtype=bool)[points]


def _placed_of(m: int, outs: list[dict[str, Any]]) -> NDArray[np.bool_]:
    """Per demand point: placed on the network (the parts' snapping; popped)."""
    ok = np.zeros(m, dtype=bool)
    for o in outs:
        ok[o["points"]] = o.pop("snapped")
    return ok


def _pairs_of(outs: list[dict[str, Any]]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Return the parts' coverage-set pairs (popped), written into two preallocated arrays."""
    n = sum(len(o["pair_point"]) for o in outs)
    rows, cols = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    k = 0
    for o in outs:
        p, c = o.pop("pair_point"), o.pop("pair_cand")
        rows[k:k + len(p)], cols[k:k + len(c)] = p, c
        o["plan_pairs"] = len(p)
        k += len(p)
    return rows, cols


def _node_times_of(n_nodes: int, outs: list[dict[str, Any]]) -> NDArray[np.float64]:
    """Return each node's least time the parts found (inf: none); their arrays popped."""
    times = np.full(n_nodes, np.inf)
    for o in outs:
        np.minimum.at(times, o.pop("reached_nodes"), o.pop("reached_time_s"))
    return times


#: Streets cut and marked on the gap raster at a time (bounds the driver's memory).
_MARK_CHUNK = 100_000


def gap_margin_m(net: RoadNetwork, gap_radius_m: float, basis: Any = None, *,
                 demand: DemandSet | None = None) -> float:
    """Return how much wider a part's buffer must be for exact gap polygons, metres.

    A covered raster cell matters to the gaps only within the gap radius
    (plus two coarse cells) of an uncovered point; it is covered through
    the street buffer (plus two fine cells) by a piece of an edge ``u -> v``
    drawn from ``v``, whose twin is drawn from ``u``: both ends within the
    edge's length.  Those nodes need their exact time, which the part has
    when its buffer reaches ``minutes x speed`` beyond them
    (:mod:`~geosvc.distributed.partition`).  Hence
    ``gap_radius + 2 coarse + buffer + 2 fine + 2 x longest edge``, with
    the fine cell of the raster the single process draws (``buffer / 2.5``,
    larger for an extent past ``MAX_CELLS``: the network's nodes and the
    ``demand``).
    """
    buffer_m = default_buffer_m(net.mode)
    cell = buffer_m / 2.5
    if demand is not None and net.n_nodes:  # the raster of routing.road.pass_reached
        gx0 = min(float(net.node_x.min()), float(np.min(demand.x, initial=np.inf)))
        gy0 = min(float(net.node_y.min()), float(np.min(demand.y, initial=np.inf)))
        gx1 = max(float(net.node_x.max()), float(np.max(demand.x, initial=-np.inf)))
        gy1 = max(float(net.node_y.max()), float(np.max(demand.y, initial=-np.inf)))
        cell = Raster.around(gx0, gy0, gx1, gy1, cell, max(buffer_m, gap_radius_m)).cell
    coarse = max(1, int(round(gap_radius_m / 2 / cell))) * cell
    longest = float(basis.longest_m) if basis is not None else longest_edge_m(net)
    margin = gap_radius_m + 2 * coarse * math.sqrt(2) + buffer_m + 2 * cell * math.sqrt(2)
    return margin + 2 * longest + 1.0


def _gap_features(net: RoadNetwork, demand: DemandSet, venues: Snapped, ids: NDArray[np.int64],
                  times: NDArray[np.float64], result: ProvinceResult, limit: float,
                  walk_speed_mps: float, gap_radius_m: float) -> list[dict[str, Any]]:
    """Return the gap polygons of the merged answer (compute_coverage's recipe).

    From the merged node times: each node's time is the least the parts
    found: never below the full network's (a part's paths are the
    network's), and equal wherever a part's buffer held the node's best
    path, which :func:`gap_margin_m` ensures near every uncovered resident.
    """
    nt = NodeTimes(time_s=times, source=np.full(net.n_nodes, -1, dtype=np.int64),
                   next_node=np.full(net.n_nodes, -1, dtype=np.int32), sources=venues,
                   source_ids=ids, walk_speed_mps=walk_speed_mps, cutoff_s=limit)
    # routing.road.pass_reached's raster, its pieces cut and marked a slice of streets
    # at a time: the slices are pass_pieces' pieces, bit for bit, and the marks of a
    # segment are its own (samples along it), so the union is the same, without the
    # pieces and samples of every reached street at once (GBs at 10 M nodes)
    buffer_m = default_buffer_m(net.mode)
    raster = Raster.around(
        min(float(net.node_x.min()), float(np.min(demand.x, initial=np.inf))),
        min(float(net.node_y.min()), float(np.min(demand.y, initial=np.inf))),
        max(float(net.node_x.max()), float(np.max(demand.x, initial=-np.inf))),
        max(float(net.node_y.max()), float(np.max(demand.y, initial=-np.inf))),
        buffer_m / 2.5, max(buffer_m, gap_radius_m))
    marked = np.zeros((raster.ny, raster.nx), dtype=bool)
    for pieces in pass_piece_chunks(net, nt, limit, walk_speed_mps, chunk_edges=_MARK_CHUNK):
        marked |= raster.mark_pieces(pieces)
    del nt
    covered_mask = raster.dilate(marked, buffer_m)

    def back(geom: Any) -> Any:
        return to_lonlat(net, geom)

    return gap_features(back, raster, covered_mask, demand, ~result.covered, gap_radius_m)


def _merge(mode: str, minutes: float, demand: DemandSet, placed: NDArray[np.bool_],
           venues: Snapped, outs: list[dict[str, Any]], sizes: dict[str, int],
           labels: Sequence[tuple[str, str]] | None, limit: float) -> ProvinceResult:
    """Assemble the parts' answers into the dataset's (the rules of compute_coverage)."""
    m = len(demand.x)
    time_s = np.full(m, np.inf)
    venue = np.full(m, -1, dtype=np.int64)
    parts: list[dict[str, Any]] = []
    per_worker: dict[int, dict[str, Any]] = {}
    for o in sorted(outs, key=lambda o: o["label"]):
        points = o.pop("points")
        time_s[points] = o.pop("time_s")
        venue[points] = o.pop("venue")
        row = {"label": o["label"], "points": len(points), "nodes": o["nodes"],
               "edges": o["edges"], "venues": o["venues"],
               "sent_mb": round(sizes.get(o["label"], 0) / 1e6, 1),
               "seconds": round(o["seconds"], 3), "pid": o["pid"]}
        if "prepare_s" in o:
            row["prepare_s"] = round(o["prepare_s"], 3)
        if "plan_s" in o:
            row["plan_s"] = round(o["plan_s"], 3)
            row["plan_pairs"] = o["plan_pairs"]
        parts.append(row)
        w = per_worker.setdefault(int(o["pid"]), {"parts": 0, "peak_rss_mb": 0.0,
                                                  "rss_file_mb": 0.0})
        w["parts"] += 1
        w["peak_rss_mb"] = round(max(w["peak_rss_mb"], o["peak_rss_mb"]), 1)
        w["rss_file_mb"] = round(max(w["rss_file_mb"], o.get("rss_file_mb", 0.0)), 1)
    covered = (time_s <= limit) & (venue >= 0)
    count = demand.count
    total = float(count.sum())
    covered_pop = float(count[covered].sum())
    n_placed = int(venues.ok.sum())
    return ProvinceResult(
        mode=mode, minutes=minutes, total_population=total, covered_population=covered_pop,
        venues_used=n_placed, venues_off_network=len(venues) - n_placed,
        off_network_population=float(count[~placed].sum()),
        by_area=area_rows(demand, covered, known=total > 0),
        catchments=catchment_rows(venue, covered, count, covered_pop, labels),
        time_s=time_s, venue=venue, parts=parts, workers=per_worker,
        warnings=tuple(population_warnings(m, total)), timings_s={})


def _run_dask(tasks: Iterator[tuple[Callable[..., dict[str, Any]], tuple[Any, ...]]],
              scheduler: Any, workers: int, timeout_s: float,
              tick: Callable[[int | None], None], *, throttle: bool) -> list[dict[str, Any]]:
    """Run the parts' tasks on Dask; gather the answers as they complete.

    ``throttle`` (parts sent as arrays): each task's arrays are scattered
    (not embedded in the graph) and built only when a slot frees, two per
    worker in flight, so the driver holds at most ``2 x workers`` parts.
    Without it (shared files: a task is a name, point positions and a box)
    every task is submitted at once and the scheduler keeps the workers busy.
    """
    try:
        from distributed import Client, as_completed  # lazy: extra `distributed`
    except ImportError as exc:
        msg = "needs Dask: pip install 'geosvc[distributed]' (or use scheduler='inline')"
        raise ConfigError(f"`scheduler` {msg}") from exc
    own = not isinstance(scheduler, Client)
    client, cluster = (connect(scheduler, workers, timeout_s, memory_limit=0) if own
                       else (scheduler, None))
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})) or workers)
        pending = as_completed()
        stamp = time.time_ns()
        count = [0]

        def submit() -> bool:
            item = next(tasks, None)
            if item is None:
                return False
            fn, args = item
            if throttle:
                [data] = client.scatter([args[0]], hash=False)
                args = (data, *args[1:])
            fut = client.submit(fn, *args, key=f"geosvc-province-{stamp}-{count[0]}",
                                pure=False)
            count[0] += 1
            pending.add(fut)
            if throttle:
                data.release()
            return True

        while (not throttle or count[0] < 2 * n_workers) and submit():
            pass
        outs = []
        for fut in pending:
            if fut.status != "finished":
                err = fut.exception()
                msg = f"a part failed on its worker: {type(err).__name__}: {err}"
                raise ConfigError(msg)
            outs.append(fut.result())
            fut.release()
            tick(1)
            if throttle:
                submit()
        return outs
    finally:
        if own:
            client.close()
            if cluster is not None:
                cluster.close()
