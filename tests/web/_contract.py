"""Run schemathesis, every check, over the app's own ``/openapi.json`` (in-process WSGI).

Shared by the bounded test (tests/web/test_contract_fuzz.py) and the longer
run of ``scripts/fuzz_contract.py``.  The schemathesis engine runs as
``st run`` does: the examples, coverage and fuzzing phases (the coverage
phase sends the boundary values, empty values, missing required parameters
and undocumented methods that ``negative_data_rejection``,
``missing_required_header`` and ``unsupported_method`` judge), with
``deterministic`` generation and no example database, one worker.

Two things are told to the engine, each for a reason written here:

* ``positive_data_acceptance`` also accepts **422**.  A 422 (outside-network,
  no-route, mode-unavailable) answers a well-formed request the served data
  cannot answer: a point in the sea, a mode whose road network is not
  loaded.  The document lists 422 for those operations; a schema cannot say
  where the roads are.  400 stays a failure for a schema-valid request.
* Valid (positive) cases are made to keep the rules the document states in
  words but OpenAPI 3.0 cannot express (:func:`keep_documented_rules`):
  ``lon`` and ``lat`` together, ``open_now`` not with ``open_at``, codes of the
  served data (``item``, ``bundle``, ``add``, ``k`` at most the candidates),
  a real calendar date, a bbox's order.  Invalid (negative) cases are never
  touched.
"""

from __future__ import annotations

import calendar
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import events, from_schema
from schemathesis.generation import GenerationMode

from geosvc.api.params import NUMBER_PATTERN

#: Statuses a schema-valid request may get (schemathesis' defaults, and 422: see above).
POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
#: The in-process WSGI transport does not decode gzip as an HTTP client does; ask for
#: identity bodies (gzip itself is tested in tests/web/test_caching.py).
IDENTITY = {"Accept-Encoding": "identity"}
#: Largest ``k`` of a generated valid plan: the demo city has 9 bank outlets (candidates).
PLAN_MAX_K = 9
_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_NUMBER_RE = re.compile(NUMBER_PATTERN)


@dataclass
class Outcome:
    """What a run did: cases generated, requests sent, failures by check, seconds."""

    cases: int = 0
    requests: int = 0
    by_operation: Counter[str] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)
    details: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def report(self) -> str:
        """Return the summary lines: cases, requests, time, failures by check."""
        lines = [f"cases run: {self.cases} ({self.requests} requests) "
                 f"in {self.seconds:.1f} s",
                 f"failures: {sum(self.failures.values())}"]
        lines += [f"  {name}: {n}" for name, n in sorted(self.failures.items())]
        lines += [f"  error: {e}" for e in self.errors]
        lines += [f"  skipped {label}: {why}" for label, why in self.skipped.items()]
        lines += self.details[:40]
        return "\n".join(lines)


def buffered(app: Any) -> Any:
    """Wrap a WSGI ``app``: read each answer whole and close it (a served file, too).

    The in-process transport leaves the app's iterator open; a static file
    would then warn ``ResourceWarning: unclosed file``.
    """
    def wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        result = app(environ, start_response)
        try:
            return [b"".join(result)]
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()

    return wsgi


def _example(case: Any, name: str) -> str | None:
    for param in case.operation.definition.raw.get("parameters", []):
        if param.get("name") == name:
            return param.get("example")
    return None


def _real_time(text: str) -> bool:
    """Tell whether ``open_at`` names a real day within the years 3..9996 (docs: 2..9997)."""
    match = _DATE_RE.match(text)
    if match is None:
        return False
    year, month, day = (int(g) for g in match.groups())
    return 3 <= year <= 9996 and 1 <= month <= 12 and day <= calendar.monthrange(year, month)[1]


def _ordered_bbox(text: str) -> bool:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4 or not all(_NUMBER_RE.fullmatch(p) for p in parts):
        return False
    x0, y0, x1, y1 = (float(p) for p in parts)
    return (all(abs(x) <= 180 for x in (x0, x1)) and all(abs(y) <= 90 for y in (y0, y1))
            and x0 != x1 and y0 < y1)


def _bands_in_range(text: str) -> bool:
    words = [w.strip() for w in text.split(",")]
    return (all(_NUMBER_RE.fullmatch(w) for w in words)
            and all(0 < float(w) <= 120 for w in words))


