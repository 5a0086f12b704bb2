"""Spark MLlib's implicit ALS against implicit's, on this machine.

    python -m benchmarks.bench_spark [--parts startup,fit,quality] [--sizes small,10m]
                                     [--master local[2]] [--folds 5]

- ``startup``: a fresh ``python`` starting a SparkSession and running one job (the JVM's cost
  that every ``--engine spark`` run pays), median of three.
- ``fit``: fit time of ``SparkALSRecommender`` on ``--master`` against ``ALSRecommender``
  (implicit, all local cores) with the same rank (64) and iterations (10), on ml-latest-small
  and on MovieLens-shaped synthetic data (``10m``: 10M ratings, written once to
  benchmarks/out/ as bench_core does).
- ``quality``: both models in the protocol of ``python -m recommender evaluate`` (the same
  folds, metrics and table), on ml-latest-small.

Prints a table and JSON; the JSON also goes to benchmarks/out/spark.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.bench_core import SIZES, dataset_folder
from recommender.data import load_movielens
from recommender.models.als import ALSRecommender
from recommender.models.spark_als import SparkALSRecommender

OUT = Path(__file__).resolve().parent / "out"
RANK, ITERATIONS = 64, 10
STARTUP = """
import json, time
started = time.perf_counter()
from recommender.training.spark import spark_session
spark = spark_session({master!r})
spark.range(1000).count()
print(json.dumps(time.perf_counter() - started))
spark.stop()
"""


def startup(master: str, repeat: int = 3) -> dict:
    seconds = []
    for _ in range(repeat):
        done = subprocess.run([sys.executable, "-c", STARTUP.format(master=master)],
                              capture_output=True, text=True, check=True,
                              cwd=Path(__file__).resolve().parent.parent)
        seconds.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {"startup_s_median": round(float(np.median(seconds)), 2),
            "startup_s": [round(s, 2) for s in seconds]}


def fit_times(size: str, spark) -> dict:
    data = load_movielens(dataset_folder(size, OUT))
    ratings = data.ratings
    started = time.perf_counter()
    ALSRecommender(factors=RANK, iterations=ITERATIONS).fit(ratings)
    implicit_s = time.perf_counter() - started
    started = time.perf_counter()
    SparkALSRecommender(rank=RANK, max_iter=ITERATIONS).fit(ratings)
    spark_s = time.perf_counter() - started
    return {"size": size, "ratings": len(ratings), "implicit_fit_s": round(implicit_s, 2),
            "spark_fit_s": round(spark_s, 2), "spark_over_implicit": round(spark_s / implicit_s, 1)}


def quality(folds: int) -> tuple[list[dict], str]:
    from recommender.evaluation import evaluate, format_table

    data = load_movielens(dataset_folder("small", OUT))
    models = {
        "als (implicit)": lambda r: ALSRecommender().fit(r),
        "spark-als": lambda r: SparkALSRecommender().fit(r),
    }
    result = evaluate(data.ratings, models, folds=folds,
                      progress=lambda message: print(message, file=sys.stderr))
    return json.loads(result.to_json(orient="records")), format_table(result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="startup,fit,quality")
    parser.add_argument("--sizes", default="small,10m", help=f"of {', '.join(SIZES)}")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args(argv)
    parts = set(args.parts.split(","))
    report: dict = {"master": args.master, "rank": RANK, "iterations": ITERATIONS}
    if "startup" in parts:
        report["startup"] = startup(args.master)
        print(f"Spark start-up ({args.master}), median of 3: "
              f"{report['startup']['startup_s_median']} s", flush=True)
    if parts & {"fit", "quality"}:
        from recommender.training.spark import spark_session

        spark = spark_session(args.master, driver_memory="6g")  # 10M ratings pass the driver
        try:
            if "fit" in parts:
                report["fit"] = []
                print(f"{'size':8}{'ratings':>12}{'implicit s':>12}{'spark s':>10}{'ratio':>8}")
                for size in args.sizes.split(","):
                    row = fit_times(size, spark)
                    report["fit"].append(row)
                    print(f"{size:8}{row['ratings']:>12,}{row['implicit_fit_s']:>12}"
                          f"{row['spark_fit_s']:>10}{row['spark_over_implicit']:>8}", flush=True)
            if "quality" in parts:
                report["quality"], table = quality(args.folds)
                report["folds"] = args.folds
                print(table)
        finally:
            spark.stop()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "spark.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
