"""Filling the poster cache ahead of time: PosterClient.prefetch and its command line."""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from pathlib import Path

import pytest

from recommender import posters
from tests.fake_tmdb import KEY, make_client, no_tmdb_env, tmdb

pytestmark = pytest.mark.timeout(30)
__all__ = ["no_tmdb_env", "tmdb"]  # fixtures


def write_movielens(folder: Path, n_movies: int) -> None:
    folder.mkdir()
    movies = ["movieId,title,genres"] + [f"{m},Movie {m} (1999),Drama" for m in range(1, n_movies)]
    (folder / "movies.csv").write_text("\n".join(movies) + "\n")
    ratings = ["userId,movieId,rating,timestamp"] + [f"1,{m},4.0,0" for m in range(1, n_movies)]
    (folder / "ratings.csv").write_text("\n".join(ratings) + "\n")
    # tmdbId m for the first ones, only an imdbId for the last one.
    links = ["movieId,imdbId,tmdbId"] + [f"{m},{m:07d},{m}" for m in range(1, n_movies - 1)]
    links.append(f"{n_movies - 1},0114709,")
    (folder / "links.csv").write_text("\n".join(links) + "\n")


def test_prefetch_cli_fills_the_cache_and_resumes(tmdb, tmp_path, monkeypatch, capsys):
    tmdb.imdb["tt0114709"] = {"id": 862, "poster_path": "/toy.jpg"}
    write_movielens(tmp_path / "ml", 31)  # 29 tmdb ids and one imdb-only movie
    monkeypatch.setenv("TMDB_API_KEY", KEY)
    monkeypatch.setenv("TMDB_API_URL", tmdb.url)
    monkeypatch.setenv("RECOMMENDER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MOVIELENS_DIR", str(tmp_path / "ml"))

    assert posters.main(["prefetch", "--no-progress"]) == 0
    assert tmdb.count("/3/movie/") == 29 and tmdb.count("/3/find/") == 1
    assert "30 fetched" in capsys.readouterr().out
    with sqlite3.connect(tmp_path / "cache" / "posters.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM posters").fetchone()[0] == 30

    seen = len(tmdb.requests)
    assert posters.main(["prefetch", "--no-progress"]) == 0
    assert len(tmdb.requests) == seen
    assert "30 already cached" in capsys.readouterr().out


def test_interrupted_prefetch_resumes_without_refetching(tmdb, tmp_path):
    tmdb.delay = 0.05
    ids = list(range(1, 41))

    def interrupt(done: int, total: int) -> None:
        if done == 5:
            raise KeyboardInterrupt

    with make_client(tmdb, tmp_path, max_workers=2) as client, pytest.raises(KeyboardInterrupt):
        client.prefetch(ids, progress=interrupt)
    first_run = tmdb.count("/3/movie/")
    assert first_run < len(ids)
    with make_client(tmdb, tmp_path, max_workers=8) as client:
        report = client.prefetch(ids)
        assert all(client.urls(ids, wait=0).values())
    assert report.skipped == first_run and report.fetched == len(ids) - first_run
    per_path = Counter(r["path"] for r in tmdb.requests if r["path"].startswith("/3/movie/"))
    assert len(per_path) == len(ids) and max(per_path.values()) == 1


def test_prefetch_cli_without_credentials_exits_with_a_message(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RECOMMENDER_CACHE", str(tmp_path))
    assert posters.main(["prefetch", "--movielens-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "TMDB_API_KEY" in err and "Traceback" not in err


def test_prefetch_stops_when_tmdb_becomes_unreachable(tmdb, tmp_path):
    tmdb.hang_all = True
    with make_client(tmdb, tmp_path, connect_timeout=0.2, read_timeout=0.3) as client:
        started = time.monotonic()
        report = client.prefetch(range(1, 41))
    assert report.stopped_early and report.fetched == 0
    assert time.monotonic() - started < 2.0
    assert tmdb.count("/3/movie/") <= client.max_workers
