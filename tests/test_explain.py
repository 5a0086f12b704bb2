"""Explanations: the responsible rated movie is named, contributions add up, batching agrees."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender import ALGORITHMS, UnknownMovieError, train
from recommender.explain import because, contributions, explain

A, B = range(1, 21), range(101, 121)
# Default NMF asks for 55 components, more than this 40-movie catalogue can support (its
# fold-in is then under-determined); the other defaults suit the tiny data.
PARAMS = {"nmf": {"factors": 8}}


def crossed_taste_groups(seed: int = 1) -> pd.DataFrame:
    """Group-A users love A movies (4–5 stars) and dislike a few B movies (1–2); B mirrors.

    Unlike ``two_taste_groups`` the groups also rate each other's movies, low, so an explicit
    model (biased-mf) sees the taste difference in the stars as well.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for group, own, other in ((0, 1, 101), (1, 101, 1)):
        for u in range(30):
            user = group * 1000 + u + 1
            for m in rng.choice(20, size=10, replace=False):
                rows.append((user, own + int(m), float(rng.choice([4.0, 4.5, 5.0]))))
            for m in rng.choice(20, size=3, replace=False):
                rows.append((user, other + int(m), float(rng.choice([1.0, 1.5, 2.0]))))
    return pd.DataFrame(rows, columns=["userId", "movieId", "rating"])


@pytest.fixture(scope="module")
def fitted():
    ratings = crossed_taste_groups()
    return {name: train(ratings, name, **PARAMS.get(name, {})) for name in ALGORITHMS}


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_explanation_names_the_movie_from_the_same_taste_group(fitted, algorithm):
    model = fitted[algorithm]
    profile = {3: 5.0, 105: 5.0}  # one favourite from each group
    for pick, responsible in ((7, 3), (12, 3), (110, 105), (117, 105)):
        reasons = explain(model, profile, pick)
        assert list(reasons.columns) == ["movieId", "contribution"]
        assert reasons["movieId"].iloc[0] == responsible, (algorithm, pick, reasons)
        assert (reasons["contribution"] > 0).all()
        assert reasons["contribution"].is_monotonic_decreasing


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_because_agrees_with_explain_for_a_grid_of_picks(fitted, algorithm):
    model = fitted[algorithm]
    profile = {3: 5.0, 4: 4.0, 105: 4.5, 106: 4.0, 999_999: 5.0}
    picks = [1, 2, 7, 101, 110, 115, 424_242]
    lines = because(model, profile, picks)
    assert 424_242 not in lines  # unknown pick: skipped
    for pick, reason in lines.items():
        assert reason == explain(model, profile, pick, n=1)["movieId"].iloc[0]
        assert reason in (3, 4) if pick < 100 else reason in (105, 106)


def test_a_rated_movie_never_explains_itself(fitted):
    model = fitted["als"]
    profile = {3: 5.0, 4: 5.0}
    assert 3 not in set(explain(model, profile, 3)["movieId"])
    assert because(model, profile, [3]) == {3: 4}


def test_because_only_names_movies_the_visitor_liked(fitted):
    model = fitted["biased-mf"]
    profile = {3: 5.0, 105: 1.0, 106: 1.0}
    # Disliking B movies argues for A movies in an explicit model: explain shows it ...
    assert set(explain(model, profile, 7, n=3)["movieId"]) & {105, 106}
    # ... but the card line only names a liked movie.
    assert because(model, profile, [7]) == {7: 3}
    assert because(model, {105: 1.0}, [7]) == {}


def test_contributions_add_up_to_the_models_own_scores(fitted):
    movie_ids = [3, 4, 105]
    stars = np.array([5.0, 3.0, 2.0], dtype=np.float32)
    profile = dict(zip(movie_ids, stars.tolist(), strict=True))

    als = fitted["als"]
    idx = np.searchsorted(als.movie_ids_, movie_ids)
    picks = np.searchsorted(als.movie_ids_, [7, 110, 15])
    scores = als.new_user_scores(idx, stars)[picks]
    np.testing.assert_allclose(contributions(als, idx, stars, picks).sum(axis=1), scores,
                               rtol=1e-4, atol=1e-6)

    mf = fitted["biased-mf"]
    predicted = mf.predict_ratings(profile, [7, 110, 15]).to_numpy()
    bias, _ = mf.user_vector(idx, stars)
    baseline = mf.global_mean_[0] + bias + mf.item_biases_[picks]
    taste = contributions(mf, idx, stars, picks).sum(axis=1)
    np.testing.assert_allclose(np.clip(baseline + taste, 0.5, 5.0), predicted, atol=1e-4)

    ease = fitted["ease"]
    assert ease.popularity_weight == 0  # no prior: the score is x · B alone
    scores = ease.new_user_scores(idx, stars)[picks]
    np.testing.assert_allclose(contributions(ease, idx, stars, picks).sum(axis=1), scores,
                               rtol=1e-4, atol=1e-6)


def test_explain_checks_its_input(fitted):
    model = fitted["ease"]
    with pytest.raises(UnknownMovieError):
        explain(model, {3: 5.0}, 424_242)
    with pytest.raises(ValueError, match="movieId 3"):
        explain(model, {3: 9.0}, 7)
    assert explain(model, {}, 7).empty
    assert explain(model, {999_999: 5.0}, 7).empty  # only unknown ratings: nothing to say
    assert len(explain(model, {m: 5.0 for m in range(1, 11)}, 15, n=2)) == 2
    assert because(model, {}, [7]) == {}


def test_explanations_on_real_movielens_name_the_sequel(movielens):
    model = train(movielens.ratings, "als")
    # Lord of the Rings I and II, The Matrix, Toy Story, Forrest Gump (liked and disliked).
    profile = {4993: 5.0, 5952: 5.0, 2571: 4.5, 1: 4.0, 356: 2.0}
    assert explain(model, profile, 7153, n=1)["movieId"].iloc[0] in (4993, 5952)
    picks = model.recommend(profile, n=24)["movieId"].tolist()
    lines = because(model, profile, picks)
    assert len(lines) >= 20 and set(lines.values()) <= set(profile)
