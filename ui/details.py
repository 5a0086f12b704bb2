"""One movie on Discover: its details (poster, facts, tags, your rating, links) and the movies
most like it."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import streamlit as st

from recommender import DEFAULT_ALGORITHM
from recommender.data import genre_list
from ui import cards, movies, resources
from ui.text import count, md_escape

SIMILAR = 12  # movies shown under "Because you watched X"


def details(movie_id: int, on_close: Callable[[], None]) -> None:
    """Poster, facts, tags and rating of one movie; the Close button calls ``on_close``."""
    row = resources.catalogue().loc[movie_id]
    poster = resources.poster_urls(movies.rows(resources.catalogue(), [movie_id]), "w500")
    left, right = st.columns([1, 3], gap="large")
    with left:
        cards.html_block(cards.hero_html(row, poster[movie_id]))
    with right:
        st.header(md_escape(row["display_title"]), anchor=False)
        year = cards.year_text(row)
        cards.chips(([year] if year else []) + genre_list(row["genres"]), "genre")
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
            st.button("Close", on_click=on_close, icon=":material/close:", key="close-movie")
        cards.share_link(movie_id)


def similar_notes(rows: pd.DataFrame) -> dict[int, str]:
    """Under each similar movie: its average rating and how many gave one (escaped HTML)."""
    return {int(m): (f'<span class="mv-score">★ {mean:.1f}</span> average · '
                     f"{count(int(n), 'rating')}" if n else "No ratings yet")
            for m, mean, n in rows[["mean_rating", "n_ratings"]].itertuples()}


def similar_grid(movie_id: int, on_open: Callable[[int], None]) -> None:
    """'Because you watched X': the movies most like it, or why there are none.

    Always from the default model, whichever model the visitor picked on Your picks: a movie's
    neighbours are a fact about the movie, not a setting. Each card's "Details" button (key
    ``open-similar-<movieId>``) calls ``on_open``.
    """
    title = str(resources.catalogue().loc[movie_id, "display_title"])
    st.subheader(f"Because you watched {md_escape(title)}", anchor=False)
    model = resources.model_or_none(DEFAULT_ALGORITHM)
    if model is None:
        return
    found = movies.similar(model, movie_id, n=SIMILAR)
    if found is None:
        st.info(
            f"Nobody has rated {md_escape(title)} in this dataset yet, so the models know "
            "nothing about who likes it and cannot suggest similar movies.",
            icon=":material/info:",
        )
        return
    st.caption(f"The movies most often watched by the same people as {md_escape(title)}, "
               "closest first.")
    rows = movies.rows(resources.catalogue(), found["movieId"].tolist())
    cards.movie_grid(rows, "similar", notes=similar_notes(rows), on_open=on_open)
