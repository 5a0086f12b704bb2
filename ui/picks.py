"""Pick assembly: a model's picks for the visitor's ratings, the note under each card (score,
predicted stars, "Because you rated X") and the "Why?" popovers, laid out as a grid."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import pandas as pd
import streamlit as st

from recommender import Recommender
from ui import movies, resources, session
from ui.cards import movie_grid
from ui.text import count, model_label, score_label
from ui.why import why_popover

N_PICKS = 12


def current_picks(rated: Mapping[int, float]) -> list[int]:
    """The visitor's picks from their chosen model, unfiltered (none without ratings)."""
    if not rated:
        return []
    model = resources.model_or_none(session.algorithm())
    return [] if model is None else model.recommend(dict(rated), n=N_PICKS)["movieId"].tolist()


def score_notes(found: pd.DataFrame, algorithm: str) -> dict[int, str]:
    """The model's score of each movie of ``found`` (movieId, score), as escaped HTML."""
    return {int(m): f'<span class="mv-score">{html.escape(score_label(algorithm, s))}</span>'
            for m, s in zip(found["movieId"], found["score"], strict=True)}


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


def picks_grid(
    model: Recommender,
    rated: Mapping[int, float],
    genres: Sequence[str] | None = None,
    years: tuple[int, int] | None = None,
) -> None:
    """The visitor's picks from ``model`` within the filters, with what they are based on.

    Cards: keys ``rate-pick-<movieId>`` and (except for popularity) ``why-<movieId>``.
    """
    algorithm = model.algorithm
    picks = movies.recommend(model, rated, N_PICKS, genres, years)
    unknown = picks.attrs.get("unknown_movie_ids", [])
    st.caption(f"{model_label(algorithm)} picks from your "
               f"{count(len(rated) - len(unknown), 'rating')}"
               + (f" ({len(unknown)} of the movies you rated have no ratings in the data, so "
                  "the model cannot use them)" if unknown else "") + ".")
    if picks.empty:
        st.info("No movie matches these filters. Widen the years or choose other genres.",
                icon=":material/filter_alt_off:")
        return
    catalogue = resources.catalogue()
    rows = movies.rows(catalogue, picks["movieId"].tolist())
    stars_model = resources.star_model()
    # One fold-in for the whole grid: predicted stars cost under a millisecond.
    predicted = (stars_model.predict_ratings(rated, picks["movieId"]).to_dict()
                 if stars_model is not None else None)
    notes = pick_notes(picks, algorithm, catalogue, predicted)
    why = (None if algorithm == "popularity"  # the same for everyone: no "why"
           else lambda movie_id: why_popover(model, rated, movie_id))
    movie_grid(rows, "pick", columns=4, notes=notes, note_lines=3, rate=True, extra=why)
