"""The application layer: use cases over typed requests and results.

Web views, CLI commands, batch tasks and page builders are thin adapters
that call these functions; nothing here imports Flask or draws.  Travel
queries (nearest, isochrones, coverage, plans): :mod:`geosvc.app.travel`;
the venue and item catalogue: :mod:`geosvc.app.venues`; imports:
:mod:`geosvc.app.importing`; the service and its snapshots:
:mod:`geosvc.app.service`; one dataset read whole: :mod:`geosvc.app.dataset`.
"""

from __future__ import annotations

from geosvc.app.travel import (
    CoverageRequest,
    IsochronesRequest,
    NearestRequest,
    PlanRequest,
    find_isochrones,
    find_nearest,
    measure_coverage,
    plan_new_sites,
)

__all__ = [
    "CoverageRequest",
    "IsochronesRequest",
    "NearestRequest",
    "PlanRequest",
    "find_isochrones",
    "find_nearest",
    "measure_coverage",
    "plan_new_sites",
]
