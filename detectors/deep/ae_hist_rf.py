"""``ae-hist-rf``: the bumps example's semi-supervised method. An autoencoder (our ``ae``)
is trained on the training rows not labelled anomalous; each row is described by the
histogram of its per-feature residuals (input minus reconstruction); a random forest learns
labelled anomalies against the rest from these histograms. Score = the forest's anomaly
probability (higher = more anomalous). Uses labels: runs under ``semi-supervised``."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sklearn.ensemble import RandomForestClassifier

from anobench.contract import BaseDetector
from anobench.detectors.deep.autoencoders import AE
from anobench.detectors.supervised import labelled_targets

__all__ = ["AEHistRF", "residual_histograms"]


def residual_histograms(residuals: np.ndarray, bins: int, limit: float) -> np.ndarray:
    """Per row, the share of its residuals in each of ``bins`` equal bins over
    ``[-limit, limit]`` (values beyond the range counted in the end bins).

    residuals : (n, d). Returns (n, bins), rows summing to 1."""
    edges = np.linspace(-limit, limit, bins + 1)
    index = np.clip(np.searchsorted(edges, residuals, side="right") - 1, 0, bins - 1)
    counts = np.zeros((len(residuals), bins))
    np.add.at(counts, (np.repeat(np.arange(len(residuals)), residuals.shape[1]), index.ravel()), 1)
    return counts / residuals.shape[1]


class AEHistRF(BaseDetector):
    """Autoencoder residual histograms + random forest (the bumps example's method).

    Parameters
    ----------
    hidden, epochs, batch_size, learning_rate : the autoencoder's (see ``ae``).
    bins : histogram bins (the example: 10).
    hist_range : residuals are binned over ``[-hist_range, hist_range]`` (the example: 0.3
        on curves in [0, 1] with ``scale_residuals = False``); None: 3 x the RMS residual
        of the training rows.
    scale_residuals : divide each feature's residual by its training standard deviation
        (features of different units share one histogram).
    n_estimators : trees of the forest.
    random_state : seeds the autoencoder and the forest.
    """

    name = "ae-hist-rf"
    family = "deep"
    modalities = ("tabular", "series")
    uses_labels: ClassVar[bool] = True
    requires = ("numpy", "scikit-learn", "jax", "flax", "optax")

    def __init__(
        self,
        hidden: tuple[int, ...] | None = None,
        epochs: int = 100,
        batch_size: int = 128,
        learning_rate: float = 1e-3,
        bins: int = 10,
        hist_range: float | None = None,
        scale_residuals: bool = True,
        n_estimators: int = 200,
        random_state: int | None = None,
    ) -> None:
        self.hidden = hidden
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.bins = bins
        self.hist_range = hist_range
        self.scale_residuals = scale_residuals
        self.n_estimators = n_estimators
        self.random_state = random_state

    def _fit_labelled(self, X: np.ndarray, y: np.ndarray) -> None:
        targets = labelled_targets(y)
        self.ae_ = AE(
            hidden=self.hidden,
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            random_state=self.random_state,
        ).fit(X[y != 1])  # the residuals of normal data: not trained on labelled anomalies
        self.compile_seconds_ = getattr(self.ae_, "compile_seconds_", None)
        self.scale_ = np.maximum(X.std(axis=0), 1e-12) if self.scale_residuals else 1.0
        residuals = self._residuals(X)
        rms = float(np.sqrt(np.mean(residuals**2)))
        self.limit_ = float(self.hist_range) if self.hist_range else 3.0 * max(rms, 1e-12)
        self.forest_ = RandomForestClassifier(
            n_estimators=self.n_estimators,
            class_weight="balanced",
            random_state=self.random_state,
            n_jobs=1,
        ).fit(residual_histograms(residuals, self.bins, self.limit_), targets)

    def _residuals(self, X: np.ndarray) -> np.ndarray:
        return np.asarray((X - self.ae_.reconstruct(X).reshape(X.shape)) / self.scale_)

    def _score(self, X: np.ndarray) -> np.ndarray:
        features = residual_histograms(self._residuals(X), self.bins, self.limit_)
        return np.asarray(self.forest_.predict_proba(features)[:, 1], dtype=np.float64)

    @classmethod
    def warm_up(cls) -> None:
        AE.warm_up()  # the compilation cache; the forest needs no warming

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {**AE.test_params(), "n_estimators": 50}
