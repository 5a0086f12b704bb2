"""The evaluation protocols, EASE, and the quality bar of the default model."""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recommender import DEFAULT_ALGORITHM, load_model, train
from recommender.evaluation import (
    TARGETS,
    ImplicitALSBaseline,
    add_arguments,
    command,
    evaluate,
    hit_matrix,
    mean_ci,
    ndcg_at_k,
    onboarding_split,
    ranked_movies,
    recall_at_k,
    strong_generalization_split,
    user_folds,
)
from recommender.evaluation.synthetic import synthetic_movielens
from recommender.models.ease import EASERecommender, ease_weights
from recommender.models.popularity import PopularityRecommender
from tests.conftest import two_taste_groups

GROUP_A = set(range(1, 21))
GROUP_B = set(range(101, 121))
TOLERANCE = 0.01


# --- metrics -------------------------------------------------------------------------------


def test_recall_divides_by_the_smaller_of_k_and_the_number_of_targets():
    hits = np.array([[True, False, True, False, False]])
    assert recall_at_k(hits, np.array([2]), k=5)[0] == 1.0  # both targets found
    assert recall_at_k(hits, np.array([10]), k=5)[0] == pytest.approx(2 / 5)  # 5 slots, not 10
    assert recall_at_k(hits, np.array([4]), k=5)[0] == pytest.approx(2 / 4)
    assert recall_at_k(hits, np.array([2]), k=1)[0] == pytest.approx(1 / 1)


def test_ndcg_is_one_for_the_ideal_ranking_and_uses_min_k_targets():
    assert ndcg_at_k(np.array([[True, True, False]]), np.array([2]), k=3)[0] == pytest.approx(1)
    # One target found at rank 2: DCG 1/log2(3), ideal 1.
    one = ndcg_at_k(np.array([[False, True, False]]), np.array([1]), k=3)[0]
    assert one == pytest.approx(1 / math.log2(3))
    # More targets than k: the ideal fills all k slots, so a full top-k scores 1.
    assert ndcg_at_k(np.ones((1, 3), bool), np.array([50]), k=3)[0] == pytest.approx(1)
    # Two of three slots: (1 + 1/log2(3)) / (1 + 1/log2(3) + 1/2).
    partial = ndcg_at_k(np.array([[True, True, False]]), np.array([50]), k=3)[0]
    assert partial == pytest.approx((1 + 1 / math.log2(3)) / (1 + 1 / math.log2(3) + 0.5))
    assert ndcg_at_k(np.zeros((1, 3), bool), np.array([2]), k=3)[0] == 0


def test_mean_ci_is_196_standard_errors():
    values = np.array([0.0, 1.0, 0.0, 1.0])
    mean, half = mean_ci(values)
    assert mean == 0.5
    assert half == pytest.approx(1.96 * np.std(values, ddof=1) / 2)


# --- splits --------------------------------------------------------------------------------


def test_user_folds_are_deterministic_disjoint_and_balanced():
    users = np.repeat(np.arange(1, 103), 3)  # 102 users, each listed three times
    folds = user_folds(users, folds=5, seed=7)
    assert folds.equals(user_folds(users[::-1], folds=5, seed=7))  # order of rows is irrelevant
    assert sorted(folds.index) == list(range(1, 103))  # every user exactly once
    sizes = folds.value_counts()
    assert sorted(sizes.index) == [0, 1, 2, 3, 4] and sizes.max() - sizes.min() <= 1
    assert not folds.equals(user_folds(users, folds=5, seed=8))
    with pytest.raises(ValueError, match="folds"):
        user_folds(users, folds=1, seed=0)


def _ratings(rows):
    return pd.DataFrame(rows, columns=["userId", "movieId", "rating"]).astype(
        {"userId": "int32", "movieId": "int32", "rating": "float32"}
    )


