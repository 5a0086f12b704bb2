"""Offline comparison of the group rules (``python -m recommender evaluate --sections groups``).

The protocol follows Baltrunas, Makcinskas & Ricci (RecSys 2010): groups are built from
held-out users, the group gets one list, and each member judges it against their *own*
held-out favourites. Per fold of :func:`recommender.evaluation.user_folds` (users of the other
folds train the model):

* Every held-out user of the onboarding split (:func:`recommender.evaluation.onboarding_split`:
  10 random ratings told to the model, their other ratings ≥ 4 are the targets) is folded in
  once; that is what a member rating a few movies on the Movie night page does.
* Groups of 2, 4 and 6 of those users: **random**, and of **similar** taste (a random user and
  the held-out users whose ratings are most like theirs: cosine of mean-centred stars over all
  their held-out ratings, which is what the group knows about itself, never what the model is
  told).
* Each rule ranks 10 movies that no member rated. A member's NDCG@10 counts their targets in
  that list (targets another member told the model are dropped: the group never gets them).
  A group scores the **mean** of its members' NDCG@10 and the **worst** member's.

Each cell is a mean over groups ± the half-width of a 95 % confidence interval (groups drawn
with replacement across the run share users, so the interval is a little optimistic). The row
``individual`` gives each member their own top-10 instead: what a group costs them.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.evaluation.metrics import mean_ci, ndcg_at_k
from recommender.evaluation.protocols import onboarding_split, user_folds
from recommender.evaluation.report import table, write_section
from recommender.groups import RULES, group_ranking

SIZES = (2, 4, 6)
KINDS = ("random", "similar")
GROUPS_PER_FOLD = 60  # per kind and size: 300 groups per cell over 5 folds
K = 10
INDIVIDUAL = "individual"  # the reference row: every member's own top-10


# --- groups -------------------------------------------------------------------------------


def taste_similarity(ratings: sp.csr_matrix) -> np.ndarray:
    """users × users cosine of mean-centred stars (rows of ``ratings``; 0 where unrated)."""
    ratings = sp.csr_matrix(ratings, dtype=np.float64)
    counts = np.maximum(np.diff(ratings.indptr), 1)
    means = np.asarray(ratings.sum(axis=1)).ravel() / counts
    centred = ratings.copy()
    centred.data -= np.repeat(means, np.diff(ratings.indptr))
    norms = np.sqrt(np.asarray(centred.multiply(centred).sum(axis=1)).ravel())
    gram = (centred @ centred.T).toarray()
    return gram / np.maximum(np.outer(norms, norms), 1e-12)


def random_groups(n_users: int, size: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` groups (rows of user positions) of ``size`` distinct users each."""
    _check_size(n_users, size)
    return np.stack([rng.choice(n_users, size, replace=False) for _ in range(count)])


def similar_groups(
    similarity: np.ndarray, size: int, count: int, rng: np.random.Generator
) -> np.ndarray:
    """``count`` groups: a random user and the ``size − 1`` users most similar to them."""
    n_users = similarity.shape[0]
    _check_size(n_users, size)
    groups = []
    for seed_user in rng.integers(0, n_users, count):
        row = np.array(similarity[seed_user], dtype=np.float64)
        row[seed_user] = -np.inf
        nearest = np.lexsort((np.arange(n_users), -row))[: size - 1]
        groups.append(np.r_[seed_user, nearest])
    return np.asarray(groups, dtype=np.int64)


def _check_size(n_users: int, size: int) -> None:
    if not 1 <= size <= n_users:
        raise ValueError(f"cannot build groups of {size} from {n_users} users")


# --- scoring --------------------------------------------------------------------------------


def member_ndcg(ranked: np.ndarray, targets: Sequence[set[int]]) -> np.ndarray:
    """NDCG@len(ranked) of one list for each member's target set (NaN: no targets)."""
    ranked = np.asarray(ranked, dtype=np.int64)
    hits = np.array([[int(m) in t for m in ranked] for t in targets], dtype=bool).reshape(
        len(targets), len(ranked)
    )
    n_targets = np.array([len(t) for t in targets])
    values = ndcg_at_k(hits, n_targets, K) if len(ranked) else np.zeros(len(targets))
    return np.where(n_targets > 0, values, np.nan)


