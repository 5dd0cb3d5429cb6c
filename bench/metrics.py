"""Per-cell metrics: threshold-free ranking metrics, thresholded F1 per policy, and score
sanity. Scores are oriented higher = more anomalous; labels 1 = anomaly."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from anobench.thresholds import POLICIES, threshold


def precision_at_n(y: np.ndarray, scores: np.ndarray, n: int | None = None) -> float:
    """Fraction of anomalies among the ``n`` highest scores (``n`` = anomaly count by
    default, as in PyOD's benchmark). Ties at the cut are broken by stable order."""
    n = int(np.sum(y)) if n is None else n
    top = np.argsort(-scores, kind="stable")[:n]
    return float(np.mean(y[top]))


def thresholded(y: np.ndarray, scores: np.ndarray, thr: float) -> dict[str, float]:
    """Precision, recall and F1 when flagging ``scores >= thr``."""
    flagged = scores >= thr
    tp = float(np.sum(flagged & (y == 1)))
    precision = tp / max(float(np.sum(flagged)), 1.0)
    recall = tp / max(float(np.sum(y == 1)), 1.0)
    f1 = 0.0 if tp == 0 else 2 * precision * recall / (precision + recall)
    return {"threshold": float(thr), "precision": precision, "recall": recall, "f1": f1}


def score_sanity(scores: np.ndarray) -> dict[str, Any]:
    """NaN/inf count, constant-score flag and tie fraction (1 - unique / n) of finite scores."""
    finite = scores[np.isfinite(scores)]
    n_unique = len(np.unique(finite))
    return {
        "n_nonfinite": int(len(scores) - len(finite)),
        "constant": bool(n_unique <= 1),
        "tie_fraction": float(1.0 - n_unique / len(finite)) if len(finite) else 1.0,
    }


def roc_auc_by_group(y: np.ndarray, scores: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """ROC-AUC of the normal rows against each anomalous group alone.

    Parameters
    ----------
    y : (n,) 0/1 labels. scores : (n,) higher = more anomalous.
    groups : (n,) str, what each row is (e.g. ``"rotate"``, ``"fashion"``).

    Returns ``{group: auc}`` for every group that holds anomalies.
    """
    normal = y == 0
    out = {}
    for group in np.unique(groups[y == 1]):
        rows = normal | ((groups == group) & (y == 1))
        out[str(group)] = float(roc_auc_score(y[rows], scores[rows]))
    return out


def evaluate(
    y_test: np.ndarray,
    test_scores: np.ndarray,
    train_scores: np.ndarray,
    expected_contamination: float = 0.1,
) -> dict[str, Any]:
    """All metrics of one cell.

    Parameters
    ----------
    y_test : (n_test,) 0/1 labels, both classes present.
    test_scores : (n_test,) finite scores, higher = more anomalous.
    train_scores : (n_train,) finite scores of the training data (label-free thresholds).

    Returns
    -------
    dict with ``roc_auc``, ``ap``, ``precision_at_n`` and ``thresholds``: one entry per
    policy with ``threshold``, ``precision``, ``recall``, ``f1`` and ``oracle``.
    """
    out: dict[str, Any] = {
        "roc_auc": float(roc_auc_score(y_test, test_scores)),
        "ap": float(average_precision_score(y_test, test_scores)),
        "precision_at_n": precision_at_n(y_test, test_scores),
        "thresholds": {},
    }
    for name, policy in POLICIES.items():
        thr = threshold(name, train_scores, test_scores, y_test, expected_contamination)
        out["thresholds"][name] = {**thresholded(y_test, test_scores, thr), "oracle": policy.oracle}
    return out
