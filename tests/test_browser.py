"""End to end in a real browser: ``streamlit run app.py`` driven by Debian's Chromium.

Search → open a movie → similar movies; rate three movies → picks; About. Full-page
screenshots at 1440×900 go to tests/artifacts/ (git-ignored) for a human to look at.
Outside CI the test skips when Chromium is absent; in CI (CI=true) it fails instead.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.server import CHROMIUM, CHROMIUM_ARGS, ServerError, start_app, stop
from recommender import DEFAULT_ALGORITHM
from ui.text import model_label

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
DEFAULT_LABEL = model_label(DEFAULT_ALGORITHM)
STARTUP_TIMEOUT_S = 60
TIMEOUT_MS = 60_000  # the first visit trains a model

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server_env(movielens_dir, tmp_path_factory) -> dict[str, str]:
    """The app server's environment (its RECOMMENDER_DATA holds the saved profiles)."""
    return {
        **os.environ,
        "MOVIELENS_DIR": str(movielens_dir),
        "RECOMMENDER_CACHE": str(tmp_path_factory.mktemp("browser-cache")),
        "RECOMMENDER_DATA": str(tmp_path_factory.mktemp("browser-data")),  # saved profiles
        "TMDB_API_KEY": "", "TMDB_READ_TOKEN": "",  # placeholders: no network in tests
    }


@pytest.fixture(scope="module")
def app_url(server_env, tmp_path_factory) -> Iterator[str]:
    """A streamlit server on a free local port; always terminated."""
    env = server_env
    log = (tmp_path_factory.mktemp("browser-log") / "streamlit.log").open("w+")
    try:
        server, url = start_app(env, log=log, timeout=STARTUP_TIMEOUT_S)
    except ServerError as error:
        log.seek(0)
        log_tail = log.read()[-3000:]
        log.close()
        pytest.fail(f"{error}:\n{log_tail}")
    try:
        yield url
    finally:
        stop(server, timeout=10)
        log.close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        reason = f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def settle(page) -> None:
    """Wait until Streamlit has finished the current run (no 'running' indicator)."""
    page.wait_for_timeout(300)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=TIMEOUT_MS
    )
    page.wait_for_timeout(300)


def shot(page, name: str) -> None:
    """A full-page screenshot 1440 px wide.

    Streamlit scrolls inside its main element, not the document, so the viewport is grown
    to the content's height for the shot.
    """
    ARTIFACTS.mkdir(exist_ok=True)
    page.mouse.move(0, 0)
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1440, "height": max(900, int(height))})
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 900})


def has_key(page, key: str) -> bool:
    return page.locator(f".st-key-{key}").count() > 0


def wait_for_keys(page, prefix: str, count: int) -> None:
    page.wait_for_function(
        f"() => document.querySelectorAll('[class*=\"st-key-{prefix}\"]').length === {count}"
    )


def rate(page, key: str, stars: str) -> None:
    """Pick ``stars`` in the rating selectbox ``key`` (opened by its arrow button)."""
    opener = page.locator(f".st-key-{key} button[aria-label='Open']")
    opener.scroll_into_view_if_needed()
    opener.click()
    page.get_by_role("option", name=stars, exact=True).click()
    settle(page)


