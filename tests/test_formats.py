"""The output-format registry: one class per format, served by the CLI and HTTP alike.

Every registered format writes each result kind it supports through the CLI
(``--out FILE<suffix>``) and HTTP (``f=<name>`` and ``Accept``), and what it
wrote reads back to the figures of the JSON document of the same request.
A format defined here, registered through the same door as the built-ins,
is then served by both without any other change.  CSV cells cannot become
spreadsheet formulas.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from geosvc.analysis.output import AREA_FIELDS, CATCHMENT_FIELDS
from geosvc.analysis.planning.output import CSV_FIELDS
from geosvc.cli import main
from geosvc.errors import ConfigError, InvalidParameter
from geosvc.formats import (
    COVERAGE,
    FEATURES,
    KINDS,
    PLAN,
    Output,
    OutputFormat,
    format_for_path,
    format_named,
    formats,
    names,
    register_format,
    suffixes,
    unregister_format,
    write_output,
)
from geosvc.formats.builtin import csv_text, feature_rows, safe_cell
from tests.web._demo_app import build_demo_app

#: The HTTP request of each result kind: (method, path, JSON body or None).
REQUESTS = {
    COVERAGE: ("GET", "/api/v1/coverage?minutes=5&kind=hall", None),
    # 3 minutes: at 5 the demo's halls and bank outlets reach 98 % of the residents
    # and no candidate adds anyone (since the walking rules of issue 12), so the
    # plan would select no site and its CSV would hold no row
    PLAN: ("POST", "/api/v1/plans", {"k": 2, "minutes": 3,
                                     "filters": {"kind": "hall,bank_outlet"},
                                     "solver": "greedy"}),
    FEATURES: ("GET", "/api/v1/venues?kind=hall&limit=20&open_at=2026-05-06T10:30", None),
}
#: The default format of each endpoint (its answer without ``f`` and ``Accept``).
DEFAULTS = {COVERAGE: "json", PLAN: "json", FEATURES: "geojson"}
#: The same query through the CLI (venues have no CLI verb).
CLI_ARGS = {COVERAGE: ["coverage", "--minutes", "5", "--kind", "hall"],
            PLAN: ["plan", "--minutes", "3", "--kind", "hall,bank_outlet", "--k", "2",
                   "--solver", "greedy"]}
HOSTILE = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]
#: Measured durations of a plan: they differ between two runs.
TIMERS = ("solve_time_s", "build_time_s", "greedy_solve_time_s")


def _untimed(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in TIMERS}


def _cases(kinds: tuple[str, ...]) -> list[Any]:
    return [pytest.param(kind, fmt.name, id=f"{kind}-{fmt.name}")
            for kind in kinds for fmt in formats(kind)]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return the walking-network cache the demo app builds (shared with the CLI runs)."""
    path = tmp_path_factory.getbasetemp() / "demo-walk-cache"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="module")
