"""Plain data types shared by the core: protocols, splits, cells and results."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class Protocol(enum.StrEnum):
    """How training data relates to the test data.

    ``novelty``: train on normal points only. ``unsupervised``: the training set is
    contaminated at the data set's anomaly ratio. The test set is the same for both
    protocols under one seed, so the two are directly comparable.
    """

    NOVELTY = "novelty"
    UNSUPERVISED = "unsupervised"


class Status(enum.StrEnum):
    """Outcome of one cell."""

    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Split:
    """A train/test split of one data set under one protocol and seed.

    Attributes
    ----------
    X_train : ndarray, shape (n_train, ...)
        Training inputs (2-D for tabular data, (n, h, w, c) for images).
    y_train : ndarray of int, shape (n_train,)
        0 = normal, 1 = anomaly. Never shown to detectors; kept for bookkeeping.
    X_test, y_test : ndarrays, shapes (n_test, ...) and (n_test,)
        Test inputs and labels (1 = anomaly).
    metadata : dict
        Sizes, anomaly counts, subsampling and de-duplication applied, file checksums.
    groups_test : ndarray of str, shape (n_test,), optional
        What each test row is (e.g. ``"normal"``, ``"rotate"``, ``"fashion"``), for
        per-group metrics.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    groups_test: np.ndarray | None = None


def labelled(name: str, params: dict[str, Any]) -> str:
    """``name`` with its parameters, e.g. ``pyod-knn(n_neighbors=5)``; bare without."""
    if not params:
        return name
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in sorted(params.items()))})"


@dataclass(frozen=True)
class Cell:
    """One unit of work: a detector configuration on one data set, protocol and seed.

    ``detector_ref`` and ``dataset_ref`` are entry-point object references
    (``module:attr``) so a worker process can import them without a registry.
    """

    cell_id: str
    suite: str
    detector: str
    detector_ref: str
    params: dict[str, Any]
    dataset: str
    dataset_ref: str
    data_fingerprint: str
    protocol: str
    seed: int
    split_seed: int
    model_seed: int
    time_budget: float
    max_train: int | None = None
    max_test: int | None = None
    test_size: float = 0.4
    expected_contamination: float | str = 0.1
    skip_reason: str | None = None
    dataset_params: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """Detector name with its parameters, e.g. ``pyod-knn(n_neighbors=5)``."""
        return labelled(self.detector, self.params)

    @property
    def dataset_label(self) -> str:
        """Data set name with its parameters, e.g. ``mnist-test-pair(pair=[7, 5])``."""
        return labelled(self.dataset, self.dataset_params)
