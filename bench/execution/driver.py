"""Driving a suite: expand it, keep what the run directory already holds, hand the rest
to an executor and store each record as it arrives.

:func:`plan_suite` says what a run would do (cells to run per detector and data set, an
ETA from past records) without running anything; :func:`run_suite` runs it. A run may be
one deterministic shard ``K/N`` of the cells: shards write one run directory at the same
time (each holds the directory's lock shared; a whole run holds it alone), and
``anobench report`` assembles them.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from anobench.data.spec import DatasetSpec
from anobench.execution.cell import failure_record, run_cell
from anobench.execution.environment import environment
from anobench.execution.executors.base import Executor
from anobench.execution.executors.local import ProcessExecutor
from anobench.execution.executors.workers import OneWorkerKey
from anobench.execution.store import RunStore
from anobench.plan.expansion import MAX_CELLS, check_size, expand, registries
from anobench.plan.imports import BadReferenceError, dataset_spec
from anobench.plan.suite import Suite, SuiteError
from anobench.provenance import VERSION
from anobench.record import CellResult
from anobench.registry import Registry
from anobench.types import Cell, Status

__all__ = ["Plan", "RunSummary", "in_shard", "plan_suite", "program_affinity", "run_suite"]

logger = logging.getLogger(__name__)


def in_shard(cell_id: str, shard: tuple[int, int] | None) -> bool:
    """Whether the cell belongs to shard ``(K, N)`` (``None``: every cell). The part is a
    hash of the cell id, so it does not depend on the order of the suite or the host."""
    if shard is None:
        return True
    k, n = shard
    digest = hashlib.sha256(cell_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % n == k - 1


def program_affinity(cell: Cell) -> tuple[str, ...]:
    """Cells that share compiled programs and loaded data: one detector configuration on
    one data set (its seeds and protocols: a deep model compiles one program per width,
    whatever the row count). The data set comes last: a worker that finished a key goes
    on with the same configuration's next data set, else prefers a configuration no
    other worker is running, since data sets of equal width compile the same programs.
    See ``ProcessExecutor(affinity=...)``.

    Under a published protocol the cells of one trial of one data set share a split and
    a shared-RNG chain (:mod:`anobench.execution.replay`): they form one key, run in one
    worker in the order of the paper's columns (:func:`_chain_order`)."""
    if cell.preset is not None:
        return OneWorkerKey((cell.protocol, f"trial {cell.seed}", cell.dataset_label))
    return (cell.detector_ref, cell.label, cell.dataset_label)


def _chain_order(cells: list[Cell]) -> list[Cell]:
    """``cells`` with each published-protocol cell after the cells whose fits its chain
    replays (shorter chains first, stable otherwise), so a worker running a trial's
    cells in this order fits every model of the chain once."""
    return sorted(cells, key=lambda c: len((c.preset or {}).get("replay", [])))


def _prepare_data(refs: set[str]) -> dict[str, tuple[Status, str]]:
    """Fetch and verify the files of the data sets ``refs`` once, before any cell runs.

    Returns ``{dataset_ref: (status, message)}`` for data sets that cannot be used:
    ``skipped`` when files are missing and cannot be downloaded, ``error`` when a file is
    corrupt. Their cells are recorded as such (and retried by the next run) while the
    rest of the suite runs.
    """
    from anobench.data.io import DataFileError, DataMissingError

    problems: dict[str, tuple[Status, str]] = {}
    for ref in sorted(refs):
        try:
            spec = dataset_spec(ref)
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


def _load_spec(datasets: Registry, name: str) -> DatasetSpec | None:
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


@dataclass
class Plan:
    """What a run would do: the suite's cells, those to run, and an estimate of their
    duration from past records of the run directory."""

    out_dir: Path
    cells: list[Cell]
    todo: list[Cell]
    shard: tuple[int, int] | None = None
    #: seconds per cell to run, estimated (``None`` where no past record tells)
    estimates: list[float | None] = field(default_factory=list)


def _todo(cells: list[Cell], store: RunStore, *, force: bool, retry_failed: bool) -> list[Cell]:
    """The cells that are not stored whole and ok (every cell with ``force``)."""
    todo: list[Cell] = []
    for cell in cells:
        old = None if force else store.get(cell.cell_id)
        if (
            old is None
            or (old.scores_file and not store.scores_readable(cell.cell_id))
            or old.transient  # e.g. its data were missing: try again
            or (retry_failed and old.status != Status.OK)
            # e.g. calibration refused for lack of time: a larger budget may allow it
            or (retry_failed and (old.calibration or {}).get("retry"))
        ):
            todo.append(cell)
    return todo


def _estimates(store: RunStore, todo: list[Cell]) -> list[float | None]:
    """Per cell, the median ``total_seconds`` of the stored records of the same detector
    label and data set (any version, any seed), else of the same detector, else None."""
    by_pair: dict[tuple[str, str], list[float]] = defaultdict(list)
    by_detector: dict[str, list[float]] = defaultdict(list)
    for record in store.records():
        seconds = record.total_seconds
        if record.status == Status.SKIPPED or not seconds:
            continue
        by_pair[(record.label, record.dataset_label)].append(float(seconds))
        by_detector[record.label].append(float(seconds))
    out: list[float | None] = []
    for cell in todo:
        seen = by_pair.get((cell.label, cell.dataset_label)) or by_detector.get(cell.label)
        out.append(statistics.median(seen) if seen else None)
    return out