def client(demo_db: Path, tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Any:
    """Return a test client of the demo city with its walking network."""
    return build_demo_app(demo_db, tmp_path_factory).test_client()


def _request(client: Any, kind: str, query: str = "", headers: Any = None) -> Any:
    method, path, body = REQUESTS[kind]
    sep = "&" if "?" in path else "?"
    url = f"{path}{sep}{query}" if query else path
    if method == "POST":
        return client.post(url, json=body, headers=headers or {})
    return client.get(url, headers=headers or {})


@pytest.fixture(scope="module")
def documents(client: Any) -> dict[str, dict[str, Any]]:
    """Return the JSON answer of each kind's request (what the other formats match)."""
    out = {}
    for kind in REQUESTS:
        resp = _request(client, kind, "f=json")
        assert resp.status_code == 200, resp.get_data(as_text=True)
        out[kind] = resp.get_json(force=True)
    return out


def _cli(demo_db: Path, helsinki_pbf: Path, cache_dir: Path, kind: str, out: Path) -> Any:
    args = [*CLI_ARGS[kind], "--db", str(demo_db), "--osm", str(helsinki_pbf),
            "--cache-dir", str(cache_dir), "--out", str(out)]
    return CliRunner().invoke(main, args)


@pytest.fixture(scope="module")
def cli_documents(demo_db: Path, helsinki_pbf: Path, cache_dir: Path,
                  tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Return the CLI's JSON file of each kind (what its other files match)."""
    out = {}
    base = tmp_path_factory.mktemp("cli-json")
    for kind in CLI_ARGS:
        path = base / f"{kind}.json"
        r = _cli(demo_db, helsinki_pbf, cache_dir, kind, path)
        assert r.exit_code == 0, r.output
        out[kind] = json.loads(path.read_text(encoding="utf-8"))
    return out


# --------------------------------------------------------------------------- reading back


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode()), "CSV for Excel starts with a byte-order mark"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _read_back(fmt: OutputFormat, kind: str, data: bytes, doc: dict[str, Any]) -> None:
    """Check that ``data`` (in ``fmt``) holds the figures of the JSON document ``doc``."""
    if fmt.name == "json":
        assert _untimed(json.loads(data)) == _untimed(doc)
    elif fmt.name == "geojson":
        fc = json.loads(data)
        assert fc["type"] == "FeatureCollection"
        if kind == FEATURES:
            assert fc == doc
        else:
            layers = [f["properties"]["layer"] for f in fc["features"]]
            assert layers.count("gap") == len(doc["gaps"]["features"])
            assert layers[0] == "covered" and layers.count("covered") == 1
            assert fc["features"][0]["properties"]["covered_population"] == \
                doc["covered_population"]
    elif fmt.name == "csv":
        rows = _csv_rows(data)
        if kind == COVERAGE:
            assert rows[0] == list(AREA_FIELDS) and len(rows) == len(doc["by_area"]) + 2
            assert rows[-1][0] == "TOTAL"
            assert float(rows[-1][4]) == pytest.approx(doc["covered_share"])
        elif kind == PLAN:
            assert rows[0] == list(CSV_FIELDS)
            assert [r[1] for r in rows[1:]] == [s["id"] for s in doc["selected"]]
            assert float(rows[-1][-1]) == pytest.approx(doc["after_share"])
        else:
            assert rows[0][:3] == ["id", "lon", "lat"]
            assert [r[0] for r in rows[1:]] == [f["id"] for f in doc["features"]]
    elif fmt.name == "html":
        text = data.decode("utf-8")
        assert text.lstrip().lower().startswith("<!doctype html")
        assert "https://unpkg.com" not in text and "cdn.jsdelivr" not in text
        if kind == COVERAGE:
            assert f"{100 * doc['covered_share']:.1f}%" in text
        else:
            assert f"{100 * doc['after_share']:.1f} %" in text
    else:  # a format added after this test was written: it answers something
        assert data


# --------------------------------------------------------------------------- registry


def test_builtins_register_through_the_same_door() -> None:
    """The built-ins are OutputFormat classes in the registry, HTML from render/."""
    assert names(COVERAGE)[:4] == ("json", "geojson", "csv", "html")
    assert names(PLAN)[:3] == ("json", "csv", "html")
    assert names(FEATURES)[:3] == ("json", "geojson", "csv")
    assert type(format_named("html", COVERAGE)).__module__ == "geosvc.render.formats"
    for fmt in formats():
        assert isinstance(fmt, OutputFormat)
        assert fmt.kinds <= set(KINDS) and fmt.suffixes and "/" in fmt.media_type
    # every suffix picks its own format, in any case
    for kind in KINDS:
        for fmt in formats(kind):
            for sfx in fmt.suffixes:
                assert format_for_path(f"dir/Out{sfx.upper()}", kind) is fmt


def test_unknown_names_and_suffixes_list_the_allowed_ones() -> None:
    """An unknown ``f`` names ``f``, an unknown suffix ``out``; both list what exists."""
    with pytest.raises(InvalidParameter) as err:
        format_named("pdf", PLAN)
    assert err.value.invalid_params == [
        {"name": "f", "reason": f"must be one of {' | '.join(names(PLAN))}"}]
    with pytest.raises(InvalidParameter) as err:
        format_for_path("out/plan.txt", COVERAGE)
    (problem,) = err.value.invalid_params
    assert problem["name"] == "out" and "plan.txt" in problem["reason"]
    assert all(s in problem["reason"] for s in suffixes(COVERAGE))
    with pytest.raises(InvalidParameter, match="out"):
        format_for_path("venues.html", FEATURES)  # html draws no venue list
    with pytest.raises(InvalidParameter, match="out"):
        format_for_path(".csv", COVERAGE)  # a suffix is not a file name


def test_malformed_or_clashing_formats_are_refused() -> None:
    """Registration checks the class and refuses a second name or a taken suffix."""
    class Renders(OutputFormat):
        def render(self, output: Output) -> bytes:
            return b""

    class NoKinds(Renders):
        name, media_type, suffixes, kinds = "nokinds", "text/plain", (".txt",), frozenset()

    class Clash(Renders):
        name, media_type, suffixes = "clash", "text/plain", (".csv",)
        kinds = frozenset({PLAN})

    class SameName(Renders):
        name, media_type, suffixes = "csv", "text/plain", (".csv2",)
        kinds = frozenset({PLAN})

    class BadMedia(Renders):
        name, media_type, suffixes = "bad", "text/plain; charset=utf-8", (".bad",)
        kinds = frozenset({PLAN})

    class NoRender(OutputFormat):
        name, media_type, suffixes = "norender", "text/plain", (".norender",)
        kinds = frozenset({PLAN})

    for cls, words in ((NoKinds, "kinds"), (Clash, ".csv"), (SameName, "already"),
                       (BadMedia, "media_type"), (NoRender, "render")):
        with pytest.raises(ConfigError, match=words):
            register_format(cls)
    assert not {"clash", "bad", "norender"} & set(names(PLAN))


# --------------------------------------------------------------------------- CSV safety


def test_csv_cells_cannot_become_formulas() -> None:
    """Text starting with = + - @ tab CR gets an apostrophe (OWASP); the rest is kept."""
    assert [safe_cell(v) for v in HOSTILE] == ["'" + v for v in HOSTILE]
    kept = ("北门", "a=b", 3, -2.5, None)
    assert [safe_cell(v) for v in kept] == ["北门", "a=b", 3, -2.5, ""]
    rows = list(csv.reader(io.StringIO(csv_text(["name"], [[v] for v in HOSTILE]),
                                       newline="")))
    assert [r[0] for r in rows[1:]] == ["'" + v for v in HOSTILE]


@pytest.mark.parametrize("kind", [COVERAGE, PLAN, FEATURES])
def test_csv_writer_neutralises_every_text_cell(kind: str, tmp_path: Path) -> None:
    """Names from the data (areas, venues, sites, catchments) reach Excel as text."""
    if kind == COVERAGE:
        doc = {"by_area": [{"area_id": v, "name": v, "total_population": 1.0,
                            "covered_population": -0.0, "covered_share": 0.0}
                           for v in HOSTILE],
               "total_population": 6.0, "covered_population": 0.0, "covered_share": 0.0,
               "catchments": [{"code": v, "name": v, "population": 1.0, "share": 0.1}
                              for v in HOSTILE]}
    elif kind == PLAN:
        doc = {"selected": [{"rank": i, "id": v, "name": v, "lon": -1.5, "lat": 2.0}
                            for i, v in enumerate(HOSTILE)]}
    else:
        doc = {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": v,
             "geometry": {"type": "Point", "coordinates": [-1.5, 2]},
             "properties": {"name": v, "address": v, "channels": [v]}} for v in HOSTILE]}
    written = write_output(Output(kind, doc), tmp_path / "t.csv")
    texts = set(HOSTILE)
    for path in written:
        rows = _csv_rows(path.read_bytes())
        cells = [c for r in rows[1:] for c in r]
        assert not [c for c in cells if c in texts]  # no hostile text left as it was
        assert sum(c.startswith("'") for c in cells) >= len(HOSTILE)
        assert "-1.5" in cells or kind == COVERAGE  # numbers stay numbers
    assert len(written) == (2 if kind == COVERAGE else 1)
    if kind == COVERAGE:
        assert _csv_rows(written[1].read_bytes())[0] == list(CATCHMENT_FIELDS)


