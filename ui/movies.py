"""Plain functions on the catalogue and the models: no Streamlit, no caching (see resources).

``catalogue`` below is the table built by :func:`build_catalogue`: one row per movie, indexed
by movieId.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from recommender import MovieLens, Recommender, UnknownMovieError
from recommender.data import genre_list
from recommender.explain import because


def build_catalogue(data: MovieLens) -> pd.DataFrame:
    """Movies with their stats and TMDB/IMDb ids, indexed by movieId."""
    movies = data.movies.set_index("movieId")
    table = movies[["title", "display_title", "year", "genres"]].join(data.movie_stats)
    links = data.links.drop_duplicates("movieId").set_index("movieId")[["tmdbId", "imdbId"]]
    return table.join(links)


def rows(catalogue: pd.DataFrame, movie_ids: Sequence[int]) -> pd.DataFrame:
    """Catalogue rows for ``movie_ids`` in the same order, skipping unknown ids."""
    ids = [int(m) for m in movie_ids]
    known = catalogue.index.intersection(ids)
    return catalogue.loc[[m for m in ids if m in known]]


def genres_and_years(catalogue: pd.DataFrame) -> tuple[list[str], tuple[int, int]]:
    """Every genre in the catalogue (sorted), and its first and last release year."""
    genres = {g for names in catalogue["genres"] for g in genre_list(names)}
    years = catalogue["year"].dropna()
    return sorted(genres), (int(years.min()), int(years.max()))


def dataset_figures(data: MovieLens) -> dict[str, Any]:
    """The About page's figures: counts, rating histogram, ratings per movie (most first),
    and the share of all ratings that the 10 % most-rated movies hold."""
    ratings = data.ratings
    histogram = ratings["rating"].value_counts().sort_index()
    per_movie = np.sort(data.movie_stats["n_ratings"].to_numpy())[::-1]
    return {
        "users": int(ratings["userId"].nunique()),
        "movies": len(data.movies),
        "rated_movies": int((per_movie > 0).sum()),
        "ratings": len(ratings),
        "tags": len(data.tags),
        "first": pd.to_datetime(ratings["timestamp"].min(), unit="s").year,
        "last": pd.to_datetime(ratings["timestamp"].max(), unit="s").year,
        "mean": float(ratings["rating"].mean()),
        "histogram": pd.DataFrame({"stars": histogram.index.astype(float),
                                   "ratings": histogram.to_numpy()}),
        "long_tail": pd.DataFrame({"rank": np.arange(1, len(per_movie) + 1),
                                   "ratings": per_movie}),
        "top_share": float(per_movie[: max(1, len(per_movie) // 10)].sum() / max(1, len(ratings))),
    }


def starter_movies(
    catalogue: pd.DataFrame, count: int = 120, pool: int = 600, min_mean: float = 3.5
) -> list[int]:
    """Well-known, well-liked movies in an order that mixes genres and decades.

    Candidates are the ``pool`` most-rated movies with a mean of at least ``min_mean`` (or the
    pool's median mean, if that is lower). They are
    picked greedily: each step takes the candidate with the best popularity score after a
    penalty for every already-picked movie that shares its main genre or its decade, so the
    first screen is not twelve 1990s dramas. Deterministic: every visitor sees the same list.
    """
    ranked = catalogue[catalogue["n_ratings"] > 0].nlargest(pool, "n_ratings")
    # A catalogue whose ratings run low (or synthetic data) still gets its better half.
    threshold = min(min_mean, float(ranked["mean_rating"].median())) if len(ranked) else min_mean
    ranked = ranked[ranked["mean_rating"] >= threshold]
    if ranked.empty:
        return []
    base = np.log1p(ranked["n_ratings"].to_numpy(float)) + ranked["mean_rating"].to_numpy(float)
    main_genres = [(genre_list(g) or ["?"])[0] for g in ranked["genres"]]
    decades = [int(y) // 10 if pd.notna(y) else -1 for y in ranked["year"]]
    ids = ranked.index.to_numpy()
    used_genre: Counter[str] = Counter()
    used_decade: Counter[int] = Counter()
    chosen: list[int] = []
    available = np.ones(len(ranked), dtype=bool)
    for _ in range(min(count, len(ranked))):
        penalty = np.array(
            [0.9 * used_genre[g] + 0.6 * used_decade[d] for g, d in zip(main_genres, decades,
                                                                         strict=True)]
        )
        score = np.where(available, base - penalty, -math.inf)
        best = int(np.argmax(score))
        available[best] = False
        chosen.append(int(ids[best]))
        used_genre[main_genres[best]] += 1
        used_decade[decades[best]] += 1
    return chosen


def top_tags(tags: pd.DataFrame, limit: int = 8) -> dict[int, list[str]]:
    """The most used tags of each movie (case-insensitive, most taggers first)."""
    if tags.empty:
        return {}
    frame = pd.DataFrame({
        "movieId": tags["movieId"].to_numpy(),
        "tag": tags["tag"].astype(str).str.strip(),
        "userId": tags["userId"].to_numpy(),
    })
    frame = frame[frame["tag"] != ""]
    frame["key"] = frame["tag"].str.casefold()
    counted = (
        frame.groupby(["movieId", "key"], sort=False)
        .agg(tag=("tag", "first"), users=("userId", "nunique"))
        .reset_index()
        .sort_values(["movieId", "users", "key"], ascending=[True, False, True])
    )
    return {
        int(movie): group["tag"].head(limit).tolist()
        for movie, group in counted.groupby("movieId", sort=False)
    }


def similar(model: Recommender, movie_id: int, n: int = 12) -> pd.DataFrame | None:
    """Movies most like ``movie_id``; None when the model has never seen it (no ratings)."""
    try:
        return model.similar(movie_id, n=n)
    except UnknownMovieError:
        return None


def recommend(
    model: Recommender,
    ratings: Mapping[int, float],
    n: int = 12,
    genres: Sequence[str] | None = None,
    years: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """Top-``n`` picks (movieId, score, because) for a visitor's ratings.

    ``because`` is the rated movie that best explains each pick, or <NA>.
    """
    known = [g for g in genres or [] if g in model.genres_]
    if genres and not known:  # genres that only unrated movies have: nothing can match
        n = 0
    picks = model.recommend(dict(ratings), n=n, genres=known or None, years=years)
    picks["because"] = pd.array(
        explain(model, ratings, picks["movieId"].tolist()), dtype="Int64"
    )
    return picks


def explain(model: Recommender, ratings: Mapping[int, float], picks: Sequence[int]) -> list:
    """For each pick, the rating that contributed most to its score (None when none did).

    Popularity picks ignore the visitor, so they are never explained by a rated movie.
    """
    if not picks or not ratings or model.algorithm == "popularity":
        return [None] * len(picks)
    found = because(model, dict(ratings), list(picks))
    return [found.get(int(p)) for p in picks]
