"""What every recommender shares: the id vocabulary, input checks, filters, top-n and storage.

Raw MovieLens ids (``movieId``, ``userId``) cross every public boundary; row numbers
(``*_idx``) stay inside. Matrices are always users × items. Subclasses implement the
scoring of one family: ``_fit``, ``_scores_new_user``, ``_scores_known_user``, ``_item_vectors``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.data import MAX_RATING, MIN_RATING, genre_list, ratings_fingerprint

FORMAT_VERSION = 1


def matvec(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """``matrix @ vector``: the scoring product of every model, one BLAS gemv.

    On one core this is memory-bound (a 9.7k × 64 float32 product reads 2.5 MB: about 57 µs
    here). A server answering many visitors from threads should limit BLAS to one thread, as
    the app does (``ui.resources.serving_setup``): OpenBLAS's pool spins for the CPU that the
    other requests need.
    """
    return matrix @ vector


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


class ModelFileError(ValueError):
    """A saved model is missing, truncated, altered or of an unknown format."""


class Recommender:
    """Hyperparameters live in ``__init__``, ``fit`` returns self, learned state ends in ``_``.

    Filters accepted by ``recommend``, ``recommend_for_user`` and ``similar`` (all applied
    before the top-n cut): ``genres`` (any of these), ``years`` ((first, last), inclusive),
    ``min_ratings`` (number of ratings in the training data), ``exclude`` (movieIds).
    """

    algorithm: ClassVar[str]
    # Learned arrays that ``save`` writes; subclasses add their own.
    _state_arrays: ClassVar[tuple[str, ...]] = (
        "movie_ids_",
        "user_ids_",
        "n_ratings_",
        "mean_rating_",
        "years_",
        "genre_bits_",
        "user_items_indptr_",
        "user_items_indices_",
        "user_items_data_",
    )

    # --- hyperparameters (scikit-learn convention) ------------------------------------

    def get_params(self) -> dict[str, Any]:
        """Hyperparameters as given to ``__init__``."""
        names = inspect.signature(type(self).__init__).parameters
        return {name: getattr(self, name) for name in names if name != "self"}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    # --- fitting ----------------------------------------------------------------------

    def fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None = None) -> Self:
        """Learn from ``ratings`` (userId, movieId, rating); ``movies`` enables filters."""
        user_ids, movie_ids, values = _check_training_ratings(ratings)
        self.movie_ids_, movie_idx = vocabulary(movie_ids)
        self.user_ids_, user_idx = vocabulary(user_ids)
        shape = (len(self.user_ids_), len(self.movie_ids_))
        user_items = sp.csr_matrix((values, (user_idx, movie_idx)), shape=shape, dtype=np.float32)
        if user_items.nnz != len(values):  # the conversion summed repeated (user, movie) pairs
            _raise_on_duplicates(user_ids, movie_ids)
        user_items.sort_indices()
        self.user_items_indptr_ = user_items.indptr.astype(np.int64)
        self.user_items_indices_ = user_items.indices.astype(np.int32)
        self.user_items_data_ = user_items.data.astype(np.float32)
        self.n_ratings_ = np.bincount(movie_idx, minlength=shape[1]).astype(np.int32)
        sums = np.bincount(movie_idx, weights=values, minlength=shape[1])
        self.mean_rating_ = (sums / np.maximum(self.n_ratings_, 1)).astype(np.float32)
        self._set_movie_metadata(movies)
        self.fingerprint_ = ratings_fingerprint(
            pd.DataFrame({"userId": user_ids, "movieId": movie_ids, "rating": values})
        )
        self._fit(user_items)
        return self

    def _set_movie_metadata(self, movies: pd.DataFrame | None) -> None:
        self.genres_ = []
        self.years_ = np.zeros(len(self.movie_ids_), dtype=np.int16)
        self.genre_bits_ = np.zeros(len(self.movie_ids_), dtype=np.int64)
        if movies is None:
            return
        info = movies.drop_duplicates("movieId").set_index("movieId")
        info = info.reindex(self.movie_ids_)
        if "year" in info:
            self.years_ = info["year"].fillna(0).to_numpy(dtype=np.int16)
        if "genres" in info:
            lists = [genre_list(g) if isinstance(g, str) else [] for g in info["genres"]]
            self.genres_ = sorted({g for genres in lists for g in genres})[:63]
            bit = {g: 1 << i for i, g in enumerate(self.genres_)}
            self.genre_bits_ = np.array(
                [sum(bit.get(g, 0) for g in genres) for genres in lists], dtype=np.int64
            )

    def _fit(self, user_items: sp.csr_matrix) -> None:
        raise NotImplementedError

    def _after_load(self) -> None:
        """Rebuild derived (unsaved) state after ``load_model``; most models need none."""

    # --- scoring (one family per subclass) ---------------------------------------------

    def _scores_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        """Scores of every movie for a new user who rated ``movie_idx`` with ``ratings``."""
        raise NotImplementedError

    def _scores_known_user(self, user_idx: int) -> np.ndarray:
        movie_idx, ratings = self._user_history(user_idx)
        return self._scores_new_user(movie_idx, ratings)

    def _item_vectors(self) -> np.ndarray:
        """One row per movie, compared by cosine in ``similar``."""
        raise NotImplementedError

    def _popularity_scores(self) -> np.ndarray:
        return self.n_ratings_.astype(np.float32)

    # --- public queries -----------------------------------------------------------------

    def recommend(self, ratings: Mapping[int, float], n: int = 10, **filters: Any) -> pd.DataFrame:
        """Top-``n`` movies for a new user who gave ``ratings`` (movieId -> 0.5..5).

        Returns a DataFrame (movieId, score), best first, never containing a rated movie.
        Unknown movieIds are skipped and listed in ``result.attrs["unknown_movie_ids"]``; an
        empty profile gets the most popular movies. The model itself is never changed.
        """
        movie_idx, values, unknown = self._profile(ratings)
        if len(movie_idx):
            scores = self._scores_new_user(movie_idx, values)
        else:
            scores = self._popularity_scores()
        result = self._top_n(scores, n, movie_idx, filters)
        result.attrs["unknown_movie_ids"] = unknown
        return result

    def recommend_for_user(self, user_id: int, n: int = 10, **filters: Any) -> pd.DataFrame:
        """Top-``n`` movies for a user of the training data, excluding what they rated."""
        user_idx = np.searchsorted(self.user_ids_, user_id)
        if user_idx >= len(self.user_ids_) or self.user_ids_[user_idx] != user_id:
            raise UnknownUserError(user_id)
        rated, _ = self._user_history(int(user_idx))
        return self._top_n(self._scores_known_user(int(user_idx)), n, rated, filters)

    def similar(self, movie_id: int, n: int = 10, **filters: Any) -> pd.DataFrame:
        """Movies most like ``movie_id`` (cosine of item vectors), the movie itself excluded."""
        movie_idx = self._movie_index(movie_id)
        scores = self._similarity_scores(movie_idx)
        return self._top_n(scores, n, np.array([movie_idx]), filters)

    def user_history(self, user_id: int) -> dict[int, float]:
        """The training ratings of ``user_id`` as movieId -> rating."""
        user_idx = np.searchsorted(self.user_ids_, user_id)
        if user_idx >= len(self.user_ids_) or self.user_ids_[user_idx] != user_id:
            raise UnknownUserError(user_id)
        movie_idx, ratings = self._user_history(int(user_idx))
        return dict(zip(self.movie_ids_[movie_idx].tolist(), ratings.tolist(), strict=True))

    def known_movies(self, movie_ids: Iterable[int]) -> np.ndarray:
        """Boolean mask: which of ``movie_ids`` the model can score."""
        return self._positions(np.asarray(list(movie_ids), dtype=np.int64))[1]

    # --- helpers --------------------------------------------------------------------------

    def _similarity_scores(self, movie_idx: int) -> np.ndarray:
        vectors = self._normalised_item_vectors()
        return matvec(vectors, vectors[movie_idx])

    def _normalised_item_vectors(self) -> np.ndarray:
        # Computed once per model and reused by every thread; a race only computes it twice.
        cached = getattr(self, "_normalised", None)
        if cached is None:
            vectors = np.asarray(self._item_vectors(), dtype=np.float32)
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            cached = vectors / np.maximum(norms, 1e-12)
            self._normalised = cached
        return cached

    def _user_history(self, user_idx: int) -> tuple[np.ndarray, np.ndarray]:
        start, end = self.user_items_indptr_[user_idx], self.user_items_indptr_[user_idx + 1]
        return self.user_items_indices_[start:end], self.user_items_data_[start:end]

    def _user_items(self) -> sp.csr_matrix:
        shape = (len(self.user_ids_), len(self.movie_ids_))
        return sp.csr_matrix(
            (self.user_items_data_, self.user_items_indices_, self.user_items_indptr_), shape=shape
        )

    def _positions(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row of each id in the vocabulary (meaningless where unknown) and which are known."""
        pos = np.searchsorted(self.movie_ids_, ids).clip(0, max(len(self.movie_ids_) - 1, 0))
        known = self.movie_ids_[pos] == ids if len(self.movie_ids_) else np.zeros(len(ids), bool)
        return pos, known

    def _movie_index(self, movie_id: int) -> int:
        idx = int(np.searchsorted(self.movie_ids_, movie_id))
        if idx >= len(self.movie_ids_) or self.movie_ids_[idx] != movie_id:
            raise UnknownMovieError(movie_id)
        return idx

    def _profile(self, ratings: Mapping[int, float]) -> tuple[np.ndarray, np.ndarray, list[int]]:
        """Check a new user's ratings; split into known (indices, values) and unknown ids."""
        if not isinstance(ratings, Mapping):
            raise TypeError(f"ratings must be a mapping movieId -> rating, got {type(ratings)}")
        ids = np.fromiter(ratings.keys(), dtype=np.int64, count=len(ratings))
        values = np.fromiter(ratings.values(), dtype=np.float64, count=len(ratings))
        bad = ~((values >= MIN_RATING) & (values <= MAX_RATING))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"rating for movieId {int(ids[i])} is {values[i]}; ratings must be between "
                f"{MIN_RATING} and {MAX_RATING}"
            )
        pos, known = self._positions(ids)
        return pos[known].astype(np.int32), values[known].astype(np.float32), ids[~known].tolist()

    def _filter_mask(self, filters: Mapping[str, Any]) -> np.ndarray | None:
        """Movies allowed by the filters, or None when there are no filters."""
        allowed = set(filters) - {"genres", "years", "min_ratings", "exclude"}
        if allowed:
            raise TypeError(f"unknown filter(s): {', '.join(sorted(allowed))}")
        active = {k: v for k, v in filters.items() if v is not None}
        if not active:
            return None
        mask = np.ones(len(self.movie_ids_), dtype=bool)
        if genres := active.get("genres"):
            genres = [genres] if isinstance(genres, str) else list(genres)
            if not self.genres_:
                raise ValueError("the model was trained without movies; it cannot filter genres")
            unknown = [g for g in genres if g not in self.genres_]
            if unknown:
                raise ValueError(f"unknown genre(s) {unknown}; known: {self.genres_}")
            wanted = sum(1 << self.genres_.index(g) for g in genres)
            mask &= (self.genre_bits_ & wanted) != 0
        if (years := active.get("years")) is not None:
            first, last = years
            if not self.years_.any():
                raise ValueError("this model was trained without movies, so it cannot filter years")
            mask &= (self.years_ >= first) & (self.years_ <= last)
        if (min_ratings := active.get("min_ratings")) is not None:
            mask &= self.n_ratings_ >= min_ratings
        if (exclude := active.get("exclude")) is not None:
            exclude = np.asarray(list(exclude), dtype=np.int64)
            mask[np.searchsorted(self.movie_ids_, exclude[self.known_movies(exclude)])] = False
        return mask

    def _top_n(
        self, scores: np.ndarray, n: int, seen: np.ndarray, filters: Mapping[str, Any]
    ) -> pd.DataFrame:
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        scores = np.array(scores, dtype=np.float32)  # a copy: callers may share theirs
        scores[seen] = -np.inf
        mask = self._filter_mask(filters)
        if mask is not None:
            scores[~mask] = -np.inf
        n = min(n, len(scores))
        if n == 0:
            return _result(np.array([], np.int32), np.array([], np.float32))
        top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(n)
        top = top[np.isfinite(scores[top])]  # fewer than n movies were allowed
        # Best score first; ties broken by popularity, then movieId, so results are stable.
        top = top[np.lexsort((self.movie_ids_[top], -self.n_ratings_[top], -scores[top]))]
        return _result(self.movie_ids_[top], scores[top])

    # --- storage ------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted model to a folder: ``model.json`` plus one ``.npy`` per array.

        No pickle: arrays are plain ``.npy`` files, listed with their SHA-256 in the JSON, so
        a truncated or altered file is detected on load. The folder is written next to its
        final place and renamed, so a crash never leaves half a model.
        """
        folder = Path(path)
        staging = folder.with_name(f".{folder.name}.tmp{os.getpid()}")
        staging.mkdir(parents=True, exist_ok=True)
        arrays = {}
        for name in self._state_arrays:
            array = np.ascontiguousarray(getattr(self, name))
            file = f"{name.rstrip('_')}.npy"
            np.save(staging / file, array, allow_pickle=False)
            arrays[name] = {"file": file, "sha256": _sha256(staging / file)}
        manifest = {
            "format_version": FORMAT_VERSION,
            "algorithm": self.algorithm,
            "hyperparameters": self.get_params(),
            "fingerprint": self.fingerprint_,
            "genres": self.genres_,
            "arrays": arrays,
        }
        (staging / "model.json").write_text(json.dumps(manifest, indent=2))
        if folder.exists():
            _remove_model_folder(folder)
        os.replace(staging, folder)
        return folder


class FactorRecommender(Recommender):
    """A user × movie factor model: a score is the dot product of the two vectors.

    Subclasses learn ``user_factors_`` and ``item_factors_`` in ``_fit`` and fold a new user in
    with ``user_vector(movie_idx, ratings)``.
    """

    _state_arrays = Recommender._state_arrays + ("user_factors_", "item_factors_")

    def user_vector(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        """A new user's factors from their ratings, with the movie factors held fixed."""
        raise NotImplementedError

    def _scores_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        return matvec(self.item_factors_, self.user_vector(movie_idx, ratings))

    def _scores_known_user(self, user_idx: int) -> np.ndarray:
        return matvec(self.item_factors_, self.user_factors_[user_idx])

    def _item_vectors(self) -> np.ndarray:
        return self.item_factors_


