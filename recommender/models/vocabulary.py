"""The id vocabulary of one training set, shared by every model fitted on it.

Raw MovieLens ids (``movieId``, ``userId``) cross every public boundary; row numbers
(``*_idx``) stay inside. A :class:`Vocabulary` maps one to the other and carries what every
family needs besides its own learned state: rating counts, movie metadata for the filters and
the users × movies matrix of stars. A composite model (the hybrid) builds it once and hands the
same object to each of its parts.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.data import genre_list, ratings_fingerprint
from recommender.models.content import series_of, title_similarity, title_vectors
from recommender.models.storage import ArraySpec, ModelFileError, check_arrays
from recommender.ratings import (
    MAX_MOVIE_ID,
    RATING_RULE,
    check_id,
    check_movie_id,
    check_rating,
    check_ratings,
    valid_ratings,
)


class UnknownMovieError(KeyError):
    """A movieId the model has never seen (no ratings in its training data)."""

    def __init__(self, movie_id: int):
        super().__init__(movie_id)
        self.movie_id = movie_id

    def __str__(self) -> str:
        return f"movieId {self.movie_id} is not in the model's training data"


class UnknownUserError(KeyError):
    """A userId that is not in the model's training data."""

    def __init__(self, user_id: int):
        super().__init__(user_id)
        self.user_id = user_id

    def __str__(self) -> str:
        return f"userId {self.user_id} is not in the model's training data"


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """Sorted movie and user ids (int32), per-movie counts and metadata, the rating matrix.

    ``user_items_indptr/indices/data`` are the CSR arrays of the users × movies star matrix
    (kept as plain arrays so a saved model can memory-map them); ``user_items`` builds the
    matrix on first use.
    """

    movie_ids: np.ndarray
    user_ids: np.ndarray
    n_ratings: np.ndarray
    mean_rating: np.ndarray
    years: np.ndarray
    genre_bits: np.ndarray
    series: np.ndarray  # title series number per movie, −1: none (models.content.series_of)
    # CSR arrays of the movies' title TF-IDF rows (models.content.title_vectors).
    title_indptr: np.ndarray
    title_indices: np.ndarray
    title_data: np.ndarray
    user_items_indptr: np.ndarray
    user_items_indices: np.ndarray
    user_items_data: np.ndarray
    genres: list[str]
    fingerprint: str

    # Names in a saved model's folder (unchanged since format 1) and what load_model checks.
    SPECS: ClassVar[dict[str, ArraySpec]] = {
        "movie_ids_": ArraySpec("i", ("movies",)),
        "user_ids_": ArraySpec("i", ("users",)),
        "n_ratings_": ArraySpec("i", ("movies",)),
        "mean_rating_": ArraySpec("f", ("movies",)),
        "years_": ArraySpec("i", ("movies",)),
        "genre_bits_": ArraySpec("i", ("movies",)),
        "user_items_indptr_": ArraySpec("i", ("user_rows",)),
        "user_items_indices_": ArraySpec("i", ("ratings",), rows_of="movies"),
        "user_items_data_": ArraySpec("f", ("ratings",)),
    }
    ARRAYS: ClassVar[tuple[str, ...]] = tuple(SPECS)
    # Saved since the series were added; a folder saved before has none (no series, titles).
    OPTIONAL_SPECS: ClassVar[dict[str, ArraySpec]] = {
        "series_": ArraySpec("i", ("movies",)),
        "title_indptr_": ArraySpec("i", ("title_rows",)),
        "title_indices_": ArraySpec("i", ("title_words",)),
        "title_data_": ArraySpec("f", ("title_words",)),
    }
    OPTIONAL_ARRAYS: ClassVar[tuple[str, ...]] = tuple(OPTIONAL_SPECS)

    @classmethod
    def from_ratings(cls, ratings: pd.DataFrame, movies: pd.DataFrame | None = None) -> Vocabulary:
        """Check ``ratings`` (userId, movieId, rating) and index them; ``movies`` adds metadata."""
        user_ids, movie_ids, values = check_training_ratings(ratings)
        unique_movies, movie_idx = vocabulary(movie_ids)
        unique_users, user_idx = vocabulary(user_ids)
        shape = (len(unique_users), len(unique_movies))
        user_items = sp.csr_matrix((values, (user_idx, movie_idx)), shape=shape, dtype=np.float32)
        if user_items.nnz != len(values):  # the conversion summed repeated (user, movie) pairs
            _raise_on_duplicates(user_ids, movie_ids)
        user_items.sort_indices()
        n_ratings = np.bincount(movie_idx, minlength=shape[1]).astype(np.int32)
        sums = np.bincount(movie_idx, weights=values, minlength=shape[1])
        genres, years, genre_bits, series, titles = _movie_metadata(unique_movies, movies)
        return cls(
            movie_ids=unique_movies,
            user_ids=unique_users,
            n_ratings=n_ratings,
            mean_rating=(sums / np.maximum(n_ratings, 1)).astype(np.float32),
            years=years,
            genre_bits=genre_bits,
            series=series,
            title_indptr=titles.indptr.astype(np.int64),
            title_indices=titles.indices.astype(np.int32),
            title_data=titles.data.astype(np.float32),
            user_items_indptr=user_items.indptr.astype(np.int64),
            user_items_indices=user_items.indices.astype(np.int32),
            user_items_data=user_items.data.astype(np.float32),
            genres=genres,
            fingerprint=ratings_fingerprint(
                pd.DataFrame({"userId": user_ids, "movieId": movie_ids, "rating": values})
            ),
        )

    @classmethod
    def from_arrays(
        cls,
        arrays: Mapping[str, np.ndarray],
        genres: list[str],
        fingerprint: str,
        folder: Path | None = None,
    ) -> Vocabulary:
        """The inverse of :meth:`arrays` (what ``load_model`` read from a folder).

        :class:`ModelFileError` when the arrays do not make one consistent vocabulary.
        """
        _check_saved(arrays, genres, fingerprint, folder)
        n_movies = len(arrays["movie_ids_"])
        missing = {  # what a model saved before series and title words gets: none of either
            "series_": np.full(n_movies, -1, dtype=np.int32),
            "title_indptr_": np.zeros(n_movies + 1, dtype=np.int64),
            "title_indices_": np.zeros(0, dtype=np.int32),
            "title_data_": np.zeros(0, dtype=np.float32),
        }
        # Plain ndarray views of memory maps: every request indexes these, and the memmap
        # subclass adds Python work to each index (tens of µs a request).
        return cls(
            **{name.rstrip("_"): np.asarray(arrays[name]) for name in cls.ARRAYS},
            **{
                name.rstrip("_"): np.asarray(arrays.get(name, missing[name]))
                for name in cls.OPTIONAL_ARRAYS
            },
            genres=list(genres),
            fingerprint=fingerprint,
        )

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays a saved model stores, by their names in the folder."""
        names = self.ARRAYS + self.OPTIONAL_ARRAYS
        return {name: getattr(self, name.rstrip("_")) for name in names}

    @functools.cached_property
    def user_items(self) -> sp.csr_matrix:
        """The users × movies star matrix (built on first use, then shared)."""
        shape = (len(self.user_ids), len(self.movie_ids))
        return sp.csr_matrix(
            (self.user_items_data, self.user_items_indices, self.user_items_indptr), shape=shape
        )

    @functools.cached_property
    def raters(self) -> sp.csr_matrix:
        """Movies × users, 1.0 where the user rated the movie: a movie's raters are one row.

        Built on first use, then shared (a race between threads only builds it twice).
        """
        pattern = self.user_items.T.tocsr()
        return sp.csr_matrix(
            (np.ones(pattern.nnz, dtype=np.float32), pattern.indices, pattern.indptr),
            shape=pattern.shape,
        )

    @functools.cached_property
    def _title_matrices(self) -> tuple[sp.csr_matrix, sp.csc_matrix]:
        n_words = int(self.title_indices.max()) + 1 if len(self.title_indices) else 0
        rows = sp.csr_matrix(
            (self.title_data, self.title_indices, self.title_indptr),
            shape=(len(self.movie_ids), n_words),
        )
        return rows, rows.tocsc()

    def title_similarity(self, movie_idx: int) -> np.ndarray:
        """Cosine of every movie's title words with ``movie_idx``'s (0 without titles)."""
        return title_similarity(*self._title_matrices, movie_idx)

    # --- ids <-> rows -------------------------------------------------------------------

    def positions(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row of each movieId (meaningless where unknown) and which ones are known."""
        movie_ids = self.movie_ids
        if not len(movie_ids):
            return np.zeros(len(ids), np.intp), np.zeros(len(ids), bool)
        # searchsorted would otherwise cast every movieId to the keys' type: 40 µs at 87k.
        if len(ids) and movie_ids.dtype == np.int32 and 0 <= ids.min() <= ids.max() <= MAX_MOVIE_ID:
            ids = ids.astype(np.int32, copy=False)
        pos = np.minimum(np.searchsorted(movie_ids, ids), len(movie_ids) - 1)
        return pos, movie_ids[pos] == ids

    def movie_index(self, movie_id: int) -> int:
        """Row of ``movie_id``; :class:`UnknownMovieError` when the model never saw it,
        ValueError for what is no movieId (``1.7``, ``2**70``)."""
        movie_id = check_movie_id(movie_id)
        idx = int(np.searchsorted(self.movie_ids, movie_id))
        if idx >= len(self.movie_ids) or self.movie_ids[idx] != movie_id:
            raise UnknownMovieError(movie_id)
        return idx

    def user_index(self, user_id: int) -> int:
        """Row of ``user_id``; :class:`UnknownUserError` when it is not in the training data,
        ValueError for what is no userId."""
        user_id = check_user_id(user_id)
        idx = int(np.searchsorted(self.user_ids, user_id))
        if idx >= len(self.user_ids) or self.user_ids[idx] != user_id:
            raise UnknownUserError(user_id)
        return idx

    def history(self, user_idx: int) -> tuple[np.ndarray, np.ndarray]:
        """(movie rows, stars) of a training user, by row."""
        start, end = self.user_items_indptr[user_idx], self.user_items_indptr[user_idx + 1]
        return self.user_items_indices[start:end], self.user_items_data[start:end]

    def profile(self, ratings: Mapping[int, float]) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """Check a new user's ratings (the one rule of :mod:`recommender.ratings`).

        Returns the known movies' rows (int32), their stars (float32) and the unknown movieIds.
        """
        ids, values = profile_arrays(ratings)
        pos, known = self.positions(ids)
        return pos[known].astype(np.int32), values[known].astype(np.float32), ids[~known].tolist()

    def co_rating_cosine(self, movie_idx: int) -> np.ndarray:
        """For every movie, co-raters / √(n × n'): "people who rated X also rated Y"."""
        indptr = self.raters.indptr
        raters = self.raters.indices[indptr[movie_idx]:indptr[movie_idx + 1]]
        co_counts = np.bincount(self.user_items[raters].indices, minlength=len(self.movie_ids))
        norms = np.sqrt(self.n_ratings.astype(np.float64) * max(len(raters), 1))
        return co_counts / np.maximum(norms, 1.0)


