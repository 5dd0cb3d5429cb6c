"""Executors run cells and yield their records as they finish.

The interface is one method, :meth:`Executor.run`; a distributed engine (Dask, Ray)
can implement it without touching the runner. The local executor isolates every cell in
a worker process: an exception is caught by :func:`anobench.runner.run_cell`; a cell that
overruns its budget has its worker killed and is recorded as ``timeout``; a worker that
dies (segfault, out-of-memory kill) is recorded as ``error``. Other cells go on.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError, TimeoutError, as_completed
from typing import Any, Protocol

from pebble import ProcessExpired, ProcessPool

from anobench.settings import env_flag
from anobench.types import Cell, Status

logger = logging.getLogger(__name__)

Record = dict[str, Any]
CellFunction = Callable[[Cell], Record]
FailureFunction = Callable[[Cell, Status, str], Record]


class Executor(Protocol):
    """Runs ``fn`` on each cell; yields ``(cell, record)`` in completion order.

    ``failure(cell, status, message)`` builds the record of a cell whose execution
    itself failed (timeout, dead worker); the executor never raises for one cell.
    """

    def run(
        self, cells: Sequence[Cell], fn: CellFunction, failure: FailureFunction
    ) -> Iterator[tuple[Cell, Record]]: ...


def core_groups(jobs: int, threads: int) -> list[list[int]]:
    """Disjoint groups of ``threads`` cores, one per worker, from the cores this process may
    use; ``[]`` (no pinning) for one job, without the affinity API, or when the cores do not
    split into ``jobs`` groups."""
    if jobs < 2 or not hasattr(os, "sched_getaffinity"):
        return []
    cores = sorted(os.sched_getaffinity(0))
    if jobs * threads > len(cores):
        return []
    return [cores[i * threads : (i + 1) * threads] for i in range(jobs)]


def _claim_cores(groups: list[list[int]], owners: Any) -> list[int] | None:
    """Pin this worker to a core group no live worker holds (``owners``: a shared array of
    the pid holding each group, 0 = free); a worker that was killed frees its group."""
    pid = os.getpid()
    with owners.get_lock():
        for i, owner in enumerate(owners):
            if owner == 0 or not _alive(owner):
                owners[i] = pid
                os.sched_setaffinity(0, groups[i])
                return groups[i]
    return None


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (a killed, unreaped worker)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def available_cores() -> int:
    """Cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _init_worker(threads: int, groups: list[list[int]], owners: Any) -> None:
    """Limit native thread pools, so ``jobs`` workers share the cores.

    BLAS/OpenMP/numba pools are capped at ``threads``. XLA:CPU has no working thread
    setting (its runtime ignores ``--xla_cpu_multi_thread_eigen``), so each worker is
    also pinned to its own ``threads`` cores: two concurrent JAX trainings on two cores
    took 1.95 s each unpinned and 1.62 s pinned (``ANOBENCH_PIN_WORKERS=0`` turns pinning
    off, e.g. on a machine shared with other jobs).
    """
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(threads)
    if groups:
        cores = _claim_cores(groups, owners)
        logger.debug("worker %d pinned to cores %s", os.getpid(), cores)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)


class ProcessExecutor:
    """Cells in ``jobs`` local worker processes (started with ``spawn``, which is safe with
    JAX's threads), each with ``available_cores() // jobs`` native threads and, when ``jobs > 1``,
    pinned to its own cores (see :func:`_init_worker`).

    Parameters
    ----------
    jobs : number of worker processes (>= 1).
    """

    def __init__(self, jobs: int = 1) -> None:
        if jobs < 1:
            raise ValueError(f"jobs must be >= 1, got {jobs}")
        self.jobs = jobs
        self.threads = max(1, available_cores() // jobs)

    def run(
        self, cells: Sequence[Cell], fn: CellFunction, failure: FailureFunction
    ) -> Iterator[tuple[Cell, Record]]:
        if not cells:
            return
        context = multiprocessing.get_context("spawn")
        workers = min(self.jobs, len(cells))
        pin = env_flag("ANOBENCH_PIN_WORKERS", True)
        groups = core_groups(workers, self.threads) if pin else []
        pool = ProcessPool(
            max_workers=workers,
            initializer=_init_worker,
            initargs=(self.threads, groups, context.Array("i", max(1, len(groups)))),
            context=context,
        )
        try:
            futures: dict[Any, Cell] = {
                pool.schedule(fn, args=(cell,), timeout=cell.time_budget): cell for cell in cells
            }
            for future in as_completed(futures):
                cell = futures[future]
                try:
                    record = future.result()
                except TimeoutError:
                    record = failure(
                        cell, Status.TIMEOUT, f"exceeded the time budget of {cell.time_budget:g} s"
                    )
                except ProcessExpired as exc:
                    record = failure(
                        cell, Status.ERROR, f"worker process died (exit code {exc.exitcode})"
                    )
                except CancelledError:
                    continue
                except Exception as exc:  # e.g. the cell could not be sent to the worker
                    record = failure(cell, Status.ERROR, f"{type(exc).__name__}: {exc}")
                yield cell, record
        finally:
            pool.stop()
            pool.join(timeout=10)
