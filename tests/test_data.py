"""Loading MovieLens: real data, both layouts, every kind of bad file, the download path."""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
import tracemalloc
import zipfile
from collections.abc import Callable
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recommender.data import DataError, binary, display_title, download_movielens, load_movielens

MOVIES = (
    "movieId,title,genres\n1,Toy Story (1995),Adventure|Animation\n"
    '2,"Matrix, The (1999)",Action\n'
)
RATINGS = "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,2,5.0,964981247\n2,1,0.5,1\n"


def write(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name.replace("_", ".")).write_text(text, encoding="utf-8")
    return folder


def test_real_ml_latest_small(movielens):
    assert len(movielens.movies) == 9742 and len(movielens.ratings) == 100836
    assert movielens.ratings.dtypes.to_dict() == {
        "userId": np.dtype("int32"), "movieId": np.dtype("int32"),
        "rating": np.dtype("float32"), "timestamp": np.dtype("int64"),
    }
    assert movielens.movies["movieId"].dtype == np.dtype("int32")
    for frame in (movielens.movies, movielens.ratings, movielens.links, movielens.tags):
        assert "object" not in {str(t) for t in frame.dtypes}
    matrix = movielens.movies.set_index("movieId").loc[2571]
    assert matrix["display_title"] == "The Matrix" and matrix["year"] == 1999
    toy = movielens.links.set_index("movieId").loc[1]
    assert toy["imdbId"] == "0114709" and toy["tmdbId"] == 862
    assert movielens.links["tmdbId"].isna().sum() > 0  # nullable, not a float NaN column
    assert str(movielens.links["tmdbId"].dtype) == "Int32"
    assert len(movielens.tags) > 3000


def test_display_title_moves_articles_and_keeps_alternative_titles():
    assert display_title("Godfather: Part II, The") == "The Godfather: Part II"
    assert display_title("Few Good Men, A") == "A Few Good Men"
    assert display_title("City of Lost Children, The (Cité des enfants perdus, La)") == (
        "The City of Lost Children (Cité des enfants perdus, La)"
    )
    assert display_title("Toy Story") == "Toy Story"


def test_minimal_csv_folder_without_links_and_tags(tmp_path):
    folder = write(tmp_path / "ml", movies_csv=MOVIES, ratings_csv=RATINGS)
    data = load_movielens(folder)
    assert data.links.empty and data.tags.empty
    assert list(data.movies["display_title"]) == ["Toy Story", "The Matrix"]
    assert data.ratings["rating"].tolist() == [4.0, 5.0, 0.5]
    assert str(data.links["tmdbId"].dtype) == "Int32"


def test_movielens_dir_environment_variable(tmp_path, monkeypatch):
    folder = write(tmp_path / "ml", movies_csv=MOVIES, ratings_csv=RATINGS)
    monkeypatch.setenv("MOVIELENS_DIR", str(folder))
    assert load_movielens().source == folder


