"""BiasedMFRecommender: the ridge solver, fold-in, predicted stars, ranking and storage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recommender import load_model, train
from recommender.evaluation.synthetic import synthetic_movielens
from recommender.models.biased_mf import BiasedMFRecommender, ridge_rows


@pytest.fixture(scope="module")
def synthetic():
    """Ratings that depend on taste (same taste ≈ 4 stars, other ≈ 2.8), so factors matter."""
    return synthetic_movielens(n_ratings=30_000, n_users=400, n_movies=600, seed=3)


@pytest.fixture(scope="module")
def model(synthetic):
    return train(synthetic.ratings, "biased-mf", movies=synthetic.movies)


def _split(ratings: pd.DataFrame, share: float = 0.1, seed: int = 0):
    rng = np.random.default_rng(seed)
    test = rng.random(len(ratings)) < share
    return ratings[~test], ratings[test]


def _rmse(model: BiasedMFRecommender, test: pd.DataFrame) -> float:
    errors = [
        model.predict_ratings_for_user(int(user), rows["movieId"]).to_numpy() - rows["rating"]
        for user, rows in test[test["userId"].isin(model.user_ids_)].groupby("userId")
    ]
    return float(np.sqrt(np.mean(np.concatenate(errors) ** 2)))


def test_ridge_rows_matches_a_direct_solve_on_both_paths():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(40, 6))
    counts = np.array([0, 1, 3, 5, 6, 12, 2, 30])  # below and above d = 6, and an empty row
    indptr = np.r_[0, np.cumsum(counts)]
    indices = np.concatenate([rng.choice(40, c, replace=False) for c in counts])
    targets = rng.normal(size=indptr[-1])
    penalty = rng.uniform(0.5, 3.0, size=(len(counts), 6))
    solved = ridge_rows(indptr, indices, targets, features, penalty)
    for row in range(len(counts)):
        span = slice(indptr[row], indptr[row + 1])
        z = features[indices[span]]
        expected = np.linalg.solve(z.T @ z + np.diag(penalty[row]), z.T @ targets[span])
        np.testing.assert_allclose(solved[row], expected, atol=1e-10)
    assert not solved[0].any()  # no observations: the penalty alone gives zero


def test_train_by_name_and_hyperparameters_stay_as_given(synthetic, model):
    assert isinstance(model, BiasedMFRecommender) and model.algorithm == "biased-mf"
    assert model.get_params() == BiasedMFRecommender().get_params()
    assert model.item_factors_.shape == (len(model.movie_ids_), model.factors)
    assert np.isclose(model.global_mean_[0], synthetic.ratings["rating"].mean(), atol=1e-4)


def test_folding_in_a_training_users_history_gives_their_trained_vector(model):
    for user_idx in (0, 17, 250):
        user_id = int(model.user_ids_[user_idx])
        history = model.user_history(user_id)
        idx = np.searchsorted(model.movie_ids_, list(history))
        bias, factors = model.user_vector(idx, np.array(list(history.values())))
        assert bias == pytest.approx(float(model.user_biases_[user_idx]), abs=1e-4)
        np.testing.assert_allclose(factors, model.user_factors_[user_idx], atol=1e-4)
        pd.testing.assert_series_equal(
            model.predict_ratings(history, list(history)),
            model.predict_ratings_for_user(user_id, list(history)),
            atol=1e-4,
        )


def test_folded_in_user_gets_higher_stars_for_movies_they_loved(synthetic, model):
    """A user's own 5-star movies must be predicted above their 1-star movies."""
    ratings = synthetic.ratings
    checked = 0
    for user_id, rows in ratings.groupby("userId"):
        loved = rows.loc[rows["rating"] >= 4.5, "movieId"]
        hated = rows.loc[rows["rating"] <= 1.5, "movieId"]
        if len(loved) < 3 or len(hated) < 3:
            continue
        profile = dict(zip(rows["movieId"], rows["rating"], strict=True))
        predicted = model.predict_ratings(profile, rows["movieId"])
        assert predicted[loved].mean() > predicted[hated].mean() + 0.5, user_id
        checked += 1
    assert checked >= 10


def test_predictions_are_clipped_stars_in_the_order_asked(model):
    asked = [int(m) for m in model.movie_ids_[[5, 0, 42, 7]]]
    predicted = model.predict_ratings({asked[0]: 5.0, asked[1]: 1.0}, asked)
    assert list(predicted.index) == asked and predicted.index.name == "movieId"
    assert predicted.between(0.5, 5.0).all() and predicted.dtype == np.float32
    assert predicted.attrs["unknown_movie_ids"] == []


