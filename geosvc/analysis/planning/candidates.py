"""Candidate sites for planning: bank outlets, kiosk sites, or points the planner supplies.

Three kinds of candidate set:

``bank_outlets``
    Bank outlets without any government channel yet (:attr:`Venue.is_candidate`),
    snapped by the travel engine like every venue.  Id = the venue code.
``kiosk_sites``
    Sites for new 7x24 self-service stations, generated from the demand and
    the street network by one documented rule (:func:`kiosk_site_candidates`):
    the demand points are binned into square cells of ``spacing_m`` metres
    (the network's UTM CRS, cells aligned on multiples of ``spacing_m``); in
    every cell holding residents, the site is the network NODE (a street
    junction or street end) nearest to the cell's population-weighted centroid
    that lies within ``spacing_m`` of it; sites are deduplicated by node and
    ordered by descending cell population.  Only nodes of road components
    with at least ``min_component_nodes`` nodes are sites (the rule venues
    and demand snap by), so no site lands on a tiny clipped fragment; and
    only nodes of ground-level streets when the network has any (no site in
    a tunnel or on a bridge: :attr:`~geosvc.network.graph.RoadNetwork.edge_layer`).
    Id = ``site-<node id>``.  A router without a road network (straight
    lines) puts the site at the weighted centroid itself
    (:func:`kiosk_point_candidates`); id ``site-<column>_<row>`` of the cell.
supplied
    A GeoJSON FeatureCollection of points (or rows with ``id``, ``name``,
    ``lon``, ``lat``), e.g. parcels the city owns.  Id = the feature's ``id``,
    else ``properties.id`` / ``properties.code``, else ``cand-<n>`` (1-based).

What a site offers
------------------
A plan keeps the filter's meaning: its ``after_share`` is what
``/api/v1/coverage`` with the same filters would answer once the chosen
sites exist.  So a candidate counts only if it would offer what the
``kind`` / ``channel`` / ``level`` filters ask (:class:`Offer`): a kiosk site
is a ``kiosk`` offering only ``self_service`` (``vocab.KINDS``), with no
level; a bank-outlet candidate is a ``bank_outlet`` that can be given any
channel of its kind, at its stored level; a supplied point offers what its
properties ``kind`` / ``channels`` / ``level`` say (a kind alone allows that
kind's channels), and an unstated property matches any filter.  Items,
hours and accessibility are not checked: a new site is assumed to be set up
for them.

Decision: :func:`build_candidates` **filters** the candidates and reports
the ids it left out (:attr:`Candidates.not_offering`, the answer's
``candidates_not_offering``), the way off-network candidates are kept out
of the choice but listed; when **none** is left the request contradicts
itself (e.g. ``kiosk_sites`` with ``channel=window``) and it is refused
with a 400 naming ``candidates`` that says what the set offers and what the
filter asks.  Filtering rather than refusing every partial mismatch keeps
the built-in sets usable (bank outlets differ in level; the user cannot
edit the set), while a set that can never serve the filter is an error,
not a plan of zero gain.

All candidates snap by the rule of ``Settings.min_component_nodes`` (only to
road components of at least that many nodes), like venues and demand.
Candidates farther than ``snap_max_m`` from the network are not dropped
silently: their ids are listed in :attr:`Candidates.off_network`.
:func:`build_candidates` places every kind with the plan's router
(:mod:`geosvc.routing`), so straight-line plans need no network.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from geosvc import vocab
from geosvc.coords import projection
from geosvc.errors import InvalidParameter
from geosvc.network.graph import GROUND
from geosvc.network.snap import snap_points, snap_xy, snappable_edges
from geosvc.routing import as_router

if TYPE_CHECKING:
    from collections.abc import Callable

    from geosvc.analysis.demand import DemandSet
    from geosvc.model import VenueFilter
    from geosvc.network.graph import RoadNetwork
    from geosvc.network.snap import Snapped
    from geosvc.routing.base import Placement, Router

    #: Places projected points (x, y, max_dist_m) as snap_xy on the network would.
    XYSnapper = Callable[[NDArray[np.float64], NDArray[np.float64], float], Snapped]

__all__ = [
    "CANDIDATE_SETS",
    "MAX_CANDIDATES",
    "Candidates",
    "Offer",
    "bank_outlet_candidates",
    "build_candidates",
    "kiosk_point_candidates",
    "kiosk_site_candidates",
    "read_candidate_file",
    "supplied_candidates",
    "supplied_points",
]

#: Names of the built-in candidate sets.
CANDIDATE_SETS = ("bank_outlets", "kiosk_sites")
#: Most candidates one plan accepts.
MAX_CANDIDATES = 20_000
#: Default spacing of kiosk sites, metres.
KIOSK_SPACING_M = 250.0


@dataclass(frozen=True, slots=True)
class Offer:
    """What a candidate site would offer (None = not stated: matches any filter).

    Attributes
    ----------
    kind : str or None
        A venue kind code (``vocab.KINDS``).
    channels : tuple of str or None
        Channel codes the site offers (or could be given), in
        ``vocab.CHANNELS`` order.
    level : str or None
        Hall level code.
    """

    kind: str | None = None
    channels: tuple[str, ...] | None = None
    level: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """``{kind, channels}`` (the answer's ``offers`` of a selected site)."""
        return {"kind": self.kind,
                "channels": None if self.channels is None else list(self.channels)}


def _channel_codes(channels: Any) -> tuple[str, ...]:
    """Return channel codes in the registry's order."""
    wanted = {str(c) for c in channels}
    return tuple(str(t.code) for t in vocab.CHANNELS if str(t.code) in wanted)


def _kind_offer(kind: Any, level: Any = None) -> Offer:
    """Return the offer of a new site of ``kind``: any channel its kind allows."""
    spec = vocab.KINDS[str(kind)]
    return Offer(str(spec.code), _channel_codes(spec.channels),
                 None if level is None else str(level))


@dataclass(frozen=True, eq=False)
class Candidates:
    """Candidate sites, placed by one router (snapped to its network, if any).

    Attributes
    ----------
    source : str
        ``bank_outlets``, ``kiosk_sites`` or ``supplied``.
    ids, names : tuple of str
    lon, lat : float64[C]
        WGS-84 degrees.
    snapped : Placement
        As the router placed them; unplaced candidates (``ok`` False) are
        never chosen.
    venue_pos : int64[C] or None
        Venue positions (``bank_outlets`` only).
    off_network : tuple of str
        Ids of candidates farther than the snapping limit from the network.
    offers : tuple of Offer
        What each candidate would offer (empty: nothing stated for any);
        after :func:`offering`, what it offers in the plan.
    not_offering : tuple of str
        Ids left out because they would not offer what the filters ask.
    """

    source: str
    ids: tuple[str, ...]
    names: tuple[str, ...]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    snapped: Placement
    venue_pos: NDArray[np.int64] | None = None
    off_network: tuple[str, ...] = ()
    offers: tuple[Offer, ...] = ()
    not_offering: tuple[str, ...] = ()

    def offer(self, i: int) -> Offer:
        """Return what candidate ``i`` offers (an unstated :class:`Offer` when unknown)."""
        return self.offers[i] if self.offers else Offer()

    def __len__(self) -> int:
        return len(self.ids)

    def position(self) -> dict[str, int]:
        """Map id -> index."""
        return {cid: i for i, cid in enumerate(self.ids)}


def _off(ids: Sequence[str], snapped: Placement) -> tuple[str, ...]:
    return tuple(ids[int(i)] for i in np.flatnonzero(~snapped.ok))


def bank_outlet_candidates(index: Any, engine: Any, *, exclude: NDArray[np.int64] | None = None,
                           ) -> Candidates:
    """Bank outlets without a government channel yet, placed by ``engine``.

    Parameters
    ----------
    index : ServiceIndex
    engine : Router or TravelEngine
        Its ``venues`` (placed once) are reused.
    exclude : int array, optional
        Venue positions that are fixed sites already (never candidates).
    """
    pos = np.array([i for i, v in enumerate(index.venues) if v.is_candidate], dtype=np.int64)
    if exclude is not None and len(pos):
        pos = pos[~np.isin(pos, exclude)]
    ids = tuple(index.venues[i].code for i in pos)
    names = tuple(index.venues[i].name for i in pos)
    snapped = engine.venues.take(pos)
    offers = tuple(_kind_offer(index.venues[i].kind, index.venues[i].level) for i in pos)
    return Candidates("bank_outlets", ids, names, np.asarray(index.lon)[pos],
                      np.asarray(index.lat)[pos], snapped, venue_pos=pos,
                      off_network=_off(ids, snapped), offers=offers)


def kiosk_site_candidates(net: RoadNetwork, demand: DemandSet, *,
                          spacing_m: float = KIOSK_SPACING_M,
                          max_sites: int = MAX_CANDIDATES,
                          min_component_nodes: int | None = None,
                          snap: XYSnapper | None = None) -> Candidates:
    """Candidate sites for new 7x24 stations: one network node per populated cell.

    See the module docstring for the rule.  Deterministic.

    Parameters
    ----------
    net : RoadNetwork
    demand : DemandSet
        Points with residents (``x``, ``y`` in ``net.crs``; ``count``).
    spacing_m : float
        Cell size, metres (10 .. 10,000).
    max_sites : int
        Keep the sites of the most populated cells only.
    min_component_nodes : int, optional
        Sites only on road components of at least this many nodes (the
        largest when none is that big); None = ``Settings.min_component_nodes``
        default (50); 0 or 1 = any node.
    snap : callable(x, y, max_dist_m) -> Snapped, optional
        Places the sites (projected metres) as
        :func:`~geosvc.network.snap.snap_xy` on ``net`` with
        ``min_component_nodes`` would; default that, which builds the whole
        network's snapping index.  A province's driver passes
        :func:`~geosvc.distributed.snapping.snap_by_squares` (the same
        answer, an index of only the edges near each square).

    Raises
    ------
    InvalidParameter
        ``spacing_m`` or ``min_component_nodes`` out of range.
    """
    from scipy.spatial import (
        cKDTree,  # lazy: scipy takes ~0.2 s to import; only this path needs it
    )


    _check_spacing(spacing_m)
    x, y, w = np.asarray(demand.x), np.asarray(demand.y), np.asarray(demand.count)
    use = (w > 0) & np.isfinite(x) & np.isfinite(y)
    ok = snappable_edges(net, min_component_nodes)
    on_ground = ok & (net.edge_layer == GROUND)
    if on_ground.any():
        ok = on_ground
    site_nodes = np.unique(np.concatenate([net.edge_u[ok], net.edge_v[ok]]))
    nodes: list[int] = []
    if use.any() and len(site_nodes):
        x, y, w = x[use], y[use], w[use]
        cx = np.floor(x / spacing_m).astype(np.int64)
        cy = np.floor(y / spacing_m).astype(np.int64)
        _, cell, = np.unique(np.column_stack([cx, cy]), axis=0, return_inverse=True)
        cell = cell.ravel()
        pop = np.bincount(cell, weights=w)
        mx = np.bincount(cell, weights=w * x) / pop
        my = np.bincount(cell, weights=w * y) / pop
        tree = cKDTree(np.column_stack([net.node_x[site_nodes], net.node_y[site_nodes]]))
        dist, k = tree.query(np.column_stack([mx, my]), distance_upper_bound=spacing_m)
        node = site_nodes[np.minimum(k, len(site_nodes) - 1)]  # k = n where dist is inf
        order = np.lexsort((np.arange(len(pop)), -pop))
        seen: set[int] = set()  # OSM ids: the ports of a turn-expanded node share one
        for c in order:
            if np.isfinite(dist[c]) and int(net.node_id[node[c]]) not in seen:
                seen.add(int(net.node_id[node[c]]))
                nodes.append(int(node[c]))
                if len(nodes) >= max_sites:
                    break
    nd = np.array(nodes, dtype=np.int64)
    lon, lat = np.asarray(net.node_lon[nd]), np.asarray(net.node_lat[nd])
    if snap is None:
        snapped = snap_xy(net, net.node_x[nd], net.node_y[nd], lon=lon, lat=lat,
                          max_dist_m=1.0, min_component_nodes=min_component_nodes)
    else:
        snapped = replace(snap(np.asarray(net.node_x[nd]), np.asarray(net.node_y[nd]), 1.0),
                          lon=lon, lat=lat)
    ids = tuple(f"site-{int(net.node_id[i])}" for i in nd)
    names = tuple(f"7x24 station site {k + 1}" for k in range(len(nd)))
    return Candidates("kiosk_sites", ids, names, np.asarray(net.node_lon[nd], np.float64),
                      np.asarray(net.node_lat[nd], np.float64), snapped,
                      off_network=_off(ids, snapped),
                      offers=(_kind_offer(vocab.VenueKind.KIOSK),) * len(ids))


def kiosk_point_candidates(router: Router, demand: DemandSet, *,
                           spacing_m: float = KIOSK_SPACING_M,
                           max_sites: int = MAX_CANDIDATES) -> Candidates:
    """Kiosk sites without a road network: each populated cell's weighted centroid.

    The demand is binned into cells of ``spacing_m`` (the router's CRS,
    aligned on multiples of ``spacing_m``) as in :func:`kiosk_site_candidates`;
    the site is the cell's population-weighted centroid, placed by the
    router; ordered by descending cell population (ties by cell).
    Deterministic.

    Raises
    ------
    InvalidParameter
        ``spacing_m`` out of range (named ``site_spacing_m``).
    """
    _check_spacing(spacing_m)
    x, y, w = np.asarray(demand.x), np.asarray(demand.y), np.asarray(demand.count)
    use = (w > 0) & np.isfinite(x) & np.isfinite(y)
    cols = np.zeros(0, np.int64)
    rows = np.zeros(0, np.int64)
    mx = my = np.zeros(0)
    if use.any():
        x, y, w = x[use], y[use], w[use]
        cx = np.floor(x / spacing_m).astype(np.int64)
        cy = np.floor(y / spacing_m).astype(np.int64)
        keys, cell = np.unique(np.column_stack([cx, cy]), axis=0, return_inverse=True)
        cell = cell.ravel()
        pop = np.bincount(cell, weights=w)
        order = np.lexsort((np.arange(len(pop)), -pop))[:max_sites]
        mx = (np.bincount(cell, weights=w * x) / pop)[order]
        my = (np.bincount(cell, weights=w * y) / pop)[order]
        cols, rows = keys[order, 0], keys[order, 1]
    inv = projection(router.crs).inverse
    lon, lat = inv.transform(mx, my)
    lon = np.asarray(np.round(np.asarray(lon, np.float64), 7), dtype=np.float64)
    lat = np.asarray(np.round(np.asarray(lat, np.float64), 7), dtype=np.float64)
    placed = router.snap(lon, lat)
    ids = tuple(f"site-{int(c)}_{int(r)}" for c, r in zip(cols, rows, strict=True))
    names = tuple(f"7x24 station site {k + 1}" for k in range(len(ids)))
    return Candidates("kiosk_sites", ids, names, lon, lat, placed,
                      off_network=_off(ids, placed),
                      offers=(_kind_offer(vocab.VenueKind.KIOSK),) * len(ids))


def _check_spacing(spacing_m: float) -> None:
    if not (isinstance(spacing_m, (int, float)) and not isinstance(spacing_m, bool)
            and math.isfinite(spacing_m) and 10 <= spacing_m <= 10_000):
        msg = f"must be a number of metres between 10 and 10000, not {spacing_m!r}"
        raise InvalidParameter("site_spacing_m", msg)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        try:
            v = float(value)
        except OverflowError:  # an integer beyond float range (e.g. 400 digits)
            return None
    elif isinstance(value, str):
        try:
            v = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return v if math.isfinite(v) else None


def _rows_from_features(doc: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    if doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        msg = ("must be 'bank_outlets', 'kiosk_sites' or a GeoJSON FeatureCollection "
               "of Point features")
        raise InvalidParameter(name, msg)
    rows = []
    for n, feat in enumerate(doc["features"], start=1):
        geom = feat.get("geometry") if isinstance(feat, Mapping) else None
        props = feat.get("properties") if isinstance(feat, Mapping) else None
        props = props if isinstance(props, Mapping) else {}
        coords = geom.get("coordinates") if isinstance(geom, Mapping) else None
        if not (isinstance(geom, Mapping) and geom.get("type") == "Point"
                and isinstance(coords, list) and len(coords) >= 2):
            msg = f"feature {n} is not a GeoJSON Point feature"
            raise InvalidParameter(name, msg)
        fid = feat.get("id", props.get("id", props.get("code")))
        rows.append({"id": fid, "name": props.get("name"), "lon": coords[0], "lat": coords[1],
                     **{k: props[k] for k in ("kind", "channels", "level") if k in props}})
    return rows


def _stated_offer(row: Mapping[str, Any], n: int, name: str) -> Offer:
    """Return what a supplied point's ``kind`` / ``channels`` / ``level`` say it offers.

    Labels are looked up in the vocabulary (codes, Chinese labels); a kind
    without channels allows its kind's channels.

    Raises
    ------
    InvalidParameter
        Named ``name``: an unknown kind, channel or level (feature ``n``).
    """
    def blank(v: object) -> bool:
        return v is None or (isinstance(v, str) and not v.strip())

    def code(registry: Any, what: str, value: object) -> str:
        entry = registry.lookup(str(value).strip())
        if entry is None:
            msg = (f"point {n} has an unknown {what} {value!r}; one of "
                   f"{', '.join(registry.codes())}")
            raise InvalidParameter(name, msg)
        return str(entry.code)

    kind_v, chan_v, level_v = row.get("kind"), row.get("channels"), row.get("level")
    kind = None if blank(kind_v) else code(vocab.KINDS, "kind", kind_v)
    level = None if blank(level_v) else code(vocab.LEVELS, "level", level_v)
    channels: tuple[str, ...] | None
    if blank(chan_v):
        channels = None if kind is None else _kind_offer(kind).channels
    else:
        parts = chan_v if isinstance(chan_v, list) else str(chan_v).split(",")
        channels = _channel_codes(code(vocab.CHANNELS, "channel", c)
                                  for c in parts if str(c).strip())
    return Offer(kind, channels, level)


def _parse_points(doc: Mapping[str, Any] | Sequence[Mapping[str, Any]], name: str,
                  ) -> tuple[list[str], list[str], NDArray[np.float64], NDArray[np.float64],
                             tuple[Offer, ...]]:
    """Ids, names, lon, lat and offers of supplied candidate points (validated, see below)."""
    rows = _rows_from_features(doc, name) if isinstance(doc, Mapping) else list(doc)
    if not rows:
        msg = "holds no candidate point"
        raise InvalidParameter(name, msg)
    if len(rows) > MAX_CANDIDATES:
        msg = f"holds {len(rows)} points; at most {MAX_CANDIDATES} are accepted"
        raise InvalidParameter(name, msg)
    ids, names, lon, lat, bad = [], [], [], [], []
    offers = tuple(_stated_offer(row, n, name) for n, row in enumerate(rows, start=1))
    for n, row in enumerate(rows, start=1):
        x, y = _number(row.get("lon")), _number(row.get("lat"))
        if x is None or y is None or abs(x) > 180 or abs(y) > 90:
            bad.append(n)
            continue
        fid = row.get("id")
        fid = f"cand-{n}" if fid is None or str(fid).strip() == "" else str(fid).strip()
        ids.append(fid)
        nm = row.get("name")
        names.append(str(nm) if nm not in (None, "") else fid)
        lon.append(x)
        lat.append(y)
    if bad:
        shown = ", ".join(str(b) for b in bad[:10]) + (" ..." if len(bad) > 10 else "")
        msg = f"points {shown} have no valid lon/lat (WGS-84 degrees)"
        raise InvalidParameter(name, msg)
    # one counting pass: ids.count() per id was quadratic (seconds at MAX_CANDIDATES)
    dup = sorted(i for i, c in Counter(ids).items() if c > 1)
    if dup:
        msg = f"has duplicate ids: {', '.join(dup[:10])}"
        raise InvalidParameter(name, msg)
    return ids, names, np.array(lon, np.float64), np.array(lat, np.float64), offers


def supplied_candidates(net: RoadNetwork, doc: Mapping[str, Any] | Sequence[Mapping[str, Any]],
                        *, snap_max_m: float, name: str = "candidates",
                        min_component_nodes: int | None = None) -> Candidates:
    """Candidates from a FeatureCollection (or rows ``{id, name, lon, lat}``), WGS-84.

    Points snap only to road components of at least ``min_component_nodes``
    nodes (None = ``Settings.min_component_nodes`` default, 50; 0 or 1 = any
    edge), as venues and demand do.

    Raises
    ------
    InvalidParameter
        Named ``name``: not a FeatureCollection of points, bad coordinates
        (the feature numbers are given), duplicate ids, none at all, or more
        than :data:`MAX_CANDIDATES`.
    """
    ids, names, lo, la, offers = _parse_points(doc, name)
    snapped = snap_points(net, lo, la, max_dist_m=snap_max_m,
                          min_component_nodes=min_component_nodes)
    return Candidates("supplied", tuple(ids), tuple(names), lo, la, snapped,
                      off_network=_off(ids, snapped), offers=offers)


def supplied_points(router: Router, doc: Mapping[str, Any] | Sequence[Mapping[str, Any]],
                    *, name: str = "candidates") -> Candidates:
    """Supplied candidates placed by any router (:meth:`Router.snap`).

    Raises
    ------
    InvalidParameter
        As :func:`supplied_candidates`.
    """
    ids, names, lo, la, offers = _parse_points(doc, name)
    placed = router.snap(lo, la)
    return Candidates("supplied", tuple(ids), tuple(names), lo, la, placed,
                      off_network=_off(ids, placed), offers=offers)


def read_candidate_file(path: str | Path) -> dict[str, Any] | list[dict[str, Any]]:
    """Read candidate points from a GeoJSON file or a CSV (``id,name,lon,lat``; utf-8).

    Raises
    ------
    InvalidParameter
        Named ``candidates``: unreadable file, or a CSV without lon/lat columns.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"file {str(p)!r} cannot be read: {exc}"
        raise InvalidParameter("candidates", msg) from exc
    if p.suffix.lower() in (".geojson", ".json"):
        try:
            doc = json.loads(text)
        except ValueError as exc:
            msg = f"file {str(p)!r} is not valid JSON: {exc}"
            raise InvalidParameter("candidates", msg) from exc
        if not isinstance(doc, dict):
            msg = f"file {str(p)!r} is not a GeoJSON FeatureCollection"
            raise InvalidParameter("candidates", msg)
        return doc
    reader = csv.DictReader(text.splitlines())
    fields = {f.strip().lower(): f for f in (reader.fieldnames or [])}
    if "lon" not in fields or "lat" not in fields:
        msg = f"CSV file {str(p)!r} needs columns lon and lat (and optionally id, name)"
        raise InvalidParameter("candidates", msg)
    idf = fields.get("id", fields.get("code"))
    stated = [k for k in ("kind", "channels", "level") if k in fields]
    return [{"id": r.get(idf) if idf else None, "name": r.get(fields.get("name", "")),
             "lon": r.get(fields["lon"]), "lat": r.get(fields["lat"]),
             **{k: r.get(fields[k]) for k in stated}} for r in reader]


def build_candidates(spec: str | Mapping[str, Any] | Sequence[Mapping[str, Any]], *, index: Any,
                     engine: Any, demand: DemandSet, flt: Any = None,
                     spacing_m: float | None = None) -> Candidates:
    """Return the candidate set named by ``spec`` (a set name, a FeatureCollection or rows).

    ``engine`` is the plan's router (or a TravelEngine): road routers snap
    by their network's rule (``settings.min_component_nodes``), routers
    without a network (straight lines) place points as they are.  Bank
    outlets that match ``flt`` (fixed sites, e.g. with
    ``include_candidates``) are never candidates.

    Raises
    ------
    InvalidParameter
        Named ``candidates``: an unknown set name or bad points.
    """
    router = as_router(engine)
    net = router.network
    if isinstance(spec, str):
        if spec == "bank_outlets":
            exclude = np.flatnonzero(index.mask(flt)) if flt is not None else None
            cands = bank_outlet_candidates(index, router, exclude=exclude)
        elif spec == "kiosk_sites":
            if net is None:
                cands = kiosk_point_candidates(router, demand,
                                               spacing_m=spacing_m or KIOSK_SPACING_M)
            else:
                cands = kiosk_site_candidates(net, demand,
                                              spacing_m=spacing_m or KIOSK_SPACING_M,
                                              min_component_nodes=_rule(router))
        else:
            msg = (f"must be one of {' | '.join(CANDIDATE_SETS)} or a FeatureCollection, "
                   f"not {spec!r}")
            raise InvalidParameter("candidates", msg)
    else:
        cands = supplied_points(router, spec)
    return offering(cands, flt) if flt is not None else cands


def _mismatch(offer: Offer, flt: VenueFilter) -> str | None:
    """Return why a site offering ``offer`` would not count for ``flt`` (None: it counts)."""
    kinds = [str(k) for k in flt.kinds]
    if kinds and offer.kind is not None and offer.kind not in kinds:
        return f"a {offer.kind} site is not of kind {', '.join(kinds)}"
    if (flt.channel is not None and offer.channels is not None
            and str(flt.channel) not in offer.channels):
        return (f"{'a ' + offer.kind + ' site' if offer.kind else 'the site'} offers only "
                f"{', '.join(offer.channels) or 'no channel'}, not channel {flt.channel}")
    levels = [str(lv) for lv in flt.levels]
    if levels and offer.level not in levels:
        no_level = offer.kind is not None and not vocab.KINDS[offer.kind].requires_level
        if offer.level is not None or no_level:
            return (f"{'a ' + offer.kind + ' site' if offer.kind else 'the site'} has level "
                    f"{offer.level or 'none'}, not {', '.join(levels)}")
    return None


def offering(cands: Candidates, flt: VenueFilter) -> Candidates:
    """Keep the candidates that would offer what ``flt`` asks; state what each offers.

    See "What a site offers" in the module docstring: the others are left
    out and listed in :attr:`Candidates.not_offering`; each kept offer is
    narrowed to the plan (``channels`` = the filter's channel when one is
    asked; an unstated ``kind`` = the filter's kind when it names one).

    Raises
    ------
    InvalidParameter
        Named ``candidates``: no candidate would offer what the filters ask.
    """
    keep: list[int] = []
    offers: list[Offer] = []
    reasons: dict[str, list[str]] = {}
    for i in range(len(cands)):
        offer = cands.offer(i)
        why = _mismatch(offer, flt)
        if why is not None:
            reasons.setdefault(why, []).append(cands.ids[i])
            continue
        keep.append(i)
        kind = offer.kind if offer.kind is not None or len(flt.kinds) != 1 \
            else str(flt.kinds[0])
        channels = (str(flt.channel),) if flt.channel is not None else offer.channels
        offers.append(Offer(kind, channels, offer.level))
    if not reasons:
        return replace(cands, offers=tuple(offers))
    if not keep:
        why = "; ".join(f"{r} ({len(ids)} candidates)" for r, ids in reasons.items())
        msg = (f"none of the {len(cands)} candidates of {cands.source!r} would offer what "
               f"the filters ask, so none could raise that coverage: {why}. Plan with "
               "candidates that offer it (supplied points whose `kind` / `channels` / "
               "`level` say so, or the other candidate set), or change the filters")
        raise InvalidParameter("candidates", msg)
    rows = np.asarray(keep, dtype=np.int64)
    dropped = tuple(cid for ids in reasons.values() for cid in ids)
    kept_ids = tuple(cands.ids[i] for i in keep)
    return Candidates(
        cands.source, kept_ids, tuple(cands.names[i] for i in keep), cands.lon[rows],
        cands.lat[rows], cands.snapped.take(rows),
        venue_pos=None if cands.venue_pos is None else cands.venue_pos[rows],
        off_network=tuple(c for c in cands.off_network if c in set(kept_ids)),
        offers=tuple(offers), not_offering=dropped)


def _rule(router: Router) -> int | None:
    """Return the snapping rule a road router's venues follow (its settings), else None."""
    settings = getattr(router, "settings", None)
    return getattr(settings, "min_component_nodes", None)
