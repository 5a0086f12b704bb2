"""Offline evaluation of recommenders for new users (``python -m recommender evaluate``).

``protocols`` (folds, the two new-user protocols, the experiment), ``metrics``, ``baselines``
(yardsticks and the models of a run), ``report`` (table, JSON, chart), ``cli`` and
``synthetic`` (MovieLens-shaped data for tests and benchmarks). Models are used only through
their public methods (``scores``, ``recommend``), so any registered family can be evaluated.
"""

from recommender.evaluation.baselines import (
    MODEL_NOTES,
    STECK_EASE_REGULARIZATION,
    ImplicitALSBaseline,
    standard_models,
)
from recommender.evaluation.cli import add_arguments, command
from recommender.evaluation.metrics import METRICS, hit_matrix, mean_ci, ndcg_at_k, recall_at_k
from recommender.evaluation.protocols import (
    HeldOut,
    evaluate,
    onboarding_split,
    ranked_movies,
    strong_generalization_split,
    user_folds,
)
from recommender.evaluation.report import (
    TARGETS,
    build_report,
    chart_spec,
    format_table,
    markdown_report,
    write_reports,
)

__all__ = [
    "METRICS",
    "MODEL_NOTES",
    "STECK_EASE_REGULARIZATION",
    "TARGETS",
    "HeldOut",
    "ImplicitALSBaseline",
    "add_arguments",
    "build_report",
    "chart_spec",
    "command",
    "evaluate",
    "format_table",
    "hit_matrix",
    "markdown_report",
    "mean_ci",
    "ndcg_at_k",
    "onboarding_split",
    "ranked_movies",
    "recall_at_k",
    "standard_models",
    "strong_generalization_split",
    "user_folds",
    "write_reports",
]
