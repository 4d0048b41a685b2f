"""The API first: the local stack's background work yields to API requests in flight.

API Gateway answers on its own fleet, whatever the executions behind it are doing. The
local stack runs the API, the interpreter, the pollers and every handler under one GIL,
where some fifty busy threads would each get a fiftieth of it: a burst of requests then
waits seconds for answers. So while an API request is in flight, every other thread of
the stack waits at its next AWS call (a botocore hook on the stack's sessions) until
the API is idle again, for `max_wait` seconds at most, so nothing starves. Three
seconds outlast a burst's round of answers: with one, the threads held back resumed
together mid-burst and the slowest answers took over a second again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class ApiFirst:
    def __init__(self, max_wait: float = 3.0) -> None:
        self._max_wait = max_wait
        self._in_flight = 0
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._api_thread = threading.local()

    @contextmanager
    def serving(self) -> Iterator[None]:
        """Around one API request: its thread's AWS calls (and handlers) never wait."""
        self.begin()
        try:
            yield
        finally:
            self.end()

    def begin(self) -> None:
        self._api_thread.serving = True
        with self._lock:
            self._in_flight += 1
            self._idle.clear()

    def end(self) -> None:
        with self._lock:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()
        self._api_thread.serving = False

    def yield_to_api(self, **kwargs: Any) -> None:
        """botocore hook: any other thread waits while API requests are in flight."""
        if not getattr(self._api_thread, "serving", False):
            self._idle.wait(self._max_wait)
