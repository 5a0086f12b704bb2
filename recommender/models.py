"""Entry points: train a model by name, load a saved one."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import pandas as pd

from recommender.als import ALSRecommender
from recommender.base import ModelFileError, Recommender, load_state
from recommender.biased_mf import BiasedMFRecommender
from recommender.data import default_cache_dir, ratings_fingerprint
from recommender.ease import EASERecommender
from recommender.hybrid import HybridRecommender
from recommender.nmf import NMFRecommender
from recommender.popularity import PopularityRecommender
from recommender.spark_als import SparkALSRecommender

ALGORITHMS: dict[str, type[Recommender]] = {
    cls.algorithm: cls
    for cls in (
        ALSRecommender,
        NMFRecommender,
        PopularityRecommender,
        EASERecommender,
        HybridRecommender,
        BiasedMFRecommender,
    )
}
log = logging.getLogger(__name__)

# Chosen by the evaluation (docs/evaluation.md): best on both new-user protocols.
DEFAULT_ALGORITHM = "hybrid"


def train(
    ratings: pd.DataFrame,
    algorithm: str = DEFAULT_ALGORITHM,
    movies: pd.DataFrame | None = None,
    **hyperparameters,
) -> Recommender:
    """Fit ``algorithm`` on ``ratings`` (userId, movieId, rating) and return the fitted model.

    ``movies`` (movieId, genres, year) enables the genre and year filters.
    """
    return _algorithm_class(algorithm)(**hyperparameters).fit(ratings, movies)


def _algorithm_class(algorithm: str) -> type[Recommender]:
    try:
        return ALGORITHMS[algorithm]
    except KeyError:
        raise ValueError(
            f"unknown algorithm {algorithm!r}; choose one of {', '.join(ALGORITHMS)}"
        ) from None


# Served like the others but trained elsewhere (python -m recommender train --engine spark),
# so not among the ALGORITHMS that the app and `train` offer.
LOADABLE: dict[str, type[Recommender]] = {
    **ALGORITHMS, SparkALSRecommender.algorithm: SparkALSRecommender
}


def load_model(path: str | os.PathLike, mmap: bool = True) -> Recommender:
    """Load a model saved with ``model.save(path)``; arrays are memory-mapped by default."""
    return load_state(LOADABLE, path, mmap=mmap)


def load_or_train(
    ratings: pd.DataFrame,
    algorithm: str = DEFAULT_ALGORITHM,
    movies: pd.DataFrame | None = None,
    cache_dir: str | os.PathLike | None = None,
    **hyperparameters,
) -> Recommender:
    """The saved model for this data and these settings, or a freshly trained (and saved) one.

    Models are stored under ``cache_dir/models/<algorithm>-<key>``, where the key hashes the
    data fingerprint, the movie metadata and the hyperparameters, so a restart never retrains
    and changed data never reuses a stale model. A damaged file is retrained over.
    """
    cls = _algorithm_class(algorithm)
    params = cls(**hyperparameters).get_params()
    key = hashlib.blake2b(digest_size=8)
    key.update(ratings_fingerprint(ratings).encode())
    key.update(json.dumps(params, sort_keys=True, default=str).encode())
    if movies is not None:
        columns = [c for c in ("movieId", "genres", "year") if c in movies]
        key.update(pd.util.hash_pandas_object(movies[columns], index=False).to_numpy().tobytes())
    folder = Path(cache_dir or default_cache_dir()) / "models" / f"{algorithm}-{key.hexdigest()}"
    if (folder / "model.json").exists():
        try:
            return load_model(folder)
        except ModelFileError as error:
            log.warning("Retraining: the saved model could not be loaded (%s)", error)
    model = cls(**hyperparameters).fit(ratings, movies)
    folder.parent.mkdir(parents=True, exist_ok=True)
    model.save(folder)
    return model
