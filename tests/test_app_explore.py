"""Predicted stars, taste-group onboarding, "Why?" explanations and the Explore page's movie
map, through AppTest on real MovieLens (needs MOVIELENS_DIR, like tests/test_app.py)."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from recommender.models import load_or_train
from tests.test_app import APP, FELLOWSHIP, SHAWSHANK, STAR_WARS, TIMEOUT, keys, open_picks, rate
from ui.onboarding import GROUP_POSTERS, GROUP_RATING
from ui.why import why_html

STARS = re.compile(r"We think you'd rate it <span class=\"mv-score\">★ (\d\.\d)</span>")
THREE = ((SHAWSHANK, 5.0), (STAR_WARS, 4.5), (FELLOWSHIP, 4.0))


@pytest.fixture
def app(movielens_dir) -> AppTest:
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def pick_ids(at: AppTest) -> list[int]:
    return [int(k.removeprefix("rate-pick-")) for k in keys(at, "rate-pick-")]


def card_stars(at: AppTest) -> dict[int, float]:
    """movieId -> the predicted stars its pick card shows (cards and pickers share an order)."""
    shown = [float(m.group(1)) for block in at.markdown if (m := STARS.search(str(block.value)))]
    return dict(zip(pick_ids(at), shown, strict=True))


def why_buttons(at: AppTest) -> list:
    """The "Why?" popovers under the pick cards."""
    return [b for b in at.main.get("popover") if getattr(b.proto.popover, "label", "") == "Why?"]


def rate_three(at: AppTest) -> AppTest:
    open_picks(at)
    for movie_id, stars in THREE:
        rate(at, movie_id, stars)
    assert not at.exception
    return at


def map_values(at: AppTest) -> pd.DataFrame:
    """Every data row of the movie map's layers, as Streamlit sends them (Arrow datasets)."""
    [chart] = at.get("vega_lite_chart")
    return pd.concat(convert_arrow_bytes_to_pandas_df(d.data.data) for d in chart.proto.datasets)


def test_explore_shows_the_map_and_the_taste_groups(app):
    app.run()
    app.switch_page("pages/explore.py").run()
    assert not app.exception and not app.error
    assert [t.value for t in app.title] == ["Explore"]
    rows = map_values(app)
    assert rows["movieId"].nunique() > 1000  # ml-latest-small: ~1,300 movies with 20+ ratings
    assert set(rows["role"]) == {"movie"}  # nothing rated yet: nothing highlighted
    assert rows[["x", "y"]].notna().all().all()
    assert "Taste groups" in [s.value for s in app.subheader]
    groups = [m.value for m in app.markdown if m.value.startswith("**")]
    assert len(groups) == 12
    assert any("such as" in c.value for c in app.caption)


def test_the_map_highlights_rated_movies_and_picks(app):
    rate_three(app)
    picks = pick_ids(app)
    app.switch_page("pages/explore.py").run()
    assert not app.exception
    rows = map_values(app)
    roles = dict(zip(rows["movieId"], rows["role"], strict=True))
    assert {int(m) for m, role in roles.items() if role == "you rated"} == {m for m, _ in THREE}
    recommended = {int(m) for m, role in roles.items() if role == "recommended"}
    assert recommended and recommended <= set(picks)
    assert any("Ringed: 3 movies you rated" in c.value for c in app.caption)


def test_picks_show_the_stars_biased_mf_predicts_for_the_visitor(app, movielens):
    rate_three(app)
    shown = card_stars(app)
    assert len(shown) == 12
    assert all(0.5 <= s <= 5.0 for s in shown.values())
    # Folded in with this visitor's ratings, whichever model made the picks (ALS here).
    model = load_or_train(movielens.ratings, "biased-mf", movies=movielens.movies)
    expected = model.predict_ratings(dict(THREE), list(shown))
    assert shown == {m: float(f"{expected[m]:.1f}") for m in shown}
    # A low rating changes the prediction: the stars follow the visitor, not the movie.
    app.select_slider(key=f"edit-{SHAWSHANK}").set_value(0.5).run()
    lowered = card_stars(app)
    common = set(shown) & set(lowered)
    assert common and any(lowered[m] != shown[m] for m in common)


def test_popularity_picks_get_no_personal_stars_and_no_why(app):
    rate_three(app)
    app.segmented_control(key="picks-model").set_value("popularity").run()
    assert not app.exception
    notes = "\n".join(str(m.value) for m in app.markdown)
    assert not STARS.search(notes)  # the same list for everyone: no "we think you'd rate it"
    assert not why_buttons(app)


def test_why_says_when_a_rating_behind_a_pick_was_a_low_one():
    shown = why_html("Toy Story", [("Aladdin", 4.5, 0.6), ("Cats", 2.5, 0.31)])
    liked, low = shown.split("Cats")
    assert "(a low rating)" not in liked and "you gave it 2.5 ★ (a low rating)" in low
    assert 'class="mv-why-bar low"' in low and 'class="mv-why-bar low"' not in liked


def test_taste_group_tiles_show_every_title_as_text(app):
    import html

    from ui import resources

    open_picks(app)
    tiles = [m.value for m in app.markdown if "mv-strip" in m.value]
    groups = resources.taste_groups()
    assert len(tiles) == len(groups)
    titles = resources.catalogue()["display_title"]
    for tile, group in zip(tiles, groups, strict=True):
        assert html.escape(group.name) in tile
        shown = group.movie_ids[:GROUP_POSTERS]
        # Readable without hovering: each title is text under its poster.
        captions = [f"<figcaption>{html.escape(titles[m])}</figcaption>" for m in shown]
        assert all(c in tile for c in captions), group.name


def test_taste_groups_seed_the_profile(app):
    from ui import resources

    open_picks(app)
    assert "Pick the kinds of movies you like" in "\n".join(m.value for m in app.markdown)
    toggles = [t.key for t in app.toggle if t.key.startswith("group-")]
    assert len(toggles) == 12
    assert app.button(key="groups-seed").disabled
    rate(app, SHAWSHANK, 2.0)  # a rating the visitor gave stays as it is
    app.toggle(key="group-0").set_value(True).run()
    app.toggle(key="group-3").set_value(True).run()
    assert not app.button(key="groups-seed").disabled
    app.button(key="groups-seed").click().run()
    assert not app.exception
    groups = resources.taste_groups()
    seeded = set(groups[0].movie_ids[:GROUP_POSTERS]) | set(groups[3].movie_ids[:GROUP_POSTERS])
    ratings = app.session_state["ratings"]
    assert set(ratings) == seeded | {SHAWSHANK}
    assert ratings[SHAWSHANK] == 2.0
    assert all(ratings[m] == GROUP_RATING for m in seeded - {SHAWSHANK})
    assert len(pick_ids(app)) == 12 and not seeded & set(pick_ids(app))
    assert not [t for t in app.toggle if t.key.startswith("group-")]  # enough ratings now


def test_why_names_the_rated_movies_behind_a_pick(app, movielens):
    rate_three(app)
    first = pick_ids(app)[0]
    assert len(why_buttons(app)) == 12
    # Lazy: nothing is explained until the popover is opened.
    assert not [m for m in app.markdown if "mv-why" in m.value]
    app.session_state[f"why-{first}"] = True
    app.run()
    assert not app.exception
    [why] = [m.value for m in app.markdown if "mv-why" in m.value]
    titles = movielens.movies.set_index("movieId")["display_title"]
    named = [titles[m] for m, _ in THREE if titles[m] in why]
    assert named, why
    assert re.search(r"\d+%", why) and "you gave it" in why
