"""Movie titles and genres as people read them: "Matrix, The (1999)" -> "The Matrix", 1999."""

from __future__ import annotations

import re

import pandas as pd

# "Matrix, The (1999)" -> "The Matrix"; the alternative title in brackets stays where it is.
_YEAR = re.compile(r"\s*\((\d{4})(?:[-–]\d{0,4})?\)\s*$")
_TRAILING_ARTICLE = re.compile(
    r"^(?P<name>.+?), (?P<article>The|A|An|Les|Le|La|L'|Il|Der|Die|Das|El|Los|Las)"
    r"(?P<rest>\s*\(.*\))?$"
)


def add_title_columns(movies: pd.DataFrame) -> pd.DataFrame:
    """Add ``year`` (from "Title (1999)") and ``display_title`` ("Matrix, The" -> "The Matrix")."""
    movies = movies.copy()
    titles = movies["title"].fillna("").astype(str).str.strip()
    years = titles.str.extract(_YEAR, expand=False)
    movies["title"] = titles.astype("string")
    movies["genres"] = movies["genres"].fillna("").astype("string")
    movies["year"] = pd.to_numeric(years, errors="coerce").astype("Int16")
    movies["display_title"] = [display_title(t) for t in titles.str.replace(_YEAR, "", regex=True)]
    movies["display_title"] = movies["display_title"].astype("string")
    return movies


def display_title(title: str) -> str:
    """Move a trailing article to the front: "Godfather: Part II, The" -> "The Godfather: ..."."""
    match = _TRAILING_ARTICLE.match(title)
    if not match:
        return title
    article = match["article"]
    glue = "" if article.endswith("'") else " "
    return f"{article}{glue}{match['name']}{match['rest'] or ''}"


def genre_list(genres: str) -> list[str]:
    """"Action|Comedy" -> ["Action", "Comedy"]; "(no genres listed)" -> []."""
    return [g for g in str(genres).split("|") if g and g != "(no genres listed)"]
