"""Labels, copy and escaping shared by the pages."""

from __future__ import annotations

import re

from recommender import ALGORITHMS

MODEL_LABELS = {
    "als": "ALS",
    "nmf": "NMF",
    "popularity": "Popularity",
    "ease": "EASE",
    "hybrid": "Hybrid",
    "biased-mf": "Biased MF",
}
MODEL_NOTES = {
    "als": "Matrix factorisation of who watched what (alternating least squares, implicit "
    "feedback). Finds taste dimensions and folds a new visitor in without retraining.",
    "nmf": "Non-negative matrix factorisation of the star ratings: predicted stars, which mix "
    "'would like it' with 'would watch it at all'.",
    "popularity": "The most-rated movies, the same for everyone: the baseline every model must "
    "beat.",
    "ease": "EASE, an item-to-item model solved in closed form: each movie you rate votes for "
    "the movies that co-occur with it.",
    "hybrid": "A blend of EASE and ALS scores: the two make different mistakes, so together "
    "they rank held-out favourites best.",
    "biased-mf": "Predicted stars from each movie's and each visitor's bias plus taste factors "
    "(the classic Netflix-prize model), folded in for a new visitor.",
}

LICENCE = """\
This app uses the [MovieLens](https://grouplens.org/datasets/movielens/) dataset from
GroupLens Research at the University of Minnesota. The data is used for research and
demonstration under the GroupLens licence: it may be redistributed only under the same terms,
it is not endorsed by the University of Minnesota or GroupLens, and it must not be used for
commercial purposes without permission.
"""
CITATION = (
    "F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets: History and "
    "Context. ACM Transactions on Interactive Intelligent Systems (TiiS) 5, 4: 19:1–19:19. "
    "https://doi.org/10.1145/2827872"
)

HOW_IT_WORKS = """\
**How it works**

1. Rate movies you have seen, from ½ to 5 stars; low ratings help too.
2. The model places your taste among those of {users:,} MovieLens users and ranks the movies
   you have not rated.
3. Each pick says which of your ratings it comes from. Switch models above to compare them;
   narrow the genres and years with Filters.
"""

GROUPS_CAPTION = (
    "Quicker than rating movies one by one: switch on the groups that look like your kind of "
    "movie and their {n} movies shown are added to your ratings at {stars:g} ★, to change or "
    "remove as you like. MovieLens onboards new members this way (Chang, Harper & Terveen, "
    "CSCW 2015)."
)

MAP_CAPTION = (
    "The {movies:,} movies with at least 20 ratings, placed so that movies the same people "
    "watch sit close together (t-SNE of the ALS model's movie vectors), coloured by their most "
    "distinctive genre. Hover for titles, scroll to zoom, drag to pan, click a genre in the "
    "legend to light it up, click a movie to open it."
)

DATA_HELP = """\
To fix it, download [ml-latest-small](https://grouplens.org/datasets/movielens/), unzip it and \
start the app with the folder that holds `movies.csv` and `ratings.csv`:

```bash
MOVIELENS_DIR=/path/to/ml-latest-small streamlit run app.py
```
Without MOVIELENS_DIR the app downloads the dataset on its first run, which needs a network \
connection."""

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$~:])")


def model_label(algorithm: str) -> str:
    """"als" -> "ALS"; an algorithm added later gets a readable label too."""
    return MODEL_LABELS.get(algorithm, re.sub(r"[-_]", " ", algorithm).title())


def model_note(algorithm: str) -> str:
    """One sentence on the model; for one added later, its class docstring's first line."""
    if algorithm in MODEL_NOTES:
        return MODEL_NOTES[algorithm]
    doc = (ALGORITHMS[algorithm].__doc__ or "") if algorithm in ALGORITHMS else ""
    return md_escape(doc.strip().splitlines()[0]) if doc.strip() else "A model from the library."


def md_escape(text: str) -> str:
    """``text`` shown literally where Streamlit renders Markdown (titles and tags are user data:
    "*batteries not included" must not turn italic, "[x](javascript:…)" must not become a link)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))


def stars(value: float) -> str:
    """4.5 -> "★★★★½ 4.5": whole stars, a half, then the number."""
    whole = int(value)
    return f"{'★' * whole}{'½' if value - whole else ''} {value:g}"


def short_stars(value: float) -> str:
    """4.5 -> "4.5 ★" (for narrow controls)."""
    return f"{value:g} ★"


def score_label(algorithm: str, score: float) -> str:
    """The model's score in words: popularity scores are counts, the others relative."""
    if algorithm == "popularity":
        return f"{score:,.0f} ratings"
    return f"score {score:.2f}"


def count(number: int, noun: str) -> str:
    """count(1, "rating") -> "1 rating"; count(100836, "rating") -> "100,836 ratings";
    count(3, "match") -> "3 matches"."""
    if number == 1:
        return f"1 {noun}"
    plural = f"{noun}es" if noun.endswith(("s", "x", "ch", "sh")) else f"{noun}s"
    return f"{number:,} {plural}"
