"""The formats: detecting one from the header, and reading each row of it into a rating."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property, lru_cache

import numpy as np
import pandas as pd

from recommender.imports.matching import TitleMatch, TitleMatcher
from recommender.imports.reading import first_record
from recommender.imports.report import RatingsImportError, UnmatchedRow
from recommender.ratings import RATING_RULE, valid_ratings

EXPORT_COLUMNS = ("title", "year", "movieId", "imdbId", "rating")
EXPECTED = (
    "an IMDb ratings export (Const, Your Rating, Title, Year), a Letterboxd ratings.csv "
    "(Date, Name, Year, Letterboxd URI, Rating), a MovieLens-style CSV (movieId, rating) or "
    "a file exported from this app (title, year, movieId, imdbId, rating)"
)
# IMDb "Title Type" values, old ("tvSeries") and new ("TV Series") spellings, as normalised by
# _type_key, that are never films.
_NOT_FILMS = {
    "tvseries": "TV series",
    "tvminiseries": "TV mini-series",
    "tvepisode": "TV episode",
    "videogame": "video game",
    "podcastseries": "podcast",
    "podcastepisode": "podcast episode",
    "musicvideo": "music video",
}
_IMDB_ID = re.compile(r"^(?:tt)?0*(\d{1,10})$", re.IGNORECASE)
SPREADSHEET_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Suggestions cost a fuzzy search of the whole catalogue (milliseconds each): only the first
# rows without a match get them, so that a file of thousands of unknown titles stays fast.
MAX_SUGGESTED_ROWS = 100


class Catalogue:
    """The catalogue of one import, with look-ups built on first use (a MovieLens file needs
    no title index) and the file's allowance of suggestions."""

    def __init__(
        self, movies: pd.DataFrame, links: pd.DataFrame | None, matcher: TitleMatcher | None
    ) -> None:
        self.movies, self.links, self._matcher = movies, links, matcher
        self.suggestions_left = MAX_SUGGESTED_ROWS

    def matcher(self) -> TitleMatcher:
        if self._matcher is None:
            self._matcher = TitleMatcher(self.movies)
        return self._matcher

    def match(self, title: str, year: int | None) -> TitleMatch:
        """:meth:`TitleMatcher.match`, with suggestions while the file's allowance lasts."""
        suggest = self.suggestions_left > 0
        found = self.matcher().match(title, year, suggest=suggest)
        self.suggestions_left -= suggest and found.movie_id is None
        return found

    def suggest(self, title: str, year: int | None) -> tuple[tuple[int, str], ...]:
        """:meth:`TitleMatcher.suggest` while the file's allowance lasts, else nothing."""
        if not title or self.suggestions_left <= 0:
            return ()
        self.suggestions_left -= 1
        return self.matcher().suggest(title, year)

    @cached_property
    def movie_ids(self) -> set[int]:
        return set(self.movies["movieId"].astype("int64").tolist())

    @cached_property
    def imdb(self) -> dict[int, int]:
        """IMDb number -> movieId (the first movie, should links list one twice)."""
        found: dict[int, int] = {}
        if self.links is not None and len(self.links):
            numbers = pd.to_numeric(self.links["imdbId"], errors="coerce").tolist()
            for imdb, movie in zip(numbers, self.links["movieId"].tolist(), strict=True):
                if not pd.isna(imdb):
                    found.setdefault(int(imdb), int(movie))
        return found


@dataclass(frozen=True)
class Match:
    """A row that gave a rating of a catalogue movie; ``when`` orders duplicates."""

    line: int
    movie_id: int
    rating: float
    when: float | None


