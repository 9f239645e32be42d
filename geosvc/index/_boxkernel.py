"""The numba kernel of :class:`~geosvc.index._boxes.BoxIndex` queries.

Imported lazily (numba costs ~0.3 s to import) by the first box index that is
built; compiled once and cached on disk next to this module.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray


@njit(cache=True, nogil=True)
def _lower(a: NDArray[np.float64], lo: int, hi: int, v: float) -> int:  # pragma: no cover
    """First index in ``a[lo:hi]`` (ascending) with ``a[i] >= v`` (``hi`` if none)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def _upper(a: NDArray[np.float64], lo: int, hi: int, v: float) -> int:  # pragma: no cover
    """First index in ``a[lo:hi]`` (ascending) with ``a[i] > v`` (``hi`` if none)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] <= v:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def box_query(
    bounds: NDArray[np.float64],
    ptr: NDArray[np.int64],
    lat_sorted: NDArray[np.float64],
    perm: NDArray[np.integer],
    lon_sorted: NDArray[np.float64],
    mask: NDArray[np.bool_],
    x0: float,
    y0: float,
    x1: float,
    y1: float,
) -> NDArray[np.intp]:  # pragma: no cover (compiled)
    """Positions with ``x0 <= lon <= x1`` and ``y0 <= lat <= y1``, ascending.

    Slab ``s`` holds the points with ``bounds[s-1] <= lon < bounds[s]``
    (``bounds`` has one entry fewer than there are slabs), as
    ``perm[ptr[s]:ptr[s+1]]`` sorted by latitude (``lat_sorted`` and
    ``lon_sorted`` aligned with ``perm``: the candidates of a slab are read in
    order, not looked up at random positions).  A non-empty ``mask`` (one
    bool per position) keeps only the positions where it is True.
    """
    nb = len(bounds)
    s0 = _upper(bounds, 0, nb, x0)  # the slab holding lon == x0
    s1 = _upper(bounds, 0, nb, x1)
    lo = np.empty(s1 - s0 + 1, dtype=np.int64)
    hi = np.empty(s1 - s0 + 1, dtype=np.int64)
    total = 0
    for s in range(s0, s1 + 1):
        a = _lower(lat_sorted, ptr[s], ptr[s + 1], y0)
        b = _upper(lat_sorted, a, ptr[s + 1], y1)
        lo[s - s0] = a
        hi[s - s0] = b
        total += b - a
    out = np.empty(total, dtype=np.intp)
    m = 0
    masked = len(mask) > 0
    for j in range(s1 - s0 + 1):
        inner = s0 < s0 + j < s1  # slabs strictly inside the span need no lon test
        for i in range(lo[j], hi[j]):
            if inner or (x0 <= lon_sorted[i] <= x1):
                p = perm[i]
                if not masked or mask[p]:
                    out[m] = p
                    m += 1
    res = out[:m]
    res.sort()
    return res
