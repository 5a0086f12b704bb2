"""The embedded profile store: one SQLite file, the default.

Every write is its own ``BEGIN IMMEDIATE`` transaction on a fresh connection, so many threads
(Streamlit sessions) and processes on one machine can share the file: SQLite serialises
writers (waiting up to ``timeout`` seconds) and, in WAL mode, readers never wait for them.
Per-row upserts mean that two sessions rating the same profile at once never lose each
other's ratings.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from recommender.profiles.store import ProfileStoreBase, ProfileStoreError
from recommender.settings import settings

_SCHEMA = """
CREATE TABLE IF NOT EXISTS profiles (
    id INTEGER PRIMARY KEY,
    token_sha256 BLOB NOT NULL UNIQUE,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS ratings (
    profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    movie_id INTEGER NOT NULL,
    rating REAL NOT NULL CHECK (rating BETWEEN 0.5 AND 5.0),
    rated_at REAL NOT NULL,
    UNIQUE (profile_id, movie_id)
);
"""


def default_profiles_path() -> Path:
    """``settings().profiles_path``: ``$RECOMMENDER_DATA/profiles.sqlite3``, else the
    platform's user-data folder. Profiles are user data: clearing caches never deletes them."""
    return settings().profiles_path


class ProfileStore(ProfileStoreBase):
    """Rating profiles in one SQLite file (WAL), safe to share between threads and processes.

    ``path=None`` uses :func:`default_profiles_path`. ``timeout`` is how long a write waits
    for another writer before giving up with :class:`ProfileStoreError`. The file is created
    here; if it disappears later (a volume unmounted, the file deleted), calls raise
    ProfileStoreError instead of silently starting an empty database.
    """

    _order_column = "rowid"  # an upsert keeps a row's rowid: first-saved order within a call

    def __init__(self, path: str | os.PathLike[str] | None = None, *, timeout: float = 10.0):
        self.path = Path(path).expanduser() if path is not None else default_profiles_path()
        self.timeout = timeout
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Ratings are personal: create the file readable by its owner only. SQLite gives
            # the -wal and -shm files the same permissions.
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        except OSError as error:
            raise ProfileStoreError(f"cannot create the profile store {self.path}: {error}") \
                from error
        # mode=rw: never create the file again behind the store's back.
        self._uri = self.path.absolute().as_uri() + "?mode=rw"
        with self._connect() as conn:
            # WAL persists in the file; readers then never block the writer or each other.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"ProfileStore({str(self.path)!r})"

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one call. Opening one costs well under a millisecond, and it is
        never shared between threads nor inherited across a fork."""
        conn = None
        try:
            # isolation_level=None: we issue BEGIN/COMMIT ourselves (BEGIN IMMEDIATE below).
            conn = sqlite3.connect(
                self._uri, uri=True, timeout=self.timeout, isolation_level=None
            )
            conn.execute("PRAGMA foreign_keys=ON")
            yield conn
        except sqlite3.Error as error:
            raise ProfileStoreError(f"profile store {self.path}: {error}") from error
        finally:
            if conn is not None:
                conn.close()

    @contextmanager
    def _transaction(self, conn: sqlite3.Connection) -> Iterator[None]:
        # IMMEDIATE takes the write lock up front: a read-then-write transaction that has to
        # upgrade its lock later can fail with SQLITE_BUSY at once, bypassing busy_timeout.
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if conn.in_transaction:  # SQLite may already have rolled back (disk full, ...)
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
