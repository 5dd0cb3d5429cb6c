"""Cells on a Dask cluster (the ``dask`` extra: ``pip install 'anobench[dask]'``).

The client, in the process that runs the suite, submits one task per cell and yields the
records as they arrive; it stays the only writer of the run directory. On each Dask
worker a task runs its cell through a :class:`~anobench.execution.executors.local.ProcessExecutor`
that
the worker keeps between tasks: the cell runs in a child process of the Dask worker with
the same isolation as a local run (clean state per cell, its time and memory budgets,
its process tree killed on a timeout, a crash recorded), and the child is reused, so no
process is started per cell. A lost Dask worker costs only the cells it was running:
the scheduler runs them again once (``distributed.scheduler.allowed-failures = 1`` on a
local cluster; set it on your scheduler), and a cell lost twice is recorded as ``error``.

What nodes need: the same anobench (and plugins) installed as the client, and the data
directory (``ANOBENCH_DATA_DIR``) or the download cache on a path every node sees (a
local cluster's workers get the client's settings; a remote node reads its own
``ANOBENCH_*`` variables). Dask workers must be allowed to start child processes: start
them with ``distributed.worker.daemon: false`` (a local cluster is started that way).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from anobench import settings
from anobench.errors import UserError
from anobench.execution.executors.base import CellFunction, FailureFunction, available_cores
from anobench.execution.executors.local import ProcessExecutor
from anobench.record import CellResult
from anobench.settings import Settings
from anobench.types import Cell, Status

__all__ = ["DaskExecutor", "DaskUnavailableError"]

logger = logging.getLogger(__name__)

#: Dask configuration for clusters this executor starts itself
LOCAL_CONFIG = {
    "distributed.worker.daemon": False,  # workers start the cells' child processes
    "distributed.scheduler.allowed-failures": 1,  # a cell lost twice is recorded
    # one task per worker thread at a time: a lost worker costs only its running cell
    "distributed.scheduler.worker-saturation": 1.0,
}


class DaskUnavailableError(UserError, ImportError):
    """``--executor dask`` without dask / distributed installed."""


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise DaskUnavailableError(
            f"--executor dask needs dask and distributed ({exc}): pip install 'anobench[dask]'"
        ) from None
    return distributed


# -- the worker side: one kept ProcessExecutor per Dask worker process ------------------
_HOST_LOCK = threading.Lock()
_HOST: ProcessExecutor | None = None


def _host(memory_budget_mb: float | None) -> ProcessExecutor:
    """This Dask worker's executor (created on its first cell): as many native threads as
    the Dask worker has threads, pinned to its own cores when the worker's name is its
    index on a local cluster and the machine's cores split evenly."""
    global _HOST
    if _HOST is None:
        from distributed import get_worker

        worker = get_worker()
        threads = max(1, int(worker.state.nthreads))
        cores: list[int] = []
        name = worker.name
        if isinstance(name, int) and hasattr(os, "sched_getaffinity"):
            mine = sorted(os.sched_getaffinity(0))
            if (name + 1) * threads <= len(mine) and len(mine) // threads > 1:
                cores = mine[name * threads : (name + 1) * threads]
        limit = getattr(worker, "memory_manager", None)
        limit_mb = (getattr(limit, "memory_limit", None) or 0) / 2**20
        budget = memory_budget_mb or (0.8 * limit_mb if limit_mb else None)
        _HOST = ProcessExecutor(1, budget, threads=threads, cores=cores)
        logger.info("Dask worker %s: %d thread(s), cores %s", name, threads, cores or "any")
    return _HOST


def run_on_worker(
    cell: Cell,
    fn: CellFunction,
    failure: FailureFunction,
    memory_budget_mb: float | None,
    client_settings: Settings | None = None,
) -> CellResult:
    """The task each cell becomes: run it in this Dask worker's kept, isolated child.
    ``client_settings`` (a local cluster's) replace the worker's own before its child
    starts; a remote node keeps the settings of its own environment."""
    with _HOST_LOCK:  # one cell at a time per host; Dask threads queue here
        if client_settings is not None and _HOST is None:
            settings.configure(client_settings)
        return _host(memory_budget_mb).run_one(cell, fn, failure)


# -- the client side --------------------------------------------------------------------
class DaskExecutor:
    """Runs cells as tasks of a Dask cluster; yields ``(cell, record)`` as they finish.

    Parameters
    ----------
    scheduler : address of a running scheduler (``tcp://host:8786``); ``None`` starts a
        local cluster of ``workers`` processes for the duration of :meth:`run`.
    workers : local cluster size (default: the cores available), one thread each.
    memory_budget_mb : per-cell limit; default 80% of each Dask worker's memory limit.
    """

    def __init__(
        self,
        scheduler: str | None = None,
        *,
        workers: int | None = None,
        memory_budget_mb: float | None = None,
    ) -> None:
        _import_distributed()
        self.scheduler = scheduler
        self.workers = workers or available_cores()
        self.memory_budget_mb = memory_budget_mb

    def run(
        self, cells: Sequence[Cell], fn: CellFunction, failure: FailureFunction
    ) -> Iterator[tuple[Cell, CellResult]]:
        if not cells:
            return
        import dask

        distributed = _import_distributed()
        with dask.config.set(LOCAL_CONFIG):
            cluster = None
            quiet = logging.getLogger("distributed")
            level = quiet.level
            if self.scheduler is None:  # its scheduler logs in this process: keep it quiet
                quiet.setLevel(max(level, logging.WARNING))
                cluster = distributed.LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.WARNING,
                )
            client = distributed.Client(cluster or self.scheduler)
            local = settings.current() if cluster is not None else None
            try:
                yield from self._submit(client, cells, fn, failure, distributed, local)
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()
                quiet.setLevel(level)

    def _submit(
        self,
        client: Any,
        cells: Sequence[Cell],
        fn: CellFunction,
        failure: FailureFunction,
        distributed: Any,
        client_settings: Settings | None,
    ) -> Iterator[tuple[Cell, CellResult]]:
        by_key: dict[str, Cell] = {}
        futures = []
        for cell in cells:
            future = client.submit(
                run_on_worker,
                cell,
                fn,
                failure,
                self.memory_budget_mb,
                client_settings,
                key=f"anobench-cell-{cell.cell_id}",
                pure=False,
            )
            by_key[future.key] = cell
            futures.append(future)
        try:
            for future in distributed.as_completed(futures):
                cell = by_key[future.key]
                try:
                    record = future.result()
                except Exception as exc:  # the worker running it was lost twice, ...
                    message = (
                        f"the Dask cluster could not run the cell: {type(exc).__name__}: {exc}"
                    )
                    record = failure(cell, Status.ERROR, message)
                yield cell, record
        finally:
            client.cancel([f for f in futures if not f.done()])