def test_strong_generalization_holds_out_a_fifth_of_the_positives():
    rows = [(1, m, 5.0) for m in range(1, 11)]  # 10 positives
    rows += [(1, m, 2.0) for m in range(11, 15)]  # low ratings never take part
    rows += [(2, m, 4.0) for m in range(1, 5)]  # only 4 positives: not evaluated
    rows += [(3, m, 4.5) for m in (1, 2, 3, 4, 5, 999)]  # 999 is outside the catalogue
    catalogue = np.arange(1, 21)
    held = strong_generalization_split(_ratings(rows), catalogue, np.random.default_rng(0))
    assert list(held.user_ids) == [1, 3]
    given, targets = held.fold_in.toarray() > 0, held.targets.toarray() > 0
    assert not (given & targets).any()
    assert list(held.n_targets) == [2, 1]
    assert set(catalogue[np.flatnonzero(given[0] | targets[0])]) == set(range(1, 11))
    assert set(catalogue[np.flatnonzero(given[1] | targets[1])]) == {1, 2, 3, 4, 5}
    assert set(held.fold_in.data) <= {5.0, 4.5}  # stars are kept for the fold-in


def test_onboarding_gives_ten_ratings_and_targets_the_other_liked_ones():
    rng = np.random.default_rng(1)
    rows = [(1, m, float(s)) for m, s in zip(range(1, 31), rng.choice([1.0, 3.0, 4.0, 5.0], 30),
                                            strict=True)]
    rows += [(2, m, 5.0) for m in range(1, 15)]  # 14 ratings: too few
    held = onboarding_split(_ratings(rows), np.arange(1, 31), np.random.default_rng(0))
    assert list(held.user_ids) == [1]
    given = held.fold_in.toarray()[0]
    targets = held.targets.toarray()[0] > 0
    assert (given > 0).sum() == 10 and not (targets & (given > 0)).any()
    stars = dict(zip(range(1, 31), (r[2] for r in rows[:30]), strict=True))
    rest = {m for m in range(1, 31) if given[m - 1] == 0}
    assert {m for m in range(1, 31) if targets[m - 1]} == {m for m in rest if stars[m] >= 4}


class _FixedScores:
    """A stand-in model whose scores are the catalogue position (higher id = better)."""

    def __init__(self, movie_ids):
        self.movie_ids_ = np.asarray(movie_ids)

    def scores(self, profiles):
        return np.tile(np.arange(len(self.movie_ids_), dtype=np.float32), (len(profiles), 1))


def test_ranking_excludes_the_fold_in_and_maps_model_ids_to_the_catalogue():
    catalogue = np.array([10, 20, 30, 40, 50])
    # The model knows one movie fewer (40) and lists one the catalogue lacks (60).
    model = _FixedScores([10, 20, 30, 50, 60])
    fold_in = sp.csr_matrix(np.array([[0, 0, 0, 0, 4.0]], dtype=np.float32))
    ranked = ranked_movies(model, fold_in, catalogue, k=4)
    # 50 is rated and 40 unknown to the model, so only 30, 20, 10 are ranked; the slot left
    # over is empty (−1) and can never be a hit, even though 40 is a target.
    assert list(ranked[0]) == [2, 1, 0, -1]
    targets = sp.csr_matrix(np.array([[0, 0, 1, 1, 0]], dtype=np.float32))
    assert list(hit_matrix(ranked, targets)[0]) == [True, False, False, False]


# --- EASE ------------------------------------------------------------------------------------


def _paper_ease(x: np.ndarray, lam: float, y: np.ndarray | None = None) -> np.ndarray:
    """Steck (2019) straight from the formula, through a dense inverse."""
    p = np.linalg.inv(x.T @ x + lam * np.eye(x.shape[1]))
    if y is None:
        b = np.eye(x.shape[1]) - p / np.diag(p)  # eq. 8
    else:
        pxy = p @ x.T @ y
        b = pxy - p * (np.diag(pxy) / np.diag(p))
    b[np.diag_indices_from(b)] = 0
    return b


@pytest.mark.parametrize("users", [40, 8])  # more users than items, then fewer (Woodbury)
def test_ease_weights_match_the_paper(users):
    rng = np.random.default_rng(0)
    x = (rng.random((users, 12)) < 0.3).astype(np.float64)
    y = x * (rng.random(x.shape) < 0.6)
    lam = 5.0
    exact = ease_weights(sp.csr_matrix(x), lam, dtype=np.float64)
    assert np.allclose(exact, _paper_ease(x, lam))
    assert np.allclose(ease_weights(sp.csr_matrix(x), lam), _paper_ease(x, lam), atol=1e-5)
    with_y = ease_weights(sp.csr_matrix(x), lam, sp.csr_matrix(y), dtype=np.float64)
    assert np.allclose(with_y, _paper_ease(x, lam, y))
    # B = X → X with the zero-diagonal constraint, checked through its optimality: the
    # gradient of ‖Y − XB‖² + λ‖B‖² vanishes off the diagonal.
    gradient = x.T @ (x @ with_y - y) + lam * with_y
    off = ~np.eye(12, dtype=bool)
    assert np.abs(gradient[off]).max() < 1e-8
    with pytest.raises(ValueError, match="regularization"):
        ease_weights(sp.csr_matrix(x), 0.0)


