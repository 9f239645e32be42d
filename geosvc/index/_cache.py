"""A small thread-safe LRU cache for derived, immutable index structures."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class LRU(Generic[V]):
    """Bounded least-recently-used map; ``get_or_build`` builds a value once.

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
    """

    __slots__ = ("_data", "_lock", "maxsize")

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
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
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)
        return value
