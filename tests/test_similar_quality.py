"""``similar`` on ml-latest-small lists what people expect (needs MOVIELENS_DIR).

The thresholds are the figures measured by ``python -m recommender evaluate --sections similar``
(docs/similar.md: franchise recall 0.922, genre share 0.972, blockbuster share 0.100) less a
small margin for BLAS differences between machines.
"""

from __future__ import annotations

import pytest

from recommender.evaluation.similar import (
    BLOCKBUSTERS,
    MIN_RATINGS,
    TOP_QUERIES,
    franchise_recall,
    list_figures,
    load_franchises,
    public,
)
from recommender.models import train

MATRIX, RELOADED, REVOLUTIONS = 2571, 6365, 6934


@pytest.fixture(scope="module")
def default_model(movielens):
    return train(movielens.ratings, movies=movielens.movies)


def test_franchise_recall_and_genre_share_of_the_default_model(movielens, default_model):
    counts = movielens.ratings["movieId"].value_counts()
    eligible = set(counts[counts >= MIN_RATINGS].index.tolist())
    recall, queries = franchise_recall(public(default_model), load_franchises(), eligible)
    assert queries > 400
    assert recall >= 0.90  # 0.32 from collaborative similarity alone
    genres = dict(
        zip(default_model.movie_ids_.tolist(), default_model.genre_bits_.tolist(), strict=True)
    )
    order = counts.index.to_numpy()
    share, blockbuster = list_figures(
        public(default_model), order[:TOP_QUERIES], genres, set(order[:BLOCKBUSTERS].tolist())
    )
    assert share >= 0.95
    assert blockbuster <= 0.20


def test_the_matrix_lists_its_sequels_and_mostly_science_fiction(movielens, default_model):
    found = default_model.similar(MATRIX, n=10)["movieId"].tolist()
    assert {RELOADED, REVOLUTIONS} <= set(found)
    genres = movielens.movies.set_index("movieId").loc[found, "genres"]
    sci_fi_or_action = genres.str.contains("Sci-Fi|Action")
    assert sci_fi_or_action.mean() >= 0.8