def _fix_query(case: Any, query: dict[str, Any]) -> None:
    """Make a valid query keep the rules its parameters' descriptions state."""
    given = {k for k, v in query.items() if v not in (None, "")}
    pair = {"lon", "lat"} & given
    if len(pair) == 1:  # "with `lat`" / "`lon` is required together with `lat`"
        query.pop(pair.pop())
        given -= {"lon", "lat"}
    if (str(query.get("layer", "")).strip().lower() == "isochrones"
            and not {"lon", "lat"} <= given):  # "isochrones: around lon/lat (required)"
        query.update(lon=_example(case, "lon"), lat=_example(case, "lat"))
    if "open_at" in given and str(query.get("open_now", "")).lower() in {"true", "1", "yes",
                                                                            "on"}:
        query.pop("open_now")  # "Not together with `open_at`"
    if "open_at" in given and not _real_time(str(query["open_at"])):
        query["open_at"] = _example(case, "open_at")
    if (case.operation.path == "/api/v1/isochrones" and "minutes" in given
            and not _bands_in_range(str(query["minutes"]))):
        query["minutes"] = _example(case, "minutes")  # "each > 0 and <= 120"
    if "bbox" in given and not _ordered_bbox(str(query["bbox"])):
        query["bbox"] = _example(case, "bbox")
    for name in ("item", "bundle"):  # codes of the served data
        if name in given:
            example = _example(case, name)
            if example is None:
                query.pop(name)
            else:
                query[name] = example


def _fix_plan(body: dict[str, Any], point: tuple[float, float]) -> None:
    """Make a valid plan body name what the demo city has (data rules, not schema)."""
    body.pop("add", None)  # candidate ids of the served data
    candidates = body.get("candidates")
    most = PLAN_MAX_K
    if isinstance(candidates, dict):
        most = max(1, len(candidates.get("features", [])))
    if isinstance(body.get("k"), int):  # at most the number of candidates
        body["k"] = 1 + (body["k"] - 1) % most
    body.pop("filters", None)  # their values follow the query parameters' rules
    if isinstance(candidates, dict):  # supplied points: inside the city, distinct ids
        for n, feature in enumerate(candidates.get("features", [])):
            feature["geometry"]["coordinates"] = [point[0] + n * 1e-4, point[1]]
            feature["id"] = f"c{n}"


def keep_documented_rules(ctx: Any, case: Any) -> Any:
    """``map_case`` hook: valid cases keep the documented rules (module docstring)."""
    meta = case.meta
    if meta is None or meta.generation.mode is not GenerationMode.POSITIVE:
        return case
    if isinstance(case.query, dict):
        _fix_query(case, case.query)
    if case.operation.path == "/api/v1/plans" and isinstance(case.body, dict):
        _fix_plan(case.body, (24.9384, 60.1699))
    return case


def contract_schema(app: Any, *, examples: dict[str, int], default_examples: int,
                    phases: tuple[str, ...] = ("examples", "coverage", "fuzzing"),
                    seed: int | None = None) -> Any:
    """Return the schemathesis schema of ``app`` with every check and the run's bounds.

    ``examples`` maps a path to its examples per operation (the costly
    analyses get fewer); the others get ``default_examples``.
    """
    generation: dict[str, Any] = {"max-examples": default_examples, "database": "none"}
    if seed is None:
        generation["deterministic"] = True
    config = SchemathesisConfig.from_dict({
        "generation": generation,
        "workers": 1,
        "headers": IDENTITY,
        "phases": {name: {"enabled": name in phases}
                   for name in ("examples", "coverage", "fuzzing", "stateful")},
        "checks": {"enabled": True,
                   "positive_data_acceptance": {"expected-statuses": POSITIVE_STATUSES}},
        "operations": [{"include-path": path, "generation": {"max-examples": n}}
                       for path, n in examples.items()],
        **({"seed": seed} if seed is not None else {}),
    })
    schema = schemathesis.openapi.from_wsgi("/openapi.json", buffered(app), config=config)
    schema.hook("map_case")(keep_documented_rules)
    return schema


def run_contract(schema: Any) -> Outcome:
    """Run the engine over ``schema``; return what it did."""
    out = Outcome()
    started = time.perf_counter()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            rec = event.recorder
            if event.skip_reason and event.label:
                out.skipped[event.label] = event.skip_reason
            out.cases += len(rec.cases)
            out.requests += len(rec.interactions)
            out.by_operation[rec.label] += len(rec.cases)
            for case_id, checks in rec.checks.items():
                for check in checks:
                    if check.failure_info is None:
                        continue
                    out.failures[check.name] += 1
                    case = rec.cases[case_id].value
                    answer = rec.interactions.get(case_id)
                    response = answer.response if answer else None
                    status = response.status_code if response else "-"
                    said = (response.content or b"")[:200] if response else b""
                    out.details.append(f"  {check.name} {rec.label} -> {status}: "
                                       f"{check.failure_info.failure.title}; query "
                                       f"{case.query!r:.160} body {case.body!r:.160}; "
                                       f"answer {said!r}")
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            out.errors.append(str(getattr(event, "info", None) or event)[:300])
    out.seconds = time.perf_counter() - started
    return out
