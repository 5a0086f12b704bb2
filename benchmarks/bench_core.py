"""Core speed and scale: data load, fit, fold-in + top-10, similar, model load, peak memory.

    python -m benchmarks.bench_core [--sizes small,1m,10m,32m] [--out benchmarks/out]

Each size runs in its own process so its peak memory is its own. ``small`` is ml-latest-small
from ``$MOVIELENS_DIR``; the others are synthetic MovieLens-shaped data (fixed seed) written to
CSV once, so loading is measured from a real file. Writes ``core.json`` and ``core.png`` (the
1M → 10M → 32M curve) and prints a table. Figures are medians of repeated runs in one process;
this machine is shared and noisy, so compare ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

SIZES = {"small": None, "1m": 1_000_000, "10m": 10_000_000, "32m": 32_000_000}
DEFAULT_OUT = Path(__file__).resolve().parent / "out"
FOLD_IN_MODELS = ("als", "ease", "hybrid", "biased-mf", "nmf")
# Fits of 10+ minutes at that size on this 2-core machine, trained with these settings instead
# so that their fold-in is still measured (its cost does not depend on the number of training
# iterations); the JSON lists them and reports no fit time for them.
FOLD_IN_ONLY_AT = {"32m": {"biased-mf": {"iterations": 1}}}
# Fits too slow for this 2-core machine at that size (the reason goes into the JSON).
SKIP_AT = {
    "32m": {
        "nmf": "scikit-learn's NMF (200 coordinate-descent passes over 32M ratings) runs for hours",
        "ease": "the hybrid's EASE part is measured instead (same size, its own hyperparameters)",
    },
}


def percentiles(seconds: list[float]) -> dict[str, float]:
    ms = np.asarray(seconds) * 1e3
    return {f"p{q}_ms": round(float(np.percentile(ms, q)), 3) for q in (50, 95, 99)}


def timed(function, repeat: int = 1) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return float(np.median(times)), result


def dataset_folder(size: str, out: Path) -> Path:
    """ml-latest-small from $MOVIELENS_DIR, or a synthetic CSV folder written once."""
    if SIZES[size] is None:
        folder = os.environ.get("MOVIELENS_DIR")
        if not folder:
            raise SystemExit("size 'small' needs MOVIELENS_DIR (ml-latest-small)")
        return Path(folder)
    from recommender.evaluation.synthetic import synthetic_movielens

    folder = out / f"synthetic-{size}"
    if not (folder / "ratings.csv").exists():
        data = synthetic_movielens(SIZES[size], seed=0)
        folder.mkdir(parents=True, exist_ok=True)
        data.movies[["movieId", "title", "genres"]].to_csv(folder / "movies.csv", index=False)
        data.links.to_csv(folder / "links.csv", index=False)
        staging = folder / "ratings.csv.tmp"
        data.ratings.to_csv(staging, index=False)
        staging.rename(folder / "ratings.csv")
    return folder


def new_user_profiles(model, count: int, size: int, seed: int = 0) -> list[dict[int, float]]:
    """``count`` profiles of ``size`` half-star ratings, movies drawn by popularity."""
    rng = np.random.default_rng(seed)
    weights = model.n_ratings_ / model.n_ratings_.sum()
    stars = np.arange(0.5, 5.01, 0.5)
    return [
        {
            int(m): float(rng.choice(stars))
            for m in rng.choice(model.movie_ids_, size=size, replace=False, p=weights)
        }
        for _ in range(count)
    ]


def measure(size: str, out: Path, algorithms: tuple[str, ...] = FOLD_IN_MODELS) -> dict:
    import recommender
    from recommender.data import load_movielens

    result: dict = {"size": size}
    folder = dataset_folder(size, out)
    cache = out / f"cache-{size}"
    shutil.rmtree(cache, ignore_errors=True)
    first, data = timed(lambda: load_movielens(folder, cache_dir=cache))
    second, data = timed(lambda: load_movielens(folder, cache_dir=cache), repeat=3)
    result.update(
        ratings=len(data.ratings),
        users=int(data.ratings["userId"].nunique()),
        movies=int(data.ratings["movieId"].nunique()),
        load_first_s=round(first, 3),
        load_second_s=round(second, 3),
        load_speedup=round(first / second, 1),
    )

    fit_als, als = timed(lambda: recommender.train(data.ratings, "als", movies=data.movies))
    result["fit_als_s"] = round(fit_als, 2)
    models = {"als": als}
    for algorithm in algorithms:
        if algorithm == "als":
            continue
        if size in SKIP_AT and algorithm in SKIP_AT[size]:
            result.setdefault("skipped", {})[algorithm] = SKIP_AT[size][algorithm]
            continue
        params = FOLD_IN_ONLY_AT.get(size, {}).get(algorithm, {})
        seconds, models[algorithm] = timed(
            lambda a=algorithm, p=params: recommender.train(
                data.ratings, a, movies=data.movies, **p
            )
        )
        if params:
            result.setdefault("fitted_for_fold_in_only", {})[algorithm] = params
        else:
            result[f"fit_{algorithm}_s"] = round(seconds, 2)
    if "ease" not in models and "hybrid" in models:  # the hybrid's own EASE part stands in
        models["ease (hybrid part)"] = models["hybrid"].ease_

    profiles = new_user_profiles(als, count=300, size=10)
    with threadpool_limits(1):  # one request, one core: the serving situation
        result["fold_in"] = fold_in_table(models, als, profiles)
        result["recommend"] = result["fold_in"]["als"]
        result["recommend_implicit"] = result["fold_in"]["implicit"]
        result["scoring_floor"] = result["fold_in"]["floor"]
        # 300 queries over the movies new users rate (as the app's "Because you watched" does)
        movie_ids = [int(m) for profile in profiles[:30] for m in list(profile)[:10]]
        result["similar"] = {
            name: percentiles([timed(lambda m=m, model=model: model.similar(m, n=10))[0]
                               for m in movie_ids])
            for name, model in models.items()
        }
    result["recommend_speedup_vs_implicit"] = round(
        result["recommend_implicit"]["p95_ms"] / result["recommend"]["p95_ms"], 1
    )
    # The most any exact top-10 could gain over implicit here: implicit's time / the floor.
    result["speedup_ceiling_vs_implicit"] = round(
        result["recommend_implicit"]["p95_ms"] / result["scoring_floor"]["p95_ms"], 1
    )

    saved = als.save(out / f"model-{size}")
    model_load, loaded = timed(lambda: recommender.load_model(saved))
    first_answer, _ = timed(lambda: loaded.recommend(profiles[0]))
    result["model_load_s"] = round(model_load, 3)
    result["model_load_first_recommend_s"] = round(model_load + first_answer, 3)
    shutil.rmtree(saved, ignore_errors=True)
    shutil.rmtree(cache, ignore_errors=True)
    result["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    return result


def fold_in_table(models: dict, als, profiles: list[dict[int, float]]) -> dict[str, dict]:
    """Each model's ``recommend`` (top-10, new user) against implicit's and the floor's.

    The calls are interleaved (profile by profile, every contender in turn), so a busy
    moment of this shared machine hits all of them alike and the ratios stay comparable.
    Each model also gets ``vs_implicit`` and ``vs_floor``: its p95 over theirs.
    """
    contenders = {name: (lambda p, m=model: m.recommend(p, n=10)) for name, model in models.items()}
    contenders["implicit"] = implicit_call(als)
    contenders["floor"] = floor_call(als)
    for profile in profiles[:20]:  # warm caches and lazily built state
        for call in contenders.values():
            call(profile)
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for profile in profiles:
        for name, call in contenders.items():
            started = time.perf_counter()
            call(profile)
            times[name].append(time.perf_counter() - started)
    table = {name: percentiles(seconds) for name, seconds in times.items()}
    for name in models:
        table[name]["vs_implicit"] = round(table[name]["p95_ms"] / table["implicit"]["p95_ms"], 2)
        table[name]["vs_floor"] = round(table[name]["p95_ms"] / table["floor"]["p95_ms"], 2)
    return table


def implicit_call(model):
    """implicit's own fold-in and top-10, ``recommend(..., recalculate_user=True)``, on the same
    factors, including building its input row from the profile."""
    from implicit.cpu.als import AlternatingLeastSquares

    from recommender.models.als import confidence

    baseline = AlternatingLeastSquares(factors=model.factors, regularization=model.regularization)
    baseline.item_factors = np.array(model.item_factors_, dtype=np.float32)  # writable copy
    baseline.user_factors = np.zeros((1, model.factors), dtype=np.float32)

    def call(profile: dict[int, float]) -> None:
        idx = np.searchsorted(model.movie_ids_, list(profile))
        weights = confidence(np.array(list(profile.values())), model.alpha, model.neutral)
        row = sp.csr_matrix(
            (weights, (np.zeros(len(idx), int), idx)), shape=(1, len(model.movie_ids_))
        )
        baseline.recommend(0, row, N=10, recalculate_user=True, filter_already_liked_items=True)

    return call


def floor_call(model):
    """What every exact top-10 over all movies must do, and nothing else: one movies × factors
    product with the user's vector (precomputed) and the selection of the top 10, both done
    as the models do them (column-major factors, ``ranking.smallest``)."""
    from recommender.models.linalg import column_major
    from recommender.models.ranking import smallest

    items = column_major(model.item_factors_)
    vectors: dict[tuple, np.ndarray] = {}

    def call(profile: dict[int, float]) -> None:
        key = tuple(profile)
        if key not in vectors:  # outside the timed calls: the warm-up computes every vector
            vectors[key] = model.user_vector(
                np.searchsorted(model.movie_ids_, list(profile)),
                np.array(list(profile.values()), dtype=np.float32),
            )
        smallest(-(items @ vectors[key]), 10)

    return call


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scale = [r for r in results if r["size"] != "small"]
    if not scale:
        return
    ratings = [r["ratings"] / 1e6 for r in scale]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    panels = [
        ("ALS fit (s)", {"": [r["fit_als_s"] for r in scale]}),
        ("recommend, one new user (ms)", {
            "p50": [r["recommend"]["p50_ms"] for r in scale],
            "p95": [r["recommend"]["p95_ms"] for r in scale],
        }),
        ("peak memory (GB)", {"": [r["peak_rss_gb"] for r in scale]}),
    ]
    for axis, (title, lines) in zip(axes, panels, strict=True):
        for (label, values), colour in zip(lines.items(), ("#c2410c", "#1d4ed8"), strict=False):
            axis.plot(ratings, values, marker="o", color=colour, label=label or None)
        if len(lines) > 1:
            axis.legend()
        axis.set_ylim(bottom=0)
        axis.set_xscale("log")
        axis.set_xlabel("ratings (millions)")
        axis.set_title(title)
        axis.grid(alpha=0.3)
    fig.suptitle("Scale on a 2-core machine (synthetic MovieLens-shaped data)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def fold_in_lines(results: list[dict]) -> str:
    """Per size: each model's recommend p50/p95, its p95 over implicit's and the floor's, and its
    ``similar`` p50/p95."""
    lines = [f"{'size':6}{'model':22}{'p50 (ms)':>10}{'p95 (ms)':>10}{'/ implicit':>12}"
             f"{'/ floor':>10}{'similar p50':>13}{'similar p95':>13}"]
    for r in results:
        for name, row in r["fold_in"].items():
            similar = r["similar"].get(name, {})
            lines.append(f"{r['size']:6}{name:22}{row['p50_ms']:>10}{row['p95_ms']:>10}"
                         f"{row.get('vs_implicit', ''):>12}{row.get('vs_floor', ''):>10}"
                         f"{similar.get('p50_ms', ''):>13}{similar.get('p95_ms', ''):>13}")
        for name, reason in r.get("skipped", {}).items():
            lines.append(f"{r['size']:6}{name:22}  skipped: {reason}")
        for name, params in r.get("fitted_for_fold_in_only", {}).items():
            lines.append(f"{r['size']:6}{name:22}  fitted with {params}: fold-in only, no fit time")
    return "\n".join(lines)


def table(results: list[dict]) -> str:
    rows = [
        ("ratings", lambda r: f"{r['ratings']:,}"),
        ("load CSV / binary (s)", lambda r: f"{r['load_first_s']} / {r['load_second_s']}"),
        ("load speed-up", lambda r: f"{r['load_speedup']}x"),
        ("ALS fit (s)", lambda r: r["fit_als_s"]),
        ("ALS recommend p50/p95 (ms)",
         lambda r: f"{r['recommend']['p50_ms']}/{r['recommend']['p95_ms']}"),
        ("implicit recalculate p95 (ms)", lambda r: r["recommend_implicit"]["p95_ms"]),
        ("speed-up vs implicit", lambda r: f"{r['recommend_speedup_vs_implicit']}x"),
        ("product + top-10 alone p95 (ms)", lambda r: r["scoring_floor"]["p95_ms"]),
        ("ceiling vs implicit", lambda r: f"{r['speedup_ceiling_vs_implicit']}x"),
        ("similar, default p50/p95 (ms)", lambda r: "/".join(
            str(v) for v in list(r["similar"].get("hybrid", {}).values())[:2]) or "-"),
        ("model load + 1st answer (s)", lambda r: r["model_load_first_recommend_s"]),
        ("peak memory (GB)", lambda r: r["peak_rss_gb"]),
    ]
    header = f"{'':32}" + "".join(f"{r['size']:>20}" for r in results)
    lines = [header] + [
        f"{name:32}" + "".join(f"{str(cell(r)):>20}" for r in results) for name, cell in rows
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="small,1m", help="comma list of small,1m,10m,32m")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--models", default=",".join(FOLD_IN_MODELS),
                        help="comma list of the models to fit (ALS always: implicit's baseline)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one size
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    models = tuple(m.strip() for m in args.models.split(",") if m.strip())
    if unknown := set(models) - set(FOLD_IN_MODELS):
        parser.error(f"unknown model(s) {sorted(unknown)}; choose from {', '.join(FOLD_IN_MODELS)}")
    if args.one:
        print(json.dumps(measure(args.one, args.out, models)))
        return 0
    results = []
    for size in args.sizes.split(","):
        if size not in SIZES:
            parser.error(f"unknown size {size!r}; choose from {', '.join(SIZES)}")
        run = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_core", "--one", size, "--out", str(args.out),
             "--models", ",".join(models)],
            capture_output=True, text=True,
        )
        if run.returncode != 0:
            print(run.stderr, file=sys.stderr)
            return run.returncode
        results.append(json.loads(run.stdout.strip().splitlines()[-1]))
        print(f"measured {size}", file=sys.stderr)
    (args.out / "core.json").write_text(json.dumps(results, indent=2))
    plot(results, args.out / "core.png")
    print(table(results))
    print()
    print(fold_in_lines(results))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
