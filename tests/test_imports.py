"""Rating import (IMDb, Letterboxd, MovieLens CSV, own export), export, and hard input."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from recommender.data import add_title_columns
from recommender.imports import (
    MAX_IMPORT_BYTES,
    ImportReport,
    RatingsImportError,
    TitleMatcher,
    export_ratings,
    import_ratings,
)
from recommender.profiles import ProfileStore

FIXTURES = Path(__file__).parent / "fixtures" / "imports"

CATALOGUE = [  # (movieId, MovieLens title, imdbId)
    (1, "Toy Story (1995)", "0114709"),
    (2, "Jumanji (1995)", "0113497"),
    (6, "Heat (1995)", "0113277"),
    (47, "Seven (a.k.a. Se7en) (1995)", "0114369"),
    (260, "Star Wars: Episode IV - A New Hope (1977)", "0076759"),
    (1196, "Star Wars: Episode V - The Empire Strikes Back (1980)", "0080684"),
    (1200, "Aliens (1986)", "0090605"),
    (1214, "Alien (1979)", "0078748"),
    (2256, "Parasite (1982)", "0084472"),
    (2571, "Matrix, The (1999)", "0133093"),
    (4973, "Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)", "0211915"),
    (4993, "Lord of the Rings: The Fellowship of the Ring, The (2001)", "0120737"),
    (9001, '=HYPERLINK("http://evil.example","click") (2010)', "12345678"),
    (9002, "-Minus (2011)", "2000001"),
    (9003, "@home (2012)", "2000002"),
    (9004, "+1 (2013)", "2000003"),
]


@pytest.fixture(scope="module")
def movies() -> pd.DataFrame:
    frame = pd.DataFrame({
        "movieId": pd.array([m for m, _, _ in CATALOGUE], dtype="int32"),
        "title": [t for _, t, _ in CATALOGUE],
        "genres": ["Drama"] * len(CATALOGUE),
    })
    return add_title_columns(frame)


@pytest.fixture(scope="module")
def links() -> pd.DataFrame:
    return pd.DataFrame({
        "movieId": pd.array([m for m, _, _ in CATALOGUE], dtype="int32"),
        "imdbId": pd.array([i for _, _, i in CATALOGUE], dtype="string"),
        "tmdbId": pd.array([None] * len(CATALOGUE), dtype="Int32"),
    })


@pytest.fixture(scope="module")
def matcher(movies) -> TitleMatcher:
    return TitleMatcher(movies)


def run(data: bytes | str, movies, links=None) -> ImportReport:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return import_ratings(data, movies, links)


def refused(data: bytes | str, movies, links=None) -> str:
    with pytest.raises(RatingsImportError) as raised:
        run(data, movies, links)
    return str(raised.value)


def by_line(report: ImportReport) -> dict[int, object]:
    return {row.line: row for row in report.unmatched}


# --- IMDb --------------------------------------------------------------------------------


def test_imdb_current_export(movies, links):
    report = import_ratings(FIXTURES / "imdb_ratings.csv", movies, links)
    assert report.format == "imdb" and report.format_name == "IMDb ratings export"
    assert report.ratings == {2571: 4.5, 1: 5.0, 260: 0.5, 4973: 3.5}
    assert (report.rows_read, report.matched, report.unmatched_count, report.duplicates) == (
        7, 4, 3, 0)
    rows = by_line(report)
    assert "TV series" in rows[4].reason and "skipped" in rows[4].reason
    assert "TV episode" in rows[5].reason
    assert rows[4].suggestions == ()
    parasite = rows[7]
    assert parasite.title == "Parasite" and parasite.year == 2019 and parasite.rating == 4.0
    assert "tt6751668" in parasite.reason and "not in the catalogue" in parasite.reason
    assert (2256, "Parasite (1982)") in parasite.suggestions
    assert len(parasite.suggestions) <= 3
    assert any("halved" in m for m in report.messages)
    assert any("TV series" in m for m in report.messages)


def test_imdb_older_export_with_lowercase_title_types(movies, links):
    report = import_ratings(FIXTURES / "imdb_ratings_old.csv", movies, links)
    assert report.format == "imdb"
    assert report.ratings == {2571: 4.0, 6: 3.0, 1214: 2.5}
    reasons = [row.reason for row in report.unmatched]
    assert len(reasons) == 2 and all("not a movie" in r for r in reasons)


def test_imdb_title_in_the_catalogue_is_matched_whatever_its_type(movies, links):
    # MovieLens lists a few TV films and mini-series; its links decide, not IMDb's type.
    text = "Const,Your Rating,Title,Year,Title Type\ntt0133093,8,The Matrix,1999,TV Mini Series\n"
    assert run(text, movies, links).ratings == {2571: 4.0}


def test_imdb_rating_scale_covers_1_to_10(movies, links):
    rows = "\n".join(
        f"tt{imdb},{score},Title {score},Movie,2000"
        for score, imdb in zip(range(1, 11), [i for _, _, i in CATALOGUE], strict=False)
    )
    report = run("Const,Your Rating,Title,Title Type,Year\n" + rows, movies, links)
    assert sorted(report.ratings.values()) == [s / 2 for s in range(1, 11)]


def test_imdb_bad_ratings_are_unmatched_rows(movies, links):
    text = (
        "Const,Your Rating,Title,Year,Title Type\n"
        "tt0133093,11,The Matrix,1999,Movie\n"
        "tt0114709,0,Toy Story,1995,Movie\n"
        "tt0113277,7.5,Heat,1995,Movie\n"
        "tt0078748,,Alien,1979,Movie\n"
        "tt0090605,8,Aliens,1986,Movie\n"
        "nonsense,8,Whatever,1990,Movie\n"
    )
    report = run(text, movies, links)
    assert report.ratings == {1200: 4.0}
    rows = by_line(report)
    assert "'11'" in rows[2].reason and "1 to 10" in rows[2].reason and rows[2].rating is None
    assert "'0'" in rows[3].reason
    assert "'7.5'" in rows[4].reason
    assert rows[5].reason == "no rating"
    assert "not an IMDb id" in rows[7].reason and rows[7].rating == 4.0


def test_imdb_without_links_matches_by_title_and_year(movies):
    text = (
        "Const,Your Rating,Title,Year,Title Type\n"
        "tt0133093,8,The Matrix,1999,movie\n"
        "tt6751668,9,Parasite,2019,movie\n"
    )
    report = run(text, movies, links=None)
    assert report.ratings == {2571: 4.0}
    assert report.unmatched[0].suggestions[0] == (2256, "Parasite (1982)")


def test_imdb_eight_digit_ids_and_duplicates_by_date(movies, links):
    text = (
        "Const,Your Rating,Date Rated,Title,Year,Title Type\n"
        "tt12345678,6,2024-01-02,Formula,2010,Movie\n"
        "tt0133093,2,2024-06-01,The Matrix,1999,Movie\n"
        "tt0133093,10,2020-06-01,The Matrix,1999,Movie\n"
    )
    report = run(text, movies, links)
    assert report.ratings == {9001: 3.0, 2571: 1.0}  # the 2024 rating beats the later row
    assert report.duplicates == 1 and report.matched == 3
    assert any("duplicate" in m and "latest" in m and "date" in m for m in report.messages)


# --- Letterboxd --------------------------------------------------------------------------


def test_letterboxd_ratings(movies, links):
    report = import_ratings(FIXTURES / "letterboxd_ratings.csv", movies, links)
    assert report.format == "letterboxd"
    assert report.ratings == {
        2571: 4.5,  # "The Matrix" -> "Matrix, The"
        47: 5.0,  # alternative title in brackets
        4973: 4.0,  # accent
        260: 3.5,  # subtitle missing on Letterboxd
        6: 4.0,  # a year off
        4993: 0.5,  # moved article in the file
    }
    rows = by_line(report)
    parasite, alien = rows[7], rows[8]
    assert parasite.title == "Parasite" and parasite.rating == 5.0
    assert "1982" in parasite.reason  # the catalogue's Parasite is another film
    assert (2256, "Parasite (1982)") in parasite.suggestions
    # "Alien" from 1986 must not become "Aliens" (1986): one letter is a different film.
    assert alien.rating == 2.5 and alien.suggestions
    assert 1200 not in report.ratings


def test_letterboxd_diary_latest_rating_wins_by_date(movies, links):
    report = import_ratings(FIXTURES / "letterboxd_diary.csv", movies, links)
    assert report.ratings == {2571: 3.0, 1: 4.0}
    assert report.duplicates == 2 and report.matched == 4 and report.rows_read == 5
    assert by_line(report)[5].reason == "no rating"
    assert any("2 duplicate" in m and "latest rating wins" in m and "by date" in m
               for m in report.messages)


def test_letterboxd_bad_ratings_and_missing_year(movies, links):
    text = (
        "Date,Name,Year,Letterboxd URI,Rating\n"
        "2023-01-01,The Matrix,1999,https://boxd.it/a,7\n"
        "2023-01-01,Toy Story,1995,https://boxd.it/b,4.3\n"
        "2023-01-01,Heat,,https://boxd.it/c,4\n"
        "2023-01-01,Jumanji,1995,https://boxd.it/d,4,5\n"  # extra cell: reads the first
    )
    report = run(text, movies, links)
    rows = by_line(report)
    assert "outside 0.5-5" in rows[2].reason and rows[2].rating is None
    assert "outside" in rows[3].reason
    assert "no year" in rows[4].reason and rows[4].suggestions[0][0] == 6
    assert report.ratings == {2: 4.0}


def test_title_matching_tolerates_typos_in_long_titles_but_not_in_numbers():
    movies = add_title_columns(pd.DataFrame({
        "movieId": pd.array([1, 2], dtype="int32"),
        "title": ["Kill Bill: Vol. 2 (2004)", "Shawshank Redemption, The (1994)"],
        "genres": ["Action", "Drama"],
    }))
    matcher = TitleMatcher(movies)
    assert matcher.match("The Shawshank Redemtion", 1994).movie_id == 2
    assert matcher.match("Kill Bill: Vol. 2", 2004).movie_id == 1
    missing = matcher.match("Kill Bill: Vol. 1", 2003)
    assert missing.movie_id is None and missing.suggestions[0] == (1, "Kill Bill: Vol. 2 (2004)")


def test_matcher_can_be_shared(movies, links, matcher):
    text = "Date,Name,Year,Letterboxd URI,Rating\n2023-01-01,Matrix,1999,x,4\n"
    report = import_ratings(text.encode(), movies, links, matcher=matcher)
    assert report.ratings == {2571: 4.0}
    assert matcher.match("The Matrix", 2000).movie_id == 2571
    assert matcher.match("The Matrix", 2001).movie_id is None
    assert matcher.label(2571) == "The Matrix (1999)"


# --- MovieLens-style and own export ------------------------------------------------------


def test_movielens_style(movies, links):
    text = (
        "userId,movieId,rating,timestamp\n"
        "7,1,4.0,964982703\n"
        "7,2571,5.0,964981247\n"
        "7,1,2.5,964980000\n"  # older timestamp: loses to the first row
        "7,999999,3.0,964982224\n"
        "7,abc,3.0,964982224\n"
    )
    report = run(text, movies, links)
    assert report.format == "movielens"
    assert report.ratings == {1: 4.0, 2571: 5.0}
    assert report.duplicates == 1
    rows = by_line(report)
    assert "not in the catalogue" in rows[5].reason and rows[5].rating == 3.0
    assert "not a number" in rows[6].reason


def test_movielens_two_columns_duplicates_by_row_order(movies):
    report = run("movieId,rating\n1,4\n1,2\n2,3.5\n", movies)
    assert report.ratings == {1: 2.0, 2: 3.5}
    assert any("by order in the file" in m for m in report.messages)


def test_whole_movielens_ratings_file_is_refused(movies):
    message = refused("userId,movieId,rating\n1,1,4\n2,1,3\n", movies)
    assert "2 users" in message


def test_export_columns_and_values(movies, links):
    data = export_ratings({2571: 4.5, 1: 3, 123456: 2.0}, movies, links)
    assert isinstance(data, bytes)
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
    assert list(rows[0]) == ["title", "year", "movieId", "imdbId", "rating"]
    assert rows[0] == {"title": "The Matrix", "year": "1999", "movieId": "2571",
                       "imdbId": "0133093", "rating": "4.5"}
    assert rows[1]["rating"] == "3.0"
    assert rows[2] == {"title": "", "year": "", "movieId": "123456", "imdbId": "",
                       "rating": "2.0"}  # unknown movie: kept, not dropped


def test_export_escapes_spreadsheet_formulas(movies, links):
    data = export_ratings({9001: 1.0, 9002: 2.0, 9003: 3.0, 9004: 4.0, 1: 5.0}, movies, links)
    titles = [row["title"] for row in csv.DictReader(io.StringIO(data.decode()))]
    assert titles == ["'=HYPERLINK(\"http://evil.example\",\"click\")", "'-Minus", "'@home",
                      "'+1", "Toy Story"]
    cells = [cell for row in csv.reader(io.StringIO(data.decode())) for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)


def test_export_reimports_to_the_same_ratings(movies, links):
    ratings = {2571: 4.5, 1: 0.5, 9001: 3.0, 9002: 5.0, 4973: 2.0, 47: 1.5}
    report = run(export_ratings(ratings, movies, links), movies, links)
    assert report.format == "export"
    assert report.ratings == ratings
    assert report.unmatched == [] and report.duplicates == 0


def test_export_moves_to_another_catalogue_by_imdb_id_or_title(movies, links):
    ratings = {2571: 4.5, 4973: 2.0, 47: 1.5}
    data = export_ratings(ratings, movies, links)
    # The same films under other movieIds (another catalogue), one without a link.
    other_movies = movies.assign(movieId=(movies["movieId"] + 100_000).astype("int32"))
    other_links = links.assign(movieId=(links["movieId"] + 100_000).astype("int32"))
    other_links = other_links[other_links["movieId"] != 100_047]
    report = run(data, other_movies, other_links)
    assert report.ratings == {102571: 4.5, 104973: 2.0, 100047: 1.5}


def test_export_rejects_invalid_ratings(movies, links):
    with pytest.raises(ValueError, match="movieId 1"):
        export_ratings({1: 6.0}, movies, links)


def test_import_then_save_to_a_profile(tmp_path, movies, links):
    store = ProfileStore(tmp_path / "p.sqlite3")
    token = store.create({6: 1.0})
    report = import_ratings(FIXTURES / "imdb_ratings.csv", movies, links)
    assert store.ratings(token) == {6: 1.0}  # importing alone changes nothing
    store.add_many(token, report.ratings)
    assert store.ratings(token) == {6: 1.0, **report.ratings}
    again = run(export_ratings(store.ratings(token), movies, links), movies, links)
    assert again.ratings == store.ratings(token)


# --- inputs ------------------------------------------------------------------------------


def test_accepts_path_str_bytes_and_file_objects(movies, links):
    path = FIXTURES / "letterboxd_ratings.csv"
    expected = import_ratings(path, movies, links).ratings
    assert import_ratings(str(path), movies, links).ratings == expected
    assert import_ratings(path.read_bytes(), movies, links).ratings == expected
    assert import_ratings(bytearray(path.read_bytes()), movies, links).ratings == expected
    upload = io.BytesIO(path.read_bytes())
    upload.read()  # the app may have read it already: import reads from the start
    assert import_ratings(upload, movies, links).ratings == expected
    with open(path, "rb") as handle:
        assert import_ratings(handle, movies, links).ratings == expected


def test_semicolon_and_tab_separated_files(movies):
    assert run("movieId;rating\n1;4,5\n", movies).ratings == {1: 4.5}
    assert run("movieId\trating\n1\t4.5\n", movies).ratings == {1: 4.5}


def test_columns_are_read_by_name_in_any_order_and_case(movies, links):
    text = "TITLE TYPE, year ,YOUR RATING,Title,CONST\nMovie,1999,6,The Matrix,tt0133093\n"
    assert run(text, movies, links).ratings == {2571: 3.0}


def test_blank_lines_and_quoted_newlines(movies):
    text = ('\n\nDate,Name,Year,Letterboxd URI,Rating\n\n"2023-01-01","Toy\nStory",'
            "1995,x,4\n\n2023-01-02,Heat,1995,y,3\n2023-01-02,Nope,1995,y,3\n")
    report = run(text, movies)
    assert report.rows_read == 3
    assert report.ratings == {1: 4.0, 6: 3.0}
    assert [row.line for row in report.unmatched] == [9]  # lines as an editor shows them


# --- hard input --------------------------------------------------------------------------


def test_too_big(tmp_path, movies):
    big = b"movieId,rating\n" + b"1,4\n" * (MAX_IMPORT_BYTES // 4 + 1)
    assert len(big) > MAX_IMPORT_BYTES
    assert "5 MB" in refused(big, movies)
    path = tmp_path / "big.csv"
    path.write_bytes(big)
    with pytest.raises(RatingsImportError, match="limit is 5 MB"):
        import_ratings(path, movies)
    with pytest.raises(RatingsImportError, match="limit is 5 MB"):
        import_ratings(io.BytesIO(big), movies)


@pytest.mark.parametrize("data", [b"", b"   \r\n\n  ", "\ufeff".encode()])
def test_empty(movies, data):
    assert "empty" in refused(data, movies)


def test_header_without_rows(movies):
    assert "no rows" in refused("Date,Name,Year,Letterboxd URI,Rating\n", movies)


def test_unrecognised_columns_name_the_expected_formats(movies):
    message = refused("foo,bar\n1,2\n", movies)
    assert "'foo'" in message and "'bar'" in message
    for expected in ("IMDb", "Your Rating", "Letterboxd", "movieId", "exported from this app"):
        assert expected in message


def test_rating_less_lists_get_specific_advice(movies):
    assert "Your Ratings" in refused("Const,Title,Year\ntt0133093,The Matrix,1999\n", movies)
    watched = "Date,Name,Year,Letterboxd URI\n2023-01-01,The Matrix,1999,https://boxd.it/x\n"
    assert "ratings.csv" in refused(watched, movies)


def test_nothing_valid_refuses_the_whole_file(movies, links):
    message = refused("movieId,rating\n1,7\n2,0\n6,\n", movies)
    assert "valid rating" in message and "line 2" in message and "Nothing was imported" in message
    # Valid ratings that match no movie are not an error: the report lists them.
    report = run("movieId,rating\n99999,4\n", movies)
    assert report.ratings == {} and report.unmatched_count == 1


def test_zip_and_excel_files_are_refused(movies):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ratings.csv", "movieId,rating\n1,4\n")
    assert "ZIP archive" in refused(buffer.getvalue(), movies)
    workbook = io.BytesIO()
    with zipfile.ZipFile(workbook, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
    assert "Excel" in refused(workbook.getvalue(), movies)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "PNG"),
        (b"%PDF-1.7\n...", "PDF"),
        (b"\x1f\x8b\x08\x00" + bytes(20), "gzip"),
        (b"SQLite format 3\x00" + bytes(100), "SQLite"),
        (b"movieId,rating\n1,4\n\x00\x00\x00", "binary"),
        (bytes(range(1, 32)) * 50, "not readable text"),
    ],
)
def test_binary_disguised_as_csv_is_refused(movies, data, words):
    assert words in refused(data, movies)


def test_latin1_and_windows_1252_files_are_read(movies, links):
    text = "Date,Name,Year,Letterboxd URI,Rating\n2023-01-16,Amélie,2001,x,4\n"
    smart_quotes = text + "2023-01-17,Se7en “director’s cut”,1995,y,3\n"
    for data in (text.encode("latin-1"), smart_quotes.encode("cp1252")):
        report = run(data, movies, links)
        assert report.ratings[4973] == 4.0
        assert report.encoding == "cp1252"
        assert any("not UTF-8" in m and "Windows-1252 (Latin-1)" in m for m in report.messages)
    # Bytes that Windows-1252 leaves undefined (0x81) still read as Latin-1.
    latin_only = text.encode("latin-1") + b"2023-01-18,Heat\x81,1995,z,3\n"
    report = run(latin_only, movies, links)
    assert report.encoding == "latin-1" and report.ratings[4973] == 4.0


def test_utf8_bom_and_utf16_files_are_read(movies, links):
    text = "Date,Name,Year,Letterboxd URI,Rating\n2023-01-16,Amélie,2001,x,4\n"
    for data in (text.encode("utf-8-sig"), text.encode("utf-16")):
        report = run(data, movies, links)
        assert report.format == "letterboxd" and report.ratings == {4973: 4.0}
    assert run(text.encode("utf-8-sig"), movies).messages[1:] == []


def test_malformed_csv_names_the_line(movies):
    # A field beyond the csv module's limit (131072 characters) is reported, not crashed on.
    huge_field = 'movieId,rating\n1,4\n2,"' + "x" * 200_000 + '"\n'
    assert "line" in refused(huge_field, movies)


def test_unmatched_frame(movies, links):
    report = import_ratings(FIXTURES / "letterboxd_ratings.csv", movies, links)
    frame = report.unmatched_frame()
    assert list(frame.columns) == ["line", "title", "year", "rating", "reason", "suggestions"]
    assert frame["title"].tolist() == ["Parasite", "Alien"]
    assert "Parasite (1982)" in frame["suggestions"].iloc[0]


# --- real data ---------------------------------------------------------------------------


def test_real_catalogue_imdb_and_letterboxd(movielens):
    imdb = (
        "Const,Your Rating,Title,Year,Title Type\n"
        "tt0114709,8,Toy Story,1995,Movie\n"
        "tt0133093,10,The Matrix,1999,Movie\n"
        "tt0903747,10,Breaking Bad,2008,TV Series\n"
    )
    report = run(imdb, movielens.movies, movielens.links)
    assert report.ratings == {1: 4.0, 2571: 5.0}
    letterboxd = (
        "Date,Name,Year,Letterboxd URI,Rating\n"
        "2023-01-01,Léon: The Professional,1994,a,5\n"
        "2023-01-01,Se7en,1995,b,4.5\n"
        "2023-01-01,Harry Potter and the Philosopher's Stone,2001,c,3\n"
        "2023-01-01,Birdman or (The Unexpected Virtue of Ignorance),2014,d,4\n"
        "2023-01-01,The Good, the Bad and the Ugly,1966,e,5\n"  # unquoted comma: bad row
        '2023-01-01,"The Good, the Bad and the Ugly",1966,e,5\n'
        "2023-01-01,Star Wars,1977,f,5\n"
        "2023-01-01,WALL·E,2008,g,4\n"
        "2023-01-01,Heat,1986,h,4\n"
    )
    report = run(letterboxd, movielens.movies, movielens.links)
    assert report.ratings == {293: 5.0, 47: 4.5, 4896: 3.0, 112183: 4.0, 1201: 5.0, 260: 5.0,
                              60069: 4.0}
    assert {row.line for row in report.unmatched} == {6, 10}