def test_ml_1m_dat_layout_latin1(tmp_path):
    folder = tmp_path / "ml-1m"
    folder.mkdir()
    (folder / "movies.dat").write_bytes(
        "1::Toy Story (1995)::Animation|Children's\n2::Amélie (2001)::Comedy\n".encode("latin-1")
    )
    (folder / "ratings.dat").write_text("1::1::5::978300760\n1::2::3::978302109\n")
    data = load_movielens(folder)
    assert data.movies["title"].tolist()[1] == "Amélie (2001)"
    assert data.ratings["rating"].dtype == np.float32 and data.ratings["userId"].dtype == np.int32
    assert data.ratings["rating"].tolist() == [5.0, 3.0]


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"movies_csv": MOVIES}, r"ratings\.csv: file not found"),
        ({"ratings_csv": RATINGS}, r"movies\.csv: file not found"),
        ({"movies_csv": MOVIES, "ratings_csv": ""}, r"ratings\.csv: file is empty"),
        ({"movies_csv": MOVIES, "ratings_csv": "userId,movieId,rating\n"}, r"no ratings"),
        (
            {"movies_csv": MOVIES, "ratings_csv": "userId,movieId,stars\n1,1,4\n"},
            r"ratings\.csv: missing column\(s\) rating",
        ),
        (
            {"movies_csv": MOVIES, "ratings_csv": "userId,movieId,rating\n1,1,4\n1,2,great\n"},
            r"ratings\.csv, line 3: column 'rating' has value 'great', which is not a number",
        ),
        (
            {"movies_csv": MOVIES, "ratings_csv": "userId,movieId,rating\n1,1,4\n1,2,6\n"},
            r"ratings\.csv, line 3: column 'rating' is 6, not between 0\.5 and 5 in half steps",
        ),
        (
            {"movies_csv": MOVIES, "ratings_csv": "userId,movieId,rating\n1,1,0\n"},
            r"line 2: column 'rating' is 0, not between",
        ),
        (
            {"movies_csv": MOVIES, "ratings_csv": "userId,movieId,rating\n1,1,4\n1,2,\n"},
            r"line 3: column 'rating' is nan, not between",
        ),
        (
            {"movies_csv": MOVIES, "ratings_csv": "userId,movieId,rating\n1,1,4\n2,1,3\n1,1,5\n"},
            r"ratings\.csv, line 4: duplicated \(userId, movieId\): userId=1, movieId=1",
        ),
        (
            {"movies_csv": MOVIES, "ratings_csv": "userId;movieId;rating\n1;1;4\n"},
            r"ratings\.csv: wrong separator ';'",
        ),
        (
            {"movies_csv": MOVIES, "ratings_csv": "userId,movieId,rating\n1,x7,4\n"},
            r"line 2: column 'movieId' has value 'x7', which is not an integer",
        ),
        (
            {"movies_csv": MOVIES, "ratings_csv": "userId,movieId,rating\n1,1,4\n1,99,4\n"},
            r"ratings line 3 refers to movieId 99, which is not in the movies file",
        ),
        (
            {"movies_csv": MOVIES, "ratings_csv": "userId,movieId,rating\n1,1,4\n1,-2,4\n"},
            r"ratings\.csv, line 3: movieId -2 is out of range \(1 to 2147483647\)",
        ),
        (
            {"movies_csv": MOVIES, "ratings_csv": "userId,movieId,rating\n1,1,4.2\n"},
            r"line 2: column 'rating' is 4\.2, not between 0\.5 and 5 in half steps",
        ),
        (
            {"movies_csv": MOVIES, "ratings_csv": "userId,movieId,rating\n1,0,4\n"},
            r"ratings\.csv, line 2: movieId 0 is out of range",
        ),
        (
            {"movies_csv": MOVIES, "ratings_csv": "userId,movieId,rating\n1,3000000000,4\n"},
            r"line 2: column 'movieId' has value '3000000000', which is not an integer from "
            r"-2147483648 to 2147483647",
        ),
        (
            # The first row has a field too many: pandas would shift every column silently.
            {"movies_csv": MOVIES, "ratings_csv": "userId,movieId,rating\n9,1,1,4\n1,2,4\n"},
            r"ratings\.csv, line 2: more fields than the 3 columns of the header",
        ),
        (
            {"movies_csv": MOVIES, "ratings_csv": "userId,movieId,rating\n1,1,4\n1,2,4,7\n"},
            r"ratings\.csv, line 3: 4 fields where the header has 3",
        ),
        (
            {"movies_csv": MOVIES, "ratings_csv": "userId,movieId,rating,rating\n1,1,4,4\n"},
            r"ratings\.csv: column\(s\) 'rating' appear twice",
        ),
        (
            {"movies_csv": MOVIES, "ratings_csv": " userId , movieId,rating\n1,1,4\n"},
            None,  # spaces around the names are fine
        ),
        (
            # An unbalanced quote swallows movies 2 and 3 into one title: blame movies.csv,
            # not the ratings of the swallowed movies.
            {
                "movies_csv": 'movieId,title,genres\n1,Toy Story (1995),Animation\n'
                '2,"Matrix, The (1999),Action\n3,Heat (1995),Action\n4,"Up (2009)",Drama\n',
                "ratings_csv": "userId,movieId,rating\n1,1,4\n1,3,4\n",
            },
            r"movies\.csv, line 3: the entry of movieId 2 runs over several lines; a quote",
        ),
        (
            {"movies_csv": MOVIES + "1,Again (2000),Drama\n", "ratings_csv": RATINGS},
            r"movies\.csv, line 4: duplicated \(movieId\): movieId=1",
        ),
        (
            {"movies_csv": MOVIES, "ratings_csv": RATINGS, "links_csv": "movieId,tmdb\n1,2\n"},
            r"links\.csv: missing column\(s\) imdbId",
        ),
    ],
)
def test_bad_files_raise_a_clear_error(tmp_path, files, expected):
    folder = write(tmp_path / "ml", **files)
    if expected is None:
        assert len(load_movielens(folder).ratings) == 1
        return
    with pytest.raises(DataError, match=expected):
        load_movielens(folder)


