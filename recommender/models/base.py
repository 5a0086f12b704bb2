"""What every recommender shares: hyperparameters, fitting, queries, filters, top-n, storage.

A family is one subclass in one file. It sets ``algorithm`` (which registers it in
:data:`ALGORITHMS`, so ``train``, ``load_model`` and the evaluation find it), takes its
hyperparameters in ``__init__``, learns in ``_fit(user_items)`` and scores through the public
hooks below, all of which work on row numbers (``*_idx``) of the model's :class:`Vocabulary`:

* ``new_user_scores(movie_idx, stars)`` (required): every movie's score for a new user;
* ``known_user_scores(user_idx)``, ``batch_scores(user_items)``: a training user, many users;
* ``item_vectors()`` or ``similarity_scores(movie_idx)``: what ``similar`` ranks by;
* ``contributions(movie_idx, stars, pick_idx)``: how much each rating adds to each pick.

Learned arrays named in ``learned_arrays`` and sub-models named in ``learned_parts`` are saved
by ``save`` and restored by ``load_model``; ``_after_load`` rebuilds anything derived.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.models import content
from recommender.models.checks import (
    check_count,
    describe,
    fits,
    genre_names,
    init_hints,
    number,
    year_range,
)
from recommender.models.linalg import column_major, matvec
from recommender.models.ranking import best_first
from recommender.models.storage import (
    ArraySpec,
    SavedModel,
    write_model,
)
from recommender.models.vocabulary import Vocabulary, movie_id_array, profile_arrays

# algorithm name -> family; filled by Recommender.__init_subclass__ in definition order.
ALGORITHMS: dict[str, type[Recommender]] = {}  # trained here and offered by the app
FAMILIES: dict[str, type[Recommender]] = {}  # every family load_model can read


class Recommender:
    """Hyperparameters live in ``__init__``, ``fit`` returns self, learned state ends in ``_``.

    Filters accepted by ``recommend``, ``recommend_for_user`` and ``similar`` (all applied
    before the top-n cut): ``genres`` (any of these), ``years`` ((first, last), inclusive),
    ``min_ratings`` (number of ratings in the training data), ``exclude`` (movieIds).
    """

    algorithm: ClassVar[str]
    learned_arrays: ClassVar[tuple[str, ...]] = ()  # fitted array attributes that save() writes
    learned_parts: ClassVar[tuple[str, ...]] = ()  # fitted sub-models, one child folder each
    # dtype and shape of each learned array, checked by load_model ("movies" and "users" are
    # the vocabulary's sizes); a family declares its own next to learned_arrays.
    array_specs: ClassVar[dict[str, ArraySpec]] = {}

    def __init_subclass__(cls, register: bool = True, listed: bool = True, **kwargs: Any):
        """A subclass that sets ``algorithm`` joins :data:`FAMILIES`, which ``load_model``
        reads, and unless ``listed=False`` :data:`ALGORITHMS`, which ``train``, the app and the
        evaluation offer (a family trained elsewhere, such as Spark's ALS, is loadable but not
        listed). ``register=False`` keeps a yardstick such as the evaluation's implicit
        baseline out of both."""
        super().__init_subclass__(**kwargs)
        if not register or "algorithm" not in cls.__dict__:
            return
        known = FAMILIES.get(cls.algorithm)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise ValueError(f"algorithm {cls.algorithm!r} is already {known.__qualname__}")
        FAMILIES[cls.algorithm] = cls
        if listed:
            ALGORITHMS[cls.algorithm] = cls

    # --- hyperparameters (scikit-learn's BaseEstimator conventions) ------------------------

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyperparameters as given to ``__init__``; ``deep`` adds each part's as ``part__name``.

        A part left at ``None`` lists the parameters of the part it stands for
        (:meth:`default_parts`).
        """
        signature = inspect.signature(type(self).__init__).parameters.values()
        names = [p.name for p in signature if p.kind == p.POSITIONAL_OR_KEYWORD][1:]  # not self
        params = {name: getattr(self, name) for name in names}
        if deep:
            for name in names:
                part = self._part(name)
                if part is not None:
                    nested = part.get_params(deep=True)
                    params.update({f"{name}__{key}": value for key, value in nested.items()})
        return params

    def set_params(self, **params: Any) -> Self:
        """Set hyperparameters, ``part__name`` a part's (a ``None`` part becomes its default)."""
        valid = self.get_params(deep=False)
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"{type(self).__name__} has no hyperparameter {name!r}; "
                    f"valid: {', '.join(valid) or 'none'}"
                )
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                self._check_hyperparameter(name, value)
                setattr(self, name, value)  # the scikit-learn idiom: hyperparameters by name
        for name, sub_params in nested.items():
            part = self._part(name)
            if part is None:
                raise ValueError(f"hyperparameter {name!r} of {type(self).__name__} is no model")
            setattr(self, name, part)
            part.set_params(**sub_params)
        return self

    @classmethod
    def _check_hyperparameter(cls, name: str, value: Any) -> None:
        """ValueError unless ``value`` fits the type hint of ``name`` in ``__init__`` (an int
        for ``factors``, a finite number for a float, None only where the hint allows it)."""
        hint = init_hints(cls).get(name)
        if hint is not None and not fits(value, hint):
            raise ValueError(
                f"{cls.__name__}: hyperparameter {name}={value!r:.80} is not "
                f"{describe(hint)}"
            )

    def check_hyperparameters(self) -> Self:
        """Every hyperparameter checked against its type hint (ValueError naming the first
        that does not fit); ``fit`` and ``load_model`` call it."""
        for name, value in self.get_params(deep=False).items():
            self._check_hyperparameter(name, value)
            if isinstance(value, Recommender):
                value.check_hyperparameters()
        return self

    def default_parts(self) -> dict[str, Recommender]:
        """Parts (hyperparameters that are models) used when left at ``None``; none here."""
        return {}

    def clone(self) -> Self:
        """An unfitted model with the same hyperparameters (parts cloned too)."""
        params = self.get_params(deep=False)
        return type(self)(**{
            k: v.clone() if isinstance(v, Recommender) else v for k, v in params.items()
        })

    def hyperparameters(self) -> dict[str, Any]:
        """``get_params(deep=False)`` as JSON: a part becomes {algorithm, hyperparameters}."""
        return {
            name: {"algorithm": value.algorithm, "hyperparameters": value.hyperparameters()}
            if isinstance(value, Recommender) else value
            for name, value in self.get_params(deep=False).items()
        }

    def _part(self, name: str) -> Recommender | None:
        value = getattr(self, name)
        if isinstance(value, Recommender):
            return value
        return self.default_parts().get(name) if value is None else None

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({params})"

    # --- fitting --------------------------------------------------------------------------

    def fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None = None) -> Self:
        """Learn from ``ratings`` (userId, movieId, rating); ``movies`` enables filters."""
        return self.fit_vocabulary(Vocabulary.from_ratings(ratings, movies))

    def fit_vocabulary(self, vocabulary: Vocabulary) -> Self:
        """Learn from an indexed training set; a composite model shares one with its parts."""
        self.check_hyperparameters()
        self.vocabulary_ = vocabulary
        self._fit(vocabulary.user_items)
        return self

    def _fit(self, user_items: sp.csr_matrix) -> None:
        raise NotImplementedError

    def _after_load(self) -> None:
        """Rebuild derived (unsaved) state after fitting or loading; most models need none."""

    # The vocabulary's fields, under their scikit-learn style names.
    movie_ids_ = property(lambda self: self.vocabulary_.movie_ids)
    user_ids_ = property(lambda self: self.vocabulary_.user_ids)
    n_ratings_ = property(lambda self: self.vocabulary_.n_ratings)
    mean_rating_ = property(lambda self: self.vocabulary_.mean_rating)
    years_ = property(lambda self: self.vocabulary_.years)
    genre_bits_ = property(lambda self: self.vocabulary_.genre_bits)
    series_ = property(lambda self: self.vocabulary_.series)
    genres_ = property(lambda self: self.vocabulary_.genres)
    fingerprint_ = property(lambda self: self.vocabulary_.fingerprint)

    # --- scoring hooks (override in a family; rows of the vocabulary) -------------------------

    def new_user_scores(self, movie_idx: np.ndarray, stars: np.ndarray) -> np.ndarray:
        """Scores of every movie for a new user who rated ``movie_idx`` with ``stars``.

        −inf marks a movie the model never recommends. Required of every family.
        """
        raise NotImplementedError

    def known_user_scores(self, user_idx: int) -> np.ndarray:
        """Scores of every movie for a training user (default: their history folded in)."""
        return self.new_user_scores(*self.vocabulary_.history(user_idx))

    def batch_scores(self, user_items: sp.csr_matrix) -> np.ndarray:
        """Scores for many new users at once: one row of stars over all movies per user.

        The default calls :meth:`new_user_scores` per row (popularity for an empty row);
        families with a faster batch path override it.
        """
        out = np.empty(user_items.shape, dtype=np.float32)
        for i in range(user_items.shape[0]):
            span = slice(user_items.indptr[i], user_items.indptr[i + 1])
            idx, stars = user_items.indices[span], user_items.data[span]
            out[i] = self.new_user_scores(idx, stars) if len(idx) else self.popularity_scores()
        return out

    def popularity_scores(self) -> np.ndarray:
        """Every movie's number of training ratings: what an empty profile gets."""
        return self.n_ratings_.astype(np.float32)

    def item_vectors(self) -> np.ndarray:
        """One row per movie, compared by cosine in ``similar``."""
        raise NotImplementedError

    def similarity_scores(self, movie_idx: int) -> np.ndarray:
        """How like ``movie_idx`` every movie is (default: cosine of :meth:`item_vectors`)."""
        vectors = self._normalised_item_vectors()
        return matvec(vectors, vectors[movie_idx])

    def contributions(
        self, movie_idx: np.ndarray, stars: np.ndarray, pick_idx: np.ndarray
    ) -> np.ndarray:
        """picks × rated matrix: how much each rated movie adds to each pick's score.

        Families whose score is a sum over the ratings override this with that exact sum, in
        their own score units. The default: similarity(pick, rated) × stars, in the model's
        own notion of similarity (item vectors, else :meth:`similarity_scores`).
        """
        try:
            vectors = self._normalised_item_vectors()
            similarity = vectors[pick_idx] @ vectors[movie_idx].T
        except NotImplementedError:  # no item vectors (popularity): its own similar() scores
            similarity = np.stack([self.similarity_scores(int(i))[movie_idx] for i in pick_idx])
        similarity = np.where(np.isfinite(similarity), similarity, 0.0)
        return similarity * np.asarray(stars, np.float64)[None, :]

    # --- public queries ---------------------------------------------------------------------

    def recommend(self, ratings: Mapping[int, float], n: int = 10, **filters: Any) -> pd.DataFrame:
        """Top-``n`` movies for a new user who gave ``ratings`` (movieId -> 0.5..5).

        Returns a DataFrame (movieId, score), best first, never containing a rated movie.
        Unknown movieIds are skipped and listed in ``result.attrs["unknown_movie_ids"]``; an
        empty profile gets the most popular movies. The model itself is never changed.
        """
        n = check_count(n)
        movie_idx, values, unknown = self.vocabulary_.profile(ratings)
        if len(movie_idx):
            scores = self.new_user_scores(movie_idx, values)
        else:
            scores = self.popularity_scores()
        result = self._top_n(scores, n, movie_idx, filters)
        result.attrs["unknown_movie_ids"] = unknown
        return result

    def scores(self, profiles: Sequence[Mapping[int, float]]) -> np.ndarray:
        """Scores of every movie (``movie_ids_`` order) for each new user in ``profiles``.

        float32, one row per profile (movieId -> stars); −inf where the model never
        recommends a movie; an empty profile (or only unknown movies) gets popularity.
        Rated movies keep their scores: exclude them yourself if you rank.
        """
        if isinstance(profiles, Mapping | str) or not isinstance(profiles, Iterable):
            raise ValueError(f"profiles must be a list of ratings mappings, not {profiles!r:.80}")
        vocabulary = self.vocabulary_
        rows, columns, values = [], [], []
        for row, profile in enumerate(profiles):
            ids, stars = profile_arrays(profile)
            pos, known = vocabulary.positions(ids)
            rows.append(np.full(int(known.sum()), row))
            columns.append(pos[known])
            values.append(stars[known])
        shape = (len(rows), len(vocabulary.movie_ids))
        if not rows:
            return np.empty(shape, dtype=np.float32)
        user_items = sp.csr_matrix(
            (np.concatenate(values).astype(np.float32),
             (np.concatenate(rows), np.concatenate(columns))),
            shape=shape,
        )
        user_items.sort_indices()
        return np.asarray(self.batch_scores(user_items), dtype=np.float32)

    def recommend_for_user(self, user_id: int, n: int = 10, **filters: Any) -> pd.DataFrame:
        """Top-``n`` movies for a user of the training data, excluding what they rated."""
        n = check_count(n)
        user_idx = self.vocabulary_.user_index(user_id)
        rated, _ = self.vocabulary_.history(user_idx)
        return self._top_n(self.known_user_scores(user_idx), n, rated, filters)

    def similar(self, movie_id: int, n: int = 10, **filters: Any) -> pd.DataFrame:
        """Movies most like ``movie_id``, the movie itself excluded.

        The family's :meth:`similarity_scores` blended with what the movies share: title
        series, rare title words, genres, years (:func:`recommender.models.content.blend`; a
        model trained without ``movies`` ranks by its collaborative similarity alone).
        """
        n = check_count(n)
        vocabulary = self.vocabulary_
        movie_idx = vocabulary.movie_index(movie_id)
        scores = content.blend(
            self.similarity_scores(movie_idx), movie_idx,
            vocabulary.series, vocabulary.genre_bits, vocabulary.years,
            vocabulary.title_similarity(movie_idx),
        )
        return self._top_n(scores, n, np.array([movie_idx]), filters)

    def user_history(self, user_id: int) -> dict[int, float]:
        """The training ratings of ``user_id`` as movieId -> rating."""
        movie_idx, ratings = self.vocabulary_.history(self.vocabulary_.user_index(user_id))
        return dict(zip(self.movie_ids_[movie_idx].tolist(), ratings.tolist(), strict=True))

    def known_movies(self, movie_ids: Iterable[int]) -> np.ndarray:
        """Boolean mask: which of ``movie_ids`` the model can score (ValueError for what is
        no movieId)."""
        return self.vocabulary_.positions(movie_id_array(movie_ids))[1]

    # --- helpers ----------------------------------------------------------------------------

    def _normalised_item_vectors(self) -> np.ndarray:
        return self._derived("normalised", self.item_vectors(), _unit_rows)

    def _derived(self, name: str, source: np.ndarray, build: Any) -> np.ndarray:
        """``build(source)``, made once and reused by every thread until ``source`` is another
        array (a refit or a load); a race between threads only builds it twice."""
        held = self.__dict__.setdefault("_derived_arrays", {}).get(name)
        if held is None or held[0] is not source:
            held = self._derived_arrays[name] = (source, build(source))
        return held[1]

    def filter_mask(self, filters: Mapping[str, Any]) -> np.ndarray | None:
        """Movies allowed by the filters, or None when there are no filters."""
        allowed = set(filters) - {"genres", "years", "min_ratings", "exclude"}
        if allowed:
            raise TypeError(f"unknown filter(s): {', '.join(sorted(allowed))}")
        active = {k: v for k, v in filters.items() if v is not None}
        if not active:
            return None
        mask = np.ones(len(self.movie_ids_), dtype=bool)
        if (genres := active.get("genres")) is not None:
            genres = genre_names(genres)
            if not self.genres_:
                raise ValueError("the model was trained without movies; it cannot filter genres")
            unknown = [g for g in genres if g not in self.genres_]
            if unknown:
                raise ValueError(f"unknown genre(s) {unknown}; known: {self.genres_}")
            wanted = sum(1 << self.genres_.index(g) for g in genres)
            mask &= (self.genre_bits_ & wanted) != 0
        if (years := active.get("years")) is not None:
            first, last = year_range(years)
            if not self.years_.any():
                raise ValueError("this model was trained without movies, so it cannot filter years")
            mask &= (self.years_ >= first) & (self.years_ <= last)
        if (min_ratings := active.get("min_ratings")) is not None:
            mask &= self.n_ratings_ >= number("min_ratings", min_ratings)
        if (exclude := active.get("exclude")) is not None:
            exclude = movie_id_array(exclude, "exclude")
            mask[np.searchsorted(self.movie_ids_, exclude[self.known_movies(exclude)])] = False
        return mask

    def _top_n(
        self, scores: np.ndarray, n: int, seen: np.ndarray, filters: Mapping[str, Any]
    ) -> pd.DataFrame:
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        # Negated into a fresh copy (callers may share theirs), so the best are the smallest
        # and no second array is allocated; −inf (never recommend) becomes +inf.
        order = np.negative(scores, dtype=np.float32)
        order[seen] = np.inf
        mask = self.filter_mask(filters)
        if mask is not None:
            order[~mask] = np.inf
        return best_first(order, n, self.movie_ids_, self.n_ratings_)

    # --- storage ------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted model to a folder (see :mod:`recommender.models.storage`)."""
        return write_model(path, self._saved(with_vocabulary=True))

    def _saved(self, with_vocabulary: bool) -> SavedModel:
        manifest: dict[str, Any] = {
            "algorithm": self.algorithm, "hyperparameters": self.hyperparameters()
        }
        arrays = {name: getattr(self, name) for name in self.learned_arrays}
        if with_vocabulary:
            manifest |= {"fingerprint": self.fingerprint_, "genres": self.genres_}
            arrays = self.vocabulary_.arrays() | arrays
        else:
            manifest["vocabulary"] = "parent"  # a part: the enclosing folder holds the ids
        parts = {name.rstrip("_"): getattr(self, name)._saved(False) for name in self.learned_parts}
        return SavedModel(manifest, arrays, parts)

    def _restore(self, vocabulary: Vocabulary, state: Mapping[str, Any]) -> Self:
        self.vocabulary_ = vocabulary
        # A generic loader: the learned attributes are whatever the family declared.
        vars(self).update(state)
        self._after_load()
        return self


