"""The planner's coverage map and the self-contained report in headless Chromium.

The coverage result is plain data in the API's shape (tests/render/coverage_data.py):
the coverage engine is tested by its owner; here the page and the report are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from geosvc.render.base import page_html
from geosvc.render.coverage_map import coverage_map
from geosvc.render.i18n import Prefs
from geosvc.render.report import write_report
from tests.render.coverage_data import CURVES, X, Y, coverage_result

pytestmark = pytest.mark.browser


def test_coverage_map_page(page: Any, app_url: str, host_site: Any, shots: Path) -> None:
    site, host_url = host_site
    pop = [(X + dx * 0.003, Y + dy * 0.003, 10.0 + dx * dx) for dx in range(-5, 6)
           for dy in range(-5, 6)]
    fmap = coverage_map(coverage_result(), population=pop)
    site.pages["/coverage.html"] = page_html(fmap, base=app_url)  # assets from the app
    pg, log = page
    pg.goto(f"{host_url}/coverage.html")
    pg.wait_for_function("() => window.geosvc && window.geosvc.layers.gaps")
    assert pg.evaluate("window.geosvc.layers.gaps.getLayers().length") == 4
    assert pg.evaluate("window.geosvc.layers.circles.getLayers().length") == 1
    assert pg.evaluate("window.geosvc.layers.catchments.getLayers().length") == 2
    summary = pg.locator("#gs-summary").inner_text()
    assert "80.8%" in summary and "1,920" in summary and "北门片区" in summary
    assert "<b onmouseover=alert(1)>x</b>" in summary  # hostile gap name shown as text
    # The darkest gap is the largest; hovering it shows its tooltip.
    colours = pg.evaluate("window.geosvc.layers.gaps.getLayers().map(l => l.options.fillColor)")
    assert colours[0] == "#bd0026"
    # Population heat layer is in the layer control; switch it on.
    pg.get_by_text("人口", exact=True).click()
    pg.wait_for_timeout(300)
    assert pg.locator("canvas.leaflet-heatmap-layer").count() == 1
    shots.mkdir(exist_ok=True)
    pg.screenshot(path=str(shots / "coverage.png"))
    assert log.dialogs == [] and log.problems() == []
    # The same map in English: its layer control and summary speak English only
    fmap = coverage_map(coverage_result(), population=pop, prefs=Prefs("en"))
    site.pages["/coverage-en.html"] = page_html(fmap, base=app_url)
    pg.goto(f"{host_url}/coverage-en.html")
    pg.wait_for_function("() => window.geosvc && window.geosvc.layers.gaps")
    assert pg.evaluate("document.documentElement.lang") == "en"
    pg.get_by_text("Population", exact=True).click()
    pg.wait_for_timeout(300)
    assert pg.locator("canvas.leaflet-heatmap-layer").count() == 1
    summary = pg.locator("#gs-summary").inner_text()
    assert "80.8%" in summary and "Largest gaps" in summary and "覆盖率" not in summary
    assert log.dialogs == [] and log.problems() == []


def test_report_opens_offline(page: Any, tmp_path: Path, shots: Path) -> None:
    out = tmp_path / "report.html"
    write_report(coverage_result(), out, extra={"curves": CURVES})
    pg, log = page
    pg.goto(out.as_uri())
    frame = pg.frame_locator(".gs-report-map iframe")
    frame.locator("#gs-summary").wait_for()
    assert pg.locator("#gs-chart svg polyline").count() == 2
    assert pg.locator("#gs-table-areas tbody tr").count() == 2
    inner = pg.frames[1]
    inner.wait_for_function("() => window.geosvc && window.geosvc.layers.gaps")
    assert inner.evaluate("window.geosvc.layers.gaps.getLayers().length") == 4
    shots.mkdir(exist_ok=True)
    pg.screenshot(path=str(shots / "report.png"), full_page=True)
    assert log.dialogs == [] and log.problems() == []
