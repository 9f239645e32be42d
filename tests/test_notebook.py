"""The planner walkthrough notebook runs top to bottom, offline, and shows real results.

The notebook is executed with nbclient in a kernel started from THIS
interpreter (``sys.executable``, the project's venv): a kernelspec is written
to a temporary directory, so nothing has to be registered on the machine.
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "planner_walkthrough.ipynb"

pytestmark = pytest.mark.slow


def _kernel_manager(tmp: Path) -> AsyncKernelManager:
    """Return a manager of kernel ``python3`` = this interpreter (temporary kernelspec)."""
    spec_dir = tmp / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (geosvc tests)", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    ksm = KernelSpecManager(kernel_dirs=[str(tmp / "kernels")])
    return AsyncKernelManager(kernel_name="python3", kernel_spec_manager=ksm)


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    tmp = tmp_path_factory.mktemp("notebook")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", km=_kernel_manager(tmp),
                            resources={"metadata": {"path": str(tmp)}})
    client.execute(cleanup_kc=True)  # shut the kernel down and close its sockets
    return nb


def _outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]


def _stdout(nb: nbformat.NotebookNode) -> str:
    return "".join(o["text"] for o in _outputs(nb)
                   if o["output_type"] == "stream" and o["name"] == "stdout")


def _html_outputs(nb: nbformat.NotebookNode) -> list[str]:
    return [o["data"]["text/html"] for o in _outputs(nb)
            if o["output_type"] in ("display_data", "execute_result")
            and "text/html" in o.get("data", {})]


def _figure(text: str, name: str) -> float:
    match = re.search(rf"\b{name}=([0-9.]+)", text)
    assert match, f"{name}= not printed"
    return float(match.group(1))


def test_committed_notebook_has_no_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    assert all(not c.outputs and c.execution_count is None for c in code)
    imports = {m.group(1) for c in code
               for m in re.finditer(r"^\s*(?:from|import) (\w+)", c.source, re.MULTILINE)}
    assert "geosvc" in imports
    assert imports <= {"geosvc", "html", "tempfile", "pathlib", "pandas", "shapely", "IPython"}


def test_notebook_runs_without_errors_or_warnings(executed):
    outputs = _outputs(executed)
    errors = [o for o in outputs if o["output_type"] == "error"]
    assert errors == [], [(e["ename"], e["evalue"]) for e in errors]
    stderr = "".join(o["text"] for o in outputs
                     if o["output_type"] == "stream" and o["name"] == "stderr")
    assert "Warning" not in stderr, stderr
    assert all(c.execution_count for c in executed.cells if c.cell_type == "code")


def test_headline_figures_are_shares(executed):
    text = _stdout(executed)
    share = _figure(text, "covered_share")
    assert 0 < share <= 1
    kiosks = _figure(text, "kiosks_covered_share")
    assert 0 < kiosks <= share
    assert 0 <= _figure(text, "sunday_covered_share") <= share
    before, after = _figure(text, "plan_before_share"), _figure(text, "plan_after_share")
    assert 0 < before <= after <= 1
    assert "覆盖率 coverage:" in text
    assert re.search(r"\d+ venues, \d+ population cells, [\d,]+ residents", text)


def test_tables_show_districts_gaps_and_the_plan(executed):
    pages = "\n".join(_html_outputs(executed))
    tables = [p for p in _html_outputs(executed) if "<table" in p]
    assert len(tables) >= 6
    for name in ("区A", "区E", "HEL-D5", "uncovered_population", "cumulative_share"):
        assert name in pages, name
    assert re.search(r"HEL-B-\d{4}", pages)


def _layer_key(name: str) -> str:
    """A layer name as the layer control's script writes it (a JSON string, ASCII-escaped)."""
    return json.dumps(name)


def _has_gaps_layer(page: str) -> bool:
    """True when the layer control lists a gaps overlay (the maps are Chinese: 服务缺口)."""
    return re.search(re.escape(_layer_key("服务缺口")) + r"\s*:", page) is not None


def test_maps_are_inline_and_offline(executed):
    maps = [html.unescape(m.group(1)) for p in _html_outputs(executed)
            for m in re.finditer(r'<iframe srcdoc="([^"]*)"', p)]
    assert len(maps) == 4  # 10-minute circles, 5-minute gaps, staffed windows, plan
    for page in maps:
        assert "L.map(" in page
        assert "Leaflet" in page  # the library itself, inlined
        assert not re.search(r'<script[^>]+src="https?:', page)
        assert not re.search(r'<link[^>]+href="https?:', page)
    text = _stdout(executed)
    # the notebook's maps are in the default language, Chinese (English: tests/render)
    assert _layer_key("服务圈") in maps[0] and _layer_key("服务圈") in maps[1]
    # a gaps layer exactly where the coverage result has gaps
    assert _has_gaps_layer(maps[0]) == (_figure(text, "gaps10_count") > 0)
    assert _figure(text, "gaps5_count") > 0 and _has_gaps_layer(maps[1])
    assert _layer_key("选定场所") in maps[3]


def test_gaps_add_up_and_fragments_are_not_gaps(executed):
    text = _stdout(executed)
    # at 5 minutes the demo has gaps, and they hold exactly the uncovered residents
    assert _figure(text, "gaps5_count") >= 1
    assert _figure(text, "gaps5_residents") > 0
    assert _figure(text, "gaps5_residents") == pytest.approx(_figure(text, "uncovered5"), abs=1)
    # min_component_nodes: no gap at 30 minutes.  The building that stood beside a 4-node
    # fragment is reached with either rule since the walking rules (issue 12) join that
    # fragment to the city (cycleways with foot=designated); the rule itself is tested on
    # a grid with a fragment in tests/network/test_components.py
    assert _figure(text, "gaps30_count") == 0
    assert _figure(text, "fragment_gap_residents") == 0
    assert "30 minutes, min_component_nodes=50: 0 gap(s)" in text
    assert "30 minutes, min_component_nodes=1: 0 gap(s)" in text


def test_engine_and_api_agree_on_the_share(executed):
    text = _stdout(executed)
    same = re.search(r"same share as the API: ([0-9.]+)", text)
    assert same
    assert float(same.group(1)) == pytest.approx(_figure(text, "covered_share"), abs=1e-4)
