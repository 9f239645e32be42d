"""Every enum the system exposes equals its registry in :mod:`geosvc.vocab`.

OpenAPI enums, OGC collections, store constraints, the importer's
vocabulary, map styles, the legend and popups all derive from the registries;
these tests fail when one of them is written out again and drifts.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from geosvc import vocab
from geosvc.api.ogc import COLLECTIONS
from geosvc.api.openapi import build_openapi
from geosvc.errors import InvalidParameter
from geosvc.importer import WHAT, _fields, known_columns
from geosvc.model import KIND_CHANNELS, Venue
from geosvc.render.i18n import Prefs
from geosvc.render.layers import legend_html, venue_style
from geosvc.render.popup import CHANNEL_LABELS, KIND_LABELS, LEVEL_LABELS
from geosvc.store import open_store
from geosvc.store.base import Batch

REGISTRIES = {
    "kind": vocab.KINDS, "level": vocab.LEVELS, "channel": vocab.CHANNELS,
    "scope": vocab.SCOPES, "category": vocab.CATEGORIES,
}


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    """Build the OpenAPI document the server publishes."""
    return build_openapi()


def _param_schema(doc: dict[str, Any], path: str, name: str) -> dict[str, Any]:
    for param in doc["paths"][path]["get"]["parameters"]:
        param = _resolve(doc, param)
        if param["name"] == name:
            return param["schema"]
    msg = f"{path} has no parameter {name}"
    raise AssertionError(msg)


def _resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    out: Any = doc
    for part in ref.lstrip("#/").split("/"):
        out = out[part]
    return out


def _pattern_values(pattern: str) -> list[str]:
    """Return the alternatives of a ``^(a|b)(,(a|b))*$`` comma-list pattern."""
    match = re.match(r"\^\(([^)]*)\)", pattern)
    assert match, pattern
    return match.group(1).split("|")


@pytest.mark.parametrize("path", ["/api/v1/venues", "/api/v1/nearest", "/api/v1/coverage"])
def test_openapi_filter_parameters_equal_registries(openapi: dict[str, Any], path: str) -> None:
    """`kind`, `level` and `channel` filters accept exactly the registry codes."""
    kinds = _param_schema(openapi, path, "kind")
    assert _pattern_values(kinds["pattern"]) == list(vocab.KINDS.codes())
    levels = _param_schema(openapi, path, "level")
    assert _pattern_values(levels["pattern"]) == list(vocab.LEVELS.codes())
    assert _param_schema(openapi, path, "channel")["enum"] == list(vocab.CHANNELS.codes())


@pytest.mark.parametrize("path", ["/api/v1/venues", "/api/v1/nearest", "/api/v1/coverage"])
def test_openapi_filter_labels_equal_registries(openapi: dict[str, Any], path: str) -> None:
    """`x-labels` of each filter lists every alias of the registry, mapped to its code."""
    for name in ("kind", "level", "channel"):
        registry = REGISTRIES[name]
        labels = _param_schema(openapi, path, name)["x-labels"]
        assert labels == {a: str(e.code) for e in registry for a in (*e.aliases,
                                                                     *e.aliases_hant)}
        assert set(labels) == set(registry.aliases())
        assert all(registry.lookup(label).code == code for label, code in labels.items())


def test_openapi_schemas_equal_registries(openapi: dict[str, Any]) -> None:
    """Venue and item properties enumerate the registry codes."""
    schemas = openapi["components"]["schemas"]
    props = schemas["VenueProperties"]["properties"]
    assert props["kind"]["enum"] == list(vocab.KINDS.codes())
    level = props["level"]
    level_enum = level.get("enum") or next(s["enum"] for s in level["anyOf"] if "enum" in s)
    assert [v for v in level_enum if v is not None] == list(vocab.LEVELS.codes())
    assert props["channels"]["items"]["enum"] == list(vocab.CHANNELS.codes())
    item = schemas["Item"]["properties"]
    assert item["scope"]["enum"] == list(vocab.SCOPES.codes())
    assert item["category"]["enum"] == list(vocab.CATEGORIES.codes())


def test_ogc_collections_equal_kinds() -> None:
    """One OGC collection for every venue, then one per kind, with the kind's titles."""
    assert list(COLLECTIONS) == ["venues", *(k.collection for k in vocab.KINDS)]
    for spec in vocab.KINDS:
        title, description, kinds = COLLECTIONS[spec.collection]
        assert (title, description, kinds) == (spec.collection_title,
                                                spec.collection_description, (spec.code,))


