"""Your picks: rate a few movies (half stars) and get personal picks from the chosen model."""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

import ui
from recommender import ALGORITHMS
from ui import cards, movies, resources, session
from ui.text import count, md_escape, model_label, score_label, short_stars

N_PICKS = 12
STARTERS_PER_PAGE = 9


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


def ratings_list() -> None:
    """What the visitor rated, newest first, each with a slider to edit and a remove button."""
    rated = session.ratings()
    catalogue = resources.catalogue()
    height = 260 if len(rated) > 4 else "content"  # a long list scrolls inside the panel
    with st.expander(f"Your ratings ({len(rated)})", expanded=True), \
            st.container(height=height, border=False):
        for movie_id in reversed(list(rated)):
            title = str(catalogue.loc[movie_id, "display_title"])
            key = f"edit-{movie_id}"
            session.sync_widget(key, rated[movie_id])
            name, slider, remove = st.columns([5, 4, 1], vertical_alignment="center")
            name.markdown(f"**{md_escape(title)}** {cards.year_text(catalogue.loc[movie_id])}")
            slider.select_slider(
                f"Your rating of {title}", session.STAR_STEPS, key=key, format_func=short_stars,
                label_visibility="collapsed", on_change=session.on_rating_change,
                args=(key, movie_id, title),
            )
            remove.button("", key=f"remove-{movie_id}", icon=":material/close:",
                          help=f"Remove {title}", on_click=session.on_remove, args=(movie_id,))


def pick_notes(picks: pd.DataFrame, algorithm: str) -> dict[int, str]:
    """Score and reason under each pick, as escaped HTML."""
    catalogue = resources.catalogue()
    notes = {}
    for movie_id, score, because in picks[["movieId", "score", "because"]].itertuples(
        index=False
    ):
        reason = (
            f"Because you rated <b>{html.escape(str(catalogue.loc[because, 'display_title']))}</b>"
            if pd.notna(because) else "Popular with everyone" if algorithm == "popularity"
            else "A good match for your taste"
        )
        score_text = html.escape(score_label(algorithm, score))
        notes[int(movie_id)] = f'<span class="mv-score">{score_text}</span> · {reason}'
    return notes


def empty_state() -> None:
    """What to do first, where the picks will be."""
    st.info("Rate a few movies on the left and your picks appear here, updated after every "
            "rating. Three ratings are enough to start.", icon=":material/star:")
    with st.container(border=True):
        st.markdown(
            "**How it works**\n\n"
            "1. Rate movies you have seen, from ½ to 5 stars; low ratings help too.\n"
            f"2. The model places your taste among {resources.figures()['users']:,} MovieLens "
            "users' and ranks the movies you have not rated.\n"
            "3. Each pick says which of your ratings it comes from. Switch models above to "
            "compare them; narrow the genres and years with Filters."
        )


def picks_panel() -> None:
    """The picks grid for the current ratings and settings."""
    st.subheader("Recommended for you", anchor=False)
    catalogue = resources.catalogue()
    years = catalogue["year"].dropna()
    genres = sorted({g for gs in catalogue["genres"] for g in str(gs).split("|")} -
                    {"(no genres listed)", ""})
    settings = controls((int(years.min()), int(years.max())), genres)
    rated = session.ratings()
    if settings["show_rated"] and rated:
        ratings_list()
    if not rated:
        empty_state()
        return
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
    cards.movie_grid(rows, "pick", columns=4, notes=pick_notes(picks, settings["algorithm"]),
                     note_lines=3, rate=True)


@st.fragment
def body() -> None:
    """Rating and picks side by side; a rating reruns only this part of the page."""
    session.show_toast()
    left, right = st.columns([5, 7], gap="large")
    with left:
        rate_panel()
    with right:
        picks_panel()


ui.require_app()
resources.movielens_or_stop()
st.title("Your picks", anchor=False)
st.caption("Rate movies you have seen; the model folds your ratings in instantly. Your ratings "
           "stay in this browser tab and are never added to the shared model.")
body()
if attribution := resources.poster_attribution():
    st.caption(attribution)
