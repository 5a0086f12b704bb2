"""Non-negative matrix factorisation of the rating matrix (scikit-learn's NMF).

The users × movies matrix of stars (unrated = 0) is approximated by W·H with W, H ≥ 0.
A new user is folded in by solving for their row of W with H fixed, the problem that
``NMF.transform`` (``non_negative_factorization(update_H=False)``) approximates by coordinate
descent, exactly and in about 0.1 ms: a k-variable non-negative least-squares problem on
the cached Gram matrix HHᵀ (see :meth:`NMFRecommender.user_vector`).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import scipy.optimize
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
        self._after_load()

    def _penalties(self) -> tuple[float, float]:
        """scikit-learn's (l1, l2) penalties of one row of W: alpha_W scaled by the number of
        movies (``NMF._compute_regularization``)."""
        scale = self.regularization * len(self.movie_ids_)
        return scale * self.l1_ratio, scale * (1.0 - self.l1_ratio)

    def _after_load(self) -> None:
        # The fold-in minimises ½‖x − wH‖² + l1·Σw + ½·l2‖w‖² over w ≥ 0, where x is the whole
        # row (unrated movies count as 0 stars, as in training), so its Gram matrix is the FULL
        # HHᵀ + l2·I. Written as G = LLᵀ, that is ‖Lᵀw − L⁻¹b‖² up to a constant: an NNLS
        # problem of k × k, whatever the number of movies.
        h = np.asarray(self.item_factors_, dtype=np.float64)
        gram = h.T @ h + self._penalties()[1] * np.eye(h.shape[1])
        try:
            lower = np.linalg.cholesky(gram)
        except np.linalg.LinAlgError:  # a factor no movie uses: nudge it off singular
            gram += 1e-12 * max(np.trace(gram), 1.0) * np.eye(len(gram))
            lower = np.linalg.cholesky(gram)
        self._nnls_matrix = np.ascontiguousarray(lower.T)
        self._nnls_whiten = scipy.linalg.solve_triangular(lower, np.eye(len(gram)), lower=True)

    def user_vector(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        """A new user's row of W with H fixed: the exact minimiser of the objective that
        ``NMF.transform`` approximates (its coordinate descent stops at a tolerance).

        The right-hand side b = H_rated ᵀ·stars − l1 needs only the rated movies.
        """
        h = np.asarray(self.item_factors_[movie_idx], dtype=np.float64)
        rhs = h.T @ np.asarray(ratings, dtype=np.float64) - self._penalties()[0]
        w, _ = scipy.optimize.nnls(
            self._nnls_matrix, self._nnls_whiten @ rhs, maxiter=50 * len(rhs)
        )
        return w.astype(np.float32)

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
