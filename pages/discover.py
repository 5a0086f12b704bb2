"""Discover: search the catalogue, open a movie, browse movies like it (?movie=<movieId>)."""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

import ui
from ui import cards, movies, profile, resources, session
from ui.text import count, md_escape, model_label, score_label

SEARCH_KEY = "discover-search"


def open_movie(movie_id: int) -> None:
    """Card button: show this movie (a shareable ?movie= link) and leave the search."""
    st.query_params["movie"] = str(movie_id)
    st.session_state[SEARCH_KEY] = ""
    # The card may sit far down the page; the counter makes each scroll a new element.
    st.session_state["scroll-to-top"] = st.session_state.get("opened", 0) + 1
    st.session_state["opened"] = st.session_state["scroll-to-top"]


def close_movie() -> None:
    st.query_params.pop("movie", None)


def details(movie_id: int) -> None:
    """Poster, facts, tags and rating of one movie."""
    row = resources.catalogue().loc[movie_id]
    poster = resources.poster_urls(movies.rows(resources.catalogue(), [movie_id]), "w500")
    left, right = st.columns([1, 3], gap="large")
    with left:
        alt = html.escape(str(row["display_title"]))
        cards.html_block(f'<img class="mv-hero" src="{html.escape(poster[movie_id])}" alt="{alt}">')
    with right:
        st.header(md_escape(row["display_title"]), anchor=False)
        genres = [g for g in str(row["genres"]).split("|") if not g.startswith("(")]
        cards.chips(([cards.year_text(row)] if cards.year_text(row) else []) + genres, "genre")
        stats = st.columns(3)
        if row["n_ratings"]:
            stats[0].metric("Average rating", f"{row['mean_rating']:.2f} ★", border=True)
        else:
            stats[0].metric("Average rating", "–", border=True)
        stats[1].metric("Ratings", f"{row['n_ratings']:,}", border=True)
        with stats[2], st.container(border=True):
            st.caption("Your rating")
            cards.rating_input(movie_id, str(row["display_title"]), "detail")
        if tags := resources.top_tags(movie_id):
            st.caption("What people tagged it")
            cards.chips(tags)
        with st.container(horizontal=True):
            if isinstance(row["imdbId"], str) and row["imdbId"]:
                st.link_button("IMDb", f"https://www.imdb.com/title/tt{row['imdbId']}/",
                               icon=":material/open_in_new:")
            if pd.notna(row["tmdbId"]):
                st.link_button("TMDB", f"https://www.themoviedb.org/movie/{int(row['tmdbId'])}",
                               icon=":material/open_in_new:")
            st.button("Close", on_click=close_movie, icon=":material/close:", key="close-movie")
        cards.share_link(movie_id)


def similar_grid(movie_id: int) -> None:
    """'Because you watched X': the model's most similar movies, or why there are none."""
    title = str(resources.catalogue().loc[movie_id, "display_title"])
    st.subheader(f"Because you watched {md_escape(title)}", anchor=False)
    algorithm = session.algorithm()
    model = resources.model_or_none(algorithm)
    if model is None:
        return
    found = movies.similar(model, movie_id, n=12)
    if found is None:
        st.info(
            f"Nobody has rated {md_escape(title)} in this dataset yet, so the models know "
            "nothing about who likes it and cannot suggest similar movies.",
            icon=":material/info:",
        )
        return
    st.caption(f"Closest movies according to the {model_label(algorithm)} model "
               "(change the model on Your picks).")
    notes = {int(m): f'<span class="mv-score">{html.escape(score_label(algorithm, s))}</span>'
             for m, s in zip(found["movieId"], found["score"], strict=True)}
    rows = movies.rows(resources.catalogue(), found["movieId"].tolist())
    cards.movie_grid(rows, "similar", notes=notes, on_open=open_movie)


def search_results(query: str) -> None:
    results = resources.search(query, limit=12)
    if results.empty:
        st.info(f"No title matches “{md_escape(query)}”. Check the spelling or try fewer words.",
                icon=":material/search_off:")
        return
    st.caption(count(len(results), "match") if len(results) < 12 else "Best 12 matches")
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
)
if query.strip():
    search_results(query.strip())

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
    details(movie_id)
    similar_grid(movie_id)
elif not query.strip():
    st.subheader("Popular across genres and decades", anchor=False)
    starters = movies.rows(resources.catalogue(), resources.starters()[:18])
    cards.movie_grid(starters, "popular", on_open=open_movie)
if attribution := resources.poster_attribution():
    st.caption(attribution)
