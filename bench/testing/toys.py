"""Small separable tasks every detector of a modality should solve: the data the contract
checks (:mod:`anobench.testing`) and the orientation probe fit on."""

from __future__ import annotations

from typing import Any

import numpy as np

#: anomalies appended to a label-using detector's toy training set; the first half labelled
TOY_TRAIN_ANOMALIES = 20

__all__ = [
    "TOY_TRAIN_ANOMALIES",
"toy_data", "toy_for", "toy_images", "toy_labels", "toy_series"]


def toy_data(seed: int = 0, n_features: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A separable toy task that density, distance and subspace methods all solve.

    Normal points lie near a random 3-D linear subspace (latent standard normal, mapped
    linearly, plus noise of std 0.1); anomalies are uniform in the cube [-6, 6]^d, so
    they are both far from the normal mass and off its subspace.

    Returns
    -------
    X_train : (300, n_features) normal points only.
    X_test : (120, n_features): 100 normal points then 20 anomalies.
    y_test : (120,) 0/1 labels, 1 = anomaly.
    """
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(3, n_features))

    def normal(n: int) -> np.ndarray:
        return np.asarray(rng.normal(size=(n, 3)) @ mixing + 0.1 * rng.normal(size=(n, n_features)))

    X_train = normal(300)
    X_test = np.vstack([normal(100), rng.uniform(-6.0, 6.0, size=(20, n_features))])
    y_test = np.r_[np.zeros(100, dtype=int), np.ones(20, dtype=int)]
    return X_train, X_test, y_test


def toy_images(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`toy_data` with 64 features laid out as 8 x 8 one-channel images, for
    detectors that take images only.

    Returns ``X_train`` (300, 8, 8, 1), ``X_test`` (120, 8, 8, 1), ``y_test`` (120,).
    """
    X_train, X_test, y_test = toy_data(seed, n_features=64)
    return X_train.reshape(-1, 8, 8, 1), X_test.reshape(-1, 8, 8, 1), y_test


def toy_series(seed: int = 0, window: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A toy task for detectors that take series windows only.

    Windows of a sine of period 8 (random phase, amplitude 1, noise of std 0.05);
    anomalies are such windows whose last quarter is replaced by uniform noise in
    [-3, 3], which both window-distance methods and forecasters catch.

    Returns ``X_train`` (300, window) normal windows, ``X_test`` (120, window): 100
    normal then 20 anomalous, ``y_test`` (120,).
    """
    rng = np.random.default_rng(seed)
    t = np.arange(window)

    def normal(n: int) -> np.ndarray:
        phase = rng.uniform(0.0, 2 * np.pi, size=(n, 1))
        return np.asarray(np.sin(2 * np.pi * t / 8 + phase) + 0.05 * rng.normal(size=(n, window)))

    anomalies = normal(20)
    tail = window - window // 4
    anomalies[:, tail:] = rng.uniform(-3.0, 3.0, size=(20, window - tail))
    X_test = np.vstack([normal(100), anomalies])
    return normal(300), X_test, np.r_[np.zeros(100, dtype=int), np.ones(20, dtype=int)]


def toy_for(cls: Any, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The toy task in a form ``cls`` accepts: tabular unless it takes no tables, then
    images (:func:`toy_images`) or series windows (:func:`toy_series`)."""
    modalities = getattr(cls, "modalities", ("tabular",))
    if "tabular" in modalities:
        make: Any = toy_data
    elif "image" in modalities:
        make = toy_images
    else:
        make = toy_series
    X_train, X_test, y_test = make(seed)
    if not getattr(cls, "uses_labels", False):
        return X_train, X_test, y_test
    # a label-using detector trains on contaminated data, some anomalies labelled: fresh
    # anomalies of the same kind (another seed's), never the test ones
    _, other_X, other_y = make(seed + 1000)
    anomalies = other_X[other_y == 1][:TOY_TRAIN_ANOMALIES]
    return np.concatenate([X_train, anomalies]), X_test, y_test


def toy_labels(cls: Any, X_train: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(y,)`` for ``fit(X_train, *toy_labels(cls, X_train))``: for a label-using
    detector, 1 for the first half of the anomalies :func:`toy_for` appended and -1 for
    every other row; ``()`` for a label-free one."""
    if not getattr(cls, "uses_labels", False):
        return ()
    n = len(X_train)
    y = np.full(n, -1, dtype=np.int64)
    y[n - TOY_TRAIN_ANOMALIES : n - TOY_TRAIN_ANOMALIES // 2] = 1
    return (y,)
