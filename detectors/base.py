"""The detector contract shared by every adapter.

A detector is an sklearn estimator with ``fit(X) -> self`` and
``anomaly_score(X) -> ndarray of shape (n,)`` where HIGHER means MORE ANOMALOUS.
``__init__`` only stores parameters; fitted attributes end in ``_``; a stochastic
detector takes ``random_state`` and never touches global RNG state. Detectors never see
labels or the true contamination.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, Self

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_array, check_is_fitted


class BaseDetector(BaseEstimator):
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

    # -- public contract -------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> Self:
        """Fit on training data.

        Parameters
        ----------
        X : array-like, shape (n_samples, ...)
            Training inputs; finite values only.
        y : ignored
            Accepted for sklearn Pipeline compatibility; labels are never used.

        Returns
        -------
        self
        """
        X2 = self._check_input(X, reset=True)
        if getattr(self, "standardize", False):
            self.scaler_ = StandardScaler().fit(X2)
            X2 = self.scaler_.transform(X2)
        self._fit(X2)
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
        scores = np.asarray(self._score(X2), dtype=np.float64).reshape(-1)
        if scores.shape[0] != X2.shape[0]:
            raise RuntimeError(
                f"{type(self).__name__} returned {scores.shape[0]} scores for {X2.shape[0]} rows"
            )
        return scores

    @classmethod
    def warm_up(cls) -> None:
        """Pay this class's one-off costs (lazy imports, numba compilation in PyOD) before
        the first timed fit in a process, so they stay out of ``fit_seconds``: by default
        one fit and score on tiny data. Override it when that costs more than it saves."""
        X = np.random.default_rng(0).normal(size=(64, 4))
        cls(**cls.test_params()).fit(X).anomaly_score(X)

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        """Small, fast parameters for contract tests (defaults unless overridden)."""
        return {}

    @classmethod
    def summary(cls) -> str:
        """One line describing the detector (first line of its docstring)."""
        doc = inspect.getdoc(cls) or cls.__name__
        return doc.strip().splitlines()[0]

    @classmethod
    def param_names(cls) -> list[str]:
        """Names of the parameters this detector accepts."""
        return list(cls._get_param_names())

    # -- to implement ----------------------------------------------------------------
    def _fit(self, X: np.ndarray) -> None:
        raise NotImplementedError

    def _score(self, X: np.ndarray) -> np.ndarray:
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
