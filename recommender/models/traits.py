"""Which genres and decades a profile favours beyond what everyone watches.

Someone who rates eight Disney animations 5 stars expects animations back; collaborative
scores alone also bring the well-liked films of the same years (Jurassic Park, The Sound of
Music). The default model adds :meth:`MovieTraits.affinity` to its blend: a profile's share of
each genre and of each decade is compared with that genre's (decade's) share of all training
ratings, and a movie scores the mean over its genres of log(1 + lift), plus log(1 + lift) of
its decade. A broad profile has lifts near 1 everywhere, so the term barely reorders its picks;
a concentrated one lifts its genre or era.

Measured with the niche-profiles protocol and the main protocols (docs/niche.md,
docs/evaluation.md); the weight the hybrid gives it was chosen in docs/tuning-taste.md
(``python -m benchmarks.tune --stages taste``): 1.0 gives the best strong-generalisation and
onboarding NDCG of the sweep (0.382 and 0.436 against 0.373 and 0.432 without it) and niche
NDCG@10 0.298 (0.289); 2.0 lifts niche NDCG to 0.305 but costs onboarding 0.009.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

# How much a rating below "liked" (4 stars) counts towards a profile's genres and decades.
LOW_RATING_WEIGHT = 0.25
LIKED = 4.0


@dataclass(frozen=True)
class MovieTraits:
    """Per movie its traits (genres, then decades); per trait its share of all ratings.

    Movies with the same genres and decade form one *kind* (2,212 of them in
    ml-latest-small): a profile's lift is computed once per kind and then spread to the movies,
    a gather instead of a movies × genres product on every request.
    """

    traits: np.ndarray  # movies × (genres + decades): 1.0 for each genre and for the decade
    n_genres: int  # the first n_genres columns are genres; decade column 0 is "year unknown"
    base: np.ndarray  # each trait's share of all ratings, genres and decades apart (≥ 1e-6)
    kind_of: np.ndarray  # the kind of each scored movie
    kind_traits: np.ndarray  # kinds × traits: genres divided by their number, and the decade

    @classmethod
    def of(
        cls,
        genre_bits: np.ndarray,
        years: np.ndarray,
        n_ratings: np.ndarray,
        scored: np.ndarray | None = None,
    ) -> MovieTraits:
        """From a vocabulary's genre bit masks, release years and rating counts; ``scored``:
        the movies (rows) the affinities are for, all when None."""
        bits = np.asarray(genre_bits, dtype=np.int64)
        n_genres = max(int(bits.max(initial=0)).bit_length(), 1)
        years = np.asarray(years, dtype=np.int64)
        # Decades numbered by rank among those present, 0 kept for "year unknown".
        _, decade = np.unique(np.r_[0, np.where(years > 0, years // 10, 0)], return_inverse=True)
        decade = decade.reshape(-1)[1:]
        n_decades = max(int(decade.max(initial=0)) + 1, 2)
        one_hot = np.eye(n_decades, dtype=np.float32)
        traits = np.hstack([_genre_flags(bits, n_genres), one_hot[decade]])
        counts = np.asarray(n_ratings, dtype=np.float64) @ traits
        kinds, kind_of = np.unique(np.stack([bits, decade], axis=1), axis=0, return_inverse=True)
        kind_genres = _genre_flags(kinds[:, 0], n_genres)
        kind_genres /= np.maximum(kind_genres.sum(axis=1, keepdims=True), 1)
        return cls(
            traits=traits,
            n_genres=n_genres,
            base=np.r_[_shares(counts[:n_genres]), _shares(counts[n_genres:])],
            kind_of=kind_of.reshape(-1)[slice(None) if scored is None else scored].astype(np.int32),
            kind_traits=np.hstack([kind_genres, one_hot[kinds[:, 1]]]),
        )

    def affinity(self, movie_idx: np.ndarray, stars: np.ndarray) -> np.ndarray:
        """The scored movies' genre and decade lift for one profile (float32)."""
        counts = _weights(np.asarray(stars)) @ self.traits[movie_idx]
        per_kind = self.kind_traits @ self._lifts(counts)
        return per_kind[self.kind_of]

    def batch_affinity(self, user_items: sp.csr_matrix) -> np.ndarray:
        """:meth:`affinity` for each row of a users × movies star matrix."""
        weighted = user_items.tocsr(copy=True)
        weighted.data = _weights(weighted.data)
        per_kind = self._lifts(np.asarray(weighted @ self.traits)) @ self.kind_traits.T
        return per_kind[:, self.kind_of]

    def _lifts(self, counts: np.ndarray) -> np.ndarray:
        """log(1 + a profile's share / everyone's share) of each trait (float32), genres and
        decades each summing to one; one profile per row, or one profile as a 1-D array."""
        shares = np.array(counts, dtype=np.float32)
        shares[..., self.n_genres] = 0.0  # an unknown year says nothing about an era
        for part in (shares[..., : self.n_genres], shares[..., self.n_genres :]):
            part /= np.maximum(part.sum(axis=-1, keepdims=True), np.float32(1e-9))
        shares /= self.base
        return np.log1p(shares, out=shares)


def _genre_flags(bits: np.ndarray, n_genres: int) -> np.ndarray:
    return ((bits[:, None] >> np.arange(n_genres)) & 1).astype(np.float32)


def _shares(counts: np.ndarray) -> np.ndarray:
    return np.maximum(counts / max(counts.sum(), 1e-12), 1e-6).astype(np.float32)


def _weights(stars: np.ndarray) -> np.ndarray:
    return np.where(stars >= LIKED, 1.0, LOW_RATING_WEIGHT).astype(np.float32)
