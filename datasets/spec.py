"""Data-set specifications and the protocol-aware, checked train/test split."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

from anobench.datasets.files import RemoteFile, file_hash, find_local, locate
from anobench.seeding import canonical_json
from anobench.types import Protocol, Split

logger = logging.getLogger(__name__)


class SplitError(ValueError):
    """A split failed a sanity check (names the data set and the check)."""


@dataclass(frozen=True)
class Data:
    """What a loader returns.

    Attributes
    ----------
    X : ndarray, shape (n, ...)
        Finite numbers: (n, d) tables, (n, h, w, c) images, (n, window[, channels]) series.
    y : ndarray of int, shape (n,)
        1 = anomaly, 0 = normal.
    groups : ndarray of str, shape (n,), optional
        What each row is (``"normal"``, ``"rotate"``, ``"fashion"``...). Test counts per
        group are recorded and ROC-AUC is also reported per anomalous group.
    train_mask : ndarray of bool, shape (n,), optional
        A fixed split (an official train file, or the start of a time series): rows
        marked True form the training part, the others the test part, for every seed.
        ``None``: a stratified random split per seed.
    """

    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray | None = None
    train_mask: np.ndarray | None = None


@dataclass(frozen=True)
class Catalog:
    """A namespace of specs that entry points reach as ``module:CATALOG.<identifier>``."""

    specs: dict[str, DatasetSpec]

    def __getattr__(self, attr: str) -> DatasetSpec:
        try:
            return self.specs[attr]
        except KeyError:
            raise AttributeError(attr) from None

    def names(self) -> list[str]:
        """Registry ids of the specs, e.g. ``adbench/cardio``."""
        return sorted(spec.name for spec in self.specs.values())


def identifier(name: str) -> str:
    """``satimage-2`` -> ``satimage_2``: a name as an attribute that an entry point can
    reference."""
    return re.sub(r"\W", "_", name)


Loader = Callable[..., "Data | tuple[np.ndarray, np.ndarray]"]


@dataclass(frozen=True)
class DatasetSpec:
    """What a data set is and how to load it.

    Parameters
    ----------
    name : registry id.
    modality : ``"tabular"``, ``"image"`` or ``"series"``.
    load : callable ``load(**params)`` returning a :class:`Data` (or a tuple ``(X, y)``).
        Must be deterministic.
    description, licence, citation : provenance shown by ``anobench data list / info``.
    files : the public files the loader reads (URL + checksum); empty for embedded data.
    params : the loader's parameters and their defaults; a suite may override them.
    transform : builds a fresh scikit-learn transformer that is fitted on the training
        part of each split only and applied to both parts (e.g. one-hot encoding).
    version : bump when the generator or preprocessing changes (enters the fingerprint).
    """

    name: str
    modality: str
    load: Loader
    description: str = ""
    licence: str = ""
    citation: str = ""
    files: tuple[RemoteFile, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    transform: Callable[[], Any] | None = None
    version: str = "1"

    def param_names(self) -> list[str]:
        """Names of the loader parameters a suite may set."""
        return sorted(self.params)

    def resolve_params(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Defaults updated with ``params``; :class:`ValueError` for an unknown name."""
        params = dict(params or {})
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            accepted = ", ".join(self.param_names()) or "none"
            raise ValueError(
                f"data set {self.name!r} has no parameter {unknown[0]!r} (parameters: {accepted})"
            )
        return {**self.params, **params}

    def fingerprint(self, params: Mapping[str, Any] | None = None) -> str:
        """Identity of the data for cell ids: name, version, file checksums, parameters.

        Cheap: never reads the data.
        """
        hashes = [f.known_hash or f"{f.relpath}:unpinned" for f in self.files]
        text = "|".join([self.name, self.version, *hashes, canonical_json(params or {})])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def missing_files(self) -> list[RemoteFile]:
        """The files with no local copy (mirror or cache). Never downloads."""
        return [f for f in self.files if find_local(f) is None]

    def fetch(self, *, download: bool = True) -> dict[str, str]:
        """Make every file available and verified; returns ``{relpath: sha256}``.

        Raises :class:`~anobench.datasets.files.DataFileError` (or its subclass
        ``DataMissingError``) naming the file and what to do.
        """
        return {f.relpath: file_hash(locate(f, download=download)) for f in self.files}

    def load_data(self, params: Mapping[str, Any] | None = None) -> Data:
        """Load with the given parameters, as a :class:`Data`."""
        out = self.load(**self.resolve_params(params))
        return out if isinstance(out, Data) else Data(*out)

    def split(
        self,
        protocol: Protocol | str,
        seed: int,
        *,
        params: Mapping[str, Any] | None = None,
        test_size: float = 0.4,
        max_train: int | None = None,
        max_test: int | None = None,
    ) -> Split:
        """Load the data and return a checked split (see :func:`make_split`).

        The split's metadata records the sha256 of every file read.
        """
        files = self.fetch()
        data = self.load_data(params)
        split = make_split(
            data.X,
            data.y,
            protocol,
            seed,
            name=self.name,
            groups=data.groups,
            train_mask=data.train_mask,
            transform=self.transform,
            test_size=test_size,
            max_train=max_train,
            max_test=max_test,
        )
        split.metadata["files"] = files
        return split


