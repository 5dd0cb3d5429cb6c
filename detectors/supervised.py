"""Label-using detectors for the semi-supervised protocol (``uses_labels``): they receive
``fit(X, y)`` with y = 1 for the labelled anomalies, 0 for labelled normals and -1 for
unlabelled rows, and run only where a protocol grants labels.

- :class:`RandomForestBaseline` (``rf``): a supervised random forest on the raw features,
  labelled anomalies against everything else (unlabelled rows taken as normal, which the
  contamination of the unlabelled part makes slightly wrong: the baseline ADBench's
  semi-supervised setting compares against).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.ensemble import RandomForestClassifier

from anobench.contract import BaseDetector

__all__ = ["RandomForestBaseline", "labelled_targets"]


def labelled_targets(y: np.ndarray) -> np.ndarray:
    """0/1 classification targets from observed labels: 1 for labelled anomalies, 0 for
    the rest (labelled normals and unlabelled rows). :class:`ValueError` when no row is a
    labelled anomaly (nothing to learn from)."""
    targets = (np.asarray(y) == 1).astype(np.int64)
    if not targets.any():
        raise ValueError(
            "no labelled anomaly in the training data: a label-using detector needs a label "
            "budget (protocol semi-supervised@<budget>)"
        )
    if targets.all():
        raise ValueError("every training row is a labelled anomaly: nothing to tell apart")
    return targets


class RandomForestBaseline(BaseDetector):
    """Supervised random forest on the raw features (labelled anomalies vs the rest);
    score = the forest's anomaly probability, higher = more anomalous.

    Parameters
    ----------
    n_estimators, max_depth, min_samples_leaf : as in scikit-learn's forest.
    class_weight : ``"balanced"`` (default) weighs the few labelled anomalies up.
    random_state : seed of the forest.
    """

    name = "rf"
    uses_labels: ClassVar[bool] = True

    def __init__(
        self,
        n_estimators: int = 200,
        max_depth: int | None = None,
        min_samples_leaf: int = 1,
        class_weight: str | None = "balanced",
        random_state: int | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.class_weight = class_weight
        self.random_state = random_state

    def _fit_labelled(self, X: np.ndarray, y: np.ndarray) -> None:
        self.forest_ = RandomForestClassifier(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf,
            class_weight=self.class_weight,
            random_state=self.random_state,
            n_jobs=1,
        ).fit(X, labelled_targets(y))

    def _score(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.forest_.predict_proba(X)[:, 1], dtype=np.float64)

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {"n_estimators": 50}
