"""The yardsticks of the evaluation and the models of ``python -m recommender evaluate``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.models import ALGORITHMS, DEFAULT_ALGORITHM, EASERecommender, Recommender, train

ModelFactory = Callable[[pd.DataFrame], Any]


class ImplicitALSBaseline(Recommender, register=False):
    """implicit's ``AlternatingLeastSquares()`` with its default settings, as a yardstick.

    Trained on the star matrix (confidence = stars, implicit's ``alpha=1``); a new user is
    folded in with implicit's own ``recalculate_user``. Not in the model registry.
    """

    algorithm = "implicit-als"

    def __init__(self, random_state: int = 0):
        self.random_state = random_state

    def _fit(self, user_items: sp.csr_matrix) -> None:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        # The CPU class on purpose: the same model whether or not a GPU is visible. implicit
        # runs its own threads and warns unless BLAS is single-threaded while it is created.
        with threadpool_limits(1, "blas"):
            self._model = AlternatingLeastSquares(random_state=self.random_state)
            self._model.fit(user_items, show_progress=False)

    def batch_scores(self, user_items: sp.csr_matrix) -> np.ndarray:
        users = self._model.recalculate_user(np.arange(user_items.shape[0]), user_items.tocsr())
        return np.atleast_2d(users) @ self._model.item_factors.T

    def new_user_scores(self, movie_idx: np.ndarray, stars: np.ndarray) -> np.ndarray:
        row = sp.csr_matrix(
            (stars, movie_idx, [0, len(movie_idx)]), shape=(1, len(self.movie_ids_))
        )
        return self._model.item_factors @ self._model.recalculate_user(0, row)


# Plain EASE as in Steck (2019): binary X of every rating, the whole catalogue, λ chosen by
# benchmarks/tune.py for strong-generalization NDCG@100 (docs/tuning.md).
STECK_EASE_REGULARIZATION = 200.0


def standard_models(movies: pd.DataFrame | None = None) -> dict[str, ModelFactory]:
    """The models of ``python -m recommender evaluate``: baselines, each family, the default.

    Each family trains with ``movies`` as the app trains it (the default model's taste term
    reads their genres and years)."""
    models: dict[str, ModelFactory] = {
        "popularity": lambda r: train(r, "popularity"),
        "implicit-als": lambda r: ImplicitALSBaseline().fit(r),
        "ease-steck": lambda r: EASERecommender(
            regularization=STECK_EASE_REGULARIZATION,
            max_items=None,
            min_ratings=1,
            low_rating_weight=1.0,
            predict="input",
        ).fit(r),
    }
    for name in ALGORITHMS:
        if name not in ("popularity", DEFAULT_ALGORITHM):
            models[name] = lambda r, name=name: train(r, name, movies=movies)
    models[f"default ({DEFAULT_ALGORITHM})"] = lambda r: train(r, movies=movies)
    return models


MODEL_NOTES = {
    "popularity": "most-rated movies, the same list for everyone",
    "implicit-als": "implicit's AlternatingLeastSquares() defaults on the star matrix, "
    "fold-in with recalculate_user",
    "ease-steck": f"Steck's EASE, binary X, all movies, λ = {STECK_EASE_REGULARIZATION:g}",
}
