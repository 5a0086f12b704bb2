"""Ranking metrics of the offline evaluation: recall@k, NDCG@k, 95 % intervals, hits."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

Z95 = 1.96


# Metric name -> (protocol, kind, k). The protocol prefix keeps the two apart in tables.
METRICS: dict[str, tuple[str, str, int]] = {
    "sg_recall@20": ("sg", "recall", 20),
    "sg_recall@50": ("sg", "recall", 50),
    "sg_ndcg@100": ("sg", "ndcg", 100),
    "onb_recall@10": ("onboarding", "recall", 10),
    "onb_ndcg@10": ("onboarding", "ndcg", 10),
}


def recall_at_k(hits: np.ndarray, n_targets: np.ndarray, k: int) -> np.ndarray:
    """Per-user recall@k: hits in the first k / min(k, number of targets).

    ``hits`` is users × (≥ k) booleans, True where the ranked movie is a target.
    """
    hits = np.atleast_2d(np.asarray(hits, dtype=bool))[:, :k]
    denominator = np.minimum(k, np.asarray(n_targets)).astype(np.float64)
    return hits.sum(axis=1) / np.maximum(denominator, 1.0)


def ndcg_at_k(hits: np.ndarray, n_targets: np.ndarray, k: int) -> np.ndarray:
    """Per-user NDCG@k with binary relevance; the ideal ranks min(k, targets) hits first."""
    hits = np.atleast_2d(np.asarray(hits, dtype=bool))[:, :k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits * discounts[: hits.shape[1]]).sum(axis=1)
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])[np.minimum(k, np.asarray(n_targets))]
    return dcg / np.maximum(ideal, 1e-12)


def mean_ci(values: np.ndarray) -> tuple[float, float]:
    """Mean and the half-width of its 95 % normal confidence interval."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return (float(values.mean()) if len(values) else math.nan), math.nan
    return float(values.mean()), float(Z95 * values.std(ddof=1) / math.sqrt(len(values)))


def hit_matrix(ranked: np.ndarray, targets: sp.csr_matrix) -> np.ndarray:
    """True where a ranked catalogue index is one of that user's targets (−1: an empty slot)."""
    hits = np.empty(ranked.shape, dtype=bool)
    for start in range(0, ranked.shape[0], 256):
        dense = targets[start : start + 256].toarray()
        rows = np.arange(dense.shape[0])[:, None]
        chunk = ranked[start : start + 256]
        hits[start : start + 256] = (dense[rows, chunk.clip(0)] > 0) & (chunk >= 0)
    return hits

