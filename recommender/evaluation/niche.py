"""Picks for niche tastes: the "niche profiles" protocol.

Run: ``python -m recommender evaluate --sections niche`` (writes docs/niche.json|md).

Someone who rates eight Disney animations 5 stars expects animations back, not Jurassic
Park. This protocol measures that on real users. With the folds of
:func:`recommender.evaluation.user_folds` (5 user folds, seed 0; each model trained on the
other folds), a held-out user is **niche** when their liked movies (≥ 4 stars) concentrate
in one genre or one decade:

* at least ``MIN_LIKED`` liked movies, and
* at least ``MIN_SHARE`` of them have that genre (or were released in that decade), and
* that share is at least ``MIN_LIFT`` × the share of all training likes in that genre/decade
  (so "likes dramas" is no niche: half of all likes are dramas).

The user folds in a random 80 % of their liked movies (with their stars), exactly as in the
strong-generalization protocol; the other 20 % are the targets. Reported per model: NDCG@10
against the targets, and **fit@10**, the share of the top 10 that fits the profile (has the
genre, or is from the decade), each with a 95 % interval.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recommender.data import genre_list
from recommender.evaluation.metrics import hit_matrix, mean_ci, ndcg_at_k
from recommender.evaluation.protocols import (
    POSITIVE,
    ranked_movies,
    strong_generalization_split,
    user_folds,
)
from recommender.evaluation.report import table, write_section

MIN_LIKED = 8
MIN_SHARE = 0.5
MIN_LIFT = 2.0
K = 10

ModelFactory = Callable[[pd.DataFrame], Any]


def movie_traits(movies: pd.DataFrame) -> pd.DataFrame:
    """Boolean movieId × trait table: one column per genre and per decade ("1970s")."""
    info = movies.drop_duplicates("movieId").set_index("movieId")
    genres = info["genres"].fillna("").map(lambda g: genre_list(str(g)))
    traits = pd.DataFrame(
        {g: genres.map(lambda gs, g=g: g in gs) for g in sorted({g for gs in genres for g in gs})},
        index=info.index,
    )
    decade = (pd.to_numeric(info["year"], errors="coerce") // 10 * 10).astype("Int64")
    for d in sorted(decade.dropna().unique()):
        traits[f"{d}s"] = (decade == d).fillna(False).to_numpy()
    return traits


def niche_trait(liked: np.ndarray, traits: pd.DataFrame, base_share: pd.Series) -> str | None:
    """The trait a user's liked movies concentrate in (largest lift), or None."""
    if len(liked) < MIN_LIKED:
        return None
    share = traits.reindex(liked).fillna(False).astype(bool).mean()
    lift = share / base_share.clip(lower=1e-9)
    ok = (share >= MIN_SHARE) & (lift >= MIN_LIFT)
    return str(lift[ok].idxmax()) if ok.any() else None


