"""Reading and checking MovieLens: CSV (ml-latest-small … ml-32m) and the ml-1m ``.dat`` layout.

Everything returned uses explicit dtypes (int32 ids, float32 ratings) and raw MovieLens ids.
Whatever a file holds, reading it either succeeds or raises :class:`DataError` naming the file,
the line or column and the problem (tests/test_data_properties.py tries random files).
"""

from __future__ import annotations

import collections
import csv
import io
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from recommender.data import binary
from recommender.data.dataset import (
    LINK_COLUMNS,
    MOVIE_COLUMNS,
    RATING_COLUMNS,
    TAG_COLUMNS,
    DataError,
    MovieLens,
    RatingTotals,
    empty,
    ratings_fingerprint,
)
from recommender.data.download import download_movielens
from recommender.data.titles import add_title_columns
from recommender.ratings import MAX_MOVIE_ID, RATING_RULE, valid_ratings
from recommender.settings import settings

_TOKENIZER_ERROR = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def load_movielens(
    path: str | os.PathLike | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> MovieLens:
    """Load a MovieLens folder.

    ``path=None`` uses ``settings().movielens_dir`` (``$MOVIELENS_DIR``); without it,
    ml-latest-small is downloaded once into ``cache_dir`` (default ``settings().cache_dir``).
    ``progress`` receives (bytes done, bytes total) during a download.
    """
    config = settings()
    cache = Path(cache_dir) if cache_dir else config.cache_dir
    if path is None:
        path = config.movielens_dir or download_movielens(cache, progress=progress)
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DataError(
            f"MovieLens folder {folder} does not exist. Point MOVIELENS_DIR at a folder that "
            "holds movies.csv and ratings.csv (for example ml-latest-small)."
        )
    if (folder / "ratings.dat").exists() and not (folder / "ratings.csv").exists():
        return _load_dat(folder)
    movies = _read_movies(folder / "movies.csv")
    ratings, totals, fingerprint = _read_ratings(folder / "ratings.csv", cache)
    links = _read_links(folder / "links.csv") if (folder / "links.csv").exists() else None
    tags = _read_tags(folder / "tags.csv") if (folder / "tags.csv").exists() else None
    return _assemble(movies, ratings, links, tags, folder, totals, fingerprint)


def default_cache_dir() -> Path:
    """Where downloads, binary copies, models and posters go: ``settings().cache_dir``."""
    return settings().cache_dir


# --- reading -----------------------------------------------------------------------------


@contextmanager
def _reading(file: Path) -> Iterator[None]:
    """Turn what the operating system or the decoder says about ``file`` into a DataError."""
    try:
        if file.is_dir():
            raise DataError(f"{file}: is a folder, not a file")
        if not file.exists():
            raise DataError(f"{file}: file not found")
        yield
    except UnicodeDecodeError:
        raise DataError(_not_utf8(file)) from None
    except OSError as error:
        raise DataError(f"{file}: cannot be read ({error.strerror or error})") from None


def _not_utf8(file: Path) -> str:
    with open(file, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                return (
                    f"{file}, line {number}: not UTF-8 text (byte {line[error.start]:#04x}); "
                    "MovieLens CSV files are UTF-8, so save it with that encoding"
                )
    return f"{file}: not UTF-8 text; MovieLens CSV files are UTF-8"


def _check_header(file: Path, required: list[str]) -> list[str]:
    """The file's column names (stripped); a DataError if a required one is missing."""
    with open(file, encoding="utf-8", errors="replace") as handle:
        header = handle.readline().strip().lstrip("\ufeff")
    if not header:
        raise DataError(f"{file}: file is empty (expected a header with {', '.join(required)})")
    columns = [c.strip() for c in next(csv.reader([header]))]
    missing = [c for c in required if c not in columns]
    if missing:
        for other in (";", "\t", "|", "::"):
            if all(c in header.split(other) for c in required):
                raise DataError(
                    f"{file}: wrong separator {other!r}; MovieLens CSV files use commas"
                )
        raise DataError(f"{file}: missing column(s) {', '.join(missing)} (found {columns})")
    repeated = [c for c, n in collections.Counter(columns).items() if n > 1]
    if repeated:
        raise DataError(f"{file}: column(s) {', '.join(map(repr, repeated))} appear twice")
    return columns


def _read_csv(
    file: Path,
    columns: dict[str, str],
    *,
    required: list[str],
    text: str | None = None,
    names: list[str] | None = None,
) -> pd.DataFrame:
    """Read ``columns`` with their dtypes; a bad value names its line and column.

    ``text`` and ``names`` read headerless content already in memory (the ml-1m layout).
    """
    with _reading(file):
        names = names or _check_header(file, required)
        first_row = 1 if text is not None else 2  # line number of the first data row
        wanted = [c for c in columns if c in names]
        # Columns we do not use stay text, so they can never fail to parse.
        dtypes = {name: columns.get(name, "string") for name in names}

        def parse(**options) -> pd.DataFrame:
            source = io.StringIO(text) if text is not None else file
            header = None if text is not None else 0
            try:
                frame = pd.read_csv(source, header=header, names=names, **options)
            except pd.errors.ParserError as error:
                raise DataError(_malformed(file, error)) from None
            # A first row with more fields than the header makes pandas shift every column
            # and use the extra ones as the index; a later one is a tokenizer error.
            if not frame.index.equals(pd.RangeIndex(len(frame))):
                raise DataError(
                    f"{file}, line {first_row}: more fields than the {len(names)} columns "
                    "of the header"
                )
            return frame[wanted] if len(wanted) < len(names) else frame

        try:
            with np.errstate(invalid="ignore"):  # pandas' casts warn before they fail
                return parse(dtype=dtypes)
        except DataError:
            raise
        except (ValueError, TypeError, OverflowError) as error:
            cause = _first_line(error)
        # Parse again as text to report the first bad value with its line number.
        raw = parse(dtype="string", keep_default_na=False)
        _report_bad_value(file, raw, columns, first_row)
        raise DataError(f"{file}: could not be read as CSV ({cause})")


def _report_bad_value(
    file: Path, raw: pd.DataFrame, columns: dict[str, str], first_row: int
) -> None:
    for column in raw.columns:
        dtype = columns[column]
        if dtype == "string":
            continue
        values = raw[column].fillna("").str.strip()
        number = pd.to_numeric(values, errors="coerce")
        bad = (number.isna() & ~((values == "") & (dtype == "Int32"))).to_numpy(bool)
        expected = "a number"
        if dtype.lower().startswith("int"):
            limits = np.iinfo(dtype.lower())
            with np.errstate(invalid="ignore"):
                bad |= (
                    number.notna()
                    & ((number % 1 != 0) | (number < limits.min) | (number > limits.max))
                ).to_numpy(bool)
            expected = f"an integer from {limits.min} to {limits.max}"
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{file}, line {row + first_row}: column {column!r} has value "
                f"{raw[column].iloc[row]!r}, which is not {expected}"
            )


def _malformed(file: Path, error: Exception) -> str:
    if match := _TOKENIZER_ERROR.search(str(error)):
        expected, line, saw = match.groups()
        return f"{file}, line {line}: {saw} fields where the header has {expected}"
    return f"{file}: malformed CSV ({_first_line(error)})"


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _read_movies(file: Path) -> pd.DataFrame:
    movies = _read_csv(file, MOVIE_COLUMNS, required=["movieId", "title", "genres"])
    _check_single_lines(file, movies)
    _check_movie_ids(file, movies)
    _check_unique(file, movies, ["movieId"])
    return movies


def _check_single_lines(file: Path, movies: pd.DataFrame) -> None:
    """An unbalanced quote swallows the following lines into one title: say so, here, rather
    than let the ratings of the swallowed movies look unknown."""
    spans = np.zeros(len(movies), dtype=bool)
    for column in ("title", "genres"):
        spans |= movies[column].str.contains(r"[\r\n]").fillna(False).to_numpy(bool)
    if spans.any():
        row = int(np.flatnonzero(spans)[0])
        raise DataError(
            f"{file}, line {row + 2}: the entry of movieId {movies['movieId'].iloc[row]} runs "
            "over several lines; a quote (\") is probably not closed"
        )


def _read_ratings(
    file: Path, cache: Path
) -> tuple[pd.DataFrame, RatingTotals | None, str | None]:
    """The ratings, with their totals and fingerprint when a binary copy holds them."""
    with _reading(file):
        folder = binary.copy_folder(file, cache)
    if folder is not None and (found := binary.read_copy(folder)) is not None:
        return found
    ratings = _read_csv(file, RATING_COLUMNS, required=["userId", "movieId", "rating"])
    if "timestamp" not in ratings:
        ratings["timestamp"] = np.zeros(len(ratings), dtype="int64")
    _check_ratings(file, ratings)
    if folder is None:
        return ratings, None, None
    totals, fingerprint = RatingTotals.of(ratings), ratings_fingerprint(ratings)
    binary.write_copy(ratings, totals, fingerprint, folder)
    return ratings, totals, fingerprint


def _check_ratings(file: Path, ratings: pd.DataFrame, first_row: int = 2) -> None:
    if ratings.empty:
        raise DataError(f"{file}: no ratings (the file has a header but no rows)")
    values = ratings["rating"].to_numpy()
    bad = ~valid_ratings(values)  # NaN is bad too
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{file}, line {row + first_row}: column 'rating' is {values[row]:g}, not "
            f"{RATING_RULE}"
        )
    _check_movie_ids(file, ratings, first_row)
    _check_unique(file, ratings, ["userId", "movieId"], first_row)


