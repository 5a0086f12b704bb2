"""Import ratings from the files people have (IMDb, Letterboxd, MovieLens CSV) and export them.

:func:`import_ratings` reads a file and returns an :class:`ImportReport`; it changes nothing,
so the app can show the report and let the visitor confirm before adding
``report.ratings`` with :meth:`ProfileStore.add_many <recommender.profiles.ProfileStore.add_many>`
(one transaction: an import applies completely or not at all).

Formats, detected from the header (columns are read by name, in any order, any case):

* ``imdb``: IMDb "Your Ratings" export (Const, Your Rating, Title, Year, Title Type, Date
  Rated, ...). ``Const`` (tt id) is matched to ``links.imdbId``; ratings 1-10 become 0.5-5.
  A row whose tt id is in the catalogue is matched whatever its Title Type (MovieLens lists a
  few TV films and mini-series); other TV series, episodes, games and podcasts are reported
  as skipped. Without links, rows are matched by title and year.
* ``letterboxd``: Letterboxd ``ratings.csv`` or ``diary.csv`` (Date, Name, Year, Letterboxd
  URI, Rating 0.5-5), matched by title and year (see :class:`TitleMatcher`).
* ``movielens``: ``movieId,rating`` (userId and timestamp optional; one user only).
* ``export``: this app's own export (title, year, movieId, imdbId, rating); matched by movieId,
  else imdbId, else title and year, so an export also moves between MovieLens versions.

Hard input raises :class:`RatingsImportError` naming the problem: over 5 MB, empty, binary
(ZIP, Excel, images, NUL bytes, ...), not text in UTF-8 / UTF-16 (with BOM) / Windows-1252 /
Latin-1, no recognisable columns, or no row with a valid rating. A row with a bad rating, or
one that matches no movie, only lands in ``report.unmatched`` with its reason; the rest is
imported. When a movie appears twice the latest rating wins: by the file's date column
when it has one (rows without a date count as older), else by row order.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import IO, NamedTuple

import pandas as pd
from rapidfuzz import fuzz

from recommender.data import MAX_RATING, MIN_RATING, display_title
from recommender.profiles import check_ratings
from recommender.search import TitleIndex, normalise, title_parts

__all__ = [
    "FORMATS",
    "MAX_IMPORT_BYTES",
    "ImportReport",
    "RatingsImportError",
    "TitleMatch",
    "TitleMatcher",
    "UnmatchedRow",
    "export_ratings",
    "import_ratings",
]

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_SUGGESTIONS = 3
YEAR_TOLERANCE = 1  # Letterboxd and MovieLens disagree by a year on festival vs release dates
TITLE_MATCH_RATIO = 90.0  # normalised titles must be this similar (one typo in ten letters)
MIN_FUZZY_CHARS = 10  # shorter titles must match exactly (after normalising)
SEARCH_CANDIDATES = 10
EXPORT_COLUMNS = ("title", "year", "movieId", "imdbId", "rating")

FORMATS = {
    "imdb": "IMDb ratings export",
    "letterboxd": "Letterboxd ratings",
    "movielens": "MovieLens-style CSV",
    "export": "export from this app",
}
_EXPECTED = (
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
_MAGIC = (  # (leading bytes, what the file is, what to do)
    (b"PK\x03\x04", "a ZIP archive", "unzip it and upload the CSV file inside"),
    (b"PK\x05\x06", "an empty ZIP archive", "upload the CSV file itself"),
    (b"\x1f\x8b", "a gzip archive", "decompress it and upload the CSV file"),
    (b"%PDF", "a PDF document", "upload the CSV export instead"),
    (b"\xd0\xcf\x11\xe0", "an old Office document", "save it as CSV (UTF-8)"),
    (b"SQLite format 3\x00", "an SQLite database", "upload a CSV export instead"),
    (b"\x89PNG", "a PNG image", "upload the CSV export instead"),
    (b"\xff\xd8\xff", "a JPEG image", "upload the CSV export instead"),
    (b"GIF8", "a GIF image", "upload the CSV export instead"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "extract it and upload the CSV file inside"),
    (b"Rar!", "a RAR archive", "extract it and upload the CSV file inside"),
    (b"BZh", "a bzip2 archive", "decompress it and upload the CSV file"),
    (b"\xfd7zXZ\x00", "an xz archive", "decompress it and upload the CSV file"),
)
_IMDB_ID = re.compile(r"^(?:tt)?0*(\d{1,10})$", re.IGNORECASE)
_YEAR_SUFFIX = re.compile(r"\s*\((\d{4})(?:[-–]\d{0,4})?\)\s*$")
_SUBTITLE = re.compile(r":|\s[-–]\s")
_SPREADSHEET_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Control characters other than tab and line breaks (C0, DEL, C1), for str.translate.
_CONTROLS = dict.fromkeys(c for c in [*range(32), *range(127, 160)] if chr(c) not in "\t\n\r")
_ENCODING_NAMES = {"cp1252": "Windows-1252 (Latin-1)", "latin-1": "Latin-1", "utf-16": "UTF-16"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class RatingsImportError(ValueError):
    """The file cannot be imported at all; the message says why, for the visitor to read."""


@dataclass(frozen=True)
class UnmatchedRow:
    """A row that added no rating. ``line`` is its line in the file (the header is line 1);
    ``rating`` is on the 0.5-5 scale when the file's rating was valid, so the app can apply
    it to a suggestion the visitor picks; ``suggestions`` are (movieId, "Title (year)")."""

    line: int
    title: str
    year: int | None
    rating: float | None
    reason: str
    suggestions: tuple[tuple[int, str], ...] = ()


@dataclass
class ImportReport:
    """What :func:`import_ratings` found. Nothing is saved until the app adds ``ratings``.

    ``rows_read``: data rows (blank lines excluded) = ``matched`` + ``unmatched_count``.
    ``matched``: rows that gave a movie and a valid rating, duplicates included;
    ``duplicates``: of those, rows superseded by a later rating of the same movie, so
    ``len(ratings) == matched - duplicates``.
    """

    format: str
    ratings: dict[int, float]
    unmatched: list[UnmatchedRow]
    rows_read: int
    matched: int
    duplicates: int
    messages: list[str] = field(default_factory=list)
    encoding: str = "utf-8"

    @property
    def format_name(self) -> str:
        """Human-readable name of the detected format."""
        return FORMATS[self.format]

    @property
    def unmatched_count(self) -> int:
        return len(self.unmatched)

    def unmatched_frame(self) -> pd.DataFrame:
        """``unmatched`` as a table (line, title, year, rating, reason, suggestions)."""
        columns = ["line", "title", "year", "rating", "reason", "suggestions"]
        rows = [
            (u.line, u.title, u.year, u.rating, u.reason, "; ".join(t for _, t in u.suggestions))
            for u in self.unmatched
        ]
        frame = pd.DataFrame(rows, columns=columns)
        frame["year"] = frame["year"].astype("Int16")
        return frame


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
            years = pd.to_numeric(pd.Series(titles).str.extract(_YEAR_SUFFIX)[0], errors="coerce")
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
        name = display_title(_YEAR_SUFFIX.sub("", title).strip()) or f"movie {movie_id}"
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
        suggestions = tuple((m, self.label(m)) for m in candidates[:MAX_SUGGESTIONS])
        if agreeing or exact:
            other = self.label(next(iter(agreeing or sorted(exact))))
            reason = f"the catalogue has {other}, but not from {year}±{YEAR_TOLERANCE}"
        else:
            reason = "no movie with this title and year in the catalogue"
        return TitleMatch(None, reason, suggestions)

    def suggest(self, title: str, year: int | None) -> tuple[tuple[int, str], ...]:
        """Up to :data:`MAX_SUGGESTIONS` likely movies, as (movieId, "Title (year)")."""
        query = f"{title} {year}" if year else title
        found = self._index.search(query, MAX_SUGGESTIONS)["movieId"].astype("int64").tolist()
        return tuple((m, self.label(m)) for m in found)

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
    whole = _YEAR_SUFFIX.sub("", title).strip()
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


# --- import ------------------------------------------------------------------------------


FileSource = str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes]


def import_ratings(
    file: FileSource,
    movies: pd.DataFrame,
    links: pd.DataFrame | None = None,
    *,
    matcher: TitleMatcher | None = None,
) -> ImportReport:
    """Read a ratings file and match it to the catalogue; changes nothing.

    ``file``: a path, the file's bytes, or a binary file-like object (e.g. Streamlit's
    UploadedFile, read from the start). ``movies`` and ``links`` are
    :func:`~recommender.data.load_movielens`'s frames (``links`` matches IMDb ids; without it
    IMDb rows are matched by title). ``matcher``: a prebuilt :class:`TitleMatcher` for
    ``movies``, to skip building one (only title matching needs it).
    Raises :class:`RatingsImportError` when the file cannot be imported at all.
    """
    raw = _read_source(file)
    _refuse_binary(raw)
    text, encoding = _decode(raw)
    if not text.strip():
        raise RatingsImportError(f"The file is empty. Expected {_EXPECTED}.")
    delimiter, fmt, columns = _detect(text)
    records = _records(text, delimiter)
    if not records:
        raise RatingsImportError(
            f"The file has column headers ({FORMATS[fmt]}) but no rows of ratings."
        )

    context = _Context(movies, links, matcher)
    reader = {"imdb": _imdb_row, "letterboxd": _letterboxd_row, "movielens": _movielens_row,
              "export": _export_row}[fmt]
    if fmt == "movielens":
        _refuse_many_users(records, columns)

    matches: list[_Match] = []
    unmatched: list[UnmatchedRow] = []
    valid_ratings = 0
    for line, row in records:
        outcome = reader(context, columns, line, row)
        if isinstance(outcome, _Match):
            matches.append(outcome)
            valid_ratings += 1
        else:
            unmatched.append(outcome)
            valid_ratings += outcome.rating is not None
    if valid_ratings == 0:
        examples = "; ".join(f"line {u.line}: {u.reason}" for u in unmatched[:3])
        raise RatingsImportError(
            f"No row of this {FORMATS[fmt]} has a valid rating ({examples}). Nothing was "
            "imported."
        )

    # Latest wins: order by the date column (rows without one first), then by row order.
    matches.sort(key=lambda m: (m.when is not None, m.when or 0.0, m.line))
    ratings = {m.movie_id: m.rating for m in matches}
    report = ImportReport(
        format=fmt,
        ratings=ratings,
        unmatched=unmatched,
        rows_read=len(records),
        matched=len(matches),
        duplicates=len(matches) - len(ratings),
        encoding=encoding,
    )
    report.messages = _messages(report, columns)
    return report


class _Context:
    """The catalogue, with look-ups built on first use (a MovieLens file needs no title index)."""

    def __init__(
        self, movies: pd.DataFrame, links: pd.DataFrame | None, matcher: TitleMatcher | None
    ) -> None:
        self.movies, self.links, self._matcher = movies, links, matcher

    def matcher(self) -> TitleMatcher:
        if self._matcher is None:
            self._matcher = TitleMatcher(self.movies)
        return self._matcher

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
class _Match:
    line: int
    movie_id: int
    rating: float
    when: float | None


def _read_source(file: FileSource) -> bytes:
    if isinstance(file, bytes | bytearray | memoryview):
        data = bytes(file)
    elif isinstance(file, str | os.PathLike):
        try:
            size = os.stat(file).st_size
            if size > MAX_IMPORT_BYTES:
                raise RatingsImportError(_too_big(size))
            with open(file, "rb") as handle:
                data = handle.read(MAX_IMPORT_BYTES + 1)
        except OSError as error:
            raise RatingsImportError(f"Cannot read {os.fspath(file)}: {error.strerror}") \
                from error
    elif hasattr(file, "read"):
        if getattr(file, "seekable", lambda: False)():
            file.seek(0)  # an uploaded file may have been read before
        data = file.read(MAX_IMPORT_BYTES + 1)
        if isinstance(data, str):  # a text stream: fine, it is text already
            data = data.encode("utf-8")
        data = bytes(data)
        if len(data) > MAX_IMPORT_BYTES:
            size = getattr(file, "size", None)
            raise RatingsImportError(_too_big(size if isinstance(size, int) else None))
    else:
        raise TypeError(f"import_ratings needs a path, bytes or a binary file, not {type(file)}")
    if len(data) > MAX_IMPORT_BYTES:
        raise RatingsImportError(_too_big(len(data)))
    return data


def _too_big(size: int | None) -> str:
    shown = f"{size / 1024 / 1024:.1f} MB" if size else f"over {MAX_IMPORT_BYTES // 2**20} MB"
    return (
        f"The file is {shown}; the limit is {MAX_IMPORT_BYTES // 2**20} MB. Rating exports "
        "are far smaller: check that this is the ratings file."
    )


def _refuse_binary(raw: bytes) -> None:
    for magic, what, advice in _MAGIC:
        if raw.startswith(magic):
            if magic == b"PK\x03\x04" and b"xl/" in raw[:4096]:
                what, advice = "an Excel workbook", "save it as CSV (UTF-8) and upload that"
            raise RatingsImportError(f"This is {what}, not a CSV file: {advice}.")
    if b"\x00" in raw and not raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise RatingsImportError(
            "This is not a CSV text file (it contains binary data). If it is UTF-16 text, "
            "save it as CSV UTF-8."
        )


def _decode(raw: bytes) -> tuple[str, str]:
    """Text and the encoding used: UTF-16 (with BOM), UTF-8 (BOM or not), else Windows-1252,
    else Latin-1. Latin-1 decodes any bytes, so the text is then checked for control
    characters, which no ratings file has but binary data is full of."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text, encoding = raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise RatingsImportError(
                "The file starts like UTF-16 text but is not valid UTF-16; save it as CSV UTF-8."
            ) from None
    else:
        try:
            text, encoding = raw.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError:
            try:
                text, encoding = raw.decode("cp1252"), "cp1252"
            except UnicodeDecodeError:
                text, encoding = raw.decode("latin-1"), "latin-1"
    text = text.lstrip("\ufeff")
    controls = len(text) - len(text.translate(_CONTROLS))
    if controls > max(2, len(text) // 100):
        raise RatingsImportError(
            "The file is not readable text (not UTF-8, Windows-1252 or Latin-1; it looks like "
            "binary data). Upload the CSV export itself, saved as CSV UTF-8."
        )
    return text, encoding


def _column_key(name: str) -> str:
    return " ".join(name.replace("\ufeff", "").split()).casefold()


def _detect(text: str) -> tuple[str, str, dict[str, int]]:
    """(delimiter, format, column name -> index) from the header row."""
    found: list[str] = []
    for delimiter in (",", ";", "\t"):
        header = _first_record(text, delimiter)
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
        f"Unrecognised columns ({shown or 'none'}). Expected {_EXPECTED}."
    )


