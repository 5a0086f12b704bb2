"""MovieLens data: loading and checking the files (``movielens``), the binary copy of large
ratings files (``binary``), the download (``download``) and display titles (``titles``)."""

from recommender.data.dataset import DataError, MovieLens, RatingTotals, ratings_fingerprint
from recommender.data.download import download_movielens
from recommender.data.movielens import default_cache_dir, load_movielens
from recommender.data.titles import add_title_columns, display_title, genre_list
from recommender.ratings import MAX_RATING, MIN_RATING

__all__ = [
    "MAX_RATING",
    "MIN_RATING",
    "DataError",
    "MovieLens",
    "RatingTotals",
    "add_title_columns",
    "default_cache_dir",
    "display_title",
    "download_movielens",
    "genre_list",
    "load_movielens",
    "ratings_fingerprint",
]
