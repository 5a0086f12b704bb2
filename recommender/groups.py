"""Movie night: picks for a group of people, from any model.

Each member is folded in once (a members × movies score matrix, ``model.scores``); an
aggregation rule then turns that matrix into one list (Masthoff, "Group Recommender Systems",
Recommender Systems Handbook; Baltrunas, Makcinskas & Ricci, RecSys 2010):

* ``average``: the best mean of the members' standardised scores.
* ``least_misery``: the best score of the least happy member.
* ``average_without_misery``: the best mean among movies every member has in their own top
  :data:`MISERY_SHARE` of the candidates (the rest follow, by mean).
* ``borda``: each member gives a movie one point per candidate they rank below it.
* ``fair``: a greedy list where every member gets some favourites. Each step adds the movie
  that most raises the expected number of members who find at least one favourite in the list
  (a member's "favourite" chance falls linearly from 1 at their first choice to 0 at their
  :data:`FAVOURITES`-th), so a member already served counts less (Kaya, Bridge & Tintarev,
  "Ensuring Fairness in Group Recommendations by Using the Ranking of Items", RecSys 2020).

Scores of different members (and models) live on different scales, so every rule works on
per-member z-scores or ranks over the *candidates*: the movies that every member's model can
score and no member has rated. ``docs/groups.md`` compares the rules; :data:`DEFAULT_RULE` is
the one it measured best.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from recommender.models import Recommender
from recommender.ratings import check_ratings

MISERY_SHARE = 0.2  # average without misery: a movie outside a member's top 20 % is a misery
FAVOURITES = 50  # fair: how deep a member's list of favourites goes
RESERVED = ("movieId", "score", "reason")  # result columns a member cannot be named
LIKED = 3.5  # a rated movie names a reason only from this many stars up


# --- the rules: members × movies scores (−inf: not a candidate) -> movie columns, best first ---


def standardised(scores: np.ndarray) -> np.ndarray:
    """Per member: (score − mean) / std over the candidates (columns finite for everyone)."""
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    candidates = np.isfinite(scores).all(axis=0)
    out = np.full(scores.shape, -np.inf)
    if candidates.any():
        part = scores[:, candidates]
        std = part.std(axis=1, keepdims=True)
        out[:, candidates] = (part - part.mean(axis=1, keepdims=True)) / np.maximum(std, 1e-12)
    return out


def ranks(scores: np.ndarray) -> np.ndarray:
    """Per member: 0 for their best candidate, 1 for the next, ...; non-candidates get +inf.

    Ties are ordered arbitrarily (but the same way every time): quicksort is 3× faster than a
    stable sort here; a tie only decides which of two equal movies counts first.
    """
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    candidates = np.flatnonzero(np.isfinite(scores).all(axis=0))
    out = np.full(scores.shape, np.inf)
    order = np.argsort(-scores[:, candidates], axis=1)
    rows = np.arange(scores.shape[0])[:, None]
    out[rows, candidates[order]] = np.arange(len(candidates))[None, :]
    return out


def _top(group_scores: np.ndarray, n: int, tie_break: np.ndarray | None = None) -> np.ndarray:
    """The ``n`` best finite columns, best first; ties go to ``tie_break``, then column order."""
    finite = np.flatnonzero(np.isfinite(group_scores))
    keys = [finite, -group_scores[finite]]
    if tie_break is not None:
        keys.insert(1, -tie_break[finite])
    return finite[np.lexsort(keys)][:n]


def average(scores: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` movies with the best mean standardised score."""
    return _top(standardised(scores).mean(axis=0), n)


