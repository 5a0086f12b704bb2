"""Poster resolution speed against a local server that imitates TMDB with a fixed latency.

    .venv/bin/python -m benchmarks.bench_posters [--repeats 5] [--latency 0.1] [--posters 20]

Prints a human-readable table, then the figures as JSON (medians over the repeats).
Targets from the issue: 20 uncached posters < 1.5 s at 100 ms per request; 20 cached < 5 ms.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from recommender.posters import PosterClient

IMAGE_BASE = "https://image.tmdb.org/t/p/"


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 drops SYNs when 8 connections open at once, which adds a
    # 1 s retransmit that real TMDB would not cause.
    request_queue_size = 64


class LatencyServer:
    """Answers /3/configuration, /3/movie/{id} and /3/find/{imdb} after ``latency`` seconds."""

    def __init__(self, latency: float, hang: bool = False) -> None:
        self.latency, self.hang = latency, hang
        self.requests = 0
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave without delay

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                server.requests += 1
                if server.hang:
                    server.release.wait(30)
                    return
                time.sleep(server.latency)
                body = json.dumps(server.answer(urlsplit(self.path).path)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                """Quiet."""

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.block_on_close = False
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    @staticmethod
    def answer(path: str) -> dict[str, Any]:
        if path == "/3/configuration":
            sizes = ["w92", "w154", "w185", "w342", "w500", "w780", "original"]
            return {"images": {"secure_base_url": IMAGE_BASE, "poster_sizes": sizes}}
        if path.startswith("/3/find/"):
            return {"movie_results": [{"id": 900_000, "poster_path": "/found.jpg"}]}
        return {"id": int(path.rsplit("/", 1)[1]), "poster_path": f"/{path.rsplit('/', 1)[1]}.jpg"}

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _timed(call: Callable[..., Any], *args: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = call(*args)
    return time.perf_counter() - started, result


def run(repeats: int = 5, latency: float = 0.1, posters: int = 20) -> dict[str, Any]:
    """Median seconds for each scenario, with the request counts seen by the server."""
    ids = list(range(1, posters + 1))
    samples: dict[str, list[float]] = {
        "uncached": [],
        "cached_in_process": [],
        "cached_after_restart": [],
        "imdb_fallback_uncached": [],
        "hanging_first_page": [],
        "hanging_next_page": [],
    }
    requests_uncached: list[int] = []
    server = LatencyServer(latency)
    try:
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as folder:
                cache = Path(folder) / "posters.sqlite3"
                with PosterClient(api_key="bench", api_url=server.url, cache_path=cache) as client:
                    before = server.requests
                    seconds, urls = _timed(client.urls, ids)
                    assert all(urls.values()), "every poster should resolve"
                    samples["uncached"].append(seconds)
                    requests_uncached.append(server.requests - before)
                    # Many renders of the same grid: take the median of a few.
                    warm = [_timed(client.urls, ids)[0] for _ in range(20)]
                    samples["cached_in_process"].append(statistics.median(warm))
                with PosterClient(api_key="bench", api_url=server.url, cache_path=cache) as client:
                    before = server.requests
                    seconds, urls = _timed(client.urls, ids)
                    assert all(urls.values()) and server.requests == before
                    samples["cached_after_restart"].append(seconds)
                with PosterClient(
                    api_key="bench", api_url=server.url, cache_path=Path(folder) / "imdb.sqlite3"
                ) as client:
                    links = [(m, None, f"{m:07d}") for m in ids]
                    seconds, _ = _timed(client.urls_for_movies, links)
                    samples["imdb_fallback_uncached"].append(seconds)
    finally:
        server.stop()

    hanging = LatencyServer(latency, hang=True)
    # The breaker's "TMDB unavailable" warning is expected here; keep the output clean.
    logging.getLogger("recommender.posters").setLevel(logging.ERROR)
    try:
        for _ in range(repeats):
            with tempfile.TemporaryDirectory() as folder:
                client = PosterClient(
                    api_key="bench",
                    api_url=hanging.url,
                    cache_path=Path(folder) / "posters.sqlite3",
                    connect_timeout=0.5,
                    read_timeout=0.5,
                )
                with client:
                    samples["hanging_first_page"].append(_timed(client.urls, ids)[0])
                    samples["hanging_next_page"].append(_timed(client.urls, ids)[0])
    finally:
        hanging.stop()
        logging.getLogger("recommender.posters").setLevel(logging.NOTSET)

    return {
        "posters": posters,
        "server_latency_s": latency,
        "repeats": repeats,
        "median_s": {name: statistics.median(values) for name, values in samples.items()},
        "max_s": {name: max(values) for name, values in samples.items()},
        "requests_per_uncached_page": statistics.median(requests_uncached),
        "hanging_timeouts_s": {"connect": 0.5, "read": 0.5},
        "targets_s": {"uncached": 1.5, "cached_in_process": 0.005, "cached_after_restart": 0.005},
    }


def table(result: dict[str, Any]) -> str:
    """The figures as an aligned, human-readable table."""
    targets = result["targets_s"]
    lines = [
        f"{result['posters']} posters, server latency {result['server_latency_s'] * 1000:.0f} ms,"
        f" {result['repeats']} repeats (medians)",
        f"{'scenario':<24} {'median':>10} {'max':>10} {'target':>10}  ok",
    ]
    for name, median in result["median_s"].items():
        target = targets.get(name)
        verdict = "" if target is None else ("yes" if median < target else "NO")
        target_text = f"{target * 1000:.0f} ms" if target is not None else "-"
        lines.append(
            f"{name:<24} {median * 1000:>7.2f} ms {result['max_s'][name] * 1000:>7.2f} ms "
            f"{target_text:>10}  {verdict}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per request")
    parser.add_argument("--posters", type=int, default=20)
    args = parser.parse_args(argv)
    result = run(args.repeats, args.latency, args.posters)
    print(table(result))
    print(json.dumps(result, indent=2))
    medians = result["median_s"]
    met = all(medians[name] < target for name, target in result["targets_s"].items())
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
