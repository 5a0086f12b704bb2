"""MovieLens recommender: data loading, models with fold-in for new users, search, posters."""

from recommender.data import DataError, MovieLens, load_movielens

__all__ = ["DataError", "MovieLens", "load_movielens"]
