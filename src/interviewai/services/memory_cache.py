"""A least-recently-used map bounded by the bytes of its values, for immutable media kept in the process."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BytesBoundedLru(Generic[K, V]):
    """Keeps values (each with the size it was put with) until their sizes add up past `max_bytes`, then
    forgets the least recently used. A value larger than the whole budget is not kept at all.

    Not thread-safe: it is used from the event loop only.
    """

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        """The value kept under `key`, which becomes the most recently used; None when it is not kept."""
        found = self._entries.get(key)
        if found is None:
            return None
        self._entries.move_to_end(key)
        return found[0]

    def put(self, key: K, value: V, size: int) -> None:
        """Keeps `value` under `key` as `size` bytes (replacing what was there), then forgets the least
        recently used until the budget holds; a value over the whole budget is dropped."""
        if size > self._max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old[1]
        self._entries[key] = (value, size)
        self._bytes += size
        while self._bytes > self._max_bytes:
            _, (_, forgotten) = self._entries.popitem(last=False)
            self._bytes -= forgotten
