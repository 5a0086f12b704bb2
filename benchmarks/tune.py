"""Hyperparameter search for the new-user models, with recommender.evaluation's protocols.

    MOVIELENS_DIR=/path/to/ml-latest-small python -m benchmarks.tune [--stages als,ease,...]

Stages (``--search-folds`` user folds, 3 by default, to save time; the blend on 5):

* ``als``: random search over ALS factors, regularization, alpha, neutral and iterations;
* ``nmf``: grid over NMF factors and regularization;
* ``ease``: grid over EASE λ and how stars become X (``low_rating_weight``, ``predict``),
  each with a few popularity weights;
* ``hybrid``: the best EASE and ALS settings blended, over the blend weight and popularity
  weight;
* ``confirm``: the best candidates again on 5 folds, the numbers the choice rests on;
* ``taste``: the default model's ``taste_weight`` (its genre and decade lift,
  recommender/models/traits.py) on 5 folds, with the niche-profiles protocol beside the main
  ones; written to docs/tuning-taste.md, so ``--stages taste`` alone leaves docs/tuning.md.

Every model trains with the movies table, as the app trains it. Hyperparameters that only
change scoring (``popularity_weight``, ``ease_weight``, ``taste_weight``) are applied
to one fit per fold instead of refitting: they do not change what is learned. Candidates are
ranked by their *margin*, min(SG NDCG@100 − 0.36, onboarding NDCG@10 − 0.42): the default
model has to clear both targets with one set of hyperparameters. Writes docs/tuning.md.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import itertools
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recommender.data import load_movielens
from recommender.evaluation import TARGETS, evaluate, niche
from recommender.models import make

STAGES = ("als", "nmf", "ease", "hybrid", "confirm", "taste")
SCORING_ONLY = {"ease": ("popularity_weight",), "hybrid": ("ease_weight", "taste_weight")}
TASTE_WEIGHTS = (0.0, 0.3, 0.5, 1.0, 1.5, 2.0, 3.0)
# ALSRecommender's own defaults: always a candidate, alone and in blends.
ALS_DEFAULTS = {
    "factors": 64, "regularization": 0.05, "alpha": 1.0, "neutral": None, "iterations": 15
}
SHOWN = ["sg_recall@20", "sg_ndcg@100", "onb_recall@10", "onb_ndcg@10", "coverage@10", "fit_s"]


def margin(frame: pd.DataFrame) -> pd.Series:
    """How far a candidate clears the weaker of the two targets (negative: misses one)."""
    return pd.concat(
        [frame[metric] - target for metric, target in TARGETS.items()], axis=1
    ).min(axis=1)


class FitCache:
    """One fit per (algorithm, learned hyperparameters, fold); scoring-only ones are applied
    to a copy of that fit."""

    def __init__(self, movies: pd.DataFrame | None = None) -> None:
        self.movies = movies
        self._fits: dict[tuple, tuple[pd.DataFrame, Any]] = {}
        self.fit_seconds: dict[str, list[float]] = {}

    def factory(self, algorithm: str, params: dict[str, Any]) -> Callable[[pd.DataFrame], Any]:
        scoring = {k: v for k, v in params.items() if k in SCORING_ONLY.get(algorithm, ())}
        learned = {k: v for k, v in params.items() if k not in scoring}

        def fit(train: pd.DataFrame) -> Any:
            # evaluate() goes fold by fold: a new training frame means the last fold is done.
            # The frame is kept alive in the cache, so its id cannot be reused meanwhile.
            if any(k[2] != id(train) for k in self._fits):
                self._fits = {k: v for k, v in self._fits.items() if k[2] == id(train)}
            key = (algorithm, json.dumps(learned, sort_keys=True), id(train))
            if key not in self._fits:
                started = time.perf_counter()
                self._fits[key] = (train, make(algorithm, **learned).fit(train, self.movies))
                self.fit_seconds.setdefault(key[1], []).append(time.perf_counter() - started)
            model = self._fits[key][1]
            if not scoring:
                return model
            # Both are read when scoring, so a shallow copy with new values is a new model.
            return copy.copy(model).set_params(**scoring)

        return fit

    def learned_key(self, algorithm: str, params: dict[str, Any]) -> str:
        scoring = SCORING_ONLY.get(algorithm, ())
        return json.dumps({k: v for k, v in params.items() if k not in scoring}, sort_keys=True)

    def clear(self) -> None:
        self._fits.clear()


def search(
    data,
    algorithm: str,
    candidates: Iterable[dict[str, Any]],
    folds: int,
    seed: int,
    niche_too: bool = False,
) -> pd.DataFrame:
    """Evaluate every candidate; one row each, best margin first (``niche_too``: with the
    niche-profiles columns)."""
    ratings = data.ratings
    cache = FitCache(data.movies)
    candidates = list(candidates)
    models = {json.dumps(c, sort_keys=True): cache.factory(algorithm, c) for c in candidates}
    started = time.perf_counter()
    result = evaluate(ratings, models, folds=folds, seed=seed, latency_users=0)
    if niche_too:
        niche_result = niche.evaluate(ratings, data.movies, models, folds=folds, seed=seed)
        result = result.merge(niche_result.drop(columns="users"), on="model")
    cache.clear()
    result.insert(0, "algorithm", algorithm)
    result["params"] = [json.loads(name) for name in result["model"]]
    # Variants that reuse a fit would show the time of a copy: report the fit's own time.
    result["fit_s"] = [
        float(np.median(cache.fit_seconds[cache.learned_key(algorithm, p)]))
        for p in result["params"]
    ]
    result["margin"] = margin(result)
    print(
        f"{algorithm}: {len(candidates)} candidates on {folds} folds in "
        f"{time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    return result.sort_values("margin", ascending=False, kind="stable").reset_index(drop=True)


def grid(**axes: Iterable[Any]) -> list[dict[str, Any]]:
    names = list(axes)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*axes.values())]


def als_candidates(samples: int, seed: int) -> list[dict[str, Any]]:
    space = grid(
        factors=[32, 64, 128],
        regularization=[0.05, 0.5, 5.0],
        alpha=[0.5, 1.0, 2.0],
        neutral=[None, 2.5],
        iterations=[15, 30],
    )
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(space), size=min(samples, len(space)), replace=False)
    picked = [space[i] for i in chosen]
    return [ALS_DEFAULTS] + [p for p in picked if p != ALS_DEFAULTS]


def nmf_candidates() -> list[dict[str, Any]]:
    return grid(factors=[30, 55, 80], regularization=[0.0, 0.1])


def ease_candidates() -> list[dict[str, Any]]:
    transforms = [
        {"low_rating_weight": 1.0, "predict": "input"},  # Steck's binary X
        {"low_rating_weight": 0.0, "predict": "input"},  # positives only
        {"low_rating_weight": -0.25, "predict": "input"},  # low ratings as negative evidence
        {"low_rating_weight": 1.0, "predict": "liked"},
        {"low_rating_weight": 0.5, "predict": "liked"},
        {"low_rating_weight": 0.25, "predict": "liked"},
    ]
    return [
        {"regularization": lam, **transform, "popularity_weight": beta}
        for lam in (100.0, 200.0, 300.0, 500.0, 1000.0)
        for transform in transforms
        for beta in (0.0, 0.02, 0.05)
    ]


def hybrid_candidates(ease: pd.DataFrame, als: pd.DataFrame, top: int) -> list[dict[str, Any]]:
    """Blends of the best EASE fits and ALS settings: the ``top`` by margin of each, plus the
    best of each on either protocol alone (a blend may want a specialist), plus ALS's
    defaults (what is best alone is not always what blends best)."""
    ease_fits = _shortlist(ease, top, drop=("popularity_weight",))
    als_fits = _shortlist(als, top)
    if ALS_DEFAULTS not in als_fits:
        als_fits.append(ALS_DEFAULTS)
    candidates = []
    for e, a in itertools.product(ease_fits, als_fits):
        for weight, beta in itertools.product((0.4, 0.5, 0.6, 0.7), (0.0, 0.02, 0.03, 0.04)):
            candidates.append({
                "ease_weight": weight,
                "ease__regularization": e["regularization"],
                "ease__low_rating_weight": e["low_rating_weight"],
                "ease__predict": e["predict"],
                "ease__popularity_weight": beta,
                **{f"als__{name}": a[name] for name in ALS_DEFAULTS},
            })
    return candidates


def _shortlist(result: pd.DataFrame, top: int, drop: tuple[str, ...] = ()) -> list[dict]:
    ranked = [result.sort_values(m, ascending=False, kind="stable") for m in TARGETS]
    picks: list[dict[str, Any]] = []
    for frame, count in ((result, top), *((r, 1) for r in ranked)):
        chosen = 0
        for params in frame["params"]:
            learned = {k: v for k, v in params.items() if k not in drop}
            if chosen == count:
                break
            if learned not in picks:
                picks.append(learned)
                chosen += 1
    return picks


def markdown(result: pd.DataFrame, rows: int) -> str:
    shown = result.head(rows)
    header = ["params", *SHOWN, "margin"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in shown.to_dict("records"):
        params = ", ".join(f"{k}={v}" for k, v in row["params"].items())
        cells = [f"{row[c]:.4f}" if c != "fit_s" else f"{row[c]:.2f}" for c in SHOWN]
        lines.append(f"| {params} | " + " | ".join(cells) + f" | {row['margin']:+.4f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--movielens-dir", default=os.environ.get("MOVIELENS_DIR"))
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--search-folds", type=int, default=3, help="folds of the als, nmf and"
                        " ease stages (screening)")
    parser.add_argument("--blend-folds", type=int, default=5, help="folds of the hybrid stage")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--als-samples", type=int, default=20)
    parser.add_argument("--top", type=int, default=2, help="settings per family to blend")
    parser.add_argument("--output", default="docs/tuning.md")
    args = parser.parse_args(argv)
    stages = [s.strip() for s in args.stages.split(",") if s.strip()]
    unknown = set(stages) - set(STAGES)
    if unknown:
        parser.error(f"unknown stage(s) {sorted(unknown)}; choose from {STAGES}")

    data = load_movielens(args.movielens_dir)
    folds, seed = args.search_folds, args.seed
    results: dict[str, pd.DataFrame] = {}
    started = time.perf_counter()
    if "als" in stages or "hybrid" in stages:
        results["als"] = search(data, "als", als_candidates(args.als_samples, seed), folds, seed)
    if "nmf" in stages:
        results["nmf"] = search(data, "nmf", nmf_candidates(), folds, seed)
    if "ease" in stages or "hybrid" in stages:
        results["ease"] = search(data, "ease", ease_candidates(), folds, seed)
    if "hybrid" in stages:
        candidates = hybrid_candidates(results["ease"], results["als"], args.top)
        results["hybrid"] = search(data, "hybrid", candidates, args.blend_folds, seed)
    if "confirm" in stages:
        results["confirm"] = confirm(data, results, seed, args.blend_folds)
    if "taste" in stages:
        candidates = [{"taste_weight": w} for w in TASTE_WEIGHTS]
        results["taste"] = search(data, "hybrid", candidates, 5, seed, niche_too=True)

    seconds = time.perf_counter() - started
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    if "taste" in results:
        text = taste_report(results.pop("taste"), data, seconds)
        output.with_name("tuning-taste.md").write_text(text)
        print(text)
    if results:
        text = report(results, args, data, seconds)
        output.write_text(text)
        print(text)
    return 0


def taste_report(result: pd.DataFrame, data, seconds: float) -> str:
    """docs/tuning-taste.md: the default model over taste_weight, main and niche protocols."""
    dataset = Path(data.source).name if data.source else "ml-latest-small"
    columns = ["sg_ndcg@100", "onb_recall@10", "onb_ndcg@10", "niche_ndcg@10", "niche_fit@10"]
    rows = result.sort_values("model", key=lambda m: [json.loads(x)["taste_weight"] for x in m])
    lines = [
        "# The default model's taste weight",
        "",
        f"Produced by `MOVIELENS_DIR=…/{dataset} python -m benchmarks.tune --stages taste` on "
        f"{dt.date.today().isoformat()} ({seconds / 60:.0f} min on {os.cpu_count()} cores). "
        "Do not edit by hand: rerun the script.",
        "",
        "The hybrid (EASE + ALS, tuned in docs/tuning.md) with its genre and decade lift "
        "(recommender/models/traits.py) weighted by `taste_weight`; 0 is the blend alone. "
        "5 user folds, seed 0; the main protocols as in docs/evaluation.md, the niche profiles "
        "as in docs/niche.md. Means over users ± 95 % half-widths.",
        "",
        "| taste_weight | " + " | ".join(columns) + " |",
        "|" + "---|" * (len(columns) + 1),
    ]
    for row in rows.to_dict("records"):
        weight = json.loads(row["model"])["taste_weight"]
        cells = [f"{row[c]:.4f} ± {row[c + '_ci']:.3f}" for c in columns]
        lines.append(f"| {weight:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def confirm(data, results: dict[str, pd.DataFrame], seed: int, blend_folds: int) -> pd.DataFrame:
    """The best few of each stage on 5 folds (the evaluation's setting)."""
    frames = []
    for algorithm, count in (("hybrid", 5), ("ease", 3), ("als", 2), ("nmf", 1)):
        if algorithm not in results:
            continue
        if algorithm == "hybrid" and blend_folds == 5:
            frames.append(results["hybrid"].head(count))  # already measured on 5 folds
        else:
            frames.append(search(data, algorithm, results[algorithm]["params"][:count], 5, seed))
    combined = pd.concat(frames, ignore_index=True)
    return combined.sort_values("margin", ascending=False, kind="stable").reset_index(drop=True)


def report(results: dict[str, pd.DataFrame], args: argparse.Namespace, data, seconds: float):
    dataset = Path(data.source).name if data.source else "ml-latest-small"
    lines = [
        "# Hyperparameter tuning",
        "",
        f"Produced by `MOVIELENS_DIR=…/{dataset} python -m benchmarks.tune"
        + (f" --stages {args.stages}" if args.stages != ",".join(STAGES) else "")
        + f"` on {dt.date.today().isoformat()} ({seconds / 60:.0f} min on {os.cpu_count()} "
        "cores). Do not edit by hand: rerun the script.",
        "",
        "Protocols and metrics are those of `python -m recommender evaluate` "
        "(docs/evaluation.md). The ALS, NMF and EASE stages screen on "
        f"{args.search_folds} user folds (models train on {1 - 1 / args.search_folds:.0%} of the "
        "users, so numbers run a little lower than with 5 folds); the blend stage uses "
        f"{args.blend_folds} folds and `confirm` reruns the best of each family on 5 folds. "
        "Rows are sorted by margin = min(SG NDCG@100 − "
        f"{TARGETS['sg_ndcg@100']}, onboarding NDCG@10 − {TARGETS['onb_ndcg@10']}). "
        "coverage@10 as in the evaluation; fit_s is the median fit time over folds (under "
        "whatever else the machine was running).",
        "",
    ]
    titles = {
        "confirm": "Confirmation on 5 folds",
        "hybrid": "EASE + ALS blend (`hybrid`)",
        "ease": "EASE",
        "als": "ALS",
        "nmf": "NMF",
    }
    if "ease" in results:
        ease = results["ease"]
        steck = ease[[
            p["low_rating_weight"] == 1.0 and p["predict"] == "input" and not p["popularity_weight"]
            for p in ease["params"]
        ]].sort_values("sg_ndcg@100", ascending=False, kind="stable")
        lines += [
            "## Steck's EASE (the `ease-steck` baseline)",
            "",
            "Binary X, B reconstructs X, no popularity prior: λ by SG NDCG@100 (the evaluation "
            "runs it on the whole catalogue with the best λ here, "
            "`recommender.evaluation.STECK_EASE_REGULARIZATION`).",
            "",
            markdown(steck, len(steck)),
            "",
        ]
    for stage in ("confirm", "hybrid", "ease", "als", "nmf"):
        if stage not in results:
            continue
        result = results[stage]
        rows = len(result) if stage == "confirm" else 12
        lines += [
            f"## {titles[stage]}",
            "",
            f"{len(result)} candidates; the best {min(rows, len(result))} shown.",
            "",
        ]
        if stage == "confirm":
            table = result.copy()
            table["params"] = [
                {"algorithm": a, **p} for a, p in zip(table["algorithm"], table["params"],
                                                       strict=True)
            ]
            lines.append(markdown(table, rows))
        else:
            lines.append(markdown(result, rows))
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
