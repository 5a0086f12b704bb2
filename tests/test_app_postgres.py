"""The app on the PostgreSQL profile store (RECOMMENDER_DATABASE_URL), through AppTest on real
MovieLens and a real server: saving, opening the link in another session, and the server
going away in the middle of a session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from streamlit.testing.v1 import AppTest

from recommender.profiles import open_store
from tests.test_app import APP, FELLOWSHIP, SHAWSHANK, STAR_WARS, TIMEOUT, texts
from tests.test_app_profiles import open_picks, rate, saved_profile

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def app(movielens_dir, postgres_url, monkeypatch) -> Iterator[AppTest]:
    import ui.resources

    monkeypatch.setenv("RECOMMENDER_DATABASE_URL", postgres_url)
    yield AppTest.from_file(APP, default_timeout=TIMEOUT)
    # The app keeps its store for the life of the process; this test's schema goes now.
    ui.resources._profile_store(postgres_url).close()
    ui.resources._profile_store.clear()


def test_profiles_are_saved_in_postgres_and_shared_between_sessions(app, postgres_url):
    token = saved_profile(app)
    with open_store(postgres_url) as store:
        assert store.ratings(token) == {SHAWSHANK: 5.0, STAR_WARS: 4.5}
    other = AppTest.from_file(APP, default_timeout=TIMEOUT)
    other.query_params["profile"] = token
    open_picks(other)
    assert not other.exception
    assert other.session_state["ratings"] == {SHAWSHANK: 5.0, STAR_WARS: 4.5}


def test_a_server_that_goes_away_mid_session_gives_a_message_not_a_traceback(
    app, postgres_server, postgres_url
):
    token = saved_profile(app)
    postgres_server.stop()
    try:
        rate(app, FELLOWSHIP, 4.0)
        assert not app.exception
        assert app.session_state["ratings"][FELLOWSHIP] == 4.0  # the tab keeps the change
        assert "could not be saved" in texts(app.toast)
        assert "not saved to your private link yet" in texts(app.warning)
        visitor = AppTest.from_file(APP, default_timeout=TIMEOUT)
        visitor.query_params["profile"] = token
        open_picks(visitor)
        assert not visitor.exception
        assert "Saved ratings cannot be reached right now" in texts(visitor.error)
    finally:
        postgres_server.start()
    app.button(key="profile-save-all").click().run()
    with open_store(postgres_url) as store:
        assert store.ratings(token) == {SHAWSHANK: 5.0, STAR_WARS: 4.5, FELLOWSHIP: 4.0}