def no_error_on_page(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.get_by_text("Traceback").count() == 0


def test_rate_three_movies_then_picks(app_url, page):
    # First in this file, so /picks is the first URL the fresh server sees: it must still
    # run inside app.py (top navigation, wide layout, card styles).
    page.goto(f"{app_url}/picks")
    page.get_by_role("heading", name="Recommended for you").wait_for()
    settle(page)
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0
    assert page.get_by_role("link", name="Discover").count() == 1
    page.get_by_text("Rate a few movies you know", exact=False).wait_for()
    for movie_id, stars in ((318, "5 ★"), (260, "4.5 ★"), (1258, "2 ★")):
        rate(page, f"rate-starter-{movie_id}", stars)
    page.get_by_text(f"{DEFAULT_LABEL} picks from your 3 ratings").wait_for()
    wait_for_keys(page, "rate-pick-", 12)
    for rated in (318, 260, 1258):
        assert not has_key(page, f"rate-pick-{rated}")
    assert page.get_by_text("Because you rated", exact=False).count() > 0
    no_error_on_page(page)
    shot(page, "picks")


def test_discover_search_and_similar(app_url, page):
    page.goto(app_url)
    page.get_by_role("heading", name="Discover").wait_for()
    search = page.get_by_placeholder("Search", exact=False)
    search.fill("matrix")
    search.press("Enter")
    wait_for_keys(page, "open-search-", 12)
    settle(page)
    shot(page, "discover-search")
    page.locator(".st-key-open-search-2571 button").click()
    page.get_by_role("heading", name="Because you watched The Matrix").wait_for()
    wait_for_keys(page, "open-similar-", 12)
    settle(page)
    assert "movie=2571" in page.url
    no_error_on_page(page)
    shot(page, "discover")
    # Each similar movie leads on to its own page, scrolled back up to its details.
    last = page.locator("[class*='st-key-open-similar-']").last  # far down the grid
    movie_id = next(
        c.removeprefix("st-key-open-similar-") for c in last.get_attribute("class").split()
        if c.startswith("st-key-open-similar-")
    )
    card = last.locator("button")
    card.scroll_into_view_if_needed()
    card.click()
    page.wait_for_function(f"() => location.search.includes('movie={movie_id}')")
    page.get_by_role("heading", name="Because you watched", exact=False).wait_for()
    settle(page)
    assert "Because you watched The Matrix" not in page.inner_text("body")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=\"stMain\"]').scrollTop < 50"
    )


def test_about(app_url, page):
    page.goto(f"{app_url}/about")
    page.get_by_role("heading", name="How the models compare").wait_for()
    page.get_by_text("Harper and Joseph A. Konstan", exact=False).first.wait_for()
    settle(page)
    no_error_on_page(page)
    shot(page, "about")


def test_bad_deep_link_is_friendly(app_url, page):
    page.goto(f"{app_url}/?movie=not-a-movie")
    page.get_by_text("There is no movie with id", exact=False).wait_for()
    no_error_on_page(page)


def test_saved_ratings_come_back_through_the_private_link(app_url, page):
    page.goto(f"{app_url}/picks")
    page.get_by_role("heading", name="Recommended for you").wait_for()
    settle(page)
    for movie_id, stars in ((318, "5 ★"), (260, "4.5 ★")):
        rate(page, f"rate-starter-{movie_id}", stars)
    page.get_by_role("button", name="Save my ratings").click()
    page.get_by_text("Anyone with this link can see and change these ratings").wait_for()
    settle(page)
    link = page.locator('[data-testid="stCode"]').filter(has_text="profile=").inner_text().strip()
    assert link.startswith(f"{app_url}/picks?profile=")
    assert "profile=" not in page.url  # the token stays out of the address bar
    with page.expect_download() as download:
        page.locator(".st-key-profile-export button").click()
    assert download.value.suggested_filename == "movielens-ratings.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert {(row["movieId"], row["rating"]) for row in rows} == {("318", "5.0"), ("260", "4.5")}
    # A new tab starts a new session: the ratings come back from the link alone, and the
    # token leaves the address bar once read.
    page.goto(link)
    page.get_by_text(f"{DEFAULT_LABEL} picks from your 2 ratings").wait_for()
    wait_for_keys(page, "rate-pick-", 12)
    settle(page)
    assert page.get_by_text("Your ratings (2)").count() == 1
    assert page.locator(".st-key-rate-starter-318 input").input_value() == "5 ★"
    assert page.locator(".st-key-rate-starter-260 input").input_value() == "4.5 ★"
    page.wait_for_function("() => !location.search.includes('profile=')")
    no_error_on_page(page)
    shot(page, "profile")


