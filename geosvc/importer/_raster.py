"""Population from a GeoTIFF: windowed reads clipped to an extent, cells -> points.

:func:`parse_raster` is what ``geosvc import population FILE.tif`` (and a
manifest layer with a ``.tif`` path) runs instead of reading a table.  It reads
band 1 of the raster through rasterio (any GDAL GeoTIFF: BigTIFF, LZW /
DEFLATE / ZSTD, predictors, tiled or striped, any CRS), block row by block
row, only inside the **extent**:

* ``bbox`` given (``--bbox W,S,E,N``, WGS-84 degrees): that box;
* else the bbox of the dataset's venues and areas (stored, or in the same
  manifest), buffered by :data:`EXTENT_BUFFER_M`;
* else (an empty dataset) the whole raster.

The extent is turned into the smallest window of whole cells covering it, in
the raster's own grid (its corners reprojected with pyproj; edges densified);
every cell of that window is read once.  A cell is skipped when it is the
raster's nodata value or NaN (counted as nodata) or 0 (counted as zero); a
**negative** cell refuses the import (one problem on field ``count``): a
population count cannot be negative, and the usual cause is a nodata value
(WorldPop's -99999) the file does not declare, which would otherwise be
imported as people.  Every other cell becomes a
:class:`~geosvc.model.PopulationCell` at the cell's centre (reprojected to
WGS-84) holding the cell's value; the report's ``total`` is the exact
(``math.fsum``) sum of the kept values, which is the raster's sum inside the
window.

Memory: reading holds one block row of the window (at most about
:data:`CHUNK_CELLS` cells) at a time; the kept cells are held as three
float64 arrays (24 bytes a cell) until the store writes them in its one
transaction, so the cost grows with the cells kept inside the extent, not with
the raster's size.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import numpy as np

from geosvc.coords import from_wgs84, projection, to_wgs84, valid_lonlat
from geosvc.errors import InvalidParameter, RowProblem
from geosvc.importer._rows import Parsed
from geosvc.model import PopulationCell

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from geosvc.model import Area, Venue
    from geosvc.store.base import Store

__all__ = [
    "CHUNK_CELLS",
    "EXTENT_BUFFER_M",
    "RASTER_SUFFIXES",
    "Bbox",
    "CellArray",
    "RasterParsed",
    "RasterSummary",
    "dataset_extent",
    "is_raster",
    "parse_bbox",
    "parse_raster",
    "raster_layer",
]

#: File suffixes read as population rasters (GeoTIFF).
RASTER_SUFFIXES = frozenset({".tif", ".tiff"})

#: Buffer (metres) around the dataset's venues and areas that makes the extent.
EXTENT_BUFFER_M = 5000.0

#: About how many cells one windowed read holds (whole block rows, at least one).
CHUNK_CELLS = 1 << 20

#: ``(min_lon, min_lat, max_lon, max_lat)`` in WGS-84 degrees.
Bbox = tuple[float, float, float, float]

_METRES_PER_DEGREE = 111_320.0

#: Values turned into Python floats at a time (iteration, exact sum).
_ITER_CHUNK = 1 << 16

#: Two coordinate arrays (x and y, or lon and lat).
_XY = tuple["NDArray[np.float64]", "NDArray[np.float64]"]


def is_raster(path: str | os.PathLike[str]) -> bool:
    """Tell whether ``path`` names a population raster (``.tif`` / ``.tiff``).

    Examples
    --------
    >>> is_raster("worldpop/chn_ppp_2020.TIF"), is_raster("cells.csv")
    (True, False)
    """
    return Path(path).suffix.lower() in RASTER_SUFFIXES


def parse_bbox(text: str) -> Bbox:
    """Parse ``"W,S,E,N"`` (WGS-84 degrees) into a bbox.

    Raises
    ------
    InvalidParameter
        Named ``bbox``: not four numbers, out of range, or empty.

    Examples
    --------
    >>> parse_bbox("118.7, 30.9, 118.8, 31.0")
    (118.7, 30.9, 118.8, 31.0)
    """
    parts = [p.strip() for p in str(text).split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        msg = f"must be four numbers min_lon,min_lat,max_lon,max_lat (got {text!r})"
        raise InvalidParameter("bbox", msg)
    w, s, e, n = values
    if not (-180 <= w < e <= 180 and -90 <= s < n <= 90):
        msg = ("must have -180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat "
               f"<= 90 (got {text!r})")
        raise InvalidParameter("bbox", msg)
    return (w, s, e, n)


def dataset_extent(venues: Sequence[Venue], areas: Sequence[Area], *,
                   buffer_m: float = EXTENT_BUFFER_M) -> Bbox | None:
    """Return the bbox of venues and areas buffered by ``buffer_m``, or None for neither.

    Degrees per metre are taken at the box's latitude farthest from the
    equator, so the buffer is at least ``buffer_m`` everywhere.
    """
    import shapely  # lazy: shapely takes ~0.12 s to import; only area extents need it

    xs = [v.lon for v in venues]
    ys = [v.lat for v in venues]
    for area in areas:
        w, s, e, n = shapely.from_wkt(area.wkt).bounds
        xs += [w, e]
        ys += [s, n]
    xs = [x for x in xs if math.isfinite(x)]
    ys = [y for y in ys if math.isfinite(y)]
    if not xs or not ys:
        return None
    far = min(max(abs(min(ys)), abs(max(ys))) + buffer_m / _METRES_PER_DEGREE, 89.0)
    dlat = buffer_m / _METRES_PER_DEGREE
    dlon = buffer_m / (_METRES_PER_DEGREE * math.cos(math.radians(far)))
    return (max(min(xs) - dlon, -180.0), max(min(ys) - dlat, -90.0),
            min(max(xs) + dlon, 180.0), min(max(ys) + dlat, 90.0))


@dataclass(frozen=True)
class RasterSummary:
    """What a raster import read and kept (reported with the import).

    Attributes
    ----------
    cells_read : int
        Cells in the window read (``width * height``).
    cells_kept : int
        Cells that became population points (value > 0).
    total : float
        Exact sum of the kept values (the raster's sum inside the window).
    nodata_cells, zero_cells : int
        Cells skipped: nodata or NaN; exactly 0.
    extent : Bbox or None
        The WGS-84 extent asked for (None: the whole raster).
    extent_source : str
        Where it came from: ``bbox``, ``dataset`` or ``whole raster``.
    window : (col_off, row_off, width, height)
        The cells read, in the raster's grid.
    shape : (width, height)
        Size of the whole raster.
    crs : str
        The raster's CRS (``EPSG:4326``, or WKT / the ``--crs`` of a raster without one).
    """

    cells_read: int
    cells_kept: int
    total: float
    nodata_cells: int
    zero_cells: int
    extent: Bbox | None
    extent_source: str
    window: tuple[int, int, int, int]
    shape: tuple[int, int]
    crs: str

    def summary(self) -> str:
        """One line, e.g. ``raster: 160000 cells read (400 x 400 of 3000 x 2500, ...``."""
        _, _, width, height = self.window
        where = ("whole raster" if self.extent is None else
                 f"{self.extent_source} extent "
                 + ",".join(f"{v:.5f}" for v in self.extent))
        return (f"raster: {self.cells_read} cells read ({width} x {height} of "
                f"{self.shape[0]} x {self.shape[1]}, {self.crs}), {self.cells_kept} kept, "
                f"sum {self.total:.1f}, {self.nodata_cells} nodata, {self.zero_cells} zero; "
                f"{where}")


class CellArray(Sequence[PopulationCell]):
    """Population points held as three float64 arrays; cells are built when asked for.

    A :class:`~collections.abc.Sequence` of :class:`~geosvc.model.PopulationCell`
    (what :class:`~geosvc.store.base.Batch` takes) at 24 bytes a cell instead
    of ~130 for the objects.
    """

    def __init__(self, lons: NDArray[np.float64], lats: NDArray[np.float64],
                 counts: NDArray[np.float64]) -> None:
        self.lons, self.lats, self.counts = lons, lats, counts

    def __len__(self) -> int:
        return len(self.counts)

    @overload
    def __getitem__(self, index: int) -> PopulationCell: ...
    @overload
    def __getitem__(self, index: slice) -> CellArray: ...
    def __getitem__(self, index: int | slice) -> PopulationCell | CellArray:
        if isinstance(index, slice):
            return CellArray(self.lons[index], self.lats[index], self.counts[index])
        return PopulationCell(float(self.lons[index]), float(self.lats[index]),
                              float(self.counts[index]))

    def __iter__(self) -> Iterator[PopulationCell]:
        for start in range(0, len(self.counts), _ITER_CHUNK):  # no 3 x N list of floats
            part = slice(start, start + _ITER_CHUNK)
            for x, y, c in zip(self.lons[part].tolist(), self.lats[part].tolist(),
                               self.counts[part].tolist(), strict=True):
                yield PopulationCell(x, y, c)

    def __repr__(self) -> str:
        return f"CellArray({len(self)} cells)"


@dataclass
class RasterParsed(Parsed):
    """A parsed population raster: the cells (a :class:`CellArray`) and what was read."""

    raster: RasterSummary | None = None


def raster_layer(what: str, path: str | os.PathLike[str], *, crs: str = "wgs84",
                 bbox: Bbox | None = None, store: Store | None = None,
                 pending: dict[str, Parsed] | None = None) -> RasterParsed:
    """Parse a population raster inside ``bbox`` or the dataset's extent.

    The extent, when ``bbox`` is None, is :func:`dataset_extent` of the
    venues and areas in ``store`` and in ``pending`` (earlier layers of the
    same manifest); with neither, the whole raster is read.

    Raises
    ------
    InvalidParameter
        Named ``path`` (a raster imported as anything but population; see
        also :func:`parse_raster`) or ``bbox`` (given for a file that is not
        a raster).
    """
    if not is_raster(path):
        msg = f"applies only to a population raster (.tif), not {Path(path).name!r}"
        raise InvalidParameter("bbox", msg)
    if what != "population":
        msg = (f"file {str(path)!r} is a raster: it can only be imported as population "
               f"(got {what})")
        raise InvalidParameter("path", msg)
    source = "bbox"
    if bbox is None:
        venues: list[Venue] = []
        areas: list[Area] = []
        if store is not None:
            venues += store.venues()
            areas += store.areas()
        pending = pending or {}
        if "venues" in pending:
            venues += pending["venues"].records
        if "areas" in pending:
            areas += pending["areas"].records
        bbox = dataset_extent(venues, areas)
        source = "dataset"
    return parse_raster(path, bbox=bbox, extent_source=source, crs=crs)


def parse_raster(path: str | os.PathLike[str], *, bbox: Bbox | None = None,
                 extent_source: str = "bbox", crs: str = "wgs84") -> RasterParsed:
    """Read a population GeoTIFF inside an extent into population points.

    Parameters
    ----------
    path : path
        The GeoTIFF; band 1 holds people per cell.
    bbox : Bbox, optional
        WGS-84 extent to read; None reads the whole raster.
    extent_source : str
        How the extent was chosen (``bbox`` or ``dataset``), for the report.
    crs : str
        Only for a raster without a CRS: its cells are lon/lat degrees in
        this system (``wgs84``, ``gcj02``, ``bd09``).  A raster with a CRS
        must be imported with the default ``wgs84``.

    Returns
    -------
    RasterParsed
        ``records`` a :class:`CellArray` (WGS-84 cell centres), ``rows`` the
        cells kept, ``raster`` the :class:`RasterSummary`; ``problems`` (row 0)
        when the extent misses the raster, nothing is populated, or a cell is
        negative.

    Raises
    ------
    InvalidParameter
        Named ``path`` (missing, not a raster GDAL can open) or ``crs``.
    """
    import rasterio  # lazy: rasterio (GDAL) takes ~0.2 s to import; only rasters need it

    p = Path(path)
    if not p.is_file():
        msg = f"file {str(p)!r} does not exist" if not p.exists() else \
            f"file {str(p)!r} is not a file"
        raise InvalidParameter("path", msg)
    try:
        ds = rasterio.open(p)
    except rasterio.errors.RasterioIOError as exc:
        msg = f"file {str(p)!r} is not a raster GDAL can read ({exc})"
        raise InvalidParameter("path", msg) from exc
    with ds:
        return _read(ds, bbox=bbox, extent_source=extent_source, crs=crs)


def _read(ds: Any, *, bbox: Bbox | None, extent_source: str, crs: str) -> RasterParsed:
    """Read the window of ``ds`` covering ``bbox`` (see :func:`parse_raster`)."""
    parsed = RasterParsed("population")
    grid = _Grid.of(ds, crs)
    if bbox is None:
        window = (0, 0, ds.width, ds.height)
    else:
        window = _window(ds, grid, bbox)
        if window[2] == 0 or window[3] == 0:
            w, s, e, n = grid.bounds_wgs84(ds)
            msg = (f"the raster (lon {w:.4f}..{e:.4f}, lat {s:.4f}..{n:.4f}) does not "
                   f"overlap the {extent_source} extent "
                   + ",".join(f"{v:.4f}" for v in bbox))
            parsed.problems.append(RowProblem(0, "bbox", msg))
            return parsed
    acc = _Accumulator(grid, nodata=ds.nodata)
    for row_off, chunk in _chunks(ds, window):
        acc.add(chunk, row_off, window[0])
    if acc.negative:
        r, c = acc.first_negative
        msg = (f"{acc.negative} cell(s) are negative (min {acc.minimum:g}, first at row "
               f"{r}, column {c}); a population count cannot be negative. If that is the "
               f"file's nodata value, declare it: rio edit-info --nodata {acc.minimum:g} FILE")
        parsed.problems.append(RowProblem(0, "count", msg))
    if acc.misplaced:
        r, c = acc.first_misplaced
        msg = (f"{acc.misplaced} cell centre(s) do not map to WGS-84 lon/lat (first at row "
               f"{r}, column {c}); check the raster's CRS")
        parsed.problems.append(RowProblem(0, "crs", msg))
    lon, lat, counts = acc.arrays()
    if not len(counts) and not parsed.problems:
        parsed.problems.append(RowProblem(0, "count", "no populated cell (value > 0) inside "
                                                      "the extent read"))
    parsed.records = CellArray(lon, lat, counts)  # type: ignore[assignment]
    parsed.rows = len(counts)
    parsed.raster = RasterSummary(
        cells_read=window[2] * window[3], cells_kept=len(counts),
        total=_exact_sum(counts), nodata_cells=acc.nodata_cells,
        zero_cells=acc.zero_cells, extent=bbox,
        extent_source="whole raster" if bbox is None else extent_source,
        window=window, shape=(ds.width, ds.height), crs=grid.name)
    return parsed


def _exact_sum(values: NDArray[np.float64]) -> float:
    """Return the correctly rounded sum of ``values`` (``math.fsum``, chunk by chunk)."""
    return math.fsum(itertools.chain.from_iterable(
        values[i:i + _ITER_CHUNK].tolist() for i in range(0, len(values), _ITER_CHUNK)))


@dataclass(frozen=True)
class _Grid:
    """The raster's georeferencing: affine transform and how to reach WGS-84."""

    transform: Any  # affine.Affine
    name: str
    wkt: str | None  # a CRS pyproj must transform from; None: lon/lat degrees
    degrees_crs: str  # for wkt None: wgs84 | gcj02 | bd09

    @classmethod
    def of(cls, ds: Any, crs: str) -> _Grid:
        if ds.crs is None:
            return cls(ds.transform, f"no CRS: {crs} degrees", None, crs)
        if crs != "wgs84":
            msg = (f"does not apply to a raster with a CRS (the file says "
                   f"{ds.crs.to_string()}); leave it at wgs84")
            raise InvalidParameter("crs", msg)
        epsg = ds.crs.to_epsg()
        if epsg == 4326:
            return cls(ds.transform, "EPSG:4326", None, "wgs84")
        name = f"EPSG:{epsg}" if epsg else ds.crs.to_string()
        return cls(ds.transform, name, ds.crs.to_wkt(), "wgs84")

    def from_lonlat(self, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> _XY:
        """Convert WGS-84 lon/lat to the raster's x/y."""
        if self.wkt is None:
            x, y = from_wgs84(lon, lat, self.degrees_crs)
            return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        x, y = projection(self.wkt).forward.transform(lon, lat)
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def to_lonlat(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> _XY:
        """Convert the raster's x/y to WGS-84 lon/lat."""
        if self.wkt is None:
            if self.degrees_crs == "wgs84":
                return x, y
            lon, lat = to_wgs84(x, y, self.degrees_crs)
            return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
        lon, lat = projection(self.wkt).inverse.transform(x, y)
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    def centres(self, rows: NDArray[np.intp], cols: NDArray[np.intp]) -> _XY:
        """Return the WGS-84 lon/lat of the centres of cells (row, col) (vectorised)."""
        t = self.transform
        c = cols.astype(np.float64) + 0.5
        r = rows.astype(np.float64) + 0.5
        return self.to_lonlat(t.a * c + t.b * r + t.c, t.d * c + t.e * r + t.f)

    def bounds_wgs84(self, ds: Any) -> Bbox:
        """Return the raster's bounds in WGS-84 (corners and edge points)."""
        cols, rows = _edge_points(0.0, 0.0, float(ds.width), float(ds.height))
        t = self.transform
        lon, lat = self.to_lonlat(t.a * cols + t.b * rows + t.c, t.d * cols + t.e * rows + t.f)
        ok = np.isfinite(lon) & np.isfinite(lat)
        if not ok.any():
            return (math.nan, math.nan, math.nan, math.nan)
        return (float(lon[ok].min()), float(lat[ok].min()),
                float(lon[ok].max()), float(lat[ok].max()))


def _edge_points(x0: float, y0: float, x1: float, y1: float, n: int = 21) -> _XY:
    """Return points along the four edges of a box (corners included)."""
    t = np.linspace(0.0, 1.0, n)
    dx, dy = (x1 - x0) * t, (y1 - y0) * t
    xs = np.concatenate([x0 + dx, np.full(n, x1), x1 - dx, np.full(n, x0)])
    ys = np.concatenate([np.full(n, y0), y0 + dy, np.full(n, y1), y1 - dy])
    return xs, ys


def _window(ds: Any, grid: _Grid, bbox: Bbox) -> tuple[int, int, int, int]:
    """Return the smallest window of whole cells covering ``bbox``, clipped to the raster.

    Returns ``(col_off, row_off, width, height)``; width or height 0 when the
    box misses the raster.
    """
    lon, lat = _edge_points(*bbox)
    x, y = grid.from_lonlat(lon, lat)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return (0, 0, 0, 0)
    inverse = ~grid.transform
    cols = inverse.a * x[ok] + inverse.b * y[ok] + inverse.c
    rows = inverse.d * x[ok] + inverse.e * y[ok] + inverse.f
    c0 = max(math.floor(cols.min()), 0)
    c1 = min(math.ceil(cols.max()), ds.width)
    r0 = max(math.floor(rows.min()), 0)
    r1 = min(math.ceil(rows.max()), ds.height)
    if c1 <= c0 or r1 <= r0:
        return (0, 0, 0, 0)
    return (c0, r0, c1 - c0, r1 - r0)


def _chunks(ds: Any, window: tuple[int, int, int, int]) -> Iterator[tuple[int, Any]]:
    """Read band 1 inside ``window`` in whole block rows of about CHUNK_CELLS cells.

    Yields ``(row_off, array)``: the raster row of the chunk's first line and
    its values (``width`` columns of the window).
    """
    from rasterio.windows import Window  # lazy: rasterio (GDAL) loads only for rasters

    col_off, row_off, width, height = window
    block_rows = max(int(ds.block_shapes[0][0]), 1)
    step = max(CHUNK_CELLS // max(width, 1) // block_rows, 1) * block_rows
    start = row_off
    end = row_off + height
    while start < end:
        # align chunk ends on block rows so each block is decoded once
        stop = min(((start // block_rows) * block_rows) + step, end)
        yield start, ds.read(1, window=Window(col_off, start, width, stop - start))
        start = stop


class _Accumulator:
    """Collect the kept cells of each chunk (WGS-84 centres, values); count the others."""

    def __init__(self, grid: _Grid, *, nodata: float | None) -> None:
        self.grid = grid
        self.nodata = nodata
        #: lon, lat and value arrays of each chunk's kept cells
        self.parts: tuple[list[NDArray[np.float64]], ...] = ([], [], [])
        self.nodata_cells = 0
        self.zero_cells = 0
        self.negative = 0
        self.minimum = 0.0
        self.first_negative = (0, 0)
        self.misplaced = 0
        self.first_misplaced = (0, 0)

    def add(self, chunk: Any, row_off: int, col_off: int) -> None:
        """Take the cells of one chunk whose first cell is (``row_off``, ``col_off``)."""
        values = np.asarray(chunk)
        valid = np.ones(values.shape, dtype=bool)
        if values.dtype.kind == "f":
            valid &= ~np.isnan(values)
        if self.nodata is not None and not math.isnan(self.nodata):
            valid &= values != self.nodata  # a Python number: no overflow for any dtype
        self.nodata_cells += int(values.size - np.count_nonzero(valid))
        self.zero_cells += int(np.count_nonzero(valid & (values == 0)))
        negative = valid & (values < 0)
        n_neg = int(np.count_nonzero(negative))
        if n_neg:
            if not self.negative:
                r, c = np.argwhere(negative)[0]
                self.first_negative = (int(r) + row_off, int(c) + col_off)
            self.negative += n_neg
            self.minimum = min(self.minimum, float(values[negative].min()))
        rows, cols = np.nonzero(valid & (values > 0))
        counts = values[rows, cols].astype(np.float64)
        lon, lat = self.grid.centres(rows + row_off, cols + col_off)
        bad = ~valid_lonlat(lon, lat)
        if bad.any():
            if not self.misplaced:
                i = int(np.argmax(bad))
                self.first_misplaced = (int(rows[i]) + row_off, int(cols[i]) + col_off)
            self.misplaced += int(bad.sum())
        for part, array in zip(self.parts, (lon, lat, counts), strict=True):
            part.append(array)

    def arrays(self) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
        """Return lon, lat and value of every kept cell, in raster order (once)."""
        out = []
        for part in self.parts:  # one at a time: the chunks of each are freed in turn
            out.append(np.concatenate(part) if part else np.empty(0, dtype=np.float64))
            part.clear()
        return out[0], out[1], out[2]