def test_missing_folder_says_how_to_fix(tmp_path):
    with pytest.raises(DataError, match="MOVIELENS_DIR"):
        load_movielens(tmp_path / "nowhere")


def test_a_negative_movie_id_in_a_large_file_is_a_data_error(tmp_path, monkeypatch):
    monkeypatch.setattr(binary, "BINARY_CACHE_MIN_BYTES", 1)  # the binary-copy path
    folder = write(tmp_path / "ml", movies_csv=MOVIES, ratings_csv=RATINGS + "3,-2,4.0,1\n")
    with pytest.raises(DataError, match=r"ratings\.csv, line 5: movieId -2 is out of range"):
        load_movielens(folder, cache_dir=tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("ratings-*"))  # nothing half-checked is kept


# --- files the operating system or the decoder refuses ------------------------------------


def test_a_latin1_movies_file_names_the_file_line_and_encoding(tmp_path):
    folder = write(tmp_path / "ml", ratings_csv=RATINGS)
    (folder / "movies.csv").write_bytes(
        (MOVIES + "3,Amélie (2001),Comedy\n").encode("latin-1")
    )
    with pytest.raises(DataError, match=r"movies\.csv, line 4: not UTF-8 text \(byte 0xe9\)"):
        load_movielens(folder)


def test_non_utf8_bytes_in_ratings_are_a_data_error(tmp_path):
    folder = write(tmp_path / "ml", movies_csv=MOVIES)
    (folder / "ratings.csv").write_bytes(b"userId,movieId,rating\n1,1,4\n1,2,\xff\n")
    with pytest.raises(DataError, match=r"ratings\.csv, line 3: not UTF-8 text \(byte 0xff\)"):
        load_movielens(folder)


@pytest.mark.parametrize("name", ["movies.csv", "ratings.csv", "links.csv", "tags.csv"])
def test_a_folder_in_place_of_a_file_is_a_data_error(tmp_path, name):
    folder = write(tmp_path / "ml", movies_csv=MOVIES, ratings_csv=RATINGS)
    (folder / name).unlink(missing_ok=True)
    (folder / name).mkdir()
    with pytest.raises(DataError, match=rf"{name}: is a folder, not a file"):
        load_movielens(folder)


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="needs Linux /proc")
def test_a_file_that_fails_to_read_is_a_data_error(tmp_path):
    # Reading /proc/self/mem at offset 0 fails with EIO, even for root (whom chmod 000 would
    # not stop): a real read error, no mock.
    folder = write(tmp_path / "ml", movies_csv=MOVIES)
    (folder / "ratings.csv").symlink_to("/proc/self/mem")
    with pytest.raises(DataError, match=r"ratings\.csv: cannot be read \(Input/output error\)"):
        load_movielens(folder)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file whatever its permissions")
