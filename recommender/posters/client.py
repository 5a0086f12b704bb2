"""The poster client: TMDB ids (or IMDb ids) to image URLs, cached, parallel, bounded in time."""

from __future__ import annotations

import concurrent.futures as cf
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from recommender.posters.cache import PosterCache, default_cache_path
from recommender.posters.credentials import Credentials
from recommender.posters.ids import imdb_key, link_rows, positive_int, valid_poster_path
from recommender.posters.ratelimit import Deadline
from recommender.posters.tmdb import (
    DEFAULT_IMAGE_CONFIG,
    DEFAULT_POSTER_SIZES,
    ImageConfig,
    TmdbApi,
    TmdbError,
    nearest_size,
    parse_config,
)
from recommender.settings import settings

log = logging.getLogger(__name__)

DAY = 86_400.0
MAX_ANSWER_BYTES = 1_000_000  # TMDB's answers are a few kB; a bigger one is an error


@dataclass
class PrefetchReport:
    """What :meth:`PosterClient.prefetch` did."""

    requested: int = 0
    skipped: int = 0  # already cached and fresh
    fetched: int = 0  # answered by TMDB (poster or "no poster"), now cached
    failed: int = 0  # errors; not cached, a later run retries them
    stopped_early: bool = False  # TMDB became unreachable


_Key = tuple[str, Any]
Wait = float | Deadline | None


