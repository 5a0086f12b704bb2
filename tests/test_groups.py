"""Group picks: the aggregation rules on hand-made matrices, recommend_group on two taste
groups, and the pieces of the offline group protocol."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender import ALGORITHMS, train
from recommender.evaluation.groups import (
    INDIVIDUAL,
    choose_rule,
    evaluate_groups,
    member_ndcg,
    random_groups,
    score_group,
    similar_groups,
    taste_similarity,
)
from recommender.evaluation.synthetic import synthetic_movielens
from recommender.groups import (
    DEFAULT_RULE,
    RULES,
    average_without_misery,
    fair,
    group_ranking,
    ranks,
    recommend_group,
    standardised,
)
from tests.conftest import two_taste_groups

DOCS = Path(__file__).resolve().parent.parent / "docs"
INF = np.inf

# Two members whose scores are permutations of the same values, so standardising changes
# nothing between them: sums [4, 6, 4, 2, 4], minima [0, 3, 0, 1, 2].
PAIR = np.array([[4.0, 3, 0, 1, 2], [0.0, 3, 4, 1, 2]])
# Two members who agree and one who wants the opposite.
TRIO = np.array([[4.0, 3, 2, 1, 0], [4.0, 3, 2, 1, 0], [0.0, 1, 2, 3, 4]])


# --- rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("average", [1, 0, 2, 4, 3]),  # ties (sum 4) go by column order
        ("least_misery", [1, 4, 3, 0, 2]),  # the happiest least-happy member first
        ("borda", [1, 0, 2, 4, 3]),
        ("fair", [1, 0, 2, 4, 3]),
    ],
)
def test_rules_on_a_pair(rule, expected):
    assert group_ranking(PAIR, 5, rule).tolist() == expected


def test_average_without_misery_puts_movies_nobody_minds_first():
    # Top 3 of 5: Ana {0, 1, 4}, Ben {1, 2, 4}; only 1 and 4 are in both.
    assert average_without_misery(PAIR, 5, misery_share=0.6).tolist() == [1, 4, 0, 2, 3]
    # Nobody's top 20 % (one movie) is shared: the list is the average's, never short.
    assert average_without_misery(PAIR, 5, misery_share=0.2).tolist() == [1, 0, 2, 4, 3]


def test_fair_gives_the_odd_one_out_a_favourite_early():
    assert group_ranking(TRIO, 2, "average").tolist() == [0, 1]
    assert fair(TRIO, 2, favourites=1).tolist() == [0, 4]  # Cy's favourite comes second
    assert fair(TRIO, 5, favourites=1).tolist() == [0, 4, 1, 2, 3]  # then by average
    assert group_ranking(TRIO, 1, "least_misery").tolist() == [2]  # the compromise


@pytest.mark.parametrize("rule", list(RULES))
def test_no_rule_picks_a_movie_someone_cannot_get(rule):
    scores = PAIR.copy()
    scores[1, 1] = -INF  # the best average, but not a candidate
    scores[0, 3] = -INF
    picked = group_ranking(scores, 5, rule).tolist()
    assert sorted(picked) == [0, 2, 4]
    assert group_ranking(np.full((2, 3), -INF), 5, rule).tolist() == []


def test_scale_does_not_decide():
    # Ben's model scores run 1000 times larger; standardised, he does not outvote Ana.
    scaled = PAIR * np.array([[1.0], [1000.0]])
    for rule in RULES:
        assert group_ranking(scaled, 5, rule).tolist() == group_ranking(PAIR, 5, rule).tolist()
    z = standardised(scaled)
    np.testing.assert_allclose(z.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=1), 1)


def test_ranks_count_only_candidates():
    scores = np.array([[3.0, -INF, 1, 2], [1.0, 5, 3, 2]])
    assert ranks(scores).tolist() == [[0, INF, 2, 1], [2, INF, 0, 1]]


def test_rule_arguments_are_checked():
    with pytest.raises(ValueError, match="unknown rule 'median'"):
        group_ranking(PAIR, 3, "median")
    with pytest.raises(ValueError, match="n must be >= 0"):
        group_ranking(PAIR, -1)
    with pytest.raises(ValueError, match="misery_share"):
        average_without_misery(PAIR, 3, misery_share=0)
    with pytest.raises(ValueError, match="favourites"):
        fair(PAIR, 3, favourites=0)


# --- recommend_group on two taste groups (A: movies 1-20, B: 101-120) -------------------------


@pytest.fixture(scope="module")
def data():
    return two_taste_groups()


@pytest.fixture(scope="module")
def models(data):
    ratings, movies = data
    return {name: train(ratings, name, movies=movies) for name in ALGORITHMS}


ANA = {1: 5.0, 2: 4.5, 3: 4.0}  # likes A
BEN = {101: 5.0, 102: 4.5, 103: 4.0}  # likes B
TITLES = {m: f"Movie {m}" for m in (*range(1, 21), *range(101, 121))}


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
@pytest.mark.parametrize("rule", list(RULES))
def test_every_model_and_rule_gives_unrated_picks_with_everyones_stars(
    models, algorithm, rule
):
    result = recommend_group(
        models[algorithm], {"Ana": ANA, "Ben": BEN}, n=10, rule=rule,
        stars_model=models["biased-mf"],
    )
    assert list(result.columns) == ["movieId", "score", "Ana", "Ben", "reason"]
    assert len(result) == 10
    assert not set(result["movieId"]) & (set(ANA) | set(BEN))
    assert result["movieId"].is_unique
    assert result[["Ana", "Ben"]].to_numpy().min() >= 0.5
    assert result[["Ana", "Ben"]].to_numpy().max() <= 5.0
    assert result.attrs["rule"] == rule


def test_each_member_gets_their_own_predicted_stars(models):
    stars = models["biased-mf"]
    result = recommend_group(models["hybrid"], {"Ana": ANA, "Ben": BEN}, n=10, stars_model=stars)
    for name, ratings in (("Ana", ANA), ("Ben", BEN)):
        expected = stars.predict_ratings(ratings, result["movieId"]).to_numpy()
        np.testing.assert_allclose(result[name], expected)
    assert not np.allclose(result["Ana"], result["Ben"])


def test_stars_come_from_the_model_itself_or_are_missing(models):
    members = {"Ana": ANA}
    own = recommend_group(models["biased-mf"], members, n=3)
    expected = models["biased-mf"].predict_ratings(ANA, own["movieId"]).to_numpy()
    np.testing.assert_allclose(own["Ana"], expected)
    assert recommend_group(models["als"], members, n=3)["Ana"].isna().all()


def test_fair_serves_both_tastes_at_once(models):
    result = recommend_group(models["hybrid"], {"Ana": ANA, "Ben": BEN}, n=2, rule="fair")
    assert sorted(m < 100 for m in result["movieId"]) == [False, True]


def test_filters_apply(models):
    model = models["hybrid"]
    members = {"Ana": ANA, "Ben": BEN}
    horror = recommend_group(model, members, n=10, genres=["Horror"])
    assert len(horror) and (horror["movieId"] > 100).all()  # only B movies are Horror
    years = recommend_group(model, members, n=40, years=(1995, 1999))
    assert len(years) and years["movieId"].map(lambda m: 1995 <= 1990 + m % 20 <= 1999).all()
    first = recommend_group(model, members, n=5)
    seen = recommend_group(model, members, n=5, exclude=first["movieId"].tolist()[:3])
    assert not set(seen["movieId"]) & set(first["movieId"].tolist()[:3])


def test_reasons_name_the_people(models):
    shared = {"Ana": {1: 5.0, 2: 5.0}, "Ben": {1: 5.0, 2: 5.0}}
    result = recommend_group(models["als"], shared, n=5, titles=TITLES)
    assert all(r.startswith("Ana and Ben both loved Movie ") for r in result["reason"])
    result = recommend_group(models["als"], {"Ana": ANA, "Ben": BEN}, n=10, titles=TITLES)
    for movie_id, reason in result[["movieId", "reason"]].itertuples(index=False):
        who = "Ana" if movie_id < 100 else "Ben"
        assert reason.startswith("Like Movie ") and reason.endswith(f", which {who} loved") \
            or reason.endswith(f", which {who} liked")
    untitled = recommend_group(models["als"], {"Cy": {1: 4.0}}, n=1)
    assert untitled["reason"].iloc[0] == "Like movie 1, which Cy liked"
    nobody_liked = recommend_group(models["als"], {"Dee": {1: 2.0}}, n=3)
    assert (nobody_liked["reason"] == "").all()  # a low rating explains nothing


def test_one_fold_in_per_member(models, monkeypatch):
    model = models["hybrid"]
    calls = []
    original = type(model).batch_scores

    def counted(self, user_items):
        calls.append(np.diff(user_items.indptr).tolist())
        return original(self, user_items)

    monkeypatch.setattr(type(model), "batch_scores", counted)
    recommend_group(model, {"Ana": ANA, "Ben": BEN, "Cy": {5: 3.0}}, n=10)
    assert calls == [[3, 3, 1]]  # one batch, one row (fold-in) per member


def test_a_models_batch_scores_are_used_when_it_has_them(models):
    class Batched(type(models["als"])):
        def scores(self, profiles):
            out = np.zeros((len(profiles), len(self.movie_ids_)), dtype=np.float32)
            out[:, -1] = 1.0  # everyone's favourite: the last movie
            return out

    model = Batched()
    model.__dict__.update(models["als"].__dict__)
    result = recommend_group(model, {"Ana": ANA, "Ben": BEN}, n=1)
    assert result["movieId"].tolist() == [int(model.movie_ids_[-1])]


def test_empty_profiles_and_unknown_movies(models):
    result = recommend_group(models["hybrid"], {"Ana": {}, "Ben": {99_999: 4.0, 1: 4.0}}, n=5)
    assert len(result) == 5 and 1 not in set(result["movieId"])
    assert result.attrs["unknown_movie_ids"] == {"Ana": [], "Ben": [99_999]}


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({}, "non-empty mapping"),
        ({"": ANA}, "non-empty string"),
        ({"score": ANA}, "reserved"),
        ({"Ana": {1: 4.2}}, "Ana's ratings: movieId 1: rating 4.2 is not between 0.5 and 5"),
    ],
)
def test_bad_members_are_named(models, members, message):
    with pytest.raises(ValueError, match=message):
        recommend_group(models["als"], members)


def test_unknown_rule_fails_before_any_work(models):
    with pytest.raises(ValueError, match="unknown rule"):
        recommend_group(models["als"], {"Ana": ANA}, rule="dictator")


# --- the offline protocol ---------------------------------------------------------------------


def test_groups_are_distinct_users_and_similar_ones_are_nearest():
    rng = np.random.default_rng(0)
    groups = random_groups(10, 4, 50, rng)
    assert groups.shape == (50, 4)
    assert all(len(set(g)) == 4 for g in groups.tolist())
    similarity = np.array([[1.0, 0.9, 0.1, 0.5], [0.9, 1, 0.2, 0.3],
                           [0.1, 0.2, 1, 0.8], [0.5, 0.3, 0.8, 1]])
    for group in similar_groups(similarity, 3, 20, rng).tolist():
        expected = {0: [0, 1, 3], 1: [1, 0, 3], 2: [2, 3, 1], 3: [3, 2, 0]}[group[0]]
        assert group == expected
    with pytest.raises(ValueError, match="groups of 5 from 4 users"):
        similar_groups(similarity, 5, 1, rng)


def test_taste_similarity_is_a_cosine_of_centred_stars():
    import scipy.sparse as sp

    stars = sp.csr_matrix(np.array([[5.0, 1, 0], [4.0, 2, 0], [1.0, 5, 0]]))
    similarity = taste_similarity(stars)
    np.testing.assert_allclose(np.diag(similarity), 1)
    assert similarity[0, 1] == pytest.approx(1.0)  # same direction around their means
    assert similarity[0, 2] == pytest.approx(-1.0)


def test_member_ndcg_and_the_group_score():
    # Column 0 is first in the list (NDCG 1), 9 is tenth (1 / log2 11), 10 is missing (0).
    values = member_ndcg(np.arange(10), [{0}, {9}, {10}])
    np.testing.assert_allclose(values, [1.0, 1 / math.log2(11), 0.0])
    assert math.isnan(member_ndcg(np.arange(10), [set()])[0])
    scores = np.tile(np.arange(20, 0, -1, dtype=float), (2, 1))  # both rank column 0 first
    mean, worst = score_group(scores, [{0}, set()], [{1}, {15}], "average")
    # Column 0 is told, so the list is 1..10: A's target first, B's (15) missing.
    assert (mean, worst) == (0.5, 0.0)
    assert score_group(scores, [{0}, set()], [{0}, {1}], "average") == (1.0, 1.0)  # A's 0 dropped
    assert score_group(scores, [set(), set()], [{1}, {2}], INDIVIDUAL)[1] > 0


def test_evaluate_groups_scores_every_rule_kind_and_size():
    data = synthetic_movielens(n_ratings=20_000, n_users=150, n_movies=300, seed=3)
    result = evaluate_groups(
        data.ratings, lambda r: train(r, "als", factors=8, iterations=3), folds=2,
        sizes=(2, 3), groups_per_fold=5,
    )
    assert len(result) == (len(RULES) + 1) * 2 * 2
    assert set(result["rule"]) == {*RULES, INDIVIDUAL}
    assert (result["groups"] == 10).all()
    assert result["mean_ndcg"].between(0, 1).all()
    assert (result["worst_ndcg"] <= result["mean_ndcg"] + 1e-12).all()
    assert choose_rule(result) in RULES


def test_choose_rule_prefers_the_worst_member_then_the_mean():
    frame = pd.DataFrame({
        "rule": ["average", "fair", "borda", INDIVIDUAL],
        "worst_ndcg": [0.200, 0.203, 0.100, 0.9],
        "mean_ndcg": [0.40, 0.35, 0.5, 0.9],
    })
    assert choose_rule(frame) == "average"  # within 0.005 of fair, with a better mean
    frame.loc[1, "worst_ndcg"] = 0.25
    assert choose_rule(frame) == "fair"


def test_the_committed_results_chose_the_default_rule():
    report = json.loads((DOCS / "groups.json").read_text())
    assert report["default_rule"] == DEFAULT_RULE
    cells = {(r["rule"], r["kind"], r["size"]) for r in report["results"]}
    assert cells == {(rule, kind, size) for rule in (*RULES, INDIVIDUAL)
                     for kind in ("random", "similar") for size in (2, 4, 6)}
