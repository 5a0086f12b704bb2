"""Property tests: random ids, ratings, filters and manifests over the public model API.

Each call either works or raises one of the project's own errors (ValueError and its
subclasses such as ModelFileError, UnknownMovieError, UnknownUserError), never anything else.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recommender import ALGORITHMS, ModelFileError, UnknownMovieError, load_model, train
from recommender.explain import because, explain
from recommender.models import UnknownUserError
from tests.conftest import two_taste_groups

OWN_ERRORS = (ValueError, UnknownMovieError, UnknownUserError)  # ModelFileError is a ValueError
FAST = settings(max_examples=100, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])

known = st.sampled_from([1, 2, 3, 101, 102, 120])
ids = st.one_of(
    known,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=2**31 - 2, max_value=2**32 + 2),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    known.map(np.int64),
    known.map(float),
)
stars = st.one_of(
    st.sampled_from([0.5, 1.0, 3.5, 5.0]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=3),
    st.none(),
    st.booleans(),
)
ratings = st.dictionaries(ids, stars, max_size=6)
counts = st.one_of(
    st.integers(min_value=-3, max_value=2**70), st.floats(), st.booleans(), st.none(),
    st.text(max_size=2),
)
anything = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.floats(),
    st.text(max_size=4), st.lists(ids, max_size=3), st.tuples(ids, ids),
)
filters = st.fixed_dictionaries({}, optional={
    "exclude": st.one_of(st.lists(ids, max_size=4), anything),
    "years": st.one_of(st.tuples(st.integers(1900, 2030), st.integers(1900, 2030)), anything),
    "genres": st.one_of(st.lists(st.sampled_from(["Comedy", "Horror", "Nope"]), max_size=2),
                        anything),
    "min_ratings": st.one_of(st.integers(0, 50), anything),
})


@pytest.fixture(scope="module")
def fitted():
    ratings_frame, movies = two_taste_groups()
    return {name: train(ratings_frame, name, movies=movies) for name in ALGORITHMS}


def _works_or_own_error(call) -> None:
    try:
        result = call()
    except OWN_ERRORS:
        return
    if isinstance(result, pd.DataFrame):
        assert list(result.columns)[0] == "movieId"


@pytest.mark.parametrize("algorithm", ["hybrid", "biased-mf", "popularity"])
def test_recommend_with_random_ratings_n_and_filters(fitted, algorithm):
    model = fitted[algorithm]

    @FAST
    @given(ratings, counts, filters)
    def check(profile, n, chosen):
        _works_or_own_error(lambda: model.recommend(profile, n=n, **chosen))

    check()


@pytest.mark.parametrize("algorithm", ["ease", "als", "nmf"])
def test_similar_explain_because_with_random_ids(fitted, algorithm):
    model = fitted[algorithm]

    @FAST
    @given(ids, ratings, st.lists(ids, max_size=4), counts, filters)
    def check(movie, profile, picks, n, chosen):
        _works_or_own_error(lambda: model.similar(movie, n=n, **chosen))
        _works_or_own_error(lambda: explain(model, profile, movie, n=n))
        _works_or_own_error(lambda: because(model, profile, picks))
        _works_or_own_error(lambda: model.known_movies(picks))

    check()


def test_recommend_for_user_and_scores_with_random_input(fitted):
    model = fitted["als"]

    @FAST
    @given(ids, counts, filters, st.lists(ratings, max_size=3))
    def check(user, n, chosen, profiles):
        _works_or_own_error(lambda: model.recommend_for_user(user, n=n, **chosen))
        _works_or_own_error(lambda: model.scores(profiles))

    check()


def test_recommendations_of_valid_input_respect_the_filters(fitted):
    model = fitted["hybrid"]

    @FAST
    @given(st.dictionaries(known, st.sampled_from([0.5, 3.0, 5.0]), max_size=4),
           st.integers(0, 60), st.lists(known, max_size=3))
    def check(profile, n, exclude):
        picks = model.recommend(profile, n=n, exclude=exclude)
        assert len(picks) <= n
        assert not set(picks["movieId"]) & (set(exclude) | set(profile))

    check()


# --- random manifests ---------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)


@pytest.fixture(scope="module")
def saved_hybrid(tmp_path_factory):
    ratings_frame, movies = two_taste_groups()
    model = train(ratings_frame, "hybrid", movies=movies, als__factors=4, als__iterations=2)
    return model.save(tmp_path_factory.mktemp("saved") / "hybrid")


@pytest.mark.parametrize("part", ["", "ease", "als"])
def test_load_model_with_random_manifest_fields(saved_hybrid, part):
    manifest = json.loads((saved_hybrid / part / "model.json").read_text())
    paths = [(key,) for key in manifest] + [
        (key, sub) for key, value in manifest.items() if isinstance(value, dict) for sub in value
    ]

    @settings(max_examples=60, deadline=None)
    @given(st.sampled_from(paths), st.one_of(json_values, st.just("drop")))
    def check(path, value):
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(shutil.copytree(saved_hybrid, Path(scratch) / "m"))
            edited = json.loads((folder / part / "model.json").read_text())
            target = edited
            for key in path[:-1]:
                target = target[key]
            if value == "drop":
                del target[path[-1]]
            else:
                target[path[-1]] = value
            (folder / part / "model.json").write_text(json.dumps(edited))
            try:
                model = load_model(folder)
            except ModelFileError:
                return
            model.recommend({1: 5.0}, n=3)  # a model that loads must answer

    check()


def test_load_model_with_random_arrays_under_valid_checksums(saved_hybrid):
    import hashlib

    names = ["ease/weights_", "ease/modelled_idx_", "als/item_factors_", "als/user_factors_",
             "movie_ids_", "user_items_indptr_", "user_items_data_", "n_ratings_"]
    arrays = st.one_of(
        st.integers(0, 3).flatmap(lambda ndim: st.tuples(*[st.integers(0, 45)] * ndim)).map(
            lambda shape: np.ones(shape, np.float32)),
        st.integers(0, 45).map(lambda n: np.arange(n, dtype=np.int32)),
        st.integers(0, 45).map(lambda n: np.arange(n, dtype=np.int64) * 1000 - 7),
        st.just(np.array(["a", "b"])),
    )

    @settings(max_examples=60, deadline=None)
    @given(st.sampled_from(names), arrays)
    def check(name, value):
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(shutil.copytree(saved_hybrid, Path(scratch) / "m"))
            part, _, array = name.rpartition("/")
            manifest_file = folder / part / "model.json"
            manifest = json.loads(manifest_file.read_text())
            file = folder / part / manifest["arrays"][array]["file"]
            np.save(file, value, allow_pickle=False)
            manifest["arrays"][array]["sha256"] = hashlib.sha256(file.read_bytes()).hexdigest()
            manifest_file.write_text(json.dumps(manifest))
            try:
                model = load_model(folder)
            except ModelFileError:
                return
            model.recommend({1: 5.0, 101: 1.0}, n=3)
            model.similar(2, n=3)

    check()


@FAST
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(1, 20_000), n=st.integers(1, 60))
def test_the_top_n_selection_finds_the_n_smallest(seed, size, n):
    from recommender.models.ranking import smallest

    rng = np.random.default_rng(seed)
    # Scores with ties and excluded movies (+inf), as _top_n hands them over.
    order = rng.choice([-2.0, 0.0, 1.0, np.inf], size).astype(np.float32)
    plain = rng.random(size) < rng.random()
    order[plain] = rng.normal(size=int(plain.sum()))
    n = min(n, size)
    chosen = smallest(order, n)
    assert len(np.unique(chosen)) == n
    np.testing.assert_array_equal(np.sort(order[chosen]), np.sort(order)[:n])


def test_the_top_n_selection_survives_nan():
    from recommender.models.ranking import smallest

    order = np.full(2000, np.nan, dtype=np.float32)
    order[::7] = np.arange(len(order[::7]), dtype=np.float32)
    chosen = smallest(order, 5)
    np.testing.assert_array_equal(np.sort(order[chosen]), [0, 1, 2, 3, 4])
