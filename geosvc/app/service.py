"""The service object: settings, the store, the current snapshot and the networks.

:class:`GeoService` is the one object the API handlers, the web app and the
CLI share.  It opens the store, builds an immutable :class:`Snapshot` (the
venue index: k-d tree and box index; the item search and the dataset info of
one store revision) and loads one road network per travel mode.

Concurrency model: :attr:`GeoService.snapshot` is a plain attribute read (no
lock).  :meth:`GeoService.reload` builds a whole new snapshot off to the side,
warms its routers, search and demand sets, and swaps the attribute in one
assignment, so a request that took the old snapshot keeps using it
consistently until it finishes.  The reload never runs in a request: under a
plain WSGI server it runs in a background thread per process
(:meth:`GeoService.ensure_reloader`); under ``geosvc serve`` only the gunicorn
master, which serves nothing, runs that thread
(:meth:`GeoService.reload_in_master`), and the master replaces its workers
with fresh forks that inherit the new snapshot (:mod:`geosvc.web.server`), so
no serving process ever builds one.  A reload of a revision whose snapshot
cache another process is filling (``geosvc import`` after its commit, another
server's reload) waits for it and maps its files instead of reading the rows
(:func:`geosvc.store.snapcache.filling`).  Lazily built
per-snapshot routers (:mod:`geosvc.routing`: road routers with the venues
snapped once, straight-line routers) and demand sets for coverage are keyed
by ``(revision, mode)`` and built under a lock.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geosvc.analysis.demand import (
    build_demand,
    build_point_demand,
    demand_inputs,
    estimate_population_from_osm,
    point_demand_inputs,
)
from geosvc.app.bundles import bundle_text_search
from geosvc.app.dataset import build_index, dataset_zone, snapshot_cache
from geosvc.app.finder import Finder, build_finder
from geosvc.app.records import base_properties
from geosvc.errors import ConfigError, GeosvcError, ModeUnavailable
from geosvc.modes import TRAVEL_MODES
from geosvc.network.cache import load_network
from geosvc.network.places import load_places
from geosvc.routing import build_router
from geosvc.search import ItemSearch
from geosvc.store import local_path, open_store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from geosvc.config import Settings
    from geosvc.index import ServiceIndex
    from geosvc.model import Bundle, DatasetInfo, Place, PopulationCell
    from geosvc.network.graph import RoadNetwork
    from geosvc.routing.base import Router
    from geosvc.search import ItemSearch
    from geosvc.store.base import Store

__all__ = ["GeoService", "Snapshot"]

log = logging.getLogger(__name__)


def _reload_loop(ref: weakref.ref[GeoService], stopping: threading.Event, pid: int) -> None:
    """Body of the reloader thread: holds the service weakly, ends with it (or a fork)."""
    while True:
        service = ref()
        if service is None or os.getpid() != pid:
            return
        interval = service.settings.reload_interval_s
        del service  # sleep without keeping the service alive
        if stopping.wait(interval):
            return
        service = ref()
        if service is None:
            return
        try:
            service.maybe_reload()
        except GeosvcError as exc:  # e.g. StorageUnavailable: keep serving what we have
            log.warning("reload failed, still serving revision %s: %s",
                        service.snapshot.revision, exc.log_message)
        del service


def _after_fork(ref: weakref.ref[GeoService]) -> None:
    """In a forked child: fresh locks (a parent's thread may have held one at the fork)."""
    service = ref()
    if service is None:
        return
    service._lock = threading.Lock()
    service._check_lock = threading.Lock()
    service._reload_lock = threading.Lock()
    service._stopping = threading.Event()
    service._next = None
    service._reloader = None


@dataclass(frozen=True, slots=True, weakref_slot=True)
class Snapshot:
    """Everything a request reads, for one revision of the store; never changed.

    Attributes
    ----------
    index : ServiceIndex
        k-d tree and box index of venues, item -> venues, schedules, filters.
    search : ItemSearch
        Item search over ``index.items`` (positions into that tuple).
    info : DatasetInfo
        Dataset name, time zone, calendar.
    revision : int
        The store revision the snapshot was built from.
    built_at : datetime
        When it was built (UTC).
    tz : tzinfo
        The dataset's time zone (``info.timezone``, else the settings').
    venue_props : sequence of dict
        Per venue position, the time-independent GeoJSON properties, made per
        position asked for (:class:`~geosvc.app.records.VenueProperties`).
    bundles : tuple of Bundle
        The 一件事 bundles, by code.
    bundle_search : ItemSearch
        Text search over ``bundles`` (positions into that tuple).
    """

    index: ServiceIndex
    search: ItemSearch
    info: DatasetInfo
    revision: int
    built_at: datetime
    tz: tzinfo
    venue_props: Sequence[dict[str, Any]]
    bundles: tuple[Bundle, ...] = ()
    bundle_search: ItemSearch = field(default_factory=lambda: ItemSearch(()))


class GeoService:
    """Settings + store + current snapshot + road networks.

    Parameters
    ----------
    settings : Settings
        ``db`` must name an existing dataset; with ``osm`` set, one network per
        mode of ``modes`` is loaded (from ``cache_dir`` when cached).

    Raises
    ------
    ConfigError
        The database file does not exist.
    StorageUnavailable
        The store cannot be read.
    """

    def __init__(self, settings: Settings) -> None:
        path = local_path(settings.db)
        if path is not None and not path.is_file():
            msg = (f"`db` file {str(path)!r} does not exist; create it with "
                   "`geosvc import ...` or `geosvc demo`")
            raise ConfigError(msg)
        self.settings = settings
        self._lock = threading.Lock()
        self._check_lock = threading.Lock()
        self._last_check = time.monotonic()
        self._engines: dict[tuple[int, str], Any] = {}
        self._demand: dict[tuple[int, str], Any] = {}
        self._layers: dict[int, tuple[list[Any], list[Any]]] = {}  # see _population_layers
        self._osm_cells: dict[tuple[str, float], list[Any]] = {}  # see _osm_population
        self._finders: dict[tuple[int, str], Any] = {}  # see finder
        self._reload_lock = threading.Lock()  # one rebuild at a time
        self._next: Snapshot | None = None  # the snapshot being built and warmed
        self._reloader: threading.Thread | None = None
        self._reloader_pid = 0
        self._stopping = threading.Event()
        self._master_pid = 0  # see reload_in_master: 0 = every process reloads itself
        self._warm_all = False  # the master warms every router (it sees no requests)
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _after_fork(ref))
        #: Seconds the last reload took to build and warm the new snapshot.
        self.last_reload_s: float | None = None
        self._snapshot = self._build_snapshot()
        #: The extract's named places (streets, POIs, neighbourhoods); empty without one.
        self.places: list[Place] = []
        #: How they were loaded: ``{cache_path, from_cache, load_s, places}`` ({} without).
        self.places_meta: dict[str, Any] = {}
        self.networks: dict[str, RoadNetwork] = self._load_networks()

    # ------------------------------------------------------------------ snapshot

    @property
    def snapshot(self) -> Snapshot:
        """The current snapshot (a single attribute read; hold on to it per request)."""
        return self._snapshot

    def open_store(self) -> Store:
        """Open a fresh connection to the store (the caller closes it).

        The service holds no connection between uses: snapshots are built
        from short-lived connections, so the service can be shared by threads
        and forked into gunicorn workers without sharing a SQLite handle.
        """
        return open_store(self.settings.db)

    def _revision(self) -> int:
        store = self.open_store()
        try:
            return store.revision()
        finally:
            store.close()

    def _build_snapshot(self) -> Snapshot:
        store = self.open_store()
        try:
            contents = store.read(snapshot_cache(self.settings))  # one consistent revision
        finally:
            store.close()
        info, revision = contents.info, contents.revision
        index = build_index(contents, self.settings)
        return Snapshot(
            index=index,
            search=ItemSearch(index.items),
            info=info,
            revision=revision,
            built_at=datetime.now(UTC),
            tz=dataset_zone(info.timezone, self.settings.timezone),
            venue_props=base_properties(index),
            bundles=tuple(contents.bundles),
            bundle_search=bundle_text_search(contents.bundles),
        )

    def maybe_reload(self, now: float | None = None) -> bool:
        """Reload if ``settings.reload_interval_s`` has passed since the last check.

        Cheap when nothing changed (one revision read, about a millisecond,
        at most once per interval).  Never blocks: if another thread is
        already checking or rebuilding, this call returns at once and the
        caller keeps serving the current snapshot.  Servers call it from the
        background reloader (:meth:`ensure_reloader`), never from a request.

        Returns
        -------
        bool
            True when a new snapshot was swapped in.
        """
        interval = self.settings.reload_interval_s
        now = time.monotonic() if now is None else now
        if interval <= 0 or now - self._last_check < interval:
            return False
        if not self._check_lock.acquire(blocking=False):
            return False
        try:
            self._last_check = now
            return self.reload()
        finally:
            self._check_lock.release()

    def ensure_reloader(self) -> None:
        """Start this process's background reloader thread unless it runs (cheap; per request).

        The thread wakes every ``reload_interval_s`` seconds and calls
        :meth:`maybe_reload`; a new import is built, with its routers,
        search and demand sets warmed, off the request path and swapped in
        whole.  Started lazily so that each forked server worker gets its own
        (threads do not survive ``fork``); restarted if it died.  A store that
        cannot be read is logged and the current snapshot kept.  Does nothing
        in a process forked from a :meth:`reload_in_master` process: its
        master reloads for it and replaces it.
        """
        if self.settings.reload_interval_s <= 0:
            return
        if self._master_pid and self._master_pid != os.getpid():
            return
        thread = self._reloader
        if thread is not None and thread.is_alive() and self._reloader_pid == os.getpid():
            return
        with self._check_lock:
            if (self._reloader is not None and self._reloader.is_alive()
                    and self._reloader_pid == os.getpid()):
                return
            self._reloader_pid = os.getpid()
            self._reloader = threading.Thread(
                target=_reload_loop, args=(weakref.ref(self), self._stopping, os.getpid()),
                name="geosvc-reload", daemon=True)
            self._reloader.start()

    def stop_reloader(self) -> None:
        """Stop the background reloader (tests, shutdown)."""
        self._stopping.set()

    def reload_in_master(self) -> None:
        """Make this process the only one that reloads (call before forking workers).

        For a server master that serves no requests and forks its workers
        (``geosvc serve``): processes forked from here never start a
        reloader (:meth:`ensure_reloader` does nothing in them); the master
        starts its own with :meth:`ensure_reloader` once its first workers
        are forked, builds and warms each new snapshot (every loaded mode's
        router, ``straight`` and the place search, since it cannot see which
        ones the workers use) and replaces the workers with new forks.  Fork
        only inside :meth:`paused_reloads`.
        """
        self._master_pid = os.getpid()
        self._warm_all = True

    @contextlib.contextmanager
    def paused_reloads(self) -> Iterator[bool]:
        """Hold off reloads in the block, if no rebuild is running; yield whether it did.

        A server master forks its workers only in a block that got True:
        then its reloader thread is idle (sleeping, or waiting for this
        block) and holds none of the service's locks, so the child inherits
        no half-built state and no lock it cannot release.  False (a rebuild
        is running) means: try again later; it never waits.
        """
        lock = self._reload_lock  # a forked child replaces the attribute (_after_fork)
        if not lock.acquire(blocking=False):
            yield False
            return
        try:
            yield True
        finally:
            lock.release()

    def warm(self) -> None:
        """Build the current snapshot's routers and place search now (before forking)."""
        snap = self._snapshot
        for mode in self._warm_modes(snap):
            self.travel(mode, snap)
        self.finder(snap)

    def _warm_modes(self, snap: Snapshot) -> list[str]:
        """Modes whose routers :meth:`reload` builds ahead for ``snap``'s successor."""
        modes = {m for r, m in self._engines if r == snap.revision}
        if self._warm_all:
            modes |= {*self.networks, "straight"}
        return sorted(modes)

    def reload(self, *, force: bool = False) -> bool:
        """Rebuild the snapshot if the store changed (or ``force``) and swap it in.

        The new snapshot's routers (for the modes in use), item/place search
        and coverage demand sets (when built for the current one) are built
        before the swap, so no request after it pays for them.  Readers
        holding the previous snapshot are unaffected.

        Returns
        -------
        bool
            True when a new snapshot was swapped in.
        """
        with self._reload_lock:
            current = self._snapshot
            if not force and self._revision() == current.revision:
                return False
            started = time.perf_counter()
            snap = self._build_snapshot()
            self._next = snap
            try:
                self._warm(snap, current)
            finally:
                self._next = None
            with self._lock:
                self._snapshot = snap
                keep = snap.revision
                self._engines = {k: v for k, v in self._engines.items() if k[0] == keep}
                self._demand = {k: v for k, v in self._demand.items() if k[0] == keep}
                self._layers = {k: v for k, v in self._layers.items() if k == keep}
                self._finders = {k: v for k, v in self._finders.items() if k[0] == keep}
            self.last_reload_s = time.perf_counter() - started
            log.info("revision %s swapped in (built and warmed in %.2f s)", snap.revision,
                     self.last_reload_s)
            return True

    def _warm(self, snap: Snapshot, current: Snapshot) -> None:
        """Build for ``snap`` what requests of ``current`` have built (see :meth:`reload`)."""
        if snap.revision == current.revision:
            return  # a forced rebuild of the same revision: its caches stay valid
        for mode in self._warm_modes(current):
            self.travel(mode, snap)
        if self._warm_all or any(r == current.revision for r, _ in self._finders):
            self.finder(snap)
        for mode in sorted({m for r, m in self._demand if r == current.revision}):
            self.demand(mode, snap)

    # ------------------------------------------------------------------ networks

    def _load_networks(self) -> dict[str, RoadNetwork]:
        settings = self.settings
        if not settings.osm:
            return {}
        osm = Path(settings.osm)
        if not osm.is_file():
            msg = f"`osm` file {settings.osm!r} does not exist"
            raise ConfigError(msg)

        networks = {
            mode: load_network(osm, mode, settings=settings, cache_dir=Path(settings.cache_dir))
            for mode in settings.modes
        }
        # The search box's places come from the same extract, cached beside the networks.
        source_hash = next((net.source_hash for net in networks.values()), None)
        self.places, self.places_meta = load_places(osm, cache_dir=Path(settings.cache_dir),
                                                    source_hash=source_hash)
        return networks

    def network(self, mode: str) -> RoadNetwork:
        """Return the road network of ``mode``; raise :class:`ModeUnavailable`."""
        net = self.networks.get(mode)
        if net is None:
            if self.networks:
                loaded = ", ".join(sorted(self.networks))
                msg = (f"`mode` {mode} is not available: the server loaded only "
                       f"{loaded}; use one of them or mode=straight")
            else:
                msg = (f"`mode` {mode} is not available: no road network is loaded; "
                       "start the server with --osm FILE")
            raise ModeUnavailable(msg)
        return net

    def travel(self, mode: str, snapshot: Snapshot | None = None) -> Router:
        """Return the router of ``mode`` for ``snapshot`` (:mod:`geosvc.routing`).

        Road modes get a :class:`~geosvc.routing.road.RoadRouter` (a
        :class:`~geosvc.network.TravelEngine` inside), ``straight`` a
        :class:`~geosvc.routing.straight.StraightRouter` over the snapshot's
        venues (no network needed).  Built once per (snapshot revision,
        mode): the venues are placed once.  ``snapshot`` defaults to the
        current one.

        Raises
        ------
        ModeUnavailable
            A mode that needs a network without one loaded (or an unknown mode).
        """
        spec = TRAVEL_MODES.get(mode)
        net = self.network(mode) if spec is None or spec.needs_network else None
        snap = snapshot or self._snapshot

        def build() -> Router:
            return build_router(mode, snap.index.lon, snap.index.lat, settings=self.settings,
                                index=snap.index, network=net)

        return self._once(self._engines, (snap.revision, mode), snap, build)

    def finder(self, snapshot: Snapshot | None = None) -> Finder:
        """Return the venue and place search of ``snapshot`` (built once per revision).

        Places are the dataset's areas (districts) and, with an extract
        loaded, :attr:`places`.
        """
        snap = snapshot or self._snapshot

        def build() -> Finder:
            store = self.open_store()
            try:
                areas = store.areas()
            finally:
                store.close()
            return build_finder(snap, areas, self.places)

        found: Finder = self._once(self._finders, (snap.revision, "finder"), snap, build)
        return found

    def off_network_venues(self, *, build: bool = True) -> dict[str, list[dict[str, Any]]]:
        """Venues no query of a mode can reach, per loaded mode.

        A venue is off the ``mode`` network when its coordinate is invalid or
        it lies farther than ``settings.snap_max_m`` from any road of that
        mode (of a component of at least ``min_component_nodes`` nodes).
        Such venues are never returned by network queries; operators should
        fix their coordinates.  ``build=False`` looks only at the travel
        engines already built (cheap, for ``/healthz``); ``build=True`` builds
        them (which also warms the server before it forks workers).

        Returns
        -------
        dict
            ``{mode: [{code, name, reason}]}`` for every loaded mode (empty lists
            when every venue is reachable).
        """
        snap = self._snapshot
        out: dict[str, list[dict[str, Any]]] = {}
        for mode in self.networks:
            engine: Any = self.travel(mode, snap) if build else self._engines.get(
                (snap.revision, mode))
            if engine is None:
                continue
            rows = []
            for pos, reason in zip(engine.unsnappable.tolist(), engine.warnings, strict=True):
                venue = snap.index.venues[pos]
                rows.append({"code": venue.code, "name": venue.name,
                             "reason": reason.split(": ", 1)[-1]})
            out[mode] = rows
        return out

    def demand(self, mode: str, snapshot: Snapshot | None = None) -> Any:
        """Return the coverage demand set of ``mode`` (population placed once, lazily).

        Population and areas come from the store, with the fallbacks of
        :func:`geosvc.analysis.demand.demand_inputs` (the same as the CLI's):
        no population layer -> the OSM building estimate of ``settings.osm``
        (computed once per service; none without an extract); no areas ->
        the documented 3 x 2 grid (over the network, or for modes without
        one over the venues and residents).  Road modes snap the points to
        the network; ``straight`` keeps them as they are.

        Raises
        ------
        ModeUnavailable
            A mode that needs a network without one loaded.
        """
        spec = TRAVEL_MODES.get(mode)
        if spec is not None and not spec.needs_network:
            return self._point_demand(mode, snapshot or self._snapshot)
        net = self.network(mode)
        snap = snapshot or self._snapshot

        def build() -> Any:
            population, areas = self._population_layers(snap)
            cells, areas, notes = demand_inputs(
                population, areas, net, osm=self.settings.osm,
                floor_area_per_person_m2=self.settings.floor_area_per_person_m2,
                estimate=self._osm_population)
            for note in notes:
                log.info("demand (%s): %s", mode, note)
            return build_demand(net, cells, areas,
                                max_snap_m=self.settings.snap_max_m,
                                min_component_nodes=self.settings.min_component_nodes,
                                key=(net.source_hash, mode, snap.revision))

        return self._once(self._demand, (snap.revision, mode), snap, build)

    def _point_demand(self, mode: str, snap: Snapshot) -> Any:
        """Demand of a mode without a network: cells as they are (see :meth:`demand`)."""
        router = self.travel(mode, snap)

        def build() -> Any:
            population, areas = self._population_layers(snap)
            cells, areas, notes = point_demand_inputs(
                population, areas, snap.index.lon, snap.index.lat, osm=self.settings.osm,
                floor_area_per_person_m2=self.settings.floor_area_per_person_m2,
                estimate=self._osm_population)
            for note in notes:
                log.info("demand (%s): %s", mode, note)
            return build_point_demand(router, cells, areas, key=(mode, snap.revision))

        return self._once(self._demand, (snap.revision, mode), snap, build)

    def _once(self, cache: dict[tuple[int, str], Any], key: tuple[int, str],
              snap: Snapshot, build: Callable[[], Any]) -> Any:
        """Return ``cache[key]``, building it once under the lock on a miss.

        Only objects of the current snapshot are kept (``reload`` drops the
        others); an older snapshot a reader still holds gets a fresh build.
        """
        hit = cache.get(key)
        if hit is not None:
            return hit
        with self._lock:
            hit = cache.get(key)
            if hit is None:
                hit = build()
                if snap is self._snapshot or snap is self._next:
                    cache[key] = hit
        return hit

    def population(self, snapshot: Snapshot | None = None) -> list[PopulationCell]:
        """Return the store's population cells (read once per snapshot revision).

        Shared between callers (read-only); empty when the dataset has no
        population layer (the OSM estimate of :meth:`demand` is not included).
        """
        snap = snapshot or self._snapshot
        hit = self._layers.get(snap.revision)
        if hit is None:
            with self._lock:
                hit = self._population_layers(snap)
        return hit[0]

    def _population_layers(self, snap: Snapshot) -> tuple[list[Any], list[Any]]:
        """Return the store's ``(population, areas)`` for ``snap`` (called under ``_lock``)."""
        hit = self._layers.get(snap.revision)
        if hit is None:
            store = self.open_store()
            try:
                hit = (store.population(), store.areas())
            finally:
                store.close()
            if snap is self._snapshot:
                self._layers[snap.revision] = hit
        return hit

    def _osm_population(self, osm: str, floor_area_per_person_m2: float) -> list[Any]:
        """Estimate residents from ``osm`` once per service (called under ``_lock``)."""
        key = (osm, floor_area_per_person_m2)
        if key not in self._osm_cells:
            self._osm_cells[key] = estimate_population_from_osm(
                osm, floor_area_per_person_m2=floor_area_per_person_m2)
        return self._osm_cells[key]
