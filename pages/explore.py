"""Explore: the movie map (movies placed by who likes them) and the taste groups."""

from __future__ import annotations

import altair as alt
import streamlit as st

import ui
from recommender.tastes import movie_map_chart
from ui import profile, resources, session
from ui.picks import current_picks
from ui.text import MAP_CAPTION, count, md_escape, model_label

MAP_KEY = "movie-map"
LEGEND_COLUMNS = 3  # fits a 390 px phone


def movie_map() -> None:
    """The map; clicking a movie opens it on Discover."""
    frame = resources.movie_map_frame()
    if frame is None:
        return
    rated = session.ratings()
    picks = current_picks(rated)
    on_map = set(frame["movieId"])
    st.caption(MAP_CAPTION.format(movies=len(frame)) + (
        f" Ringed: {count(len(on_map & set(rated)), 'movie')} you rated. Diamonds: your "
        f"{model_label(session.algorithm())} picks." if rated else
        " Rate movies on Your picks to see yours and your picks here."))
    # A click picks one movie by id (the chart's own zoom and legend stay client-side).
    clicked = alt.selection_point(name="movie", fields=["movieId"], on="click")
    # The legend goes under the map: beside it, it squeezes the map on a phone.
    chart = movie_map_chart(frame, rated, picks).add_params(clicked).configure_legend(
        orient="bottom", columns=LEGEND_COLUMNS, labelLimit=110)
    event = st.altair_chart(chart, key=MAP_KEY, on_select="rerun", selection_mode="movie",
                            width="stretch", height=560)
    chosen = event.selection.get("movie") or []
    if chosen and "movieId" in chosen[0]:
        st.switch_page("pages/discover.py", query_params={"movie": str(int(chosen[0]["movieId"]))})


def taste_groups() -> None:
    """The groups of the onboarding, as a readable list."""
    groups = resources.taste_groups()
    if not groups:
        return
    st.subheader("Taste groups", anchor=False)
    st.caption("Movies that cluster together on the map, each group named by what the movies "
               "listed share. New visitors can pick these on Your picks instead of rating one "
               "by one.")
    catalogue = resources.catalogue()
    grid = st.grid(3, gap="small", min_column_width=260, border=True)
    for group in groups:
        with grid.cell():
            st.markdown(f"**{md_escape(group.name)}**")
            titles = catalogue.reindex(group.movie_ids)["display_title"].dropna()
            st.caption(f"{count(group.size, 'movie')}, such as "
                       + ", ".join(md_escape(t) for t in titles.head(5)) + ".")


ui.require_app()
resources.movielens_or_stop()
profile.attach_from_url()  # a reload of this page keeps a private link
st.title("Explore", anchor=False)
movie_map()
taste_groups()
