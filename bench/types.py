"""Plain data types shared by the core: protocols, modalities, statuses, the detector and
data-source contracts, loaded data, splits and cells (a cell's record is
:mod:`anobench.record`)."""

from __future__ import annotations

import enum
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "DETECTOR_METHODS",
    "Budget",
    "Cell",
    "Data",
    "DataSource",
    "Detector",
    "Modality",
    "Protocol",
    "SeriesPoints",
    "Split",
    "Status",
    "check_modality",
    "labelled",
    "parse_protocol",
    "short_value",
]


class Protocol(enum.StrEnum):
    """How training data relates to the test data.

    ``novelty``: train on normal points only. ``unsupervised``: the training set is
    contaminated at the data set's anomaly ratio. The test set is the same for both
    protocols under one seed, so the two are directly comparable. These are the clean
    protocols; published ones (``pyod-benchmark``, ``adbench-2022``) are
    :mod:`anobench.plan.presets`.
    """

    NOVELTY = "novelty"
    UNSUPERVISED = "unsupervised"
    #: ``semi-supervised@<budget>``: the unsupervised training part, of whose anomalies a
    #: budget is labelled (:func:`parse_protocol`)
    SEMI_SUPERVISED = "semi-supervised"


#: a label budget: a fraction (0, 1] of the training anomalies, or a count >= 1
Budget = float | int


def parse_protocol(name: str) -> tuple[Protocol, Budget | None]:
    """A clean protocol's name and its label budget.

    ``semi-supervised@0.05`` labels 5% of the training anomalies (at least one),
    ``semi-supervised@10`` labels 10 of them; the other clean protocols take no budget.

    Raises
    ------
    ValueError
        Unknown protocol, a budget on a protocol without labels, or a bad budget.
    """
    base, at, budget = str(name).partition("@")
    protocol = Protocol(base)
    if protocol is not Protocol.SEMI_SUPERVISED:
        if at:
            raise ValueError(f"protocol {base!r} takes no label budget ({name!r})")
        return protocol, None
    if not at:
        raise ValueError(
            "the semi-supervised protocol needs a label budget: 'semi-supervised@0.1' (10% of "
            "the training anomalies labelled) or 'semi-supervised@5' (5 of them)"
        )
    try:
        value: Budget = int(budget) if budget.isdigit() else float(budget)
    except ValueError:
        raise ValueError(f"label budget {budget!r} is not a number ({name!r})") from None
    if (isinstance(value, int) and value < 1) or (isinstance(value, float) and not 0 < value <= 1):
        raise ValueError(
            f"label budget {budget!r} must be a fraction in (0, 1] or a count >= 1 ({name!r})"
        )
    canonical = f"{protocol}@{value}"
    if name != canonical:  # one budget, one name: '@0.10' or '@05' would be other cells
        raise ValueError(f"write the protocol {name!r} as {canonical!r}")
    return protocol, value


class Modality(enum.StrEnum):
    """The kind of input a data set holds and a detector accepts."""

    TABULAR = "tabular"
    IMAGE = "image"
    SERIES = "series"


def check_modality(value: object, where: str) -> Modality:
    """``value`` as a :class:`Modality`; :class:`ValueError` naming ``where`` otherwise."""
    import difflib

    known = [str(m) for m in Modality]
    if isinstance(value, str) and value in known:
        return Modality(value)
    close = difflib.get_close_matches(str(value), known, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"{where}: modality {value!r} is not one of {', '.join(known)}.{hint}")


class Status(enum.StrEnum):
    """Outcome of one cell."""

    OK = "ok"
    ERROR = "error"
    TIMEOUT = "timeout"
    OOM = "oom"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class SeriesPoints:
    """Where windows lie in their series.

    Attributes
    ----------
    starts : ndarray of int, shape (n_windows,)
        Index of each window's first point in the series.
    window : int
        Window length in points.
    labels : ndarray of int, shape (n_points,)
        0/1 label of every point of the series (of the series the test windows come from
        when training and test are separate files).
    """

    starts: np.ndarray
    window: int
    labels: np.ndarray

    def take(self, rows: np.ndarray) -> SeriesPoints:
        """The layout of the windows ``rows`` (indices or a boolean mask), same series."""
        return SeriesPoints(np.asarray(self.starts)[rows], self.window, self.labels)

    def __len__(self) -> int:
        return len(self.starts)


#: what the harness calls on a detector class and its instances (the registry checks them)
DETECTOR_METHODS = ("fit", "anomaly_score", "param_names", "test_params", "warm_up")


