"""A token bucket: at most ``capacity`` at once, refilled at ``rate`` tokens per second.

Callers *reserve* tokens and are told how long to wait before using them, so
concurrent callers queue fairly instead of racing. Over any window of ``w``
seconds a bucket admits at most ``capacity + rate * w`` tokens; pick both so
that stays under the service's limit (see config.powerbi). The clock is
injected, so this stays pure and tests need no real time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class TokenBucket:
    def __init__(self, rate: float, capacity: float, clock: Callable[[], float]) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be > 0 and capacity >= 1")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._tokens = capacity
        self._updated = clock()
        self._lock = threading.Lock()

    def reserve(self, tokens: float = 1.0) -> float:
        """Take ``tokens`` now; returns the seconds to wait before using them (0 if available)."""
        if tokens > self.capacity:
            raise ValueError(f"cannot reserve {tokens} tokens from a bucket of {self.capacity}")
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= tokens  # may go negative: the debt is what later callers wait for
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def drain(self) -> None:
        """Empty the bucket (after the service said 429: our estimate of its window was wrong)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(0.0, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
