"""The venue index: an immutable R-tree snapshot of venues, items and links.

:class:`ServiceIndex` answers bounding-box and exact nearest (great-circle)
queries with every venue filter of the API, returning integer positions.
See the class docstring for the filter semantics and the algorithms.
"""

from __future__ import annotations

from geosvc.index._snapshot import ServiceIndex

__all__ = ["ServiceIndex"]
