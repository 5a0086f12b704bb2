"""Property-based tests of the import readers and the export (Hypothesis), and the cost of
files full of titles the catalogue lacks."""

from __future__ import annotations

import codecs
import csv
import io

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recommender.data import add_title_columns
from recommender.imports import (
    ImportReport,
    RatingsImportError,
    TitleMatcher,
    export_ratings,
    import_ratings,
)
from recommender.imports.formats import MAX_SUGGESTED_ROWS
from recommender.ratings import valid_ratings
from tests.test_imports import CATALOGUE

pytestmark = pytest.mark.timeout(300)
PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

MOVIES = add_title_columns(pd.DataFrame({
    "movieId": pd.array([m for m, _, _ in CATALOGUE], dtype="int32"),
    "title": [t for _, t, _ in CATALOGUE],
    "genres": ["Drama"] * len(CATALOGUE),
}))
LINKS = pd.DataFrame({
    "movieId": pd.array([m for m, _, _ in CATALOGUE], dtype="int32"),
    "imdbId": pd.array([i for _, _, i in CATALOGUE], dtype="string"),
    "tmdbId": pd.array([None] * len(CATALOGUE), dtype="Int32"),
})
MATCHER = TitleMatcher(MOVIES)
HEADERS = {
    "imdb": ["Const", "Your Rating", "Date Rated", "Title", "Year", "Title Type"],
    "letterboxd": ["Date", "Name", "Year", "Letterboxd URI", "Rating"],
    "movielens": ["userId", "movieId", "rating", "timestamp"],
    "export": ["title", "year", "movieId", "imdbId", "rating"],
}


def check(data: bytes, links: pd.DataFrame | None = LINKS) -> ImportReport | None:
    """Import ``data``: a consistent report, or RatingsImportError; nothing else."""
    try:
        report = import_ratings(data, MOVIES, links, matcher=MATCHER)
    except RatingsImportError as error:
        assert str(error)  # a message for the visitor
        return None
    assert isinstance(report, ImportReport)
    assert report.rows_read == report.matched + report.unmatched_count
    assert len(report.ratings) == report.matched - report.duplicates
    assert set(report.ratings) <= set(MOVIES["movieId"].tolist())
    values = list(report.ratings.values())
    assert valid_ratings(pd.Series(values, dtype=float).to_numpy()).all()
    for row in report.unmatched:
        assert row.reason and row.line >= 2
        assert row.rating is None or valid_ratings(pd.Series([row.rating]).to_numpy())[0]
    report.unmatched_frame()  # the app shows it
    return report


# --- any bytes ------------------------------------------------------------------------------


@PROPERTY
@given(st.binary(max_size=4096))
def test_any_bytes_give_a_report_or_a_clear_error(data):
    check(data)


MAGIC = st.sampled_from([b"PK\x03\x04", b"\x1f\x8b", b"%PDF", b"\x89PNG", b"\xff\xfe",
                         b"\xfe\xff", b"\xef\xbb\xbf", b"SQLite format 3\x00", b""])


@PROPERTY
@given(MAGIC, st.sampled_from(list(HEADERS)), st.binary(max_size=2048))
def test_headers_and_file_signatures_followed_by_junk(magic, fmt, junk):
    check(magic + ",".join(HEADERS[fmt]).encode() + b"\n" + junk)


# --- CSV-shaped input -----------------------------------------------------------------------

CELL = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "4", "4.5", "0.5", "5", "10", "0", "-1", "nan", "inf", "1e309",
                     "4,5", "tt0133093", "0114709", "2571", "1999", "2023-01-01",
                     "2023-13-45", "964982703", "The Matrix", "Matrix, The", "Toy Story",
                     "Star Wars", "=cmd|' /C calc'!A0", "'=1+1", "Movie", "TV Series"]),
)


