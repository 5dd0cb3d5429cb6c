"""The checked train/test split of a data set under a protocol.

Every row is kept. Rows identical in ``X`` form a *copy group*; a clean split keeps each
group whole on one side (a stratified group split), so no row is in both train and test
while the data set keeps its size and anomaly ratio. A row that occurs with both labels
keeps each copy's own label; such rows are counted and recorded. A fixed split (an
official train/test file) keeps its test part exactly as published and drops from the
training part the rows that also occur in test.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from anobench.seeding import derive_seed
from anobench.types import Budget, Protocol, Split, parse_protocol

logger = logging.getLogger(__name__)

__all__ = [
    "SplitError",
    "check_split",
    "copy_groups",
    "duplicate_stats",
    "group_stratified_split",
    "make_split",
]


class SplitError(ValueError):
    """A split failed a sanity check (names the data set and the check)."""


def row_keys(X: np.ndarray) -> np.ndarray:
    """One hashable key per row (the bytes of the contiguous row), shape (n,). Floats
    are canonicalised first: ``-0.0`` and ``0.0`` are the same value, so the same row."""
    flat = np.ascontiguousarray(X.reshape(len(X), -1))
    if np.issubdtype(flat.dtype, np.floating):
        flat = flat + 0.0  # -0.0 + 0.0 == +0.0; every other value is unchanged
    return flat.view(np.dtype((np.void, flat.dtype.itemsize * flat.shape[1]))).ravel()


def copy_groups(X: np.ndarray) -> np.ndarray:
    """Copy-group id of each row: rows identical in ``X`` share an id.

    Parameters
    ----------
    X : ndarray, shape (n, ...)

    Returns
    -------
    ndarray of int, shape (n,): ids in ``0 .. n_groups - 1``.
    """
    if len(X) == 0:
        return np.zeros(0, dtype=np.int64)
    _, inverse = np.unique(row_keys(X), return_inverse=True)
    return np.asarray(inverse, dtype=np.int64).ravel()


def duplicate_stats(groups: np.ndarray, y: np.ndarray) -> dict[str, int]:
    """How many rows repeat, and how many repeat with both labels.

    Parameters
    ----------
    groups : (n,) copy-group ids (:func:`copy_groups`). y : (n,) 0/1 labels.

    Returns
    -------
    dict with ``duplicate_groups`` (distinct rows that occur more than once),
    ``duplicate_rows`` (rows in those groups, copies included), ``conflicting_groups``
    (groups holding both labels), ``conflicting_rows`` (rows in those groups) and
    ``largest_anomaly_group`` (anomalous rows in the group holding most of them: a group
    is split whole, so when it holds many of the anomalies the test part's anomaly ratio
    moves with the side it lands on).
    """
    size = np.bincount(groups)
    anomalies = np.bincount(groups, weights=np.asarray(y, dtype=np.float64))
    repeated = size > 1
    conflicting = (anomalies > 0) & (anomalies < size)
    return {
        "duplicate_groups": int(repeated.sum()),
        "duplicate_rows": int(size[repeated].sum()),
        "conflicting_groups": int(conflicting.sum()),
        "conflicting_rows": int(size[conflicting].sum()),
        "largest_anomaly_group": int(anomalies.max()) if len(anomalies) else 0,
    }


def group_stratified_split(
    y: np.ndarray, groups: np.ndarray, test_size: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test row indices with every group whole on one side, stratified by label.

    The test part gets ``round(test_size * n_c)`` rows of each label ``c`` as closely as
    whole groups allow. Groups of several rows are placed first, largest first (ties in a
    seeded random order), each on the side whose per-label shortfall it reduces most;
    the single rows then fill each side's remaining quota of their label exactly, chosen
    at random. Deterministic for a seed.

    Parameters
    ----------
    y : (n,) 0/1 labels. groups : (n,) copy-group ids (:func:`copy_groups`).
    test_size : fraction of each label's rows to put in test, in (0, 1).

    Returns
    -------
    idx_train, idx_test : sorted row indices.
    """
    rng = np.random.default_rng(seed % (2**32))
    n_per_label = np.bincount(y, minlength=2).astype(np.int64)
    target = np.rint(test_size * n_per_label).astype(np.int64)
    size = np.bincount(groups)
    per_label = np.stack(
        [np.bincount(groups, weights=(y == c), minlength=len(size)) for c in (0, 1)]
    )
    per_label = per_label.astype(np.int64)
    in_test = np.zeros(len(size), dtype=bool)
    test_count = np.zeros(2, dtype=np.int64)
    multi = np.flatnonzero(size > 1)
    multi = multi[rng.permutation(len(multi))]
    multi = multi[np.argsort(-size[multi], kind="stable")]
    weight = 1.0 / np.maximum(n_per_label, 1) ** 2
    tgt0, tgt1 = int(target[0]), int(target[1])
    rest0, rest1 = int(n_per_label[0] - target[0]), int(n_per_label[1] - target[1])
    t0 = t1 = r0 = r1 = 0
    for g in multi.tolist():
        a, b = int(per_label[0, g]), int(per_label[1, g])
        # > 0 when the test side's per-label shortfall, weighted, exceeds the train side's
        gain = weight[0] * a * ((tgt0 - t0) - (rest0 - r0)) + weight[1] * b * (
            (tgt1 - t1) - (rest1 - r1)
        )
        to_test = gain > 0 or (gain == 0 and rng.random() < test_size)
        if to_test:
            in_test[g] = True
            t0, t1 = t0 + a, t1 + b
        else:
            r0, r1 = r0 + a, r1 + b
    test_count[:] = (t0, t1)
    single = np.flatnonzero(size == 1)
    single_label = np.where(per_label[1, single] > 0, 1, 0)
    for c in (0, 1):
        pool = single[single_label == c]
        need = int(np.clip(target[c] - test_count[c], 0, len(pool)))
        in_test[rng.choice(pool, size=need, replace=False)] = True
    test_rows = in_test[groups]
    return np.flatnonzero(~test_rows), np.flatnonzero(test_rows)


