"""Running cells and suites.

:func:`run_cell` is pure and catches everything: it loads the split, fits, scores and
computes metrics, and always returns a record. :func:`run_suite` expands a suite, skips
cells already stored, hands the rest to an executor and stores each record as it
arrives.
"""

from __future__ import annotations

import contextlib
import logging
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from anobench import __version__, presets
from anobench.artifacts import cell_arrays
from anobench.calibration import Calibration, CalibrationError, calibration_scores
from anobench.environment import environment
from anobench.executors import Executor, ProcessExecutor
from anobench.fitting import make_detector, prepare, warm_up
from anobench.metrics import evaluate, roc_auc_by_group, score_sanity
from anobench.registry import Registry, import_ref
from anobench.resources import PeakMemory
from anobench.store import RunStore
from anobench.suite import MAX_CELLS, Suite, check_size, expand
from anobench.types import SCHEMA_VERSION, Cell, Status

logger = logging.getLogger(__name__)

Record = dict[str, Any]

#: distinct warning messages kept per record
MAX_WARNINGS = 10


class DetectorOutputError(RuntimeError):
    """A detector returned unusable scores (non-finite or all equal)."""


class DataChangedError(RuntimeError):
    """The data a worker loaded is not the data the cell id was computed from."""


def base_record(cell: Cell) -> Record:
    """The fields every record has, whatever its status."""
    return {
        "schema_version": SCHEMA_VERSION,
        "cell_id": cell.cell_id,
        "suite": cell.suite,
        "detector": cell.detector,
        "label": cell.label,
        "params": cell.params,
        "dataset": cell.dataset,
        "dataset_params": cell.dataset_params,
        "dataset_label": cell.dataset_label,
        "data_fingerprint": cell.data_fingerprint,
        "protocol": cell.protocol,
        "seed": cell.seed,
        "split_seed": cell.split_seed,
        "model_seed": cell.model_seed,
        "time_budget": cell.time_budget,
        "max_train": cell.max_train,
        "max_test": cell.max_test,
        "test_size": cell.test_size,
        "expected_contamination": cell.expected_contamination,
        "calibration_settings": cell.calibration,
        "provenance": cell.provenance,
        "detector_flags": cell.detector_flags,
        "anobench_version": __version__,
        "environment": environment(),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def failure_record(cell: Cell, status: Status, message: str) -> Record:
    """Record of a cell that produced no result (error, timeout or skipped)."""
    return {**base_record(cell), "status": str(status), "error": message}


def run_cell(cell: Cell) -> Record:
    """Run one cell; never raises for the cell's own failures: any ``Exception`` or
    ``SystemExit`` becomes a record with status ``error`` (a ``KeyboardInterrupt`` is let
    through here, so Ctrl-C stops an in-process call; in a worker process, where the
    user's Ctrl-C never arrives, :mod:`anobench.isolation` records it as the cell's error).

    Records fit / score / total seconds (score time is for the test set; the extra fits
    of out-of-sample calibration are timed apart in ``calibration``; a detector exposing
    ``compile_seconds_`` gets the compile part of its fit recorded as
    ``compile_seconds``), peak memory, score sanity, split facts, all metrics and the
    distinct warnings raised on the way.
    """
    if cell.skip_reason:
        return failure_record(cell, Status.SKIPPED, cell.skip_reason)
    start = time.perf_counter()
    record = base_record(cell)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            _fit_and_evaluate(cell, record)
            record["status"] = str(Status.OK)
            record["error"] = None
        except (Exception, SystemExit) as exc:  # a detector's sys.exit() ends only its cell
            record["status"] = str(Status.ERROR)
            record["error"] = f"{type(exc).__name__}: {exc}"
            record["traceback"] = traceback.format_exc(limit=-8)
    if caught:
        messages = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
        record["warnings"] = messages[:MAX_WARNINGS]
    record["total_seconds"] = time.perf_counter() - start
    return record


def _fit_and_evaluate(cell: Cell, record: Record) -> None:
    """The body of :func:`run_cell`; fills ``record`` and raises on any failure."""
    deadline = time.perf_counter() + cell.time_budget
    spec = import_ref(cell.dataset_ref)
    with presets.isolated_global_rng() if cell.preset else contextlib.nullcontext():
        prepared = prepare(cell, spec)
        split, detector = prepared.split, prepared.detector
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
        prepared.before_fit()
        _fit_and_score(cell, record, split, detector, deadline)


def _fit_and_score(cell: Cell, record: Record, split: Any, detector: Any, deadline: float) -> None:
    """Fit, score, check the scores, calibrate thresholds and compute the metrics."""
    with PeakMemory() as memory:
        t0 = time.perf_counter()
        detector.fit(split.X_train)
        t1 = time.perf_counter()
        test_scores = np.asarray(detector.anomaly_score(split.X_test), dtype=np.float64)
        t2 = time.perf_counter()
    # deep detectors report XLA compilation apart (it is inside fit_seconds)
    compile_seconds = getattr(detector, "compile_seconds_", None)
    if compile_seconds is not None:
        record["compile_seconds"] = float(compile_seconds)
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
    cal_scores: np.ndarray | None = None
    if cell.preset is not None:
        record["calibration"] = {
            "method": calibration.method,
            "error": f"published protocol {cell.protocol}: label-free thresholds are not part "
            "of the paper's procedure",
            "retry": False,
        }
    elif cell.detector_flags.get("transductive"):
        record["calibration"] = {
            "method": calibration.method,
            "error": "batch-dependent (transductive) scores have no fixed scale: a threshold "
            "taken from one batch does not carry over to the test batch",
            "retry": False,
        }
    else:
        cal_scores = _calibrate(cell, record, split.X_train, calibration, deadline, t1 - t0)
    record.update(evaluate(split.y_test, test_scores, cal_scores, cell.expected_contamination))
    if split.groups_test is not None:
        record["roc_auc_by_group"] = roc_auc_by_group(split.y_test, test_scores, split.groups_test)
    record["arrays"] = cell_arrays(detector, split, test_scores, cal_scores)


def _calibrate(
    cell: Cell,
    record: Record,
    X_train: np.ndarray,
    calibration: Calibration,
    deadline: float,
    fit_seconds: float,
) -> np.ndarray | None:
    """Out-of-sample calibration scores, or None with the reason in the record (such a
    cell is rerun by ``--retry-failed``)."""
    try:
        scores, record["calibration"] = calibration_scores(
            lambda: make_detector(cell),
            X_train,
            calibration,
            cell.model_seed,
            deadline=deadline,
            fit_seconds=fit_seconds,
        )
    except CalibrationError as exc:
        logger.info("%s on %s: no label-free thresholds: %s", cell.label, cell.dataset, exc)
        record["calibration"] = {"method": calibration.method, "error": str(exc), "retry": True}
        return None
    return scores


def _prepare_data(refs: set[str]) -> dict[str, tuple[Status, str]]:
    """Fetch and verify the files of the data sets ``refs`` once, before any cell runs.

    Returns ``{dataset_ref: (status, message)}`` for data sets that cannot be used:
    ``skipped`` when files are missing and cannot be downloaded, ``error`` when a file is
    corrupt. Their cells are recorded as such (and retried by the next run) while the
    rest of the suite runs.
    """
    from anobench.datasets.files import DataFileError, DataMissingError

    problems: dict[str, tuple[Status, str]] = {}
    for ref in sorted(refs):
        try:
            spec = import_ref(ref)
            fetch = getattr(spec, "fetch", None)
            if fetch is not None:
                fetch()
        except DataMissingError as exc:
            problems[ref] = (Status.SKIPPED, f"data not available: {exc}")
        except DataFileError as exc:
            problems[ref] = (Status.ERROR, f"bad data file: {exc}")
        except Exception as exc:
            problems[ref] = (Status.ERROR, f"data set failed to load: {type(exc).__name__}: {exc}")
        if ref in problems:
            logger.warning("%s: %s", ref, problems[ref][1])
    return problems


def _load_spec(datasets: Registry, name: str) -> Any:
    """The spec ``name``, or None when it is unavailable (its cells say why)."""
    try:
        return datasets.load(name)
    except Exception:
        return None


@dataclass
class RunSummary:
    """Counts of one invocation of :func:`run_suite`."""

    out_dir: Path
    total: int
    cached: int
    ran: int
    by_status: dict[str, int]
    seconds: float


def run_suite(
    suite: Suite,
    out_dir: Path | str,
    detectors: Registry,
    datasets: Registry,
    *,
    jobs: int = 1,
    executor: Executor | None = None,
    force: bool = False,
    retry_failed: bool = False,
    max_cells: int = MAX_CELLS,
    on_start: Callable[[int], None] | None = None,
    on_result: Callable[[Record], None] | None = None,
) -> RunSummary:
    """Run every cell of ``suite`` not already stored in ``out_dir``.

    The run directory's history gains this invocation, and this expansion becomes the
    set of cells its report covers; records of other expansions stay on disk as stale
    (listed by the report, removed by :meth:`anobench.store.RunStore.prune`).

    Parameters
    ----------
    jobs : worker processes of the default :class:`ProcessExecutor` (with the suite's
        ``memory_budget_mb`` per cell).
    executor : any other :class:`Executor`.
    max_cells : refuse (:class:`anobench.suite.SuiteError`) a suite that expands to more
        cells, counted before expanding.
    force : rerun every cell. retry_failed : rerun cells stored with a status other than
        ``ok`` (errors, timeouts, skips) and ok cells whose out-of-sample calibration was
        refused (time budget) or failed.
    on_start : called with the number of cells to run. on_result : called with each
        record after it is stored (progress reporting).
    """
    started = time.perf_counter()
    check_size(suite, max_cells)
    store = RunStore(out_dir)
    with store.lock():
        return _run_locked(
            suite, store, detectors, datasets, started, jobs=jobs, executor=executor,
            force=force, retry_failed=retry_failed, on_start=on_start, on_result=on_result,
        )  # fmt: skip


def _run_locked(
    suite: Suite,
    store: RunStore,
    detectors: Registry,
    datasets: Registry,
    started: float,
    *,
    jobs: int,
    executor: Executor | None,
    force: bool,
    retry_failed: bool,
    on_start: Callable[[int], None] | None,
    on_result: Callable[[Record], None] | None,
) -> RunSummary:
    """:func:`run_suite` once the run directory's lock is held."""
    # Download what is missing before the cells are expanded, so each data fingerprint
    # (part of the cell id) names the files the workers will read.
    absent = set()
    for name in suite.datasets:
        spec = _load_spec(datasets, name)
        if spec is not None and hasattr(spec, "missing_files") and spec.missing_files():
            absent.add(datasets.entry(name).ref)
    problems = _prepare_data(absent)
    cells = expand(suite, detectors, datasets)
    store.begin(
        {
            "suite": suite.model_dump(mode="json"),
            "anobench_version": __version__,
            "environment": environment(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "n_cells": len(cells),
            "force": force,
            "retry_failed": retry_failed,
        },
        [
            {
                "cell_id": c.cell_id,
                "detector": c.detector,
                "label": c.label,
                "dataset": c.dataset_label,
                "dataset_name": c.dataset,
                "protocol": c.protocol,
                "seed": c.seed,
            }
            for c in cells
        ],
    )
    todo: list[Cell] = []
    for cell in cells:
        old = None if force else store.get(cell.cell_id)
        if (
            old is None
            or (old.get("scores_file") and not store.scores_readable(cell.cell_id))
            or old.get("transient")  # e.g. its data were missing: try again
            or (retry_failed and old.get("status") != Status.OK)
            # e.g. calibration refused for lack of time: a larger budget may allow it
            or (retry_failed and (old.get("calibration") or {}).get("retry"))
        ):
            todo.append(cell)
    by_status: dict[str, int] = {}
    if on_start:
        on_start(len(todo))

    def keep(record: Record) -> None:
        store.put(record)
        by_status[record["status"]] = by_status.get(record["status"], 0) + 1
        if on_result:
            on_result(record)

    problems |= _prepare_data({c.dataset_ref for c in todo if not c.skip_reason} - set(problems))
    runnable = []
    for cell in todo:
        if cell.skip_reason:
            keep(run_cell(cell))
        elif cell.dataset_ref in problems:
            status, message = problems[cell.dataset_ref]
            keep({**failure_record(cell, status, message), "transient": True})
        else:
            runnable.append(cell)
    if runnable:
        executor = executor or ProcessExecutor(jobs=jobs, memory_budget_mb=suite.memory_budget_mb)
        for _cell, record in executor.run(runnable, run_cell, failure_record):
            keep(record)
    return RunSummary(
        out_dir=store.root,
        total=len(cells),
        cached=len(cells) - len(todo),
        ran=len(todo),
        by_status=by_status,
        seconds=time.perf_counter() - started,
    )