def test_unknown_movies_get_the_users_bias_only_prediction(model):
    known = int(model.movie_ids_[3])
    profile = {known: 5.0, 987_654: 4.0}
    predicted = model.predict_ratings(profile, [known, 123_456])
    bias, _ = model.user_vector(np.array([3]), np.array([5.0]))
    assert predicted[123_456] == pytest.approx(model.global_mean_[0] + bias, abs=1e-5)
    assert predicted.attrs["unknown_movie_ids"] == [987_654, 123_456]
    # An empty profile is the movie's own baseline μ + b_i.
    empty = model.predict_ratings({}, [known])
    assert empty[known] == pytest.approx(model.global_mean_[0] + model.item_biases_[3], abs=1e-5)
    with pytest.raises(ValueError, match="movieId 1"):
        model.predict_ratings({1: 7.0}, [known])
    with pytest.raises(KeyError, match="userId 999999"):
        model.predict_ratings_for_user(999_999, [known])


def test_factors_beat_biases_and_the_mean_on_held_out_ratings(synthetic):
    # The synthetic stars depend on taste alone (no movie quality), so only factors can help.
    fit_part, test = _split(synthetic.ratings)
    full = BiasedMFRecommender(factors=16).fit(fit_part)
    biases = BiasedMFRecommender(factors=0).fit(fit_part)
    mean_rmse = float(np.sqrt(np.mean((test["rating"] - fit_part["rating"].mean()) ** 2)))
    assert _rmse(full, test) < min(_rmse(biases, test), mean_rmse) - 0.03
    assert biases.item_factors_.shape == (len(biases.movie_ids_), 0)


def test_save_and_load_round_trip_gives_identical_predictions(model, tmp_path):
    folder = model.save(tmp_path / "bmf")
    loaded = load_model(folder)
    assert type(loaded) is BiasedMFRecommender and loaded.get_params() == model.get_params()
    profile = {int(m): float(r) for m, r in zip(model.movie_ids_[:8], [5, 1, 4, 2, 5, 3, 4, 1],
                                                strict=True)}
    asked = model.movie_ids_[10:60].tolist() + [424_242]
    pd.testing.assert_series_equal(
        loaded.predict_ratings(profile, asked), model.predict_ratings(profile, asked)
    )
    pd.testing.assert_frame_equal(loaded.recommend(profile, n=12), model.recommend(profile, n=12))
    user = int(model.user_ids_[3])
    pd.testing.assert_series_equal(
        loaded.predict_ratings_for_user(user, asked), model.predict_ratings_for_user(user, asked)
    )


def test_ranking_by_stars_alone_prefers_obscure_movies_and_affinity_fixes_it(synthetic):
    stars_only = BiasedMFRecommender(affinity_weight=0.0).fit(synthetic.ratings)
    default = BiasedMFRecommender().fit(synthetic.ratings)
    history = stars_only.user_history(int(stars_only.user_ids_[0]))
    profile = dict(list(history.items())[:15])
    by_stars = stars_only.recommend(profile, n=10)
    # With affinity_weight=0 the score is the (unclipped) predicted stars, best first.
    unrated = np.setdiff1d(stars_only.movie_ids_, list(profile))
    predicted = stars_only.predict_ratings(profile, unrated)
    assert (predicted[by_stars["movieId"]] >= predicted.nlargest(10).min() - 1e-6).all()
    counts = dict(zip(default.movie_ids_, default.n_ratings_, strict=True))
    popular_default = np.median([counts[m] for m in default.recommend(profile, n=10)["movieId"]])
    popular_stars = np.median([counts[m] for m in by_stars["movieId"]])
    assert popular_default > popular_stars


@pytest.mark.parametrize(
    "params",
    [{"factors": -1}, {"iterations": 0}, {"regularization": 0.0}, {"affinity_weight": -1.0},
     {"affinity_rank": 0}],
)
def test_bad_hyperparameters_are_refused_at_fit(synthetic, params):
    with pytest.raises(ValueError):
        BiasedMFRecommender(**params).fit(synthetic.ratings.head(500))


def test_fit_input_is_plain_star_matrix_and_is_not_changed(synthetic):
    ratings = synthetic.ratings.head(3000).copy()
    before = ratings.copy()
    model = BiasedMFRecommender(factors=4, iterations=3).fit(ratings)
    pd.testing.assert_frame_equal(ratings, before)
    assert isinstance(model.vocabulary_.user_items, sp.csr_matrix)


def test_real_movielens_factors_beat_biases(movielens):
    fit_part, test = _split(movielens.ratings, share=0.1, seed=1)
    full = BiasedMFRecommender().fit(fit_part)
    biases = BiasedMFRecommender(factors=0).fit(fit_part)
    assert _rmse(full, test) < _rmse(biases, test) - 0.01
    # A known favourite of one user is predicted above their known dislike.
    user = int(movielens.ratings["userId"].iloc[0])
    history = full.user_history(user)
    best, worst = max(history, key=history.get), min(history, key=history.get)
    if history[best] - history[worst] >= 2:
        predicted = full.predict_ratings(history, [best, worst])
        assert predicted[best] > predicted[worst]