def test_report_tables_are_neutralised_in_csv_and_excel(tmp_path: Path) -> None:
    """The HTML report's tables: CSV cells prefixed; Excel cells stored as text."""
    from openpyxl import load_workbook

    from geosvc.render.report import write_report

    doc = {"mode": "walk", "minutes": 10, "total_population": 1.0, "covered_population": 0.0,
           "covered_share": 0.0, "covered_area_km2": 0.0, "venues_used": 0,
           "by_area": [{"area_id": "A", "name": HOSTILE[0], "total_population": 1.0,
                        "covered_population": 0.0, "covered_share": 0.0}],
           "gaps": {"type": "FeatureCollection", "features": []},
           "catchments": [{"code": "V", "name": HOSTILE[3], "population": 1.0}]}
    write_report(doc, tmp_path / "r.html", tables=("csv", "xlsx"))
    areas = _csv_rows((tmp_path / "r_areas.csv").read_bytes())
    assert areas[1][1] == "'" + HOSTILE[0]
    wb = load_workbook(tmp_path / "r.xlsx")
    cell = wb["areas"]["B2"]
    assert cell.value == HOSTILE[0] and cell.data_type == "s"  # text, not a formula
    assert wb["catchments"]["B2"].value == HOSTILE[3]


def test_feature_rows_flatten_properties() -> None:
    """Venue CSV: id, lon, lat, then every property seen (lists joined, objects as JSON)."""
    header, rows = feature_rows({"features": [
        {"id": "A", "geometry": {"type": "Point", "coordinates": [1, 2]},
         "properties": {"name": "x", "open": True, "items": [{"code": "c"}]}},
        {"id": "B", "geometry": {"type": "Polygon", "coordinates": []},
         "properties": {"extra": 1}}]})
    assert header == ["id", "lon", "lat", "name", "open", "items", "extra"]
    assert rows == [["A", 1, 2, "x", "true", '[{"code":"c"}]', None],
                    ["B", None, None, None, None, None, 1]]