def test_an_unreadable_file_is_a_data_error(tmp_path):
    folder = write(tmp_path / "ml", movies_csv=MOVIES, ratings_csv=RATINGS)
    (folder / "ratings.csv").chmod(0)
    with pytest.raises(DataError, match=r"ratings\.csv: cannot be read \(Permission denied\)"):
        load_movielens(folder)


def test_an_unwritable_cache_costs_only_the_binary_copy(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(binary, "BINARY_CACHE_MIN_BYTES", 1)
    folder = write(tmp_path / "ml", movies_csv=MOVIES, ratings_csv=RATINGS)
    cache = tmp_path / "cache"
    cache.write_text("a file where the cache folder should be")
    data = load_movielens(folder, cache_dir=cache)
    assert data.ratings["rating"].tolist() == [4.0, 5.0, 0.5]
    assert "Could not save a binary copy" in caplog.text


def test_the_cli_prints_one_error_line_for_bad_data(tmp_path, capsys):
    from recommender.__main__ import main

    folder = write(tmp_path / "ml", ratings_csv=RATINGS)
    (folder / "movies.csv").write_bytes(MOVIES.replace("Toy", "Toÿ").encode("latin-1"))
    assert main(["recommend", "--movielens-dir", str(folder), "--ratings", "1=5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "not UTF-8" in err[0]


# --- ids never size an array ---------------------------------------------------------------

HUGE = 2**31 - 1


@pytest.mark.parametrize("copy", [False, True])
def test_a_huge_movie_id_costs_no_memory(tmp_path, monkeypatch, copy):
    monkeypatch.setattr(binary, "BINARY_CACHE_MIN_BYTES", 1 if copy else 10**12)
    folder = write(
        tmp_path / "ml",
        movies_csv=MOVIES + f"{HUGE},Huge (2020),Drama\n",
        ratings_csv=RATINGS + f"3,{HUGE},3.5,1\n4,{HUGE},4.5,1\n",
    )
    load_movielens(folder, cache_dir=tmp_path / "cache")  # writes the copy (when copy=True)
    tracemalloc.start()
    try:
        data = load_movielens(folder, cache_dir=tmp_path / "cache")
        stats = data.movie_stats
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Indexing totals by movieId would allocate 2**31 * 8 bytes per array (16 GiB).
    assert peak < 20_000_000
    assert data.totals.ids.tolist() == [1, 2, HUGE] and len(data.totals.counts) == 3
    assert stats.loc[HUGE, "n_ratings"] == 2 and stats.loc[HUGE, "mean_rating"] == 4.0
    assert stats.loc[1, "n_ratings"] == 2 and stats.loc[1, "mean_rating"] == 2.25


# --- the binary copy -------------------------------------------------------------------------


def test_large_ratings_get_a_binary_copy_that_loads_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr(binary, "BINARY_CACHE_MIN_BYTES", 1)
    folder = write(tmp_path / "ml", movies_csv=MOVIES, ratings_csv=RATINGS)
    cache = tmp_path / "cache"
    first = load_movielens(folder, cache_dir=cache)
    copies = list(cache.glob("ratings-*"))
    assert len(copies) == 1
    second = load_movielens(folder, cache_dir=cache)
    pd.testing.assert_frame_equal(first.ratings, second.ratings)
    # What the copy saves (per-movie totals, the fingerprint) equals what the CSV gives.
    monkeypatch.setattr(binary, "BINARY_CACHE_MIN_BYTES", 10**12)
    parsed = load_movielens(folder, cache_dir=tmp_path / "no-copy")
    assert parsed.totals is not None and parsed.ratings_hash is None
    pd.testing.assert_frame_equal(second.movie_stats, parsed.movie_stats)
    assert second.fingerprint == parsed.fingerprint
    monkeypatch.setattr(binary, "BINARY_CACHE_MIN_BYTES", 1)
    # A damaged copy (any of its files) is ignored and rewritten, never trusted or fatal.
    for name in ("rating.npy", "movie_counts.npy", "manifest.json"):
        (copies[0] / name).write_bytes(b"\x93NUMPY truncated")
        again = load_movielens(folder, cache_dir=cache)
        pd.testing.assert_frame_equal(again.ratings, first.ratings)
        pd.testing.assert_frame_equal(again.movie_stats, parsed.movie_stats)
        assert again.fingerprint == parsed.fingerprint
        rewritten = load_movielens(folder, cache_dir=cache)  # from the copy written again
        assert rewritten.ratings_hash == parsed.fingerprint
    # A changed file must not be served from the stale copy.
    (folder / "ratings.csv").write_text(RATINGS + "3,2,2.5,5\n")
    third = load_movielens(folder, cache_dir=cache)
    assert len(third.ratings) == 4
    assert third.movie_stats.loc[2, "n_ratings"] == parsed.movie_stats.loc[2, "n_ratings"] + 1


def set_value(column: str, value, row: int = -1) -> Callable[[Path], None]:
    def damage(copy: Path) -> None:
        array = np.load(copy / f"{column}.npy", mmap_mode="r+")
        assert array[row] != value
        array[row] = value
        array.flush()

    return damage


def swap(first: str, second: str) -> Callable[[Path], None]:
    def damage(copy: Path) -> None:
        a, b = copy / f"{first}.npy", copy / f"{second}.npy"
        a.rename(copy / "swap")
        b.rename(a)
        (copy / "swap").rename(b)

    return damage


def edit_manifest(copy: Path) -> None:
    manifest = copy / "manifest.json"
    text = manifest.read_text()
    fingerprint = json.loads(text)["fingerprint"]
    manifest.write_text(text.replace(fingerprint, fingerprint[::-1]))  # same size


@pytest.mark.parametrize(
    "damage",
    [
        set_value("rating", 99.0),
        set_value("rating", np.nan),
        set_value("rating", 4.2),
        set_value("movieId", 12345),  # not in movies.csv
        set_value("userId", 2),  # (2, 1) twice: a duplicated (userId, movieId)
        set_value("timestamp", -1),
        set_value("movie_counts", 7),
        set_value("movie_sums", 1e9),
        set_value("movie_ids", 3),
        swap("userId", "movieId"),
        swap("movie_counts", "movie_sums"),
        edit_manifest,
    ],
    ids=[
        "rating-99", "rating-nan", "rating-4.2", "unknown-movieId", "duplicate-pair",
        "timestamp", "counts", "sums", "totals-ids", "swapped-columns", "swapped-totals",
        "manifest-fingerprint",
    ],
)
def test_a_damaged_copy_of_the_same_size_is_rebuilt(tmp_path, monkeypatch, caplog, damage):
    monkeypatch.setattr(binary, "BINARY_CACHE_MIN_BYTES", 1)
    ratings = RATINGS + "3,2,3.5,7\n4,1,2.0,8\n"
    folder = write(tmp_path / "ml", movies_csv=MOVIES, ratings_csv=ratings)
    cache = tmp_path / "cache"
    load_movielens(folder, cache_dir=cache)
    (copy,) = cache.glob("ratings-*")
    sizes = {f.name: f.stat().st_size for f in copy.iterdir()}
    damage(copy)
    assert {f.name: f.stat().st_size for f in copy.iterdir()} == sizes

    caplog.clear()
    served = load_movielens(folder, cache_dir=cache)
    assert "Ignoring damaged binary copy" in caplog.text
    monkeypatch.setattr(binary, "BINARY_CACHE_MIN_BYTES", 10**12)
    plain = load_movielens(folder, cache_dir=tmp_path / "no-copy")
    pd.testing.assert_frame_equal(served.ratings, plain.ratings)
    pd.testing.assert_frame_equal(served.movie_stats, plain.movie_stats)
    assert served.fingerprint == plain.fingerprint
    # The copy was written again, and the next start trusts it.
    monkeypatch.setattr(binary, "BINARY_CACHE_MIN_BYTES", 1)
    caplog.clear()
    again = load_movielens(folder, cache_dir=cache)
    assert "Ignoring" not in caplog.text and again.ratings_hash == plain.fingerprint
    pd.testing.assert_frame_equal(again.ratings, plain.ratings)


# --- download ------------------------------------------------------------------------------


def make_zip(ratings: str = RATINGS) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ml-latest-small/movies.csv", MOVIES)
        archive.writestr("ml-latest-small/ratings.csv", ratings)
        archive.writestr("ml-latest-small/README.txt", "test data")
    return buffer.getvalue()


@pytest.fixture
def file_server(tmp_path):
    """Serve tmp_path/www over HTTP on 127.0.0.1; yields (base URL, folder, request log)."""
    root = tmp_path / "www"
    root.mkdir()
    requests_seen: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            requests_seen.append(self.path)

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", root, requests_seen
    server.shutdown()
    server.server_close()


def test_download_verifies_and_unpacks(file_server, tmp_path):
    base, root, _ = file_server
    payload = make_zip()
    (root / "ml-latest-small.zip").write_bytes(payload)
    (root / "ml-latest-small.zip.md5").write_text(hashlib.md5(payload).hexdigest() + "\n")
    progress = []
    folder = download_movielens(
        tmp_path / "cache", url=f"{base}/ml-latest-small.zip",
        progress=lambda done, total: progress.append((done, total)),
    )
    assert folder == tmp_path / "cache" / "ml-latest-small"
    assert load_movielens(folder).ratings["rating"].tolist() == [4.0, 5.0, 0.5]
    assert progress[-1] == (len(payload), len(payload))
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["ml-latest-small"]


def test_load_without_folder_downloads_once(file_server, tmp_path, monkeypatch):
    base, root, seen = file_server
    (root / "ml-latest-small.zip").write_bytes(make_zip())
    monkeypatch.delenv("MOVIELENS_DIR", raising=False)
    monkeypatch.setenv("MOVIELENS_URL", f"{base}/ml-latest-small.zip")
    first = load_movielens(cache_dir=tmp_path / "c", progress=lambda *_: None)
    downloads = seen.count("/ml-latest-small.zip")
    second = load_movielens(cache_dir=tmp_path / "c", progress=lambda *_: None)
    assert downloads == 1 and seen.count("/ml-latest-small.zip") == 1
    assert first.source == second.source


def test_corrupt_download_leaves_nothing_behind(file_server, tmp_path):
    base, root, _ = file_server
    (root / "ml-latest-small.zip").write_bytes(make_zip())
    (root / "ml-latest-small.zip.md5").write_text("0" * 32)
    with pytest.raises(DataError, match="MD5 does not match"):
        download_movielens(tmp_path / "c", url=f"{base}/ml-latest-small.zip", progress=print)
    assert not (tmp_path / "c" / "ml-latest-small").exists()


def test_not_a_zip_is_refused(file_server, tmp_path):
    base, root, _ = file_server
    (root / "ml-latest-small.zip").write_bytes(b"<html>not found</html>")
    with pytest.raises(DataError, match="not a valid zip"):
        download_movielens(tmp_path / "c", url=f"{base}/ml-latest-small.zip", progress=print)
    assert list((tmp_path / "c").iterdir()) == []


def test_offline_gives_one_clear_error(tmp_path, monkeypatch):
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.delenv("MOVIELENS_DIR", raising=False)
    monkeypatch.setenv("MOVIELENS_URL", f"http://127.0.0.1:{port}/ml-latest-small.zip")
    with pytest.raises(DataError, match=r"Could not download MovieLens.*MOVIELENS_DIR"):
        load_movielens(cache_dir=tmp_path / "c")
