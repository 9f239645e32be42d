"""The work of one batch job (one dataset), as run on a Dask worker or in-process.

:func:`run_job` takes and returns plain picklable values: the job as
:meth:`BatchJob.as_dict` and the settings as a dict of
:class:`~geosvc.config.Settings` fields.  Per dataset it reads the store
once, builds the venue index and parses the filters once; per mode it loads
the network (:func:`~geosvc.network.cache.load_network`, on-disk cache),
takes the demand with the documented fallbacks
(:func:`~geosvc.analysis.demand.demand_inputs`, the OSM estimate computed at
most once per dataset), snaps it once and builds one travel engine; every
``minutes`` then reuses the engine's cached multi-source pass.  This is the
recipe of ``geosvc coverage``, so the figures are the CLI's.

A problem with the dataset (unreadable store, missing extract, bad filter
for this dataset, ...) does not raise: the rows it concerns carry an
``error`` naming the dataset and the reason.  A problem with one mode only
fails that mode's rows.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geosvc.analysis.coverage import compute_coverage
from geosvc.analysis.curves import CURVE_MINUTES, share_curves
from geosvc.analysis.demand import estimate_population_from_osm
from geosvc.analysis.output import coverage_document
from geosvc.api import load_dataset
from geosvc.app.dataset import filter_positions, travel_inputs
from geosvc.config import Settings
from geosvc.distributed.jobs import BatchJob
from geosvc.errors import GeosvcError
from geosvc.formats import COVERAGE, Output, write_output
from geosvc.model import VenueFilter, VenueKind

if TYPE_CHECKING:
    from collections.abc import Mapping

    from geosvc.config import Settings
    from geosvc.distributed.jobs import BatchJob

__all__ = ["SUMMARY_FIELDS", "error_rows", "minutes_label", "run_job"]

#: Columns of a summary row, in order.
SUMMARY_FIELDS = ("dataset", "mode", "minutes", "total_population", "covered_population",
                  "covered_share", "venues_used", "gaps", "seconds", "error")


def minutes_label(minutes: float) -> str:
    """Return minutes as written in file names: ``10``, ``7.5``.

    Examples
    --------
    >>> minutes_label(10.0), minutes_label(7.5)
    ('10', '7.5')
    """
    return f"{minutes:g}"


def error_rows(job: Mapping[str, Any], reason: str, modes: Any = None,
               seconds: float = 0.0) -> list[dict[str, Any]]:
    """Return one failed summary row per (mode, minutes) of ``job`` (or of ``modes``)."""
    rows: list[dict[str, Any]] = []
    for mode in (modes if modes is not None else job["modes"]):
        for m in job["minutes"]:
            rows.append({"dataset": job["name"], "mode": mode, "minutes": _num(m),
                         "total_population": None, "covered_population": None,
                         "covered_share": None, "venues_used": None, "gaps": None,
                         "seconds": round(seconds, 3), "error": reason})
            seconds = 0.0
    return rows


def run_job(job: Mapping[str, Any], settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Compute and write the coverage of one dataset; return its summary rows.

    Parameters
    ----------
    job : mapping
        :meth:`~geosvc.distributed.jobs.BatchJob.as_dict` of a validated job.
    settings : mapping
        Field values of :class:`~geosvc.config.Settings` (``cache_dir``,
        speeds, snapping, ...), e.g. ``dataclasses.asdict(settings)``.

    Returns
    -------
    list of dict
        One row per (mode, minutes) with :data:`SUMMARY_FIELDS`; ``seconds``
        is the wall time of the row's work (the first row of each mode also
        carries loading the network and snapping the demand; the first row
        of the job also reading the store).  ``error`` is None on success.
    """
    spec = BatchJob.from_dict(job)
    started = time.perf_counter()
    try:
        cfg = Settings(**dict(settings))
        data = _load_dataset(spec, cfg)
    except (GeosvcError, OSError) as exc:
        return error_rows(job, _reason(spec, exc), seconds=time.perf_counter() - started)
    rows: list[dict[str, Any]] = []
    lead = time.perf_counter() - started
    for mode in spec.modes:
        t0 = time.perf_counter()
        try:
            rows += _run_mode(spec, cfg, data, mode, lead)
        except (GeosvcError, OSError) as exc:
            rows += error_rows(job, _reason(spec, exc, mode), modes=[mode],
                               seconds=lead + time.perf_counter() - t0)
        lead = 0.0
    return rows


