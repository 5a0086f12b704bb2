"""Movie night: picks for a group of two to six people (laid out by ui.movie_night)."""

from __future__ import annotations

import streamlit as st

import ui
from ui import movie_night, resources

ui.require_app()
resources.movielens_or_stop()
st.title("Movie night", anchor=False)
st.caption("Choosing a film together? Add everyone who is watching; the picks are movies none "
           "of you has rated, with each person's predicted stars. Nothing here is saved, and a "
           "private link added here is only read, never changed.")
movie_night.body()
if attribution := resources.poster_attribution():
    st.caption(attribution)