def _subsample(y: np.ndarray, limit: int | None, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of a stratified, seeded subsample of at most ``limit`` rows
    (keeps >= 1 of each class); all indices when ``limit`` is None or not reached."""
    if limit is None or len(y) <= limit:
        return np.arange(len(y))
    keep: list[np.ndarray] = []
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        k = max(1, round(limit * len(idx) / len(y)))
        keep.append(rng.choice(idx, size=min(k, len(idx)), replace=False))
    return np.sort(np.concatenate(keep))


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
    shared = np.intersect1d(row_keys(split.X_train), row_keys(split.X_test))
    if len(shared):
        raise SplitError(f"{name}: {len(shared)} row(s) appear in both train and test")


def _check_inputs(X: np.ndarray, y: np.ndarray, name: str, *, allow_nan: bool = False) -> None:
    if X.ndim < 2 or len(X) != len(y):
        raise SplitError(f"{name}: X must be (n, ...) with n = len(y); got {X.shape} and {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise SplitError(f"{name}: labels must be 0 (normal) or 1 (anomaly)")
    if X.dtype.kind not in "fiub":
        raise SplitError(f"{name}: X must be numeric, got dtype {X.dtype}")
    bad = ~np.isfinite(X) & ~np.isnan(X) if allow_nan else ~np.isfinite(X)
    if bad.any():
        raise SplitError(f"{name}: data hold {int(np.sum(bad))} non-finite values")


def _partition(
    y: np.ndarray,
    copies: np.ndarray,
    train_mask: np.ndarray | None,
    seed: int,
    test_size: float,
    name: str,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Train and test row indices (sorted) and the number of training rows dropped
    because they also occur in a fixed test part."""
    if train_mask is None:
        counts = np.bincount(y, minlength=2)
        if counts.min() < 2:
            raise SplitError(
                f"{name}: need at least 2 normal and 2 anomalous rows, got {counts.tolist()}"
            )
        idx_train, idx_test = group_stratified_split(y, copies, test_size, seed)
        return idx_train, idx_test, 0
    train_mask = np.asarray(train_mask, dtype=bool)
    if train_mask.shape != y.shape:
        raise SplitError(f"{name}: train_mask must have shape {y.shape}, got {train_mask.shape}")
    # Fixed split: the test part stays exactly as published; training rows that also
    # occur in test are dropped so no row is in both.
    idx_train, idx_test = np.flatnonzero(train_mask), np.flatnonzero(~train_mask)
    in_test = np.isin(copies[idx_train], copies[idx_test])
    return idx_train[~in_test], idx_test, int(in_test.sum())


def observed_labels(
    y_train: np.ndarray, budget: Budget, rng: np.random.Generator, name: str
) -> np.ndarray:
    """The labels a label-using detector sees under ``semi-supervised``: a seeded choice of
    ``budget`` training anomalies (a fraction, rounded and at least one, or a count) is
    labelled 1, every other row -1 (unlabelled: normal or anomalous), as in ADBench's
    semi-supervised setting. Shape (n_train,).

    Raises
    ------
    SplitError
        The training part holds no anomaly, or fewer than a count budget asks for.
    """
    anomalies = np.flatnonzero(y_train == 1)
    if not len(anomalies):
        raise SplitError(f"{name}: no anomaly in the training part to label")
    if isinstance(budget, int):
        if budget > len(anomalies):
            raise SplitError(
                f"{name}: a label budget of {budget} anomalies, but the training part holds "
                f"{len(anomalies)}"
            )
        k = budget
    else:
        k = max(1, int(np.floor(budget * len(anomalies) + 0.5)))
    observed = np.full(len(y_train), -1, dtype=np.int64)
    observed[np.sort(rng.choice(anomalies, size=k, replace=False))] = 1
    return observed


def make_split(
    X: np.ndarray,
    y: np.ndarray,
    protocol: Protocol | str,
    seed: int,
    *,
    name: str,
    groups: np.ndarray | None = None,
    train_mask: np.ndarray | None = None,
    transform: Callable[[], Any] | None = None,
    test_size: float = 0.4,
    max_train: int | None = None,
    max_test: int | None = None,
) -> Split:
    """Split ``(X, y)`` under a protocol, reproducibly for a seed.

    Without ``train_mask`` the rows are split once by :func:`group_stratified_split`
    (identical rows together, stratified by label, ``test_size`` of each label in test);
    with it, the marked rows are the training part for every seed, the test part is kept
    as published and training rows also in test are dropped. The test set is therefore
    the same for every protocol under one seed. ``novelty`` then drops the anomalies from
    train; ``unsupervised`` keeps them. ``max_train`` / ``max_test`` subsample each part,
    stratified and seeded, and are recorded in the metadata. ``transform()`` builds a
    transformer fitted on the training part only. ``groups`` (what each row is) yields
    per-group test counts in the metadata and per-group metrics.

    The metadata records sizes, anomaly counts, the data set's duplicate statistics
    (:func:`duplicate_stats`), training rows dropped as copies of test rows (fixed splits)
    and subsampling.

    Raises
    ------
    SplitError
        Bad shapes or labels, or a check in :func:`check_split` failed.
    """
    protocol, budget = parse_protocol(str(protocol))
    X = np.asarray(X)
    y = np.asarray(y).astype(np.int64).ravel()
    # a transform fitted on the training part may impute missing values (check_split
    # then requires finite values after it)
    _check_inputs(X, y, name, allow_nan=transform is not None)
    copies = copy_groups(X)
    idx_train, idx_test, n_dropped = _partition(y, copies, train_mask, seed, test_size, name)
    if protocol is Protocol.NOVELTY:
        idx_train = idx_train[y[idx_train] == 0]
    # one generator per use, derived from the split seed: the test part's subsample and
    # order do not depend on what the training part drew (novelty and unsupervised share
    # the test set under one seed, caps included)
    rng_train, rng_test, rng = (
        np.random.default_rng(derive_seed(seed, part)) for part in ("train", "test", "labels")
    )
    n_train_full, n_test_full = len(idx_train), len(idx_test)
    idx_train = idx_train[_subsample(y[idx_train], max_train, rng_train)]
    idx_test = idx_test[_subsample(y[idx_test], max_test, rng_test)]
    # both parts shuffled: file order (often grouped by label) must never carry a label
    # to a detector whose scores depend on the row position
    idx_train = idx_train[rng_train.permutation(len(idx_train))]
    idx_test = idx_test[rng_test.permutation(len(idx_test))]
    X_train, X_test = X[idx_train], X[idx_test]
    if transform is not None and len(idx_train):
        encoder = transform()
        X_train = encoder.fit_transform(X_train)
        X_test = encoder.transform(X_test)
    y_test = y[idx_test]
    metadata: dict[str, Any] = {
        "n_rows": len(y),
        "n_anomalies": int(y.sum()),
        "n_train": len(idx_train),
        "n_test": len(idx_test),
        "n_train_anomalies": int(y[idx_train].sum()),
        "n_test_anomalies": int(y_test.sum()),
        "n_features": int(np.prod(X_train.shape[1:])),
        "duplicates": duplicate_stats(copies, y),
        "fixed_split": train_mask is not None,
        "train_rows_dropped_as_in_test": n_dropped,
        "subsampled_train": len(idx_train) < n_train_full,
        "subsampled_test": len(idx_test) < n_test_full,
        "shuffled": True,
    }
    if n_dropped:
        logger.info("%s: dropped %d training rows that also occur in test", name, n_dropped)
    observed = None
    if protocol is Protocol.SEMI_SUPERVISED:
        assert budget is not None  # parse_protocol requires one
        metadata["label_budget"] = budget
        try:
            observed = observed_labels(y[idx_train], budget, rng, name)
            metadata["n_labelled_anomalies"] = int(np.sum(observed == 1))
        except SplitError as exc:  # label-free detectors still run on these rows
            metadata["labels_unavailable"] = str(exc)
    groups_test = None
    if groups is not None:
        groups_test = np.asarray(groups).astype(str)[idx_test]
        names, counts = np.unique(groups_test, return_counts=True)
        metadata["test_groups"] = dict(zip(names.tolist(), counts.tolist(), strict=True))
    split = Split(
        np.asarray(X_train, dtype=np.float64),
        y[idx_train],
        np.asarray(X_test, dtype=np.float64),
        y_test,
        metadata=metadata,
        groups_test=groups_test,
        y_train_observed=observed,
        test_rows=idx_test,
        train_rows=idx_train,
    )
    check_split(split, name)
    return split
