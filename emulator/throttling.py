"""API Gateway's throttles, for the local API: token buckets, usage plan quotas, method settings."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

_QUOTA_PERIODS: dict[str, Callable[[datetime], str]] = {
    "DAY": lambda now: now.strftime("%Y-%m-%d"),
    "WEEK": lambda now: now.strftime("%G-W%V"),
    "MONTH": lambda now: now.strftime("%Y-%m"),
}


class TokenBucket:
    """A throttle: `rate` requests per second, bursts up to `burst`."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate, self._burst, self._clock = rate, burst, clock
        self._tokens, self._updated = float(burst), clock()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


class Quota:
    """A usage plan's quota: at most `limit` requests per calendar period (UTC)."""

    def __init__(
        self, limit: int, period: str, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        if period not in _QUOTA_PERIODS:
            raise ValueError(f"quota period {period!r} is not one of {sorted(_QUOTA_PERIODS)}")
        self._limit, self._window, self._clock = limit, _QUOTA_PERIODS[period], clock
        self._current, self._used = "", 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            window = self._window(self._clock())
            if window != self._current:
                self._current, self._used = window, 0
            if self._used >= self._limit:
                return False
            self._used += 1
            return True


@dataclass(frozen=True)
class UsagePlan:
    rate: float
    burst: int
    quota_limit: int | None = None
    quota_period: str = "DAY"


@dataclass(frozen=True)
class MethodSetting:
    """One stage `MethodSettings` entry: `*` matches any resource path or method."""

    resource_path: str
    http_method: str
    rate: float
    burst: int

    def specificity(self, resource: str, method: str) -> int | None:
        """How specifically this setting names the route (higher wins); None if it does not."""
        path_exact = self.resource_path == resource
        method_exact = self.http_method.upper() == method
        if not (path_exact or self.resource_path == "/*"):
            return None
        if not (method_exact or self.http_method == "*"):
            return None
        return 2 * path_exact + method_exact


def most_specific(
    settings: list[MethodSetting], resource: str, method: str
) -> MethodSetting | None:
    ranked = [(s.specificity(resource, method), i, s) for i, s in enumerate(settings)]
    matching = [(rank, -i, s) for rank, i, s in ranked if rank is not None]
    return max(matching, key=lambda entry: entry[:2])[2] if matching else None
