"""Contract checks for detectors, reusable by plugin authors.

>>> from anobench.testing import check_detector
>>> check_detector(MyDetector)            # raises AssertionError naming the broken rule

Each ``check_*`` function takes a detector class (and optional parameters) and raises
``AssertionError`` with a clear message when the contract is broken.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.metrics import roc_auc_score


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


def toy_for(cls: Any, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The toy task in a form ``cls`` accepts: tabular unless it takes images only."""
    if "tabular" not in getattr(cls, "modalities", ("tabular",)):
        return toy_images(seed)
    return toy_data(seed)


def _drop_feature(X: np.ndarray) -> np.ndarray:
    """``X`` with one feature (tabular) or one image column removed."""
    return X[:, :-1] if X.ndim == 2 else X[:, :, :-1]


def _make(cls: Any, params: dict[str, Any] | None, seed: int | None = 0) -> Any:
    kwargs = {**cls.test_params(), **(params or {})}
    if seed is not None and "random_state" in cls.param_names():
        kwargs["random_state"] = seed
    return cls(**kwargs)


def check_fit_returns_self(cls: type, params: dict[str, Any] | None = None) -> None:
    X_train, _, _ = toy_for(cls)
    det = _make(cls, params)
    assert det.fit(X_train) is det, f"{cls.__name__}.fit must return self"


def check_scores_shape_and_finite(cls: type, params: dict[str, Any] | None = None) -> None:
    X_train, X_test, _ = toy_for(cls)
    scores = _make(cls, params).fit(X_train).anomaly_score(X_test)
    assert isinstance(scores, np.ndarray), f"{cls.__name__}.anomaly_score must return an ndarray"
    assert scores.shape == (len(X_test),), (
        f"{cls.__name__}.anomaly_score must return shape ({len(X_test)},), got {scores.shape}"
    )
    assert np.all(np.isfinite(scores)), f"{cls.__name__} returned non-finite scores"


def check_clone_round_trip(cls: type, params: dict[str, Any] | None = None) -> None:
    det = _make(cls, params)
    twin = clone(det)
    assert type(twin) is type(det), f"clone of {cls.__name__} changed its type"
    assert twin.get_params() == det.get_params(), f"clone of {cls.__name__} lost parameters"
    X_train, _, _ = toy_for(cls)
    det.fit(X_train)
    assert not any(k.endswith("_") and not k.startswith("_") for k in vars(clone(det))), (
        f"clone of a fitted {cls.__name__} carries fitted attributes: __init__ must only "
        "store parameters"
    )


def check_deterministic(cls: type, params: dict[str, Any] | None = None) -> None:
    X_train, X_test, _ = toy_for(cls)
    a = _make(cls, params, seed=7).fit(X_train).anomaly_score(X_test)
    b = _make(cls, params, seed=7).fit(X_train).anomaly_score(X_test)
    assert np.array_equal(a, b), f"{cls.__name__}: the same seed gave different scores"


def check_separates_toy_data(cls: type, params: dict[str, Any] | None = None) -> None:
    """AUC >= 0.9 on a task any working detector solves; catches a flipped sign."""
    X_train, X_test, y_test = toy_for(cls)
    scores = _make(cls, params).fit(X_train).anomaly_score(X_test)
    auc = roc_auc_score(y_test, scores)
    assert auc >= 0.9, (
        f"{cls.__name__} has ROC-AUC {auc:.3f} < 0.9 on separable toy data "
        "(are higher scores more anomalous?)"
    )


def check_rejects_bad_input(cls: type, params: dict[str, Any] | None = None) -> None:
    X_train, X_test, _ = toy_for(cls)
    bad = X_train.copy()
    bad.reshape(len(bad), -1)[3, 1] = np.nan
    try:
        _make(cls, params).fit(bad)
    except ValueError:
        pass
    else:
        raise AssertionError(f"{cls.__name__}.fit accepted NaN input; it must raise ValueError")
    det = _make(cls, params).fit(X_train)
    try:
        det.anomaly_score(_drop_feature(X_test))
    except ValueError:
        pass
    else:
        raise AssertionError(
            f"{cls.__name__}.anomaly_score accepted a different number of features"
        )


CHECKS = (
    check_fit_returns_self,
    check_scores_shape_and_finite,
    check_clone_round_trip,
    check_deterministic,
    check_separates_toy_data,
    check_rejects_bad_input,
)


def check_detector(cls: type, params: dict[str, Any] | None = None) -> None:
    """Run every contract check on ``cls`` (with its ``test_params()`` and ``params``)."""
    for check in CHECKS:
        check(cls, params)
