"""Non-negative matrix factorisation of the rating matrix (scikit-learn's NMF).

The users × movies matrix of stars (unrated = 0) is approximated by W·H with W, H ≥ 0.
A new user is folded in the way ``NMF.transform`` does it: solve for their row of W with
H fixed (``non_negative_factorization(update_H=False)``).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recommender.models.base import FactorRecommender


class NMFRecommender(FactorRecommender):
    """Scores are predicted stars W·H, where an unrated movie counts as 0 stars in training,
    so the score mixes "would rate it highly" with "would watch it at all"."""

    algorithm = "nmf"

    def __init__(
        self,
        factors: int = 55,
        regularization: float = 0.0,
        l1_ratio: float = 0.0,
        iterations: int = 200,
        random_state: int = 42,
    ):
        self.factors = factors
        self.regularization = regularization
        self.l1_ratio = l1_ratio
        self.iterations = iterations
        self.random_state = random_state

    def _solver_params(self) -> dict:
        return {
            "solver": "cd",
            "beta_loss": "frobenius",
            "alpha_W": self.regularization,
            "alpha_H": self.regularization,
            "l1_ratio": self.l1_ratio,
            "max_iter": self.iterations,
        }

    def _fit(self, user_items: sp.csr_matrix) -> None:
        # scikit-learn is imported where it is used: the import alone takes 0.5 s of app start.
        from sklearn.decomposition import NMF
        from sklearn.exceptions import ConvergenceWarning

        # NNDSVD starts from an SVD, which has at most min(users, movies) components.
        nmf = NMF(
            n_components=min(self.factors, *user_items.shape),
            init="nndsvda",
            random_state=self.random_state,
            **self._solver_params(),
        )
        with threadpool_limits(2, "blas"), warnings.catch_warnings():
            # Stopping at `iterations` is a deliberate budget, not a failure.
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.user_factors_ = nmf.fit_transform(user_items).astype(np.float32)
        self.item_factors_ = np.ascontiguousarray(nmf.components_.T, dtype=np.float32)

    def user_vector(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        """A new user's row of W with H fixed, as ``NMF.transform`` computes it."""
        from sklearn.decomposition import non_negative_factorization
        from sklearn.exceptions import ConvergenceWarning

        row = sp.csr_matrix(
            (ratings.astype(np.float64), (np.zeros(len(movie_idx), int), movie_idx)),
            shape=(1, len(self.movie_ids_)),
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            w, _, _ = non_negative_factorization(
                row,
                H=np.asarray(self.item_factors_.T, dtype=np.float64),
                n_components=self.item_factors_.shape[1],
                update_H=False,
                **self._solver_params(),
            )
        return w[0].astype(np.float32)

    def contributions(
        self, movie_idx: np.ndarray, stars: np.ndarray, pick_idx: np.ndarray
    ) -> np.ndarray:
        """h_{i,A}ᵀ (H_A H_Aᵀ)⁻¹ h_{j,A} x_j on the active set A of the NNLS fold-in.

        Without penalties the fold-in's non-zero factors solve the unconstrained least squares
        on A, so a pick's row sums to its score; when a penalty breaks that identity the
        similarity rule of the base class is used instead.
        """
        w = self.user_vector(movie_idx, stars).astype(np.float64)
        active = w > 0
        if not active.any():
            return np.zeros((len(pick_idx), len(movie_idx)))
        h = np.asarray(self.item_factors_, dtype=np.float64)[:, active]  # Hᵀ restricted to A
        solved = np.linalg.solve(h.T @ h, h[movie_idx].T)
        matrix = (h[pick_idx] @ solved) * np.asarray(stars, np.float64)[None, :]
        scores = h[pick_idx] @ w[active]
        tolerance = 1e-4 * max(abs(scores).max(), 1)
        if np.allclose(matrix.sum(axis=1), scores, rtol=1e-3, atol=tolerance):
            return matrix
        return super().contributions(movie_idx, stars, pick_idx)
