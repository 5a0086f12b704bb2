"""Ratings that last: a private link (``?profile=<token>``), import from IMDb, Letterboxd or a
CSV file, and a CSV download.

The pages call :func:`attach_from_url`, :func:`keep_panel` and :func:`import_panel`; the
write-through of every later change lives in :mod:`ui.session`. A token is a secret: it
appears only in the private-link box (and in the address the visitor opens it from, which
:func:`attach_from_url` clears at once), never in a message, a log line or a page's address.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import IO
from urllib.parse import urlencode

import streamlit as st

from recommender import MovieLens
from recommender.imports import (
    MAX_IMPORT_BYTES,
    ImportReport,
    RatingsImportError,
    TitleMatcher,
    export_ratings,
    import_ratings,
)
from recommender.profiles import ProfileNotFound, ProfileStoreError
from ui import resources, session
from ui.text import count

log = logging.getLogger(__name__)

PARAM = "profile"  # ?profile=<token>
PICKS_PATH = "picks"  # Your picks' url_path in app.py: the private link opens that page
PAGE_PATHS = ("picks", "about")  # url_paths that follow the app's base URL
JUST_SAVED = "profile-just-saved"
IMPORT_NONCE = "import-nonce"  # part of the uploader's key: a new key empties the uploader
IMPORT_RESULT = "import-result"  # (file_id, ImportReport or error message) of the upload
EXPORT_NAME = "movielens-ratings.csv"
UNMATCHED_ROWS = 200  # the unmatched table shows at most this many rows

LINK_WARNING = (
    "Anyone with this link can see and change these ratings. Keep it to yourself, like a "
    "password: bookmark it or paste it somewhere private. It is never in the address bar, so "
    "sharing a page or a movie does not share it; after a reload or in a new tab, open this "
    "link to bring your ratings back."
)
STORE_DOWN = (
    "Saved ratings cannot be reached right now (a storage problem on the server). Your "
    "ratings in this tab are not affected; try again later."
)


# --- the private link ----------------------------------------------------------------------


def attach_from_url() -> None:
    """Load the profile that ``?profile=`` names, then take the token out of the address.

    Call it at the top of a page, outside fragments. The token is a password: once read it
    lives only in this session, so a copied address (a movie's, a page's) never carries it.
    The price is that a reload forgets the profile unless the visitor opens their link again,
    which the private-link box says. A link that matches no profile gets a clear message and
    changes nothing.
    """
    raw = st.query_params.get(PARAM)
    if not raw:
        return
    if raw == session.profile_token():
        st.query_params.pop(PARAM, None)
        return
    try:
        saved = resources.profile_store().ratings(raw)
    except ProfileNotFound as error:  # the same message for every bad token; never echo it
        st.error(f"**This private link does not work.** {error}", icon=":material/link_off:")
        st.button("Continue without it", key="profile-bad-link", on_click=_drop_bad_link)
        return
    except ProfileStoreError as error:
        log.warning("Could not read a saved profile: %s", error)
        st.error(STORE_DOWN, icon=":material/cloud_off:")
        return
    st.query_params.pop(PARAM, None)
    catalogue = resources.catalogue()
    known = {m: r for m, r in saved.items() if m in catalogue.index}
    session.attach_profile(raw, known)
    st.toast(f"Loaded your {count(len(known), 'saved rating')}" if known else
             "Your private link is attached; it holds no ratings yet",
             icon=":material/bookmark:")
    if len(known) < len(saved):
        st.info(f"This link also holds {count(len(saved) - len(known), 'rating')} of movies "
                "that are not in this catalogue; they stay saved but are not shown.",
                icon=":material/info:")


def _drop_bad_link() -> None:
    """Button callback: take the link that does not work out of the address."""
    st.query_params.pop(PARAM, None)


def save() -> None:
    """Button callback: keep the current ratings under a new private link."""
    try:
        token = resources.profile_store().create(session.ratings())
    except ProfileStoreError as error:
        log.warning("Could not create a profile: %s", error)
        st.session_state[session.PROBLEM] = f"Your ratings were not saved. {STORE_DOWN}"
        return
    session.attach_profile(token, session.ratings())
    st.session_state[JUST_SAVED] = True


def private_link(token: str) -> str:
    """The address that opens Your picks with this profile's ratings."""
    # st.context.url is where the browser was at this run; page paths follow the base URL.
    url = (st.context.url or "").split("#")[0].split("?")[0].rstrip("/")
    for page in PAGE_PATHS:
        if url.endswith(f"/{page}"):
            url = url.removesuffix(f"/{page}")
    return f"{url}/{PICKS_PATH}?{urlencode({PARAM: token})}"


def show_link(token: str) -> None:
    """The private link, ready to copy, with what it gives away."""
    st.code(private_link(token), language=None, wrap_lines=True)
    st.warning(LINK_WARNING, icon=":material/lock:")


def keep_panel() -> None:
    """Save under a private link (or show it), and download the ratings as CSV."""
    rated = session.ratings()
    token = session.profile_token()
    with st.container(horizontal=True, vertical_alignment="center"):
        if token is None:
            st.button("Save my ratings", key="profile-save", on_click=save, type="primary",
                      icon=":material/bookmark_add:", disabled=not rated,
                      help="Keep your ratings under a private link, to come back to later")
        st.download_button(
            "Download my ratings (CSV)",
            # Built on click, not on every rerun; the callable runs outside the script, so it
            # gets a snapshot of the ratings rather than reading the session.
            data=functools.partial(ratings_csv, dict(rated), resources.movielens()),
            file_name=EXPORT_NAME, mime="text/csv", key="profile-export", on_click="ignore",
            icon=":material/download:", disabled=not rated,
        )
    if token is None:
        return
    if session.has_unsaved_changes():
        st.warning("Some changes are not saved to your private link yet.",
                   icon=":material/sync_problem:")
        st.button("Save them now", key="profile-save-all", on_click=session.save_all)
    if st.session_state.pop(JUST_SAVED, False):
        st.success("Saved. Your private link brings these ratings back in any browser, and "
                   "every change you make from now on is saved at once.",
                   icon=":material/bookmark_added:")
        show_link(token)
    else:
        st.caption(":material/bookmark_added: Saved under your private link: every change is "
                   "saved at once.")
        with st.expander("Your private link", icon=":material/link:"):
            show_link(token)


