"""Pacing and bounding TMDB work: a shared token bucket, a circuit breaker, a page deadline."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class Deadline:
    """A moment by which waiting must end, shared by every poster lookup of one page.

    A page shows several grids; each asks for its posters. Giving each its own wait made a
    struggling TMDB cost a page one wait per grid; with one Deadline for the whole page, the
    first grid may wait and the later ones answer from the cache once it has passed.
    """

    __slots__ = ("_clock", "ends")

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.ends = clock() + max(0.0, float(seconds))

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.ends - self._clock())

    def __repr__(self) -> str:
        return f"Deadline(remaining={self.remaining():.3f} s)"


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
    """Open for ``seconds`` after a trip; while open, callers skip the network at once.

    :meth:`trip` opens it at once (TMDB unreachable, key rejected); :meth:`failure` counts
    answers that came but were unusable (5xx, 429) and opens it after ``threshold`` in a row,
    so that a struggling TMDB stops costing every page its full wait.
    """

    def __init__(
        self, seconds: float, threshold: int = 3, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        self.seconds, self.threshold = seconds, threshold
        self._clock = clock
        self._lock = threading.Lock()
        self._open_until = 0.0
        self._failures = 0

    @property
    def is_open(self) -> bool:
        return self._clock() < self._open_until

    def trip(self) -> bool:
        """Open (or keep open) for ``seconds`` from now; True when it was closed before."""
        with self._lock:
            return self._trip_locked()

    def failure(self) -> bool:
        """Count a failed request; True when this one opened the breaker."""
        with self._lock:
            self._failures += 1
            return self._failures >= self.threshold and self._trip_locked()

    def success(self) -> None:
        """A usable answer: the count of failures in a row starts again."""
        with self._lock:
            self._failures = 0

    def _trip_locked(self) -> bool:
        was_open = self.is_open
        self._open_until = self._clock() + self.seconds
        self._failures = 0
        return not was_open
