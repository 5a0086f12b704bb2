"""The Streamlit app through streamlit.testing.v1.AppTest, on real MovieLens data.

Needs MOVIELENS_DIR (ml-latest-small); the conftest points RECOMMENDER_CACHE at a temporary
folder, so the first test trains the models it uses (cached in memory for the others).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from recommender import ALGORITHMS, DEFAULT_ALGORITHM
from ui.cards import card_html
from ui.text import md_escape, model_label

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT = 60  # the first run of a session loads the data and trains a model
SHAWSHANK, STAR_WARS, FELLOWSHIP, MATRIX = 318, 260, 4993, 2571
UNRATED = 1076  # The Innocents (1961): in movies.csv, nobody rated it


@pytest.fixture
def app(movielens_dir) -> AppTest:
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def keys(at: AppTest, prefix: str) -> list[str]:
    """Keys of the buttons and selectboxes whose key starts with ``prefix``."""
    widgets = [*at.button, *at.selectbox]
    return [w.key for w in widgets if w.key and w.key.startswith(prefix)]


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def open_picks(at: AppTest) -> AppTest:
    at.run()
    return at.switch_page("pages/picks.py").run()


def rate(at: AppTest, movie_id: int, stars: float, place: str = "starter") -> AppTest:
    return at.selectbox(key=f"rate-{place}-{movie_id}").set_value(stars).run()


@pytest.mark.parametrize(
    ("page", "title"),
    [("pages/discover.py", "Discover"), ("pages/picks.py", "Your picks"),
     ("pages/about.py", "About")],
)
def test_every_page_runs(app, page, title):
    app.run()
    app.switch_page(page).run()
    assert not app.exception
    assert [t.value for t in app.title] == [title]
    assert not app.error


def test_search_then_choose_a_movie_shows_similar_movies(app):
    app.run()
    app.text_input(key="discover-search").input("matrix").run()
    assert f"open-search-{MATRIX}" in keys(app, "open-search-")
    app.button(key=f"open-search-{MATRIX}").click().run()
    assert not app.exception
    assert app.query_params.get("movie") == str(MATRIX)
    assert app.text_input(key="discover-search").value == ""  # the search made way
    assert [h.value for h in app.header] == ["The Matrix"]
    assert "Because you watched The Matrix" in texts(app.subheader)
    similar = keys(app, "open-similar-")
    assert len(similar) == 12 and f"open-similar-{MATRIX}" not in similar
    # A similar movie's card leads on to that movie.
    app.button(key=similar[0]).click().run()
    assert app.query_params["movie"] == similar[0].removeprefix("open-similar-")


def test_deep_link_opens_the_movie(app):
    app.query_params["movie"] = str(MATRIX)
    app.run()
    assert not app.exception
    assert [h.value for h in app.header] == ["The Matrix"]
    assert [m.value for m in app.metric][:2] == ["4.19 ★", "278"]
    assert len(keys(app, "open-similar-")) == 12


@pytest.mark.parametrize("movie", ["not-a-number", "999999999", "-1"])
def test_bad_deep_link_is_explained(app, movie):
    app.query_params["movie"] = movie
    app.run()
    assert not app.exception
    assert "There is no movie with id" in texts(app.warning)
    app.button(key="bad-link-back").click().run()
    assert "movie" not in app.query_params
    assert keys(app, "open-popular-")


def test_movie_without_ratings_shows_details_and_a_note(app):
    app.query_params["movie"] = str(UNRATED)
    app.run()
    assert not app.exception
    assert [h.value for h in app.header] == ["The Innocents"]
    assert "Nobody has rated" in texts(app.info)
    assert not keys(app, "open-similar-")


def test_rate_three_movies_then_picks_exclude_them(app):
    open_picks(app)
    assert "Rate a few movies" in texts(app.info)
    for movie_id, stars in ((SHAWSHANK, 5.0), (STAR_WARS, 4.5), (FELLOWSHIP, 4.0)):
        rate(app, movie_id, stars)
    assert not app.exception
    assert app.session_state["ratings"] == {SHAWSHANK: 5.0, STAR_WARS: 4.5, FELLOWSHIP: 4.0}
    picks = [int(k.removeprefix("rate-pick-")) for k in keys(app, "rate-pick-")]
    assert len(picks) == 12
    assert not {SHAWSHANK, STAR_WARS, FELLOWSHIP} & set(picks)
    assert f"{model_label(DEFAULT_ALGORITHM)} picks from your 3 ratings" in texts(app.caption)
    assert "Because you rated" in texts(app.markdown)
    # The starter cards keep showing what was rated; the ratings list offers edits.
    assert app.selectbox(key=f"rate-starter-{SHAWSHANK}").value == 5.0
    assert app.select_slider(key=f"edit-{STAR_WARS}").value == 4.5


def test_edit_remove_and_clear_ratings(app):
    open_picks(app)
    for movie_id, stars in ((SHAWSHANK, 5.0), (STAR_WARS, 4.5), (FELLOWSHIP, 4.0)):
        rate(app, movie_id, stars)
    app.select_slider(key=f"edit-{STAR_WARS}").set_value(2.0).run()
    assert app.session_state["ratings"][STAR_WARS] == 2.0
    assert app.selectbox(key=f"rate-starter-{STAR_WARS}").value == 2.0  # mirrors the edit
    app.button(key=f"remove-{FELLOWSHIP}").click().run()
    assert FELLOWSHIP not in app.session_state["ratings"]
    assert app.selectbox(key=f"rate-starter-{FELLOWSHIP}").value is None
    app.toggle(key="picks-show-rated").set_value(False).run()
    assert not [s for s in app.select_slider if s.key.startswith("edit-")]
    app.button(key="picks-clear").click().run()
    assert app.session_state["ratings"] == {}
    assert not keys(app, "rate-pick-")
    assert not app.exception


def popover_labels(at: AppTest) -> list[str]:
    return [p.proto.popover.label for p in at.main.get("popover")]


def test_model_switch_and_filters(app, movielens):
    open_picks(app)
    for movie_id, stars in ((SHAWSHANK, 5.0), (STAR_WARS, 4.5), (FELLOWSHIP, 4.0)):
        rate(app, movie_id, stars)
    als = keys(app, "rate-pick-")
    app.segmented_control(key="picks-model").set_value("popularity").run()
    assert not app.exception
    assert app.session_state["algorithm"] == "popularity"
    assert keys(app, "rate-pick-") != als
    app.multiselect(key="picks-genres").set_value(["Animation"]).run()
    picks = [int(k.removeprefix("rate-pick-")) for k in keys(app, "rate-pick-")]
    genres = movielens.movies.set_index("movieId").loc[picks, "genres"]
    assert len(picks) == 12 and genres.str.contains("Animation").all()
    app.slider(key="picks-years").set_value((1910, 1915)).run()  # no animation then
    assert "No movie matches these filters" in texts(app.info)


def test_active_filters_show_on_the_button_and_reset_in_one_click(app):
    open_picks(app)
    rate(app, SHAWSHANK, 5.0)
    assert "Filters" in popover_labels(app)
    assert not [b for b in app.button if b.key == "picks-filters-reset"]
    app.multiselect(key="picks-genres").set_value(["Comedy"]).run()
    app.slider(key="picks-years").set_value((2000, 2018)).run()
    assert "Filters: Comedy · 2000–2018" in popover_labels(app)
    assert "Only Comedy · 2000–2018." in texts(app.caption)
    app.button(key="picks-filters-reset").click().run()
    assert not app.exception
    assert app.multiselect(key="picks-genres").value == []
    first, last = app.slider(key="picks-years").value
    assert "Filters" in popover_labels(app) and "Only" not in texts(app.caption)
    assert (first, last) == tuple(app.slider(key="picks-years").proto.default)  # every year
    assert not [b for b in app.button if b.key == "picks-filters-reset"]


def test_popularity_says_it_ignores_the_ratings_and_promises_no_personal_stars(app):
    open_picks(app)
    for movie_id, stars in ((SHAWSHANK, 5.0), (STAR_WARS, 4.5), (FELLOWSHIP, 4.0)):
        rate(app, movie_id, stars)
    app.segmented_control(key="picks-model").set_value("popularity").run()
    captions, notes = texts(app.caption), texts(app.markdown)
    assert "Popularity picks from your" not in captions
    assert "the same for everyone" in captions
    assert "We think you'd rate it" not in notes  # no personal prediction for a list that
    assert notes.count("Average <span") == 12     # is the same for everyone
    # A personal model says what its stars are, and that they need not follow the order.
    app.segmented_control(key="picks-model").set_value(DEFAULT_ALGORITHM).run()
    assert "picks from your 3 ratings, best match first" in texts(app.caption)
    assert "they need not follow the order" in texts(app.caption)
    assert texts(app.markdown).count("We think you'd rate it") == 12


def test_similar_movies_do_not_follow_the_picks_model_and_show_no_raw_score(app):
    open_picks(app)
    rate(app, SHAWSHANK, 5.0)
    app.switch_page("pages/discover.py")
    app.query_params["movie"] = str(MATRIX)
    app.run()
    default = keys(app, "open-similar-")
    notes = texts(app.markdown)
    assert not re.search(r"score \d", notes) and "average" in notes
    app.switch_page("pages/picks.py").run()
    app.segmented_control(key="picks-model").set_value("popularity").run()
    app.switch_page("pages/discover.py")
    app.query_params["movie"] = str(MATRIX)
    app.run()
    assert keys(app, "open-similar-") == default
    assert "model" not in texts(app.caption).lower()


def test_missing_data_is_explained_without_a_traceback(monkeypatch, tmp_path):
    monkeypatch.setenv("MOVIELENS_DIR", str(tmp_path / "no-such-folder"))
    for page in ("pages/discover.py", "pages/picks.py", "pages/about.py"):
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.run()
        at.switch_page(page).run()
        assert not at.exception, page
        message = texts(at.error)
        assert "could not be loaded" in message and "does not exist" in message, page
        assert "MOVIELENS_DIR=/path/to/ml-latest-small" in texts(at.markdown), page


def test_user_text_is_escaped():
    row = {"display_title": '<img src=x onerror="alert(1)">', "year": 1999,
           "genres": "Drama|<b>"}
    html = card_html(row, 'data:image/svg+xml;base64,AAAA" onload="x')
    assert "<img src=x" not in html and "&lt;img src=x" in html
    assert '" onload="x' not in html and "&lt;b&gt;" in html
    assert md_escape("*batteries not included") == r"\*batteries not included"
    assert md_escape("[x](javascript:alert(1))") == r"\[x\]\(javascript\:alert\(1\)\)"


def test_about_tells_the_evaluation_in_the_app_s_own_words(app, monkeypatch, tmp_path):
    import ui.resources

    report = json.loads((Path(ui.resources.DOCS) / "evaluation.json").read_text())
    (tmp_path / "evaluation.json").write_text(json.dumps(report))
    monkeypatch.setattr(ui.resources, "DOCS", tmp_path)
    monkeypatch.setenv("TMDB_API_KEY", "")
    monkeypatch.setenv("TMDB_READ_TOKEN", "")
    app.run()
    app.switch_page("pages/about.py").run()
    assert not app.exception
    page = texts([*app.markdown, *app.caption, *app.metric, *app.info, *app.warning])
    # Which model wins, by how much, and what it means, with the app's labels only.
    winner = [m.value for m in app.metric if m.label == "Best model for a new visitor"]
    assert winner == [f"{model_label(DEFAULT_ALGORITHM)} (default)"]
    assert "What was measured" in page and "What it means for you" in page
    table = app.dataframe[0].value
    in_app = {model_label(a) + (" (default)" if a == DEFAULT_ALGORITHM else "")
              for a in ALGORITHMS}
    assert set(table["Model"]) == in_app | {"ALS (implicit library)", "EASE (Steck's original)"}
    for internal in ("implicit-als", "ease-steck", "default (hybrid)", "biased-mf"):
        assert internal not in set(table["Model"]) and internal not in page
    assert table["Note"].str.startswith("Reference").sum() == 2
    specs = " ".join(str(c.proto.spec) for c in app.get("vega_lite_chart"))
    assert "NDCG@10" in specs  # the chart of the models, in the app's words
    assert ", low" not in specs and "dashed" not in specs and "implicit-als" not in specs
    assert not re.search(r"\d %", page)  # one way to write percentages: "10%"
    assert "TMDB_API_KEY" not in page and "secrets.toml" not in page  # no developer notes
    # A half-written file is reported, not raised.
    (tmp_path / "evaluation.json").write_text('{"models": [')
    app.run()
    assert not app.exception
    assert "could not be read" in texts(app.warning)


def test_training_failure_is_explained(app, monkeypatch):
    import ui.resources

    def broken(*args, **kwargs):
        raise ValueError("ratings is empty; a model needs at least one rating")

    monkeypatch.setattr(ui.resources, "load_or_train", broken)
    ui.resources._warm_up.clear()  # the models warmed up for earlier tests would hide it
    try:
        open_picks(app)
        rate(app, SHAWSHANK, 5.0)
        assert not app.exception
        assert "could not be trained" in texts(app.error)
    finally:
        ui.resources._warm_up.clear()


def test_starter_movies_are_well_known_and_varied(movielens):
    from ui.movies import build_catalogue, starter_movies

    catalogue = build_catalogue(movielens)
    first = catalogue.loc[starter_movies(catalogue)[:18]]
    assert first["n_ratings"].min() >= 40 and first["mean_rating"].min() >= 3.5
    assert first["genres"].str.split("|").str[0].nunique() >= 8
    assert (first["year"] // 10).nunique() >= 6
    assert first.index.is_unique


def test_starter_movies_exist_when_every_mean_rating_is_low():
    from recommender.evaluation.synthetic import synthetic_movielens
    from ui.movies import build_catalogue, starter_movies

    data = synthetic_movielens(20_000, seed=5)
    data.ratings["rating"] = (data.ratings["rating"] / 2).clip(lower=0.5)  # means far below 3.5
    catalogue = build_catalogue(data)
    chosen = starter_movies(catalogue, count=18)
    assert len(chosen) == 18
    assert catalogue.loc[chosen, "n_ratings"].min() >= catalogue["n_ratings"].median()


def test_reasons_name_a_rated_movie(movielens):
    import ui.movies
    from recommender.models import load_or_train

    model = load_or_train(movielens.ratings, "als", movies=movielens.movies)
    ratings = {SHAWSHANK: 5.0, STAR_WARS: 4.5, FELLOWSHIP: 4.0}
    picks = ui.movies.recommend(model, ratings, n=12)
    assert picks["because"].notna().sum() >= 10
    assert set(picks["because"].dropna()) <= set(ratings)


def test_server_config_hides_tracebacks_and_keeps_quiet():
    import tomllib

    config = tomllib.loads((Path(APP).parent / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"
    assert config["server"]["headless"] is True and config["server"]["runOnSave"] is False
    assert config["server"]["maxUploadSize"] <= 5
    assert config["browser"]["gatherUsageStats"] is False
    assert config["theme"]["primaryColor"].startswith("#")


def test_run_log_records_every_page_and_fragment_run(app, tmp_path, monkeypatch):
    log = tmp_path / "runs.jsonl"
    monkeypatch.setenv("RECOMMENDER_RUN_LOG", str(log))
    open_picks(app)
    rate(app, SHAWSHANK, 4.5)
    runs = [json.loads(line) for line in log.read_text().splitlines()]
    # The background warm-up logs each model it makes ready, between the script runs.
    scripts = [run for run in runs if run["run"] != "model-warm-up"]
    warmed = [run for run in runs if run["run"] == "model-warm-up"]
    # Discover, then Your picks twice (AppTest reruns the whole page after a rating); the
    # fragment's line comes first because it ends inside the page's run.
    assert [run["run"] for run in scripts] == [
        "page", "picks-fragment", "page", "picks-fragment", "page"
    ]
    assert all(0 < run["seconds"] < 60 and run["ended"] > 1.7e9 for run in scripts)
    assert all(run["model"] in ALGORITHMS and run["state"] == "ready" for run in warmed)


def test_tmdb_settings_come_from_secrets_first_then_the_environment(monkeypatch):
    import streamlit as st

    import ui.resources

    made = []  # the arguments each new client was built with (no network involved)
    monkeypatch.setattr(ui.resources, "PosterClient", lambda **kw: made.append(kw) or kw)
    ui.resources._poster_client.clear()
    monkeypatch.setenv("TMDB_API_URL", "http://127.0.0.1:9/")  # never contacted here
    monkeypatch.setenv("TMDB_READ_TOKEN", "token-from-env")
    monkeypatch.delenv("TMDB_API_KEY", raising=False)
    monkeypatch.setattr(st, "secrets", {})  # no secrets file: the environment decides
    assert ui.resources.poster_client() is not None
    assert made[-1] == {"api_key": None, "read_token": "token-from-env",
                        "api_url": "http://127.0.0.1:9"}
    monkeypatch.setattr(st, "secrets", {"TMDB_READ_TOKEN": "token-from-secrets"})
    ui.resources.poster_client()
    assert made[-1]["read_token"] == "token-from-secrets"
    monkeypatch.setattr(st, "secrets", {})
    monkeypatch.delenv("TMDB_READ_TOKEN")
    assert ui.resources.poster_client() is None
    ui.resources._poster_client.clear()
