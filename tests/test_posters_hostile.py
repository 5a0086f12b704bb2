"""A struggling or hostile TMDB: slow pages, dripping or huge answers, shutdown, odd paths."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from recommender.posters import Deadline
from recommender.posters.ids import valid_poster_path
from tests.fake_tmdb import IMAGE_BASE, KEY, make_client, no_tmdb_env, tmdb
from tests.test_posters_prefetch import write_movielens

pytestmark = pytest.mark.timeout(60)
__all__ = ["no_tmdb_env", "tmdb"]  # fixtures
ROOT = Path(__file__).resolve().parent.parent


def timed(call, *args, **kwargs):
    started = time.monotonic()
    result = call(*args, **kwargs)
    return time.monotonic() - started, result


# --- one deadline per page ------------------------------------------------------------------


def test_one_deadline_bounds_every_grid_of_a_page_together(tmdb, tmp_path):
    tmdb.delay = 1.0  # slow but healthy: nothing trips the breaker
    with make_client(tmdb, tmp_path, read_timeout=5.0, max_wait=5.0) as client:
        page = Deadline(0.5)
        grids = [range(start, start + 5) for start in range(1, 31, 5)]  # six grids
        elapsed, results = timed(lambda: [client.urls(ids, wait=page) for ids in grids])
    assert elapsed < 0.9  # one page wait, not one per grid (six would be 3 s)
    assert all(url is None for result in results for url in result.values())


def test_deadline_counts_down():
    now = [10.0]
    deadline = Deadline(2.0, clock=lambda: now[0])
    assert deadline.remaining() == 2.0
    now[0] = 11.5
    assert deadline.remaining() == pytest.approx(0.5)
    now[0] = 20.0
    assert deadline.remaining() == 0.0


# --- bad answers ------------------------------------------------------------------------------


def test_dripping_answer_ends_at_the_total_deadline_and_opens_the_breaker(tmdb, tmp_path):
    tmdb.default = "drip"  # a byte every 0.2 s: the read timeout alone never fires
    with make_client(tmdb, tmp_path, read_timeout=1.0, total_timeout=0.6, max_wait=10) as client:
        elapsed, result = timed(client.urls, [1, 2])
        assert result == {1: None, 2: None}
        assert elapsed < 1.5
        assert not client.available
        assert "Timeout" in str(client.last_error)
        assert client.cache.get_posters([1, 2]) == {}


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "until-close"])
def test_oversized_answers_are_cut_off_and_not_cached(tmdb, tmp_path, declared):
    tmdb.script_for("/3/movie/1", ("huge", 200_000_000, declared))
    with make_client(tmdb, tmp_path, read_timeout=5.0, max_wait=10) as client:
        elapsed, result = timed(client.urls, [1, 2])
        assert client.cache.get_posters([1]) == {}
    assert result == {1: None, 2: IMAGE_BASE + "w342/poster2.jpg"}
    assert elapsed < 3.0
    assert tmdb.bytes_sent < 20_000_000  # the client stopped reading near its 1 MB cap


@pytest.mark.parametrize("answer", [500, 503, (429, {"Retry-After": "0"})],
                         ids=["500", "503", "429"])
def test_repeated_failures_open_the_breaker(tmdb, tmp_path, answer):
    tmdb.default = answer
    with make_client(tmdb, tmp_path, max_workers=2, breaker_threshold=3) as client:
        first = client.urls(range(1, 21))
        seen = tmdb.count("/3/movie/")
        elapsed, second = timed(client.urls, range(1, 21))
        assert not client.available
    assert first == second == dict.fromkeys(range(1, 21))
    assert seen <= 5 * 3  # the threshold, plus what was in flight, with retries: not 20 x 3
    assert elapsed < 0.1 and tmdb.count("/3/movie/") == seen


def test_a_success_resets_the_failure_count(tmdb, tmp_path):
    for tmdb_id in (1, 3):
        tmdb.script_for(f"/3/movie/{tmdb_id}", 500, 500)
    with make_client(tmdb, tmp_path, max_workers=1, retries=1, breaker_threshold=2) as client:
        client.urls([1])
        client.urls([2])  # fine: the count starts again
        client.urls([3])
        assert client.available


# --- shutdown -------------------------------------------------------------------------------


def test_close_is_bounded_while_requests_drip(tmdb, tmp_path):
    tmdb.default = "drip"
    client = make_client(tmdb, tmp_path, read_timeout=10.0, total_timeout=30.0,
                         close_timeout=0.3)
    client.urls(range(1, 21), wait=0)  # start requests and leave them running
    time.sleep(0.3)
    elapsed, _ = timed(client.close)
    assert elapsed < 1.5


def test_interrupted_prefetch_command_exits_quickly(tmdb, tmp_path):
    tmdb.default = "drip"
    write_movielens(tmp_path / "ml", 50)
    env = {**os.environ, "TMDB_API_KEY": KEY, "TMDB_API_URL": tmdb.url,
           "RECOMMENDER_CACHE": str(tmp_path / "cache"), "MOVIELENS_DIR": str(tmp_path / "ml")}
    command = [sys.executable, "-m", "recommender.posters", "prefetch", "--no-progress"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(300):  # until requests are dripping
            if tmdb.count() >= 8 or process.poll() is not None:
                break
            time.sleep(0.1)
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        out, err = process.communicate(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "Interrupted" in out
    assert elapsed < 5.0
    assert KEY not in out + err


# --- poster paths -----------------------------------------------------------------------------


def test_poster_path_with_a_trailing_newline_is_refused(tmdb, tmp_path):
    tmdb.movies[1]["poster_path"] = "/poster1.jpg\n"
    with make_client(tmdb, tmp_path) as client:
        assert client.urls([1, 2]) == {1: None, 2: IMAGE_BASE + "w342/poster2.jpg"}
        assert client.cache.get_posters([1]) == {}


TMDB_PATHS = st.from_regex(r"/[A-Za-z0-9]{1,40}\.(jpg|png|svg)", fullmatch=True)


@given(TMDB_PATHS)
def test_tmdb_shaped_paths_pass(path):
    assert valid_poster_path(path)


@given(TMDB_PATHS, st.text(min_size=1), st.booleans())
def test_anything_unsafe_around_a_path_is_refused(path, extra, before):
    unsafe = [c for c in extra if not (c.isascii() and (c.isalnum() or c in "._-"))]
    text = extra + path if before else path + extra
    if unsafe or before:  # a foreign character anywhere, or anything before the slash
        assert not valid_poster_path(text)


@given(st.one_of(st.text(), st.binary(), st.integers(), st.none()))
def test_a_valid_path_is_always_url_safe(value):
    if valid_poster_path(value):
        assert quote(value, safe="/") == value
        assert value.startswith("/") and "/" not in value[1:] and not value.startswith("/.")


def test_a_page_run_shares_one_poster_wait_across_its_grids(tmdb, tmp_path, monkeypatch):
    import pandas as pd

    from ui import resources, timing

    tmdb.delay = 1.0  # slower than the page may wait
    monkeypatch.setattr(resources, "POSTER_WAIT_S", 0.4)
    client = make_client(tmdb, tmp_path, read_timeout=5.0, max_wait=5.0)
    monkeypatch.setattr(resources, "poster_client", lambda: client)

    def grid(first: int) -> pd.DataFrame:
        ids = range(first, first + 4)
        return pd.DataFrame({"tmdbId": list(ids), "imdbId": [None] * 4,
                             "display_title": [f"Movie {i}" for i in ids], "year": [1999] * 4,
                             "genres": ["Drama"] * 4}, index=pd.Index(list(ids), name="movieId"))

    with client:
        started = time.monotonic()
        with timing.timed_run("page"):
            grids = [resources.poster_urls(grid(first)) for first in (1, 5, 9, 13, 17)]
            with timing.timed_run("fragment"):  # a fragment inside the page run: same wait
                grids.append(resources.poster_urls(grid(21)))
        elapsed = time.monotonic() - started
    assert elapsed < 0.9  # one wait of 0.4 s, not six
    assert all(url.startswith("data:image/svg+xml") for g in grids for url in g.values())
