"""Fan batch jobs out over Dask: one task per dataset, results as they complete.

``scheduler``:

* ``None`` / ``"local"`` - a :class:`distributed.LocalCluster` of worker
  *processes* (``workers`` of them, one thread each: the network code holds
  the GIL for parts of its work), started and closed by :func:`run_batch`;
* ``"tcp://host:8786"`` (any Dask address) - an existing cluster; its
  workers must see the same ``db`` / ``osm`` / output paths (a shared
  file system) and have geosvc installed;
* a :class:`distributed.Client` - used as is and left open;
* ``"inline"`` - no Dask: the jobs run one after another in this process
  (debugging, and the sequential baseline of the benchmark).

Needs the ``distributed`` extra (``pip install geosvc[distributed]``) unless
``scheduler="inline"``.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geosvc.distributed._progress import connect, progress_ticker
from geosvc.distributed.task import SUMMARY_FIELDS, error_rows, run_job
from geosvc.errors import ConfigError, InvalidParameter

if TYPE_CHECKING:
    from pathlib import Path

    from geosvc.config import Settings
    from geosvc.distributed.jobs import BatchJob

__all__ = ["run_batch", "write_summary"]



def run_batch(
    jobs: Sequence[BatchJob],
    *,
    scheduler: Any = None,
    settings: Settings,
    workers: int | None = None,
    progress: bool | Callable[[int, int], None] = False,
    connect_timeout_s: float = 10.0,
) -> list[dict[str, Any]]:
    """Compute the coverage of every job (dataset) and write its files; return the summary.

    Parameters
    ----------
    jobs : sequence of BatchJob
        Validated jobs (:func:`~geosvc.distributed.jobs.load_jobs`); names unique.
    scheduler : None, "local", "inline", Dask address or distributed.Client
        Where to run (module docstring).
    settings : Settings
        Sent to the workers as a plain dict (speeds, snapping, ``cache_dir``
        - relative paths are the workers' working directory's).
    workers : int, optional
        Local cluster size (default: min(number of jobs, CPU count)).
    progress : bool or callable(done, total)
        True draws a tqdm bar on stderr; a callable is called after each job.
    connect_timeout_s : float
        How long to wait for a remote scheduler, seconds.

    Returns
    -------
    list of dict
        One row per (dataset, mode, minutes) in job order, with
        :data:`~geosvc.distributed.task.SUMMARY_FIELDS`; a failed dataset's
        rows carry ``error`` (which dataset, why) and None figures.

    Raises
    ------
    InvalidParameter
        Duplicate job names (``jobs``), a bad ``scheduler`` or ``workers``.
    ConfigError
        The scheduler cannot be reached, or Dask is not installed.
    """
    counts = Counter(j.name for j in jobs)
    dup = sorted(n for n, c in counts.items() if c > 1)
    if dup:
        raise InvalidParameter("jobs", f"must have unique names; repeated: {dup}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise InvalidParameter("workers", f"must be an integer >= 1, not {workers!r}")
    cfg = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
    specs = [j.as_dict() for j in jobs]
    bar = progress_ticker(progress, len(specs), unit="dataset", desc="batch")
    try:
        if scheduler == "inline":
            results = {}
            for i, spec in enumerate(specs):
                results[i] = run_job(spec, cfg)
                bar(1)
        else:
            results = _run_dask(specs, cfg, scheduler, workers, connect_timeout_s, bar)
    finally:
        bar(None)
    return [row for i in range(len(specs)) for row in results[i]]


def _run_dask(specs: list[dict[str, Any]], cfg: dict[str, Any], scheduler: Any,
              workers: int | None, timeout_s: float,
              tick: Callable[[int | None], None]) -> dict[int, list[dict[str, Any]]]:
    """Submit one task per dataset and gather the rows as tasks complete."""
    try:
        from distributed import Client, as_completed  # lazy: extra `distributed`
    except ImportError as exc:
        msg = "needs Dask: pip install 'geosvc[distributed]' (or use scheduler='inline')"
        raise ConfigError(f"`scheduler` {msg}") from exc
    own_client = not isinstance(scheduler, Client)
    n = workers or max(1, min(len(specs), os.cpu_count() or 1))
    client, cluster = (connect(scheduler, n, timeout_s) if own_client
                       else (scheduler, None))
    try:
        futures = {}
        stamp = time.time_ns()
        for i, spec in enumerate(specs):
            fut = client.submit(run_job, spec, cfg, key=f"geosvc-batch-{stamp}-{i}",
                                pure=False, retries=0)
            futures[fut] = i
        results: dict[int, list[dict[str, Any]]] = {}
        for fut in as_completed(futures):
            i = futures[fut]
            if fut.status == "finished":
                results[i] = fut.result()
            else:
                results[i] = error_rows(specs[i], _failure(specs[i]["name"], fut))
            tick(1)
            fut.release()
        return results
    finally:
        if own_client:
            client.close()
            if cluster is not None:
                cluster.close()


def _failure(name: str, fut: Any) -> str:
    """Return the error message of a failed or cancelled task of dataset ``name``."""
    if fut.status == "error":
        exc = fut.exception()
        return f"dataset {name!r}: {type(exc).__name__}: {exc}"
    return f"dataset {name!r}: task {fut.status} (worker lost or client disconnected)"


def write_summary(rows: Sequence[dict[str, Any]], out_dir: str | Path) -> list[Path]:
    """Write ``summary.csv`` (UTF-8 with BOM) and ``summary.json`` into ``out_dir``.

    Returns the two paths.  Files are written under temporary names and renamed.
    """
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = d / "summary.csv", d / "summary.json"
    tmp = csv_path.with_name(".summary.csv.tmp")
    with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(SUMMARY_FIELDS), extrasaction="ignore")
        w.writeheader()
        for row in rows:
            w.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in SUMMARY_FIELDS})
    tmp.replace(csv_path)
    tmp = json_path.with_name(".summary.json.tmp")
    doc = {"rows": [{k: row.get(k) for k in SUMMARY_FIELDS} for row in rows],
           "failed": sorted({r["dataset"] for r in rows if r.get("error")})}
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(json_path)
    return [csv_path, json_path]
