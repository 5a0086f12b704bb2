"""What every profile store shares: tokens, errors, limits and the operations themselves.

A visitor's ratings live under a random token (``secrets.token_urlsafe(32)``: 256 bits) that
the app puts in the page URL. The database holds only the token's SHA-256, so a copy of the
database does not hand out anyone's link. A salt or slow hash would add nothing: the token
is random and long, so it cannot be guessed from its hash.

The backends (:mod:`.sqlite`, :mod:`.postgres`) differ only in how they connect, start a
write transaction, lock a profile and spell their schema; the statements below are written
once, with ``?`` placeholders that a backend may translate.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any, ClassVar

from recommender.ratings import MAX_RATING, check_rating, check_ratings

TOKEN_BYTES = 32  # 256 random bits; the issue asks for at least 128
MAX_TOKEN_CHARS = 256  # anything longer is not one of ours; don't hash megabytes from a URL
MAX_RATINGS_PER_PROFILE = 100_000  # more than any person rates; bounds what one link can store


class ProfileError(Exception):
    """Base class of the profile store's errors."""


class ProfileNotFound(ProfileError, LookupError):
    """No profile has this token. The message is the same for every bad token, so it tells
    nothing about which profiles exist."""

    def __init__(self) -> None:
        super().__init__(
            "No saved profile matches this link. Check that the whole link was copied; "
            "a deleted profile cannot be recovered."
        )


class ProfileStoreError(ProfileError):
    """The database could not be reached, read or written (server down, disk full, ...)."""


def token_hash(token: object) -> bytes:
    """SHA-256 of a token; ProfileNotFound for anything that cannot be one of ours."""
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_CHARS:
        raise ProfileNotFound()
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def check_profile_ratings(ratings: Mapping[int, float]) -> dict[int, float]:
    """The rating rule (:func:`recommender.ratings.check_ratings`) plus the per-profile cap."""
    clean = check_ratings(ratings)
    if len(clean) > MAX_RATINGS_PER_PROFILE:
        raise ValueError(
            f"a profile can hold at most {MAX_RATINGS_PER_PROFILE} ratings, not {len(clean)}"
        )
    return clean


