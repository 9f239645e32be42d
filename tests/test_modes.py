"""The travel-mode registry and everything derived from it agree.

Every list of modes (API parameter enums, the OpenAPI document, the settings'
network modes, the OSM rules, map labels, isochrone buffers, batch
jobs) is looked up in :data:`geosvc.modes.TRAVEL_MODES`; adding a mode there
(and its router, when new) must be the whole change.
"""

from __future__ import annotations

from dataclasses import fields

import pytest

from geosvc.config import Settings
from geosvc.errors import InvalidParameter
from geosvc.modes import TRAVEL_MODES, get_mode, mode_names, network_modes
from geosvc.routing import ROUTERS


def test_every_mode_is_complete() -> None:
    settings = {f.name for f in fields(Settings)}
    for name, mode in TRAVEL_MODES.items():
        assert mode.name == name
        assert mode.router in ROUTERS
        assert mode.speed_setting in settings
        assert getattr(Settings(), mode.speed_setting) == mode.default_speed_kph
        assert mode.label_zh and mode.label_en and mode.note == mode.note.strip()
        assert mode.colour.startswith("#") and len(mode.colour) == 7
        assert mode.buffer_m > 0
        if mode.needs_network:
            assert mode.osm is not None and mode.osm.access_keys and mode.open_on_arrival
        else:
            assert mode.note and not mode.open_on_arrival and mode.osm is None
    assert get_mode("walk") is TRAVEL_MODES["walk"]
    with pytest.raises(InvalidParameter):
        get_mode("teleport")


def test_settings_and_network_follow_the_registry() -> None:
    from geosvc.analysis.isochrone import DEFAULT_BUFFER_M
    from geosvc.distributed.jobs import MODES as JOB_MODES
    from geosvc.network.graph import MODES as NETWORK_MODES
    from geosvc.network.osm import OSM_RULES

    assert Settings().modes == network_modes() == NETWORK_MODES == JOB_MODES
    assert set(OSM_RULES) == set(network_modes())
    assert DEFAULT_BUFFER_M == {m: TRAVEL_MODES[m].buffer_m for m in network_modes()}
    with pytest.raises(Exception, match="unknown modes"):
        Settings(modes=("walk", "straight"))  # straight needs no network to load


def test_api_enums_follow_the_registry() -> None:
    from geosvc.api.openapi import build_openapi
    from geosvc.api.params import ENDPOINT_PARAMS, MODES

    assert MODES == mode_names()
    for endpoint in ("nearest", "isochrones", "coverage"):
        (mode,) = [p for p in ENDPOINT_PARAMS[endpoint] if p.name == "mode"]
        assert mode.schema["enum"] == list(mode_names())
    doc = build_openapi()
    schemas = doc["components"]["schemas"]
    assert schemas["Coverage"]["properties"]["mode"]["enum"] == list(mode_names())
    assert schemas["PlanRequest"]["properties"]["mode"]["enum"] == list(mode_names())
    for path in ("/api/v1/nearest", "/api/v1/isochrones", "/api/v1/coverage"):
        params = doc["paths"][path]["get"]["parameters"]
        (mode,) = [p for p in params if p["name"] == "mode"]
        assert mode["schema"]["enum"] == list(mode_names())
    for schema in ("Coverage", "Plan", "FeatureCollection"):
        assert schemas[schema]["properties"]["straight_line"] == {
            "$ref": "#/components/schemas/StraightLine"}


def test_maps_follow_the_registry() -> None:
    from geosvc.render.popup import amap_uri, osm_directions_url
    from geosvc.render.ui import MODE_LABELS, results_summary_html

    assert MODE_LABELS == {m.name: (m.label_zh, m.label_en) for m in TRAVEL_MODES.values()}
    for mode in TRAVEL_MODES.values():
        assert mode.label_zh in results_summary_html(3, mode.name)
        assert f"engine={mode.osrm_engine}" in osm_directions_url(1.0, 2.0, mode=mode.name)
        assert f"mode={mode.amap_mode}" in amap_uri(1.0, 2.0, "x", mode=mode.name)
