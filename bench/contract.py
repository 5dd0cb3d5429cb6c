"""The detector contract shared by every adapter.

A detector is an sklearn estimator with ``fit(X) -> self`` and
``anomaly_score(X) -> ndarray of shape (n,)`` where HIGHER means MORE ANOMALOUS.
``__init__`` only stores parameters; fitted attributes end in ``_``; a stochastic
detector takes ``random_state`` and never touches global RNG state. Detectors never see
labels or the true contamination.

Every detector also speaks scikit-learn's outlier API (:class:`~sklearn.base.OutlierMixin`):
``score_samples`` (higher = MORE NORMAL, the negated anomaly score), ``decision_function``
(0 at the threshold, negative = outlier) and ``predict`` (+1 inlier / -1 outlier). Their
threshold comes from a named label-free policy (:data:`anobench.metrics.thresholds.POLICIES`,
``train-quantile`` at 10% by default, see :meth:`BaseDetector.set_threshold`), computed on
OUT-OF-SAMPLE scores of the training rows (5-fold cross-fitting, on first use), never on the
optimistic scores of the rows the model was fitted on.
"""

from __future__ import annotations

import inspect
import re
from typing import Any, ClassVar, Self

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_array, check_is_fitted

__all__ = ["BaseDetector", "observed_labels"]


