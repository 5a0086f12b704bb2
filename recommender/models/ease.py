"""EASE: a closed-form item-item model (Steck 2019, "Embarrassingly Shallow Autoencoders for
Sparse Data", WWW '19).

One dense movies × movies weight matrix B predicts a user's row of the rating matrix from the
same row: ``scores = x · B``, with B's diagonal forced to zero so that a movie cannot explain
itself. A new user is therefore folded in for free: their scores are a weighted sum of the rows
of B of the movies they rated.

Only the ``max_items`` most-rated movies with at least ``min_ratings`` ratings are modelled,
because B is dense (ml-32m's 87k movies would need a 30 GB matrix). Movies outside that set
are never recommended (they score ``-inf``), are ignored in a profile, and ``similar`` on one
of them falls back to co-rating cosine ("people who rated X also rated Y") among the modelled
movies.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from recommender.models.base import Recommender
from recommender.models.storage import ArraySpec

PREDICT = ("input", "rated", "liked")


def ease_weights(
    x: sp.csr_matrix,
    regularization: float,
    y: sp.csr_matrix | None = None,
    dtype: np.dtype | type = np.float32,
) -> np.ndarray:
    """Closed-form EASE weights B (items × items, zero diagonal).

    Steck (2019), eq. 8: P = (XᵀX + λI)⁻¹, B = I − P·diagMat(1/diag(P)), i.e. B_ij = −P_ij/P_jj.
    With a target matrix Y ≠ X of the same shape, min ‖Y − XB‖² + λ‖B‖² s.t. diag(B) = 0 has
    the same form: B = P·XᵀY − P·diagMat(γ) with γ = diag(P·XᵀY) / diag(P).

    When X has fewer rows (users) than columns (items), the users × users system is solved
    instead (Woodbury), which gives the same B; see :func:`_ease_weights_dual`.
    """
    lam = float(regularization)
    if not lam > 0:
        raise ValueError(f"regularization must be > 0, got {regularization}")
    if x.shape[0] < x.shape[1]:
        return _ease_weights_dual(x, lam, y, dtype)
    gram = (x.T @ x).toarray().astype(np.float64)
    gram[np.diag_indices_from(gram)] += lam
    identity = np.eye(x.shape[1])
    p = scipy.linalg.cho_solve(scipy.linalg.cho_factor(gram, check_finite=False), identity)
    diag_p = np.diag(p).copy()
    if y is None:
        p /= -diag_p[None, :]
        b = p
    else:
        b = p @ (x.T @ y).toarray()
        gamma = np.diag(b) / diag_p
        p *= gamma[None, :]
        b -= p
    b[np.diag_indices_from(b)] = 0.0
    return b.astype(dtype, copy=False)


def _ease_weights_dual(
    x: sp.csr_matrix, lam: float, y: sp.csr_matrix | None, dtype: np.dtype | type
) -> np.ndarray:
    """EASE weights through the users × users system, for fewer users than items.

    With M = (XXᵀ + λI)⁻¹ the Woodbury identity gives P = (I − XᵀMX)/λ and P·XᵀY = XᵀMY, so
    off the diagonal B_ij = (XᵀMX)_ij / (λ P_jj) without Y, and
    B = Xᵀ(MY + MX·diagMat(γ/λ)) − diagMat(γ/λ) with it. diag(P) and γ need only
    column-wise dot products, so one items × users × items product (in ``dtype``) remains.
    """
    dense_x = x.toarray().astype(np.float64)
    k = dense_x @ dense_x.T
    k[np.diag_indices_from(k)] += lam
    factor = scipy.linalg.cho_factor(k, check_finite=False)
    mx = scipy.linalg.cho_solve(factor, dense_x, check_finite=False)
    diag_p = (1.0 - np.einsum("ui,ui->i", dense_x, mx)) / lam
    if y is None:
        right = mx / (lam * diag_p)[None, :]
    else:
        my = scipy.linalg.cho_solve(factor, y.toarray().astype(np.float64), check_finite=False)
        gamma = np.einsum("ui,ui->i", dense_x, my) / diag_p
        right = my + mx * (gamma / lam)[None, :]
    b = dense_x.T.astype(dtype) @ right.astype(dtype)
    b[np.diag_indices_from(b)] = 0.0
    return b


def feedback_weights(
    stars: np.ndarray, like_threshold: float, low_rating_weight: float
) -> np.ndarray:
    """Entries of X: 1 for a rating ≥ ``like_threshold``, ``low_rating_weight`` below it.

    1.0 reads every rating as "watched" (Steck's binary X), 0.0 ignores low ratings, a negative
    weight makes them evidence against similar movies.
    """
    stars = np.asarray(stars, dtype=np.float32)
    return np.where(stars >= like_threshold, 1.0, low_rating_weight).astype(np.float32)


class EASERecommender(Recommender):
    """Item-item scores from EASE weights; new users are scored as ``x · B``.

    Hyperparameters (defaults tuned on ml-latest-small, docs/tuning.md): ``regularization``
    (λ; larger leans towards co-occurrence counts, which suit short profiles), ``max_items``
    and ``min_ratings`` (which movies are modelled), ``like_threshold`` and
    ``low_rating_weight`` (how stars become X, see :func:`feedback_weights`), ``predict`` (what
    B reconstructs: ``"input"`` X itself as in the paper, ``"rated"`` whether a movie was rated
    at all, ``"liked"`` whether it was rated ≥ ``like_threshold``), ``popularity_weight`` (β:
    adds β × the share of training users who rated each movie; ``x · B`` grows with the
    profile while this prior does not, so it mostly steers short profiles towards well-known
    movies).
    """

    algorithm = "ease"
    learned_arrays = ("modelled_idx_", "weights_")
    array_specs = {
        "modelled_idx_": ArraySpec("i", ("modelled",), rows_of="movies"),
        "weights_": ArraySpec("f", ("modelled", "modelled")),
    }

    def __init__(
        self,
        regularization: float = 300.0,
        max_items: int | None = 5000,
        min_ratings: int = 3,
        like_threshold: float = 4.0,
        low_rating_weight: float = 0.5,
        predict: str = "liked",
        popularity_weight: float = 0.0,
    ):
        self.regularization = regularization
        self.max_items = max_items
        self.min_ratings = min_ratings
        self.like_threshold = like_threshold
        self.low_rating_weight = low_rating_weight
        self.predict = predict
        self.popularity_weight = popularity_weight

    def _fit(self, user_items: sp.csr_matrix) -> None:
        if self.predict not in PREDICT:
            raise ValueError(f"predict must be one of {PREDICT}, got {self.predict!r}")
        self.modelled_idx_ = self._choose_movies()
        stars = user_items[:, self.modelled_idx_].tocsr()
        x = stars.copy()
        x.data = feedback_weights(x.data, self.like_threshold, self.low_rating_weight)
        x.eliminate_zeros()
        y = None
        if self.predict != "input":
            y = stars.copy()
            y.data = (
                np.ones_like(y.data)
                if self.predict == "rated"
                else (y.data >= self.like_threshold).astype(np.float32)
            )
            y.eliminate_zeros()
        # One BLAS thread: on a busy 2-core machine OpenBLAS's pool made the 610 × 610
        # Cholesky take 0.9 s instead of 5 ms, while the big product gains little from two.
        with threadpool_limits(1, "blas"):
            self.weights_ = ease_weights(x, self.regularization, y, dtype=np.float32)
        self._after_load()

    def _choose_movies(self) -> np.ndarray:
        """Indices of the modelled movies: most-rated first, ties by movieId, sorted."""
        eligible = np.flatnonzero(self.n_ratings_ >= max(self.min_ratings, 1))
        if self.max_items is not None and len(eligible) > self.max_items:
            order = np.lexsort((self.movie_ids_[eligible], -self.n_ratings_[eligible]))
            eligible = np.sort(eligible[order[: self.max_items]])
        return eligible.astype(np.int32)

    def _after_load(self) -> None:
        # Position of each movie in B, −1 for movies outside the modelled set.
        self._position = np.full(len(self.movie_ids_), -1, dtype=np.int64)
        self._position[np.asarray(self.modelled_idx_)] = np.arange(len(self.modelled_idx_))
        share = np.asarray(self.n_ratings_, dtype=np.float32) / max(len(self.user_ids_), 1)
        self._share = share[np.asarray(self.modelled_idx_)]
        # similar() reads a column of B. In B itself that is a strided gather, one cache miss
        # per movie (0.7 ms at p95 on ml-latest-small); B's transpose makes it one contiguous
        # row, for a second copy of B in memory (100 MB at the default 5,000 movies).
        self._columns = np.ascontiguousarray(np.asarray(self.weights_).T)

    def is_modelled(self, movie_idx: np.ndarray) -> np.ndarray:
        """Which of these movies B models (the others are never recommended nor used)."""
        return self._position[movie_idx] >= 0

    def _prior(self) -> np.ndarray:
        # From the hyperparameter at call time, so set_params on a fitted model takes effect.
        return self.popularity_weight * self._share

    def _input_row(self, movie_idx: np.ndarray, ratings: np.ndarray) -> tuple[np.ndarray, ...]:
        """Rows of B and entries of x for the modelled movies of a profile."""
        pos = self._position[movie_idx]
        keep = pos >= 0
        weights = feedback_weights(ratings[keep], self.like_threshold, self.low_rating_weight)
        return pos[keep], weights, keep

    def modelled_scores(self, movie_idx: np.ndarray, stars: np.ndarray) -> np.ndarray | None:
        """``x · B`` plus the prior for the modelled movies only (a fresh float32 array, in
        ``modelled_idx_`` order), or None when the profile has no modelled movie."""
        pos, weights, _ = self._input_row(np.asarray(movie_idx), np.asarray(stars))
        if not len(pos):
            return None
        scores = weights @ np.asarray(self.weights_[pos])
        if self.popularity_weight:
            scores += self._prior()
        return scores

    def new_user_scores(self, movie_idx: np.ndarray, stars: np.ndarray) -> np.ndarray:
        modelled = self.modelled_scores(movie_idx, stars)
        if modelled is None:
            return self.popularity_scores()
        scores = np.full(len(self.movie_ids_), -np.inf, dtype=np.float32)
        scores[self.modelled_idx_] = modelled
        return scores

    def batch_scores(self, user_items: sp.csr_matrix) -> np.ndarray:
        """Scores for a batch of new users (rows of stars over all movies), one matrix product."""
        x = user_items[:, self.modelled_idx_].tocsr()
        x.data = feedback_weights(x.data, self.like_threshold, self.low_rating_weight)
        scores = np.full(user_items.shape, -np.inf, dtype=np.float32)
        scores[:, self.modelled_idx_] = x @ self.weights_ + self._prior()
        empty = np.diff(x.indptr) == 0
        if empty.any():
            scores[empty] = self.popularity_scores()
        return scores

    def similarity_scores(self, movie_idx: int) -> np.ndarray:
        scores = np.full(len(self.movie_ids_), -np.inf, dtype=np.float32)
        pos = self._position[movie_idx]
        if pos >= 0:
            # Column j of B: how strongly each movie predicts j (Steck's item-item weights).
            scores[self.modelled_idx_] = self._columns[pos]
        else:
            cosine = self.vocabulary_.co_rating_cosine(movie_idx)
            scores[self.modelled_idx_] = cosine[self.modelled_idx_]
        return scores

    def contributions(
        self, movie_idx: np.ndarray, stars: np.ndarray, pick_idx: np.ndarray
    ) -> np.ndarray:
        """x_j B_ji (Steck 2019): a pick's row sums to its score less the popularity prior;
        movies outside the modelled set contribute nothing."""
        out = np.zeros((len(pick_idx), len(movie_idx)))
        rated_pos, x, rated_ok = self._input_row(np.asarray(movie_idx), np.asarray(stars))
        pick_pos = self._position[pick_idx]
        pick_ok = pick_pos >= 0
        if rated_ok.any() and pick_ok.any():
            weights = np.asarray(self.weights_)[np.ix_(rated_pos, pick_pos[pick_ok])]
            out[np.ix_(pick_ok, rated_ok)] = (weights * x[:, None]).T
        return out