def _check_movie_ids(file: Path, frame: pd.DataFrame, first_row: int = 2) -> None:
    ids = frame["movieId"].to_numpy()
    if (bad := (ids < 1) | (ids > MAX_MOVIE_ID)).any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{file}, line {row + first_row}: movieId {ids[row]} is out of range "
            f"(1 to {MAX_MOVIE_ID})"
        )


def _check_unique(file: Path, frame: pd.DataFrame, key: list[str], first_row: int = 2) -> None:
    if len(key) == 2:
        packed = frame[key[0]].to_numpy().astype(np.int64) << 32 | frame[key[1]].to_numpy()
        duplicated = pd.Series(packed).duplicated().to_numpy()
    else:
        duplicated = frame[key[0]].duplicated().to_numpy()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated)[0])
        where = ", ".join(f"{k}={frame[k].iloc[row]}" for k in key)
        raise DataError(f"{file}, line {row + first_row}: duplicated ({', '.join(key)}): {where}")


def _read_links(file: Path) -> pd.DataFrame:
    links = _read_csv(file, LINK_COLUMNS, required=["movieId", "imdbId"])
    if "tmdbId" not in links:
        links["tmdbId"] = pd.array([pd.NA] * len(links), dtype="Int32")
    links["imdbId"] = links["imdbId"].str.strip().str.zfill(7)
    return links


