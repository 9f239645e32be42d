"""Settings of a geosvc deployment.

Precedence, lowest first: the defaults below, an optional YAML/JSON file,
``GEOSVC_*`` environment variables (``GEOSVC_DB``, ``GEOSVC_WALK_SPEED_KPH``
...), then an explicit mapping (as tests pass to ``create_app``).
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from limits import parse_many

from geosvc.errors import ConfigError
from geosvc.modes import TRAVEL_MODES, network_modes

ENV_PREFIX = "GEOSVC_"


@dataclass(frozen=True, slots=True)
class Settings:
    """Frozen settings; build with :meth:`Settings.load`."""

    #: SQLite file (or store URL, e.g. ``sqlite:///x.sqlite``) of the dataset.
    db: str = "var/demo.sqlite"
    #: OSM extract (.pbf / .osm / .gz) of the road network; None = straight-line only.
    osm: str | None = None
    #: Travel modes to load from ``osm`` (modes of :mod:`geosvc.modes` that need a
    #: road network; ``straight`` needs none and is always available).
    modes: tuple[str, ...] = network_modes()
    #: Directory of cached network arrays (and of the snapshot cache, ``snapshots/``).
    cache_dir: str = ".geosvc-cache"
    #: Keep each store revision's venue and link columns in ``<cache_dir>/snapshots``
    #: and map them from there on later loads (see geosvc.store.snapcache); stores
    #: with fewer venues than ``snapshot_cache_min_venues`` are read as they are.
    snapshot_cache: bool = True
    snapshot_cache_min_venues: int = 50_000
    #: A process about to fill a revision's snapshot cache that another one is
    #: filling (an import preparing it, another server's reload) waits this long
    #: for it, then maps what it wrote; after that it reads the rows itself, seconds.
    snapshot_cache_wait_s: float = 300.0
    #: Time zone used when the dataset declares none.
    timezone: str = "Asia/Shanghai"
    #: Walking speed, km/h (also the access leg from a point to the street).
    walk_speed_kph: float = TRAVEL_MODES["walk"].default_speed_kph
    #: Cycling speed, km/h.
    bike_speed_kph: float = TRAVEL_MODES["bike"].default_speed_kph
    #: Driving speed when a road has no ``maxspeed`` and no known class, km/h.
    drive_default_kph: float = TRAVEL_MODES["drive"].default_speed_kph
    #: Farthest a query point may lie from the network, metres.
    snap_max_m: float = 1000.0
    #: Points (queries, venues, demand) snap only to edges inside a travel core (the
    #: largest strongly connected component of a weak component) with at least this
    #: many nodes, or of the largest core when none is that big; 0 or 1 = snap to any
    #: edge.  Keeps points off the tiny fragments an extract's clipping leaves behind
    #: and off one-way traps (see geosvc.network.snap).
    min_component_nodes: int = 50
    #: A venue must stay open this long after arrival to count as open, minutes.
    open_margin_min: float = 30.0
    #: Time spent at the first stop of a two-stop bundle trip before the second leg, minutes.
    stop_service_min: float = 15.0
    #: Number of multi-source passes kept in memory per mode.
    pass_cache_size: int = 64
    #: Memory for whole answers of coverage, isochrones and plans kept per data
    #: revision in each server process, MB (0 = keep none; see geosvc.web._answers).
    answer_cache_mb: float = 64.0
    #: Residents per m² of residential floor area when estimating population.
    floor_area_per_person_m2: float = 35.0
    #: Default and maximum page size of feature lists.
    default_limit: int = 50
    max_limit: int = 1000
    #: How often a server checks the store for a new import and swaps in a new
    #: snapshot, seconds (0 = never; restart or HUP instead).
    reload_interval_s: float = 5.0
    #: Key for Tianditu base-map tiles (tiles=tianditu); None = Tianditu unavailable.
    tianditu_key: str | None = None
    #: CORS origins allowed for GET on the public API.
    cors_origins: str = "*"
    #: Other origins (comma list, e.g. ``https://portal.example.gov.cn``) whose pages
    #: may send writes (``POST`` ...) to the API; the server's own origin always may.
    write_origins: str = ""
    #: Largest request body accepted, bytes (larger: 413 before parsing).
    max_body_bytes: int = 1_000_000
    #: Requests per client address to the heavy analyses (coverage, isochrones,
    #: plans), e.g. ``60/minute`` (limits syntax; "" = no limit); beyond: 429.
    heavy_rate_limit: str = "60/minute"
    #: Where the rate-limit counts live: ``memory://`` counts per server process
    #: (with N workers a client gets up to N times the limit); ``redis://host`` shares.
    rate_limit_storage: str = "memory://"
    #: Reverse proxies in front of the server whose ``X-Forwarded-For`` / ``-Proto`` /
    #: ``-Host`` are trusted (0 = none: the client address is the socket's).  Set it
    #: to 1 behind one nginx, or every client shares the proxy's rate-limit count.
    trusted_proxies: int = 0
    #: A request body must arrive within this many seconds (else 408; `geosvc serve`).
    body_timeout_s: float = 30.0
    #: Time budget of one heavy analysis over HTTP (coverage, plans, isochrones and the
    #: pages built on them), seconds: work estimated above it is refused at once and
    #: an analysis still running at it is stopped between phases; either way a 503
    #: with ``Retry-After`` (0 = no budget; the CLI has none).
    analysis_budget_s: float = 20.0
    #: Threads per server process running requests (`geosvc serve`; the network is
    #: read by an asyncio loop, so slow clients hold no thread).
    server_threads: int = 4
    #: Testing mode (Flask).
    testing: bool = False

    def __post_init__(self) -> None:
        problems = []
        speeds = dict.fromkeys(m.speed_setting for m in TRAVEL_MODES.values())
        for name in (*speeds, "snap_max_m"):
            if not getattr(self, name) > 0:
                problems.append(f"`{name}` must be > 0")
        if not _is_zone(self.timezone):
            problems.append(f"`timezone` {self.timezone!r} is not an IANA time zone "
                            "(e.g. Asia/Shanghai)")
        rate = self.heavy_rate_limit.strip()
        checks = [
            *((bool(getattr(self, name).strip()), f"`{name}` must not be empty")
              for name in ("db", "cache_dir")),
            (self.reload_interval_s >= 0, "`reload_interval_s` must be >= 0"),
            (self.open_margin_min >= 0, "`open_margin_min` must be >= 0"),
            (0 <= self.stop_service_min <= 240, "`stop_service_min` must be between 0 and 240"),
            (self.min_component_nodes >= 0, "`min_component_nodes` must be >= 0"),
            (not rate or _valid_rate(rate), f"`heavy_rate_limit` {rate!r} is not a rate "
                                            "such as 60/minute or 10 per second"),
            (self.body_timeout_s > 0, "`body_timeout_s` must be > 0"),
            (0 <= self.analysis_budget_s <= 3600,
             "`analysis_budget_s` must be between 0 (no budget) and 3600 seconds"),
            (0 <= self.trusted_proxies <= 5, "`trusted_proxies` must be between 0 and 5"),
            (1 <= self.server_threads <= 64, "`server_threads` must be between 1 and 64"),
            (self.max_body_bytes >= 1024, "`max_body_bytes` must be >= 1024"),
            (self.pass_cache_size >= 1, "`pass_cache_size` must be >= 1"),
            (self.snapshot_cache_min_venues >= 0, "`snapshot_cache_min_venues` must be >= 0"),
            (0 <= self.snapshot_cache_wait_s <= 86_400,
             "`snapshot_cache_wait_s` must be between 0 and 86400 seconds"),
            (self.answer_cache_mb >= 0, "`answer_cache_mb` must be >= 0"),
            (1 <= self.default_limit <= self.max_limit,
             "`default_limit` must be between 1 and `max_limit`"),
        ]
        problems += [msg for ok, msg in checks if not ok]
        bad_modes = set(self.modes) - set(network_modes())
        if bad_modes:
            problems.append(f"`modes` has unknown modes {sorted(bad_modes)}")
        if problems:
            msg = "; ".join(problems)
            raise ConfigError(msg)

    @classmethod
    def load(
        cls,
        *,
        file: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Settings:
        """Build settings from defaults, a file, the environment and overrides.

        Examples
        --------
        >>> Settings.load(env={"GEOSVC_WALK_SPEED_KPH": "5"}).walk_speed_kph
        5.0
        >>> Settings.load(env={}, overrides={"modes": "walk,drive"}).modes
        ('walk', 'drive')
        """
        values: dict[str, Any] = {}
        names = {f.name for f in fields(cls)}
        if file is not None:
            values.update(_read_file(Path(file)))
            _check_names(names, values, where=f"settings file `{file}`")
        env = os.environ if env is None else env
        for key, raw in env.items():
            if key.startswith(ENV_PREFIX):
                name = key[len(ENV_PREFIX):].lower()
                if name in names:
                    values[name] = raw
                elif _close_to(name, names):  # other GEOSVC_* variables are not settings
                    _check_names(names, {name: raw}, where="the environment", prefix=ENV_PREFIX)
        for key, value in (overrides or {}).items():
            if key.lower() in names:
                values[key.lower()] = value
            elif key.islower():  # upper-case keys are Flask's (TESTING, ...)
                _check_names(names, {key: value}, where="the overrides")
        return cls(**{k: _coerce(cls, k, v) for k, v in values.items()})

    def with_(self, **changes: Any) -> Settings:
        """Return a copy with ``changes`` applied (validated).

        Raises
        ------
        ConfigError
            A name is not a setting (the message suggests the nearest one).
        """
        _check_names({f.name for f in fields(self)}, changes, where="the changes")
        return replace(self, **{k: _coerce(type(self), k, v) for k, v in changes.items()})


def _close_to(name: str, names: set[str]) -> list[str]:
    return difflib.get_close_matches(name, sorted(names), n=1, cutoff=0.75)


def _check_names(names: set[str], values: Mapping[str, Any], *, where: str,
                 prefix: str = "") -> None:
    """Raise ConfigError naming every key of ``values`` that is no setting.

    Examples
    --------
    >>> _check_names({"walk_speed_kph", "db"}, {"walk_sped_kph": 5}, where="x.yaml")
    Traceback (most recent call last):
    ...
    geosvc.errors.ConfigError: unknown setting `walk_sped_kph` in x.yaml (did you mean \
`walk_speed_kph`?)
    """
    problems = []
    for key in values:
        if key in names:
            continue
        def spelt(name: str) -> str:
            return f"{prefix}{name.upper()}" if prefix else name

        near = _close_to(str(key).lower(), names)
        hint = (f" (did you mean `{spelt(near[0])}`?)" if near
                else "; settings are: " + ", ".join(sorted(names)))
        problems.append(f"unknown setting `{spelt(str(key))}` in {where}{hint}")
    if problems:
        msg = "; ".join(problems)
        raise ConfigError(msg)


def _valid_rate(text: str) -> bool:
    """Tell whether ``text`` is a rate the limits library reads (``60/minute``)."""
    try:
        parse_many(text)
    except ValueError:
        return False
    return True


def _is_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"cannot read settings file `{path}`: {exc.strerror}"
        raise ConfigError(msg) from exc

    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text) or {}
    except (ValueError, yaml.YAMLError) as exc:  # json.JSONDecodeError is a ValueError
        msg = f"settings file `{path}` is not valid {path.suffix.lstrip('.') or 'YAML'}: {exc}"
        raise ConfigError(msg) from exc
    if not isinstance(data, dict):
        msg = f"settings file `{path}` must hold a mapping"
        raise ConfigError(msg)
    return data


def _coerce(cls: type, name: str, value: Any) -> Any:
    default = next(f.default for f in fields(cls) if f.name == name)
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                return value.strip().lower() in {"1", "true", "yes", "on"}
            return bool(value)
        if isinstance(default, tuple):
            if isinstance(value, str):
                return tuple(v.strip() for v in value.split(",") if v.strip())
            return tuple(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, int):
            return int(value)
        if value is None or (value == "" and default is None):
            return default
        # an explicit "" keeps its meaning (`heavy_rate_limit = ""`: no limit; `cors_origins
        # = ""`: no other origin); settings that cannot be empty say so in __post_init__
        return str(value)
    except (TypeError, ValueError) as exc:
        msg = f"setting `{name}` cannot take {value!r}: {exc}"
        raise ConfigError(msg) from exc
