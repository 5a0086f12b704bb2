"""Everything shared between visitors, cached once per process: the only place that caches.

Every cached function takes the MovieLens folder as its first argument, so pointing
MOVIELENS_DIR elsewhere (or fixing a wrong value) takes effect without a restart, and a
failed load is never cached (Streamlit does not cache exceptions). Objects returned by
``st.cache_resource`` are shared by every session and must be treated as read-only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from threadpoolctl import threadpool_limits

from recommender import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    DataError,
    ModelFileError,
    MovieLens,
    Recommender,
    load_movielens,
    train,
)
from recommender.imports import TitleMatcher
from recommender.models import load_or_train
from recommender.posters import TMDB_ATTRIBUTION, Deadline, PosterClient, placeholder_data_uri
from recommender.profiles import ProfileStoreBase, open_store
from recommender.search import TitleIndex
from recommender.settings import settings
from recommender.tastes import TasteGroup, movie_groups, movie_map
from ui import movies
from ui.text import DATA_HELP, count, model_label
from ui.warmup import ModelWarmer

log = logging.getLogger(__name__)

DOCS = Path(__file__).resolve().parent.parent / "docs"
STARS_ALGORITHM = "biased-mf"  # predicts the stars on every pick card, whichever model picked
MODEL_FAILURES = (ValueError, RuntimeError, MemoryError, ModelFileError)  # see model_or_none
POSTER_WAIT_S = 1.5  # per script run, all grids together; late answers fill the cache


def data_dir() -> str | None:
    """The MovieLens folder from the settings (None: the loader downloads ml-latest-small)."""
    folder = settings().movielens_dir
    return str(folder) if folder else None


# --- process -----------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def serving_setup() -> threadpool_limits:
    """Once per server process: BLAS runs on one thread.

    Visitors are served from many threads, so the parallelism is between requests; a
    multi-threaded BLAS would make every small scoring product wait for (and spin on) cores
    that other sessions are using. Model fits in the app get one thread for BLAS too.
    """
    return threadpool_limits(1, user_api="blas")


# --- data --------------------------------------------------------------------------------


@st.cache_resource(show_spinner="Loading MovieLens…")
def _movielens(path: str | None) -> MovieLens:
    return load_movielens(path)


def movielens() -> MovieLens:
    """The dataset; raises :class:`recommender.DataError` with a readable message."""
    return _movielens(data_dir())


def movielens_or_stop() -> MovieLens:
    """The dataset, or a friendly explanation on the page and the end of this run."""
    try:
        return movielens()
    except DataError as error:
        show_data_error(error)
        st.stop()


def show_data_error(error: DataError) -> None:
    """What went wrong and how to fix it, without a traceback."""
    st.error(f"**The movie data could not be loaded.** {error}", icon=":material/error:")
    st.markdown(DATA_HELP)


@st.cache_resource(show_spinner=False)
def _catalogue(path: str | None) -> pd.DataFrame:
    return movies.build_catalogue(_movielens(path))


def catalogue() -> pd.DataFrame:
    """One row per movie (titles, year, genres, n_ratings, mean_rating, ids), by movieId."""
    return _catalogue(data_dir())


@st.cache_resource(show_spinner=False)
def _genres_and_years(path: str | None) -> tuple[list[str], tuple[int, int]]:
    return movies.genres_and_years(_catalogue(path))


def genres() -> list[str]:
    """Every genre in the catalogue, sorted."""
    return _genres_and_years(data_dir())[0]


def year_range() -> tuple[int, int]:
    """The first and last release year in the catalogue."""
    return _genres_and_years(data_dir())[1]


@st.cache_resource(show_spinner="Building the title search…")
def _title_index(path: str | None) -> TitleIndex:
    data = _movielens(path)
    return TitleIndex(data.movies, popularity=data.movie_stats["n_ratings"])


def search(query: str, limit: int = 12) -> pd.DataFrame:
    """Fuzzy title search: movieId, title, score, best first."""
    return _title_index(data_dir()).search(query, limit=limit)


@st.cache_resource(show_spinner="Preparing to match your titles…")
def _title_matcher(path: str | None) -> TitleMatcher:
    # Reuses the search's TitleIndex: building the matcher only normalises the titles.
    return TitleMatcher(_movielens(path).movies, index=_title_index(path))


def title_matcher() -> TitleMatcher:
    """Matches titles and years from IMDb / Letterboxd files to catalogue movies."""
    return _title_matcher(data_dir())


@st.cache_resource(show_spinner=False)
def _starters(path: str | None) -> list[int]:
    return movies.starter_movies(_catalogue(path))


def starters() -> list[int]:
    """Well-known movies across genres and decades, for visitors who have rated nothing."""
    return _starters(data_dir())


@st.cache_resource(show_spinner=False)
def _tags(path: str | None) -> dict[int, list[str]]:
    return movies.top_tags(_movielens(path).tags)


def top_tags(movie_id: int) -> list[str]:
    """The movie's most used tags (user-generated text: escape before display)."""
    return _tags(data_dir()).get(int(movie_id), [])


