"""Fixed HTTP answers of the demo city: a refactoring must not change them.

A set of ~50 requests against the demo city (walking network) was recorded in
``tests/data/golden/demo_http.json.gz`` before the seams refactoring (issue 8).
Each answer must stay byte-identical.  Answers that depend on the wall clock
(no ``open_at``) and measured durations (``solve_time_s``) are compared after
replacing those members.

When a behaviour change is intended (a bug fixed), re-record with
``GEOSVC_RECORD_GOLDEN=1 pytest tests/web/test_golden.py`` and name the change
in the commit message.
"""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.web._demo_app import build_demo_app

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "golden" / "demo_http.json.gz"
AT = "2026-05-06T10:30"  # a Wednesday
HOLIDAY = "2026-10-01T10:30"  # National Day
P = (24.9414, 60.1699)  # central Helsinki
FAR = (24.99, 60.30)  # far from every demo road

#: (method, path, JSON body or None); the answer must not change.
REQUESTS: list[tuple[str, str, Any]] = [
    ("GET", "/api/v1/venues?limit=5", None),
    ("GET", "/api/v1/venues?kind=hall&limit=100", None),
    ("GET", "/api/v1/venues?kind=bank_outlet&include_candidates=true&limit=100", None),
    ("GET", "/api/v1/venues?level=township,county&limit=20&offset=3", None),
    ("GET", "/api/v1/venues?bbox=24.93,60.16,24.95,60.175&limit=50", None),
    ("GET", f"/api/v1/venues?item=RS-01&open_at={AT}&limit=50", None),
    ("GET", "/api/v1/venues?channel=self_service&accessible=true&limit=50", None),
    ("GET", "/api/v1/venues?q=Nordea&crs=gcj02", None),
    ("GET", f"/api/v1/venues?open_at={HOLIDAY}&kind=hall", None),
    ("GET", "/api/v1/venues?home_area=HEL-D3&item=RS-01&limit=30", None),
    ("GET", "/api/v1/venues/HEL-H-0001", None),
    ("GET", f"/api/v1/venues/HEL-H-0001?open_at={AT}&crs=bd09", None),
    ("GET", "/api/v1/venues/NOPE", None),
    ("GET", "/api/v1/items?q=社保", None),
    ("GET", "/api/v1/items?q=shebao", None),
    ("GET", "/api/v1/items?q=sb&limit=3&offset=1", None),
    ("GET", "/api/v1/items", None),
    ("GET", "/api/v1/items/RS-01", None),
    ("GET", "/api/v1/items/NOPE", None),
    ("GET", f"/api/v1/nearest?lon={P[0]}&lat={P[1]}&k=5&open_at={AT}", None),
    ("GET", f"/api/v1/nearest?lon={P[0]}&lat={P[1]}&k=5&mode=walk&open_at={AT}", None),
    ("GET", f"/api/v1/nearest?lon={P[0]}&lat={P[1]}&k=3&mode=walk&route=true"
            f"&item=RS-01&open_at={AT}", None),
    ("GET", f"/api/v1/nearest?lon={P[0]}&lat={P[1]}&k=5&mode=walk&channel=window"
            f"&max_minutes=8", None),
    ("GET", f"/api/v1/nearest?lon={P[0]}&lat={P[1]}&k=5&mode=straight&route=true"
            "&kind=hall,kiosk", None),
    ("GET", f"/api/v1/nearest?lon={P[0]}&lat={P[1]}&k=5&mode=walk&open_at={HOLIDAY}", None),
    ("GET", f"/api/v1/nearest?lon=24.947&lat=60.1668&crs=gcj02&k=4&mode=walk"
            f"&open_at={AT}", None),
    ("GET", f"/api/v1/nearest?lon={FAR[0]}&lat={FAR[1]}&mode=walk", None),
    ("GET", f"/api/v1/nearest?lon={P[0]}&lat={P[1]}&mode=drive", None),
    ("GET", "/api/v1/nearest?lon=200&k=0", None),
    ("GET", f"/api/v1/isochrones?lon={P[0]}&lat={P[1]}", None),
    ("GET", f"/api/v1/isochrones?lon={P[0]}&lat={P[1]}&minutes=3,6&crs=gcj02", None),
    ("GET", f"/api/v1/isochrones?lon={FAR[0]}&lat={FAR[1]}", None),
    ("GET", "/api/v1/coverage", None),
    ("GET", "/api/v1/coverage?minutes=5&channel=window", None),
    ("GET", "/api/v1/coverage?minutes=5&kind=hall&circles=true", None),
    ("GET", f"/api/v1/coverage?minutes=10&item=RS-01&open_at={AT}", None),
    ("GET", "/api/v1/coverage?minutes=3&circles=true&crs=gcj02", None),
    ("GET", "/api/v1/coverage?mode=bike", None),
    ("POST", "/api/v1/plans", {"k": 3, "minutes": 5, "filters": {"channel": "window"},
                               "solver": "greedy"}),
    ("POST", "/api/v1/plans", {"k": 2, "minutes": 5, "filters": {"kind": "hall"}}),
    ("POST", "/api/v1/plans", {"target_share": 0.99, "minutes": 4,
                               "candidates": "kiosk_sites", "solver": "greedy",
                               "filters": {"channel": "window"}}),
    ("POST", "/api/v1/plans", {"add": ["HEL-B-0001", "HEL-B-0002"], "minutes": 5,
                               "filters": {"kind": "hall"}}),
    ("POST", "/api/v1/plans", {"k": 0, "mode": "boat", "filters": {"kind": "castle"}}),
    ("GET", f"/api/v1/nearest?lon={P[0]}&lat={P[1]}&k=3&mode=walk&bundle=B-CS"
            f"&open_at={AT}", None),
    ("GET", f"/api/v1/nearest?lon={P[0]}&lat={P[1]}&k=3&mode=walk&bundle=B-CY&route=true"
            f"&open_at={AT}", None),
    ("GET", "/api/v1/bundles/B-RX", None),
    ("GET", "/ogc", None),
    ("GET", "/ogc/conformance", None),
    ("GET", "/ogc/collections", None),
    ("GET", "/ogc/collections/halls", None),
    ("GET", "/ogc/collections/kiosks/items?limit=3", None),
    ("GET", "/ogc/collections/bank_outlets/items?bbox=24.93,60.16,24.95,60.175", None),
    ("GET", "/ogc/collections/venues/items/HEL-H-0002", None),
    ("GET", "/ogc/collections/nope/items", None),
]

