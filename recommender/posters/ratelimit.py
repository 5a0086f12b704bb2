"""Pacing requests to TMDB: a token bucket shared by all threads and a circuit breaker."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Token bucket shared by all threads: ``rate`` requests per second, bursts up to ``burst``."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.burst = max(1.0, float(burst if burst is not None else rate))
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._last = clock()
        self._not_before = 0.0

    def acquire(self) -> float:
        """Wait for a token and return the seconds waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            # Tokens may go negative: each caller reserves its slot, so waiting is fair.
            self._tokens -= 1.0
            wait = max(0.0, -self._tokens / self.rate, self._not_before - now)
        if wait > 0:
            self._sleep(wait)
        return wait

    def pause(self, seconds: float) -> None:
        """Hold every caller back for ``seconds`` (TMDB answered 429)."""
        with self._lock:
            self._not_before = max(self._not_before, self._clock() + seconds)


class CircuitBreaker:
    """Open for ``seconds`` after a trip; while open, callers skip the network at once."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._open_until = 0.0

    @property
    def is_open(self) -> bool:
        return self._clock() < self._open_until

    def trip(self) -> bool:
        """Open (or keep open) for ``seconds`` from now; True when it was closed before."""
        with self._lock:
            was_open = self.is_open
            self._open_until = self._clock() + self.seconds
        return not was_open
