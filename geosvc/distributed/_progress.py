"""Fanned-out work on Dask: connecting to a cluster, and progress (tqdm or a callback)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from geosvc.errors import ConfigError, InvalidParameter

__all__ = ["ADDRESS_SCHEMES", "connect", "progress_ticker"]

#: Dask scheduler address schemes accepted as ``scheduler``.
ADDRESS_SCHEMES = ("tcp://", "tls://", "ucx://", "inproc://", "ws://", "wss://")


def progress_ticker(progress: bool | Callable[[int, int], None], total: int, *,
                    unit: str, desc: str) -> Callable[[int | None], None]:
    """Return ``tick(n)``: ``n`` more items done; ``tick(None)``: finished.

    ``progress`` True draws a tqdm bar on stderr (``unit``, ``desc``); a
    callable gets ``(done, total)`` after each tick; False does nothing.

    Examples
    --------
    >>> seen = []
    >>> tick = progress_ticker(lambda done, total: seen.append((done, total)), 3,
    ...                        unit="part", desc="x")
    >>> tick(1); tick(2); tick(None)
    >>> seen
    [(1, 3), (3, 3)]
    """
    if progress is True:
        from tqdm import tqdm  # lazy: tqdm takes ~0.04 s to import; only this path needs it

        bar = tqdm(total=total, unit=unit, desc=desc, file=sys.stderr, leave=False)

        def tick(n: int | None) -> None:
            if n is None:
                bar.close()
            else:
                bar.update(n)
        return tick
    done = [0]

    def call(n: int | None) -> None:
        if n is not None and callable(progress):
            done[0] += n
            progress(done[0], total)
    return call


def connect(scheduler: Any, n_workers: int, timeout_s: float,
            **cluster_options: Any) -> tuple[Any, Any]:
    """Return ``(client, cluster or None)`` for ``scheduler``.

    ``None`` or ``"local"``: a LocalCluster of ``n_workers`` one-thread worker
    processes (``cluster_options`` passed on); a Dask address (:data:`ADDRESS_SCHEMES`):
    a client of that scheduler within ``timeout_s``.

    Raises
    ------
    InvalidParameter
        ``scheduler`` is neither.
    ConfigError
        The scheduler cannot be reached.
    """
    from distributed import Client, LocalCluster  # lazy: extra `distributed`

    if scheduler is None or scheduler == "local":
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=40, **cluster_options)
        try:
            return Client(cluster), cluster
        except OSError:
            cluster.close()
            raise
    if not isinstance(scheduler, str) or not scheduler.startswith(ADDRESS_SCHEMES):
        msg = (f"must be 'local', 'inline', a Dask address such as tcp://host:8786 or a "
               f"distributed.Client, not {scheduler!r}")
        raise InvalidParameter("scheduler", msg)
    try:
        return Client(scheduler, timeout=f"{timeout_s}s"), None
    except OSError as exc:
        msg = f"`scheduler` {scheduler} cannot be reached: {exc}"
        raise ConfigError(msg) from exc
