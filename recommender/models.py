"""Entry points: train a model by name, load a saved one."""

from __future__ import annotations

import os

import pandas as pd

from recommender.als import ALSRecommender
from recommender.base import Recommender, load_state
from recommender.nmf import NMFRecommender
from recommender.popularity import PopularityRecommender

ALGORITHMS: dict[str, type[Recommender]] = {
    cls.algorithm: cls for cls in (ALSRecommender, NMFRecommender, PopularityRecommender)
}
# Chosen by the evaluation (docs/evaluation.md): best on both new-user protocols.
DEFAULT_ALGORITHM = "als"


def train(
    ratings: pd.DataFrame,
    algorithm: str = DEFAULT_ALGORITHM,
    movies: pd.DataFrame | None = None,
    **hyperparameters,
) -> Recommender:
    """Fit ``algorithm`` on ``ratings`` (userId, movieId, rating) and return the fitted model.

    ``movies`` (movieId, genres, year) enables the genre and year filters.
    """
    try:
        cls = ALGORITHMS[algorithm]
    except KeyError:
        raise ValueError(
            f"unknown algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}"
        ) from None
    return cls(**hyperparameters).fit(ratings, movies)


def load_model(path: str | os.PathLike, mmap: bool = True) -> Recommender:
    """Load a model saved with ``model.save(path)``; arrays are memory-mapped by default."""
    return load_state(ALGORITHMS, path, mmap=mmap)
