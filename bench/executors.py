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


def _init_worker(threads: int) -> None:
    """Limit native thread pools, so ``jobs`` workers share the cores."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(threads)
    os.environ.setdefault(
        "XLA_FLAGS", f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'}"
    )
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)


class ProcessExecutor:
    """Cells in ``jobs`` local worker processes (started with ``spawn``, which is safe with
    JAX's threads), each with ``cpu_count // jobs`` native threads.

    Parameters
    ----------
    jobs : number of worker processes (>= 1).
    """

    def __init__(self, jobs: int = 1) -> None:
        if jobs < 1:
            raise ValueError(f"jobs must be >= 1, got {jobs}")
        self.jobs = jobs
        self.threads = max(1, (os.cpu_count() or 1) // jobs)

    def run(
        self, cells: Sequence[Cell], fn: CellFunction, failure: FailureFunction
    ) -> Iterator[tuple[Cell, Record]]:
        if not cells:
            return
        pool = ProcessPool(
            max_workers=min(self.jobs, len(cells)),
            initializer=_init_worker,
            initargs=(self.threads,),
            context=multiprocessing.get_context("spawn"),
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
