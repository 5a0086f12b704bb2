"""Movie posters from TMDB: parallel, cached in SQLite, bounded in time, careful with the key.

:class:`PosterClient` turns TMDB ids (or IMDb ids, through ``/3/find``) into full image URLs.
Answers, including "TMDB has no poster", are kept in a SQLite cache so that a restart
refetches nothing; network errors are never cached. A page never waits longer than one
timeout: requests run on a small shared pool and a circuit breaker answers ``None`` at once
while TMDB is unreachable or keeps failing; a :class:`Deadline` bounds every lookup of one page
together. Each request is bounded in time and bytes, and closing never waits long.
Credentials never appear in logs, errors or reprs.

Without credentials or a network, :func:`placeholder_data_uri` draws a poster-shaped SVG.

``python -m recommender.posters prefetch`` fills the cache for a whole MovieLens catalogue.

Modules: :mod:`~.client` (the client), :mod:`~.tmdb` (the one place that sends HTTP requests),
:mod:`~.cache` (SQLite), :mod:`~.ratelimit` (token bucket, circuit breaker),
:mod:`~.credentials` (keys and scrubbing), :mod:`~.ids`, :mod:`~.placeholders`, :mod:`~.cli`.
"""

from recommender.posters.cache import CacheEntry, PosterCache, default_cache_path
from recommender.posters.cli import main
from recommender.posters.client import DAY, PosterClient, PrefetchReport
from recommender.posters.placeholders import placeholder_data_uri, placeholder_svg
from recommender.posters.ratelimit import CircuitBreaker, Deadline, RateLimiter
from recommender.posters.tmdb import (
    DEFAULT_IMAGE_BASE,
    DEFAULT_POSTER_SIZES,
    ImageConfig,
    TmdbError,
    nearest_size,
)

TMDB_ATTRIBUTION = "This product uses the TMDB API but is not endorsed or certified by TMDB."

__all__ = [
    "DAY",
    "DEFAULT_IMAGE_BASE",
    "DEFAULT_POSTER_SIZES",
    "TMDB_ATTRIBUTION",
    "CacheEntry",
    "CircuitBreaker",
    "Deadline",
    "ImageConfig",
    "PosterCache",
    "PosterClient",
    "PrefetchReport",
    "RateLimiter",
    "TmdbError",
    "default_cache_path",
    "main",
    "nearest_size",
    "placeholder_data_uri",
    "placeholder_svg",
]
