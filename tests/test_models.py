"""The model contract, checked against every registered algorithm."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

import recommender
from recommender import ALGORITHMS, ModelFileError, UnknownMovieError, load_model, train
from recommender.models import load_or_train
from tests.conftest import two_taste_groups

PERSONALISED = [name for name in ALGORITHMS if name != "popularity"]
GROUP_A = set(range(1, 21))
GROUP_B = set(range(101, 121))


@pytest.fixture(scope="module")
def groups():
    return two_taste_groups()


@pytest.fixture(scope="module")
def fitted(groups):
    ratings, movies = groups
    return {name: train(ratings, name, movies=movies) for name in ALGORITHMS}


def test_fit_returns_self_and_keeps_hyperparameters(groups):
    ratings, _ = groups
    for cls in ALGORITHMS.values():
        model = cls()
        before = model.get_params()
        assert model.fit(ratings) is model
        assert model.get_params() == before
        assert list(model.movie_ids_) == sorted(GROUP_A | GROUP_B)


@pytest.mark.parametrize("algorithm", PERSONALISED)
def test_new_user_who_likes_group_a_gets_group_a(fitted, algorithm):
    model = fitted[algorithm]
    liked = {1: 5.0, 2: 4.5, 3: 5.0, 4: 4.0}
    picks = model.recommend(liked, n=10)
    assert list(picks.columns) == ["movieId", "score"]
    assert set(picks["movieId"]) <= GROUP_A - set(liked)
    assert picks["score"].is_monotonic_decreasing
    picks_b = model.recommend({101: 5.0, 102: 4.5}, n=5)
    assert set(picks_b["movieId"]) <= GROUP_B


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_recommend_never_returns_rated_movies_and_reports_unknown_ids(fitted, algorithm):
    model = fitted[algorithm]
    profile = {m: 4.0 for m in range(1, 16)} | {999_999: 3.0}
    picks = model.recommend(profile, n=40)
    assert not set(picks["movieId"]) & set(profile)
    assert len(picks) == 40 - 15 + 0  # 40 movies in all, 15 of them rated
    assert picks.attrs["unknown_movie_ids"] == [999_999]


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_empty_profile_falls_back_to_popularity(fitted, groups, algorithm):
    ratings, _ = groups
    counts = ratings.groupby("movieId").size().sort_values(ascending=False, kind="stable")
    picks = fitted[algorithm].recommend({}, n=5)
    assert list(picks["score"]) == sorted(counts.head(5).tolist(), reverse=True)


@pytest.mark.parametrize("bad", [0.0, 5.5, float("nan"), -1])
def test_rating_outside_scale_names_the_movie(fitted, bad):
    with pytest.raises(ValueError, match="movieId 7"):
        fitted["als"].recommend({1: 4.0, 7: bad})


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_filters_apply_before_the_top_n_cut(fitted, algorithm):
    model = fitted[algorithm]
    liked = {1: 5.0, 2: 5.0}
    horror = model.recommend(liked, n=5, genres=["Horror"])
    assert len(horror) == 5 and set(horror["movieId"]) <= GROUP_B
    years = model.recommend(liked, n=50, years=(1995, 1999))
    assert len(years) > 0 and all(1995 <= 1990 + m % 20 <= 1999 for m in years["movieId"])
    excluded = model.recommend(liked, n=50, exclude=[3, 4, 5])
    assert not {3, 4, 5} & set(excluded["movieId"])
    counts = dict(zip(model.movie_ids_, model.n_ratings_, strict=True))
    popular = model.recommend(liked, n=50, min_ratings=16)
    assert all(counts[m] >= 16 for m in popular["movieId"])
    with pytest.raises(ValueError, match="unknown genre"):
        model.recommend(liked, genres=["Nope"])
    with pytest.raises(TypeError, match="unknown filter"):
        model.recommend(liked, colour="red")


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_similar_excludes_itself_and_stays_in_group(fitted, algorithm):
    model = fitted[algorithm]
    similar = model.similar(5, n=8)
    assert 5 not in set(similar["movieId"]) and len(similar) == 8
    assert set(similar["movieId"]) <= GROUP_A
    with pytest.raises(UnknownMovieError, match="movieId 4242") as error:
        model.similar(4242)
    assert isinstance(error.value, KeyError) and error.value.movie_id == 4242


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_recommend_for_training_user_excludes_their_history(fitted, groups, algorithm):
    ratings, _ = groups
    model = fitted[algorithm]
    seen = set(ratings.loc[ratings["userId"] == 1, "movieId"])
    assert not seen & set(model.recommend_for_user(1, n=30)["movieId"])
    picks = model.recommend_for_user(1, n=5)
    if algorithm != "popularity":
        assert set(picks["movieId"]) <= GROUP_A
    with pytest.raises(KeyError, match="userId 77777"):
        model.recommend_for_user(77777)


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_save_and_load_give_identical_recommendations(fitted, tmp_path, algorithm):
    model = fitted[algorithm]
    folder = model.save(tmp_path / algorithm)
    loaded = load_model(folder)
    assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
    assert loaded.fingerprint_ == model.fingerprint_
    profile = {1: 5.0, 3: 2.0, 102: 1.0}
    pd.testing.assert_frame_equal(loaded.recommend(profile, n=15), model.recommend(profile, n=15))
    pd.testing.assert_frame_equal(loaded.similar(3, n=5), model.similar(3, n=5))
    pd.testing.assert_frame_equal(
        loaded.recommend(profile, genres=["Horror"]), model.recommend(profile, genres=["Horror"])
    )
    # Saving again over the same folder replaces it cleanly.
    model.save(folder)
    assert load_model(folder).fingerprint_ == model.fingerprint_


def test_altered_truncated_or_foreign_model_files_are_refused(fitted, tmp_path):
    folder = fitted["als"].save(tmp_path / "als")
    factors = folder / "item_factors.npy"
    original = factors.read_bytes()

    factors.write_bytes(original[: len(original) // 2])
    with pytest.raises(ModelFileError, match="checksum mismatch"):
        load_model(folder)

    # A pickled object array with a matching checksum must still never be unpickled.
    np.save(factors, np.array([object()], dtype=object), allow_pickle=True)
    manifest = json.loads((folder / "model.json").read_text())
    import hashlib

    manifest["arrays"]["item_factors_"]["sha256"] = hashlib.sha256(factors.read_bytes()).hexdigest()
    (folder / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="not a plain numpy array"):
        load_model(folder)

    (folder / "model.json").write_text("{not json")
    with pytest.raises(ModelFileError, match="not valid JSON"):
        load_model(folder)
    (folder / "model.json").write_text(json.dumps({"format_version": 99}))
    with pytest.raises(ModelFileError, match="unsupported format version 99"):
        load_model(folder)
    with pytest.raises(ModelFileError, match="not a saved model"):
        load_model(tmp_path / "empty")


def test_save_refuses_to_overwrite_a_folder_that_is_not_a_model(fitted, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("precious")
    with pytest.raises(ModelFileError, match="refusing to overwrite"):
        fitted["als"].save(tmp_path / "notes")
    assert (tmp_path / "notes" / "keep.txt").read_text() == "precious"


def test_training_input_is_checked(groups):
    ratings, _ = groups
    with pytest.raises(ValueError, match="missing column"):
        train(ratings.drop(columns="rating"))
    with pytest.raises(ValueError, match="outside"):
        train(ratings.assign(rating=9.0))
    with pytest.raises(ValueError, match="duplicated"):
        train(pd.concat([ratings, ratings.head(1)]))
    with pytest.raises(ValueError, match="unknown algorithm 'svd'"):
        train(ratings, "svd")


@pytest.mark.parametrize("algorithm", ["als", "nmf"])  # the families that learn user vectors
def test_fold_in_of_a_training_user_ranks_like_their_trained_vector(movielens, algorithm):
    """Folding a user's own history back in must agree with the vector training learned."""
    model = train(movielens.ratings, algorithm)
    overlaps = []
    for user_id in model.user_ids_[:60]:
        trained = model.recommend_for_user(int(user_id), n=10)
        folded = model.recommend(model.user_history(int(user_id)), n=10)
        overlaps.append(len(set(trained["movieId"]) & set(folded["movieId"])))
    if algorithm == "als":
        assert np.median(overlaps) >= 8 and min(overlaps) >= 6, overlaps
    else:
        assert np.median(overlaps) >= 7, overlaps


