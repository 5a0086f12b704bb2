"""The Streamlit app's building blocks; the pages in ``pages/`` only lay these out.

``resources``: everything cached and shared between visitors (data, search, models, posters).
``session``: one visitor's ratings and choices (``st.session_state`` only).
``movies``: plain functions on the data and models (starter list, reasons, tags).
``cards``: the poster card and grid components. ``text``: labels, copy and escaping.
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
