"""A model trained by Apache Spark MLlib's implicit ALS, served without Spark.

Spark's objective differs from implicit's (see :mod:`recommender.models.als`), so the fold-in of a
new user solves Spark's own least-squares problem against the fixed movie factors:

    minimise  Σᵢ cᵢ (pᵢ − xᵀyᵢ)²  +  λ·n·‖x‖²      over every movie i,

with confidence cᵢ = 1 + α·rᵢ and preference pᵢ = 1 for a rated movie, cᵢ = 1 and pᵢ = 0 for
the others, and λ = ``reg_param`` times n, the user's number of ratings ("ALS-WR"), as in
Spark's ``ALS.computeFactors``. Its normal equation is

    (YᵀY + Σ_rated α·rᵢ·yᵢyᵢᵀ + λ·n·I) x = Σ_rated (1 + α·rᵢ) yᵢ.

Spark's last step solves exactly this for every training user, so folding a training user in
reproduces the factors Spark stored (up to float32 rounding). Training lives in
:mod:`recommender.training.spark`; this module never imports pyspark.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.models.base import FactorRecommender


class SparkALSRecommender(FactorRecommender, listed=False):
    """Implicit-feedback ALS fitted by Spark MLlib (``ALS(implicitPrefs=True)``); fold-in with
    Spark's objective. ``fit`` needs pyspark and Java 17 (it uses the active SparkSession, else
    starts ``local[*]``); a saved model is served by ``load_model`` with numpy alone.
    """

    algorithm = "spark-als"

    def __init__(
        self,
        rank: int = 64,
        max_iter: int = 10,
        reg_param: float = 0.01,
        alpha: float = 1.0,
        seed: int = 42,
    ):
        self.rank = rank
        self.max_iter = max_iter
        self.reg_param = reg_param
        self.alpha = alpha
        self.seed = seed

    def _fit(self, user_items: sp.csr_matrix) -> None:
        from recommender.training.spark import fit_als

        self.user_factors_, self.item_factors_ = fit_als(user_items, **self.get_params())
        self._after_load()

    def _after_load(self) -> None:
        # YᵀY is shared by every fold-in, so a new user costs one k×k solve.
        items = np.asarray(self.item_factors_, dtype=np.float64)
        self._gram = items.T @ items

    def user_vector(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        """A new user's factors from Spark's least-squares step (see the module docstring)."""
        r = np.abs(np.asarray(ratings, dtype=np.float64))
        y = np.asarray(self.item_factors_[movie_idx], dtype=np.float64)
        positive = r > 0  # Spark counts (and rewards) only positive ratings
        a = self._gram + (y.T * (self.alpha * r)) @ y
        a[np.diag_indices_from(a)] += self.reg_param * positive.sum()
        b = y[positive].T @ (1.0 + self.alpha * r[positive])
        return np.linalg.solve(a, b).astype(np.float32)
