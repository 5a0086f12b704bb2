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

import argparse
import datetime as dt
import json
import math
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.base import Recommender

POSITIVE = 4.0
SG_MIN_POSITIVES = 5
SG_FOLD_IN_SHARE = 0.8
ONBOARDING_GIVEN = 10
ONBOARDING_MIN_RATINGS = 15
LATENCY_USERS_PER_FOLD = 40
Z95 = 1.96

# Metric name -> (protocol, kind, k). The protocol prefix keeps the two apart in tables.
METRICS: dict[str, tuple[str, str, int]] = {
    "sg_recall@20": ("sg", "recall", 20),
    "sg_recall@50": ("sg", "recall", 50),
    "sg_ndcg@100": ("sg", "ndcg", 100),
    "onb_recall@10": ("onboarding", "recall", 10),
    "onb_ndcg@10": ("onboarding", "ndcg", 10),
}

ModelFactory = Callable[[pd.DataFrame], Any]


# --- metrics -------------------------------------------------------------------------------


def recall_at_k(hits: np.ndarray, n_targets: np.ndarray, k: int) -> np.ndarray:
    """Per-user recall@k: hits in the first k / min(k, number of targets).

    ``hits`` is users × (≥ k) booleans, True where the ranked movie is a target.
    """
    hits = np.atleast_2d(np.asarray(hits, dtype=bool))[:, :k]
    denominator = np.minimum(k, np.asarray(n_targets)).astype(np.float64)
    return hits.sum(axis=1) / np.maximum(denominator, 1.0)


def ndcg_at_k(hits: np.ndarray, n_targets: np.ndarray, k: int) -> np.ndarray:
    """Per-user NDCG@k with binary relevance; the ideal ranks min(k, targets) hits first."""
    hits = np.atleast_2d(np.asarray(hits, dtype=bool))[:, :k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits * discounts[: hits.shape[1]]).sum(axis=1)
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])[np.minimum(k, np.asarray(n_targets))]
    return dcg / np.maximum(ideal, 1e-12)


def mean_ci(values: np.ndarray) -> tuple[float, float]:
    """Mean and the half-width of its 95 % normal confidence interval."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return (float(values.mean()) if len(values) else math.nan), math.nan
    return float(values.mean()), float(Z95 * values.std(ddof=1) / math.sqrt(len(values)))


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


def ranked_movies(model: Any, fold_in: sp.csr_matrix, catalogue: np.ndarray, k: int) -> np.ndarray:
    """Top-k catalogue indices per row of ``fold_in`` (stars), rated movies excluded.

    Uses the model's batch hook ``_scores_new_users`` when it has one, else its per-user
    ``_scores_new_user``: the same scores ``recommend`` ranks, without building DataFrames.
    A slot is −1 where fewer than k movies have a finite score (``recommend`` would return a
    shorter list: −inf marks a movie the model never recommends).
    """
    model_ids = np.asarray(model.movie_ids_)
    pos = np.searchsorted(model_ids, catalogue).clip(0, len(model_ids) - 1)
    known = model_ids[pos] == catalogue
    to_model = sp.csr_matrix(
        (np.ones(known.sum()), (np.flatnonzero(known), pos[known])),
        shape=(len(catalogue), len(model_ids)),
    )
    rows = (fold_in @ to_model).tocsr()
    rows.sort_indices()
    k = min(k, len(catalogue))
    ranked = np.empty((rows.shape[0], k), dtype=np.int64)
    for start in range(0, rows.shape[0], 256):
        chunk = rows[start : start + 256]
        scores_model = _batch_scores(model, chunk)
        scores = np.full((chunk.shape[0], len(catalogue)), -np.inf, dtype=np.float32)
        scores[:, known] = scores_model[:, pos[known]]
        scores[np.isnan(scores)] = -np.inf
        given = fold_in[start : start + 256]
        scores[given.nonzero()] = -np.inf
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        top_scores = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        top[~np.isfinite(np.take_along_axis(top_scores, order, axis=1))] = -1
        ranked[start : start + chunk.shape[0]] = top
    return ranked


def _batch_scores(model: Any, rows: sp.csr_matrix) -> np.ndarray:
    batch = getattr(model, "_scores_new_users", None)
    if batch is not None:
        return np.asarray(batch(rows), dtype=np.float32)
    out = np.empty(rows.shape, dtype=np.float32)
    for i in range(rows.shape[0]):
        idx = rows.indices[rows.indptr[i] : rows.indptr[i + 1]]
        stars = rows.data[rows.indptr[i] : rows.indptr[i + 1]]
        out[i] = model._scores_new_user(idx, stars) if len(idx) else model._popularity_scores()
    return out


def hit_matrix(ranked: np.ndarray, targets: sp.csr_matrix) -> np.ndarray:
    """True where a ranked catalogue index is one of that user's targets (−1: an empty slot)."""
    hits = np.empty(ranked.shape, dtype=bool)
    for start in range(0, ranked.shape[0], 256):
        dense = targets[start : start + 256].toarray()
        rows = np.arange(dense.shape[0])[:, None]
        chunk = ranked[start : start + 256]
        hits[start : start + 256] = (dense[rows, chunk.clip(0)] > 0) & (chunk >= 0)
    return hits


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