class ProfileStoreBase(ABC):
    """Rating profiles behind private links; every backend has these methods and guarantees.

    Each call is its own transaction on a connection no other thread uses at the same time,
    so a rating is saved when the call returns and many threads and processes can share one
    store. Every method that
    takes a token raises :class:`ProfileNotFound` when no profile has it, and changes
    nothing; a database that cannot be reached raises :class:`ProfileStoreError`.
    """

    # Appended to the statement that finds the profile a write changes.
    _lock_profile: ClassVar[str] = ""
    # Breaks ties between ratings saved by one call, in the order they were first saved.
    _order_column: ClassVar[str]

    # --- backend hooks ---------------------------------------------------------------------

    @abstractmethod
    def _connect(self) -> AbstractContextManager[Any]:
        """A connection for one call; driver errors leave it as ProfileStoreError."""

    @abstractmethod
    def _transaction(self, conn: Any) -> AbstractContextManager[None]:
        """A write transaction, rolled back when the block raises."""

    def _sql(self, statement: str) -> str:
        """The statement in the driver's placeholder style (``?`` as written here)."""
        return statement

    def close(self) -> None:  # noqa: B027 - only a server store holds anything
        """Release what the store holds (a server store's connections)."""

    def __enter__(self) -> ProfileStoreBase:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- public API ------------------------------------------------------------------------

    def create(self, ratings: Mapping[int, float] | None = None) -> str:
        """Create a profile (optionally with ``ratings``, in the same transaction) and return
        its secret token. Show the token to the visitor once; it cannot be recovered."""
        clean = check_profile_ratings(ratings or {})
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = time.time()
        with self._connect() as conn, self._transaction(conn):
            (profile,) = conn.execute(
                self._sql(
                    "INSERT INTO profiles (token_sha256, created, updated) VALUES (?, ?, ?)"
                    " RETURNING id"
                ),
                (token_hash(token), now, now),
            ).fetchone()
            self._upsert(conn, profile, clean, now)
        return token

    def exists(self, token: str) -> bool:
        """Whether a profile has this token."""
        try:
            digest = token_hash(token)
        except ProfileNotFound:
            return False
        with self._connect() as conn:
            found = conn.execute(
                self._sql("SELECT 1 FROM profiles WHERE token_sha256 = ?"), (digest,)
            )
            return found.fetchone() is not None

    def ratings(self, token: str) -> dict[int, float]:
        """The profile's ratings, movie id -> rating, in the order they were (last) rated."""
        digest = token_hash(token)
        with self._connect() as conn:
            # One statement, so the profile and its ratings are read from the same snapshot.
            rows = conn.execute(
                self._sql(
                    "SELECT r.movie_id, r.rating FROM profiles p"
                    " LEFT JOIN ratings r ON r.profile_id = p.id"
                    f" WHERE p.token_sha256 = ? ORDER BY r.rated_at, r.{self._order_column}"
                ),
                (digest,),
            ).fetchall()
        if not rows:
            raise ProfileNotFound()
        return {int(movie): float(rating) for movie, rating in rows if movie is not None}

    def rate(self, token: str, movie_id: int, rating: float) -> None:
        """Add or change one rating; saved when this returns."""
        self.add_many(token, {movie_id: rating})

    def add_many(self, token: str, ratings: Mapping[int, float]) -> None:
        """Add or change many ratings at once: all are saved, or (on any error) none."""
        clean = check_profile_ratings(ratings)
        with self._write(token) as (conn, profile):
            self._upsert(conn, profile, clean, time.time())

    def replace_all(self, token: str, ratings: Mapping[int, float]) -> None:
        """Make ``ratings`` the profile's only ratings, in one transaction."""
        clean = check_profile_ratings(ratings)
        with self._write(token) as (conn, profile):
            conn.execute(self._sql("DELETE FROM ratings WHERE profile_id = ?"), (profile,))
            self._upsert(conn, profile, clean, time.time())

    def remove(self, token: str, movie_id: int) -> bool:
        """Remove one rating; returns whether the movie was rated."""
        movie, _ = check_rating(movie_id, MAX_RATING)
        with self._write(token) as (conn, profile):
            cursor = conn.execute(
                self._sql("DELETE FROM ratings WHERE profile_id = ? AND movie_id = ?"),
                (profile, movie),
            )
            return cursor.rowcount > 0

    def clear(self, token: str) -> None:
        """Remove every rating; the profile (and its link) stays."""
        with self._write(token) as (conn, profile):
            conn.execute(self._sql("DELETE FROM ratings WHERE profile_id = ?"), (profile,))

    def delete(self, token: str) -> None:
        """Delete the profile and its ratings; the link stops working."""
        with self._write(token) as (conn, profile):
            conn.execute(self._sql("DELETE FROM ratings WHERE profile_id = ?"), (profile,))
            conn.execute(self._sql("DELETE FROM profiles WHERE id = ?"), (profile,))

    # --- shared plumbing -------------------------------------------------------------------

    @contextmanager
    def _write(self, token: str) -> Iterator[tuple[Any, int]]:
        """A write transaction on the token's profile; ProfileNotFound before any change."""
        digest = token_hash(token)
        with self._connect() as conn, self._transaction(conn):
            row = conn.execute(
                self._sql("SELECT id FROM profiles WHERE token_sha256 = ?" + self._lock_profile),
                (digest,),
            ).fetchone()
            if row is None:
                raise ProfileNotFound()
            yield conn, row[0]
            conn.execute(
                self._sql("UPDATE profiles SET updated = ? WHERE id = ?"), (time.time(), row[0])
            )

    def _upsert(self, conn: Any, profile: int, ratings: dict[int, float], now: float) -> None:
        if not ratings:
            return
        conn.cursor().executemany(
            self._sql(
                "INSERT INTO ratings (profile_id, movie_id, rating, rated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (profile_id, movie_id)"
                " DO UPDATE SET rating = excluded.rating, rated_at = excluded.rated_at"
            ),
            [(profile, movie, rating, now) for movie, rating in ratings.items()],
        )
        (count,) = conn.execute(
            self._sql("SELECT COUNT(*) FROM ratings WHERE profile_id = ?"), (profile,)
        ).fetchone()
        if count > MAX_RATINGS_PER_PROFILE:  # raising here rolls the transaction back
            raise ValueError(
                f"a profile can hold at most {MAX_RATINGS_PER_PROFILE} ratings; this would "
                f"make {count}"
            )
