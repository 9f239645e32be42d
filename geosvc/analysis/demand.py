"""Demand for coverage analysis: population points, admin areas, and their snapping.

Three sources of demand, in order of preference:

1. an imported population layer (:class:`~geosvc.model.PopulationCell`):
   point cells are used as they are; polygon cells (``wkt``) are spread
   evenly over sample points of a square lattice ``sample_m`` metres apart
   inside the polygon (in the network's projected CRS), or put at the
   polygon's representative point when it is smaller than one lattice cell
   or no lattice point falls inside;
2. an estimate from OpenStreetMap residential buildings
   (:func:`estimate_population_from_osm`, rules in its docstring) of an
   ``.osm.pbf`` or OSM XML extract;
3. nothing: coverage then gives null population figures and a
   ``no-population`` warning (never a fake 0 %).

Areas (county / district) come from the store; without any,
:func:`grid_areas` splits the network's extent into a documented grid
(:data:`FALLBACK_GRID`: 3 x 2 areas ``AREA-1`` .. ``AREA-6``).

:func:`demand_inputs` applies these fallbacks; the CLI, the service (and so
the coverage endpoint and the planner) all call it, so they measure the same
demand.

:func:`build_demand` snaps the demand points to a network ONCE and assigns
each to its area (shapely ``STRtree`` point-in-polygon);
:func:`build_point_demand` places them for any router instead (as they are
for straight lines, which need no network).  The resulting
:class:`DemandSet` is immutable and reused by every coverage and isochrone
call of that network and data revision (:class:`DemandCache`).  Demand snaps
by the same rule as venues and query points
(:func:`geosvc.network.snap.snap_xy`): only to road components of at least
``min_component_nodes`` nodes (``Settings.min_component_nodes``, default 50),
so a home beside a tiny clipped fragment is counted from the main network.
"""

from __future__ import annotations

import json
import math
import re
import threading
import warnings
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from geosvc.analysis._osm_xml import is_osm_xml, read_osm_xml
from geosvc.coords import local_projection, projection, valid_lonlat
from geosvc.errors import InvalidParameter
from geosvc.model import Area, Level, PopulationCell
from geosvc.network.snap import Snapped, default_min_component_nodes, snap_xy

if TYPE_CHECKING:
    import os

    from geosvc.network.graph import RoadNetwork
    from geosvc.routing.base import Placement, Router

__all__ = [
    "DEFAULT_LEVELS",
    "RESIDENTIAL_TYPES",
    "DemandCache",
    "DemandSet",
    "FALLBACK_GRID",
    "build_demand",
    "build_point_demand",
    "demand_inputs",
    "estimate_population_from_osm",
    "grid_areas",
]

#: ``building=*`` values always counted as homes.
RESIDENTIAL_TYPES = frozenset({
    "residential", "apartments", "house", "detached", "terrace", "dormitory",
    "semidetached_house", "bungalow", "farm",
})

#: Storeys assumed when a building has neither ``building:levels`` nor ``height``.
DEFAULT_LEVELS: dict[str, float] = {
    "apartments": 5.0,
    "residential": 4.0,
    "dormitory": 4.0,
    "yes": 4.0,
    "house": 2.0,
    "detached": 2.0,
    "semidetached_house": 2.0,
    "terrace": 2.0,
    "bungalow": 1.0,
    "farm": 2.0,
}

#: Tags that make a ``building=yes`` something other than a home.
_NON_RESIDENTIAL_KEYS = ("amenity", "office", "shop", "tourism", "leisure", "craft", "historic",
                         "public_transport", "railway", "man_made", "military")

#: Buildings with a smaller footprint (m²) are ignored (sheds, kiosks, roofs).
MIN_FOOTPRINT_M2 = 20.0

#: Grid used when no area is imported: (columns, rows, code prefix).
FALLBACK_GRID: tuple[int, int, str] = (3, 2, "AREA")