def _latencies(model: Any, data: HeldOut, catalogue: np.ndarray, users: int) -> list[float]:
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


# --- baselines and the models of a run ------------------------------------------------------


class ImplicitALSBaseline(Recommender):
    """implicit's ``AlternatingLeastSquares()`` with its default settings, as a yardstick.

    Trained on the star matrix (confidence = stars, implicit's ``alpha=1``); a new user is
    folded in with implicit's own ``recalculate_user``. Not in the model registry.
    """

    algorithm = "implicit-als"

    def __init__(self, random_state: int = 0):
        self.random_state = random_state

    def _fit(self, user_items: sp.csr_matrix) -> None:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        # The CPU class on purpose: the same model whether or not a GPU is visible. implicit
        # runs its own threads and warns unless BLAS is single-threaded while it is created.
        with threadpool_limits(1, "blas"):
            self._model = AlternatingLeastSquares(random_state=self.random_state)
            self._model.fit(user_items, show_progress=False)

    def _scores_new_users(self, user_items: sp.csr_matrix) -> np.ndarray:
        users = self._model.recalculate_user(np.arange(user_items.shape[0]), user_items.tocsr())
        return np.atleast_2d(users) @ self._model.item_factors.T

    def _scores_new_user(self, movie_idx: np.ndarray, ratings: np.ndarray) -> np.ndarray:
        row = sp.csr_matrix(
            (ratings, movie_idx, [0, len(movie_idx)]), shape=(1, len(self.movie_ids_))
        )
        return self._model.item_factors @ self._model.recalculate_user(0, row)


# Plain EASE as in Steck (2019): binary X of every rating, the whole catalogue, λ chosen by
# benchmarks/tune.py for strong-generalization NDCG@100 (docs/tuning.md).
STECK_EASE_REGULARIZATION = 200.0
TARGETS = {"sg_ndcg@100": 0.36, "onb_ndcg@10": 0.42}


def standard_models() -> dict[str, ModelFactory]:
    """The models of ``python -m recommender evaluate``: baselines, each family, the default."""
    from recommender.ease import EASERecommender
    from recommender.models import ALGORITHMS, DEFAULT_ALGORITHM, train

    models: dict[str, ModelFactory] = {
        "popularity": lambda r: train(r, "popularity"),
        "implicit-als": lambda r: ImplicitALSBaseline().fit(r),
        "ease-steck": lambda r: EASERecommender(
            regularization=STECK_EASE_REGULARIZATION,
            max_items=None,
            min_ratings=1,
            low_rating_weight=1.0,
            predict="input",
        ).fit(r),
    }
    for name in ALGORITHMS:
        if name not in ("popularity", DEFAULT_ALGORITHM):
            models[name] = lambda r, name=name: train(r, name)
    models[f"default ({DEFAULT_ALGORITHM})"] = lambda r: train(r)
    return models


MODEL_NOTES = {
    "popularity": "most-rated movies, the same list for everyone",
    "implicit-als": "implicit's AlternatingLeastSquares() defaults on the star matrix, "
    "fold-in with recalculate_user",
    "ease-steck": f"Steck's EASE, binary X, all movies, λ = {STECK_EASE_REGULARIZATION:g}",
}


