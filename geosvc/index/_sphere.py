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

import ctypes
import math
import threading
from typing import Final

import numpy as np
from numpy.typing import NDArray
from rtree import core as rtree_core
from rtree import index as rtree_index

from geosvc.coords import EARTH_RADIUS_M

#: Two distances closer than this (metres) are treated as possibly tied by
#: rounding when deciding whether more candidates must be fetched.
TIE_TOL_M: Final = 1e-6

# Node capacities of the 3-D rtree: measured 16 us per k=5 query at 100k
# points with 16-24, 27 us with the library default of 100.
_RTREE_CAPACITY: Final = 20

# libspatialindex's C entry points, as rtree.core binds them.  ``Index.nearest``
# wraps the same call in a generator with per-call property look-ups; calling
# it directly saves about 4 us of a 20 us query.  Used only when present.
_NN_ID = getattr(rtree_core.rt, "Index_NearestNeighbors_id", None)
_FREE = getattr(rtree_core.rt, "Index_Free", None)
_POINT3 = ctypes.c_double * 3
_P_INT64 = ctypes.POINTER(ctypes.c_int64)
_P_VOID = ctypes.POINTER(ctypes.c_void_p)


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


def haversine_few_m(
    lon_r: float,
    lat_r: float,
    cos_lat: float,
    ids: list[int],
    lons_r: tuple[float, ...],
    lats_r: tuple[float, ...],
    coss: tuple[float, ...],
) -> list[tuple[float, int]]:
    """``(distance_m, id)`` pairs, ascending, for a few ids (pure Python).

    The same formula, operation order and radius as :func:`haversine_m`; for
    a handful of points plain ``math`` is about 3x faster than numpy's
    per-call overhead.

    Examples
    --------
    >>> haversine_few_m(0.0, 0.0, 1.0, [1, 0], (0.0, math.radians(1.0)), (0.0, 0.0), (1.0, 1.0))
    [(0.0, 0), (111195.0..., 1)]
    """
    sin, asin, sqrt = math.sin, math.asin, math.sqrt
    r2 = 2.0 * EARTH_RADIUS_M
    out = []
    for i in ids:
        a = sin((lats_r[i] - lat_r) * 0.5)
        b = sin((lons_r[i] - lon_r) * 0.5)
        h = a * a + (cos_lat * coss[i]) * (b * b)
        out.append((r2 * asin(sqrt(h if h < 1.0 else 1.0)), i))
    out.sort()
    return out


class SphereTree:
    """An immutable 3-D ``rtree`` of unit vectors whose ids are venue positions.

    ``nearest(q, n)`` returns at least ``min(n, size)`` positions: the ``n``
    nearest by chord (hence great-circle) distance, plus any tied with the
    n-th, in no guaranteed order.  Queries are serialised by a lock
    (libspatialindex does not promise thread safety; uncontended cost is well
    under a microsecond).

    Parameters
    ----------
    xyz : numpy.ndarray, shape (N, 3)
        Unit vectors of the points.
    ids : numpy.ndarray of int, shape (N,)
        Venue positions, stored as the R-tree ids.
    direct : bool
        Call libspatialindex's nearest-neighbour function directly (faster)
        rather than through ``rtree.index.Index.nearest``.
    """

    __slots__ = ("_direct", "_handle", "_lock", "_tree", "size")

    def __init__(
        self, xyz: NDArray[np.float64], ids: NDArray[np.int64], *, direct: bool = True
    ) -> None:
        self.size = int(len(ids))
        self._lock = threading.Lock()
        self._tree = None
        self._handle = None
        self._direct = direct and _NN_ID is not None and _FREE is not None
        if self.size:
            props = rtree_index.Property()
            props.dimension = 3
            props.leaf_capacity = _RTREE_CAPACITY
            props.index_capacity = _RTREE_CAPACITY
            pts = np.ascontiguousarray(xyz, dtype=np.float64)
            self._tree = rtree_index.Index(
                (np.ascontiguousarray(ids, dtype=np.int64), pts, pts), properties=props
            )
            self._handle = self._tree.handle

    def nearest(self, q: tuple[float, float, float], n: int) -> list[int]:
        """Positions of the ``n`` points nearest to unit vector ``q`` (and ties), unordered."""
        if self._tree is None:
            return []
        nn_id, free = _NN_ID, _FREE
        if not self._direct or nn_id is None or free is None:
            with self._lock:
                return list(self._tree.nearest(q + q, n))
        point = _POINT3(*q)
        count = ctypes.c_uint64(n)
        found = _P_INT64()
        with self._lock:
            nn_id(self._handle, point, point, 3, ctypes.byref(found), ctypes.byref(count))
        try:
            return found[: count.value]
        finally:
            free(ctypes.cast(found, _P_VOID))
