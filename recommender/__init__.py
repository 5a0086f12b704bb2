"""MovieLens recommender: data loading, models with fold-in for new users, search, posters."""

from recommender.data import DataError, MovieLens, load_movielens
from recommender.models import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    ModelFileError,
    Recommender,
    UnknownMovieError,
    UnknownUserError,
    load_model,
    train,
)

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHM",
    "DataError",
    "ModelFileError",
    "MovieLens",
    "Recommender",
    "UnknownMovieError",
    "UnknownUserError",
    "load_model",
    "load_movielens",
    "train",
]
