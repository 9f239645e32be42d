"""Geometry helpers of the venue index: unit vectors, haversine, the k-d tree.

Nearest-neighbour search runs on **3-D unit vectors** (points on the unit
sphere).  The Euclidean (chord) distance between two unit vectors is
``2 sin(d / 2R)`` for a great-circle distance ``d``: strictly increasing in
``d``, so the chord order *is* the great-circle order, at every latitude,
across the antimeridian and at the poles.  There is no projection and no
scaling error to bound; only floating-point rounding remains (about 1e-9 m),
which :data:`TIE_TOL_M` covers.

The tree is pykdtree's ``KDTree`` over the unit vectors (a copy-free view of
one (N, 3) float64 array plus a uint32 permutation and small nodes): it
replaced a 3-D ``rtree`` (libspatialindex) that took 10x the memory and time
to build, and measured about 2.5x faster per single query than scipy's
``cKDTree`` (less per-call overhead; both exact).  Bounding boxes are
answered by :mod:`geosvc.index._boxes`, not by a tree.
"""

from __future__ import annotations

import functools
import math
import threading
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray
from pykdtree.kdtree import KDTree
from threadpoolctl import ThreadpoolController

from geosvc.coords import EARTH_RADIUS_M

#: Two distances closer than this (metres) are treated as possibly tied by
#: rounding when deciding whether more candidates must be fetched.
TIE_TOL_M: Final = 1e-6

# Leaf size of the k-d trees (pykdtree's default; 8 and 32 measured no faster for k=5).
_LEAF: Final = 16
# Venue positions inside trees (2**31 venues is far beyond one snapshot).
_ID_DTYPE: Final = np.int32


#: Per thread: pykdtree's OpenMP runtime was told to use one thread here.
_OMP_LOCAL = threading.local()


@functools.cache
def _omp_controllers() -> tuple[Any, ...]:
    """Return the OpenMP runtimes pykdtree runs on (its own libgomp, else all loaded)."""
    libs = ThreadpoolController().select(user_api="openmp").lib_controllers
    own = [lib for lib in libs if "pykdtree" in (lib.filepath or "")]
    return tuple(own or libs)


def _one_omp_thread() -> None:
    """Make pykdtree's queries from the calling thread single-threaded (once per thread).

    pykdtree runs every query in an OpenMP parallel region with one thread per
    core by default; for one point that only adds a team start and a barrier,
    measured 8.7 us -> 120 us (and milliseconds on a loaded 2-core machine).
    OpenMP's thread count is a per-thread setting, hence once per thread.
    """
    for lib in _omp_controllers():
        lib.set_num_threads(1)
    _OMP_LOCAL.done = True


def unit_vectors(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.float64]:
    """Return the (N, 3) unit vectors of points given in WGS-84 degrees (spherical model).

    Examples
    --------
    >>> unit_vectors(np.array([0.0, 90.0]), np.array([0.0, 0.0])).round(12)
    array([[1., 0., 0.],
           [0., 1., 0.]])
    """
    out = np.empty((len(lon), 3), dtype=np.float64)
    x = np.radians(lon)
    y = np.radians(lat)
    cy = np.cos(y)
    np.sin(y, out=out[:, 2])
    np.cos(x, out=out[:, 0])
    out[:, 0] *= cy
    np.sin(x, out=out[:, 1])
    out[:, 1] *= cy
    return out


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
    lons_r: list[float],
    lats_r: list[float],
    coss: list[float],
) -> list[tuple[float, int]]:
    """``(distance_m, id)`` pairs, ascending, for a few points (pure Python).

    ``lons_r``, ``lats_r``, ``coss`` are aligned with ``ids``.  The same
    formula, operation order and radius as :func:`haversine_m`; for a handful
    of points plain ``math`` is about 3x faster than numpy's per-call overhead.

    Examples
    --------
    >>> haversine_few_m(0.0, 0.0, 1.0, [1, 0], [math.radians(1.0), 0.0], [0.0, 0.0], [1.0, 1.0])
    [(0.0, 0), (111195.0..., 1)]
    """
    sin, asin, sqrt = math.sin, math.asin, math.sqrt
    r2 = 2.0 * EARTH_RADIUS_M
    out = []
    for i, x, y, c in zip(ids, lons_r, lats_r, coss, strict=True):
        a = sin((y - lat_r) * 0.5)
        b = sin((x - lon_r) * 0.5)
        h = a * a + (cos_lat * c) * (b * b)
        out.append((r2 * asin(sqrt(h if h < 1.0 else 1.0)), i))
    out.sort()
    return out


class SphereTree:
    """An immutable k-d tree (pykdtree) of unit vectors whose points are venue positions.

    ``nearest(q, n)`` returns the ``min(n, size)`` positions nearest to the
    unit vector ``q`` by chord (hence great-circle) distance, in no
    guaranteed order; a point tied with the n-th may be left out (callers
    fetch more while the k-th match is within :data:`TIE_TOL_M` of the
    farthest fetched).  The tree holds the unit vectors (24 bytes a point),
    its own uint32 permutation and ``ids`` (int32; omitted when the points
    are every venue in order); pykdtree releases the GIL and keeps no
    per-query state, so threads share it without a lock.

    Parameters
    ----------
    xyz : numpy.ndarray, shape (N, 3)
        Unit vectors of the points (kept by reference; must stay unchanged).
    ids : numpy.ndarray of int, shape (N,), or None
        Venue position of each point; None means ``arange(N)``.
    """

    __slots__ = ("_ids", "_tree", "size")

    def __init__(self, xyz: NDArray[np.float64], ids: NDArray[np.integer] | None) -> None:
        self.size = int(len(xyz))
        self._tree = None
        self._ids: NDArray[np.int32] | None = None
        if ids is not None:
            self._ids = np.asarray(ids, dtype=_ID_DTYPE)
        if self.size:
            self._tree = KDTree(np.ascontiguousarray(xyz, dtype=np.float64), leafsize=_LEAF)

    def nearest(self, q: NDArray[np.float64], n: int) -> NDArray[np.intp]:
        """Positions of the ``n`` points nearest to unit vector ``q``, unordered."""
        if self._tree is None:
            return np.empty(0, dtype=np.intp)
        # q has shape (1, 3)
        if not getattr(_OMP_LOCAL, "done", False):
            _one_omp_thread()
        n = min(n, self.size)
        found = self._tree.query(q, k=n)[1].reshape(-1)
        if self._ids is not None:
            return self._ids[found].astype(np.intp)
        return found.astype(np.intp)

    def nearest_many(self, qs: NDArray[np.float64], n: int) -> NDArray[np.intp]:
        """Positions of the ``n`` points nearest to each row of ``qs`` (shape (M, 3)).

        Returns an (M, min(n, size)) array, each row in increasing distance.
        """
        n = min(n, self.size)
        if self._tree is None or n == 0:
            return np.empty((len(qs), 0), dtype=np.intp)
        if not getattr(_OMP_LOCAL, "done", False):
            _one_omp_thread()
        found = self._tree.query(np.ascontiguousarray(qs), k=n)[1].reshape(len(qs), n)
        if self._ids is not None:
            return self._ids[found].astype(np.intp)
        return found.astype(np.intp)