def test_thirty_two_threads_give_the_sequential_results(movielens):
    model = train(movielens.ratings, "als")
    rng = np.random.default_rng(0)
    movie_ids = model.movie_ids_[model.n_ratings_ >= 20]
    profiles = [
        {int(m): float(rng.choice(np.arange(0.5, 5.5, 0.5))) for m in rng.choice(movie_ids, 10)}
        for _ in range(100)
    ]
    expected = [model.recommend(p, n=10)["movieId"].tolist() for p in profiles]
    start = threading.Barrier(32)

    def worker(_):
        start.wait()
        return [model.recommend(p, n=10)["movieId"].tolist() for p in profiles]

    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(worker, range(32)))
    assert all(result == expected for result in results)


def test_default_algorithm_is_registered():
    assert recommender.DEFAULT_ALGORITHM in ALGORITHMS


def test_load_or_train_saves_once_and_reloads(groups, tmp_path):
    ratings, movies = groups
    first = load_or_train(ratings, "als", movies=movies, cache_dir=tmp_path, factors=8)
    assert not isinstance(first.item_factors_, np.memmap)  # trained
    second = load_or_train(ratings, "als", movies=movies, cache_dir=tmp_path, factors=8)
    assert isinstance(second.item_factors_, np.memmap)  # read back from disk
    pd.testing.assert_frame_equal(second.recommend({1: 5.0}), first.recommend({1: 5.0}))
    other = load_or_train(ratings, "als", movies=movies, cache_dir=tmp_path, factors=4)
    assert other.item_factors_.shape[1] == 4
    changed = load_or_train(ratings.head(-1), "als", movies=movies, cache_dir=tmp_path, factors=8)
    assert not isinstance(changed.item_factors_, np.memmap)
    assert len(list((tmp_path / "models").iterdir())) == 3
    # A damaged saved model is trained again rather than failing the app.
    for folder in (tmp_path / "models").iterdir():
        (folder / "item_factors.npy").write_bytes(b"broken")
    again = load_or_train(ratings, "als", movies=movies, cache_dir=tmp_path, factors=8)
    assert not isinstance(again.item_factors_, np.memmap)
    pd.testing.assert_frame_equal(again.recommend({1: 5.0}), first.recommend({1: 5.0}))


