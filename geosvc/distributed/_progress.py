"""Progress of fanned-out work: a tqdm bar on stderr, or a caller's callback."""

from __future__ import annotations

import sys
from collections.abc import Callable

__all__ = ["progress_ticker"]


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
