"""Data-set specifications and the protocol-aware, checked train/test split."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from anobench.types import Protocol, Split

logger = logging.getLogger(__name__)


class SplitError(ValueError):
    """A split failed a sanity check (names the data set and the check)."""


@dataclass(frozen=True)
class DatasetSpec:
    """What a data set is and how to load it.

    Parameters
    ----------
    name : registry id.
    modality : ``"tabular"``, ``"image"`` or ``"series"``.
    load : callable returning ``(X, y)``: X of shape (n, ...) finite floats, y of shape
        (n,) with 1 = anomaly, 0 = normal. Must be deterministic.
    description, licence, citation : provenance shown by ``anobench list datasets``.
    urls, sha256 : canonical source files and their checksums (empty for embedded data).
    version : bump when the generator or preprocessing changes (enters the fingerprint).
    """

    name: str
    modality: str
    load: Callable[[], tuple[np.ndarray, np.ndarray]]
    description: str = ""
    licence: str = ""
    citation: str = ""
    urls: tuple[str, ...] = ()
    sha256: tuple[str, ...] = ()
    version: str = "1"

    def fingerprint(self) -> str:
        """Identity of the data for cell ids: source checksums, or name + version.

        Cheap: never loads the data.
        """
        text = "|".join([self.name, self.version, *self.sha256])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def split(
        self,
        protocol: Protocol | str,
        seed: int,
        *,
        test_size: float = 0.4,
        max_train: int | None = None,
        max_test: int | None = None,
    ) -> Split:
        """Load the data and return a checked split (see :func:`make_split`)."""
        X, y = self.load()
        return make_split(
            X,
            y,
            protocol,
            seed,
            name=self.name,
            test_size=test_size,
            max_train=max_train,
            max_test=max_test,
        )


def _row_keys(X: np.ndarray) -> np.ndarray:
    """One hashable key per row (bytes of the contiguous row)."""
    flat = np.ascontiguousarray(X.reshape(len(X), -1))
    return flat.view(np.dtype((np.void, flat.dtype.itemsize * flat.shape[1]))).ravel()


def deduplicate(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Drop repeated rows (keeping the first), so no row can land in train and test.

    A row that appears with both labels is kept as an anomaly.

    Returns
    -------
    X, y : the unique rows in first-seen order; n_removed : how many rows were dropped.
    """
    _, first, inverse = np.unique(_row_keys(X), return_index=True, return_inverse=True)
    label = np.zeros(len(first), dtype=y.dtype)
    np.maximum.at(label, inverse.ravel(), y)
    order = np.argsort(first)  # unique rows back in first-seen order
    return X[first[order]], label[order], len(X) - len(first)


def _subsample(
    X: np.ndarray, y: np.ndarray, limit: int | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Stratified, seeded subsample to at most ``limit`` rows (keeps >= 1 of each class)."""
    if limit is None or len(X) <= limit:
        return X, y
    keep: list[np.ndarray] = []
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        k = max(1, round(limit * len(idx) / len(X)))
        keep.append(rng.choice(idx, size=min(k, len(idx)), replace=False))
    chosen = np.sort(np.concatenate(keep))
    return X[chosen], y[chosen]


def check_split(split: Split, name: str) -> None:
    """Raise :class:`SplitError` unless the split is usable.

    Checks: at least one anomaly and one normal point in test, finite values, a
    non-empty training set, and no row shared by train and test.
    """
    n_anom = int(np.sum(split.y_test == 1))
    if n_anom == 0 or n_anom == len(split.y_test):
        raise SplitError(
            f"{name}: test set needs both classes, got {n_anom} anomalies in "
            f"{len(split.y_test)} rows"
        )
    if len(split.X_train) == 0:
        raise SplitError(f"{name}: empty training set")
    for part, arr in (("train", split.X_train), ("test", split.X_test)):
        if not np.all(np.isfinite(arr)):
            raise SplitError(
                f"{name}: {part} set holds {int(np.sum(~np.isfinite(arr)))} non-finite values"
            )
    shared = np.intersect1d(_row_keys(split.X_train), _row_keys(split.X_test))
    if len(shared):
        raise SplitError(f"{name}: {len(shared)} row(s) appear in both train and test")


def make_split(
    X: np.ndarray,
    y: np.ndarray,
    protocol: Protocol | str,
    seed: int,
    *,
    name: str,
    test_size: float = 0.4,
    max_train: int | None = None,
    max_test: int | None = None,
) -> Split:
    """Split ``(X, y)`` under a protocol, reproducibly for a seed.

    Duplicate rows are removed first. The data are split once, stratified by label, into
    train and test (``test_size``); the test set is therefore the same for every protocol
    under one seed. ``novelty`` then drops the anomalies from train; ``unsupervised``
    keeps them (train contaminated at the data's ratio). ``max_train`` / ``max_test``
    subsample each part, stratified and seeded, and are recorded in the metadata.

    Raises
    ------
    SplitError
        Bad shapes or labels, or a check in :func:`check_split` failed.
    """
    protocol = Protocol(protocol)
    X = np.asarray(X)
    y = np.asarray(y).astype(np.int64).ravel()
    if X.ndim < 2 or len(X) != len(y):
        raise SplitError(f"{name}: X must be (n, ...) with n = len(y); got {X.shape} and {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise SplitError(f"{name}: labels must be 0 (normal) or 1 (anomaly)")
    if X.dtype.kind not in "fiub":
        raise SplitError(f"{name}: X must be numeric, got dtype {X.dtype}")
    if not np.all(np.isfinite(X)):
        raise SplitError(f"{name}: data hold {int(np.sum(~np.isfinite(X)))} non-finite values")
    X, y, n_dup = deduplicate(X, y)
    if n_dup:
        logger.info("%s: removed %d duplicate rows before splitting", name, n_dup)
    counts = np.bincount(y, minlength=2)
    if counts.min() < 2:
        raise SplitError(
            f"{name}: need at least 2 normal and 2 anomalous rows, got {counts.tolist()}"
        )
    idx_train, idx_test = train_test_split(
        np.arange(len(y)), test_size=test_size, stratify=y, random_state=seed % (2**32)
    )
    rng = np.random.default_rng(seed)
    X_train, y_train = X[np.sort(idx_train)], y[np.sort(idx_train)]
    X_test, y_test = X[np.sort(idx_test)], y[np.sort(idx_test)]
    if protocol is Protocol.NOVELTY:
        X_train, y_train = X_train[y_train == 0], y_train[y_train == 0]
    n_train_full, n_test_full = len(X_train), len(X_test)
    X_train, y_train = _subsample(X_train, y_train, max_train, rng)
    X_test, y_test = _subsample(X_test, y_test, max_test, rng)
    split = Split(
        X_train.astype(np.float64, copy=False),
        y_train,
        X_test.astype(np.float64, copy=False),
        y_test,
        metadata={
            "n_train": len(X_train),
            "n_test": len(X_test),
            "n_train_anomalies": int(y_train.sum()),
            "n_test_anomalies": int(y_test.sum()),
            "n_features": int(np.prod(X.shape[1:])),
            "duplicates_removed": n_dup,
            "subsampled_train": len(X_train) < n_train_full,
            "subsampled_test": len(X_test) < n_test_full,
        },
    )
    check_split(split, name)
    return split
