"""Alternating least squares on implicit feedback (implicit's AlternatingLeastSquares).

Hu, Koren & Volinsky (2008), "Collaborative Filtering for Implicit Feedback Datasets".
Ratings become confidences through :func:`confidence`; a new user is folded in by solving
the same regularised least-squares problem that training solves for each user, against the
fixed item factors, so nothing is retrained.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recommender.models.base import FactorRecommender
from recommender.models.linalg import solve_positive_definite

log = logging.getLogger(__name__)


def confidence(ratings: np.ndarray, alpha: float, neutral: float | None) -> np.ndarray:
    """Map star ratings to ALS confidences.

    ``neutral=None``: every rating is positive evidence weighted by its stars,
    ``alpha * rating`` (a 1-star rating pulls a fifth as hard as a 5-star one).
    ``neutral=r``: ``alpha * (rating - r)``; ratings below ``r`` become negative values, which
    implicit reads as "does not like" with confidence ``|value|`` (a rating equal to ``r``
    gets a tiny positive weight so it is not dropped from the sparse matrix).
    """
    ratings = np.asarray(ratings, dtype=np.float32)
    if neutral is None:
        return alpha * ratings
    shifted = ratings - np.float32(neutral)
    shifted[shifted == 0] = np.float32(1e-3)
    return alpha * shifted


class ALSRecommender(FactorRecommender):
    """Implicit-feedback matrix factorisation with fold-in for new users.

    Scores are dot products of user and movie factors. ``use_gpu`` fits with implicit's CUDA
    build when it is available and falls back to the CPU with a warning otherwise.
    """

    algorithm = "als"

    def __init__(
        self,
        factors: int = 64,
        regularization: float = 0.05,
        alpha: float = 1.0,
        neutral: float | None = None,
        iterations: int = 15,
        random_state: int = 42,
        use_gpu: bool = False,
    ):
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.neutral = neutral
        self.iterations = iterations
        self.random_state = random_state
        self.use_gpu = use_gpu

    def _fit(self, user_items: sp.csr_matrix) -> None:
        from implicit.als import AlternatingLeastSquares

        weights = user_items.copy()
        weights.data = confidence(weights.data, self.alpha, self.neutral)
        use_gpu = self.use_gpu and _gpu_available()
        # implicit asks for single-threaded BLAS: its own threads already use every core.
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                iterations=self.iterations,
                random_state=self.random_state,
                use_gpu=use_gpu,
            )
            model.fit(weights, show_progress=False)
        if use_gpu:
            model = model.to_cpu()
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)
        self._after_load()

    def _after_load(self) -> None:
        # YᵀY + λI is shared by every fold-in, so a new user costs one k×k solve.
        items = np.asarray(self.item_factors_, dtype=np.float64)
        self._gram = items.T @ items + self.regularization * np.eye(items.shape[1])

    def _fold_in_system(self, movie_idx: np.ndarray, ratings: np.ndarray) -> tuple[np.ndarray, ...]:
        """The fold-in's normal equations: A = YᵀY + λI + Σ (|cᵢ| − 1) yᵢyᵢᵀ over the rated
        movies, their factors Y_rated and the weights of the right-hand side (cᵢ where > 0)."""
        c = confidence(ratings, self.alpha, self.neutral).astype(np.float64)
        y = np.asarray(self.item_factors_[movie_idx], dtype=np.float64)
        a = self._gram + (y.T * (np.abs(c) - 1.0)) @ y
        return a, y, np.where(c > 0, c, 0.0)

    def user_vector(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        """Factors of a new user, from the same least-squares step as training.

        Minimises Σᵢ cᵢ (pᵢ − x·yᵢ)² over all items (cᵢ = 1, pᵢ = 0 for unrated ones) plus
        λ‖x‖²: (YᵀY + λI + Σ (|cᵢ| − 1) yᵢyᵢᵀ) x = Σ_{cᵢ>0} cᵢ yᵢ, as in implicit's solver.
        """
        a, y, weights = self._fold_in_system(movie_idx, ratings)
        return solve_positive_definite(a, y.T @ weights).astype(np.float32)

    def contributions(
        self, movie_idx: np.ndarray, stars: np.ndarray, pick_idx: np.ndarray
    ) -> np.ndarray:
        """Hu et al. (2008) §5: s_ij c_j with s = Y_picks A⁻¹ Y_ratedᵀ (A of ``user_vector``),
        so a pick's row sums to its score."""
        a, y, weights = self._fold_in_system(movie_idx, stars)
        s = np.asarray(self.item_factors_[pick_idx], dtype=np.float64) @ np.linalg.solve(a, y.T)
        return s * weights[None, :]


def _gpu_available() -> bool:
    try:
        import implicit.gpu

        if implicit.gpu.HAS_CUDA:
            return True
        reason = "implicit was built without CUDA or no GPU is visible"
    except ImportError as error:  # the CUDA extension needs rmm and a CUDA runtime
        reason = f"implicit's GPU extension cannot load ({error})"
    warnings.warn(f"use_gpu=True but {reason}; fitting ALS on the CPU", stacklevel=3)
    return False
