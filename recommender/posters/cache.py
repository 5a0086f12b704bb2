"""The poster cache: TMDB answers in SQLite, so that a restart refetches nothing."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

from recommender.settings import settings

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS posters (
    tmdb_id INTEGER PRIMARY KEY, path TEXT, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS imdb (
    imdb_id TEXT PRIMARY KEY, tmdb_id INTEGER, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL NOT NULL);
"""


class CacheEntry(NamedTuple):
    """A cached answer (poster path, TMDB id or JSON text; None = "TMDB has none")."""

    value: Any
    expires: float  # Unix time

    def fresh(self, now: float | None = None) -> bool:
        return self.expires > (time.time() if now is None else now)


def default_cache_path() -> Path:
    """``posters.sqlite3`` in the settings' cache folder (``RECOMMENDER_CACHE``)."""
    return settings().cache_dir / "posters.sqlite3"

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
