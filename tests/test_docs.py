"""The documentation is kept true by tests (datasette's ``tests/test_docs.py`` idea).

Two documents are checked against the code:

- ``docs/api.md``, the public contract, against the served ``/openapi.json``
  (operations, query parameters, request-body members, response members,
  venue-feature properties) and against the click command tree (verbs,
  options, argument values).  The conventions this test reads it by are
  written at the top of docs/api.md ("How this file is checked").
- the module map of ``docs/architecture.md`` against the files under
  ``geosvc/`` (rules written above the map).

Every failure names the document, the line and what to add or remove.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import pytest

ROOT = Path(__file__).resolve().parent.parent
API_MD = ROOT / "docs" / "api.md"
ARCH_MD = ROOT / "docs" / "architecture.md"
PACKAGE = ROOT / "geosvc"

# --------------------------------------------------------------------------- docs/api.md

#: Header first cells of the tables the test reads (see docs/api.md).
QUERY, BODY, RESPONSE, PROPERTY, OPTION = (
    "query parameter", "body member", "response member", "property", "option")
_VALUE_OF = re.compile(r"^value of ([A-Z][A-Z0-9_.]*)$")
_CHECKED = (QUERY, BODY, RESPONSE, PROPERTY, OPTION)
#: A row standing for every row of the "Venue filters" table.
FILTERS_ROW = "*venue filters*"
FILTERS_SECTION = "Venue filters"
FEATURES_SECTION = "Venue features"
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_OPERATION = re.compile(rf"^({'|'.join(_METHODS)})\s+(/\S*)$")
_VERB = re.compile(r"^geosvc((?:\s+[a-z][a-z0-9-]*)+)$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SEPARATOR = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")


@dataclass
class Table:
    """A recognised table: its kind (header first cell) and the names of its rows."""

    kind: str
    line: int
    rows: list[tuple[str, int]] = field(default_factory=list)  # (name, line number)


@dataclass
class Section:
    """What a level-1..3 heading opens, up to the next one."""

    title: str
    line: int
    operations: tuple[tuple[str, str], ...] = ()  # (METHOD, /path)
    verb: tuple[str, ...] | None = None  # ("network", "build")
    tables: list[Table] = field(default_factory=list)

    def names(self, kind: str) -> dict[str, int] | None:
        """Names of the rows of this section's ``kind`` tables (None: no such table)."""
        found = [t for t in self.tables if t.kind == kind]
        if not found:
            return None
        return {name: line for t in found for name, line in t.rows}


@dataclass
class Contract:
    """docs/api.md as the test reads it."""

    sections: list[Section]
    problems: list[str]

    def operations(self) -> dict[tuple[str, str], Section]:
        """Return the section of each documented (METHOD, /path)."""
        return {op: s for s in self.sections for op in s.operations}

    def verbs(self) -> dict[tuple[str, ...], Section]:
        """Return the section of each documented CLI verb (``("network", "build")``)."""
        return {s.verb: s for s in self.sections if s.verb is not None}

    def section(self, title: str) -> Section | None:
        """Return the first section titled ``title``, if any."""
        return next((s for s in self.sections if s.title == title), None)


def _cells(line: str) -> list[str]:
    r"""Cells of a Markdown table row; ``\|`` is a literal bar.

    >>> _cells("| `a` | b \\| c |")
    ['`a`', 'b \\| c']
    """
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [c.strip() for c in re.split(r"(?<!\\)\|", inner)]


def _row_name(cell: str) -> str | None:
    """Return the first word of the first backquoted span of ``cell``.

    >>> _row_name("`--db FILE`"), _row_name("`lon`"), _row_name("lon")
    ('--db', 'lon', None)
    """
    found = re.search(r"`([^`]+)`", cell)
    if found is None or not found.group(1).split():
        return None
    return found.group(1).split()[0]


