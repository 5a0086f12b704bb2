"""Why a movie was picked: which of the visitor's ratings contributed most to its score.

Every model here scores a new user's movies as a sum over the movies they rated (or can be read
that way), so a pick's score splits into one contribution per rated movie:

* ALS (and the ALS half of the hybrid): Hu, Koren & Volinsky (2008), §5. The folded-in user
  vector is x = W Σ_j c_j y_j with W = (YᵀC_uY + λI)⁻¹, so the score of movie i is
  y_iᵀx = Σ_j (y_iᵀ W y_j) c_j: the contribution of rated movie j is s_ij · c_j. W comes from
  the same fold-in maths as :meth:`ALSRecommender.user_vector`.
* biased-mf: the same argument for the explicit ridge fold-in (features z = (1, q), residual
  stars t_j = r_j − μ − b_j): (b_u, p_u) = W Σ_j z_j t_j, so the taste part p_u·q_i of the
  predicted stars is Σ_j q_iᵀ [W z_j]_q t_j. The user bias b_u (how generously they rate) is
  the same for every movie and explains no pick in particular, so it is left out, as are
  μ + b_i (nobody's rating) and the ranking's affinity term (not a sum).
* EASE: the score is Σ_j x_j B_ji (Steck 2019), so the contribution is x_j B_ji.
* NMF: the folded-in row w of W is a non-negative least-squares fit, and on its active set A
  (w_a > 0) it is the plain least-squares fit w_A = (H_A H_Aᵀ)⁻¹ H_A x (Karush-Kuhn-Tucker), so
  the score h_iᵀw splits into h_{i,A}ᵀ (H_A H_Aᵀ)⁻¹ h_{j,A} x_j. Used when the split adds up to
  the score (no regularisation); otherwise the similarity rule below. NMF's cosines between
  popular movies are all close to 1, which makes that rule little more than "your top rating".
* Anything else (popularity): the rated movies most similar to the pick in the model's own
  similarity (cosine of item vectors, or co-ratings), weighted by the rating given.

Raw movieIds in and out; ratings the model does not know are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from recommender.als import ALSRecommender, confidence
from recommender.base import Recommender
from recommender.biased_mf import BiasedMFRecommender
from recommender.ease import EASERecommender, feedback_weights
from recommender.hybrid import HybridRecommender
from recommender.nmf import NMFRecommender


def explain(
    model: Recommender, ratings: Mapping[int, float], movie_id: int, n: int = 3
) -> pd.DataFrame:
    """The rated movies that contributed most to ``movie_id``'s score, largest first.

    Returns a DataFrame (movieId, contribution) of at most ``n`` rows, only positive
    contributions (empty when nothing in ``ratings`` argues for the movie). Contributions are in
    the model's score units; compare them within one explanation, not across models. Raises
    :class:`~recommender.base.UnknownMovieError` for a ``movie_id`` the model never saw.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    pick_idx = np.array([model._movie_index(movie_id)])
    movie_idx, stars, _ = model._profile(ratings)
    if not len(movie_idx):
        return _frame(np.array([], np.int64), np.array([]))
    row = contributions(model, movie_idx, stars, pick_idx)[0]
    order = np.lexsort((model.movie_ids_[movie_idx], -row))  # ties: lower movieId first
    order = order[row[order] > 0][:n]
    return _frame(model.movie_ids_[movie_idx[order]], row[order])


def because(
    model: Recommender,
    ratings: Mapping[int, float],
    movie_ids: Iterable[int],
    min_rating: float = 3.5,
) -> dict[int, int]:
    """For each pick, the single rated movie that contributed most: pick -> rated movieId.

    One batched computation for a whole grid of picks (the "because you rated X" line). Only
    movies rated at least ``min_rating`` are named: in biased-mf a disliked movie can push a
    pick up ("unlike the film you hated"), which is true but reads wrong under a card;
    :func:`explain` still shows it. Picks the model never saw, and picks with no positive
    contributor, are left out.
    """
    picks = np.asarray(list(movie_ids), dtype=np.int64)
    picks = picks[model.known_movies(picks)]
    movie_idx, stars, _ = model._profile(ratings)
    if not len(picks) or not len(movie_idx):
        return {}
    pick_idx = np.searchsorted(model.movie_ids_, picks)
    matrix = contributions(model, movie_idx, stars, pick_idx)
    matrix[:, stars < min_rating] = 0.0
    best = np.argmax(matrix, axis=1)
    found = matrix[np.arange(len(picks)), best] > 0
    return {
        int(p): int(model.movie_ids_[movie_idx[b]])
        for p, b, ok in zip(picks, best, found, strict=True)
        if ok
    }


def contributions(
    model: Recommender, movie_idx: np.ndarray, stars: np.ndarray, pick_idx: np.ndarray
) -> np.ndarray:
    """picks × rated matrix: how much each rated movie adds to each pick's score.

    A rated movie never explains itself: where a pick is also rated, that entry is 0.
    """
    movie_idx = np.asarray(movie_idx, dtype=np.int64)
    pick_idx = np.asarray(pick_idx, dtype=np.int64)
    if isinstance(model, HybridRecommender):
        matrix = _hybrid(model, movie_idx, stars, pick_idx)
    elif isinstance(model, ALSRecommender):
        matrix = _als(model, movie_idx, stars, pick_idx)
    elif isinstance(model, BiasedMFRecommender):
        matrix = _biased_mf(model, movie_idx, stars, pick_idx)
    elif isinstance(model, EASERecommender):
        matrix = _ease(model, movie_idx, stars, pick_idx)
    elif isinstance(model, NMFRecommender):
        matrix = _nmf(model, movie_idx, stars, pick_idx)
    else:
        matrix = _similarity(model, movie_idx, stars, pick_idx)
    matrix = np.array(matrix, dtype=np.float64)
    matrix[pick_idx[:, None] == movie_idx[None, :]] = 0.0
    return matrix


