"""Your picks: rate a few movies (half stars) and get personal picks from the chosen model."""

from __future__ import annotations

import streamlit as st

import ui
from recommender import ALGORITHMS
from ui import cards, movies, onboarding, picks, profile, resources, session, timing
from ui.ratings_editor import ratings_editor
from ui.text import count, md_escape

SEARCH_RESULTS = 6
GROUPS_BELOW = 3  # visitors with fewer ratings are offered the taste groups


def rate_panel() -> None:
    """Search and a starter grid, each card with a half-star rating picker."""
    st.subheader("Rate movies you know", anchor=False)
    query = st.text_input(
        "Find a movie to rate", key="picks-search", icon=":material/search:",
        placeholder="Find a movie to rate", label_visibility="collapsed",
    ).strip()
    if query:
        found = resources.search(query, limit=SEARCH_RESULTS)
        if found.empty:
            st.info(f"No title matches “{md_escape(query)}”.", icon=":material/search_off:")
        else:
            rows = movies.rows(resources.catalogue(), found["movieId"].tolist())
            cards.movie_grid(rows, "search", columns=3, rate=True)
        st.space("small")
    onboarding.starter_grid()


def reset_filters(data_years: tuple[int, int]) -> None:
    """Button callback: every genre and every year again."""
    st.session_state["picks-genres"] = []
    st.session_state["picks-years"] = data_years


def controls(data_years: tuple[int, int], genres: list[str]) -> dict:
    """Model switch, filters, ratings toggle and clear-all; returns the chosen settings."""
    session.sync_widget("picks-model", session.algorithm())
    algorithm = st.segmented_control(
        "Model", list(ALGORITHMS), key="picks-model", format_func=resources.switch_label,
        required=True,
        on_change=session.on_algorithm_change, args=("picks-model",),
    ) or session.algorithm()
    active = picks.filter_text(st.session_state.get("picks-genres"),
                               st.session_state.get("picks-years"), data_years)
    with st.container(horizontal=True, vertical_alignment="center"):
        with st.popover(f"Filters: {md_escape(active)}" if active else "Filters",
                        icon=":material/filter_list:"):
            chosen = st.multiselect("Genres (any of them)", genres, key="picks-genres",
                                    placeholder="All genres")
            years = st.slider("Years", *data_years, value=data_years, key="picks-years")
        if active:
            st.button("Reset filters", key="picks-filters-reset", on_click=reset_filters,
                      args=(data_years,), icon=":material/filter_alt_off:", type="tertiary")
        show_rated = st.toggle("Show my ratings", value=True, key="picks-show-rated")
        st.button("Clear all", key="picks-clear", on_click=session.clear_ratings,
                  icon=":material/delete_sweep:", disabled=not session.ratings())
    return {
        "algorithm": algorithm,
        "genres": chosen,
        "years": None if tuple(years) == data_years else tuple(years),
        "show_rated": show_rated,
    }


def undo_clear(cleared: int) -> None:
    """What "Clear all" just removed, with the one click that brings it back."""
    saved = " and from your private link" if session.profile_token() else ""
    with st.container(border=True, horizontal=True, vertical_alignment="center"):
        st.markdown(f":material/delete_sweep: Cleared {count(cleared, 'rating')} from this "
                    f"tab{saved}.", width="stretch")
        st.button("Undo clear", key="picks-undo-clear", on_click=session.undo_clear,
                  icon=":material/undo:", type="primary")


def picks_panel() -> None:
    """The picks grid for the current ratings and settings."""
    st.subheader("Recommended for you", anchor=False)
    chosen = controls(resources.year_range(), resources.genres())
    rated = session.ratings()
    if chosen["show_rated"] and rated:
        ratings_editor(resources.catalogue())
    if cleared := session.cleared_count():
        undo_clear(cleared)
    if rated or session.profile_token():
        profile.keep_panel()
    if not rated:
        onboarding.empty_state()
        return
    if len(rated) < GROUPS_BELOW:  # the first picks show below; the groups are one click away
        onboarding.taste_groups_panel(collapsed=True)
    model = resources.model_or_none(chosen["algorithm"])
    if model is not None:
        picks.picks_grid(model, rated, chosen["genres"], chosen["years"])


@st.fragment
def body() -> None:
    """Rating and picks side by side; a rating reruns only this part of the page."""
    with timing.timed_run("picks-fragment"):
        session.show_toast()
        profile.import_panel()  # full width: the report's table needs the room
        # Keyed for the stylesheet: on a phone the picks come first (see ui.cards.CSS).
        left, right = st.container(key="picks-layout").columns([5, 7], gap="large")
        with left:
            rate_panel()
        with right:
            picks_panel()


ui.require_app()
resources.movielens_or_stop()
st.title("Your picks", anchor=False)
st.caption("Rate movies you have seen; the model folds your ratings in instantly. Your ratings "
           "stay in this browser tab unless you save them under a private link, and are never "
           "added to the shared model.")
profile.attach_from_url()  # before the fragment: a ?profile= link fills the ratings it shows
body()
if attribution := resources.poster_attribution():
    st.caption(attribution)
