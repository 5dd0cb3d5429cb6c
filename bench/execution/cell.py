"""Running one cell.

:func:`run_cell` is pure and catches everything: it loads the split, fits, scores and
computes metrics, and always returns a record. Driving a whole suite through an executor
into a run directory is :mod:`anobench.execution.driver`.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
from pydantic import ValidationError

from anobench.execution import compile_clock
from anobench.execution.artifacts import cell_arrays
from anobench.execution.environment import environment
from anobench.execution.fitting import make_detector, prepare, warm_up
from anobench.execution.resources import PeakMemory
from anobench.metrics.calibration import (
    Calibration,
    CalibrationError,
    OutOfSample,
    out_of_sample,
    uniform_probes,
)
from anobench.metrics.cell import evaluate, roc_auc_by_group, score_sanity
from anobench.metrics.points import anchor_offset
from anobench.metrics.series import series_evaluation
from anobench.plan import presets
from anobench.plan.imports import dataset_spec
from anobench.plan.orientation import check_orientation
from anobench.provenance import VERSION
from anobench.record import CellResult
from anobench.types import Cell, Detector, Split, Status

__all__ = [
    "MAX_WARNINGS",
    "DataChangedError",
    "DetectorOutputError",
    "Record",
    "failure_record",
    "run_cell",
]

logger = logging.getLogger(__name__)

#: the parts of a record a running cell has measured so far
Record = dict[str, Any]

#: distinct warning messages kept per record
MAX_WARNINGS = 10


class DetectorOutputError(RuntimeError):
    """A detector returned unusable scores (non-finite or all equal)."""


class DataChangedError(RuntimeError):
    """The data a worker loaded is not the data the cell id was computed from."""


def _stamp() -> dict[str, Any]:
    """What every record notes besides its cell: the code version, the environment, when."""
    return {
        "anobench_version": VERSION,
        "environment": environment(),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def failure_record(cell: Cell, status: Status, message: str) -> CellResult:
    """Record of a cell that produced no result (error, timeout or skipped)."""
    return CellResult.for_cell(cell, status=status, error=message, **_stamp())


def run_cell(cell: Cell) -> CellResult:
    """Run one cell; never raises for the cell's own failures: any ``Exception`` or
    ``SystemExit`` becomes a record with status ``error`` (a ``KeyboardInterrupt`` is let
    through here, so Ctrl-C stops an in-process call; in a worker process, where the
    user's Ctrl-C never arrives, :mod:`anobench.execution.isolation` records it as the cell's
    error).

    Records fit / score / total seconds (score time is for the test set; the extra fits
    of out-of-sample calibration are timed apart in ``calibration``;
    ``compile_seconds`` is all the JAX tracing and compilation of the cell, fit, scoring
    and calibration, measured by :mod:`anobench.execution.compile_clock` (``compiles``
    counts its XLA compilations, persistent-cache hits included), and
    ``fit_compile_seconds`` the part a detector exposing ``compile_seconds_`` reports for
    its fit), peak memory, score sanity, split facts, all metrics and the distinct
    warnings raised on the way.
    """
    if cell.skip_reason:
        return failure_record(cell, Status.SKIPPED, cell.skip_reason)
    start = time.perf_counter()
    # what the cell measures, made into its CellResult at the end
    record: Record = {"detector_flags": cell.detector_flags}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            _fit_and_evaluate(cell, record)
            record["status"] = Status.OK
            record["error"] = None
        except (Exception, SystemExit) as exc:  # a detector's sys.exit() ends only its cell
            record["status"] = Status.ERROR
            record["error"] = f"{type(exc).__name__}: {exc}"
            record["traceback"] = traceback.format_exc(limit=-8)
    if caught:
        messages = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
        record["warnings"] = messages[:MAX_WARNINGS]
    record["total_seconds"] = time.perf_counter() - start
    try:
        return CellResult.for_cell(cell, **record, **_stamp())
    except ValidationError as exc:  # a part of the wrong type: the cell's result is unusable
        return failure_record(cell, Status.ERROR, f"the cell's record is not valid: {exc}")


def _fit_and_evaluate(cell: Cell, record: Record) -> None:
    """The body of :func:`run_cell`; fills ``record`` and raises on any failure."""
    deadline = time.perf_counter() + cell.time_budget
    spec = dataset_spec(cell.dataset_ref)
    with presets.isolated_global_rng() if cell.preset else contextlib.nullcontext():
        prepared = prepare(cell, spec)
        split, detector = prepared.split, prepared.detector
        # a detector must not change the harness's data: the training rows are read
        # again for calibration, the test rows for the stored arrays
        for array in (split.X_train, split.X_test):
            array.setflags(write=False)
        record["split"] = split.metadata
        if prepared.published is not None:
            record["preset"] = prepared.published
        loaded = split.metadata.get("data_fingerprint")
        if loaded is not None and loaded != cell.data_fingerprint:
            raise DataChangedError(
                f"the data of {cell.dataset_label} changed since the suite was expanded "
                f"(fingerprint {loaded}, expected {cell.data_fingerprint}): run the suite again"
            )
        record["warmup_seconds"] = warm_up(cell)
        if cell.detector_flags.get("reference"):
            _probe_reference(cell, record)
        prepared.before_fit()
        if "jax" in sys.modules:  # JAX detectors, built-in or plugged in
            compile_clock.install()
        compiled_before = compile_clock.seconds()
        compiles_before = compile_clock.compiles()
        try:
            _fit_and_score(cell, record, split, detector, deadline, prepared.after_fit)
        finally:
            # all of the cell's JAX compilation after its warm-up (fit, scoring and
            # calibration), or the fit's own figure of a detector compiling otherwise
            own = record.get("fit_compile_seconds")
            compiled = compile_clock.seconds() - compiled_before
            if compiled > 0 or own is not None:
                record["compile_seconds"] = max(compiled, own or 0.0)
            if compile_clock.installed():
                record["compiles"] = compile_clock.compiles() - compiles_before


def _probe_reference(cell: Cell, record: Record) -> None:
    """A detector named by reference: refuse scores oriented the wrong way, and mark it
    batch-dependent when scoring rows alone changes their scores (measured on the toy
    task once per process, :func:`anobench.plan.orientation.check_orientation`)."""
    probe = check_orientation(cell.detector, cell.detector_ref, cell.params)
    record["detector_flags"] = {
        **cell.detector_flags,
        "transductive": bool(cell.detector_flags.get("transductive")) or probe.batch_dependent,
        "toy_roc_auc": probe.auc,
    }


def _fit_and_score(
    cell: Cell,
    record: Record,
    split: Split,
    detector: Detector,
    deadline: float,
    after_fit: Callable[[], None] = lambda: None,
) -> None:
    """Fit, score, check the scores, calibrate thresholds and compute the metrics
    (``after_fit`` runs between the fit and the scoring)."""
    labels = _fit_labels(cell, split)
    with PeakMemory() as memory:
        t0 = time.perf_counter()
        if labels is None:
            detector.fit(split.X_train)
        else:
            detector.fit(split.X_train, labels)
        t1 = time.perf_counter()
        after_fit()
        test_scores = np.asarray(detector.anomaly_score(split.X_test), dtype=np.float64)
        t2 = time.perf_counter()
    # deep detectors report their fit's compilation (inside fit_seconds); the cell's
    # compile_seconds is set around this function
    compile_seconds = getattr(detector, "compile_seconds_", None)
    if compile_seconds is not None:
        record["fit_compile_seconds"] = float(compile_seconds)
    losses = getattr(detector, "loss_history_", None)
    if losses is not None:  # deep detectors: mean training loss per epoch, over the models
        history = np.asarray(losses, dtype=np.float64).reshape(-1, np.shape(losses)[-1])
        record["loss_history"] = [float(v) for v in history.mean(axis=0)]
    record.update(
        fit_seconds=t1 - t0,
        score_seconds=t2 - t1,
        peak_rss_mb=memory.peak_mb,
        peak_rss_delta_mb=memory.peak_mb - memory.start_mb,
        memory_method=memory.method,
    )
    if test_scores.shape != (len(split.X_test),):
        raise DetectorOutputError(
            f"expected {len(split.X_test)} test scores, got shape {test_scores.shape}"
        )
    sanity = score_sanity(test_scores)
    record["sanity"] = sanity
    if sanity["n_nonfinite"]:
        raise DetectorOutputError(
            f"non-finite scores: {sanity['n_nonfinite']} of {len(test_scores)} test"
        )
    if sanity["constant"]:
        raise DetectorOutputError("all test scores are equal: the detector ranks nothing")
    calibration = Calibration.model_validate(cell.calibration)
    held: OutOfSample | None = None
    if cell.preset is not None:
        record["calibration"] = {
            "method": calibration.method,
            "error": f"published protocol {cell.protocol}: label-free thresholds are not part "
            "of the paper's procedure",
            "retry": False,
        }
    elif record["detector_flags"].get("transductive"):
        record["calibration"] = {
            "method": calibration.method,
            "error": "batch-dependent (transductive) scores have no fixed scale: a threshold "
            "taken from one batch does not carry over to the test batch",
            "retry": False,
        }
    else:
        held = _calibrate(cell, record, split, calibration, deadline, t1 - t0, labels)
    cal_scores = held.scores if held is not None else None
    study = presets.get(cell.protocol) if cell.preset is not None else None
    if study is not None and study.threshold:
        _study_decisions(study.threshold, detector, split, test_scores, record)
    validation = _validation(cell, split, cal_scores, record)
    record.update(
        evaluate(split.y_test, test_scores, cal_scores, cell.expected_contamination, validation)
    )
    if split.series is not None:
        try:
            offset = anchor_offset(detector, split.series.window)
        except ValueError as exc:
            raise DetectorOutputError(str(exc)) from exc
        record.update(
            series_evaluation(
                split.series, test_scores, cal_scores, cell.expected_contamination, offset=offset
            )
        )
    if split.groups_test is not None:
        record["roc_auc_by_group"] = roc_auc_by_group(split.y_test, test_scores, split.groups_test)
    record["arrays"] = cell_arrays(detector, split, test_scores, held)


def _study_decisions(
    rule: str, detector: Detector, split: Split, test_scores: np.ndarray, record: Record
) -> None:
    """A source study's own decision step: its threshold ``rule`` on the model's scores of
    its own training rows (in-sample, as the study did), then accuracy and the
    classification report on the test part (``accuracy``, ``study``)."""
    from anobench.metrics.classification import (
        STUDY_RULES,
        classification_report,
        flagged_by_group,
        study_threshold,
    )

    if len(np.unique(split.y_test)) < 2:
        raise ValueError(f"{rule}: the test part holds one class; its accuracy would mean nothing")
    fixed = rule.startswith("fixed:")
    train_scores = (
        np.zeros(0) if fixed else np.asarray(detector.anomaly_score(split.X_train), np.float64)
    )
    thr = study_threshold(rule, train_scores)
    report = classification_report(split.y_test, test_scores, thr)
    text = "a fixed value in the score's units" if fixed else STUDY_RULES[rule][0]
    record["accuracy"] = report["accuracy"]
    record["study"] = {"rule": rule, "rule_text": text, **report}
    if split.groups_test is not None:  # detection rate per anomaly group, false alarms
        record["study"]["by_group"] = flagged_by_group(test_scores, thr, split.groups_test)


def _fit_labels(cell: Cell, split: Split) -> np.ndarray | None:
    """The labels a label-using detector is fitted with (semi-supervised: 1 for the
    labelled anomalies, -1 for the rest); None for a label-free detector, which never
    sees labels (under semi-supervised it trains on the same rows, unlabelled)."""
    if not cell.detector_flags.get("uses_labels"):
        return None
    if split.y_train_observed is None:
        why = split.metadata.get("labels_unavailable") or f"{cell.protocol} grants no labels"
        raise ValueError(f"{cell.detector} uses labels: {why}")
    labels = np.array(split.y_train_observed)  # read again by calibration and validation
    labels.setflags(write=False)
    return labels


def _validation(
    cell: Cell, split: Split, cal_scores: np.ndarray | None, record: Record
) -> tuple[np.ndarray, np.ndarray] | None:
    """(out-of-sample scores, labels) for ``val-best-f1``, from the labels the budget
    grants and nothing more: every training row's cross-fitted score, the labelled
    anomalies as positives and the unlabelled rows as negatives (some of them are
    anomalies: the threshold is chosen as a user holding only these labels would). Only
    under semi-supervised, and only when every training row has an out-of-sample score."""
    observed = split.y_train_observed
    if observed is None or cal_scores is None or len(cal_scores) != len(observed):
        return None
    labels = (np.asarray(observed) == 1).astype(np.int64)
    record["validation"] = {"n_rows": len(labels), "n_anomalies": int(labels.sum())}
    return cal_scores, labels


def _calibrate(
    cell: Cell,
    record: Record,
    split: Split,
    calibration: Calibration,
    deadline: float,
    fit_seconds: float,
    labels: np.ndarray | None = None,
) -> OutOfSample | None:
    """Out-of-sample calibration scores, or None with the reason in the record (such a
    cell is rerun by ``--retry-failed``). The folds follow the split seed, so every
    configuration of a grid is calibrated on the same rows (selection compares them
    there); under selection's volume criteria each fold's model also scores the
    ``cell.probes`` uniform probe points."""
    X_train = split.X_train
    probes = uniform_probes(X_train, cell.probes, cell.split_seed) if cell.probes else None
    try:
        held = out_of_sample(
            lambda: make_detector(cell),
            X_train,
            calibration,
            cell.split_seed,
            deadline=deadline,
            fit_seconds=fit_seconds,
            y_train=labels,
            probes=probes,
            series=split.train_series,
        )
    except CalibrationError as exc:
        logger.info("%s on %s: no label-free thresholds: %s", cell.label, cell.dataset, exc)
        record["calibration"] = {"method": calibration.method, "error": str(exc), "retry": True}
        return None
    record["calibration"] = held.info
    return held
