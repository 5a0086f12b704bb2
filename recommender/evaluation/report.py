"""The evaluation's reports: a text or Markdown table, JSON, and a Vega-Lite chart."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from recommender.evaluation.baselines import MODEL_NOTES

# What the default model must reach (docs/evaluation.md).
TARGETS = {"sg_ndcg@100": 0.36, "onb_ndcg@10": 0.42}


def build_report(result: pd.DataFrame, data: Any, args: argparse.Namespace) -> dict[str, Any]:
    """The main section's JSON after its header: data, settings, one record per model."""
    return {
        "n_users": int(data.ratings["userId"].nunique()),
        "n_movies": int(data.ratings["movieId"].nunique()),
        "folds": args.folds,
        "seed": args.seed,
        "targets": TARGETS,
        "models": json.loads(result.to_json(orient="records")),
    }


def report_header(data: Any, command: str, seconds: float) -> dict[str, Any]:
    """What every section's JSON starts with: how to rerun it, when, on what, how long."""
    source = Path(data.source).name if getattr(data, "source", None) else None
    return {
        "command": command,
        "date": dt.date.today().isoformat(),
        "dataset": source,
        "n_ratings": len(data.ratings),
        "seconds": round(seconds, 1),
        "cpu_count": os.cpu_count(),
    }


def _cell(row: Mapping[str, Any], metric: str) -> str:
    return f"{row[metric]:.3f} ± {row[metric + '_ci']:.3f}"


TABLE_COLUMNS = [
    ("SG Recall@20", "sg_recall@20"),
    ("SG Recall@50", "sg_recall@50"),
    ("SG NDCG@100", "sg_ndcg@100"),
    ("Onb. Recall@10", "onb_recall@10"),
    ("Onb. NDCG@10", "onb_ndcg@10"),
]


def format_table(result: pd.DataFrame, markdown: bool = False) -> str:
    """The results as an aligned text table or a Markdown table."""
    header = ["model", *(name for name, _ in TABLE_COLUMNS)]
    header += ["coverage@10", "popularity@10", "fit s", "recommend ms p50/p95"]
    rows = []
    for row in result.to_dict("records"):
        rows.append([
            row["model"],
            *(_cell(row, metric) for _, metric in TABLE_COLUMNS),
            f"{row['coverage@10']:.3f}",
            f"{row['popularity@10']:.0f}",
            f"{row['fit_s']:.2f}",
            f"{row['latency_ms']:.2f} / {row['latency_p95_ms']:.2f}",
        ])
    return table(header, rows, markdown)


def table(header: list[str], rows: list[list[str]], markdown: bool = False) -> str:
    """Rows of cells as a Markdown table or as aligned text under a dashed rule."""
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    return "\n".join(
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True))
        for r in [header, ["-" * w for w in widths], *rows]
    )


