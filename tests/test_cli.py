"""The command line, run as a user runs it: ``python -m recommender ...``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from recommender.__main__ import parse_ratings
from recommender.evaluation.synthetic import synthetic_movielens

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "recommender", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory) -> Path:
    """A synthetic MovieLens folder on disk, so these tests run anywhere."""
    data = synthetic_movielens(20_000, seed=3)
    folder = tmp_path_factory.mktemp("ml")
    data.movies[["movieId", "title", "genres"]].to_csv(folder / "movies.csv", index=False)
    data.ratings.to_csv(folder / "ratings.csv", index=False)
    return folder


def test_parse_ratings():
    assert parse_ratings("1=5, 3114=4.5,") == {1: 5.0, 3114: 4.5}
    with pytest.raises(ValueError, match="'3114:4'"):
        parse_ratings("1=5,3114:4")


def test_help_lists_every_command():
    result = run("--help")
    assert result.returncode == 0
    for command in ("train", "recommend", "similar", "evaluate"):
        assert command in result.stdout
        assert run(command, "--help").returncode == 0


def test_train_then_recommend_as_json(small_dir, tmp_path):
    env = {"RECOMMENDER_CACHE": str(tmp_path)}
    trained = run("train", "--movielens-dir", str(small_dir), "--algorithm", "als",
                  "--param", "factors=16", "--json", env=env)
    assert trained.returncode == 0, trained.stderr
    summary = json.loads(trained.stdout)
    assert summary["algorithm"] == "als" and summary["hyperparameters"]["factors"] == 16
    assert len(list((tmp_path / "models").iterdir())) == 1

    result = run("recommend", "--movielens-dir", str(small_dir), "--algorithm", "als",
                 "--param", "factors=16", "--ratings", "1=5,2=4.5,999999=3", "-n", "7",
                 "--json", env=env)
    assert result.returncode == 0, result.stderr
    picks = json.loads(result.stdout)
    assert len(picks) == 7 and {1, 2}.isdisjoint(p["movieId"] for p in picks)
    assert all(p["title"].startswith("Movie ") for p in picks)
    assert "999999" in result.stderr  # unknown ids are reported, not fatal


def test_similar_with_filters_prints_a_table(small_dir, tmp_path):
    result = run("similar", "--movielens-dir", str(small_dir), "--algorithm", "popularity",
                 "--movie", "1", "-n", "5", "--years", "1930-1960",
                 env={"RECOMMENDER_CACHE": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].split() == ["movieId", "score", "title"] and len(lines) == 6
    years = [int(line.rsplit("(", 1)[1].rstrip(")")) for line in lines[1:]]
    assert all(1930 <= y <= 1960 for y in years)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["similar", "--movie", "424242"], "movieId 424242 is not in the model"),
        (["recommend", "--ratings", "1=9"], "movieId 1: rating 9.0 is not between 0.5 and 5"),
        (["recommend", "--ratings", "1=4.2"], "movieId 1: rating 4.2 is not between 0.5 and 5"),
        (["recommend", "--ratings", "1=5", "--years", "soon"], "--years expects"),
    ],
)
def test_bad_input_is_one_clear_line(small_dir, tmp_path, args, message):
    result = run(*args, "--movielens-dir", str(small_dir), "--algorithm", "popularity",
                 env={"RECOMMENDER_CACHE": str(tmp_path)})
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_missing_folder_explains_movielens_dir(tmp_path):
    result = run("recommend", "--movielens-dir", str(tmp_path / "none"), "--ratings", "1=5")
    assert result.returncode == 2 and "MOVIELENS_DIR" in result.stderr