def _result(movie_ids: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
    """The one result type: movieId and score, best first."""
    return pd.DataFrame({"movieId": movie_ids, "score": scores}, copy=False)


def load_state(
    cls_for: Mapping[str, type[Recommender]], path: str | os.PathLike, mmap: bool = True
) -> Recommender:
    """Read a folder written by :meth:`Recommender.save` (use ``recommender.load_model``)."""
    folder = Path(path)
    try:
        manifest = json.loads((folder / "model.json").read_text())
    except FileNotFoundError:
        raise ModelFileError(f"{folder}: no model.json; not a saved model") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelFileError(f"{folder / 'model.json'}: not valid JSON ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{folder / 'model.json'}: unsupported format version "
            f"{manifest.get('format_version') if isinstance(manifest, dict) else None!r}"
        )
    cls = cls_for.get(manifest.get("algorithm"))
    if cls is None:
        raise ModelFileError(f"{folder}: unknown algorithm {manifest.get('algorithm')!r}")
    try:
        model = cls(**manifest["hyperparameters"])
    except TypeError as error:
        raise ModelFileError(
            f"{folder}: hyperparameters do not fit {cls.__name__}: {error}"
        ) from None
    arrays = manifest.get("arrays", {})
    for name in cls._state_arrays:
        entry = arrays.get(name)
        if not entry:
            raise ModelFileError(f"{folder}: array {name} is missing from model.json")
        file = folder / Path(entry["file"]).name
        if not file.exists():
            raise ModelFileError(f"{file}: missing")
        if _sha256(file) != entry["sha256"]:
            raise ModelFileError(f"{file}: checksum mismatch (file truncated or altered)")
        try:
            array = np.load(file, mmap_mode="r" if mmap else None, allow_pickle=False)
        except ValueError as error:
            raise ModelFileError(f"{file}: not a plain numpy array ({error})") from None
        setattr(model, name, array)
    model.fingerprint_ = manifest["fingerprint"]
    model.genres_ = list(manifest.get("genres", []))
    model._after_load()
    return model


def _sha256(file: Path) -> str:
    digest = hashlib.sha256()
    with open(file, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _remove_model_folder(folder: Path) -> None:
    # Only remove what save() writes, so a mistaken path never wipes unrelated files.
    if not (folder / "model.json").exists():
        raise ModelFileError(f"{folder} exists and is not a saved model; refusing to overwrite")
    for file in folder.iterdir():
        if file.name == "model.json" or file.suffix == ".npy":
            file.unlink()
    folder.rmdir()


def _check_training_ratings(ratings: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not isinstance(ratings, pd.DataFrame):
        raise TypeError(f"ratings must be a DataFrame, got {type(ratings).__name__}")
    missing = [c for c in ("userId", "movieId", "rating") if c not in ratings]
    if missing:
        raise ValueError(f"ratings is missing column(s) {', '.join(missing)}")
    if ratings.empty:
        raise ValueError("ratings is empty; a model needs at least one rating")
    try:
        values = ratings["rating"].to_numpy(dtype=np.float32)
        user_ids = ratings["userId"].to_numpy(dtype=np.int64)
        movie_ids = ratings["movieId"].to_numpy(dtype=np.int64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"ratings has non-numeric values: {error}") from None
    bad = ~((values >= MIN_RATING) & (values <= MAX_RATING))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"ratings row {row}: rating {values[row]} for movieId {movie_ids[row]} is outside "
            f"{MIN_RATING}–{MAX_RATING}"
        )
    return user_ids, movie_ids, values


def _raise_on_duplicates(user_ids: np.ndarray, movie_ids: np.ndarray) -> None:
    duplicated = pd.Series(user_ids << 32 | movie_ids).duplicated().to_numpy()
    row = int(np.flatnonzero(duplicated)[0])
    raise ValueError(
        f"ratings row {row}: duplicated (userId, movieId) = ({user_ids[row]}, {movie_ids[row]})"
    )


def vocabulary(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct ids (int32) and each input's row number in them.

    MovieLens ids are small positive integers, so a lookup table does in O(n) what
    ``np.unique`` does by sorting (2 s of a 10M-rating fit); other ids fall back to sorting.
    """
    if len(ids) and ids.min() >= 0 and ids.max() < 4 * len(ids) + 1_000_000:
        present = np.bincount(ids) > 0
        unique = np.flatnonzero(present)
        lookup = np.cumsum(present, dtype=np.int64) - 1
        return unique.astype(np.int32), lookup[ids].astype(np.int32)
    unique, index = np.unique(ids, return_inverse=True)
    return unique.astype(np.int32), index.astype(np.int32)
