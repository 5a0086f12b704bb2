"""What an import found (:class:`ImportReport`) and the error for files that cannot be read."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

FORMATS = {
    "imdb": "IMDb ratings export",
    "letterboxd": "Letterboxd ratings",
    "movielens": "MovieLens-style CSV",
    "export": "export from this app",
}


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
