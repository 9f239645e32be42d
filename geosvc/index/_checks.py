"""Argument checks of the index's queries: points, boxes, k, distances.

Each returns the value in the type the search needs or raises
:class:`~geosvc.errors.InvalidParameter` naming the parameter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from geosvc.errors import InvalidParameter


def check_point(lon: Any, lat: Any) -> tuple[float, float]:
    """Return ``(lon, lat)`` as floats, or raise naming each bad coordinate.

    Raises
    ------
    InvalidParameter
        ``lon`` / ``lat`` not a finite number in [-180, 180] / [-90, 90].
    """
    if (
        type(lon) is float
        and type(lat) is float
        and -180.0 <= lon <= 180.0
        and -90.0 <= lat <= 90.0
    ):
        return lon, lat  # fast path (NaN fails the comparisons)
    problems = []
    values = []
    for name, v, lim in (("lon", lon, 180.0), ("lat", lat, 90.0)):
        try:
            x = float(v)
        except (TypeError, ValueError):
            x = math.nan
        if not (math.isfinite(x) and -lim <= x <= lim):
            problems.append(
                (name, f"must be a finite number between -{lim:g} and {lim:g} (got {v!r})")
            )
        values.append(x)
    if problems:
        raise InvalidParameter.many(problems)
    return values[0], values[1]


def check_points(lon: Any, lat: Any) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Return ``lon``, ``lat`` as 1-D float64 arrays of equal length, or raise.

    Raises
    ------
    InvalidParameter
        Named ``lon`` / ``lat``: not 1-D numbers of equal length, or a value
        not finite or out of range (the first offending row is named).
    """
    out = []
    for name, v in (("lon", lon), ("lat", lat)):
        try:
            a = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError):
            msg = f"must be an array of numbers (got {type(v).__name__})"
            raise InvalidParameter(name, msg) from None
        if a.ndim != 1:
            msg = f"must be one-dimensional (got shape {a.shape})"
            raise InvalidParameter(name, msg)
        out.append(a)
    x, y = out
    if len(x) != len(y):
        msg = f"must have as many values as `lon` ({len(y)} != {len(x)})"
        raise InvalidParameter("lat", msg)
    problems = []
    for name, a, lim in (("lon", x, 180.0), ("lat", y, 90.0)):
        bad = np.flatnonzero(~(np.abs(a) <= lim))  # NaN fails too
        if len(bad):
            i = int(bad[0])
            problems.append(
                (name, f"[{i}] must be a finite number between -{lim:g} and {lim:g} "
                       f"(got {a[i]!r})")
            )
    if problems:
        raise InvalidParameter.many(problems)
    return x, y


def check_bbox(bbox: Sequence[float]) -> tuple[float, float, float, float]:
    """Return ``bbox`` as four floats ``(minlon, minlat, maxlon, maxlat)``.

    Raises
    ------
    InvalidParameter
        Named ``bbox``: not four finite numbers in range, or minlat > maxlat.
    """
    try:
        b = list(map(float, bbox))
    except (TypeError, ValueError):
        b = []
    if len(b) != 4 or not math.isfinite(b[0] + b[1] + b[2] + b[3]):  # inf - inf is nan
        msg = f"must be four finite numbers minLon,minLat,maxLon,maxLat (got {bbox!r})"
        raise InvalidParameter("bbox", msg)
    x0, y0, x1, y1 = b
    if max(abs(x0), abs(x1)) > 180 or max(abs(y0), abs(y1)) > 90 or y0 > y1:
        msg = "needs -180 <= lon <= 180, -90 <= lat <= 90 and minLat <= maxLat"
        raise InvalidParameter("bbox", msg)
    return x0, y0, x1, y1


def check_k(k: object) -> int:
    """Return ``k`` as an int, or raise unless it is an integer >= 1 (bools are not).

    Raises
    ------
    InvalidParameter
        Named ``k``.
    """
    if type(k) is int and k >= 1:
        return k
    if isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k >= 1:
        return int(k)
    msg = f"must be an integer >= 1 (got {k!r})"
    raise InvalidParameter("k", msg)


def check_max_dist(max_dist_m: float | None) -> float | None:
    """Return ``max_dist_m`` as a float (None stays None), or raise if negative or NaN.

    Raises
    ------
    InvalidParameter
        Named ``max_dist_m``.
    """
    if max_dist_m is None:
        return None
    max_dist_m = float(max_dist_m)
    if not max_dist_m >= 0:
        msg = f"must be a number of metres >= 0 (got {max_dist_m!r})"
        raise InvalidParameter("max_dist_m", msg)
    return max_dist_m