def least_misery(scores: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` movies whose least happy member is happiest (ties: the better mean)."""
    z = standardised(scores)
    return _top(z.min(axis=0), n, tie_break=z.mean(axis=0))


def average_without_misery(
    scores: np.ndarray, n: int, misery_share: float = MISERY_SHARE
) -> np.ndarray:
    """The best means among movies in every member's top ``misery_share`` of the candidates.

    When fewer than ``n`` movies pass, the others follow by mean, so the list is never short.
    """
    if not 0.0 < misery_share <= 1.0:
        raise ValueError(f"misery_share must be in (0, 1], got {misery_share}")
    z = standardised(scores)
    rank = ranks(scores)
    n_candidates = int(np.isfinite(z).all(axis=0).sum())
    passes = (rank < max(1.0, misery_share * n_candidates)).all(axis=0)
    mean = z.mean(axis=0)
    return _top(np.where(np.isfinite(mean), passes.astype(np.float64), -np.inf), n, mean)


def borda(scores: np.ndarray, n: int) -> np.ndarray:
    """Borda count: a member gives each candidate the number of candidates they rank lower."""
    rank = ranks(scores)
    n_candidates = int(np.isfinite(rank).all(axis=0).sum())
    points = (n_candidates - 1 - rank).sum(axis=0)
    return _top(np.where(np.isfinite(points), points, -np.inf), n, standardised(scores).mean(0))


def fair(scores: np.ndarray, n: int, favourites: int = FAVOURITES) -> np.ndarray:
    """Greedy: each step adds the movie that most raises the expected number of members with
    at least one favourite in the list (ties: the better mean standardised score)."""
    if favourites < 1:
        raise ValueError(f"favourites must be >= 1, got {favourites}")
    rank = ranks(scores)
    candidates = np.flatnonzero(np.isfinite(rank).all(axis=0))
    liked = np.clip(1.0 - rank[:, candidates] / favourites, 0.0, 1.0)  # chance: a favourite
    mean = standardised(scores).mean(axis=0)[candidates]
    unserved = np.ones(rank.shape[0])  # chance each member has no favourite in the list yet
    taken = np.zeros(len(candidates), dtype=bool)
    chosen = []
    for _ in range(min(n, len(candidates))):
        gain = np.where(taken, -np.inf, unserved @ liked)
        best = np.flatnonzero(gain >= gain.max() - 1e-12)
        pick = int(best[np.argmax(mean[best])])
        chosen.append(candidates[pick])
        taken[pick] = True
        unserved *= 1.0 - liked[:, pick]
    return np.asarray(chosen, dtype=np.int64)


RULES: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "average": average,
    "least_misery": least_misery,
    "average_without_misery": average_without_misery,
    "borda": borda,
    "fair": fair,
}
RULE_LABELS = {
    "average": "Average",
    "least_misery": "Least misery",
    "average_without_misery": "Average without misery",
    "borda": "Borda count",
    "fair": "Fair share",
}
RULE_NOTES = {
    "average": "the best average of everyone's predicted enjoyment",
    "least_misery": "the movies the least keen member likes most",
    "average_without_misery": f"the best average among movies in everyone's top "
    f"{MISERY_SHARE:.0%}",
    "borda": "everyone ranks the movies; a movie scores one point per movie ranked below it",
    "fair": "every member gets some of their own favourites",
}
# Measured in docs/groups.md (evaluation.groups.choose_rule): the best worst-member NDCG@10
# averaged over every group kind and size; it also has the best mean NDCG@10 in every cell.
DEFAULT_RULE = "average"


def group_ranking(scores: np.ndarray, n: int, rule: str = DEFAULT_RULE) -> np.ndarray:
    """Column indices of the group's ``n`` picks, best first (−inf columns never picked)."""
    _check_rule(rule, n)
    scores = np.atleast_2d(np.asarray(scores, dtype=np.float64))
    if scores.shape[0] == 0 or n == 0:
        return np.array([], dtype=np.int64)
    return np.asarray(RULES[rule](scores, n), dtype=np.int64)[:n]


def _check_rule(rule: str, n: int) -> None:
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; choose one of {', '.join(RULES)}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")


# --- picks for a group ----------------------------------------------------------------------


def _check_members(members: Mapping[str, Mapping[int, float]]) -> dict[str, dict[int, float]]:
    if not isinstance(members, Mapping) or not members:
        raise ValueError("members must be a non-empty mapping of name -> ratings")
    clean = {}
    for name, ratings in members.items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"member name {name!r} must be a non-empty string")
        if name in RESERVED:
            raise ValueError(f"member name {name!r} is reserved; choose another")
        try:
            clean[name] = check_ratings(ratings)
        except ValueError as error:
            raise ValueError(f"{name}'s ratings: {error}") from None
    return clean


def recommend_group(
    model: Recommender,
    members: Mapping[str, Mapping[int, float]],
    n: int = 10,
    rule: str = DEFAULT_RULE,
    stars_model: Recommender | None = None,
    titles: Mapping[int, str] | None = None,
    **filters: Any,
) -> pd.DataFrame:
    """The group's top-``n`` movies, never one that any member rated.

    ``members``: name -> ratings (movieId -> 0.5..5); ``rule``: a key of :data:`RULES`;
    ``filters``: as :meth:`Recommender.recommend` (genres, years, min_ratings, exclude).
    Returns a DataFrame: movieId, score (the mean of the members' standardised scores), one
    column per member with their predicted stars (from ``stars_model``, else the model itself
    when it predicts stars, else NaN), and reason (a sentence naming members, or ""; movies
    by ``titles`` (movieId -> title), else "movie <id>"). ``attrs``: ``rule`` and
    ``unknown_movie_ids`` (name -> ids the model does not know).
    """
    _check_rule(rule, n)
    members = _check_members(members)
    profiles = list(members.values())
    scores = model.scores(profiles).astype(np.float64)
    rated = np.array(sorted({m for p in profiles for m in p}), dtype=np.int64)
    pos, known = model.vocabulary_.positions(rated)
    scores[:, pos[known]] = -np.inf
    mask = model.filter_mask(filters)
    if mask is not None:
        scores[:, ~mask] = -np.inf
    picks = group_ranking(scores, n, rule)
    movie_ids = np.asarray(model.movie_ids_)[picks].astype(np.int64)
    result = pd.DataFrame({
        "movieId": movie_ids,
        "score": standardised(scores).mean(axis=0)[picks].astype(np.float32),
    })
    predictor = stars_model if stars_model is not None else model
    for name, ratings in members.items():
        if hasattr(predictor, "predict_ratings"):
            result[name] = predictor.predict_ratings(ratings, movie_ids).to_numpy(np.float32)
        else:
            result[name] = np.float32(np.nan)
    result["reason"] = reasons(model, members, movie_ids, titles)
    result.attrs["rule"] = rule
    result.attrs["unknown_movie_ids"] = {
        name: [m for m, ok in zip(p, model.known_movies(p), strict=True) if not ok]
        for name, p in members.items()
    }
    return result


def reasons(
    model: Recommender,
    members: Mapping[str, Mapping[int, float]],
    picks: Sequence[int],
    titles: Mapping[int, str] | None = None,
) -> list[str]:
    """For each pick, a sentence naming the members whose liked movies it is most like:
    "Ana and Ben both loved Alien" or "Like Heat, which Ana liked" ("" when none is).

    Uses the model's own similarity (as ``similar``), no fold-in: for every pick, each member's
    most similar movie among those they rated :data:`LIKED` or more; the movie shared by the
    most members (then the most similar) is named.
    """
    liked = {name: {m: r for m, r in p.items() if r >= LIKED} for name, p in members.items()}
    out = []
    for pick in picks:
        pick_idx = model.vocabulary_.movie_index(int(pick))
        similarity = np.asarray(model.similarity_scores(pick_idx), dtype=np.float64)
        best: dict[int, list[tuple[str, float, float]]] = {}
        for name, ratings in liked.items():
            ids = np.array(list(ratings), dtype=np.int64)
            pos, known = model.vocabulary_.positions(ids)
            if not known.any():
                continue
            values = np.where(np.isfinite(similarity[pos[known]]), similarity[pos[known]], 0.0)
            i = int(np.argmax(values))
            if values[i] > 0:
                movie = int(ids[known][i])
                best.setdefault(movie, []).append((name, ratings[movie], float(values[i])))
        if not best:
            out.append("")
            continue
        movie, who = max(best.items(), key=lambda kv: (len(kv[1]), max(s for *_, s in kv[1])))
        title = f"movie {movie}" if titles is None else str(titles.get(movie, f"movie {movie}"))
        out.append(_sentence(title, who))
    return out


def _sentence(title: str, who: list[tuple[str, float, float]]) -> str:
    """"Ana and Ben both loved Alien", "Like Heat, which Ana liked"."""
    verb = "loved" if min(stars for _, stars, _ in who) >= 4.5 else "liked"
    names = [name for name, _, _ in who]
    if len(names) == 1:
        return f"Like {title}, which {names[0]} {verb}"
    joined = ", ".join(names[:-1]) + f" and {names[-1]}"
    return f"{joined} {'both' if len(names) == 2 else 'all'} {verb} {title}"
