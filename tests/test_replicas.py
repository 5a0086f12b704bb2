"""Two app replicas behind a real nginx, sharing a real PostgreSQL profile store.

A visitor saves ratings on one replica; the private link opens with the same ratings on the
other (each addressed directly, so both are used) and through nginx. nginx's access log
(route cookie, upstream) shows that it spreads new visitors over both replicas and keeps every
request of one visitor, the websocket included, on one replica.
"""

from __future__ import annotations

import os
import re
import time
import urllib.request
from collections.abc import Iterator

import pytest

from benchmarks.server import ServerError
from deploy.replicas import COOKIE, Deployment, deployment, find_nginx
from recommender.profiles import open_store
from tests.postgres import empty_schema
from tests.test_browser import (
    TIMEOUT_MS,
    browser,  # noqa: F401 - the Chromium fixture
    rate,
    settle,
)

pytestmark = [pytest.mark.replicas, pytest.mark.postgres, pytest.mark.browser, pytest.mark.slow]
LOG_LINE = re.compile(r'"(?P<method>\S+) (?P<path>\S+) [^"]*" (?P<status>\d+) '
                      r"route=(?P<route>\S+) upstream=(?P<upstream>\S+)")


@pytest.fixture(scope="module")
def database_url(postgres_server) -> Iterator[str]:
    with empty_schema(postgres_server) as url:
        yield url


@pytest.fixture(scope="module")
def replicas(movielens_dir, database_url, tmp_path_factory) -> Iterator[Deployment]:
    if find_nginx() is None:
        reason = "nginx not found (apt-get install nginx)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    env = {
        **os.environ,
        "MOVIELENS_DIR": str(movielens_dir),
        "RECOMMENDER_CACHE": str(tmp_path_factory.mktemp("replica-cache")),
        "RECOMMENDER_DATA": str(tmp_path_factory.mktemp("replica-data")),
        "RECOMMENDER_DATABASE_URL": database_url,
        "TMDB_API_KEY": "", "TMDB_READ_TOKEN": "",
    }
    logs = tmp_path_factory.mktemp("replica-logs")
    try:
        with deployment(2, env, log_dir=logs) as running:
            yield running
    except ServerError as error:
        tails = "\n".join(p.read_text()[-1500:] for p in sorted(logs.glob("*.log")))
        pytest.fail(f"{error}\n{tails}")


def visits(deployment: Deployment, route: str) -> list[tuple[str, str, str]]:
    """(path, status, upstream) of every request nginx logged for one route cookie."""
    return [
        (match["path"], match["status"], match["upstream"])
        for line in deployment.access_log.read_text().splitlines()
        if (match := LOG_LINE.search(line)) and match["route"] == route
    ]


def open_link(browser, url: str):  # noqa: F811 - the fixture's value
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url)
    return context, page


def test_a_profile_saved_on_one_replica_opens_on_the_other(replicas, browser, database_url):  # noqa: F811
    first, second = replicas.replica_urls
    context, page = open_link(browser, f"{first}/picks")
    page.get_by_role("heading", name="Recommended for you").wait_for()
    settle(page)
    for movie_id, stars in ((318, "5 ★"), (260, "4.5 ★")):
        rate(page, f"rate-starter-{movie_id}", stars)
    page.get_by_role("button", name="Save my ratings").click()
    page.get_by_text("Anyone with this link can see and change these ratings").wait_for()
    link = page.locator('[data-testid="stCode"]').filter(has_text="profile=").inner_text()
    token = link.strip().rsplit("profile=", 1)[1]
    context.close()
    with open_store(database_url) as store:
        assert store.ratings(token) == {318: 5.0, 260: 4.5}

    for url in (second, replicas.front_url):
        context, page = open_link(browser, f"{url}/picks?profile={token}")
        page.get_by_text("Your ratings (2)").wait_for()
        settle(page)
        assert page.locator(".st-key-rate-starter-318 input").input_value() == "5 ★"
        assert page.locator(".st-key-rate-starter-260 input").input_value() == "4.5 ★"
        assert page.locator('[data-testid="stException"]').count() == 0
        cookies = {c["name"]: c["value"] for c in context.cookies()}
        context.close()
    # Through nginx, every request of that visitor (page, scripts, websocket) hit one replica.
    # nginx logs the websocket when it closes, a moment after the page.
    deadline = time.monotonic() + 30
    while ("/_stcore/stream", "101") not in {(path, status) for path, status, _ in visits(
            replicas, cookies[COOKIE])} and time.monotonic() < deadline:
        time.sleep(0.5)
    requests = visits(replicas, cookies[COOKIE])
    assert ("/_stcore/stream", "101") in {(path, status) for path, status, _ in requests}
    assert len({upstream for _, _, upstream in requests}) == 1


def test_nginx_spreads_new_visitors_and_keeps_each_on_one_replica(replicas):
    visitors = []
    for _ in range(16):
        with urllib.request.urlopen(f"{replicas.front_url}/_stcore/health") as response:
            [cookie] = [c.split(";")[0] for c in response.headers.get_all("Set-Cookie")
                        if c.startswith(f"{COOKIE}=")]
        visitors.append(cookie.split("=", 1)[1])
        for _ in range(3):  # the same visitor comes back with its cookie
            request = urllib.request.Request(f"{replicas.front_url}/_stcore/health",
                                             headers={"Cookie": cookie})
            with urllib.request.urlopen(request) as response:
                assert response.status == 200
    # nginx logs a request just after answering it: give the last lines a moment under load.
    deadline = time.monotonic() + 10
    while any(len(visits(replicas, route)) < 4 for route in visitors) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.2)
    upstreams = set()
    for route in visitors:
        requests = visits(replicas, route)
        assert len(requests) == 4
        assert len({upstream for _, _, upstream in requests}) == 1
        upstreams.add(requests[0][2])
    # 16 random routes all hashing to one of two replicas: a chance of 2 in 65,536.
    expected = {url.removeprefix("http://") for url in replicas.replica_urls}
    assert upstreams == expected