def _table_kind(header: str) -> str:
    """Return a table's kind: its header's first cell, lower case (``value of NAME`` kept)."""
    header = header.strip()
    return header if _VALUE_OF.match(header) else header.strip("*_` ").lower()


def parse_contract(text: str) -> Contract:
    """Read ``text`` (docs/api.md) by the conventions it states.

    >>> doc = parse_contract('''# HTTP
    ... ## Venue filters
    ... | query parameter | meaning |
    ... |---|---|
    ... | `kind` | kinds |
    ... ### GET /a, GET /b/{id}
    ... | query parameter | meaning |
    ... |---|---|
    ... | `lon` | x |
    ... | *venue filters* | |
    ... ### geosvc network build
    ... | option | meaning |
    ... |---|---|
    ... | `--modes LIST` | modes |
    ... ''')
    >>> sorted(doc.operations()), list(doc.verbs())
    ([('GET', '/a'), ('GET', '/b/{id}')], [('network', 'build')])
    >>> sorted(query_parameters(doc)[("GET", "/a")]), doc.problems
    (['kind', 'lon'], [])
    """
    sections: list[Section] = [Section(title="", line=0)]
    problems: list[str] = []
    lines = text.splitlines()
    fenced = False
    i = 0
    while i < len(lines):
        line = lines[i]
        number = i + 1
        if line.lstrip().startswith("```"):
            fenced = not fenced
            i += 1
            continue
        heading = None if fenced else _HEADING.match(line)
        if heading and len(heading.group(1)) <= 3:
            title = heading.group(2).replace("`", "").strip()
            section = Section(title=title, line=number)
            if len(heading.group(1)) == 3:
                parts = [p.strip() for p in title.split(",")]
                ops = [_OPERATION.match(p) for p in parts]
                verb = _VERB.match(title)
                if all(ops):
                    section.operations = tuple((m.group(1), m.group(2)) for m in ops if m)
                elif any(ops):
                    problems.append(f"docs/api.md:{number}: heading {title!r} mixes operations "
                                    "with other text; write `### METHOD /path, METHOD /path`")
                elif verb:
                    section.verb = tuple(verb.group(1).split())
            sections.append(section)
            i += 1
            continue
        if (not fenced and line.lstrip().startswith("|") and i + 1 < len(lines)
                and _SEPARATOR.match(lines[i + 1].strip())):
            kind = _table_kind(_cells(line)[0])
            i += 2
            table = Table(kind=kind, line=number)
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                first = _cells(lines[i])[0]
                if first.strip().lower() == FILTERS_ROW:
                    table.rows.append((FILTERS_ROW, i + 1))
                else:
                    name = _row_name(first)
                    if name is None and (kind in _CHECKED or _VALUE_OF.match(kind)):
                        problems.append(f"docs/api.md:{i + 1}: a row of a {kind!r} table "
                                        "must start with its name in backquotes")
                    elif name is not None:
                        table.rows.append((name, i + 1))
                i += 1
            sections[-1].tables.append(table)
            _check_placement(sections[-1], table, problems)
            continue
        i += 1
    return Contract(sections=sections, problems=problems)


def _check_placement(section: Section, table: Table, problems: list[str]) -> None:
    where = f"docs/api.md:{table.line}"
    if table.kind in (QUERY, BODY, RESPONSE) and not section.operations and not (
            table.kind == QUERY and section.title == FILTERS_SECTION):
        problems.append(f"{where}: a {table.kind!r} table must be under a "
                        "`### METHOD /path` heading")
    if table.kind == PROPERTY and section.title != FEATURES_SECTION:
        problems.append(f"{where}: a 'property' table belongs in section {FEATURES_SECTION!r}")
    if (table.kind == OPTION or _VALUE_OF.match(table.kind)) and section.verb is None:
        problems.append(f"{where}: a {table.kind!r} table must be under a "
                        "`### geosvc VERB` heading")


