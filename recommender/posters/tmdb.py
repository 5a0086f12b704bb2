"""The TMDB HTTP layer: one session, rate-limited, retried, behind a circuit breaker.

:meth:`TmdbApi.get_json` is the only place that sends a request to TMDB. Its errors are
:class:`TmdbError` with messages already scrubbed of credentials.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple

import requests
from requests.adapters import HTTPAdapter

from recommender.posters.credentials import Credentials, install_log_redaction, scrub
from recommender.posters.ratelimit import CircuitBreaker, RateLimiter

log = logging.getLogger(__name__)

DEFAULT_IMAGE_BASE = "https://image.tmdb.org/t/p/"
DEFAULT_POSTER_SIZES = ("w92", "w154", "w185", "w342", "w500", "w780", "original")

_SIZE = re.compile(r"^w(\d+)$")

install_log_redaction()


class TmdbError(Exception):
    """A request that got no usable answer; its message is already scrubbed."""


class ImageConfig(NamedTuple):
    """Where TMDB serves images and in which widths."""

    base_url: str
    poster_sizes: tuple[str, ...]
    expires: float = 0.0


DEFAULT_IMAGE_CONFIG = ImageConfig(DEFAULT_IMAGE_BASE, DEFAULT_POSTER_SIZES)


def nearest_size(requested: str, available: Sequence[str]) -> str:
    """The available poster size closest to ``requested`` ("w342", "original"); ties go larger."""
    widths = {int(m.group(1)): s for s in available if (m := _SIZE.match(s))}
    if requested == "original":
        if "original" in available or not widths:
            return "original"
        return widths[max(widths)]
    match = _SIZE.match(requested)
    if not match:
        raise ValueError(f"poster size must look like 'w342' or 'original', not {requested!r}")
    if not widths:
        return "original"
    want = int(match.group(1))
    return widths[min(widths, key=lambda w: (abs(w - want), -w))]


def parse_config(data: Any, expires: float) -> ImageConfig:
    """The image configuration from a ``/3/configuration`` answer; TmdbError if malformed."""
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, dict):
        raise TmdbError("malformed configuration")
    base = images.get("secure_base_url") or images.get("base_url")
    sizes = images.get("poster_sizes")
    if not isinstance(base, str) or not base.startswith(("https://", "http://")):
        raise TmdbError("malformed configuration: base_url")
    if not isinstance(sizes, list) or not sizes or not all(isinstance(s, str) for s in sizes):
        raise TmdbError("malformed configuration: poster_sizes")
    return ImageConfig(base, tuple(sizes), expires)


def retry_after(value: str | None, default: float) -> float:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date)."""
    if not value:
        return default
    value = value.strip()
    if value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class TmdbApi:
    """GETs TMDB API paths: credentials, timeouts, rate limit, retries and the breaker."""

    def __init__(
        self,
        credentials: Credentials,
        api_url: str,
        *,
        timeout: tuple[float, float],
        pool_size: int,
        retries: int,
        backoff: float,
        max_retry_after: float,
        breaker_seconds: float,
        rate_limit: float,
    ) -> None:
        self.credentials = credentials
        self.api_url = api_url
        self.timeout = timeout
        self.retries, self.backoff, self.max_retry_after = retries, backoff, max_retry_after
        self.breaker = CircuitBreaker(breaker_seconds)
        self.limiter = RateLimiter(rate_limit)
        self.last_error: str | None = None  # scrubbed, for a status line in the app
        self._session = requests.Session()
        # urllib3's own retries would bypass the breaker and the scrubbing, so we retry here.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers.update({"Accept": "application/json"})

    def __repr__(self) -> str:
        return f"TmdbApi(api_url={self.api_url!r}, auth={self.credentials.kind!r})"

    def close(self) -> None:
        self._session.close()

    @property
    def available(self) -> bool:
        """Credentials are set and the breaker is closed."""
        return self.credentials.kind != "none" and not self.breaker.is_open

    def trip(self, reason: str) -> None:
        """Open the circuit breaker: uncached posters answer None at once for a while."""
        if self.breaker.trip():
            log.warning(
                "TMDB unavailable (%s); posters come from the cache only for %.0f s",
                scrub(reason, self.credentials.secrets),
                self.breaker.seconds,
            )

    def error(self, message: str) -> TmdbError:
        """A TmdbError with ``message`` scrubbed, remembered as ``last_error``."""
        message = scrub(message, self.credentials.secrets)
        self.last_error = message
        return TmdbError(message)

    def get_json(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any] | None:
        """GET an API path: its JSON object, or None for 404. Raises a scrubbed TmdbError."""
        query = dict(params or {})
        headers: dict[str, str] = {}
        self.credentials.apply(query, headers)
        attempts = self.retries + 1
        status = 0
        for attempt in range(attempts):
            if self.breaker.is_open:
                raise TmdbError("TMDB unavailable (circuit open)")
            self.limiter.acquire()
            started = time.monotonic()
            try:
                response = self._session.get(
                    self.api_url + path, params=query, headers=headers, timeout=self.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as error:
                # Never log or raise the original: its text holds the URL with the api_key.
                reason = f"{type(error).__name__} on {path}"
                self.trip(reason)
                raise self.error(reason) from None
            except requests.RequestException as error:
                reason = f"{type(error).__name__} on {path}: {error}"
                log.warning("TMDB request failed: %s", scrub(reason, self.credentials.secrets))
                raise self.error(reason) from None
            status = response.status_code
            log.debug("GET %s -> %s in %.3f s", path, status, time.monotonic() - started)
            if status == 200:
                try:
                    data = response.json()
                except ValueError:
                    data = None
                if not isinstance(data, dict):
                    log.warning("TMDB sent malformed JSON for %s", path)
                    raise self.error(f"malformed JSON for {path}")
                return data
            if status == 404:
                return None
            if status == 401:
                self.trip("HTTP 401: the API key or read token was rejected")
                raise self.error(f"HTTP 401 for {path}")
            if (status == 429 or status >= 500) and attempt + 1 < attempts:
                if status == 429:
                    wait = retry_after(response.headers.get("Retry-After"), self.backoff)
                    wait = min(wait, self.max_retry_after)
                    self.limiter.pause(wait)  # everyone backs off, not only this thread
                else:
                    wait = self.backoff * 2**attempt * random.uniform(0.5, 1.0)
                    time.sleep(wait)
                log.debug("GET %s -> %s, retrying after %.2f s", path, status, wait)
                continue
            break
        log.warning("TMDB answered HTTP %s for %s (%d attempt(s))", status, path, attempt + 1)
        raise self.error(f"HTTP {status} for {path}")
