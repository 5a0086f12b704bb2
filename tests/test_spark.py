"""Training on Apache Spark (local mode, a real JVM) and serving the result without Spark.

The fold-in must solve Spark's own objective (confidence 1 + α·r, λ scaled by each user's
number of ratings): folding a training user in reproduces the factors Spark stored.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender import load_model
from recommender.models.spark_als import SparkALSRecommender
from recommender.training.spark import read_ratings

pytestmark = [pytest.mark.spark, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def spark_model(spark, movielens) -> SparkALSRecommender:
    model = SparkALSRecommender(rank=16, max_iter=6, reg_param=0.05, alpha=1.0, seed=3)
    return model.fit(movielens.ratings, movielens.movies)


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def folded_in(model: SparkALSRecommender, fold) -> np.ndarray:
    rows = []
    for user in range(len(model.user_ids_)):
        movie_idx, ratings = model.vocabulary_.history(user)
        rows.append(fold(movie_idx, ratings))
    return np.array(rows)


def relative_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.norm(a - b, axis=1) / np.linalg.norm(b, axis=1)


def test_fold_in_reproduces_the_user_factors_spark_stored(spark_model):
    folded = folded_in(spark_model, spark_model.user_vector)
    stored = np.asarray(spark_model.user_factors_)
    similarity = cosine(folded, stored)
    assert similarity.min() >= 0.999, np.sort(similarity)[:5]
    assert relative_error(folded, stored).max() < 1e-3  # the length too, not only the direction
    # The same top 10 as Spark's own factors give, for nearly every user.
    same = 0
    users = spark_model.user_ids_
    for user_id in users:
        history = spark_model.user_history(int(user_id))
        new = spark_model.recommend(history, n=10)["movieId"].tolist()
        known = spark_model.recommend_for_user(int(user_id), n=10)["movieId"].tolist()
        same += new == known
    assert same >= 0.98 * len(users), f"{same} of {len(users)} users"


def test_implicits_objective_would_not_reproduce_them(spark_model):
    """The check above can fail: implicit's fold-in (confidence α·r, one λ for everyone)
    applied to the same movie factors lands elsewhere."""
    items = np.asarray(spark_model.item_factors_, dtype=np.float64)
    gram = items.T @ items + spark_model.reg_param * np.eye(items.shape[1])

    def implicit_fold_in(movie_idx, ratings):
        c = spark_model.alpha * ratings.astype(np.float64)
        y = items[movie_idx]
        return np.linalg.solve(gram + (y.T * (c - 1.0)) @ y, y.T @ c)

    error = relative_error(folded_in(spark_model, implicit_fold_in),
                           np.asarray(spark_model.user_factors_))
    assert np.median(error) > 0.02  # 0.084 when measured; Spark's own objective: below 1e-6


def test_spark_reads_csv_and_parquet_ratings(spark, movielens, tmp_path):
    expected = movielens.ratings[["userId", "movieId", "rating"]].head(500)
    expected.to_csv(tmp_path / "ratings.csv", index=False)
    expected.to_parquet(tmp_path / "ratings.parquet", index=False)
    for path in ("ratings.csv", "ratings.parquet"):
        got = read_ratings(spark, str(tmp_path / path))
        pd.testing.assert_frame_equal(
            got.sort_values(["userId", "movieId"]).reset_index(drop=True),
            expected.sort_values(["userId", "movieId"]).reset_index(drop=True),
            check_dtype=False,
        )
    expected.drop(columns="rating").to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ValueError, match="missing column.*rating"):
        read_ratings(spark, str(tmp_path / "bad.csv"))
    pd.DataFrame({"userId": ["1", "x"], "movieId": ["2", "3"], "rating": ["4", "5"]}).to_csv(
        tmp_path / "text.csv", index=False)
    with pytest.raises(ValueError, match="non-numeric"):
        read_ratings(spark, str(tmp_path / "text.csv"))


def test_cli_trains_on_spark_and_the_folder_is_served_without_spark(
    movielens, movielens_dir, tmp_path
):
    # A Parquet file Spark reads (the first 200 users keep the JVM's work small); the titles
    # and genres come from the MovieLens folder.
    ratings = movielens.ratings
    ratings[ratings["userId"] <= 200].to_parquet(tmp_path / "ratings.parquet", index=False)
    folder = tmp_path / "spark-model"
    trained = subprocess.run(
        [sys.executable, "-m", "recommender", "train", "--engine", "spark",
         "--spark-master", "local[2]", "--spark-ratings", str(tmp_path / "ratings.parquet"),
         "--movielens-dir", str(movielens_dir),
         "--output", str(folder), "--param", "rank=8", "--param", "max_iter=3", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=600,
    )
    assert trained.returncode == 0, trained.stderr[-3000:]
    summary = json.loads(trained.stdout)
    assert summary["algorithm"] == "spark-als" and summary["master"] == "local[2]"
    model = load_model(folder)
    assert model.get_params()["rank"] == 8
    assert len(model.user_ids_) == 200 and model.genres_  # the movies' genres came along
    serve = (
        "import sys, json\n"
        "from recommender import load_model\n"
        f"model = load_model({str(folder)!r})\n"
        "top = model.recommend({318: 5.0, 260: 4.5, 1: 4.0}, n=10)\n"
        "print(json.dumps({'top': top['movieId'].tolist(), 'type': type(model).__name__,\n"
        "                  'pyspark': any(m.startswith('pyspark') for m in sys.modules)}))\n"
    )
    served = subprocess.run([sys.executable, "-c", serve], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert served.returncode == 0, served.stderr[-3000:]
    answer = json.loads(served.stdout)
    assert answer["type"] == "SparkALSRecommender" and not answer["pyspark"]
    assert len(answer["top"]) == 10 and not {318, 260, 1} & set(answer["top"])
    # And through the CLI, as every other saved model.
    cli = subprocess.run(
        [sys.executable, "-m", "recommender", "recommend", "--model", str(folder),
         "--movielens-dir", str(movielens_dir), "--ratings", "318=5,260=4.5", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert cli.returncode == 0, cli.stderr[-3000:]
    assert len(json.loads(cli.stdout)) == 10


def test_the_app_and_serving_never_import_pyspark():
    code = ("import sys, recommender, recommender.models.spark_als, ui.resources, "
            "ui.session\nprint(any(m.startswith('pyspark') for m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"


def test_spark_engine_needs_an_output_folder(movielens_dir):
    done = subprocess.run(
        [sys.executable, "-m", "recommender", "train", "--engine", "spark",
         "--movielens-dir", str(movielens_dir)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 2 and "--output" in done.stderr
