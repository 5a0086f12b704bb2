"""The fast fold-in paths give what the slower, obvious computations give (issue 13 part 1)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from recommender import train
from recommender.evaluation.synthetic import synthetic_movielens
from recommender.explain import contributions
from recommender.models.base import _result
from recommender.models.biased_mf import ridge_one, ridge_rows


@pytest.fixture(scope="module")
def data():
    return synthetic_movielens(30_000, seed=3)


def profiles(model, count: int = 12, size: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    weights = model.n_ratings_ / model.n_ratings_.sum()
    for _ in range(count):
        idx = np.sort(rng.choice(len(model.movie_ids_), size=size, replace=False, p=weights))
        yield idx.astype(np.int32), rng.choice(np.arange(0.5, 5.01, 0.5), size).astype(np.float32)


def sklearn_fold_in(model, idx, stars, **solver) -> np.ndarray:
    """NMF.transform's own fold-in, run to a tight tolerance."""
    from sklearn.decomposition import non_negative_factorization

    row = sp.csr_matrix((stars.astype(np.float64), (np.zeros(len(idx), int), idx)),
                        shape=(1, len(model.movie_ids_)))
    params = model._solver_params() | {"max_iter": 20_000, "tol": 1e-12} | solver
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w, _, _ = non_negative_factorization(
            row, H=np.asarray(model.item_factors_.T, dtype=np.float64),
            n_components=model.item_factors_.shape[1], update_H=False, **params,
        )
    return w[0]


@pytest.mark.parametrize("params", [{}, {"regularization": 0.001, "l1_ratio": 0.5}])
def test_nmf_fold_in_is_transforms_problem_solved_exactly(data, params):
    model = train(data.ratings, "nmf", factors=12, iterations=100, **params)
    for idx, stars in profiles(model):
        fast = model.user_vector(idx, stars)
        reference = sklearn_fold_in(model, idx, stars)
        assert (fast >= 0).all()
        np.testing.assert_allclose(fast, reference, atol=1e-5 * max(reference.max(), 1.0))


def test_nmf_contributions_still_add_up(data):
    model = train(data.ratings, "nmf", factors=12, iterations=100)
    for idx, stars in profiles(model, count=5):
        picks = np.setdiff1d(np.arange(30), idx)  # a rated movie never explains itself
        scores = model.new_user_scores(idx, stars)[picks]
        np.testing.assert_allclose(contributions(model, idx, stars, picks).sum(axis=1), scores,
                                   rtol=1e-4, atol=1e-6)


def test_hybrid_scores_are_the_z_score_blend_of_its_parts(data):
    model = train(data.ratings, "hybrid", als__factors=16, ease__max_items=400)
    for idx, stars in profiles(model, count=20):
        fast = model.new_user_scores(idx, stars)
        ease = model.ease_.new_user_scores(idx, stars)
        blend = model._blend(ease, model.als_.new_user_scores(idx, stars))  # the batch path
        assert np.array_equal(np.isfinite(fast), np.isfinite(blend))
        finite = np.isfinite(blend)
        np.testing.assert_allclose(fast[finite], blend[finite], atol=1e-5)
        top = model._top_n(fast, 10, idx, {})
        pd.testing.assert_frame_equal(top, model._top_n(blend, 10, idx, {}))
    assert model.new_user_scores(np.array([], np.int32), np.array([], np.float32)).shape == (
        len(model.movie_ids_),)


def test_biased_mf_single_row_ridge_is_the_batched_one():
    rng = np.random.default_rng(1)
    for n in (0, 3, 8, 20):  # dual form below d = 8 features, primal from there
        features, targets = rng.normal(size=(n, 8)), rng.normal(size=n)
        penalty = rng.uniform(0.5, 2.0, size=8)
        batched = ridge_rows(np.array([0, n]), np.arange(n), targets, features, penalty[None, :])
        np.testing.assert_allclose(ridge_one(features, targets, penalty), batched[0], atol=1e-12)


def test_biased_mf_co_rating_counts_follow_the_definition(data):
    model = train(data.ratings, "biased-mf", factors=8, iterations=3)
    rated = (model.vocabulary_.user_items.toarray() != 0).astype(np.int64)
    for idx, _ in profiles(model, count=4):
        expected = rated.T @ rated[:, idx].sum(axis=1)  # Σ over raters of their overlap
        np.testing.assert_array_equal(model._co_rating_counts(idx), expected)


def test_the_result_frame_is_the_ordinary_one():
    ids, scores = np.array([5, 3], np.int32), np.array([0.5, 0.25], np.float32)
    expected = pd.DataFrame({"movieId": ids, "score": scores})
    pd.testing.assert_frame_equal(_result(ids, scores), expected)
    pd.testing.assert_frame_equal(_result(ids[:0], scores[:0]), expected.iloc[:0])
