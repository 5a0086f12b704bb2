"""Input checks of the model API: query sizes, filters and hyperparameters.

Every public query refuses what it cannot answer with a ValueError naming the value, instead
of a TypeError or OverflowError from deep inside numpy, or a silently truncated id.
"""

from __future__ import annotations

import functools
import math
import numbers
import operator
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np


def check_count(n: object) -> int:
    """``n`` of a query as an int >= 0 (a huge one is fine: it means "all"); ValueError for
    ``True``, ``2.5``, ``"10"`` or a negative number."""
    try:
        if isinstance(n, bool | np.bool_):
            raise TypeError
        count = operator.index(n)
    except TypeError:
        raise ValueError(f"n must be a whole number, got {n!r:.80}") from None
    if count < 0:
        raise ValueError(f"n must be >= 0, got {count}")
    return count


def number(name: str, value: object) -> float:
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {value!r:.80}")
    if math.isnan(value):
        raise ValueError(f"{name} must be a number, got {value!r}")
    return float(value)


def year_range(years: object) -> tuple[float, float]:
    if isinstance(years, str | bytes | Mapping) or not isinstance(years, Iterable):
        raise ValueError(f"years must be a (first, last) pair, got {years!r:.80}")
    pair = list(years)
    if len(pair) != 2:
        raise ValueError(f"years must be a (first, last) pair, got {years!r:.80}")
    return number("years", pair[0]), number("years", pair[1])


def genre_names(genres: object) -> list[str]:
    if isinstance(genres, str):
        return [genres]
    if isinstance(genres, Mapping) or not isinstance(genres, Iterable):
        raise ValueError(f"genres must be a genre name or a list of them, got {genres!r:.80}")
    names = list(genres)
    bad = [g for g in names if not isinstance(g, str)]
    if bad:
        raise ValueError(f"genres must be names, got {bad[0]!r:.80}")
    return names


@functools.cache
def init_hints(cls: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls.__init__)
    except (NameError, TypeError):  # hints that do not resolve: nothing to check against
        return {}


def fits(value: Any, hint: Any) -> bool:
    """Whether ``value`` is of the type ``hint`` names (only the kinds hyperparameters use)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(fits(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool | np.bool_)
    if isinstance(value, bool | np.bool_):
        return False
    if hint is int:
        return isinstance(value, numbers.Integral)
    if hint is float:
        return isinstance(value, numbers.Real) and math.isfinite(value)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True  # Any, Literal and the like: the family checks in fit


def describe(hint: Any) -> str:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(describe(arg) for arg in typing.get_args(hint))
    names = {int: "an integer", float: "a finite number", bool: "true or false",
             str: "a string", type(None): "None"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))
