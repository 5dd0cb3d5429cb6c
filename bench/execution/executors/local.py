"""Executors run cells and yield their records as they finish.

The interface is one method, :meth:`Executor.run`; a distributed engine (Dask, Ray)
can implement it without touching the runner. The local :class:`ProcessExecutor` runs
cells in worker processes it manages itself: each cell starts from a clean process state
(:mod:`anobench.execution.isolation`), a cell that overruns its time or memory budget has its
worker's whole process tree killed and is recorded as ``timeout`` / ``oom``, and a worker
that dies (segfault, ``os._exit``) is recorded as ``error``. Other cells go on.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import random
import time
from collections.abc import Callable, Hashable, Iterator, Sequence
from multiprocessing.connection import wait
from typing import Any

from anobench import settings as settings_mod
from anobench.execution.executors.base import (
    MIN_MEMORY_BUDGET_MB,
    CellFunction,
    Executor,
    FailureFunction,
    available_cores,
    core_groups,
    default_memory_budget_mb,
)
from anobench.execution.executors.workers import (
    Pending,
    Worker,
    death_reason,
    kill_tree,
    tree_rss_mb,
    worker_main,
)
from anobench.record import CellResult
from anobench.spawning import main_script_not_rerun
from anobench.types import Cell, Status

__all__ = [
    "MIN_MEMORY_BUDGET_MB",
    "CellFunction",
    "Executor",
    "FailureFunction",
    "InProcessExecutor",
    "ProcessExecutor",
    "available_cores",
    "core_groups",
    "default_memory_budget_mb",
]

logger = logging.getLogger(__name__)


def _refers_to_main(cells: Sequence[Cell]) -> bool:
    return any(ref.startswith("__main__") for c in cells for ref in (c.detector_ref, c.dataset_ref))


class InProcessExecutor:
    """Cells one after another in this process, for objects that exist only here (the
    Python API's detector instances and in-memory arrays) and for debugging.

    No time or memory budget is enforced and a crash in native code ends the caller;
    the global RNGs and NumPy's error mode are restored after each cell, and anything a
    cell raises (``SystemExit`` included, ``KeyboardInterrupt`` excepted) is its ``error``
    record.
    """

    def run(
        self, cells: Sequence[Cell], fn: CellFunction, failure: FailureFunction
    ) -> Iterator[tuple[Cell, CellResult]]:
        import numpy as np

        for cell in cells:
            state = (np.random.get_state(), random.getstate(), np.geterr())
            try:
                record = fn(cell)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # detector code may raise anything
                record = failure(cell, Status.ERROR, f"{type(exc).__name__}: {exc}")
            finally:
                np.random.set_state(state[0])
                random.setstate(state[1])
                np.seterr(**state[2])
            yield cell, record


class ProcessExecutor:
    """Cells in ``jobs`` local worker processes (started with ``spawn``, which is safe with
    JAX's threads), each with ``available_cores() // jobs`` native threads and, when
    ``jobs > 1``, pinned to its own cores.

    Isolation (see :mod:`anobench.execution.isolation`): every cell starts from the worker's clean
    state and its leftover processes are killed; a worker a cell left unclean is replaced.
    A cell that overruns its time budget, or whose process tree's resident memory exceeds
    ``memory_budget_mb``, has its worker's whole process tree killed and is recorded as
    ``timeout`` / ``oom``; a worker that dies (segfault, ``os._exit``, the system's OOM
    killer) gives an ``error`` record. The runner is the only writer of the run directory;
    other cells go on.

    BLAS/OpenMP/numba pools are capped at the thread count. XLA:CPU has no working thread
    setting (its runtime ignores ``--xla_cpu_multi_thread_eigen``), so workers are also
    pinned: two concurrent JAX trainings on two cores took 1.95 s each unpinned and 1.62 s
    pinned (``ANOBENCH_PIN_WORKERS=0`` turns pinning off, e.g. on a machine shared with
    other jobs).

    Parameters
    ----------
    jobs : number of worker processes (>= 1).
    memory_budget_mb : per-cell limit on resident memory (MiB); default
        :func:`default_memory_budget_mb`.
    affinity : cells with equal keys are kept together: an idle worker takes the next
        cell of the key it ran last, else a key of the same owner (``owner_of``: the
        detector configuration) when no other worker runs that owner, else a key whose
        owner no other worker is running, else the next cell. The driver keys cells by
        detector and data set, so the seeds and protocols of a deep model on a data set
        run one after another in one worker, which compiles their program once (one per
        width, whatever the row count) and reuses it, then goes on to that model's next
        data set; another worker joins a key only once one of its cells finished (its
        programs are then in the persistent compilation cache), so
        the same program is never compiled twice at the same time.
    """

    #: seconds between checks of time and memory budgets
    poll_seconds = 0.1
    #: seconds a new worker may take to import anobench and the cell function
    start_seconds = 300.0

    def __init__(
        self,
        jobs: int = 1,
        memory_budget_mb: float | None = None,
        *,
        threads: int | None = None,
        cores: list[int] | None = None,
        affinity: Callable[[Cell], Hashable] | None = None,
    ) -> None:
        if jobs < 1:
            raise ValueError(f"jobs must be >= 1, got {jobs}")
        n_cores = available_cores()
        if jobs > n_cores:  # more workers than cores only share them (and the memory)
            logger.warning(
                "--jobs %d is more than the %d core(s) here: using %d", jobs, n_cores, n_cores
            )
            jobs = n_cores
        self.jobs = jobs
        self.threads = threads or max(1, available_cores() // jobs)
        self.memory_budget_mb = memory_budget_mb or default_memory_budget_mb(jobs)
        self.workers_started = 0
        self._cores = cores or []  # for run_one's worker
        self.affinity = affinity
        self._kept: Worker | None = None
        self._main_needed = False
        self._spare: list[Worker] = []

    def _start(
        self, context: Any, cores: list[int], fn: CellFunction, failure: FailureFunction
    ) -> Worker:
        parent, child = context.Pipe()
        process = context.Process(
            target=worker_main,
            args=(child, self.threads, cores, fn, failure, settings_mod.current()),
            daemon=True,
            name="anobench-worker",
        )
        with main_script_not_rerun(self._main_needed):
            process.start()
        child.close()
        self.workers_started += 1
        return Worker(process, parent)

    def prestart(self, fn: CellFunction, failure: FailureFunction) -> None:
        """Start the workers now, before the cells are known, so that their start and
        imports (seconds each) overlap the driver's planning; :meth:`run` with the same
        ``fn`` uses them. Workers it does not need (fewer cells than workers, or cells
        that refer to a script's ``__main__``, which these did not load) are stopped."""
        if self._spare:
            return
        context = multiprocessing.get_context("spawn")
        groups = core_groups(self.jobs, self.threads) if settings_mod.current().pin_workers else []
        self._spare = [
            self._start(context, groups[i] if groups else [], fn, failure) for i in range(self.jobs)
        ]

    @staticmethod
    def _stop(workers: Sequence[Worker]) -> None:
        for worker in workers:
            with contextlib.suppress(OSError, ValueError):
                worker.conn.send(None)
            worker.process.join(timeout=2)
            kill_tree(worker.process)

    def run(
        self, cells: Sequence[Cell], fn: CellFunction, failure: FailureFunction
    ) -> Iterator[tuple[Cell, CellResult]]:
        spares, self._spare = self._spare, []
        if not cells:
            self._stop(spares)
            return
        self._main_needed = _refers_to_main(cells)
        if self._main_needed:  # prestarted workers did not load the script
            self._stop(spares)
            spares = []
        context = multiprocessing.get_context("spawn")
        n = min(self.jobs, len(cells))
        # prestarted workers are pinned to the groups of all `jobs` workers: keep them
        groups = (
            core_groups(len(spares) or n, self.threads)
            if settings_mod.current().pin_workers
            else []
        )
        self._stop(spares[n:])
        spares = spares[:n]
        todo = Pending(cells, self.affinity)
        slots: list[Worker | None] = [None] * n
        try:
            while True:
                for i in range(n):
                    worker = slots[i]
                    while todo and (worker is None or worker.cell is None):
                        running = {w.key for w in slots if w is not None and w.cell is not None}
                        taken = todo.take(worker.key if worker else None, running)
                        if taken is None:
                            break  # wait for a running cell's program to be compiled
                        if worker is None and spares:
                            worker = spares.pop(0)
                        worker = worker or self._start(
                            context, groups[i] if groups else [], fn, failure
                        )
                        slots[i] = worker
                        cell, worker.key = taken
                        refused = self._assign(worker, cell, failure)
                        if refused is not None:
                            yield refused
                busy = [w for w in slots if w is not None and w.cell is not None]
                if not busy:
                    return
                ready = [x for w in busy for x in (w.conn, w.process.sentinel)]
                wait(ready, timeout=self.poll_seconds)
                for i, worker in enumerate(slots):
                    if worker is None or worker.cell is None:
                        continue
                    done = self._check(worker, failure)
                    if done is None:
                        continue
                    cell, record, reusable = done
                    worker.cell = None
                    todo.finished(worker.key)
                    if not reusable:
                        slots[i] = None
                    yield cell, record
        finally:
            self._stop(spares)
            for worker in slots:
                if worker is None:
                    continue
                if worker.cell is None:  # idle: ask it to stop, then make sure
                    with contextlib.suppress(OSError, ValueError):
                        worker.conn.send(None)
                    worker.process.join(timeout=2)
                kill_tree(worker.process)

    def run_one(self, cell: Cell, fn: CellFunction, failure: FailureFunction) -> CellResult:
        """Run one cell in a worker this executor keeps for the next call, under the same
        isolation and budgets as :meth:`run`: for a host that receives cells one at a
        time (a Dask worker) and must not start a process per cell. :meth:`close` ends
        the kept worker."""
        if self._kept is None:
            context = multiprocessing.get_context("spawn")
            self._kept = self._start(context, self._cores, fn, failure)
        worker = self._kept
        refused = self._assign(worker, cell, failure)
        if refused is not None:
            return refused[1]
        while True:
            wait([worker.conn, worker.process.sentinel], timeout=self.poll_seconds)
            done = self._check(worker, failure)
            if done is not None:
                _, record, reusable = done
                worker.cell = None
                if not reusable:
                    self._kept = None
                return record

    def close(self) -> None:
        """End the worker kept by :meth:`run_one` and prestarted workers no run used
        (and everything they started)."""
        spares, self._spare = self._spare, []
        self._stop(spares)
        worker, self._kept = self._kept, None
        if worker is not None:
            with contextlib.suppress(OSError, ValueError):
                worker.conn.send(None)
            worker.process.join(timeout=2)
            kill_tree(worker.process)

    @staticmethod
    def _assign(
        worker: Worker, cell: Cell, failure: FailureFunction
    ) -> tuple[Cell, CellResult] | None:
        """Send ``cell`` to the idle ``worker``; the cell's error record if it cannot be
        sent (e.g. unpicklable parameters), else None."""
        worker.cell, worker.sent, worker.started, worker.peak_mb = cell, time.monotonic(), None, 0.0
        try:
            worker.conn.send(cell)
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            worker.cell = None
            return cell, failure(cell, Status.ERROR, f"could not send the cell to a worker: {exc}")
        return None

    def _check(
        self, worker: Worker, failure: FailureFunction
    ) -> tuple[Cell, CellResult, bool] | None:
        """The finished cell of ``worker`` as ``(cell, record, worker reusable)``, or None
        while it is running within its budgets."""
        cell = worker.cell
        assert cell is not None
        while worker.conn.poll():
            try:
                kind, payload = worker.conn.recv()
            except (EOFError, OSError):
                break  # died while sending: handled below as a dead worker
            if kind == "start":
                worker.started = time.monotonic()
            else:
                record, retire = payload
                if retire is not None:
                    logger.debug("replacing worker %d: %s", worker.process.pid, retire)
                    worker.process.join(timeout=5)
                    kill_tree(worker.process)
                return cell, record, retire is None
        if not worker.process.is_alive():
            code = worker.process.exitcode
            kill_tree(worker.process)
            return cell, failure(cell, Status.ERROR, death_reason(code)), False
        if worker.started is None:  # a new worker still importing
            if time.monotonic() - worker.sent > self.start_seconds:
                kill_tree(worker.process)
                message = f"the worker process did not start within {self.start_seconds:g} s"
                return cell, failure(cell, Status.ERROR, message), False
            return None
        if time.monotonic() - worker.started > cell.time_budget:
            kill_tree(worker.process)
            message = f"exceeded the time budget of {cell.time_budget:g} s"
            return cell, failure(cell, Status.TIMEOUT, message), False
        rss = tree_rss_mb(worker.process.pid)
        worker.peak_mb = max(worker.peak_mb, rss)
        if rss > self.memory_budget_mb:
            kill_tree(worker.process)
            message = (
                f"exceeded the memory budget of {self.memory_budget_mb:.0f} MiB "
                f"(resident {rss:.0f} MiB; suite setting memory_budget_mb or --memory-budget)"
            )
            return cell, failure(cell, Status.OOM, message), False
        return None
