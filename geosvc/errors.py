"""The whole exception tree of geosvc.

Every error that can reach a client is a :class:`GeosvcError`.  Its class
attributes give the HTTP ``status``, a ``type`` slug (rendered as the URI
``/problems/<slug>``) and a ``title``; the instance carries a ``detail`` that
is safe to show, and optionally an internal ``log_message``.  The web layer
turns them into ``application/problem+json`` (RFC 9457) in one place.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class GeosvcError(Exception):
    """Base class of every error a client may see."""

    status: int = 500
    type: str = "internal-error"  # noqa: A003 - the RFC 9457 member name
    title: str = "Internal error"

    def __init__(
        self,
        detail: str,
        log_message: str | None = None,
        *,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.log_message = log_message or detail
        self.extensions: dict[str, Any] = dict(extensions or {})

    def headers(self) -> dict[str, str]:
        """Return the HTTP headers the answer carries besides the problem (none here)."""
        return {}

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """Return the RFC 9457 problem document of this error."""
        doc: dict[str, Any] = {
            "type": f"/problems/{self.type}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance is not None:
            doc["instance"] = instance
        doc.update(self.extensions)
        return doc


class InvalidParameter(GeosvcError, ValueError):
    """One or more request parameters are invalid (HTTP 400).

    Parameters
    ----------
    name : str
        The parameter's name, as the client spelled it.
    reason : str
        Why it was refused, in words a client developer understands.
    more : iterable of (name, reason), optional
        Further bad parameters found in the same request.

    Examples
    --------
    >>> err = InvalidParameter("lon", "must be a number between -180 and 180")
    >>> err.invalid_params
    [{'name': 'lon', 'reason': 'must be a number between -180 and 180'}]
    >>> err.detail
    '`lon` must be a number between -180 and 180'
    """

    status = 400
    type = "invalid-parameter"  # noqa: A003
    title = "Invalid parameter"

    def __init__(
        self, name: str, reason: str, *, more: Iterable[tuple[str, str]] = ()
    ) -> None:
        params = [{"name": name, "reason": reason}]
        params += [{"name": n, "reason": r} for n, r in more]
        if len(params) == 1:
            detail = f"`{name}` {reason}"
        else:
            detail = "; ".join(f"`{p['name']}` {p['reason']}" for p in params)
        super().__init__(detail, extensions={"invalid_params": params})
        self.invalid_params = params

    @classmethod
    def many(cls, problems: Iterable[tuple[str, str]]) -> InvalidParameter:
        """Build one error naming every bad parameter in ``problems``."""
        problems = list(problems)
        if not problems:
            msg = "`InvalidParameter.many` needs at least one problem"
            raise ValueError(msg)
        (name, reason), *rest = problems
        return cls(name, reason, more=rest)


class NotFound(GeosvcError):
    """A resource (venue, item, collection, layer) does not exist (HTTP 404)."""

    status = 404
    type = "not-found"  # noqa: A003
    title = "Not found"


class LayerNotFound(NotFound):
    """A data layer named in the manifest or a request does not exist."""

    type = "layer-not-found"  # noqa: A003
    title = "Layer not found"


class OutsideNetwork(GeosvcError):
    """A point lies beyond the snapping tolerance of the road network (HTTP 422)."""

    status = 422
    type = "outside-network"  # noqa: A003
    title = "Point outside the road network"


class NoRoute(GeosvcError):
    """No route exists between the points on the network (HTTP 422)."""

    status = 422
    type = "no-route"  # noqa: A003
    title = "No route"


class ModeUnavailable(GeosvcError):
    """A travel mode was asked for but no network is loaded for it (HTTP 422)."""

    status = 422
    type = "mode-unavailable"  # noqa: A003
    title = "Travel mode unavailable"


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One problem found in one row of an imported file.

    ``row`` is 1-based and counts data rows (the header of a CSV is not a row;
    the first feature of a GeoJSON is row 1).
    """

    row: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.field}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        """Return the problem as a JSON-ready mapping (``row``, ``field``, ``reason``)."""
        return {"row": self.row, "field": self.field, "reason": self.reason}


class ImportRejected(GeosvcError):
    """An import was refused as a whole; nothing was written (HTTP 422)."""

    status = 422
    type = "import-rejected"  # noqa: A003
    title = "Import rejected"

    def __init__(self, problems: Iterable[RowProblem], *, source: str = "") -> None:
        self.problems = list(problems)
        where = f" in {source}" if source else ""
        detail = f"{len(self.problems)} problem(s){where}; nothing was written"
        super().__init__(
            detail, extensions={"problems": [p.as_dict() for p in self.problems]}
        )


