"""Latency of :class:`recommender.search.TitleIndex` on ml-latest-small and on 87k titles.

Run ``MOVIELENS_DIR=/path/to/ml-latest-small python -m benchmarks.bench_search``. It prints a
table and then one line of JSON: build time and p50/p95/p99 per-query latency (milliseconds,
single thread) for each catalogue. The 87k catalogue keeps the real titles and adds titles made
by splicing the start of one real title onto the end of another (fixed seed), so words, lengths
and alternative titles look like MovieLens. Not a pass/fail test; targets: p95 < 5 ms on 9.7k
titles, < 20 ms on 87k.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import pandas as pd

from recommender.data import load_movielens
from recommender.search import TitleIndex
from recommender.settings import settings

# What people type: typos, lower case, missing punctuation, partial titles, years, sequels.
QUERIES = [
    "forest gump", "the matrix", "matrix", "godfather 2", "godfather part ii", "lord of the r",
    "lotr fellowship", "star wars", "star wars empire strikes back", "harry poter",
    "harry potter and the philosophers stone", "pulp fiction", "shawshank", "shawshank redemtion",
    "jurrasic park", "titanic 1997", "amelie", "amélie", "the dark night", "inception",
    "interstelar", "back to the future part iii", "toy story 3", "finding nemo",
    "silence of the lambs", "fight club", "se7en", "wall-e", "walle", "spirited away",
    "terminator 2", "ghostbusters", "heat 1995", "hamlet 1996", "king kong 2005",
    "pirates of the caribean", "indiana jones", "monsters inc", "braveheart", "the lion king",
    "schindlers list", "goodfellas", "gladiator 2000", "avengers", "x-men", "spiderman",
    "batman begins", "memento", "mission impossible 3", "die hard", "blade runer", "alien",
    "casablanca", "eternal sunshine of the spotless", "kill bill vol 2", "the incredibles",
    "wallace & gromit", "city of god", "la vita e bella", "usual suspects", "a", "the",
    "Star Wars: Episode IV - A New Hope (1977)", "noting hill", "american beauty",
]


def synthetic_catalogue(
    movies: pd.DataFrame, counts: pd.Series, size: int = 87_000, seed: int = 0
) -> tuple[pd.DataFrame, pd.Series]:
    """The real titles plus spliced ones up to ``size``, with popularity drawn from the real."""
    rng = np.random.default_rng(seed)
    names = movies["title"].str.replace(r"\s*\(\d{4}[^()]*\)\s*$", "", regex=True)
    words = [str(n).split() or ["Untitled"] for n in names]
    extra = size - len(movies)
    first, second = rng.integers(len(words), size=(2, extra))
    years = rng.integers(1920, 2024, size=extra)
    titles = []
    for a, b, year in zip(first, second, years, strict=True):
        head = words[a][: rng.integers(1, len(words[a]) + 1)]
        tail = words[b][rng.integers(0, len(words[b])) :]
        titles.append(f"{' '.join(head + tail)} ({year})")
    new_ids = np.arange(extra, dtype=np.int64) + int(movies["movieId"].max()) + 1
    catalogue = pd.concat(
        [movies[["movieId", "title"]], pd.DataFrame({"movieId": new_ids, "title": titles})],
        ignore_index=True,
    )
    catalogue["movieId"] = catalogue["movieId"].astype("int32")
    real = counts.reindex(movies["movieId"].to_numpy()).fillna(0).to_numpy()
    popularity = pd.Series(
        np.r_[real, rng.choice(real, size=extra)], index=catalogue["movieId"].to_numpy()
    )
    return catalogue, popularity


def measure(index: TitleIndex, queries: list[str], repeats: int) -> dict[str, float]:
    """Per-query latency over ``repeats`` passes after one warm-up pass, in milliseconds.

    Wall time is what a user waits; thread CPU time is reported next to it because on a busy
    shared machine the wall time also counts the time the process waited for a core.
    """
    for query in queries:
        index.search(query)
    wall, cpu = [], []
    for _ in range(repeats):
        for query in queries:
            start, start_cpu = time.perf_counter(), time.thread_time()
            index.search(query)
            wall.append(time.perf_counter() - start)
            cpu.append(time.thread_time() - start_cpu)
    result: dict[str, float] = {"queries": len(wall)}
    for name, seconds in (("", wall), ("cpu_", cpu)):
        ms = np.array(seconds) * 1000
        for p in (50, 95, 99):
            result[f"{name}p{p}_ms"] = round(float(np.percentile(ms, p)), 3)
        result[f"{name}max_ms"] = round(float(ms.max()), 3)
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=settings().movielens_dir,
                        help="ml-latest-small folder (default: $MOVIELENS_DIR)")
    parser.add_argument("--size", type=int, default=87_000, help="synthetic catalogue size")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if not args.data:
        parser.error("set MOVIELENS_DIR (or --data) to the ml-latest-small folder")

    data = load_movielens(args.data)
    counts = data.movie_stats["n_ratings"]
    catalogues = {"ml-latest-small": (data.movies, counts)}
    catalogues[f"synthetic-{args.size // 1000}k"] = synthetic_catalogue(
        data.movies, counts, args.size
    )
    results = {}
    for name, (movies, popularity) in catalogues.items():
        start = time.perf_counter()
        index = TitleIndex(movies, popularity)
        build_s = time.perf_counter() - start
        results[name] = {"titles": len(movies), "build_s": round(build_s, 2),
                         **measure(index, QUERIES, args.repeats)}

    columns = ["p50_ms", "p95_ms", "p99_ms", "cpu_p50_ms", "cpu_p95_ms", "cpu_p99_ms"]
    print(f"{'catalogue':<18}{'titles':>7}{'build s':>8}"
          + "".join(f"{c.removesuffix('_ms').replace('_', ' '):>9}" for c in columns)
          + "   (milliseconds per query)")
    for name, r in results.items():
        print(f"{name:<18}{r['titles']:>7}{r['build_s']:>8.2f}"
              + "".join(f"{r[c]:>9.2f}" for c in columns))
    report = {"benchmark": "title_search", "python": platform.python_version(),
              "cpu_count": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 1),
              "workers": 1, "catalogues": results}
    print(json.dumps(report))
    return report


if __name__ == "__main__":
    main(sys.argv[1:])
