"""One visitor's state: their ratings and their chosen model, in ``st.session_state`` only.

The shared models never see these ratings except as the argument of ``model.recommend``, so
visitors never affect each other. Widgets that edit a rating call :func:`on_rating_change`.
"""

from __future__ import annotations

from collections.abc import Container

import streamlit as st

from recommender import ALGORITHMS, DEFAULT_ALGORITHM
from ui.text import md_escape, short_stars

RATINGS = "ratings"
ALGORITHM = "algorithm"
TOAST = "rating-toast"
STAR_STEPS = [x / 2 for x in range(1, 11)]  # the MovieLens scale: 0.5, 1.0, ..., 5.0


def ratings() -> dict[int, float]:
    """The visitor's ratings, movieId -> stars, in the order they were last changed."""
    return st.session_state.setdefault(RATINGS, {})


def set_rating(movie_id: int, value: float | None) -> None:
    """Rate ``movie_id`` (None removes the rating); the latest change goes last."""
    current = ratings()
    current.pop(movie_id, None)
    if value is not None:
        current[int(movie_id)] = float(value)


def clear_ratings() -> None:
    """Forget every rating (the 'Clear all' button)."""
    ratings().clear()


def on_rating_change(key: str, movie_id: int, title: str) -> None:
    """Widget callback: copy the widget's value into the ratings and confirm with a toast."""
    value = st.session_state.get(key)
    set_rating(movie_id, value)
    # Shown by show_toast() in the page: a callback of a fragment must not draw elements.
    st.session_state[TOAST] = (
        f"Removed your rating of {md_escape(title)}" if value is None
        else f"Rated {md_escape(title)} {short_stars(value)}"
    )


def show_toast() -> None:
    """Confirm the last rating change, once."""
    if message := st.session_state.pop(TOAST, None):
        st.toast(message, icon=":material/star:")


def on_remove(movie_id: int) -> None:
    """Button callback: remove one rating."""
    set_rating(movie_id, None)


def algorithm() -> str:
    """The model this visitor uses (shared by Discover and Your picks)."""
    chosen = st.session_state.get(ALGORITHM)
    return chosen if chosen in ALGORITHMS else DEFAULT_ALGORITHM


def on_algorithm_change(key: str) -> None:
    """Widget callback: remember the model chosen on the picks page across pages."""
    if st.session_state.get(key) in ALGORITHMS:
        st.session_state[ALGORITHM] = st.session_state[key]


def sync_widget(key: str, value: object) -> None:
    """Show ``value`` in the widget ``key`` (call before the widget is drawn).

    The same rating appears in several widgets (a search result, a starter card, the ratings
    list); the ratings dict is the single source of truth and each widget mirrors it.
    """
    if st.session_state.get(key, None) != value or key not in st.session_state:
        st.session_state[key] = value


def requested_movie(known: Container[int]) -> tuple[int | None, str | None]:
    """(movieId, None) for a valid ?movie=, (None, raw) for a bad one, (None, None) if absent."""
    raw = st.query_params.get("movie")
    if not raw:
        return None, None
    try:
        movie_id = int(raw.strip())
    except ValueError:
        return None, raw
    return (movie_id, None) if movie_id in known else (None, raw)
