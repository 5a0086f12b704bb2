"""Offline evaluation of recommenders for new users (``python -m recommender evaluate``).

Users are split into folds with a fixed seed; each fold in turn is held out and every model is
trained on the other users only, so a held-out user is always a *new* user, folded in through
the same path the app uses. Two protocols score the held-out users:

* **Strong generalization** (Liang et al. 2018, "Variational Autoencoders for Collaborative
  Filtering"; Steck 2019). Positives are ratings ≥ 4. A user with at least 5 positives folds in
  a random 80 % of them (with their stars); the other 20 % are the targets, ranked against the
  rest of the catalogue. Recall@20, Recall@50 (hits / min(k, targets)) and NDCG@100
  (normalised by the ideal DCG of min(100, targets) hits).
* **Onboarding** (what the app's first screen asks for). A user with at least 15 ratings gives
  10 random ratings with their stars, low ones included; the targets are their other movies
  rated ≥ 4. Recall@10 and NDCG@10, normalised the same way.

The catalogue of a fold is every movie rated by a training user; held-out ratings of other
movies are dropped first (no model can know them), as in Liang et al.'s pre-processing. Each
metric is a mean over users with a 95 % confidence interval (± 1.96 · std / √n). Also reported,
on the onboarding lists: catalogue coverage of everyone's top-10 (mean over folds), the mean
popularity (training ratings) of recommended movies, median fit time over folds and the median
latency of one public ``recommend`` call (10 ratings in, top-10 out).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.evaluation.metrics import METRICS, hit_matrix, mean_ci, ndcg_at_k, recall_at_k
from recommender.models import Recommender

POSITIVE = 4.0
SG_MIN_POSITIVES = 5
SG_FOLD_IN_SHARE = 0.8
ONBOARDING_GIVEN = 10
ONBOARDING_MIN_RATINGS = 15
LATENCY_USERS_PER_FOLD = 40

ModelFactory = Callable[[pd.DataFrame], Any]


# --- splits --------------------------------------------------------------------------------


def user_folds(user_ids: np.ndarray, folds: int, seed: int) -> pd.Series:
    """Fold number (0..folds-1) of every distinct user, from a seeded shuffle of sorted ids."""
    if folds < 2:
        raise ValueError(f"folds must be >= 2, got {folds}")
    users = np.unique(np.asarray(user_ids))
    if len(users) < folds:
        raise ValueError(f"{len(users)} users cannot be split into {folds} folds")
    order = np.random.default_rng(seed).permutation(len(users))
    fold = np.empty(len(users), dtype=np.int64)
    fold[order] = np.arange(len(users)) % folds
    return pd.Series(fold, index=pd.Index(users, name="userId"), name="fold")


@dataclass(frozen=True)
class HeldOut:
    """Held-out users of one protocol: what they tell the model, and what it should find.

    Both matrices are users × catalogue (the fold's training movies); ``fold_in`` holds stars.
    """

    user_ids: np.ndarray
    fold_in: sp.csr_matrix
    targets: sp.csr_matrix

    @property
    def n_targets(self) -> np.ndarray:
        return np.diff(self.targets.indptr)


def strong_generalization_split(
    test: pd.DataFrame, catalogue: np.ndarray, rng: np.random.Generator
) -> HeldOut:
    """Fold in 80 % of each user's positives; the other 20 % (at least one) are targets."""
    liked = test[test["rating"] >= POSITIVE]

    def split(movie_idx: np.ndarray, stars: np.ndarray):
        if len(movie_idx) < SG_MIN_POSITIVES:
            return None
        order = rng.permutation(len(movie_idx))
        n_targets = max(1, int(round((1 - SG_FOLD_IN_SHARE) * len(movie_idx))))
        given, target = order[n_targets:], order[:n_targets]
        return movie_idx[given], stars[given], movie_idx[target]

    return _held_out(liked, catalogue, split)


def onboarding_split(
    test: pd.DataFrame, catalogue: np.ndarray, rng: np.random.Generator
) -> HeldOut:
    """Fold in 10 random ratings (any stars); targets are the user's other ratings ≥ 4."""

    def split(movie_idx: np.ndarray, stars: np.ndarray):
        if len(movie_idx) < ONBOARDING_MIN_RATINGS:
            return None
        order = rng.permutation(len(movie_idx))
        given, rest = order[:ONBOARDING_GIVEN], order[ONBOARDING_GIVEN:]
        target = rest[stars[rest] >= POSITIVE]
        if not len(target):
            return None
        return movie_idx[given], stars[given], movie_idx[target]

    return _held_out(test, catalogue, split)


def _held_out(ratings: pd.DataFrame, catalogue: np.ndarray, split: Callable) -> HeldOut:
    ratings = ratings[np.isin(ratings["movieId"].to_numpy(), catalogue)]
    ratings = ratings.sort_values(["userId", "movieId"], kind="stable")
    users = ratings["userId"].to_numpy()
    movie_idx = np.searchsorted(catalogue, ratings["movieId"].to_numpy())
    stars = ratings["rating"].to_numpy(dtype=np.float32)
    bounds = np.flatnonzero(np.r_[True, users[1:] != users[:-1], True])
    kept, given_rows, target_rows = [], [], []
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        parts = split(movie_idx[start:end], stars[start:end])
        if parts is None:
            continue
        kept.append(users[start])
        given_rows.append(parts[:2])
        target_rows.append(parts[2])
    shape = (len(kept), len(catalogue))
    fold_in = _csr([m for m, _ in given_rows], [s for _, s in given_rows], shape)
    targets = _csr(target_rows, [np.ones(len(t), np.float32) for t in target_rows], shape)
    return HeldOut(np.asarray(kept, dtype=np.int64), fold_in, targets)


def _csr(columns: list[np.ndarray], values: list[np.ndarray], shape) -> sp.csr_matrix:
    indptr = np.r_[0, np.cumsum([len(c) for c in columns])].astype(np.int64)
    indices = np.concatenate(columns) if columns else np.array([], np.int64)
    data = np.concatenate(values) if values else np.array([], np.float32)
    matrix = sp.csr_matrix((data.astype(np.float32), indices, indptr), shape=shape)
    matrix.sort_indices()
    return matrix


# --- scoring ---------------------------------------------------------------------------


def ranked_movies(
    model: Recommender, fold_in: sp.csr_matrix, catalogue: np.ndarray, k: int
) -> np.ndarray:
    """Top-k catalogue indices per row of ``fold_in`` (stars), rated movies excluded.

    Scores come from the model's public batch method ``scores``: the same scores ``recommend``
    ranks, without building DataFrames. A slot is −1 where fewer than k movies have a finite
    score (``recommend`` would return a shorter list: −inf marks a movie the model never
    recommends).
    """
    model_ids = np.asarray(model.movie_ids_)
    pos = np.searchsorted(model_ids, catalogue).clip(0, len(model_ids) - 1)
    known = model_ids[pos] == catalogue
    k = min(k, len(catalogue))
    ranked = np.empty((fold_in.shape[0], k), dtype=np.int64)
    for start in range(0, fold_in.shape[0], 256):
        given = fold_in[start : start + 256]
        profiles = [
            dict(zip(catalogue[row.indices].tolist(), row.data.tolist(), strict=True))
            for row in given
        ]
        scores_model = model.scores(profiles)
        scores = np.full((given.shape[0], len(catalogue)), -np.inf, dtype=np.float32)
        scores[:, known] = scores_model[:, pos[known]]
        scores[np.isnan(scores)] = -np.inf
        scores[given.nonzero()] = -np.inf
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        top[~np.isfinite(np.take_along_axis(top_scores, order, axis=1))] = -1
        ranked[start : start + given.shape[0]] = top
    return ranked


# --- the experiment ----------------------------------------------------------------------


@dataclass
class _Tally:
    per_user: dict[str, list[np.ndarray]]
    fit_s: list[float]
    latency_ms: list[float]
    coverage: list[float]
    popularity: list[float]


def evaluate(
    ratings: pd.DataFrame,
    models: Mapping[str, ModelFactory],
    folds: int = 5,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    latency_users: int = LATENCY_USERS_PER_FOLD,
    per_user: dict[str, dict[str, np.ndarray]] | None = None,
) -> pd.DataFrame:
    """Cross-validate ``models`` (name -> function from training ratings to a fitted model).

    Returns one row per model: each metric's mean and ``<metric>_ci`` (95 % half-width), the
    number of users per protocol, ``fit_s`` (median over folds), ``latency_ms`` (median) and
    ``latency_p95_ms`` of ``recommend``, ``coverage@10`` and ``popularity@10``. Pass a dict as
    ``per_user`` to receive every user's values (model -> metric -> array, folds in order).
    """
    say = progress or (lambda _message: None)
    fold_of = user_folds(ratings["userId"].to_numpy(), folds, seed)
    user_fold = fold_of.reindex(ratings["userId"].to_numpy()).to_numpy()
    tallies = {name: _Tally({m: [] for m in METRICS}, [], [], [], []) for name in models}
    counts = {"sg": 0, "onboarding": 0}
    for fold in range(folds):
        train = ratings[user_fold != fold].reset_index(drop=True)
        test = ratings[user_fold == fold]
        catalogue = np.unique(train["movieId"].to_numpy())
        n_train = np.bincount(
            np.searchsorted(catalogue, train["movieId"].to_numpy()), minlength=len(catalogue)
        )
        # Each protocol draws from its own stream, so the splits never depend on the models.
        held = {
            "sg": strong_generalization_split(test, catalogue, _rng(seed, fold, 1)),
            "onboarding": onboarding_split(test, catalogue, _rng(seed, fold, 2)),
        }
        for protocol, data in held.items():
            counts[protocol] += len(data.user_ids)
        for name, factory in models.items():
            tally = tallies[name]
            start = time.perf_counter()
            model = factory(train)
            tally.fit_s.append(time.perf_counter() - start)
            top = {}
            for protocol, data in held.items():
                k = max(k for p, _, k in METRICS.values() if p == protocol)
                top[protocol] = ranked_movies(model, data.fold_in, catalogue, k)
                hits = hit_matrix(top[protocol], data.targets)
                for metric, (p, kind, k_metric) in METRICS.items():
                    if p == protocol:
                        measure = recall_at_k if kind == "recall" else ndcg_at_k
                        tally.per_user[metric].append(measure(hits, data.n_targets, k_metric))
            top10 = top["onboarding"][:, :10]
            top10 = top10[top10 >= 0]
            tally.coverage.append(len(np.unique(top10)) / len(catalogue))
            tally.popularity.append(float(n_train[top10].mean()) if len(top10) else math.nan)
            tally.latency_ms.extend(_latencies(model, held["onboarding"], catalogue, latency_users))
            say(f"fold {fold + 1}/{folds} {name}: fit {tally.fit_s[-1]:.2f} s")
    return _summarise(tallies, counts, folds, seed, per_user)


def _rng(seed: int, fold: int, protocol: int) -> np.random.Generator:
    return np.random.default_rng([seed, fold, protocol])


def _latencies(model: Recommender, data: HeldOut, catalogue: np.ndarray, users: int) -> list[float]:
    """Milliseconds of one public ``recommend(ratings, n=10)`` call per user."""
    if not hasattr(model, "recommend") or users <= 0:
        return []
    profiles = []
    for i in range(min(users, data.fold_in.shape[0])):
        row = data.fold_in[i]
        profiles.append(dict(zip(catalogue[row.indices].tolist(), row.data.tolist(), strict=True)))
    if profiles:
        model.recommend(profiles[0], n=10)  # first call builds lazy caches
    times = []
    for profile in profiles:
        start = time.perf_counter()
        model.recommend(profile, n=10)
        times.append((time.perf_counter() - start) * 1000)
    return times


def _summarise(
    tallies: dict[str, _Tally],
    counts: dict[str, int],
    folds: int,
    seed: int,
    per_user: dict[str, dict[str, np.ndarray]] | None,
) -> pd.DataFrame:
    rows = []
    for name, tally in tallies.items():
        row: dict[str, Any] = {"model": name}
        for metric in METRICS:
            values = np.concatenate(tally.per_user[metric])
            if per_user is not None:
                per_user.setdefault(name, {})[metric] = values
            row[metric], row[f"{metric}_ci"] = mean_ci(values)
        row["sg_users"] = counts["sg"]
        row["onb_users"] = counts["onboarding"]
        row["fit_s"] = float(np.median(tally.fit_s))
        row["latency_ms"] = float(np.median(tally.latency_ms)) if tally.latency_ms else math.nan
        row["latency_p95_ms"] = (
            float(np.percentile(tally.latency_ms, 95)) if tally.latency_ms else math.nan
        )
        row["coverage@10"] = float(np.mean(tally.coverage))
        row["popularity@10"] = float(np.mean(tally.popularity))
        rows.append(row)
    result = pd.DataFrame(rows)
    result.attrs["folds"] = folds
    result.attrs["seed"] = seed
    return result