# --- the batch API, the rating rule, the hybrid by composition ----------------------------


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_scores_is_recommend_for_many_users_at_once(fitted, algorithm):
    model = fitted[algorithm]
    profiles = [{1: 5.0, 3: 4.5, 102: 1.0}, {}, {999_999: 4.0}, {105: 5.0}]
    batch = model.scores(profiles)
    assert batch.shape == (4, len(model.movie_ids_)) and batch.dtype == np.float32
    for profile, row in zip(profiles, batch, strict=True):
        picks = model.recommend(profile, n=10)
        idx = np.searchsorted(model.movie_ids_, picks["movieId"])
        np.testing.assert_allclose(row[idx], picks["score"], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(batch[1], model.n_ratings_)  # empty: popularity
    np.testing.assert_array_equal(batch[2], model.n_ratings_)  # only unknown movies: the same
    assert model.scores([]).shape == (0, len(model.movie_ids_))


@pytest.mark.parametrize(
    ("profile", "message"),
    [
        ({1: 4.2}, "movieId 1: rating 4.2"),  # not a half step
        ({1.7: 5.0}, "movieId 1.7 is not an integer"),  # never truncated to movie 1
        ({2**70: 4.0}, f"movieId {2**70} is out of range"),  # never an OverflowError
        ({0: 4.0}, "movieId 0 is out of range"),
        ({True: 4.0}, "movieId True is not an integer"),
        ({1: "5"}, "movieId 1: rating '5' is not a number"),
        ({1: True}, "movieId 1: rating True is not a number"),
    ],
)
def test_profiles_follow_the_one_rating_rule(fitted, profile, message):
    from recommender.explain import explain

    model = fitted["ease"]
    for call in (
        lambda: model.recommend(profile),
        lambda: model.scores([{2: 4.0}, profile]),
        lambda: explain(model, profile, 5),
    ):
        with pytest.raises(ValueError, match=message):
            call()


def test_the_rating_rule_on_edge_values():
    from recommender.ratings import valid_ratings

    values = np.array([0.5, 1, 4.5, 5, 0, 0.25, 4.2, 4.75, 5.5, -1, np.nan, np.inf, -np.inf, 1e300])
    expected = [True, True, True, True] + [False] * 10
    np.testing.assert_array_equal(valid_ratings(values), expected)
    grid = np.round(np.arange(-1, 6.01, 0.05), 2)
    halves = {x / 2 for x in range(1, 11)}
    np.testing.assert_array_equal(valid_ratings(grid), [g in halves for g in grid])


def test_numpy_ids_and_stars_are_accepted(fitted):
    model = fitted["als"]
    profile = {np.int64(1): np.float32(5.0), np.int32(3): 4}
    pd.testing.assert_frame_equal(model.recommend(profile), model.recommend({1: 5.0, 3: 4.0}))


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("movieId", [1.5], "movieId 1.5 is not an integer"),
        ("movieId", [2**31], "movieId 2147483648 is not an integer from 1 to 2147483647"),
        ("userId", [2**40], "userId 1099511627776 is not an integer from 0"),
        ("rating", [4.2], r"rating 4.2 for movieId \d+ is outside the rating rule"),
    ],
)
def test_training_ids_must_fit_int32_and_ratings_the_rule(groups, column, values, message):
    ratings, _ = groups
    bad = ratings.head(3).astype({column: type(values[0])})
    bad.loc[1, column] = values[0]
    with pytest.raises(ValueError, match=f"row 1: {message}"):
        train(bad, "popularity")


