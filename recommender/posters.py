"""Movie posters from TMDB: parallel, cached in SQLite, bounded in time, careful with the key.

:class:`PosterClient` turns TMDB ids (or IMDb ids, through ``/3/find``) into full image URLs.
Answers, including "TMDB has no poster", are kept in a SQLite cache so that a restart
refetches nothing; network errors are never cached. A page never waits longer than one
timeout: requests run on a small shared pool and a circuit breaker answers ``None`` at once
while TMDB is unreachable. Credentials never appear in logs, errors or reprs.

Without credentials or a network, :func:`placeholder_data_uri` draws a poster-shaped SVG.

``python -m recommender.posters prefetch`` fills the cache for a whole MovieLens catalogue.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures as cf
import functools
import json
import logging
import os
import random
import re
import sqlite3
import sys
import textwrap
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, NamedTuple
from xml.sax.saxutils import escape

import requests
from requests.adapters import HTTPAdapter

from recommender.data import DataError, default_cache_dir, load_movielens

log = logging.getLogger(__name__)

TMDB_ATTRIBUTION = "This product uses the TMDB API but is not endorsed or certified by TMDB."
DEFAULT_API_URL = "https://api.themoviedb.org"
DEFAULT_IMAGE_BASE = "https://image.tmdb.org/t/p/"
DEFAULT_POSTER_SIZES = ("w92", "w154", "w185", "w342", "w500", "w780", "original")
DAY = 86_400.0

_TMDB_PATH = re.compile(r"^/[A-Za-z0-9_.\-]+$")
_SIZE = re.compile(r"^w(\d+)$")


# --- keeping credentials out of text -------------------------------------------------------

_SECRET_PATTERNS = (
    re.compile(r"(?i)(api_key=)[^&\s'\"#]+"),
    re.compile(r"(?i)(bearer\s+)[^\s'\"]+"),
)


def _scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with API keys and bearer tokens replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1***", text)
    return text


class _RedactSecrets(logging.Filter):
    """Scrubs urllib3's own log records, which print request URLs with their query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def _install_log_redaction() -> None:
    # A logger's filters only see records created on that exact logger, hence the list.
    for name in ("urllib3.connectionpool", "urllib3.poolmanager", "urllib3.util.retry"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactSecrets) for f in logger.filters):
            logger.addFilter(_RedactSecrets())


_install_log_redaction()


class _Credentials:
    """A v3 API key or a v4 read-access token; the repr never shows either."""

    __slots__ = ("_key", "_token")

    def __init__(self, api_key: str | None, read_token: str | None) -> None:
        self._key = (api_key or "").strip() or None
        self._token = (read_token or "").strip() or None

    @property
    def kind(self) -> str:
        # The token wins when both are set: a header stays out of URLs and server logs.
        return "bearer" if self._token else "api_key" if self._key else "none"

    @property
    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self._key, self._token) if s)

    def apply(self, params: dict[str, str], headers: dict[str, str]) -> None:
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        elif self._key:
            params["api_key"] = self._key

    def __repr__(self) -> str:
        return f"<TMDB credentials: {self.kind}, redacted>"


class _TmdbError(Exception):
    """A request that got no usable answer; its message is already scrubbed."""


# --- rate limiting --------------------------------------------------------------------------


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


# --- cache ----------------------------------------------------------------------------------


