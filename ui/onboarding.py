"""A new visitor's first ratings: the starter grid and the taste groups ("Pick the kinds of
movies you like"), and what Your picks shows before there is anything to recommend."""

from __future__ import annotations

import html
from collections.abc import Mapping

import pandas as pd
import streamlit as st

from recommender.tastes import TasteGroup, seed_profile
from ui import movies, resources, session
from ui.cards import html_block, movie_grid
from ui.text import GROUPS_CAPTION, HOW_IT_WORKS, count

STARTERS_PER_PAGE = 9
STARTER_PAGE = "starter-page"  # session key: which page of starters is showing
GROUP_POSTERS = 6  # posters shown per taste group; exactly these are rated when it is picked
GROUP_RATING = 4.5


# --- starter grid --------------------------------------------------------------------------


def next_starters() -> None:
    """Button callback: show the next page of starters."""
    st.session_state[STARTER_PAGE] = st.session_state.get(STARTER_PAGE, 0) + 1


def starter_grid() -> None:
    """Well-known movies across genres and decades, a page at a time, each with a rating
    picker (keys ``rate-starter-<movieId>``)."""
    starters = resources.starters()
    pages = max(1, len(starters) // STARTERS_PER_PAGE)
    start = st.session_state.get(STARTER_PAGE, 0) % pages * STARTERS_PER_PAGE
    st.markdown("**Well-known movies across genres and decades**")
    rows = movies.rows(resources.catalogue(), starters[start:start + STARTERS_PER_PAGE])
    movie_grid(rows, "starter", columns=3, rate=True)
    st.button("Show other movies", key="more-starters", on_click=next_starters,
              icon=":material/refresh:")


# --- taste groups --------------------------------------------------------------------------


def group_tile_html(name: str, rows: pd.DataFrame, posters: Mapping[int, str]) -> str:
    """A taste group: its name over its posters, each with its title readable beneath (a
    phone has no hover)."""
    figures = "".join(
        f'<figure><img src="{html.escape(posters[int(m)])}" alt="" loading="lazy">'
        f"<figcaption>{html.escape(str(t))}</figcaption></figure>"
        for m, t in zip(rows.index, rows["display_title"], strict=True)
    )
    return (
        f'<div class="mv-group-name">{html.escape(name)}</div>'
        f'<div class="mv-strip">{figures}</div>'
    )


def chosen_groups() -> list[TasteGroup]:
    """The taste groups whose "I like these" toggle is on."""
    return [g for i, g in enumerate(resources.taste_groups()) if st.session_state.get(f"group-{i}")]


def seed_from_groups() -> None:
    """Button callback: rate the shown movies of every chosen group (keeping existing ratings)."""
    chosen = chosen_groups()
    seeded = seed_profile(chosen, rating=GROUP_RATING, per_group=GROUP_POSTERS)
    new = {m: r for m, r in seeded.items() if m not in session.ratings()}
    session.add_ratings(new)
    st.session_state[session.TOAST] = (
        f"Added {count(len(new), 'rating')} from {count(len(chosen), 'group')}: change any of "
        "them in Your ratings"
    )


def taste_groups_panel(collapsed: bool = False) -> None:
    """"Pick the kinds of movies you like": a tile of posters and a toggle per taste group.

    ``collapsed``: in a closed expander, for visitors whose first picks are already showing.
    """
    groups = resources.taste_groups()
    if not groups:
        return
    catalogue = resources.catalogue()
    title = "Pick the kinds of movies you like"
    box = (st.expander(title, icon=":material/category:") if collapsed
           else st.container(border=True))
    with box:
        if not collapsed:
            st.markdown(f"**{title}**")
        st.caption(GROUPS_CAPTION.format(n=GROUP_POSTERS, stars=GROUP_RATING))
        grid = st.grid(2, gap="small", min_column_width=280, border=True)
        for i, group in enumerate(groups):
            rows = movies.rows(catalogue, group.movie_ids[:GROUP_POSTERS])
            with grid.cell():
                posters = resources.poster_urls(rows, "w154")
                html_block(group_tile_html(group.name, rows, posters))
                st.toggle("I like these", key=f"group-{i}")
        picked = len(chosen_groups())
        st.button(f"Show my picks for {count(picked, 'group')}" if picked else "Show my picks",
                  key="groups-seed", type="primary", icon=":material/auto_awesome:",
                  disabled=not picked, on_click=seed_from_groups)


def empty_state() -> None:
    """Where the picks will be, before the first rating: what to do first."""
    st.info("Rate a few movies you know (under “Rate movies you know”) and your picks appear "
            "here, updated after every rating. Three ratings are enough to start, or pick the "
            "kinds of movies you like below.", icon=":material/star:")
    taste_groups_panel()
    with st.container(border=True):
        st.markdown(HOW_IT_WORKS.format(users=resources.figures()["users"]))
