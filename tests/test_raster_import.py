"""Population from GeoTIFF rasters: the tests write their own with rasterio.

Oracles: the window of whole cells covering the extent is worked out here
with rasterio (``windows.from_bounds`` / ``warp.transform_bounds``) and the
expected sum is ``math.fsum`` of rasterio's masked read of that window; the
import must report and store exactly that sum.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyproj
import pytest
import rasterio
from click.testing import CliRunner
from rasterio.transform import from_origin
from rasterio.warp import transform_bounds
from rasterio.windows import Window, from_bounds

from geosvc.cli import main
from geosvc.errors import ImportRejected, InvalidParameter
from geosvc.importer import _raster, import_file, import_manifest, parse_bbox
from geosvc.importer._raster import CellArray, dataset_extent, parse_raster
from geosvc.model import PopulationCell, Venue, VenueKind
from geosvc.store import Batch, open_store
from geosvc.web import create_app
from tests.web.citydata import AREAS, INFO, ITEMS, LINKS, VENUES

RES = 1 / 1200  # 3 arc-seconds, WorldPop's ~100 m grid
WEST, NORTH = 118.60, 31.10  # the raster's top-left corner (around the test city)


def write_raster(path: Path, values: np.ndarray, *, crs: str | None = "EPSG:4326",
                 transform=None, nodata: float | None = -99999.0, **profile) -> Path:
    """Write ``values`` (rows x cols) as a one-band GeoTIFF."""
    height, width = values.shape
    options = dict(driver="GTiff", width=width, height=height, count=1, dtype=values.dtype,
                   crs=crs, transform=transform or from_origin(WEST, NORTH, RES, RES),
                   nodata=nodata)
    options.update(profile)
    with rasterio.open(path, "w", **options) as ds:
        ds.write(values, 1)
    return path


def worldpop_like(shape: tuple[int, int], *, seed: int = 9) -> np.ndarray:
    """Float32 people per cell with WorldPop's nodata (-99999) on a river and some zeros."""
    rng = np.random.default_rng(seed)
    values = (rng.gamma(0.6, 40.0, shape)).astype(np.float32)
    values[rng.random(shape) < 0.05] = 0.0
    values[:, shape[1] // 3] = -99999.0  # a river of nodata
    return values


def oracle(path: Path, window: Window) -> tuple[float, int]:
    """Exact sum and count of the cells > 0 that rasterio's masked read gives in ``window``."""
    with rasterio.open(path) as ds:
        data = ds.read(1, window=window, masked=True)
    kept = data.compressed().astype(np.float64)
    kept = kept[np.isfinite(kept) & (kept > 0)]
    return math.fsum(kept.tolist()), len(kept)


def covering_window(path: Path, bbox: tuple[float, float, float, float]) -> Window:
    """The window of whole cells covering ``bbox`` (WGS-84), clipped to the raster."""
    with rasterio.open(path) as ds:
        bounds = bbox if ds.crs.to_epsg() == 4326 else transform_bounds(
            "EPSG:4326", ds.crs, *bbox, densify_pts=21)
        win = from_bounds(*bounds, transform=ds.transform)
        c0, r0 = math.floor(win.col_off), math.floor(win.row_off)
        c1 = math.ceil(win.col_off + win.width)
        r1 = math.ceil(win.row_off + win.height)
        c0, r0, c1, r1 = max(c0, 0), max(r0, 0), min(c1, ds.width), min(r1, ds.height)
    return Window(c0, r0, c1 - c0, r1 - r0)


def stored_population(db: Path) -> list[PopulationCell]:
    with open_store(str(db), create=False) as store:
        return store.population()


def window_tuple(win: Window) -> tuple[int, int, int, int]:
    return (int(win.col_off), int(win.row_off), int(win.width), int(win.height))


@pytest.fixture
def city(tmp_path: Path) -> Path:
    """The small test city (venues, items, links, areas) with no population."""
    db = tmp_path / "city.sqlite"
    with open_store(str(db)) as store:
        store.write(Batch(venues=VENUES, items=ITEMS, links=LINKS, areas=AREAS, info=INFO))
    return db


@pytest.fixture
def bigtiff(tmp_path: Path) -> Path:
    """WorldPop-style: BigTIFF, float32, LZW + floating-point predictor, tiled, nodata."""
    return write_raster(tmp_path / "worldpop.tif", worldpop_like((300, 480)),
                        BIGTIFF="YES", compress="lzw", predictor=3, tiled=True,
                        blockxsize=64, blockysize=64)


def test_bigtiff_lzw_predictor_nodata_clipped_to_the_dataset_extent(city, bigtiff) -> None:
    assert bigtiff.read_bytes()[:4] == b"II+\x00"  # a BigTIFF
    with rasterio.open(bigtiff) as ds:
        assert ds.compression.name == "lzw" and ds.nodata == -99999.0
    with open_store(str(city)) as store:
        extent = dataset_extent(store.venues(), store.areas())
        report = import_file(store, "population", bigtiff)
    assert extent is not None
    win = covering_window(bigtiff, extent)
    total, kept = oracle(bigtiff, win)
    raster = report.raster
    assert raster is not None
    assert raster.window == window_tuple(win)
    assert 0 < win.width < 480 and 0 < win.height < 300  # clipped, not the whole raster
    assert raster.extent == extent and raster.extent_source == "dataset"
    assert raster.total == total and raster.cells_kept == kept == report.rows
    assert raster.cells_read == win.width * win.height
    assert raster.nodata_cells == win.height  # the river column crosses the window
    assert raster.cells_read == kept + raster.nodata_cells + raster.zero_cells
    cells = stored_population(city)
    assert len(cells) == kept and math.fsum(c.count for c in cells) == total
    assert all(c.wkt is None and c.code is None for c in cells)
    # the extent is the city's venues and areas + 5 km: every cell centre lies inside it
    # (up to half a cell), and the city's venues lie well inside the cells' box
    lons = [c.lon for c in cells]
    lats = [c.lat for c in cells]
    assert extent[0] - RES <= min(lons) and max(lons) <= extent[2] + RES
    assert extent[1] - RES <= min(lats) and max(lats) <= extent[3] + RES
    assert min(lons) < min(v.lon for v in VENUES) - 0.04
    assert "raster: " in report.summary() and f"{kept} kept" in report.summary()


def test_cell_centres_are_exact(tmp_path) -> None:
    values = np.zeros((4, 5), dtype=np.float32)
    values[1, 2] = 7.5
    values[3, 0] = 2.0
    path = write_raster(tmp_path / "two.tif", values, nodata=None)
    parsed = parse_raster(path)
    assert list(parsed.records) == [
        PopulationCell(WEST + 2.5 * RES, NORTH - 1.5 * RES, 7.5),
        PopulationCell(WEST + 0.5 * RES, NORTH - 3.5 * RES, 2.0),
    ]
    assert parsed.raster is not None and parsed.raster.zero_cells == 18
    assert parsed.raster.extent is None and parsed.raster.extent_source == "whole raster"


def test_utm_raster_in_metres_deflate_predictor(tmp_path) -> None:
    """EPSG:32650, 100 m cells, DEFLATE + horizontal predictor, striped (not tiled)."""
    to_utm = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32650", always_xy=True)
    x0, y0 = to_utm.transform(118.70, 31.00)
    x0, y0 = math.floor(x0 / 100) * 100, math.ceil(y0 / 100) * 100
    values = worldpop_like((200, 160), seed=3)
    path = write_raster(tmp_path / "utm.tif", values, crs="EPSG:32650",
                        transform=from_origin(x0, y0, 100.0, 100.0),
                        compress="deflate", predictor=2, blockysize=7)
    bbox = (118.73, 30.90, 118.80, 30.96)
    db = tmp_path / "utm.sqlite"
    with open_store(str(db)) as store:
        report = import_file(store, "population", path, bbox=bbox)
    win = covering_window(path, bbox)
    total, kept = oracle(path, win)
    assert report.raster is not None and report.raster.window == window_tuple(win)
    assert report.raster.crs == "EPSG:32650" and report.raster.extent_source == "bbox"
    assert report.raster.total == total and report.rows == kept
    cells = stored_population(db)
    assert math.fsum(c.count for c in cells) == total
    # centres: reproject one cell's centre independently
    with rasterio.open(path) as ds:
        data = ds.read(1, window=win)
        r, c = np.argwhere(data > 0)[0]
        x, y = ds.xy(int(r) + win.row_off, int(c) + win.col_off, offset="center")
    lon, lat = pyproj.Transformer.from_crs("EPSG:32650", "EPSG:4326",
                                           always_xy=True).transform(x, y)
    assert (cells[0].lon, cells[0].lat) == pytest.approx((lon, lat), abs=1e-9)
    assert cells[0].count == float(data[r, c])


def test_raster_partly_outside_the_extent_is_clipped_at_its_edge(tmp_path) -> None:
    values = worldpop_like((120, 120), seed=5)
    path = write_raster(tmp_path / "edge.tif", values, compress="lzw", predictor=3)
    # a venue near the raster's east edge: the extent (+5 km) runs past the raster
    venue = Venue("V1", "东边的大厅", VenueKind.HALL, WEST + 115 * RES, NORTH - 60 * RES,
                  level="county")
    db = tmp_path / "edge.sqlite"
    with open_store(str(db)) as store:
        store.write(Batch(venues=[venue]))
        report = import_file(store, "population", path)
        extent = dataset_extent([venue], [])
    assert extent is not None and extent[2] > WEST + 120 * RES
    win = covering_window(path, extent)
    assert win.col_off + win.width == 120 and win.col_off > 0  # clipped at the edge
    total, kept = oracle(path, win)
    assert report.raster is not None and report.raster.window == window_tuple(win)
    assert report.raster.total == total and report.rows == kept


def test_extent_outside_the_raster_refuses_and_writes_nothing(tmp_path, bigtiff) -> None:
    db = tmp_path / "far.sqlite"
    with open_store(str(db)) as store:
        with pytest.raises(ImportRejected) as err:
            import_file(store, "population", bigtiff, bbox=(100.0, 20.0, 100.1, 20.1))
        assert store.population() == []
    (problem,) = err.value.problems
    assert problem.field == "bbox" and "does not overlap" in problem.reason


def test_negative_cells_refuse_the_import(tmp_path) -> None:
    values = np.full((10, 10), 3.0, dtype=np.float32)
    values[4, 6] = -99999.0  # an undeclared nodata value
    path = write_raster(tmp_path / "neg.tif", values, nodata=None)
    db = tmp_path / "neg.sqlite"
    with open_store(str(db)) as store:
        with pytest.raises(ImportRejected) as err:
            import_file(store, "population", path)
        assert store.population() == []
    (problem,) = err.value.problems
    assert problem.row == 0 and problem.field == "count"
    assert "row 4, column 6" in problem.reason and "--nodata -99999" in problem.reason


def test_nan_nodata_and_integer_rasters(tmp_path) -> None:
    values = np.arange(12, dtype=np.float32).reshape(3, 4)
    values[0, 1] = np.nan
    path = write_raster(tmp_path / "nan.tif", values, nodata=float("nan"))
    parsed = parse_raster(path)
    assert parsed.raster is not None
    assert (parsed.raster.nodata_cells, parsed.raster.zero_cells) == (1, 1)
    assert parsed.raster.total == sum(range(12)) - 1
    ints = write_raster(tmp_path / "int.tif", np.array([[0, 5], [65535, 7]], dtype=np.uint16),
                        nodata=65535)
    parsed = parse_raster(ints)
    assert [c.count for c in parsed.records] == [5.0, 7.0]
    assert parsed.raster is not None and parsed.raster.nodata_cells == 1


def test_whole_raster_when_the_dataset_is_empty(tmp_path, bigtiff) -> None:
    db = tmp_path / "empty.sqlite"
    with open_store(str(db)) as store:
        report = import_file(store, "population", bigtiff, dry_run=True)
        assert store.population() == []
    total, kept = oracle(bigtiff, Window(0, 0, 480, 300))
    assert report.dry_run and report.raster is not None
    assert report.raster.extent is None and report.raster.window == (0, 0, 480, 300)
    assert report.raster.total == total and report.rows == kept == report.created


def test_chunked_reads_give_the_same_cells(tmp_path, monkeypatch) -> None:
    """Reads of one block row at a time (tiny CHUNK_CELLS) keep cells and sum."""
    path = write_raster(tmp_path / "c.tif", worldpop_like((90, 70), seed=2),
                        tiled=True, blockxsize=16, blockysize=16, compress="lzw")
    whole = parse_raster(path)
    monkeypatch.setattr(_raster, "CHUNK_CELLS", 10)
    chunked = parse_raster(path, bbox=(WEST, NORTH - 1, WEST + 1, NORTH))
    assert isinstance(chunked.records, CellArray)
    assert list(chunked.records) == list(whole.records)
    assert chunked.raster is not None and whole.raster is not None
    assert chunked.raster.total == whole.raster.total


def test_manifest_population_raster_uses_the_manifest_venues(tmp_path, bigtiff) -> None:
    venues = tmp_path / "venues.csv"
    venues.write_text("code,name,kind,level,lon,lat\n"
                      "H1,市政务服务中心,hall,city,118.75,31.00\n", encoding="utf-8")
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text("layers:\n"
                        "  - {what: venues, path: venues.csv}\n"
                        f"  - {{what: population, path: {bigtiff.name}}}\n", encoding="utf-8")
    db = tmp_path / "m.sqlite"
    with open_store(str(db)) as store:
        report = import_manifest(store, manifest)
    (pop,) = [r for r in report.reports if r.what == "population"]
    extent = dataset_extent([Venue("H1", "x", VenueKind.HALL, 118.75, 31.00,
                                   level="city")], [])
    assert extent is not None
    total, kept = oracle(bigtiff, covering_window(bigtiff, extent))
    assert pop.raster is not None and pop.raster.extent == extent
    assert pop.raster.total == total and pop.rows == kept
    # an explicit bbox in the manifest wins
    manifest.write_text("layers:\n"
                        f"  - {{what: population, path: {bigtiff.name}, "
                        "bbox: [118.62, 31.0, 118.7, 31.05]}\n", encoding="utf-8")
    with open_store(str(db)) as store:
        report = import_manifest(store, manifest)
    (pop,) = report.reports
    total, _ = oracle(bigtiff, covering_window(bigtiff, (118.62, 31.0, 118.7, 31.05)))
    assert pop.raster is not None and pop.raster.total == total


def test_manifest_bbox_only_for_a_raster(tmp_path) -> None:
    pop = tmp_path / "pop.csv"
    pop.write_text("count,lon,lat\n5,118.7,31.0\n", encoding="utf-8")
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text("layers:\n  - {what: population, path: pop.csv, bbox: [1, 2, 3, 4]}\n",
                        encoding="utf-8")
    with open_store(str(tmp_path / "x.sqlite")) as store, \
            pytest.raises(InvalidParameter) as err:
        import_manifest(store, manifest)
    assert err.value.invalid_params[0]["name"] == "layers[1].bbox"


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "3,2,1,4", "0,95,1,96", "nan,1,2,3"])
def test_parse_bbox_refuses(text: str) -> None:
    with pytest.raises(InvalidParameter) as err:
        parse_bbox(text)
    assert err.value.invalid_params[0]["name"] == "bbox"


