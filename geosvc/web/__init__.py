"""The Flask application: ``create_app(config=None)``.

Only this package imports Flask.  The factory builds the settings and the
:class:`~geosvc.app.service.GeoService` once, keeps the service in
``app.extensions["geosvc"]`` and registers one blueprint per resource.
Under gunicorn: ``gunicorn 'geosvc.web:create_app()'`` (settings from
``GEOSVC_*`` environment variables, and ``GEOSVC_CONFIG`` = a YAML/JSON file).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from geosvc.app.service import GeoService
from geosvc.config import Settings
from geosvc.web import _guard, _ops, _respond, problems

__all__ = ["create_app"]

#: Paths whose answers carry CORS headers (flask-cors resource patterns).
_CORS_RESOURCES = (r"/api/*", r"/ogc*", r"/openapi.json")
#: Functions whose ``ensure_sync`` answer :class:`_App` keeps.
_SYNCED_MAX = 4096
#: Blueprint modules of this package, registered in this order.
_BLUEPRINTS = ("health", "venues", "items", "nearest", "isochrones", "coverage",
               "plans", "imports", "ogc", "docs", "maps", "venue_pages", "home")


class _App(Flask):
    """Flask, remembering which hooks and views need an async wrapper.

    Flask asks ``inspect.iscoroutinefunction`` of every hook and view on
    every request (``ensure_sync``, ten times a request here); the answer
    of a given function never changes, so it is kept per function.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._synced: dict[Any, Any] = {}

    def ensure_sync(self, func: Any) -> Any:  # noqa: D102 - as Flask's
        try:
            return self._synced[func]
        except KeyError:
            wrapped = super().ensure_sync(func)
            if len(self._synced) < _SYNCED_MAX:  # registered functions: a bounded set
                self._synced[func] = wrapped
            return wrapped
        except TypeError:  # an unhashable callable: ask every time
            return super().ensure_sync(func)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the geosvc Flask application.

    Parameters
    ----------
    config : mapping, optional
        Setting overrides (any :class:`~geosvc.config.Settings` field, case
        insensitive, e.g. ``{"db": "x.sqlite", "osm": None}``) and Flask
        config keys (upper case, e.g. ``TESTING``).  Applied over the
        ``GEOSVC_*`` environment and the file named by ``GEOSVC_CONFIG``.

    Returns
    -------
    flask.Flask
        With the service in ``app.extensions["geosvc"]``.

    Raises
    ------
    ConfigError
        Bad settings, a missing database or OSM file.
    """
    config = dict(config or {})
    settings = Settings.load(file=os.environ.get("GEOSVC_CONFIG") or None, overrides=config)
    app = _App(__name__)
    app.config.update({k: v for k, v in config.items() if k.isupper()})
    # Flask types app.json as the JSONProvider base; its default provider has these two.
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    service = app.extensions["geosvc"] = GeoService(settings)


    problems.register(app)
    # request ids, the JSON access log and /metrics; its hooks run first / last
    _ops.install(app, service)
    for name in _BLUEPRINTS:
        module = importlib.import_module(f"geosvc.web.{name}")
        app.register_blueprint(module.bp)
    # per-client limits on coverage, isochrones and plans (429 + Retry-After); test apps
    # (TESTING) have none unless their config names `heavy_rate_limit`
    if not app.testing or "heavy_rate_limit" in config:
        _guard.install_rate_limits(app, settings)

    # a background thread per process reads the revision every `reload_interval_s`
    # and builds + warms a changed store's snapshot off the request path, then swaps
    # it in whole (GeoService.ensure_reloader / reload); the hook only starts it.  Test
    # apps (TESTING) reload only when their config names `reload_interval_s`: dozens of
    # session apps polling their files would race tests that migrate or rewrite stores
    if not app.testing or "reload_interval_s" in config:
        app.before_request(service.ensure_reloader)

    # ETag, 304 and gzip of successful GET answers (see geosvc.web._respond.finish)
    app.after_request(_respond.finish)
    # body limit, JSON-only same-site writes, nosniff / framing / referrer headers;
    # registered before CORS so that it runs after it (see geosvc.web._guard.install)
    _guard.install(app, settings)

    if settings.trusted_proxies:  # client address, scheme and host as the proxy saw them
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    origins = settings.cors_origins
    origins_list: str | list[str] = origins if origins == "*" else [
        o.strip() for o in origins.split(",") if o.strip()]
    CORS(
        app,
        resources={pattern: {} for pattern in _CORS_RESOURCES},
        origins=origins_list,
        methods=["GET", "HEAD", "OPTIONS"],  # writes: only `write_origins` (web._guard)
        expose_headers=["Content-Type"],
        send_wildcard=origins == "*",
        vary_header=origins != "*",
    )
    # the same headers on every plain GET of the API: computed once by flask-cors
    _guard.memo_cors(app, _CORS_RESOURCES)
    return app
