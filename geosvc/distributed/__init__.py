"""Batch coverage for many datasets (cities, a province), fanned out over Dask.

* :mod:`~geosvc.distributed.jobs` - :class:`BatchJob`, :func:`load_jobs`
  (a YAML/JSON jobs file, validated as a whole before anything runs);
* :mod:`~geosvc.distributed.task` - :func:`run_job`, the work of one dataset
  (plain picklable arguments; runs on a Dask worker or in-process);
* :mod:`~geosvc.distributed.run` - :func:`run_batch` (one Dask task per
  dataset, results gathered as they complete) and :func:`write_summary`.

The CLI is ``geosvc batch JOBS.yaml --out DIR`` (:mod:`geosvc.commands.batch`).
Importing this package does not import Dask.
"""

from __future__ import annotations

from geosvc.distributed.jobs import BatchJob, load_jobs, parse_jobs
from geosvc.distributed.run import run_batch, write_summary
from geosvc.distributed.task import SUMMARY_FIELDS, run_job

__all__ = ["SUMMARY_FIELDS", "BatchJob", "load_jobs", "parse_jobs", "run_batch", "run_job",
           "write_summary"]
