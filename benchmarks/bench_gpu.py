"""ALS fit on the GPU against the CPU, on synthetic MovieLens-shaped data (32M ratings).

    python -m benchmarks.bench_gpu [--ratings 32000000] [--out DIR]

Needs implicit's CUDA build (see the GPU notes in the README); on a machine without it the GPU
row records the fallback message instead of a time. Prints a table and JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from recommender.evaluation.synthetic import synthetic_movielens
from recommender.models.als import ALSRecommender


class TimedALS(ALSRecommender):
    """Records how much of ``fit`` is the factorisation itself (the rest is building the
    user × movie matrix from the DataFrame, which is the same on both devices)."""

    def _fit(self, user_items):
        started = time.perf_counter()
        super()._fit(user_items)
        self.factorise_s_ = time.perf_counter() - started


def top10_overlap(a: ALSRecommender, b: ALSRecommender, profiles: list[dict]) -> float:
    overlaps = [
        len(set(a.recommend(p, n=10)["movieId"]) & set(b.recommend(p, n=10)["movieId"]))
        for p in profiles
    ]
    return float(np.median(overlaps))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=32_000_000)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    data = synthetic_movielens(args.ratings, seed=0)
    result = {
        "ratings": len(data.ratings),
        "users": int(data.ratings["userId"].nunique()),
        "movies": int(data.ratings["movieId"].nunique()),
        "generate_s": round(time.perf_counter() - started, 1),
        "cpu_cores": os.cpu_count(),
        "factors": args.factors,
    }
    # Warm-up: CUDA context and kernel loading are a one-off cost, not part of a fit.
    ALSRecommender(factors=args.factors, iterations=1, use_gpu=True).fit(data.ratings.head(10_000))
    models = {}
    runs = (("gpu", True, 42), ("cpu", False, 42), ("cpu_seed2", False, 2))
    for name, use_gpu, seed in runs:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            started = time.perf_counter()
            model = TimedALS(factors=args.factors, use_gpu=use_gpu, random_state=seed)
            models[name] = model.fit(data.ratings)
            result[f"fit_{name}_s"] = round(time.perf_counter() - started, 2)
            result[f"factorise_{name}_s"] = round(model.factorise_s_, 2)
        result[f"{name}_warnings"] = [str(w.message) for w in caught]
    result["gpu_speedup_factorise"] = round(
        result["factorise_cpu_s"] / result["factorise_gpu_s"], 1
    )

    # GPU and CPU solvers differ (and so do random starts): compare their agreement with the
    # agreement of two CPU fits that differ only in the seed.
    rng = np.random.default_rng(0)
    popular = models["cpu"].movie_ids_[np.argsort(-models["cpu"].n_ratings_)[:2000]]
    profiles = [
        {int(m): float(rng.choice([3.5, 4.0, 4.5, 5.0])) for m in rng.choice(popular, 10)}
        for _ in range(100)
    ]
    result["top10_overlap_gpu_vs_cpu"] = top10_overlap(models["gpu"], models["cpu"], profiles)
    result["top10_overlap_cpu_vs_cpu_seed"] = top10_overlap(
        models["cpu_seed2"], models["cpu"], profiles
    )

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu.json").write_text(json.dumps(result, indent=2))
    print(f"{'ratings':32}{result['ratings']:>14,}")
    for key in ("fit_gpu_s", "factorise_gpu_s", "fit_cpu_s", "factorise_cpu_s",
                "gpu_speedup_factorise", "top10_overlap_gpu_vs_cpu",
                "top10_overlap_cpu_vs_cpu_seed"):
        print(f"{key:32}{result[key]:>14}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