def csv_text(header: list[str], rows: list[list[str]], delimiter: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


@PROPERTY
@given(
    fmt=st.sampled_from(list(HEADERS)),
    shuffle=st.randoms(use_true_random=False),
    upper=st.booleans(),
    rows=st.lists(st.lists(CELL, max_size=8), max_size=25),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1"]),
    with_links=st.booleans(),
)
def test_csv_files_of_each_format_with_random_cells(
    fmt, shuffle, upper, rows, delimiter, encoding, with_links
):
    header = list(HEADERS[fmt])
    shuffle.shuffle(header)
    if upper:
        header = [name.upper() for name in header]
    text = csv_text(header, rows, delimiter)
    data = text.encode(encoding, errors="replace")
    check(data, LINKS if with_links else None)


@PROPERTY
@given(st.text(max_size=2000))
def test_any_text_gives_a_report_or_a_clear_error(text):
    check(text.encode("utf-8"))


@PROPERTY
@given(st.lists(st.tuples(st.sampled_from([t for _, t, _ in CATALOGUE]),
                          st.integers(1800, 2100), st.sampled_from(["4", "4.5", "x", ""])),
                max_size=20))
def test_valid_letterboxd_rows_never_match_a_movie_of_another_year(rows):
    text = csv_text(HEADERS["letterboxd"], [["2023-01-01", t, str(y), "u", r]
                                            for t, y, r in rows], ",")
    report = check(text.encode())
    if report is not None:
        years = dict(zip(MOVIES["movieId"].tolist(), MOVIES["year"].tolist(), strict=True))
        wanted = [y for _, y, r in rows]
        for movie in report.ratings:
            assert any(abs(years[movie] - y) <= 1 for y in wanted)


# --- export ---------------------------------------------------------------------------------


@PROPERTY
@given(st.dictionaries(st.text(min_size=1, max_size=40), st.sampled_from([0.5, 2.0, 3.5, 5.0]),
                       min_size=1, max_size=8))
def test_export_is_formula_safe_and_reimports_by_movie_id(titled_ratings):
    movies = add_title_columns(pd.DataFrame({
        "movieId": pd.array(range(1, len(titled_ratings) + 1), dtype="int32"),
        "title": [f"{title} (2001)" for title in titled_ratings],
        "genres": ["Drama"] * len(titled_ratings),
    }))
    ratings = dict(zip(movies["movieId"].tolist(), titled_ratings.values(), strict=True))
    data = export_ratings(ratings, movies)
    for row in csv.reader(io.StringIO(data.decode("utf-8"), newline="")):
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert import_ratings(data, movies).ratings == ratings


# --- cost of unknown titles -----------------------------------------------------------------


def test_suggestions_are_capped_per_file(monkeypatch):
    matcher = TitleMatcher(MOVIES)
    searches = []
    search = matcher._index.search
    monkeypatch.setattr(matcher._index, "search",
                        lambda *args: searches.append(args) or search(*args))
    rows = [["2023-01-01", f"Unknown Film Number {i}", "1999", "u", "4"] for i in range(400)]
    rows.append(["2023-01-01", "The Matrix", "1999", "u", "4"])
    report = import_ratings(csv_text(HEADERS["letterboxd"], rows, ",").encode(), MOVIES,
                            matcher=matcher)
    assert report.ratings == {2571: 4.0}
    assert len(searches) == MAX_SUGGESTED_ROWS  # not one fuzzy search per unknown title
    assert sum(bool(row.suggestions) for row in report.unmatched) <= MAX_SUGGESTED_ROWS


def test_matching_needs_no_catalogue_search(monkeypatch):
    movies = add_title_columns(pd.DataFrame({
        "movieId": pd.array([1, 2, 3], dtype="int32"),
        "title": ["Shawshank Redemption, The (1994)", "Star Wars: Episode IV - A New Hope (1977)",
                  "Kill Bill: Vol. 2 (2004)"],
        "genres": ["Drama"] * 3,
    }))
    matcher = TitleMatcher(movies)

    def no_search(*args):
        raise AssertionError("matching must not search the whole catalogue")

    monkeypatch.setattr(matcher._index, "search", no_search)
    assert matcher.match("The Shawshank Redemtion", 1995, suggest=False).movie_id == 1
    assert matcher.match("Star Wars", 1977, suggest=False).movie_id == 2
    assert matcher.match("Kill Bill: Vol. 1", 2004, suggest=False).movie_id is None
    assert matcher.match("Shawshank Redemption", 1990, suggest=False).movie_id is None


def test_utf16_without_bom_is_refused_clearly():
    data = codecs.encode("movieId,rating\n1,4\n", "utf-16-le")
    assert check(data) is None
