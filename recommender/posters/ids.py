"""Reading TMDB and IMDb ids (missing values included) and checking TMDB image paths."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# What TMDB's image paths look like ("/kqjL17yufvn9OVLyXYpvtyrFfak.jpg"). The path ends up in
# an <img src>, so nothing else passes: fullmatch, as "$" would let a trailing newline in.
_POSTER_PATH = re.compile(r"/[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,99}")


def valid_poster_path(value: Any) -> bool:
    """Whether ``value`` is a TMDB image path that is safe to put in a URL."""
    return isinstance(value, str) and _POSTER_PATH.fullmatch(value) is not None


def positive_int(value: Any) -> int | None:
    """A positive int id, or None for missing values (None, NaN, pd.NA, junk)."""
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if isinstance(value, float) and value != number:
        return None
    return number if number > 0 else None


def imdb_key(value: Any) -> str | None:
    """ "0114709", "tt0114709" or 114709 → "tt0114709"; None for missing or malformed."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if value != value or not value.is_integer():  # NaN or junk
            return None
        value = int(value)
    text = str(value).strip().lower()
    digits = text[2:] if text.startswith("tt") else text
    if not digits.isdigit() or not digits.isascii() or int(digits) == 0:
        return None
    return "tt" + digits.zfill(7)


def link_rows(links: Any) -> list[tuple[int, int | None, str | None]]:
    """(movieId, tmdbId, IMDb key) from a links DataFrame, mappings or 3-tuples."""
    records = links.to_dict("records") if hasattr(links, "to_dict") else links
    rows = []
    for record in records:
        if isinstance(record, Mapping):
            movie, tmdb, imdb = record.get("movieId"), record.get("tmdbId"), record.get("imdbId")
        else:
            movie, tmdb, imdb = record
        movie_id = positive_int(movie)
        if movie_id is not None:
            rows.append((movie_id, positive_int(tmdb), imdb_key(imdb)))
    return rows
