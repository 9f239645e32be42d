"""Batch coverage for many datasets (cities, a province), fanned out over Dask.

* :mod:`~geosvc.distributed.jobs` - :class:`BatchJob`, :func:`load_jobs`
  (a YAML/JSON jobs file, validated as a whole before anything runs);
* :mod:`~geosvc.distributed.task` - :func:`run_job`, the work of one dataset
  (plain picklable arguments; runs on a Dask worker or in-process);
* :mod:`~geosvc.distributed.run` - :func:`run_batch` (one Dask task per
  dataset, results gathered as they complete) and :func:`write_summary`;
* :mod:`~geosvc.distributed.partition` - parts of ONE dataset by area or grid
  square, each with the sub-network within its travel-time buffer;
* :mod:`~geosvc.distributed.parts` - the work of one part on a worker;
* :mod:`~geosvc.distributed.shared` - the run's network, residents and
  venues as files the workers memory-map;
* :mod:`~geosvc.distributed.snapping` - snapping on the network around the
  points, equal to snapping on the whole network;
* :mod:`~geosvc.distributed.province` - :func:`run_province`: one large
  dataset's coverage, part by part on Dask, merged (equal to the
  single-process answer);
* :mod:`~geosvc.distributed.plans` - :func:`plan_province`: one large
  dataset's site plan, its coverage sets computed in the same parts (equal
  to :func:`~geosvc.analysis.planning.plan.plan_sites`).

The CLIs are ``geosvc batch JOBS.yaml --out DIR`` (:mod:`geosvc.commands.batch`)
and ``geosvc province`` (:mod:`geosvc.commands.province`).
Importing this package does not import Dask.
"""

from __future__ import annotations

from geosvc.distributed.jobs import BatchJob, load_jobs, parse_jobs
from geosvc.distributed.plans import ProvincePlan, plan_province
from geosvc.distributed.province import ProvinceResult, run_province
from geosvc.distributed.run import run_batch, write_summary
from geosvc.distributed.task import SUMMARY_FIELDS, run_job

__all__ = ["SUMMARY_FIELDS", "BatchJob", "ProvincePlan", "ProvinceResult", "load_jobs",
           "parse_jobs", "plan_province", "run_batch", "run_job", "run_province",
           "write_summary"]
