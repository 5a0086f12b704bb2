"""Command line: ``python -m recommender train | recommend | similar | evaluate --help``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import pandas as pd

from recommender import evaluation
from recommender.data import DataError, MovieLens, load_movielens
from recommender.models import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    ModelFileError,
    Recommender,
    UnknownMovieError,
    UnknownUserError,
    load_model,
    load_or_train,
    make,
)
from recommender.ratings import check_rating


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; every failure is one ``error:`` line on stderr and exit status 2."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        _check_outputs(args)  # before the work, not after a long evaluation
        return args.run(args)
    except (DataError, ModelFileError, UnknownMovieError, UnknownUserError, ValueError,
            OSError) as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 2


class _Parser(argparse.ArgumentParser):
    """argparse with the CLI's one-line errors (argparse prints usage, then the error)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {_one_line(message)} (see {self.prog} --help)\n")


def _one_line(error: object) -> str:
    return " ".join(str(error).split())


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse an output path that cannot be written, before any data is loaded."""
    if getattr(args, "output", None):
        output = Path(args.output)
        if output.exists() and not (output.is_dir() and (output / "model.json").is_file()):
            raise ValueError(f"--output {output} exists and is not a saved model")
        _check_writable(output.parent, "--output")
    if getattr(args, "output_dir", None):
        folder = Path(args.output_dir)
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"--output-dir {folder} is not a folder")
        _check_writable(folder, "--output-dir")


def _check_writable(folder: Path, option: str) -> None:
    existing = folder.absolute()
    while not existing.exists():  # the folders still to create go in the nearest existing one
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"{option}: {existing} is not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{option}: cannot write in {existing}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m recommender", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, run, help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(run=run)
        return sub

    train = command("train", _train, "Fit a model and save it (skipped when already saved).")
    _data_arguments(train)
    train.add_argument("--output", help="save the model to this folder instead of the cache")
    train.add_argument(
        "--engine", choices=("local", "spark"), default="local",
        help="local: --algorithm in this process (default); spark: Spark MLlib's implicit ALS "
        "(spark-als, needs requirements-spark.txt and Java 17)",
    )
    train.add_argument("--spark-master", default="local[2]",
                       help="local[N], spark://HOST:PORT, yarn or k8s://... (default local[2])")
    train.add_argument("--spark-ratings", metavar="PATH",
                       help="ratings (userId, movieId, rating) as CSV or Parquet read by Spark")

    recommend = command("recommend", _recommend, "Top-n movies for a new user's ratings.")
    _data_arguments(recommend)
    recommend.add_argument(
        "--ratings", required=True, help='movieId=stars pairs, e.g. "1=5,3114=4.5"'
    )
    _query_arguments(recommend)

    similar = command("similar", _similar, "Movies most like one movie.")
    _data_arguments(similar)
    similar.add_argument("--movie", type=int, required=True, help="movieId, e.g. 1 (Toy Story)")
    _query_arguments(similar)

    evaluate = command("evaluate", evaluation.command, "Cross-validate the models (5 folds).")
    evaluation.add_arguments(evaluate)
    return parser


def _data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--movielens-dir", help="MovieLens folder (default: $MOVIELENS_DIR, else download)"
    )
    parser.add_argument(
        "--algorithm", default=DEFAULT_ALGORITHM, choices=sorted(ALGORITHMS),
        help=f"default: {DEFAULT_ALGORITHM}",
    )
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE",
        help="hyperparameter, repeatable, e.g. --param factors=128 (JSON values); a part's "
        "with its prefix, e.g. --param ease__regularization=300 for the hybrid",
    )
    parser.add_argument("--model", help="use a model saved in this folder instead of training")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _query_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", type=int, default=10, help="how many movies (default 10)")
    parser.add_argument("--genres", help="comma-separated genres, any of them")
    parser.add_argument("--years", help="year range, e.g. 1990-1999")
    parser.add_argument("--min-ratings", type=int, help="only movies with this many ratings")


def _hyperparameters(pairs: list[str]) -> dict:
    params = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValueError(f"--param expects NAME=VALUE, got {pair!r}")
        try:
            params[name] = json.loads(value)
        except json.JSONDecodeError:
            params[name] = value
    return params


def _model(args: argparse.Namespace, data: MovieLens) -> tuple[Recommender, float]:
    started = time.perf_counter()
    if args.model:
        model = load_model(args.model)
    else:
        model = load_or_train(
            data.ratings, args.algorithm, movies=data.movies, **_hyperparameters(args.param)
        )
    return model, time.perf_counter() - started


def _filters(args: argparse.Namespace) -> dict:
    filters = {"min_ratings": args.min_ratings}
    if args.genres:
        filters["genres"] = [g.strip() for g in args.genres.split(",") if g.strip()]
    if args.years:
        first, sep, last = args.years.partition("-")
        try:
            filters["years"] = (int(first), int(last or first))
        except ValueError:
            raise ValueError(
                f"--years expects FIRST-LAST, e.g. 1990-1999, got {args.years!r}"
            ) from None
    return filters


def parse_ratings(text: str) -> dict[int, float]:
    """ "1=5,3114=4.5" -> {1: 5.0, 3114: 4.5}; a malformed pair names itself, a rating that
    breaks the rating rule names its movie."""
    ratings = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        movie, sep, stars = pair.partition("=")
        try:
            if not sep:
                raise ValueError
            movie_id, value = int(movie), float(stars)
        except ValueError:
            raise ValueError(f"--ratings expects movieId=stars pairs, got {pair!r}") from None
        movie_id, value = check_rating(movie_id, value)
        ratings[movie_id] = value
    return ratings


def _train(args: argparse.Namespace) -> int:
    if args.engine == "spark":
        from recommender.training.spark import train_command

        return train_command(args, _hyperparameters(args.param))
    data = load_movielens(args.movielens_dir)
    started = time.perf_counter()
    if args.output:
        model = make(args.algorithm, **_hyperparameters(args.param))
        folder = model.fit(data.ratings, data.movies).save(args.output)
    else:
        model, _ = _model(args, data)
        folder = "the model cache"
    seconds = time.perf_counter() - started
    summary = {
        "algorithm": model.algorithm,
        "hyperparameters": model.hyperparameters(),
        "fingerprint": model.fingerprint_,
        "saved_to": str(folder),
        "seconds": round(seconds, 3),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{model!r} ready in {seconds:.2f} s, saved to {folder}")
    return 0


def _recommend(args: argparse.Namespace) -> int:
    data = load_movielens(args.movielens_dir)
    model, _ = _model(args, data)
    result = model.recommend(parse_ratings(args.ratings), n=args.n, **_filters(args))
    unknown = result.attrs.get("unknown_movie_ids", [])
    if unknown:
        print(f"note: skipped unknown movieIds {unknown}", file=sys.stderr)
    return _print(result, data, args.json)


def _similar(args: argparse.Namespace) -> int:
    data = load_movielens(args.movielens_dir)
    model, _ = _model(args, data)
    return _print(model.similar(args.movie, n=args.n, **_filters(args)), data, args.json)


def _print(result: pd.DataFrame, data: MovieLens, as_json: bool) -> int:
    table = result.merge(data.movies[["movieId", "title"]], on="movieId", how="left")
    if as_json:
        print(json.dumps(table.astype({"title": object}).to_dict(orient="records"), indent=2))
    else:
        print(table[["movieId", "score", "title"]].to_string(index=False, float_format="%.4f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
