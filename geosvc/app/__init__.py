"""The application layer: use cases over typed requests and results.

Web views, CLI commands, batch tasks and page builders are thin adapters
that call these functions; nothing here imports Flask or draws.  Travel
queries (nearest, isochrones, coverage, plans): :mod:`geosvc.app.travel`;
the venue and item catalogue: :mod:`geosvc.app.venues`; imports:
:mod:`geosvc.app.importing`; the service and its snapshots:
:mod:`geosvc.app.service`; one dataset read whole: :mod:`geosvc.app.dataset`.
Import from the modules: this package imports nothing, so the CLI can load one
use case without the others.
"""
