"""Discover: search the catalogue, open a movie, browse movies like it (?movie=<movieId>)."""

from __future__ import annotations

import streamlit as st

import ui
from ui import cards, details, movies, profile, resources, session
from ui.text import count, md_escape

SEARCH_KEY = "discover-search"
RESULTS = 12
POPULAR = 18


def open_movie(movie_id: int) -> None:
    """Card button: show this movie (a shareable ?movie= link) and leave the search."""
    st.query_params["movie"] = str(movie_id)
    st.session_state[SEARCH_KEY] = ""
    # The card may sit far down the page; the counter makes each scroll a new element.
    st.session_state["scroll-to-top"] = st.session_state.get("opened", 0) + 1
    st.session_state["opened"] = st.session_state["scroll-to-top"]


def close_movie() -> None:
    st.query_params.pop("movie", None)


def search_results(query: str) -> None:
    results = resources.search(query, limit=RESULTS)
    if results.empty:
        st.info(f"No title matches “{md_escape(query)}”. Check the spelling or try fewer words.",
                icon=":material/search_off:")
        return
    st.caption(count(len(results), "match") if len(results) < RESULTS
               else f"Best {RESULTS} matches")
    cards.movie_grid(movies.rows(resources.catalogue(), results["movieId"].tolist()), "search",
                     on_open=open_movie)


ui.require_app()
resources.movielens_or_stop()
profile.attach_from_url()  # a reload of this page keeps a private link
st.title("Discover", anchor=False)
session.show_toast()
st.caption("Find a movie you love and see what people who liked it also watched.")
query = st.text_input(
    "Search movies",
    key=SEARCH_KEY,
    placeholder=f"Search {len(resources.catalogue()):,} movies: try “matrix”, “amelie”, “lotr”",
    icon=":material/search:",
    label_visibility="collapsed",
).strip()
if query:
    search_results(query)

movie_id, bad = session.requested_movie(resources.catalogue().index)
if bad is not None:
    st.warning(
        f"There is no movie with id “{md_escape(bad)}” in this catalogue. The link may be "
        "mistyped, or made with a different MovieLens release.",
        icon=":material/link_off:",
    )
    st.button("Show popular movies instead", on_click=close_movie, key="bad-link-back")
elif movie_id is not None:
    if nonce := st.session_state.pop("scroll-to-top", None):
        cards.scroll_to_top(nonce)
    st.divider()
    details.details(movie_id, on_close=close_movie)
    details.similar_grid(movie_id, on_open=open_movie)
elif not query:
    st.subheader("Popular across genres and decades", anchor=False)
    starters = movies.rows(resources.catalogue(), resources.starters()[:POPULAR])
    cards.movie_grid(starters, "popular", on_open=open_movie)
if attribution := resources.poster_attribution():
    st.caption(attribution)