def _column_key(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").split()).casefold()


def detect(text: str) -> tuple[str, str, dict[str, int]]:
    """(delimiter, format, column name -> index) from the header row."""
    found: list[str] = []
    for delimiter in (",", ";", "\t"):
        header = first_record(text, delimiter)
        columns: dict[str, int] = {}
        for i, name in enumerate(header):
            columns.setdefault(_column_key(name), i)
        fmt = _format_of(columns)
        if fmt:
            return delimiter, fmt, columns
        if delimiter == ",":
            found = header
    keys = {_column_key(c) for c in found}
    if "const" in keys:
        raise RatingsImportError(
            "This IMDb file has no 'Your Rating' column (a watchlist or list export?). Export "
            "your ratings from IMDb: Your Ratings > Export."
        )
    if "name" in keys and "letterboxd uri" in keys:
        raise RatingsImportError(
            "This Letterboxd file has no 'Rating' column (watched.csv or watchlist.csv?). "
            "Upload ratings.csv from the Letterboxd export."
        )
    shown = ", ".join(repr(c[:40]) for c in found[:10]) + (" ..." if len(found) > 10 else "")
    raise RatingsImportError(
        f"Unrecognised columns ({shown or 'none'}). Expected {EXPECTED}."
    )


def _format_of(columns: Mapping[str, int]) -> str | None:
    if {"const", "your rating"} <= columns.keys():
        return "imdb"
    if {"name", "rating"} <= columns.keys() and ({"year", "letterboxd uri"} & columns.keys()):
        return "letterboxd"
    if {"movieid", "rating"} <= columns.keys():
        return "export" if {"title", "imdbid"} <= columns.keys() else "movielens"
    return None


def refuse_many_users(records: list[tuple[int, list[str]]], columns: dict[str, int]) -> None:
    """A MovieLens-style file must hold one person's ratings, not a whole ratings.csv."""
    if "userid" not in columns:
        return
    users = {_cell(row, columns, "userid") for _, row in records} - {""}
    if len(users) > 1:
        raise RatingsImportError(
            f"This file holds the ratings of {len(users)} users (a whole MovieLens ratings "
            "file?). Import one person's ratings: movieId,rating."
        )


def _cell(row: list[str], columns: Mapping[str, int], name: str) -> str:
    i = columns.get(name)
    return row[i].strip() if i is not None and i < len(row) else ""


def _number(text: str) -> float | None:
    try:
        value = float(text.replace(",", ".")) if text else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


@lru_cache(maxsize=1024)  # a file has few distinct years and ratings; rows have many
def _year(text: str) -> int | None:
    value = _number(text)
    return int(value) if value is not None and value % 1 == 0 and 1800 <= value <= 2200 else None


@lru_cache(maxsize=1024)
def _five_star(text: str) -> tuple[float | None, str]:
    """A valid rating (:mod:`recommender.ratings`), or None and the reason."""
    value = _number(text)
    if not text:
        return None, "no rating"
    if value is None:
        return None, f"rating {text!r} is not a number"
    if not valid_ratings(np.array([value]))[0]:
        return None, f"rating {text} is not {RATING_RULE}"
    return value, ""


def _when(text: str) -> float | None:
    """A sortable time from an ISO date ("2024-01-31", with or without a time) or a Unix
    timestamp; None when empty or unreadable."""
    if not text:
        return None
    number = _number(text)
    if number is not None and "-" not in text:
        return number
    try:
        moment = datetime.fromisoformat(text.replace("/", "-"))
    except ValueError:
        return None
    if moment.tzinfo is None:  # dates in one file share a zone; UTC avoids local-time quirks
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH).total_seconds()


def _unescape(text: str) -> str:
    """Undo the export's spreadsheet quoting (:mod:`recommender.imports.export`)."""
    return text[1:] if len(text) > 1 and text[0] == "'" and text[1] in "=+-@\t\r" else text


