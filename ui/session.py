"""One visitor's state: their ratings and their chosen model, in ``st.session_state``.

The shared models never see these ratings except as the argument of ``model.recommend``, so
visitors never affect each other. Widgets that edit a rating call :func:`on_rating_change`.

A visitor who saved their ratings under a private link has a profile attached
(:func:`profile_token`): ``st.session_state`` stays what the pages render from, and every
change is also written to the profile store at once (:func:`set_rating`, :func:`add_ratings`,
:func:`clear_ratings`). The token is a secret: it never goes into a message or a log line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Container, Mapping

import streamlit as st

from recommender import ALGORITHMS, DEFAULT_ALGORITHM
from recommender.profiles import ProfileNotFound, ProfileStoreBase, ProfileStoreError
from recommender.ratings import MAX_RATING, MIN_RATING, RATING_STEP, check_rating, check_ratings
from ui import resources
from ui.text import count, md_escape, short_stars

log = logging.getLogger(__name__)

RATINGS = "ratings"
ALGORITHM = "algorithm"
TOAST = "rating-toast"
PROFILE = "profile-token"  # the attached profile's secret token
UNSAVED = "profile-unsaved"  # a write to the store failed: the next one saves everything
PROBLEM = "profile-problem"  # a store failure to tell the visitor about, once
CLEARED = "cleared-ratings"  # the ratings before the last "Clear all", until undone or replaced
# The rating widgets' choices: every value the one rating rule allows (0.5, 1.0, ..., 5.0).
STAR_STEPS = [MIN_RATING + i * RATING_STEP
              for i in range(int((MAX_RATING - MIN_RATING) / RATING_STEP) + 1)]


def ratings() -> dict[int, float]:
    """The visitor's ratings, movieId -> stars, in the order they were last changed."""
    return st.session_state.setdefault(RATINGS, {})


def set_rating(movie_id: int, value: float | None) -> None:
    """Rate ``movie_id`` (None removes the rating); the latest change goes last.

    Raises ValueError (from :mod:`recommender.ratings`) for a rating outside the scale.
    """
    st.session_state.pop(CLEARED, None)  # a new rating replaces what "Undo clear" would restore
    if value is None:
        movie = int(movie_id)
        ratings().pop(movie, None)
        _save(lambda store, token: store.remove(token, movie))
        return
    movie, stars = check_rating(movie_id, value)
    current = ratings()
    current.pop(movie, None)
    current[movie] = stars
    _save(lambda store, token: store.rate(token, movie, stars))


def add_ratings(new: Mapping[int, float]) -> None:
    """Add or change many ratings at once (an import), in ``new``'s order, after the others.

    With a profile attached they are saved in one transaction: all of them or none. Raises
    ValueError naming the first invalid rating before anything changes.
    """
    checked = check_ratings(new)
    st.session_state.pop(CLEARED, None)
    current = ratings()
    for movie_id, value in checked.items():
        current.pop(movie_id, None)
        current[movie_id] = value
    _save(lambda store, token: store.add_many(token, checked))


def clear_ratings() -> None:
    """Forget every rating (the 'Clear all' button); an attached profile keeps its link.

    What was cleared is kept in the session for :func:`undo_clear` until the next change.
    """
    st.session_state[CLEARED] = dict(ratings())
    ratings().clear()
    _save(lambda store, token: store.clear(token))


def cleared_count() -> int:
    """How many ratings the last "Clear all" removed (0 when there is nothing to undo)."""
    return len(st.session_state.get(CLEARED) or {})


def undo_clear() -> None:
    """Button callback: bring back the ratings of the last "Clear all", saved profile too."""
    previous = st.session_state.pop(CLEARED, None)
    if not previous:
        return
    st.session_state[RATINGS] = dict(previous)
    _save(lambda store, token: store.replace_all(token, previous))
    st.session_state[TOAST] = f"Restored {count(len(previous), 'rating')}"


# --- the attached profile ----------------------------------------------------------------


def profile_token() -> str | None:
    """The token of the profile this tab saves to, or None (ratings live in this tab only)."""
    return st.session_state.get(PROFILE)


def attach_profile(token: str, saved: Mapping[int, float]) -> None:
    """From now on this tab shows ``saved`` and writes every change to the profile ``token``."""
    st.session_state[RATINGS] = {int(m): float(r) for m, r in saved.items()}
    st.session_state[PROFILE] = token
    st.session_state.pop(UNSAVED, None)


def detach_profile() -> None:
    """Stop saving to a profile; the ratings stay in this tab."""
    st.session_state.pop(PROFILE, None)
    st.session_state.pop(UNSAVED, None)


def has_unsaved_changes() -> bool:
    """Whether a change could not be written to the attached profile (see :func:`save_all`)."""
    return profile_token() is not None and bool(st.session_state.get(UNSAVED))


def save_all() -> None:
    """Write every rating of this tab to the attached profile (after a failed write)."""
    st.session_state[UNSAVED] = True  # makes _save replace the whole profile
    _save(lambda store, token: None)


def _save(change: Callable[[ProfileStoreBase, str], object]) -> None:
    """Apply ``change`` to the attached profile, if any; store failures become a message.

    After a failed write the store may miss changes the tab shows, so the next write replaces
    the whole profile with this tab's ratings instead of applying one change.
    """
    token = profile_token()
    if token is None:
        return
    try:
        store = resources.profile_store()
        if st.session_state.get(UNSAVED):
            store.replace_all(token, ratings())
        else:
            change(store, token)
    except ProfileNotFound:
        detach_profile()
        st.session_state[PROBLEM] = (
            "The saved profile behind your private link no longer exists, so this change was "
            "not saved. Your ratings stay in this tab: save them again for a new link."
        )
    except ProfileStoreError as error:
        log.warning("Could not save ratings to the profile store: %s", error)
        st.session_state[UNSAVED] = True
        st.session_state[PROBLEM] = (
            "Your last change could not be saved to your private link (a storage problem on "
            "the server). It stays in this tab and is saved with your next change."
        )
    else:
        st.session_state.pop(UNSAVED, None)


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
    """Confirm the last rating change, and report a failed save, once."""
    if message := st.session_state.pop(TOAST, None):
        st.toast(message, icon=":material/star:")
    if problem := st.session_state.pop(PROBLEM, None):
        st.toast(problem, icon=":material/warning:", duration="long")


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
