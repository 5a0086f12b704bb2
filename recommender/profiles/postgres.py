"""Profiles in PostgreSQL (psycopg 3), for several app servers sharing one store.

Chosen with ``RECOMMENDER_DATABASE_URL=postgresql://user:password@host:port/database``. Each
call opens its own connection, as the SQLite store does: the store is touched only when a
visitor with a private link opens it or changes a rating, so a few milliseconds of connection
set-up do not matter, and the store holds no state that a server restart could break. While
the server is down, calls fail at once with a clear :class:`ProfileStoreError`; the next call
after it is back succeeds. (A client-side pool was tried: after an outage its reconnection
back-off kept calls failing for many seconds.) With many replicas, put PgBouncer in front of
the server so connections are pooled there.

Writes lock the profile's row (``SELECT ... FOR UPDATE``), so concurrent writers to one
profile queue up as SQLite's ``BEGIN IMMEDIATE`` makes them, and the per-profile cap is
checked against a stable count.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict

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

    ``connect_timeout`` (whole seconds) bounds how long a call waits for a server that does
    not answer. The password never appears in ``repr`` or in error messages.
    """

    _lock_profile = " FOR UPDATE"
    _order_column = "seq"

    def __init__(self, url: str, *, connect_timeout: int = 5):
        self._url = url
        self.where = redacted(url)
        self.connect_timeout = connect_timeout
        with self._connect() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            conn.execute(_SCHEMA)

    def __repr__(self) -> str:
        return f"PostgresProfileStore({self.where!r})"

    def _sql(self, statement: str) -> str:
        return statement.replace("?", "%s")

    @contextmanager
    def _connect(self) -> Iterator[psycopg.Connection]:
        try:
            # autocommit: a read is one statement; writes open a transaction (below).
            with psycopg.connect(
                self._url, autocommit=True, connect_timeout=self.connect_timeout
            ) as conn:
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
