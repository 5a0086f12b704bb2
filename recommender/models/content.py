"""Content signals for ``similar``: the same title series, title words, genres and years.

Collaborative similarity alone ("people who rated X also rated Y") fills "Because you watched
The Matrix" with other well-liked films of its time (Saving Private Ryan, Fight Club) rather
than the Matrix sequels and science fiction that people expect. :func:`blend` adds what the
movies themselves share to a model's collaborative scores:

* the same **series**: titles with the same leading words ("Toy Story 2", "Shrek the Third",
  "Star Trek: First Contact"), see :func:`series_ids`; or the same TMDB collection where the
  movies table has a ``collection`` column;
* rare **title words** in common (cosine of TF-IDF rows, :func:`title_vectors`): "Jason
  Bourne" and "The Bourne Identity", "Meet the Fockers" and "Little Fockers";
* **genres** (Jaccard overlap of the genre sets);
* **years** (closeness ``exp(−|Δyear| / year_scale)``).

User tags are left out: in ml-latest-small a third of the 575 franchise movies used as
queries have a tag, and only 96 (17 %) share one with a sibling; passing tags in would also
change every model's ``fit`` signature for little.

Collaborative scores are put on a common scale first (median 0, most similar movie 1, over
the movies the model can recommend), so one set of weights suits every family. Movies the
model never recommends (score −inf) stay out: content only reorders what collaborative
filtering already knows.

The weights were measured, not guessed: ``python -m recommender.evaluation.similar --tune``
grid-searches them for the default model on ml-latest-small, scoring franchise recall on one
half of the hand-made franchise list (recommender/evaluation/franchises.csv, split by a hash
of the names; the list is the judge and never read here), checking it on the other half, and
scoring the genre share of the 300 most-rated movies' lists. Selected rows (series, genre,
year, title → recall tune / check, genre share):

* 0, 0, 0, 0 (collaborative only) → 0.354 / 0.291, 0.806
* 1, 0.5, 0.1, 0 → 0.818 / 0.818, 0.946 (before title words)
* 1, 0.5, 0.1, 1 → 0.868 / 0.927, 0.942; 1, 0.5, 0.1, 2 → 0.880 / 0.953, 0.917;
  1, 0.5, 0.1, 3 → 0.869 / 0.955, 0.880 (title words crowd out the genre)
* 1, 0.75, 0.1, 1.5 → 0.884 / 0.947, 0.965; **1, 1, 0.1, 2 → 0.892 / 0.956, 0.972** (chosen)
* 1, 1, 0.1, 2.5 → 0.890 / 0.963, 0.959; 1, 1.25, 0.1, 2.5 → 0.889 / 0.959, 0.973
* 0.5 or 2, 0.5, 0.1, 1 → 0.872 / 0.922 and 0.868 / 0.927; year 0.25 → 0.888 / 0.953

Also tried and dropped: adding the co-rating Jaccard (co-raters / max(n, n')) to
1, 0.75, 0.1, 1.5 lowers tune recall (0.882, 0.879, 0.871 at weights 0.5, 1, 2).
The year weight is kept small, as a tie-breaker between otherwise equal candidates.
docs/similar.md has every model's figures.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

# Words that never start or identify a series ("The Lord of the Rings" -> "lord rings").
_STOPWORDS = frozenset(
    {
        "the", "a", "an", "of", "and", "to", "in", "on", "at", "for", "with", "from", "by", "or",
        "v", "vs", "la", "le", "les", "el", "los", "las", "il", "der", "die", "das"
    }
)
_NUMBER_WORDS = frozenset(
    {
        "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
        "thirteen", "second", "third", "final", "ii", "iii", "iv", "vi", "vii", "viii", "ix", "x",
        "xi", "xii"
    }
)
_MARKERS = frozenset(["part", "chapter", "episode", "vol", "volume", "returns"])
_PARENTHESES = re.compile(r"\([^)]*\)")
_TOKEN = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Weights:
    """How much each content signal adds to a rescaled collaborative similarity."""

    series: float = 1.0
    genre: float = 1.0
    year: float = 0.1
    year_scale: float = 10.0
    title: float = 2.0


WEIGHTS = Weights()
# A one-word main title ("Rocky") starts a series only when at most this many titles start with
# that word; ml-latest-small has 3 to 19 for Matrix, Alien, Rocky and Batman, dozens for "Last".
MAX_FIRST_WORD_TITLES = 20


def title_tokens(title: str) -> list[str]:
    """Lower-case word tokens of a MovieLens title without its year and alternate titles.

    ``"Matrix Reloaded, The (2003)"`` -> ``["matrix", "reloaded"]``; ``"Alien³ (a.k.a. Alien 3)
    (1992)"`` -> ``["alien", "3"]``; ``"Ocean's Eleven"`` -> ``["oceans", "eleven"]``.
    """
    text = unicodedata.normalize("NFKD", str(title))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = _PARENTHESES.sub(" ", text).replace("'", "").replace("&", " and ")
    # "Alien3" (from the superscript in "Alien³") and "X2" are a name and a number.
    text = re.sub(r"(?<=[a-z])(?=\d)", " ", text)
    return _TOKEN.findall(text)


def main_title(tokens: Sequence[str]) -> tuple[str, ...]:
    """The significant words before the first sequel marker.

    A marker is a number (``2``, ``II``, ``Eleven``) after the first word, or a word such as
    "part" or "episode"; articles and prepositions are dropped. "Toy Story 2" and "Toy Story"
    both give ``("toy", "story")``; "Back to the Future Part II" gives ``("back", "future")``.
    """
    words: list[str] = []
    for i, token in enumerate(tokens):
        if i and (token.isdigit() or token in _NUMBER_WORDS or token in _MARKERS):
            break
        if token not in _STOPWORDS:
            words.append(token)
    return tuple(words)


def alternate_titles(title: str) -> list[str]:
    """The title and the alternate titles MovieLens gives in parentheses, years left out.

    ``"Road Warrior, The (Mad Max 2) (1981)"`` -> ``["Road Warrior, The", "Mad Max 2"]``.
    """
    title = str(title)
    extra = [a.strip() for a in re.findall(r"\(([^)]*)\)", title)]
    extra = [re.sub(r"^a\.k\.a\.\s*", "", a, flags=re.I) for a in extra if not a.isdigit()]
    return [_PARENTHESES.sub(" ", title).strip(), *[a for a in extra if a]]


def series_ids(titles: Sequence[str]) -> np.ndarray:
    """A series number per title (int32), −1 for a title that shares its series with no other.

    Every title and alternate title gets a key: the first two significant words of its main
    title when another title shares them ("star trek", "harry potter"); otherwise its first
    word, when that word is the whole main title of some movie and starts few titles
    ("matrix" for "The Matrix Reloaded", "rocky" for "Rocky Balboa"). Movies that share a key
    form a series, and so do chains of them ("Raiders of the Lost Ark (Indiana Jones and the
    Raiders of the Lost Ark)" joins the Indiana Jones films through its alternate title).
    """
    owners, mains = [], []
    for i, title in enumerate(titles):
        for name in alternate_titles(title):
            if main := main_title(title_tokens(name)):
                owners.append(i)
                mains.append(main)
    two_counts = Counter(m[:2] for m in mains)
    first_counts = Counter(m[:1] for m in mains)
    # A first word that starts many titles ("last", "american", "return") names no series.
    single_mains = {m for m in mains if len(m) == 1 and first_counts[m] <= MAX_FIRST_WORD_TITLES}
    by_key: dict[tuple[str, ...], set[int]] = {}
    for owner, main in zip(owners, mains, strict=True):
        pair = main[:2]
        if len(pair) == 2 and two_counts[pair] > 1:
            key = pair
        elif main[:1] in single_mains:
            key = main[:1]
        else:
            key = pair
        by_key.setdefault(key, set()).add(owner)
    # Union-find over movies that share a key.
    parent = list(range(len(titles)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for members in by_key.values():
        first, *rest = members
        for other in rest:
            parent[root(other)] = root(first)
    roots = np.array([root(i) for i in range(len(titles))], dtype=np.int64)
    _, numbers, sizes = np.unique(roots, return_inverse=True, return_counts=True)
    return np.where(sizes[numbers] > 1, numbers, -1).astype(np.int32)


def title_words(title: str) -> set[str]:
    """The words that can name a series: every word of the title and its alternate titles
    but articles, numbers and sequel markers ("Bourne", "Identity"; not "The", "2", "Part")."""
    return {
        word
        for name in alternate_titles(title)
        for word in title_tokens(name)
        if len(word) > 1 and not word.isdigit()
        and word not in _STOPWORDS and word not in _NUMBER_WORDS and word not in _MARKERS
    }


def title_vectors(titles: Sequence[str]) -> sp.csr_matrix:
    """One L2-normalised TF-IDF row of :func:`title_words` per title (float32).

    The cosine of two rows is high when titles share rare words: "Jason Bourne" and "The
    Bourne Identity", "Meet the Fockers" and "Little Fockers", which the strict series keys
    of :func:`series_ids` miss; a word in many titles ("man", "love") counts for little.
    """
    words = [title_words(t) for t in titles]
    index: dict[str, int] = {}
    rows = [i for i, ws in enumerate(words) for _ in ws]
    cols = [index.setdefault(w, len(index)) for ws in words for w in sorted(ws)]
    shape = (len(titles), len(index))
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)
    df = np.bincount(cols, minlength=len(index))
    matrix.data *= np.log(len(titles) / np.maximum(df, 1)).astype(np.float32)[matrix.indices]
    lengths = np.diff(matrix.indptr)
    squares = np.bincount(np.repeat(np.arange(len(titles)), lengths), weights=matrix.data**2,
                          minlength=len(titles))
    matrix.data /= np.maximum(np.repeat(np.sqrt(squares), lengths), 1e-12).astype(np.float32)
    return matrix


def series_of(movies: pd.DataFrame) -> np.ndarray:
    """Series number of each row of ``movies`` (int32, −1: none), from titles and collections.

    Where the table has a ``collection`` column (TMDB's ``belongs_to_collection`` id), a movie
    in a collection takes that collection as its series; the others keep their title series.
    """
    titles = movies["title"].fillna("") if "title" in movies else pd.Series([""] * len(movies))
    series = series_ids([str(t) for t in titles])
    if "collection" in movies:
        collection = pd.to_numeric(movies["collection"], errors="coerce").to_numpy()
        known = ~np.isnan(collection)
        _, numbers = np.unique(collection[known], return_inverse=True)
        series[known] = series.max(initial=-1) + 1 + numbers
    return series.astype(np.int32)


def blend(
    cf_scores: np.ndarray,
    movie_idx: int,
    series: np.ndarray,
    genre_bits: np.ndarray,
    years: np.ndarray,
    titles: np.ndarray | None = None,
    weights: Weights = WEIGHTS,
) -> np.ndarray:
    """Collaborative similarity to ``movie_idx`` plus the content it shares with each movie.

    ``cf_scores`` is one model's similarity of every movie to ``movie_idx`` (−inf: never
    recommended). They are rescaled so that the median of the other finite movies is 0 and
    the most similar is 1 (clipped at −1), then ``weights`` × each signal is added. Returns
    float32 scores; −inf stays −inf.
    """
    cf = np.asarray(cf_scores, dtype=np.float32)
    others = np.isfinite(cf)
    others[movie_idx] = False
    values = np.compress(others, cf)  # a branch-free gather: twice as fast as cf[others]
    if len(values) < 2:
        return cf.copy()
    # Median 0, the most similar movie 1: families differ in scale and tails (EASE's weights
    # have a few outliers ten standard deviations out), so a z-score would let a content
    # bonus reorder one family's top ten and not another's.
    low, high = (len(values) - 1) // 2, len(values) // 2
    values.partition([low, high])
    middle = (float(values[low]) + float(values[high])) / 2
    top = float(values.max())
    out = np.subtract(cf, np.float32(middle))
    out *= np.float32(1.0 / max(top - middle, 1e-12))
    # Floor at −1 with −inf kept: cf·0 − 1 is −1 where cf is finite, NaN where it is −inf,
    # and fmax ignores NaN. Nothing added below can make −inf finite.
    with np.errstate(invalid="ignore"):
        floor = cf * np.float32(0.0)
    floor -= np.float32(1.0)
    np.fmax(out, floor, out=out)
    if weights.series and series[movie_idx] >= 0:
        out += np.float32(weights.series) * (series == series[movie_idx])
    bits = np.asarray(genre_bits)
    if weights.genre and bits[movie_idx]:
        union = np.bitwise_count(bits | bits[movie_idx])
        overlap = np.bitwise_count(bits & bits[movie_idx])
        jaccard = np.divide(overlap, np.maximum(union, 1), dtype=np.float32)
        out += np.float32(weights.genre) * jaccard
    if weights.year and years[movie_idx]:
        gap = np.abs(np.asarray(years, dtype=np.float32) - np.float32(years[movie_idx]))
        closeness = np.exp(-gap / np.float32(weights.year_scale)) * (np.asarray(years) > 0)
        out += np.float32(weights.year) * closeness
    if weights.title and titles is not None:
        out += np.float32(weights.title) * np.asarray(titles, dtype=np.float32)
    return out


def title_similarity(rows: sp.csr_matrix, columns: sp.csc_matrix, movie_idx: int) -> np.ndarray:
    """Cosine of every movie's :func:`title_vectors` row with ``movie_idx``'s (float32).

    ``rows`` and ``columns`` are that matrix in CSR and CSC form: a title has two or three
    words, so the product only walks the few movies that share one of them (microseconds).
    """
    out = np.zeros(rows.shape[0], dtype=np.float32)
    span = slice(rows.indptr[movie_idx], rows.indptr[movie_idx + 1])
    for word, weight in zip(rows.indices[span], rows.data[span], strict=True):
        members = slice(columns.indptr[word], columns.indptr[word + 1])
        out[columns.indices[members]] += weight * columns.data[members]
    return out
