"""``python -m recommender evaluate``: its options and what it runs.

The evaluation has four sections, each writing its own committed report under ``docs/``:

* ``main``: the two new-user protocols for every model (evaluation.json|md, the chart);
* ``similar``: what ``similar(movie, 10)`` lists, with implicit's anchors (similar.json|md);
* ``niche``: held-out users of concentrated tastes (niche.json|md);
* ``groups``: the group rules of the movie night (groups.json|md).

``--sections similar`` reruns one alone; by default all four run, in that order.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from recommender.evaluation import groups, niche, report, similar
from recommender.evaluation.baselines import standard_models
from recommender.evaluation.protocols import evaluate
from recommender.settings import settings

SECTIONS = ("main", "similar", "niche", "groups")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m recommender evaluate``."""
    parser.add_argument(
        "--movielens-dir",
        default=settings().movielens_dir,
        help="MovieLens folder (default: $MOVIELENS_DIR, else the downloaded ml-latest-small)",
    )
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help="comma-separated sections to run: " + ", ".join(SECTIONS) + " (default: all)",
    )
    parser.add_argument("--folds", type=int, default=5, help="user folds (default 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the splits (default 0)")
    parser.add_argument(
        "--algorithms",
        help="comma-separated subset of: " + ", ".join(_model_names()) + " (default: all; "
        "the main section, and the similar section for the registered families among them)",
    )
    parser.add_argument(
        "--groups-per-fold",
        type=int,
        default=groups.GROUPS_PER_FOLD,
        help=f"groups section: groups per kind and size per fold (default "
        f"{groups.GROUPS_PER_FOLD})",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the report as JSON (one section's report; several: a JSON object by section)",
    )
    parser.add_argument(
        "--output-dir",
        default="docs",
        help="where each section writes its reports (default docs/; '' writes nothing)",
    )


def _model_names() -> list[str]:
    return [name.split(" ")[0] for name in standard_models()]


def command(args: argparse.Namespace) -> int:
    """Run the chosen sections, print their tables (or JSON) and write their reports."""
    from recommender.data import load_movielens

    sections = _sections(args.sections)
    _main_models(args.algorithms)  # an unknown name fails before the data loads
    data = load_movielens(args.movielens_dir)
    models = _main_models(args.algorithms, data.movies)
    say = None if args.json else lambda message: print(message, file=sys.stderr)
    reports = {}
    for section in sections:
        started = time.perf_counter()
        fields, result, module = RUNNERS[section](data, args, models, say)
        seconds = time.perf_counter() - started
        reports[section] = report.report_header(data, command_line(args, section), seconds)
        reports[section] |= fields
        if args.output_dir:
            module.write_reports(reports[section], result, Path(args.output_dir))
        if not args.json:
            print(f"\n## {section}\n\n{module.format_table(result)}")
    if args.json:
        print(json.dumps(reports[sections[0]] if len(sections) == 1 else reports, indent=2))
    return 0


def command_line(args: argparse.Namespace, section: str) -> str:
    """The command that reruns ``section`` with the options of this run."""
    parts = ["python -m recommender evaluate"]
    if args.folds != 5:
        parts.append(f"--folds {args.folds}")
    if args.seed != 0:
        parts.append(f"--seed {args.seed}")
    if args.algorithms:
        parts.append(f"--algorithms {args.algorithms}")
    if section == "groups" and args.groups_per_fold != groups.GROUPS_PER_FOLD:
        parts.append(f"--groups-per-fold {args.groups_per_fold}")
    parts.append(f"--sections {section}")
    dataset = Path(args.movielens_dir).name if args.movielens_dir else "ml-latest-small"
    return f"MOVIELENS_DIR=…/{dataset} " + " ".join(parts)


def _sections(text: str) -> list[str]:
    wanted = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in SECTIONS]
    if unknown or not wanted:
        raise ValueError(
            f"unknown section(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(SECTIONS)}"
        )
    return list(dict.fromkeys(wanted))


def _main_models(
    algorithms: str | None, movies: pd.DataFrame | None = None
) -> dict[str, Callable[[pd.DataFrame], Any]]:
    models = standard_models(movies)
    if not algorithms:
        return models
    wanted = [a.strip() for a in algorithms.split(",") if a.strip()]
    by_short = {name.split(" ")[0]: name for name in models}
    unknown = [a for a in wanted if a not in by_short]
    if unknown:
        raise ValueError(
            f"unknown algorithm(s) {', '.join(unknown)}; choose from {', '.join(by_short)}"
        )
    return {by_short[a]: models[by_short[a]] for a in wanted}


Runner = Callable[..., tuple[dict[str, Any], pd.DataFrame, Any]]


def _run_main(data, args, models, say) -> tuple[dict[str, Any], pd.DataFrame, Any]:
    result = evaluate(data.ratings, models, folds=args.folds, seed=args.seed, progress=say)
    return report.build_report(result, data, args), result, report


def _run_similar(data, args, models, say) -> tuple[dict[str, Any], pd.DataFrame, Any]:
    from recommender.models import ALGORITHMS

    algorithms = None
    if args.algorithms:  # the registered families among --algorithms ("default" is one)
        names = [name.split(" ")[0] for name in models]
        algorithms = [n for n in names if n in ALGORITHMS and n != "popularity"]
    result = similar.evaluate(data.ratings, data.movies, algorithms, progress=say)
    return similar.section_report(result), result, similar


def _run_niche(data, args, models, say) -> tuple[dict[str, Any], pd.DataFrame, Any]:
    result = niche.evaluate(
        data.ratings, data.movies, niche.standard_models(data.movies), args.folds, args.seed,
        say,
    )
    return niche.section_report(result, args.folds, args.seed), result, niche


def _run_groups(data, args, models, say) -> tuple[dict[str, Any], pd.DataFrame, Any]:
    from recommender.models import DEFAULT_ALGORITHM, train

    result = groups.evaluate_groups(
        data.ratings, lambda r: train(r, DEFAULT_ALGORITHM, movies=data.movies),
        folds=args.folds, seed=args.seed,
        groups_per_fold=args.groups_per_fold, progress=say,
    )
    report = groups.section_report(
        result, DEFAULT_ALGORITHM, args.folds, args.seed, args.groups_per_fold
    )
    return report, result, groups


RUNNERS: dict[str, Runner] = {
    "main": _run_main, "similar": _run_similar, "niche": _run_niche, "groups": _run_groups,
}