def score_group(
    scores: np.ndarray, given: Sequence[set[int]], targets: Sequence[set[int]], rule: str
) -> tuple[float, float]:
    """(mean, worst) member NDCG@10 of the group list ``rule`` makes from member ``scores``.

    ``given``: each member's rated columns (never recommended); ``targets``: their favourites.
    """
    scores = np.array(scores, dtype=np.float64)
    told = set().union(*given)
    scores[:, sorted(told)] = -np.inf
    reachable = [t - told for t in targets]
    if rule == INDIVIDUAL:
        values = np.array([
            member_ndcg(group_ranking(scores[[i]], K, "average"), [reachable[i]])[0]
            for i in range(len(targets))
        ])
    else:
        values = member_ndcg(group_ranking(scores, K, rule), reachable)
    values = values[np.isfinite(values)]
    if not len(values):
        return math.nan, math.nan
    return float(values.mean()), float(values.min())


# --- the experiment ------------------------------------------------------------------------


def evaluate_groups(
    ratings: pd.DataFrame,
    factory: Callable[[pd.DataFrame], Any],
    folds: int = 5,
    seed: int = 0,
    sizes: Sequence[int] = SIZES,
    groups_per_fold: int = GROUPS_PER_FOLD,
    rules: Sequence[str] = (*RULES, INDIVIDUAL),
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """One row per rule, group kind and size: mean and worst-member NDCG@10 with 95 % CIs.

    ``factory`` fits a model on training ratings (e.g. ``lambda r: train(r)``).
    """
    say = progress or (lambda _message: None)
    fold_of = user_folds(ratings["userId"].to_numpy(), folds, seed)
    user_fold = fold_of.reindex(ratings["userId"].to_numpy()).to_numpy()
    tally: dict[tuple[str, str, int], list[tuple[float, float]]] = {}
    for fold in range(folds):
        train = ratings[user_fold != fold].reset_index(drop=True)
        test = ratings[user_fold == fold]
        catalogue = np.unique(train["movieId"].to_numpy())
        held = onboarding_split(test, catalogue, np.random.default_rng([seed, fold, 2]))
        model = factory(train)
        if not np.array_equal(np.asarray(model.movie_ids_), catalogue):
            raise ValueError("the model's movies must be exactly those of its training ratings")
        profiles = [_row_dict(held.fold_in, i, catalogue) for i in range(len(held.user_ids))]
        scores = model.scores(profiles)
        given = [set(_row(held.fold_in, i)) for i in range(len(held.user_ids))]
        targets = [set(_row(held.targets, i)) for i in range(len(held.user_ids))]
        similarity = taste_similarity(_all_held_out(test, held.user_ids, catalogue))
        rng = np.random.default_rng([seed, fold, 3])
        for size in sizes:
            for kind in KINDS:
                if kind == "random":
                    groups = random_groups(len(profiles), size, groups_per_fold, rng)
                else:
                    groups = similar_groups(similarity, size, groups_per_fold, rng)
                for group in groups:
                    g_given = [given[i] for i in group]
                    g_targets = [targets[i] for i in group]
                    for rule in rules:
                        result = score_group(scores[group], g_given, g_targets, rule)
                        tally.setdefault((rule, kind, size), []).append(result)
        say(f"fold {fold + 1}/{folds}: {len(profiles)} held-out users")
    rows = []
    for (rule, kind, size), values in tally.items():
        array = np.array(values, dtype=np.float64)
        array = array[np.isfinite(array).all(axis=1)]
        mean, mean_half = mean_ci(array[:, 0])
        worst, worst_half = mean_ci(array[:, 1])
        rows.append({"rule": rule, "kind": kind, "size": size, "groups": len(array),
                     "mean_ndcg": mean, "mean_ndcg_ci": mean_half,
                     "worst_ndcg": worst, "worst_ndcg_ci": worst_half})
    return pd.DataFrame(rows)


def _row(matrix: sp.csr_matrix, i: int) -> np.ndarray:
    return matrix.indices[matrix.indptr[i] : matrix.indptr[i + 1]]


def _row_dict(matrix: sp.csr_matrix, i: int, catalogue: np.ndarray) -> dict[int, float]:
    span = slice(matrix.indptr[i], matrix.indptr[i + 1])
    return dict(zip(catalogue[matrix.indices[span]].tolist(), matrix.data[span].tolist(),
                    strict=True))


def _all_held_out(test: pd.DataFrame, user_ids: np.ndarray, catalogue: np.ndarray):
    """users × catalogue stars of every held-out rating (for the taste similarity)."""
    part = test[test["userId"].isin(user_ids) & test["movieId"].isin(catalogue)]
    rows = np.searchsorted(user_ids, part["userId"].to_numpy())
    cols = np.searchsorted(catalogue, part["movieId"].to_numpy())
    return sp.csr_matrix((part["rating"].to_numpy(np.float64), (rows, cols)),
                         shape=(len(user_ids), len(catalogue)))


def choose_rule(result: pd.DataFrame) -> str:
    """The rule with the best worst-member NDCG@10 averaged over every kind and size; a rule
    within 0.005 of it with a better mean NDCG@10 wins instead (the tie is noise)."""
    rules = result[result["rule"] != INDIVIDUAL].groupby("rule")[["worst_ndcg", "mean_ndcg"]]
    summary = rules.mean()
    close = summary[summary["worst_ndcg"] >= summary["worst_ndcg"].max() - 0.005]
    return str(close["mean_ndcg"].idxmax())


# --- reports --------------------------------------------------------------------------------


def format_table(result: pd.DataFrame, markdown: bool = False) -> str:
    """One line per rule, group kind and size: mean and worst-member NDCG@10."""
    rows = [
        [r["rule"], r["kind"], str(r["size"]),
         *(f"{r[m]:.3f} ± {r[m + '_ci']:.3f}" for m in ("mean_ndcg", "worst_ndcg"))]
        for r in result.to_dict("records")
    ]
    return table(["rule", "kind", "size", "mean NDCG@10", "worst NDCG@10"], rows, markdown)


def markdown_report(report: dict[str, Any], result: pd.DataFrame) -> str:
    """docs/groups.md: the protocol in brief and one table per group kind."""
    from recommender.groups import RULE_LABELS

    lines = [
        "# Group picks: which rule serves a group best",
        "",
        f"Produced by `{report['command']}` on {report['date']} ({report['dataset']}, model "
        f"`{report['model']}`, {report['folds']} user folds, seed {report['seed']}, "
        f"{report['groups_per_fold']} groups per kind and size per fold, {report['seconds']:.0f}"
        " s). Do not edit by hand: rerun the command.",
        "",
        "Groups of held-out users (random, or of similar taste) each tell the model 10 ratings"
        " per member; every rule ranks 10 movies nobody rated, and each member scores the list"
        " by NDCG@10 against their own held-out favourites (ratings ≥ 4). **Mean**: the"
        " members' average; **worst**: the least-served member's. Means over groups ± 95 %"
        " confidence half-widths. `individual`: each member's own top-10, the ceiling a shared"
        " list gives up. See `recommender.evaluation.groups.py` for the protocol.",
        "",
    ]
    for kind in KINDS:
        part = result[result["kind"] == kind]
        sizes = sorted(part["size"].unique())
        header = ["rule"] + [f"{s} mean" for s in sizes] + [f"{s} worst" for s in sizes]
        lines += [f"## {kind.capitalize()} groups (size: NDCG@10)", "",
                  "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for rule in dict.fromkeys(result["rule"]):
            cells = [RULE_LABELS.get(rule, rule)]
            for metric in ("mean_ndcg", "worst_ndcg"):
                for s in sizes:
                    row = part[(part["rule"] == rule) & (part["size"] == s)].iloc[0]
                    cells.append(f"{row[metric]:.3f} ± {row[metric + '_ci']:.3f}")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    chosen = report["default_rule"]
    lines += [
        f"**Default: {RULE_LABELS.get(chosen, chosen)}** (`{chosen}`), chosen by "
        "`choose_rule`: the best worst-member NDCG@10 averaged over both kinds and all sizes "
        "(a rule within 0.005 of it with a better mean wins instead).",
        "",
    ]
    return "\n".join(lines)


def write_reports(report: dict[str, Any], result: pd.DataFrame, folder: Path) -> list[Path]:
    """Write groups.json and groups.md into ``folder``."""
    return write_section(folder, "groups", report, markdown_report(report, result))


def section_report(
    result: pd.DataFrame, model: str, folds: int, seed: int, groups_per_fold: int
) -> dict[str, Any]:
    """What docs/groups.json holds besides the command line, date and dataset."""
    return {
        "model": model,
        "folds": folds,
        "seed": seed,
        "groups_per_fold": groups_per_fold,
        "default_rule": choose_rule(result),
        "results": json.loads(result.to_json(orient="records")),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m recommender evaluate --sections groups`` under its former name."""
    from recommender.__main__ import main as recommender_main

    return recommender_main(["evaluate", "--sections", "groups", *(argv or sys.argv[1:])])


if __name__ == "__main__":
    sys.exit(main())
