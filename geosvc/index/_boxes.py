"""Bounding-box search over lon/lat arrays: sorted slabs, no geometry objects.

:class:`BoxIndex` sorts the points by longitude into ``S`` slabs of equal
count (about ``2 sqrt(N)`` points each) and, inside each slab, by latitude.
A box overlaps a run of slabs (two binary searches on the slabs' longitude
bounds); inside each of those the points within the box's latitude band are
one contiguous run (a binary search per slab, vectorised over the slabs), and
an exact test of the gathered coordinates keeps the points inside the box.
Cost: O(log N + overlapped slabs + points in those slabs' latitude bands);
memory 12 bytes a point (a float64 sort key and an int32 position), built
with two argsorts from the coordinate arrays.  Measured against shapely's
``STRtree`` of the same points in ``scripts/bench_index.py``.
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
from numpy.typing import NDArray

#: Slab number times this plus ``lat + 90`` is a point's sort key (lat + 90 < 256).
_SLAB_STRIDE: Final = 256.0
#: Latitude margin (degrees) of the key search; the exact test follows.  Far
#: above the keys' rounding (< 1e-9 degrees up to 2**31 points).
_KEY_EPS: Final = 1e-7

Positions = NDArray[np.intp]


class BoxIndex:
    """Immutable bounding-box index of points given as WGS-84 lon/lat arrays.

    Parameters
    ----------
    lon, lat : numpy.ndarray of float64
        Degrees, finite and in range (kept by reference: must stay unchanged).

    Examples
    --------
    >>> bi = BoxIndex(np.array([0.0, 10.0, 179.5, -179.5]), np.array([0.0, 5.0, 1.0, 1.0]))
    >>> bi.query(-1.0, -1.0, 10.0, 5.0).tolist()
    [0, 1]
    >>> bi.query(179.0, 0.0, -179.0, 2.0).tolist()  # across the antimeridian
    [2, 3]
    """

    __slots__ = ("_key", "_lat", "_lon", "_perm", "_slab_hi", "_slab_lo", "size")

    def __init__(self, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> None:
        n = len(lon)
        self.size = n
        self._lon = lon
        self._lat = lat
        n_slabs = max(1, int(math.sqrt(n) / 2))
        by_lon = np.argsort(lon, kind="stable")
        slab = (np.arange(n, dtype=np.int64) * n_slabs) // max(n, 1)  # by rank in lon
        key = np.empty(n, dtype=np.float64)
        key[by_lon] = slab * _SLAB_STRIDE + (lat[by_lon] + 90.0)
        perm = np.argsort(key, kind="stable")
        self._key = key[perm]
        self._perm = perm.astype(np.int32 if n < 2**31 else np.int64)
        # every slab holds a point (n_slabs <= n); their lon ranges are ascending
        starts = np.searchsorted(slab, np.arange(n_slabs))
        ends = np.append(starts[1:], n)
        lon_sorted = lon[by_lon]
        self._slab_lo = lon_sorted[starts] if n else np.empty(0)  # smallest lon of each slab
        self._slab_hi = lon_sorted[ends - 1] if n else np.empty(0)  # largest

    def nbytes(self) -> int:
        """Bytes held by the index's own arrays (the coordinates are shared)."""
        return int(
            self._key.nbytes + self._perm.nbytes + self._slab_lo.nbytes + self._slab_hi.nbytes
        )

    def query(self, x0: float, y0: float, x1: float, y1: float) -> Positions:
        """Positions of the points inside a box, edges included, ascending.

        ``x0 > x1`` is a box crossing the antimeridian; ``y0 <= y1`` (checked
        by the caller).
        """
        if self.size == 0:
            return np.empty(0, dtype=np.intp)
        spans = ((x0, x1),) if x0 <= x1 else ((x0, 180.0), (-180.0, x1))
        lo_s, hi_s = self._slab_lo, self._slab_hi
        runs = []
        for a, c in spans:
            s0 = int(np.searchsorted(hi_s, a, side="left"))
            s1 = int(np.searchsorted(lo_s, c, side="right"))
            if s1 > s0:
                runs.append(np.arange(s0, s1))
        if not runs:
            return np.empty(0, dtype=np.intp)
        slabs = runs[0] if len(runs) == 1 else np.unique(np.concatenate(runs))
        base = slabs * _SLAB_STRIDE
        starts = np.searchsorted(self._key, base + (y0 + 90.0 - _KEY_EPS), side="left")
        ends = np.searchsorted(self._key, base + (y1 + 90.0 + _KEY_EPS), side="right")
        if len(starts) == 1:
            idx = self._perm[int(starts[0]) : int(ends[0])]
        else:
            lens = ends - starts
            total = int(lens.sum())
            if total == 0:
                return np.empty(0, dtype=np.intp)
            # the concatenation of the runs start..end, without a Python loop
            offs = np.repeat(starts - (np.cumsum(lens) - lens), lens)
            idx = self._perm[offs + np.arange(total)]
        lon = self._lon[idx]
        lat = self._lat[idx]
        inside = (lat >= y0) & (lat <= y1)
        if len(spans) == 1:
            inside &= (lon >= x0) & (lon <= x1)
        else:
            inside &= (lon >= x0) | (lon <= x1)
        out = idx[inside].astype(np.intp)
        out.sort()
        return out
