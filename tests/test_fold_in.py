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
from recommender.models.biased_mf import ridge_one, ridge_rows
from recommender.models.ranking import result_frame


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
    model = train(data.ratings, "hybrid", movies=data.movies, als__factors=16,
                  ease__max_items=400)
    modelled = model.modelled_idx_
    for idx, stars in profiles(model, count=20):
        fast = model.new_user_scores(idx, stars)
        # The definition, from the parts' own scores and the traits' lift.
        ease = model.ease_.new_user_scores(idx, stars)[modelled]
        als = model.als_.new_user_scores(idx, stars)[modelled]
        taste = model._traits.affinity(idx, stars)  # of the modelled movies
        expected = np.full(len(model.movie_ids_), -np.inf)
        expected[modelled] = (0.5 * (ease - ease.mean()) / ease.std()
                              + 0.5 * (als - als.mean()) / als.std() + taste)
        assert np.array_equal(np.isfinite(fast), np.isfinite(expected))
        finite = np.isfinite(expected)
        np.testing.assert_allclose(fast[finite], expected[finite], atol=1e-5)
        # The batch path (evaluation, groups) ranks the same.
        profile = dict(zip(model.movie_ids_[idx].tolist(), stars.tolist(), strict=True))
        batch = model.scores([profile])[0]
        np.testing.assert_allclose(batch[finite], expected[finite], atol=1e-5)
        top = model._top_n(fast, 10, idx, {})
        pd.testing.assert_frame_equal(top, model._top_n(batch, 10, idx, {}))
    assert model.new_user_scores(np.array([], np.int32), np.array([], np.float32)).shape == (
        len(model.movie_ids_),)


def test_biased_mf_single_row_ridge_is_the_batched_one():
    rng = np.random.default_rng(1)
    for n in (0, 3, 8, 20):  # dual form below d = 8 features, primal from there
        features, targets = rng.normal(size=(n, 8)), rng.normal(size=n)
        penalty = rng.uniform(0.5, 2.0, size=8)
        batched = ridge_rows(np.array([0, n]), np.arange(n), targets, features, penalty[None, :])
        np.testing.assert_allclose(ridge_one(features, targets, penalty), batched[0], atol=1e-12)


def test_biased_mf_co_rating_factors_give_the_co_rating_counts(data):
    rated = None
    for rank, exact_up_to in ((10**6, 1e-3), (64, None)):
        model = train(data.ratings, "biased-mf", factors=8, iterations=3, affinity_rank=rank)
        if rated is None:
            rated = (model.vocabulary_.user_items.toarray() != 0).astype(np.float64)
        factors = np.asarray(model.co_rating_factors_, np.float64)
        for idx, _ in profiles(model, count=4):
            exact = rated.T @ rated[:, idx].sum(axis=1)  # Σ over raters of their overlap
            estimate = factors @ factors[idx].sum(axis=0)
            if exact_up_to:  # full rank (capped at the pattern's size): RᵀR itself
                np.testing.assert_allclose(estimate, exact, atol=exact_up_to * exact.max())
            else:
                assert np.corrcoef(estimate, exact)[0, 1] > 0.99  # rank 8: 0.975 here


def test_the_result_frame_is_the_ordinary_one():
    ids, scores = np.array([5, 3], np.int32), np.array([0.5, 0.25], np.float32)
    expected = pd.DataFrame({"movieId": ids, "score": scores})
    pd.testing.assert_frame_equal(result_frame(ids, scores), expected)
    pd.testing.assert_frame_equal(result_frame(ids[:0], scores[:0]), expected.iloc[:0])


def test_a_concentrated_profile_lifts_its_genre_and_decade():
    """The hybrid's taste term (recommender.models.traits): lift of shares over the base."""
    from recommender.models.traits import MovieTraits

    animation, drama = 1 << 0, 1 << 1
    bits = np.array([animation, drama, drama, drama, animation | drama, 0])
    years = np.array([1995, 1995, 1970, 1970, 1971, 0])
    traits = MovieTraits.of(bits, years, n_ratings=np.array([1, 3, 3, 3, 1, 1]))
    lifted = traits.affinity(np.array([0]), np.array([5.0], np.float32))  # loves one animation
    assert lifted[4] > lifted[2]  # an animation beats a drama of another era
    assert lifted[1] > lifted[2]  # the same decade beats another one
    assert lifted[5] == 0.0  # no genre, no year: nothing to lift
    genre_share, base = 1.0, 2 / 12  # Animation: the profile's share, all ratings' genres
    np.testing.assert_allclose(lifted[0] - lifted[1], np.log1p(genre_share / base), rtol=1e-5)
    batch = traits.batch_affinity(sp.csr_matrix(np.array([[5.0, 0, 0, 0, 0, 0],
                                                         [0, 2.0, 0, 4.0, 0, 0]], np.float32)))
    np.testing.assert_allclose(batch[0], lifted, rtol=1e-6)
    np.testing.assert_allclose(
        batch[1], traits.affinity(np.array([1, 3]), np.array([2.0, 4.0], np.float32)), rtol=1e-6
    )


def test_the_fold_in_solver_solves_and_falls_back_when_not_positive_definite():
    from recommender.models.linalg import solve_positive_definite

    rng = np.random.default_rng(0)
    y = rng.normal(size=(64, 80))
    rhs = rng.normal(size=64)
    for matrix in (y @ y.T + np.eye(64), np.diag(np.r_[-1.0, np.ones(63)])):
        np.testing.assert_allclose(matrix @ solve_positive_definite(matrix, rhs), rhs, atol=1e-8)