def plan_suite(
    suite: Suite,
    out_dir: Path | str,
    detectors: Registry,
    datasets: Registry,
    *,
    force: bool = False,
    retry_failed: bool = False,
    max_cells: int = MAX_CELLS,
    shard: tuple[int, int] | None = None,
) -> Plan:
    """What :func:`run_suite` would run, without running, fetching or writing anything
    (data sets whose files are missing are counted as they would be expanded now)."""
    check_size(suite, max_cells)
    store = RunStore(out_dir)
    cells = expand(suite, detectors, datasets)
    todo = [c for c in _todo(cells, store, force=force, retry_failed=retry_failed)
            if in_shard(c.cell_id, shard)]  # fmt: skip
    return Plan(store.root, cells, todo, shard, _estimates(store, todo))


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
    shard: tuple[int, int] | None = None,
    on_start: Callable[[int], None] | None = None,
    on_result: Callable[[CellResult], None] | None = None,
) -> RunSummary:
    """Run every cell of ``suite`` not already stored in ``out_dir``.

    The run directory's history gains this invocation, and this expansion becomes the
    set of cells its report covers; records of other expansions stay on disk as stale
    (listed by the report, removed by :meth:`anobench.execution.store.RunStore.prune`).

    Parameters
    ----------
    jobs : worker processes of the default :class:`ProcessExecutor` (with the suite's
        ``memory_budget_mb`` per cell).
    executor : any other :class:`Executor`.
    max_cells : refuse (:class:`anobench.plan.suite.SuiteError`) a suite that expands to more
        cells, counted before expanding.
    shard : ``(K, N)``: run only the cells :func:`in_shard` puts in part K of N. Shards
        share the run directory's lock, so N of them may write one directory at once (a
        whole run is refused meanwhile, and the other way round).
    force : rerun every cell. retry_failed : rerun cells stored with a status other than
        ``ok`` (errors, timeouts, skips) and ok cells whose out-of-sample calibration was
        refused (time budget) or failed.
    on_start : called with the number of cells to run. on_result : called with each
        record after it is stored (progress reporting).
    """
    started = time.perf_counter()
    check_size(suite, max_cells)
    store = RunStore(out_dir)
    with (
        store.lock(shared=shard is not None),
        _executor_for(suite, store, jobs, executor) as chosen,
    ):
        return _run_locked(
            suite, store, detectors, datasets, started, jobs=jobs, executor=chosen,
            force=force, retry_failed=retry_failed, shard=shard, on_start=on_start,
            on_result=on_result,
        )  # fmt: skip


@contextlib.contextmanager
def _executor_for(
    suite: Suite, store: RunStore, jobs: int, executor: Executor | None
) -> Iterator[Executor]:
    """``executor``, or the local worker processes: on a fresh run (no record yet) they
    start right away, so their start and imports overlap the planning of the cells, and
    workers no run used (an error, nothing to run) are stopped on exit."""
    if executor is not None:
        yield executor
        return
    local = ProcessExecutor(
        jobs=jobs, memory_budget_mb=suite.memory_budget_mb, affinity=program_affinity
    )
    if not any(store.cells_dir.glob("*.json")):
        local.prestart(run_cell, failure_record)
    try:
        yield local
    finally:
        local.close()


def _run_locked(
    suite: Suite,
    store: RunStore,
    detectors: Registry,
    datasets: Registry,
    started: float,
    *,
    jobs: int,
    executor: Executor,
    force: bool,
    retry_failed: bool,
    shard: tuple[int, int] | None,
    on_start: Callable[[int], None] | None,
    on_result: Callable[[CellResult], None] | None,
) -> RunSummary:
    """:func:`run_suite` once the run directory's lock is held: expand the suite, record
    the invocation and run the cells not stored yet."""
    try:
        detectors, datasets = registries(suite, detectors, datasets)
    except BadReferenceError as exc:
        raise SuiteError(f"suite {suite.name!r}: {exc}") from None
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
            "shard": list(shard) if shard else None,
            "suite": suite.model_dump(mode="json"),
            "anobench_version": VERSION,
            "environment": environment(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "n_cells": len(cells),
            "force": force,
            "retry_failed": retry_failed,
        },
        [c.summary() for c in cells],
    )
    todo = [c for c in _todo(cells, store, force=force, retry_failed=retry_failed)
            if in_shard(c.cell_id, shard)]  # fmt: skip
    by_status: dict[str, int] = {}
    if on_start:
        on_start(len(todo))

    def keep(record: CellResult) -> None:
        store.put(record)
        status = str(record.status)
        by_status[status] = by_status.get(status, 0) + 1
        if on_result:
            on_result(record)

    problems |= _prepare_data({c.dataset_ref for c in todo if not c.skip_reason} - set(problems))
    runnable = []
    for cell in todo:
        if cell.skip_reason:
            keep(run_cell(cell))
        elif cell.dataset_ref in problems:
            status, message = problems[cell.dataset_ref]
            keep(failure_record(cell, status, message).model_copy(update={"transient": True}))
        else:
            runnable.append(cell)
    if runnable:
        for _cell, record in executor.run(_chain_order(runnable), run_cell, failure_record):
            keep(record)
    mine = sum(in_shard(c.cell_id, shard) for c in cells) if shard else len(cells)
    return RunSummary(
        out_dir=store.root,
        total=mine,
        cached=mine - len(todo),
        ran=len(todo),
        by_status=by_status,
        seconds=time.perf_counter() - started,
    )
