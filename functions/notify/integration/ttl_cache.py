"""A small per-process cache whose entries expire: configuration read on every send."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlCache(Generic[V]):
    """`get(key, load)` answers from memory for `ttl_seconds` after each load."""

    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[Hashable, tuple[float, V]] = {}

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        cached = self._entries.get(key)
        if cached and cached[0] > self._clock():
            return cached[1]
        value = load()
        self._entries[key] = (self._clock() + self._ttl, value)
        return value
