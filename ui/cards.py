"""Poster cards and grids: equal-sized cards (2:3 poster, two-line title) in a tidy grid, the
app's one stylesheet, and the small pieces around them (rating picker, chips, share link).

Titles, genres and tags are user-generated: they reach HTML only through ``html.escape``.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from recommender.data import genre_list
from ui import resources, session
from ui.text import short_stars

COLUMNS = 6

# Fixed heights for every text line keep all cards of a row the same size and their
# buttons aligned, whatever the title length.
CSS = """
<style>
.mv-card { display: flex; flex-direction: column; gap: 0.15rem; }
/* Streamlit's Markdown styles images with object-fit: scale-down; posters must fill. */
.mv-card img.mv-poster, img.mv-hero { object-fit: cover !important; max-width: 100%; }
.mv-poster { width: 100%; aspect-ratio: 2 / 3; display: block;
  border-radius: 0.5rem; background: #e7e5e4; box-shadow: 0 1px 4px rgba(0, 0, 0, 0.18); }
.mv-title { font-weight: 600; font-size: 0.92rem; line-height: 1.25; height: 2.5em;
  margin-top: 0.45rem; overflow: hidden; display: -webkit-box; -webkit-line-clamp: 2;
  -webkit-box-orient: vertical; }
.mv-meta { font-size: 0.78rem; opacity: 0.65; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; }
.mv-note { font-size: 0.78rem; line-height: 1.3; height: 1.3em; overflow: hidden;
  display: -webkit-box; -webkit-line-clamp: 1; -webkit-box-orient: vertical; }
.mv-note.lines-3 { height: 3.9em; -webkit-line-clamp: 3; }
.mv-score { font-variant-numeric: tabular-nums; color: #d6336c; font-weight: 600; }
.mv-note b { font-weight: 600; }
.mv-hero { width: 100%; aspect-ratio: 2 / 3; display: block; border-radius: 0.75rem;
  box-shadow: 0 2px 10px rgba(0, 0, 0, 0.25); }
.mv-chips { display: flex; flex-wrap: wrap; gap: 0.35rem; margin: 0.2rem 0 0.6rem 0; }
.mv-chip { font-size: 0.8rem; padding: 0.1rem 0.6rem; border-radius: 1rem;
  background: rgba(120, 113, 108, 0.14); white-space: nowrap; }
.mv-chip.genre { background: rgba(214, 51, 108, 0.12); }
/* Taste groups: a name over posters three to a row, each titled (two lines at most). */
.mv-group-name { font-weight: 600; font-size: 0.95rem; margin-bottom: 0.4rem; }
.mv-strip { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 0.5rem 0.4rem; }
.mv-strip figure { margin: 0; }
.mv-strip img { width: 100%; aspect-ratio: 2 / 3; display: block; object-fit: cover !important;
  border-radius: 0.25rem; background: #e7e5e4; box-shadow: 0 1px 2px rgba(0, 0, 0, 0.2); }
.mv-strip figcaption { font-size: 0.75rem; line-height: 1.2; height: 2.4em; margin-top: 0.25rem;
  overflow: hidden; display: -webkit-box; -webkit-line-clamp: 2; -webkit-box-orient: vertical; }
/* "Why?": one row per rated movie, a bar for its share of what the ratings add to the pick. */
.mv-why { display: flex; flex-direction: column; gap: 0.55rem; min-width: 16rem; }
.mv-why-head { font-size: 0.85rem; opacity: 0.75; }
.mv-why-title { font-size: 0.88rem; font-weight: 600; line-height: 1.25; }
.mv-why-title span { font-weight: 400; opacity: 0.65; }
.mv-why-bar { display: flex; align-items: center; gap: 0.5rem; font-size: 0.8rem;
  font-variant-numeric: tabular-nums; }
.mv-why-bar div { flex: 1; height: 0.45rem; border-radius: 0.3rem;
  background: rgba(120, 113, 108, 0.18); }
.mv-why-bar div span { display: block; height: 100%; border-radius: 0.3rem;
  background: #d6336c; }
.mv-why-bar.low div span { background: #a8a29e; }
/* The model switch wraps onto a second line on a phone instead of hiding models off-screen. */
.st-key-picks-model [role="radiogroup"] { flex-wrap: wrap; overflow: visible; row-gap: 0.3rem; }
/* On a phone the columns stack: Your picks shows the picks first, then the movies to rate. */
@media (max-width: 640px) {
  .st-key-picks-layout > div > .stHorizontalBlock { flex-direction: column-reverse; }
  .st-key-picks-layout > div > .stHorizontalBlock > .stColumn { width: 100% !important; }
  /* Each rating: the title on its own line, then the slider and the remove button. */
  .st-key-ratings-list .stHorizontalBlock { flex-wrap: wrap; row-gap: 0; }
  .st-key-ratings-list .stColumn:nth-child(1) { flex: 1 1 100% !important; }
  .st-key-ratings-list .stColumn:nth-child(2) { flex: 1 1 0 !important; min-width: 0 !important; }
  .st-key-ratings-list .stColumn:nth-child(3) { flex: 0 0 auto !important;
    width: auto !important; min-width: 0 !important; }
}
/* Room above the ratings list's first slider, whose value label sits over the thumb. */
.st-key-ratings-list { padding-top: 1.4rem; }
</style>
"""


def inject_css() -> None:
    """The card styles, once per run (style-only HTML takes no space on the page)."""
    st.html(CSS)


def html_block(body: str) -> None:
    """Raw HTML that the caller has already escaped (a single block, no Markdown inside)."""
    st.markdown(body, unsafe_allow_html=True)


def year_text(row: Mapping[str, Any]) -> str:
    """The year, or an empty string for the few titles without one."""
    return str(int(row["year"])) if pd.notna(row["year"]) else ""


def genres_text(genres: str, limit: int = 2) -> str:
    """"Action|Sci-Fi|Thriller" -> "Action · Sci-Fi"."""
    return " · ".join(genre_list(genres)[:limit])


def card_html(row: Mapping[str, Any], poster: str, note: str = "", note_lines: int = 1) -> str:
    """One card: poster, title (clamped to two lines), year and genres, an optional note.

    ``note`` is HTML the caller built from escaped parts, clamped to 1 or 3 lines.
    """
    title = html.escape(str(row["display_title"]))
    year = year_text(row)
    meta = " · ".join(p for p in (year, html.escape(genres_text(row["genres"]))) if p)
    label = html.escape(f"{row['display_title']} ({year})" if year else str(row["display_title"]))
    note_div = f'<div class="mv-note lines-{note_lines}">{note}</div>' if note else ""
    return (
        f'<div class="mv-card"><img class="mv-poster" src="{html.escape(poster)}" '
        f'alt="{label}" loading="lazy"><div class="mv-title" title="{label}">{title}</div>'
        f'<div class="mv-meta">{meta or "&nbsp;"}</div>{note_div}</div>'
    )


def hero_html(row: Mapping[str, Any], poster: str) -> str:
    """The large poster at the top of a movie's details."""
    alt = html.escape(str(row["display_title"]))
    return f'<img class="mv-hero" src="{html.escape(poster)}" alt="{alt}">'


def movie_grid(
    rows: pd.DataFrame,
    place: str,
    *,
    columns: int = COLUMNS,
    notes: Mapping[int, str] | None = None,
    note_lines: int = 1,
    on_open: Callable[[int], None] | None = None,
    rate: bool = False,
    extra: Callable[[int], None] | None = None,
) -> None:
    """A grid of cards for catalogue ``rows``.

    ``place`` makes widget keys unique per grid (``open-<place>-<movieId>``,
    ``rate-<place>-<movieId>``). ``notes``: escaped HTML per movieId, ``note_lines`` (1 or 3)
    high. ``on_open``: a "Details" button calling it with the movieId. ``rate``: a half-star
    rating picker. ``extra``: called with the movieId at the bottom of each card, to add more
    (the picks' "Why?" popover).
    """
    if rows.empty:
        return
    posters = resources.poster_urls(rows)
    grid = st.grid(columns, gap="small", min_column_width=140)
    for movie_id, row in rows.to_dict("index").items():  # plain dicts: no Series per row
        with grid.cell():
            note = notes.get(int(movie_id), "&nbsp;") if notes is not None else ""
            html_block(card_html(row, posters[int(movie_id)], note, note_lines))
            if rate:
                rating_input(int(movie_id), str(row["display_title"]), place)
            if on_open is not None:
                st.button(
                    "Details",
                    key=f"open-{place}-{movie_id}",
                    on_click=on_open,
                    args=(int(movie_id),),
                    icon=":material/arrow_forward:",
                    icon_position="right",
                    width="stretch",
                )
            if extra is not None:
                extra(int(movie_id))


def rating_input(movie_id: int, title: str, place: str) -> None:
    """A compact half-star picker that mirrors (and edits) the visitor's rating of the movie."""
    key = f"rate-{place}-{movie_id}"
    session.sync_widget(key, session.ratings().get(movie_id))
    st.selectbox(
        f"Your rating of {title}",
        session.STAR_STEPS[::-1],
        index=None,
        key=key,
        format_func=short_stars,
        placeholder="Rate it…",
        label_visibility="collapsed",
        on_change=session.on_rating_change,
        args=(key, movie_id, title),
    )


def share_link(movie_id: int) -> None:
    """The movie's shareable address, with a copy button."""
    base = (st.context.url or "").split("?")[0].rstrip("/")
    st.caption("Share this movie")
    st.code(f"{base}/?movie={movie_id}", language=None, width="content")


def chips(labels: Sequence[str], kind: str = "") -> None:
    """Labels as small rounded chips (escaped: tags are user-generated)."""
    if labels:
        spans = "".join(f'<span class="mv-chip {kind}">{html.escape(t)}</span>' for t in labels)
        html_block(f'<div class="mv-chips">{spans}</div>')


def scroll_to_top(nonce: int) -> None:
    """Scroll the page back up (after opening a movie from a card far down the page).

    ``nonce`` must differ between calls: an unchanged element does not run again.
    """
    # A fixed script and an int, no user data; Streamlit scrolls inside its main element.
    st.html(
        f"<script>/* {int(nonce)} */ document.querySelector('[data-testid=\"stMain\"]')"
        "?.scrollTo({top: 0, behavior: 'smooth'});</script>",
        unsafe_allow_javascript=True,
    )
