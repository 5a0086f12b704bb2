"""A local HTTP server that imitates TMDB, and the fixtures the poster tests share."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from recommender.posters import PosterClient

KEY = "k3y-SECRET-0123456789abcdef"
TOKEN = "eyJ-SECRET-read-token-xyz"
IMAGE_BASE = "http://images.test/t/p/"
SIZES = ["w92", "w154", "w185", "w342", "w500", "w780", "original"]


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 drops SYNs when 8 connections open at once, which adds a
    # 1 s retransmit that real TMDB would not cause.
    request_queue_size = 64


class FakeTmdb:
    """A tiny TMDB: /3/configuration, /3/movie/{id}, /3/find/{imdb}; scripted failures.

    ``script[path]`` is a queue of answers used before the normal one: an int status, a
    (status, headers) pair, "hang" (wait until released), "garbage" (malformed JSON), "drip"
    (a 200 whose body comes one byte every ``drip_interval`` seconds) or ("huge", n, declared)
    (a 200 with an n-byte body, its Content-Length sent only if ``declared``).
    ``default`` answers every request without a script of its own when set.
    """

    def __init__(self) -> None:
        self.movies: dict[int, dict] = {}
        self.imdb: dict[str, dict] = {}
        self.sizes = list(SIZES)
        self.script: dict[str, deque] = {}
        self.delay = 0.0
        self.drip_interval = 0.2
        self.default: object = None
        self.bytes_sent = 0
        self.hang_all = False
        self.release = threading.Event()
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        self._active = 0
        self.max_active = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body leave without delay

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                fake._handle(self)

            def log_message(self, *args: object) -> None:
                """Quiet: the tests read ``requests`` instead."""

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.block_on_close = False  # hung handlers must not block teardown
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def count(self, prefix: str = "/3/") -> int:
        with self._lock:
            return sum(r["path"].startswith(prefix) for r in self.requests)

    def script_for(self, path: str, *answers: object) -> None:
        self.script.setdefault(path, deque()).extend(answers)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        with self._lock:
            self.requests.append(
                {
                    "path": parts.path,
                    "query": parse_qs(parts.query),
                    "auth": handler.headers.get("Authorization"),
                    "raw": handler.path,
                }
            )
            self._active += 1
            self.max_active = max(self.max_active, self._active)
            scripted = self.script.get(parts.path)
            answer = scripted.popleft() if scripted else self.default
        try:
            if self.hang_all or answer == "hang":
                self.release.wait(10)
                return
            if self.delay:
                time.sleep(self.delay)
            if answer == "drip":
                self._drip(handler)
            elif isinstance(answer, tuple) and answer[0] == "huge":
                self._huge(handler, answer[1], answer[2])
            elif answer == "garbage":
                self._send(handler, 200, b'{"poster_path": "/x.jpg", ', {})
            elif isinstance(answer, int):
                self._send(handler, answer, b'{"status_message": "scripted"}', {})
            elif isinstance(answer, tuple):
                self._send(handler, answer[0], b"{}", answer[1])
            else:
                status, body = self._route(parts.path)
                self._send(handler, status, json.dumps(body).encode(), {})
        except OSError:
            pass  # the client gave up (timeout); nothing to answer
        finally:
            with self._lock:
                self._active -= 1

    def _route(self, path: str) -> tuple[int, dict]:
        if path == "/3/configuration":
            images = {"secure_base_url": IMAGE_BASE, "poster_sizes": self.sizes}
            return 200, {"images": images}
        if path.startswith("/3/movie/"):
            movie = self.movies.get(int(path.rsplit("/", 1)[1]))
            return (200, movie) if movie is not None else (404, {"status_code": 34})
        if path.startswith("/3/find/"):
            found = self.imdb.get(path.rsplit("/", 1)[1])
            return 200, {"movie_results": [found] if found else [], "tv_results": []}
        return 404, {}

    def _drip(self, handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        handler.wfile.flush()
        while not self.release.wait(self.drip_interval):
            handler.wfile.write(b" ")
            handler.wfile.flush()

    def _huge(self, handler: BaseHTTPRequestHandler, size: int, declared: bool) -> None:
        handler.send_response(200)
        if declared:
            handler.send_header("Content-Length", str(size))
        else:
            handler.send_header("Connection", "close")  # the body ends when the socket does
            handler.close_connection = True
        handler.end_headers()
        chunk = b'{"pad": "' + b"x" * 65_000
        while size > 0 and not self.release.is_set():
            handler.wfile.write(chunk[:size])
            with self._lock:
                self.bytes_sent += min(size, len(chunk))
            size -= len(chunk)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(body)


@pytest.fixture
def tmdb():
    fake = FakeTmdb()
    for tmdb_id in range(1, 41):
        fake.movies[tmdb_id] = {"id": tmdb_id, "title": f"Movie {tmdb_id}"}
        fake.movies[tmdb_id]["poster_path"] = f"/poster{tmdb_id}.jpg"
    yield fake
    fake.stop()


@pytest.fixture(autouse=True)
def no_tmdb_env(monkeypatch):
    for name in ("TMDB_API_KEY", "TMDB_READ_TOKEN", "TMDB_API_URL", "RECOMMENDER_CACHE"):
        monkeypatch.delenv(name, raising=False)


def make_client(tmdb: FakeTmdb, tmp_path: Path, **options) -> PosterClient:
    options.setdefault("api_key", KEY)
    options.setdefault("connect_timeout", 1.0)
    options.setdefault("read_timeout", 1.0)
    options.setdefault("backoff", 0.01)
    return PosterClient(api_url=tmdb.url, cache_path=tmp_path / "posters.sqlite3", **options)
