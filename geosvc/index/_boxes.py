"""Bounding-box search over lon/lat arrays: sorted slabs, no geometry objects.

:class:`BoxIndex` cuts the longitude axis into ``S`` slabs holding about
``2 sqrt(N)`` points each (boundaries at quantiles of a sample of the
longitudes) and sorts the points of each slab by latitude.  A box overlaps a
run of slabs (a binary search on the boundaries); inside each of those the
points within the box's latitude band are one contiguous run (two binary
searches), and only the two edge slabs need a longitude test.  Cost:
O(log N + overlapped slabs + points in those slabs' latitude bands), in one
compiled call (:mod:`geosvc.index._boxkernel`, numba); memory 20 bytes a
point (the latitudes and longitudes in slab order, so a band's candidates are
read in order rather than looked up at random, and an int32 position) plus
the slabs, built with one argsort from the coordinate arrays.  Measured against
shapely's ``STRtree`` of the same points in ``scripts/bench_index.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

#: Longitudes sampled to place the slab boundaries.
_SAMPLE: Final = 65_536
#: Slabs per square root of the number of points (0.125 .. 4 measured at 10M venues
#: and 1 km boxes: 8.1 .. 18 us a query, flat up to 0.5).
_SLABS_PER_ROOT: Final = 0.5

Positions = NDArray[np.intp]
#: "No mask" for the kernel (an empty, read-only bool array: one compiled signature).
_NO_MASK: Final = np.zeros(0, dtype=bool)
_NO_MASK.flags.writeable = False


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

    __slots__ = ("_bounds", "_kernel", "_lat_sorted", "_lon_sorted", "_perm", "_ptr", "size")

    def __init__(self, lon: NDArray[np.float64], lat: NDArray[np.float64],
                 parts: Mapping[str, NDArray[Any]] | None = None) -> None:
        from geosvc.index._boxkernel import (
            box_query,  # lazy: numba (~0.3 s to import) only once an index is built
        )

        n = len(lon)
        self.size = n
        self._kernel = box_query
        self._perm: NDArray[np.integer]
        if parts is not None:  # the arrays of an equal index (parts()), e.g. mapped from disk
            self._bounds, self._ptr = parts["bounds"], parts["ptr"]
            self._lat_sorted, self._perm = parts["lat_sorted"], parts["perm"]
            self._lon_sorted = parts["lon_sorted"]
            sizes = {len(self._lat_sorted), len(self._lon_sorted), len(self._perm)}
            if sizes != {n} or len(self._ptr) != len(self._bounds) + 2:
                msg = "box index parts do not fit the coordinates"
                raise ValueError(msg)
            self.query(0.0, 0.0, 0.0, 0.0)
            return
        n_slabs = max(1, int(math.sqrt(n) * _SLABS_PER_ROOT))
        if n > _SAMPLE:
            sample = lon[np.random.default_rng(0).integers(0, n, _SAMPLE)]
        else:
            sample = lon
        sample = np.sort(sample)
        cut = (np.arange(1, n_slabs) * len(sample)) // n_slabs
        bounds = np.unique(sample[cut]) if n else np.empty(0)
        slab = np.searchsorted(bounds, lon, side="right")  # bounds[s-1] <= lon < bounds[s]
        # by slab, then by latitude, then by position: a stable (radix, for 16-bit slab
        # numbers) sort of the slabs, then a stable sort of each slab's latitudes (a
        # few thousand, in cache: faster than one global latitude sort at 10M; and one
        # sort of a combined float key fell back to lexsort when two latitudes of a slab
        # were closer than the key's rounding)
        by_slab = np.argsort(slab.astype(np.uint16 if len(bounds) < 2**16 - 1 else np.int64),
                             kind="stable")
        ptr = np.zeros(len(bounds) + 2, dtype=np.int64)
        np.cumsum(np.bincount(slab, minlength=len(bounds) + 1), out=ptr[1:])
        del slab
        lat_by_slab = lat[by_slab]
        perm = by_slab
        for lo, hi in zip(ptr[:-1].tolist(), ptr[1:].tolist(), strict=True):
            if hi - lo > 1:
                order = np.argsort(lat_by_slab[lo:hi], kind="stable")
                perm[lo:hi] = by_slab[lo:hi][order]
                lat_by_slab[lo:hi] = lat_by_slab[lo:hi][order]
        lat_sorted = lat_by_slab
        self._bounds = np.ascontiguousarray(bounds, dtype=np.float64)
        self._ptr = ptr
        self._lat_sorted = lat_sorted
        self._lon_sorted = lon[perm]
        self._perm = perm.astype(np.int32 if n < 2**31 else np.int64)
        self.query(0.0, 0.0, 0.0, 0.0)  # compile / load the kernel now, not in a reader

    def parts(self) -> dict[str, NDArray[Any]]:
        """Return the index's own arrays, from which an equal index is made without sorting."""
        return {"bounds": self._bounds, "ptr": self._ptr, "lat_sorted": self._lat_sorted,
                "lon_sorted": self._lon_sorted, "perm": self._perm}

    def nbytes(self) -> int:
        """Bytes held by the index's own arrays."""
        return int(self._bounds.nbytes + self._ptr.nbytes + self._lat_sorted.nbytes
                   + self._lon_sorted.nbytes + self._perm.nbytes)

    def query(self, x0: float, y0: float, x1: float, y1: float,
              mask: NDArray[np.bool_] | None = None) -> Positions:
        """Positions of the points inside a box, edges included, ascending.

        ``x0 > x1`` is a box crossing the antimeridian; ``y0 <= y1`` (checked
        by the caller); ``mask`` (a bool per point): only where it is True.
        """
        keep = _NO_MASK if mask is None else mask
        if self.size == 0:
            return np.empty(0, dtype=np.intp)
        x0, y0, x1, y1 = float(x0), float(y0), float(x1), float(y1)  # one compiled signature
        if x0 <= x1:
            out: Positions = self._kernel(self._bounds, self._ptr, self._lat_sorted, self._perm,
                                          self._lon_sorted, keep, x0, y0, x1, y1)
            return out
        east = self._span(x0, y0, 180.0, y1, keep)
        west = self._span(-180.0, y0, x1, y1, keep)
        return np.sort(np.concatenate([east, west]))

    def _span(self, x0: float, y0: float, x1: float, y1: float,
              mask: NDArray[np.bool_]) -> Positions:
        out: Positions = self._kernel(
            self._bounds, self._ptr, self._lat_sorted, self._perm, self._lon_sorted, mask,
            x0, y0, x1, y1
        )
        return out
