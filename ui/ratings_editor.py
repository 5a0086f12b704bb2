"""The "Your ratings" list on Your picks: each rating with a slider to edit it and a remove
button (widget keys ``edit-<movieId>`` and ``remove-<movieId>``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import session
from ui.cards import year_text
from ui.text import md_escape, short_stars

EDITOR_LIMIT = 50  # the most ratings the ratings list shows (newest first)


def ratings_editor(catalogue: pd.DataFrame) -> None:
    """What the visitor rated, newest first, each with a slider to edit and a remove button.

    Only the :data:`EDITOR_LIMIT` newest are listed: an imported IMDb history can hold
    thousands of ratings, and a slider each would make every rerun take seconds.
    """
    rated = session.ratings()
    listed = list(rated)[-EDITOR_LIMIT:]
    rows = catalogue.loc[listed, ["display_title", "year"]].to_dict("index")
    height = 260 if len(rated) > 4 else "content"  # a long list scrolls inside the panel
    with st.expander(f"Your ratings ({len(rated):,})", expanded=True), \
            st.container(height=height, border=False, key="ratings-list"):
        if len(listed) < len(rated):
            st.caption(f"Your {len(listed)} latest ratings; the {len(rated) - len(listed):,} "
                       "older ones still count.")
        for movie_id in reversed(listed):
            title = str(rows[movie_id]["display_title"])
            key = f"edit-{movie_id}"
            session.sync_widget(key, rated[movie_id])
            name, slider, remove = st.columns([5, 4, 1], vertical_alignment="center")
            name.markdown(f"**{md_escape(title)}** {year_text(rows[movie_id])}")
            slider.select_slider(
                f"Your rating of {title}", session.STAR_STEPS, key=key, format_func=short_stars,
                label_visibility="collapsed", on_change=session.on_rating_change,
                args=(key, movie_id, title),
            )
            remove.button("", key=f"remove-{movie_id}", icon=":material/close:",
                          help=f"Remove {title}", on_click=session.on_remove, args=(movie_id,))
