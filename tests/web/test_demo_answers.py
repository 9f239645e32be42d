"""What a citizen gets from the demo city: 社保卡 answers and the 一件事 bundles.

The demo must tell the truth (issue 10, item 9): a search for 社会保障卡申领
from around the centre ranks halls and 社保 terminals first, never an ATM or
a parking machine; each bundle has a one-stop answer and, from some point, a
two-stop one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.web._demo_app import build_demo_app

AT = "2026-05-06T10:30"  # a Wednesday
SATURDAY = "2026-05-09T10:30"
CENTRE = (24.9414, 60.1699)  # central Helsinki, as tests/web/test_golden.py
#: Points around the centre: the centre, and about 250 m and 500 m off it.
AROUND = [CENTRE, (24.9460, 60.1699), (24.9368, 60.1699), (24.9414, 60.1722),
          (24.9414, 60.1676), (24.9500, 60.1720), (24.9330, 60.1680), (24.9446, 60.1716)]


@pytest.fixture(scope="module")
def client(demo_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return build_demo_app(demo_db, tmp_path_factory).test_client()


def _nearest(client: Any, point: tuple[float, float], query: str) -> dict[str, Any]:
    resp = client.get(f"/api/v1/nearest?lon={point[0]}&lat={point[1]}&{query}")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()


def _is_social_terminal(props: dict[str, Any]) -> bool:
    return props["kind"] == "kiosk" and props["name"].startswith("社保自助服务终端")


@pytest.mark.parametrize("mode", ["walk", "straight"])
@pytest.mark.parametrize("point", AROUND)
def test_social_security_card_finds_halls_and_social_terminals_first(client, point, mode):
    doc = _nearest(client, point, f"item=RS-01&k=5&mode={mode}")
    props = [f["properties"] for f in doc["features"]]
    assert len(props) == 5
    for p in props:
        assert p["kind"] == "hall" or _is_social_terminal(p), p["name"]
    assert not any("ATM" in p["name"] or "Parking" in p["name"] for p in props)


def test_social_security_card_answers_name_halls_and_terminals(client):
    doc = _nearest(client, CENTRE, f"item=RS-01&k=5&mode=walk&open_at={AT}")
    kinds = [f["properties"]["kind"] for f in doc["features"]]
    assert "hall" in kinds and "kiosk" in kinds
    assert _is_social_terminal(doc["features"][0]["properties"])


@pytest.mark.parametrize("code", ["B-CS", "B-CY", "B-RX"])
def test_each_bundle_has_a_one_stop_answer(client, code):
    doc = _nearest(client, CENTRE, f"bundle={code}&k=3&mode=walk&open_at={AT}")
    assert doc["features"], doc.get("empty_reason")
    assert "two_stop" not in doc
    assert doc["bundle"]["code"] == code


#: (bundle, point, query): where no single venue does the whole bundle.
TWO_STOPS = [
    # 户口 (出生登记) is done only in the citizen's district (HEL-D3), whose county
    # hall is closed on Saturday: its township hall, then a county hall elsewhere
    ("B-CS", CENTRE, f"home_area=HEL-D3&open_at={SATURDAY}"),
    # within 14 minutes the city hall (the one venue doing all three, 14.5 min
    # away) is out of reach: a district hall (registration, food licence; 4.3 min,
    # down the station passage's entrance) and the tax office (13.1 min in all;
    # was 12 minutes: 11.98 when the point snapped straight into the passage)
    ("B-CY", (24.9425, 60.1730), f"max_minutes=14&open_at={AT}"),
    # staffed windows within 6 minutes: a township hall (户籍证明, 居住证签注) and
    # a bank outlet's government window (不动产登记信息查询)
    ("B-RX", (24.9350, 60.1690), f"channel=window&max_minutes=6&open_at={AT}"),
]


@pytest.mark.parametrize(("code", "point", "query"), TWO_STOPS)
def test_each_bundle_has_a_two_stop_answer_from_some_point(client, code, point, query):
    doc = _nearest(client, point, f"bundle={code}&k=3&mode=walk&{query}")
    assert doc["features"] == []
    stops = doc["two_stop"]["stops"]
    assert [s["properties"]["stop"] for s in stops] == [1, 2]
    done = [item for s in stops for item in s["properties"]["bundle_items"]]
    assert sorted(done) == sorted(doc["bundle"]["items"])
    for s in stops:
        assert s["properties"]["kind"] in {"hall", "bank_outlet"}


def test_walk_from_a_street_above_the_service_tunnel(client):
    # was: HEL-K-0006 (Galleria Esplanad, 103 m south of the point) at 1,459 m /
    # 19.5 min, the route east to 24.9525 and back: the point snapped into the
    # service tunnel 13 m below (tunnel=yes, layer=-4) and walked out of a portal.
    doc = _nearest(client, (24.94645, 60.16909), "k=5&mode=walk&item=RS-01&route=true")
    feats = {f["id"]: f for f in doc["features"]}
    kiosk = feats["HEL-K-0006"]
    props = kiosk["properties"]
    assert props["distance_m"] < 2.5 * 103.5
    assert props["travel_time_min"] < 4
    assert max(lon for lon, _lat in kiosk["route"]["coordinates"]) < 24.948
    for f in doc["features"]:  # venues 250-360 m away came out at ~1,500 m
        assert f["properties"]["distance_m"] < 600
