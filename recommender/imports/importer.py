"""Reading a ratings file into an :class:`ImportReport`: :func:`import_ratings`."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from recommender.imports.formats import (
    EXPECTED,
    ROW_READERS,
    Catalogue,
    Match,
    detect,
    refuse_many_users,
)
from recommender.imports.matching import TitleMatcher
from recommender.imports.reading import FileSource, csv_rows, decode, read_source, refuse_binary
from recommender.imports.report import FORMATS, ImportReport, RatingsImportError, UnmatchedRow

_ENCODING_NAMES = {"cp1252": "Windows-1252 (Latin-1)", "latin-1": "Latin-1", "utf-16": "UTF-16"}


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
    raw = read_source(file)
    refuse_binary(raw)
    text, encoding = decode(raw)
    if not text.strip():
        raise RatingsImportError(f"The file is empty. Expected {EXPECTED}.")
    delimiter, fmt, columns = detect(text)
    records = csv_rows(text, delimiter)
    if not records:
        raise RatingsImportError(
            f"The file has column headers ({FORMATS[fmt]}) but no rows of ratings."
        )

    context = Catalogue(movies, links, matcher)
    reader = ROW_READERS[fmt]
    if fmt == "movielens":
        refuse_many_users(records, columns)

    matches: list[Match] = []
    unmatched: list[UnmatchedRow] = []
    valid_ratings = 0
    for line, row in records:
        outcome = reader(context, columns, line, row)
        if isinstance(outcome, Match):
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