def query_parameters(doc: Contract) -> dict[tuple[str, str], dict[str, int]]:
    """Documented query parameters per operation, the filter row expanded."""
    filters_section = doc.section(FILTERS_SECTION)
    filters = (filters_section.names(QUERY) if filters_section else None) or {}
    out: dict[tuple[str, str], dict[str, int]] = {}
    for op, section in doc.operations().items():
        names: dict[str, int] = {}
        for name, line in (section.names(QUERY) or {}).items():
            if name == FILTERS_ROW:
                names.update({f: line for f in filters})
            else:
                names[name] = line
        out[op] = names
    return out


@pytest.fixture(scope="module")
def contract() -> Contract:
    """Return docs/api.md as read by its conventions."""
    return parse_contract(API_MD.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Return the served OpenAPI document (app fixture pattern of tests/web/conftest.py)."""
    from geosvc.web import create_app
    from tests.web.citydata import build_city_db

    db = build_city_db(tmp_path_factory.mktemp("docs-city") / "city.sqlite")
    app = create_app({"TESTING": True, "db": str(db), "osm": None})
    resp = app.test_client().get("/openapi.json")
    assert resp.status_code == 200
    return resp.get_json(force=True)


def _spec_operations(spec: dict[str, Any]) -> Iterator[tuple[tuple[str, str], dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method.upper() in _METHODS:
                yield (method.upper(), path), op


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    ref = schema.get("$ref")
    if ref is None:
        return None, schema
    name = ref.rsplit("/", 1)[-1]
    return name, spec["components"]["schemas"][name]


def _heading(op: tuple[str, str]) -> str:
    return f"`### {op[0]} {op[1]}`"


def _compare(documented: dict[str, int] | None, served: set[str], *, what: str, op: str,
             table: str, source: str, other: str = "/openapi.json") -> list[str]:
    """Problems between the names docs/api.md gives and those ``other`` has."""
    documented = documented or {}
    out = [f"{op}: {what} `{name}` is in {other} but not in docs/api.md; add a row "
           f"| `{name}` | ... | to the {table!r} table under {op}"
           for name in sorted(served - set(documented))]
    out += [f"docs/api.md:{line}: {op} documents {what} `{name}`, which {other} does "
            f"not have ({source}); remove the row or add it to the code"
            for name, line in sorted(documented.items()) if name not in served]
    return out


def test_api_md_follows_its_conventions(contract: Contract) -> None:
    """docs/api.md parses by its own stated conventions, and the parser finds its parts."""
    assert not contract.problems, "\n".join(contract.problems)
    assert len(contract.operations()) >= 15
    assert contract.section(FILTERS_SECTION) and contract.section(FEATURES_SECTION)
    assert len(contract.verbs()) >= 7


def test_every_operation_is_documented_both_ways(contract: Contract,
                                                 spec: dict[str, Any]) -> None:
    """Each (method, path) of /openapi.json has a docs/api.md heading, and vice versa."""
    served = {op for op, _ in _spec_operations(spec)}
    documented = contract.operations()
    problems = [f"{op[0]} {op[1]} is in /openapi.json but not in docs/api.md; add a section "
                f"{_heading(op)} (with its parameter table)"
                for op in sorted(served - set(documented))]
    problems += [f"docs/api.md:{documented[op].line}: {op[0]} {op[1]} is not in /openapi.json; "
                 "add it to geosvc/api/openapi.py PATH_ENDPOINTS or remove the heading"
                 for op in sorted(set(documented) - served)]
    assert not problems, "\n".join(problems)


def test_query_parameters_agree(contract: Contract, spec: dict[str, Any]) -> None:
    """Each operation's query parameters are the same in docs/api.md and /openapi.json."""
    documented = query_parameters(contract)
    problems = []
    for op, operation in _spec_operations(spec):
        if op not in documented:
            continue  # reported by test_every_operation_is_documented_both_ways
        served = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        problems += _compare(documented[op], served, what="query parameter", op=_heading(op),
                             table=QUERY, source="geosvc/api/params.py ENDPOINT_PARAMS")
    assert not problems, "\n".join(problems)


def test_request_bodies_agree(contract: Contract, spec: dict[str, Any]) -> None:
    """The members of each JSON request body are the same in both documents."""
    operations = contract.operations()
    problems = []
    for op, operation in _spec_operations(spec):
        if op not in operations:
            continue
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        documented = operations[op].names(BODY)
        if body is None:
            if documented:
                problems.append(f"docs/api.md:{operations[op].line}: {_heading(op)} documents "
                                "body members but /openapi.json has no JSON request body")
            continue
        name, schema = _resolve(spec, body["schema"])
        problems += _compare(documented, set(schema.get("properties", {})), what="body member",
                             op=_heading(op), table=BODY,
                             source=f"geosvc/api/openapi.py schema {name}")
    assert not problems, "\n".join(problems)


def test_response_members_agree(contract: Contract, spec: dict[str, Any]) -> None:
    """Top-level members of JSON object answers are the same in both documents.

    Required for every operation whose 200 answer is a named object schema
    other than the GeoJSON Feature / FeatureCollection (those are described
    by the "Venue features" table and prose).
    """
    operations = contract.operations()
    problems = []
    for op, operation in _spec_operations(spec):
        if op not in operations:
            continue
        content = operation["responses"].get("200", {}).get("content", {})
        media = content.get("application/json") or {}
        name, schema = _resolve(spec, media.get("schema", {}))
        documented = operations[op].names(RESPONSE)
        if name is None or name in ("Feature", "FeatureCollection") or not schema.get(
                "properties"):
            if documented:
                problems.append(f"docs/api.md:{operations[op].line}: {_heading(op)} has a "
                                "'response member' table but /openapi.json describes no "
                                "object answer for it")
            continue
        problems += _compare(documented, set(schema["properties"]), what="response member",
                             op=_heading(op), table=RESPONSE,
                             source=f"geosvc/api/openapi.py schema {name}")
    assert not problems, "\n".join(problems)


def test_venue_feature_properties_agree(contract: Contract, spec: dict[str, Any]) -> None:
    """The "Venue features" table lists exactly the VenueProperties of /openapi.json."""
    section = contract.section(FEATURES_SECTION)
    assert section is not None
    served = set(spec["components"]["schemas"]["VenueProperties"]["properties"])
    problems = _compare(section.names(PROPERTY), served, what="venue property",
                        op=f"`## {FEATURES_SECTION}`", table=PROPERTY,
                        source="geosvc/api/openapi.py schema VenueProperties")
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- the CLI


def _leaf_commands(group: click.Group, prefix: tuple[str, ...] = ()
                   ) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from _leaf_commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


@pytest.fixture(scope="module")
def cli_commands() -> dict[tuple[str, ...], click.Command]:
    """Return every leaf command of ``geosvc`` by its words (groups walked)."""
    from geosvc.cli import main

    return dict(_leaf_commands(main))


def test_cli_verbs_agree(contract: Contract,
                         cli_commands: dict[tuple[str, ...], click.Command]) -> None:
    """Every verb click registers has a `### geosvc VERB` section, and vice versa."""
    documented = contract.verbs()
    problems = [f"`geosvc {' '.join(v)}` is a click command but docs/api.md has no section "
                f"`### geosvc {' '.join(v)}`; add one under '# Command line' with its "
                "synopsis and option table"
                for v in sorted(set(cli_commands) - set(documented))]
    problems += [f"docs/api.md:{documented[v].line}: `geosvc {' '.join(v)}` is not a click "
                 "command (geosvc/cli.py); remove the section or register the verb"
                 for v in sorted(set(documented) - set(cli_commands))]
    assert not problems, "\n".join(problems)


def test_cli_options_and_values_agree(contract: Contract,
                                      cli_commands: dict[tuple[str, ...], click.Command]
                                      ) -> None:
    """Each verb's options and choice-argument values are those of its section."""
    documented = contract.verbs()
    problems = []
    for verb, cmd in cli_commands.items():
        if verb not in documented:
            continue
        section = documented[verb]
        heading = f"`### geosvc {' '.join(verb)}`"
        options = set()
        for param in cmd.params:
            if isinstance(param, click.Option) and "--help" not in param.opts:
                options.add(max(param.opts, key=len))
            elif isinstance(param, click.Argument) and isinstance(param.type, click.Choice):
                arg = param.human_readable_name.upper()
                got = section.names(f"value of {arg}")
                problems += _compare(got, {str(c) for c in param.type.choices},
                                     what=f"value of {arg}", op=heading,
                                     table=f"value of {arg}", other="click",
                                     source=f"click.Choice of geosvc {' '.join(verb)}")
        problems += _compare(section.names(OPTION), options, what="option", op=heading,
                             table=OPTION, other="click",
                             source=f"the click command geosvc {' '.join(verb)}")
    assert not problems, "\n".join(problems)


def test_no_file_points_to_the_old_contract() -> None:
    """docs/api.md is the contract: nothing cites the old shared API.md any more."""
    old = re.compile(r"\bAPI\.md\b")  # upper case: docs/api.md does not match
    here = Path(__file__).resolve()
    files = [ROOT / "README.md", *ROOT.glob("docs/*.md"), *PACKAGE.rglob("*.py"),
             *(ROOT / "tests").rglob("*.py"), *(ROOT / "scripts").rglob("*.py")]
    problems = []
    for path in files:
        if path.resolve() == here or not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if old.search(line):
                problems.append(f"{path.relative_to(ROOT)}:{number}: cites API.md; "
                                "point to docs/api.md instead")
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- architecture.md

#: A line indented at least this much continues the description above it.
CONTINUATION_INDENT = 20
#: Column at which suggested lines start their description.
_DESCRIPTION_COLUMN = 22


@dataclass
class MapEntry:
    """One path of the module map."""

    path: str  # relative to the repository root: "geosvc/store/base.py", "geosvc/store/"
    line: int
    last_line: int  # last line of its block (itself, continuations and children)


def parse_module_map(text: str) -> tuple[list[MapEntry], list[str]]:
    """Entries of the first fenced block after ``## Module map``, and problems.

    >>> entries, problems = parse_module_map('''## Module map
    ... ```
    ... geosvc/
    ...   store/           persistence
    ...     base.py        Store ABC,
    ...                     Batch
    ...   cli.py           click group
    ... ```''')
    >>> [(e.path, e.line, e.last_line) for e in entries], problems
    ([('geosvc/', 3, 7), ('geosvc/store/', 4, 6), ('geosvc/store/base.py', 5, 6),
      ('geosvc/cli.py', 7, 7)], [])
    """
    lines = text.splitlines()
    try:
        start = next(i for i, s in enumerate(lines) if s.strip() == "## Module map")
        open_ = next(i for i in range(start, len(lines)) if lines[i].startswith("```"))
        close = next(i for i in range(open_ + 1, len(lines)) if lines[i].startswith("```"))
    except StopIteration:
        return [], ["docs/architecture.md has no '## Module map' heading followed by a "
                    "fenced block"]
    entries: list[MapEntry] = []
    problems: list[str] = []
    stack: list[tuple[int, MapEntry]] = []  # (depth, entry) of the open parents
    for i in range(open_ + 1, close):
        raw, number = lines[i], i + 1
        if not raw.strip():
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        if indent >= CONTINUATION_INDENT:
            if not entries:
                problems.append(f"docs/architecture.md:{number}: a continuation line "
                                "before any entry")
            for _, e in stack:
                e.last_line = number
            continue
        name = raw.split()[0]
        depth = indent // 2
        if indent % 2 or not (name.endswith("/") or name.endswith(".py")):
            problems.append(f"docs/architecture.md:{number}: {raw.strip()!r} is neither an "
                            "entry (name ending in / or .py, indented 2 spaces per level) nor "
                            f"a continuation (indented {CONTINUATION_INDENT}+ spaces)")
            continue
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if depth == 0:
            parent = ""
        elif stack and stack[-1][0] == depth - 1 and stack[-1][1].path.endswith("/"):
            parent = stack[-1][1].path
        else:
            problems.append(f"docs/architecture.md:{number}: {name!r} is indented "
                            f"{indent} spaces but has no package line {2 * (depth - 1)} "
                            "spaces in above it")
            continue
        entry = MapEntry(path=parent + name, line=number, last_line=number)
        entries.append(entry)
        for _, e in stack:
            e.last_line = number
        stack.append((depth, entry))
    return entries, problems


def required_paths(package: Path = PACKAGE) -> list[str]:
    """Every package and public module under ``package`` (paths from the repository root)."""
    out = []
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package.parent).as_posix()
        if "__pycache__" in path.parts:
            continue
        if path.is_dir() and (path / "__init__.py").is_file():
            out.append(rel + "/")
        elif (path.is_file() and path.suffix == ".py" and not path.name.startswith("_")
              and (path.parent / "__init__.py").is_file()):
            out.append(rel)
    return out