@pytest.fixture(scope="module")
def groups():
    return two_taste_groups()


def test_ease_new_user_who_likes_group_a_gets_group_a(groups):
    ratings, movies = groups
    model = EASERecommender(regularization=10.0).fit(ratings, movies)
    picks = model.recommend({1: 5.0, 2: 4.5, 3: 5.0}, n=10)
    assert set(picks["movieId"]) <= GROUP_A - {1, 2, 3}
    assert set(model.recommend({101: 5.0, 105: 4.0}, n=10)["movieId"]) <= GROUP_B
    assert set(model.similar(7, n=5)["movieId"]) <= GROUP_A
    assert model.weights_.dtype == np.float32


def test_ease_leaves_unmodelled_movies_out_and_save_load_round_trips(groups, tmp_path):
    ratings, movies = groups
    # Movie 120 gets a single extra rater: below min_ratings, so outside the model.
    rare = pd.DataFrame({"userId": [1], "movieId": [999], "rating": [5.0]})
    model = EASERecommender(regularization=10.0, max_items=30, min_ratings=2).fit(
        pd.concat([ratings, rare], ignore_index=True)
    )
    modelled = set(model.movie_ids_[model.modelled_idx_])
    assert len(modelled) == 30 and 999 not in modelled
    picks = model.recommend({1: 5.0, 101: 4.0}, n=100)
    assert set(picks["movieId"]) <= modelled
    # similar() on an unmodelled movie falls back to co-ratings among the modelled ones.
    fallback = model.similar(999, n=5)
    assert len(fallback) == 5 and set(fallback["movieId"]) <= GROUP_A & modelled

    loaded = load_model(model.save(tmp_path / "ease"))
    assert loaded.get_params() == model.get_params()
    profile = {1: 5.0, 3: 1.0, 102: 2.5, 999: 4.0}
    pd.testing.assert_frame_equal(loaded.recommend(profile, n=20), model.recommend(profile, n=20))
    pd.testing.assert_frame_equal(loaded.similar(4, n=6), model.similar(4, n=6))
    pd.testing.assert_frame_equal(loaded.similar(999, n=6), model.similar(999, n=6))
    batch = sp.csr_matrix(([5.0, 1.0], ([0, 0], [0, 2])), shape=(1, len(model.movie_ids_)))
    assert np.allclose(
        loaded.batch_scores(batch)[0],
        model.new_user_scores(np.array([0, 2]), np.array([5.0, 1.0])),
    )


def test_ease_low_rating_weight_turns_a_dislike_into_evidence_against(groups):
    ratings, movies = groups
    liked_a = {1: 5.0, 2: 5.0}
    plain = EASERecommender(regularization=10.0, low_rating_weight=1.0).fit(ratings)
    signed = EASERecommender(regularization=10.0, low_rating_weight=-1.0).fit(ratings)
    disliked_b = liked_a | {101: 1.0, 102: 1.0}
    # Read as "watched", the B ratings pull B movies up; read as negative, they push them down.
    b_rank = lambda model: model.recommend(disliked_b, n=38)["movieId"].isin(GROUP_B).to_numpy()  # noqa: E731
    assert np.flatnonzero(b_rank(signed)).min() > np.flatnonzero(b_rank(plain)).min()


def test_implicit_baseline_folds_in_through_recalculate_user(groups):
    ratings, _ = groups
    model = ImplicitALSBaseline().fit(ratings)
    assert set(model.recommend({1: 5.0, 2: 4.0, 3: 5.0}, n=5)["movieId"]) <= GROUP_A
    rows = sp.csr_matrix(([5.0, 4.0], ([0, 1], [0, 30])), shape=(2, len(model.movie_ids_)))
    batch = model.batch_scores(rows)
    assert np.allclose(batch[0], model.new_user_scores(np.array([0]), np.array([5.0])), atol=1e-4)


