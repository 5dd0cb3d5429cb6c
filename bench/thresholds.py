"""Threshold policies that turn scores into labels, so F1 always names its policy.

Label-free policies see training scores only; oracle policies use the test labels and
are reported as oracle (an upper bound, not an achievable result).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import precision_recall_curve


@dataclass(frozen=True)
class Policy:
    """A named way to pick a threshold; ``oracle`` policies look at test labels."""

    name: str
    oracle: bool
    threshold: Callable[[np.ndarray, np.ndarray, np.ndarray, float], float]
    description: str


def _train_quantile(train: np.ndarray, test: np.ndarray, y: np.ndarray, c: float) -> float:
    return float(np.quantile(train, 1.0 - c))


def _mean_std(train: np.ndarray, test: np.ndarray, y: np.ndarray, c: float) -> float:
    return float(np.mean(train) + np.std(train))


def _max_train(train: np.ndarray, test: np.ndarray, y: np.ndarray, c: float) -> float:
    return float(np.max(train))


def _top_k(train: np.ndarray, test: np.ndarray, y: np.ndarray, c: float) -> float:
    k = int(np.sum(y))
    return float(np.sort(test)[::-1][k - 1])


def _best_f1(train: np.ndarray, test: np.ndarray, y: np.ndarray, c: float) -> float:
    precision, recall, thresholds = precision_recall_curve(y, test)
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-300)
    return float(thresholds[int(np.argmax(f1[:-1]))])


POLICIES: dict[str, Policy] = {
    p.name: p
    for p in (
        Policy(
            "train-quantile",
            False,
            _train_quantile,
            "the (1 - c) quantile of training scores, c = expected contamination",
        ),
        Policy("mean+std", False, _mean_std, "mean + 1 std of training scores"),
        Policy("max-train", False, _max_train, "the largest training score"),
        Policy("top-k", True, _top_k, "flag the k highest test scores, k = true anomaly count"),
        Policy("best-f1", True, _best_f1, "the test threshold with the best F1"),
    )
}


def threshold(
    policy: str,
    train_scores: np.ndarray,
    test_scores: np.ndarray,
    y_test: np.ndarray,
    expected_contamination: float = 0.1,
) -> float:
    """Threshold under ``policy``; a test point is flagged when its score is >= it.

    Parameters
    ----------
    policy : a key of :data:`POLICIES`.
    train_scores : (n_train,) scores of the training data (higher = more anomalous).
    test_scores, y_test : (n_test,) scores and labels; only oracle policies read them.
    expected_contamination : prior anomaly fraction for ``train-quantile``, never the
        true one.
    """
    if not 0.0 < expected_contamination < 1.0:
        raise ValueError(f"expected_contamination must be in (0, 1), got {expected_contamination}")
    return POLICIES[policy].threshold(train_scores, test_scores, y_test, expected_contamination)