# --------------------------------------------------------------------------- HTTP


@pytest.mark.parametrize(("kind", "name"), _cases((COVERAGE, PLAN, FEATURES)))
def test_http_serves_every_format(client: Any, documents: dict[str, Any], kind: str,
                                  name: str) -> None:
    """``f=<name>`` answers in that format; ``Accept`` of its media type picks it too."""
    fmt = format_named(name, kind)
    resp = _request(client, kind, f"f={name}")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == fmt.media_type
    assert "Accept" in resp.headers.get("Vary", "")
    _read_back(fmt, kind, resp.get_data(), documents[kind])
    # Accept: the first format claiming the media type, the endpoint's default first
    offered = sorted(formats(kind), key=lambda f: f.name != DEFAULTS[kind])
    expected = next(f for f in offered if fmt.media_type in (f.media_type, *f.accept))
    resp = _request(client, kind, headers={"Accept": fmt.media_type})
    assert resp.status_code == 200 and resp.mimetype == expected.media_type
    if fmt.disposition:
        assert resp.headers["Content-Disposition"].startswith(fmt.disposition)


@pytest.mark.parametrize("kind", [COVERAGE, PLAN, FEATURES])
def test_http_default_answer_is_unchanged(client: Any, kind: str) -> None:
    """No ``f``, or an ``Accept`` admitting the default (a browser's): default, same bytes."""
    plain = _request(client, kind)
    default = format_named(DEFAULTS[kind], kind)
    assert plain.status_code == 200 and plain.mimetype == default.media_type
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    for accept in ("*/*", "application/json", "application/json, text/plain;q=0.5",
                   "text/plain;q=0.2, */*;q=0.1", browser):
        resp = _request(client, kind, headers={"Accept": accept})
        assert resp.mimetype == plain.mimetype, accept
        if kind != PLAN:  # a plan carries its measured solve time
            assert resp.get_data() == plain.get_data(), accept


