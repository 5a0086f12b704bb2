"""Movie night end to end in Chromium: three people added the three ways, ten picks with
everyone's stars, one person removed, the rule switched, then the same tab on a 390 px phone.

Reuses test_browser's server and browser fixtures; screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import pytest

from tests import test_browser as tb
from tests.test_app_profiles import IMDB_CSV

pytestmark = [pytest.mark.browser, pytest.mark.slow]

server_env, app_url = tb.server_env, tb.app_url  # the same fixtures: one server, one Chromium
browser = tb.browser
page = tb.page


def shot(page, name: str, width: int) -> None:
    """A full-page screenshot ``width`` px wide (Streamlit scrolls inside its main element)."""
    tb.ARTIFACTS.mkdir(exist_ok=True)
    page.mouse.move(0, 0)
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": width, "height": max(900, int(height))})
    page.wait_for_timeout(500)
    page.screenshot(path=str(tb.ARTIFACTS / f"{name}.png"), full_page=True)


def private_link(page, app_url: str) -> str:
    """Rate two movies on Your picks and save them: the private link."""
    page.goto(f"{app_url}/picks")
    page.get_by_role("heading", name="Recommended for you").wait_for()
    tb.settle(page)
    for movie_id, stars in ((318, "5 ★"), (260, "4.5 ★")):
        tb.rate(page, f"rate-starter-{movie_id}", stars)
    page.get_by_role("button", name="Save my ratings").click()
    page.get_by_text("Anyone with this link").wait_for()
    tb.settle(page)
    return page.locator('[data-testid="stCode"]').filter(has_text="profile=").inner_text().strip()


def type_name(page, name: str) -> None:
    box = page.locator(".st-key-night-name input")
    box.fill(name)
    box.press("Enter")
    tb.settle(page)


def members_shown(page) -> int:
    return page.locator("[class*='st-key-night-remove-']").count()


def test_movie_night_three_ways_remove_switch_and_phone(app_url, page):
    link = private_link(page, app_url)
    token = link.split("profile=")[1]

    page.goto(f"{app_url}/movie-night")
    page.get_by_role("heading", name="Movie night").wait_for()
    page.get_by_text("Add two people").wait_for()
    tb.settle(page)
    assert "profile=" not in page.url

    # 1. Ana rates here: a taste group and a starter.
    type_name(page, "Ana")
    page.locator(".st-key-night-group-0 label").click()
    tb.settle(page)
    starter = page.locator("[class*='st-key-night-rate-']").first
    key = next(c for c in starter.get_attribute("class").split() if c.startswith("st-key-"))
    tb.rate(page, key.removeprefix("st-key-"), "5 ★")
    page.locator(".st-key-night-add-rated button").click()
    page.wait_for_function("() => document.querySelectorAll(\"[class*='st-key-night-remove-']\")"
                           ".length === 1")
    tb.settle(page)

    # 2. Ben by private link: typed into a password field, never shown.
    type_name(page, "Ben")
    page.locator(".st-key-night-way button").filter(has_text="Private link").click()
    tb.settle(page)
    field = page.locator(".st-key-night-link input")
    assert field.get_attribute("type") == "password"
    field.fill(link)
    field.press("Enter")
    tb.settle(page)
    page.locator(".st-key-night-add-link button").click()
    page.get_by_text("Picks for the group").wait_for()
    tb.wait_for_keys(page, "night-seen-", 10)
    tb.settle(page)
    assert members_shown(page) == 2

    # 3. Cy imports an IMDb export.
    type_name(page, "Cy")
    page.locator(".st-key-night-way button").filter(has_text="Import a file").click()
    tb.settle(page)
    page.locator("[class*='st-key-night-file-'] input[type=file]").set_input_files(
        {"name": "ratings.csv", "mimeType": "text/csv", "buffer": IMDB_CSV}
    )
    page.locator(".st-key-night-add-import button").wait_for()
    tb.settle(page)
    page.locator(".st-key-night-add-import button").click()
    page.wait_for_function("() => document.querySelectorAll(\"[class*='st-key-night-remove-']\")"
                           ".length === 3")
    tb.wait_for_keys(page, "night-seen-", 10)
    tb.settle(page)
    stars = page.locator(".mn-stars")
    assert stars.count() == 10
    assert all(n in stars.first.inner_text() for n in ("Ana", "Ben", "Cy"))
    body = page.inner_text("body")
    assert token not in body and token not in page.url
    assert "both loved" in body or "which" in body  # reasons name people
    tb.no_error_on_page(page)
    shot(page, "movie-night", 1400)
    page.set_viewport_size({"width": 1400, "height": 900})

    # Remove Cy, then switch the rule.
    page.locator(".st-key-night-remove-2 button").first.click()
    page.wait_for_function("() => document.querySelectorAll(\"[class*='st-key-night-remove-']\")"
                           ".length === 2")
    tb.wait_for_keys(page, "night-seen-", 10)
    tb.settle(page)
    assert "Cy" not in page.locator(".mn-stars").first.inner_text()
    tb.rate(page, "night-rule", "Fair share")  # picks an option of any selectbox
    page.get_by_text("every member gets some of their own favourites").wait_for()
    tb.wait_for_keys(page, "night-seen-", 10)
    tb.no_error_on_page(page)

    # The same tab on a phone: one column, nothing wider than the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    tb.settle(page)
    overflow = page.evaluate(
        "() => document.querySelector('[data-testid=\"stMain\"]').scrollWidth")
    assert overflow <= 390
    for selector in (".st-key-night-name", ".mn-stars", ".st-key-night-rule"):
        box = page.locator(selector).first.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    tb.no_error_on_page(page)
    shot(page, "movie-night-phone", 390)
