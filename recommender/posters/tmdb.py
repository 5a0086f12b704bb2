"""The TMDB HTTP layer: one session, rate-limited, retried, behind a circuit breaker.

:meth:`TmdbApi.get_json` is the only place that sends a request to TMDB. Its errors are
:class:`TmdbError` with messages already scrubbed of credentials.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import re
import socket
import threading
import time
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, NamedTuple

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from recommender.posters.credentials import Credentials, install_log_redaction, scrub
from recommender.posters.ratelimit import CircuitBreaker, RateLimiter

log = logging.getLogger(__name__)

DEFAULT_IMAGE_BASE = "https://image.tmdb.org/t/p/"
DEFAULT_POSTER_SIZES = ("w92", "w154", "w185", "w342", "w500", "w780", "original")

_SIZE = re.compile(r"^w(\d+)$")
_CHUNK = 64 * 1024

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


class _Aborted(Exception):
    """The client is closing: a request in progress gives up at once."""


class _AbortableAdapter(HTTPAdapter):
    """An adapter that remembers its connections, so :meth:`abort` can interrupt them.

    Shutting a socket down wakes a thread blocked on it (waiting for headers or a body),
    which closing the session does not: that is what bounds :meth:`TmdbApi.close`.
    """

    def __init__(self, **options: Any) -> None:
        self.connections: weakref.WeakSet[Any] = weakref.WeakSet()
        super().__init__(**options)

    def init_poolmanager(self, *args: Any, **options: Any) -> None:
        super().init_poolmanager(*args, **options)
        connections = self.connections

        def tracked(base: type[HTTPConnectionPool]) -> type[HTTPConnectionPool]:
            class Pool(base):  # type: ignore[valid-type, misc]
                def _new_conn(self) -> Any:
                    conn = super()._new_conn()
                    connections.add(conn)
                    return conn

            return Pool

        self.poolmanager.pool_classes_by_scheme = {
            "http": tracked(HTTPConnectionPool), "https": tracked(HTTPSConnectionPool)
        }

    def abort(self) -> None:
        for conn in list(self.connections):
            sock = getattr(conn, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class TmdbApi:
    """GETs TMDB API paths: credentials, timeouts, rate limit, retries and the breaker.

    Every request is bounded: ``total_timeout`` seconds from the first byte sent to the last
    one read (a server that drips bytes cannot hold it longer), and ``max_bytes`` of body.
    """

    def __init__(
        self,
        credentials: Credentials,
        api_url: str,
        *,
        timeout: tuple[float, float],
        total_timeout: float,
        max_bytes: int,
        pool_size: int,
        retries: int,
        backoff: float,
        max_retry_after: float,
        breaker_seconds: float,
        breaker_threshold: int,
        rate_limit: float,
    ) -> None:
        self.credentials = credentials
        self.api_url = api_url
        self.timeout, self.total_timeout, self.max_bytes = timeout, total_timeout, max_bytes
        self.retries, self.backoff, self.max_retry_after = retries, backoff, max_retry_after
        self.breaker = CircuitBreaker(breaker_seconds, breaker_threshold)
        self._closed = threading.Event()
        # Waits for the rate limit or a backoff end at once when the client closes.
        self.limiter = RateLimiter(rate_limit, sleep=self._pause)
        self.last_error: str | None = None  # scrubbed, for a status line in the app
        self._session = requests.Session()
        # urllib3's own retries would bypass the breaker and the scrubbing, so we retry here.
        self._adapter = _AbortableAdapter(
            pool_connections=1, pool_maxsize=pool_size, max_retries=0
        )
        self._session.mount("https://", self._adapter)
        self._session.mount("http://", self._adapter)
        self._session.headers.update({"Accept": "application/json"})

    def __repr__(self) -> str:
        return f"TmdbApi(api_url={self.api_url!r}, auth={self.credentials.kind!r})"

    def abort(self) -> None:
        """Refuse new requests and interrupt those in progress (they raise TmdbError)."""
        self._closed.set()
        self._adapter.abort()

    def close(self) -> None:
        self.abort()
        self._session.close()

    @property
    def available(self) -> bool:
        """Credentials are set, the breaker is closed and the client is not closing."""
        return (self.credentials.kind != "none" and not self.breaker.is_open
                and not self._closed.is_set())

    def trip(self, reason: str) -> None:
        """Open the circuit breaker: uncached posters answer None at once for a while."""
        if self.breaker.trip():
            self._log_open(reason)

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
            if self._closed.is_set():
                raise TmdbError("TMDB client closed")
            if self.breaker.is_open:
                raise TmdbError("TMDB unavailable (circuit open)")
            self.limiter.acquire()
            started = time.monotonic()
            try:
                status, retry_header, data = self._get(path, query, headers, started)
            except _Aborted:
                raise TmdbError("TMDB client closed") from None
            log.debug("GET %s -> %s in %.3f s", path, status, time.monotonic() - started)
            if status == 200:
                self.breaker.success()
                return data
            if status == 404:
                self.breaker.success()
                return None
            if status == 401:
                self.trip("HTTP 401: the API key or read token was rejected")
                raise self.error(f"HTTP {status} for {path}")
            if status == 429 or status >= 500:
                wait = self.backoff * 2**attempt * random.uniform(0.5, 1.0)
                if status == 429:
                    wait = retry_after(retry_header, self.backoff)
                    if wait > self.max_retry_after:
                        # TMDB asks for a longer pause than a page can wait: take it.
                        self.trip(f"HTTP 429 with Retry-After {retry_header}")
                        raise self.error(f"HTTP {status} for {path}")
                    self.limiter.pause(wait)  # everyone backs off, not only this thread
                if attempt + 1 < attempts:
                    log.debug("GET %s -> %s, retrying after %.2f s", path, status, wait)
                    if status != 429:
                        self._pause(wait)
                    continue
                if self.breaker.failure():
                    self._log_open(f"HTTP {status} answers in a row")
            break
        log.warning("TMDB answered HTTP %s for %s (%d attempt(s))", status, path, attempt + 1)
        raise self.error(f"HTTP {status} for {path}")

    def _get(
        self, path: str, query: dict[str, str], headers: dict[str, str], started: float
    ) -> tuple[int, str | None, dict[str, Any] | None]:
        """One GET: (status, Retry-After header, JSON object of a 200 answer)."""
        deadline = started + self.total_timeout
        connect, read = self.timeout
        try:
            response = self._session.get(
                self.api_url + path, params=query, headers=headers, stream=True,
                timeout=(connect, min(read, self.total_timeout)),
            )
        except (requests.ConnectionError, requests.Timeout) as error:
            raise self._unreachable(f"{type(error).__name__} on {path}") from None
        except requests.RequestException as error:
            reason = f"{type(error).__name__} on {path}: {error}"
            log.warning("TMDB request failed: %s", scrub(reason, self.credentials.secrets))
            raise self.error(reason) from None
        with response:
            if response.status_code != 200:
                return response.status_code, response.headers.get("Retry-After"), None
            body = self._read_body(response, path, deadline)
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            log.warning("TMDB sent malformed JSON for %s", path)
            raise self.error(f"malformed JSON for {path}")
        return 200, None, data

    def _read_body(self, response: requests.Response, path: str, deadline: float) -> bytes:
        """The body, read as it arrives until ``deadline``; TmdbError past ``max_bytes``."""
        too_big = f"answer for {path} over {self.max_bytes} bytes"
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise self._unusable(too_big)
        body = bytearray()
        raw = response.raw
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise self._unreachable(
                        f"Timeout on {path}: no full answer in {self.total_timeout:g} s")
                sock = getattr(raw.connection, "sock", None)
                if sock is not None:  # no single read may outlast the deadline
                    sock.settimeout(min(self.timeout[1], remaining))
                # read1 returns what has arrived, so a server that drips bytes cannot keep
                # one read open, and the decoder never inflates more than asked for.
                chunk = raw.read1(min(_CHUNK, self.max_bytes + 1 - len(body)))
                if not chunk:
                    return bytes(body)
                body += chunk
                if len(body) > self.max_bytes:
                    raise self._unusable(too_big)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise self._unreachable(f"{type(error).__name__} reading {path}") from None

    def _unreachable(self, reason: str) -> Exception:
        """Opens the breaker: TMDB cannot be reached (or not in time)."""
        # Never log or raise the original error: its text holds the URL with the api_key.
        if self._closed.is_set():
            return _Aborted()
        self.trip(reason)
        return self.error(reason)

    def _unusable(self, reason: str) -> TmdbError:
        """An answer that came but cannot be used; repeated ones open the breaker."""
        log.warning("TMDB: %s", reason)
        if self.breaker.failure():
            self._log_open(reason)
        return self.error(reason)

    def _log_open(self, reason: str) -> None:
        log.warning(
            "TMDB unavailable (%s); posters come from the cache only for %.0f s",
            scrub(reason, self.credentials.secrets),
            self.breaker.seconds,
        )

    def _pause(self, seconds: float) -> None:
        self._closed.wait(seconds)
