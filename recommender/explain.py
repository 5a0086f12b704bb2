"""Why a movie was picked: which of the visitor's ratings contributed most to its score.

Every model here scores a new user's movies as a sum over the movies they rated (or can be read
that way), so a pick's score splits into one contribution per rated movie. Each family computes
its own split in its own file (``Recommender.contributions``); this module knows no model class.
The maths, family by family:

* ALS (and the ALS half of the hybrid): Hu, Koren & Volinsky (2008), §5. The folded-in user
  vector is x = W Σ_j c_j y_j with W = (YᵀC_uY + λI)⁻¹, so the score of movie i is
  y_iᵀx = Σ_j (y_iᵀ W y_j) c_j: the contribution of rated movie j is s_ij · c_j. W comes from
  the same fold-in maths as :meth:`~recommender.models.als.ALSRecommender.user_vector`.
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

from recommender.models import Recommender
from recommender.models.checks import check_count
from recommender.models.vocabulary import movie_id_array


def explain(
    model: Recommender, ratings: Mapping[int, float], movie_id: int, n: int = 3
) -> pd.DataFrame:
    """The rated movies that contributed most to ``movie_id``'s score, largest first.

    Returns a DataFrame (movieId, contribution) of at most ``n`` rows, only positive
    contributions (empty when nothing in ``ratings`` argues for the movie). Contributions are in
    the model's score units; compare them within one explanation, not across models. Raises
    :class:`~recommender.UnknownMovieError` for a ``movie_id`` the model never saw, ValueError
    for a rating that breaks the rating rule.
    """
    n = check_count(n)
    vocabulary = model.vocabulary_
    pick_idx = np.array([vocabulary.movie_index(movie_id)])
    movie_idx, stars, _ = vocabulary.profile(ratings)
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
    picks = movie_id_array(movie_ids)
    picks = picks[model.known_movies(picks)]
    movie_idx, stars, _ = model.vocabulary_.profile(ratings)
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
    """picks × rated matrix (rows of the model's vocabulary): ``model.contributions``, except
    that a rated movie never explains itself (where a pick is also rated, that entry is 0)."""
    movie_idx = np.asarray(movie_idx, dtype=np.int64)
    pick_idx = np.asarray(pick_idx, dtype=np.int64)
    matrix = np.array(model.contributions(movie_idx, stars, pick_idx), dtype=np.float64)
    matrix[pick_idx[:, None] == movie_idx[None, :]] = 0.0
    return matrix


def _frame(movie_ids: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({
        "movieId": np.asarray(movie_ids, dtype=np.int64),
        "contribution": np.asarray(values, dtype=np.float64),
    })