# --- models ------------------------------------------------------------------------------


WARM_GRACE_S = 1.0  # how long a page waits for a warming model before serving another


def _load(data: MovieLens, algorithm: str) -> Recommender:
    """Load ``algorithm`` from the model cache, or train (and save) it; no Streamlit calls."""
    try:
        return load_or_train(data.ratings, algorithm, movies=data.movies)
    except OSError as error:
        # The model cache is not writable (read-only disk, full disk): serve from memory.
        log.warning("Could not save the %s model (%s); training in memory", algorithm, error)
        return train(data.ratings, algorithm, movies=data.movies)


def warm_up_order() -> list[str]:
    """The default model first, then the stars model, then the switch's others, cheap first."""
    rest = sorted(ALGORITHMS, key=lambda name: name == "nmf")  # NMF trains for tens of seconds
    return [DEFAULT_ALGORITHM, STARS_ALGORITHM, *rest]


@st.cache_resource(show_spinner=False)
def _warm_up(path: str | None) -> ModelWarmer:
    data = _movielens(path)  # loaded here, in a script run: the thread gets the shared copy
    return ModelWarmer(warm_up_order(), lambda algorithm: _load(data, algorithm))


def warm_up() -> ModelWarmer | None:
    """Start loading or training every model in the background, once per process and data
    folder (called by every run of app.py); None when the data itself cannot be loaded (the
    page explains that)."""
    try:
        return _warm_up(data_dir())
    except DataError:
        return None


def model_state(algorithm: str) -> str:
    """"ready", "warming" or "failed": whether :func:`model` would answer at once."""
    warmer = warm_up()
    return "failed" if warmer is None else warmer.state(algorithm)


def switch_label(algorithm: str) -> str:
    """The model switch's label: the model's name, marked while it is still warming up."""
    label = model_label(algorithm)
    return f"{label} (warming up…)" if model_state(algorithm) == "warming" else label


def model(algorithm: str) -> Recommender:
    """The fitted model; waits (with a spinner) only while it is still loading or training,
    which after the warm-up's first pass never happens. A failed model is tried again."""
    data = movielens()
    warmer = _warm_up(data_dir())
    if warmer.state(algorithm) == "ready":
        return warmer.wait(algorithm)
    text = f"Training the {model_label(algorithm)} model on {count(len(data.ratings), 'rating')}…"
    with st.spinner(text, show_time=True):  # only appears when this takes over half a second
        if warmer.state(algorithm) == "failed":
            return warmer.retry(algorithm)
        return warmer.wait(algorithm)


def model_or_none(algorithm: str) -> Recommender | None:
    """The model, or None after explaining on the page why it is unavailable.

    A model still warming up is given :data:`WARM_GRACE_S`; then the page is served by the
    default model, with a note, rather than kept waiting (the next run uses the chosen one).
    """
    warmer = warm_up()
    if (
        warmer is not None and algorithm != DEFAULT_ALGORITHM
        and warmer.state(algorithm) == "warming"
        and warmer.wait(algorithm, timeout=WARM_GRACE_S) is None
    ):
        st.info(f"The {model_label(algorithm)} model is still warming up; meanwhile these picks "
                f"come from the {model_label(DEFAULT_ALGORITHM)} model.",
                icon=":material/hourglass_top:")
        algorithm = DEFAULT_ALGORITHM
    try:
        return model(algorithm)
    except MODEL_FAILURES as error:
        log.exception("Model %s failed", algorithm)
        st.error(
            f"The {model_label(algorithm)} model could not be trained: {error}. "
            "Choose another model on Your picks, or check the server log.",
            icon=":material/error:",
        )
        return None


def star_model() -> Recommender | None:
    """The biased-mf model behind the predicted stars, or None (logged) when it cannot be
    trained: the cards then go without stars, and the picks themselves still show."""
    try:
        return model(STARS_ALGORITHM)
    except MODEL_FAILURES:
        log.exception("Model %s failed; picks show no predicted stars", STARS_ALGORITHM)
        return None


# --- taste groups and the movie map (from the default model's movie vectors) --------------


def _default_model(path: str | None) -> Recommender:
    warmer = _warm_up(path)
    if warmer.state(DEFAULT_ALGORITHM) == "failed":
        return warmer.retry(DEFAULT_ALGORITHM)
    return warmer.wait(DEFAULT_ALGORITHM)


@st.cache_resource(show_spinner="Finding groups of similar movies…")
def _taste_groups(path: str | None) -> list[TasteGroup]:
    data = _movielens(path)
    return movie_groups(_default_model(path), data.movies, data.tags)


def taste_groups() -> list[TasteGroup]:
    """Named groups of well-known movies (KMeans on the default model's movie vectors), most
    watched first; empty (logged) when that model cannot be trained."""
    try:
        return _taste_groups(data_dir())
    except MODEL_FAILURES:
        log.exception("No taste groups: the %s model failed", DEFAULT_ALGORITHM)
        return []