def write_section(folder: Path, name: str, report: dict[str, Any], markdown: str) -> list[Path]:
    """Write ``<name>.json`` and ``<name>.md`` (one evaluation section) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    json_file, md_file = folder / f"{name}.json", folder / f"{name}.md"
    json_file.write_text(json.dumps(report, indent=2) + "\n")
    md_file.write_text(markdown)
    return [json_file, md_file]


def write_reports(report: dict[str, Any], result: pd.DataFrame, folder: Path) -> list[Path]:
    """Write evaluation.json, evaluation.md and evaluation_chart.json into ``folder``."""
    written = write_section(folder, "evaluation", report, markdown_report(report, result))
    chart = folder / "evaluation_chart.json"
    chart.write_text(json.dumps(chart_spec(result), indent=2) + "\n")
    return [*written, chart]


def markdown_report(report: dict[str, Any], result: pd.DataFrame) -> str:
    met = _targets_met(result)
    lines = [
        "# Offline evaluation",
        "",
        f"Produced by `{report['command']}` on {report['date']} "
        f"({report['dataset']}: {report['n_ratings']:,} ratings, {report['n_users']} users, "
        f"{report['n_movies']:,} movies; {report['folds']} user folds, seed {report['seed']}, "
        f"{report['cpu_count']} CPU cores, {report['seconds']:.0f} s in all). "
        "Do not edit by hand: rerun the command.",
        "",
        "Every model is trained on the users of the other folds only, so each held-out user is",
        "a new user folded in through the model's own `recommend` path (see",
        "`recommender/evaluation/protocols.py` for the exact protocols). Values are means over",
        "users ± the half-width of a 95 % confidence interval (1.96 · std / √n).",
        "",
        "* **SG** (strong generalization, Liang et al. 2018): users with ≥ 5 ratings ≥ 4 fold",
        "  in a random 80 % of those positives; the other 20 % are ranked against the rest of",
        f"  the catalogue ({int(result['sg_users'].iloc[0])} users).",
        "* **Onb.** (onboarding): users with ≥ 15 ratings give 10 random ratings, low ones too;",
        "  the targets are their other movies rated ≥ 4"
        f" ({int(result['onb_users'].iloc[0])} users).",
        "* Recall@k = hits / min(k, targets); NDCG@k is normalised by the ideal ranking of",
        "  min(k, targets) hits. coverage@10: share of the training catalogue that appears in",
        "  anyone's onboarding top-10 (mean over folds); popularity@10: mean number of training",
        "  ratings of those movies. fit s: median over folds (80 % of the users).",
        "  recommend ms: one public `recommend` call with 10 ratings, top-10.",
        "",
        format_table(result, markdown=True),
        "",
        "Targets for the default model: SG NDCG@100 ≥ "
        f"{TARGETS['sg_ndcg@100']}, onboarding NDCG@10 ≥ {TARGETS['onb_ndcg@10']}: "
        + ("**met**." if met else "**not met**."),
        "",
        "Notes on the baselines: "
        + "; ".join(f"`{name}`: {note}" for name, note in MODEL_NOTES.items())
        + ". Latencies and fit times depend on the machine's load.",
        "",
    ]
    return "\n".join(lines)


def _targets_met(result: pd.DataFrame) -> bool | None:
    default = result[result["model"].str.startswith("default")]
    if default.empty:
        return None
    row = default.iloc[0]
    return all(row[metric] >= target for metric, target in TARGETS.items())


def chart_spec(result: pd.DataFrame) -> dict[str, Any]:
    """Vega-Lite spec (via Altair): both protocols' NDCG per model with 95 % intervals."""
    import altair as alt

    records = []
    for row in result.to_dict("records"):
        for metric, label in (("sg_ndcg@100", "SG NDCG@100"), ("onb_ndcg@10", "Onb. NDCG@10")):
            records.append({
                "model": row["model"],
                "metric": label,
                "value": row[metric],
                "low": row[metric] - row[f"{metric}_ci"],
                "high": row[metric] + row[f"{metric}_ci"],
                "target": TARGETS[metric],
            })
    data = pd.DataFrame(records)
    order = list(result["model"])
    base = alt.Chart(data).encode(y=alt.Y("model:N", sort=order, title=None))
    bars = base.mark_bar().encode(
        x=alt.X("value:Q", title="NDCG (mean over held-out users, 95 % CI)"),
        color=alt.Color("model:N", legend=None),
        tooltip=["model", "metric", alt.Tooltip("value:Q", format=".3f")],
    )
    errors = base.mark_errorbar().encode(x="low:Q", x2="high:Q")
    target = alt.Chart(data).mark_rule(strokeDash=[4, 4], color="black").encode(x="mean(target):Q")
    chart = (
        alt.layer(bars, errors, target, data=data)
        .facet(column=alt.Column("metric:N", title=None))
        .resolve_scale(x="independent")
        .properties(title="New-user ranking quality (dashed: the default model's target)")
    )
    return chart.to_dict()
