"""Never a 500: random strings in every parameter of every endpoint."""

from __future__ import annotations

import random
from urllib.parse import urlencode

from geosvc.api.params import ENDPOINT_PARAMS

URLS = {
    "venues": "/api/v1/venues",
    "venue": "/api/v1/venues/XC-H-01",
    "items": "/api/v1/items",
    "item": "/api/v1/items/SB-01",
    "nearest": "/api/v1/nearest",
    "isochrones": "/api/v1/isochrones",
    "coverage": "/api/v1/coverage",
    "ogc_items": "/ogc/collections/venues/items",
}
ATOMS = ["", " ", "0", "-1", "1e308", "nan", "inf", "118.76", "30.94", "true", "null", ",",
         ",,", "hall", "kiosk,", "SB-01", "2026-02-30T25:00", "2026-05-06T10:00+99:00",
         "社保", "\u200b", "%00", "😀", "' OR 1=1 --", "<script>", "9" * 400,
         "118.7,30.9,118.8,31", "walk", "straight", "5,10,15", "gcj02", "-0", "1_000"]


def _value(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return rng.choice(ATOMS)
    alphabet = "0123456789.,-+eE:TZ abcxyz社保%&=_"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))


def test_random_parameters_never_500(client) -> None:
    rng = random.Random(20260506)
    for endpoint, url in URLS.items():
        names = [p.name for p in ENDPOINT_PARAMS[endpoint]] + ["lon", "lat", "junk"]
        for _ in range(60):
            params = {n: _value(rng) for n in rng.sample(names, rng.randint(1, len(names)))}
            if rng.random() < 0.7 and endpoint in ("nearest", "isochrones"):
                params.setdefault("lon", "118.76")
                params.setdefault("lat", "30.94")
            full = f"{url}?{urlencode(params)}"
            resp = client.get(full)
            assert resp.status_code < 500, (full, resp.get_data(as_text=True))
            body = resp.get_json(force=True)
            if resp.status_code >= 400:
                assert resp.mimetype == "application/problem+json", full
                assert body["status"] == resp.status_code
            else:
                assert isinstance(body, dict)


def test_random_paths_never_500(client) -> None:
    rng = random.Random(7)
    for _ in range(100):
        parts = (_value(rng).replace("/", "") or "x" for _ in range(rng.randint(1, 5)))
        path = "/" + "/".join(parts)
        resp = client.get(path)
        assert resp.status_code < 500, path
