"""ROC and precision-recall curve points of one cell's test scores, thinned for drawing.
Scores: higher = more anomalous; labels 1 = anomaly."""

from __future__ import annotations

import numpy as np

#: points kept per drawn curve (a curve has up to one point per test row)
CURVE_POINTS = 500

__all__ = ["CURVE_POINTS", "roc_pr_points", "thin"]


def thin(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most :data:`CURVE_POINTS` evenly spaced points of a curve, its ends kept."""
    if len(x) <= CURVE_POINTS:
        return x, y
    keep = np.unique(np.linspace(0, len(x) - 1, CURVE_POINTS).round().astype(int))
    return x[keep], y[keep]


def roc_pr_points(
    y: np.ndarray, scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(fpr, tpr, recall, precision)`` at every distinct score threshold, from the
    highest score down (ties share a threshold); the ROC curve starts at (0, 0) and the
    precision-recall curve ends at recall 0, precision 1 (sklearn's convention)."""
    y = np.asarray(y) == 1
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort")
    ranked = np.asarray(scores, dtype=np.float64)[order]
    last = np.r_[np.flatnonzero(np.diff(ranked)), len(ranked) - 1]
    tps = np.cumsum(y[order])[last].astype(np.float64)
    fps = (last + 1) - tps
    positives, negatives = max(tps[-1], 1.0), max(fps[-1], 1.0)
    fpr, tpr = np.r_[0.0, fps / negatives], np.r_[0.0, tps / positives]
    precision = tps / (tps + fps)
    recall = tps / positives
    return fpr, tpr, np.r_[recall[::-1], 0.0], np.r_[precision[::-1], 1.0]
