"""Matching a title and year from another site to a catalogue movie."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from typing import NamedTuple

import pandas as pd
from rapidfuzz import fuzz, process

from recommender.data import display_title
from recommender.search import TitleIndex, normalise, title_parts

MAX_SUGGESTIONS = 3
YEAR_TOLERANCE = 1  # Letterboxd and MovieLens disagree by a year on festival vs release dates
TITLE_MATCH_RATIO = 90.0  # normalised titles must be this similar (one typo in ten letters)
MIN_FUZZY_CHARS = 10  # shorter titles must match exactly (after normalising)
# ratio >= 90 needs lengths within 9/11..11/9 of each other; a little wider for rounding.
_LENGTH_RANGE = (0.8, 1.25)
_QUERY_CACHE = 50_000  # titles whose normalised forms are remembered
SEARCH_CANDIDATES = 10
# A suggestion must look like the title (rapidfuzz WRatio of the normalised titles): "Open
# Hearts" (64) is no help for "Oppenheimer", "Matrix Reloaded, The" (95) is. None beats wrong.
SUGGESTION_RATIO = 75.0
YEAR_SUFFIX = re.compile(r"\s*\((\d{4})(?:[-–]\d{0,4})?\)\s*$")
_SUBTITLE = re.compile(r":|\s[-–]\s")
_JOINER = re.compile(r"[-‐·/]")  # where normalise(join=True) can differ from normalise()


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
    dictionaries of titles and main titles; typos are looked for only among the movies of
    the year ±1 with a title of about the same length, so that a file of thousands of unknown
    titles stays fast. Suggestions come from the fuzzy :class:`~recommender.search.TitleIndex`,
    the slow part: ``match(..., suggest=False)`` skips them. Build once per catalogue and reuse
    it (pass it to :func:`import_ratings`): building normalises every title.
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
        self._exact: dict[str, list[int]] = {}  # every normalised form of a title
        self._by_main: dict[str, list[int]] = {}  # forms of main titles ("star wars")
        by_year: dict[int, list[tuple[int, str, int]]] = {}  # typo candidates
        for movie, title in zip(ids, titles, strict=True):
            variants = _variants(title)
            forms = _forms(variants)
            for form in forms:
                self._exact.setdefault(form, []).append(movie)
            for form in _forms(_mains(variants)):
                self._by_main.setdefault(form, []).append(movie)
            year = self._years[movie]
            if year is not None:
                by_year.setdefault(year, []).extend(
                    (len(f), f, movie) for f in forms if len(f) >= MIN_FUZZY_CHARS)
        # Per year, the candidates of that year ±1, by length: one look-up per query form.
        self._fuzzy: dict[int, tuple[list[int], list[str], list[int]]] = {}
        for year in {y + d for y in by_year for d in range(-YEAR_TOLERANCE, YEAR_TOLERANCE + 1)}:
            rows = sorted(row for d in range(-YEAR_TOLERANCE, YEAR_TOLERANCE + 1)
                          for row in by_year.get(year + d, ()))
            self._fuzzy[year] = ([n for n, _, _ in rows], [f for _, f, _ in rows],
                                 [m for _, _, m in rows])
        self._query_forms: dict[str, tuple[set[str], set[str]]] = {}

    def label(self, movie_id: int) -> str:
        """ "The Matrix (1999)": display form of a catalogue movie."""
        title = self._titles.get(movie_id, "")
        name = display_title(YEAR_SUFFIX.sub("", title).strip()) or f"movie {movie_id}"
        year = self._years.get(movie_id)
        return f"{name} ({year})" if year else name

    def match(self, title: str, year: int | None, *, suggest: bool = True) -> TitleMatch:
        """The movie for ``title`` and ``year``, or None with the reason and (if ``suggest``)
        suggestions."""
        title = (title or "").strip()
        if not title:
            return TitleMatch(None, "no title", ())
        if year is None:
            return TitleMatch(None, "no year, so a match by title cannot be confirmed",
                              self.suggest(title, None) if suggest else ())
        query_forms, query_mains = self._forms_of(title)
        exact = {m for form in query_forms for m in self._exact.get(form, ())}
        best = self._closest_year(exact, year)
        if best is not None:
            return TitleMatch(best, "", ())
        # The query is a movie's main title ("Star Wars"), or the other way round.
        agreeing = {m for form in query_forms for m in self._by_main.get(form, ())}
        agreeing.update(m for form in query_mains for m in self._exact.get(form, ()))
        best = self._closest_year(agreeing | self._typos(query_forms, year), year)
        if best is not None:
            return TitleMatch(best, "", ())
        suggestions = self.suggest(title, year) if suggest else ()
        if agreeing or exact:
            other = self.label(min(agreeing or exact))
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

    def _forms_of(self, title: str) -> tuple[set[str], set[str]]:
        """Normalised forms of a query title and of its main title (remembered: files repeat
        titles, and normalising is most of the cost of a title found at once)."""
        found = self._query_forms.get(title)
        if found is None:
            variants = _variants(title)
            found = (_forms(variants), _forms(_mains(variants)))
            if len(self._query_forms) >= _QUERY_CACHE:
                self._query_forms.clear()
            self._query_forms[title] = found
        return found

    def _typos(self, query_forms: set[str], year: int) -> set[int]:
        """Movies of ``year`` ±1 with a title form :data:`TITLE_MATCH_RATIO` similar.

        A typo is only tolerated in longer titles ("Alien" and "Aliens" are two films), and
        never in a number ("Kill Bill: Vol. 1" and "Vol. 2" are a year apart).
        """
        found: set[int] = set()
        for query in query_forms:
            if len(query) < MIN_FUZZY_CHARS:
                continue
            lengths, forms, movies = self._fuzzy.get(year, ([], [], []))
            shortest, longest = (len(query) * f for f in _LENGTH_RANGE)
            lo, hi = bisect_left(lengths, shortest), bisect_right(lengths, longest)
            if lo == hi:
                continue
            hits = process.extract(query, forms[lo:hi], scorer=fuzz.ratio,
                                   score_cutoff=TITLE_MATCH_RATIO, limit=None)
            numbers = _numbers(query)
            found.update(movies[lo + i] for form, _, i in hits if _numbers(form) == numbers)
        return found

    def _closest_year(self, movies: Iterable[int], year: int) -> int | None:
        """The movie whose year is nearest ``year`` (within the tolerance); ties: lowest id."""
        scored = []
        for movie in movies:
            their = self._years.get(movie)
            if their is not None and abs(their - year) <= YEAR_TOLERANCE:
                scored.append((abs(their - year), movie))
        return min(scored)[1] if scored else None


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
    forms = {normalise(v) for v in variants}
    # Joining changes nothing without a joiner (NFKD can make one out of other characters).
    forms.update(normalise(v, join=True) for v in variants
                 if not v.isascii() or _JOINER.search(v))
    forms.discard("")
    return forms