# --- the whole evaluation ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_movielens(30_000, seed=5)


def test_evaluate_is_deterministic_and_ranks_a_real_model_above_popularity(synthetic):
    models = {
        "popularity": lambda r: PopularityRecommender().fit(r),
        "ease": lambda r: EASERecommender(regularization=50.0).fit(r),
    }
    per_user = {}
    first = evaluate(synthetic.ratings, models, folds=3, seed=1, latency_users=3, per_user=per_user)
    again = evaluate(synthetic.ratings, models, folds=3, seed=1, latency_users=3)
    metrics = ["sg_recall@20", "sg_recall@50", "sg_ndcg@100", "onb_recall@10", "onb_ndcg@10"]
    pd.testing.assert_frame_equal(first[metrics], again[metrics])
    assert list(first["model"]) == ["popularity", "ease"]
    assert (first[[f"{m}_ci" for m in metrics]] > 0).all().all()
    assert first["sg_users"].iloc[0] > 50 and first["onb_users"].iloc[0] > 50
    ease, pop = first.set_index("model").loc["ease"], first.set_index("model").loc["popularity"]
    assert ease["sg_ndcg@100"] > pop["sg_ndcg@100"] and ease["coverage@10"] > pop["coverage@10"]
    values = per_user["ease"]["sg_ndcg@100"]
    assert len(values) == first["sg_users"].iloc[0] and ((values >= 0) & (values <= 1)).all()
    assert values.mean() == pytest.approx(ease["sg_ndcg@100"])


def test_command_writes_json_markdown_and_a_vega_lite_chart(synthetic, tmp_path, capsys):
    folder = tmp_path / "ml"
    folder.mkdir()
    synthetic.movies[["movieId", "title", "genres"]].to_csv(folder / "movies.csv", index=False)
    synthetic.ratings.to_csv(folder / "ratings.csv", index=False)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([
        "--movielens-dir", str(folder), "--folds", "2", "--algorithms", "popularity,ease",
        "--json", "--output-dir", str(tmp_path / "docs"), "--sections", "main",
    ])
    assert command(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [m["model"] for m in printed["models"]] == ["popularity", "ease"]
    assert printed["folds"] == 2 and printed["targets"] == TARGETS
    written = json.loads((tmp_path / "docs" / "evaluation.json").read_text())
    assert written["models"] == printed["models"]
    markdown = (tmp_path / "docs" / "evaluation.md").read_text()
    assert "python -m recommender evaluate --folds 2 --algorithms popularity,ease" in markdown
    assert "| ease |" in markdown and " ± " in markdown
    chart = json.loads((tmp_path / "docs" / "evaluation_chart.json").read_text())
    assert "vega-lite" in chart["$schema"]
    with pytest.raises(ValueError, match="unknown algorithm"):
        command(parser.parse_args(["--movielens-dir", str(folder), "--algorithms", "svd"]))


# --- the default model on real MovieLens (slow; CI sets MOVIELENS_DIR) -----------------------


@pytest.mark.slow
def test_default_model_reaches_the_targets(movielens):
    result = evaluate(movielens.ratings, {"default": lambda r: train(r)}, folds=5, seed=0)
    row = result.iloc[0]
    for metric, target in TARGETS.items():
        assert row[metric] >= target - TOLERANCE, (DEFAULT_ALGORITHM, metric, row[metric])


@pytest.fixture(scope="module")
def default_model(movielens):
    return train(movielens.ratings, movies=movielens.movies)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("movie_id", "expected"),
    [
        (1, {3114, 78499}),  # Toy Story -> Toy Story 2 and 3
        (3114, {1}),
        (4993, {5952, 7153}),  # The Lord of the Rings
        (5952, {4993, 7153}),
        (7153, {4993, 5952}),
        (260, {1196, 1210}),  # Star Wars IV, V, VI
        (1196, {260, 1210}),
        (1210, {260, 1196}),
    ],
)
def test_similar_finds_the_rest_of_the_franchise(default_model, movie_id, expected):
    top10 = set(default_model.similar(movie_id, n=10)["movieId"])
    assert expected <= top10, (movie_id, sorted(expected - top10))