# --- command line ------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m recommender evaluate``."""
    parser.add_argument(
        "--movielens-dir",
        default=os.environ.get("MOVIELENS_DIR"),
        help="MovieLens folder (default: $MOVIELENS_DIR, else the downloaded ml-latest-small)",
    )
    parser.add_argument("--folds", type=int, default=5, help="user folds (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the splits (default 0)")
    parser.add_argument(
        "--algorithms",
        help="comma-separated subset of: " + ", ".join(_model_names()) + " (default: all)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--output-dir",
        default="docs",
        help="where evaluation.json, evaluation.md and evaluation_chart.json go (default docs/;"
        " '' writes nothing)",
    )


def _model_names() -> list[str]:
    return [name.split(" ")[0] for name in standard_models()]


def command(args: argparse.Namespace) -> int:
    """Run the evaluation, print a table (or JSON) and write the reports."""
    from recommender.data import load_movielens

    data = load_movielens(args.movielens_dir)
    models = standard_models()
    if args.algorithms:
        wanted = [a.strip() for a in args.algorithms.split(",") if a.strip()]
        by_short = {name.split(" ")[0]: name for name in models}
        unknown = [a for a in wanted if a not in by_short]
        if unknown:
            raise ValueError(
                f"unknown algorithm(s) {', '.join(unknown)}; choose from {', '.join(by_short)}"
            )
        models = {by_short[a]: models[by_short[a]] for a in wanted}
    started = time.perf_counter()
    result = evaluate(
        data.ratings,
        models,
        folds=args.folds,
        seed=args.seed,
        progress=None if args.json else lambda message: print(message, file=sys.stderr),
    )
    report = build_report(result, data, args, time.perf_counter() - started)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_table(result))
    if args.output_dir:
        write_reports(report, result, Path(args.output_dir))
    return 0


def build_report(
    result: pd.DataFrame, data: Any, args: argparse.Namespace, seconds: float
) -> dict[str, Any]:
    """Everything the JSON file holds: settings, data, one record per model, the targets."""
    source = Path(data.source).name if getattr(data, "source", None) else None
    return {
        "command": _command_line(args),
        "date": dt.date.today().isoformat(),
        "dataset": source,
        "n_ratings": len(data.ratings),
        "n_users": int(data.ratings["userId"].nunique()),
        "n_movies": int(data.ratings["movieId"].nunique()),
        "folds": args.folds,
        "seed": args.seed,
        "seconds": round(seconds, 1),
        "cpu_count": os.cpu_count(),
        "targets": TARGETS,
        "models": json.loads(result.to_json(orient="records")),
    }


def _command_line(args: argparse.Namespace) -> str:
    parts = ["python -m recommender evaluate"]
    if args.folds != 5:
        parts.append(f"--folds {args.folds}")
    if args.seed != 0:
        parts.append(f"--seed {args.seed}")
    if args.algorithms:
        parts.append(f"--algorithms {args.algorithms}")
    dataset = Path(args.movielens_dir).name if args.movielens_dir else "ml-latest-small"
    return f"MOVIELENS_DIR=…/{dataset} " + " ".join(parts)


def _cell(row: Mapping[str, Any], metric: str) -> str:
    return f"{row[metric]:.3f} ± {row[metric + '_ci']:.3f}"


TABLE_COLUMNS = [
    ("SG Recall@20", "sg_recall@20"),
    ("SG Recall@50", "sg_recall@50"),
    ("SG NDCG@100", "sg_ndcg@100"),
    ("Onb. Recall@10", "onb_recall@10"),
    ("Onb. NDCG@10", "onb_ndcg@10"),
]


