"""Most-rated movies: the baseline, and the fallback for a visitor who has rated nothing."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recommender.models.base import Recommender


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

    def new_user_scores(self, movie_idx: np.ndarray, stars: np.ndarray) -> np.ndarray:
        return self.popularity_scores()

    def known_user_scores(self, user_idx: int) -> np.ndarray:
        return self.popularity_scores()

    def similarity_scores(self, movie_idx: int) -> np.ndarray:
        return self.vocabulary_.co_rating_cosine(movie_idx).astype(np.float32)
