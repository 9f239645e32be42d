"""The straight-line router: great-circle distance at a fixed speed, no road network.

For a city that has venues and population but no OSM extract yet, the
travel questions still get (labelled) answers:

* a trip's **time** is its great-circle distance (haversine, R = 6371008.8 m,
  as :func:`geosvc.coords.geodesic_distance_m`) divided by the mode's speed
  (``straight`` walks at ``Settings.walk_speed_kph``);
* **nearest**: with a :class:`~geosvc.model.VenueFilter` the snapshot
  index's exact k-d tree search (:meth:`ServiceIndex.nearest_k`, the path
  ``/api/v1/nearest?mode=straight`` always used); with positions, a mask or
  an ``accept`` predicate, an exact ranking of the candidates;
* **isochrones**: one geodesic circle per band (radius = speed x minutes;
  360 vertices computed on the sphere, so the polygon's area is within
  0.01 % of the circle's);
* **passes** (coverage, planning): a point is reached by its nearest source
  (a KD-tree on 3-D unit vectors: chord order is great-circle order), covered
  iff distance <= speed x minutes; the covered area is the union of the
  circles, rasterised (exact Euclidean distance transform) on the UTM grid of
  the data's centre;
* **reach sets** (planning): the candidate sites within the radius of each
  demand point (KD-tree ball query, exact haversine check).

Every point with a valid lon/lat is placed (:class:`Placed`); nothing is
"off the network".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from geosvc.coords import (
    EARTH_RADIUS_M,
    geodesic_distance_m,
    local_projection,
    projection,
    valid_lonlat,
)
from geosvc.errors import InvalidParameter, NoRoute
from geosvc.model import VenueFilter
from geosvc.network.nearest import NearestHit
from geosvc.routing._geometry import Raster, to_lonlat

if TYPE_CHECKING:
    import pyproj
    import scipy.sparse as sp
    from shapely import Geometry

    from geosvc.index import ServiceIndex
    from geosvc.routing.base import Candidates

__all__ = ["CIRCLE_VERTICES", "Placed", "StraightPass", "StraightRouter", "geodesic_circle"]

#: Vertices of a geodesic circle polygon (one per degree of azimuth).
CIRCLE_VERTICES = 360
#: Raster cells across a reach radius (covered area of a pass).
_CELLS_PER_RADIUS = 40


def _unit(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.float64]:
    """(N, 3) unit vectors of WGS-84 degrees on the sphere."""
    x, y = np.radians(lon), np.radians(lat)
    cy = np.cos(y)
    return np.column_stack([cy * np.cos(x), cy * np.sin(x), np.sin(y)])


def _chord(dist_m: float) -> float:
    """Chord length on the unit sphere of a great-circle distance (metres)."""
    return 2.0 * math.sin(min(dist_m / EARTH_RADIUS_M, math.pi) / 2.0)


def geodesic_circle(lon: float, lat: float, radius_m: float,
                    n: int = CIRCLE_VERTICES) -> NDArray[np.float64]:
    """Return ``n`` WGS-84 vertices of the circle of ``radius_m`` around a point (sphere).

    Destination points at azimuths ``0, 360/n, ...`` degrees (great-circle
    formula, R = 6371008.8 m), counter-clockwise in lon/lat, not closed.

    Examples
    --------
    >>> ring = geodesic_circle(0.0, 0.0, 111195.08, n=4)
    >>> (np.round(ring, 6) + 0.0).tolist()
    [[0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [1.0, 0.0]]
    """
    phi, lam = math.radians(lat), math.radians(lon)
    delta = radius_m / EARTH_RADIUS_M
    theta = -np.arange(n) * (2.0 * math.pi / n)  # clockwise azimuths: a CCW ring
    sin_lat2 = math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * np.cos(theta)
    lat2 = np.arcsin(np.clip(sin_lat2, -1.0, 1.0))
    lon2 = lam + np.arctan2(np.sin(theta) * math.sin(delta) * math.cos(phi),
                            math.cos(delta) - math.sin(phi) * sin_lat2)
    lon_d = (np.degrees(lon2) + 540.0) % 360.0 - 180.0
    return np.column_stack([lon_d, np.degrees(lat2)])


@dataclass(frozen=True, eq=False)
class Placed:
    """Points placed for a straight-line router: as they are (no snapping).

    Attributes
    ----------
    lon, lat : float64[M]
        WGS-84 degrees.
    x, y : float64[M]
        The router's projected CRS, metres (NaN where not placed).
    ok : bool[M]
        The coordinate is a valid lon/lat.
    """

    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    ok: NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.lon.shape[0])

    def take(self, idx: ArrayLike) -> Placed:
        """Return the subset of points at ``idx`` (integer positions or boolean mask)."""
        i = np.asarray(idx)
        return Placed(self.lon[i], self.lat[i], self.x[i], self.y[i], self.ok[i])


class StraightPass:
    """Times to the nearest source along great circles (the straight :class:`SourcePass`).

    Parameters
    ----------
    router : StraightRouter
    positions : int64 array
        Venue positions of the sources (placed ones only, ascending).
    """

    def __init__(self, router: StraightRouter, positions: NDArray[np.int64]) -> None:
        from scipy.spatial import (
            cKDTree,  # lazy: scipy takes ~0.2 s to import; only this path needs it
        )

        self.router = router
        self._ids = positions
        v = router.venues
        self._lon = v.lon[positions]
        self._lat = v.lat[positions]
        self._x = v.x[positions]
        self._y = v.y[positions]
        self._tree = cKDTree(_unit(self._lon, self._lat)) if len(positions) else None

    @property
    def source_ids(self) -> NDArray[np.int64]:
        """Venue positions of the sources."""
        return self._ids

    @property
    def sources_placed(self) -> int:
        """Sources with a valid coordinate (all of them: invalid ones are left out)."""
        return len(self._ids)

    def distances_at(self, points: Placed) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """Each point's great-circle distance to its nearest source (m) and its index.

        Ties go to the lower source index; unplaced points and an empty pass
        give ``(inf, -1)``.
        """
        n = len(points)
        dist = np.full(n, np.inf)
        src = np.full(n, -1, dtype=np.int64)
        ok = np.flatnonzero(points.ok)
        if self._tree is None or not len(ok):
            return dist, src
        kq = min(2, len(self._ids))
        _, idx = self._tree.query(_unit(points.lon[ok], points.lat[ok]), k=kq)
        idx = np.asarray(idx, dtype=np.int64).reshape(len(ok), kq)
        d = geodesic_distance_m(points.lon[ok][:, None], points.lat[ok][:, None],
                                self._lon[idx], self._lat[idx])
        best = np.zeros(len(ok), dtype=np.int64)
        if kq > 1:  # the second is nearer, or as near with a lower index
            second = (d[:, 1] < d[:, 0]) | ((d[:, 1] == d[:, 0]) & (idx[:, 1] < idx[:, 0]))
            best[second] = 1
        rows = np.arange(len(ok))
        dist[ok] = d[rows, best]
        src[ok] = idx[rows, best]
        return dist, src

    def times_at(self, points: Any) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
        """Each point's time (s) to its nearest source at the router's speed, and its index."""
        if not isinstance(points, Placed):
            msg = "must be placed by a straight-line router (Placed)"
            raise InvalidParameter("demand", msg)
        dist, src = self.distances_at(points)
        return dist / self.router.speed_mps, src

    def reached(self, limit_s: float, *, around_x: NDArray[np.float64],
                around_y: NDArray[np.float64], buffer_m: float, cell_m: float | None,
                pad_m: float) -> tuple[Raster, NDArray[np.bool_]]:
        """Cells within ``speed x limit_s`` of a source (union of circles), rasterised.

        The cell defaults to ``radius / 40`` (at least ``buffer_m / 2.5``);
        a cell counts when its centre lies within the radius of a marked
        source cell's centre (exact Euclidean distance transform).
        """
        from scipy import ndimage  # lazy: scipy takes ~0.2 s to import; only this path needs it

        radius = float(limit_s) * self.router.speed_mps
        cell = cell_m or max(buffer_m / 2.5, radius / _CELLS_PER_RADIUS)
        gx = np.concatenate([self._x, around_x])
        gy = np.concatenate([self._y, around_y])
        good = np.isfinite(gx) & np.isfinite(gy)
        gx, gy = gx[good], gy[good]
        if not len(gx):
            raster = Raster(0.0, 0.0, cell, 1, 1)
            return raster, np.zeros((1, 1), dtype=bool)
        raster = Raster.around(float(gx.min()), float(gy.min()), float(gx.max()),
                               float(gy.max()), cell, max(radius, pad_m))
        marks = raster.mark_points(self._x, self._y)
        if not marks.any():
            return raster, marks
        dist = ndimage.distance_transform_edt(~marks, sampling=raster.cell)
        return raster, dist <= radius


class StraightRouter:
    """The :class:`~geosvc.routing.base.Router` of straight lines (see the module).

    Parameters
    ----------
    venue_lon, venue_lat : array of float
        WGS-84 degrees of every venue (positions index them); invalid
        coordinates are never reached.
    speed_kph : float
        Speed along the great circle, km/h.
    index : ServiceIndex, optional
        The snapshot's index over the same venues: nearest queries with a
        :class:`~geosvc.model.VenueFilter` use its k-d tree.
    mode : str
        The mode name it serves (``straight``).
    crs : str, optional
        Projected CRS of areas and rasters; default the UTM zone of the
        venues' centre.

    Raises
    ------
    InvalidParameter
        ``speed_kph`` not > 0, or lon/lat arrays of different shapes.
    """

    def __init__(self, venue_lon: ArrayLike, venue_lat: ArrayLike, *, speed_kph: float,
                 index: ServiceIndex | None = None, mode: str = "straight",
                 crs: str | None = None) -> None:
        if not (isinstance(speed_kph, (int, float)) and math.isfinite(speed_kph)
                and speed_kph > 0):
            msg = f"must be a number of km/h > 0, not {speed_kph!r}"
            raise InvalidParameter("speed_kph", msg)
        lon = np.atleast_1d(np.asarray(venue_lon, dtype=np.float64))
        lat = np.atleast_1d(np.asarray(venue_lat, dtype=np.float64))
        if lon.shape != lat.shape or lon.ndim != 1:
            msg = f"must have the same 1-d shape as `venue_lat` ({lon.shape} vs {lat.shape})"
            raise InvalidParameter("venue_lon", msg)
        self._mode = mode
        self.index = index
        self.speed_kph = float(speed_kph)
        good = valid_lonlat(lon, lat)
        if crs is None:
            bounds = ((float(lon[good].min()), float(lat[good].min()),
                       float(lon[good].max()), float(lat[good].max()))
                      if good.any() else (0.0, 0.0, 0.0, 0.0))
            proj = local_projection(bounds)
        else:
            proj = projection(crs)
        self._crs = proj.crs
        self.transformer: pyproj.Transformer = proj.forward
        self.transformer_inverse: pyproj.Transformer = proj.inverse
        self._venues = self.snap(lon, lat)

    # -- properties -----------------------------------------------------------------
    @property
    def mode(self) -> str:
        """The travel mode's name."""
        return self._mode

    @property
    def crs(self) -> str:
        """Projected CRS of ``x``/``y``, areas and rasters."""
        return self._crs

    @property
    def network(self) -> None:
        """No road network."""
        return None

    @property
    def venues(self) -> Placed:
        """Every venue as placed (``ok`` False for invalid coordinates)."""
        return self._venues

    @property
    def speed_mps(self) -> float:
        """Speed along the great circle, m/s."""
        return self.speed_kph / 3.6

    @property
    def unsnappable(self) -> NDArray[np.int64]:
        """Positions of venues with an invalid coordinate."""
        return np.flatnonzero(~self._venues.ok).astype(np.int64)

    # -- helpers --------------------------------------------------------------------
    def _positions(self, candidates: Candidates) -> NDArray[np.int64]:
        """Placed venue positions of ``candidates`` (ascending, unique)."""
        n = len(self._venues)
        ok = self._venues.ok
        if candidates is None:
            return np.flatnonzero(ok).astype(np.int64)
        raw: NDArray[Any]
        if isinstance(candidates, VenueFilter):
            if self.index is None:
                msg = "must be venue positions or a mask: this router has no venue index"
                raise InvalidParameter("candidates", msg)
            raw = self.index.mask(candidates)
        else:
            raw = np.asarray(candidates)
        if raw.dtype == bool:
            if raw.shape != (n,):
                msg = f"as a mask must have one entry per venue ({n})"
                raise InvalidParameter("candidates", msg)
            return np.flatnonzero(raw & ok).astype(np.int64)
        pos = np.unique(raw.astype(np.int64, copy=False).ravel())
        if len(pos) and (pos.min() < 0 or pos.max() >= n):
            msg = f"must be venue positions between 0 and {n - 1}"
            raise InvalidParameter("candidates", msg)
        return pos[ok[pos]]

    @staticmethod
    def _check_point(lon: float, lat: float) -> tuple[float, float]:
        try:
            lo, la = float(lon), float(lat)
        except (TypeError, ValueError):
            lo = la = math.nan
        if not (-180.0 <= lo <= 180.0 and -90.0 <= la <= 90.0):  # False for NaN
            msg = "must be a valid WGS-84 longitude / latitude"
            raise InvalidParameter("lon", msg, more=[("lat", msg)])
        return lo, la

    def _max_dist_m(self, max_minutes: float | None) -> float | None:
        if max_minutes is None:
            return None
        if not (isinstance(max_minutes, (int, float, np.number))
                and math.isfinite(max_minutes) and max_minutes >= 0):
            msg = f"must be a number of minutes >= 0, not {max_minutes!r}"
            raise InvalidParameter("max_minutes", msg)
        # the expression /api/v1/nearest has always used (kept for identical answers)
        return float(max_minutes) * self.speed_kph * 1000.0 / 60.0

    # -- protocol -------------------------------------------------------------------
    def snap(self, lon: ArrayLike, lat: ArrayLike) -> Placed:
        """Place points as they are; ``ok`` where the lon/lat is valid."""
        lo = np.atleast_1d(np.asarray(lon, dtype=np.float64))
        la = np.atleast_1d(np.asarray(lat, dtype=np.float64))
        ok = valid_lonlat(lo, la)
        x = np.full(len(lo), np.nan)
        y = np.full(len(lo), np.nan)
        if ok.any():
            px, py = self.transformer.transform(lo[ok], la[ok])
            x[ok], y[ok] = px, py
        return Placed(lo, la, x, y, ok)

    def times(self, lon: float, lat: float, *,
              candidates: Candidates = None) -> NDArray[np.float64]:
        """Great-circle distance / speed from (lon, lat) to every venue, seconds."""
        lo, la = self._check_point(lon, lat)
        out = np.full(len(self._venues), np.inf)
        pos = self._positions(candidates)
        if len(pos):
            v = self._venues
            out[pos] = geodesic_distance_m(lo, la, v.lon[pos], v.lat[pos]) / self.speed_mps
        return out

    def pass_for(self, candidates: Candidates, key: Hashable | None = None, *,
                 cutoff_s: float | None = None) -> StraightPass:
        """Return the pass of ``candidates`` (a KD-tree of unit vectors).

        ``key`` is unused; so is ``cutoff_s``: each query point's time is
        computed on demand, so there is no search to cut.
        """
        return StraightPass(self, self._positions(candidates))

    def nearest(
        self,
        lon: float,
        lat: float,
        *,
        candidates: Candidates,
        k: int = 5,
        key: Hashable | None = None,
        max_minutes: float | None = None,
        accept: Callable[[int, float], bool] | None = None,
        route: bool = False,
    ) -> list[NearestHit]:
        """Return the ``k`` candidates nearest by great-circle distance (ties by position).

        With a :class:`VenueFilter` (and no ``accept``) the index's k-d tree
        answers (``open_at`` = open at departure); otherwise the candidates
        are ranked exactly and ``accept(pos, time_s)`` is asked in order.
        ``max_minutes`` limits the distance to ``speed x max_minutes``.
        """
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InvalidParameter("k", f"must be an integer >= 1, not {k!r}")
        lo, la = self._check_point(lon, lat)
        max_dist_m = self._max_dist_m(max_minutes)
        if isinstance(candidates, VenueFilter) and accept is None and self.index is not None:
            positions, dists = self.index.nearest_k(lo, la, int(k), candidates,
                                                    max_dist_m=max_dist_m)
            pairs = list(zip(positions.tolist(), dists.tolist(), strict=True))
        else:
            pairs = self._ranked(lo, la, self._positions(candidates), int(k), max_dist_m,
                                 accept)
        v = self._venues
        return [NearestHit(pos=p, time_s=d / self.speed_mps, distance_m=d,
                           route_lonlat=[(lo, la), (float(v.lon[p]), float(v.lat[p]))]
                           if route else None)
                for p, d in pairs]

    def _ranked(self, lon: float, lat: float, pos: NDArray[np.int64], k: int,
                max_dist_m: float | None,
                accept: Callable[[int, float], bool] | None) -> list[tuple[int, float]]:
        v = self._venues
        d = geodesic_distance_m(lon, lat, v.lon[pos], v.lat[pos])
        if max_dist_m is not None:
            keep = d <= max_dist_m
            pos, d = pos[keep], d[keep]
        order = np.lexsort((pos, d))
        out: list[tuple[int, float]] = []
        for i in order.tolist():
            p, dist = int(pos[i]), float(d[i])
            if accept is None or accept(p, dist / self.speed_mps):
                out.append((p, dist))
                if len(out) == k:
                    break
        return out

    def route(self, lon: float, lat: float, pos: int) -> list[tuple[float, float]]:
        """Return the straight segment from (lon, lat) to venue ``pos``.

        Raises
        ------
        NoRoute
            The venue has no valid coordinate.
        """
        lo, la = self._check_point(lon, lat)
        v = self._venues
        if not 0 <= int(pos) < len(v) or not v.ok[int(pos)]:
            msg = f"venue {int(pos)} has no valid coordinate"
            raise NoRoute(msg)
        return [(lo, la), (float(v.lon[pos]), float(v.lat[pos]))]

    def isochrone(self, lon: float, lat: float, minutes: Sequence[float], *,
                  buffer_m: float | None = None, shape: str | None = None) -> list[Geometry]:
        """One geodesic circle per band (radius = speed x minutes), projected.

        ``shape`` is ignored: a circle has one outline.
        """
        import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it

        lo, la = self._check_point(lon, lat)
        out = []
        for m in minutes:
            ring = geodesic_circle(lo, la, float(m) * 60.0 * self.speed_mps)
            x, y = self.transformer.transform(ring[:, 0], ring[:, 1])
            out.append(shapely.Polygon(np.column_stack([x, y])))
        return out

    def reach_sets(self, points: Any, sites: Any, cutoff_s: float, *,
                   rows: ArrayLike | None = None) -> sp.csr_matrix:
        """Points x sites within ``speed x cutoff_s`` along the great circle (bool CSR)."""
        import scipy.sparse as sp  # lazy: scipy takes ~0.2 s to import; only this path needs it
        from scipy.spatial import (
            cKDTree,  # lazy: scipy takes ~0.2 s to import; only this path needs it
        )

        if not (np.isfinite(cutoff_s) and cutoff_s >= 0):
            msg = f"must be a finite number of seconds >= 0, not {cutoff_s!r}"
            raise InvalidParameter("cutoff_s", msg)
        shape = (len(points), len(sites))
        site_ok = np.flatnonzero(sites.ok)
        sel = np.flatnonzero(points.ok) if rows is None else np.asarray(rows, dtype=np.int64)
        sel = sel[points.ok[sel]] if len(sel) else sel
        if not len(site_ok) or not len(sel):
            return sp.csr_matrix(shape, dtype=bool)
        radius = float(cutoff_s) * self.speed_mps
        tree = cKDTree(_unit(sites.lon[site_ok], sites.lat[site_ok]))
        near = tree.query_ball_point(_unit(points.lon[sel], points.lat[sel]),
                                     r=_chord(radius) * (1 + 1e-9) + 1e-12)
        counts = np.fromiter((len(n) for n in near), dtype=np.int64, count=len(sel))
        r = np.repeat(sel, counts)
        c = (site_ok[np.concatenate([np.asarray(n, dtype=np.int64) for n in near])]
             if counts.sum() else np.zeros(0, np.int64))
        d = geodesic_distance_m(points.lon[r], points.lat[r], sites.lon[c], sites.lat[c])
        keep = d / self.speed_mps <= cutoff_s
        r, c = r[keep], c[keep]
        return sp.csr_matrix((np.ones(len(r), dtype=bool), (r, c)), shape=shape)

    def to_lonlat(self, geom: Geometry) -> Geometry:
        """Project from :attr:`crs` to WGS-84 (rounded to 1e-7)."""
        return to_lonlat(self, geom)

    def __repr__(self) -> str:
        n = len(self._venues)
        return f"StraightRouter({self.mode}, {self.speed_kph:g} km/h, {n} venues)"
