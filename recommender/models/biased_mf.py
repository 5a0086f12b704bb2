"""Biased matrix factorisation of explicit star ratings, trained by alternating least squares.

A rating is modelled as ``r̂(u, i) = μ + b_u + b_i + p_u · q_i`` (Koren, Bell & Volinsky 2009,
"Matrix Factorization Techniques for Recommender Systems", eq. 4), fitted to the observed ratings
only. Training alternates two exact ridge regressions: with the movies fixed, every user's
``(b_u, p_u)`` is the regularised least-squares fit of their residual stars ``r − μ − b_i`` on
the features ``(1, q_i)``; then the same for every movie with the users fixed. The penalty of a
user or movie with ``n`` ratings is ``λ · n^e`` (``e = 1`` is the weighted-λ of Zhou et al. 2008,
"Large-scale Parallel Collaborative Filtering for the Netflix Prize"; ``e = 0`` is Koren's).

A new user is folded in with that same user step against the fixed movies, so a training user's
own history folded back in gives exactly the vector training learned (the last half-step of
training is a user step).

Ranking adds how often a movie is co-rated with the user's movies (see
:meth:`BiasedMFRecommender.recommend`), from a truncated SVD of the rating pattern R: with
R ≈ U S Vᵀ the co-rating counts RᵀR ≈ (VS)(VS)ᵀ, the item-item product that PureSVD ranks by
(Cremonesi, Koren & Turrin 2010, "Performance of Recommender Algorithms on Top-N
Recommendation Tasks", §4.2).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recommender.models.base import Recommender
from recommender.models.linalg import column_major, matvec
from recommender.models.storage import ArraySpec
from recommender.models.vocabulary import movie_id_array
from recommender.ratings import MAX_RATING, MIN_RATING

# Rows of the batched dual solve are padded to a common length; this caps one batch's
# gathered features (elements, float64) so memory stays in the tens of megabytes.
_BATCH_ELEMENTS = 2_000_000


def ridge_rows(
    indptr: np.ndarray,
    indices: np.ndarray,
    targets: np.ndarray,
    features: np.ndarray,
    penalty: np.ndarray,
) -> np.ndarray:
    """Solve one ridge regression per row of a CSR pattern, all rows at once.

    Row ``r`` regresses ``targets[indptr[r]:indptr[r+1]]`` on ``features[indices[...]]`` (Z_r)
    with a diagonal penalty ``penalty[r]`` (Λ_r): x_r = (Z_rᵀZ_r + Λ_r)⁻¹ Z_rᵀ t_r. A row with
    fewer observations L than features d uses the equivalent dual form
    x_r = Λ_r⁻¹ Z_rᵀ (Z_r Λ_r⁻¹ Z_rᵀ + I)⁻¹ t_r (an L × L solve), so the long tail of movies with
    a handful of ratings costs almost nothing. Rows without observations get x_r = 0.
    """
    n_rows, d = len(indptr) - 1, features.shape[1]
    counts = np.diff(indptr)
    out = np.zeros((n_rows, d))
    order = np.argsort(counts, kind="stable")
    order = order[counts[order] > 0]
    if d == 1:  # biases only: a closed form per row
        rows = np.flatnonzero(counts)  # reduceat needs segment starts in increasing order
        if len(rows):
            z = features[indices, 0]
            sums = np.add.reduceat(targets * z, indptr[rows])
            squares = np.add.reduceat(z * z, indptr[rows])
            out[rows, 0] = sums / (squares + penalty[rows, 0])
        return out
    long_rows = order[counts[order] >= d]
    if len(long_rows):
        gram = np.empty((len(long_rows), d, d))
        rhs = np.empty((len(long_rows), d))
        for n, row in enumerate(long_rows):
            span = slice(indptr[row], indptr[row + 1])
            z = features[indices[span]]
            gram[n] = z.T @ z
            rhs[n] = targets[span] @ z
        gram[:, np.arange(d), np.arange(d)] += penalty[long_rows]
        out[long_rows] = np.linalg.solve(gram, rhs[..., None])[..., 0]
    short_rows = order[counts[order] < d]
    sorted_counts = counts[short_rows]
    start = 0
    while start < len(short_rows):
        # Batch rows of equal length (short rows) so that padding wastes nothing.
        length = sorted_counts[start]
        end = int(np.searchsorted(sorted_counts, length, side="right"))
        end = min(end, start + max(1, _BATCH_ELEMENTS // (length * d)))
        rows = short_rows[start:end]
        positions = indptr[rows, None] + np.arange(length)
        z = features[indices[positions]]  # rows × L × d
        z_scaled = z / penalty[rows][:, None, :]
        kernel = np.matmul(z_scaled, z.transpose(0, 2, 1))
        kernel[:, np.arange(length), np.arange(length)] += 1.0
        dual = np.linalg.solve(kernel, targets[positions][..., None])
        out[rows] = np.matmul(z_scaled.transpose(0, 2, 1), dual)[..., 0]
        start = end
    return out


def ridge_one(features: np.ndarray, targets: np.ndarray, penalty: np.ndarray) -> np.ndarray:
    """One row of :func:`ridge_rows` (same primal/dual choice), without its batching."""
    n, d = features.shape
    if n == 0:
        return np.zeros(d)
    if n >= d:
        gram = features.T @ features
        gram[np.diag_indices(d)] += penalty
        return np.linalg.solve(gram, targets @ features)
    scaled = features / penalty
    kernel = scaled @ features.T
    kernel[np.diag_indices(n)] += 1.0
    return scaled.T @ np.linalg.solve(kernel, targets)


class BiasedMFRecommender(Recommender):
    """Predicted star ratings from biases plus factors, with fold-in for new users.

    Hyperparameters: ``factors`` (length of p_u and q_i; 0 fits biases only),
    ``regularization`` (λ of the factors), ``bias_regularization`` (λ of b_u and b_i),
    ``regularization_exponent`` (e: the penalty of a user or movie with n ratings is λ·nᵉ),
    ``iterations`` (alternations), ``random_state`` (the initial user factors) and
    ``affinity_weight`` and ``affinity_rank`` (how ``recommend`` ranks, see :meth:`recommend`;
    predictions ignore both).

    Learned: ``global_mean_`` (one-element array, μ), ``user_biases_``, ``item_biases_``,
    ``user_factors_`` and ``item_factors_`` (rows in ``user_ids_`` / ``movie_ids_`` order), and
    ``co_rating_factors_`` (movies × affinity_rank, F with RᵀR ≈ FFᵀ).
    """

    algorithm = "biased-mf"
    learned_arrays = (
        "global_mean_",
        "user_biases_",
        "item_biases_",
        "user_factors_",
        "item_factors_",
        "co_rating_factors_",
    )
    array_specs = {
        "global_mean_": ArraySpec("f", (1,)),
        "user_biases_": ArraySpec("f", ("users",)),
        "item_biases_": ArraySpec("f", ("movies",)),
        "user_factors_": ArraySpec("f", ("users", "factors")),
        "item_factors_": ArraySpec("f", ("movies", "factors")),
        "co_rating_factors_": ArraySpec("f", ("movies", "affinity_rank")),
    }

    def __init__(
        self,
        factors: int = 50,
        regularization: float = 1.25,
        bias_regularization: float = 1.0,
        regularization_exponent: float = 0.5,
        iterations: int = 15,
        random_state: int = 42,
        affinity_weight: float = 2.5,
        affinity_rank: int = 64,
    ):
        self.factors = factors
        self.regularization = regularization
        self.bias_regularization = bias_regularization
        self.regularization_exponent = regularization_exponent
        self.iterations = iterations
        self.random_state = random_state
        self.affinity_weight = affinity_weight
        self.affinity_rank = affinity_rank

    # --- training -----------------------------------------------------------------------

    def _check_params(self) -> None:
        if self.factors < 0 or self.iterations < 1 or self.affinity_rank < 1:
            raise ValueError(
                "factors must be >= 0, iterations and affinity_rank >= 1, got "
                f"{self.factors}, {self.iterations}, {self.affinity_rank}"
            )
        if not (self.regularization > 0 and self.bias_regularization > 0):
            raise ValueError("regularization and bias_regularization must be > 0")
        if self.affinity_weight < 0:
            raise ValueError(f"affinity_weight must be >= 0, got {self.affinity_weight}")

    def _fit(self, user_items: sp.csr_matrix) -> None:
        self._check_params()
        stars = user_items.astype(np.float64)
        by_movie = stars.tocsc()
        by_movie.sort_indices()
        mean = float(stars.data.mean())
        rng = np.random.default_rng(self.random_state)
        n_users, n_movies = stars.shape
        user_x = np.hstack([np.zeros((n_users, 1)), rng.normal(0, 0.1, (n_users, self.factors))])
        movie_x = np.zeros((n_movies, self.factors + 1))
        user_penalty = self._penalty(np.diff(stars.indptr))
        movie_penalty = self._penalty(np.diff(by_movie.indptr))
        movie_of, user_of = stars.indices, by_movie.indices
        # Small solves gain nothing from BLAS threads, which would only fight other work.
        with threadpool_limits(1, "blas"):
            for _ in range(self.iterations):
                # Movies given users, then users given movies: the last step is a user step,
                # which is what fold-in repeats for a new user.
                features = np.hstack([np.ones((n_users, 1)), user_x[:, 1:]])
                targets = by_movie.data - mean - user_x[user_of, 0]
                movie_x = ridge_rows(by_movie.indptr, user_of, targets, features, movie_penalty)
                features = np.hstack([np.ones((n_movies, 1)), movie_x[:, 1:]])
                targets = stars.data - mean - movie_x[movie_of, 0]
                user_x = ridge_rows(stars.indptr, movie_of, targets, features, user_penalty)
        self.global_mean_ = np.array([mean])
        self.user_biases_ = user_x[:, 0].astype(np.float32)
        self.item_biases_ = movie_x[:, 0].astype(np.float32)
        self.user_factors_ = np.ascontiguousarray(user_x[:, 1:], dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(movie_x[:, 1:], dtype=np.float32)
        self.co_rating_factors_ = self._co_rating_factors(user_items)
        self._after_load()

    def _co_rating_factors(self, user_items: sp.csr_matrix) -> np.ndarray:
        """F = V_k S_k of the rank-k truncated SVD of the rating pattern (1 where rated)."""
        # Imported here: scikit-learn takes a second to import, which every start would pay.
        from sklearn.utils.extmath import randomized_svd

        pattern = sp.csr_matrix(
            (np.ones(user_items.nnz, np.float32), user_items.indices, user_items.indptr),
            shape=user_items.shape,
        )
        rank = min(self.affinity_rank, *pattern.shape)
        _, singular, vt = randomized_svd(pattern, rank, random_state=self.random_state)
        return np.ascontiguousarray((vt.T * singular).astype(np.float32))

    def _penalty(self, counts: np.ndarray) -> np.ndarray:
        """Diagonal ridge penalty per row, bias first: λ·nᵉ (n ≥ 1 so nothing vanishes)."""
        scale = np.maximum(counts, 1).astype(np.float64) ** self.regularization_exponent
        return scale[:, None] * self._penalty_row()[None, :]

    def _penalty_row(self) -> np.ndarray:
        return np.r_[self.bias_regularization, np.full(self.factors, self.regularization)]

    def _after_load(self) -> None:
        self._mean = float(np.asarray(self.global_mean_)[0])
        self._movie_offsets = self._mean + np.asarray(self.item_biases_, dtype=np.float64)
        self._fold_in_penalty = self._penalty_row()
        self._movie_features = np.hstack([
            np.ones((len(self.movie_ids_), 1)), np.asarray(self.item_factors_, dtype=np.float64)
        ])
        # float32 per-movie constants of the ranking, so a request never mixes precisions.
        self._movie_stars = self._movie_offsets.astype(np.float32)
        self._star_columns = column_major(self.item_factors_)
        # Rows divided by √ratings, so one product gives co-ratings / √ratings.
        inverse_sqrt_ratings = 1.0 / np.sqrt(np.maximum(np.asarray(self.n_ratings_), 1))
        self._affinity_columns = column_major(
            np.asarray(self.co_rating_factors_) * inverse_sqrt_ratings[:, None]
        )

    # --- fold-in and predictions ------------------------------------------------------

    def _fold_in_problem(
        self, movie_idx: np.ndarray, ratings: np.ndarray
    ) -> tuple[np.ndarray, ...]:
        """The training user step for one user: features z = (1, q_i) of the rated movies,
        targets t = r − μ − b_i and the diagonal penalty (factors + 1 values)."""
        targets = np.asarray(ratings, np.float64) - self._movie_offsets[movie_idx]
        scale = max(len(movie_idx), 1) ** self.regularization_exponent
        return self._movie_features[movie_idx], targets, scale * self._fold_in_penalty

    def user_vector(self, movie_idx: np.ndarray, ratings: np.ndarray) -> tuple[float, np.ndarray]:
        """(b_u, p_u) of a new user: the training user step against the fixed movies."""
        features, targets, penalty = self._fold_in_problem(movie_idx, ratings)
        # No threadpool_limits here: it costs 0.3 ms a call, and one small solve stays on
        # one thread anyway.
        x = ridge_one(features, targets, penalty)
        return float(x[0]), x[1:].astype(np.float32)

    def contributions(
        self, movie_idx: np.ndarray, stars: np.ndarray, pick_idx: np.ndarray
    ) -> np.ndarray:
        """q_iᵀ [W z_j]_q t_j with W = (ZᵀZ + Λ)⁻¹, the fold-in's ridge step: a pick's row sums
        to its predicted stars less μ + b_u + b_i (the part that differs between picks)."""
        z, t, penalty = self._fold_in_problem(movie_idx, stars)
        w_zt = np.linalg.solve(z.T @ z + np.diag(penalty), z.T)
        # Row 0 of W Zᵀ builds b_u; rows 1.. build p_u.
        return (self._movie_features[pick_idx, 1:] @ w_zt[1:]) * t[None, :]

    def _stars(self, bias: float, factors: np.ndarray) -> np.ndarray:
        """Unclipped μ + b_u + b_i + p_u·q_i for every movie."""
        stars = matvec(self._star_columns, factors)
        stars += self._movie_stars
        stars += np.float32(bias)
        return stars

    def predict_ratings(
        self, ratings: Mapping[int, float], movie_ids: Iterable[int]
    ) -> pd.Series:
        """Predicted stars (0.5–5, float) of ``movie_ids`` for a new user who gave ``ratings``.

        Returns a Series indexed by movieId in the order asked. A movie the model never saw
        gets the user's bias-only prediction μ + b_u: the ridge solution for a movie without
        ratings is b_i = 0, q_i = 0. Those ids are listed in ``attrs["unknown_movie_ids"]``, as
        are unknown ids in ``ratings`` (which are ignored). An empty profile gets μ + b_i.
        """
        movie_idx, values, unknown_rated = self.vocabulary_.profile(ratings)
        bias, factors = self.user_vector(movie_idx, values)
        result = self._predictions(bias, factors, movie_ids)
        result.attrs["unknown_movie_ids"] = unknown_rated + result.attrs["unknown_movie_ids"]
        return result

    def predict_ratings_for_user(self, user_id: int, movie_ids: Iterable[int]) -> pd.Series:
        """Predicted stars of ``movie_ids`` for a user of the training data (as above)."""
        user_idx = self.vocabulary_.user_index(user_id)
        return self._predictions(
            float(self.user_biases_[user_idx]), self.user_factors_[user_idx], movie_ids
        )

    def _predictions(self, bias: float, factors: np.ndarray, movie_ids: Iterable[int]) -> pd.Series:
        ids = movie_id_array(movie_ids)
        known = self.known_movies(ids)
        idx = np.searchsorted(self.movie_ids_, ids[known])
        stars = np.full(len(ids), self._mean + bias)
        stars[known] += self.item_biases_[idx] + matvec(self.item_factors_[idx], factors)
        result = pd.Series(
            np.clip(stars, MIN_RATING, MAX_RATING).astype(np.float32),
            index=pd.Index(ids, name="movieId"),
            name="predicted_rating",
        )
        result.attrs["unknown_movie_ids"] = ids[~known].tolist()
        return result

    # --- ranking ----------------------------------------------------------------------

    def recommend(self, ratings: Mapping[int, float], n: int = 10, **filters: Any) -> pd.DataFrame:
        """Top-``n`` movies for a new user: predicted stars plus a "would you watch it" term.

        ``score = predicted stars + affinity_weight · ln(affinity / max affinity)``, where a
        movie's affinity is how often the people who rated this user's movies rated it
        (co-ratings / √ratings; the counts come from their rank-``affinity_rank`` factors, see
        the module's docstring). Stars alone rank badly: an explicit model only learns from
        ratings people chose to give, so it cannot tell that a cartoon fan will not watch
        horror, and a movie that two people loved tops the list (docs/rating_accuracy.md
        measures this). ``affinity_weight=0`` ranks by predicted stars alone. Show
        :meth:`predict_ratings`, not ``score``, on cards.
        """
        return super().recommend(ratings, n, **filters)

    def new_user_scores(self, movie_idx: np.ndarray, stars: np.ndarray) -> np.ndarray:
        bias, factors = self.user_vector(movie_idx, stars)
        return self._ranking(bias, factors, movie_idx)

    def known_user_scores(self, user_idx: int) -> np.ndarray:
        history = self.vocabulary_.history(user_idx)[0]
        return self._ranking(
            float(self.user_biases_[user_idx]), self.user_factors_[user_idx], history
        )

    def _ranking(self, bias: float, factors: np.ndarray, movie_idx: np.ndarray) -> np.ndarray:
        """:meth:`recommend`'s score of every movie for the user (b_u, p_u) who rated these."""
        if not self.affinity_weight or not len(movie_idx):
            return self._stars(bias, factors)
        # Co-ratings with the user's movies (Σ of their columns of RᵀR ≈ FFᵀ) over √ratings.
        affinity = matvec(self._affinity_columns, self.co_rating_factors_[movie_idx].sum(axis=0))
        # A movie nobody co-rated gets a floor a thousandth of the strongest co-rating instead
        # of -inf (the approximation can even dip below zero), so it still ranks (last) when
        # filters leave nothing else.
        top = max(float(affinity.max()), 1e-12)
        np.maximum(affinity, np.float32(1e-3 * top), out=affinity)
        log_share = np.log(affinity, out=affinity)
        log_share *= np.float32(self.affinity_weight)
        # − w·ln(top) joins the user's bias, a constant added anyway: w·ln(affinity / top).
        log_share += self._stars(bias - self.affinity_weight * np.log(top), factors)
        return log_share

    def item_vectors(self) -> np.ndarray:
        return self.item_factors_
