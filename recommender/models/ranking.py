"""Top n and the one result type: what every query of every model ends with."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.internals import create_dataframe_from_blocks


def best_first(
    order: np.ndarray, n: int, movie_ids: np.ndarray, n_ratings: np.ndarray
) -> pd.DataFrame:
    """The ``n`` movies with the smallest finite ``order`` (negated scores; +inf excluded) as
    the result frame, best first; ties broken by popularity, then movieId, so results are
    stable. Fewer than ``n`` rows when fewer movies are allowed."""
    n = min(n, len(order))
    if n == 0:
        return result_frame(np.array([], np.int32), np.array([], np.float32))
    top = smallest(order, n)
    top = top[np.isfinite(order[top])]
    top = top[np.lexsort((movie_ids[top], -n_ratings[top], order[top]))]
    return result_frame(movie_ids[top], -order[top])


# One sampled entry in this many bounds the top n (see smallest).
_SAMPLE_STRIDE = 16


def smallest(values: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` smallest ``values`` in no order, as ``argpartition`` finds them.

    The n-th smallest of a strided sample bounds the n-th smallest of all from above (the
    sample's n are among all), so one comparison pass leaves about n × stride candidates to
    partition instead of every movie: 60 µs against argpartition's 400 µs over 87,000 movies.
    """
    if n * _SAMPLE_STRIDE * 4 <= len(values):
        bound = np.partition(values[::_SAMPLE_STRIDE], n - 1)[n - 1]
        candidates = np.flatnonzero(values <= bound)
        if len(candidates) >= n:  # fewer only when the bound is NaN
            return candidates[np.argpartition(values[candidates], n - 1)[:n]]
    if n >= len(values):
        return np.arange(len(values))
    return np.argpartition(values, n - 1)[:n]


def result_frame(movie_ids: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
    """The one result type: movieId and score, best first.

    Built from its two blocks with pandas' public low-level constructor: 20 µs here, where the
    dict constructor's checks and type inference take 110 µs of a 0.3–0.6 ms answer.
    """
    return create_dataframe_from_blocks(
        [(movie_ids[None, :], _FIRST), (scores[None, :], _SECOND)],
        index=pd.RangeIndex(len(movie_ids)), columns=_RESULT_COLUMNS,
    )


_RESULT_COLUMNS = pd.Index(["movieId", "score"])
_FIRST, _SECOND = np.array([0]), np.array([1])
