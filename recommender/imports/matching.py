"""Matching a title and year from another site to a catalogue movie."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

import pandas as pd
from rapidfuzz import fuzz

from recommender.data import display_title
from recommender.search import TitleIndex, normalise, title_parts

MAX_SUGGESTIONS = 3
YEAR_TOLERANCE = 1  # Letterboxd and MovieLens disagree by a year on festival vs release dates
TITLE_MATCH_RATIO = 90.0  # normalised titles must be this similar (one typo in ten letters)
MIN_FUZZY_CHARS = 10  # shorter titles must match exactly (after normalising)
SEARCH_CANDIDATES = 10
# A suggestion must look like the title (rapidfuzz WRatio of the normalised titles): "Open
# Hearts" (64) is no help for "Oppenheimer", "Matrix Reloaded, The" (95) is. None beats wrong.
SUGGESTION_RATIO = 75.0
YEAR_SUFFIX = re.compile(r"\s*\((\d{4})(?:[-–]\d{0,4})?\)\s*$")
_SUBTITLE = re.compile(r":|\s[-–]\s")


class TitleMatch(NamedTuple):
    """Result of :meth:`TitleMatcher.match`: ``movie_id`` is None when nothing is sure."""

    movie_id: int | None
    reason: str
    suggestions: tuple[tuple[int, str], ...]


class TitleMatcher:
    """Find the catalogue movie for a title and year from another site.

    A match needs the year within ±1 and the title to agree after normalising (accents,
    articles, punctuation, "The Matrix" vs "Matrix, The", alternative titles in brackets): equal,
    :data:`TITLE_MATCH_RATIO` similar (titles of :data:`MIN_FUZZY_CHARS` letters or more), or
    equal up to a subtitle ("Star Wars" and "Star Wars:
    Episode IV - A New Hope"). Exact titles are looked up in a dictionary; the rest go through
    the fuzzy :class:`~recommender.search.TitleIndex`. Build once per catalogue and reuse it
    (pass it to :func:`import_ratings`): building normalises every title.
    """

    def __init__(
        self,
        movies: pd.DataFrame,
        index: TitleIndex | None = None,
        popularity: pd.Series | None = None,
    ) -> None:
        self._index = index if index is not None else TitleIndex(movies, popularity)
        ids = movies["movieId"].astype("int64").tolist()
        titles = movies["title"].fillna("").astype(str).tolist()
        if "year" in movies:
            years = pd.to_numeric(movies["year"], errors="coerce")
        else:
            years = pd.to_numeric(pd.Series(titles).str.extract(YEAR_SUFFIX)[0], errors="coerce")
        self._years: dict[int, int | None] = {
            m: None if pd.isna(y) else int(y) for m, y in zip(ids, years.tolist(), strict=True)
        }
        self._titles = dict(zip(ids, titles, strict=True))
        self._exact: dict[str, list[int]] = {}
        for movie, title in zip(ids, titles, strict=True):
            for form in _forms(_variants(title)):
                self._exact.setdefault(form, []).append(movie)

    def label(self, movie_id: int) -> str:
        """ "The Matrix (1999)": display form of a catalogue movie."""
        title = self._titles.get(movie_id, "")
        name = display_title(YEAR_SUFFIX.sub("", title).strip()) or f"movie {movie_id}"
        year = self._years.get(movie_id)
        return f"{name} ({year})" if year else name

    def match(self, title: str, year: int | None) -> TitleMatch:
        """The movie for ``title`` and ``year``, or None with the reason and suggestions."""
        title = (title or "").strip()
        if not title:
            return TitleMatch(None, "no title", ())
        if year is None:
            return TitleMatch(None, "no year, so a match by title cannot be confirmed",
                              self.suggest(title, None))
        query_forms = _forms(_variants(title))
        exact = {m for form in query_forms for m in self._exact.get(form, ())}
        best = self._closest_year(exact, year)
        if best is not None:
            return TitleMatch(best, "", ())
        results = self._index.search(f"{title} {year}", SEARCH_CANDIDATES)
        candidates = results["movieId"].astype("int64").tolist()
        agreeing = [m for m in candidates if self._agrees(title, query_forms, m)]
        best = self._closest_year(agreeing, year)
        if best is not None:
            return TitleMatch(best, "", ())
        suggestions = self._suggestions(title, candidates)
        if agreeing or exact:
            other = self.label(next(iter(agreeing or sorted(exact))))
            reason = f"the catalogue has {other}, but not from {year}±{YEAR_TOLERANCE}"
        else:
            reason = "no movie with this title and year in the catalogue"
        return TitleMatch(None, reason, suggestions)

    def suggest(self, title: str, year: int | None) -> tuple[tuple[int, str], ...]:
        """Up to :data:`MAX_SUGGESTIONS` likely movies, as (movieId, "Title (year)")."""
        query = f"{title} {year}" if year else title
        found = self._index.search(query, SEARCH_CANDIDATES)["movieId"].astype("int64").tolist()
        return self._suggestions(title, found)

    def _suggestions(self, title: str, candidates: list[int]) -> tuple[tuple[int, str], ...]:
        """The first :data:`MAX_SUGGESTIONS` candidates whose title looks like ``title``."""
        query = normalise(YEAR_SUFFIX.sub("", title))
        alike = [m for m in candidates if max(
            (fuzz.WRatio(query, normalise(v)) for v in _variants(self._titles[m])), default=0
        ) >= SUGGESTION_RATIO]
        return tuple((m, self.label(m)) for m in alike[:MAX_SUGGESTIONS])

    def _closest_year(self, movies: Iterable[int], year: int) -> int | None:
        """The movie whose year is nearest ``year`` (within the tolerance); ties: lowest id."""
        scored = []
        for movie in movies:
            their = self._years.get(movie)
            if their is not None and abs(their - year) <= YEAR_TOLERANCE:
                scored.append((abs(their - year), movie))
        return min(scored)[1] if scored else None

    def _agrees(self, title: str, query_forms: set[str], movie: int) -> bool:
        variants = _variants(self._titles[movie])
        forms = _forms(variants)
        if query_forms & forms or query_forms & _forms(_mains(variants)):
            return True
        if _forms(_mains(_variants(title))) & forms:
            return True
        # A typo is only tolerated in longer titles ("Alien" and "Aliens" are two films), and
        # never in a number ("Kill Bill: Vol. 1" and "Vol. 2" are a year apart).
        return any(
            fuzz.ratio(q, f, score_cutoff=TITLE_MATCH_RATIO)
            for q in query_forms for f in forms
            if min(len(q), len(f)) >= MIN_FUZZY_CHARS and _numbers(q) == _numbers(f)
        )


def _variants(title: str) -> list[str]:
    """Readable forms of a title: whole (year removed) and each alternative title, with a
    trailing article moved to the front."""
    whole = YEAR_SUFFIX.sub("", title).strip()
    return [display_title(v) for v in dict.fromkeys([whole, *title_parts(title)]) if v]


def _mains(variants: list[str]) -> list[str]:
    """The part before a subtitle ("Star Wars: Episode IV" -> "Star Wars"), where there is one
    of two words or more: "Mission" alone says too little to stand for "Mission: Impossible"."""
    mains = [main for v in variants if (main := _SUBTITLE.split(v, 1)[0].strip()) != v.strip()]
    return [main for main in mains if len(normalise(main).split()) >= 2]


def _numbers(form: str) -> list[str]:
    return [word for word in form.split() if word.isdigit()]


def _forms(variants: list[str]) -> set[str]:
    forms = {normalise(v) for v in variants} | {normalise(v, join=True) for v in variants}
    forms.discard("")
    return forms