@pytest.mark.parametrize("kind", [COVERAGE, PLAN, FEATURES])
def test_http_unknown_f_is_400_naming_the_allowed_values(client: Any, kind: str) -> None:
    """``f=pdf``: a 400 problem naming ``f`` and the formats of the endpoint."""
    resp = _request(client, kind, "f=pdf")
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"
    doc = resp.get_json(force=True)
    assert doc["invalid_params"] == [
        {"name": "f", "reason": f"must be one of {' | '.join(names(kind))}"}]


@pytest.mark.parametrize("kind", [COVERAGE, PLAN, FEATURES])
def test_http_unsatisfiable_accept_is_406(client: Any, kind: str) -> None:
    """An ``Accept`` no format meets: a 406 problem listing the formats; ``f`` wins."""
    resp = _request(client, kind, headers={"Accept": "application/xml, image/*"})
    assert resp.status_code == 406 and resp.mimetype == "application/problem+json"
    doc = resp.get_json(force=True)
    assert doc["status"] == 406
    assert all(f"f={n}" in doc["detail"] for n in names(kind))
    # f wins over Accept
    resp = _request(client, kind, "f=csv", headers={"Accept": "application/xml"})
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    name = REQUESTS[kind][1].split("?")[0].rsplit("/", 1)[-1]
    assert resp.headers["Content-Disposition"] == f'attachment; filename="{name}.csv"'


def test_map_pages_ignore_f(client: Any) -> None:
    """The map pages reuse the venue and coverage parameters; ``f`` is not theirs."""
    for url in ("/map?kind=hall&f=pdf", "/embed?f=html"):
        resp = client.get(url)
        assert resp.status_code == 200 and resp.mimetype == "text/html", url


def test_coverage_answers_convert_back_to_wgs84_for_html(client: Any) -> None:
    """A gcj02 answer drawn as HTML is shifted back: the report's map takes WGS-84."""
    resp = client.get("/api/v1/coverage?minutes=5&kind=hall&crs=gcj02&f=html")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    geo = client.get("/api/v1/coverage?minutes=5&kind=hall&crs=gcj02&f=geojson").get_json(
        force=True)
    assert geo["features"][0]["properties"]["layer"] == "covered"


def test_openapi_lists_f_for_the_endpoints_that_take_it(client: Any) -> None:
    """``f`` with the registered names, every media type, and the 406, in /openapi.json."""
    spec = client.get("/openapi.json").get_json(force=True)
    for path, method, kind in (("/api/v1/coverage", "get", COVERAGE),
                               ("/api/v1/plans", "post", PLAN),
                               ("/api/v1/venues", "get", FEATURES)):
        op = spec["paths"][path][method]
        (f,) = [p for p in op["parameters"] if p["name"] == "f"]
        assert f["in"] == "query" and f["schema"]["enum"] == list(names(kind))
        assert f["schema"]["default"] == DEFAULTS[kind]
        content = op["responses"]["200"]["content"]
        assert {fmt.media_type for fmt in formats(kind)} <= set(content)
        assert "406" in op["responses"]
    nearest = spec["paths"]["/api/v1/nearest"]["get"]["parameters"]
    assert "f" not in {p["name"] for p in nearest}


# --------------------------------------------------------------------------- CLI


