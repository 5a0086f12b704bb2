"""The loaded dataset: :class:`MovieLens`, its per-movie :class:`RatingTotals`, its fingerprint
and :class:`DataError`, shared by the readers, the binary copy and the rest of the package."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

RATING_COLUMNS = {"userId": "int32", "movieId": "int32", "rating": "float32", "timestamp": "int64"}
MOVIE_COLUMNS = {"movieId": "int32", "title": "string", "genres": "string"}
LINK_COLUMNS = {"movieId": "int32", "imdbId": "string", "tmdbId": "Int32"}
TAG_COLUMNS = {"userId": "int32", "movieId": "int32", "tag": "string", "timestamp": "int64"}


class DataError(ValueError):
    """A MovieLens file is missing or malformed; the message names the file and the problem."""


def empty(columns: dict[str, str]) -> pd.DataFrame:
    """A frame with no rows and the given column dtypes."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})


@dataclass(frozen=True, eq=False)
class RatingTotals:
    """Number and sum of the ratings of each rated movie: ``ids`` (sorted, int32) and the
    ``counts`` and ``sums`` aligned with them.

    Everything the app's first page needs from the ratings. The arrays are as long as the
    number of distinct movieIds, never as large as an id (one id of 2**31-1 costs 16 bytes,
    not 16 GiB). For large files they are saved with the binary copy, so a restart never
    passes over 32M ratings to show the catalogue.
    """

    ids: np.ndarray
    counts: np.ndarray
    sums: np.ndarray

    @classmethod
    def of(cls, ratings: pd.DataFrame) -> RatingTotals:
        # A hash table (factorize), then bincount over the dense codes: O(n), about a
        # second on 32M ratings, where np.unique's sort takes several.
        codes, ids = pd.factorize(ratings["movieId"].to_numpy(), sort=True)
        return cls(
            ids=np.asarray(ids, dtype=np.int32),
            counts=np.bincount(codes, minlength=len(ids)),
            sums=np.bincount(codes, weights=ratings["rating"].to_numpy(), minlength=len(ids)),
        )

    def lookup(self, movie_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(counts, sums) for each of ``movie_ids``; 0 for movies without ratings."""
        movie_ids = np.asarray(movie_ids)
        counts = np.zeros(len(movie_ids), dtype=np.int64)
        sums = np.zeros(len(movie_ids))
        if len(self.ids):
            position = np.minimum(np.searchsorted(self.ids, movie_ids), len(self.ids) - 1)
            found = self.ids[position] == movie_ids
            counts[found], sums[found] = self.counts[position[found]], self.sums[position[found]]
        return counts, sums


@dataclass(frozen=True, eq=False)
class MovieLens:
    """One MovieLens release as DataFrames with explicit dtypes.

    ``movies``: movieId, title, genres (pipe-separated), year (nullable), display_title.
    ``ratings``: userId, movieId, rating, timestamp. ``links``: movieId, imdbId (zero-padded
    string), tmdbId (nullable). ``tags``: userId, movieId, tag, timestamp.
    """

    movies: pd.DataFrame
    ratings: pd.DataFrame
    links: pd.DataFrame = field(default_factory=lambda: empty(LINK_COLUMNS))
    tags: pd.DataFrame = field(default_factory=lambda: empty(TAG_COLUMNS))
    source: Path | None = None
    # Derived from the ratings; the loader fills them from the binary copy when it has one.
    totals: RatingTotals | None = field(default=None, repr=False)
    ratings_hash: str | None = field(default=None, repr=False)

    @cached_property
    def fingerprint(self) -> str:
        """A short hash of the ratings, used to key trained models saved on disk."""
        return self.ratings_hash or ratings_fingerprint(self.ratings)

    @cached_property
    def movie_stats(self) -> pd.DataFrame:
        """Per-movie number of ratings and mean rating, indexed by movieId (all movies)."""
        totals = self.totals or RatingTotals.of(self.ratings)
        ids = self.movies["movieId"].to_numpy()
        n, sums = totals.lookup(ids)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n > 0, sums / n, np.nan)
        return pd.DataFrame(
            {"n_ratings": n.astype("int32"), "mean_rating": mean},
            index=pd.Index(ids, name="movieId"),
        )


def ratings_fingerprint(ratings: pd.DataFrame) -> str:
    """Hash of (userId, movieId, rating) so that the same data always gets the same key."""
    digest = hashlib.blake2b(digest_size=8)
    for column, dtype in (("userId", "<i4"), ("movieId", "<i4"), ("rating", "<f4")):
        digest.update(np.ascontiguousarray(ratings[column].to_numpy(), dtype=dtype).tobytes())
    return digest.hexdigest()
