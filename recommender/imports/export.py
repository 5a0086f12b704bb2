"""Exporting a profile as CSV that spreadsheets open safely and :func:`import_ratings` reads."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping

import pandas as pd

from recommender.data import display_title
from recommender.imports.formats import EXPORT_COLUMNS, SPREADSHEET_TRIGGERS
from recommender.imports.matching import YEAR_SUFFIX
from recommender.imports.reading import CONTROLS
from recommender.ratings import check_ratings


def export_ratings(
    ratings: Mapping[int, float],
    movies: pd.DataFrame,
    links: pd.DataFrame | None = None,
) -> bytes:
    """A profile as UTF-8 CSV: title, year, movieId, imdbId, rating (in ``ratings`` order).

    Text that a spreadsheet would run as a formula (starting with = + - @, tab or CR) gets a
    leading single quote, which :func:`import_ratings` removes again, so re-importing an
    export gives the same ratings; control characters are dropped. Movies missing from
    ``movies`` keep their row, with empty title.
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
        titles[movie] = name or display_title(YEAR_SUFFIX.sub("", raw).strip())
        year = getattr(row, "year", None)
        if year is None or pd.isna(year):
            found = YEAR_SUFFIX.search(raw)
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
    """Prefix a quote so Excel / LibreOffice / Sheets show the text instead of running it.

    Control characters go: no title needs them, and the importer reads them as binary data.
    """
    text = text.translate(CONTROLS)
    return "'" + text if text.startswith(SPREADSHEET_TRIGGERS) else text
