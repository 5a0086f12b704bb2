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


@pytest.fixture()
def a_file(tmp_path) -> Path:
    file = tmp_path / "a_file"
    file.write_text("not a model")
    return file


HOSTILE = [
    (["train", "--param", "colour=1"], "no hyperparameter 'colour'"),
    (["train", "--algorithm", "als", "--param", "factors=abc"], "factors='abc' is not an"),
    (["train", "--algorithm", "als", "--param", "factors=1e999"], "factors=inf is not an"),
    (["train", "--algorithm", "als", "--param", "factors"], "--param expects NAME=VALUE"),
    (["train", "--algorithm", "ease", "--param", "regularization=NaN"], "regularization=nan"),
    (["train", "--output", "{file}"], "exists and is not a saved model"),
    (["train", "--output", "{file}/below"], "is not a folder"),
    (["recommend", "--ratings", "99999999999999999999=4"], "movieId 99999999999999999999"),
    (["recommend", "--ratings", "1.7=4"], "'1.7=4'"),
    (["recommend", "--ratings", "1=5", "--model", "{file}"], "is not a folder"),
    (["recommend", "--ratings", "1=5", "--model", "{tmp}/missing"], "does not exist"),
    (["recommend", "--ratings", "1=5", "-n", "-3"], "n must be >= 0"),
    (["recommend", "--ratings", "1=5", "-n", "2.5"], "argument -n: invalid int value"),
    (["recommend", "--ratings", "1=5", "--genres", "Nope"], "unknown genre(s) ['Nope']"),
    (["recommend", "--ratings", "1=5", "--algorithm", "nope"], "invalid choice: 'nope'"),
    (["similar", "--movie", "99999999999999999999"], "movieId 99999999999999999999 is out"),
    (["similar"], "the following arguments are required: --movie"),
]


@pytest.mark.parametrize(("args", "message"), HOSTILE, ids=lambda a: " ".join(a)[:40])
def test_hostile_input_is_one_error_line(small_dir, tmp_path, a_file, capsys, args, message):
    from recommender.__main__ import main

    args = [a.format(file=a_file, tmp=tmp_path) for a in args]
    try:
        status = main([*args, "--movielens-dir", str(small_dir)]
                      + ([] if "--algorithm" in args else ["--algorithm", "popularity"]))
    except SystemExit as exit_:  # argparse's own errors
        status = exit_.code
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err


def test_evaluate_output_dir_is_checked_before_the_evaluation(small_dir, a_file):
    result = run("evaluate", "--movielens-dir", str(small_dir / "missing"),
                 "--output-dir", str(a_file))
    # The output is refused before the (missing) data is even looked for.
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"error: --output-dir {a_file} is not a folder\n"


def test_a_damaged_model_folder_is_one_line(small_dir, tmp_path):
    folder = tmp_path / "model"
    trained = run("train", "--movielens-dir", str(small_dir), "--algorithm", "popularity",
                  "--output", str(folder))
    assert trained.returncode == 0, trained.stderr
    (folder / "n_ratings.npy").write_bytes(b"\x93NUMPY")
    result = run("similar", "--movielens-dir", str(small_dir), "--movie", "1",
                 "--model", str(folder))
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "checksum mismatch" in result.stderr
    assert result.stderr.count("\n") == 1