def test_hybrid_parts_follow_scikit_learn_conventions():
    from recommender.models import ALSRecommender, EASERecommender, HybridRecommender

    default = HybridRecommender()
    params = default.get_params()
    assert params["ease"] is None and params["als"] is None and params["ease_weight"] == 0.5
    assert params["ease__regularization"] == 200.0
    assert params["ease__popularity_weight"] == 0.04
    assert {k[5:]: v for k, v in params.items() if k.startswith("als__")} == (
        ALSRecommender().get_params()  # ALS's own defaults, not a copy of them
    )
    default.set_params(ease__regularization=300.0, ease_weight=0.7)
    assert isinstance(default.ease, EASERecommender) and default.ease.regularization == 300.0
    assert default.ease.popularity_weight == 0.04  # the tuned part, changed where asked
    assert default.ease_weight == 0.7 and default.als is None
    with pytest.raises(ValueError, match="no hyperparameter 'factors'"):
        default.set_params(factors=8)
    with pytest.raises(ValueError, match="no hyperparameter 'nope'"):
        default.set_params(ease__nope=1)
    clone = default.clone()
    assert clone.ease is not default.ease and clone.get_params(deep=False)["ease_weight"] == 0.7
    assert clone.ease.get_params() == default.ease.get_params()


def test_hybrid_saves_one_folder_with_a_folder_per_part(groups, tmp_path):
    from recommender.models import ALSRecommender, EASERecommender, HybridRecommender

    ratings, movies = groups
    model = HybridRecommender(
        ease=EASERecommender(regularization=20.0), als=ALSRecommender(factors=8), ease_weight=0.6
    ).fit(ratings, movies)
    assert model.ease.get_params() == EASERecommender(regularization=20.0).get_params()
    assert model.ease_.vocabulary_ is model.vocabulary_ is model.als_.vocabulary_
    folder = model.save(tmp_path / "hybrid")
    assert (folder / "ease" / "model.json").exists() and (folder / "als" / "model.json").exists()
    assert not (folder / "ease" / "movie_ids.npy").exists()  # parts share the parent's ids
    loaded = load_model(folder)
    assert loaded.hyperparameters() == model.hyperparameters()
    assert loaded.als_.factors == 8 and loaded.ease_.regularization == 20.0
    profile = {1: 5.0, 3: 2.0, 102: 1.0}
    pd.testing.assert_frame_equal(loaded.recommend(profile, n=15), model.recommend(profile, n=15))
    with pytest.raises(ModelFileError, match="part of a composite model"):
        load_model(folder / "ease")
    # Nested names reach the parts through train() as well (they change the tuned EASE part,
    # whose popularity prior differs from a plain EASERecommender's).
    trained = train(ratings, "hybrid", movies=movies, ease__regularization=20.0,
                    ease__popularity_weight=0.0, als__factors=8, ease_weight=0.6)
    pd.testing.assert_frame_equal(trained.recommend(profile, n=15), model.recommend(profile, n=15))