#: Metres per storey when only ``height`` is known.
METRES_PER_LEVEL = 3.0

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def _parse_number(value: object) -> float | None:
    """Largest number in an OSM value (``"5"``, ``"5;6"``, ``"4.5 m"``), or None.

    Examples
    --------
    >>> _parse_number("5;6"), _parse_number("12 m"), _parse_number("many"), _parse_number(None)
    (6.0, 12.0, None, None)
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    found = [float(m.replace(",", ".")) for m in _NUMBER.findall(str(value))]
    return max(found) if found else None


def _levels(row_levels: object, row_min: object, row_height: object, default: float) -> float:
    """Residential storeys of one building (see :func:`estimate_population_from_osm`)."""
    levels = _parse_number(row_levels)
    if levels is None:
        height = _parse_number(row_height)
        if height is not None and height > 0:
            levels = max(1.0, round(height / METRES_PER_LEVEL))
    if levels is None:
        levels = float(default)
    low = _parse_number(row_min) or 0.0
    return float(min(max(levels - low, 1.0), 100.0))


def estimate_population_from_osm(
    osm_path: str | os.PathLike[str],
    *,
    floor_area_per_person_m2: float = 35.0,
    default_levels: dict[str, float] | None = None,
) -> list[PopulationCell]:
    """Estimate residents per building from an OSM extract's residential buildings.

    Rules (deterministic; one cell per building, sorted by OSM type and id):

    * a building counts when ``building`` is one of :data:`RESIDENTIAL_TYPES`,
      or when it is ``building=yes`` with none of the tags amenity, office,
      shop, tourism, leisure, craft, historic, public_transport, railway,
      man_made, military AND its representative point lies inside a
      ``landuse=residential`` area;
    * footprints under :data:`MIN_FOOTPRINT_M2` (20 m²) are ignored;
    * storeys: ``building:levels`` (largest number), else ``height`` / 3 m,
      else :data:`DEFAULT_LEVELS` by type (apartments 5, residential and
      dormitory and yes 4, house types 2, bungalow 1); minus
      ``building:min_level``; clamped to 1..100;
    * residents = footprint area (m², in the UTM zone of the extract's
      centre) x storeys / ``floor_area_per_person_m2``;
    * the cell sits at the footprint's representative point (WGS-84), code
      ``osm:<type>/<id>``.

    Cost: dominated by reading the buildings (pyrosm: about 3 s for the
    Helsinki extract; XML: a streaming pass, more for multipolygons).

    Parameters
    ----------
    osm_path : path
        ``.osm.pbf`` extract (read with pyrosm), or OSM XML: ``.osm``,
        ``.osm.xml`` (also ``.gz`` / ``.bz2`` compressed), read by
        :mod:`geosvc.analysis._osm_xml` into the same tables, so both give
        the same cells for the same data.
    floor_area_per_person_m2 : float
        Residential floor area per resident, m² (> 0).
    default_levels : dict, optional
        Overrides of :data:`DEFAULT_LEVELS` (building type -> storeys).

    Returns
    -------
    list of PopulationCell
        Empty when the extract has no residential building.

    Raises
    ------
    InvalidParameter
        ``floor_area_per_person_m2`` not > 0, or the file is missing / unreadable.
    """
    _check_floor_area(floor_area_per_person_m2)
    path = Path(osm_path)
    if not path.is_file():
        msg = f"{str(path)!r} does not exist or is not a file"
        raise InvalidParameter("osm_path", msg)
    levels_by_type = {**DEFAULT_LEVELS, **(default_levels or {})}
    buildings, landuse = _read_osm(path)
    if buildings is None or len(buildings) == 0:
        return []
    import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it

    geoms = shapely.make_valid(np.asarray(buildings.geometry.values))
    table = _Buildings.read(buildings, geoms)
    keep = table.homes(landuse)
    if not keep.any():
        return []
    area = _footprint_areas(buildings.total_bounds, geoms[keep])
    cells: list[tuple[tuple[str, int], PopulationCell]] = []
    for j, i in enumerate(np.flatnonzero(keep)):
        if not area[j] >= MIN_FOOTPRINT_M2:
            continue
        cells.append(table.cell(int(i), float(area[j]), levels_by_type,
                                floor_area_per_person_m2))
    cells.sort(key=lambda c: c[0])
    return [c for _, c in cells]


def _check_floor_area(value: float) -> None:
    """Raise InvalidParameter unless ``value`` (m² per resident) is a finite number > 0."""
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        msg = f"must be a number of m² > 0, not {value!r}"
        raise InvalidParameter("floor_area_per_person_m2", msg)


@dataclass(frozen=True)
class _Buildings:
    """The columns of pyrosm's buildings that the estimate reads, one entry per building."""

    #: ``building`` values, stripped and lower-case ("yes" when absent).
    kinds: NDArray[np.object_]
    #: Each building's tags without their own column.
    tags: list[dict[str, object]]
    #: Column values (None when pyrosm gave no such column) of the keys read.
    cols: dict[str, Any]
    #: Representative points (WGS-84).
    rx: NDArray[np.float64]
    ry: NDArray[np.float64]
    #: OSM element types (None: all ways) and ids.
    osm_type: NDArray[np.object_] | None
    osm_id: NDArray[Any]

    @classmethod
    def read(cls, buildings: Any, geoms: NDArray[np.object_]) -> _Buildings:
        """Read the buildings' table (a GeoDataFrame) and their valid ``geoms``."""
        import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it

        kinds = buildings["building"].astype("string").fillna("yes").str.strip().str.lower()
        none = [None] * len(buildings)
        rep = shapely.point_on_surface(geoms)
        return cls(
            kinds=np.asarray(kinds.to_numpy(dtype=object), dtype=object),
            tags=[_tags(t) for t in buildings.get("tags", none)],
            cols={k: buildings[k].to_numpy(dtype=object) if k in buildings else none
                  for k in (*_NON_RESIDENTIAL_KEYS, "building:levels", "building:min_level",
                            "height")},
            rx=shapely.get_x(rep), ry=shapely.get_y(rep),
            osm_type=(buildings["osm_type"].to_numpy(dtype=object)
                      if "osm_type" in buildings else None),
            osm_id=(buildings["id"].to_numpy() if "id" in buildings
                    else np.arange(len(buildings))),
        )

    def homes(self, landuse: Any) -> NDArray[np.bool_]:
        """Return which buildings count as homes (the first rule of the estimate)."""
        typed = np.isin(self.kinds, list(RESIDENTIAL_TYPES))
        generic = self.kinds == "yes"
        if generic.any():
            other = np.array([
                any(_present(self.cols[k][i]) or _present(self.tags[i].get(k))
                    for k in _NON_RESIDENTIAL_KEYS)
                for i in range(len(self.kinds))
            ], dtype=bool)
            generic &= ~other
            generic &= _inside_residential(landuse, self.rx, self.ry)
        return typed | generic

    def cell(self, i: int, area_m2: float, levels_by_type: dict[str, float],
             floor_area_per_person_m2: float) -> tuple[tuple[str, int], PopulationCell]:
        """Return building ``i``'s sort key (OSM type, id) and its population cell."""
        lv = _levels(self._tag(i, "building:levels"), self._tag(i, "building:min_level"),
                     self._tag(i, "height"),
                     levels_by_type.get(str(self.kinds[i]), levels_by_type["yes"]))
        count = area_m2 * lv / float(floor_area_per_person_m2)
        t = str(self.osm_type[i]) if self.osm_type is not None else "way"
        oid = int(self.osm_id[i])
        return (t, oid), PopulationCell(lon=round(float(self.rx[i]), 7),
                                        lat=round(float(self.ry[i]), 7),
                                        count=round(count, 2), code=f"osm:{t}/{oid}")

    def _tag(self, i: int, key: str) -> object:
        """Return building ``i``'s ``key`` from its column, else from its other tags."""
        return _first(self.cols[key][i], self.tags[i].get(key))


