"""Threshold policies that turn scores into labels, so F1 always names its policy.

Label-free policies see out-of-sample training scores only (see
:mod:`anobench.metrics.calibration`); oracle policies use the test labels or the true anomaly
ratio and are reported as oracle (an upper bound, not an achievable result);
``val-best-f1`` uses the labels of a validation part of the training rows, which only the
semi-supervised protocol grants, and is marked "uses labels".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["POLICIES", "Policy", "policies_for", "threshold"]


@dataclass(frozen=True)
class Policy:
    """A named way to pick a threshold; ``oracle`` policies look at test labels;
    ``calibrated`` ones read out-of-sample training scores."""

    name: str
    oracle: bool
    threshold: Callable[[np.ndarray, np.ndarray, np.ndarray, float], float]
    description: str
    calibrated: bool = True
    #: reads labels of training rows (a validation part), never test labels: not oracle,
    #: but only where a protocol grants labels (``semi-supervised``)
    uses_labels: bool = False


def _train_quantile(train: np.ndarray, test: np.ndarray, y: np.ndarray, c: float) -> float:
    return float(np.quantile(train, 1.0 - c))


def _true_quantile(train: np.ndarray, test: np.ndarray, y: np.ndarray, c: float) -> float:
    return float(np.quantile(train, 1.0 - float(np.mean(y))))


def _mean_std(train: np.ndarray, test: np.ndarray, y: np.ndarray, c: float) -> float:
    return float(np.mean(train) + np.std(train))


def _max_train(train: np.ndarray, test: np.ndarray, y: np.ndarray, c: float) -> float:
    return float(np.max(train))


def _top_k(train: np.ndarray, test: np.ndarray, y: np.ndarray, c: float) -> float:
    k = int(np.sum(y))
    return float(np.sort(test)[::-1][k - 1])


def _best_f1(train: np.ndarray, test: np.ndarray, y: np.ndarray, c: float) -> float:
    from sklearn.metrics import precision_recall_curve  # seconds to import: on first use

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
            "the (1 - c) quantile of out-of-sample training scores, c = the suite's "
            "expected contamination",
        ),
        Policy("mean+std", False, _mean_std, "mean + 1 std of out-of-sample training scores"),
        Policy("max-train", False, _max_train, "the largest out-of-sample training score"),
        Policy(
            "top-k",
            True,
            _top_k,
            "flag the k highest test scores, k = true anomaly count",
            calibrated=False,
        ),
        Policy("best-f1", True, _best_f1, "the test threshold with the best F1", calibrated=False),
        Policy(
            "val-best-f1",
            False,
            _best_f1,
            "the threshold with the best F1 on the training rows' out-of-sample scores, "
            "with the labels the budget grants (labelled anomalies vs unlabelled rows; "
            "semi-supervised only)",
            calibrated=False,
            uses_labels=True,
        ),
        Policy(
            "true-quantile",
            True,
            _true_quantile,
            "the (1 - c) quantile of out-of-sample training scores, c = the test set's true "
            'anomaly ratio (a suite\'s expected_contamination = "data")',
        ),
    )
}


def policies_for(expected_contamination: float | str) -> tuple[list[str], float]:
    """A suite's ``expected_contamination`` resolved once for every metric: the policies
    a cell computes and the prior ``train-quantile`` uses. ``train-quantile`` needs a
    numeric prior; ``true-quantile`` replaces it when the suite asks for the true ratio
    (``"data"``; the prior is then 0.1, used by no policy computed)."""
    if expected_contamination == "data":
        return [name for name in POLICIES if name != "train-quantile"], 0.1
    return [name for name in POLICIES if name != "true-quantile"], float(expected_contamination)


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
    train_scores : (n_calibration,) out-of-sample scores of training rows (higher = more
        anomalous).
    test_scores, y_test : (n_test,) scores and labels; only oracle policies read them.
    expected_contamination : prior anomaly fraction for ``train-quantile``, never the
        true one (``true-quantile`` reads the true one and is oracle).
    """
    if not 0.0 < expected_contamination < 1.0:
        raise ValueError(f"expected_contamination must be in (0, 1), got {expected_contamination}")
    return POLICIES[policy].threshold(train_scores, test_scores, y_test, expected_contamination)
