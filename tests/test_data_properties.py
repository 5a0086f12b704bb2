"""Property-based tests of the file readers: whatever movies.csv, ratings.csv, links.csv or the
ml-1m ``.dat`` files hold, loading either succeeds with consistent data or raises DataError,
never another exception."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recommender.data import DataError, binary, load_movielens
from recommender.ratings import valid_ratings

MOVIES = "movieId,title,genres\n1,Toy Story (1995),Animation\n2,\"Matrix, The (1999)\",Action\n"
RATINGS = "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,2,5.0,964981247\n"
FAST = settings(
    max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

# Values a column may hold: valid ones, edge cases and junk, as CSV text.
ID_TEXT = st.one_of(
    st.integers(-3, 5).map(str),
    st.sampled_from(["2147483647", "2147483648", "-2147483649", "99999999999999999999", "1.0",
                     "1.5", "", " 2 ", "x", "nan", "1e3", '"1"', "0x10", "١"]),
)
RATING_TEXT = st.one_of(
    st.sampled_from([0.5, 1, 2.5, 4.0, 5]).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", "4.2", "six", "1e400", "-0", "5.00", " 3 ", '"4"', "NaN", "inf"]),
)
TITLE_TEXT = st.lists(
    st.sampled_from([*'ab ,"()\n\r\t|é\ufeff\x00', "Matrix, The (1999)"]), max_size=8
).map("".join)


def assert_loads_or_data_error(**files: bytes) -> None:
    """Load a folder holding ``files``; anything but success or DataError fails the test,
    and a success must be consistent data."""
    with tempfile.TemporaryDirectory() as folder:
        for name, content in files.items():
            (Path(folder) / name).write_bytes(content)
        try:
            data = load_movielens(folder, cache_dir=Path(folder) / "cache")
        except DataError as error:
            assert str(error).strip()
            return
    ratings = data.ratings
    assert valid_ratings(ratings["rating"].to_numpy()).all()
    assert np.isin(ratings["movieId"], data.movies["movieId"]).all()
    assert not ratings.duplicated(["userId", "movieId"]).any()
    assert data.movies["movieId"].is_unique and (data.movies["movieId"] >= 1).all()
    assert [str(t) for t in ratings.dtypes] == ["int32", "int32", "float32", "int64"]
    assert (data.movie_stats["n_ratings"].sum()) == len(ratings)


def csv_text(header: list[str], rows: list[list[str]]) -> bytes:
    return ("\n".join([",".join(header), *(",".join(row) for row in rows)]) + "\n").encode()


def after(header: bytes) -> st.SearchStrategy[bytes]:
    """Random bytes, alone or after a correct header (so they reach the value parser)."""
    return st.one_of(st.binary(max_size=300), st.binary(max_size=300).map(header.__add__))


@FAST
@given(after(b"movieId,title,genres\n"))
def test_any_bytes_as_movies_csv(content):
    assert_loads_or_data_error(**{"movies.csv": content, "ratings.csv": RATINGS.encode()})


@FAST
@given(after(b"userId,movieId,rating,timestamp\n"))
def test_any_bytes_as_ratings_csv(content):
    assert_loads_or_data_error(**{"movies.csv": MOVIES.encode(), "ratings.csv": content})


@settings(FAST, max_examples=60)
@given(after(b"movieId,imdbId,tmdbId\n"), after(b"userId,movieId,tag,timestamp\n"))
def test_any_bytes_as_links_and_tags(links, tags):
    assert_loads_or_data_error(**{
        "movies.csv": MOVIES.encode(), "ratings.csv": RATINGS.encode(),
        "links.csv": links, "tags.csv": tags,
    })


@st.composite
def ratings_header(draw) -> list[str]:
    """The rating columns in any order, some missing, spaced or quoted, with extra ones."""
    names = draw(st.permutations(["userId", "movieId", "rating", "timestamp"]))
    names = names[: draw(st.integers(2, 4))]
    names = [draw(st.sampled_from([n, f" {n}", f"{n} ", f'"{n}"'])) for n in names]
    return names + draw(st.lists(st.sampled_from(["extra", "", "rating", "title"]), max_size=2))


@FAST
@given(
    ratings_header(),
    st.lists(st.lists(st.one_of(ID_TEXT, RATING_TEXT), min_size=2, max_size=5), max_size=6),
    st.booleans(),
)
def test_random_ratings_headers_and_values(header, rows, bom):
    content = csv_text(header, rows)
    assert_loads_or_data_error(**{
        "movies.csv": MOVIES.encode(), "ratings.csv": (b"\xef\xbb\xbf" if bom else b"") + content,
    })


@FAST
@given(st.lists(st.tuples(ID_TEXT, TITLE_TEXT, TITLE_TEXT), min_size=1, max_size=6))
def test_random_movies_ids_and_titles(movies):
    rows = [[movie_id, f'"{title}"' if i % 2 else title, genres]
            for i, (movie_id, title, genres) in enumerate(movies)]
    assert_loads_or_data_error(**{
        "movies.csv": csv_text(["movieId", "title", "genres"], rows),
        "ratings.csv": b"userId,movieId,rating\n1,1,4\n",
    })


@settings(FAST, max_examples=40)
@given(
    st.lists(st.tuples(st.one_of(st.integers(-2, 4), st.integers(-2, 2**31 + 1),
                                 st.sampled_from([2**31 - 1, 2**31])),
                       st.integers(-1, 4),
                       st.sampled_from([0.5, 3.0, 4.5, 5.0, 5.5, 0.0, 2.25])),
             min_size=1, max_size=8),
)
def test_random_ids_and_ratings_through_the_binary_copy(triples):
    """Plausible numbers (huge and negative ids, off-step ratings) through the binary-copy
    path: a success matches the plain CSV load, copy and all."""
    movie_ids = sorted({m for m, _, _ in triples if 1 <= m < 2**31})
    movies = "movieId,title,genres\n" + "".join(f"{m},M{m},Drama\n" for m in movie_ids)
    ratings = "userId,movieId,rating\n" + "".join(
        f"{u},{m},{r}\n" for m, u, r in triples
    )
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "movies.csv").write_text(movies)
        (Path(folder) / "ratings.csv").write_text(ratings)
        outcomes, original = [], binary.BINARY_CACHE_MIN_BYTES
        for threshold in (10**12, 1, 1):  # plain CSV, CSV + write copy, from the copy
            binary.BINARY_CACHE_MIN_BYTES = threshold
            try:
                data = load_movielens(folder, cache_dir=Path(folder) / "cache")
                outcomes.append((data.ratings.copy(), data.movie_stats, data.fingerprint))
            except DataError:
                outcomes.append(None)
            finally:
                binary.BINARY_CACHE_MIN_BYTES = original
    if outcomes[0] is None:
        assert outcomes == [None, None, None]
        return
    for ratings_frame, stats, fingerprint in outcomes[1:]:
        pd.testing.assert_frame_equal(ratings_frame, outcomes[0][0])
        pd.testing.assert_frame_equal(stats, outcomes[0][1])
        assert fingerprint == outcomes[0][2]


@FAST
@given(st.binary(max_size=200), after(b"1::1::5::978300760\n"))
def test_any_bytes_as_ml_1m_dat_files(movies, ratings):
    assert_loads_or_data_error(**{"movies.dat": movies, "ratings.dat": ratings})
