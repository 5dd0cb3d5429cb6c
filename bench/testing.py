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


#: tolerances for "the same score": float32 networks (the deep family) give a row a score
#: that differs by up to ~3e-6 relative between batch shapes (XLA picks other kernels and
#: reduction orders), so ``rtol`` is 1e-5 rather than 1e-6
SUBSET_RTOL = 1e-5
SUBSET_ATOL = 1e-9

#: rows of the toy test set (100 normal, then 20 anomalies) scored apart from the batch
_SUBSETS: tuple[tuple[str, np.ndarray], ...] = (
    ("the first 25 rows", np.arange(25)),
    ("row 0 alone", np.array([0])),
    ("row 50 alone", np.array([50])),
    ("row 110 (an anomaly) alone", np.array([110])),
)
#: subset used to confirm a ``transductive = True`` claim; large enough for PyOD's SOD,
#: which cannot score ``n_neighbors`` (20) rows or fewer
_TRANSDUCTIVE_SUBSET = np.arange(40)


def _label(cls: Any) -> str:
    name = getattr(cls, "name", "")
    return f"{name!r} ({cls.__name__})" if name else cls.__name__


def check_subset_invariant(cls: type, params: dict[str, Any] | None = None) -> None:
    """A row's score must not depend on the other rows scored with it.

    Fits on the toy training data, scores the whole toy test set (120 rows) in one call,
    then scores subsets on their own (the first 25 rows; rows 0, 50 and 110 one at a
    time) and requires the same scores for those rows, within ``rtol = 1e-5``,
    ``atol = 1e-9`` (:data:`SUBSET_RTOL`, :data:`SUBSET_ATOL`: loose enough for float32
    networks, whose scores move by ~1e-6 relative with the batch shape).

    A class that sets ``transductive = True`` (batch-dependent scores, e.g. PyOD's ECOD)
    is checked the other way: its scores of the first 40 rows scored alone must differ
    from those rows' scores in the full batch, otherwise the flag is wrong.
    """
    X_train, X_test, _ = toy_for(cls)
    det = _make(cls, params).fit(X_train)
    full = det.anomaly_score(X_test)
    label = _label(cls)
    if getattr(cls, "transductive", False):
        idx = _TRANSDUCTIVE_SUBSET
        alone = det.anomaly_score(X_test[idx])
        assert not np.allclose(alone, full[idx], rtol=SUBSET_RTOL, atol=SUBSET_ATOL), (
            f"{label} sets transductive = True, but its scores of {len(idx)} rows scored "
            f"alone equal their scores in a batch of {len(X_test)}: the flag is wrong "
            "(set transductive = False if no row's score depends on the batch)"
        )
        return
    for what, idx in _SUBSETS:
        try:
            alone = det.anomaly_score(X_test[idx])
        except Exception as exc:
            raise AssertionError(
                f"{label} could not score {what} ({type(exc).__name__}: {exc}); a detector "
                "whose scores do not depend on the batch must score any number of rows, "
                "otherwise it is batch-dependent: set `transductive = True` on the class"
            ) from exc
        if not np.allclose(alone, full[idx], rtol=SUBSET_RTOL, atol=SUBSET_ATOL):
            diff = float(np.max(np.abs(alone - full[idx])))
            raise AssertionError(
                f"{label} is batch-dependent: scoring {what} gives scores that differ from "
                f"the same rows scored in a batch of {len(X_test)} (max |difference| "
                f"{diff:.3g}). A row's score must depend on that row and the fitted model "
                "only (a common cause: random numbers drawn per batch position at scoring "
                "time); if it is inherent to the method, set `transductive = True` on the "
                "class so that records and leaderboards mark it"
            )


CHECKS = (
    check_fit_returns_self,
    check_scores_shape_and_finite,
    check_clone_round_trip,
    check_deterministic,
    check_separates_toy_data,
    check_rejects_bad_input,
    check_subset_invariant,
)


def check_detector(cls: type, params: dict[str, Any] | None = None) -> None:
    """Run every contract check on ``cls`` (with its ``test_params()`` and ``params``)."""
    for check in CHECKS:
        check(cls, params)
