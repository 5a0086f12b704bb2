"""The one rule for what a rating is: a movieId and 0.5–5 stars in half steps, as MovieLens.

Every entry point uses it: model queries (``recommend``, ``explain``), training data, saved
profiles, imports, taste groups and the app. Ids are positive int32 values, because the
library stores them as int32 everywhere; anything else is refused with a message naming it.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping

import numpy as np

MIN_RATING, MAX_RATING, RATING_STEP = 0.5, 5.0, 0.5
MAX_MOVIE_ID = 2**31 - 1  # ids are int32 throughout the library
RATING_RULE = f"between {MIN_RATING:g} and {MAX_RATING:g} in half steps"


def valid_ratings(values: np.ndarray) -> np.ndarray:
    """Boolean mask of the values that are valid ratings (NaN, inf and 4.2 are not).

    On every request's path, so written without ``np.errstate`` (which costs more than the
    check itself): ``rint`` and the comparisons warn on nothing.
    """
    values = np.asarray(values, dtype=np.float64)
    steps = values / RATING_STEP
    return (steps == np.rint(steps)) & (values >= MIN_RATING) & (values <= MAX_RATING)


def check_movie_id(movie_id: object) -> int:
    """An integral movieId in 1..2**31-1 as a Python int; ValueError naming it otherwise.

    Python and numpy integers pass; ``1.7``, ``"1"``, ``True`` and ``2**70`` do not (a float
    key is never silently truncated to another movie).
    """
    return check_id(movie_id, "movieId", 1)


def check_id(value: object, name: str, low: int) -> int:
    """An integral id in ``low``..2**31-1 as a Python int; ValueError naming ``name`` otherwise
    (``True``, ``1.5`` and ``"1"`` are not ids)."""
    if isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} {value!r} is not an integer")
    try:
        number = operator.index(value)  # int and numpy ints; refuses 1.5 and "1"
    except TypeError:
        raise ValueError(f"{name} {value!r} is not an integer") from None
    if not low <= number <= MAX_MOVIE_ID:
        raise ValueError(f"{name} {number} is out of range ({low} to {MAX_MOVIE_ID})")
    return number


def check_rating(movie_id: object, rating: object) -> tuple[int, float]:
    """Validate one rating; returns (movieId, stars) or raises ValueError naming the movie."""
    movie = check_movie_id(movie_id)
    if isinstance(rating, bool | np.bool_ | str | bytes):
        raise ValueError(f"movieId {movie}: rating {rating!r} is not a number")
    try:
        value = float(rating)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"movieId {movie}: rating {rating!r} is not a number") from None
    if not (math.isfinite(value) and valid_ratings(np.array([value]))[0]):
        raise ValueError(f"movieId {movie}: rating {rating!r} is not {RATING_RULE}")
    return movie, value


def check_ratings(ratings: Mapping[object, object]) -> dict[int, float]:
    """Validate every rating of a mapping movieId -> stars; returns a clean copy."""
    if not isinstance(ratings, Mapping):
        raise ValueError(
            f"ratings must be a mapping of movieId to rating, not {type(ratings).__name__}"
        )
    return dict(check_rating(movie, rating) for movie, rating in ratings.items())