def vocabulary(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct ids (int32) and each input's row number in them.

    MovieLens ids are small positive integers, so a lookup table does in O(n) what
    ``np.unique`` does by sorting (2 s of a 10M-rating fit); other ids fall back to sorting.
    Callers have checked that every id fits int32.
    """
    if len(ids) and ids.min() >= 0 and ids.max() < 4 * len(ids) + 1_000_000:
        present = np.bincount(ids) > 0
        unique = np.flatnonzero(present)
        lookup = np.cumsum(present, dtype=np.int64) - 1
        return unique.astype(np.int32), lookup[ids].astype(np.int32)
    unique, index = np.unique(ids, return_inverse=True)
    return unique.astype(np.int32), index.astype(np.int32)


def check_user_id(user_id: object) -> int:
    """An integral userId in 0..2**31-1 as a Python int; ValueError naming it otherwise."""
    return check_id(user_id, "userId", 0)


def movie_id_array(movie_ids: Iterable[object], what: str = "movie_ids") -> np.ndarray:
    """movieIds as int64 (a mapping's keys), each valid by
    :func:`recommender.ratings.check_movie_id`.

    Vectorised for integer arrays and lists of ints; anything else is checked one by one, so
    ``1.7`` is refused instead of truncated to movie 1 and ``True`` is not read as 1.
    """
    if isinstance(movie_ids, str | bytes) or not isinstance(movie_ids, Iterable):
        raise ValueError(f"{what} must be a collection of movieIds, not {movie_ids!r:.80}")
    if isinstance(movie_ids, np.ndarray) and movie_ids.dtype.kind in "iu":
        ids = movie_ids.ravel()
    else:
        items = list(movie_ids)
        if all(type(m) is int and 1 <= m <= MAX_MOVIE_ID for m in items):
            return np.array(items, dtype=np.int64)
        ids = np.array([_checked(m, what) for m in items], dtype=np.int64)
    bad = (ids < 1) | (ids > MAX_MOVIE_ID)
    if bad.any():
        _checked(ids[np.argmax(bad)], what)  # raises, naming it
    return ids.astype(np.int64)


def _checked(movie_id: object, what: str) -> int:
    try:
        return check_movie_id(movie_id)
    except ValueError as error:
        raise ValueError(f"{what}: {error}") from None


_NUMBERS = (int, float, np.float32, np.float64)


def profile_arrays(ratings: Mapping[int, float]) -> tuple[np.ndarray, np.ndarray]:
    """movieIds (int64) and stars (float64) of a profile, checked by the one rating rule.

    Vectorised for the common case (int keys, float values); anything else goes through
    :func:`recommender.ratings.check_ratings`, which names the offending movie.
    """
    if not isinstance(ratings, Mapping):
        raise ValueError(
            f"ratings must be a mapping of movieId to rating, not {type(ratings).__name__}"
        )
    if not (
        all(type(k) is int for k in ratings) and all(type(v) in _NUMBERS for v in ratings.values())
    ):
        ratings = check_ratings(ratings)
    try:
        ids = np.fromiter(ratings.keys(), dtype=np.int64, count=len(ratings))
    except OverflowError:  # an int beyond int64: the rule names it
        ratings = check_ratings(ratings)
        ids = np.fromiter(ratings.keys(), dtype=np.int64, count=len(ratings))
    values = np.fromiter(ratings.values(), dtype=np.float64, count=len(ratings))
    ok = valid_ratings(values) & (ids >= 1) & (ids <= MAX_MOVIE_ID)
    if not ok.all():
        movie = list(ratings)[int(np.argmin(ok))]
        check_rating(movie, ratings[movie])  # raises, naming the movie
    return ids, values


def check_training_ratings(ratings: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """userIds, movieIds (int64) and stars (float32) of training ratings, or a clear error.

    Ratings follow the one rule; ids must be integers that fit int32 (movieIds from 1, userIds
    from 0), because the library stores them as int32 and must never wrap them.
    """
    if not isinstance(ratings, pd.DataFrame):
        raise TypeError(f"ratings must be a DataFrame, got {type(ratings).__name__}")
    missing = [c for c in ("userId", "movieId", "rating") if c not in ratings]
    if missing:
        raise ValueError(f"ratings is missing column(s) {', '.join(missing)}")
    if ratings.empty:
        raise ValueError("ratings is empty; a model needs at least one rating")
    user_ids = _id_column(ratings, "userId", low=0)
    movie_ids = _id_column(ratings, "movieId", low=1)
    try:
        values = ratings["rating"].to_numpy(dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise ValueError(f"ratings has non-numeric values: {error}") from None
    bad = ~valid_ratings(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"ratings row {row}: rating {ratings['rating'].iloc[row]} for movieId "
            f"{movie_ids[row]} is outside "
            f"the rating rule ({RATING_RULE})"
        )
    return user_ids, movie_ids, values


def _id_column(ratings: pd.DataFrame, column: str, low: int) -> np.ndarray:
    try:
        raw = ratings[column].to_numpy()
        ids = raw.astype(np.int64) if raw.dtype.kind in "iub" else None
        if ids is None:
            as_float = raw.astype(np.float64)
            whole = np.isfinite(as_float) & (as_float == np.floor(as_float))
            bad = ~whole | (as_float < low) | (as_float > MAX_MOVIE_ID)
            ids = np.where(bad, low, as_float).astype(np.int64)
        else:
            bad = (ids < low) | (ids > MAX_MOVIE_ID)
            if raw.dtype.kind == "u" and raw.dtype.itemsize == 8:
                bad |= raw > MAX_MOVIE_ID  # beyond int64: the cast wrapped
    except (TypeError, ValueError) as error:
        raise ValueError(f"ratings has non-numeric values: {error}") from None
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        value = raw[row].item() if isinstance(raw[row], np.generic) else raw[row]
        raise ValueError(
            f"ratings row {row}: {column} {value!r} is not an integer from {low} to "
            f"{MAX_MOVIE_ID} (ids are stored as int32)"
        )
    return ids


def _check_saved(
    arrays: Mapping[str, np.ndarray], genres: object, fingerprint: object, folder: Path | None
) -> None:
    """Shapes and dtypes by :data:`Vocabulary.SPECS`, then what makes the arrays one matrix:
    sorted distinct ids in range, row pointers from 0 to the number of ratings, valid stars."""
    sizes = check_arrays(dict(arrays), Vocabulary.SPECS, {}, folder)
    optional = {k: spec for k, spec in Vocabulary.OPTIONAL_SPECS.items() if k in arrays}
    check_arrays(dict(arrays), optional, sizes, folder)
    if not (isinstance(genres, list) and all(isinstance(g, str) for g in genres)):
        raise ModelFileError(f"{folder}: genres should be a list of names, got {genres!r:.80}")
    if not isinstance(fingerprint, str):
        raise ModelFileError(f"{folder}: fingerprint should be a string, got {fingerprint!r:.80}")
    problems = []
    for name, low in (("movie_ids_", 1), ("user_ids_", 0)):
        ids = np.asarray(arrays[name], dtype=np.int64)
        if len(ids) and (ids[0] < low or ids[-1] > MAX_MOVIE_ID or (np.diff(ids) <= 0).any()):
            problems.append(f"{name} is not sorted distinct ids from {low} to {MAX_MOVIE_ID}")
    indptr = np.asarray(arrays["user_items_indptr_"], dtype=np.int64)
    if sizes["user_rows"] != sizes["users"] + 1 or indptr[0] != 0 or (np.diff(indptr) < 0).any():
        problems.append("user_items_indptr_ is not the row pointer of one row per user")
    elif indptr[-1] != sizes["ratings"]:
        problems.append("user_items_indptr_ does not end at the number of ratings")
    if "title_indptr_" in arrays and sizes["title_rows"] != sizes["movies"] + 1:
        problems.append("title_indptr_ is not the row pointer of one row per movie")
    if not valid_ratings(arrays["user_items_data_"]).all():
        problems.append(f"user_items_data_ holds stars that are not {RATING_RULE}")
    if problems:
        raise ModelFileError(f"{folder}: {'; '.join(problems)}")


def _raise_on_duplicates(user_ids: np.ndarray, movie_ids: np.ndarray) -> None:
    duplicated = pd.Series(user_ids << 32 | movie_ids).duplicated().to_numpy()
    row = int(np.flatnonzero(duplicated)[0])
    raise ValueError(
        f"ratings row {row}: duplicated (userId, movieId) = ({user_ids[row]}, {movie_ids[row]})"
    )


def _movie_metadata(
    movie_ids: np.ndarray, movies: pd.DataFrame | None
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, sp.csr_matrix]:
    """Genre names (at most 63), release years, genre bit masks, title series numbers and
    title word vectors, in ``movie_ids`` order."""
    genres: list[str] = []
    years = np.zeros(len(movie_ids), dtype=np.int16)
    genre_bits = np.zeros(len(movie_ids), dtype=np.int64)
    series = np.full(len(movie_ids), -1, dtype=np.int32)
    if movies is None:
        return genres, years, genre_bits, series, title_vectors([""] * len(movie_ids))
    info = movies.drop_duplicates("movieId").set_index("movieId").reindex(movie_ids)
    series = series_of(info)
    titles = [t if isinstance(t, str) else "" for t in info.get("title", [""] * len(info))]
    if "year" in info:
        years = info["year"].fillna(0).to_numpy(dtype=np.int16)
    if "genres" in info:
        lists = [genre_list(g) if isinstance(g, str) else [] for g in info["genres"]]
        genres = sorted({g for names in lists for g in names})[:63]
        bit = {g: 1 << i for i, g in enumerate(genres)}
        genre_bits = np.array([sum(bit.get(g, 0) for g in names) for names in lists], np.int64)
    return genres, years, genre_bits, series, title_vectors(titles)