def _format_of(columns: Mapping[str, int]) -> str | None:
    if {"const", "your rating"} <= columns.keys():
        return "imdb"
    if {"name", "rating"} <= columns.keys() and ({"year", "letterboxd uri"} & columns.keys()):
        return "letterboxd"
    if {"movieid", "rating"} <= columns.keys():
        return "export" if {"title", "imdbid"} <= columns.keys() else "movielens"
    return None


def _first_record(text: str, delimiter: str) -> list[str]:
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            if any(cell.strip() for cell in row):
                return row
    except csv.Error:
        return []
    return []


def _records(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank data row."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, list[str]]] = []
    header_seen = False
    try:
        start = 1
        for row in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            if not header_seen:
                header_seen = True
                continue
            records.append((line, row))
    except csv.Error as error:
        raise RatingsImportError(f"Malformed CSV at line {reader.line_num}: {error}.") from None
    return records


def _refuse_many_users(records: list[tuple[int, list[str]]], columns: dict[str, int]) -> None:
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


def _year(text: str) -> int | None:
    value = _number(text)
    return int(value) if value is not None and value % 1 == 0 and 1800 <= value <= 2200 else None


def _five_star(text: str) -> tuple[float | None, str]:
    """A 0.5-5 rating in half steps, or None and the reason."""
    value = _number(text)
    if not text:
        return None, "no rating"
    if value is None:
        return None, f"rating {text!r} is not a number"
    if not (MIN_RATING <= value <= MAX_RATING and value * 2 % 1 == 0):
        return None, f"rating {text} is outside {MIN_RATING:g}-{MAX_RATING:g} in half steps"
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
    """Undo :func:`_spreadsheet_safe` on our own export."""
    return text[1:] if len(text) > 1 and text[0] == "'" and text[1] in "=+-@\t\r" else text


def _imdb_row(
    ctx: _Context, columns: dict[str, int], line: int, row: list[str]
) -> _Match | UnmatchedRow:
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
        return _Match(line, movie, rating, when)
    kind = _NOT_FILMS.get(_type_key(_cell(row, columns, "title type")))
    if kind:
        return UnmatchedRow(line, title, year, rating, f"{kind}, not a movie: skipped")
    if not ctx.imdb:  # no links to go by: match on title and year like Letterboxd
        found = ctx.matcher().match(title, year)
        if found.movie_id is not None:
            return _Match(line, found.movie_id, rating, when)
        return UnmatchedRow(line, title, year, rating, found.reason, found.suggestions)
    reason = (f"IMDb id {const} is not in the catalogue" if match
              else f"{const!r} is not an IMDb id (tt1234567)")
    suggestions = ctx.matcher().suggest(title, year) if title else ()
    return UnmatchedRow(line, title, year, rating, reason, suggestions)


def _type_key(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.casefold())


def _letterboxd_row(
    ctx: _Context, columns: dict[str, int], line: int, row: list[str]
) -> _Match | UnmatchedRow:
    title, year = _cell(row, columns, "name"), _year(_cell(row, columns, "year"))
    rating, problem = _five_star(_cell(row, columns, "rating"))
    if rating is None:
        return UnmatchedRow(line, title, year, None, problem)
    found = ctx.matcher().match(title, year)
    if found.movie_id is None:
        return UnmatchedRow(line, title, year, rating, found.reason, found.suggestions)
    return _Match(line, found.movie_id, rating, _when(_cell(row, columns, "date")))


def _movielens_row(
    ctx: _Context, columns: dict[str, int], line: int, row: list[str]
) -> _Match | UnmatchedRow:
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
    return _Match(line, movie, rating, _when(_cell(row, columns, "timestamp")))


def _export_row(
    ctx: _Context, columns: dict[str, int], line: int, row: list[str]
) -> _Match | UnmatchedRow:
    title = _unescape(_cell(row, columns, "title"))
    year = _year(_cell(row, columns, "year"))
    rating, problem = _five_star(_cell(row, columns, "rating"))
    if rating is None:
        return UnmatchedRow(line, title, year, None, problem)
    number = _number(_cell(row, columns, "movieid"))
    if number is not None and number % 1 == 0 and int(number) in ctx.movie_ids:
        return _Match(line, int(number), rating, None)
    imdb = _IMDB_ID.match(_cell(row, columns, "imdbid"))
    if imdb and (movie := ctx.imdb.get(int(imdb[1]))) is not None:
        return _Match(line, movie, rating, None)
    found = ctx.matcher().match(title, year)
    if found.movie_id is not None:
        return _Match(line, found.movie_id, rating, None)
    return UnmatchedRow(line, title, year, rating, found.reason, found.suggestions)


def _messages(report: ImportReport, columns: Mapping[str, int]) -> list[str]:
    messages = [
        f"Read {report.rows_read} rows as {FORMATS[report.format]}: {len(report.ratings)} "
        f"movies to add, {report.unmatched_count} rows not matched."
    ]
    if report.encoding != "utf-8":
        name = _ENCODING_NAMES.get(report.encoding, report.encoding)
        messages.append(f"The file is not UTF-8; it was read as {name}.")
    if report.format == "imdb":
        messages.append("IMDb ratings 1-10 were halved to the 0.5-5 scale (8 -> 4.0).")
    if report.duplicates:
        date_column = {"imdb": "date rated", "letterboxd": "date", "movielens": "timestamp"}
        by = ("by date" if date_column.get(report.format) in columns
              else "by order in the file")
        messages.append(
            f"{report.duplicates} duplicate {_plural(report.duplicates, 'rating')} of the same "
            f"movie: the latest rating wins ({by})."
        )
    reasons: dict[str, int] = {}
    for row in report.unmatched:
        key = ("not a movie" if row.reason.endswith("not a movie: skipped")
               else "no rating" if row.rating is None else "")
        if key:
            reasons[key] = reasons.get(key, 0) + 1
    if reasons.get("not a movie"):
        n = reasons["not a movie"]
        messages.append(f"{n} {_plural(n, 'row')} for TV series, episodes or games skipped.")
    if reasons.get("no rating"):
        n = reasons["no rating"]
        messages.append(f"{n} {_plural(n, 'row')} without a valid rating skipped.")
    return messages


def _plural(n: int, word: str) -> str:
    return word if n == 1 else f"{word}s"


# --- export ------------------------------------------------------------------------------


def export_ratings(
    ratings: Mapping[int, float],
    movies: pd.DataFrame,
    links: pd.DataFrame | None = None,
) -> bytes:
    """A profile as UTF-8 CSV: title, year, movieId, imdbId, rating (in ``ratings`` order).

    Text that a spreadsheet would run as a formula (starting with = + - @, tab or CR) gets a
    leading single quote; :func:`import_ratings` removes it again, so re-importing an export
    gives the same ratings. Movies missing from ``movies`` keep their row, with empty title.
    """
    clean = check_ratings(ratings)
    wanted = movies[movies["movieId"].isin(list(clean))]
    titles: dict[int, str] = {}
    years: dict[int, str] = {}
    has_display = "display_title" in wanted
    for row in wanted.itertuples(index=False):
        movie = int(row.movieId)
        raw = "" if pd.isna(row.title) else str(row.title)
        name = str(row.display_title) if has_display and not pd.isna(row.display_title) else ""
        titles[movie] = name or display_title(_YEAR_SUFFIX.sub("", raw).strip())
        year = getattr(row, "year", None)
        if year is None or pd.isna(year):
            found = _YEAR_SUFFIX.search(raw)
            year = found[1] if found else None
        years[movie] = "" if year is None else str(int(year))
    imdb: dict[int, str] = {}
    if links is not None and len(links):
        subset = links[links["movieId"].isin(list(clean))]
        for movie, imdb_id in zip(subset["movieId"].tolist(), subset["imdbId"].tolist(),
                                  strict=True):
            if not pd.isna(imdb_id):
                imdb.setdefault(int(movie), str(imdb_id))

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for movie, rating in clean.items():
        writer.writerow([
            _spreadsheet_safe(titles.get(movie, "")),
            years.get(movie, ""),
            movie,
            _spreadsheet_safe(imdb.get(movie, "")),
            f"{rating:.1f}",
        ])
    return out.getvalue().encode("utf-8")


def _spreadsheet_safe(text: str) -> str:
    """Prefix a quote so Excel / LibreOffice / Sheets show the text instead of running it."""
    return "'" + text if text.startswith(_SPREADSHEET_TRIGGERS) else text
