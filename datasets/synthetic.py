"""Synthetic data sets generated with a fixed data seed (the data set is one fixed thing;
the cell seed only changes the split).

- ``bumps``: single-peak curves (normal) vs curves with a second, narrow bump (anomaly).
- ``blobs-<type>``: Gaussian clusters with injected anomalies of the four ADBench types
  (Han et al., NeurIPS 2022): ``local``, ``global``, ``dependency``, ``clustered``.
"""

from __future__ import annotations

import functools

import numpy as np

from anobench.data.spec import DatasetSpec

__all__ = [
    "BLOBS_CLUSTERED",
    "BLOBS_DEPENDENCY",
    "BLOBS_GLOBAL",
    "BLOBS_LOCAL",
    "BUMPS",
    "DATA_SEED",
    "make_blobs",
    "make_bumps",
]

DATA_SEED = 20221128  # fixed: the data are part of the benchmark definition

_ADBENCH_CITATION = (
    "Han, Hu, Huang, Jiang, Zhao. ADBench: Anomaly Detection Benchmark. NeurIPS 2022."
)


def _frozen(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def _gaussian(x: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * ((x[None, :] - mu[:, None]) / sigma[:, None]) ** 2)


@functools.cache
def make_bumps(
    n_normal: int = 2000, n_anomalous: int = 200, n_points: int = 256, seed: int = DATA_SEED
) -> tuple[np.ndarray, np.ndarray]:
    """Bump curves.

    Returns
    -------
    X : ndarray, shape (n_normal + n_anomalous, n_points)
        Curves sampled on ``n_points`` points of [0, 1]. Normal: one Gaussian bump
        scaled to max 1, mu ~ U(0.1, 0.9), sigma ~ U(0.05, 0.5). Anomaly: a normal curve
        plus a narrow bump of height 0.12, mu ~ U(0.1, 0.9), sigma ~ U(0.01, 0.05).
    y : ndarray of int, shape (n,)
        1 = anomaly. Rows are shuffled.
    """
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 1.0, n_points)
    n = n_normal + n_anomalous
    base = _gaussian(x, rng.uniform(0.1, 0.9, n), rng.uniform(0.05, 0.5, n))
    base /= base.max(axis=1, keepdims=True)
    extra = 0.12 * _gaussian(
        x, rng.uniform(0.1, 0.9, n_anomalous), rng.uniform(0.01, 0.05, n_anomalous)
    )
    base[n_normal:] += extra
    y = np.r_[np.zeros(n_normal, dtype=np.int64), np.ones(n_anomalous, dtype=np.int64)]
    order = rng.permutation(n)
    return _frozen(base[order], y[order])


def _random_covariance(rng: np.random.Generator, d: int) -> np.ndarray:
    A = rng.normal(size=(d, d))
    cov = A @ A.T / d + 0.1 * np.eye(d)
    return np.asarray(cov)


@functools.cache
def make_blobs(
    kind: str,
    n_normal: int = 2000,
    n_anomalous: int = 100,
    n_features: int = 10,
    n_clusters: int = 4,
    alpha: float = 5.0,
    seed: int = DATA_SEED,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters with ADBench-style anomalies.

    Normal data: a mixture of ``n_clusters`` correlated Gaussians. Anomalies:

    - ``local``: the same mixture with covariances scaled by ``alpha``;
    - ``global``: uniform in the data's bounding box enlarged by 10% per side;
    - ``dependency``: each feature drawn independently from the normal data's marginal
      (correlations broken, marginals kept);
    - ``clustered``: a tight Gaussian cluster whose mean is a cluster mean scaled by
      ``alpha``.

    Returns
    -------
    X : ndarray, shape (n_normal + n_anomalous, n_features)
    y : ndarray of int, shape (n,), 1 = anomaly; rows shuffled.
    """
    rng = np.random.default_rng([seed, n_features, n_clusters])
    means = rng.uniform(-5, 5, size=(n_clusters, n_features))
    covs = [_random_covariance(rng, n_features) for _ in range(n_clusters)]
    weights = rng.dirichlet(np.full(n_clusters, 5.0))

    def mixture(n: int, scale: float = 1.0) -> np.ndarray:
        comp = rng.choice(n_clusters, size=n, p=weights)
        out = np.empty((n, n_features))
        for k in range(n_clusters):
            m = comp == k
            out[m] = rng.multivariate_normal(means[k], scale * covs[k], size=int(m.sum()))
        return out

    normal = mixture(n_normal)
    if kind == "local":
        anomalies = mixture(n_anomalous, scale=alpha)
    elif kind == "global":
        lo, hi = normal.min(axis=0), normal.max(axis=0)
        pad = 0.1 * (hi - lo)
        anomalies = rng.uniform(lo - pad, hi + pad, size=(n_anomalous, n_features))
    elif kind == "dependency":
        anomalies = np.column_stack(
            [rng.permutation(normal[:, j])[:n_anomalous] for j in range(n_features)]
        )
    elif kind == "clustered":
        centre = alpha * means[rng.integers(n_clusters)]
        anomalies = rng.multivariate_normal(centre, 0.1 * covs[0], size=n_anomalous)
    else:
        raise ValueError(
            f"unknown anomaly type {kind!r}; choose local, global, dependency or clustered"
        )
    X = np.vstack([normal, anomalies])
    y = np.r_[np.zeros(n_normal, dtype=np.int64), np.ones(n_anomalous, dtype=np.int64)]
    order = rng.permutation(len(y))
    return _frozen(X[order], y[order])


BUMPS = DatasetSpec(
    name="bumps",
    modality="series",
    load=make_bumps,
    description="Single-peak curves (normal) vs curves with a second narrow bump of "
    "height 0.12 (anomaly); 2000 / 200 curves of 256 points (n_points sets the resolution).",
    licence="generated (BSD-3, anobench)",
    params={"n_points": 256},
)


def _blobs_spec(kind: str, what: str) -> DatasetSpec:
    return DatasetSpec(
        name=f"blobs-{kind}",
        modality="tabular",
        load=functools.partial(make_blobs, kind),
        description=f"4 correlated Gaussian clusters in 10-D, 2000 normal + 100 {what}.",
        licence="generated (BSD-3, anobench)",
        citation=_ADBENCH_CITATION + " (anomaly types)",
    )


BLOBS_LOCAL = _blobs_spec("local", "local anomalies (covariance x5)")
BLOBS_GLOBAL = _blobs_spec("global", "global anomalies (uniform in the enlarged box)")
BLOBS_DEPENDENCY = _blobs_spec("dependency", "dependency anomalies (independent marginals)")
BLOBS_CLUSTERED = _blobs_spec("clustered", "clustered anomalies (mean x5)")
