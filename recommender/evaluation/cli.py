"""``python -m recommender evaluate``: its options and what it runs."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from recommender.evaluation.baselines import standard_models
from recommender.evaluation.protocols import evaluate
from recommender.evaluation.report import build_report, format_table, write_reports
from recommender.settings import settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m recommender evaluate``."""
    parser.add_argument(
        "--movielens-dir",
        default=settings().movielens_dir,
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