# --- import and export ---------------------------------------------------------------------


def read_ratings_file(
    file: bytes | IO[bytes], data: MovieLens, matcher: TitleMatcher | None = None
) -> ImportReport:
    """Match a ratings file to the catalogue; changes nothing.

    Raises :class:`recommender.imports.RatingsImportError` with a message for the visitor.
    """
    return import_ratings(file, data.movies, data.links, matcher=matcher)


def ratings_csv(ratings: Mapping[int, float], data: MovieLens) -> bytes:
    """The ratings as this app's CSV export (title, year, movieId, imdbId, rating)."""
    return export_ratings(ratings, data.movies, data.links)


def _upload_result(file: object) -> ImportReport | str:
    """The report for this upload, or why it cannot be imported; read once per upload (the
    fragment reruns after every rating)."""
    file_id = getattr(file, "file_id", None)
    cached = st.session_state.get(IMPORT_RESULT)
    if cached is not None and cached[0] == file_id:
        return cached[1]
    result: ImportReport | str
    try:
        result = read_ratings_file(file, resources.movielens(), resources.title_matcher())
    except RatingsImportError as error:
        result = str(error)
    st.session_state[IMPORT_RESULT] = (file_id, result)
    return result


def apply_import() -> None:
    """Button callback: add every rating of the confirmed import at once."""
    cached = st.session_state.pop(IMPORT_RESULT, None)
    if cached is None or not isinstance(cached[1], ImportReport):
        return
    report = cached[1]
    session.add_ratings(report.ratings)
    st.session_state[IMPORT_NONCE] = st.session_state.get(IMPORT_NONCE, 0) + 1
    st.session_state[session.TOAST] = (
        f"Added {count(len(report.ratings), 'rating')} from your {report.format_name}"
    )


def show_report(report: ImportReport) -> None:
    """What the file holds, what did not match and why, and the button that adds it."""
    rated = session.ratings()
    matched = len(report.ratings)
    changed = sum(1 for m, r in report.ratings.items() if m in rated and rated[m] != r)
    new = sum(1 for m in report.ratings if m not in rated)
    name = report.format_name[:1].upper() + report.format_name[1:]
    st.markdown(f"**{name}**: {count(matched, 'movie')} matched, "
                f"{count(report.unmatched_count, 'row')} not matched.")
    for message in report.messages[1:]:  # the first one repeats the counts above
        st.caption(message)
    if report.unmatched:
        st.caption("Not matched (suggestions are the closest titles in the catalogue):")
        table = report.unmatched_frame().head(UNMATCHED_ROWS)
        st.dataframe(
            table[["line", "title", "year", "reason", "suggestions"]], hide_index=True,
            height=min(35 * (len(table) + 1) + 3, 250),
            column_config={
                "line": st.column_config.NumberColumn("Line", width="small"),
                "title": st.column_config.TextColumn("Title", width="medium"),
                "year": st.column_config.NumberColumn("Year", format="%d", width="small"),
                "reason": st.column_config.TextColumn("Reason", width="large"),
                "suggestions": st.column_config.TextColumn("Suggestions", width="large"),
            },
        )
        if report.unmatched_count > UNMATCHED_ROWS:
            st.caption(f"… and {report.unmatched_count - UNMATCHED_ROWS} more.")
    if not matched:
        st.info("No movie of this file is in the catalogue, so there is nothing to add.",
                icon=":material/search_off:")
        return
    if not new and not changed:
        st.info(f"You already have all {count(matched, 'rating')} of this file here, with the "
                "same stars: there is nothing to add.", icon=":material/task_alt:")
        return
    if changed:
        st.caption(f"{changed:,} of them {'changes a rating' if changed == 1 else 'change ratings'}"
                   " you gave here.")
    label = (f"Add {count(new, 'rating')}" if not changed else
             f"Add {new:,} and update {changed:,}" if new else f"Update {count(changed, 'rating')}")
    st.button(label, key="import-confirm", type="primary",
              on_click=apply_import, icon=":material/playlist_add:")


def import_panel() -> None:
    """Upload a ratings file, see what matched, and confirm to add it."""
    label = "Import ratings from IMDb, Letterboxd or a CSV"
    with st.expander(label, icon=":material/upload_file:"):
        st.caption("IMDb: Your Ratings → ⋯ → Export. Letterboxd: Settings → Data → Export, "
                   "then ratings.csv from the ZIP. Or any CSV with movieId and rating columns.")
        nonce = st.session_state.get(IMPORT_NONCE, 0)
        file = st.file_uploader(
            f"Ratings file (CSV, up to {MAX_IMPORT_BYTES // 2**20} MB)", type=["csv"],
            key=f"import-file-{nonce}", max_upload_size=MAX_IMPORT_BYTES // 2**20,
        )
        if file is None:
            st.session_state.pop(IMPORT_RESULT, None)
            return
        result = _upload_result(file)
        if isinstance(result, str):
            st.error(result, icon=":material/error:")
        else:
            show_report(result)
