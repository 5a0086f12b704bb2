"""Taste groups, seed profiles, user clusters and the movie map."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender import DEFAULT_ALGORITHM, train
from recommender.tastes import (
    TasteGroup,
    movie_groups,
    movie_map,
    movie_map_chart,
    seed_profile,
    user_taste_groups,
)
from tests.conftest import two_taste_groups

A, B = set(range(1, 21)), set(range(101, 121))
GENRES = ["Animation|Comedy", "Horror", "Western", "Romance|Drama"]


def four_taste_groups(seed: int = 2) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Four disjoint groups of 30 users and 20 movies (ids 1.., 101.., 201.., 301..)."""
    rng = np.random.default_rng(seed)
    rows = []
    for group in range(4):
        for u in range(30):
            for m in rng.choice(20, size=10, replace=False):
                rows.append((group * 1000 + u + 1, group * 100 + 1 + int(m),
                             float(rng.choice([3.5, 4.0, 4.5, 5.0]))))
    ratings = pd.DataFrame(rows, columns=["userId", "movieId", "rating"])
    ids = sorted(ratings["movieId"].unique())
    movies = pd.DataFrame({"movieId": ids, "genres": [GENRES[m // 100] for m in ids]})
    return ratings, movies


@pytest.fixture(scope="module")
def groups_data():
    ratings, movies = two_taste_groups(users_per_group=40)
    movies = movies.copy()
    movies.loc[movies["movieId"].isin([1, 2, 3, 4]), "genres"] = "Animation|Comedy|Children"
    # Three A movies carry a tag, so the A group can be named after it.
    tags = pd.DataFrame({
        "userId": [1, 2, 3, 4, 5],
        "movieId": [1, 2, 3, 3, 101],
        "tag": ["Pixar", "pixar", "PIXAR ", "funny", "gore"],
    })
    return ratings, movies, tags


@pytest.fixture(scope="module")
def als(groups_data):
    ratings, movies, _ = groups_data
    return train(ratings, "als", movies=movies, factors=8)


def test_movie_groups_separate_the_tastes_and_are_named_after_them(als, groups_data):
    _, movies, tags = groups_data
    groups = movie_groups(als, movies, tags, k=2, per_group=5, min_ratings=5)
    assert len(groups) == 2 and all(isinstance(g, TasteGroup) for g in groups)
    by_side = {("A" if set(g.movie_ids) <= A else "B" if set(g.movie_ids) <= B else "?"): g
               for g in groups}
    assert set(by_side) == {"A", "B"}
    assert "Horror" in by_side["B"].name and by_side["B"].genres == ["Horror"]
    assert by_side["A"].genres == ["Animation"]  # the most over-represented genre first
    assert_names_describe_the_movies_shown(groups, movies)
    # Children is on 4 of 20 A movies (< 25 %); pixar on 3 of 20 is only twice as common
    # there as in the catalogue (a tag needs three times); gore is on a single movie.
    assert "Children" not in by_side["A"].genres
    assert by_side["A"].tags == [] and by_side["B"].tags == []
    for group in groups:
        assert 1 <= len(group.movie_ids) <= 5 and group.size >= len(group.movie_ids)
        counts = dict(zip(als.movie_ids_, als.n_ratings_, strict=True))
        assert all(counts[m] >= 5 for m in group.movie_ids)
        # Representatives come most-rated first.
        assert [counts[m] for m in group.movie_ids] == sorted(
            (counts[m] for m in group.movie_ids), reverse=True
        )


def test_over_represented_tags_are_listed_but_never_named():
    ratings, movies = four_taste_groups()
    model = train(ratings, "als", factors=8)
    tags = pd.DataFrame({
        "userId": [1, 2, 3, 4, 5],
        "movieId": [1, 2, 3, 3, 201],
        "tag": ["Pixar", "pixar", "PIXAR ", "funny", "dusty"],
    })
    groups = movie_groups(model, movies, tags, k=4, per_group=3, min_ratings=5)
    names = {g.genres[0]: g for g in groups}
    assert set(names) == {"Animation", "Horror", "Western", "Drama"}
    # pixar: 3 of 20 Animation movies and no others (lift 4) -> named, lower-cased.
    assert names["Animation"].tags == ["pixar"]
    # Free-text tags can be crude: names use genres, decades and a well-known title only.
    assert all("pixar" not in g.name and "funny" not in g.name for g in groups)
    assert names["Western"].tags == []  # "dusty" is on one Western only: too few


def assert_names_describe_the_movies_shown(groups: list[TasteGroup], movies: pd.DataFrame):
    """Every genre a group's name gives is on every movie it shows, every movie shown falls in
    the name's decade (or before 1980 for "Classics"), and no name contains another's."""
    info = movies.drop_duplicates("movieId").set_index("movieId")
    for group in groups:
        assert group.name == " · ".join(group.genres + group.decades)
        for movie_id in group.movie_ids:
            genres, year = info.loc[movie_id, "genres"].split("|"), info.loc[movie_id, "year"]
            assert set(group.genres) <= set(genres), (group.name, info.loc[movie_id, "title"])
            for era in group.decades:
                fits = year < 1980 if era == "Classics" else int(year) // 10 * 10 == int(era[:4])
                assert fits, (group.name, info.loc[movie_id, "title"])
    labels = [frozenset(g.genres + g.decades) for g in groups]
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            assert not (a <= b or b <= a), (a, b)  # "Comedy" beside "Comedy · 1990s"


@pytest.mark.parametrize("algorithm", ["als", DEFAULT_ALGORITHM])
def test_movie_groups_on_movielens_are_named_after_the_movies_they_show(movielens, algorithm):
    model = train(movielens.ratings, algorithm, movies=movielens.movies)
    first = movie_groups(model, movielens.movies, movielens.tags, k=12, per_group=6)
    again = movie_groups(model, movielens.movies, movielens.tags, k=12, per_group=6)
    assert first == again
    assert 8 <= len(first) <= 12 and len({g.name for g in first}) == len(first)
    assert all(len(g.movie_ids) == 6 for g in first)
    shown = [m for g in first for m in g.movie_ids]
    assert len(shown) == len(set(shown))
    assert_names_describe_the_movies_shown(first, movielens.movies)
    other_seed = movie_groups(model, movielens.movies, k=12, random_state=1)
    assert {frozenset(g.movie_ids) for g in other_seed} != {frozenset(g.movie_ids) for g in first}


def test_a_cluster_whose_every_name_is_taken_is_left_out():
    ratings, movies = four_taste_groups()
    movies["genres"] = "Horror"  # four clusters, one true name: "Horror"
    model = train(ratings, "als", factors=8)
    groups = movie_groups(model, movies, k=4, per_group=3, min_ratings=5)
    assert [g.name for g in groups] == ["Horror"]


def test_seed_profile_rates_the_representatives_of_picked_groups(als, groups_data):
    _, movies, tags = groups_data
    groups = movie_groups(als, movies, tags, k=2, per_group=4, min_ratings=5)
    profile = seed_profile(groups[:1])
    assert profile == {m: 4.5 for m in groups[0].movie_ids}
    both = seed_profile(groups, rating=5.0, per_group=2)
    assert len(both) == 4 and set(both.values()) == {5.0}
    with pytest.raises(ValueError, match="between 0.5 and 5 in half steps"):
        seed_profile(groups, rating=6.0)
    with pytest.raises(ValueError, match="rating 4.2 is not"):  # not a half step
        seed_profile(groups, rating=4.2)
    with pytest.raises(ValueError, match="not a number"):
        seed_profile(groups, rating="4.5")
    # The seeded profile steers recommendations towards the picked group's side.
    side = A if set(groups[0].movie_ids) <= A else B
    assert set(als.recommend(profile, n=5)["movieId"]) <= side


def test_user_taste_groups_split_the_two_groups_of_users(als):
    labels = user_taste_groups(als, k=2)
    assert isinstance(labels, pd.Series) and labels.index.name == "userId"
    assert list(labels.index) == sorted(labels.index) and len(labels) == len(als.user_ids_)
    group_a, group_b = labels[labels.index < 1000], labels[labels.index > 1000]
    assert group_a.nunique() == 1 and group_b.nunique() == 1
    assert group_a.iloc[0] != group_b.iloc[0]
    pd.testing.assert_series_equal(labels, user_taste_groups(als, k=2))


@pytest.mark.parametrize("method", ["pca", "tsne"])
def test_movie_map_has_one_row_per_well_known_movie(als, groups_data, method):
    _, movies, _ = groups_data
    frame = movie_map(als, movies, method=method, min_ratings=5)
    assert list(frame.columns) == ["movieId", "x", "y", "title", "genre", "n_ratings"]
    counts = dict(zip(als.movie_ids_, als.n_ratings_, strict=True))
    expected = {m for m, n in counts.items() if n >= 5}
    assert set(frame["movieId"]) == expected and len(frame) == len(expected)
    assert np.isfinite(frame[["x", "y"]].to_numpy()).all()
    assert frame["n_ratings"].is_monotonic_decreasing
    genre = dict(zip(frame["movieId"], frame["genre"], strict=True))
    # The rarest of a movie's genres: Children (4 movies) before Animation or Comedy (20).
    assert genre[1] == "Children" and genre[5] == "Animation" and genre[101] == "Horror"
    assert frame.loc[frame["movieId"] == 1, "title"].item() == "Movie 1 (1991)"
    pd.testing.assert_frame_equal(frame, movie_map(als, movies, method=method, min_ratings=5))


def test_movie_map_places_the_two_groups_apart(als, groups_data):
    _, movies, _ = groups_data
    frame = movie_map(als, movies, min_ratings=5).set_index("movieId")
    a, b = frame.loc[frame.index < 100, ["x", "y"]], frame.loc[frame.index > 100, ["x", "y"]]
    gap = np.linalg.norm(a.mean().to_numpy() - b.mean().to_numpy())
    spread = max(a.std().max(), b.std().max())
    assert gap > 2 * spread


def test_movie_map_chart_highlights_rated_movies_and_picks(als, groups_data):
    _, movies, _ = groups_data
    frame = movie_map(als, movies, min_ratings=5)
    chart = movie_map_chart(frame, highlight_rated=[1, 2, 424_242], highlight_picks=[5])
    spec = chart.to_dict()
    layers = spec["layer"]
    assert len(layers) == 3

    def rows(layer: dict) -> list[dict]:  # Altair may move inline data to "datasets"
        data = layer["data"]
        return data["values"] if "values" in data else spec["datasets"][data["name"]]

    roles = [{row["role"] for row in rows(layer)} for layer in layers]
    assert roles[1] == {"you rated"} and roles[2] == {"recommended"}
    assert {row["movieId"] for row in rows(layers[1])} == {1, 2}
    assert len(rows(layers[0])) == len(frame)
    assert layers[0]["encoding"]["color"]["field"] == "genre"
    assert any(t["field"] == "title" for t in layers[0]["encoding"]["tooltip"])
    # Every tooltip row has a label; "marked as" only where a point is marked.
    for layer in layers:
        assert all(t.get("title", t["field"]).strip() for t in layer["encoding"]["tooltip"])
    assert [t["field"] for t in layers[0]["encoding"]["tooltip"]] == ["title", "genre",
                                                                       "n_ratings"]
    assert layers[1]["encoding"]["tooltip"][-1] == {"field": "role", "title": "marked as",
                                                    "type": "nominal"}
    plain = movie_map_chart(frame).to_dict()
    assert len(plain["layer"]) == 1
    # A large catalogue is not stopped by Altair's 5,000-row guard for DataFrames.
    big = pd.concat([frame] * (6000 // len(frame) + 1), ignore_index=True)
    assert movie_map_chart(big).to_dict()


def test_models_without_movie_vectors_are_refused(groups_data):
    ratings, movies, _ = groups_data
    popularity = train(ratings, "popularity")
    with pytest.raises(TypeError, match="factor model"):
        movie_groups(popularity, movies)
    with pytest.raises(TypeError, match="factor model"):
        movie_map(popularity, movies)
    with pytest.raises(TypeError, match="user vectors"):
        user_taste_groups(popularity)
    with pytest.raises(ValueError, match="method"):
        movie_map(train(ratings, "als", factors=4), movies, method="umap")


@pytest.mark.parametrize("algorithm", ["nmf", "biased-mf", "hybrid"])
def test_every_factor_model_gives_groups_and_a_map(groups_data, algorithm):
    ratings, movies, tags = groups_data
    model = train(ratings, algorithm, movies=movies)
    groups = movie_groups(model, movies, tags, k=3, per_group=3, min_ratings=5)
    assert len(groups) == 3 and len({g.name for g in groups}) == 3
    assert len(movie_map(model, movies, min_ratings=5)) > 0