@typing.runtime_checkable
class Detector(typing.Protocol):
    """What the harness asks of a detector (:class:`anobench.contract.BaseDetector`
    implements it; PyOD and scikit-learn classes are adapted to it,
    :mod:`anobench.plan.adapters`).

    ``fit(X[, y])`` learns from the training rows (``y``: the labels a budget grants, for
    a detector with ``uses_labels``; never the test labels) and returns the detector;
    ``anomaly_score(X)`` gives one finite score per row, shape (n,), higher = more
    anomalous. It must not modify ``X``. The class methods say how to build and warm it.
    """

    def fit(self, X: np.ndarray, y: np.ndarray | None = None) -> Any: ...

    def anomaly_score(self, X: np.ndarray) -> np.ndarray: ...

    @classmethod
    def param_names(cls) -> list[str]: ...

    @classmethod
    def test_params(cls) -> dict[str, Any]: ...

    @classmethod
    def warm_up(cls) -> None: ...


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
    series : SeriesPoints, optional
        Windows of a series with a fixed split (``train_mask``): each row's first point,
        the window length and the point labels of the series the test rows come from,
        so test scores can be mapped to points (:mod:`anobench.metrics.points`).
    """

    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray | None = None
    train_mask: np.ndarray | None = None
    series: SeriesPoints | None = None

class DataSource(typing.Protocol):
    """What a data set is to the core: a name, a modality and a loader of :class:`Data`
    (:class:`anobench.data.spec.DatasetSpec` implements it). Plugins only load; the
    core makes every split from the loaded data (:mod:`anobench.data.splits`)."""

    name: str
    modality: str
    load: Callable[..., Data]


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
    y_train_observed : ndarray of int, shape (n_train,), optional
        The labels a label-using detector receives (semi-supervised only).
    series : SeriesPoints, optional
        Windows of a series: where each test window lies in its series and the point
        labels, for point-level metrics (:mod:`anobench.metrics.series`).
    test_rows : ndarray of int, shape (n_test,), optional
        The loaded data's row of each test row (the parts are shuffled: row order must
        not carry a label), for layouts kept per row such as ``series``.
    train_rows : ndarray of int, shape (n_train,), optional
        The loaded data's row of each training row.
    train_series : SeriesPoints, optional
        Where each training window lies in its series, so calibration folds them in time
        (:func:`anobench.metrics.calibration.calibration_folds`).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    groups_test: np.ndarray | None = None
    #: (n_train,) what a label-using detector sees under ``semi-supervised``: 1 for the
    #: labelled anomalies, -1 for unlabelled rows; None under the other protocols
    y_train_observed: np.ndarray | None = None
    series: SeriesPoints | None = None
    test_rows: np.ndarray | None = None
    train_rows: np.ndarray | None = None
    train_series: SeriesPoints | None = None


#: the longest a parameter's value is written in a label; longer ones are abbreviated
LABEL_VALUE_CHARS = 60


def short_value(value: Any, limit: int = LABEL_VALUE_CHARS) -> str:
    """``repr(value)``, or when longer than ``limit`` its type, size and a hash of its ``repr``
    (e.g. ``<list of 200000 items #3f2a9c1d>``): a label stays a line, two different
    long values stay two labels."""
    text = repr(value)
    if len(text) <= limit:
        return text
    import hashlib

    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    size = f" of {len(value)} items" if hasattr(value, "__len__") else ""
    return f"<{type(value).__name__}{size} #{digest}>"


def labelled(name: str, params: dict[str, Any]) -> str:
    """``name`` with its parameters, e.g. ``pyod-knn(n_neighbors=5)``; bare without.
    A value longer than :data:`LABEL_VALUE_CHARS` is abbreviated with a hash."""
    if not params:
        return name
    return f"{name}({', '.join(f'{k}={short_value(v)}' for k, v in sorted(params.items()))})"


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
    #: how label-free thresholds are calibrated (:class:`anobench.metrics.calibration.Calibration`)
    calibration: dict[str, Any] = field(default_factory=dict)
    #: the code behind the result: ``detector`` (distribution, version, source hash) and
    #: ``harness`` (anobench version, source hash of its result-affecting modules)
    provenance: dict[str, Any] = field(default_factory=dict)
    #: capability flags of the detector class, e.g. ``{"transductive": True}``
    detector_flags: dict[str, Any] = field(default_factory=dict)
    #: under a published protocol (:mod:`anobench.plan.presets`): ``name``, ``column`` (the
    #: published column this detector reproduces) and ``replay``: ``[column, detector
    #: ref, params]`` of the fits the paper's script made before it on a shared RNG
    preset: dict[str, Any] | None = None
    #: uniform probe points each calibration model also scores, for the volume-based
    #: selection criteria (:mod:`anobench.selection.criteria`); 0: none
    probes: int = 0
    #: in a grid under selection: ``"candidate"`` (a grid configuration) or ``"default"``
    #: (the detector's defaults, run for the ``default`` rule); None: no grid. Not part of
    #: the cell id (it does not change the result)
    selection_role: str | None = None

    @property
    def label(self) -> str:
        """Detector name with its parameters, e.g. ``pyod-knn(n_neighbors=5)``."""
        return labelled(self.detector, self.params)

    @property
    def dataset_label(self) -> str:
        """Data set name with its parameters, e.g. ``mnist-test-pair(pair=[7, 5])``."""
        return labelled(self.dataset, self.dataset_params)

    def id_payload(self) -> dict[str, Any]:
        """What the cell id is the hash of: everything that can change the cell's result
        (the configuration, the data's fingerprint, protocol, seed, the split's caps,
        calibration, the code behind it, a preset's plan, probes), nothing that cannot
        (the suite's name, the time budget, the selection role)."""
        payload: dict[str, Any] = {
            "detector": self.detector,
            "params": self.params,
            "dataset": self.dataset,
            "dataset_params": self.dataset_params,
            "data": self.data_fingerprint,
            "protocol": self.protocol,
            "seed": self.seed,
            "max_train": self.max_train,
            "max_test": self.max_test,
            "test_size": self.test_size,
            "expected_contamination": self.expected_contamination,
            # label-free thresholds are not computed under a published protocol
            "calibration": None if self.preset else self.calibration,
            "code": self.provenance.get("detector"),
            "harness": self.provenance.get("harness"),
        }
        if self.preset:
            payload["preset"] = self.preset
        if self.probes and not self.preset:
            payload["probes"] = self.probes
        return payload

    def summary(self) -> dict[str, Any]:
        """The few fields a run directory keeps per cell of its expansion (``run.json``)."""
        return {
            "cell_id": self.cell_id,
            "detector": self.detector,
            "label": self.label,
            "dataset": self.dataset_label,
            "dataset_name": self.dataset,
            "protocol": self.protocol,
            "seed": self.seed,
            "selection_role": self.selection_role,
        }
