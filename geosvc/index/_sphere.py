"""Geometry helpers of the venue index: unit vectors, haversine, R-tree wrappers.

Nearest-neighbour search runs on **3-D unit vectors** (points on the unit
sphere).  The Euclidean (chord) distance between two unit vectors is
``2 sin(d / 2R)`` for a great-circle distance ``d``: strictly increasing in
``d``, so the chord order *is* the great-circle order, at every latitude,
across the antimeridian and at the poles.  There is no projection and no
scaling error to bound; only floating-point rounding remains (about 1e-9 m),
which :data:`TIE_TOL_M` covers.

Bounding-box search runs on 2-D lon/lat points in shapely's ``STRtree``,
which measured about 5x (small boxes) to 30x (large boxes) faster than
``rtree``'s ``intersection`` on the same points (``scripts/bench_index.py``).
"""

from __future__ import annotations

import math
import threading
from typing import Final

import numpy as np
from numpy.typing import NDArray
from rtree import index as rtree_index

from geosvc.coords import EARTH_RADIUS_M

#: Two distances closer than this (metres) are treated as possibly tied by
#: rounding when deciding whether more candidates must be fetched.
TIE_TOL_M: Final = 1e-6

# Node capacities of the 3-D rtree: measured 16 us per k=5 query at 100k
# points with 16-24, 27 us with the library default of 100.
_RTREE_CAPACITY: Final = 20


def unit_vectors(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return the (N, 3) unit vectors of points given in WGS-84 degrees (spherical model).

    Examples
    --------
    >>> unit_vectors(np.array([0.0, 90.0]), np.array([0.0, 0.0])).round(12)
    array([[1., 0., 0.],
           [0., 1., 0.]])
    """
    x = np.radians(lon)
    y = np.radians(lat)
    cy = np.cos(y)
    return np.ascontiguousarray(np.column_stack([cy * np.cos(x), cy * np.sin(x), np.sin(y)]))


def unit_vector(lon: float, lat: float) -> tuple[float, float, float]:
    """Return the unit vector of one point (degrees) as a tuple of floats."""
    x = math.radians(lon)
    y = math.radians(lat)
    cy = math.cos(y)
    return (cy * math.cos(x), cy * math.sin(x), math.sin(y))


def haversine_m(
    lon_r: float,
    lat_r: float,
    cos_lat: float,
    lons_r: NDArray[np.float64],
    lats_r: NDArray[np.float64],
    coss: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Great-circle distance (m) from one point to many, all in radians.

    The same formula and radius as :func:`geosvc.coords.geodesic_distance_m`
    (haversine, R = 6371008.8 m), with the cosines of the latitudes passed in
    precomputed.  Vectorised over ``lons_r``, ``lats_r``, ``coss``.

    Examples
    --------
    >>> a = np.radians(np.array([1.0]))
    >>> float(haversine_m(0.0, 0.0, 1.0, a, np.zeros(1), np.ones(1))[0].round(1))
    111195.1
    """
    # Written with in-place ufuncs: these arrays are short (a few to a few
    # hundred candidates) and per-call overhead dominates.  h >= 0 always.
    h = np.sin((lats_r - lat_r) * 0.5)
    h *= h
    s = np.sin((lons_r - lon_r) * 0.5)
    s *= s
    c = cos_lat * coss
    c *= s
    h += c
    np.minimum(h, 1.0, out=h)
    np.sqrt(h, out=h)
    np.arcsin(h, out=h)
    h *= 2.0 * EARTH_RADIUS_M
    return h


class SphereTree:
    """An immutable 3-D ``rtree`` of unit vectors whose ids are venue positions.

    ``nearest(q, n)`` returns at least ``min(n, size)`` positions: the ``n``
    nearest by chord (hence great-circle) distance, plus any tied with the
    n-th.  Queries are serialised by a lock (libspatialindex does not promise
    thread safety; uncontended cost is well under a microsecond).

    Parameters
    ----------
    xyz : numpy.ndarray, shape (N, 3)
        Unit vectors of the points.
    ids : numpy.ndarray of int, shape (N,)
        Venue positions, stored as the R-tree ids.
    """

    __slots__ = ("_lock", "_tree", "size")

    def __init__(self, xyz: NDArray[np.float64], ids: NDArray[np.int64]) -> None:
        self.size = int(len(ids))
        self._lock = threading.Lock()
        self._tree = None
        if self.size:
            props = rtree_index.Property()
            props.dimension = 3
            props.leaf_capacity = _RTREE_CAPACITY
            props.index_capacity = _RTREE_CAPACITY
            pts = np.ascontiguousarray(xyz, dtype=np.float64)
            self._tree = rtree_index.Index(
                (np.ascontiguousarray(ids, dtype=np.int64), pts, pts), properties=props
            )

    def nearest(self, q: tuple[float, float, float], n: int) -> NDArray[np.intp]:
        """Positions of the ``n`` points nearest to unit vector ``q`` (and ties)."""
        if self._tree is None:
            return np.empty(0, dtype=np.intp)
        with self._lock:
            return np.fromiter(self._tree.nearest(q + q, n), dtype=np.intp)
