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
    """Per movie its genres and decade; per genre and decade its share of all ratings.

    Movies with the same genres and decade form one *kind* (about a thousand in
    ml-latest-small): a profile's lift is computed once per kind and then spread to the movies,
    a gather instead of a movies × genres product on every request.
    """

    genres: np.ndarray  # movies × genres, 1.0 where the movie has the genre (float32)
    decade: np.ndarray  # each movie's decade column; 0 for an unknown year
    genre_base: np.ndarray  # each genre's share of all ratings' genres (floored at 1e-6)
    decade_base: np.ndarray  # each decade's share of all ratings (floored at 1e-6)
    kind_of: np.ndarray  # the kind of each scored movie
    kind_genre_mean: np.ndarray  # kinds × genres: the kind's genres, divided by their number
    kind_decade: np.ndarray  # each kind's decade column

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
        genres = ((bits[:, None] >> np.arange(n_genres)) & 1).astype(np.float32)
        counts = np.asarray(n_ratings, dtype=np.float64)
        genre_base = counts @ genres
        years = np.asarray(years, dtype=np.int64)
        first = int(years[years > 0].min(initial=0)) // 10
        decade = np.where(years > 0, years // 10 - first + 1, 0).astype(np.int64)
        decade_base = np.bincount(decade, weights=counts, minlength=2)
        kinds, kind_of = np.unique(np.stack([bits, decade], axis=1), axis=0, return_inverse=True)
        kind_genres = ((kinds[:, :1] >> np.arange(n_genres)) & 1).astype(np.float32)
        return cls(
            genres=genres,
            decade=decade,
            genre_base=_shares(genre_base),
            decade_base=_shares(decade_base),
            kind_of=kind_of.reshape(-1)[slice(None) if scored is None else scored].astype(np.int32),
            kind_genre_mean=kind_genres / np.maximum(kind_genres.sum(axis=1, keepdims=True), 1),
            kind_decade=kinds[:, 1],
        )

    def affinity(self, movie_idx: np.ndarray, stars: np.ndarray) -> np.ndarray:
        """The scored movies' genre and decade lift for one profile (float32)."""
        weights = _weights(np.asarray(stars))
        genres = weights @ self.genres[movie_idx]
        decades = np.bincount(
            self.decade[movie_idx], weights=weights, minlength=len(self.decade_base)
        )
        genre_lift, decade_lift = self._lifts(genres, decades)
        per_kind = self.kind_genre_mean @ genre_lift
        per_kind += decade_lift[self.kind_decade]
        return per_kind[self.kind_of]

    def batch_affinity(self, user_items: sp.csr_matrix) -> np.ndarray:
        """:meth:`affinity` for each row of a users × movies star matrix."""
        weighted = user_items.tocsr(copy=True)
        weighted.data = _weights(weighted.data)
        columns = sp.csr_matrix(
            (np.ones(len(self.decade), np.float32), self.decade, np.arange(len(self.decade) + 1)),
            shape=(len(self.decade), len(self.decade_base)),
        )
        genre_lift, decade_lift = self._lifts(
            np.asarray(weighted @ self.genres), np.asarray((weighted @ columns).todense())
        )
        per_kind = genre_lift @ self.kind_genre_mean.T + decade_lift[:, self.kind_decade]
        return per_kind[:, self.kind_of]

    def _lifts(self, genres: np.ndarray, decades: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """log(1 + a profile's share / everyone's share), per genre and per decade (float32);
        one profile per row, or one profile as 1-D arrays."""
        genres = np.asarray(genres, dtype=np.float32)
        decades = np.array(decades, dtype=np.float32)
        decades[..., 0] = 0.0  # an unknown year says nothing about an era
        genres = genres / np.maximum(genres.sum(axis=-1, keepdims=True), np.float32(1e-9))
        decades /= np.maximum(decades.sum(axis=-1, keepdims=True), np.float32(1e-9))
        genres /= self.genre_base
        decades /= self.decade_base
        return np.log1p(genres, out=genres), np.log1p(decades, out=decades)


def _shares(counts: np.ndarray) -> np.ndarray:
    return np.maximum(counts / max(counts.sum(), 1e-12), 1e-6).astype(np.float32)


def _weights(stars: np.ndarray) -> np.ndarray:
    return np.where(stars >= LIKED, 1.0, LOW_RATING_WEIGHT).astype(np.float32)
