"""Profiles in PostgreSQL (psycopg 3), for several app servers sharing one store.

Chosen with ``RECOMMENDER_DATABASE_URL=postgresql://user:password@host:port/database``. Each
store keeps a small pool of connections (psycopg_pool): PostgreSQL starts a process for every
connection, which costs far more than the queries (a read: 47 ms with a new connection,
5 ms from the pool, on this project's busy 2-core machine). Connections are checked before
use, and a failed reconnection is given up after two seconds rather than retried with a
growing back-off, so while the server is down each call fails after ``timeout`` seconds with a clear
:class:`ProfileStoreError`, and the first call after it is back reconnects. With many
replicas, put PgBouncer in front of the server.

Writes lock the profile's row (``SELECT ... FOR UPDATE``), so concurrent writers to one
profile queue up as SQLite's ``BEGIN IMMEDIATE`` makes them, and the per-profile cap is
checked against a stable count.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool

from recommender.profiles.store import ProfileStoreBase, ProfileStoreError

# The same tables as the SQLite store. seq orders ratings saved by one call (like SQLite's
# rowid it survives an upsert).
_SCHEMA = """
CREATE TABLE IF NOT EXISTS profiles (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_sha256 BYTEA NOT NULL UNIQUE,
    created DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS ratings (
    profile_id BIGINT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    movie_id INTEGER NOT NULL,
    rating REAL NOT NULL CHECK (rating BETWEEN 0.5 AND 5.0),
    rated_at DOUBLE PRECISION NOT NULL,
    seq BIGSERIAL,
    PRIMARY KEY (profile_id, movie_id)
);
"""
# Replicas that start together on an empty database would race on CREATE TABLE IF NOT EXISTS
# (a unique violation in the catalogue); this lock makes them take turns.
_SCHEMA_LOCK = 0x70726F66  # "prof"


def redacted(url: str) -> str:
    """``postgresql://user@host:port/database``: the URL without its password or options."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.Error as error:
        raise ProfileStoreError(
            f"RECOMMENDER_DATABASE_URL is not a valid PostgreSQL URL: {error}"
        ) from None
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', '')}{port}/{parts.get('dbname', '')}"


class PostgresProfileStore(ProfileStoreBase):
    """Rating profiles in a PostgreSQL database; the tables are created when missing.

    ``timeout`` (seconds) bounds how long a call waits for a connection (server down, or all
    ``max_connections`` of this process busy). The password never appears in ``repr`` or in
    error messages. ``close()`` (or ``with``) ends the pool; the app keeps one store open.
    """

    _lock_profile = " FOR UPDATE"
    _order_column = "seq"

    def __init__(self, url: str, *, timeout: float = 5.0, max_connections: int = 4):
        self.where = redacted(url)
        self.timeout = timeout
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_connections,
            # autocommit: a read is one statement; writes open a transaction (below).
            kwargs={"autocommit": True, "connect_timeout": max(1, round(timeout))},
            check=ConnectionPool.check_connection,
            timeout=timeout,
            reconnect_timeout=min(2.0, timeout),
            name="profiles",
            open=True,
        )
        try:
            with self._connect() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                conn.execute(_SCHEMA)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._pool.close()

    def __repr__(self) -> str:
        return f"PostgresProfileStore({self.where!r})"

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s")

    @contextmanager
    def _connect(self) -> Iterator[psycopg.Connection]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg.Error as error:
            # libpq's messages run over several lines (hints); the first says what happened.
            reason = (str(error).strip() or type(error).__name__).splitlines()[0]
            state = "is unavailable" if isinstance(error, psycopg.OperationalError) else "failed"
            raise ProfileStoreError(f"profile store {self.where} {state}: {reason}") from error

    @contextmanager
    def _transaction(self, conn: psycopg.Connection) -> Iterator[None]:
        with conn.transaction():
            yield
