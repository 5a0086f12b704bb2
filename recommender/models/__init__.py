"""The model families (one file each) and what they share.

``base`` (Recommender, FactorRecommender), ``vocabulary`` (ids and the rating matrix),
``linalg`` (the scoring product, the fold-in solve), ``ranking`` (top n, the result frame),
``storage`` and ``loading`` (the saved-model folder), ``registry`` (train, load_model,
load_or_train) and the families: ``als``, ``nmf``, ``popularity``, ``ease``, ``hybrid``,
``biased_mf``, ``spark_als``; ``content`` and ``traits`` hold what ``similar`` and the default
model blend in.
"""

from recommender.models.als import ALSRecommender
from recommender.models.base import FactorRecommender, Recommender
from recommender.models.biased_mf import BiasedMFRecommender
from recommender.models.ease import EASERecommender
from recommender.models.hybrid import HybridRecommender
from recommender.models.nmf import NMFRecommender
from recommender.models.popularity import PopularityRecommender
from recommender.models.registry import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    algorithm_class,
    load_model,
    load_or_train,
    make,
    train,
)
from recommender.models.storage import ModelFileError
from recommender.models.vocabulary import UnknownMovieError, UnknownUserError, Vocabulary

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHM",
    "ALSRecommender",
    "BiasedMFRecommender",
    "EASERecommender",
    "FactorRecommender",
    "HybridRecommender",
    "ModelFileError",
    "NMFRecommender",
    "PopularityRecommender",
    "Recommender",
    "UnknownMovieError",
    "UnknownUserError",
    "Vocabulary",
    "algorithm_class",
    "load_model",
    "load_or_train",
    "make",
    "train",
]