def test_an_outdated_saved_model_is_retrained_with_a_log_line(groups, tmp_path, caplog):
    ratings, _ = groups
    first = load_or_train(ratings, "hybrid", cache_dir=tmp_path, als__factors=8)
    (folder,) = (tmp_path / "models").iterdir()
    manifest = json.loads((folder / "model.json").read_text())
    # What the hybrid looked like before it was built from parts: flat hyperparameters.
    manifest["hyperparameters"] = {"ease_weight": 0.5, "ease_regularization": 200.0}
    (folder / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="hyperparameters do not fit HybridRecommender"):
        load_model(folder)
    with caplog.at_level("WARNING"):
        again = load_or_train(ratings, "hybrid", cache_dir=tmp_path, als__factors=8)
    assert "Retraining hybrid" in caplog.text and "hyperparameters do not fit" in caplog.text
    pd.testing.assert_frame_equal(again.recommend({1: 5.0}), first.recommend({1: 5.0}))
    assert isinstance(load_model(folder).als_.item_factors_, np.memmap)  # saved over


def test_ease_similar_on_an_unmodelled_movie_ranks_by_co_rating_cosine():
    """A movie outside EASE's modelled set falls back to co-raters / √(n·n′), brute-forced here."""
    rng = np.random.default_rng(3)
    rows = [(u, m, 4.0) for u in range(1, 81) for m in rng.choice(np.arange(1, 41), 12, False)]
    ratings = pd.DataFrame(rows, columns=["userId", "movieId", "rating"])
    model = recommender.models.EASERecommender(max_items=20).fit(ratings)
    counts = ratings["movieId"].value_counts()
    unmodelled = int(model.movie_ids_[np.setdiff1d(np.arange(40), model.modelled_idx_)[0]])
    raters = set(ratings.loc[ratings["movieId"] == unmodelled, "userId"])
    modelled = model.movie_ids_[model.modelled_idx_]
    cosine = {
        int(m): len(raters & set(ratings.loc[ratings["movieId"] == m, "userId"]))
        / np.sqrt(counts[m] * len(raters))
        for m in modelled
    }
    scores = model.similarity_scores(model.vocabulary_.movie_index(unmodelled))
    assert np.allclose(scores[model.modelled_idx_], [cosine[int(m)] for m in modelled])
    assert np.isneginf(np.delete(scores, model.modelled_idx_)).all()


@pytest.mark.parametrize("algorithm", ["als", "nmf"])
def test_refitting_a_model_drops_what_it_derived_from_the_old_fit(groups, algorithm):
    ratings, movies = groups
    other = two_taste_groups(seed=7)[0]
    model = train(ratings, algorithm, movies=movies, random_state=0)
    model.similar(1), model.recommend({1: 5.0})  # builds the cached column copies
    model.fit(other, movies)
    fresh = train(other, algorithm, movies=movies, random_state=0)
    pd.testing.assert_frame_equal(model.similar(1), fresh.similar(1))
    pd.testing.assert_frame_equal(model.recommend({1: 5.0}), fresh.recommend({1: 5.0}))
