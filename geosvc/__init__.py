"""geosvc: government-service map and geospatial locator.

Service halls, bank-outlet service points and 24/7 kiosks indexed in an
R-tree and linked to service items; nearest by travel time; 10-minute
service-circle coverage, gaps and site planning; Folium maps and a widget.
"""

from __future__ import annotations

__version__ = "0.1.0"

from geosvc.config import Settings
from geosvc.errors import GeosvcError

__all__ = ["GeosvcError", "Settings", "__version__"]
