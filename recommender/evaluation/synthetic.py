"""MovieLens-shaped synthetic data with a fixed seed, for tests and scale benchmarks.

Movie popularity and user activity are long-tailed (Zipf-like), ratings are half stars, and
users have latent tastes, so models have something real to learn.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommender.data import MovieLens, add_title_columns

GENRES = ["Action", "Adventure", "Animation", "Comedy", "Crime", "Drama", "Fantasy", "Horror",
          "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western"]


def synthetic_movielens(
    n_ratings: int = 100_000,
    n_users: int | None = None,
    n_movies: int | None = None,
    seed: int = 0,
    tastes: int = 8,
) -> MovieLens:
    """A dataset of about ``n_ratings`` distinct ratings.

    Defaults scale users and movies the way MovieLens does (ml-32m: 200k users, 87k movies).
    """
    rng = np.random.default_rng(seed)
    n_users = n_users or max(50, int(200_000 * (n_ratings / 32e6) ** 0.75))
    n_movies = n_movies or max(100, int(87_000 * (n_ratings / 32e6) ** 0.6))
    movie_ids = np.arange(1, n_movies + 1, dtype=np.int32)
    movie_weight = 1.0 / np.arange(1, n_movies + 1) ** 0.9
    rng.shuffle(movie_weight)
    movie_taste = rng.integers(0, tastes, n_movies)
    user_taste = rng.integers(0, tastes, n_users)
    activity = rng.pareto(1.2, n_users) + 1.0
    per_user = np.maximum(
        5, np.round(activity / activity.sum() * n_ratings * 1.15).astype(np.int64)
    )
    per_user = np.minimum(per_user, n_movies // 2)

    users, movies = [], []
    for taste in range(tastes):
        members = np.flatnonzero(user_taste == taste)
        if not len(members):
            continue
        # Users prefer movies of their own taste (x8), on top of global popularity.
        weight = movie_weight * np.where(movie_taste == taste, 8.0, 1.0)
        weight /= weight.sum()
        counts = per_user[members]
        draws = rng.choice(n_movies, size=int(counts.sum() * 1.3), p=weight)
        owner = np.repeat(members, np.ceil(counts * 1.3).astype(np.int64))[: len(draws)]
        users.append(owner)
        movies.append(draws[: len(owner)])
    user_idx = np.concatenate(users)
    movie_idx = np.concatenate(movies)
    key = np.unique(user_idx.astype(np.int64) * n_movies + movie_idx)
    user_idx, movie_idx = key // n_movies, key % n_movies
    if len(key) > n_ratings:
        keep = np.sort(rng.choice(len(key), n_ratings, replace=False))
        user_idx, movie_idx = user_idx[keep], movie_idx[keep]

    same = movie_taste[movie_idx] == user_taste[user_idx]
    stars = np.where(same, 4.0, 2.8) + rng.normal(0, 0.9, len(user_idx))
    stars = np.clip(np.round(stars * 2) / 2, 0.5, 5.0).astype(np.float32)
    ratings = pd.DataFrame({
        "userId": (user_idx + 1).astype(np.int32),
        "movieId": movie_ids[movie_idx],
        "rating": stars,
        "timestamp": rng.integers(8e8, 1.7e9, len(user_idx)).astype(np.int64),
    })
    genre_names = np.array(GENRES)
    second = rng.integers(0, len(GENRES), n_movies)
    movies = pd.DataFrame({
        "movieId": movie_ids,
        "title": [f"Movie {i} ({1930 + i % 95})" for i in movie_ids],
        "genres": [
            f"{genre_names[t % len(GENRES)]}|{genre_names[s]}" if t % len(GENRES) != s
            else genre_names[s]
            for t, s in zip(movie_taste, second, strict=True)
        ],
    }).astype({"title": "string", "genres": "string"})
    links = pd.DataFrame({
        "movieId": movie_ids,
        "imdbId": pd.array([f"{i + 100000:07d}" for i in movie_ids], dtype="string"),
        "tmdbId": pd.array(movie_ids + 10, dtype="Int32"),
    })
    return MovieLens(movies=add_title_columns(movies), ratings=ratings, links=links)
