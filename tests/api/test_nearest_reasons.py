"""`/api/v1/nearest` never answers a bare empty list: `empty_reason` says why (issue 9).

A GeoService over a tiny dataset placed on the hand-made drive grid of
tests/network/test_direction.py (a one-way trap in its top row) and the
4-node island of ``grid_network(disconnected=True)``.
"""

from __future__ import annotations

import pytest

from geosvc.api.nearest import nearest
from geosvc.api.openapi import build_openapi
from geosvc.app.service import GeoService
from geosvc.app.travel import EMPTY_REASONS
from geosvc.config import Settings
from geosvc.model import Channel, DatasetInfo, Level, Link, ServiceItem, Venue, VenueKind
from geosvc.network.synthetic import grid_network
from geosvc.store import Batch, open_store

W = Channel.WINDOW
WEDNESDAY_NOON = "2026-05-06T12:00"
SUNDAY_NOON = "2026-05-10T12:00"


def _grid():
    """The trap grid of tests/network/test_direction.py plus a 4-node island (nodes 15..18)."""
    return grid_network(5, 3, one_way_rows=[2], missing_edges=[(8, 13), (9, 14)],
                        disconnected=True, mode="drive")


@pytest.fixture(scope="module")
def net():
    return _grid()


@pytest.fixture(scope="module")
def service(net, tmp_path_factory: pytest.TempPathFactory) -> GeoService:
    def lonlat(node: int) -> tuple[float, float]:
        return float(net.node_lon[node]), float(net.node_lat[node])

    venues = [
        Venue("T-H-01", "Hall at node 0", VenueKind.HALL, *lonlat(0), Level.CITY,
              frozenset({W}), opening_hours="Mo-Fr 09:00-17:00"),
        Venue("T-H-02", "Hall on the island", VenueKind.HALL, *lonlat(16), Level.COUNTY,
              frozenset({W}), opening_hours="Mo-Fr 09:00-17:00"),
    ]
    items = [ServiceItem("I-01", "Offered"), ServiceItem("I-02", "Offered on the island"),
             ServiceItem("I-03", "Offered nowhere")]
    links = [Link("T-H-01", "I-01", frozenset({W})), Link("T-H-02", "I-02", frozenset({W}))]
    db = tmp_path_factory.mktemp("reasons") / "reasons.sqlite"
    store = open_store(str(db))
    try:
        store.write(Batch(venues=venues, items=items, links=links,
                          info=DatasetInfo(name="trap", timezone="Asia/Shanghai",
                                           calendar=None, country="CN")))
    finally:
        store.close()
    # min_component_nodes=4: the island is a real island (its venue stays there)
    svc = GeoService(Settings.load(env={}, overrides={"db": str(db),
                                                      "min_component_nodes": 4}))
    svc.networks = {"drive": net}  # a hand-made network instead of an OSM extract
    return svc


def _ask(service: GeoService, net, node_or_xy: int | tuple[float, float], **params: str):
    if isinstance(node_or_xy, int):
        lon, lat = float(net.node_lon[node_or_xy]), float(net.node_lat[node_or_xy])
    else:
        lon, lat = net.transformer_inverse.transform(*node_or_xy)
    query = {"lon": f"{lon:.7f}", "lat": f"{lat:.7f}", "mode": "drive", "k": "1", **params}
    return nearest(service, query)


def test_point_beside_the_one_way_trap_gets_the_venue(service, net):
    x = (net.node_x[13] + net.node_x[14]) / 2
    doc = _ask(service, net, (float(x), float(net.node_y[13] + 30.0)), kind="hall")
    assert [f["id"] for f in doc["features"]] == ["T-H-01"]
    assert "empty_reason" not in doc  # only in empty answers


@pytest.mark.parametrize("params,reason", [
    ({"item": "I-03"}, "no_venue_offers_item"),
    ({"item": "I-01", "level": "village"}, "no_venue_offers_item"),
    ({"kind": "kiosk"}, "no_venue_matches"),
    ({"item": "I-02"}, "unreachable"),  # only on the island
    ({"item": "I-01", "max_minutes": "0.01"}, "beyond_max_minutes"),
    ({"item": "I-01", "open_at": SUNDAY_NOON}, "closed"),
    ({"item": "I-01", "open_at": SUNDAY_NOON, "max_minutes": "0.01"}, "beyond_max_minutes"),
    ({"item": "I-02", "open_at": SUNDAY_NOON}, "unreachable"),
])
def test_empty_answers_say_why(service, net, params, reason):
    doc = _ask(service, net, 4, **params)
    assert doc["features"] == [] and doc["numberReturned"] == 0
    assert doc["empty_reason"] == reason
    assert reason in EMPTY_REASONS


def test_open_venue_within_reach_has_no_reason(service, net):
    doc = _ask(service, net, 4, item="I-01", open_at=WEDNESDAY_NOON, max_minutes="30")
    assert [f["id"] for f in doc["features"]] == ["T-H-01"]
    assert "empty_reason" not in doc


@pytest.mark.parametrize("params,reason", [
    ({"kind": "kiosk"}, "no_venue_matches"),
    ({"item": "I-01", "max_minutes": "0.01"}, "beyond_max_minutes"),
    ({"item": "I-01", "open_at": SUNDAY_NOON}, "closed"),
])
def test_straight_line_answers_say_why_too(service, net, params, reason):
    doc = _ask(service, net, 4, **{**params, "mode": "straight"})
    assert doc["features"] == [] and doc["empty_reason"] == reason


def test_reasons_are_in_the_openapi_document():
    doc = build_openapi()
    enum = doc["components"]["schemas"]["FeatureCollection"]["properties"]["empty_reason"]
    assert enum["enum"] == list(EMPTY_REASONS)