def _footprint_areas(bounds: Sequence[float],
                     geoms: NDArray[np.object_]) -> NDArray[np.float64]:
    """Return the areas (m²) of ``geoms`` (WGS-84) in the UTM zone of the ``bounds`` centre."""
    import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it

    fwd = local_projection(bounds).forward
    projected = shapely.transform(geoms, lambda xy: np.column_stack(
        fwd.transform(xy[:, 0], xy[:, 1])))
    return shapely.area(projected)


def _first(*values: object) -> object:
    for v in values:
        if _present(v):
            return v
    return None


def _present(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    return str(value).strip() not in ("", "no", "None", "nan")


def _tags(raw: object) -> dict[str, object]:
    """Pyrosm's ``tags`` column (JSON text of the tags without their own column)."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str) and raw.startswith("{"):
        try:
            out = json.loads(raw)
        except ValueError:
            return {}
        return out if isinstance(out, dict) else {}
    return {}


def _read_osm(path: Path) -> tuple[Any, Any]:
    """Read the buildings and landuse GeoDataFrames of an extract (pyrosm, quietly; or XML).

    Either may be None (pyrosm's answer for an extract without such features).
    """
    if is_osm_xml(path):
        return read_osm_xml(path)
    import pyrosm  # lazy: pyrosm takes ~0.04 s to import; only this path needs it

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            osm = pyrosm.OSM(str(path))
            buildings = osm.get_buildings()
            landuse = osm.get_landuse()
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        msg = f"cannot be read as an OSM extract: {exc}"
        raise InvalidParameter("osm_path", msg) from exc
    return buildings, landuse


def _inside_residential(landuse: Any, x: NDArray[np.float64],
                        y: NDArray[np.float64]) -> NDArray[np.bool_]:
    import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it

    if landuse is None or len(landuse) == 0 or "landuse" not in landuse:
        return np.zeros(len(x), dtype=bool)
    res = landuse[landuse["landuse"] == "residential"]
    if len(res) == 0:
        return np.zeros(len(x), dtype=bool)
    polys = shapely.make_valid(np.asarray(res.geometry.values))
    tree = shapely.STRtree(polys)
    pi, _ = tree.query(shapely.points(x, y), predicate="intersects")
    out = np.zeros(len(x), dtype=bool)
    out[pi] = True
    return out


def grid_areas(
    bounds_lonlat: Sequence[float], nx: int = 3, ny: int = 2, *, prefix: str = "G",
) -> list[Area]:
    """Split a lon/lat box into ``nx`` x ``ny`` rectangular areas (when none are imported).

    Rows run south to north, columns west to east; area ``k = row * nx + col``
    gets code ``<prefix>-<k+1>`` and name ``<prefix>-<k+1>`` (level county).
    Edges are shared exactly, so every point of the box falls in one area
    (points on an inner edge go to the lower-numbered area).

    Examples
    --------
    >>> areas = grid_areas((24.93, 60.16, 24.96, 60.18), 3, 2, prefix="HEL")
    >>> [a.code for a in areas][:4], len(areas)
    (['HEL-1', 'HEL-2', 'HEL-3', 'HEL-4'], 6)
    >>> areas[0].wkt
    'POLYGON ((24.93 60.16, 24.94 60.16, 24.94 60.17, 24.93 60.17, 24.93 60.16))'

    Raises
    ------
    InvalidParameter
        Bad ``bounds_lonlat`` (not 4 finite numbers with min < max) or ``nx``/``ny`` < 1.
    """
    try:
        x0, y0, x1, y1 = (float(b) for b in bounds_lonlat)
    except (TypeError, ValueError):
        msg = "must be four numbers (min_lon, min_lat, max_lon, max_lat)"
        raise InvalidParameter("bounds_lonlat", msg) from None
    if not all(math.isfinite(v) for v in (x0, y0, x1, y1)) or not (x0 < x1 and y0 < y1):
        msg = "must be finite with min_lon < max_lon and min_lat < max_lat"
        raise InvalidParameter("bounds_lonlat", msg)
    for name, val in (("nx", nx), ("ny", ny)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise InvalidParameter(name, f"must be an integer >= 1, not {val!r}")
    xs = [round(x0 + (x1 - x0) * i / nx, 7) for i in range(nx + 1)]
    ys = [round(y0 + (y1 - y0) * j / ny, 7) for j in range(ny + 1)]
    out = []
    for j in range(ny):
        for i in range(nx):
            k = j * nx + i + 1
            a, b, c, d = (_fmt(v) for v in (xs[i], ys[j], xs[i + 1], ys[j + 1]))
            wkt = f"POLYGON (({a} {b}, {c} {b}, {c} {d}, {a} {d}, {a} {b}))"
            out.append(Area(code=f"{prefix}-{k}", name=f"{prefix}-{k}", wkt=wkt,
                            level=Level.COUNTY))
    return out


def _fmt(v: float) -> str:
    """Degrees with at most 7 decimals, no trailing zeros (``24.93``, ``117.0083806``)."""
    return f"{v:.7f}".rstrip("0").rstrip(".")


def estimate_applies(osm: str | os.PathLike[str] | None) -> bool:
    """Say whether the population fallback (the OSM building estimate) can run on ``osm``.

    It runs on an ``.osm.pbf`` extract and on OSM XML (``.osm``, ``.osm.xml``,
    ``.gz`` / ``.bz2``); :func:`demand_inputs` and ``geosvc doctor`` share this rule.

    Examples
    --------
    >>> estimate_applies("city.osm.pbf"), estimate_applies(None), estimate_applies("x.csv")
    (True, False, False)
    """
    return osm is not None and (str(osm).lower().endswith(".pbf") or is_osm_xml(str(osm)))


def demand_inputs(
    population: Sequence[PopulationCell],
    areas: Sequence[Area],
    net: RoadNetwork | None,
    *,
    osm: str | os.PathLike[str] | None = None,
    floor_area_per_person_m2: float = 35.0,
    estimate: Callable[[str, float], Sequence[PopulationCell]] | None = None,
    bounds_lonlat: Sequence[float] | None = None,
) -> tuple[list[PopulationCell], list[Area], list[str]]:
    """Return the demand cells and areas to use, applying the documented fallbacks.

    * population: the store's layer when it has any cell; else, when ``osm``
      is an ``.osm.pbf`` or OSM XML (``.osm``, ``.osm.xml``, ``.gz`` /
      ``.bz2``) file, :func:`estimate_population_from_osm` of it with
      ``floor_area_per_person_m2``; else none (coverage then gives null
      population figures and the ``no-population`` warning);
    * areas: the store's when it has any; else :func:`grid_areas` of the
      network's extent (without a network: of ``bounds_lonlat``, e.g. the
      venues' and residents' extent of a straight-line analysis) with
      :data:`FALLBACK_GRID` (``AREA-1`` .. ``AREA-6``).

    The CLI (``geosvc coverage``) and :meth:`geosvc.app.service.GeoService.demand`
    (coverage endpoint, isochrone populations, planner) both call this.

    Parameters
    ----------
    population, areas : sequence
        What the store holds (may be empty).
    net : RoadNetwork or None
        The network the demand is for (its extent gives the fallback grid);
        None for routers without a network.
    osm : path, optional
        The network's OSM extract.
    floor_area_per_person_m2 : float
        Passed to the estimate (settings ``floor_area_per_person_m2``).
    estimate : callable(path, floor_area) -> cells, optional
        Replaces :func:`estimate_population_from_osm` (e.g. a memoised one).
    bounds_lonlat : (min_lon, min_lat, max_lon, max_lat), optional
        Extent of the fallback grid when ``net`` is None (no grid when it is
        None too, or empty).

    Returns
    -------
    (cells, areas, notes)
        ``notes`` are one-line human explanations of each fallback taken.
    """
    notes: list[str] = []
    cells = list(population)
    if not cells and osm is not None:
        if estimate_applies(osm):
            run = estimate or (lambda path, fa: estimate_population_from_osm(
                path, floor_area_per_person_m2=fa))
            cells = list(run(str(osm), float(floor_area_per_person_m2)))
            notes.append(f"no population layer imported: estimated "
                         f"{sum(c.count for c in cells):,.0f} residents from "
                         f"{len(cells)} OSM residential buildings")
        else:
            notes.append("no population layer imported and the extract is neither .osm.pbf "
                         "nor OSM XML: no residents (import them with "
                         "`geosvc import population`)")
    elif not cells:
        notes.append("no population layer imported and no OSM extract: no residents "
                     "(import them with `geosvc import population`)")
    out_areas = list(areas)
    extent = None
    if net is not None:
        extent = net.bounds_lonlat if net.n_nodes else None
    elif bounds_lonlat is not None:
        x0, y0, x1, y1 = (float(b) for b in bounds_lonlat)
        extent = (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None
    if not out_areas and extent is not None:
        nx, ny, prefix = FALLBACK_GRID
        out_areas = grid_areas(extent, nx, ny, prefix=prefix)
        where = "the network" if net is not None else "the venues and residents"
        notes.append(f"no areas imported: using a {nx} x {ny} grid over {where} "
                     f"({prefix}-1..{nx * ny})")
    return cells, out_areas, notes


@dataclass(frozen=True, eq=False)
class DemandSet:
    """Demand points snapped to one network, with their counts and areas.

    Build with :func:`build_demand`.  Arrays are read-only.

    Attributes
    ----------
    lon, lat : float64[M]
        WGS-84 degrees of each demand point.
    x, y : float64[M]
        The same in the network's projected CRS, metres.
    count : float64[M]
        Residents at each point (>= 0).
    cell : int64[M]
        Index of the :class:`PopulationCell` each point came from.
    area : int64[M]
        Index into :attr:`areas`, -1 outside every area.
    areas : tuple of Area
    snapped : Placement
        Placed for the router: snapped to the network
        (:class:`~geosvc.network.snap.Snapped`; points farther than
        ``max_snap_m`` have ``edge == -1`` and are never covered), or as
        they are for straight lines (:class:`~geosvc.routing.straight.Placed`).
    crs : str
        The network's (router's) projected CRS.
    key : hashable
        What this set was built for (network hash, mode, data revision).
    min_component_nodes : int or None
        The snapping threshold the points were snapped with (the
        ``Settings`` default when none was given; 0 and 1 both mean any
        edge); None = unknown (a set not made by :func:`build_demand`).
    """

    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    count: NDArray[np.float64]
    cell: NDArray[np.int64]
    area: NDArray[np.int64]
    areas: tuple[Area, ...]
    snapped: Placement
    crs: str
    key: Hashable = None
    min_component_nodes: int | None = None

    def __len__(self) -> int:
        return int(self.count.shape[0])

    @property
    def total(self) -> float:
        """Total residents."""
        return float(self.count.sum())

    @property
    def off_network(self) -> int:
        """Number of demand points too far from the network to be snapped (not placed)."""
        return int((~self.snapped.ok).sum())


def _ro(a: NDArray) -> NDArray:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


def _cell_points(fwd: Any, cells: Sequence[PopulationCell], sample_m: float,
                 ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64],
                            NDArray[np.int64]]:
    """Projected points, counts and cell index of every cell (polygons spread on a lattice).

    ``fwd`` is the pyproj transformer from WGS-84 to the projected CRS.
    """
    import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it

    n = len(cells)
    lon = np.fromiter((c.lon for c in cells), np.float64, n)
    lat = np.fromiter((c.lat for c in cells), np.float64, n)
    count = np.fromiter((c.count for c in cells), np.float64, n)
    bad = ~valid_lonlat(lon, lat)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = f"cell {i} has no valid lon/lat ({lon[i]!r}, {lat[i]!r})"
        raise InvalidParameter("population", msg)
    neg = ~(np.isfinite(count) & (count >= 0))
    if neg.any():
        i = int(np.flatnonzero(neg)[0])
        msg = f"cell {i} has a count that is not a number >= 0 ({count[i]!r})"
        raise InvalidParameter("population", msg)
    px, py = fwd.transform(lon, lat)
    xs, ys, cs, ids = [np.asarray(px, np.float64)], [np.asarray(py, np.float64)], [count], \
        [np.arange(n, dtype=np.int64)]
    poly = [i for i, c in enumerate(cells) if c.wkt]
    if poly:
        keep = np.ones(n, dtype=bool)
        for i in poly:
            try:
                g = shapely.from_wkt(cells[i].wkt)
            except shapely.errors.GEOSException:
                msg = f"cell {i} has an unreadable `wkt`"
                raise InvalidParameter("population", msg) from None
            g = shapely.transform(
                g, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))
            if g.area <= sample_m * sample_m:
                continue
            x0, y0, x1, y1 = g.bounds
            gx = np.arange(math.floor(x0 / sample_m), math.ceil(x1 / sample_m) + 1) * sample_m
            gy = np.arange(math.floor(y0 / sample_m), math.ceil(y1 / sample_m) + 1) * sample_m
            mesh_x, mesh_y = np.meshgrid(gx, gy)
            mx, my = mesh_x.ravel(), mesh_y.ravel()
            inside = shapely.contains_xy(g, mx, my)
            k = int(inside.sum())
            if k == 0:
                continue
            keep[i] = False
            xs.append(mx[inside])
            ys.append(my[inside])
            cs.append(np.full(k, count[i] / k))
            ids.append(np.full(k, i, dtype=np.int64))
        xs[0], ys[0], cs[0], ids[0] = xs[0][keep], ys[0][keep], cs[0][keep], ids[0][keep]
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(cs), np.concatenate(ids)


def build_demand(
    net: RoadNetwork,
    cells: Sequence[PopulationCell],
    areas: Sequence[Area] = (),
    *,
    max_snap_m: float = 1000.0,
    sample_m: float = 100.0,
    key: Hashable = None,
    min_component_nodes: int | None = None,
    snap: bool = True,
) -> DemandSet:
    """Snap demand points to ``net`` once and assign each to its area.

    Parameters
    ----------
    net : RoadNetwork
    cells : sequence of PopulationCell
        Point cells, or polygon cells (``wkt``, WGS-84) spread evenly over a
        ``sample_m`` lattice inside the polygon (representative point if
        smaller than one lattice cell).
    areas : sequence of Area
        WGS-84 polygons (WKT); a point in several gets the first one.
    max_snap_m : float
        Demand farther from every road is kept but never covered (metres).
    sample_m : float
        Lattice spacing for polygon cells, metres.
    key : hashable, optional
        Stored as :attr:`DemandSet.key` (e.g. ``(net.source_hash, revision)``).
    min_component_nodes : int, optional
        Points snap only to road components of at least this many nodes (the
        largest when none is that big); None = ``Settings.min_component_nodes``
        default (50); 0 or 1 = any edge.  Pass the setting the venues were
        snapped with (``settings.min_component_nodes``).
    snap : bool
        False: leave the points unplaced (``snapped.edge`` all -1, read-only
        views costing no memory) for a caller that snaps them elsewhere (the
        parts of :func:`geosvc.distributed.run_province`).

    Raises
    ------
    InvalidParameter
        A cell without valid coordinates or with a negative count
        (``population``), an unreadable area boundary (``areas``), or
        ``min_component_nodes`` not an integer >= 0.
    """
    if not (math.isfinite(sample_m) and sample_m > 0):
        raise InvalidParameter("sample_m", f"must be a number of metres > 0, not {sample_m!r}")
    if not max_snap_m > 0:
        msg = f"must be a number of metres > 0, not {max_snap_m!r}"
        raise InvalidParameter("max_snap_m", msg)
    cells = list(cells)
    areas = tuple(areas)
    x, y, count, cell = _cell_points(net.transformer, cells, float(sample_m))
    lon, lat = net.transformer_inverse.transform(x, y)
    lon, lat = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
    if snap:
        snapped = snap_xy(net, x, y, lon=lon, lat=lat, max_dist_m=max_snap_m,
                          min_component_nodes=min_component_nodes)
    else:
        m = len(x)
        nan = np.broadcast_to(np.nan, (m,))
        snapped = Snapped(edge=np.broadcast_to(np.int64(-1), (m,)), frac=nan,
                          dist_m=np.broadcast_to(np.inf, (m,)), x=nan, y=nan, px=x, py=y,
                          lon=lon, lat=lat)
    area = _area_of(lon, lat, areas)
    return DemandSet(lon=_ro(lon), lat=_ro(lat), x=_ro(x), y=_ro(y), count=_ro(count),
                     cell=_ro(cell), area=_ro(area), areas=areas, snapped=snapped,
                     crs=net.crs, key=key,
                     min_component_nodes=(default_min_component_nodes()
                                          if min_component_nodes is None
                                          else int(min_component_nodes)))


def area_geometries(areas: Sequence[Area]) -> list[Any]:
    """Return the valid shapely geometries of ``areas`` (WGS-84), in order.

    Raises
    ------
    InvalidParameter
        Named ``areas``: an area whose WKT boundary cannot be read.
    """
    import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it

    geoms = []
    for a in areas:
        try:
            g = shapely.from_wkt(a.wkt)
        except shapely.errors.GEOSException:
            msg = f"area `{a.code}` has an unreadable boundary (WKT)"
            raise InvalidParameter("areas", msg) from None
        geoms.append(g if g.is_valid else shapely.make_valid(g))
    return geoms


def _area_of(lon: NDArray[np.float64], lat: NDArray[np.float64],
             areas: Sequence[Area]) -> NDArray[np.int64]:
    """Index of the first area holding each point (-1 = none)."""
    import shapely  # lazy: shapely takes ~0.12 s to import; only this path needs it

    area = np.full(len(lon), -1, dtype=np.int64)
    if areas and len(lon):
        tree = shapely.STRtree(area_geometries(areas))
        pi, ai = tree.query(shapely.points(lon, lat), predicate="intersects")
        order = np.lexsort((ai, pi))
        pi, ai = pi[order], ai[order]
        first = np.ones(len(pi), dtype=bool)
        first[1:] = pi[1:] != pi[:-1]
        area[pi[first]] = ai[first]
    return area


def build_point_demand(
    router: Router,
    cells: Sequence[PopulationCell],
    areas: Sequence[Area] = (),
    *,
    sample_m: float = 100.0,
    key: Hashable = None,
) -> DemandSet:
    """Place demand points for any router (no snapping rule of its own) and assign areas.

    The cells are spread as in :func:`build_demand` (polygon cells on a
    ``sample_m`` lattice in the router's CRS), then placed by
    :meth:`Router.snap`: for a straight-line router every valid point as it
    is.  Use :func:`build_demand` for road networks (it snaps by the
    network's own rule and limit).

    Raises
    ------
    InvalidParameter
        As :func:`build_demand`: bad cells (``population``), unreadable
        areas (``areas``), ``sample_m`` not > 0.

    Examples
    --------
    >>> from geosvc.routing.straight import StraightRouter
    >>> router = StraightRouter([117.0], [31.0], speed_kph=4.5)
    >>> ds = build_point_demand(router, [PopulationCell(117.001, 31.0, 10.0)])
    >>> len(ds), ds.total, bool(ds.snapped.ok[0]), ds.crs
    (1, 10.0, True, 'EPSG:32650')
    """
    if not (math.isfinite(sample_m) and sample_m > 0):
        raise InvalidParameter("sample_m", f"must be a number of metres > 0, not {sample_m!r}")
    cells = list(cells)
    areas = tuple(areas)
    proj = projection(router.crs)
    fwd, inv = proj.forward, proj.inverse
    x, y, count, cell = _cell_points(fwd, cells, float(sample_m))
    lon, lat = inv.transform(x, y)
    lon, lat = np.asarray(lon, np.float64), np.asarray(lat, np.float64)
    placed = router.snap(lon, lat)
    return DemandSet(lon=_ro(lon), lat=_ro(lat), x=_ro(x), y=_ro(y), count=_ro(count),
                     cell=_ro(cell), area=_ro(_area_of(lon, lat, areas)), areas=areas,
                     snapped=placed, crs=router.crs, key=key, min_component_nodes=None)


def point_demand_inputs(
    population: Sequence[PopulationCell],
    areas: Sequence[Area],
    venue_lon: NDArray[np.float64],
    venue_lat: NDArray[np.float64],
    *,
    osm: str | os.PathLike[str] | None = None,
    floor_area_per_person_m2: float = 35.0,
    estimate: Callable[[str, float], Sequence[PopulationCell]] | None = None,
) -> tuple[list[PopulationCell], list[Area], list[str]]:
    """Return :func:`demand_inputs` for a mode without a network (``straight``).

    The fallback 3 x 2 area grid spans the residents and the venues (there is
    no network to span); the OSM estimate is used only when ``osm`` is given.
    """
    lon = np.concatenate([np.asarray([c.lon for c in population], dtype=float),
                          np.asarray(venue_lon, dtype=float)])
    lat = np.concatenate([np.asarray([c.lat for c in population], dtype=float),
                          np.asarray(venue_lat, dtype=float)])
    good = valid_lonlat(lon, lat)
    bounds = None
    if good.any():
        lo, la = lon[good], lat[good]
        bounds = (float(lo.min()), float(la.min()), float(lo.max()), float(la.max()))
    return demand_inputs(population, areas, None, osm=osm,
                         floor_area_per_person_m2=floor_area_per_person_m2,
                         estimate=estimate, bounds_lonlat=bounds)


class DemandCache:
    """Keeps the last :class:`DemandSet` per (network, mode, revision); thread-safe.

    ``get`` builds the set on first use only.  Not used by the service (which
    keeps its own per-revision dict in :meth:`GeoService.demand`) nor by the
    CLI; kept for library callers.
    """

    def __init__(self, size: int = 8) -> None:
        self._size = int(size)
        self._sets: dict[Hashable, DemandSet] = {}
        self._lock = threading.Lock()

    def get(self, net: RoadNetwork, revision: Hashable,
            load: Callable[[], tuple[Sequence[PopulationCell], Sequence[Area]]],
            **options: Any) -> DemandSet:
        """Return the demand of ``net`` at ``revision``; ``load()`` gives (cells, areas).

        ``options`` are the keyword options of :func:`build_demand` (part of the key).
        """
        key = (net.source_hash, net.mode, revision, tuple(sorted(options.items())))
        with self._lock:
            hit = self._sets.get(key)
        if hit is not None:
            return hit
        cells, areas = load()
        ds = build_demand(net, cells, areas, key=key, **options)
        with self._lock:
            self._sets[key] = ds
            while len(self._sets) > self._size:
                self._sets.pop(next(iter(self._sets)))
        return ds