def test_taste_groups_stars_why_and_the_movie_map(app_url, page):
    page.goto(f"{app_url}/picks")
    page.get_by_text("Pick the kinds of movies you like", exact=True).wait_for()
    wait_for_keys(page, "group-", 12)
    settle(page)
    shot(page, "picks-groups")
    for key in ("group-0", "group-3"):
        page.locator(f".st-key-{key} label").click()
        settle(page)
    page.locator(".st-key-groups-seed button").click()
    wait_for_keys(page, "rate-pick-", 12)
    settle(page)
    assert page.get_by_text("We think you'd rate it", exact=False).count() == 12
    assert page.get_by_text("Your ratings (12)").count() == 1
    why = page.locator("[class*='st-key-why-'] button").first
    why.scroll_into_view_if_needed()
    why.click()
    page.get_by_text("Your ratings that led to", exact=False).wait_for()
    settle(page)
    shot(page, "picks-stars")
    page.keyboard.press("Escape")
    # Same tab (the ratings live in this session): rated movies and picks show on the map.
    page.get_by_role("link", name="Explore").click()
    page.get_by_role("heading", name="Taste groups").wait_for()
    settle(page)
    points = page.locator(".st-key-movie-map svg g.mark-symbol").first.locator("path")
    assert points.count() > 1000
    no_error_on_page(page)
    shot(page, "explore")
    # Clicking a movie opens it on Discover.
    box = points.nth(5).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.get_by_role("heading", name="Because you watched", exact=False).wait_for()
    assert "movie=" in page.url
    no_error_on_page(page)


# --- every page at a phone's width and a desktop's ---------------------------------------------

# Screenshots go to the git-ignored tests/artifacts/screens; SCREENSHOT_DIR=docs/screens
# refreshes the committed ones linked from the README.
SCREENS = Path(os.environ.get("SCREENSHOT_DIR") or Path(__file__).parent / "artifacts" / "screens")
WIDTHS = (390, 1400)
SHOT_HEIGHT = {390: 2200, 1400: 1500}  # the first screens of each page, not all of it
# Shawshank, Star Wars, Fellowship, Toy Story, The Matrix last (newest: the top of the list).
# Over four, the ratings list scrolls inside a fixed height, which must not clip the top slider.
FIVE_RATINGS = {318: 5.0, 260: 4.5, 4993: 4.0, 1: 3.5, 2571: 5.0}


