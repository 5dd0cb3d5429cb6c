"""The published procedures themselves: how PyOD's benchmark and ADBench load, scale and
split a data set on a shared global RNG, as their scripts do (:mod:`anobench.plan.presets`
names them)."""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from anobench.data.splits import copy_groups, duplicate_stats
from anobench.types import Split

#: ADBench's size bounds: resample smaller sets up to, subsample larger sets down to
ADBENCH_MIN_ROWS, ADBENCH_MAX_ROWS = 1000, 10_000

__all__ = [
    "ADBENCH_MAX_ROWS",
    "ADBENCH_MIN_ROWS",
    "PresetSplit",
    "adbench",
    "ecg_tutorial",
    "isolated_global_rng",
    "pyod_benchmark",
    "split_facts",
]


@dataclass
class PresetSplit:
    """A split made by a preset, and how the model must be seeded.

    Attributes
    ----------
    split : the train/test parts, already scaled the preset's way; ``metadata`` holds
        the measured facts (:func:`split_facts`) and what the procedure did.
    random_state : the value of the model's ``random_state`` (a shared ``RandomState``
        object, or ``None`` for models drawing from the global RNG).
    before_fit : called right before the model is fitted (ADBench seeds the global RNG).
    """

    split: Split
    random_state: Any
    before_fit: Callable[[], None]


@contextlib.contextmanager
def isolated_global_rng() -> Iterator[None]:
    """Save NumPy's and Python's global RNG states and restore them on exit, so a
    preset that seeds them changes nothing outside its cell."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    try:
        yield
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


def split_facts(
    X_train: np.ndarray, X_test: np.ndarray, y_train: np.ndarray, y_test: np.ndarray
) -> dict[str, Any]:
    """What a clean split would have checked, measured instead of enforced.

    Returns sizes and anomaly counts, ``test_rows_in_train`` (test rows with an
    identical row in the training part) and its fraction, the duplicate statistics of
    the rows used (:func:`anobench.data.splits.duplicate_stats`), whether both classes are in
    the test part and whether every value is finite.
    """
    X_all = np.concatenate([X_train, X_test])
    groups = copy_groups(X_all)
    in_train = np.isin(groups[len(X_train) :], groups[: len(X_train)])
    return {
        "n_train": len(X_train),
        "n_test": len(X_test),
        "n_train_anomalies": int(y_train.sum()),
        "n_test_anomalies": int(y_test.sum()),
        "n_features": int(np.prod(X_train.shape[1:])),
        "test_rows_in_train": int(in_train.sum()),
        "test_rows_in_train_fraction": float(in_train.mean()) if len(in_train) else 0.0,
        "duplicates": duplicate_stats(groups, np.concatenate([y_train, y_test])),
        "both_classes_in_test": bool(0 < y_test.sum() < len(y_test)),
        "finite": bool(np.isfinite(X_all).all()),
    }


def _transformed(
    transform: Callable[[], Any] | None, X_train: np.ndarray, X_test: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The data set's own transformer (e.g. one-hot encoding), fitted on train."""
    if transform is None:
        return X_train, X_test
    encoder = transform()
    return encoder.fit_transform(X_train), encoder.transform(X_test)


def _finish(
    name: str,
    parts: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    scaler: Any,
    transform: Callable[[], Any] | None,
    done: dict[str, Any],
) -> Split:
    X_train, X_test, y_train, y_test = parts
    X_train, X_test = _transformed(transform, X_train, X_test)
    scaler.fit(X_train)
    X_train = np.asarray(scaler.transform(X_train), dtype=np.float64)
    X_test = np.asarray(scaler.transform(X_test), dtype=np.float64)
    metadata = {
        "published_protocol": name,
        **done,
        **split_facts(X_train, X_test, y_train, y_test),
    }
    return Split(X_train, np.asarray(y_train), X_test, np.asarray(y_test), metadata=metadata)


def pyod_benchmark(
    X: np.ndarray, y: np.ndarray, seed: int, transform: Callable[[], Any] | None
) -> PresetSplit:
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler  # what pyod.utils.standardizer fits

    rng = np.random.RandomState(seed)
    parts = train_test_split(X, y, test_size=0.4, random_state=rng)
    split = _finish(
        "pyod-benchmark",
        tuple(parts),
        StandardScaler(),
        transform,
        {"n_rows": len(y), "n_anomalies": int(y.sum()), "scaling": "z-score (train)"},
    )
    return PresetSplit(split, random_state=rng, before_fit=lambda: None)


def _seed_global(seed: int) -> None:
    """ADBench's ``Utils.set_seed`` as far as NumPy models are concerned."""
    np.random.seed(seed)
    random.seed(seed)


def adbench(
    X: np.ndarray, y: np.ndarray, seed: int, transform: Callable[[], Any] | None
) -> PresetSplit:
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import MinMaxScaler

    done: dict[str, Any] = {"n_rows": len(y), "n_anomalies": int(y.sum())}
    _seed_global(seed)
    if len(y) < ADBENCH_MIN_ROWS:
        _seed_global(seed)
        idx = np.random.choice(np.arange(len(y)), ADBENCH_MIN_ROWS, replace=True)
        X, y = X[idx], y[idx]
        done["resampled_with_replacement"] = {"from": done["n_rows"], "to": ADBENCH_MIN_ROWS}
    if len(y) > ADBENCH_MAX_ROWS:
        _seed_global(seed)
        idx = np.random.choice(np.arange(len(y)), ADBENCH_MAX_ROWS, replace=False)
        X, y = X[idx], y[idx]
        done["subsampled"] = {"from": done["n_rows"], "to": ADBENCH_MAX_ROWS}
    parts = train_test_split(X, y, test_size=0.3, shuffle=True, stratify=y)  # global RNG
    done["scaling"] = "min-max (train)"
    split = _finish("adbench-2022", tuple(parts), MinMaxScaler(), transform, done)
    return PresetSplit(split, random_state=None, before_fit=lambda: _seed_global(seed))


def ecg_tutorial(
    X: np.ndarray, y: np.ndarray, seed: int, transform: Callable[[], Any] | None
) -> PresetSplit:
    """Study 003's procedure (the Keras ECG autoencoder walk-through):
    ``train_test_split(test_size=0.2, stratify=y)`` (the study's run was unseeded: here
    ``random_state=seed``), the normal rows of the training part kept for training,
    ``MinMaxScaler((0, 1))`` fitted on them and applied to the test part (whose values may
    then fall outside [0, 1]). ``seed`` seeds the split; it does not give the split the
    study's code would give with ``random_state=seed`` (anobench's labels are the study's
    flipped, 1 = anomaly, and stratified splitting draws per class in sorted order).

    Raises :class:`ValueError` when ``y`` does not hold both classes: the study's accuracy
    needs normal and anomalous test rows."""
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import MinMaxScaler

    if len(np.unique(y)) < 2:
        raise ValueError("seed-003 needs normal and anomalous rows (y holds one class)")

    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=seed
    )
    normal = y_train == 0
    done: dict[str, Any] = {
        "n_rows": len(y),
        "n_anomalies": int(y.sum()),
        "scaling": "min-max (normal training rows)",
        "dropped_training_anomalies": int((~normal).sum()),
    }
    parts = (X_train[normal], X_test, y_train[normal], y_test)
    split = _finish("seed-003", parts, MinMaxScaler((0, 1)), transform, done)
    return PresetSplit(split, random_state=seed, before_fit=lambda: None)
