"""Hard-decision metrics at one threshold, as the source studies print them: accuracy,
the confusion matrix and per-class precision / recall / F1 (scikit-learn's
classification report), and the study threshold rules that need no test labels.

Convention: label 1 = anomaly, a row is flagged when its score is strictly above the
threshold (the studies' ``errors > threshold``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["STUDY_RULES", "classification_report", "flagged_by_group", "study_threshold"]

#: a study's label-free threshold rule: training scores (in-sample, the model's own
#: training rows) -> threshold
STUDY_RULES: dict[str, tuple[str, Callable[[np.ndarray], float]]] = {
    "train-mean+std": (
        "mean + 1 std (numpy, ddof 0) of the model's scores of its own training rows",
        lambda train: float(np.mean(train) + np.std(train)),
    ),
    "train-max": (
        "the largest score of the model's own training rows",
        lambda train: float(np.max(train)),
    ),
}


def study_threshold(rule: str, train_scores: np.ndarray) -> float:
    """The threshold of ``rule`` (:data:`STUDY_RULES`) from in-sample training scores, or
    ``fixed:<value>``: that value in the detector's score units (label-free, the
    training scores unused)."""
    name, colon, value = rule.partition(":")
    if name == "fixed" and colon:
        try:
            fixed = float(value)
        except ValueError:
            raise ValueError(f"fixed threshold {value!r} is not a number") from None
        if not np.isfinite(fixed):
            raise ValueError(f"fixed threshold {value!r} is not finite")
        return fixed
    if rule not in STUDY_RULES:
        known = ", ".join([*STUDY_RULES, "fixed:<value>"])
        raise KeyError(f"unknown study threshold rule {rule!r}; known: {known}")
    scores = np.asarray(train_scores, dtype=np.float64)
    if scores.size == 0 or not np.isfinite(scores).all():
        raise ValueError(f"{rule}: the training scores are empty or not finite")
    return STUDY_RULES[rule][1](scores)


def classification_report(y: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, Any]:
    """Accuracy, confusion matrix and per-class precision / recall / F1 / support of the
    decisions ``scores > threshold`` against ``y`` (1 = anomaly).

    Returns ``{"threshold", "accuracy", "confusion": [[tn, fp], [fn, tp]], "normal":
    {...}, "anomaly": {...}, "flagged_rate"}``; a class never predicted has precision 0
    (scikit-learn's ``zero_division=0``).
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    y = np.asarray(y).astype(int)
    predicted = (np.asarray(scores, dtype=np.float64) > threshold).astype(int)
    precision, recall, f1, support = precision_recall_fscore_support(
        y, predicted, labels=[0, 1], zero_division=0
    )
    per_class = {
        name: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(("normal", "anomaly"))
    }
    return {
        "threshold": float(threshold),
        "accuracy": float(np.mean(predicted == y)),
        "confusion": confusion_matrix(y, predicted, labels=[0, 1]).tolist(),
        "flagged_rate": float(predicted.mean()),
        **per_class,
    }


def flagged_by_group(
    scores: np.ndarray, threshold: float, groups: np.ndarray
) -> dict[str, dict[str, float]]:
    """Per group of test rows (e.g. ``normal``, ``digit 5``, ``fashion``): its rows and
    the share flagged (``scores > threshold``): the detection rate of an anomalous group,
    the false-alarm rate of a normal one."""
    flagged = np.asarray(scores, dtype=np.float64) > threshold
    groups = np.asarray(groups).astype(str)
    return {
        str(g): {"rows": int((groups == g).sum()), "flagged": float(flagged[groups == g].mean())}
        for g in np.unique(groups)
    }
