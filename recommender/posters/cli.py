"""``python -m recommender.posters prefetch``: fill the poster cache for a whole catalogue."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

import requests

from recommender.data import DataError, load_movielens
from recommender.posters.cache import default_cache_path
from recommender.posters.client import PosterClient
from recommender.posters.credentials import scrub
from recommender.posters.ids import link_rows
from recommender.settings import settings


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m recommender.posters prefetch``: fill the poster cache for a catalogue."""
    parser = argparse.ArgumentParser(
        prog="python -m recommender.posters", description="TMDB poster cache."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    prefetch = commands.add_parser(
        "prefetch",
        help="cache posters for every movie in links.csv (resumable)",
        description="Cache posters for every movie in links.csv. Credentials come from "
        "TMDB_API_KEY or TMDB_READ_TOKEN (never from the command line, where `ps` shows them).",
    )
    prefetch.add_argument(
        "--movielens-dir",
        default=settings().movielens_dir,
        help="MovieLens folder with links.csv (default: $MOVIELENS_DIR)",
    )
    prefetch.add_argument("--cache", help=f"SQLite file (default: {default_cache_path()})")
    prefetch.add_argument("--rate", type=float, default=40.0, help="requests per second")
    prefetch.add_argument("--workers", type=int, default=8, help="parallel requests")
    prefetch.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    return _prefetch_command(args)


def _prefetch_command(args: argparse.Namespace) -> int:
    try:
        client = PosterClient(cache_path=args.cache, rate_limit=args.rate, max_workers=args.workers)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    with client:
        if not client.has_credentials:
            print(
                "error: no TMDB credentials. Set TMDB_API_KEY (v3 API key) or TMDB_READ_TOKEN "
                "(v4 read access token) in the environment; this command does not read "
                ".streamlit/secrets.toml.",
                file=sys.stderr,
            )
            return 2
        try:
            links = load_movielens(args.movielens_dir).links
        except (DataError, OSError, requests.RequestException) as error:
            print(f"error: could not load MovieLens: {scrub(str(error))}", file=sys.stderr)
            return 1
        rows = link_rows(links)
        if not rows:
            print("error: no links.csv rows (movieId, imdbId, tmdbId) to prefetch", file=sys.stderr)
            return 1
        tmdb_ids = [t for _, t, _ in rows if t is not None]
        imdb_ids = [i for _, t, i in rows if t is None and i is not None]
        bar = _ProgressBar(disabled=args.no_progress)
        try:
            report = client.prefetch(tmdb_ids, imdb_ids, progress=bar.update)
        except KeyboardInterrupt:
            bar.close()
            print("\nInterrupted; answers so far are cached. Run again to resume.")
            return 130
        bar.close()
    print(
        f"{report.requested} movies: {report.skipped} already cached, {report.fetched} fetched, "
        f"{report.failed} failed (cache: {client.cache.path})"
    )
    if report.stopped_early:
        print("TMDB became unreachable; run the same command again to resume.", file=sys.stderr)
        return 1
    return 0


class _ProgressBar:
    """A tqdm bar created on the first update, when the total is known."""

    def __init__(self, *, disabled: bool) -> None:
        self.disabled = disabled
        self._bar: Any = None

    def update(self, done: int, total: int) -> None:
        if self.disabled:
            return
        if self._bar is None:
            from tqdm import tqdm  # only the CLI needs it

            self._bar = tqdm(total=total, unit="movie", desc="posters")
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
