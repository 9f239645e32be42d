"""The venue index: an immutable snapshot of venues, items and links, with a k-d tree.

:class:`ServiceIndex` answers bounding-box and exact nearest (great-circle)
queries with every venue filter of the API, returning integer positions
(one at a time, or batched with ``nearest_many``).
See the class docstring for the filter semantics and the algorithms.
"""

from __future__ import annotations

from geosvc.index._snapshot import PARTS_FORMAT, ServiceIndex

__all__ = ["PARTS_FORMAT", "ServiceIndex"]