def evaluate(
    ratings: pd.DataFrame,
    movies: pd.DataFrame,
    models: Mapping[str, ModelFactory],
    folds: int = 5,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """One row per model: niche NDCG@10 and fit@10 (means with 95 % half-widths), user counts."""
    say = progress or (lambda _message: None)
    traits = movie_traits(movies)
    fold_of = user_folds(ratings["userId"].to_numpy(), folds, seed)
    user_fold = fold_of.reindex(ratings["userId"].to_numpy()).to_numpy()
    per_model: dict[str, dict[str, list[np.ndarray]]] = {m: {"ndcg": [], "fit": []} for m in models}
    kinds: dict[str, int] = {}
    for fold in range(folds):
        train = ratings[user_fold != fold].reset_index(drop=True)
        test = ratings[user_fold == fold]
        catalogue = np.unique(train["movieId"].to_numpy())
        liked_train = train.loc[train["rating"] >= POSITIVE, "movieId"].to_numpy()
        base_share = traits.reindex(liked_train).fillna(False).astype(bool).mean()
        liked = test[test["rating"] >= POSITIVE].groupby("userId")["movieId"].apply(np.asarray)
        niche = {u: t for u, m in liked.items() if (t := niche_trait(m, traits, base_share))}
        # Same random stream as the strong-generalization protocol of this fold.
        held = strong_generalization_split(
            test[test["userId"].isin(list(niche))],
            catalogue,
            np.random.default_rng([seed, fold, 1]),
        )
        user_trait = [niche[u] for u in held.user_ids]
        for t in user_trait:
            kind = "decade" if t.endswith("s") and t[:4].isdigit() else "genre"
            kinds[kind] = kinds.get(kind, 0) + 1
        fits_trait = traits.reindex(catalogue).fillna(False).astype(bool)
        for name, factory in models.items():
            model = factory(train)
            top = ranked_movies(model, held.fold_in, catalogue, K)
            hits = hit_matrix(top, held.targets)
            per_model[name]["ndcg"].append(ndcg_at_k(hits, held.n_targets, K))
            fit = [
                fits_trait[t].to_numpy()[row[row >= 0]].mean() if (row >= 0).any() else 0.0
                for row, t in zip(top, user_trait, strict=True)
            ]
            per_model[name]["fit"].append(np.asarray(fit, dtype=np.float64))
            say(f"fold {fold + 1}/{folds} {name}: {len(held.user_ids)} niche users")
    rows = []
    for name, values in per_model.items():
        row: dict[str, Any] = {"model": name}
        for metric in ("ndcg", "fit"):
            row[f"niche_{metric}@{K}"], row[f"niche_{metric}@{K}_ci"] = mean_ci(
                np.concatenate(values[metric])
            )
        row["users"] = sum(kinds.values())
        row["genre_users"] = kinds.get("genre", 0)
        row["decade_users"] = kinds.get("decade", 0)
        rows.append(row)
    return pd.DataFrame(rows)


def format_table(result: pd.DataFrame, markdown: bool = False) -> str:
    """NDCG@10 and fit@10 per model, with their 95 % half-widths."""
    header = ["model", f"niche NDCG@{K}", f"niche fit@{K}"]
    rows = [
        [r["model"]]
        + [f"{r[m]:.3f} ± {r[m + '_ci']:.3f}" for m in (f"niche_ndcg@{K}", f"niche_fit@{K}")]
        for r in result.to_dict("records")
    ]
    return table(header, rows, markdown)


def standard_models(movies: pd.DataFrame | None = None) -> dict[str, ModelFactory]:
    """The models of the niche section: popularity, the default model and its two parts, as
    the app trains them (with ``movies``)."""
    from recommender.models import DEFAULT_ALGORITHM, train

    return {
        "popularity": lambda r: train(r, "popularity", movies=movies),
        "als": lambda r: train(r, "als", movies=movies),
        "ease": lambda r: train(r, "ease", movies=movies),
        f"default ({DEFAULT_ALGORITHM})": lambda r: train(r, movies=movies),
    }


def section_report(result: pd.DataFrame, folds: int, seed: int) -> dict[str, Any]:
    """What docs/niche.json holds besides the command line, date and dataset."""
    row = result.iloc[0]
    return {
        "folds": folds,
        "seed": seed,
        "users": int(row["users"]),
        "genre_users": int(row["genre_users"]),
        "decade_users": int(row["decade_users"]),
        "rules": {"min_liked": MIN_LIKED, "min_share": MIN_SHARE, "min_lift": MIN_LIFT},
        "models": json.loads(result.to_json(orient="records")),
    }


def markdown_report(report: dict[str, Any], result: pd.DataFrame) -> str:
    """docs/niche.md: the protocol in brief and the table."""
    return "\n".join([
        "# Picks for niche tastes",
        "",
        f"Produced by `{report['command']}` on {report['date']} ({report['dataset']}; "
        f"{report['folds']} user folds, seed {report['seed']}; {report['users']} niche users: "
        f"{report['genre_users']} by genre, {report['decade_users']} by decade; "
        f"{report['seconds']:.0f} s). Do not edit by hand: rerun the command.",
        "",
        f"A held-out user is niche when ≥ {MIN_LIKED} liked movies (≥ 4 stars) and ≥ "
        f"{MIN_SHARE:.0%} of them share a genre or a decade whose share of all training likes",
        f"is at most 1/{MIN_LIFT:g} of that. They fold in 80 % of their liked movies; NDCG@{K} "
        f"ranks the other 20 %; fit@{K}: share of the top {K} with the genre or from the decade.",
        "Means over users ± 95 % half-widths. See `recommender/evaluation/niche.py`.",
        "",
        format_table(result, markdown=True),
        "",
    ])


def write_reports(report: dict[str, Any], result: pd.DataFrame, folder: Path) -> list[Path]:
    """Write niche.json and niche.md into ``folder``."""
    return write_section(folder, "niche", report, markdown_report(report, result))