class StorageUnavailable(GeosvcError):
    """The store cannot be reached or read (HTTP 503).

    ``detail`` names the store (a file path, a host) for the operator at the
    command line and in the log; over HTTP the problem says only that the
    data store cannot be read, so no path or host reaches a client.

    Examples
    --------
    >>> err = StorageUnavailable("the database '/srv/geo/x.sqlite' is locked")
    >>> err.to_problem()["detail"]
    'the data store cannot be read at the moment; try again shortly'
    >>> "/srv" in err.log_message
    True
    """

    status = 503
    type = "storage-unavailable"  # noqa: A003
    title = "Storage unavailable"
    #: What a client is told (the store's location stays in the log).
    public_detail = "the data store cannot be read at the moment; try again shortly"

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        """Return the problem document, with :attr:`public_detail` as its ``detail``."""
        doc = super().to_problem(instance)
        doc["detail"] = self.public_detail
        return doc


class BudgetExceeded(GeosvcError):
    """An analysis would take, or took, longer than the server's time budget (HTTP 503).

    Raised by :class:`geosvc.budget.Deadline`: either up front, when a cheap
    estimate of the work (``estimate``: its name, value and the most the
    budget admits) is obviously too big, or between the phases of an
    analysis that ran out of time (``phase``: the last phase finished).  The
    analysis has stopped; the answer carries ``Retry-After``.  The command
    line (``geosvc coverage``, ``geosvc plan``) runs without a budget.

    Examples
    --------
    >>> err = BudgetExceeded("it ran out of time", budget_s=20.0, phase="solve")
    >>> err.status, err.headers(), err.to_problem()["budget_s"]
    (503, {'Retry-After': '20'}, 20.0)
    """

    status = 503
    type = "analysis-budget-exceeded"  # noqa: A003
    title = "Analysis time budget exceeded"

    def __init__(self, detail: str, *, budget_s: float, phase: str | None = None,
                 estimate: Mapping[str, Any] | None = None) -> None:
        ext: dict[str, Any] = {"budget_s": budget_s}
        if phase is not None:
            ext["phase"] = phase
        if estimate is not None:
            ext["estimate"] = dict(estimate)
        super().__init__(detail, extensions=ext)
        self.budget_s = budget_s
        self.phase = phase
        self.estimate = dict(estimate) if estimate is not None else None

    def headers(self) -> dict[str, str]:
        """Return ``Retry-After``: the budget in whole seconds (at least 1)."""
        return {"Retry-After": str(max(1, math.ceil(self.budget_s)))}


class ConfigError(GeosvcError):
    """The configuration is invalid; raised at start-up only, never over HTTP."""

    type = "config-error"  # noqa: A003
    title = "Configuration error"


# ---------------------------------------------------------------- keys, scopes, versions

class Unauthorized(GeosvcError):
    """A write without a key, or with an unknown or revoked one (HTTP 401).

    The answer carries ``WWW-Authenticate: Bearer`` (RFC 6750), with
    ``error="invalid_token"`` when a key was given but not accepted.
    """

    status = 401
    type = "unauthorized"  # noqa: A003
    title = "Authentication required"

    def __init__(self, detail: str, *, key_given: bool = False) -> None:
        super().__init__(detail)
        self.key_given = key_given

    def headers(self) -> dict[str, str]:
        """Return ``WWW-Authenticate`` (RFC 6750)."""
        value = 'Bearer realm="geosvc"'
        if self.key_given:
            value += ', error="invalid_token"'
        return {"WWW-Authenticate": value}


class InsufficientScope(GeosvcError):
    """A valid key without the scope the operation needs (HTTP 403); names the scope."""

    status = 403
    type = "insufficient-scope"  # noqa: A003
    title = "Insufficient scope"

    def __init__(self, scope: str, *, key_id: str) -> None:
        detail = f"this operation needs a key with the scope `{scope}` (or `admin`)"
        super().__init__(detail, f"key {key_id} lacks the scope {scope}",
                         extensions={"scope": scope})
        self.scope = scope

    def headers(self) -> dict[str, str]:
        """Return ``WWW-Authenticate`` with ``error="insufficient_scope"`` (RFC 6750)."""
        return {"WWW-Authenticate":
                f'Bearer realm="geosvc", error="insufficient_scope", scope="{self.scope}"'}


class PreconditionFailed(GeosvcError):
    """``If-Match`` names a version other than the current one (HTTP 412): a lost update.

    The problem carries the current version (``current_etag``, ``revision``).
    """

    status = 412
    type = "precondition-failed"  # noqa: A003
    title = "Precondition failed"

    def __init__(self, *, wanted: str, current_etag: str, revision: int) -> None:
        detail = (f"`If-Match` names {wanted[:80]!r} but the dataset is now at "
                  f"{current_etag}; read it again (GET) and retry with its ETag")
        super().__init__(detail, extensions={"current_etag": current_etag,
                                             "revision": revision})
        self.current_etag = current_etag
        self.revision = revision
