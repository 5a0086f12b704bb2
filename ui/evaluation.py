"""The offline evaluation (docs/evaluation.json) told for a visitor: the app's model names, the
winner, how much it beats the popular-movies baseline, and a chart that fits any width.

Plain functions (no Streamlit) so that the story can be tested without the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd

from recommender import ALGORITHMS, DEFAULT_ALGORITHM
from ui.text import model_label

BASELINE = "popularity"
# Reference implementations the evaluation runs next to the app's own models, as a check.
REFERENCES = {
    "implicit-als": ("ALS (implicit library)",
                     "Reference: the implicit library's ALS with its defaults; not in the app."),
    "ease-steck": ("EASE (Steck's original)",
                   "Reference: EASE exactly as its author published it; not in the app."),
}
COLUMNS = {  # evaluation.json field -> column title in the table of every figure
    "sg_ndcg@100": "Long-time users: NDCG@100",
    "sg_recall@20": "Long-time users: Recall@20",
    "onb_ndcg@10": "New visitor: NDCG@10",
    "onb_recall@10": "New visitor: Recall@10",
    "coverage@10": "Catalogue coverage",
    "latency_ms": "Time per request (ms)",
}
HIGHLIGHT = "#d6336c"
OTHERS = "#b8b2ad"


def algorithm_of(name: str) -> str:
    """The app's algorithm for an evaluation row name: "default (hybrid)" -> "hybrid"."""
    name = str(name)
    if name.startswith("default (") and name.endswith(")"):
        return name.removeprefix("default (").removesuffix(")")
    return name


def label_of(name: str) -> str:
    """How the app names the model of an evaluation row ("implicit-als" -> "ALS (implicit
    library)", "default (hybrid)" -> "Hybrid (default)")."""
    algorithm = algorithm_of(name)
    if algorithm in REFERENCES:
        return REFERENCES[algorithm][0]
    default = " (default)" if algorithm == DEFAULT_ALGORITHM else ""
    return model_label(algorithm) + default


def note_of(name: str) -> str:
    """"Reference: ..." for a reference implementation, "In the app" for the app's models."""
    algorithm = algorithm_of(name)
    if algorithm in REFERENCES:
        return REFERENCES[algorithm][1]
    return "In the app" if algorithm in ALGORITHMS else "Not in the app"


@dataclass(frozen=True)
class Headline:
    """The evaluation in four numbers: who wins for a new visitor, and against what."""

    winner: str  # app label
    winner_hits: float  # onboarding recall@10: share of the first ten picks the visitor likes
    baseline_hits: float
    lift: float  # winner's onboarding NDCG@10 over the baseline's, minus 1
    runner_up: str
    runner_up_gap: float  # winner's NDCG@10 over the best other app model's, minus 1


def table(report: Mapping[str, Any]) -> pd.DataFrame:
    """Every evaluated model with the app's names: Model, Note and the :data:`COLUMNS`."""
    rows = pd.DataFrame(report.get("models") or [])
    if rows.empty or "model" not in rows:
        return pd.DataFrame(columns=["Model", "Note", *COLUMNS.values()])
    shown = [c for c in COLUMNS if c in rows]
    out = rows[shown].rename(columns=COLUMNS)
    out.insert(0, "Note", [note_of(m) for m in rows["model"]])
    out.insert(0, "Model", [label_of(m) for m in rows["model"]])
    return out


def headline(report: Mapping[str, Any]) -> Headline | None:
    """The winner among the app's models for a new visitor, or None when the report lacks
    the figures (no onboarding scores, or no popularity baseline)."""
    rows = pd.DataFrame(report.get("models") or [])
    needed = {"model", "onb_ndcg@10", "onb_recall@10"}
    if rows.empty or not needed <= set(rows):
        return None
    rows = rows.assign(algorithm=[algorithm_of(m) for m in rows["model"]])
    app = rows[rows["algorithm"].isin(list(ALGORITHMS))].sort_values("onb_ndcg@10",
                                                                      ascending=False)
    base = app[app["algorithm"] == BASELINE]
    if len(app) < 2 or base.empty:
        return None
    best, second = app.iloc[0], app.iloc[1]
    baseline = base.iloc[0]
    return Headline(
        winner=label_of(best["model"]),
        winner_hits=float(best["onb_recall@10"]),
        baseline_hits=float(baseline["onb_recall@10"]),
        lift=float(best["onb_ndcg@10"] / baseline["onb_ndcg@10"] - 1),
        runner_up=label_of(second["model"]),
        runner_up_gap=float(best["onb_ndcg@10"] / second["onb_ndcg@10"] - 1),
    )


def chart(report: Mapping[str, Any]) -> alt.Chart | None:
    """The app's models by how well a new visitor's first ten picks rank the movies they like
    (onboarding NDCG@10), best first, the winner highlighted; None without those figures."""
    rows = pd.DataFrame(report.get("models") or [])
    if rows.empty or not {"model", "onb_ndcg@10"} <= set(rows):
        return None
    rows = rows[[algorithm_of(m) in ALGORITHMS for m in rows["model"]]]
    data = pd.DataFrame({"model": [label_of(m) for m in rows["model"]],
                         "score": rows["onb_ndcg@10"].astype(float)})
    data = data.sort_values("score", ascending=False).reset_index(drop=True)
    data["best"] = data.index == 0
    y = alt.Y("model:N", sort=None, title=None, axis=alt.Axis(labelLimit=140))
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("score:Q", title="New-visitor ranking quality (NDCG@10)",
                scale=alt.Scale(domain=[0, max(0.5, float(data["score"].max()))])),
        y=y,
        color=alt.condition("datum.best", alt.value(HIGHLIGHT), alt.value(OTHERS)),
        tooltip=[alt.Tooltip("model:N", title="Model"),
                 alt.Tooltip("score:Q", title="NDCG@10", format=".3f")],
    )
    labels = bars.mark_text(align="left", dx=3, fontSize=11).encode(
        text=alt.Text("score:Q", format=".2f"), color=alt.value("#1f1d1b"))
    return bars + labels
