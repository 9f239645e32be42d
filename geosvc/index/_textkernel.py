"""Numba kernels over packed text (:class:`~geosvc.table.PackedText`): hashes, equality.

Imported lazily (numba costs ~0.3 s to import) by the first
:class:`~geosvc.index._build.CodeIndex` built; compiled once and cached on disk.
The hash is 64-bit FNV-1a over the UTF-8 bytes, the same in every process
(unlike ``str.__hash__``), :func:`fnv1a` computes it for one str in Python.
"""

from __future__ import annotations

import numpy as np
from numba import njit, uint64
from numpy.typing import NDArray

_OFFSET = 0xCBF29CE484222325
_PRIME = 0x100000001B3
_MASK = (1 << 64) - 1


def fnv1a(text: str) -> int:
    """Return the signed 64-bit FNV-1a hash of ``text``'s UTF-8 bytes (as :func:`hash_rows`).

    Examples
    --------
    >>> fnv1a("")
    -3750763034362895579
    """
    h = _OFFSET
    for b in text.encode("utf-8", "surrogatepass"):
        h = ((h ^ b) * _PRIME) & _MASK
    return h - (1 << 64) if h >> 63 else h


@njit(cache=True, nogil=True)
def hash_rows(blob: NDArray[np.uint8],
              offsets: NDArray[np.int64]) -> NDArray[np.int64]:  # pragma: no cover
    """FNV-1a of each row ``blob[offsets[i]:offsets[i + 1]]`` (signed int64)."""
    n = len(offsets) - 1
    out = np.empty(n, dtype=np.int64)
    prime = uint64(_PRIME)
    for i in range(n):
        h = uint64(_OFFSET)
        for j in range(offsets[i], offsets[i + 1]):
            h = (h ^ uint64(blob[j])) * prime
        out[i] = np.int64(h)
    return out


@njit(cache=True, nogil=True)
def rows_equal(blob_a: NDArray[np.uint8], off_a: NDArray[np.int64], rows_a: NDArray[np.intp],
               blob_b: NDArray[np.uint8], off_b: NDArray[np.int64],
               rows_b: NDArray[np.intp]) -> NDArray[np.bool_]:  # pragma: no cover
    """Whether row ``rows_a[k]`` of text a equals row ``rows_b[k]`` of text b, per k."""
    out = np.empty(len(rows_a), dtype=np.bool_)
    for k in range(len(rows_a)):
        a0, a1 = off_a[rows_a[k]], off_a[rows_a[k] + 1]
        b0, b1 = off_b[rows_b[k]], off_b[rows_b[k] + 1]
        same = a1 - a0 == b1 - b0
        if same:
            for j in range(a1 - a0):
                if blob_a[a0 + j] != blob_b[b0 + j]:
                    same = False
                    break
        out[k] = same
    return out


@njit(cache=True, nogil=True)
def _same_row(blob_a: NDArray[np.uint8], off_a: NDArray[np.int64], ra: int,
              blob_b: NDArray[np.uint8], off_b: NDArray[np.int64],
              rb: int) -> bool:  # pragma: no cover
    """Whether row ``ra`` of text a equals row ``rb`` of text b."""
    a0, a1 = off_a[ra], off_a[ra + 1]
    b0 = off_b[rb]
    if a1 - a0 != off_b[rb + 1] - b0:
        return False
    for j in range(a1 - a0):
        if blob_a[a0 + j] != blob_b[b0 + j]:
            return False
    return True


@njit(cache=True, nogil=True)
def follow_rows(blob_a: NDArray[np.uint8], off_a: NDArray[np.int64],
                hash_sorted: NDArray[np.int64], pos_sorted: NDArray[np.integer],
                blob_b: NDArray[np.uint8], off_b: NDArray[np.int64],
                hash_b: NDArray[np.int64],
                max_searches: int) -> tuple[NDArray[np.intp], bool]:  # pragma: no cover
    """Row of text a equal to each row of text b (-1 where none), following b's order.

    Each row of b is first compared with the row of a that matched the
    previous one and the row after it (links listed venue by venue, in the
    venues' order, match there without a search); otherwise its hash
    ``hash_b[i]`` is looked up in ``hash_sorted`` (text a's row hashes sorted,
    ``pos_sorted`` their rows) and every row of that hash compared.  Returns
    ``(rows, True)``, or ``(partial, False)`` as soon as more than
    ``max_searches`` rows needed a look-up (rows in another order: the caller
    looks them up with sorted keys instead, which walks the table in order).
    """
    m = len(off_b) - 1
    n = len(off_a) - 1
    out = np.full(m, -1, dtype=np.intp)
    p = 0
    searches = 0
    for i in range(m):
        if p < n and _same_row(blob_a, off_a, p, blob_b, off_b, i):
            out[i] = p
            continue
        if p + 1 < n and _same_row(blob_a, off_a, p + 1, blob_b, off_b, i):
            p += 1
            out[i] = p
            continue
        searches += 1
        if searches > max_searches:
            return out, False
        h = hash_b[i]
        k = np.searchsorted(hash_sorted, h)
        while k < n and hash_sorted[k] == h:
            r = pos_sorted[k]
            if _same_row(blob_a, off_a, r, blob_b, off_b, i):
                out[i] = r
                p = r
                break
            k += 1
    return out, True