def _read_tags(file: Path) -> pd.DataFrame:
    tags = _read_csv(file, TAG_COLUMNS, required=["userId", "movieId", "tag"])
    if "timestamp" not in tags:
        tags["timestamp"] = np.zeros(len(tags), dtype="int64")
    return tags.dropna(subset=["tag"]).reset_index(drop=True)


def _load_dat(folder: Path) -> MovieLens:
    """The ml-1m layout: ``::``-separated, latin-1, no header."""

    def read(file: Path) -> str:
        with _reading(file):
            text = file.read_text(encoding="latin-1")
        if not text.strip():
            raise DataError(f"{file}: file is empty")
        return text

    movies_file, ratings_file = folder / "movies.dat", folder / "ratings.dat"
    rows = [line.split("::") for line in read(movies_file).splitlines() if line]
    for number, row in enumerate(rows, start=1):
        if len(row) != 3 or not re.fullmatch(r"[0-9]{1,10}", row[0].strip()):
            raise DataError(
                f"{movies_file}, line {number}: expected MovieID::Title::Genres, got {row!r}"
            )
    movies = pd.DataFrame(rows, columns=["movieId", "title", "genres"])
    movies["movieId"] = movies["movieId"].astype("int64")
    _check_movie_ids(movies_file, movies, first_row=1)
    movies = movies.astype(MOVIE_COLUMNS)
    _check_unique(movies_file, movies, ["movieId"], first_row=1)
    # Ratings hold only numbers, so '::' can safely become ',' for the fast C parser.
    ratings = _read_csv(
        ratings_file,
        RATING_COLUMNS,
        required=list(RATING_COLUMNS),
        text=read(ratings_file).replace("::", ","),
        names=list(RATING_COLUMNS),
    )
    _check_ratings(ratings_file, ratings, first_row=1)
    return _assemble(movies, ratings, None, None, folder, first_row=1)


def _assemble(
    movies: pd.DataFrame,
    ratings: pd.DataFrame,
    links: pd.DataFrame | None,
    tags: pd.DataFrame | None,
    folder: Path,
    totals: RatingTotals | None = None,
    fingerprint: str | None = None,
    first_row: int = 2,
) -> MovieLens:
    if totals is None:
        totals = RatingTotals.of(ratings)
    # Every rated movie must be in the movies file; the totals say which ids were rated.
    unknown = totals.ids[~np.isin(totals.ids, movies["movieId"].to_numpy())]
    if len(unknown):
        row = int(np.flatnonzero(np.isin(ratings["movieId"].to_numpy(), unknown))[0])
        raise DataError(
            f"{folder}: ratings line {row + first_row} refers to movieId "
            f"{ratings['movieId'].iloc[row]}, which is not in the movies file"
        )
    movies = add_title_columns(movies)
    return MovieLens(
        movies=movies.reset_index(drop=True),
        ratings=ratings.reset_index(drop=True),
        links=links if links is not None else empty(LINK_COLUMNS),
        tags=tags if tags is not None else empty(TAG_COLUMNS),
        source=folder,
        totals=totals,
        ratings_hash=fingerprint,
    )
