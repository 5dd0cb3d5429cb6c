"""Classical detectors on scikit-learn: one-class SVM, isolation forest, Gaussian
mixture, PCA reconstruction and kernel density. All scores: higher = more anomalous."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import logsumexp
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import pairwise_distances_chunked
from sklearn.mixture import GaussianMixture
from sklearn.svm import OneClassSVM
from sklearn.utils import check_random_state

from anobench.contract import BaseDetector

__all__ = ["GMM", "KDE", "OCSVM", "IForest", "PCAReconstruction"]


class OCSVM(BaseDetector):
    """One-class SVM (RBF kernel). Score = minus the signed distance to the boundary.

    Fitting is quadratic in the number of training rows; suites bound it with
    ``max_train``.
    """

    name = "ocsvm"

    def __init__(
        self,
        nu: float = 0.5,
        kernel: str = "rbf",
        gamma: str | float = "scale",
        standardize: bool = True,
    ) -> None:
        self.nu = nu
        self.kernel = kernel
        self.gamma = gamma
        self.standardize = standardize

    def _fit(self, X: np.ndarray) -> None:
        self.model_ = OneClassSVM(nu=self.nu, kernel=self.kernel, gamma=self.gamma).fit(X)

    def _score(self, X: np.ndarray) -> np.ndarray:
        return -self.model_.decision_function(X)


class IForest(BaseDetector):
    """Isolation forest. Score = minus sklearn's ``score_samples`` (shorter paths score higher)."""

    name = "iforest"

    def __init__(
        self,
        n_estimators: int = 100,
        max_samples: int | float | str = "auto",
        max_features: float = 1.0,
        random_state: int | None = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.max_features = max_features
        self.random_state = random_state

    def _fit(self, X: np.ndarray) -> None:
        self.model_ = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=self.max_samples,
            max_features=self.max_features,
            random_state=self.random_state,
        ).fit(X)

    def _score(self, X: np.ndarray) -> np.ndarray:
        return -self.model_.score_samples(X)

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {"n_estimators": 50}


