"""Anomaly tasks built from the data sets that scikit-learn ships (no download).

- ``breast-cancer``: benign = normal; malignant subsampled (fixed seed) to 5% anomalies.
- ``wine``: as ODDS does it, classes 1 and 2 normal, class 0 subsampled to 10 anomalies.
- ``digits-<d>``: digit ``d`` normal; the other digits are anomalies, subsampled
  (fixed seed, stratified by digit) to 10% of the set.
"""

from __future__ import annotations

import functools

import numpy as np
from sklearn import datasets as skdata

from anobench.data.spec import DatasetSpec

__all__ = [
    "BREAST_CANCER",
    "DATA_SEED",
    "WINE",
    "load_breast_cancer",
    "load_digits",
    "load_wine",
]

DATA_SEED = 20221128


def _anomalies_to_ratio(
    X: np.ndarray,
    is_anomaly: np.ndarray,
    ratio: float | None,
    count: int | None,
    strata: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Keep every normal row and a seeded, stratified subsample of the anomalies."""
    rng = np.random.default_rng(DATA_SEED)
    normal = np.flatnonzero(~is_anomaly)
    anomalous = np.flatnonzero(is_anomaly)
    if count is None:
        assert ratio is not None
        count = round(ratio * len(normal) / (1 - ratio))
    picked: list[int] = []
    groups = np.unique(strata[anomalous])
    # round-robin over strata so every anomalous class is represented
    pools = {g: list(rng.permutation(anomalous[strata[anomalous] == g])) for g in groups}
    while len(picked) < count and any(pools.values()):
        for g in groups:
            if pools[g] and len(picked) < count:
                picked.append(int(pools[g].pop()))
    keep = np.sort(np.r_[normal, np.array(picked, dtype=int)])
    X_out = np.ascontiguousarray(X[keep], dtype=np.float64)
    y_out = is_anomaly[keep].astype(np.int64)
    X_out.flags.writeable = False
    y_out.flags.writeable = False
    return X_out, y_out


@functools.cache
def load_breast_cancer(ratio: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wisconsin diagnostic breast cancer: X (n, 30), y (n,) with 1 = malignant."""
    bunch = skdata.load_breast_cancer()
    malignant = bunch.target == 0  # sklearn: 0 = malignant, 1 = benign
    return _anomalies_to_ratio(bunch.data, malignant, ratio, None, bunch.target)


@functools.cache
def load_wine(n_anomalies: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """UCI wine: X (n, 13); classes 1, 2 normal, class 0 subsampled to ``n_anomalies``."""
    bunch = skdata.load_wine()
    return _anomalies_to_ratio(bunch.data, bunch.target == 0, None, n_anomalies, bunch.target)


@functools.cache
def load_digits(normal_digit: int, ratio: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """8x8 digits as images: X (n, 8, 8, 1) in [0, 16]; digit ``normal_digit`` normal,
    the other digits anomalies. Tabular detectors see them flattened to 64 features."""
    bunch = skdata.load_digits()
    X, y = _anomalies_to_ratio(bunch.data, bunch.target != normal_digit, ratio, None, bunch.target)
    return X.reshape(-1, 8, 8, 1), y


_UCI = "Dua & Graff, UCI Machine Learning Repository (via scikit-learn)."

BREAST_CANCER = DatasetSpec(
    name="breast-cancer",
    modality="tabular",
    load=load_breast_cancer,
    description="Wisconsin diagnostic breast cancer (30 features): 357 benign normal, "
    "malignant subsampled to 5% anomalies.",
    licence="CC BY 4.0",
    citation="Street, Wolberg, Mangasarian (1993). " + _UCI,
)

WINE = DatasetSpec(
    name="wine",
    modality="tabular",
    load=load_wine,
    description="UCI wine (13 features): classes 1 and 2 normal, 10 rows of class 0 as "
    "anomalies (the ODDS construction).",
    licence="CC BY 4.0",
    citation="Aeberhard & Forina (1991). " + _UCI,
)


def _digits_spec(digit: int) -> DatasetSpec:
    return DatasetSpec(
        name=f"digits-{digit}",
        modality="image",
        load=functools.partial(load_digits, digit),
        description=f"8x8 handwritten digits (64 features): digit {digit} normal, the other "
        "digits subsampled to 10% anomalies.",
        licence="CC BY 4.0",
        citation="Alpaydin & Kaynak (1998). " + _UCI,
    )


DIGITS_0, DIGITS_1, DIGITS_2, DIGITS_3, DIGITS_4 = (_digits_spec(d) for d in range(5))
DIGITS_5, DIGITS_6, DIGITS_7, DIGITS_8, DIGITS_9 = (_digits_spec(d) for d in range(5, 10))