class PosterClient:
    """Resolves TMDB poster URLs with a shared session, a bounded pool and a SQLite cache.

    Credentials, API root and cache folder come from the arguments, else from
    :func:`recommender.settings.settings` (``TMDB_API_KEY`` / ``TMDB_READ_TOKEN``,
    ``TMDB_API_URL``, ``RECOMMENDER_CACHE``). Thread-safe: the app shares one instance.
    Network problems never raise; they answer ``None`` (or a stale cached value).

    Each request ends within ``total_timeout`` seconds (default: connect + read timeout)
    and reads at most ``max_bytes``; ``breaker_threshold`` failed requests in a row (5xx,
    429, oversized) or one unreachable TMDB open the breaker for ``breaker_seconds``.
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
        total_timeout: float | None = None,
        max_bytes: int = MAX_ANSWER_BYTES,
        max_wait: float | None = None,
        close_timeout: float = 2.0,
        max_workers: int = 8,
        retries: int = 2,
        backoff: float = 0.3,
        max_retry_after: float = 10.0,
        breaker_seconds: float = 60.0,
        breaker_threshold: int = 3,
        rate_limit: float = 40.0,
        found_ttl: float = 45 * DAY,
        missing_ttl: float = 7 * DAY,
        config_ttl: float = 3 * DAY,
    ) -> None:
        if min(connect_timeout, read_timeout, total_timeout or 1.0) <= 0 or max_bytes < 1:
            raise ValueError("timeouts and max_bytes must be positive")
        if max_workers < 1 or retries < 0:
            raise ValueError("max_workers must be at least 1 and retries not negative")
        config = settings()
        credentials = Credentials(
            api_key or config.tmdb_api_key, read_token or config.tmdb_read_token
        )
        url = (api_url or config.tmdb_api_url).strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ValueError("api_url must start with http:// or https://")
        timeout = (float(connect_timeout), float(read_timeout))
        # By default a page waits at most one connect plus one read timeout.
        self.max_wait = float(max_wait) if max_wait is not None else sum(timeout)
        self.found_ttl, self.missing_ttl, self.config_ttl = found_ttl, missing_ttl, config_ttl
        self.max_workers, self.close_timeout = max_workers, close_timeout

        self.cache = PosterCache(cache_path or default_cache_path())
        self._api = TmdbApi(
            credentials,
            url,
            timeout=timeout,
            total_timeout=float(total_timeout) if total_timeout else sum(timeout),
            max_bytes=max_bytes,
            pool_size=max_workers,
            retries=retries,
            backoff=backoff,
            max_retry_after=max_retry_after,
            breaker_seconds=breaker_seconds,
            breaker_threshold=breaker_threshold,
            rate_limit=rate_limit,
        )
        self._pool = cf.ThreadPoolExecutor(max_workers, thread_name_prefix="tmdb")
        self._lock = threading.Lock()
        self._in_flight: dict[_Key, cf.Future[Any]] = {}
        self._config: ImageConfig | None = None

    def __repr__(self) -> str:
        return (
            f"PosterClient(api_url={self.api_url!r}, auth={self._api.credentials.kind!r}, "
            f"cache={str(self.cache.path)!r})"
        )

    def __enter__(self) -> PosterClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Cancel queued lookups, close the session and cache.

        Bounded: requests in progress get ``close_timeout`` seconds to finish (and be
        cached); then they are interrupted, whatever TMDB is doing.
        """
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            running = list(self._in_flight.values())
        cf.wait(running, timeout=self.close_timeout)
        self._api.close()  # interrupts what is still running: it fails at once
        self._pool.shutdown(wait=True)
        self.cache.close()

    @property
    def api_url(self) -> str:
        """The TMDB API root, without a trailing slash."""
        return self._api.api_url

    @property
    def timeout(self) -> tuple[float, float]:
        """(connect, read) timeout of each request, in seconds."""
        return self._api.timeout

    @property
    def last_error(self) -> str | None:
        """The latest TMDB error (scrubbed), for a status line in the app."""
        return self._api.last_error

    @property
    def has_credentials(self) -> bool:
        return self._api.credentials.kind != "none"

    @property
    def available(self) -> bool:
        """Whether uncached posters can be fetched now (credentials, breaker closed)."""
        return self._api.available

    # --- public lookups ---------------------------------------------------------------------

    def urls(
        self, tmdb_ids: Iterable[Any], size: str = "w342", *, wait: Wait = None
    ) -> dict[int, str | None]:
        """Full poster URLs by TMDB id; None where TMDB has no poster or cannot answer in time.

        ``wait`` caps the seconds spent on TMDB (default ``max_wait``): a number, or a
        :class:`Deadline` shared by every lookup of a page. Answers that arrive later still
        land in the cache for the next call. ``wait=0`` answers from the cache.
        """
        deadline = self._deadline(wait)
        ids = list(dict.fromkeys(i for i in map(positive_int, tmdb_ids) if i is not None))
        paths, _ = self._lookup(ids, [], deadline)
        return self._to_urls(ids, paths, size, deadline)

    def urls_for_movies(
        self, links: Any, size: str = "w342", *, wait: Wait = None
    ) -> dict[int, str | None]:
        """Poster URLs by MovieLens movieId, falling back to the IMDb id where tmdbId is missing.

        ``links``: a DataFrame with movieId, tmdbId and imdbId columns (MovieLens ``links``),
        mappings with those keys, or ``(movieId, tmdbId, imdbId)`` tuples.
        """
        deadline = self._deadline(wait)
        rows = link_rows(links)
        tmdb_ids = list(dict.fromkeys(t for _, t, _ in rows if t is not None))
        imdb_ids = list(dict.fromkeys(i for _, t, i in rows if t is None and i is not None))
        paths, imdb_map = self._lookup(tmdb_ids, imdb_ids, deadline)
        movie_tmdb = {m: t if t is not None else imdb_map.get(i) for m, t, i in rows}
        found = [t for t in movie_tmdb.values() if t is not None]
        by_tmdb = self._to_urls(found, paths, size, deadline)
        return {m: by_tmdb.get(t) if t is not None else None for m, t in movie_tmdb.items()}

    def tmdb_ids_for_imdb(
        self, imdb_ids: Iterable[Any], *, wait: Wait = None
    ) -> dict[str, int | None]:
        """TMDB movie ids by IMDb id as given ("0114709" or "tt0114709"); None if unknown."""
        deadline = self._deadline(wait)
        given = {raw: key for raw in imdb_ids if (key := imdb_key(raw)) is not None}
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
        tmdb = list(dict.fromkeys(i for i in map(positive_int, tmdb_ids) if i is not None))
        imdb = list(dict.fromkeys(k for k in map(imdb_key, imdb_ids) if k is not None))
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
                    except (TmdbError, cf.CancelledError):
                        report.failed += 1
                    done_count += 1
                    if progress is not None:
                        progress(done_count, len(tasks))
                if self._api.breaker.is_open:
                    report.stopped_early = True
        except KeyboardInterrupt:
            for future in running:
                future.cancel()
            raise
        return report

    # --- internals --------------------------------------------------------------------------

    def _deadline(self, wait: Wait) -> float:
        if isinstance(wait, Deadline):
            seconds = min(self.max_wait, wait.remaining())
        else:
            seconds = self.max_wait if wait is None else max(0.0, wait)
        return time.monotonic() + seconds

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
            except TmdbError:
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
        data = self._api.get_json(f"/3/movie/{tmdb_id}")
        path = self._poster_path(data, tmdb_id) if data is not None else None  # None: 404
        self.cache.put_poster(tmdb_id, path, self.found_ttl if path else self.missing_ttl)
        return path

    def _fetch_find(self, key: str) -> tuple[int | None, str | None]:
        data = self._api.get_json(f"/3/find/{key}", {"external_source": "imdb_id"})
        results = (data or {}).get("movie_results")
        if results is not None and not isinstance(results, list):
            raise self._api.error(f"malformed answer for /3/find/{key}")
        first = next((r for r in results or [] if isinstance(r, dict)), None)
        tmdb_id = positive_int(first.get("id")) if first is not None else None
        if tmdb_id is None:
            self.cache.put_imdb(key, None, self.missing_ttl)
            return None, None
        path = self._poster_path(first, key)
        self.cache.put_imdb(key, tmdb_id, self.found_ttl)
        self.cache.put_poster(tmdb_id, path, self.found_ttl if path else self.missing_ttl)
        return tmdb_id, path

    def _poster_path(self, data: Mapping[str, Any], movie: object) -> str | None:
        path = data.get("poster_path")
        if path is None or path == "":
            return None
        if not valid_poster_path(path):
            log.warning("TMDB sent a malformed poster_path for %s", movie)
            raise self._api.error(f"malformed poster_path for {movie}")
        return path

    def _fetch_config(self) -> ImageConfig:
        try:
            data = self._api.get_json("/3/configuration")
            config = parse_config(data, time.time() + self.config_ttl)
        except TmdbError:
            stale = self._cached_config(fresh_only=False)
            config = (stale or DEFAULT_IMAGE_CONFIG)._replace(
                # TMDB's well-known values until the breaker period is over, so that a broken
                # endpoint does not cost every page a request.
                expires=time.time() + min(self._api.breaker.seconds, self.config_ttl)
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
            return parse_config({"images": json.loads(entry.value)}, entry.expires)
        except (ValueError, TmdbError):
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
        return stale or DEFAULT_IMAGE_CONFIG
