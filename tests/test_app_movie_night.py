"""Movie night through AppTest on real MovieLens: add people each of the three ways (rating
here, private link, file import), remove one, switch the rule, filters and "Seen it"."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from recommender.profiles import ProfileStore
from tests.test_app import APP, MATRIX, SHAWSHANK, STAR_WARS, TIMEOUT, texts
from tests.test_app_profiles import IMDB_CSV, JUMANJI, TOY_STORY

PAGE = "pages/movie_night.py"
ALIEN, HEAT = 1214, 6  # ratings behind Ben's private link


@pytest.fixture
def app(movielens_dir) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    return at.switch_page(PAGE).run()


def members(at: AppTest) -> dict[str, dict[int, float]]:
    return {m["name"]: m["ratings"] for m in at.session_state["night-members"]}


def picks(at: AppTest) -> list[int]:
    return [int(b.key.removeprefix("night-seen-")) for b in at.button
            if b.key and b.key.startswith("night-seen-")]


def starter_ids(at: AppTest) -> list[int]:
    return [int(s.key.removeprefix("night-rate-")) for s in at.selectbox
            if s.key and s.key.startswith("night-rate-")]


def add_rated(at: AppTest, name: str, stars: dict[int, float], group: int | None = None):
    at.text_input(key="night-name").set_value(name).run()
    for movie_id, value in stars.items():
        at.selectbox(key=f"night-rate-{movie_id}").set_value(value).run()
    if group is not None:
        at.toggle(key=f"night-group-{group}").set_value(True).run()
    return at.button(key="night-add-rated").click().run()


def add_by_link(at: AppTest, name: str, link: str) -> AppTest:
    at.text_input(key="night-name").set_value(name)
    at.segmented_control(key="night-way").set_value("link").run()
    at.text_input(key="night-link").set_value(link)
    return at.button(key="night-add-link").click().run()


def add_by_file(at: AppTest, name: str, content: bytes) -> AppTest:
    at.text_input(key="night-name").set_value(name)
    at.segmented_control(key="night-way").set_value("file").run()
    [uploader] = [u for u in at.file_uploader if u.key.startswith("night-file-")]
    uploader.set_value(("ratings.csv", content, "text/csv")).run()
    return at.button(key="night-add-import").click().run()


def page_text(at: AppTest) -> str:
    return texts([*at.markdown, *at.caption, *at.error, *at.info, *at.toast, *at.text_input])


def test_three_people_added_three_ways_get_ten_unrated_picks(app):
    assert not app.exception and [t.value for t in app.title] == ["Movie night"]
    assert "Add two people" in texts(app.info) and not picks(app)
    first, second = starter_ids(app)[:2]
    add_rated(app, "Ana", {first: 5.0, second: 2.0}, group=0)
    ana = members(app)["Ana"]
    assert ana[first] == 5.0 and ana[second] == 2.0
    assert len(ana) == 2 + 6 and sorted(set(ana.values())) == [2.0, 4.5, 5.0]  # group at 4.5
    assert app.selectbox(key=f"night-rate-{first}").value is None  # cleared for the next one
    assert app.text_input(key="night-name").value == ""
    assert "Add one more person" in texts(app.info)

    store = ProfileStore()
    token = store.create({ALIEN: 5.0, HEAT: 4.5, SHAWSHANK: 4.0})
    add_by_link(app, "Ben", f"http://localhost:8501/picks?profile={token}")
    assert members(app)["Ben"] == {ALIEN: 5.0, HEAT: 4.5, SHAWSHANK: 4.0}
    assert store.ratings(token) == {ALIEN: 5.0, HEAT: 4.5, SHAWSHANK: 4.0}  # read only
    assert app.text_input(key="night-link").value == ""  # the secret is not kept
    assert token not in page_text(app) and "profile" not in app.query_params
    assert token not in repr(app.session_state)

    add_by_file(app, "Cy", IMDB_CSV)
    assert members(app)["Cy"] == {TOY_STORY: 4.5, JUMANJI: 3.0, MATRIX: 5.0}
    assert not app.exception and not app.error

    shown = picks(app)
    assert len(shown) == 10
    rated = set(ana) | {ALIEN, HEAT, SHAWSHANK} | {TOY_STORY, JUMANJI, MATRIX}
    assert not set(shown) & rated
    stars = [m.value for m in app.markdown if 'class="mn-stars"' in m.value]
    assert len(stars) == 10
    assert all(">Ana <b>★" in s and ">Ben <b>★" in s and ">Cy <b>★" in s for s in stars)
    assert "The default, because it served the least-happy member best" in texts(app.markdown)


def test_removing_someone_refreshes_the_picks(app):
    first, second, third = starter_ids(app)[:3]
    add_rated(app, "Ana", {first: 5.0}, group=0)
    add_rated(app, "Ben", {second: 4.0}, group=3)
    add_rated(app, "Cy", {third: 4.5}, group=6)
    with_cy = picks(app)
    assert len(with_cy) == 10
    cy_id = next(m["id"] for m in app.session_state["night-members"] if m["name"] == "Cy")
    app.button(key=f"night-remove-{cy_id}").click().run()
    assert list(members(app)) == ["Ana", "Ben"]
    without_cy = picks(app)
    assert len(without_cy) == 10 and without_cy != with_cy
    ana_id = app.session_state["night-members"][0]["id"]
    app.button(key=f"night-remove-{ana_id}").click().run()
    assert not picks(app) and "Add one more person" in texts(app.info)


def test_switching_the_rule_changes_the_line_and_the_picks(app):
    first, second = starter_ids(app)[:2]
    add_rated(app, "Ana", {first: 5.0}, group=0)
    add_rated(app, "Ben", {second: 5.0}, group=5)
    before = picks(app)
    assert "**Average**" in texts(app.markdown)
    app.selectbox(key="night-rule").set_value("least_misery").run()
    assert not app.exception
    line = next(m.value for m in app.markdown if m.value.startswith("**Least misery**"))
    assert "The default, Average, served the least-happy member best" in line
    after = picks(app)
    assert len(after) == 10 and after != before


def test_filters_and_seen_it(app):
    first, second = starter_ids(app)[:2]
    add_rated(app, "Ana", {first: 5.0}, group=0)
    add_rated(app, "Ben", {second: 4.0}, group=1)
    seen = picks(app)[0]
    app.button(key=f"night-seen-{seen}").click().run()
    assert seen not in picks(app) and len(picks(app)) == 10
    app.toggle(key="night-unseen").set_value(False).run()
    assert seen in picks(app)  # it comes back when seen movies are allowed
    app.multiselect(key="night-genres").set_value(["Horror"]).run()
    from ui import resources  # the app's own catalogue, cached in this process

    genres = resources.catalogue().loc[picks(app), "genres"]
    assert len(genres) == 10 and genres.str.contains("Horror").all()


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "Type the person's name"), ("Ana", "Ana is already in the group")],
)
def test_names_are_required_and_unique(app, name, message):
    first, second = starter_ids(app)[:2]
    add_rated(app, "Ana", {first: 5.0})
    add_rated(app, name, {second: 4.0})
    assert message in texts(app.error)
    assert list(members(app)) == ["Ana"]


def test_a_bad_link_adds_nobody_and_is_not_echoed(app):
    add_by_link(app, "Ben", "http://localhost:8501/picks?profile=not-a-real-token")
    assert "That private link does not work" in texts(app.error)
    assert "not-a-real-token" not in page_text(app)
    assert members(app) == {}


def test_add_me_uses_my_ratings_from_your_picks(app):
    app.session_state["ratings"] = {SHAWSHANK: 5.0, STAR_WARS: 4.5}
    app.run()
    app.text_input(key="night-name").set_value("Me")
    app.button(key="night-add-me").click().run()
    assert members(app) == {"Me": {SHAWSHANK: 5.0, STAR_WARS: 4.5}}
