"""The second fault plugin: detectors whose numbers would be wrong without a word if the
harness let them through (issue 25). Installed by ``tests/execution/test_faults.py`` as a
throw-away distribution; the modules that exit or hang at import are written by the test
and named by reference.

- ``PositionScorer`` scores a row by its position in the batch (a label leak wherever row
  order carries labels);
- ``InPlaceMutator`` scales the harness's training array in place while fitting;
- ``Transposed`` returns scores of shape (1, n), ``TwoColumns`` of shape (n, 2);
- ``Huge`` returns its distances scaled to 1e300 (ranks intact, every mean/std threshold
  overflows).
"""

import numpy as np


class _Centroid:
    """Squared distance to the training mean (higher = more anomalous)."""

    family = "classical"
    modalities = ("tabular",)

    def __init__(self, random_state=None):
        self.random_state = random_state

    @classmethod
    def param_names(cls):
        return ["random_state"]

    @classmethod
    def test_params(cls):
        return {}

    @classmethod
    def warm_up(cls):
        return None

    def fit(self, X, y=None):
        self.mu_ = np.asarray(X, dtype=float).mean(axis=0)
        return self

    def _distance(self, X):
        return ((np.asarray(X, dtype=float) - self.mu_) ** 2).sum(axis=1)

    def anomaly_score(self, X):
        return self._distance(X)


class Centroid(_Centroid):
    """The innocent one: the others' numbers are compared with its."""


class PositionScorer(_Centroid):
    def anomaly_score(self, X):
        return np.arange(len(X), dtype=float)


class InPlaceMutator(_Centroid):
    def fit(self, X, y=None):
        X *= 1000.0
        return super().fit(X)


class Transposed(_Centroid):
    def anomaly_score(self, X):
        return self._distance(X)[None, :]


class TwoColumns(_Centroid):
    def anomaly_score(self, X):
        d = self._distance(X)
        return np.column_stack([d, d])


class Huge(_Centroid):
    def anomaly_score(self, X):
        d = self._distance(X)
        return 1e300 * d / d.max()


DETECTORS = {
    "numbers-centroid": "Centroid",
    "numbers-position": "PositionScorer",
    "numbers-mutator": "InPlaceMutator",
    "numbers-transposed": "Transposed",
    "numbers-two-columns": "TwoColumns",
    "numbers-huge": "Huge",
}
