"""The one place that reads the environment: every setting of the package and the app.

``settings()`` returns a frozen :class:`Settings`, rebuilt only when one of the variables below
changes (so a test or tool that sets a variable sees it at once); everything else asks it.
Default folders follow the platform's conventions (``platformdirs``: ``~/.cache/movie-recommender``
and ``~/.local/share/movie-recommender`` on Linux, honouring ``XDG_CACHE_HOME`` /
``XDG_DATA_HOME``).

| variable | field |
| --- | --- |
| ``MOVIELENS_DIR`` | ``movielens_dir``: the MovieLens folder (None: download ml-latest-small) |
| ``MOVIELENS_URL`` | ``movielens_url``: where that download comes from |
| ``RECOMMENDER_CACHE`` | ``cache_dir``: downloads, binary ratings copies, models, posters |
| ``RECOMMENDER_DATA`` | ``data_dir``: saved profiles (user data, never a cache) |
| ``RECOMMENDER_DATABASE_URL`` | ``database_url``: the profile store (None: SQLite in data_dir) |
| ``TMDB_API_KEY`` / ``TMDB_READ_TOKEN`` / ``TMDB_API_URL`` | TMDB credentials and endpoint |
| ``RECOMMENDER_RUN_LOG`` | ``run_log``: a JSON-lines file timing every script run (opt-in) |
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

APP_NAME = "movie-recommender"
MOVIELENS_URL = "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip"
TMDB_API_URL = "https://api.themoviedb.org"


@dataclass(frozen=True)
class Settings:
    """Every setting read from the environment. Secrets never appear in ``repr``."""

    movielens_dir: Path | None = None
    movielens_url: str = MOVIELENS_URL
    cache_dir: Path = field(default_factory=lambda: Path(platformdirs.user_cache_dir(APP_NAME)))
    data_dir: Path = field(default_factory=lambda: Path(platformdirs.user_data_dir(APP_NAME)))
    database_url: str | None = field(default=None, repr=False)  # may hold a password
    tmdb_api_key: str | None = field(default=None, repr=False)
    tmdb_read_token: str | None = field(default=None, repr=False)
    tmdb_api_url: str = TMDB_API_URL
    run_log: Path | None = None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``environ`` (default ``os.environ``); empty values count as unset."""
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def folder(name: str) -> Path | None:
            value = get(name)
            return Path(value).expanduser() if value else None

        defaults = cls()
        return cls(
            movielens_dir=folder("MOVIELENS_DIR"),
            movielens_url=get("MOVIELENS_URL") or MOVIELENS_URL,
            cache_dir=folder("RECOMMENDER_CACHE") or defaults.cache_dir,
            data_dir=folder("RECOMMENDER_DATA") or defaults.data_dir,
            database_url=get("RECOMMENDER_DATABASE_URL"),
            tmdb_api_key=get("TMDB_API_KEY"),
            tmdb_read_token=get("TMDB_READ_TOKEN"),
            tmdb_api_url=(get("TMDB_API_URL") or TMDB_API_URL).rstrip("/"),
            run_log=folder("RECOMMENDER_RUN_LOG"),
        )

    @property
    def profiles_path(self) -> Path:
        """The embedded profile store: ``data_dir/profiles.sqlite3``."""
        return self.data_dir / "profiles.sqlite3"


VARIABLES = (
    "MOVIELENS_DIR",
    "MOVIELENS_URL",
    "RECOMMENDER_CACHE",
    "RECOMMENDER_DATA",
    "RECOMMENDER_DATABASE_URL",
    "TMDB_API_KEY",
    "TMDB_READ_TOKEN",
    "TMDB_API_URL",
    "RECOMMENDER_RUN_LOG",
    "XDG_CACHE_HOME",  # read by platformdirs for the default folders
    "XDG_DATA_HOME",
)


def settings() -> Settings:
    """The current settings: eleven dictionary look-ups, then a cached object."""
    return _settings_for(tuple(os.environ.get(name) for name in VARIABLES))


@functools.lru_cache(maxsize=4)
def _settings_for(values: tuple[str | None, ...]) -> Settings:
    return Settings.from_environ({k: v for k, v in zip(VARIABLES, values, strict=True) if v})
