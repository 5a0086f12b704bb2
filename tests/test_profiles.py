"""Profile store: private links, saved-at-once ratings, validation, concurrency, restarts.

One behavioural suite runs against both backends (``backend`` is "sqlite" or "postgresql"),
PostgreSQL on a real throwaway server (tests/postgres.py); a few tests at the end cover what
only one backend has (SQLite's file, WAL mode and default path; PostgreSQL's URL handling).
"""

from __future__ import annotations

import base64
import hashlib
import math
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from recommender.profiles import (
    ProfileNotFound,
    ProfileStore,
    ProfileStoreBase,
    ProfileStoreError,
    check_rating,
    default_profiles_path,
    open_store,
)
from recommender.profiles import store as store_module

REPO = Path(__file__).resolve().parents[1]


class Backend:
    """One backend under test: open stores on it, look at its raw storage, take it away."""

    def __init__(self, name: str, url: str, request: pytest.FixtureRequest):
        self.name, self.url, self._request = name, url, request
        self.opened: list[ProfileStoreBase] = []

    def open(self) -> ProfileStoreBase:
        """A new store object on the same database (as another process or replica would)."""
        self.opened.append(open_store(self.url))
        return self.opened[-1]

    def rows(self, query: str) -> list[tuple]:
        if self.name == "sqlite":
            with sqlite3.connect(self.url.removeprefix("sqlite:///")) as conn:
                return conn.execute(query).fetchall()
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            cursor = conn.execute(query)
            return cursor.fetchall() if cursor.description else []

    def stored_bytes(self) -> bytes:
        """Every byte the database has written to disk (SQLite: file, WAL, shared memory)."""
        if self.name == "sqlite":
            path = Path(self.url.removeprefix("sqlite:///"))
            return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        self.rows("CHECKPOINT")  # table files as well as the write-ahead log
        server = self._request.getfixturevalue("postgres_server")
        return b"".join(p.read_bytes() for p in server.data.rglob("*") if p.is_file())

    @contextmanager
    def gone(self) -> Iterator[None]:
        """The database disappears (server stopped; the file's folder unmounted), then returns."""
        if self.name == "sqlite":
            path = Path(self.url.removeprefix("sqlite:///"))
            hidden = path.parent.with_name(path.parent.name + "-unmounted")
            path.parent.rename(hidden)  # as an unmounted volume would
            try:
                yield
            finally:
                hidden.rename(path.parent)
        else:
            server = self._request.getfixturevalue("postgres_server")
            server.stop()
            try:
                yield
            finally:
                server.start()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request, tmp_path) -> Iterator[Backend]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store' / 'profiles.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    backend = Backend(request.param, url, request)
    yield backend
    for store in backend.opened:
        store.close()


@pytest.fixture
def store(backend) -> ProfileStoreBase:
    return backend.open()


# --- links -------------------------------------------------------------------------------


def test_token_has_at_least_128_random_bits_and_is_url_safe(store):
    tokens = {store.create() for _ in range(20)}
    assert len(tokens) == 20
    for token in tokens:
        assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8 >= 128
        assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_only_the_token_hash_is_stored(backend, store):
    token = store.create()
    store.rate(token, 2571, 4.5)
    data = backend.stored_bytes()
    assert hashlib.sha256(token.encode()).digest() in data  # the scan does see the database
    assert token.encode() not in data
    assert token.encode("utf-16-le") not in data
    stored = [row[0] for row in backend.rows("SELECT token_sha256 FROM profiles")]
    assert stored == [hashlib.sha256(token.encode()).digest()]


@pytest.mark.parametrize("bad", ["", "x", None, 42, "A" * 10_000, "tok\udc80en"])
def test_wrong_token_cannot_read_or_write(store, bad):
    token = store.create()
    store.rate(token, 1, 4.0)
    other = token[:-1] + ("A" if token[-1] != "A" else "B")
    for wrong in (bad, other):
        for call in (
            lambda t: store.ratings(t),
            lambda t: store.rate(t, 1, 1.0),
            lambda t: store.add_many(t, {2: 3.0}),
            lambda t: store.replace_all(t, {}),
            lambda t: store.remove(t, 1),
            lambda t: store.clear(t),
            lambda t: store.delete(t),
        ):
            with pytest.raises(ProfileNotFound) as raised:
                call(wrong)
            # The same message whatever the token: nothing about which profiles exist.
            assert str(raised.value) == str(ProfileNotFound())
        assert not store.exists(wrong)
    assert store.ratings(token) == {1: 4.0}


def test_profiles_are_separate(store):
    first, second = store.create(), store.create()
    store.rate(first, 1, 5.0)
    store.rate(second, 2, 1.0)
    assert store.ratings(first) == {1: 5.0}
    assert store.ratings(second) == {2: 1.0}


# --- ratings -----------------------------------------------------------------------------


