"""Content signals of ``similar``: title series, the blend with collaborative scores, storage."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recommender.models import Vocabulary, content, load_model, load_or_train, train
from tests.conftest import two_taste_groups


def test_series_groups_sequels_and_keeps_namesakes_apart():
    titles = [
        "Toy Story (1995)",
        "Toy Story 2 (1999)",
        "Matrix, The (1999)",
        "Matrix Reloaded, The (2003)",
        "Star Trek II: The Wrath of Khan (1982)",
        "Star Trek: First Contact (1996)",
        "Star Wars: Episode IV - A New Hope (1977)",
        "Star Wars: Episode V - The Empire Strikes Back (1980)",
        "Indiana Jones and the Last Crusade (1989)",
        "Raiders of the Lost Ark (Indiana Jones and the Raiders of the Lost Ark) (1981)",
        "Heat (1995)",
        "Casablanca (1942)",
    ]
    series = content.series_ids(titles)
    same = lambda a, b: series[a] >= 0 and series[a] == series[b]  # noqa: E731
    assert same(0, 1) and same(2, 3) and same(4, 5) and same(6, 7) and same(8, 9)
    assert not same(4, 6) and not same(0, 2)
    assert series[10] == series[11] == -1  # shares nothing with another title


def test_title_tokens_drop_years_and_split_numbers():
    assert content.title_tokens("Alien³ (a.k.a. Alien 3) (1992)") == ["alien", "3"]
    assert content.main_title(content.title_tokens("Back to the Future Part II (1989)")) == (
        "back",
        "future",
    )


def test_title_vectors_match_rare_shared_words_and_ignore_numbers_and_articles():
    titles = [
        "Bourne Identity, The (2002)",
        "Jason Bourne (2016)",
        "Meet the Fockers (2004)",
        "Little Fockers (2010)",
        "The Man Who Knew Too Little (1997)",
        "Toy Story 2 (1999)",
        "Heat 2 (2000)",
    ]
    matrix = content.title_vectors(titles)
    cosine = (matrix @ matrix.T).toarray()
    assert cosine[0, 1] > 0.2 and cosine[2, 3] > 0.2
    assert cosine[0, 2] == 0 and cosine[5, 6] == 0  # "2" and "the" name no series
    assert np.allclose(np.diag(cosine), 1.0)
    rows = matrix.tocsr()
    for movie in range(len(titles)):
        assert np.allclose(content.title_similarity(rows, rows.tocsc(), movie), cosine[movie])


def test_blend_puts_a_sequel_first_when_collaborative_signal_is_equal():
    cf = np.array([9.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0], dtype=np.float32)
    series = np.array([7, -1, 7, -1, -1, -1, -1], dtype=np.int32)
    genres = np.zeros(7, dtype=np.int64)
    years = np.zeros(7, dtype=np.int16)
    scores = content.blend(cf, 0, series, genres, years)
    scores[0] = -np.inf
    assert int(np.argmax(scores)) == 2
    # Without content the three are tied; the scale is median 0, best 1.
    plain = content.blend(cf, 0, series, genres, years, weights=content.Weights(0, 0, 0, title=0))
    assert plain[1] == plain[2] == plain[3] == pytest.approx(1.0)


def test_blend_keeps_movies_the_model_never_recommends_out():
    cf = np.array([1.0, -np.inf, 0.5, 0.2], dtype=np.float32)
    series = np.array([1, 1, -1, -1], dtype=np.int32)
    scores = content.blend(cf, 0, series, np.ones(4, np.int64), np.full(4, 2000, np.int16))
    assert np.isneginf(scores[1]) and np.isfinite(scores[2:]).all()


def _sequel_data():
    """Movie 1's raters rate 2, 3 and 4 alike; only 3 is its sequel ("Alpha 2")."""
    rows = [(u, m, 4.0) for u in range(1, 21) for m in (1, 2, 3, 4)]
    rows += [(u, 5, 3.0) for u in range(21, 30)]
    ratings = pd.DataFrame(rows, columns=["userId", "movieId", "rating"])
    movies = pd.DataFrame({
        "movieId": [1, 2, 3, 4, 5],
        "title": ["Alpha (2000)", "Beta (2000)", "Alpha 2 (2000)", "Gamma (2000)", "Delta (1950)"],
        "genres": ["Comedy", "Comedy", "Comedy", "Horror", "Horror"],
        "year": [2000, 2000, 2000, 2000, 1950],
    })
    return ratings, movies


def test_similar_ranks_the_sequel_first_and_honours_the_genre_filter():
    ratings, movies = _sequel_data()
    model = train(ratings, "popularity", movies=movies)
    assert model.similar(1, n=3)["movieId"].tolist()[0] == 3
    horror = model.similar(1, n=3, genres=["Horror"])["movieId"].tolist()
    assert horror and set(horror) <= {4, 5}
    # Trained without movies, the model ranks by co-ratings alone: a three-way tie.
    plain = train(ratings, "popularity").similar(1, n=3)
    assert set(plain["movieId"]) == {2, 3, 4} and plain["score"].nunique() == 1


@pytest.mark.parametrize(
    ("algorithm", "params"), [("hybrid", {"als__iterations": 3}), ("als", {"iterations": 3})]
)
def test_saved_model_gives_identical_similar_lists(tmp_path, algorithm, params):
    ratings, movies = two_taste_groups()
    movies["title"] = [f"Film {m % 7} (1999)" for m in movies["movieId"]]
    model = train(ratings, algorithm, movies=movies, **params)
    assert (model.series_ >= 0).all()  # "Film 3" shares its title with other movies
    model.save(tmp_path / "model")
    loaded = load_model(tmp_path / "model")
    assert (np.asarray(loaded.series_) == model.series_).all()
    for movie in (1, 5, 101):
        pd.testing.assert_frame_equal(model.similar(movie, n=8), loaded.similar(movie, n=8))


def test_a_model_saved_before_series_loads_without_them(tmp_path):
    ratings, movies = _sequel_data()
    train(ratings, "popularity", movies=movies).save(tmp_path / "model")
    manifest = json.loads((tmp_path / "model" / "model.json").read_text())
    for name in Vocabulary.OPTIONAL_ARRAYS:
        (tmp_path / "model" / manifest["arrays"].pop(name)["file"]).unlink()
    (tmp_path / "model" / "model.json").write_text(json.dumps(manifest))
    loaded = load_model(tmp_path / "model")
    assert (loaded.series_ == -1).all()
    assert not loaded.vocabulary_.title_similarity(0).any()
    assert loaded.similar(1, n=3)["movieId"].tolist()  # still answers, without the series


def test_load_or_train_retrains_when_titles_change(tmp_path):
    ratings, movies = _sequel_data()
    first = load_or_train(ratings, "popularity", movies=movies, cache_dir=tmp_path)
    assert first.similar(1, n=1)["movieId"].tolist() == [3]  # "Alpha 2"
    renamed = movies.assign(title=movies["title"].str.replace("Alpha 2", "Omega"))
    second = load_or_train(ratings, "popularity", movies=renamed, cache_dir=tmp_path)
    assert second.series_[2] == -1 and len(list((tmp_path / "models").iterdir())) == 2