def _row_keys(X: np.ndarray) -> np.ndarray:
    """One hashable key per row (bytes of the contiguous row)."""
    flat = np.ascontiguousarray(X.reshape(len(X), -1))
    return flat.view(np.dtype((np.void, flat.dtype.itemsize * flat.shape[1]))).ravel()


def _unique_rows(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the first occurrence of each distinct row (in first-seen order) and
    their labels (a row that appears with both labels is labelled anomalous)."""
    _, first, inverse = np.unique(_row_keys(X), return_index=True, return_inverse=True)
    label = np.zeros(len(first), dtype=y.dtype)
    np.maximum.at(label, inverse.ravel(), y)
    order = np.argsort(first)  # unique rows back in first-seen order
    return first[order], label[order]


def deduplicate(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Drop repeated rows (keeping the first), so no row can land in train and test.

    A row that appears with both labels is kept as an anomaly.

    Returns
    -------
    X, y : the unique rows in first-seen order; n_removed : how many rows were dropped.
    """
    keep, label = _unique_rows(X, y)
    return X[keep], label, len(X) - len(keep)


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
    shared = np.intersect1d(_row_keys(split.X_train), _row_keys(split.X_test))
    if len(shared):
        raise SplitError(f"{name}: {len(shared)} row(s) appear in both train and test")


def _check_inputs(X: np.ndarray, y: np.ndarray, name: str) -> None:
    if X.ndim < 2 or len(X) != len(y):
        raise SplitError(f"{name}: X must be (n, ...) with n = len(y); got {X.shape} and {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise SplitError(f"{name}: labels must be 0 (normal) or 1 (anomaly)")
    if X.dtype.kind not in "fiub":
        raise SplitError(f"{name}: X must be numeric, got dtype {X.dtype}")
    if not np.all(np.isfinite(X)):
        raise SplitError(f"{name}: data hold {int(np.sum(~np.isfinite(X)))} non-finite values")


def _partition(
    X: np.ndarray,
    y: np.ndarray,
    train_mask: np.ndarray | None,
    seed: int,
    test_size: float,
    name: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Train and test row indices (sorted) after removing duplicate rows, with the
    de-duplicated labels and the number of rows removed."""
    if train_mask is None:
        keep, label = _unique_rows(X, y)
        y_u = np.zeros(len(y), dtype=np.int64)
        y_u[keep] = label
        counts = np.bincount(label, minlength=2)
        if counts.min() < 2:
            raise SplitError(
                f"{name}: need at least 2 normal and 2 anomalous rows, got {counts.tolist()}"
            )
        idx_train, idx_test = train_test_split(
            keep, test_size=test_size, stratify=label, random_state=seed % (2**32)
        )
        return np.sort(idx_train), np.sort(idx_test), y_u, len(y) - len(keep)
    train_mask = np.asarray(train_mask, dtype=bool)
    if train_mask.shape != y.shape:
        raise SplitError(f"{name}: train_mask must have shape {y.shape}, got {train_mask.shape}")
    # Fixed split: de-duplicate each part, then drop from train any row also in test,
    # so the test part (the evaluation) stays as published.
    parts = []
    y_u = y.copy()
    for mask in (train_mask, ~train_mask):
        idx = np.flatnonzero(mask)
        keep, label = _unique_rows(X[idx], y[idx])
        y_u[idx[keep]] = label
        parts.append(idx[keep])
    idx_train, idx_test = parts
    in_test = np.isin(_row_keys(X[idx_train]), _row_keys(X[idx_test]))
    idx_train = idx_train[~in_test]
    return idx_train, idx_test, y_u, len(y) - len(idx_train) - len(idx_test)


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

    Duplicate rows are removed first. Without ``train_mask`` the data are split once,
    stratified by label, into train and test (``test_size``); with it, the marked rows
    are the training part for every seed (rows repeated in test are dropped from train).
    The test set is therefore the same for every protocol under one seed. ``novelty``
    then drops the anomalies from train; ``unsupervised`` keeps them. ``max_train`` /
    ``max_test`` subsample each part, stratified and seeded, and are recorded in the
    metadata. ``transform()`` builds a transformer fitted on the training part only.
    ``groups`` (what each row is) yields per-group test counts in the metadata.

    Raises
    ------
    SplitError
        Bad shapes or labels, or a check in :func:`check_split` failed.
    """
    protocol = Protocol(protocol)
    X = np.asarray(X)
    y = np.asarray(y).astype(np.int64).ravel()
    _check_inputs(X, y, name)
    idx_train, idx_test, y_u, n_dup = _partition(X, y, train_mask, seed, test_size, name)
    if n_dup:
        logger.info("%s: removed %d duplicate rows before splitting", name, n_dup)
    if protocol is Protocol.NOVELTY:
        idx_train = idx_train[y_u[idx_train] == 0]
    rng = np.random.default_rng(seed)
    n_train_full, n_test_full = len(idx_train), len(idx_test)
    idx_train = idx_train[_subsample(y_u[idx_train], max_train, rng)]
    idx_test = idx_test[_subsample(y_u[idx_test], max_test, rng)]
    X_train, X_test = X[idx_train], X[idx_test]
    if transform is not None and len(idx_train):
        encoder = transform()
        X_train = encoder.fit_transform(X_train)
        X_test = encoder.transform(X_test)
    y_test = y_u[idx_test]
    metadata: dict[str, Any] = {
        "n_train": len(idx_train),
        "n_test": len(idx_test),
        "n_train_anomalies": int(y_u[idx_train].sum()),
        "n_test_anomalies": int(y_test.sum()),
        "n_features": int(np.prod(X_train.shape[1:])),
        "duplicates_removed": n_dup,
        "fixed_split": train_mask is not None,
        "subsampled_train": len(idx_train) < n_train_full,
        "subsampled_test": len(idx_test) < n_test_full,
    }
    groups_test = None
    if groups is not None:
        groups_test = np.asarray(groups).astype(str)[idx_test]
        names, counts = np.unique(groups_test, return_counts=True)
        metadata["test_groups"] = dict(zip(names.tolist(), counts.tolist(), strict=True))
    split = Split(
        np.asarray(X_train, dtype=np.float64),
        y_u[idx_train],
        np.asarray(X_test, dtype=np.float64),
        y_test,
        metadata=metadata,
        groups_test=groups_test,
    )
    check_split(split, name)
    return split
