"""A blend of EASE and ALS scores, the default model (see docs/evaluation.md).

EASE (an item-item model, :mod:`recommender.models.ease`) and ALS (a low-rank model,
:mod:`recommender.models.als`) make different mistakes, so a blend of the two ranks held-out
favourites better than either alone on both new-user protocols. Each family's scores are
standardised per user (z-scores over the movies EASE models) before they are mixed, because
their scales differ by orders of magnitude and vary from user to user. The profile's genre and
decade lift (:mod:`recommender.models.traits`) is added on top, so a concentrated taste gets
its genre or era back (docs/niche.md).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.models.als import ALSRecommender
from recommender.models.base import Recommender
from recommender.models.ease import EASERecommender
from recommender.models.linalg import column_major, matvec
from recommender.models.traits import MovieTraits


class HybridRecommender(Recommender):
    """``ease_weight`` × z(EASE) + (1 − ``ease_weight``) × z(ALS) + ``taste_weight`` × lift.

    ``ease`` and ``als`` are the two parts, ordinary unfitted models; ``None`` stands for the
    tuned ones (docs/tuning.md): EASE with λ = 200 and a popularity prior of 0.04, ALS with its
    own defaults. Their hyperparameters read and set as ``ease__regularization`` and so on
    (``get_params``/``set_params``). Fitting fits a copy of each part on the same vocabulary
    (``ease_``, ``als_``); the model saves as one folder with a child folder per part.
    Movies outside EASE's modelled set are never recommended; ``similar`` uses EASE's weights.
    ``taste_weight`` scales the profile's genre and decade lift (:class:`MovieTraits`; 0 turns
    it off; a model trained without movies has no genres or years, so it adds nothing).
    """

    algorithm = "hybrid"
    learned_parts = ("ease_", "als_")

    def __init__(
        self,
        ease: EASERecommender | None = None,
        als: ALSRecommender | None = None,
        ease_weight: float = 0.5,
        taste_weight: float = 1.0,
    ):
        self.ease = ease
        self.als = als
        self.ease_weight = ease_weight
        self.taste_weight = taste_weight

    def default_parts(self) -> dict[str, Recommender]:
        return {
            "ease": EASERecommender(regularization=200.0, popularity_weight=0.04),
            "als": ALSRecommender(),
        }

    def _fit(self, user_items: sp.csr_matrix) -> None:
        if not 0.0 <= self.ease_weight <= 1.0:
            raise ValueError(f"ease_weight must be between 0 and 1, got {self.ease_weight}")
        if not self.taste_weight >= 0.0:
            raise ValueError(f"taste_weight must be >= 0, got {self.taste_weight}")
        parts = self.default_parts()
        # The parts share this model's vocabulary: the rating matrix is built once.
        self.ease_ = (self.ease or parts["ease"]).clone().fit_vocabulary(self.vocabulary_)
        self.als_ = (self.als or parts["als"]).clone().fit_vocabulary(self.vocabulary_)
        self._after_load()

    def _after_load(self) -> None:
        # For one new user only the modelled movies' ALS scores are needed, and their mean and
        # spread follow from the user's factors x: Σ y·x and xᵀ(Σ y yᵀ)x over those movies.
        items = np.asarray(self.als_.item_factors_)[np.asarray(self.modelled_idx_)]
        self._als_items = column_major(items)
        items = items.astype(np.float64)
        self._als_sum = items.sum(axis=0)
        self._als_gram = items.T @ items
        vocabulary = self.vocabulary_
        self._traits = MovieTraits.of(
            vocabulary.genre_bits, vocabulary.years, vocabulary.n_ratings, self.modelled_idx_
        )

    # ALS's factors, for what needs movie or user vectors (taste maps and groups).
    item_factors_ = property(lambda self: self.als_.item_factors_)
    user_factors_ = property(lambda self: self.als_.user_factors_)

    @property
    def modelled_idx_(self) -> np.ndarray:
        """The movies the blend can recommend: those EASE models."""
        return self.ease_.modelled_idx_

    def _blend(
        self, ease_scores: np.ndarray, als_scores: np.ndarray, taste: np.ndarray
    ) -> np.ndarray:
        """Mix per-user z-scores over the modelled movies and add the taste lift (modelled movies
        only); the rest stay −inf."""
        modelled = np.asarray(self.modelled_idx_)
        ease_part = _standardise(np.atleast_2d(ease_scores)[:, modelled])
        als_part = _standardise(np.atleast_2d(als_scores)[:, modelled])
        out = np.full(np.atleast_2d(als_scores).shape, -np.inf, dtype=np.float32)
        out[:, modelled] = self.ease_weight * ease_part + (1.0 - self.ease_weight) * als_part
        out[:, modelled] += self.taste_weight * np.atleast_2d(taste)
        return out.reshape(np.shape(als_scores))

    def new_user_scores(self, movie_idx: np.ndarray, stars: np.ndarray) -> np.ndarray:
        """The blend of :meth:`_blend`, computed once over the modelled movies.

        z-scores are affine, so w·z(e) + (1 − w)·z(a) = (w/σₑ)·e + ((1 − w)/σₐ)·a − c: one
        pass to combine instead of standardising both score vectors. The ALS moments come
        from the cached sums (k² work), EASE's from one float64 dot product.
        """
        ease_scores = self.ease_.modelled_scores(movie_idx, stars)
        if ease_scores is None:
            return self.popularity_scores()
        x = self.als_.user_vector(movie_idx, stars)
        als_scores = matvec(self._als_items, x)
        count = len(als_scores)
        x64 = x.astype(np.float64)
        als_mean = float(self._als_sum @ x64) / count
        als_std = _spread(float(x64 @ self._als_gram @ x64) / count, als_mean)
        e64 = ease_scores.astype(np.float64)
        ease_mean = float(e64.sum()) / count
        ease_std = _spread(float(e64 @ e64) / count, ease_mean)
        ease_coef = self.ease_weight / ease_std
        als_coef = (1.0 - self.ease_weight) / als_std
        blend = np.multiply(ease_scores, np.float32(ease_coef), out=ease_scores)
        blend += np.multiply(als_scores, np.float32(als_coef), out=als_scores)
        blend -= np.float32(ease_coef * ease_mean + als_coef * als_mean)
        if self.taste_weight:
            taste = self._traits.affinity(movie_idx, stars)
            blend += np.float32(self.taste_weight) * taste
        out = np.full(len(self.movie_ids_), -np.inf, dtype=np.float32)
        out[self.modelled_idx_] = blend
        return out

    def known_user_scores(self, user_idx: int) -> np.ndarray:
        history = self.vocabulary_.history(user_idx)
        ease_scores = self.ease_.new_user_scores(*history)
        taste = self._traits.affinity(*history)
        return self._blend(ease_scores, self.als_.known_user_scores(user_idx), taste)

    def batch_scores(self, user_items: sp.csr_matrix) -> np.ndarray:
        """EASE's one-product batch; ALS folds each user in (a k × k solve each)."""
        ease_scores = self.ease_.batch_scores(user_items)
        als_scores = self.als_.batch_scores(user_items)
        scores = self._blend(ease_scores, als_scores, self._traits.batch_affinity(user_items))
        unmodelled = np.diff(user_items[:, self.modelled_idx_].tocsr().indptr) == 0
        if unmodelled.any():
            scores[unmodelled] = self.popularity_scores()
        return scores

    def similarity_scores(self, movie_idx: int) -> np.ndarray:
        return self.ease_.similarity_scores(movie_idx)

    def contributions(
        self, movie_idx: np.ndarray, stars: np.ndarray, pick_idx: np.ndarray
    ) -> np.ndarray:
        """Each part's contributions divided by the std its z-score divides by, then blended.

        The taste lift belongs to the profile as a whole (shares of genres and decades), not to
        one rating, so no rating is credited with it."""
        if not self.ease_.is_modelled(movie_idx).any():
            # The hybrid then falls back to popularity: no rating explains anything.
            return np.zeros((len(pick_idx), len(movie_idx)))
        modelled = np.asarray(self.modelled_idx_)
        parts = ((self.ease_, self.ease_weight), (self.als_, 1.0 - self.ease_weight))
        total = np.zeros((len(pick_idx), len(movie_idx)))
        for part, weight in parts:
            spread = part.new_user_scores(movie_idx, stars)[modelled].std()
            total += weight * part.contributions(movie_idx, stars, pick_idx) / max(spread, 1e-12)
        return total


def _spread(mean_square: float, mean: float) -> float:
    """A standard deviation from E[s²] and E[s], floored as :func:`_standardise` floors it."""
    return max(float(np.sqrt(max(mean_square - mean * mean, 0.0))), 1e-12)


def _standardise(scores: np.ndarray) -> np.ndarray:
    """Per row: (score − mean) / std, so two families' scores can be added."""
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return (scores - mean) / np.maximum(std, 1e-12)
