"""Title search: quality on real MovieLens titles, behaviour on small synthetic catalogues."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from recommender.data import load_movielens
from recommender.search import TitleIndex, normalise, title_parts

# --- real data: the expected movie must come first -----------------------------------------

QUALITY_CASES = [
    # typos, case, punctuation
    ("forest gump", 356),  # Forrest Gump (1994)
    ("PULP FICTION", 296),
    ("shawshank redemtion", 318),  # Shawshank Redemption, The (1994)
    ("jurrasic park", 480),
    ("interstelar", 109487),
    ("the dark night", 58559),  # Dark Knight, The (2008)
    ("schindlers list", 527),
    ("monsters inc", 4886),  # Monsters, Inc. (2001)
    ("leon the professional", 293),  # Léon: The Professional (a.k.a. ...) (Léon) (1994)
    # articles, missing or moved
    ("matrix", 2571),  # Matrix, The (1999)
    ("the matrix", 2571),
    ("matrix, the", 2571),
    ("the dark knight", 58559),
    ("usual suspects", 50),
    ("silence of the lambs", 593),
    # accents and alternative titles
    ("amelie", 4973),  # Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)
    ("amélie", 4973),
    ("Fabuleux destin d'Amélie Poulain", 4973),
    ("le fabuleux destin d amelie poulain", 4973),
    ("se7en", 47),  # Seven (a.k.a. Se7en) (1995)
    ("harry potter and the philosopher's stone", 4896),  # ... (a.k.a. ... Philosopher's Stone)
    ("harry potter and the sorcerers stone", 4896),
    ("spirited away", 5618),  # Spirited Away (Sen to Chihiro no kamikakushi) (2001)
    ("la vita e bella", 2324),  # Life Is Beautiful (La Vita è bella) (1997)
    ("wall-e", 60069),  # WALL·E (2008)
    ("walle", 60069),
    ("spiderman", 5349),  # Spider-Man (2002)
    # sequels and numbers
    ("godfather 2", 1221),  # Godfather: Part II, The (1974)
    ("godfather part ii", 1221),
    ("the godfather", 858),
    ("terminator 2", 589),  # Terminator 2: Judgment Day (1991)
    ("terminator", 1240),  # Terminator, The (1984)
    ("toy story 3", 78499),
    ("toy story", 1),
    ("back to the future part iii", 2012),
    ("back to the future 2", 2011),
    ("kill bill vol 2", 7438),
    ("star wars 5", 1196),  # Star Wars: Episode V - The Empire Strikes Back (1980)
    ("deathly hallows part 2", 88125),
    ("2001 a space odyssey", 924),  # a title starting with a year-like number
    ("1984", 2117),  # 1984 (Nineteen Eighty-Four) (1984)
    # a year in the query picks between remakes
    ("heat 1995", 6),
    ("hamlet 1996", 1411),
    ("king kong 2005", 41569),
    ("king kong 1933", 2366),
    ("les miserables 2012", 99149),
    ("godfather 1972", 858),
    # equal text: the popular one first
    ("ghostbusters", 2716),  # before Ghostbusters (2016)
    ("star wars", 260),  # Episode IV - A New Hope
    ("harry potter", 4896),
    ("indiana jones", 1198),  # Raiders of the Lost Ark (Indiana Jones and the ...)
    # beginnings and parts of titles
    ("lord of the r", 4993),  # Lord of the Rings: The Fellowship of the Ring, The (2001)
    ("lotr fellowship", 4993),
    ("shawshank", 318),
    ("eternal sunshine", 7361),
    ("empire strikes back", 1196),
    ("return of the king", 7153),
    ("pirates of the caribean", 6539),
    ("Matrix, The (1999)", 2571),  # a pasted MovieLens title
]


@pytest.fixture(scope="module")
def real_index() -> TitleIndex:
    folder = os.environ.get("MOVIELENS_DIR")
    if not folder:
        pytest.skip("MOVIELENS_DIR is not set (point it at ml-latest-small to run this test)")
    data = load_movielens(folder)
    return TitleIndex(data.movies, data.movie_stats["n_ratings"])


@pytest.mark.parametrize(("query", "expected"), QUALITY_CASES)
def test_search_quality(real_index: TitleIndex, query: str, expected: int) -> None:
    results = real_index.search(query, limit=5)
    assert not results.empty, f"{query!r} found nothing"
    assert results["movieId"].iloc[0] == expected, (
        f"{query!r}: expected movieId {expected} first, got\n{results.to_string()}"
    )


def test_real_catalogue_gibberish_and_weak_matches_are_left_out(real_index: TitleIndex) -> None:
    assert real_index.search("xyzzy qwerty").empty
    found = real_index.search("forest gump", limit=10)
    assert found["movieId"].iloc[0] == 356 and (found["score"] >= 50).all()


def test_real_catalogue_sequels_rank_below_the_exact_title(real_index: TitleIndex) -> None:
    ids = real_index.search("toy story", limit=3)["movieId"].tolist()
    assert ids == [1, 3114, 78499]  # Toy Story, then 2 and 3


def test_real_catalogue_prefix_finds_every_part(real_index: TitleIndex) -> None:
    ids = set(real_index.search("lord of the r", limit=4)["movieId"])
    assert {4993, 5952, 7153} <= ids  # all three Peter Jackson films


# --- synthetic catalogues --------------------------------------------------------------------


def catalogue(titles: list[str], counts: list[int] | None = None):
    movies = pd.DataFrame({"movieId": np.arange(1, len(titles) + 1, dtype="int32") * 10,
                           "title": pd.array(titles, dtype="string")})
    popularity = None
    if counts is not None:
        popularity = pd.Series(counts, index=movies["movieId"], name="n_ratings")
    return movies, popularity


FILLER = [
    "Heat (1995)", "Heat, The (2013)", "In the Heat of the Night (1967)", "Hamlet (1948)",
    "Hamlet (1990)", "Hamlet (1996)", "Hamlet 2 (2008)", "Godfather, The (1972)",
    "Godfather: Part II, The (1974)", "Godfather: Part III, The (1990)",
    "Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)", "Matrix, The (1999)",
    "Matrix Reloaded, The (2003)", "Seven (a.k.a. Se7en) (1995)", "Pokemon Heroes (2003)",
    "Cafe Society (2016)", "Lord of the Rings: The Two Towers, The (2002)",
    "Lord of the Flies (1963)", "WALL·E (2008)", "Wall Street (1987)",
]


@pytest.fixture(scope="module")
def small() -> TitleIndex:
    movies, popularity = catalogue(FILLER, counts=list(range(len(FILLER), 0, -1)))
    return TitleIndex(movies, popularity)


def first(index: TitleIndex, query: str) -> str:
    results = index.search(query, limit=3)
    assert not results.empty, query
    return results["title"].iloc[0]


@pytest.mark.parametrize("query", ["matrix", "the matrix", "Matrix, The", "MATRIX!"])
def test_articles_missing_moved_or_present(small: TitleIndex, query: str) -> None:
    assert first(small, query) == "Matrix, The (1999)"


@pytest.mark.parametrize(("query", "title"), [
    ("amelie", "Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)"),  # plain query, accents
    ("AMÉLIE", "Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)"),
    ("pokémon heroes", "Pokemon Heroes (2003)"),  # accented query, plain title
    ("café society", "Cafe Society (2016)"),
])
def test_accents_fold_both_ways(small: TitleIndex, query: str, title: str) -> None:
    assert first(small, query) == title


@pytest.mark.parametrize(("query", "title"), [
    ("fabuleux destin d'amelie poulain", "Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)"),
    ("se7en", "Seven (a.k.a. Se7en) (1995)"),
    ("godfather 2", "Godfather: Part II, The (1974)"),
    ("godfather part iii", "Godfather: Part III, The (1990)"),
    ("godfather 3", "Godfather: Part III, The (1990)"),
    ("godfathr", "Godfather, The (1972)"),
    ("lord of the r", "Lord of the Rings: The Two Towers, The (2002)"),
    ("walle", "WALL·E (2008)"),
    ("wall e", "WALL·E (2008)"),
])
def test_variants_numbers_typos_and_prefixes(small: TitleIndex, query: str, title: str) -> None:
    assert first(small, query) == title


def test_year_in_query_boosts_that_year() -> None:
    movies, _ = catalogue(["Hamlet (1948)", "Hamlet (1990)", "Hamlet (1996)", "Hamlet (2000)"])
    # Popularity favours 1948, so only the year can bring another version first.
    index = TitleIndex(movies, pd.Series([500, 10, 10, 10], index=movies["movieId"]))
    assert first(index, "hamlet") == "Hamlet (1948)"
    for year in ("1990", "1996", "2000"):
        assert first(index, f"hamlet {year}") == f"Hamlet ({year})"
    # An unknown year changes nothing, and it is not searched as text.
    assert first(index, "hamlet 1977") == "Hamlet (1948)"


def test_year_column_is_used_when_present() -> None:
    movies = pd.DataFrame({"movieId": [1, 2], "title": ["Heat", "Heat"], "year": [1986, 1995]})
    assert TitleIndex(movies).search("heat 1995")["movieId"].iloc[0] == 2


def test_popularity_breaks_ties_between_equal_titles() -> None:
    titles = ["Ghostbusters (1984)", "Ghostbusters (2016)"]
    for counts, expected in (([300, 20], titles[0]), ([20, 300], titles[1])):
        movies, popularity = catalogue(titles, counts)
        results = TitleIndex(movies, popularity).search("ghostbusters")
        assert results["title"].tolist()[0] == expected
        assert results["score"].iloc[0] > results["score"].iloc[1]


def test_popularity_does_not_beat_a_better_text_match() -> None:
    movies, popularity = catalogue(["Heat (1995)", "In the Heat of the Night (1967)"], [1, 10_000])
    assert first(TitleIndex(movies, popularity), "heat") == "Heat (1995)"


def test_result_columns_dtypes_order_and_range(small: TitleIndex) -> None:
    results = small.search("hamlet 1996", limit=10)
    assert list(results.columns) == ["movieId", "title", "score"]
    assert pd.api.types.is_integer_dtype(results["movieId"])
    assert pd.api.types.is_float_dtype(results["score"])
    assert pd.api.types.is_string_dtype(results["title"])
    assert results["movieId"].is_unique
    assert results["score"].is_monotonic_decreasing
    assert results["score"].between(0, 100).all()
    assert set(results["title"]) <= set(FILLER)  # the original MovieLens titles


def test_limit_is_respected(small: TitleIndex) -> None:
    assert len(small.search("h", limit=3)) == 3
    assert len(small.search("hamlet", limit=2)) == 2
    assert len(small.search("hamlet", limit=100)) >= 4
    assert small.search("hamlet", limit=0).empty


@pytest.mark.parametrize("query", ["", "   ", "\t\n", None])
def test_empty_query_gives_empty_frame_with_columns(small: TitleIndex, query) -> None:
    results = small.search(query)
    assert results.empty
    assert list(results.columns) == ["movieId", "title", "score"]
    assert pd.api.types.is_integer_dtype(results["movieId"])
    assert pd.api.types.is_float_dtype(results["score"])


@pytest.mark.parametrize("query", [
    "!!!", "...", "(.*)[", "\\", "^$|+?{}", "🎬🍿", "x" * 1000, "hamlet " * 150,
    "the", "a", "2", "1995", "part", "\x00",
])
def test_odd_queries_do_not_crash(small: TitleIndex, query: str) -> None:
    results = small.search(query)
    assert list(results.columns) == ["movieId", "title", "score"]
    assert len(results) <= 10


def test_nothing_similar_finds_nothing(small: TitleIndex) -> None:
    assert small.search("qqzzxxvv").empty


def test_catalogue_edge_cases() -> None:
    movies = pd.DataFrame({"movieId": [1, 2, 3],
                           "title": pd.array(["Heat (1995)", None, "(1999)"], dtype="string")})
    index = TitleIndex(movies)  # no popularity, a missing title, a title that is only a year
    assert index.search("heat")["movieId"].tolist() == [1]
    assert TitleIndex(movies.iloc[:0]).search("heat").empty


def test_normalise() -> None:
    assert normalise("Amélie") == "amelie"
    assert normalise("The Matrix") == "matrix"
    assert normalise("Godfather: Part II") == "godfather 2"
    assert normalise("Back to the Future Part III") == "back to the future 3"
    assert normalise("Star Wars: Episode I - The Phantom Menace") == (
        "star wars episode 1 the phantom menace"
    )
    assert normalise("Harry Potter and the Philosopher's Stone") == (
        "harry potter and the philosophers stone"
    )
    assert normalise("Wallace & Gromit") == "wallace and gromit"
    assert normalise("WALL·E") == "wall e"
    assert normalise("WALL·E", join=True) == "walle"
    assert normalise("L.A. Confidential") == "la confidential"
    assert normalise("I, Robot") == "i robot"  # a lone "I" is not a numeral


def test_title_parts() -> None:
    assert title_parts("Seven (a.k.a. Se7en) (1995)") == ["Seven", "Se7en"]
    assert title_parts("Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)") == [
        "Amelie", "Fabuleux destin d'Amélie Poulain, Le",
    ]
    assert title_parts("(500) Days of Summer (2009)") == ["(500) Days of Summer"]
    assert title_parts("Sherlock (2010- )") == ["Sherlock"]
    assert title_parts("Babylon 5") == ["Babylon 5"]