class CacheEntry(NamedTuple):
    """A cached answer (poster path, TMDB id or JSON text; None = "TMDB has none")."""

    value: Any
    expires: float  # Unix time

    def fresh(self, now: float | None = None) -> bool:
        return self.expires > (time.time() if now is None else now)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS posters (
    tmdb_id INTEGER PRIMARY KEY, path TEXT, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS imdb (
    imdb_id TEXT PRIMARY KEY, tmdb_id INTEGER, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL NOT NULL);
"""


def default_cache_path() -> Path:
    """``$RECOMMENDER_CACHE/posters.sqlite3``, else under ``~/.cache/movie-recommender``."""
    return default_cache_dir() / "posters.sqlite3"


class PosterCache:
    """SQLite (WAL) store of poster paths, IMDb → TMDB ids and the image configuration.

    One connection behind a lock: statements are tiny, so serialising them is cheaper than
    a connection per short-lived Streamlit thread. A cache that cannot be opened or written
    degrades to a warning; posters must not fail because of it.
    """

    _CHUNK = 500  # ids per SELECT, well under SQLite's limit on bound parameters

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()
        self._conn = self._open(self.path)

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        conn = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=5.0, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")  # readers never block the prefetching writer
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            return conn
        except (OSError, sqlite3.Error) as error:
            if conn is not None:
                conn.close()
            log.warning("Poster cache %s is unusable (%s); caching in memory only", path, error)
            conn = sqlite3.connect(":memory:", check_same_thread=False)
            conn.executescript(_SCHEMA)
            return conn

    def _select(self, sql: str, keys: Sequence[Any]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        try:
            with self._lock:
                for start in range(0, len(keys), self._CHUNK):
                    chunk = list(keys[start : start + self._CHUNK])
                    marks = ",".join("?" * len(chunk))
                    rows += self._conn.execute(sql.format(marks=marks), chunk).fetchall()
        except sqlite3.Error as error:
            log.warning("Poster cache read failed (%s); treating entries as missing", error)
        return rows

    def _write(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        try:
            with self._lock, self._conn:
                self._conn.executemany(sql, rows)
        except sqlite3.Error as error:
            log.warning("Poster cache write failed (%s); the answer is not cached", error)

    def get_posters(self, tmdb_ids: Sequence[int]) -> dict[int, CacheEntry]:
        """Cached poster paths by TMDB id, expired entries included (check ``.fresh()``)."""
        sql = "SELECT tmdb_id, path, expires FROM posters WHERE tmdb_id IN ({marks})"
        return {row[0]: CacheEntry(row[1], row[2]) for row in self._select(sql, tmdb_ids)}

    def put_poster(self, tmdb_id: int, path: str | None, ttl: float) -> None:
        """Remember ``path`` (None: TMDB has no poster) for ``ttl`` seconds."""
        sql = "INSERT OR REPLACE INTO posters (tmdb_id, path, expires) VALUES (?, ?, ?)"
        self._write(sql, [(tmdb_id, path, time.time() + ttl)])

    def get_imdb(self, imdb_ids: Sequence[str]) -> dict[str, CacheEntry]:
        """Cached TMDB ids by IMDb id ("tt0114709"), expired entries included."""
        sql = "SELECT imdb_id, tmdb_id, expires FROM imdb WHERE imdb_id IN ({marks})"
        return {row[0]: CacheEntry(row[1], row[2]) for row in self._select(sql, imdb_ids)}

    def put_imdb(self, imdb_id: str, tmdb_id: int | None, ttl: float) -> None:
        """Remember that ``imdb_id`` is ``tmdb_id`` (None: TMDB does not know it)."""
        sql = "INSERT OR REPLACE INTO imdb (imdb_id, tmdb_id, expires) VALUES (?, ?, ?)"
        self._write(sql, [(imdb_id, tmdb_id, time.time() + ttl)])

    def get_meta(self, key: str) -> CacheEntry | None:
        """A cached JSON document (text), expired or not."""
        rows = self._select("SELECT key, value, expires FROM meta WHERE key IN ({marks})", [key])
        return CacheEntry(rows[0][1], rows[0][2]) if rows else None

    def put_meta(self, key: str, value: str, ttl: float) -> None:
        sql = "INSERT OR REPLACE INTO meta (key, value, expires) VALUES (?, ?, ?)"
        self._write(sql, [(key, value, time.time() + ttl)])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


# --- the client -----------------------------------------------------------------------------


class ImageConfig(NamedTuple):
    """Where TMDB serves images and in which widths."""

    base_url: str
    poster_sizes: tuple[str, ...]
    expires: float = 0.0


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


@dataclass
class PrefetchReport:
    """What :meth:`PosterClient.prefetch` did."""

    requested: int = 0
    skipped: int = 0  # already cached and fresh
    fetched: int = 0  # answered by TMDB (poster or "no poster"), now cached
    failed: int = 0  # errors; not cached, a later run retries them
    stopped_early: bool = False  # TMDB became unreachable


_Key = tuple[str, Any]


class PosterClient:
    """Resolves TMDB poster URLs with a shared session, a bounded pool and a SQLite cache.

    Credentials come from the arguments or ``TMDB_API_KEY`` / ``TMDB_READ_TOKEN``; the API
    root from ``api_url`` or ``TMDB_API_URL``. Thread-safe: the app shares one instance.
    Network problems never raise; they answer ``None`` (or a stale cached value).
    """

    def __init__(
        self,
        api_key: str | None = None,
        read_token: str | None = None,
        api_url: str | None = None,
        cache_path: str | os.PathLike[str] | None = None,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 5.0,
        max_wait: float | None = None,
        max_workers: int = 8,
        retries: int = 2,
        backoff: float = 0.3,
        max_retry_after: float = 10.0,
        breaker_seconds: float = 60.0,
        rate_limit: float = 40.0,
        found_ttl: float = 45 * DAY,
        missing_ttl: float = 7 * DAY,
        config_ttl: float = 3 * DAY,
    ) -> None:
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ValueError("timeouts must be positive")
        if max_workers < 1 or retries < 0:
            raise ValueError("max_workers must be at least 1 and retries not negative")
        self._credentials = _Credentials(
            api_key or os.environ.get("TMDB_API_KEY"),
            read_token or os.environ.get("TMDB_READ_TOKEN"),
        )
        url = (api_url or os.environ.get("TMDB_API_URL") or DEFAULT_API_URL).strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ValueError("api_url must start with http:// or https://")
        self.api_url = url
        self.timeout = (float(connect_timeout), float(read_timeout))
        # By default a page waits at most one connect plus one read timeout.
        self.max_wait = float(max_wait) if max_wait is not None else sum(self.timeout)
        self.retries, self.backoff, self.max_retry_after = retries, backoff, max_retry_after
        self.breaker_seconds = breaker_seconds
        self.found_ttl, self.missing_ttl, self.config_ttl = found_ttl, missing_ttl, config_ttl
        self.max_workers = max_workers

        self.cache = PosterCache(cache_path or default_cache_path())
        self._limiter = RateLimiter(rate_limit)
        self._session = requests.Session()
        # urllib3's own retries would bypass the breaker and the scrubbing, so we retry here.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max_workers, max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers.update({"Accept": "application/json"})
        self._pool = cf.ThreadPoolExecutor(max_workers, thread_name_prefix="tmdb")
        self._lock = threading.Lock()
        self._in_flight: dict[_Key, cf.Future[Any]] = {}
        self._open_until = 0.0
        self._config: ImageConfig | None = None
        self.last_error: str | None = None  # scrubbed, for a status line in the app

    def __repr__(self) -> str:
        return (
            f"PosterClient(api_url={self.api_url!r}, auth={self._credentials.kind!r}, "
            f"cache={str(self.cache.path)!r})"
        )

    def __enter__(self) -> PosterClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the workers (waiting for requests in progress) and close the session and cache."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._session.close()
        self.cache.close()

    @property
    def has_credentials(self) -> bool:
        return self._credentials.kind != "none"

    @property
    def available(self) -> bool:
        """Whether uncached posters can be fetched now (credentials, breaker closed)."""
        return self.has_credentials and not self._breaker_open()

    # --- public lookups ---------------------------------------------------------------------

    def urls(
        self, tmdb_ids: Iterable[Any], size: str = "w342", *, wait: float | None = None
    ) -> dict[int, str | None]:
        """Full poster URLs by TMDB id; None where TMDB has no poster or cannot answer in time.

        ``wait`` caps the seconds spent on TMDB (default ``max_wait``); answers that arrive
        later still land in the cache for the next call. ``wait=0`` answers from the cache.
        """
        deadline = self._deadline(wait)
        ids = list(dict.fromkeys(i for i in map(_tmdb_id, tmdb_ids) if i is not None))
        paths, _ = self._lookup(ids, [], deadline)
        return self._to_urls(ids, paths, size, deadline)

    def urls_for_movies(
        self, links: Any, size: str = "w342", *, wait: float | None = None
    ) -> dict[int, str | None]:
        """Poster URLs by MovieLens movieId, falling back to the IMDb id where tmdbId is missing.

        ``links``: a DataFrame with movieId, tmdbId and imdbId columns (MovieLens ``links``),
        mappings with those keys, or ``(movieId, tmdbId, imdbId)`` tuples.
        """
        deadline = self._deadline(wait)
        rows = _link_rows(links)
        tmdb_ids = list(dict.fromkeys(t for _, t, _ in rows if t is not None))
        imdb_ids = list(dict.fromkeys(i for _, t, i in rows if t is None and i is not None))
        paths, imdb_map = self._lookup(tmdb_ids, imdb_ids, deadline)
        movie_tmdb = {m: t if t is not None else imdb_map.get(i) for m, t, i in rows}
        found = [t for t in movie_tmdb.values() if t is not None]
        by_tmdb = self._to_urls(found, paths, size, deadline)
        return {m: by_tmdb.get(t) if t is not None else None for m, t in movie_tmdb.items()}

    def tmdb_ids_for_imdb(
        self, imdb_ids: Iterable[Any], *, wait: float | None = None
    ) -> dict[str, int | None]:
        """TMDB movie ids by IMDb id as given ("0114709" or "tt0114709"); None if unknown."""
        deadline = self._deadline(wait)
        given = {raw: key for raw in imdb_ids if (key := _imdb_key(raw)) is not None}
        _, imdb_map = self._lookup([], list(dict.fromkeys(given.values())), deadline)
        return {str(raw): imdb_map.get(key) for raw, key in given.items()}

    def prefetch(
        self,
        tmdb_ids: Iterable[Any],
        imdb_ids: Iterable[Any] = (),
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> PrefetchReport:
        """Fill the cache, skipping fresh entries; ``progress(done, total)`` after each answer.

        Stops early (``stopped_early``) once TMDB is unreachable. On KeyboardInterrupt, queued
        requests are cancelled; what was answered is already cached, so a rerun resumes.
        """
        tmdb = list(dict.fromkeys(i for i in map(_tmdb_id, tmdb_ids) if i is not None))
        imdb = list(dict.fromkeys(k for k in map(_imdb_key, imdb_ids) if k is not None))
        report = PrefetchReport(requested=len(tmdb) + len(imdb))
        now = time.time()
        fresh_tmdb = {i for i, e in self.cache.get_posters(tmdb).items() if e.fresh(now)}
        fresh_imdb = {k for k, e in self.cache.get_imdb(imdb).items() if e.fresh(now)}
        tasks: list[_Key] = [("movie", i) for i in tmdb if i not in fresh_tmdb]
        tasks += [("find", k) for k in imdb if k not in fresh_imdb]
        report.skipped = report.requested - len(tasks)
        if not tasks:
            return report
        if not self.has_credentials:
            raise RuntimeError("no TMDB credentials: set TMDB_API_KEY or TMDB_READ_TOKEN")
        self._config_future()  # the cache should hold the image configuration too

        queue = iter(tasks)
        running: set[cf.Future[Any]] = set()
        window = self.max_workers * 4  # enough to keep the pool busy, few to cancel
        done_count = 0
        try:
            while True:
                while len(running) < window and not report.stopped_early:
                    task = next(queue, None)
                    if task is None:
                        break
                    running.add(self._submit(task))
                if not running:
                    break
                finished, running = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                for future in finished:
                    try:
                        future.result()
                        report.fetched += 1
                    except (_TmdbError, cf.CancelledError):
                        report.failed += 1
                    done_count += 1
                    if progress is not None:
                        progress(done_count, len(tasks))
                if self._breaker_open():
                    report.stopped_early = True
        except KeyboardInterrupt:
            for future in running:
                future.cancel()
            raise
        return report

    # --- internals --------------------------------------------------------------------------

    def _deadline(self, wait: float | None) -> float:
        return time.monotonic() + (self.max_wait if wait is None else max(0.0, wait))

    def _lookup(
        self, tmdb_ids: list[int], imdb_keys: list[str], deadline: float
    ) -> tuple[dict[int, str | None], dict[str, int | None]]:
        """Poster paths by TMDB id and TMDB ids by IMDb key: cache first, then TMDB in parallel.

        Expired entries are refetched but still answer when TMDB cannot.
        """
        now = time.time()
        imdb_map: dict[str, int | None] = {}
        find_todo: list[str] = []
        cached_imdb = self.cache.get_imdb(imdb_keys) if imdb_keys else {}
        for key in imdb_keys:
            entry = cached_imdb.get(key)
            if entry is not None:
                imdb_map[key] = entry.value
            if entry is None or not entry.fresh(now):
                find_todo.append(key)

        mapped = (t for t in imdb_map.values() if t is not None)
        wanted = list(dict.fromkeys([*tmdb_ids, *mapped]))
        cached = self.cache.get_posters(wanted) if wanted else {}
        paths: dict[int, str | None] = {}
        movie_todo: list[int] = []
        for tmdb_id in wanted:
            entry = cached.get(tmdb_id)
            paths[tmdb_id] = entry.value if entry is not None else None
            if entry is None or not entry.fresh(now):
                movie_todo.append(tmdb_id)

        if not (movie_todo or find_todo) or not self.available:
            return paths, imdb_map
        config = self._config_future()  # in parallel with the posters themselves
        futures = {self._submit(("movie", i)): ("movie", i) for i in movie_todo}
        futures.update({self._submit(("find", k)): ("find", k) for k in find_todo})
        pending = [*futures, *([config] if config is not None else [])]
        cf.wait(pending, timeout=max(0.0, deadline - time.monotonic()))
        for future, (kind, key) in futures.items():
            if not future.done() or future.cancelled():
                continue  # still running: it fills the cache for the next call
            try:
                result = future.result()
            except _TmdbError:
                continue  # already logged; keep the stale value or None
            if kind == "movie":
                paths[key] = result
            else:
                tmdb_id, path = result
                imdb_map[key] = tmdb_id
                if tmdb_id is not None:
                    paths[tmdb_id] = path
        return paths, imdb_map

    def _to_urls(
        self, ids: list[int], paths: Mapping[int, str | None], size: str, deadline: float
    ) -> dict[int, str | None]:
        if not any(paths.get(i) for i in ids):
            nearest_size(size, DEFAULT_POSTER_SIZES)  # still reject a malformed size
            return dict.fromkeys(ids)
        config = self._image_config(deadline)
        chosen = nearest_size(size, config.poster_sizes)
        base = config.base_url.rstrip("/") + "/" + chosen
        return {i: base + p if (p := paths.get(i)) else None for i in ids}

    def _submit(self, task: _Key) -> cf.Future[Any]:
        """Start ``task`` on the pool unless the same one is already running (many threads)."""
        kind, key = task
        with self._lock:
            future = self._in_flight.get(task)
            if future is not None:
                return future
            if kind == "movie":
                future = self._pool.submit(self._fetch_movie, key)
            elif kind == "find":
                future = self._pool.submit(self._fetch_find, key)
            else:
                future = self._pool.submit(self._fetch_config)
            self._in_flight[task] = future

        def forget(done: cf.Future[Any]) -> None:
            with self._lock:
                if self._in_flight.get(task) is done:
                    del self._in_flight[task]

        future.add_done_callback(forget)  # outside the lock: it may run right here
        return future

    def _fetch_movie(self, tmdb_id: int) -> str | None:
        data = self._get_json(f"/3/movie/{tmdb_id}")
        path = self._poster_path(data, tmdb_id) if data is not None else None  # None: 404
        self.cache.put_poster(tmdb_id, path, self.found_ttl if path else self.missing_ttl)
        return path

    def _fetch_find(self, imdb_key: str) -> tuple[int | None, str | None]:
        data = self._get_json(f"/3/find/{imdb_key}", {"external_source": "imdb_id"})
        results = (data or {}).get("movie_results")
        if results is not None and not isinstance(results, list):
            raise self._error(f"malformed answer for /3/find/{imdb_key}")
        first = next((r for r in results or [] if isinstance(r, dict)), None)
        tmdb_id = _tmdb_id(first.get("id")) if first is not None else None
        if tmdb_id is None:
            self.cache.put_imdb(imdb_key, None, self.missing_ttl)
            return None, None
        path = self._poster_path(first, imdb_key)
        self.cache.put_imdb(imdb_key, tmdb_id, self.found_ttl)
        self.cache.put_poster(tmdb_id, path, self.found_ttl if path else self.missing_ttl)
        return tmdb_id, path

    def _poster_path(self, data: Mapping[str, Any], movie: object) -> str | None:
        path = data.get("poster_path")
        if path is None or path == "":
            return None
        # The path ends up in an <img src>: accept only what TMDB's paths look like.
        if not isinstance(path, str) or not _TMDB_PATH.match(path):
            log.warning("TMDB sent a malformed poster_path for %s", movie)
            raise self._error(f"malformed poster_path for {movie}")
        return path

    def _fetch_config(self) -> ImageConfig:
        try:
            data = self._get_json("/3/configuration")
            config = _parse_config(data, time.time() + self.config_ttl)
        except _TmdbError:
            stale = self._cached_config(fresh_only=False)
            config = (stale or ImageConfig(DEFAULT_IMAGE_BASE, DEFAULT_POSTER_SIZES))._replace(
                # TMDB's well-known values until the breaker period is over, so that a broken
                # endpoint does not cost every page a request.
                expires=time.time() + min(self.breaker_seconds, self.config_ttl)
            )
            self._config = config
            return config
        document = {"base_url": config.base_url, "poster_sizes": list(config.poster_sizes)}
        self.cache.put_meta("image_config", json.dumps(document), self.config_ttl)
        self._config = config
        return config

    def _cached_config(self, *, fresh_only: bool) -> ImageConfig | None:
        entry = self.cache.get_meta("image_config")
        if entry is None or (fresh_only and not entry.fresh()):
            return None
        try:
            return _parse_config({"images": json.loads(entry.value)}, entry.expires)
        except (ValueError, _TmdbError):
            return None

    def _config_future(self) -> cf.Future[Any] | None:
        """A running configuration request, or None when the known one is fresh (or no TMDB)."""
        config = self._config
        if config is not None and config.expires > time.time():
            return None
        cached = self._cached_config(fresh_only=True)
        if cached is not None:
            self._config = cached
            return None
        return self._submit(("config", None)) if self.available else None

    def _image_config(self, deadline: float) -> ImageConfig:
        future = self._config_future()
        if future is not None:
            cf.wait([future], timeout=max(0.0, deadline - time.monotonic()))
        config = self._config
        if config is not None and (future is None or future.done()):
            return config
        stale = self._cached_config(fresh_only=False)
        return stale or ImageConfig(DEFAULT_IMAGE_BASE, DEFAULT_POSTER_SIZES)

    def _breaker_open(self) -> bool:
        return time.monotonic() < self._open_until

    def _trip(self, reason: str) -> None:
        """Open the circuit breaker: uncached posters answer None at once for a while."""
        with self._lock:
            already_open = self._breaker_open()
            self._open_until = time.monotonic() + self.breaker_seconds
        if not already_open:
            log.warning(
                "TMDB unavailable (%s); posters come from the cache only for %.0f s",
                _scrub(reason, self._credentials.secrets),
                self.breaker_seconds,
            )

    def _error(self, message: str) -> _TmdbError:
        message = _scrub(message, self._credentials.secrets)
        self.last_error = message
        return _TmdbError(message)

    def _get_json(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any] | None:
        """GET an API path: its JSON object, or None for 404. Raises a scrubbed _TmdbError."""
        query = dict(params or {})
        headers: dict[str, str] = {}
        self._credentials.apply(query, headers)
        attempts = self.retries + 1
        status = 0
        for attempt in range(attempts):
            if self._breaker_open():
                raise _TmdbError("TMDB unavailable (circuit open)")
            self._limiter.acquire()
            started = time.monotonic()
            try:
                response = self._session.get(
                    self.api_url + path, params=query, headers=headers, timeout=self.timeout
                )
            except (requests.ConnectionError, requests.Timeout) as error:
                # Never log or raise the original: its text holds the URL with the api_key.
                reason = f"{type(error).__name__} on {path}"
                self._trip(reason)
                raise self._error(reason) from None
            except requests.RequestException as error:
                reason = f"{type(error).__name__} on {path}: {error}"
                log.warning("TMDB request failed: %s", _scrub(reason, self._credentials.secrets))
                raise self._error(reason) from None
            status = response.status_code
            log.debug("GET %s -> %s in %.3f s", path, status, time.monotonic() - started)
            if status == 200:
                try:
                    data = response.json()
                except ValueError:
                    data = None
                if not isinstance(data, dict):
                    log.warning("TMDB sent malformed JSON for %s", path)
                    raise self._error(f"malformed JSON for {path}")
                return data
            if status == 404:
                return None
            if status == 401:
                self._trip("HTTP 401: the API key or read token was rejected")
                raise self._error(f"HTTP 401 for {path}")
            if (status == 429 or status >= 500) and attempt + 1 < attempts:
                if status == 429:
                    wait = _retry_after(response.headers.get("Retry-After"), self.backoff)
                    wait = min(wait, self.max_retry_after)
                    self._limiter.pause(wait)  # everyone backs off, not only this thread
                else:
                    wait = self.backoff * 2**attempt * random.uniform(0.5, 1.0)
                    time.sleep(wait)
                log.debug("GET %s -> %s, retrying after %.2f s", path, status, wait)
                continue
            break
        log.warning("TMDB answered HTTP %s for %s (%d attempt(s))", status, path, attempt + 1)
        raise self._error(f"HTTP {status} for {path}")


# --- helpers --------------------------------------------------------------------------------


def _tmdb_id(value: Any) -> int | None:
    """A positive int id, or None for missing values (None, NaN, pd.NA, junk)."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if isinstance(value, float) and value != number:
        return None
    return number if number > 0 else None


def _imdb_key(value: Any) -> str | None:
    """ "0114709", "tt0114709" or 114709 → "tt0114709"; None for missing or malformed."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if value != value or not value.is_integer():  # NaN or junk
            return None
        value = int(value)
    text = str(value).strip().lower()
    digits = text[2:] if text.startswith("tt") else text
    if not digits.isdigit() or not digits.isascii() or int(digits) == 0:
        return None
    return "tt" + digits.zfill(7)


def _link_rows(links: Any) -> list[tuple[int, int | None, str | None]]:
    records = links.to_dict("records") if hasattr(links, "to_dict") else links
    rows = []
    for record in records:
        if isinstance(record, Mapping):
            movie, tmdb, imdb = record.get("movieId"), record.get("tmdbId"), record.get("imdbId")
        else:
            movie, tmdb, imdb = record
        movie_id = _tmdb_id(movie)
        if movie_id is not None:
            rows.append((movie_id, _tmdb_id(tmdb), _imdb_key(imdb)))
    return rows


def _parse_config(data: Any, expires: float) -> ImageConfig:
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, dict):
        raise _TmdbError("malformed configuration")
    base = images.get("secure_base_url") or images.get("base_url")
    sizes = images.get("poster_sizes")
    if not isinstance(base, str) or not base.startswith(("https://", "http://")):
        raise _TmdbError("malformed configuration: base_url")
    if not isinstance(sizes, list) or not sizes or not all(isinstance(s, str) for s in sizes):
        raise _TmdbError("malformed configuration: poster_sizes")
    return ImageConfig(base, tuple(sizes), expires)


def _retry_after(value: str | None, default: float) -> float:
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


# --- placeholders ---------------------------------------------------------------------------

# Dark enough for white text; one colour per MovieLens genre.
_GENRE_COLOURS = {
    "Action": "#8c2f23",
    "Adventure": "#8a5a12",
    "Animation": "#1d6a86",
    "Children": "#2f7a3b",
    "Comedy": "#9a6b00",
    "Crime": "#3b3f4a",
    "Documentary": "#4b6b5c",
    "Drama": "#5a3470",
    "Fantasy": "#6b3fa0",
    "Film-Noir": "#262626",
    "Horror": "#5c0f14",
    "IMAX": "#0f4c75",
    "Musical": "#a0356b",
    "Mystery": "#2d3a6b",
    "Romance": "#a23b55",
    "Sci-Fi": "#145a63",
    "Thriller": "#4a2c2a",
    "War": "#55593a",
    "Western": "#7a4b2a",
}
_NEUTRAL = "#44474f"
_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_PLACEHOLDER_W, _PLACEHOLDER_H = 200, 300  # 2:3, like a poster
_TITLE_WIDTH, _TITLE_LINES = 16, 5


def _genre_colour(genres: str) -> str:
    first = (genres or "").split("|")[0].strip()
    if not first or first.startswith("("):  # "(no genres listed)"
        return _NEUTRAL
    if first in _GENRE_COLOURS:
        return _GENRE_COLOURS[first]
    hue = zlib.crc32(first.encode()) % 360  # stable across runs, unlike hash()
    return f"hsl({hue}, 45%, 30%)"


def _xml(text: str) -> str:
    return escape(_XML_INVALID.sub("", text), {'"': "&quot;", "'": "&apos;"})


def placeholder_svg(title: str, year: int | None, genres: str) -> str:
    """A 2:3 SVG poster with the title (wrapped), the year and a colour from the first genre."""
    title = " ".join(_XML_INVALID.sub("", str(title or "")).split()) or "Untitled"
    lines = textwrap.wrap(title, _TITLE_WIDTH, break_long_words=True) or [title]
    if len(lines) > _TITLE_LINES:
        lines = lines[:_TITLE_LINES]
        lines[-1] = lines[-1][: _TITLE_WIDTH - 1].rstrip() + "…"
    year_number = _tmdb_id(year)
    year_text = str(year_number) if year_number is not None else ""
    genre_text = " · ".join(g for g in (genres or "").split("|")[:3] if g and g[0] != "(")
    font = 20 if len(lines) <= 3 else 16
    line_height = font * 1.2
    top = _PLACEHOLDER_H * 0.42 - (len(lines) - 1) * line_height / 2
    spans = "".join(
        f'<tspan x="{_PLACEHOLDER_W // 2}" y="{top + n * line_height:.1f}">{_xml(line)}</tspan>'
        for n, line in enumerate(lines)
    )
    label = f"{title} ({year_text})" if year_text else title
    year_y = top + len(lines) * line_height + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_PLACEHOLDER_W}" '
        f'height="{_PLACEHOLDER_H}" viewBox="0 0 {_PLACEHOLDER_W} {_PLACEHOLDER_H}" '
        f'role="img" aria-label="{_xml(label)}">',
        f"<title>{_xml(label)}</title>",
        f'<rect width="100%" height="100%" fill="{_genre_colour(genres)}"/>',
        f'<rect y="{_PLACEHOLDER_H * 0.8:.0f}" width="100%" height="{_PLACEHOLDER_H * 0.2:.0f}" '
        'fill="#000" fill-opacity="0.25"/>',
        '<g font-family="Helvetica, Arial, sans-serif" fill="#fff" text-anchor="middle">',
        f'<text font-size="{font}" font-weight="bold">{spans}</text>',
    ]
    if year_text:
        parts.append(
            f'<text x="{_PLACEHOLDER_W // 2}" y="{year_y:.1f}" font-size="15" '
            f'fill-opacity="0.85">{year_text}</text>'
        )
    if genre_text:
        parts.append(
            f'<text x="{_PLACEHOLDER_W // 2}" y="{_PLACEHOLDER_H * 0.9 + 4:.0f}" '
            f'font-size="11" fill-opacity="0.8">{_xml(genre_text)}</text>'
        )
    parts.append("</g></svg>")
    return "".join(parts)


@functools.lru_cache(maxsize=4096)  # the same cards are drawn on every rerun
def placeholder_data_uri(title: str, year: int | None, genres: str) -> str:
    """:func:`placeholder_svg` as a ``data:image/svg+xml;base64,...`` URI for an ``<img>``."""
    svg = placeholder_svg(title, year, genres)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


# --- command line ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m recommender.posters prefetch``: fill the poster cache for a catalogue."""
    parser = argparse.ArgumentParser(
        prog="python -m recommender.posters", description="TMDB poster cache."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    prefetch = commands.add_parser(
        "prefetch",
        help="cache posters for every movie in links.csv (resumable)",
        description="Cache posters for every movie in links.csv. Credentials come from "
        "TMDB_API_KEY or TMDB_READ_TOKEN (never from the command line, where `ps` shows them).",
    )
    prefetch.add_argument(
        "--movielens-dir",
        default=os.environ.get("MOVIELENS_DIR"),
        help="MovieLens folder with links.csv (default: $MOVIELENS_DIR)",
    )
    prefetch.add_argument("--cache", help=f"SQLite file (default: {default_cache_path()})")
    prefetch.add_argument("--rate", type=float, default=40.0, help="requests per second")
    prefetch.add_argument("--workers", type=int, default=8, help="parallel requests")
    prefetch.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    return _prefetch_command(args)


def _prefetch_command(args: argparse.Namespace) -> int:
    try:
        client = PosterClient(cache_path=args.cache, rate_limit=args.rate, max_workers=args.workers)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    with client:
        if not client.has_credentials:
            print(
                "error: no TMDB credentials. Set TMDB_API_KEY (v3 API key) or TMDB_READ_TOKEN "
                "(v4 read access token) in the environment; this command does not read "
                ".streamlit/secrets.toml.",
                file=sys.stderr,
            )
            return 2
        try:
            links = load_movielens(args.movielens_dir).links
        except (DataError, OSError, requests.RequestException) as error:
            print(f"error: could not load MovieLens: {_scrub(str(error))}", file=sys.stderr)
            return 1
        rows = _link_rows(links)
        if not rows:
            print("error: no links.csv rows (movieId, imdbId, tmdbId) to prefetch", file=sys.stderr)
            return 1
        tmdb_ids = [t for _, t, _ in rows if t is not None]
        imdb_ids = [i for _, t, i in rows if t is None and i is not None]
        bar = _ProgressBar(disabled=args.no_progress)
        try:
            report = client.prefetch(tmdb_ids, imdb_ids, progress=bar.update)
        except KeyboardInterrupt:
            bar.close()
            print("\nInterrupted; answers so far are cached. Run again to resume.")
            return 130
        bar.close()
    print(
        f"{report.requested} movies: {report.skipped} already cached, {report.fetched} fetched, "
        f"{report.failed} failed (cache: {client.cache.path})"
    )
    if report.stopped_early:
        print("TMDB became unreachable; run the same command again to resume.", file=sys.stderr)
        return 1
    return 0


class _ProgressBar:
    """A tqdm bar created on the first update, when the total is known."""

    def __init__(self, *, disabled: bool) -> None:
        self.disabled = disabled
        self._bar: Any = None

    def update(self, done: int, total: int) -> None:
        if self.disabled:
            return
        if self._bar is None:
            from tqdm import tqdm  # only the CLI needs it

            self._bar = tqdm(total=total, unit="movie", desc="posters")
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


if __name__ == "__main__":
    raise SystemExit(main())