def _imdb_row(
    ctx: Catalogue, columns: dict[str, int], line: int, row: list[str]
) -> Match | UnmatchedRow:
    title, year = _cell(row, columns, "title"), _year(_cell(row, columns, "year"))
    raw_rating = _cell(row, columns, "your rating")
    value = _number(raw_rating)
    if value is None or value % 1 != 0 or not 1 <= value <= 10:
        reason = "no rating" if not raw_rating else (
            f"rating {raw_rating!r} is not a whole number from 1 to 10")
        return UnmatchedRow(line, title, year, None, reason)
    rating = value / 2  # IMDb's 1-10 -> 0.5-5
    const = _cell(row, columns, "const")
    when = _when(_cell(row, columns, "date rated"))
    match = _IMDB_ID.match(const)
    if match and (movie := ctx.imdb.get(int(match[1]))) is not None:
        return Match(line, movie, rating, when)
    kind = _NOT_FILMS.get(_type_key(_cell(row, columns, "title type")))
    if kind:
        return UnmatchedRow(line, title, year, rating, f"{kind}, not a movie: skipped")
    if not ctx.imdb:  # no links to go by: match on title and year like Letterboxd
        found = ctx.match(title, year)
        if found.movie_id is not None:
            return Match(line, found.movie_id, rating, when)
        return UnmatchedRow(line, title, year, rating, found.reason, found.suggestions)
    reason = (f"IMDb id {const} is not in the catalogue" if match
              else f"{const!r} is not an IMDb id (tt1234567)")
    suggestions = ctx.suggest(title, year)
    return UnmatchedRow(line, title, year, rating, reason, suggestions)


def _type_key(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.casefold())


def _letterboxd_row(
    ctx: Catalogue, columns: dict[str, int], line: int, row: list[str]
) -> Match | UnmatchedRow:
    title, year = _cell(row, columns, "name"), _year(_cell(row, columns, "year"))
    rating, problem = _five_star(_cell(row, columns, "rating"))
    if rating is None:
        return UnmatchedRow(line, title, year, None, problem)
    found = ctx.match(title, year)
    if found.movie_id is None:
        return UnmatchedRow(line, title, year, rating, found.reason, found.suggestions)
    return Match(line, found.movie_id, rating, _when(_cell(row, columns, "date")))


def _movielens_row(
    ctx: Catalogue, columns: dict[str, int], line: int, row: list[str]
) -> Match | UnmatchedRow:
    raw_id = _cell(row, columns, "movieid")
    rating, problem = _five_star(_cell(row, columns, "rating"))
    number = _number(raw_id)
    movie = int(number) if number is not None and number % 1 == 0 else None
    label = f"movieId {raw_id}"
    if rating is None:
        return UnmatchedRow(line, label, None, None, problem)
    if movie is None:
        return UnmatchedRow(line, label, None, rating, f"movieId {raw_id!r} is not a number")
    if movie not in ctx.movie_ids:
        return UnmatchedRow(line, label, None, rating, "movieId is not in the catalogue")
    return Match(line, movie, rating, _when(_cell(row, columns, "timestamp")))


def _export_row(
    ctx: Catalogue, columns: dict[str, int], line: int, row: list[str]
) -> Match | UnmatchedRow:
    title = _unescape(_cell(row, columns, "title"))
    year = _year(_cell(row, columns, "year"))
    rating, problem = _five_star(_cell(row, columns, "rating"))
    if rating is None:
        return UnmatchedRow(line, title, year, None, problem)
    number = _number(_cell(row, columns, "movieid"))
    if number is not None and number % 1 == 0 and int(number) in ctx.movie_ids:
        return Match(line, int(number), rating, None)
    imdb = _IMDB_ID.match(_cell(row, columns, "imdbid"))
    if imdb and (movie := ctx.imdb.get(int(imdb[1]))) is not None:
        return Match(line, movie, rating, None)
    found = ctx.match(title, year)
    if found.movie_id is not None:
        return Match(line, found.movie_id, rating, None)
    return UnmatchedRow(line, title, year, rating, found.reason, found.suggestions)


RowReader = Callable[[Catalogue, dict[str, int], int, list[str]], Match | UnmatchedRow]
ROW_READERS: dict[str, RowReader] = {
    "imdb": _imdb_row,
    "letterboxd": _letterboxd_row,
    "movielens": _movielens_row,
    "export": _export_row,
}
