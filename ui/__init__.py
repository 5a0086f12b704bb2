"""The Streamlit app's building blocks; the pages in ``pages/`` only lay these out.

``resources``: everything cached and shared between visitors (data, search, models, posters,
profile store): the only module that caches.
``session``: one visitor's ratings and choices (``st.session_state`` only).
``profile``: the private link, import from IMDb / Letterboxd / CSV, and the CSV download.
``movies``: plain functions on the data and models (catalogue, starter list, figures, reasons).
``cards``: the poster card, the card grid, the app's stylesheet, chips and the rating picker.
``details``: one movie on Discover (poster, facts, tags, links) and the movies most like it.
``picks``: pick assembly: a model's picks, the note under each card, the grid of picks.
``why``: the "Why?" popover under a pick. ``ratings_editor``: the "Your ratings" list.
``onboarding``: the starter grid, the taste groups and Your picks before the first rating.
``evaluation``: docs/evaluation.json told for the About page (app labels, winner, chart).
``text``: labels, copy and escaping. ``timing``: the opt-in log of script run times.

Configuration comes from :func:`recommender.settings.settings` (TMDB credentials from
``.streamlit/secrets.toml`` first); nothing here reads the environment.
"""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def require_app() -> None:
    """Make sure this page runs inside app.py (page config, styles, top navigation).

    When the first URL a fresh server sees is a page (``/picks``), Streamlit's old multipage
    mode runs ``pages/picks.py`` on its own because a ``pages/`` folder exists; the flag that
    selects that mode is only cleared once ``st.navigation`` runs. Clearing it and rerunning
    sends this and every later run through app.py, which then opens the same page.
    """
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
