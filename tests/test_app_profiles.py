"""Profiles that last, through AppTest on real MovieLens: the private link (?profile=),
write-through of every change, import (IMDb CSV) and export.

The conftest points RECOMMENDER_DATA at a fresh folder per test, so ``ProfileStore()`` here
opens the same database as the app.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from streamlit.testing.v1 import AppTest

from recommender.profiles import ProfileStore, ProfileStoreError
from tests.test_app import APP, FELLOWSHIP, MATRIX, SHAWSHANK, STAR_WARS, TIMEOUT, texts
from ui import profile

TOY_STORY, JUMANJI = 1, 2  # tt0114709, tt0113497 in links.csv
IMDB_CSV = (
    b"Const,Your Rating,Date Rated,Title,Title Type,Year\n"
    b"tt0114709,9,2024-01-02,Toy Story,Movie,1995\n"
    b"tt0113497,6,2024-01-03,Jumanji,Movie,1995\n"
    b"tt0133093,10,2024-01-04,The Matrix,Movie,1999\n"
    b"tt9999999,7,2024-01-05,A Film Nobody Has Heard Of,Movie,2023\n"
    b"tt0903747,10,2024-01-06,Breaking Bad,TV Series,2008\n"
)


@pytest.fixture
def app(movielens_dir) -> AppTest:
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def open_picks(at: AppTest) -> AppTest:
    at.run()
    return at.switch_page("pages/picks.py").run()


def rate(at: AppTest, movie_id: int, stars: float) -> AppTest:
    return at.selectbox(key=f"rate-starter-{movie_id}").set_value(stars).run()


def link_token(at: AppTest) -> str:
    """The token in the private-link box (the only place the page shows it)."""
    [link] = [c.value for c in at.code if "profile=" in c.value]
    return link.rsplit("profile=", 1)[1]


def saved_profile(at: AppTest) -> str:
    """Rate two movies and save them; returns the token from the private-link box."""
    open_picks(at)
    rate(at, SHAWSHANK, 5.0)
    rate(at, STAR_WARS, 4.5)
    at.button(key="profile-save").click().run()
    assert not at.exception
    return link_token(at)


def uploader(at: AppTest):
    [widget] = [u for u in at.file_uploader if u.key.startswith("import-file-")]
    return widget


def test_save_shows_a_private_link_and_keeps_it_out_of_the_url(app):
    open_picks(app)
    assert not [b for b in app.button if b.key == "profile-save"]  # nothing to save yet
    token = saved_profile(app)
    assert len(token) >= 40
    assert ProfileStore().ratings(token) == {SHAWSHANK: 5.0, STAR_WARS: 4.5}
    assert app.session_state["ratings"] == {SHAWSHANK: 5.0, STAR_WARS: 4.5}
    [link] = [c.value for c in app.code if "profile=" in c.value]
    assert link.endswith(f"/picks?profile={token}")
    assert "Anyone with this link can see and change these ratings" in texts(app.warning)
    assert not [b for b in app.button if b.key == "profile-save"]  # saved: no second profile
    assert "profile" not in app.query_params  # a copied address bar gives nothing away
    assert "after a reload or in a new tab, open this link" in texts(app.warning)
    # The token never shows up in a message.
    assert token not in texts([*app.error, *app.warning, *app.info, *app.caption, *app.toast])


def test_a_new_session_with_the_link_sees_the_same_ratings(app):
    token = saved_profile(app)
    other = AppTest.from_file(APP, default_timeout=TIMEOUT)
    other.query_params["profile"] = token
    open_picks(other)
    assert not other.exception and not other.error
    assert other.session_state["ratings"] == {SHAWSHANK: 5.0, STAR_WARS: 4.5}
    assert other.selectbox(key=f"rate-starter-{SHAWSHANK}").value == 5.0
    assert other.select_slider(key=f"edit-{STAR_WARS}").value == 4.5
    assert "profile" not in other.query_params  # read once, then out of the address
    rate(other, FELLOWSHIP, 4.0)  # still attached: changes are saved
    assert ProfileStore().ratings(token)[FELLOWSHIP] == 4.0


def test_changes_after_saving_are_written_through(app):
    token = saved_profile(app)
    store = ProfileStore()
    rate(app, FELLOWSHIP, 4.0)
    assert store.ratings(token) == {SHAWSHANK: 5.0, STAR_WARS: 4.5, FELLOWSHIP: 4.0}
    app.select_slider(key=f"edit-{STAR_WARS}").set_value(2.0).run()
    assert store.ratings(token)[STAR_WARS] == 2.0
    app.button(key=f"remove-{SHAWSHANK}").click().run()
    assert store.ratings(token) == {FELLOWSHIP: 4.0, STAR_WARS: 2.0}
    assert not app.exception


def test_clear_all_can_be_undone_and_the_saved_profile_comes_back(app):
    token = saved_profile(app)
    store = ProfileStore()
    app.button(key="picks-clear").click().run()
    assert app.session_state["ratings"] == {}
    assert store.exists(token)  # clear-all keeps the link
    notice = texts(app.markdown)
    assert "Cleared 2 ratings from this tab and from your private link" in notice
    app.button(key="picks-undo-clear").click().run()
    assert not app.exception
    assert app.session_state["ratings"] == {SHAWSHANK: 5.0, STAR_WARS: 4.5}
    assert store.ratings(token) == {SHAWSHANK: 5.0, STAR_WARS: 4.5}
    assert "Restored 2 ratings" in texts(app.toast)
    assert not [b for b in app.button if b.key == "picks-undo-clear"]
    # After a clear, the next rating starts afresh: there is nothing left to undo.
    app.button(key="picks-clear").click().run()
    rate(app, FELLOWSHIP, 4.0)
    assert not [b for b in app.button if b.key == "picks-undo-clear"]
    assert store.ratings(token) == {FELLOWSHIP: 4.0}


def test_an_empty_saved_profile_says_so_when_opened(app):
    token = ProfileStore().create({})
    app.query_params["profile"] = token
    app.run()  # the link loads on whatever page it opens
    assert "holds no ratings yet" in texts(app.toast)
    assert "0 saved ratings" not in texts(app.toast)


def test_navigation_keeps_the_profile_and_no_address_carries_the_token(app):
    token = saved_profile(app)
    app.switch_page("pages/discover.py")
    app.query_params["movie"] = str(MATRIX)
    app.run()
    assert dict(app.query_params) == {"movie": str(MATRIX)}  # shareable: no token
    assert not [c.value for c in app.code if token in c.value]  # nor in the share box
    app.selectbox(key=f"rate-detail-{MATRIX}").set_value(3.0).run()
    assert ProfileStore().ratings(token)[MATRIX] == 3.0  # rated on Discover, saved too
    app.query_params.clear()
    app.switch_page("pages/picks.py").run()
    assert "profile" not in app.query_params
    assert app.session_state["ratings"][MATRIX] == 3.0


@pytest.mark.parametrize("page", ["pages/discover.py", "pages/explore.py"])
def test_the_link_opened_on_another_page_loads_and_leaves_the_url(app, page):
    token = saved_profile(app)
    reloaded = AppTest.from_file(APP, default_timeout=TIMEOUT)  # a new tab is a new session
    reloaded.query_params["profile"] = token
    reloaded.switch_page(page).run()
    assert not reloaded.exception
    assert reloaded.session_state["ratings"] == app.session_state["ratings"]
    assert "profile" not in reloaded.query_params


@pytest.mark.parametrize("token", ["not-a-real-token", "x" * 300])
def test_unknown_link_is_explained_and_changes_nothing(app, token):
    app.query_params["profile"] = token
    open_picks(app)
    assert not app.exception
    assert "This private link does not work" in texts(app.error)
    assert token not in texts(app.error)
    assert app.session_state["ratings"] == {}
    rate(app, SHAWSHANK, 5.0)  # the tab still works, unsaved
    assert app.session_state["ratings"] == {SHAWSHANK: 5.0}
    app.button(key="profile-bad-link").click().run()
    assert "profile" not in app.query_params
    assert not app.error


def test_unknown_link_keeps_an_attached_profile(app):
    token = saved_profile(app)
    app.query_params["profile"] = "wrong"
    app.run()
    assert "This private link does not work" in texts(app.error)
    assert app.session_state["ratings"] == {SHAWSHANK: 5.0, STAR_WARS: 4.5}
    rate(app, FELLOWSHIP, 3.5)  # still saved to the profile that was attached
    assert ProfileStore().ratings(token)[FELLOWSHIP] == 3.5


def test_import_an_imdb_file_then_confirm(app):
    token = saved_profile(app)
    uploader(app).set_value(("ratings.csv", IMDB_CSV, "text/csv")).run()
    assert not app.exception and not app.error
    report = texts(app.markdown)
    assert "IMDb ratings export" in report and "3 movies matched, 2 rows not matched" in report
    assert "halved" in texts(app.caption)
    unmatched = app.dataframe[0].value
    assert list(unmatched["title"]) == ["A Film Nobody Has Heard Of", "Breaking Bad"]
    assert unmatched["reason"].str.len().gt(0).all()
    assert app.session_state["ratings"] == {SHAWSHANK: 5.0, STAR_WARS: 4.5}  # not yet
    confirm = app.button(key="import-confirm")
    assert confirm.label == "Add 3 ratings"
    confirm.click().run()
    expected = {SHAWSHANK: 5.0, STAR_WARS: 4.5, TOY_STORY: 4.5, JUMANJI: 3.0, MATRIX: 5.0}
    assert app.session_state["ratings"] == expected
    assert ProfileStore().ratings(token) == expected
    assert not uploader(app).value  # a fresh, empty uploader
    assert not [b for b in app.button if b.key == "import-confirm"]
    assert app.select_slider(key=f"edit-{TOY_STORY}").value == 4.5


def test_import_without_a_profile_stays_in_the_tab(app):
    open_picks(app)
    uploader(app).set_value(("ratings.csv", IMDB_CSV, "text/csv")).run()
    app.button(key="import-confirm").click().run()
    assert app.session_state["ratings"] == {TOY_STORY: 4.5, JUMANJI: 3.0, MATRIX: 5.0}
    assert "profile" not in app.query_params


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ratings.csv", IMDB_CSV)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "message"),
    [(zip_bytes(), "ZIP archive"), (b"\x00\x01\x02binary\xff" * 50, ""),
     (b"", "empty"), (b"name,colour\nx,red\n", "")],
)
def test_files_that_cannot_be_imported_change_nothing(app, content, message):
    token = saved_profile(app)
    uploader(app).set_value(("ratings.csv", content, "text/csv")).run()
    assert not app.exception
    assert len(app.error) == 1 and message in app.error[0].value
    assert not [b for b in app.button if b.key == "import-confirm"]
    assert app.session_state["ratings"] == {SHAWSHANK: 5.0, STAR_WARS: 4.5}
    assert ProfileStore().ratings(token) == {SHAWSHANK: 5.0, STAR_WARS: 4.5}


def test_export_reimports_to_the_same_ratings(app, movielens):
    open_picks(app)
    for movie_id, stars in ((SHAWSHANK, 5.0), (STAR_WARS, 0.5), (FELLOWSHIP, 3.5)):
        rate(app, movie_id, stars)
    download = app.download_button(key="profile-export")
    assert not download.disabled and download.label == "Download my ratings (CSV)"
    # The file is built on click (the browser test downloads it); this is what it holds.
    ratings = app.session_state["ratings"]
    exported = profile.ratings_csv(ratings, movielens)
    assert exported.startswith(b"title,year,movieId,imdbId,rating")
    report = profile.read_ratings_file(exported, movielens)
    assert report.ratings == ratings and list(report.ratings) == list(ratings)
    assert report.format == "export" and not report.unmatched


def test_a_long_import_lists_only_the_newest_ratings(app, movielens):
    movies = movielens.movie_stats.query("n_ratings > 0").index[:80].tolist()
    csv = "movieId,rating\n" + "".join(f"{m},4.0\n" for m in movies)
    open_picks(app)
    uploader(app).set_value(("ratings.csv", csv.encode(), "text/csv")).run()
    app.button(key="import-confirm").click().run()
    assert len(app.session_state["ratings"]) == 80
    editors = [s.key for s in app.select_slider if s.key.startswith("edit-")]
    assert editors == [f"edit-{m}" for m in reversed(movies[-50:])]  # newest first
    assert "the 30 older ones still count" in texts(app.caption)
    assert "picks from your 80 ratings" in texts(app.caption)


def test_saved_ratings_of_movies_outside_the_catalogue_are_left_out(app):
    token = ProfileStore().create({SHAWSHANK: 4.0, 999_999_999: 3.0})
    app.query_params["profile"] = token
    app.run()  # the link opens on Discover, which loads it and says what it left out
    assert "also holds 1 rating of movies that are not in this catalogue" in texts(app.info)
    app.switch_page("pages/picks.py").run()
    assert not app.exception
    assert app.session_state["ratings"] == {SHAWSHANK: 4.0}
    assert ProfileStore().ratings(token) == {SHAWSHANK: 4.0, 999_999_999: 3.0}


def test_a_failed_save_is_reported_and_caught_up_later(app, monkeypatch):
    import ui.resources

    token = saved_profile(app)
    working = ui.resources.profile_store

    def broken() -> ProfileStore:
        raise ProfileStoreError("database is locked")

    monkeypatch.setattr(ui.resources, "profile_store", broken)
    rate(app, FELLOWSHIP, 4.0)
    assert not app.exception
    assert app.session_state["ratings"][FELLOWSHIP] == 4.0  # the tab keeps the change
    assert "could not be saved" in texts(app.toast)
    assert "not saved to your private link yet" in texts(app.warning)
    assert FELLOWSHIP not in ProfileStore().ratings(token)
    monkeypatch.setattr(ui.resources, "profile_store", working)
    app.button(key="profile-save-all").click().run()
    assert ProfileStore().ratings(token) == {SHAWSHANK: 5.0, STAR_WARS: 4.5, FELLOWSHIP: 4.0}
    assert "not saved to your private link yet" not in texts(app.warning)


def test_a_missing_film_gets_no_suggestion_rather_than_a_wrong_one(movielens):
    from recommender.imports import TitleMatcher

    matcher = TitleMatcher(movielens.movies)
    oppenheimer = matcher.match("Oppenheimer", 2023)  # not in ml-latest-small
    assert oppenheimer.movie_id is None
    assert oppenheimer.suggestions == ()  # was ("Open Hearts (2002)", ...)
    assert matcher.suggest("Oppenheimer", None) == ()
    # A title that is there under another year still gets its suggestion.
    reloaded = matcher.match("The Matrix Reloaded", 2010)
    assert reloaded.movie_id is None
    assert [t for _, t in reloaded.suggestions][0] == "The Matrix Reloaded (2003)"


def test_importing_ratings_you_already_have_offers_nothing_to_add(app, movielens):
    open_picks(app)
    rate(app, SHAWSHANK, 5.0)
    rate(app, STAR_WARS, 4.5)
    exported = profile.ratings_csv(app.session_state["ratings"], movielens)
    uploader(app).set_value(("movielens-ratings.csv", exported, "text/csv")).run()
    assert not app.exception
    assert texts(app.markdown).startswith("**Export from this app**")  # a capital, like a title
    assert not [b for b in app.button if b.key == "import-confirm"]
    assert "You already have all 2 ratings of this file here" in texts(app.info)
    # One changed rating: the button says what it will do.
    rate(app, STAR_WARS, 3.0)
    assert app.button(key="import-confirm").label == "Update 1 rating"


def test_counts_read_as_english():
    from ui.text import count

    assert [count(1, "match"), count(3, "match"), count(2, "rating"), count(1_200, "box")] == [
        "1 match", "3 matches", "2 ratings", "1,200 boxes"]