class GMM(BaseDetector):
    """Gaussian mixture; score = negative log-likelihood.

    The number of components is chosen by BIC on the training data among
    ``n_components`` candidates (``fitted`` attribute ``n_components_``).
    """

    name = "gmm"

    def __init__(
        self,
        n_components: tuple[int, ...] = (1, 2, 3, 4, 6, 8),
        covariance_type: str = "full",
        reg_covar: float = 1e-3,
        n_init: int = 1,
        standardize: bool = True,
        random_state: int | None = None,
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.reg_covar = reg_covar
        self.n_init = n_init
        self.standardize = standardize
        self.random_state = random_state

    def _fit(self, X: np.ndarray) -> None:
        candidates = sorted({int(k) for k in np.atleast_1d(self.n_components) if k <= len(X)})
        if not candidates:
            raise ValueError(f"no n_components candidate <= {len(X)} training rows")
        rng = check_random_state(self.random_state)
        best: GaussianMixture | None = None
        self.bic_: dict[int, float] = {}
        for k in candidates:
            model = GaussianMixture(
                n_components=k,
                covariance_type=self.covariance_type,
                reg_covar=self.reg_covar,
                n_init=self.n_init,
                random_state=rng.randint(2**31 - 1),
            ).fit(X)
            self.bic_[k] = float(model.bic(X))
            if best is None or self.bic_[k] < self.bic_[best.n_components]:
                best = model
        assert best is not None
        self.model_ = best
        self.n_components_ = best.n_components

    def _score(self, X: np.ndarray) -> np.ndarray:
        return -self.model_.score_samples(X)

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {"n_components": (1, 2)}


class PCAReconstruction(BaseDetector):
    """PCA reconstruction error: squared distance to the principal subspace.

    Keeps the fewest components that explain ``explained_variance`` of the training
    variance, but always leaves at least one direction out so the error is not
    identically zero.
    """

    name = "pca"

    def __init__(self, explained_variance: float = 0.9, standardize: bool = True) -> None:
        self.explained_variance = explained_variance
        self.standardize = standardize

    def _fit(self, X: np.ndarray) -> None:
        if not 0.0 < self.explained_variance < 1.0:
            raise ValueError(f"explained_variance must be in (0, 1), got {self.explained_variance}")
        full = PCA(svd_solver="full").fit(X)
        cumulative = np.cumsum(full.explained_variance_ratio_)
        k = int(np.searchsorted(cumulative, self.explained_variance) + 1)
        k = max(1, min(k, X.shape[1] - 1, X.shape[0] - 1))
        self.n_components_ = k
        self.mean_ = full.mean_
        self.components_ = full.components_[:k]

    def _score(self, X: np.ndarray) -> np.ndarray:
        centred = X - self.mean_
        projected = centred @ self.components_.T @ self.components_
        return np.sum((centred - projected) ** 2, axis=1)


class KDE(BaseDetector):
    """Gaussian kernel density; score = negative log density.

    Exact brute-force evaluation through blocked pairwise distances (BLAS). On wide data
    this is faster than sklearn's tree-based ``KernelDensity`` (5x on 2000 x 784 queries
    against 6000 centres) and exact: on 784-D data sklearn's estimate was seen up to 21
    nats away from the direct computation, which this class matches. The bandwidth
    maximises the leave-one-out log-likelihood of the training data over a grid around
    the median nearest-neighbour distance: training data only. At most ``max_samples``
    training rows (seeded subsample) are kept as kernel centres, which bounds both the
    bandwidth search (quadratic) and scoring.
    """

    name = "kde"

    def __init__(
        self,
        bandwidth: float | str = "loo",
        max_samples: int = 2000,
        standardize: bool = True,
        random_state: int | None = None,
    ) -> None:
        self.bandwidth = bandwidth
        self.max_samples = max_samples
        self.standardize = standardize
        self.random_state = random_state

    def _fit(self, X: np.ndarray) -> None:
        rng = check_random_state(self.random_state)
        if len(X) > self.max_samples:
            X = X[np.sort(rng.choice(len(X), self.max_samples, replace=False))]
        self.centres_ = X
        if isinstance(self.bandwidth, str):
            if self.bandwidth != "loo":
                raise ValueError(
                    f"bandwidth must be a positive float or 'loo', got {self.bandwidth!r}"
                )
            self.bandwidth_ = self._loo_bandwidth(X)
        else:
            if not self.bandwidth > 0:
                raise ValueError(f"bandwidth must be positive, got {self.bandwidth}")
            self.bandwidth_ = float(self.bandwidth)

    @staticmethod
    def _loo_bandwidth(X: np.ndarray) -> float:
        d2 = np.concatenate(list(pairwise_distances_chunked(X, X, metric="sqeuclidean")))
        np.fill_diagonal(d2, np.inf)
        nn = np.sqrt(np.min(d2, axis=1))
        scale = float(np.median(nn[np.isfinite(nn)]))
        if not scale > 0:  # duplicated rows: fall back to the spread of the data
            scale = float(np.sqrt(np.median(d2[np.isfinite(d2)])) or 1.0)
        grid = scale * np.logspace(-1, 1, 25)
        n, d = X.shape
        scores = [
            float(np.sum(logsumexp(-d2 / (2 * h * h), axis=1)) - n * d * np.log(h)) for h in grid
        ]
        return float(grid[int(np.argmax(scores))])

    def _score(self, X: np.ndarray) -> np.ndarray:
        h = self.bandwidth_
        n, d = self.centres_.shape
        log_norm = np.log(n) + 0.5 * d * np.log(2 * np.pi * h * h)
        out = []
        for block in pairwise_distances_chunked(X, self.centres_, metric="sqeuclidean"):
            out.append(logsumexp(-block / (2 * h * h), axis=1) - log_norm)
        return -np.concatenate(out)

    @classmethod
    def test_params(cls) -> dict[str, Any]:
        return {"max_samples": 500}