def _summary(path: Path) -> str:
    """First line of the docstring of a module (or a package's ``__init__``)."""
    target = path / "__init__.py" if path.is_dir() else path
    try:
        doc = ast.get_docstring(ast.parse(target.read_text(encoding="utf-8"))) or ""
    except (OSError, SyntaxError):
        doc = ""
    first = doc.strip().splitlines()[0].rstrip(".") if doc.strip() else ""
    # reST to plain text: :class:`~geosvc.x.Name` -> Name, ``code`` -> code
    first = re.sub(r":\w+:`~?([^`]*)`", lambda m: m.group(1).rsplit(".", 1)[-1], first)
    first = first.replace("``", "")
    return first if first else "<one line: what it holds>"


def _suggest(rel: str, entries: dict[str, MapEntry]) -> str:
    """Return the line to add for ``rel``, and where."""
    parts = rel.rstrip("/").split("/")
    depth = len(parts) - 1
    name = parts[-1] + ("/" if rel.endswith("/") else "")
    text = ("  " * depth + name).ljust(_DESCRIPTION_COLUMN - 1) + " " + _summary(ROOT / rel)
    parent = "/".join(parts[:-1]) + "/"
    where = (f"inside the `{parent}` block, e.g. after line {entries[parent].last_line}"
             if parent in entries else f"under a new `{parent}` line (add that first)")
    return (f"docs/architecture.md module map lacks `{rel}`: add the line (between the "
            f"quotes)\n    '{text}'\n  {where}")


def test_module_map_equals_the_tree() -> None:
    """The module map of docs/architecture.md lists the tree.

    Every package and public module is named, and every name exists.
    """
    entries, problems = parse_module_map(ARCH_MD.read_text(encoding="utf-8"))
    by_path = {e.path: e for e in entries}
    for path in required_paths():
        if path not in by_path:
            problems.append(_suggest(path, by_path))
    for e in entries:
        target = ROOT / e.path
        exists = target.is_dir() if e.path.endswith("/") else target.is_file()
        if not exists or "__pycache__" in e.path:
            problems.append(f"docs/architecture.md:{e.line}: the module map names `{e.path}`, "
                            "which does not exist; remove or correct the line")
    seen: set[str] = set()
    for e in entries:
        if e.path in seen:
            problems.append(f"docs/architecture.md:{e.line}: `{e.path}` is listed twice")
        seen.add(e.path)
    assert len(entries) > 50 or problems, "the module map was not found or not parsed"
    assert not problems, "\n".join(problems)
