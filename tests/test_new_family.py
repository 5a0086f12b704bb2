"""A family defined here, and nowhere else, works everywhere a built-in one does.

Co-occurrence counts ("people who liked X also liked Y") as a complete family: it is
registered by defining the class, then trained by name, queried, explained, saved, loaded and
evaluated without any other file knowing it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recommender import ALGORITHMS, load_model, train
from recommender.evaluation import evaluate, standard_models
from recommender.explain import because, explain
from recommender.models import Recommender, load_or_train
from tests.conftest import two_taste_groups

GROUP_A = set(range(1, 21))
GROUP_B = set(range(101, 121))


@pytest.fixture(scope="module")
def family():
    """The family exists while this module's tests run, then leaves the registry again."""

    class CoOccurrenceRecommender(Recommender):
        """Score of a movie: how often it was liked together with the movies a user liked."""

        algorithm = "test-co-occurrence"
        learned_arrays = ("counts_",)

        def __init__(self, like_threshold: float = 3.5):
            self.like_threshold = like_threshold

        def _fit(self, user_items: sp.csr_matrix) -> None:
            liked = (user_items >= self.like_threshold).astype(np.float32)
            counts = (liked.T @ liked).toarray()
            np.fill_diagonal(counts, 0.0)
            self.counts_ = counts

        def new_user_scores(self, movie_idx: np.ndarray, stars: np.ndarray) -> np.ndarray:
            liked = movie_idx[stars >= self.like_threshold]
            return np.asarray(self.counts_[liked].sum(axis=0), dtype=np.float32)

        def item_vectors(self) -> np.ndarray:
            return self.counts_

        def contributions(self, movie_idx, stars, pick_idx) -> np.ndarray:
            liked = (stars >= self.like_threshold).astype(np.float64)
            return np.asarray(self.counts_)[np.ix_(pick_idx, movie_idx)] * liked[None, :]

    try:
        yield CoOccurrenceRecommender
    finally:
        ALGORITHMS.pop(CoOccurrenceRecommender.algorithm, None)


@pytest.fixture(scope="module")
def groups():
    return two_taste_groups()


@pytest.fixture(scope="module")
def model(family, groups):
    ratings, movies = groups
    return train(ratings, "test-co-occurrence", movies=movies, like_threshold=4.0)


def test_defining_the_class_registers_it(family):
    assert ALGORITHMS["test-co-occurrence"] is family
    assert "test-co-occurrence" in standard_models()  # the evaluate command would run it


def test_recommend_similar_and_explain_work(model):
    assert type(model).__name__ == "CoOccurrenceRecommender" and model.like_threshold == 4.0
    picks = model.recommend({1: 5.0, 2: 4.5, 3: 5.0}, n=10)
    assert list(picks.columns) == ["movieId", "score"] and len(picks) == 10
    assert set(picks["movieId"]) <= GROUP_A - {1, 2, 3}
    assert set(model.similar(101, n=5)["movieId"]) <= GROUP_B
    with pytest.raises(ValueError, match="movieId 2"):
        model.recommend({1: 5.0, 2: 4.2})
    profile = {3: 5.0, 105: 5.0}
    assert explain(model, profile, 7)["movieId"].iloc[0] == 3
    assert because(model, profile, [7, 110]) == {7: 3, 110: 105}


def test_scores_batch_matches_single_users(model):
    profiles = [{1: 5.0, 2: 4.0}, {}, {101: 4.5, 999_999: 5.0}]
    batch = model.scores(profiles)
    assert batch.shape == (3, len(model.movie_ids_)) and batch.dtype == np.float32
    first = model.recommend(profiles[0], n=5)
    top = np.searchsorted(model.movie_ids_, first["movieId"])
    np.testing.assert_allclose(batch[0, top], first["score"])
    np.testing.assert_array_equal(batch[1], model.n_ratings_)  # empty: popularity


def test_save_load_and_load_or_train(model, groups, tmp_path):
    loaded = load_model(model.save(tmp_path / "co"))
    assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
    assert isinstance(loaded.counts_, np.memmap)
    profile = {1: 5.0, 102: 4.0}
    pd.testing.assert_frame_equal(loaded.recommend(profile, n=8), model.recommend(profile, n=8))
    pd.testing.assert_frame_equal(loaded.similar(5, n=4), model.similar(5, n=4))
    ratings, movies = groups
    first = load_or_train(ratings, "test-co-occurrence", movies=movies, cache_dir=tmp_path)
    again = load_or_train(ratings, "test-co-occurrence", movies=movies, cache_dir=tmp_path)
    assert isinstance(again.counts_, np.memmap)
    pd.testing.assert_frame_equal(again.recommend(profile), first.recommend(profile))


def test_evaluate_runs_it_through_the_public_api(family):
    ratings, _ = two_taste_groups(movies_per_group=40)  # 20 ratings a user: both protocols
    models = {
        "co-occurrence": lambda r: train(r, "test-co-occurrence"),
        "popularity": lambda r: train(r, "popularity"),
    }
    result = evaluate(ratings, models, folds=3, seed=0, latency_users=2).set_index("model")
    assert result.loc["co-occurrence", ["sg_users", "onb_users"]].min() > 0
    # Two disjoint taste groups: co-occurrence finds the held-out favourites, popularity less so.
    for metric in ("sg_ndcg@100", "onb_ndcg@10"):
        assert result.loc["co-occurrence", metric] > result.loc["popularity", metric]
    assert result.loc["co-occurrence", "latency_ms"] > 0