@pytest.mark.parametrize("what", sorted(REGISTRIES))
def test_importer_vocabulary_equals_registry(what: str) -> None:
    """The importer accepts every code and alias (simplified, traditional) and nothing else."""
    registry = REGISTRIES[what]
    table = {"kind": _fields.KINDS, "level": _fields.LEVELS, "channel": _fields.CHANNELS,
             "scope": _fields.SCOPES, "category": _fields.CATEGORIES}[what]
    assert set(map(str, table.values())) == set(registry.codes())
    for entry in registry:
        for label in (str(entry.code), *entry.aliases, *entry.aliases_hant):
            assert table[label] is entry.code, label
    assert set(table) == {*registry.codes(), *registry.aliases()}


def test_kind_rules_come_from_the_registry() -> None:
    """Allowed channels and import defaults are the registry's."""
    from geosvc.importer._rows import DEFAULT_CHANNELS

    assert KIND_CHANNELS == {k.code: k.channels for k in vocab.KINDS}
    assert DEFAULT_CHANNELS == {k.code: k.default_channels for k in vocab.KINDS}
    for spec in vocab.KINDS:
        assert spec.default_channels <= spec.channels
        assert spec.candidate == (not spec.default_channels)


def test_labels_legend_and_styles_equal_registries() -> None:
    """Popups label every code; the legend shows every kind; markers use the kind's glyph."""
    assert KIND_LABELS == {k: vocab.KINDS[k].labels for k in vocab.KINDS.codes()}
    assert LEVEL_LABELS == {k: vocab.LEVELS[k].labels for k in vocab.LEVELS.codes()}
    assert CHANNEL_LABELS == {k: vocab.CHANNELS[k].labels for k in vocab.CHANNELS.codes()}
    legend, legend_en = legend_html(), legend_html(prefs=Prefs("en"))
    for spec in vocab.KINDS:
        assert spec.zh in legend and spec.en in legend_en
        group, colour, glyph = venue_style({"kind": str(spec.code)})
        assert group == spec.code
        assert glyph in (spec.glyph, "24")
        assert re.fullmatch(r"#[0-9a-f]{6}", colour)
    for term in (*vocab.LEVELS, *vocab.CHANNELS):
        assert term.zh in legend


def _venue(kind: str, code: str) -> Venue:
    return Venue(code=code, name=code, kind=kind, lon=117.0, lat=31.0,  # type: ignore[arg-type]
                 level=vocab.Level.CITY)


def test_store_accepts_exactly_the_registry_kinds(tmp_path: Path) -> None:
    """The store's constraint on `kind` equals the registry: every kind in, others out."""
    store = open_store(str(tmp_path / "v.sqlite"))
    try:
        venues = [_venue(code, f"V-{i}") for i, code in enumerate(vocab.KINDS.codes())]
        result = store.write(Batch(venues=venues))
        assert result["venues"].created == len(vocab.KINDS)
        with pytest.raises(InvalidParameter):
            store.write(Batch(venues=[_venue("castle", "V-x")]))
        assert {str(v.kind) for v in store.venues()} == set(vocab.KINDS.codes())
    finally:
        store.close()


def test_registry_lookup_and_errors() -> None:
    """Lookup is case- and space-insensitive; unknown codes name the choices."""
    assert vocab.KINDS.lookup(" Bank-Outlet ") is vocab.KINDS["bank_outlet"]
    assert vocab.LEVELS.lookup("縣") is vocab.LEVELS["county"]
    assert vocab.CHANNELS.lookup("nope") is None
    with pytest.raises(KeyError, match="hall, bank_outlet, kiosk"):
        vocab.KINDS["castle"]
    with pytest.raises(ValueError, match="names both"):
        vocab.Registry("t", (vocab.Term(vocab.Scope.CITY, "a", "a", ("x",)),
                             vocab.Term(vocab.Scope.COUNTY, "b", "b", ("x",))))


# --------------------------------------------------------------------------- header aliases

ROOT = Path(__file__).resolve().parent.parent


def _header_table() -> list[str]:
    """The rows README and docs/api.md must show: one per entry of vocab.HEADERS."""
    def cell(words: tuple[str, ...]) -> str:
        return ", ".join(words) or "–"

    return [f"| `{h.column}` | {', '.join(h.layers) or 'all'} | {cell(h.hans)} | "
            f"{cell(h.hant)} | {cell(h.en)} |" for h in vocab.HEADERS]


