"""Poster cards and grids: equal-sized cards (2:3 poster, two-line title) in a tidy grid, and
the components around the picks (ratings list, taste-group onboarding, "Why?" popover).

Titles, genres and tags are user-generated: they reach HTML only through ``html.escape``.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
import streamlit as st

from recommender import Recommender
from recommender.explain import explain
from recommender.tastes import TasteGroup, seed_profile
from ui import movies, resources, session
from ui.text import GROUPS_CAPTION, count, md_escape, model_label, score_label, short_stars

COLUMNS = 6
EDITOR_LIMIT = 50  # the most ratings the ratings list shows (newest first)
GROUP_POSTERS = 6  # posters shown per taste group; exactly these are rated when it is picked
GROUP_RATING = 4.5

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
/* Taste groups: a name over a strip of small posters, all tiles the same height. */
.mv-group-name { font-weight: 600; font-size: 0.92rem; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis; margin-bottom: 0.4rem; }
.mv-strip { display: grid; grid-template-columns: repeat(var(--n), minmax(0, 1fr)); gap: 0.3rem; }
.mv-strip img { width: 100%; aspect-ratio: 2 / 3; display: block; object-fit: cover !important;
  border-radius: 0.25rem; background: #e7e5e4; box-shadow: 0 1px 2px rgba(0, 0, 0, 0.2); }
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
    names = [g for g in str(genres).split("|") if g and not g.startswith("(")]
    return " · ".join(names[:limit])


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
            st.container(height=height, border=False):
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


def pick_notes(
    picks: pd.DataFrame,
    algorithm: str,
    catalogue: pd.DataFrame,
    predicted: Mapping[int, float] | None = None,
) -> dict[int, str]:
    """Score and reason ("Because you rated X") under each pick, as escaped HTML.

    With ``predicted`` (movieId -> stars), a pick it covers leads with "We think you'd rate it
    ★ 4.2" instead of the model's score, which moves to the hover text: stars mean something
    to a visitor, a ranking score does not (popularity keeps its count of ratings).
    """
    predicted = predicted or {}
    notes = {}
    for movie_id, score, because in picks[["movieId", "score", "because"]].itertuples(
        index=False
    ):
        reason = (
            f"Because you rated <b>{html.escape(str(catalogue.loc[because, 'display_title']))}</b>"
            if pd.notna(because) else "Popular with everyone" if algorithm == "popularity"
            else "A good match for your taste"
        )
        score_text = html.escape(score_label(algorithm, score))
        stars = predicted.get(int(movie_id))
        if stars is None:
            notes[int(movie_id)] = f'<span class="mv-score">{score_text}</span> · {reason}'
            continue
        if algorithm == "popularity":
            reason = f"{reason} · {score_text}"
        notes[int(movie_id)] = (
            f'<span title="{score_text}">We think you\'d rate it '
            f'<span class="mv-score">★ {float(stars):.1f}</span></span><br>{reason}'
        )
    return notes


def group_tile_html(name: str, rows: pd.DataFrame, posters: Mapping[int, str]) -> str:
    """A taste group: its name over one row of small posters (titles on hover)."""
    images = "".join(
        f'<img src="{html.escape(posters[int(m)])}" alt="{html.escape(str(t))}" '
        f'title="{html.escape(str(t))}" loading="lazy">'
        for m, t in zip(rows.index, rows["display_title"], strict=True)
    )
    return (
        f'<div class="mv-group-name" title="{html.escape(name)}">{html.escape(name)}</div>'
        f'<div class="mv-strip" style="--n: {max(1, len(rows))}">{images}</div>'
    )


def why_html(title: str, reasons: Sequence[tuple[str, float, float]]) -> str:
    """The "Why?" of one pick: (rated title, stars given, share 0-1) rows, largest first.

    Bars are scaled to the largest share (with many ratings every share is small, and tiny
    bars read as "nothing"); the percentages say the shares themselves.
    """
    top = max((share for _, _, share in reasons), default=1.0) or 1.0
    head = f'<div class="mv-why-head">Your ratings that led to <b>{html.escape(title)}</b></div>'
    rows = "".join(
        f'<div><div class="mv-why-title">{html.escape(name)} '
        f"<span>· you gave it {given:g} ★</span></div>"
        f'<div class="mv-why-bar"><div><span style="width: {share / top:.0%}"></span></div>'
        f"{share:.0%}</div></div>"
        for name, given, share in reasons
    )
    return f'<div class="mv-why">{head}{rows}</div>'



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


# --- taste groups and explanations (Your picks) ------------------------------------------


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


def why_popover(model: Recommender, rated: Mapping[int, float], movie_id: int) -> None:
    """A "Why?" button under a pick: the three ratings that contributed most, as bars.

    The popover reruns the fragment when opened and computes only then (one explanation can
    take 15 ms with NMF, too much for twelve cards on every rerun).
    """
    with st.popover("Why?", key=f"why-{movie_id}", on_change="rerun", type="tertiary",
                    icon=":material/lightbulb:", width="stretch") as popover:
        if not popover.open:
            return
        found = explain(model, rated, movie_id, n=len(rated))
        if found.empty:
            st.caption("None of your ratings argues for this movie in particular: the model "
                       "ranks it high because many people like it.")
            return
        catalogue = resources.catalogue()
        total = float(found["contribution"].sum())
        reasons = [(str(catalogue.loc[m, "display_title"]), rated[m], c / total)
                   for m, c in found.head(3).itertuples(index=False)]
        html_block(why_html(str(catalogue.loc[movie_id, "display_title"]), reasons))
        st.caption(f"Percent: that rating's share of what all your ratings add to this "
                   f"pick's score in the {model_label(model.algorithm)} model.")
