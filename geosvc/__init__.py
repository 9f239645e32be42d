"""geosvc: government-service map and geospatial locator.

Service halls, bank-outlet service points and 24/7 kiosks in a spatial
index (a k-d tree) and linked to service items; nearest by travel time;
10-minute service-circle coverage, gaps and site planning; Folium maps and a
widget.

The names below are the public entry points; the code lives in the
sub-packages.  Heavy ones are imported on first use, so ``import geosvc``
(and the CLI's start-up) stays cheap.

Examples
--------
>>> import geosvc
>>> geosvc.Settings().walk_speed_kph
4.5
>>> geosvc.ServiceIndex.__name__
'ServiceIndex'
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

from geosvc.config import Settings
from geosvc.errors import GeosvcError

#: public name -> module that defines it (imported lazily)
_LAZY = {
    "ServiceIndex": "geosvc.index",
    "GeoService": "geosvc.app.service",
    "open_store": "geosvc.store",
    "import_file": "geosvc.importer",
    "import_manifest": "geosvc.importer",
    "load_network": "geosvc.network.cache",
    "TravelEngine": "geosvc.network.nearest",
    "compute_coverage": "geosvc.analysis.coverage",
    "isochrone_polygons": "geosvc.analysis.isochrone",
    "plan_sites": "geosvc.analysis.planning.plan",
    "ensure_demo_db": "geosvc.demo",
}

__all__ = ["GeosvcError", "Settings", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module 'geosvc' has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
