"""Imports sit at the top of modules, where the import contracts can see the layers.

An import inside a function hides a dependency (and once hid two package
cycles).  Only two kinds are allowed, each marked ``# lazy: <reason>`` in the
import statement:

* a heavy or optional third-party package (:data:`LAZY_PACKAGES`), imported
  on first use so ``import geosvc``, ``geosvc --help`` and the web workers do
  not pay for it (or do not need it installed);
* in ``geosvc/cli.py`` and ``geosvc/commands/``, the engine a verb runs, so
  the CLI starts without loading every verb's dependencies; and anywhere, a
  geosvc module that is itself heavy to import (:data:`LAZY_MODULES`).

The layer rules themselves are the contracts in ``.importlinter`` (run by
``make gates``); this test checks that none of them is dodged by hiding an
import in a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "geosvc"

#: Third-party packages that may be imported on first use: measured import
#: cost >= ~100 ms (spopt 2.1 s, folium 0.5 s, geopandas 0.4 s, dask 0.4 s,
#: numba 0.3 s, scipy 0.2 s, psycopg 0.2 s, rasterio 0.18 s, openpyxl 0.15 s,
#: pypinyin 0.15 s, shapely 0.12 s, pyarrow 0.9 s cold), or optional extras (psycopg, dask,
#: gunicorn, pandana), readers of one input kind (pyrosm, osmnx, contourpy, pulp, tqdm) and
#: the SQLite store's columnar cold read (pyarrow, adbc_driver_sqlite).
LAZY_PACKAGES = frozenset({
    "spopt", "pulp", "folium", "branca", "geopandas", "pyrosm", "osmnx", "distributed",
    "dask", "numba", "scipy", "psycopg", "openpyxl", "pypinyin", "shapely", "contourpy",
    "gunicorn", "tqdm", "pandana", "pyproj", "networkx", "highspy", "rasterio",
    "pyarrow", "adbc_driver_sqlite",
})
#: Modules where a verb may load its engine on first use.
LAZY_INTERNAL = ("cli.py", "commands/")
#: geosvc modules that are heavy to import themselves and may be loaded on first use
#: anywhere: the numba kernels (numba + llvmlite: ~57 MB of RSS, ~0.3 s), which only
#: processes that build a travel engine need (not `geosvc network build`, not the CLI):
#: _dijkstra and _splat (the isochrones' time fields); and the venue index's box and
#: text kernels, loaded by the first index built.
LAZY_MODULES = frozenset({"geosvc.network._dijkstra", "geosvc.network._splat",
                          "geosvc.index._boxkernel", "geosvc.index._textkernel"})


def _function_imports(path: Path) -> list[tuple[int, int, str]]:
    """Return ``(first line, last line, module)`` of every import inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.ImportFrom):
                end = sub.end_lineno or sub.lineno
                out.append((sub.lineno, end, "." * sub.level + (sub.module or "")))
            elif isinstance(sub, ast.Import):
                end = sub.end_lineno or sub.lineno
                out += [(sub.lineno, end, alias.name) for alias in sub.names]
    return sorted(set(out))


def _imports_lazy_module(path: Path, lineno: int) -> bool:
    """Whether the import at ``lineno`` of ``path`` loads one of :data:`LAZY_MODULES`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.lineno == lineno and node.module:
            names = {f"{node.module}.{a.name}" for a in node.names} | {node.module}
            return bool(names & LAZY_MODULES)
    return False


def _problems(path: Path) -> list[str]:
    rel = path.relative_to(PACKAGE).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    problems = []
    for lineno, end, module in _function_imports(path):
        where = f"geosvc/{rel}:{lineno} imports {module} inside a function"
        top = module.split(".")[0]
        if module.startswith(".") or top == "geosvc":
            if not rel.startswith(LAZY_INTERNAL) and not _imports_lazy_module(path, lineno):
                problems.append(f"{where}: move it to the top of the module")
                continue
        elif top not in LAZY_PACKAGES:
            problems.append(f"{where}: {top} is cheap to import; move it to the top")
            continue
        if not any("# lazy:" in line for line in lines[lineno - 1:end]):
            problems.append(f"{where}: mark the line `# lazy: <reason>`")
    return problems


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")),
                         ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_imports_inside_functions_are_lazy_on_purpose(path: Path) -> None:
    """Every import inside a function is a marked, allowed lazy import."""
    problems = _problems(path)
    assert not problems, "\n".join(problems)


def test_the_check_sees_hidden_imports(tmp_path: Path) -> None:
    """A hidden internal import and an unmarked lazy one are both reported."""
    pkg = tmp_path / "geosvc"
    (pkg / "commands").mkdir(parents=True)
    bad = pkg / "analysis.py"
    bad.write_text("def f():\n    from geosvc.web import app\n"
                   "def g():\n    import spopt\n", encoding="utf-8")
    ok = pkg / "commands" / "x.py"
    ok.write_text("def f():\n    from geosvc.analysis import f  # lazy: verb engine\n",
                  encoding="utf-8")
    global PACKAGE
    saved, PACKAGE = PACKAGE, pkg
    try:
        problems = _problems(bad)
        assert len(problems) == 2
        assert "move it to the top" in problems[0] and "# lazy:" in problems[1]
        assert _problems(ok) == []
    finally:
        PACKAGE = saved
