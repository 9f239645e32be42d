"""Coverage sets of planning: which demand points reach which candidate site.

The road-network implementation lives in :mod:`geosvc.network.reach` (below
the routers, which use it); :meth:`geosvc.routing.base.Router.reach_sets`
is the mode-independent entry point.  Re-exported here for callers of the
planning package.
"""

from __future__ import annotations

from geosvc.network.reach import coverage_sets

__all__ = ["coverage_sets"]