@pytest.mark.parametrize("doc", ["README.md", "docs/api.md"])
def test_header_alias_tables_equal_the_registry(doc: str) -> None:
    """The documented alias table is exactly :data:`geosvc.vocab.HEADERS`, in order."""
    lines = (ROOT / doc).read_text(encoding="utf-8").splitlines()
    head = "| column | layers | simplified Chinese | traditional Chinese | English |"
    assert head in lines, f"{doc} has no header-alias table ({head})"
    start = lines.index(head) + 2
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")),
               len(lines))
    assert lines[start:end] == _header_table(), (
        f"{doc}: the header-alias table differs from geosvc/vocab.py HEADERS; expected:\n"
        + "\n".join(_header_table()))


def test_header_aliases_name_real_columns_and_never_shadow_one() -> None:
    """Each alias names a column of each layer it applies to and is not itself one."""
    for spec in vocab.HEADERS:
        assert set(spec.layers) <= set(WHAT), spec
        assert spec.hans or spec.hant or spec.en, spec
    for what in WHAT:
        columns = known_columns(what)
        table = vocab.header_aliases(what)
        assert not set(table) & set(columns), what
        for alias, column in table.items():
            assert column in columns or not any(
                spec.layers for spec in vocab.HEADERS if spec.column == column), (what, alias)


# --------------------------------------------------------------------------- venue statuses

def test_status_registry_agrees_with_importer_store_and_openapi(
        openapi: dict[str, Any], tmp_path: Path) -> None:
    """Statuses: one registry; the importer, the store CHECK and OpenAPI derive or match it."""
    from geosvc.store.migrations import STATUS_CODES_V3

    registry = vocab.STATUSES
    assert registry.codes() == tuple(str(s) for s in vocab.Status)
    # importer: every code and alias (simplified, traditional), nothing else
    assert set(map(str, _fields.STATUSES.values())) == set(registry.codes())
    for entry in registry:
        for label in (str(entry.code), *entry.aliases, *entry.aliases_hant):
            assert _fields.STATUSES[label] is entry.code, label
    assert "status" in known_columns("venues")
    # the words the issue names are labels of the right status
    for label, code in {"运营中": "in_service", "在用": "in_service", "候选": "candidate",
                        "候選": "candidate", "规划": "planned", "筹建": "planned",
                        "籌建": "planned", "关闭": "closed", "停用": "closed",
                        "已关闭": "closed", "已關閉": "closed"}.items():
        assert registry.lookup(label).code == code, label
    # store: migration 3's CHECK list is the registry (a new status needs a migration)
    assert STATUS_CODES_V3 == registry.codes(), (
        "a status was added to vocab.STATUSES: write a store migration widening the CHECK "
        "of venues.status (STATUS_CODES_V3 is released and never edited)")
    store = open_store(str(tmp_path / "s.sqlite"))
    try:
        venues = [Venue(f"V-{code}", code, vocab.VenueKind.HALL, 117.0, 31.0,
                        level=vocab.Level.CITY, status=vocab.Status(code))
                  for code in registry.codes()]
        assert store.write(Batch(venues=venues))["venues"].created == len(registry)
        with pytest.raises(InvalidParameter, match="constraint"):
            store.write(Batch(venues=[Venue("V-x", "x", vocab.VenueKind.HALL, 117.0, 31.0,
                                            level=vocab.Level.CITY,
                                            status="open")]))  # type: ignore[arg-type]
    finally:
        store.close()
    # OpenAPI: the venues filter and the feature property
    schema = _param_schema(openapi, "/api/v1/venues", "status")
    assert _pattern_values(schema["pattern"]) == list(registry.codes())
    assert schema["x-labels"] == {a: str(e.code) for e in registry
                                  for a in (*e.aliases, *e.aliases_hant)}
    props = openapi["components"]["schemas"]["VenueProperties"]["properties"]
    assert props["status"]["enum"] == list(registry.codes())


@pytest.mark.parametrize("path", ["/api/v1/nearest", "/api/v1/coverage"])
def test_service_queries_take_no_status_filter(openapi: dict[str, Any], path: str) -> None:
    """Planned and closed venues never answer service queries: no `status` there."""
    names = [_resolve(openapi, p)["name"] for p in openapi["paths"][path]["get"]["parameters"]]
    assert "status" not in names and "include_candidates" in names
