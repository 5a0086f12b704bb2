"""MovieLens recommender: the Streamlit entry point (``streamlit run app.py``).

Only routing and page setup live here; each page is a thin script in ``pages/``.
"""

import streamlit as st

from ui import cards, resources, timing

st.set_page_config(page_title="MovieLens Recommender", page_icon="🎬", layout="wide")
resources.serving_setup()
resources.warm_up()  # every model of the switch, loaded or trained in the background
cards.inject_css()
pages = [
    st.Page("pages/discover.py", title="Discover", icon=":material/explore:", default=True),
    st.Page("pages/picks.py", title="Your picks", icon=":material/star:", url_path="picks"),
    st.Page("pages/movie_night.py", title="Movie night", icon=":material/groups:",
            url_path="movie-night"),
    st.Page("pages/explore.py", title="Explore", icon=":material/scatter_plot:",
            url_path="explore"),
    st.Page("pages/about.py", title="About", icon=":material/info:", url_path="about"),
]
with timing.timed_run("page"):
    st.navigation(pages, position="top").run()
