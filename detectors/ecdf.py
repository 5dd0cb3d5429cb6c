"""ECOD and COPOD scored against the training ECDFs only (inductive versions).

PyOD's ``ECOD`` and ``COPOD`` concatenate the training rows with the scored batch and
compute the per-feature empirical CDFs (and the skewness) of that union, so a row's score
moves with the batch it is scored in (``pyod-ecod`` / ``pyod-copod`` are marked
``transductive``). The classes here compute the same per-feature tail scores, but from
the training rows alone: a new row's tail probabilities are read off the sorted training
column with :func:`numpy.searchsorted`, and the skewness is the training data's, so a
row's score depends on that row and the fitted model only.

Tail probabilities, for a value ``x`` of feature ``j`` and ``n`` training rows::

    left  = (#{train_j <= x} + 1) / (n + 1)
    right = (#{train_j >= x} + 1) / (n + 1)

This is the ECDF of the training column with ``x`` added (ties count as ``<=``, as in an
ECDF), i.e. exactly PyOD's ECDF when the scored batch is that single row. It is never
zero: a value beyond every training value gets ``1 / (n + 1)``, so a per-feature tail
score ``-log p`` is at most ``log(n + 1)`` and a row's score stays finite.
"""

from __future__ import annotations

import logging
from typing import ClassVar

import numpy as np
from scipy.stats import skew

from anobench.contract import BaseDetector

__all__ = ["COPODInductive", "ECODInductive"]

logger = logging.getLogger(__name__)


class _TrainingECDF(BaseDetector):
    """Shared fit and per-feature tail scores of the inductive ECDF detectors.

    Fitted attributes: ``sorted_train_`` (n_train, n_features), each training column
    sorted; ``skew_sign_`` (n_features,), the sign (-1, 0 or +1) of each training
    column's sample skewness (0 for a constant column).
    """

    family: ClassVar[str] = "classical"
    modalities: ClassVar[tuple[str, ...]] = ("tabular", "image", "series")

    def _fit(self, X: np.ndarray) -> None:
        self.sorted_train_ = np.sort(X, axis=0)
        with np.errstate(all="ignore"):
            skewness = np.asarray(skew(X, axis=0), dtype=np.float64)
        constant = ~np.isfinite(skewness)
        if constant.any():
            logger.debug("%s: %d constant feature(s) get skewness 0", self.name, constant.sum())
        self.skew_sign_ = np.sign(np.nan_to_num(skewness, nan=0.0, posinf=0.0, neginf=0.0))

    def _tails(self, column: np.ndarray, j: int) -> tuple[np.ndarray, np.ndarray]:
        """``(-log left, -log right)`` tail scores of ``column`` (n,) on feature ``j``."""
        train = self.sorted_train_[:, j]
        n = train.shape[0]
        at_most = np.searchsorted(train, column, side="right")
        at_least = n - np.searchsorted(train, column, side="left")
        log_total = np.log(n + 1.0)
        return log_total - np.log(at_most + 1.0), log_total - np.log(at_least + 1.0)

    def _skew_corrected(self, u_left: np.ndarray, u_right: np.ndarray, j: int) -> np.ndarray:
        """PyOD's skewness-corrected tail: left tail for negative skew, right tail for
        positive skew, their sum for zero skew."""
        s = self.skew_sign_[j]
        return u_left * -np.sign(s - 1) + u_right * np.sign(s + 1)

    def _combine(self, u_left: np.ndarray, u_right: np.ndarray, j: int) -> np.ndarray:
        raise NotImplementedError

    def _score(self, X: np.ndarray) -> np.ndarray:
        scores = np.zeros(X.shape[0], dtype=np.float64)
        for j in range(X.shape[1]):
            u_left, u_right = self._tails(X[:, j], j)
            scores += self._combine(u_left, u_right, j)
        return scores


class ECODInductive(_TrainingECDF):
    """ECOD scored against the training ECDFs only (batch-independent).

    For each feature, the left-tail, right-tail and skewness-corrected tail scores
    ``-log p`` of a row (see :mod:`anobench.detectors.ecdf` for ``p``); the row's score
    is the sum over features of the largest of the three, as PyOD's ``ECOD`` computes it.

    Unlike ``pyod-ecod``, which computes the ECDFs and skewness of the training rows
    together with the scored batch, the ECDFs and skewness here are the training data's
    only, so a row gets the same score whatever it is scored with. No parameters; no
    standardisation (the ECDF is invariant to monotone rescaling of a feature).

    Input: ``X`` of shape (n_samples, n_features) (images and series are flattened).
    Output of :meth:`anomaly_score`: shape (n_samples,), float64, non-negative, higher =
    more anomalous.

    References
    ----------
    Li, Zhao, Hu, Botta, Ionescu, Chen. ECOD: Unsupervised Outlier Detection Using
    Empirical Cumulative Distribution Functions. IEEE TKDE, 2022.
    """

    name = "ecod-inductive"

    def _combine(self, u_left: np.ndarray, u_right: np.ndarray, j: int) -> np.ndarray:
        skewed = self._skew_corrected(u_left, u_right, j)
        return np.maximum(np.maximum(u_left, u_right), skewed)


class COPODInductive(_TrainingECDF):
    """COPOD scored against the training ECDFs only (batch-independent).

    For each feature, the left-tail and right-tail scores ``-log p`` of a row (see
    :mod:`anobench.detectors.ecdf` for ``p``) and the skewness-corrected one; the row's
    score is the sum over features of ``max(skew-corrected, (left + right) / 2)``, as
    PyOD's ``COPOD`` computes it.

    Unlike ``pyod-copod``, which computes the ECDFs and skewness of the training rows
    together with the scored batch, the ECDFs and skewness here are the training data's
    only, so a row gets the same score whatever it is scored with. No parameters; no
    standardisation (the ECDF is invariant to monotone rescaling of a feature).

    Input: ``X`` of shape (n_samples, n_features) (images and series are flattened).
    Output of :meth:`anomaly_score`: shape (n_samples,), float64, non-negative, higher =
    more anomalous.

    References
    ----------
    Li, Zhao, Botta, Ionescu, Hu. COPOD: Copula-Based Outlier Detection. ICDM, 2020.
    """

    name = "copod-inductive"

    def _combine(self, u_left: np.ndarray, u_right: np.ndarray, j: int) -> np.ndarray:
        skewed = self._skew_corrected(u_left, u_right, j)
        return np.maximum(skewed, (u_left + u_right) / 2.0)
