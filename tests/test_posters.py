"""PosterClient against a local HTTP server that imitates TMDB (no internet needed)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import Counter

import pandas as pd
import pytest

from recommender.posters import DAY, CircuitBreaker, PosterClient, RateLimiter, nearest_size
from tests.fake_tmdb import IMAGE_BASE, KEY, SIZES, TOKEN, make_client, no_tmdb_env, tmdb

pytestmark = pytest.mark.timeout(30)
__all__ = ["no_tmdb_env", "tmdb"]  # fixtures


# --- resolving ------------------------------------------------------------------------------


def test_urls_are_full_image_urls_in_the_nearest_configured_size(tmdb, tmp_path):
    tmdb.sizes = ["w92", "w185", "w500", "original"]
    with make_client(tmdb, tmp_path) as client:
        grid = client.urls([3, 7], size="w342")
        detail = client.urls([3], size="w500")
    # w342 is not offered: 185 is nearer than 500.
    assert grid == {3: IMAGE_BASE + "w185/poster3.jpg", 7: IMAGE_BASE + "w185/poster7.jpg"}
    assert detail == {3: IMAGE_BASE + "w500/poster3.jpg"}
    assert tmdb.count("/3/configuration") == 1
    assert tmdb.count("/3/movie/") == 2  # the detail view came from the cache


def test_nearest_size():
    assert nearest_size("w342", SIZES) == "w342"
    assert nearest_size("w300", SIZES) == "w342"
    assert nearest_size("w600", ["w500", "w700"]) == "w700"  # tie goes to the larger
    assert nearest_size("original", ["w92", "w500"]) == "w500"
    assert nearest_size("w185", ["original"]) == "original"
    with pytest.raises(ValueError, match="poster size"):
        nearest_size("huge", SIZES)


def test_missing_or_null_poster_and_404_are_cached_as_no_poster(tmdb, tmp_path):
    tmdb.movies[1] = {"id": 1, "title": "no poster_path key"}
    tmdb.movies[2] = {"id": 2, "poster_path": None}
    with make_client(tmdb, tmp_path) as client:
        first = client.urls([1, 2, 999, 5])
        requests_after_first = tmdb.count("/3/movie/")
        second = client.urls([1, 2, 999, 5])
        entries = client.cache.get_posters([1, 2, 999, 5])
    assert first == second == {1: None, 2: None, 999: None, 5: IMAGE_BASE + "w342/poster5.jpg"}
    assert requests_after_first == 4
    assert tmdb.count("/3/movie/") == 4
    now = time.time()
    for tmdb_id in (1, 2, 999):  # "no poster" is kept for about a week
        assert 6 * DAY < entries[tmdb_id].expires - now <= 7 * DAY
    assert entries[5].expires - now >= 30 * DAY


def test_cache_survives_a_restart_without_any_request(tmdb, tmp_path):
    with make_client(tmdb, tmp_path) as client:
        before = client.urls(range(1, 21))
    seen = len(tmdb.requests)
    with make_client(tmdb, tmp_path) as restarted:
        after = restarted.urls(range(1, 21))
    assert after == before
    assert all(url and url.startswith(IMAGE_BASE) for url in after.values())
    assert len(tmdb.requests) == seen


def test_expired_entries_are_refetched(tmdb, tmp_path):
    tmdb.movies[2] = {"id": 2, "poster_path": None}
    with make_client(tmdb, tmp_path, missing_ttl=0.0) as client:
        client.urls([1, 2])
        tmdb.movies[2] = {"id": 2, "poster_path": "/new.jpg"}
        again = client.urls([1, 2])
    assert again[2] == IMAGE_BASE + "w342/new.jpg"
    assert [r["path"] for r in tmdb.requests].count("/3/movie/1") == 1
    assert [r["path"] for r in tmdb.requests].count("/3/movie/2") == 2


def test_ids_from_pandas_with_missing_values_are_accepted(tmdb, tmp_path):
    ids = pd.array([4, pd.NA, 4, 6], dtype="Int32")
    with make_client(tmdb, tmp_path) as client:
        result = client.urls(ids)
    assert list(result) == [4, 6]


# --- IMDb fallback --------------------------------------------------------------------------


def test_movies_without_tmdb_id_fall_back_to_find_by_imdb_id(tmdb, tmp_path):
    tmdb.imdb["tt0114709"] = {"id": 862, "poster_path": "/toy.jpg"}
    links = pd.DataFrame(
        {
            "movieId": pd.array([1, 2, 3], dtype="int32"),
            "imdbId": pd.array(["0000001", "0114709", "0999999"], dtype="string"),
            "tmdbId": pd.array([5, pd.NA, pd.NA], dtype="Int32"),
        }
    )
    with make_client(tmdb, tmp_path) as client:
        first = client.urls_for_movies(links)
        seen = len(tmdb.requests)
        second = client.urls_for_movies(links)
        mapping = client.tmdb_ids_for_imdb(["0114709", "tt0999999"])
    assert (
        first
        == second
        == {
            1: IMAGE_BASE + "w342/poster5.jpg",
            2: IMAGE_BASE + "w342/toy.jpg",
            3: None,
        }
    )
    assert mapping == {"0114709": 862, "tt0999999": None}
    finds = [r for r in tmdb.requests if r["path"].startswith("/3/find/")]
    assert sorted(r["path"] for r in finds) == ["/3/find/tt0114709", "/3/find/tt0999999"]
    assert all(r["query"]["external_source"] == ["imdb_id"] for r in finds)
    assert len(tmdb.requests) == seen  # second round and mapping: all from the cache
    assert tmdb.count("/3/movie/") == 1  # find already gave the poster of 862


# --- failures -------------------------------------------------------------------------------


def test_5xx_is_retried_with_backoff(tmdb, tmp_path):
    tmdb.script_for("/3/movie/3", 500, 503)
    with make_client(tmdb, tmp_path, retries=2) as client:
        assert client.urls([3]) == {3: IMAGE_BASE + "w342/poster3.jpg"}
    assert tmdb.count("/3/movie/3") == 3


def test_persistent_5xx_answers_none_and_is_not_cached(tmdb, tmp_path):
    tmdb.script_for("/3/movie/3", 500, 500, 500)
    with make_client(tmdb, tmp_path, retries=2) as client:
        assert client.urls([3]) == {3: None}
        assert tmdb.count("/3/movie/3") == 3
        assert client.cache.get_posters([3]) == {}
        assert client.urls([3]) == {3: IMAGE_BASE + "w342/poster3.jpg"}  # tried again
    assert tmdb.count("/3/movie/3") == 4


def test_429_waits_as_retry_after_says(tmdb, tmp_path):
    tmdb.script_for("/3/movie/3", (429, {"Retry-After": "1"}))
    with make_client(tmdb, tmp_path, max_wait=5) as client:
        started = time.monotonic()
        result = client.urls([3])
        elapsed = time.monotonic() - started
    assert result == {3: IMAGE_BASE + "w342/poster3.jpg"}
    assert 0.9 <= elapsed < 3.0
    assert tmdb.count("/3/movie/3") == 2


def test_429_asking_for_a_long_pause_opens_the_breaker_instead_of_waiting(tmdb, tmp_path):
    tmdb.script_for("/3/movie/3", (429, {"Retry-After": "120"}))
    with make_client(tmdb, tmp_path, max_retry_after=0.2) as client:
        started = time.monotonic()
        result = client.urls([3, 4])
        elapsed = time.monotonic() - started
        seen = tmdb.count("/3/movie/")
        assert client.urls([5]) == {5: None}  # the breaker is open: nothing is sent
        assert not client.available
    assert result[3] is None
    assert elapsed < 1.0
    assert tmdb.count("/3/movie/3") == 1 and tmdb.count("/3/movie/") == seen


def test_malformed_json_answers_none_and_is_not_cached(tmdb, tmp_path):
    tmdb.script_for("/3/movie/3", "garbage")
    tmdb.movies[4]["poster_path"] = 12345  # not a path
    with make_client(tmdb, tmp_path) as client:
        assert client.urls([3, 4]) == {3: None, 4: None}
        assert client.cache.get_posters([3, 4]) == {}
        assert client.urls([3])[3] == IMAGE_BASE + "w342/poster3.jpg"


def test_slow_answers_within_the_read_timeout_succeed(tmdb, tmp_path):
    tmdb.delay = 0.3
    with make_client(tmdb, tmp_path, read_timeout=2.0) as client:
        assert client.urls([8]) == {8: IMAGE_BASE + "w342/poster8.jpg"}


def test_hanging_server_costs_one_timeout_then_the_breaker_answers_at_once(tmdb, tmp_path):
    tmdb.hang_all = True
    with make_client(
        tmdb, tmp_path, connect_timeout=0.3, read_timeout=0.4, breaker_seconds=0.8
    ) as client:
        started = time.monotonic()
        first = client.urls(range(1, 21))
        first_elapsed = time.monotonic() - started
        seen = len(tmdb.requests)

        started = time.monotonic()
        second = client.urls(range(1, 21))
        second_elapsed = time.monotonic() - started

        assert first == second == dict.fromkeys(range(1, 21))
        assert first_elapsed < 1.5  # one read timeout, not one per card
        assert seen <= client.max_workers + 1  # a wave of 8 (and the configuration)
        assert second_elapsed < 0.1
        assert len(tmdb.requests) == seen  # the open breaker sent nothing
        assert not client.available
        assert client.cache.get_posters(list(range(1, 21))) == {}  # errors are not cached

        # Once the breaker closes, TMDB is asked again.
        tmdb.hang_all = False
        time.sleep(0.9)
        assert client.urls([1]) == {1: IMAGE_BASE + "w342/poster1.jpg"}


def test_unreachable_server_is_fast_and_serves_stale_cache(tmdb, tmp_path):
    with make_client(tmdb, tmp_path, found_ttl=0.0) as client:
        client.urls([1])  # cached, but already expired
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    client = PosterClient(
        api_key=KEY,
        api_url=f"http://127.0.0.1:{dead_port}",
        cache_path=tmp_path / "posters.sqlite3",
        connect_timeout=0.5,
        read_timeout=0.5,
    )
    with client:
        started = time.monotonic()
        result = client.urls([1, 2, 3])
        assert time.monotonic() - started < 1.5
        assert not client.available
    assert result == {1: IMAGE_BASE + "w342/poster1.jpg", 2: None, 3: None}


def test_page_budget_returns_early_and_late_answers_fill_the_cache(tmdb, tmp_path):
    tmdb.delay = 0.5
    with make_client(tmdb, tmp_path, read_timeout=2.0) as client:
        started = time.monotonic()
        assert client.urls([1, 2], wait=0.1) == {1: None, 2: None}
        assert time.monotonic() - started < 0.4
        time.sleep(0.8)
        seen = len(tmdb.requests)
        assert client.urls([1, 2], wait=0)[1] == IMAGE_BASE + "w342/poster1.jpg"
        assert len(tmdb.requests) == seen


# --- concurrency and rate -------------------------------------------------------------------


def test_requests_run_in_parallel_on_a_bounded_pool(tmdb, tmp_path):
    tmdb.delay = 0.2
    with make_client(tmdb, tmp_path, max_workers=4, read_timeout=2.0) as client:
        started = time.monotonic()
        result = client.urls(range(1, 17))
        elapsed = time.monotonic() - started
    assert all(result.values())
    assert elapsed < 16 * 0.2 / 2  # far from one after the other
    assert tmdb.max_active <= 4


def test_many_threads_share_requests_and_the_cache(tmdb, tmp_path):
    tmdb.delay = 0.1
    results: list[dict] = []
    with make_client(tmdb, tmp_path, read_timeout=2.0) as client:
        threads = [
            threading.Thread(target=lambda: results.append(client.urls(range(1, 11))))
            for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    assert len(results) == 8 and all(r == results[0] for r in results)
    assert all(results[0].values())
    per_path = Counter(r["path"] for r in tmdb.requests if r["path"].startswith("/3/movie/"))
    assert max(per_path.values()) == 1 and len(per_path) == 10


def test_rate_limiter_keeps_the_rate():
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    limiter = RateLimiter(50, burst=10, clock=lambda: now[0], sleep=sleep)
    for _ in range(110):
        limiter.acquire()
    assert now[0] == pytest.approx(100 / 50, rel=0.01)  # the first 10 are a free burst
    limiter.pause(3)
    assert limiter.acquire() == pytest.approx(3.0)


def test_circuit_breaker_opens_for_its_period_and_reports_the_first_trip():
    now = [0.0]
    breaker = CircuitBreaker(60.0, clock=lambda: now[0])
    assert not breaker.is_open
    assert breaker.trip() is True  # closed before: the caller logs once
    now[0] = 30.0
    assert breaker.is_open and breaker.trip() is False  # already open: extended, not logged
    now[0] = 89.0
    assert breaker.is_open  # 60 s from the second trip
    now[0] = 90.0
    assert not breaker.is_open


# --- credentials ----------------------------------------------------------------------------


def test_api_key_goes_in_the_query_and_bearer_token_in_the_header(tmdb, tmp_path):
    with make_client(tmdb, tmp_path / "a") as client:
        client.urls([1])
    with make_client(tmdb, tmp_path / "b", api_key=None, read_token=TOKEN) as client:
        client.urls([2])
    by_path = {r["path"]: r for r in tmdb.requests}
    assert by_path["/3/movie/1"]["query"]["api_key"] == [KEY]
    assert by_path["/3/movie/1"]["auth"] is None
    assert by_path["/3/movie/2"]["auth"] == f"Bearer {TOKEN}"
    assert "api_key" not in by_path["/3/movie/2"]["query"]


def test_settings_come_from_the_environment(tmdb, tmp_path, monkeypatch):
    monkeypatch.setenv("TMDB_READ_TOKEN", TOKEN)
    monkeypatch.setenv("TMDB_API_URL", tmdb.url)
    monkeypatch.setenv("RECOMMENDER_CACHE", str(tmp_path / "cache"))
    with PosterClient() as client:
        assert client.urls([9])[9] == IMAGE_BASE + "w342/poster9.jpg"
    assert (tmp_path / "cache" / "posters.sqlite3").exists()
    assert tmdb.requests[-1]["auth"] == f"Bearer {TOKEN}"


def test_without_credentials_only_the_cache_answers(tmdb, tmp_path):
    with make_client(tmdb, tmp_path) as client:
        client.urls([1])
    seen = len(tmdb.requests)
    with make_client(tmdb, tmp_path, api_key=None) as keyless:
        assert not keyless.has_credentials
        assert keyless.urls([1, 2]) == {1: IMAGE_BASE + "w342/poster1.jpg", 2: None}
    assert len(tmdb.requests) == seen


def test_secrets_never_show_in_logs_errors_or_repr(tmdb, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    tmdb.script_for("/3/movie/2", 500, 500, 500)
    tmdb.script_for("/3/movie/3", "garbage")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with make_client(tmdb, tmp_path) as client:
        client.urls([1, 2, 3])
        text = repr(client) + repr(vars(client))
    with make_client(tmdb, tmp_path / "t", api_key=None, read_token=TOKEN) as client:
        client.urls([1, 2])
        text += repr(client) + repr(vars(client))
    unreachable = PosterClient(api_key=KEY, api_url=dead, cache_path=tmp_path / "d.sqlite3")
    with unreachable:
        unreachable.urls([1])
        text += repr(unreachable) + str(unreachable.last_error)
    # urllib3 logged every request line and the failures were logged: all scrubbed.
    assert "/3/movie/1" in caplog.text and "api_key=***" in caplog.text
    assert "ConnectionError" in caplog.text and "HTTP 500" in caplog.text
    assert "ConnectionError" in str(unreachable.last_error)
    for secret in (KEY, TOKEN):
        assert secret not in caplog.text
        assert secret not in text
    assert "SECRET" not in caplog.text + text


def test_rejected_key_opens_the_breaker(tmdb, tmp_path):
    tmdb.script_for("/3/movie/1", 401)
    with make_client(tmdb, tmp_path) as client:
        assert client.urls([1]) == {1: None}
        seen = len(tmdb.requests)
        assert client.urls([2]) == {2: None}
    assert len(tmdb.requests) == seen
