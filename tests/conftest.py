"""Shared fixtures: real MovieLens through MOVIELENS_DIR, and small synthetic datasets."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender.data import load_movielens
from tests.postgres import postgres_server, postgres_url  # noqa: F401 - fixtures


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep every test's downloads, models and profiles out of the user's own folders."""
    monkeypatch.setenv("RECOMMENDER_CACHE", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("RECOMMENDER_DATA", str(tmp_path_factory.mktemp("data")))


@pytest.fixture(scope="session")
def movielens_dir() -> Path:
    folder = os.environ.get("MOVIELENS_DIR")
    if not folder:
        pytest.skip("MOVIELENS_DIR is not set (point it at ml-latest-small to run this test)")
    return Path(folder)


@pytest.fixture(scope="session")
def movielens(movielens_dir):
    return load_movielens(movielens_dir)


def two_taste_groups(users_per_group: int = 30, movies_per_group: int = 20, seed: int = 1):
    """Two disjoint groups: group-A users rate only A movies (ids 1..20) highly, B users only
    B movies (ids 101..120). A new user who likes A movies must be recommended A movies."""
    rng = np.random.default_rng(seed)
    rows = []
    for group, offset in ((0, 1), (1, 101)):
        for u in range(users_per_group):
            user = group * 1000 + u + 1
            movies = rng.choice(movies_per_group, size=movies_per_group // 2, replace=False)
            for m in movies:
                rows.append((user, offset + int(m), float(rng.choice([3.5, 4.0, 4.5, 5.0]))))
    ratings = pd.DataFrame(rows, columns=["userId", "movieId", "rating"])
    movie_ids = sorted(ratings["movieId"].unique())
    movies = pd.DataFrame({
        "movieId": movie_ids,
        "title": [f"Movie {m} ({1990 + m % 20})" for m in movie_ids],
        "genres": ["Animation|Comedy" if m < 100 else "Horror" for m in movie_ids],
        "year": [1990 + m % 20 for m in movie_ids],
    })
    return ratings, movies


@pytest.fixture(scope="session")
def spark():
    """One local Spark for the whole test session: two cores, two shuffle partitions, no UI.

    Outside CI the Spark tests skip when pyspark or Java is missing; in CI they fail.
    """
    try:
        from recommender.training.spark import spark_session

        session = spark_session("local[2]", shuffle_partitions=2)
    except Exception as error:  # noqa: BLE001 - ImportError, or the JVM failing to start
        reason = f"Spark is unavailable ({type(error).__name__}: {error}); pip install -r " \
                 "requirements-spark.txt and install Java 17"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    yield session
    session.stop()
