"""Taste groups and the movie map, from a factor model's learned movie (and user) vectors.

* :func:`movie_groups` clusters well-known movies into named groups for onboarding: a visitor
  picks the groups they like instead of rating 15 movies one by one, the change MovieLens made
  (Chang, Harper & Terveen, CSCW 2015, "Using Groups of Items for Preference Elicitation in
  Recommender Systems": about half the time, and users were as happy with the results).
  :func:`seed_profile` turns the picked groups into a starting profile the visitor refines.
* :func:`user_taste_groups` clusters the training users by their taste vectors.
* :func:`movie_map` projects the movie vectors to 2-D (PCA or t-SNE) and
  :func:`movie_map_chart` draws them as an interactive Altair scatter.

Vectors are compared by direction (they are L2-normalised before clustering or projecting), so
how much a movie was rated, which inflates its vector in most factor models, does not decide
where it lands. Every function is deterministic for a given ``random_state``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from recommender.data import genre_list
from recommender.models import Recommender
from recommender.ratings import check_rating

if TYPE_CHECKING:
    import altair as alt
    from sklearn.cluster import KMeans

GENRE_SHARE = 0.25  # a genre names a group only if at least this share of its movies have it
MIN_LIFT = 1.3  # ... and it is this much more common there than in the whole catalogue
# Tags are sparse (ml-latest-small: most tags are on a handful of movies), so a tag must be on
# 5 % of a group's movies (at least 3) and three times as common there as overall.
TAG_SHARE = 0.05
TAG_MOVIES = 3
TAG_LIFT = 3.0
DECADE_SHARE = 0.4  # a decade names a group if it holds this share of it, 1.5× the overall share
DECADE_LIFT = 1.5
CLASSICS = "Classics"  # a group name for movies from before CLASSICS_BEFORE
CLASSICS_BEFORE = 1980
NAME_GENRES = 4  # genres considered for a group's name
NO_GENRE = "(no genre)"
TSNE_ITERATIONS = 500  # the layout settles well before scikit-learn's default 1000


@dataclass(frozen=True)
class TasteGroup:
    """A group of movies for onboarding.

    ``name``: e.g. "Animation · Children · disney", from the most over-represented genres,
    then a tag or decade. ``movie_ids``: well-known representatives, most-rated first.
    ``genres``, ``tags`` and ``decades`` ("1990s"): what is over-represented, strongest first.
    ``size``: movies in the cluster.
    """

    name: str
    movie_ids: list[int]
    genres: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    decades: list[str] = field(default_factory=list)
    size: int = 0


# --- onboarding groups -----------------------------------------------------------------------


def movie_groups(
    model: Recommender,
    movies: pd.DataFrame,
    tags: pd.DataFrame | None = None,
    k: int = 12,
    per_group: int = 6,
    min_ratings: int = 20,
    random_state: int = 0,
) -> list[TasteGroup]:
    """Up to ``k`` named groups of movies, clustered by the model's movie vectors.

    Only movies with at least ``min_ratings`` ratings are clustered, so representatives are
    films people know. A group's name is a promise about the ``per_group`` movies it shows:
    every one of them has each genre the name gives and falls in its decade (or is a classic
    from before 1980, for "Classics"). The name is the most specific such description of the
    cluster (its over-represented genres and decade first), and the representatives are the
    most-rated matching movies among the half of the cluster nearest its centre. A cluster
    whose every true description is taken by a better-known group is left out, so no two
    groups look alike. ``movies`` needs movieId and genres (and year, for decades); ``tags``
    (userId, movieId, tag) only fills :attr:`TasteGroup.tags`. Groups are ordered by how much
    their representatives were rated. Needs a factor model (``item_factors_``).
    """
    if k < 1 or per_group < 1:
        raise ValueError(f"k and per_group must be >= 1, got {k}, {per_group}")
    idx = _eligible(model, min_ratings)
    if len(idx) < k:
        raise ValueError(
            f"only {len(idx)} movies have >= {min_ratings} ratings; fewer than k={k} groups"
        )
    vectors = _unit_rows(_movie_vectors(model)[idx])
    kmeans = _kmeans(vectors, k, random_state)
    labels = kmeans.labels_
    centres = _unit_rows(kmeans.cluster_centers_)
    movie_ids = np.asarray(model.movie_ids_)[idx]
    counts = np.asarray(model.n_ratings_)[idx]
    genre_names, genre_matrix = _genre_matrix(movies, movie_ids)
    tag_names, tag_matrix = _tag_matrix(tags, movie_ids)
    decade_names, decade_matrix = _decade_matrix(movies, movie_ids)
    eras = dict(zip(decade_names, decade_matrix.T, strict=True))
    if decade_names:
        eras[CLASSICS] = decade_matrix[:, [int(d[:4]) < CLASSICS_BEFORE
                                           for d in decade_names]].any(axis=1)

    clusters = []
    for c in range(k):
        members = np.flatnonzero(labels == c)
        closeness = vectors[members] @ centres[c]
        near = members[np.argsort(-closeness, kind="stable")][: max(per_group, len(members) // 2)]
        near = near[np.lexsort((movie_ids[near], -counts[near]))]  # most-rated first
        genres = _over_represented(genre_matrix, genre_names, members, GENRE_SHARE, MIN_LIFT, 1)
        decades = _over_represented(
            decade_matrix, decade_names, members, DECADE_SHARE, DECADE_LIFT, 1
        )
        options = _descriptions(genres, decades, genre_matrix, genre_names, eras, near)
        found = _over_represented(tag_matrix, tag_names, members, TAG_SHARE, TAG_LIFT, TAG_MOVIES)
        weight = int(counts[near[:per_group]].sum())
        clusters.append((weight, c, options, near, found, len(members)))
    clusters.sort(key=lambda g: (-g[0], g[1]))

    result: list[TasteGroup] = []
    used: list[frozenset[str]] = []
    for _, _, options, near, found, size in clusters:
        for named_genres, era in options:
            shown = near[_matching(genre_matrix, genre_names, eras, near, named_genres, era)]
            labels = frozenset([*named_genres, *([era] if era else [])])
            # "Comedy" next to "Comedy · 1990s" reads as the same group: neither may
            # contain the other's labels.
            if len(shown) >= per_group and not any(labels <= u or u <= labels for u in used):
                break
        else:
            continue  # every true name is taken: a near-duplicate of a better-known group
        used.append(labels)
        result.append(
            TasteGroup(
                name=" · ".join([*named_genres, *([era] if era else [])]),
                movie_ids=[int(m) for m in movie_ids[shown[:per_group]]],
                genres=list(named_genres),
                tags=found,
                decades=[era] if era else [],
                size=size,
            )
        )
    return result


def seed_profile(
    groups_picked: Iterable[TasteGroup], rating: float = 4.5, per_group: int | None = None
) -> dict[int, float]:
    """A starting profile from the picked groups: their representatives rated ``rating``.

    Feed it to ``recommend`` as is, or show it so the visitor can change or remove ratings.
    ``per_group`` keeps only that many representatives of each group. Every rating follows
    :mod:`recommender.ratings` (ValueError naming the movie otherwise).
    """
    profile: dict[int, float] = {}
    for group in groups_picked:
        for movie_id in group.movie_ids[:per_group]:
            movie, stars = check_rating(movie_id, rating)
            profile.setdefault(movie, stars)
    return profile


# --- users -------------------------------------------------------------------------------------


def user_taste_groups(model: Recommender, k: int = 8, random_state: int = 0) -> pd.Series:
    """Group of every training user (KMeans on their normalised taste vectors).

    Returns a Series of group numbers 0..k-1 indexed by userId. Needs ``user_factors_``.
    """
    factors = getattr(model, "user_factors_", None)
    if factors is None:
        raise TypeError(f"{type(model).__name__} has no user vectors (needs user_factors_)")
    vectors = _unit_rows(np.asarray(factors, dtype=np.float64))
    if len(vectors) < k:
        raise ValueError(f"{len(vectors)} users cannot form k={k} groups")
    labels = _kmeans(vectors, k, random_state).labels_
    return pd.Series(
        labels.astype(np.int32), index=pd.Index(model.user_ids_, name="userId"), name="group"
    )


# --- the movie map -----------------------------------------------------------------------------


def movie_map(
    model: Recommender,
    movies: pd.DataFrame,
    method: str = "pca",
    min_ratings: int = 20,
    random_state: int = 0,
) -> pd.DataFrame:
    """2-D coordinates of the movies with at least ``min_ratings`` ratings.

    Returns a DataFrame (movieId, x, y, title, genre, n_ratings), most-rated first. ``genre``
    is the movie's rarest genre in the catalogue (Toy Story is Animation rather than
    Comedy), which says the most about it. ``method="tsne"`` groups neighbours more clearly
    than PCA but takes seconds: compute it once and cache it. On ml-latest-small the default
    ``min_ratings=20`` keeps about 1,300 movies (t-SNE about 2 s, PCA 0.05 s on one core).
    """
    if method not in ("pca", "tsne"):
        raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}")
    idx = _eligible(model, min_ratings)
    if len(idx) < 3:
        raise ValueError(f"only {len(idx)} movies have >= {min_ratings} ratings; need 3")
    vectors = _unit_rows(_movie_vectors(model)[idx])
    # One thread: on a busy machine OpenMP threads spin against each other (t-SNE took 25 s
    # with two threads under load and 4 s with one).
    from sklearn.decomposition import PCA  # imported here: scikit-learn takes 0.5 s to import
    from sklearn.manifold import TSNE

    with threadpool_limits(1):
        if method == "pca":
            xy = PCA(n_components=2, random_state=random_state).fit_transform(vectors)
        else:
            xy = TSNE(
                n_components=2,
                perplexity=min(30.0, (len(idx) - 1) / 3),
                init="pca",
                learning_rate="auto",
                max_iter=TSNE_ITERATIONS,
                random_state=random_state,
            ).fit_transform(vectors)
    movie_ids = np.asarray(model.movie_ids_)[idx]
    info = movies.drop_duplicates("movieId").set_index("movieId").reindex(movie_ids)
    frame = pd.DataFrame({
        "movieId": movie_ids.astype(np.int64),
        "x": xy[:, 0].astype(np.float32),
        "y": xy[:, 1].astype(np.float32),
        "title": _titles(info, movie_ids),
        "genre": _primary_genres(movies, info),
        "n_ratings": np.asarray(model.n_ratings_)[idx].astype(np.int64),
    })
    return frame.sort_values(["n_ratings", "movieId"], ascending=[False, True]).reset_index(
        drop=True
    )


def movie_map_chart(
    frame: pd.DataFrame,
    highlight_rated: Iterable[int] = (),
    highlight_picks: Iterable[int] = (),
    width: int = 700,
    height: int = 500,
) -> alt.LayerChart:
    """Interactive scatter of :func:`movie_map`'s frame, coloured by genre.

    Titles show on hover; scroll zooms, drag pans, clicking a genre in the legend highlights
    it. ``highlight_rated`` (the visitor's movies) are drawn large with a dark outline,
    ``highlight_picks`` (recommendations) as large outlined diamonds. Ids not on the map (too
    few ratings) are skipped.
    """
    import altair as alt  # only needed for charts

    rated, picks = set(map(int, highlight_rated)), set(map(int, highlight_picks))
    data = frame.assign(
        role=np.where(
            frame["movieId"].isin(picks),
            "recommended",
            np.where(frame["movieId"].isin(rated), "you rated", "movie"),
        )
    )
    # Inline values: Altair's 5,000-row guard applies to DataFrames, and a map of a large
    # catalogue is legitimately bigger.
    def values(part: pd.DataFrame) -> alt.InlineData:
        records = part[["movieId", "x", "y", "title", "genre", "n_ratings", "role"]]
        return alt.InlineData(values=records.to_dict("records"))

    genre_pick = alt.selection_point(fields=["genre"], bind="legend")
    x = alt.X("x:Q", axis=None)
    y = alt.Y("y:Q", axis=None)
    colour = alt.Color("genre:N", scale=alt.Scale(scheme="tableau20"), title="genre")
    tooltip = [
        alt.Tooltip("title:N", title="movie"),
        alt.Tooltip("genre:N"),
        alt.Tooltip("n_ratings:Q", title="ratings"),
    ]
    marked = [*tooltip, alt.Tooltip("role:N", title="marked as")]  # only ringed and diamonds
    base = (
        alt.Chart(values(data))
        .mark_circle(size=28)
        .encode(
            x=x,
            y=y,
            color=colour,
            opacity=alt.condition(genre_pick, alt.value(0.85), alt.value(0.07)),
            tooltip=tooltip,
        )
        .add_params(genre_pick)
    )
    layers = [base]
    mine = data[data["role"] == "you rated"]
    if len(mine):
        layers.append(
            alt.Chart(values(mine))
            .mark_circle(size=140, stroke="#222", strokeWidth=2, opacity=0.95)
            .encode(x=x, y=y, color=colour, tooltip=marked)
        )
    recommended = data[data["role"] == "recommended"]
    if len(recommended):
        layers.append(
            alt.Chart(values(recommended))
            .mark_point(shape="diamond", size=220, filled=True, stroke="#000", strokeWidth=2,
                        opacity=1.0)
            .encode(x=x, y=y, color=colour, tooltip=marked)
        )
    return alt.layer(*layers).properties(width=width, height=height).interactive()


# --- helpers ---------------------------------------------------------------------------------


def _movie_vectors(model: Recommender) -> np.ndarray:
    factors = getattr(model, "item_factors_", None)
    if factors is None:
        raise TypeError(
            f"{type(model).__name__} has no movie vectors; use a factor model "
            "(als, nmf, biased-mf or hybrid)"
        )
    return np.asarray(factors, dtype=np.float64)


def _eligible(model: Recommender, min_ratings: int) -> np.ndarray:
    vectors = _movie_vectors(model)
    counts = np.asarray(model.n_ratings_)
    # A movie whose vector is (almost) zero has no direction to cluster or project.
    norms = np.linalg.norm(vectors, axis=1)
    return np.flatnonzero((counts >= min_ratings) & (norms > 1e-9))


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _kmeans(vectors: np.ndarray, k: int, random_state: int) -> KMeans:
    from sklearn.cluster import KMeans

    with threadpool_limits(1):  # small problems; threads only contend on a shared machine
        return KMeans(n_clusters=k, n_init=10, random_state=random_state).fit(vectors)


def _genre_matrix(movies: pd.DataFrame, movie_ids: np.ndarray) -> tuple[list[str], np.ndarray]:
    info = movies.drop_duplicates("movieId").set_index("movieId").reindex(movie_ids)
    lists = [genre_list(g) if isinstance(g, str) else [] for g in info["genres"]]
    names = sorted({g for genres in lists for g in genres})
    column = {g: i for i, g in enumerate(names)}
    matrix = np.zeros((len(movie_ids), len(names)), dtype=bool)
    for row, genres in enumerate(lists):
        matrix[row, [column[g] for g in genres]] = True
    return names, matrix


def _tag_matrix(tags: pd.DataFrame | None, movie_ids: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Movies × tags, True where anyone tagged the movie (tags compared in lower case)."""
    if tags is None or tags.empty:
        return [], np.zeros((len(movie_ids), 0), dtype=bool)
    used = tags[tags["movieId"].isin(movie_ids)]
    lower = used["tag"].astype(str).str.strip().str.lower()
    pairs = pd.DataFrame({"movieId": used["movieId"].to_numpy(), "tag": lower.to_numpy()})
    pairs = pairs[pairs["tag"] != ""].drop_duplicates()
    names = sorted(pairs["tag"].unique())
    column = {t: i for i, t in enumerate(names)}
    matrix = np.zeros((len(movie_ids), len(names)), dtype=bool)
    rows = np.searchsorted(movie_ids, pairs["movieId"].to_numpy())
    matrix[rows, [column[t] for t in pairs["tag"]]] = True
    return names, matrix


def _decade_matrix(movies: pd.DataFrame, movie_ids: np.ndarray) -> tuple[list[str], np.ndarray]:
    if "year" not in movies:
        return [], np.zeros((len(movie_ids), 0), dtype=bool)
    years = movies.drop_duplicates("movieId").set_index("movieId")["year"].reindex(movie_ids)
    decades = (pd.to_numeric(years, errors="coerce") // 10 * 10).to_numpy(dtype=float)
    names = sorted({int(d) for d in decades if np.isfinite(d)})
    matrix = decades[:, None] == np.array(names, dtype=float)[None, :]
    return [f"{d}s" for d in names], matrix


def _over_represented(
    matrix: np.ndarray,
    names: Sequence[str],
    members: np.ndarray,
    min_share: float,
    min_lift: float,
    min_movies: int,
    limit: int = 3,
) -> list[str]:
    """Labels most over-represented among ``members`` (lift = share there / share overall)."""
    if not len(names):
        return []
    inside = matrix[members].sum(axis=0)
    share = inside / max(len(members), 1)
    overall = matrix.mean(axis=0)
    lift = share / np.maximum(overall, 1e-12)
    keep = (share >= min_share) & (lift >= min_lift) & (inside >= min_movies)
    order = np.lexsort((np.arange(len(names)), -inside, -lift))
    return [names[i] for i in order if keep[i]][:limit]


def _descriptions(
    genres: list[str],
    decades: list[str],
    genre_matrix: np.ndarray,
    genre_names: Sequence[str],
    eras: dict[str, np.ndarray],
    near: np.ndarray,
) -> list[tuple[tuple[str, ...], str | None]]:
    """Names to try for a cluster, best first: (genres, era or None) pairs.

    What is over-represented in the cluster (``genres``, ``decades``) comes before what is
    merely common among the movies near its centre; one genre and an era before two genres
    (the best-known movies fit it and it still says a lot); eras are the over-represented
    decades, the most common decade near the centre, then "Classics".
    """
    common = genre_matrix[near].sum(axis=0)
    others = [genre_names[i] for i in np.lexsort((np.arange(len(genre_names)), -common))
              if common[i] and genre_names[i] not in genres]
    decade_names = [d for d in eras if d != CLASSICS]
    if decade_names:
        in_decade = np.array([eras[d][near].sum() for d in decade_names])
        decades = [*decades, decade_names[int(np.argmax(in_decade))]]
    era_options = [*dict.fromkeys(decades), *([CLASSICS] if CLASSICS in eras else [])]
    options: list[tuple[tuple[str, ...], str | None]] = []
    for names in (genres, others[:max(0, NAME_GENRES - len(genres))]):
        choices = [*[(g,) for g in names],
                   *[(a, b) for i, a in enumerate(names) for b in names[i + 1:]]]
        options += [(g, era) for era in era_options for g in choices]
        options += [(g, None) for g in choices]
    return options + [((), era) for era in era_options]


def _matching(
    genre_matrix: np.ndarray,
    genre_names: Sequence[str],
    eras: dict[str, np.ndarray],
    near: np.ndarray,
    genres: Sequence[str],
    era: str | None,
) -> np.ndarray:
    """Mask over ``near``: the movies that have every genre in ``genres`` and fall in ``era``."""
    mask = np.ones(len(near), dtype=bool)
    for genre in genres:
        mask &= genre_matrix[near, list(genre_names).index(genre)]
    if era is not None:
        mask &= eras[era][near]
    return mask


def _titles(info: pd.DataFrame, movie_ids: np.ndarray) -> list[str]:
    if "display_title" in info:
        names = info["display_title"].astype(object)
    elif "title" in info:
        names = info["title"].astype(object)
    else:
        return [f"movie {m}" for m in movie_ids]
    years = info["year"] if "year" in info and "display_title" in info else None
    out = []
    for i, movie_id in enumerate(movie_ids):
        name = names.iloc[i]
        name = f"movie {movie_id}" if not isinstance(name, str) or not name else name
        if years is not None and pd.notna(years.iloc[i]):
            name = f"{name} ({int(years.iloc[i])})"
        out.append(name)
    return out


def _primary_genres(movies: pd.DataFrame, info: pd.DataFrame) -> list[str]:
    """Each movie's least common genre in the whole catalogue ``movies``."""
    if "genres" not in info:
        return [NO_GENRE] * len(info)
    frequency: dict[str, int] = {}
    for genres in movies["genres"].dropna():
        for g in genre_list(genres):
            frequency[g] = frequency.get(g, 0) + 1
    out = []
    for genres in info["genres"]:
        names = genre_list(genres) if isinstance(genres, str) else []
        out.append(min(names, key=lambda g: (frequency.get(g, 0), g)) if names else NO_GENRE)
    return out
