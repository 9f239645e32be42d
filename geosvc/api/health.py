"""`GET /healthz`: liveness and what is loaded; with ``details=true`` the dataset's check."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from geosvc import __version__
from geosvc.api._common import parse
from geosvc.app.doctor import HOLIDAY_HORIZON_DAYS, diagnose_service
from geosvc.hours import calendar_of

if TYPE_CHECKING:
    from geosvc.app.service import GeoService

__all__ = ["health"]


def health(service: GeoService, params: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return ``{status, venues, items, network, version, ...}`` of docs/api.md.

    ``details=true`` adds ``doctor``, the report of
    :func:`geosvc.app.doctor.diagnose_service` (building the travel engines
    not built yet); without it the answer is unchanged and cheap.

    ``dataset``, ``timezone``, ``calendar`` (``cn`` or None) and ``country``
    are the dataset's settings (``geosvc dataset show``).

    ``calendar_ends`` is the last date with holiday data (None without a
    calendar); when today (dataset time zone) is within
    :data:`~geosvc.app.doctor.HOLIDAY_HORIZON_DAYS` days of it, or past it,
    ``warnings`` holds ``{code: "holidays-ending", message}``.

    ``network`` maps each loaded travel mode to its number of nodes, or is
    None when no road network is loaded (straight-line only).
    ``off_network_venues`` counts, per mode whose travel engine is built,
    the venues too far from that mode's roads to ever be returned (a data
    problem to fix); it never builds an engine itself (``details=true`` does,
    first, so the counts then cover every loaded mode).

    Raises
    ------
    InvalidParameter
        ``details`` is not true or false.
    """
    snap = service.snapshot
    query = parse(service, snap, "health", params or {})
    doctor = diagnose_service(service).to_dict() if query.details else None
    networks = service.networks
    calendar = calendar_of(snap.info)
    end = None if calendar is None else calendar.last_day
    answer: dict[str, Any] = {
        "status": "ok",
        "venues": len(snap.index.venues),
        "items": len(snap.index.items),
        "network": {mode: int(net.n_nodes) for mode, net in networks.items()} or None,
        "version": __version__,
        "dataset": snap.info.name,
        "timezone": str(snap.tz),
        "calendar": snap.info.calendar,
        "calendar_ends": None if end is None else end.isoformat(),
        "country": snap.info.country,
        "revision": snap.revision,
        "built_at": snap.built_at.isoformat(timespec="seconds"),
        "off_network_venues": {mode: len(rows) for mode, rows in
                               service.off_network_venues(build=False).items()},
    }
    today = datetime.now(UTC).astimezone(snap.tz).date()
    if end is not None and end - today <= timedelta(days=HOLIDAY_HORIZON_DAYS):
        since = "since" if end < today else "from"
        msg = (f"the {snap.info.calendar} holiday data ends on {end.isoformat()}: {since} "
               f"{end.year + 1}-01-01 statutory holidays and make-up working days are "
               "unknown; enter the published notice (`geosvc dataset holidays`) or upgrade "
               "the calendar package (`pip install -U chinese-calendar`) once it has them")
        answer["warnings"] = [{"code": "holidays-ending", "message": msg}]
    if doctor is not None:
        answer["doctor"] = doctor
    return answer
