"""Loading MovieLens: CSV (ml-latest-small … ml-32m) and the ml-1m ``.dat`` layout.

Everything returned uses explicit dtypes (int32 ids, float32 ratings) and raw MovieLens ids.
Bad files raise :class:`DataError`, which names the file, the row or column and the problem.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import requests

log = logging.getLogger(__name__)

MOVIELENS_URL = "https://files.grouplens.org/datasets/movielens/ml-latest-small.zip"
MIN_RATING, MAX_RATING = 0.5, 5.0
# Binary copies of large ratings files make the second load fast; small files parse fast anyway.
BINARY_CACHE_MIN_BYTES = 20_000_000

_RATING_COLUMNS = {"userId": "int32", "movieId": "int32", "rating": "float32", "timestamp": "int64"}
_MOVIE_COLUMNS = {"movieId": "int32", "title": "string", "genres": "string"}
_LINK_COLUMNS = {"movieId": "int32", "imdbId": "string", "tmdbId": "Int32"}
_TAG_COLUMNS = {"userId": "int32", "movieId": "int32", "tag": "string", "timestamp": "int64"}

# "Matrix, The (1999)" -> "The Matrix"; the alternative title in brackets stays where it is.
_YEAR = re.compile(r"\s*\((\d{4})(?:[-–]\d{0,4})?\)\s*$")
_TRAILING_ARTICLE = re.compile(
    r"^(?P<name>.+?), (?P<article>The|A|An|Les|Le|La|L'|Il|Der|Die|Das|El|Los|Las)"
    r"(?P<rest>\s*\(.*\))?$"
)


class DataError(ValueError):
    """A MovieLens file is missing or malformed; the message names the file and the problem."""


@dataclass(frozen=True, eq=False)
class RatingTotals:
    """Number and sum of the ratings of each movieId (arrays indexed by movieId).

    Everything the app's first page needs from the ratings. For large files it is saved with
    the binary copy, so a restart never passes over 32M ratings to show the catalogue.
    """

    counts: np.ndarray
    sums: np.ndarray

    @classmethod
    def of(cls, ratings: pd.DataFrame) -> RatingTotals:
        # bincount over the ids: a tenth of a groupby's time on 32M ratings.
        movie_ids = ratings["movieId"].to_numpy()
        return cls(
            counts=np.bincount(movie_ids),
            sums=np.bincount(movie_ids, weights=ratings["rating"].to_numpy()),
        )


@dataclass(frozen=True, eq=False)
class MovieLens:
    """One MovieLens release as DataFrames with explicit dtypes.

    ``movies``: movieId, title, genres (pipe-separated), year (nullable), display_title.
    ``ratings``: userId, movieId, rating, timestamp. ``links``: movieId, imdbId (zero-padded
    string), tmdbId (nullable). ``tags``: userId, movieId, tag, timestamp.
    """

    movies: pd.DataFrame
    ratings: pd.DataFrame
    links: pd.DataFrame = field(default_factory=lambda: _empty(_LINK_COLUMNS))
    tags: pd.DataFrame = field(default_factory=lambda: _empty(_TAG_COLUMNS))
    source: Path | None = None
    # Derived from the ratings; the loader fills them from the binary copy when it has one.
    totals: RatingTotals | None = field(default=None, repr=False)
    ratings_hash: str | None = field(default=None, repr=False)

    @cached_property
    def fingerprint(self) -> str:
        """A short hash of the ratings, used to key trained models saved on disk."""
        return self.ratings_hash or ratings_fingerprint(self.ratings)

    @cached_property
    def movie_stats(self) -> pd.DataFrame:
        """Per-movie number of ratings and mean rating, indexed by movieId (all movies)."""
        totals = self.totals or RatingTotals.of(self.ratings)
        ids = self.movies["movieId"].to_numpy()
        rated = ids < len(totals.counts)  # movies after the last rated movieId have none
        n = np.zeros(len(ids), dtype=np.int64)
        sums = np.zeros(len(ids))
        n[rated], sums[rated] = totals.counts[ids[rated]], totals.sums[ids[rated]]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(n > 0, sums / n, np.nan)
        return pd.DataFrame(
            {"n_ratings": n.astype("int32"), "mean_rating": mean},
            index=pd.Index(ids, name="movieId"),
        )


def ratings_fingerprint(ratings: pd.DataFrame) -> str:
    """Hash of (userId, movieId, rating) so that the same data always gets the same key."""
    digest = hashlib.blake2b(digest_size=8)
    for column, dtype in (("userId", "<i4"), ("movieId", "<i4"), ("rating", "<f4")):
        digest.update(np.ascontiguousarray(ratings[column].to_numpy(), dtype=dtype).tobytes())
    return digest.hexdigest()


def load_movielens(
    path: str | os.PathLike | None = None,
    *,
    cache_dir: str | os.PathLike | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> MovieLens:
    """Load a MovieLens folder.

    ``path=None`` uses ``$MOVIELENS_DIR``; without it, ml-latest-small is downloaded once into
    the cache folder (``$RECOMMENDER_CACHE`` or ``~/.cache/movie-recommender``). ``progress``
    receives (bytes done, bytes total) during a download.
    """
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    if path is None:
        path = os.environ.get("MOVIELENS_DIR") or download_movielens(cache, progress=progress)
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
    """Where downloads and binary copies go: ``$RECOMMENDER_CACHE`` or the user cache folder."""
    explicit = os.environ.get("RECOMMENDER_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "movie-recommender"


# --- reading -----------------------------------------------------------------------------


def _empty(columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})


def _check_header(file: Path, required: list[str], sep: str = ",") -> list[str]:
    if not file.exists():
        raise DataError(f"{file}: file not found")
    with open(file, encoding="utf-8", errors="replace") as handle:
        header = handle.readline().strip().lstrip("\ufeff")
    if not header:
        raise DataError(f"{file}: file is empty (expected a header with {', '.join(required)})")
    columns = [c.strip() for c in header.split(sep)]
    missing = [c for c in required if c not in columns]
    if missing:
        for other in (";", "\t", "|", "::"):
            if other != sep and all(c in header.split(other) for c in required):
                raise DataError(
                    f"{file}: wrong separator {other!r}; MovieLens CSV files use commas"
                )
        raise DataError(f"{file}: missing column(s) {', '.join(missing)} (found {columns})")
    return columns


def _read_csv(
    file: Path,
    columns: dict[str, str],
    *,
    required: list[str],
    text: str | None = None,
    names: list[str] | None = None,
) -> pd.DataFrame:
    """Read the named columns with their dtypes; a bad value names its row and column.

    ``text`` and ``names`` read headerless content already in memory (the ml-1m layout).
    """
    present = names or _check_header(file, required)
    usecols = [c for c in columns if c in present]
    first_row = 1 if names else 2  # line number of the first data row, for messages

    def source():
        return io.StringIO(text) if text is not None else file

    header = {"header": None, "names": names} if names else {}
    try:
        return pd.read_csv(
            source(), usecols=usecols, dtype={c: columns[c] for c in usecols}, **header
        )
    except pd.errors.ParserError as error:
        raise DataError(f"{file}: malformed CSV ({error})") from None
    except (ValueError, TypeError, OverflowError):
        pass
    # Parse again as text to report the first bad value with its line number.
    raw = pd.read_csv(source(), usecols=usecols, dtype="string", keep_default_na=False, **header)
    for column in usecols:
        dtype = columns[column]
        if dtype == "string":
            continue
        values = raw[column].str.strip()
        number = pd.to_numeric(values, errors="coerce")
        bad = number.isna() & ~((values == "") & (dtype == "Int32"))
        if dtype.lower().startswith("int"):
            bad |= number.notna() & (number % 1 != 0)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{file}, line {row + first_row}: column {column!r} has non-numeric value "
                f"{raw[column].iloc[row]!r}"
            )
    raise DataError(f"{file}: could not be parsed as CSV")


def _read_movies(file: Path) -> pd.DataFrame:
    movies = _read_csv(file, _MOVIE_COLUMNS, required=["movieId", "title", "genres"])
    _check_unique(file, movies, ["movieId"])
    return movies


def _read_ratings(
    file: Path, cache: Path
) -> tuple[pd.DataFrame, RatingTotals | None, str | None]:
    """The ratings, with their totals and fingerprint when a binary copy holds them."""
    if not file.exists():
        raise DataError(f"{file}: file not found")
    stat = file.stat()
    cached = None
    if stat.st_size >= BINARY_CACHE_MIN_BYTES:
        key = hashlib.sha1(f"{file.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
        cached = cache / f"ratings-{key.hexdigest()[:16]}"
        if cached.is_dir() and (found := _read_binary_ratings(cached)) is not None:
            return found
    ratings = _read_csv(file, _RATING_COLUMNS, required=["userId", "movieId", "rating"])
    if "timestamp" not in ratings:
        ratings["timestamp"] = np.zeros(len(ratings), dtype="int64")
    _check_ratings(file, ratings)
    if cached is None:
        return ratings, None, None
    totals, fingerprint = RatingTotals.of(ratings), ratings_fingerprint(ratings)
    _write_binary_ratings(ratings, totals, fingerprint, cached)
    return ratings, totals, fingerprint


def _write_binary_ratings(
    ratings: pd.DataFrame, totals: RatingTotals, fingerprint: str, folder: Path
) -> None:
    """One ``.npy`` per column plus the totals and fingerprint, written beside the final
    folder and renamed into place."""
    staging = folder.with_name(f".{folder.name}.tmp{os.getpid()}")
    staging.mkdir(parents=True, exist_ok=True)
    for column in _RATING_COLUMNS:
        np.save(staging / f"{column}.npy", ratings[column].to_numpy(), allow_pickle=False)
    np.save(staging / "movie_counts.npy", totals.counts, allow_pickle=False)
    np.save(staging / "movie_sums.npy", totals.sums, allow_pickle=False)
    (staging / "fingerprint.txt").write_text(fingerprint)
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(staging, folder)


def _read_binary_ratings(folder: Path) -> tuple[pd.DataFrame, RatingTotals, str] | None:
    """The copy written after a validated CSV load, memory-mapped (read-only, no pickle), so
    32M ratings open in milliseconds; None if damaged, so the caller parses the CSV again."""
    try:
        # Plain ndarray views of the maps, so callers never meet the memmap subclass.
        columns = {
            c: np.load(folder / f"{c}.npy", mmap_mode="r", allow_pickle=False).view(np.ndarray)
            for c in _RATING_COLUMNS
        }
        totals = RatingTotals(
            counts=np.load(folder / "movie_counts.npy", allow_pickle=False),
            sums=np.load(folder / "movie_sums.npy", allow_pickle=False),
        )
        fingerprint = (folder / "fingerprint.txt").read_text().strip()
    except (OSError, ValueError) as error:
        log.warning("Ignoring damaged binary copy %s (%s)", folder, error)
        return None
    lengths = {len(a) for a in columns.values()}
    if (
        len(lengths) != 1
        or any(columns[c].dtype != np.dtype(t) for c, t in _RATING_COLUMNS.items())
        or totals.counts.shape != totals.sums.shape
        or int(totals.counts.sum()) != lengths.pop()
        or not re.fullmatch(r"[0-9a-f]{16}", fingerprint)
    ):
        log.warning("Ignoring damaged binary copy %s (its files disagree)", folder)
        return None
    return pd.DataFrame(columns, copy=False), totals, fingerprint


def _check_ratings(file: Path, ratings: pd.DataFrame, first_row: int = 2) -> None:
    if ratings.empty:
        raise DataError(f"{file}: no ratings (the file has a header but no rows)")
    values = ratings["rating"].to_numpy()
    bad = ~((values >= MIN_RATING) & (values <= MAX_RATING))  # NaN is bad too
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{file}, line {row + first_row}: column 'rating' is {values[row]}, outside "
            f"{MIN_RATING}–{MAX_RATING}"
        )
    # The per-movie totals count ratings by movieId with bincount, which needs ids >= 0.
    if (negative := ratings["movieId"].to_numpy() < 0).any():
        row = int(np.flatnonzero(negative)[0])
        raise DataError(f"{file}: ratings line {row + first_row} has a negative movieId")
    _check_unique(file, ratings, ["userId", "movieId"], first_row)


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
    links = _read_csv(file, _LINK_COLUMNS, required=["movieId", "imdbId"])
    if "tmdbId" not in links:
        links["tmdbId"] = pd.array([pd.NA] * len(links), dtype="Int32")
    links["imdbId"] = links["imdbId"].str.strip().str.zfill(7)
    return links


def _read_tags(file: Path) -> pd.DataFrame:
    tags = _read_csv(file, _TAG_COLUMNS, required=["userId", "movieId", "tag"])
    if "timestamp" not in tags:
        tags["timestamp"] = np.zeros(len(tags), dtype="int64")
    return tags.dropna(subset=["tag"]).reset_index(drop=True)


def _load_dat(folder: Path) -> MovieLens:
    """The ml-1m layout: ``::``-separated, latin-1, no header."""

    def read(name: str) -> str:
        file = folder / name
        if not file.exists():
            raise DataError(f"{file}: file not found")
        text = file.read_text(encoding="latin-1")
        if not text.strip():
            raise DataError(f"{file}: file is empty")
        return text

    movies_file, ratings_file = folder / "movies.dat", folder / "ratings.dat"
    rows = [line.split("::") for line in read("movies.dat").splitlines() if line]
    for number, row in enumerate(rows, start=1):
        if len(row) != 3 or not row[0].strip().isdigit():
            raise DataError(
                f"{movies_file}, line {number}: expected MovieID::Title::Genres, got {row!r}"
            )
    movies = pd.DataFrame(rows, columns=["movieId", "title", "genres"]).astype(
        {"movieId": "int32", "title": "string", "genres": "string"}
    )
    _check_unique(movies_file, movies, ["movieId"])
    # Ratings hold only numbers, so '::' can safely become ',' for the fast C parser.
    ratings = _read_csv(
        ratings_file,
        _RATING_COLUMNS,
        required=list(_RATING_COLUMNS),
        text=read("ratings.dat").replace("::", ","),
        names=list(_RATING_COLUMNS),
    )
    _check_ratings(ratings_file, ratings, first_row=1)
    return _assemble(movies, ratings, None, None, folder)


def _assemble(
    movies: pd.DataFrame,
    ratings: pd.DataFrame,
    links: pd.DataFrame | None,
    tags: pd.DataFrame | None,
    folder: Path,
    totals: RatingTotals | None = None,
    fingerprint: str | None = None,
) -> MovieLens:
    if totals is None:
        totals = RatingTotals.of(ratings)
    # Every rated movie must be in the movies file; the totals say which ids were rated.
    rated = np.flatnonzero(totals.counts)
    unknown = rated[~np.isin(rated, movies["movieId"].to_numpy())]
    if len(unknown):
        row = int(np.flatnonzero(np.isin(ratings["movieId"].to_numpy(), unknown))[0])
        raise DataError(
            f"{folder}: ratings line {row + 2} refers to movieId "
            f"{ratings['movieId'].iloc[row]}, which is not in the movies file"
        )
    movies = add_title_columns(movies)
    return MovieLens(
        movies=movies.reset_index(drop=True),
        ratings=ratings.reset_index(drop=True),
        links=links if links is not None else _empty(_LINK_COLUMNS),
        tags=tags if tags is not None else _empty(_TAG_COLUMNS),
        source=folder,
        totals=totals,
        ratings_hash=fingerprint,
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


# --- download ----------------------------------------------------------------------------


def download_movielens(
    cache_dir: str | os.PathLike,
    *,
    url: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    timeout: float = 10.0,
) -> Path:
    """Download and unpack ml-latest-small into ``cache_dir`` once; return the folder.

    The archive is checked (zip CRCs, expected files, and the published MD5 when the server
    offers one) and unpacked into a temporary folder that is renamed into place, so a broken
    download never leaves a half-written dataset behind.
    """
    url = url or os.environ.get("MOVIELENS_URL") or MOVIELENS_URL
    cache = Path(cache_dir)
    name = Path(url.rsplit("/", 1)[-1]).stem
    target = cache / name
    if (target / "ratings.csv").exists() and (target / "movies.csv").exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    report = progress or _print_progress
    try:
        with requests.get(url, stream=True, timeout=(3.05, timeout)) as response:
            response.raise_for_status()
            total = int(response.headers.get("Content-Length") or 0)
            data = io.BytesIO()
            for chunk in response.iter_content(chunk_size=1 << 16):
                data.write(chunk)
                report(data.tell(), total)
        expected_md5 = _published_md5(url, timeout)
    except requests.RequestException as error:
        raise DataError(
            f"Could not download MovieLens from {url} ({type(error).__name__}). Without a "
            "network, download ml-latest-small elsewhere and set MOVIELENS_DIR=/path/to/"
            "ml-latest-small (the folder holding movies.csv and ratings.csv)."
        ) from None
    payload = data.getvalue()
    if expected_md5 and hashlib.md5(payload).hexdigest() != expected_md5:
        raise DataError(f"Download from {url} is corrupt: MD5 does not match the published one")
    _unpack(payload, url, target)
    return target


def _published_md5(url: str, timeout: float) -> str | None:
    try:
        response = requests.get(url + ".md5", timeout=(3.05, timeout))
    except requests.RequestException:
        return None
    if response.status_code != 200:
        return None
    match = re.search(r"\b[0-9a-f]{32}\b", response.text.lower())
    return match.group(0) if match else None


def _unpack(payload: bytes, url: str, target: Path) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
        broken = archive.testzip()
    except zipfile.BadZipFile:
        raise DataError(f"Download from {url} is not a valid zip archive") from None
    if broken:
        raise DataError(f"Download from {url} is corrupt: {broken} fails its CRC check")
    names = archive.namelist()
    if any(n.startswith("/") or ".." in Path(n).parts for n in names):
        raise DataError(f"Download from {url} holds unsafe paths; refusing to unpack")
    if not any(n.endswith("ratings.csv") for n in names):
        raise DataError(f"Download from {url} holds no ratings.csv")
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        archive.extractall(staging)
        inner = next(p.parent for p in staging.rglob("ratings.csv"))
        if target.exists():
            shutil.rmtree(target)
        os.replace(inner, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _print_progress(done: int, total: int) -> None:
    if total:
        sys.stderr.write(f"\rDownloading MovieLens: {done / total:6.1%} of {total / 1e6:.1f} MB")
    else:
        sys.stderr.write(f"\rDownloading MovieLens: {done / 1e6:.1f} MB")
    if total and done >= total:
        sys.stderr.write("\n")
