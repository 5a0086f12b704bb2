"""Rating import speed on big Letterboxd and IMDb files, mostly titles the catalogue lacks.

    MOVIELENS_DIR=... .venv/bin/python -m benchmarks.bench_imports [--repeats 3] [--sizes 2 5]

Each file is generated (seeded) to the size asked, in MB: 90% invented titles (the worst
case: every one goes through fuzzy matching) and 10% catalogue titles written as Letterboxd
writes them. The matcher is built once, as the app does. Prints a table, then JSON (medians).
Target from the issue: a 5 MB file within 10 s.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from typing import Any

import pandas as pd

from recommender.data import load_movielens
from recommender.imports import MAX_IMPORT_BYTES, TitleMatcher, import_ratings
from recommender.settings import settings

TARGET_S = {5: 10.0}
_SYLLABLES = ["ka", "zor", "bel", "qui", "nox", "tra", "mir", "vel", "dun", "sha", "lo", "pex"]


def invented_title(rng: random.Random) -> str:
    words = ["".join(rng.choices(_SYLLABLES, k=rng.randint(1, 3))).title()
             for _ in range(rng.randint(1, 4))]
    return " ".join(words)


def letterboxd_file(movies: pd.DataFrame, megabytes: float, seed: int = 0) -> bytes:
    """A Letterboxd ratings.csv of about ``megabytes`` (capped at the import limit)."""
    rng = random.Random(seed)
    known = movies[["display_title", "year"]].dropna().to_records(index=False).tolist()
    limit = min(int(megabytes * 2**20), MAX_IMPORT_BYTES)
    lines = ["Date,Name,Year,Letterboxd URI,Rating"]
    size = len(lines[0]) + 1
    while True:
        if rng.random() < 0.1:
            title, year = known[rng.randrange(len(known))]
            year = int(year)
        else:
            title, year = invented_title(rng), rng.randint(1920, 2024)
        title = '"' + str(title).replace('"', '""') + '"'
        uri = f"https://boxd.it/{rng.randrange(10**6):x}"
        line = f"2023-01-{rng.randint(1, 28):02d},{title},{year},{uri},{rng.randint(1, 10) / 2}"
        if size + len(line.encode()) + 1 > limit:
            break
        lines.append(line)
        size += len(line.encode()) + 1
    return ("\n".join(lines) + "\n").encode("utf-8")


def imdb_file(movies: pd.DataFrame, megabytes: float, seed: int = 0) -> bytes:
    """An IMDb export of about ``megabytes``: tt ids the catalogue lacks (suggestions path)."""
    rng = random.Random(seed)
    limit = min(int(megabytes * 2**20), MAX_IMPORT_BYTES)
    lines = ["Const,Your Rating,Date Rated,Title,Year,Title Type"]
    size = len(lines[0]) + 1
    while True:
        line = (f"tt{rng.randrange(10**7, 10**8)},{rng.randint(1, 10)},2023-01-01,"
                f"{invented_title(rng)},{rng.randint(1920, 2024)},Movie")
        if size + len(line.encode()) + 1 > limit:
            break
        lines.append(line)
        size += len(line.encode()) + 1
    return ("\n".join(lines) + "\n").encode("utf-8")


def run(repeats: int = 3, sizes: tuple[float, ...] = (2, 5)) -> dict[str, Any]:
    data = load_movielens(settings().movielens_dir)
    started = time.perf_counter()
    matcher = TitleMatcher(data.movies)
    build_s = time.perf_counter() - started
    rows = []
    for megabytes in sizes:
        for kind, make in (("letterboxd", letterboxd_file), ("imdb", imdb_file)):
            raw = make(data.movies, megabytes)
            seconds, report = [], None
            for _ in range(repeats):
                started = time.perf_counter()
                report = import_ratings(raw, data.movies, data.links, matcher=matcher)
                seconds.append(time.perf_counter() - started)
            assert report is not None
            rows.append({
                "file": kind, "mb": round(len(raw) / 2**20, 2), "rows": report.rows_read,
                "matched": report.matched, "unmatched": report.unmatched_count,
                "with_suggestions": sum(bool(u.suggestions) for u in report.unmatched),
                "median_s": statistics.median(seconds), "max_s": max(seconds),
                "target_s": TARGET_S.get(round(megabytes)),
            })
    return {"movies": len(data.movies), "matcher_build_s": build_s, "repeats": repeats,
            "imports": rows}


def table(result: dict[str, Any]) -> str:
    lines = [f"catalogue {result['movies']} movies, matcher built in "
             f"{result['matcher_build_s']:.2f} s, {result['repeats']} repeats (medians)",
             f"{'file':<11}{'MB':>6}{'rows':>9}{'matched':>9}{'unmatched':>10}"
             f"{'suggested':>10}{'median':>10}{'max':>9}{'target':>8}"]
    for row in result["imports"]:
        target = f"{row['target_s']:.0f} s" if row["target_s"] else "-"
        lines.append(f"{row['file']:<11}{row['mb']:>6.2f}{row['rows']:>9}{row['matched']:>9}"
                     f"{row['unmatched']:>10}{row['with_suggestions']:>10}"
                     f"{row['median_s']:>8.2f} s{row['max_s']:>7.2f} s{target:>8}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", type=float, nargs="+", default=[2, 5], help="MB per file")
    args = parser.parse_args(argv)
    result = run(args.repeats, tuple(args.sizes))
    print(table(result))
    print(json.dumps(result, indent=2))
    met = all(r["median_s"] < r["target_s"] for r in result["imports"] if r["target_s"])
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