@st.cache_resource(show_spinner="Drawing the movie map (once, a few seconds)…")
def _movie_map(path: str | None) -> pd.DataFrame:
    # t-SNE rather than PCA: neighbours form visible islands (a few seconds, once per process).
    return movie_map(_default_model(path), _movielens(path).movies, method="tsne")


def movie_map_frame() -> pd.DataFrame | None:
    """2-D map of the movies with at least 20 ratings (movieId, x, y, title, genre,
    n_ratings), or None after explaining on the page why it is unavailable."""
    try:
        return _movie_map(data_dir())
    except MODEL_FAILURES as error:
        log.exception("No movie map: the %s model failed", DEFAULT_ALGORITHM)
        st.error(f"The movie map could not be drawn: {error}.", icon=":material/error:")
        return None


# --- saved profiles ----------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _profile_store(url: str) -> ProfileStoreBase:
    return open_store(url)


def profile_store() -> ProfileStoreBase:
    """The store of saved rating profiles (RECOMMENDER_DATABASE_URL, else
    $RECOMMENDER_DATA/profiles.sqlite3), opened once per database; raises
    :class:`recommender.profiles.ProfileStoreError` when it cannot be opened.

    One store serves every session: each call opens its own database connection.
    """
    config = settings()
    return _profile_store(config.database_url or f"sqlite:///{config.profiles_path}")


# --- posters -----------------------------------------------------------------------------


def _secret(name: str, fallback: str | None) -> str | None:
    """A TMDB credential from .streamlit/secrets.toml, else ``fallback`` (the settings)."""
    try:
        value = st.secrets.get(name)
    except FileNotFoundError:  # no secrets file at all (Streamlit raises instead of None)
        value = None
    return str(value) if value else fallback


@st.cache_resource(show_spinner=False)
def _poster_client(
    api_key: str | None, read_token: str | None, api_url: str
) -> PosterClient | None:
    if not (api_key or read_token):
        return None
    return PosterClient(api_key=api_key, read_token=read_token, api_url=api_url)


def poster_client() -> PosterClient | None:
    """The shared TMDB client, or None without credentials (cards show placeholders)."""
    config = settings()
    return _poster_client(_secret("TMDB_API_KEY", config.tmdb_api_key),
                          _secret("TMDB_READ_TOKEN", config.tmdb_read_token),
                          config.tmdb_api_url)


_run_deadline: ContextVar[Deadline | None] = ContextVar("poster_deadline", default=None)


@contextmanager
def poster_deadline() -> Iterator[None]:
    """One TMDB wait of POSTER_WAIT_S for a whole script run, shared by all its grids.

    Entered by :func:`ui.timing.timed_run` around every run; a fragment that runs inside a
    page run keeps the page's deadline, a fragment rerun on its own gets a fresh one.
    """
    if _run_deadline.get() is not None:
        yield
        return
    token = _run_deadline.set(Deadline(POSTER_WAIT_S))
    try:
        yield
    finally:
        _run_deadline.reset(token)


def poster_urls(rows: pd.DataFrame, size: str = "w342") -> dict[int, str]:
    """A poster URL for every catalogue row: TMDB where it has one, else a drawn placeholder."""
    client = poster_client()
    found: dict[int, str | None] = {}
    if client is not None and len(rows):
        links = rows[["tmdbId", "imdbId"]].reset_index()
        wait = _run_deadline.get() or POSTER_WAIT_S  # outside a run: a wait of its own
        found = client.urls_for_movies(links, size=size, wait=wait)
    urls = {}
    for movie_id, row in rows[["display_title", "year", "genres"]].to_dict("index").items():
        url = found.get(int(movie_id))
        if not url:
            year = int(row["year"]) if pd.notna(row["year"]) else None
            url = placeholder_data_uri(row["display_title"], year, row["genres"])
        urls[int(movie_id)] = url
    return urls


def poster_attribution() -> str | None:
    """TMDB's required attribution when posters come from TMDB, else None."""
    return TMDB_ATTRIBUTION if poster_client() is not None else None


# --- figures for the About page ----------------------------------------------------------


@st.cache_data(show_spinner=False)
def _figures(path: str | None) -> dict[str, Any]:
    return movies.dataset_figures(_movielens(path))


def figures() -> dict[str, Any]:
    """Dataset figures: counts, rating histogram, ratings per movie (sorted), shares."""
    return _figures(data_dir())


@st.cache_data(show_spinner=False)
def _read_json(path: str, modified: float) -> Any:
    del modified  # part of the cache key only: a rewritten file is read again
    return json.loads(Path(path).read_text())


def evaluation() -> tuple[dict | None, dict | None, str | None]:
    """(docs/evaluation.json, docs/evaluation_chart.json, problem) as far as they exist."""
    found: list[dict | None] = []
    problem = None
    for name in ("evaluation.json", "evaluation_chart.json"):
        file = DOCS / name
        try:
            found.append(_read_json(str(file), file.stat().st_mtime))
        except FileNotFoundError:
            found.append(None)
        except (OSError, ValueError) as error:  # half-written or malformed: say so
            found.append(None)
            problem = f"{name} could not be read ({type(error).__name__}: {error})"
    return found[0], found[1], problem
