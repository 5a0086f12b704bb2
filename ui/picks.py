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
from ui.resources import STARS_ALGORITHM
from ui.text import count, md_escape, model_label, score_label
from ui.why import why_popover

N_PICKS = 12


def current_picks(rated: Mapping[int, float]) -> list[int]:
    """The visitor's picks from their chosen model, unfiltered (none without ratings)."""
    if not rated:
        return []
    model = resources.model_or_none(session.algorithm())
    return [] if model is None else model.recommend(dict(rated), n=N_PICKS)["movieId"].tolist()


def filter_text(
    genres: Sequence[str] | None,
    years: Sequence[int] | None,
    every_year: tuple[int, int] | None = None,
) -> str:
    """The active filters in words ("Comedy, Drama · 2000–2018"), or "" when there are none.

    ``years`` equal to ``every_year`` (the catalogue's range) filter nothing.
    """
    parts = []
    if genres:
        parts.append(", ".join(genres[:2]) + (f" +{len(genres) - 2}" if len(genres) > 2 else ""))
    if years is not None and tuple(years) != every_year:
        parts.append(f"{years[0]}–{years[1]}")
    return " · ".join(parts)


def pick_notes(
    picks: pd.DataFrame,
    algorithm: str,
    catalogue: pd.DataFrame,
    predicted: Mapping[int, float] | None = None,
) -> dict[int, str]:
    """What to say under each pick, as escaped HTML.

    Personal models: "We think you'd rate it ★ 4.2" (``predicted``, movieId -> stars) and the
    rated movie it comes from ("Because you rated X"); the ranking score stays in the hover
    text, as it means nothing to a visitor. Popularity ignores the visitor, so its cards say
    what everyone thinks instead: the average rating and how many people gave one.
    """
    predicted = predicted or {}
    notes = {}
    for movie_id, score, because in picks[["movieId", "score", "because"]].itertuples(
        index=False
    ):
        movie = int(movie_id)
        if algorithm == "popularity":
            mean = catalogue.loc[movie, "mean_rating"]
            notes[movie] = (f'Average <span class="mv-score">★ {float(mean):.1f}</span><br>'
                            f"from {html.escape(score_label(algorithm, score))}")
            continue
        reason = (
            f"Because you rated <b>{html.escape(str(catalogue.loc[because, 'display_title']))}</b>"
            if pd.notna(because) else "A good match for your taste"
        )
        score_text = html.escape(score_label(algorithm, score))
        stars = predicted.get(movie)
        if stars is None:
            notes[movie] = f'<span class="mv-score">{score_text}</span> · {reason}'
            continue
        notes[movie] = (
            f'<span title="{score_text}">We think you\'d rate it '
            f'<span class="mv-score">★ {float(stars):.1f}</span></span><br>{reason}'
        )
    return notes


def picks_caption(algorithm: str, used: int, unknown: int, filters: str) -> str:
    """What the picks are based on, what filters narrow them, and what the stars mean."""
    only = f" Only {filters}." if filters else ""
    if algorithm == "popularity":
        return ("Popularity picks: the most-rated movies, the same for everyone; your ratings "
                f"only take out the movies you have rated.{only} Switch model for picks "
                "made from your ratings.")
    missing = (f" ({unknown} of the movies you rated have no ratings in the data, so the model "
               "cannot use them)") if unknown else ""
    return (f"{model_label(algorithm)} picks from your {count(used, 'rating')}{missing}, best "
            f"match first.{only} The stars are a separate guess at how you would rate each "
            f"one ({model_label(STARS_ALGORITHM)}), so they need not follow the order: a pick "
            "can fit your taste closely and still get fewer stars.")


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
    st.caption(picks_caption(algorithm, len(rated) - len(unknown), len(unknown),
                             md_escape(filter_text(genres, years))))
    if picks.empty:
        st.info("No movie matches these filters. Widen the years or choose other genres.",
                icon=":material/filter_alt_off:")
        return
    catalogue = resources.catalogue()
    rows = movies.rows(catalogue, picks["movieId"].tolist())
    # Popularity is the same for everyone: its cards show no personal stars.
    stars_model = resources.star_model() if algorithm != "popularity" else None
    # One fold-in for the whole grid: predicted stars cost under a millisecond.
    predicted = (stars_model.predict_ratings(rated, picks["movieId"]).to_dict()
                 if stars_model is not None else None)
    notes = pick_notes(picks, algorithm, catalogue, predicted)
    why = (None if algorithm == "popularity"  # the same for everyone: no "why"
           else lambda movie_id: why_popover(model, rated, movie_id))
    movie_grid(rows, "pick", columns=4, notes=notes, note_lines=3, rate=True, extra=why)
