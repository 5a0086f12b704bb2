"""How well ``similar(movie, 10)`` lists what people expect.

Run: ``python -m recommender evaluate --sections similar`` (writes docs/similar.json|md);
``python -m recommender.evaluation.similar --tune`` grid-searches the blend's weights.

Every model is trained on all of ml-latest-small (``similar`` predicts nothing held out) and
asked for ten movies like each query movie. Four figures per model:

* **franchise recall**: for each movie of a hand-made franchise list
  (recommender/evaluation/franchises.csv, written from knowledge of the films, not from the
  title heuristic in :mod:`recommender.models.content`), the share of its franchise siblings
  found in its top 10, hits / min(10, siblings), averaged over movies. Queries and siblings are the
  franchise members with at least ``MIN_RATINGS`` ratings, so a sequel nobody rated does
  not count against a model.
* **genre share**: over the 300 most-rated movies, the share of listed movies that share at
  least one genre with the query.
* **blockbuster share**: over the same 300 queries, the median share of each list taken by
  the 50 most-rated movies (lower: the list is about the movie, not about what is popular).
* **p95 ms**: 95th percentile of one public ``similar(movie, 10)`` call over those queries.

Anchors: implicit's item-kNN (``CosineRecommender``) and implicit's ALS with default
settings on the star matrix, through their own ``similar_items``. Each registry model is
also measured on its collaborative similarity alone (its ``similarity_scores`` before the
content blend), to show what the blend adds.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import sys
import time
import warnings
import zlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.evaluation.report import table, write_section
from recommender.models import content
from recommender.models.base import Recommender
from recommender.models.vocabulary import vocabulary

FRANCHISES_FILE = Path(__file__).with_name("franchises.csv")
MIN_RATINGS = 5
TOP_QUERIES = 300
BLOCKBUSTERS = 50
K = 10
GOALS = {"franchise_recall": 0.90, "genre_share": 0.85, "blockbuster_share": 0.20, "p95_ms": 1.0}

SimilarFn = Callable[[int, int], np.ndarray]


def load_franchises(path: str | Path = FRANCHISES_FILE) -> dict[str, np.ndarray]:
    """Franchise name -> its movieIds, from a CSV of ``franchise,movieIds`` (ids "
    "space-separated)."""
    rows = [line for line in Path(path).read_text().splitlines() if not line.startswith("#")]
    out = {}
    for number, row in enumerate(csv.DictReader(rows), start=2):
        try:
            ids = np.array([int(x) for x in row["movieIds"].split()], dtype=np.int64)
        except (KeyError, AttributeError, ValueError):
            raise ValueError(f"{path}: row {number} is not 'franchise,movieIds': {row}") from None
        if len(ids) < 2:
            raise ValueError(f"{path}: franchise {row['franchise']!r} has fewer than 2 movies")
        out[row["franchise"]] = ids
    return out


def franchise_recall(
    similar: SimilarFn, franchises: Mapping[str, np.ndarray], eligible: set[int], k: int = K
) -> tuple[float, int]:
    """Mean over eligible franchise movies of hits / min(k, siblings); and the number of queries."""
    values = []
    for ids in franchises.values():
        members = [int(m) for m in ids if int(m) in eligible]
        for movie in members:
            siblings = set(members) - {movie}
            if siblings:
                found = set(similar(movie, k).tolist())
                values.append(len(found & siblings) / min(k, len(siblings)))
    return (float(np.mean(values)) if values else float("nan")), len(values)


def list_figures(
    similar: SimilarFn,
    queries: np.ndarray,
    genres: Mapping[int, int],
    blockbusters: set[int],
    k: int = K,
) -> tuple[float, float]:
    """Genre share (pooled over all listed movies) and median blockbuster share per list."""
    shared, listed, blockbuster = 0, 0, []
    for movie in queries.tolist():
        found = similar(movie, k).tolist()
        bits = genres.get(movie, 0)
        shared += sum(bool(genres.get(m, 0) & bits) for m in found)
        listed += len(found)
        blockbuster.append(sum(m in blockbusters for m in found) / max(len(found), 1))
    return shared / max(listed, 1), float(np.median(blockbuster))


def timing_p95(model: Any, queries: Iterable[int], k: int = K) -> float:
    """95th percentile in ms of one public ``model.similar(movie, k)`` call."""
    queries = list(queries)
    model.similar(queries[0], n=k)  # first call builds lazy caches
    times = []
    for movie in queries:
        start = time.perf_counter()
        model.similar(movie, n=k)
        times.append((time.perf_counter() - start) * 1000)
    return float(np.percentile(times, 95))


def collaborative_only(model: Recommender) -> SimilarFn:
    """``similar`` ranked by the model's collaborative similarity alone (no content blend)."""

    def similar(movie_id: int, n: int) -> np.ndarray:
        idx = model.vocabulary_.movie_index(movie_id)
        return top_ids(model, model.similarity_scores(idx), idx, n)

    return similar


def top_ids(model: Recommender, scores: np.ndarray, movie_idx: int, n: int) -> np.ndarray:
    """The ``n`` best-scored movieIds but ``movie_idx``, ties broken as ``similar`` does."""
    scores = np.array(scores, dtype=np.float32)
    scores[movie_idx] = -np.inf
    top = np.argpartition(-scores, n)[: n + 1]
    top = top[np.isfinite(scores[top])]
    top = top[np.lexsort((model.movie_ids_[top], -model.n_ratings_[top], -scores[top]))][:n]
    return model.movie_ids_[top]


def public(model: Any) -> SimilarFn:
    return lambda movie_id, n: model.similar(movie_id, n=n)["movieId"].to_numpy()


class ImplicitSimilar:
    """An implicit model's ``similar_items`` behind the ``similar(movie_id, n)`` call."""

    def __init__(self, name: str, ratings: pd.DataFrame):
        from threadpoolctl import threadpool_limits

        self.movie_ids_, movie_idx = vocabulary(ratings["movieId"].to_numpy())
        _, user_idx = vocabulary(ratings["userId"].to_numpy())
        stars = sp.csr_matrix(
            (ratings["rating"].to_numpy(np.float32), (user_idx, movie_idx)),
            shape=(user_idx.max() + 1, len(self.movie_ids_)),
        )
        with threadpool_limits(1, "blas"):
            if name == "implicit item-kNN":
                from implicit.nearest_neighbours import CosineRecommender

                self._model = CosineRecommender(K=100)
            else:
                from implicit.cpu.als import AlternatingLeastSquares

                self._model = AlternatingLeastSquares(random_state=0)
            with warnings.catch_warnings():  # item-kNN converts to COO itself, then warns
                warnings.filterwarnings("ignore", "Method expects CSR input")
                self._model.fit(stars, show_progress=False)

    def similar(self, movie_id: int, n: int = K) -> pd.DataFrame:
        idx = int(np.searchsorted(self.movie_ids_, movie_id))
        ids, scores = self._model.similar_items(idx, N=n + 1)
        keep = ids != idx
        return pd.DataFrame({"movieId": self.movie_ids_[ids[keep]][:n], "score": scores[keep][:n]})


ANCHORS = ("implicit item-kNN", "implicit ALS")


def evaluate(
    ratings: pd.DataFrame,
    movies: pd.DataFrame,
    algorithms: Iterable[str] | None = None,
    franchises: Mapping[str, np.ndarray] | None = None,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """One row per model (and per collaborative-only variant, and per anchor) of the figures."""
    from recommender.models import ALGORITHMS, DEFAULT_ALGORITHM, train

    say = progress or (lambda _message: None)
    franchises = load_franchises() if franchises is None else franchises
    counts = ratings["movieId"].value_counts()
    eligible = set(counts[counts >= MIN_RATINGS].index.tolist())
    order = counts.index.to_numpy()
    queries, blockbusters = order[:TOP_QUERIES], set(order[:BLOCKBUSTERS].tolist())
    info = movies.drop_duplicates("movieId").set_index("movieId")
    names = sorted({g for text in info["genres"].dropna() for g in str(text).split("|")})
    genres = {
        int(m): sum(1 << names.index(g) for g in str(text).split("|"))
        for m, text in info["genres"].dropna().items()
    }

    def measure(name: str, similar: SimilarFn, timed: Any | None) -> dict[str, Any]:
        recall, n_queries = franchise_recall(similar, franchises, eligible)
        genre_share, blockbuster_share = list_figures(similar, queries, genres, blockbusters)
        row = {
            "model": name,
            "franchise_recall": recall,
            "genre_share": genre_share,
            "blockbuster_share": blockbuster_share,
            "p95_ms": timing_p95(timed, queries) if timed is not None else float("nan"),
            "franchise_queries": n_queries,
        }
        say(f"{name}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items() if k != "model"))
        return row

    rows = []
    for anchor in ANCHORS:
        model = ImplicitSimilar(anchor, ratings)
        rows.append(measure(anchor, public(model), model))
    wanted = list(algorithms) if algorithms else [a for a in ALGORITHMS if a != "popularity"]
    for algorithm in wanted:
        model = train(ratings, algorithm, movies=movies)
        label = f"default ({algorithm})" if algorithm == DEFAULT_ALGORITHM else algorithm
        rows.append(measure(f"{label}, collaborative only", collaborative_only(model), None))
        rows.append(measure(label, public(model), model))
    return pd.DataFrame(rows)


# --- tuning the blend -------------------------------------------------------------------


def franchise_halves(franchises: Mapping[str, np.ndarray]) -> tuple[dict, dict]:
    """Split franchises in two by a hash of their names: tune on one, check on the other."""
    halves: tuple[dict, dict] = ({}, {})
    for name, ids in franchises.items():
        halves[zlib.crc32(name.encode()) % 2][name] = ids
    return halves


def tune(
    ratings: pd.DataFrame,
    movies: pd.DataFrame,
    algorithm: str | None = None,
    say: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Grid over the blend's weights; each row: weights, recall on both halves, genre share."""
    from recommender.models import DEFAULT_ALGORITHM, train

    model = train(ratings, algorithm or DEFAULT_ALGORITHM, movies=movies)
    tune_half, check_half = franchise_halves(load_franchises())
    counts = ratings["movieId"].value_counts()
    eligible = set(counts[counts >= MIN_RATINGS].index.tolist())
    queries, blockbusters = counts.index.to_numpy()[:TOP_QUERIES], set(counts.index[:BLOCKBUSTERS])
    genres = dict(zip(model.movie_ids_.tolist(), model.genre_bits_.tolist(), strict=True))
    cf_cache: dict[int, np.ndarray] = {}

    def similar_with(weights: content.Weights) -> SimilarFn:
        def similar(movie_id: int, n: int) -> np.ndarray:
            idx = model.vocabulary_.movie_index(movie_id)
            if idx not in cf_cache:
                cf_cache[idx] = model.similarity_scores(idx)
            scores = content.blend(
                cf_cache[idx], idx, model.series_, model.genre_bits_, model.years_,
                model.vocabulary_.title_similarity(idx), weights=weights,
            )
            return top_ids(model, scores, idx, n)

        return similar

    rows = []
    grid = itertools.product((0.5, 1.0, 2.0), (0.5, 0.75, 1.0, 1.25), (0.1, 0.25), (0, 1, 2, 2.5))
    for series, genre, year, title in grid:
        weights = content.Weights(series=series, genre=genre, year=year, title=title)
        similar = similar_with(weights)
        tuned, _ = franchise_recall(similar, tune_half, eligible)
        checked, _ = franchise_recall(similar, check_half, eligible)
        share, blockbuster = list_figures(similar, queries, genres, blockbusters)
        row = {"series": series, "genre": genre, "year": year, "title": title,
               "recall_tune": tuned, "recall_check": checked, "genre_share": share,
               "blockbuster": blockbuster}
        say(json.dumps({k: round(v, 3) for k, v in row.items()}))
        rows.append(row)
    return rows


# --- reports ----------------------------------------------------------------------------


def format_table(result: pd.DataFrame, markdown: bool = False) -> str:
    """The figures per model as an aligned text table or a Markdown table."""
    header = ["model", "franchise recall", "genre share", "blockbuster share", "similar p95 ms"]
    rows = [
        [
            r["model"],
            f"{r['franchise_recall']:.3f}",
            f"{r['genre_share']:.3f}",
            f"{r['blockbuster_share']:.3f}",
            "" if np.isnan(r["p95_ms"]) else f"{r['p95_ms']:.2f}",
        ]
        for r in result.to_dict("records")
    ]
    return table(header, rows, markdown)


def goals_met(result: pd.DataFrame) -> bool | None:
    """Whether the default model (with its blend) meets every goal; None when not measured."""
    default = result[result["model"].str.startswith("default") & ~result["model"].str.contains(
        "only"
    )]
    if default.empty:
        return None
    row = default.iloc[0]
    return bool(
        row["franchise_recall"] >= GOALS["franchise_recall"]
        and row["genre_share"] >= GOALS["genre_share"]
        and row["blockbuster_share"] <= GOALS["blockbuster_share"]
        and row["p95_ms"] <= GOALS["p95_ms"]
    )


def markdown_report(report: dict[str, Any], result: pd.DataFrame) -> str:
    """docs/similar.md: the figures and how they are measured."""
    met = {True: "**met**.", False: "**not met**.", None: "(default model not measured)."}
    return "\n".join([
        "# Similar movies",
        "",
        f"Produced by `{report['command']}` on {report['date']} ({report['dataset']}: "
        f"{report['n_ratings']:,} ratings; {report['n_franchises']} hand-made franchises, "
        f"{report['franchise_queries']} franchise movies with ≥ {MIN_RATINGS} ratings as "
        f"queries; {report['cpu_count']} CPU cores, {report['seconds']:.0f} s). Do not edit by "
        "hand: rerun the command.",
        "",
        "Every model is trained on all ratings and asked for `similar(movie, 10)`.",
        "**Franchise recall**: share of a franchise movie's siblings in its top 10",
        "(hits / min(10, siblings)), mean over movies (recommender/evaluation/franchises.csv).",
        "**Genre share**: listed movies sharing a genre with the query, over the "
        f"{TOP_QUERIES} most-rated movies.",
        f"**Blockbuster share**: median share of a list taken by the {BLOCKBUSTERS} most-rated "
        "movies. **p95**: one public `similar` call.",
        '"collaborative only": the model\'s own similarity before the content blend of',
        "`recommender/models/content.py`.",
        "",
        format_table(result, markdown=True),
        "",
        f"Goals for the default model: franchise recall ≥ {GOALS['franchise_recall']}, genre "
        f"share ≥ {GOALS['genre_share']}, blockbuster share ≤ {GOALS['blockbuster_share']}, "
        f"p95 ≤ {GOALS['p95_ms']} ms: {met[goals_met(result)]}",
        "",
        f"Blend weights: {report['weights']}. Latencies depend on the machine's load.",
        "",
    ])


def write_reports(report: dict[str, Any], result: pd.DataFrame, folder: Path) -> list[Path]:
    """Write similar.json and similar.md into ``folder``."""
    return write_section(folder, "similar", report, markdown_report(report, result))


def section_report(result: pd.DataFrame) -> dict[str, Any]:
    """What docs/similar.json holds besides the command line, date and dataset."""
    return {
        "n_franchises": len(load_franchises()),
        "franchise_queries": int(result["franchise_queries"].iloc[0]),
        "min_ratings": MIN_RATINGS,
        "weights": vars(content.WEIGHTS),
        "goals": GOALS,
        "models": json.loads(result.to_json(orient="records")),
    }


def main(argv: list[str] | None = None) -> int:
    """``--tune``: print the blend's grid on MovieLens (the figures go to docs by hand)."""
    from recommender.data import load_movielens
    from recommender.settings import settings

    parser = argparse.ArgumentParser(
        prog="python -m recommender.evaluation.similar", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--movielens-dir", help="MovieLens folder (default: $MOVIELENS_DIR)")
    parser.add_argument("--tune", action="store_true", required=True,
                        help="grid-search the blend's weights (the report is written by "
                        "python -m recommender evaluate --sections similar)")
    args = parser.parse_args(argv)
    data = load_movielens(args.movielens_dir or settings().movielens_dir)
    tune(data.ratings, data.movies)
    return 0


if __name__ == "__main__":
    sys.exit(main())
