"""Contract checks for detectors, reusable by plugin authors.

>>> from anobench.testing import check_detector
>>> check_detector(MyDetector)            # raises AssertionError naming the broken rule

or, in a pytest file, one test per check (as scikit-learn's ``parametrize_with_checks``)::

    from anobench.testing import parametrize_with_checks

    @parametrize_with_checks([MyDetector, (MyOther, {"k": 3})])
    def test_contract(detector, check):
        check(detector)

Each ``check_*`` function takes a detector class (and optional parameters) and raises
``AssertionError`` whose message starts with the rule broken, e.g. ``[pickle] ...``.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from anobench.testing.toys import (
    TOY_TRAIN_ANOMALIES,
    toy_data,
    toy_for,
    toy_images,
    toy_labels,
    toy_series,
)

__all__ = [
    "CHECKS",
    "SUBSET_ATOL",
    "SUBSET_RTOL",
    "TOY_TRAIN_ANOMALIES",
    "Detector",
    "check_clone_round_trip",
    "check_detector",
    "check_deterministic",
    "check_fit_returns_self",
    "check_idempotent_fit",
    "check_input_unchanged",
    "check_outlier_api",
    "check_pickle",
    "check_rejects_bad_input",
    "check_scores_shape_and_finite",
    "check_separates_toy_data",
    "check_subset_invariant",
    "parametrize_with_checks",
    "toy_data",
    "toy_for",
    "toy_images",
    "toy_labels",
    "toy_series",
]


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
    assert det.fit(X_train, *toy_labels(cls, X_train)) is det, (
        f"[fit returns self] {cls.__name__}.fit must return self"
    )


def check_scores_shape_and_finite(cls: type, params: dict[str, Any] | None = None) -> None:
    X_train, X_test, _ = toy_for(cls)
    scores = _make(cls, params).fit(X_train, *toy_labels(cls, X_train)).anomaly_score(X_test)
    assert isinstance(scores, np.ndarray), (
        f"[scores] {cls.__name__}.anomaly_score must return an ndarray"
    )
    assert scores.shape == (len(X_test),), (
        f"[scores] {cls.__name__}.anomaly_score must return shape ({len(X_test)},), "
        f"got {scores.shape}"
    )
    assert np.all(np.isfinite(scores)), f"[scores] {cls.__name__} returned non-finite scores"


def check_clone_round_trip(cls: type, params: dict[str, Any] | None = None) -> None:
    det = _make(cls, params)
    twin = clone(det)
    assert type(twin) is type(det), f"[clone] clone of {cls.__name__} changed its type"
    assert twin.get_params() == det.get_params(), f"[clone] clone of {cls.__name__} lost parameters"
    X_train, _, _ = toy_for(cls)
    det.fit(X_train, *toy_labels(cls, X_train))
    assert not any(k.endswith("_") and not k.startswith("_") for k in vars(clone(det))), (
        f"[clone] clone of a fitted {cls.__name__} carries fitted attributes: __init__ must only "
        "store parameters"
    )


def check_deterministic(cls: type, params: dict[str, Any] | None = None) -> None:
    X_train, X_test, _ = toy_for(cls)
    a = _make(cls, params, seed=7).fit(X_train, *toy_labels(cls, X_train)).anomaly_score(X_test)
    b = _make(cls, params, seed=7).fit(X_train, *toy_labels(cls, X_train)).anomaly_score(X_test)
    assert np.array_equal(a, b), (
        f"[deterministic] {cls.__name__}: the same seed gave different scores"
    )


def check_separates_toy_data(cls: type, params: dict[str, Any] | None = None) -> None:
    """AUC >= 0.9 on a task any working detector solves; catches a flipped sign."""
    X_train, X_test, y_test = toy_for(cls)
    scores = _make(cls, params).fit(X_train, *toy_labels(cls, X_train)).anomaly_score(X_test)
    auc = roc_auc_score(y_test, scores)
    assert auc >= 0.9, (
        f"[separates toy data] {cls.__name__} has ROC-AUC {auc:.3f} < 0.9 on separable toy data "
        "(are higher scores more anomalous?)"
    )


def check_rejects_bad_input(cls: type, params: dict[str, Any] | None = None) -> None:
    X_train, X_test, _ = toy_for(cls)
    bad = X_train.copy()
    bad.reshape(len(bad), -1)[3, 1] = np.nan
    try:
        _make(cls, params).fit(bad, *toy_labels(cls, bad))
    except ValueError:
        pass
    else:
        raise AssertionError(
            f"[bad input] {cls.__name__}.fit accepted NaN input; it must raise ValueError"
        )
    det = _make(cls, params).fit(X_train, *toy_labels(cls, X_train))
    try:
        det.anomaly_score(_drop_feature(X_test))
    except ValueError:
        pass
    else:
        raise AssertionError(
            f"[bad input] {cls.__name__}.anomaly_score accepted a different number of features"
        )


#: tolerances for "the same score": float32 networks (the deep family) give a row a score
#: that differs by up to ~3e-6 relative between batch shapes (XLA picks other kernels and
#: reduction orders), so ``rtol`` is 1e-5 rather than 1e-6
SUBSET_RTOL = 1e-5
SUBSET_ATOL = 1e-9

#: rows of the toy test set (100 normal, then 20 anomalies) scored apart from the batch
_SUBSETS: tuple[tuple[str, np.ndarray], ...] = (
    # rows at random, not a prefix: the toy sets are ordered by label
    ("25 rows drawn at random", np.sort(np.random.default_rng(0).choice(120, 25, replace=False))),
    ("row 0 alone", np.array([0])),
    ("row 50 alone", np.array([50])),
    ("row 110 (an anomaly) alone", np.array([110])),
)
#: subset used to confirm a ``transductive = True`` claim; large enough for PyOD's SOD,
#: which cannot score ``n_neighbors`` (20) rows or fewer
_TRANSDUCTIVE_SUBSET = np.sort(np.random.default_rng(1).choice(120, 40, replace=False))


def _label(cls: Any) -> str:
    name = getattr(cls, "name", "")
    return f"{name!r} ({cls.__name__})" if name else cls.__name__


def check_subset_invariant(cls: type, params: dict[str, Any] | None = None) -> None:
    """A row's score must not depend on the other rows scored with it.

    Fits on the toy training data, scores the whole toy test set (120 rows) in one call,
    then scores subsets on their own (25 rows drawn at random; rows 0, 50 and 110 one at
    a time) and requires the same scores for those rows, within ``rtol = 1e-5``,
    ``atol = 1e-9`` (:data:`SUBSET_RTOL`, :data:`SUBSET_ATOL`: loose enough for float32
    networks, whose scores move by ~1e-6 relative with the batch shape).

    A class that sets ``transductive = True`` (batch-dependent scores, e.g. PyOD's ECOD)
    is checked the other way: its scores of 40 random rows scored alone must differ
    from those rows' scores in the full batch, otherwise the flag is wrong.
    """
    X_train, X_test, _ = toy_for(cls)
    det = _make(cls, params).fit(X_train, *toy_labels(cls, X_train))
    full = det.anomaly_score(X_test)
    label = _label(cls)
    if getattr(cls, "transductive", False):
        idx = _TRANSDUCTIVE_SUBSET
        alone = det.anomaly_score(X_test[idx])
        assert not np.allclose(alone, full[idx], rtol=SUBSET_RTOL, atol=SUBSET_ATOL), (
            f"[subset invariant] {label} sets transductive = True, but its scores of "
            f"{len(idx)} rows scored alone equal their scores in a batch of {len(X_test)}: "
            "the flag is wrong (set transductive = False if no row's score depends on the batch)"
        )
        return
    for what, idx in _SUBSETS:
        try:
            alone = det.anomaly_score(X_test[idx])
        except Exception as exc:
            raise AssertionError(
                f"[subset invariant] {label} could not score {what} "
                f"({type(exc).__name__}: {exc}); a detector whose scores do not depend on "
                "the batch must score any number of rows, otherwise it is batch-dependent: "
                "set `transductive = True` on the class"
            ) from exc
        if not np.allclose(alone, full[idx], rtol=SUBSET_RTOL, atol=SUBSET_ATOL):
            diff = float(np.max(np.abs(alone - full[idx])))
            raise AssertionError(
                f"[subset invariant] {label} is batch-dependent: scoring {what} gives "
                f"scores that differ from the same rows scored in a batch of {len(X_test)} "
                f"(max |difference| {diff:.3g}). A row's score must depend on that row and "
                "the fitted model only (a common cause: random numbers drawn per batch "
                "position at scoring time); if it is inherent to the method, set "
                "`transductive = True` on the class so that records and leaderboards mark it"
            )


def check_input_unchanged(cls: type, params: dict[str, Any] | None = None) -> None:
    """``fit`` and ``anomaly_score`` accept read-only arrays (the harness passes its data
    read-only) and leave their input as it was."""
    X_train, X_test, _ = toy_for(cls)
    frozen_train, frozen_test = X_train.copy(), X_test.copy()
    for array in (frozen_train, frozen_test):
        array.setflags(write=False)
    try:
        det = _make(cls, params).fit(frozen_train, *toy_labels(cls, frozen_train))
        det.anomaly_score(frozen_test)
    except ValueError as exc:
        if "read-only" not in str(exc):
            raise
        raise AssertionError(
            f"[input unchanged] {_label(cls)} writes into its input ({exc}): copy it first"
        ) from exc
    assert np.array_equal(frozen_train, X_train) and np.array_equal(frozen_test, X_test)


def check_idempotent_fit(cls: type, params: dict[str, Any] | None = None) -> None:
    """Fitting again replaces the model: fit(A) then fit(B) scores as fit(B) alone, and
    fitting twice on the same data gives the same scores (no state carried over)."""
    X_train, X_test, _ = toy_for(cls)
    other = toy_for(cls, seed=1)[0]
    once = _make(cls, params, seed=7).fit(X_train, *toy_labels(cls, X_train)).anomaly_score(X_test)
    det = _make(cls, params, seed=7)
    det.fit(other, *toy_labels(cls, other))
    again = det.fit(X_train, *toy_labels(cls, X_train)).anomaly_score(X_test)
    assert np.allclose(once, again, rtol=SUBSET_RTOL, atol=SUBSET_ATOL), (
        f"[idempotent fit] {_label(cls)}: fit on other data, then on the training data, "
        "scores differently from one fit on the training data: fit must start afresh "
        "(reset fitted attributes ending in '_')"
    )


def check_pickle(cls: type, params: dict[str, Any] | None = None) -> None:
    """An unfitted and a fitted detector survive ``pickle`` and score the same after it
    (process executors, caches and Dask ship detectors between processes)."""
    X_train, X_test, _ = toy_for(cls)
    try:
        pickle.loads(pickle.dumps(_make(cls, params)))
        det = _make(cls, params).fit(X_train, *toy_labels(cls, X_train))
        twin = pickle.loads(pickle.dumps(det))
    except Exception as exc:
        raise AssertionError(
            f"[pickle] {_label(cls)} cannot be pickled: {type(exc).__name__}: {exc}"
        ) from exc
    assert np.allclose(
        twin.anomaly_score(X_test), det.anomaly_score(X_test), rtol=SUBSET_RTOL, atol=SUBSET_ATOL
    ), f"[pickle] {_label(cls)} scores differently after a pickle round trip"


def check_outlier_api(cls: type, params: dict[str, Any] | None = None) -> None:
    """scikit-learn's outlier API: ``score_samples`` is the negated anomaly score (higher
    = more normal), ``predict`` returns +1 / -1 and agrees with the sign of
    ``decision_function``, and sklearn recognises an outlier detector."""
    from sklearn.base import is_outlier_detector

    X_train, X_test, _ = toy_for(cls)
    det = _make(cls, params).fit(X_train, *toy_labels(cls, X_train))
    label = _label(cls)
    assert is_outlier_detector(det), (
        f"[outlier api] {label}: sklearn.base.is_outlier_detector is false "
        "(derive from anobench.contract.BaseDetector)"
    )
    anomaly = det.anomaly_score(X_test)
    assert np.allclose(det.score_samples(X_test), -anomaly, rtol=SUBSET_RTOL, atol=SUBSET_ATOL), (
        f"[outlier api] {label}: score_samples must be -anomaly_score (higher = more normal)"
    )
    if getattr(cls, "transductive", False):
        return  # no label-free threshold for batch-dependent scores
    decision = det.decision_function(X_test)
    predicted = det.predict(X_test)
    assert set(np.unique(predicted)) <= {-1, 1}, (
        f"[outlier api] {label}: predict must return +1 (inlier) / -1 (outlier)"
    )
    assert np.array_equal(predicted == -1, decision < 0), (
        f"[outlier api] {label}: predict must be -1 exactly where decision_function < 0"
    )
    assert np.all(np.diff(decision[np.argsort(anomaly)]) <= 1e-9), (
        f"[outlier api] {label}: decision_function must fall as the anomaly score rises"
    )


CHECKS = (
    check_fit_returns_self,
    check_scores_shape_and_finite,
    check_clone_round_trip,
    check_deterministic,
    check_separates_toy_data,
    check_rejects_bad_input,
    check_subset_invariant,
    check_input_unchanged,
    check_idempotent_fit,
    check_pickle,
    check_outlier_api,
)


def check_detector(cls: type, params: dict[str, Any] | None = None) -> None:
    """Run every contract check on ``cls`` (with its ``test_params()`` and ``params``)."""
    for check in CHECKS:
        check(cls, params)


Detector = type | tuple[type, dict[str, Any]]


def parametrize_with_checks(detectors: Sequence[Detector]) -> Callable[[Any], Any]:
    """A ``pytest.mark.parametrize`` over (detector, check) pairs: one test per contract
    rule and detector, named ``<Class>-<check>``.

    ``detectors`` are classes, or ``(class, params)`` pairs. The decorated test receives
    ``detector`` (the class) and ``check`` (the check, bound to the given parameters):
    its body is ``check(detector)``.
    """
    import functools

    import pytest

    cases, ids = [], []
    for item in detectors:
        cls, params = item if isinstance(item, tuple) else (item, None)
        for check in CHECKS:
            cases.append((cls, functools.partial(check, params=params)))
            ids.append(f"{cls.__name__}-{check.__name__}")
    return pytest.mark.parametrize(("detector", "check"), cases, ids=ids)
