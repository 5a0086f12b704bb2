"""Fuzzy movie-title search that copes with what people type.

Each title is turned into *variants* once, at construction: the main title and every
alternative title in brackets ("Seven (a.k.a. Se7en) (1995)" gives "seven" and "se7en").
Variants and queries go through the same :func:`normalise`:

* accents folded (NFKD), lower case, "&" -> "and", other punctuation -> spaces;
* a leading English article dropped, a moved one too ("Matrix, The" -> "matrix"); a moved
  foreign article also gives a variant with it in front ("Dolce vita, La" -> "la dolce vita");
* roman numerals II-X -> 2-10 and "part" before a number dropped
  ("Godfather: Part II, The" -> "godfather 2", "back to the future part iii" -> "... 3");
* words joined by a hyphen, slash or middle dot are also indexed joined
  ("WALL·E" -> "wall e" and "walle").

A year 1870-2030 typed after the first word ("heat 1995") leaves the text and becomes a bonus.
Each variant then gets a text score, 0-100, the better of

* R, whole-title similarity: ``rapidfuzz.fuzz.ratio`` between query and variant, computed
  with ``process.cdist`` over all variants (typos: "forest gump");
* 0.9 x C, word coverage: every query word is matched to its most similar word of the variant
  (``ratio`` >= 75 between words; the last query word may be the start of a word, as in
  "lord of the r"), and C is the mean of those similarities weighted by word length. It finds
  a query inside a longer title ("star wars", "dark knight") and words in any order; the
  initials of a title of 3+ words count as one of its words ("lotr").

minus 15 for each number in the query that the variant lacks: a sequel number is one
character, which whole-string similarity hardly notices ("terminator 2" is not "Terminator").
A movie's text score is its best variant's; a movie needs 50 to be a result. Finally

    score = 0.92 x text + 3 x popularity + 5 x year match         (at most 100)

with popularity = log1p(n_ratings) / log1p(max n_ratings), so that equal titles come out
most-rated first, and year match 1 for the query's year, 0.4 for a year off.

Fuzzy matching runs through rapidfuzz's vectorised C++ ``cdist`` on plain ``ratio`` (scorers
with partial or token-set alignment, such as ``WRatio``, are about 25x slower on 87k titles);
word coverage uses an inverted index from words to variants, so it only touches the titles
that share a word with the query.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

MIN_TEXT_SCORE = 60.0  # below this, matches look random to people (e.g. "matrix" -> Asterix)
WORD_CUTOFF = 75.0  # ratio between two words; one typo in a 4+-letter word passes
COVERAGE_WEIGHT = 0.9  # a title that merely contains the query ranks below an exact title
MISSING_NUMBER_PENALTY = 15.0
TEXT_WEIGHT, POPULARITY_WEIGHT, YEAR_WEIGHT = 0.92, 3.0, 5.0
NEAR_YEAR_MATCH = 0.4
MAX_QUERY_CHARS = 200  # nobody types more; keeps pasted novels from slowing the app
MAX_QUERY_WORDS = 20

_YEAR_SUFFIX = re.compile(r"\s*\((\d{4})(?:\s*[-–]\s*\d{0,4})?\s*\)\s*$")
_BRACKET_SUFFIX = re.compile(r"\s*\(([^()]*)\)\s*$")
_AKA = re.compile(r"^\s*(?:a\.\s*k\.\s*a\.?|aka)\s+", re.IGNORECASE)
_MOVED_ARTICLE = re.compile(  # "Matrix, The" and, in queries, "matrix, the (1999)"
    r"^(?P<name>[^(]+?),\s*(?P<article>the|an|a|les|le|la|l'|il|der|die|das|el|los|las)"
    r"\s*(?P<rest>\(.*)?$",
    re.IGNORECASE,
)
_ELIDED = re.compile(r"\b([a-z])['’](?=[a-z])")  # French elision: d'amelie -> d amelie
_JOINERS = re.compile(r"(?<=\w)[-‐·/](?=\w)")
_DROPPED = re.compile(r"['’`´.]")  # philosopher's -> philosophers, a.k.a. -> aka
_NON_WORD = re.compile(r"[\W_]+")
_FOLD = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th",
                       "ı": "i"})
_LEADING_ARTICLES = {"the", "a", "an"}
_ROMAN = {"ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7", "viii": "8",
          "ix": "9", "x": "10"}
_NUMBER_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
                 "seven": "7", "eight": "8", "nine": "9", "ten": "10"}
_NUMBER_MARKERS = {"part", "pt", "episode", "chapter", "vol", "volume", "book"}


def normalise(text: str, *, join: bool = False) -> str:
    """Lower-case, accent-free, punctuation-free form of a title or query.

    ``join=True`` glues words joined by a hyphen, slash or middle dot ("wall-e" -> "walle")
    instead of splitting them.
    """
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold().translate(_FOLD)
    text = _ELIDED.sub(r"\1 ", text).replace("&", " and ")
    if join:
        text = _JOINERS.sub("", text)
    text = _NON_WORD.sub(" ", _DROPPED.sub("", text))
    words = _numbers(text.split())
    if len(words) > 1 and words[0] in _LEADING_ARTICLES:
        words = words[1:]
    return " ".join(words)


def _numbers(words: list[str]) -> list[str]:
    """Roman numerals and "part two" -> digits; "part" before a number goes."""
    out = []
    for i, word in enumerate(words):
        after_marker = i > 0 and words[i - 1] in _NUMBER_MARKERS
        if word in _ROMAN:
            word = _ROMAN[word]
        elif after_marker and word == "i":  # "Episode I"; a lone "i" is usually the pronoun
            word = "1"
        elif after_marker and word in _NUMBER_WORDS:
            word = _NUMBER_WORDS[word]
        out.append(word)
    return [
        w for i, w in enumerate(out)
        if not (w in ("part", "pt") and i + 1 < len(out) and out[i + 1].isdigit())
    ]


def title_parts(title: str) -> list[str]:
    """Main title and alternative titles, with the year and "a.k.a." removed."""
    rest = _YEAR_SUFFIX.sub("", title)
    alternatives = []
    while (match := _BRACKET_SUFFIX.search(rest)) and match.start() > 0:
        alternatives.append(match[1])
        rest = rest[: match.start()]
    parts = [_AKA.sub("", p).strip() for p in [rest, *reversed(alternatives)]]
    return [p for p in parts if p]


def _article_forms(text: str) -> list[str]:
    """"Matrix, The" -> ["Matrix", "The Matrix"]; text without a moved article stays as is."""
    match = _MOVED_ARTICLE.match(text)
    if not match:
        return [text]
    article, name, rest = match["article"], match["name"], match["rest"] or ""
    glue = "" if article.endswith("'") else " "
    return [f"{name} {rest}", f"{article}{glue}{name} {rest}"]


def _acronym(part: str) -> str | None:
    words = normalise(part.split(":")[0]).split()
    return "".join(w[0] for w in words) if len(words) >= 3 else None


class TitleIndex:
    """Search movie titles; build once per catalogue (construction normalises every title).

    ``movies`` needs ``movieId`` and ``title`` (MovieLens style, "Matrix, The (1999)"); a
    ``year`` column is used when present, else the year is read from the title.
    ``popularity`` (e.g. number of ratings, indexed by movieId) orders equal matches.
    """

    def __init__(self, movies: pd.DataFrame, popularity: pd.Series | None = None) -> None:
        titles = movies["title"].fillna("").astype(str).tolist()
        self._movie_ids = movies["movieId"].to_numpy(dtype=np.int32)
        self._titles = np.array(titles, dtype=object)
        if "year" in movies:
            years = pd.to_numeric(movies["year"], errors="coerce")
        else:
            years = pd.to_numeric(pd.Series(titles).str.extract(_YEAR_SUFFIX)[0], errors="coerce")
        self._years = years.to_numpy(dtype=np.float64, na_value=np.nan)
        counts = np.zeros(len(titles))
        if popularity is not None:
            counts = popularity.reindex(self._movie_ids).fillna(0).to_numpy(dtype=np.float64)
        counts = np.log1p(np.clip(counts, 0, None))
        top = counts.max(initial=0.0)
        self._popularity = counts / top if top > 0 else counts

        variants: list[str] = []
        variant_movie: list[int] = []
        words: list[str] = []  # (word, variant) pairs for the inverted index
        word_variant: list[int] = []
        acronyms: set[str] = set()
        for movie, title in enumerate(titles):
            seen: set[str] = set()
            for part in title_parts(title) or [title]:
                acronym = _acronym(_article_forms(part)[0])
                for form in _article_forms(part):
                    joined = [normalise(form, join=True)] if _JOINERS.search(form) else []
                    for variant in [normalise(form), *joined]:
                        if variant in seen:
                            continue
                        seen.add(variant)
                        tokens = set(variant.split())
                        if acronym and acronym not in tokens:
                            tokens.add(acronym)
                            acronyms.add(acronym)
                        words.extend(tokens)
                        word_variant.extend([len(variants)] * len(tokens))
                        variants.append(variant)
                        variant_movie.append(movie)
            if not seen:  # keep every movie addressable, even with an empty title
                variants.append("")
                variant_movie.append(movie)
        self._variants = variants
        self._variant_movie = np.array(variant_movie, dtype=np.int32)
        self._movie_start = np.flatnonzero(np.r_[True, np.diff(self._variant_movie) != 0])

        # Inverted index from words to the variants holding them (CSR layout). Real words
        # come first, sorted, for fuzzy and prefix look-ups; acronyms after them only ever
        # match exactly, which keeps the fuzzy vocabulary at the size of the language.
        plain = sorted(set(words) - acronyms)
        vocabulary = plain + sorted(acronyms - set(plain))
        self._word_id = {w: i for i, w in enumerate(vocabulary)}
        codes = np.array([self._word_id[w] for w in words], dtype=np.int64)
        order = np.argsort(codes, kind="stable")
        self._postings = np.array(word_variant, dtype=np.int32)[order]
        self._offsets = np.r_[0, np.cumsum(np.bincount(codes, minlength=len(vocabulary)))]
        self._words = plain
        self._sorted_words = np.array(plain, dtype=str)
        self._word_length = np.array([len(w) for w in plain], dtype=np.float32)

    def __len__(self) -> int:
        return len(self._movie_ids)

    def search(self, query: str, limit: int = 10) -> pd.DataFrame:
        """The best ``limit`` movies for ``query``: movieId, title, score (0-100), best first."""
        text = normalise(_article_forms((query or "")[:MAX_QUERY_CHARS].strip())[-1])
        words, year = _split_year(text.split()[:MAX_QUERY_WORDS])
        if not words or limit < 1 or not self._variants:
            return _empty_result()
        text = " ".join(words)

        whole = process.cdist(
            [text], self._variants, scorer=fuzz.ratio, score_cutoff=MIN_TEXT_SCORE,
            dtype=np.float32, workers=1,
        )[0]
        scores = np.maximum(whole, COVERAGE_WEIGHT * self._coverage(words))
        for number in {w for w in words if w.isdigit()}:
            scores -= MISSING_NUMBER_PENALTY * ~self._has_word(number)
        text_score = np.maximum.reduceat(scores, self._movie_start)

        hits = np.flatnonzero(text_score >= MIN_TEXT_SCORE)
        final = TEXT_WEIGHT * text_score[hits] + POPULARITY_WEIGHT * self._popularity[hits]
        if year is not None:
            gap = np.abs(self._years[hits] - year)
            final += YEAR_WEIGHT * np.where(gap == 0, 1.0, np.where(gap == 1, NEAR_YEAR_MATCH, 0))
        if len(hits) > limit:  # keep the top `limit`, and everything tied with the last
            keep = final >= np.partition(final, len(final) - limit)[len(final) - limit]
            hits, final = hits[keep], final[keep]
        order = np.lexsort((hits, -self._popularity[hits], -final))[:limit]
        return pd.DataFrame({
            "movieId": self._movie_ids[hits[order]],
            "title": pd.array(self._titles[hits[order]], dtype="str"),
            "score": np.round(final[order].astype(np.float64), 2),
        })

    def _coverage(self, words: list[str]) -> np.ndarray:
        """Per variant: weighted mean, over query words, of the best similarity to its words."""
        # One cdist call for all query words: converting the vocabulary is most of its cost.
        fuzzy = process.cdist(
            words, self._words, scorer=fuzz.ratio, score_cutoff=WORD_CUTOFF,
            dtype=np.float32, workers=1,
        )
        total = np.zeros(len(self._variants), dtype=np.float32)
        for i, word in enumerate(words):
            ids, similarity = self._similar_words(word, fuzzy[i], last=i == len(words) - 1)
            if ids.size:
                total += len(word) * self._best_per_variant(ids, similarity)
        return total / sum(len(w) for w in words)

    def _similar_words(
        self, word: str, fuzzy: np.ndarray, *, last: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Ids of the index words close to ``word`` and their similarity (0-100)."""
        ids, similarity = np.flatnonzero(fuzzy), fuzzy[np.flatnonzero(fuzzy)]
        if word.isdigit() or len(word) <= 2:  # too short for typos to mean anything
            ids, similarity = ids[:0], similarity[:0]
        if last and not word.isdigit():
            # The word may be unfinished: index words that start with it score 80-100.
            lo, hi = np.searchsorted(self._sorted_words, [word, word + "\U0010ffff"])
            prefix = 80 + 20 * len(word) / self._word_length[lo:hi]
            ids, similarity = np.r_[ids, lo:hi], np.r_[similarity, prefix]
        if word in self._word_id:  # exact words, acronyms included
            ids, similarity = np.r_[ids, self._word_id[word]], np.r_[similarity, 100]
        return ids.astype(np.int64), similarity.astype(np.float32)

    def _best_per_variant(self, ids: np.ndarray, similarity: np.ndarray) -> np.ndarray:
        starts, ends = self._offsets[ids], self._offsets[ids + 1]
        lengths = ends - starts
        # Gather the posting lists of all `ids` at once (a vectorised CSR row gather).
        positions = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
        positions += np.arange(positions.size)
        best = np.zeros(len(self._variants), dtype=np.float32)
        np.maximum.at(best, self._postings[positions], np.repeat(similarity, lengths))
        return best

    def _has_word(self, word: str) -> np.ndarray:
        has = np.zeros(len(self._variants), dtype=bool)
        if (i := self._word_id.get(word)) is not None:
            has[self._postings[self._offsets[i] : self._offsets[i + 1]]] = True
        return has


def _split_year(words: list[str]) -> tuple[list[str], int | None]:
    """Take out the last year-like word after the first ("heat 1995" -> ["heat"], 1995)."""
    for i in range(len(words) - 1, 0, -1):
        if len(words[i]) == 4 and words[i].isdigit() and 1870 <= int(words[i]) <= 2030:
            return words[:i] + words[i + 1 :], int(words[i])
    return words, None


def _empty_result() -> pd.DataFrame:
    return pd.DataFrame({
        "movieId": pd.Series(dtype=np.int32),
        "title": pd.Series(dtype="str"),
        "score": pd.Series(dtype=np.float64),
    })