def shot_at(page, name: str, width: int) -> None:
    """SCREENS/<name>-<width>.png: the page's top SHOT_HEIGHT pixels (kept < 300 KB)."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.mouse.move(0, 0)
    height = SHOT_HEIGHT[width]
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_timeout(800)
    path = SCREENS / f"{name}-{width}.png"
    page.screenshot(path=str(path))
    assert path.stat().st_size < 300_000, f"{path.name} is {path.stat().st_size:,} bytes"


def overflowing(page, width: int) -> list[str]:
    """Visible elements of the page that reach past the right edge (2 px tolerance)."""
    return page.evaluate(
        """(width) => [...document.querySelectorAll('[data-testid="stMain"] *')]
            .filter(e => { const r = e.getBoundingClientRect();
                           const s = getComputedStyle(e);
                           return r.width > 0 && r.height > 0 && r.right > width + 2
                                  && s.visibility !== 'hidden' && e.type !== 'hidden'
                                  && !e.closest('[data-testid="stToast"]')
                                  && !e.closest('[style*="clip"]'); })  // screen-reader only
            .map(e => `${e.tagName}.${(e.getAttribute('data-testid') || e.className || '')
                                       .toString().slice(0, 40)} right=${
                       Math.round(e.getBoundingClientRect().right)}`)
            .slice(0, 10)""",
        width,
    )


def assert_fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 2
    # Streamlit clips its main element, so overflow there hides content instead of scrolling.
    main = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollWidth")
    assert main <= width + 2, main
    assert not overflowing(page, width)


def box(page, locator):
    """Where ``locator`` is with the page scrolled to the top (comparable between elements)."""
    page.locator("[data-testid='stMain']").evaluate("e => e.scrollTo(0, 0)")
    return locator.first.bounding_box()


@pytest.fixture
def page_at(browser, request):
    """A fresh tab at the parametrised width, failing on JavaScript errors."""
    context = browser.new_context(viewport={"width": request.param, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab, request.param
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.mark.parametrize("page_at", WIDTHS, indirect=True)
def test_discover_fits(app_url, page_at):
    page, width = page_at
    page.goto(f"{app_url}/?movie=2571")
    page.get_by_role("heading", name="Because you watched The Matrix").wait_for()
    wait_for_keys(page, "open-similar-", 12)
    settle(page)
    assert_fits(page, width)
    no_error_on_page(page)
    shot_at(page, "discover", width)


@pytest.mark.parametrize("page_at", WIDTHS, indirect=True)
def test_picks_fit_and_show_the_picks_before_the_movies_to_rate(
    app_url, page_at, server_env, monkeypatch
):
    from recommender.profiles import ProfileStore

    page, width = page_at
    monkeypatch.setenv("RECOMMENDER_DATA", server_env["RECOMMENDER_DATA"])
    token = ProfileStore().create(FIVE_RATINGS)
    page.goto(f"{app_url}/picks?profile={token}")
    wait_for_keys(page, "rate-pick-", 12)
    page.get_by_role("heading", name="Rate movies you know").wait_for()
    settle(page)
    assert_fits(page, width)
    assert "profile=" not in page.url
    # Every model of the switch can be seen and reached: none hides past the edge.
    switch = page.locator(".st-key-picks-model button")
    switch.nth(5).wait_for()
    assert switch.count() == 6
    for i in range(6):
        button = switch.nth(i).bounding_box()
        assert button["x"] >= 0 and button["x"] + button["width"] <= width + 1
    picks = box(page, page.get_by_role("heading", name="Recommended for you"))
    rate_here = box(page, page.get_by_role("heading", name="Rate movies you know"))
    if width < 640:  # one column: the picks come first, so rating shows its result
        assert picks["y"] < rate_here["y"]
    else:  # side by side: the movies to rate on the left, the picks on the right
        assert rate_here["x"] < picks["x"]
    assert page.get_by_text("on the left").count() == 0
    # The top slider's "5 ★" label sits inside the scrolling ratings list, not clipped above.
    label = page.locator(".st-key-ratings-list [data-testid='stSliderThumbValue']").first
    inside = page.evaluate(
        """(label) => label.getBoundingClientRect().top
                      >= document.querySelector('.st-key-ratings-list')
                                 .getBoundingClientRect().top""", label.element_handle())
    assert inside
    no_error_on_page(page)
    shot_at(page, "picks", width)


@pytest.mark.parametrize("page_at", WIDTHS, indirect=True)
def test_explore_fits_with_the_legend_under_the_map(app_url, page_at):
    page, width = page_at
    page.goto(f"{app_url}/explore")
    page.get_by_role("heading", name="Taste groups").wait_for()
    page.locator(".st-key-movie-map svg g.mark-symbol").first.wait_for()
    settle(page)
    assert_fits(page, width)
    chart = box(page, page.locator(".st-key-movie-map"))
    legend = box(page, page.locator(".st-key-movie-map g.role-legend"))
    assert legend["y"] > chart["y"] + chart["height"] / 2  # under the map, not beside it
    plot = box(page, page.locator(".st-key-movie-map g.mark-symbol"))
    assert plot["width"] > 0.8 * chart["width"]  # the map gets the full width
    no_error_on_page(page)
    shot_at(page, "explore", width)


@pytest.mark.parametrize("page_at", WIDTHS, indirect=True)
def test_about_fits_and_tells_the_story_first(app_url, page_at):
    page, width = page_at
    page.goto(f"{app_url}/about")
    page.get_by_text("What it means for you", exact=False).wait_for()
    page.locator(".stVegaLiteChart svg, .stVegaLiteChart canvas").first.wait_for()
    settle(page)
    assert_fits(page, width)
    for chart in page.locator(".stVegaLiteChart").all():
        chart.scroll_into_view_if_needed()
        assert chart.bounding_box()["width"] <= width
    no_error_on_page(page)
    box(page, page.get_by_role("heading", name="About"))  # back to the top for the shot
    shot_at(page, "about", width)


def test_only_streamlit_s_base_url_probe_fails_when_a_page_is_opened_by_its_address(
    app_url, browser
):
    """Opened at /picks, Streamlit's frontend cannot tell a page name from a base URL path,
    so it first asks /picks/_stcore/health and /picks/_stcore/host-config (404), then /.
    That probe is in Streamlit's own code (1.5x, ``getPossibleBaseUris``) and cannot be
    turned off from an app; nothing else may fail, and / has no failure at all."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    failed: list[str] = []
    page.on("response", lambda r: failed.append(r.url.removeprefix(app_url))
            if r.status >= 400 else None)
    try:
        page.goto(app_url)
        page.get_by_role("heading", name="Discover").wait_for()
        settle(page)
        assert failed == []
        page.goto(f"{app_url}/picks")
        page.get_by_role("heading", name="Recommended for you").wait_for()
        settle(page)
        assert set(failed) <= {"/picks/_stcore/health", "/picks/_stcore/host-config"}
    finally:
        context.close()