class FactorRecommender(Recommender):
    """A user × movie factor model: a score is the dot product of the two vectors.

    Subclasses learn ``user_factors_`` and ``item_factors_`` in ``_fit`` and fold a new user in
    with ``user_vector(movie_idx, ratings)``.
    """

    learned_arrays = ("user_factors_", "item_factors_")
    array_specs = {
        "user_factors_": ArraySpec("f", ("users", "factors")),
        "item_factors_": ArraySpec("f", ("movies", "factors")),
    }

    def user_vector(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        """A new user's factors from their ratings, with the movie factors held fixed."""
        raise NotImplementedError

    def new_user_scores(self, movie_idx: np.ndarray, stars: np.ndarray) -> np.ndarray:
        return matvec(self._item_columns(), self.user_vector(movie_idx, stars))

    def known_user_scores(self, user_idx: int) -> np.ndarray:
        return matvec(self._item_columns(), self.user_factors_[user_idx])

    def _item_columns(self) -> np.ndarray:
        """``item_factors_`` column-major, copied once per fitted (or loaded) array."""
        return self._derived("item_columns", self.item_factors_, column_major)

    def item_vectors(self) -> np.ndarray:
        return self.item_factors_


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero), column-major for :func:`matvec`."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return column_major(vectors / np.maximum(norms, 1e-12))
