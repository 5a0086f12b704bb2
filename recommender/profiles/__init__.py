"""Saved rating profiles behind private links: SQLite (embedded default) or PostgreSQL.

Usage::

    store = open_store()                 # RECOMMENDER_DATABASE_URL, else the SQLite file
    token = store.create()               # put it in the URL: ?profile=<token>
    store.rate(token, 2571, 4.5)
    store.ratings(token)                 # {2571: 4.5}
    store.ratings("wrong")               # raises ProfileNotFound

Both backends have the same methods and guarantees (:class:`ProfileStoreBase`); only the
token's SHA-256 is stored.
"""

from __future__ import annotations

from pathlib import Path

from recommender.profiles.sqlite import ProfileStore, default_profiles_path
from recommender.profiles.store import (
    MAX_RATINGS_PER_PROFILE,
    ProfileError,
    ProfileNotFound,
    ProfileStoreBase,
    ProfileStoreError,
)
from recommender.ratings import check_rating, check_ratings
from recommender.settings import settings

__all__ = [
    "MAX_RATINGS_PER_PROFILE",
    "ProfileError",
    "ProfileNotFound",
    "ProfileStore",
    "ProfileStoreBase",
    "ProfileStoreError",
    "SQLiteProfileStore",
    "check_rating",
    "check_ratings",
    "default_profiles_path",
    "open_store",
]

SQLiteProfileStore = ProfileStore


def open_store(url: str | None = None) -> ProfileStoreBase:
    """The profile store for ``url``: ``sqlite:///relative/path``, ``sqlite:////absolute/path``
    or ``postgresql://user:password@host:port/database``.

    ``None`` uses ``settings().database_url`` (RECOMMENDER_DATABASE_URL), else the SQLite file
    at ``settings().profiles_path``. Raises :class:`ProfileStoreError` when the store cannot be
    opened; the message never contains the URL's password.
    """
    if url is None:
        url = settings().database_url
        if url is None:
            return ProfileStore(settings().profiles_path)
    scheme = url.partition(":")[0].lower()
    if scheme == "sqlite" and url.startswith("sqlite:///"):
        return ProfileStore(Path(url.removeprefix("sqlite:///")))
    if scheme in ("postgresql", "postgres"):
        try:
            from recommender.profiles.postgres import PostgresProfileStore
        except ImportError as error:
            raise ProfileStoreError(
                f"a PostgreSQL profile store needs psycopg ({error}); "
                "pip install -r requirements-postgres.txt"
            ) from None
        return PostgresProfileStore(url)
    raise ProfileStoreError(
        f"unsupported profile store URL scheme {scheme!r}: use sqlite:///PATH or "
        "postgresql://user:password@host:port/database"
    )
