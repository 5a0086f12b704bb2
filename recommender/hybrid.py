"""A blend of EASE and ALS scores, the default model (see docs/evaluation.md).

EASE (an item-item model, :mod:`recommender.ease`) and ALS (a low-rank model,
:mod:`recommender.als`) make different mistakes, so a blend of the two ranks held-out
favourites better than either alone on both new-user protocols. Each family's scores are
standardised per user (z-scores over the movies EASE models) before they are mixed, because
their scales differ by orders of magnitude and vary from user to user.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.als import ALSRecommender
from recommender.base import Recommender
from recommender.ease import EASERecommender

_SHARED = Recommender._state_arrays


class HybridRecommender(Recommender):
    """``ease_weight`` × z(EASE scores) + (1 − ``ease_weight``) × z(ALS scores).

    EASE hyperparameters: ``ease_regularization`` (λ), ``max_items``, ``min_ratings``,
    ``low_rating_weight``, ``predict``, ``popularity_weight`` (see
    :class:`~recommender.ease.EASERecommender`; ``like_threshold`` is shared with nothing else
    and kept at 4 stars). ALS hyperparameters: ``factors``, ``als_regularization``, ``alpha``,
    ``neutral``, ``iterations``, ``random_state`` (see :class:`~recommender.als.ALSRecommender`).
    Movies outside EASE's modelled set are never recommended; ``similar`` uses EASE's weights.
    """

    algorithm = "hybrid"
    _state_arrays = _SHARED + ("modelled_idx_", "weights_", "user_factors_", "item_factors_")

    def __init__(
        self,
        ease_weight: float = 0.5,
        ease_regularization: float = 200.0,
        max_items: int | None = 5000,
        min_ratings: int = 3,
        low_rating_weight: float = 0.5,
        predict: str = "liked",
        popularity_weight: float = 0.04,
        factors: int = 64,
        als_regularization: float = 0.05,
        alpha: float = 1.0,
        neutral: float | None = None,
        iterations: int = 15,
        random_state: int = 42,
    ):
        self.ease_weight = ease_weight
        self.ease_regularization = ease_regularization
        self.max_items = max_items
        self.min_ratings = min_ratings
        self.low_rating_weight = low_rating_weight
        self.predict = predict
        self.popularity_weight = popularity_weight
        self.factors = factors
        self.als_regularization = als_regularization
        self.alpha = alpha
        self.neutral = neutral
        self.iterations = iterations
        self.random_state = random_state

    # The two parts are ordinary models sharing this one's id vocabulary and arrays, so their
    # fitting and fold-in code is reused as is and the blend saves as one folder.

    def _parts(self) -> tuple[EASERecommender, ALSRecommender]:
        ease = EASERecommender(
            regularization=self.ease_regularization,
            max_items=self.max_items,
            min_ratings=self.min_ratings,
            low_rating_weight=self.low_rating_weight,
            predict=self.predict,
            popularity_weight=self.popularity_weight,
        )
        als = ALSRecommender(
            factors=self.factors,
            regularization=self.als_regularization,
            alpha=self.alpha,
            neutral=self.neutral,
            iterations=self.iterations,
            random_state=self.random_state,
        )
        for part in (ease, als):
            for name in _SHARED:
                setattr(part, name, getattr(self, name))
            part.genres_ = self.genres_
        return ease, als

    def _fit(self, user_items: sp.csr_matrix) -> None:
        if not 0.0 <= self.ease_weight <= 1.0:
            raise ValueError(f"ease_weight must be between 0 and 1, got {self.ease_weight}")
        ease, als = self._parts()
        ease._fit(user_items)
        als._fit(user_items)
        self.modelled_idx_, self.weights_ = ease.modelled_idx_, ease.weights_
        self.user_factors_, self.item_factors_ = als.user_factors_, als.item_factors_
        self._after_load()

    def _after_load(self) -> None:
        self._ease, self._als = self._parts()
        self._ease.modelled_idx_, self._ease.weights_ = self.modelled_idx_, self.weights_
        self._als.user_factors_, self._als.item_factors_ = self.user_factors_, self.item_factors_
        self._ease._after_load()
        self._als._after_load()

    def _blend(self, ease_scores: np.ndarray, als_scores: np.ndarray) -> np.ndarray:
        """Mix per-user z-scores over the modelled movies; the rest stay −inf."""
        modelled = np.asarray(self.modelled_idx_)
        ease_part = _standardise(np.atleast_2d(ease_scores)[:, modelled])
        als_part = _standardise(np.atleast_2d(als_scores)[:, modelled])
        out = np.full(np.atleast_2d(als_scores).shape, -np.inf, dtype=np.float32)
        out[:, modelled] = self.ease_weight * ease_part + (1.0 - self.ease_weight) * als_part
        return out.reshape(np.shape(als_scores))

    def _scores_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        if not (self._ease._position[movie_idx] >= 0).any():
            return self._popularity_scores()
        ease_scores = self._ease._scores_new_user(movie_idx, ratings)
        return self._blend(ease_scores, self._als._scores_new_user(movie_idx, ratings))

    def _scores_known_user(self, user_idx: int) -> np.ndarray:
        movie_idx, ratings = self._user_history(user_idx)
        ease_scores = self._ease._scores_new_user(movie_idx, ratings)
        return self._blend(ease_scores, self._als._scores_known_user(user_idx))

    def _scores_new_users(self, user_items: sp.csr_matrix) -> np.ndarray:
        """Scores of a batch of new users (rows of stars): used by the evaluation."""
        ease_scores = self._ease._scores_new_users(user_items)
        als_scores = np.empty(user_items.shape, dtype=np.float32)
        for i in range(user_items.shape[0]):
            span = slice(user_items.indptr[i], user_items.indptr[i + 1])
            als_scores[i] = self._als._scores_new_user(
                user_items.indices[span], user_items.data[span]
            )
        scores = self._blend(ease_scores, als_scores)
        unmodelled = np.diff(user_items[:, self.modelled_idx_].tocsr().indptr) == 0
        if unmodelled.any():
            scores[unmodelled] = self._popularity_scores()
        return scores

    def _similarity_scores(self, movie_idx: int) -> np.ndarray:
        return self._ease._similarity_scores(movie_idx)


def _standardise(scores: np.ndarray) -> np.ndarray:
    """Per row: (score − mean) / std, so two families' scores can be added."""
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return (scores - mean) / np.maximum(std, 1e-12)
