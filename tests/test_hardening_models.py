"""Hostile input to the model API and the model folder: each case gets the project's own error.

Ids, ``n``, filters and hyperparameters of every public entry point; then a damaged model
folder (truncated, flipped, swapped, reshaped with valid checksums, symlinked, manifest fields
missing or mistyped), which must be a :class:`ModelFileError` and make ``load_or_train``
retrain with a warning.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender import ALGORITHMS, ModelFileError, UnknownMovieError, load_model, train
from recommender.explain import because, explain
from recommender.models import UnknownUserError, load_or_train, make
from tests.conftest import two_taste_groups

BAD_IDS = [1.7, 1.0, "1", True, np.float64(3.0), None, 2**70, -1, 0, 2**31, 2**32 + 1]
BAD_COUNTS = [True, 2.5, 10.0, "10", None, -1, np.float32(3)]
BAD_FILTERS = [
    {"exclude": 5}, {"exclude": "12"}, {"exclude": [1.7]}, {"exclude": [2**70]},
    {"exclude": [True]}, {"exclude": {1.5: 2}},
    {"years": 1995}, {"years": "ab"}, {"years": (1990,)}, {"years": ("a", "b")},
    {"years": (1990, float("nan"))}, {"years": {"a": 1, "b": 2}},
    {"genres": 5}, {"genres": [5]}, {"genres": ["Nope"]}, {"genres": {"Drama": 1}},
    {"min_ratings": "3"}, {"min_ratings": True}, {"min_ratings": float("nan")},
    {"min_ratings": [3]},
]


@pytest.fixture(scope="module")
def groups():
    return two_taste_groups()


@pytest.fixture(scope="module")
def fitted(groups):
    ratings, movies = groups
    return {name: train(ratings, name, movies=movies) for name in ALGORITHMS}


# --- ids, n and filters -----------------------------------------------------------------------


@pytest.mark.parametrize("bad", BAD_IDS, ids=repr)
def test_every_query_refuses_what_is_no_movie_id(fitted, bad):
    model = fitted["als"]
    with pytest.raises(ValueError, match="movieId"):
        model.recommend({bad: 4.0})
    with pytest.raises(ValueError, match="movieId"):
        model.similar(bad)
    with pytest.raises(ValueError, match="movieId"):
        explain(model, {1: 5.0}, bad)
    with pytest.raises(ValueError, match="movieId"):
        because(model, {1: 5.0}, [2, bad])
    with pytest.raises(ValueError, match="movieId"):
        model.known_movies([1, bad])
    with pytest.raises(ValueError, match="movieId"):
        model.recommend({1: 5.0}, exclude=[bad])


def test_a_float_key_is_never_read_as_another_movie(fitted):
    model = fitted["ease"]
    with pytest.raises(ValueError, match="1.7"):
        model.recommend({1.7: 5.0})
    assert model.known_movies(np.array([1, 2, 999], dtype=np.uint64)).tolist() == [
        True, True, False
    ]


@pytest.mark.parametrize("bad", [1.5, "3", True, 2**70, -1, None], ids=repr)
def test_user_ids_are_checked(fitted, bad):
    with pytest.raises(ValueError, match="userId"):
        fitted["als"].recommend_for_user(bad)
    with pytest.raises(UnknownUserError):
        fitted["als"].recommend_for_user(10**6)


@pytest.mark.parametrize("bad", BAD_COUNTS, ids=repr)
def test_n_must_be_a_whole_number(fitted, bad):
    model = fitted["popularity"]
    for query in (
        lambda: model.recommend({1: 5.0}, n=bad),
        lambda: model.similar(1, n=bad),
        lambda: model.recommend_for_user(int(model.user_ids_[0]), n=bad),
        lambda: explain(model, {1: 5.0}, 2, n=bad),
    ):
        with pytest.raises(ValueError, match="n must be"):
            query()


def test_a_huge_n_means_all(fitted):
    model = fitted["nmf"]
    picks = model.recommend({1: 5.0}, n=2**70)
    assert len(picks) == len(model.movie_ids_) - 1
    assert len(model.similar(1, n=np.int64(2**40))) == len(model.movie_ids_) - 1


@pytest.mark.parametrize("filters", BAD_FILTERS, ids=repr)
@pytest.mark.parametrize("algorithm", ["popularity", "hybrid"])
def test_bad_filter_values_are_refused(fitted, algorithm, filters):
    model = fitted[algorithm]
    name = next(iter(filters))
    with pytest.raises(ValueError, match=name if name != "genres" else "genre"):
        model.recommend({1: 5.0}, **filters)
    with pytest.raises(ValueError):
        model.similar(1, **filters)


def test_good_filters_still_work(fitted):
    model = fitted["ease"]
    picks = model.recommend({1: 5.0}, n=50, exclude=np.array([2, 3]), years=[1990, 2000.5],
                            min_ratings=np.int32(1), genres=("Horror", "Comedy"))
    assert not {2, 3} & set(picks["movieId"])


def test_profiles_and_scores_refuse_non_mappings(fitted):
    model = fitted["biased-mf"]
    for bad in ([(1, 5.0)], 5, "1=5"):
        with pytest.raises(ValueError, match="mapping"):
            model.recommend(bad)
    for bad in ({1: 5.0}, 5, "x"):
        with pytest.raises(ValueError, match="profiles"):
            model.scores(bad)
    with pytest.raises(ValueError, match="movieId"):
        model.predict_ratings({1: 5.0}, [1, 2.5])


# --- training data and hyperparameters --------------------------------------------------


@pytest.mark.parametrize("movie_id", [2**31, 2**32 + 1, 2**63, -5, 1.5, "x", np.nan])
def test_training_ids_beyond_int32_or_not_numbers_are_refused(groups, movie_id):
    ratings, _ = groups
    bad = ratings.astype({"movieId": object})
    bad.loc[3, "movieId"] = movie_id
    with pytest.raises(ValueError, match="row 3|non-numeric"):
        train(bad, "popularity")


@pytest.mark.parametrize(
    ("algorithm", "params", "match"),
    [
        ("als", {"factors": "abc"}, "factors='abc' is not an integer"),
        ("als", {"factors": float("inf")}, "factors=inf"),
        ("als", {"factors": True}, "factors=True"),
        ("als", {"regularization": float("nan")}, "regularization"),
        ("als", {"use_gpu": 1}, "use_gpu"),
        ("als", {"neutral": "3"}, "neutral"),
        ("ease", {"max_items": 2.5}, "max_items"),
        ("hybrid", {"ease__regularization": "x"}, "regularization"),
        ("hybrid", {"ease": 3}, "ease=3"),
        ("als", {"colour": 1}, "no hyperparameter 'colour'"),
    ],
)
def test_hyperparameters_of_the_wrong_type_are_refused(algorithm, params, match):
    with pytest.raises(ValueError, match=match):
        make(algorithm, **params)


def test_fit_checks_hyperparameters_set_by_hand(groups):
    model = ALGORITHMS["als"](factors="8")
    with pytest.raises(ValueError, match="factors"):
        model.fit(groups[0])
    assert make("als", neutral=None, regularization=1).hyperparameters()["regularization"] == 1


# --- the model folder: fault injection ---------------------------------------------------


def _rewrite(folder: Path, name: str, value: np.ndarray) -> None:
    """Replace an array and update its checksum, as a careful attacker would."""
    manifest = json.loads((folder / "model.json").read_text())
    file = folder / manifest["arrays"][name]["file"]
    np.save(file, value, allow_pickle=False)
    manifest["arrays"][name]["sha256"] = hashlib.sha256(file.read_bytes()).hexdigest()
    (folder / "model.json").write_text(json.dumps(manifest))


def _edit_manifest(folder: Path, edit) -> None:
    manifest = json.loads((folder / "model.json").read_text())
    edit(manifest)
    (folder / "model.json").write_text(json.dumps(manifest))


def _truncate(folder: Path) -> None:
    file = folder / "item_factors.npy"
    file.write_bytes(file.read_bytes()[:100])


def _flip(folder: Path) -> None:
    file = folder / "item_factors.npy"
    data = bytearray(file.read_bytes())
    data[-5] ^= 0xFF
    file.write_bytes(bytes(data))


def _swap(folder: Path) -> None:
    users, items = np.load(folder / "user_factors.npy"), np.load(folder / "item_factors.npy")
    _rewrite(folder, "user_factors_", items)
    _rewrite(folder, "item_factors_", users)


def _symlink(folder: Path) -> None:
    outside = folder.parent.parent / "outside.npy"
    shutil.copy(folder / "item_factors.npy", outside)
    (folder / "item_factors.npy").unlink()
    (folder / "item_factors.npy").symlink_to(outside)


FAULTS = {
    "truncated": _truncate,
    "flipped byte": _flip,
    "swapped arrays": _swap,
    "wrong factor count": lambda f: _rewrite(f, "item_factors_", np.zeros((40, 3), np.float32)),
    "one movie too few": lambda f: _rewrite(f, "item_factors_", np.zeros((39, 8), np.float32)),
    "1-d factors": lambda f: _rewrite(f, "item_factors_", np.zeros(40, np.float32)),
    "factors as ints": lambda f: _rewrite(f, "item_factors_", np.zeros((40, 8), np.int32)),
    "factors as text": lambda f: _rewrite(f, "item_factors_", np.full((40, 8), "a")),
    "unsorted movie ids": lambda f: _rewrite(f, "movie_ids_", np.arange(40, 0, -1, np.int32)),
    "movie ids as floats": lambda f: _rewrite(f, "movie_ids_", np.arange(1, 41, dtype=float)),
    "row pointer too short": lambda f: _rewrite(
        f, "user_items_indptr_", np.zeros(3, np.int64)),
    "stars out of the rule": lambda f: _rewrite(
        f, "user_items_data_", np.full(len(np.load(f / "user_items_data.npy")), 7, np.float32)),
    "column out of range": lambda f: _rewrite(
        f, "user_items_indices_", np.full(len(np.load(f / "user_items_indices.npy")), 99,
                                          np.int32)),
    "array symlinked outside": _symlink,
    "model.json symlinked": lambda f: (
        shutil.move(f / "model.json", f.parent.parent / "m.json"),
        (f / "model.json").symlink_to(f.parent.parent / "m.json")),
    "no fingerprint": lambda f: _edit_manifest(f, lambda m: m.pop("fingerprint")),
    "no algorithm": lambda f: _edit_manifest(f, lambda m: m.pop("algorithm")),
    "no arrays": lambda f: _edit_manifest(f, lambda m: m.pop("arrays")),
    "array entry without file": lambda f: _edit_manifest(
        f, lambda m: m["arrays"]["item_factors_"].pop("file")),
    "algorithm is a list": lambda f: _edit_manifest(f, lambda m: m.update(algorithm=["als"])),
    "hyperparameters a list": lambda f: _edit_manifest(f, lambda m: m.update(hyperparameters=[])),
    "factors a string": lambda f: _edit_manifest(
        f, lambda m: m["hyperparameters"].update(factors="8")),
    "genres a string": lambda f: _edit_manifest(f, lambda m: m.update(genres="Drama")),
    "fingerprint a number": lambda f: _edit_manifest(f, lambda m: m.update(fingerprint=3)),
    "arrays a list": lambda f: _edit_manifest(f, lambda m: m.update(arrays=[1])),
    "array entry a string": lambda f: _edit_manifest(
        f, lambda m: m["arrays"].update(item_factors_="x")),
    "sha256 a number": lambda f: _edit_manifest(
        f, lambda m: m["arrays"]["item_factors_"].update(sha256=1)),
    "format version a string": lambda f: _edit_manifest(f, lambda m: m.update(format_version="1")),
    "manifest a list": lambda f: (f / "model.json").write_text("[1, 2]"),
    "manifest not utf-8": lambda f: (f / "model.json").write_bytes(b"\xff\xfe{"),
    "manifest deeply nested": lambda f: (f / "model.json").write_text("[" * 100_000),
    "manifest is a folder": lambda f: ((f / "model.json").unlink(), (f / "model.json").mkdir()),
    "parts a string": lambda f: _edit_manifest(f, lambda m: m.update(parts="ease")),
}


@pytest.fixture(scope="module")
def tiny_ratings():
    rng = np.random.default_rng(0)
    users, movies = np.meshgrid(np.arange(30), np.arange(1, 41))
    keep = rng.random(users.size) < 0.5
    return pd.DataFrame({
        "userId": users.ravel()[keep], "movieId": movies.ravel()[keep],
        "rating": rng.integers(1, 11, keep.sum()) / 2,
    })


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_damaged_folder_is_a_model_file_error_and_load_or_train_retrains(
    tiny_ratings, tmp_path, caplog, fault
):
    params = {"factors": 8, "iterations": 2}
    model = load_or_train(tiny_ratings, "als", cache_dir=tmp_path, **params)
    (folder,) = (tmp_path / "models").iterdir()
    assert load_model(folder).recommend({1: 5.0}, n=3).equals(model.recommend({1: 5.0}, n=3))
    FAULTS[fault](folder)
    with pytest.raises(ModelFileError):
        load_model(folder)
    with caplog.at_level(logging.WARNING):
        again = load_or_train(tiny_ratings, "als", cache_dir=tmp_path, **params)
    assert "Retraining als" in caplog.text
    assert again.recommend({1: 5.0}, n=3).equals(model.recommend({1: 5.0}, n=3))
    load_model(folder)  # the retrained model replaced the damaged one, no staging left
    assert [p.name for p in (tmp_path / "models").iterdir()] == [folder.name]


def test_a_symlink_is_never_followed_when_a_damaged_model_is_replaced(tiny_ratings, tmp_path):
    load_or_train(tiny_ratings, "popularity", cache_dir=tmp_path)
    (folder,) = (tmp_path / "models").iterdir()
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "model.json").write_text("{}")
    (precious / "keep.npy").write_bytes(b"x")
    (folder / "sub").symlink_to(precious)
    _edit_manifest(folder, lambda m: m.update(fingerprint=3))
    load_or_train(tiny_ratings, "popularity", cache_dir=tmp_path)
    assert sorted(p.name for p in precious.iterdir()) == ["keep.npy", "model.json"]


@pytest.mark.parametrize("part_fault", ["swap ease weights", "ease index out of range"])
def test_a_composite_models_parts_are_checked_against_the_shared_vocabulary(
    tiny_ratings, tmp_path, part_fault
):
    folder = train(tiny_ratings, "hybrid", als__factors=4, als__iterations=2).save(
        tmp_path / "hybrid")
    if part_fault == "swap ease weights":
        _rewrite(folder / "ease", "weights_", np.zeros((3, 3), np.float32))
    else:
        modelled = np.load(folder / "ease" / "modelled_idx.npy")
        _rewrite(folder / "ease", "modelled_idx_", modelled + 1000)
    with pytest.raises(ModelFileError, match="ease"):
        load_model(folder)


@pytest.mark.parametrize("path", ["missing", "file", "empty"])
def test_load_model_on_what_is_no_model_folder(tmp_path, path):
    target = tmp_path / path
    if path == "file":
        target.write_text("x")
    elif path == "empty":
        target.mkdir()
    with pytest.raises(ModelFileError):
        load_model(target)
    with pytest.raises(ModelFileError):
        load_model(target / "below")


def test_the_error_names_the_array_and_the_expected_shape(tiny_ratings, tmp_path):
    folder = train(tiny_ratings, "biased-mf", factors=3, iterations=1).save(tmp_path / "m")
    _rewrite(folder, "item_biases_", np.zeros(7, np.float32))
    with pytest.raises(ModelFileError, match=r"item_biases_ has shape \(7,\).*should be 40"):
        load_model(folder)


def test_every_built_in_family_declares_the_shape_of_each_learned_array():
    for cls in ALGORITHMS.values():
        assert set(cls.array_specs) == set(cls.learned_arrays), cls.__name__


def test_unknown_movie_is_still_its_own_error(fitted):
    with pytest.raises(UnknownMovieError):
        fitted["als"].similar(999_999)
