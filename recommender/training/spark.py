"""Fitting :class:`recommender.models.spark_als.SparkALSRecommender` with Apache Spark MLlib.

    python -m recommender train --engine spark --spark-master local[2] --output DIR
        [--spark-ratings ratings.parquet | --movielens-dir FOLDER] [--param rank=64 ...]

The master can be ``local[N]``, ``spark://host:7077``, ``yarn`` or ``k8s://...``. Ratings come
from the MovieLens folder, or from ``--spark-ratings``: any CSV (with a header) or Parquet path
Spark can read (``hdfs://``, ``s3a://`` ...) holding userId, movieId and rating. The model folder
written is the same format as every other model's, served by ``load_model`` without Spark.

The fit itself runs on the cluster. The driver still holds the ratings once, as the served
model does (the rating matrix in CSR, about 8 bytes per rating, for "exclude what they rated").
pyspark is imported here only, and lazily by callers: the app never imports it.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

APP_NAME = "movie-recommender"


def spark_session(
    master: str = "local[2]",
    shuffle_partitions: int | None = None,
    driver_memory: str | None = None,
) -> Any:
    """A SparkSession on ``master`` (the active one when it exists) with the UI off and Arrow
    on for pandas transfers. ``shuffle_partitions`` defaults to 2 × the local cores, else
    Spark's default; ``driver_memory`` (e.g. "6g") applies only when this starts the JVM."""
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(master)
        .appName(APP_NAME)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    if shuffle_partitions is None and master.startswith("local"):
        shuffle_partitions = 2 * _local_cores(master)
    if shuffle_partitions:
        builder = builder.config("spark.sql.shuffle.partitions", str(shuffle_partitions))
    if driver_memory:
        builder = builder.config("spark.driver.memory", driver_memory)
    return builder.getOrCreate()


@contextmanager
def _session(master: str) -> Iterator[Any]:
    """A session for one command, stopped afterwards unless it was already running."""
    from pyspark.sql import SparkSession

    running = SparkSession.getActiveSession()
    spark = spark_session(master)
    try:
        yield spark
    finally:
        if running is None:
            spark.stop()


def _local_cores(master: str) -> int:
    inside = master.partition("[")[2].rstrip("]").split(",")[0]
    return int(inside) if inside.isdigit() else 4


def fit_als(
    user_items: sp.csr_matrix,
    rank: int,
    max_iter: int,
    reg_param: float,
    alpha: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Spark MLlib ALS (implicitPrefs) on a users × movies rating matrix, on the active
    SparkSession (else ``local[*]``). Returns (user factors, movie factors) as float32 arrays
    whose rows follow the matrix's rows and columns."""
    from pyspark.ml.recommendation import ALS
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession() or spark_session("local[*]")
    coo = user_items.tocoo()
    triples = pd.DataFrame({"user": coo.row.astype(np.int32), "item": coo.col.astype(np.int32),
                            "rating": coo.data.astype(np.float32)})
    frame = spark.createDataFrame(triples)
    # One block per core: Spark's default of 10 makes 5 times the tasks on a 2-core machine.
    blocks = max(spark.sparkContext.defaultParallelism, 1)
    als = ALS(
        rank=rank, maxIter=max_iter, regParam=reg_param, alpha=alpha, implicitPrefs=True,
        seed=seed, userCol="user", itemCol="item", ratingCol="rating", nonnegative=False,
        numUserBlocks=blocks, numItemBlocks=blocks,
    )
    model = als.fit(frame)
    return (_factors(model.userFactors, user_items.shape[0], rank),
            _factors(model.itemFactors, user_items.shape[1], rank))


def _factors(frame: Any, rows: int, rank: int) -> np.ndarray:
    """Spark's (id, features) rows as a dense array indexed by id."""
    table = frame.toPandas()
    factors = np.zeros((rows, rank), dtype=np.float32)
    if len(table):
        factors[table["id"].to_numpy()] = np.stack(table["features"].to_numpy())
    return factors


def read_ratings(spark: Any, path: str) -> pd.DataFrame:
    """userId, movieId, rating from a Parquet or CSV (with header) path Spark can read."""
    from pyspark.sql import functions as F

    if path.rstrip("/").lower().endswith(".csv"):
        frame = spark.read.csv(path, header=True)
    else:
        frame = spark.read.parquet(path)
    missing = {"userId", "movieId", "rating"} - set(frame.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    # try_cast: a malformed value becomes NULL (and is reported below) instead of a JVM error.
    frame = frame.select(
        F.col("userId").try_cast("int"), F.col("movieId").try_cast("int"),
        F.col("rating").try_cast("float"),
    )
    bad = frame.filter(F.col("userId").isNull() | F.col("movieId").isNull()
                       | F.col("rating").isNull()).limit(1).collect()
    if bad:
        raise ValueError(f"{path}: a row has a missing or non-numeric value: {bad[0].asDict()}")
    return frame.toPandas()


def train_command(args: argparse.Namespace, hyperparameters: dict[str, Any]) -> int:
    """``python -m recommender train --engine spark``: fit on Spark, save the model folder."""
    from recommender.data import load_movielens
    from recommender.models.spark_als import SparkALSRecommender

    if not args.output:
        raise ValueError("--engine spark needs --output DIR (the model folder to write)")
    model = SparkALSRecommender(**hyperparameters)  # bad hyperparameters fail before the JVM
    started = time.perf_counter()
    with _session(args.spark_master) as spark:
        startup = time.perf_counter() - started
        if args.spark_ratings:
            ratings, movies = read_ratings(spark, args.spark_ratings), None
            if args.movielens_dir:
                movies = load_movielens(args.movielens_dir).movies
        else:
            data = load_movielens(args.movielens_dir)
            ratings, movies = data.ratings, data.movies
        model.fit(ratings, movies)
    folder = model.save(args.output)
    summary = {
        "algorithm": model.algorithm,
        "engine": "spark",
        "master": args.spark_master,
        "hyperparameters": model.get_params(),
        "fingerprint": model.fingerprint_,
        "saved_to": str(folder),
        "spark_startup_seconds": round(startup, 3),
        "seconds": round(time.perf_counter() - started, 3),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{model!r} fitted on Spark ({args.spark_master}) in {summary['seconds']:.2f} s, "
              f"saved to {folder}")
    return 0