def test_rate_change_remove_clear_replace(store):
    token = store.create()
    assert store.ratings(token) == {}
    assert store.exists(token)
    store.rate(token, 2571, 4.5)
    store.rate(token, 1, 3)
    store.rate(token, 2571, 2.0)  # a change, not a second rating
    assert store.ratings(token) == {2571: 2.0, 1: 3.0}
    assert store.remove(token, 2571) is True
    assert store.remove(token, 2571) is False
    assert store.ratings(token) == {1: 3.0}
    store.add_many(token, {5: 0.5, 6: 5.0, 1: 4.0})
    assert store.ratings(token) == {1: 4.0, 5: 0.5, 6: 5.0}
    store.replace_all(token, {7: 3.5})
    assert store.ratings(token) == {7: 3.5}
    store.clear(token)
    assert store.ratings(token) == {}
    assert store.exists(token)  # clearing keeps the link
    store.delete(token)
    assert not store.exists(token)
    with pytest.raises(ProfileNotFound):
        store.ratings(token)


def test_ratings_come_back_in_the_order_they_were_last_rated(store):
    token = store.create()
    for movie in (30, 10, 20):
        store.rate(token, movie, 3.0)
    store.rate(token, 30, 4.0)
    assert list(store.ratings(token)) == [10, 20, 30]


def test_ratings_are_plain_python_types(store):
    token = store.create({np.int32(3): np.float32(4.5), np.int64(4): 2})
    ratings = store.ratings(token)
    assert ratings == {3: 4.5, 4: 2.0}
    assert all(type(k) is int and type(v) is float for k, v in ratings.items())


def test_create_with_ratings(store):
    token = store.create({1: 4.0, 2: 2.5})
    assert store.ratings(token) == {1: 4.0, 2: 2.5}


@pytest.mark.parametrize(
    ("movie", "rating", "words"),
    [
        (12, 0.0, "12"), (12, 5.5, "12"), (12, 0.25, "12"), (12, 3.3, "12"), (12, -1, "12"),
        (12, math.nan, "12"), (12, math.inf, "12"), (12, "4", "12"), (12, None, "12"),
        (12, True, "12"), (1.5, 4.0, "1.5"), ("12", 4.0, "'12'"), (True, 4.0, "True"),
        (0, 4.0, "0"), (-3, 4.0, "-3"), (2**40, 4.0, str(2**40)), (None, 4.0, "None"),
    ],
)
def test_invalid_ratings_are_refused_naming_the_movie(store, movie, rating, words):
    token = store.create({1: 3.0})
    with pytest.raises(ValueError, match="movie") as raised:
        store.rate(token, movie, rating)
    assert words in str(raised.value)
    with pytest.raises(ValueError):
        store.add_many(token, {2: 4.0, movie: rating})
    with pytest.raises(ValueError):
        store.replace_all(token, {movie: rating})
    assert store.ratings(token) == {1: 3.0}  # nothing half-applied


def test_check_rating_accepts_every_half_step():
    for halves in range(1, 11):
        assert check_rating(7, halves / 2) == (7, halves / 2)
    assert check_rating(np.int64(7), np.float64(4.5)) == (7, 4.5)


def test_failed_create_leaves_no_profile(backend, store):
    with pytest.raises(ValueError, match="movieId 9"):
        store.create({1: 4.0, 9: 6.0})
    assert backend.rows("SELECT COUNT(*) FROM profiles") == [(0,)]


def test_add_many_is_all_or_nothing_at_the_database_too(store, monkeypatch):
    token = store.create({1: 3.0, 2: 3.0})
    monkeypatch.setattr(store_module, "MAX_RATINGS_PER_PROFILE", 3)
    # Validation passes (2 ratings), but the profile would hold 4: the transaction rolls back.
    with pytest.raises(ValueError, match="at most 3"):
        store.add_many(token, {3: 4.0, 4: 4.0})
    assert store.ratings(token) == {1: 3.0, 2: 3.0}
    with pytest.raises(ValueError, match="at most 3"):
        store.replace_all(token, {5: 1.0, 6: 1.0, 7: 1.0, 8: 1.0})
    assert store.ratings(token) == {1: 3.0, 2: 3.0}


# --- storage -----------------------------------------------------------------------------


def test_restart_keeps_every_rating(backend, store):
    token = store.create()
    expected = {movie: (movie % 10 + 1) / 2 for movie in range(1, 301)}
    for movie, rating in expected.items():
        store.rate(token, movie, rating)
    store.remove(token, 300)
    del expected[300]
    del store
    assert backend.open().ratings(token) == expected


def test_a_database_that_goes_away_gives_a_clear_error_and_loses_nothing(backend, store):
    token = store.create({1: 4.0})
    with backend.gone():
        for call in (
            lambda: store.ratings(token),
            lambda: store.rate(token, 2, 3.0),
            lambda: store.exists(token),
            lambda: store.create(),
            # A new SQLite store creates its file: only a server can refuse a new store.
            *([backend.open] if backend.name == "postgresql" else []),
        ):
            with pytest.raises(ProfileStoreError, match="profile store") as raised:
                call()
            # One line saying what is unreachable and why; never a driver's traceback text.
            assert "\n" not in str(raised.value)
    # Back again: the same store object works, and the failed write was not half-applied.
    assert store.ratings(token) == {1: 4.0}
    store.rate(token, 2, 3.0)
    assert backend.open().ratings(token) == {1: 4.0, 2: 3.0}


