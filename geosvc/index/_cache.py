"""A small thread-safe LRU cache for derived, immutable index structures."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class LRU(Generic[V]):
    """Bounded least-recently-used map; ``get_or_build`` builds a value once.

    Bounded by a number of entries and optionally by a total weight
    (``weigh(value)``, e.g. the number of points of a tree); the newest entry
    is always kept.

    The values must be immutable (they are shared between threads).  A value
    may be built twice when two threads miss at the same time; both results
    are equal and one is kept, which is cheaper than holding the lock while
    building.

    Examples
    --------
    >>> c = LRU(2)
    >>> c.get_or_build("a", lambda: 1), c.get_or_build("b", lambda: 2)
    (1, 2)
    >>> c.get_or_build("c", lambda: 3); len(c)
    3
    2
    >>> "a" in c
    False
    >>> w = LRU(10, weigh=len, max_weight=5)
    >>> w.get_or_build(1, lambda: "abc"), w.get_or_build(2, lambda: "xyz")
    ('abc', 'xyz')
    >>> 1 in w, 2 in w
    (False, True)
    """

    __slots__ = ("_data", "_lock", "_weight", "max_weight", "maxsize", "weigh")

    def __init__(
        self,
        maxsize: int,
        *,
        weigh: Callable[[V], float] | None = None,
        max_weight: float = float("inf"),
    ) -> None:
        self.maxsize = maxsize
        self.weigh = weigh
        self.max_weight = max_weight
        self._weight = 0.0
        self._data: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._data

    def get(self, key: Hashable) -> V | None:
        """Return the cached value of ``key`` (marking it recent) or None."""
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def get_or_build(self, key: Hashable, build: Callable[[], V]) -> V:
        """Return the cached value of ``key``, building and caching it on a miss."""
        value = self.get(key)
        if value is not None:
            return value
        value = build()
        weigh = self.weigh or (lambda _: 0.0)
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._weight -= weigh(old)
            self._data[key] = value
            self._weight += weigh(value)
            while len(self._data) > 1 and (
                len(self._data) > self.maxsize or self._weight > self.max_weight
            ):
                _, dropped = self._data.popitem(last=False)
                self._weight -= weigh(dropped)
        return value
