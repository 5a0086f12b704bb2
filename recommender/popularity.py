"""Most-rated movies: the baseline, and the fallback for a visitor who has rated nothing."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.base import Recommender


class PopularityRecommender(Recommender):
    """Scores every movie by its number of ratings, whoever asks.

    ``similar`` counts co-ratings ("people who rated X also rated Y"), normalised by the
    geometric mean of both movies' counts (cosine of binary rating vectors).
    """

    algorithm = "popularity"

    def __init__(self):
        pass

    def _fit(self, user_items: sp.csr_matrix) -> None:
        pass

    def _scores_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        return self._popularity_scores()

    def _scores_known_user(self, user_idx: int) -> np.ndarray:
        return self._popularity_scores()

    def _similarity_scores(self, movie_idx: int) -> np.ndarray:
        user_items = self._user_items()
        raters = user_items[:, [movie_idx]].nonzero()[0]
        co_counts = np.bincount(
            user_items[raters].indices, minlength=len(self.movie_ids_)
        ).astype(np.float32)
        norms = np.sqrt(self.n_ratings_.astype(np.float32) * max(len(raters), 1))
        return co_counts / np.maximum(norms, 1.0)