class BaseDetector(OutlierMixin, BaseEstimator):
    """Base class for tabular detectors.

    Subclasses implement :meth:`_fit` and :meth:`_score` on validated 2-D float arrays.
    Inputs with more than two dimensions (e.g. images ``(n, h, w, c)``) are flattened to
    ``(n, h*w*c)``. If the subclass has a ``standardize`` parameter set to true, a
    :class:`~sklearn.preprocessing.StandardScaler` is fitted on the training data only
    and applied before :meth:`_fit` and :meth:`_score`.

    Class attributes
    ----------------
    name : registry id, e.g. ``"iforest"``.
    family : ``"classical"`` or ``"deep"``.
    modalities : the input kinds it accepts (``"tabular"``, ``"image"``, ``"series"``).
    transductive : batch-dependent: a row's score depends on the other rows scored with
        it, so the scores of a subset differ from the same rows scored in a larger batch
        (e.g. PyOD's ECOD/COPOD rank the batch together with the training data; SOD and
        LMDD score the batch alone). False (the default) promises that a row's score is a
        function of the fitted model and that row only;
        :func:`anobench.testing.check_subset_invariant` verifies either claim.
    min_train_samples : the minimum number of training rows the method needs.
    """

    name: ClassVar[str] = ""
    family: ClassVar[str] = "classical"
    modalities: ClassVar[tuple[str, ...]] = ("tabular", "image", "series")
    #: minimum number of training rows the method needs
    min_train_samples: ClassVar[int] = 2
    #: batch-dependent scores (see the class docstring)
    transductive: ClassVar[bool] = False
    #: distributions whose code computes the scores; their versions enter the cell id
    requires: ClassVar[tuple[str, ...]] = ("numpy", "scikit-learn")
    #: uses labels: ``fit(X, y)`` with y = 1 (labelled anomaly), 0 (labelled normal) or -1
    #: (unlabelled); run only under the ``semi-supervised`` protocol (implement
    #: :meth:`_fit_labelled`)
    uses_labels: ClassVar[bool] = False

    # -- public contract -------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> Self:
        """Fit on training data.

        Parameters
        ----------
        X : array-like, shape (n_samples, ...)
            Training inputs; finite values only.
        y : array-like of int, shape (n_samples,), optional
            Ignored by label-free detectors (accepted for Pipelines). A detector with
            ``uses_labels`` reads 1 = labelled anomaly, 0 = labelled normal, -1 =
            unlabelled (None: all unlabelled).

        Returns
        -------
        self
        """
        X2 = self._check_input(X, reset=True)
        labels = observed_labels(y, len(X2)) if self.uses_labels else None
        self._threshold_y = labels
        # kept (a reference, no copy) for the lazy out-of-sample threshold of predict(),
        # with a digest of a sample of it to notice a caller reusing the buffer meanwhile
        self._threshold_X = np.asarray(X)
        self._threshold_digest = _sample_digest(self._threshold_X)
        self.__dict__.pop("_threshold_scores", None)
        self.__dict__.pop("threshold_", None)
        if getattr(self, "standardize", False):
            self.scaler_ = StandardScaler().fit(X2)
            X2 = self.scaler_.transform(X2)
        if labels is None:
            self._fit(X2)
        else:
            self._fit_labelled(X2, labels)
        self.is_fitted_ = True
        return self

    def anomaly_score(self, X: Any) -> np.ndarray:
        """Anomaly scores, higher = more anomalous.

        Parameters
        ----------
        X : array-like, shape (n_samples, ...)
            Same feature layout as in :meth:`fit`.

        Returns
        -------
        scores : ndarray of float64, shape (n_samples,)
        """
        check_is_fitted(self, "is_fitted_")
        X2 = self._check_input(X, reset=False)
        if getattr(self, "standardize", False):
            X2 = self.scaler_.transform(X2)
        scores = np.asarray(self._score(X2), dtype=np.float64)
        # one score per row: (n,) or (n, 1), never another shape flattened to n values
        if scores.shape not in ((X2.shape[0],), (X2.shape[0], 1)):
            raise RuntimeError(
                f"{type(self).__name__} returned scores of shape {scores.shape} for "
                f"{X2.shape[0]} rows: expected ({X2.shape[0]},) or ({X2.shape[0]}, 1)"
            )
        return scores.reshape(-1)

    # -- scikit-learn's outlier API ---------------------------------------------------
    #: the label-free policy behind decision_function / predict (set_threshold)
    threshold_policy: str = "train-quantile"
    #: the expected anomaly fraction of the ``train-quantile`` policy
    threshold_contamination: float = 0.1

    def set_threshold(self, policy: str = "train-quantile", contamination: float = 0.1) -> Self:
        """Choose the label-free threshold of :meth:`decision_function` and :meth:`predict`.

        Parameters
        ----------
        policy : a non-oracle policy of :data:`anobench.metrics.thresholds.POLICIES`
            (``train-quantile``, ``mean+std``, ``max-train``).
        contamination : expected anomaly fraction, 0 < c < 0.5 (``train-quantile`` only).

        Returns
        -------
        self (a fitted detector keeps its model and its out-of-sample scores; only the
        threshold is recomputed). The policy is not a constructor parameter: ``clone``
        returns a detector with the default policy.
        """
        from anobench.metrics.thresholds import POLICIES

        label_free = [name for name, p in POLICIES.items() if p.calibrated and not p.oracle]
        if policy not in label_free:
            raise ValueError(
                f"threshold policy {policy!r} is not a label-free policy; use one of "
                + ", ".join(label_free)
            )
        if not 0 < contamination < 0.5:
            raise ValueError(f"contamination must be in (0, 0.5), got {contamination}")
        self.threshold_policy = policy
        self.threshold_contamination = float(contamination)
        self.__dict__.pop("threshold_", None)
        return self

    def score_samples(self, X: Any) -> np.ndarray:
        """Normality scores, HIGHER = MORE NORMAL (scikit-learn's orientation): the negated
        :meth:`anomaly_score`. Shape (n_samples,)."""
        return -self.anomaly_score(X)

    def decision_function(self, X: Any) -> np.ndarray:
        """``threshold_ - anomaly_score(X)``, shape (n_samples,): 0 at the threshold,
        negative for outliers, positive for inliers (scikit-learn's convention)."""
        return self._threshold() - self.anomaly_score(X)

    def predict(self, X: Any) -> np.ndarray:
        """+1 for inliers, -1 for outliers (``decision_function(X) < 0``), shape
        (n_samples,), under the policy of :meth:`set_threshold`."""
        return np.where(self.decision_function(X) < 0, -1, 1)

    def _threshold(self) -> float:
        """The threshold on anomaly scores, computed once from out-of-sample training
        scores (5-fold cross-fitting of fresh copies with the same parameters)."""
        check_is_fitted(self, "is_fitted_")
        if "threshold_" in self.__dict__:
            return float(self.__dict__["threshold_"])
        if getattr(self, "transductive", False):
            raise ValueError(
                f"{type(self).__name__} scores are batch-dependent (transductive): a threshold "
                "taken from training scores does not carry over to another batch"
            )
        scores = self.__dict__.get("_threshold_scores")
        if scores is None:
            scores = self._out_of_sample_scores()
        from anobench.metrics.thresholds import POLICIES

        self.threshold_ = POLICIES[self.threshold_policy].threshold(
            scores, scores, np.zeros(0), self.threshold_contamination
        )
        return float(self.threshold_)

    def _out_of_sample_scores(self) -> np.ndarray:
        """Cross-fitted scores of the training rows (kept; the data reference is dropped)."""
        data = self.__dict__.get("_threshold_X")
        if data is None:
            raise ValueError(
                f"{type(self).__name__} has no training data to calibrate its threshold on "
                "(fitted elsewhere, or unpickled before its first predict): fit it again"
            )
        if _sample_digest(data) != self.__dict__.get("_threshold_digest"):
            raise ValueError(
                f"the training array of {type(self).__name__} was modified after fit (its "
                "threshold is computed from it on first use): fit again before predict"
            )
        from sklearn.base import clone

        from anobench.metrics.calibration import Calibration, out_of_sample

        seed = getattr(self, "random_state", None)
        scores = out_of_sample(
            lambda: clone(self),
            data,
            Calibration(),
            seed if isinstance(seed, int) else 0,
            y_train=self.__dict__.get("_threshold_y"),
        ).scores
        self._threshold_scores = scores
        # the data is not needed any more
        del self._threshold_X, self._threshold_digest, self._threshold_y
        return scores

    def __getstate__(self) -> dict[str, Any]:
        # a pickle carries the model, not a reference to the caller's training data
        state = dict(super().__getstate__())
        for key in ("_threshold_X", "_threshold_digest", "_threshold_y"):
            state.pop(key, None)
        return state

    @classmethod
    def warm_up(cls) -> None:
        """Pay this class's one-off costs (lazy imports, numba compilation in PyOD) before
        the first timed fit in a process, so they stay out of ``fit_seconds``: by default
        one fit and score on tiny data. Override it when that costs more than it saves."""
        X = np.random.default_rng(0).normal(size=(64, 4))
        y = np.where(np.arange(64) < 8, 1, -1) if cls.uses_labels else None
        cls(**cls.test_params()).fit(X, y).anomaly_score(X)

    def point_offset(self, window: int) -> int:
        """Where in a window of a series its score belongs, as an offset from the
        window's first point (:mod:`anobench.metrics.points`): the centre,
        ``window // 2``, for a detector that scores whole windows (TSB-AD's convention).
        A forecaster overrides it with the point it forecasts."""
        return window // 2

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Small, fast parameters for contract tests (defaults unless overridden)."""
        return {}

    @classmethod
    def summary(cls) -> str:
        """One line describing the detector (the first sentence of its docstring)."""
        doc = cls.__dict__.get("__doc__")  # its own, not an inherited one
        text = inspect.cleandoc(doc) if doc else ""
        if not text:
            return cls.__name__
        # the first sentence of the first paragraph, however many lines it spans
        paragraph = " ".join(text.split("\n\n")[0].split())
        sentence = re.split(r"(?<=[.;])\s+(?=[A-Z(`])", paragraph, maxsplit=1)[0]
        return sentence

    @classmethod
    def param_names(cls) -> list[str]:
        """Names of the parameters this detector accepts."""
        return list(cls._get_param_names())

    @classmethod
    def param_defaults(cls) -> dict[str, Any]:
        """The value each parameter takes when it is not given: the detector's default
        configuration (selection's ``default`` rule); ``{}`` when unknown."""
        try:
            return dict(cls().get_params(deep=False))
        except Exception:  # a detector with a required parameter has no default
            return {}

    # -- to implement ----------------------------------------------------------------
    def _fit(self, X: np.ndarray) -> None:
        raise NotImplementedError

    def _score(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _fit_labelled(self, X: np.ndarray, y: np.ndarray) -> None:
        """Fit with labels (``uses_labels`` detectors): y (n,) in {-1, 0, 1}."""
        raise NotImplementedError

    # -- helpers ---------------------------------------------------------------------
    def _check_input(self, X: Any, *, reset: bool) -> np.ndarray:
        arr = np.asarray(X)
        if arr.ndim == 1:
            raise ValueError(
                f"{type(self).__name__} expects a 2-D array (n_samples, n_features), got shape "
                f"{arr.shape}; reshape a single feature with X.reshape(-1, 1)"
            )
        if arr.ndim > 2:
            arr = arr.reshape(arr.shape[0], -1)
        arr = check_array(arr, dtype=np.float64, ensure_all_finite=True)
        if reset:
            if arr.shape[0] < self.min_train_samples:
                raise ValueError(
                    f"{type(self).__name__} needs at least {self.min_train_samples} training "
                    f"rows, got {arr.shape[0]}"
                )
            self.n_features_in_ = arr.shape[1]
        elif arr.shape[1] != self.n_features_in_:
            raise ValueError(
                f"{type(self).__name__} was fitted on {self.n_features_in_} features, "
                f"got {arr.shape[1]}"
            )
        return arr


def _sample_digest(X: np.ndarray) -> bytes:
    """A cheap digest of an array: its shape and up to 4 096 evenly spaced values."""
    import hashlib

    flat = X.reshape(-1)
    step = max(1, flat.size // 4096)
    sample = np.ascontiguousarray(flat[::step])
    return hashlib.sha256(repr(X.shape).encode() + sample.tobytes()).digest()


def observed_labels(y: Any, n: int) -> np.ndarray:
    """A label-using detector's labels as int64 (n,): 1 = anomaly, 0 = normal, -1 =
    unlabelled; None gives all -1. :class:`ValueError` for another shape or value."""
    if y is None:
        return np.full(n, -1, dtype=np.int64)
    labels = np.asarray(y).ravel()
    if labels.shape != (n,):
        raise ValueError(f"y must have shape ({n},), got {np.shape(y)}")
    if labels.dtype.kind not in "iub" or not set(np.unique(labels).tolist()) <= {-1, 0, 1}:
        raise ValueError("y must hold 1 (anomaly), 0 (normal) or -1 (unlabelled)")
    return labels.astype(np.int64)