#: Members that depend on the wall clock when the request fixes no time.
_CLOCK = frozenset({"at", "open", "next_open", "closes_at", "arrives_at", "timeStamp"})
#: Members that are measured durations.
_TIMERS = frozenset({"solve_time_s", "build_time_s", "greedy_solve_time_s"})


def _scrub(doc: Any, names: frozenset[str]) -> Any:
    if isinstance(doc, dict):
        return {k: ("<scrubbed>" if k in names else _scrub(v, names)) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_scrub(v, names) for v in doc]
    return doc


def _key(method: str, path: str, body: Any) -> str:
    return f"{method} {path}" + ("" if body is None else " " + json.dumps(body, sort_keys=True))


def _answer(client: Any, method: str, path: str, body: Any) -> dict[str, Any]:
    resp = client.post(path, json=body) if method == "POST" else client.get(path)
    text = resp.get_data(as_text=True)
    names = _TIMERS if "open_at" in path or method == "POST" else _CLOCK | _TIMERS
    if resp.mimetype.endswith("json") and any(f'"{n}"' in text for n in names):
        text = json.dumps(_scrub(json.loads(text), names), ensure_ascii=False, sort_keys=True)
    return {"status": resp.status_code, "type": resp.mimetype, "body": text}


@pytest.fixture(scope="module")
def golden_client(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A test client of the demo city with its walking network."""
    return build_demo_app(demo_db, tmp_path_factory).test_client()


def test_answers_unchanged(golden_client: Any) -> None:
    """Every recorded request answers exactly as recorded."""
    got = {_key(m, p, b): _answer(golden_client, m, p, b) for m, p, b in REQUESTS}
    if os.environ.get("GEOSVC_RECORD_GOLDEN") == "1":
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(GOLDEN, "wt", encoding="utf-8") as fh:
            json.dump(got, fh, ensure_ascii=False, indent=0, sort_keys=True)
    with gzip.open(GOLDEN, "rt", encoding="utf-8") as fh:
        want = json.load(fh)
    assert sorted(got) == sorted(want)
    changed = [k for k in want if got[k] != want[k]]
    assert not changed, f"{len(changed)} answers changed, first: {changed[:3]}"


def test_requests_cover_every_resource() -> None:
    """The recorded set reaches every public resource and both error kinds."""
    paths = {p.split("?")[0].rsplit("/", 1)[0] if p.count("/") > 3 else p.split("?")[0]
             for _, p, _ in REQUESTS}
    for resource in ("/api/v1/venues", "/api/v1/items", "/api/v1/nearest",
                     "/api/v1/isochrones", "/api/v1/coverage", "/api/v1/plans", "/ogc"):
        assert resource in paths
    assert len(REQUESTS) >= 50