@pytest.mark.parametrize(("kind", "name"), _cases((COVERAGE, PLAN)))
def test_cli_writes_every_format_by_suffix(demo_db: Path, helsinki_pbf: Path, cache_dir: Path,
                                           cli_documents: dict[str, Any], tmp_path: Path,
                                           kind: str, name: str) -> None:
    """``--out result<suffix>`` writes the format; it reads back to the CLI's JSON."""
    fmt = format_named(name, kind)
    out = tmp_path / f"result{fmt.suffixes[0]}"
    r = _cli(demo_db, helsinki_pbf, cache_dir, kind, out)
    assert r.exit_code == 0, r.output
    assert str(out) in r.output
    _read_back(fmt, kind, out.read_bytes(), cli_documents[kind])


@pytest.mark.parametrize("kind", [COVERAGE, PLAN])
def test_cli_unknown_suffix_names_out_and_the_allowed_suffixes(
        demo_db: Path, helsinki_pbf: Path, cache_dir: Path, tmp_path: Path, kind: str) -> None:
    """``--out result.pdf``: exit 2 before any work, naming ``--out`` and the suffixes."""
    r = _cli(demo_db, helsinki_pbf, cache_dir, kind, tmp_path / "result.pdf")
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "--out" in r.output and "result.pdf" in r.output
    assert all(s in r.output for s in suffixes(kind)), r.output
    assert not (tmp_path / "result.pdf").exists()


# --------------------------------------------------------------------------- an extension


class TsvHeadline(OutputFormat):
    """A format written by an extension: the headline share, tab-separated."""

    name = "tsv"
    media_type = "text/tab-separated-values"
    suffixes = (".tsv",)
    kinds = frozenset({COVERAGE, PLAN})

    def render(self, output: Output) -> bytes:
        """Return ``kind<TAB>share``."""
        key = "covered_share" if output.kind == COVERAGE else "after_share"
        return f"kind\tshare\n{output.kind}\t{output.doc[key]}\n".encode()


@pytest.fixture()
def extension() -> Iterator[type[OutputFormat]]:
    """Register :class:`TsvHeadline` for one test."""
    register_format(TsvHeadline)
    try:
        yield TsvHeadline
    finally:
        unregister_format("tsv")


def test_an_extension_format_is_served_by_cli_and_http(
        extension: type[OutputFormat], client: Any, documents: dict[str, Any],
        demo_db: Path, helsinki_pbf: Path, cache_dir: Path, tmp_path: Path) -> None:
    """One class registered in the test: the CLI, HTTP and OpenAPI pick it up unchanged."""
    for kind, key in ((COVERAGE, "covered_share"), (PLAN, "after_share")):
        assert names(kind)[-1] == "tsv"
        resp = _request(client, kind, "f=tsv")
        assert resp.status_code == 200 and resp.mimetype == "text/tab-separated-values"
        lines = resp.get_data(as_text=True).splitlines()
        assert lines[1].split("\t") == [kind, str(documents[kind][key])]
        resp = _request(client, kind, headers={"Accept": "text/tab-separated-values"})
        assert resp.status_code == 200 and resp.get_data(as_text=True).startswith("kind\t")
        out = tmp_path / f"{kind}.tsv"
        r = _cli(demo_db, helsinki_pbf, cache_dir, kind, out)
        assert r.exit_code == 0, r.output
        assert out.read_text(encoding="utf-8").startswith(f"kind\tshare\n{kind}\t")
    spec = client.get("/openapi.json").get_json(force=True)
    (f,) = [p for p in spec["paths"]["/api/v1/coverage"]["get"]["parameters"]
            if p["name"] == "f"]
    assert "tsv" in f["schema"]["enum"]
    # not a venue format: HTTP and the error message say so
    resp = _request(client, FEATURES, "f=tsv")
    assert resp.status_code == 400
    with pytest.raises(ConfigError, match="already registered"):
        register_format(TsvHeadline)


def test_the_extension_is_gone_after_unregistering(client: Any) -> None:
    """Unregistering removes the format from HTTP (and everything else)."""
    assert "tsv" not in names(COVERAGE)
    assert _request(client, COVERAGE, "f=tsv").status_code == 400