def format_table(result: pd.DataFrame, markdown: bool = False) -> str:
    """The results as an aligned text table or a Markdown table."""
    header = ["model", *(name for name, _ in TABLE_COLUMNS)]
    header += ["coverage@10", "popularity@10", "fit s", "recommend ms p50/p95"]
    rows = []
    for row in result.to_dict("records"):
        rows.append([
            row["model"],
            *(_cell(row, metric) for _, metric in TABLE_COLUMNS),
            f"{row['coverage@10']:.3f}",
            f"{row['popularity@10']:.0f}",
            f"{row['fit_s']:.2f}",
            f"{row['latency_ms']:.2f} / {row['latency_p95_ms']:.2f}",
        ])
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header]]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def write_reports(report: dict[str, Any], result: pd.DataFrame, folder: Path) -> list[Path]:
    """Write evaluation.json, evaluation.md and evaluation_chart.json into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    names = ("evaluation.json", "evaluation.md", "evaluation_chart.json")
    written = [folder / name for name in names]
    written[0].write_text(json.dumps(report, indent=2) + "\n")
    written[1].write_text(markdown_report(report, result))
    written[2].write_text(json.dumps(chart_spec(result), indent=2) + "\n")
    return written


def markdown_report(report: dict[str, Any], result: pd.DataFrame) -> str:
    met = _targets_met(result)
    lines = [
        "# Offline evaluation",
        "",
        f"Produced by `{report['command']}` on {report['date']} "
        f"({report['dataset']}: {report['n_ratings']:,} ratings, {report['n_users']} users, "
        f"{report['n_movies']:,} movies; {report['folds']} user folds, seed {report['seed']}, "
        f"{report['cpu_count']} CPU cores, {report['seconds']:.0f} s in all). "
        "Do not edit by hand: rerun the command.",
        "",
        "Every model is trained on the users of the other folds only, so each held-out user is",
        "a new user folded in through the model's own `recommend` path (see",
        "`recommender/evaluation.py` for the exact protocols). Values are means over users",
        "± the half-width of a 95 % confidence interval (1.96 · std / √n).",
        "",
        "* **SG** (strong generalization, Liang et al. 2018): users with ≥ 5 ratings ≥ 4 fold",
        "  in a random 80 % of those positives; the other 20 % are ranked against the rest of",
        f"  the catalogue ({int(result['sg_users'].iloc[0])} users).",
        "* **Onb.** (onboarding): users with ≥ 15 ratings give 10 random ratings, low ones too;",
        "  the targets are their other movies rated ≥ 4"
        f" ({int(result['onb_users'].iloc[0])} users).",
        "* Recall@k = hits / min(k, targets); NDCG@k is normalised by the ideal ranking of",
        "  min(k, targets) hits. coverage@10: share of the training catalogue that appears in",
        "  anyone's onboarding top-10 (mean over folds); popularity@10: mean number of training",
        "  ratings of those movies. fit s: median over folds (80 % of the users).",
        "  recommend ms: one public `recommend` call with 10 ratings, top-10.",
        "",
        format_table(result, markdown=True),
        "",
        "Targets for the default model: SG NDCG@100 ≥ "
        f"{TARGETS['sg_ndcg@100']}, onboarding NDCG@10 ≥ {TARGETS['onb_ndcg@10']}: "
        + ("**met**." if met else "**not met**."),
        "",
        "Notes on the baselines: "
        + "; ".join(f"`{name}`: {note}" for name, note in MODEL_NOTES.items())
        + ". Latencies and fit times depend on the machine's load.",
        "",
    ]
    return "\n".join(lines)


def _targets_met(result: pd.DataFrame) -> bool | None:
    default = result[result["model"].str.startswith("default")]
    if default.empty:
        return None
    row = default.iloc[0]
    return all(row[metric] >= target for metric, target in TARGETS.items())


def chart_spec(result: pd.DataFrame) -> dict[str, Any]:
    """Vega-Lite spec (via Altair): both protocols' NDCG per model with 95 % intervals."""
    import altair as alt

    records = []
    for row in result.to_dict("records"):
        for metric, label in (("sg_ndcg@100", "SG NDCG@100"), ("onb_ndcg@10", "Onb. NDCG@10")):
            records.append({
                "model": row["model"],
                "metric": label,
                "value": row[metric],
                "low": row[metric] - row[f"{metric}_ci"],
                "high": row[metric] + row[f"{metric}_ci"],
                "target": TARGETS[metric],
            })
    data = pd.DataFrame(records)
    order = list(result["model"])
    base = alt.Chart(data).encode(y=alt.Y("model:N", sort=order, title=None))
    bars = base.mark_bar().encode(
        x=alt.X("value:Q", title="NDCG (mean over held-out users, 95 % CI)"),
        color=alt.Color("model:N", legend=None),
        tooltip=["model", "metric", alt.Tooltip("value:Q", format=".3f")],
    )
    errors = base.mark_errorbar().encode(x="low:Q", x2="high:Q")
    target = alt.Chart(data).mark_rule(strokeDash=[4, 4], color="black").encode(x="mean(target):Q")
    chart = (
        alt.layer(bars, errors, target, data=data)
        .facet(column=alt.Column("metric:N", title=None))
        .resolve_scale(x="independent")
        .properties(title="New-user ranking quality (dashed: the default model's target)")
    )
    return chart.to_dict()
