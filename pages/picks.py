"""Your picks: rate a few movies (half stars) and get personal picks from the chosen model."""

from __future__ import annotations

import streamlit as st

import ui
from recommender import ALGORITHMS
from ui import cards, movies, profile, resources, session, timing
from ui.text import HOW_IT_WORKS, count, md_escape, model_label

N_PICKS = 12
STARTERS_PER_PAGE = 9
GROUPS_BELOW = 3  # visitors with fewer ratings are offered the taste groups


def next_starters() -> None:
    st.session_state["starter-page"] = st.session_state.get("starter-page", 0) + 1


def rate_panel() -> None:
    """Search and a starter grid, each card with a half-star rating picker."""
    st.subheader("Rate movies you know", anchor=False)
    query = st.text_input(
        "Find a movie to rate", key="picks-search", icon=":material/search:",
        placeholder="Find a movie to rate", label_visibility="collapsed",
    ).strip()
    if query:
        found = resources.search(query, limit=6)
        if found.empty:
            st.info(f"No title matches “{md_escape(query)}”.", icon=":material/search_off:")
        else:
            rows = movies.rows(resources.catalogue(), found["movieId"].tolist())
            cards.movie_grid(rows, "search", columns=3, rate=True)
        st.space("small")
    starters = resources.starters()
    pages = max(1, len(starters) // STARTERS_PER_PAGE)
    start = st.session_state.get("starter-page", 0) % pages * STARTERS_PER_PAGE
    st.markdown("**Well-known movies across genres and decades**")
    rows = movies.rows(resources.catalogue(), starters[start:start + STARTERS_PER_PAGE])
    cards.movie_grid(rows, "starter", columns=3, rate=True)
    st.button("Show other movies", key="more-starters", on_click=next_starters,
              icon=":material/refresh:")


def controls(data_years: tuple[int, int], genres: list[str]) -> dict:
    """Model switch, filters, ratings toggle and clear-all; returns the chosen settings."""
    session.sync_widget("picks-model", session.algorithm())
    algorithm = st.segmented_control(
        "Model", list(ALGORITHMS), key="picks-model", format_func=model_label, required=True,
        on_change=session.on_algorithm_change, args=("picks-model",),
    ) or session.algorithm()
    with st.container(horizontal=True, vertical_alignment="center"):
        with st.popover("Filters", icon=":material/filter_list:"):
            chosen = st.multiselect("Genres (any of them)", genres, key="picks-genres",
                                    placeholder="All genres")
            years = st.slider("Years", *data_years, value=data_years, key="picks-years")
        show_rated = st.toggle("Show my ratings", value=True, key="picks-show-rated")
        st.button("Clear all", key="picks-clear", on_click=session.clear_ratings,
                  icon=":material/delete_sweep:", disabled=not session.ratings())
    return {
        "algorithm": algorithm,
        "genres": chosen,
        "years": None if tuple(years) == data_years else tuple(years),
        "show_rated": show_rated,
    }


def empty_state() -> None:
    """What to do first, where the picks will be."""
    st.info("Rate a few movies on the left and your picks appear here, updated after every "
            "rating. Three ratings are enough to start, or pick the kinds of movies you like "
            "below.", icon=":material/star:")
    cards.taste_groups_panel()
    with st.container(border=True):
        st.markdown(HOW_IT_WORKS.format(users=resources.figures()["users"]))


def picks_panel() -> None:
    """The picks grid for the current ratings and settings."""
    st.subheader("Recommended for you", anchor=False)
    catalogue = resources.catalogue()
    settings = controls(resources.year_range(), resources.genres())
    rated = session.ratings()
    if settings["show_rated"] and rated:
        cards.ratings_editor(catalogue)
    if rated or session.profile_token():
        profile.keep_panel()
    if not rated:
        empty_state()
        return
    if len(rated) < GROUPS_BELOW:  # the first picks show below; the groups are one click away
        cards.taste_groups_panel(collapsed=True)
    model = resources.model_or_none(settings["algorithm"])
    if model is None:
        return
    picks = movies.recommend(model, rated, N_PICKS, settings["genres"], settings["years"])
    unknown = picks.attrs.get("unknown_movie_ids", [])
    label = model_label(settings["algorithm"])
    st.caption(f"{label} picks from your {count(len(rated) - len(unknown), 'rating')}"
               + (f" ({len(unknown)} of the movies you rated have no ratings in the data, so "
                  "the model cannot use them)" if unknown else "") + ".")
    if picks.empty:
        st.info("No movie matches these filters. Widen the years or choose other genres.",
                icon=":material/filter_alt_off:")
        return
    rows = movies.rows(catalogue, picks["movieId"].tolist())
    stars_model = resources.star_model()
    # One fold-in for the whole grid: predicted stars cost under a millisecond.
    predicted = (stars_model.predict_ratings(rated, picks["movieId"]).to_dict()
                 if stars_model is not None else None)
    notes = cards.pick_notes(picks, settings["algorithm"], catalogue, predicted)
    why = (None if settings["algorithm"] == "popularity"  # the same for everyone: no "why"
           else lambda movie_id: cards.why_popover(model, rated, movie_id))
    cards.movie_grid(rows, "pick", columns=4, notes=notes, note_lines=3, rate=True, extra=why)


@st.fragment
def body() -> None:
    """Rating and picks side by side; a rating reruns only this part of the page."""
    with timing.timed_run("picks-fragment"):
        session.show_toast()
        profile.import_panel()  # full width: the report's table needs the room
        left, right = st.columns([5, 7], gap="large")
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