def test_raster_only_as_population_and_bbox_only_for_rasters(tmp_path, bigtiff) -> None:
    csv = tmp_path / "pop.csv"
    csv.write_text("count,lon,lat\n5,118.7,31.0\n", encoding="utf-8")
    with open_store(str(tmp_path / "x.sqlite")) as store:
        with pytest.raises(InvalidParameter) as err:
            import_file(store, "venues", bigtiff)
        assert err.value.invalid_params[0]["name"] == "path"
        with pytest.raises(InvalidParameter) as err:
            import_file(store, "population", csv, bbox=(118.0, 30.0, 119.0, 31.0))
        assert err.value.invalid_params[0]["name"] == "bbox"
        with pytest.raises(InvalidParameter) as err:
            import_file(store, "population", bigtiff, crs="gcj02")
        assert err.value.invalid_params[0]["name"] == "crs"
        broken = tmp_path / "broken.tif"
        broken.write_bytes(b"not a tiff")
        with pytest.raises(InvalidParameter) as err:
            import_file(store, "population", broken)
        assert err.value.invalid_params[0]["name"] == "path"


def test_cli_imports_a_raster_and_prints_the_raster_line(tmp_path, bigtiff) -> None:
    runner = CliRunner()
    db = tmp_path / "cli.sqlite"
    res = runner.invoke(main, ["import", "population", str(bigtiff), "--db", str(db),
                               "--bbox", "118.62,31.0,118.7,31.05"])
    assert res.exit_code == 0, res.output
    first, second = res.stdout.strip().splitlines()
    assert first.startswith("population: ") and " created" in first
    assert second.startswith("raster: ") and "bbox extent 118.62000,31.00000" in second
    total, _ = oracle(bigtiff, covering_window(bigtiff, (118.62, 31.0, 118.7, 31.05)))
    assert math.fsum(c.count for c in stored_population(db)) == total
    res = runner.invoke(main, ["import", "venues", str(bigtiff), "--db", str(db),
                               "--bbox", "1,2,3,4"])
    assert res.exit_code == 2 and "--bbox applies only to population" in res.output
    res = runner.invoke(main, ["import", "population", str(bigtiff), "--db", str(db),
                               "--bbox", "1,2,3"])
    assert res.exit_code == 2 and "four numbers" in res.output


def test_coverage_answers_with_the_imported_raster_population(tmp_path, city) -> None:
    """End to end: the small city, a raster over it, then /api/v1/coverage."""
    path = write_raster(tmp_path / "city.tif", worldpop_like((100, 120), seed=11),
                        transform=from_origin(118.70, 31.00, RES, RES),
                        BIGTIFF="YES", compress="lzw", predictor=3, tiled=True,
                        blockxsize=32, blockysize=32)
    with open_store(str(city)) as store:
        report = import_file(store, "population", path)
    assert report.raster is not None and report.rows > 1000
    total = report.raster.total
    app = create_app({"TESTING": True, "db": str(city), "osm": None})
    doc = app.test_client().get("/api/v1/coverage?mode=straight&minutes=10").get_json()
    assert doc["total_population"] == pytest.approx(total, abs=0.05)  # answers round to 0.1
    assert 0 < doc["covered_population"] < doc["total_population"]
    assert 0 < doc["covered_share"] < 1