def _reason(spec: BatchJob, exc: BaseException, mode: str | None = None) -> str:
    """``dataset 'x' (walk): <what went wrong>``."""
    detail = exc.detail if isinstance(exc, GeosvcError) else str(exc)
    where = f" ({mode})" if mode else ""
    return f"dataset {spec.name!r}{where}: {detail}"


def _load_dataset(spec: BatchJob, cfg: Settings) -> dict[str, Any]:
    """Read the store, build the index, parse the filters (once per dataset; the CLI's)."""
    return {**load_dataset(spec.db, cfg, dict(spec.filters)), "osm_cells": {}}


def _run_mode(spec: BatchJob, cfg: Settings, data: dict[str, Any], mode: str,
              lead: float) -> list[dict[str, Any]]:
    """Build the ``mode`` router and demand, compute and write every ``minutes``."""
    t0 = time.perf_counter()
    idx, flt = data["index"], data["filter"]
    memo: dict[tuple[str, float], Any] = data["osm_cells"]

    def estimate(path: str, floor_area: float) -> Any:
        if (path, floor_area) not in memo:
            memo[path, floor_area] = estimate_population_from_osm(
                path, floor_area_per_person_m2=floor_area)
        return memo[path, floor_area]

    inputs = travel_inputs(idx, data["population"], data["areas"], mode, settings=cfg,
                           osm=spec.osm, estimate=estimate)
    engine, demand = inputs.router, inputs.demand
    labels = [(v.code, v.name) for v in idx.venues]
    key = ("batch", flt.cache_key(), flt.open_at)
    prefix = Path(spec.out)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    setup = lead + time.perf_counter() - t0
    for minutes in spec.minutes:
        t1 = time.perf_counter()
        result = compute_coverage(engine, demand, candidates=data["candidates"],
                                  minutes=minutes, key=key, venue_labels=labels,
                                  gap_radius_m=spec.gap_radius_m)
        stem = f"{prefix.name}_{mode}_{minutes_label(minutes)}min"
        output = Output(COVERAGE, coverage_document(result))
        for suffix in (".json", ".csv"):
            write_output(output, prefix.with_name(stem + suffix))
        known = result.has_population  # no residents: null shares, never a fake 0 %
        rows.append({"dataset": spec.name, "mode": mode, "minutes": _num(minutes),
                     "total_population": round(result.total_population, 1) if known else None,
                     "covered_population": (round(result.covered_population, 1)
                                            if known else None),
                     "covered_share": round(result.covered_share, 4) if known else None,
                     "venues_used": int(result.venues_used), "gaps": len(result.gaps),
                     "seconds": round(setup + time.perf_counter() - t1, 3), "error": None})
        setup = 0.0
    if spec.curves:
        t1 = time.perf_counter()
        _write_curves(spec, engine, demand, idx, flt, data["candidates"], key, mode, prefix)
        rows[-1]["seconds"] = round(rows[-1]["seconds"] + time.perf_counter() - t1, 3)
    return rows


def _write_curves(spec: BatchJob, engine: Any, demand: Any, idx: Any, flt: Any,
                  chosen: Any, key: Any, mode: str, prefix: Path) -> Path:
    """Write ``<prefix>_<mode>_curves.csv``: label, minutes, covered_share.

    One pass per set: each venue kind, every venue, and the job's selection
    (the filter's time and candidate options apply to every set, as in the
    coverage report's chart).
    """
    sets: dict[str, tuple[Any, Any]] = {}
    for label, kinds in [*((str(k), (k,)) for k in VenueKind), ("all", ())]:
        f = VenueFilter(kinds=kinds, open_at=flt.open_at,
                        include_candidates=flt.include_candidates)
        sets[label] = (filter_positions(idx, f), ("batch-curve", f.cache_key(), f.open_at))
    sets["selection"] = (chosen, key)
    minutes = sorted(set(CURVE_MINUTES) | set(spec.minutes))
    curves = share_curves(engine, demand, sets, minutes)
    path = prefix.with_name(f"{prefix.name}_{mode}_curves.csv")
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["set", "minutes", "covered_share"])
        for label, points in curves.items():
            for m, share in points:
                w.writerow([label, _num(m), round(share, 4)])
    tmp.replace(path)
    return path


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else float(v)