# --- concurrency -------------------------------------------------------------------------


def test_threads_rating_one_profile_lose_nothing(store):
    token = store.create()
    barrier = threading.Barrier(8)

    def session(worker: int) -> None:
        barrier.wait()
        for i in range(40):
            store.rate(token, worker * 1000 + i + 1, 4.0)
        store.add_many(token, {worker * 1000 + 500 + i: 2.5 for i in range(20)})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(session, range(8)))
    ratings = store.ratings(token)
    assert len(ratings) == 8 * 60
    assert ratings[7 * 1000 + 40] == 4.0 and ratings[3 * 1000 + 519] == 2.5


def test_two_store_instances_on_one_database_lose_nothing(backend):
    first, second = backend.open(), backend.open()
    token = first.create()
    barrier = threading.Barrier(2)

    def session(store: ProfileStoreBase, offset: int) -> None:
        barrier.wait()
        for i in range(100):
            store.rate(token, offset + i, 3.5)
            if i % 10 == 0:  # reads interleave with the other session's writes
                store.ratings(token)

    threads = [threading.Thread(target=session, args=(s, o))
               for s, o in ((first, 1), (second, 10_001))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(first.ratings(token)) == 200
    assert second.ratings(token) == first.ratings(token)


@pytest.mark.slow
def test_processes_rating_one_profile_lose_nothing(backend, store):
    token = store.create()
    script = textwrap.dedent(
        """
        import sys
        from recommender.profiles import open_store
        url, token, offset = sys.argv[1], sys.argv[2], int(sys.argv[3])
        with open_store(url) as store:
            for i in range(100):
                store.rate(token, offset + i, 4.5)
            store.add_many(token, {offset + 500 + i: 1.0 for i in range(50)})
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    workers = [
        subprocess.Popen([sys.executable, "-c", script, backend.url, token, str(n * 1000 + 1)],
                         env=env, stderr=subprocess.PIPE, text=True)
        for n in range(4)
    ]
    for worker in workers:
        _, errors = worker.communicate(timeout=120)
        assert worker.returncode == 0, errors
    ratings = backend.open().ratings(token)
    assert len(ratings) == 4 * 150
    assert ratings[3001] == 4.5 and ratings[3549] == 1.0


# --- what only one backend has ------------------------------------------------------------


def test_sqlite_default_path_follows_recommender_data(monkeypatch, tmp_path):
    monkeypatch.setenv("RECOMMENDER_DATA", str(tmp_path / "data"))
    assert default_profiles_path() == tmp_path / "data" / "profiles.sqlite3"
    for store in (ProfileStore(), open_store()):
        assert isinstance(store, ProfileStore)
        assert store.path == tmp_path / "data" / "profiles.sqlite3"
    assert (tmp_path / "data" / "profiles.sqlite3").exists()


def test_sqlite_wal_mode_and_private_file(tmp_path):
    store = ProfileStore(tmp_path / "p.sqlite3")
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    if os.name == "posix":
        assert store.path.stat().st_mode & 0o077 == 0


def test_sqlite_unusable_path_raises_store_error(tmp_path):
    with pytest.raises(ProfileStoreError, match="profile store"):
        ProfileStore(tmp_path)  # a folder, not a file


@pytest.mark.postgres
def test_open_store_reads_the_database_url_from_the_settings(monkeypatch, postgres_url):
    monkeypatch.setenv("RECOMMENDER_DATABASE_URL", postgres_url)
    with open_store() as store, open_store(postgres_url) as other:
        assert type(store).__name__ == "PostgresProfileStore"
        token = store.create({1: 4.0})
        assert other.ratings(token) == {1: 4.0}


@pytest.mark.postgres
def test_postgres_password_never_reaches_errors_or_repr(postgres_server):
    secret = "s3cret-Pa55word"
    unreachable = f"postgresql://app:{secret}@127.0.0.1:{postgres_server.port + 1}/profiles"
    with pytest.raises(ProfileStoreError, match="is unavailable") as raised:
        open_store(unreachable)
    assert secret not in str(raised.value)
    assert "postgresql://app@127.0.0.1" in str(raised.value)
    with pytest.raises(ProfileStoreError) as raised:
        open_store(f"postgresql://app:{secret}@127.0.0.1:notaport/profiles")
    assert secret not in str(raised.value)
    with open_store(postgres_server.url.replace("postgres@", f"postgres:{secret}@")) as store:
        assert secret not in repr(store)


def test_unknown_url_scheme_is_refused():
    with pytest.raises(ProfileStoreError, match="'mysql'"):
        open_store("mysql://user:pw@host/db")