# --- one helper per family (paper notation inside) -----------------------------------------


def _als(model: ALSRecommender, movie_idx, stars, pick_idx) -> np.ndarray:
    """Hu et al. (2008) §5: s_ij c_j with s = Y_picks W Y_ratedᵀ, W as in ``user_vector``."""
    c = confidence(stars, model.alpha, model.neutral).astype(np.float64)
    y = np.asarray(model.item_factors_[movie_idx], dtype=np.float64)
    a = model._gram + (y.T * (np.abs(c) - 1.0)) @ y
    w_yt = np.linalg.solve(a, y.T)  # W Y_ratedᵀ, k × rated
    s = np.asarray(model.item_factors_[pick_idx], dtype=np.float64) @ w_yt
    # Only positive confidences enter the right-hand side of the solve (see user_vector).
    return s * np.where(c > 0, c, 0.0)[None, :]


def _biased_mf(model: BiasedMFRecommender, movie_idx, stars, pick_idx) -> np.ndarray:
    """q_iᵀ [W z_j]_q t_j with W = (ZᵀZ + Λ)⁻¹, the fold-in's ridge step (z = (1, q))."""
    z = model._movie_features[movie_idx]
    t = np.asarray(stars, np.float64) - model._mean - model.item_biases_[movie_idx]
    penalty = model._penalty(np.array([len(movie_idx)]))[0]
    w_zt = np.linalg.solve(z.T @ z + np.diag(penalty), z.T)
    # Row 0 of W Zᵀ builds b_u; rows 1.. build p_u, the part that differs between picks.
    return (model._movie_features[pick_idx, 1:] @ w_zt[1:]) * t[None, :]


def _ease(model: EASERecommender, movie_idx, stars, pick_idx) -> np.ndarray:
    """x_j B_ji (Steck 2019); movies outside the modelled set contribute nothing."""
    out = np.zeros((len(pick_idx), len(movie_idx)))
    rated_pos = model._position[movie_idx]
    pick_pos = model._position[pick_idx]
    r_ok, p_ok = rated_pos >= 0, pick_pos >= 0
    if r_ok.any() and p_ok.any():
        x = feedback_weights(np.asarray(stars)[r_ok], model.like_threshold, model.low_rating_weight)
        weights = np.asarray(model.weights_)[np.ix_(rated_pos[r_ok], pick_pos[p_ok])]
        out[np.ix_(p_ok, r_ok)] = (weights * x[:, None]).T
    return out


def _nmf(model: NMFRecommender, movie_idx, stars, pick_idx) -> np.ndarray:
    """h_{i,A}ᵀ (H_A H_Aᵀ)⁻¹ h_{j,A} x_j on the active set A of the NNLS fold-in."""
    w = model.user_vector(movie_idx, stars).astype(np.float64)
    active = w > 0
    if not active.any():
        return np.zeros((len(pick_idx), len(movie_idx)))
    h = np.asarray(model.item_factors_, dtype=np.float64)[:, active]  # Hᵀ restricted to A
    solved = np.linalg.solve(h.T @ h, h[movie_idx].T)
    matrix = (h[pick_idx] @ solved) * np.asarray(stars, np.float64)[None, :]
    scores = h[pick_idx] @ w[active]
    if np.allclose(matrix.sum(axis=1), scores, rtol=1e-3, atol=1e-4 * max(abs(scores).max(), 1)):
        return matrix
    return _similarity(model, movie_idx, stars, pick_idx)  # a penalty broke the identity


def _hybrid(model: HybridRecommender, movie_idx, stars, pick_idx) -> np.ndarray:
    """Each family's contributions divided by the std its z-score divides by, then blended."""
    if not (model._ease._position[movie_idx] >= 0).any():
        # The hybrid then falls back to popularity: no rating explains anything.
        return np.zeros((len(pick_idx), len(movie_idx)))
    modelled = np.asarray(model.modelled_idx_)
    ease_scores = model._ease._scores_new_user(movie_idx, stars)[modelled]
    als_scores = model._als._scores_new_user(movie_idx, stars)[modelled]
    ease_part = _ease(model._ease, movie_idx, stars, pick_idx) / max(ease_scores.std(), 1e-12)
    als_part = _als(model._als, movie_idx, stars, pick_idx) / max(als_scores.std(), 1e-12)
    return model.ease_weight * ease_part + (1.0 - model.ease_weight) * als_part


def _similarity(model: Recommender, movie_idx, stars, pick_idx) -> np.ndarray:
    """similarity(pick, rated) × stars, in the model's own notion of similarity."""
    try:
        vectors = model._normalised_item_vectors()
        similarity = vectors[pick_idx] @ vectors[movie_idx].T
    except NotImplementedError:  # no item vectors (popularity): its own similar() scores
        similarity = np.stack([model._similarity_scores(int(i))[movie_idx] for i in pick_idx])
    similarity = np.where(np.isfinite(similarity), similarity, 0.0)
    return similarity * np.asarray(stars, np.float64)[None, :]


def _frame(movie_ids: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({
        "movieId": np.asarray(movie_ids, dtype=np.int64),
        "contribution": np.asarray(values, dtype=np.float64),
    })
