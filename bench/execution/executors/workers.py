"""The worker processes behind :class:`anobench.execution.executors.local.ProcessExecutor`:
the loop a worker runs, the bookkeeping of its pending cell, and how a worker's process
tree is measured and killed."""

from __future__ import annotations

import contextlib
import os
import signal
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from anobench import settings as settings_mod
from anobench.execution.executors.base import CellFunction, FailureFunction
from anobench.settings import Settings
from anobench.types import Cell, Status

__all__ = [
    "OneWorkerKey",
    "Pending",
    "Worker",
    "death_reason",
    "kill_tree",
    "owner_of",
    "tree_rss_mb",
    "worker_main",
]


def worker_main(
    conn: Any,
    threads: int,
    cores: list[int],
    fn: CellFunction,
    failure: FailureFunction,
    settings: Settings,
) -> None:
    """A worker's life: take the runner's settings, set up isolation, then run the cells
    sent over ``conn`` until told to stop (``None``), the runner goes away, or a cell
    leaves it unclean."""
    from anobench.execution.isolation import ProcessState, become_worker, run_isolated

    settings_mod.configure(settings)
    become_worker()
    # this fresh process's own thread settings, before NumPy/BLAS/XLA start their pools
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[var] = str(threads)
    if cores:
        os.sched_setaffinity(0, cores)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
    state = ProcessState(thread_limit=threads)
    fresh = settings.fresh_workers
    while True:
        try:
            cell = conn.recv()
        except (EOFError, OSError):
            return
        if cell is None:
            return
        conn.send(("start", None))
        record, retire = run_isolated(cell, fn, failure, state)
        if fresh and retire is None:
            retire = "ANOBENCH_FRESH_WORKERS=1"
        try:
            conn.send(("done", (record, retire)))
        except (OSError, ValueError, TypeError, AttributeError) as exc:  # unpicklable record
            message = f"the record could not be sent to the runner: {exc}"
            conn.send(("done", (failure(cell, Status.ERROR, message), retire)))
        if retire is not None:
            return


@dataclass
class Worker:
    """A live worker process and the cell it is running (None when idle)."""

    process: Any
    conn: Any
    cell: Cell | None = None
    sent: float = 0.0
    started: float | None = None
    peak_mb: float = 0.0
    key: Hashable = None  # affinity key of its current or last cell


class OneWorkerKey(tuple[str, ...]):
    """An affinity key whose cells share state kept inside the worker that runs them (a
    published preset's split and RNG chain, :mod:`anobench.execution.replay`): once a
    worker has started it, no other worker joins it while other keys are left."""

    __slots__ = ()


class Pending:
    """Cells waiting for a worker, grouped by affinity key (first-seen order kept)."""

    def __init__(self, cells: Sequence[Cell], affinity: Callable[[Cell], Hashable] | None):
        self._groups: dict[Hashable, deque[Cell]] = {}
        self._finished: set[Hashable] = set()
        self._started: set[Hashable] = set()
        for i, cell in enumerate(cells):
            key = affinity(cell) if affinity else i
            self._groups.setdefault(key, deque()).append(cell)

    def __bool__(self) -> bool:
        return bool(self._groups)

    def take(self, last: Hashable, running: set[Hashable]) -> tuple[Cell, Hashable] | None:
        """The next cell for a worker whose last key was ``last``, and its key; ``None``
        when the worker should wait: every remaining key is running elsewhere and none
        has finished a cell yet (its program is still being compiled, and would be
        compiled twice at once)."""
        if last in self._groups:
            key = last
        else:
            free = [
                k
                for k in self._groups
                if k not in running or (k in self._finished and not isinstance(k, OneWorkerKey))
            ]
            # a key kept in one worker that another worker started: only when nothing else
            # is left (its state is then rebuilt here, which costs time, not correctness)
            unclaimed = [
                k for k in free if not (isinstance(k, OneWorkerKey) and k in self._started)
            ]
            free = unclaimed or free
            if not free:
                return None
            # prefer the next data set of this worker's own detector configuration (its
            # programs of that width are compiled in this process already), then a key
            # whose configuration no other worker is running: keys that differ only in
            # the data set often compile programs of equal shapes (one program per
            # width, whatever the row count), which the other worker is compiling now
            busy = {owner_of(k) for k in running}
            mine = owner_of(last) if last is not None else None
            key = next(
                (k for k in free if mine is not None and owner_of(k) == mine and mine not in busy),
                next((k for k in free if owner_of(k) not in busy), free[0]),
            )
        self._started.add(key)
        group = self._groups[key]
        cell = group.popleft()
        if not group:
            del self._groups[key]
        return cell, key

    def finished(self, key: Hashable) -> None:
        """A cell of ``key`` finished: its programs are in the compilation caches."""
        self._finished.add(key)


def owner_of(key: Hashable) -> Hashable:
    """What an affinity key's compiled programs depend on besides the data: all but the
    last part of a tuple key (the data set in :func:`anobench.execution.driver.program_affinity`),
    the key itself otherwise."""
    return key[:-1] if isinstance(key, tuple) and len(key) > 1 else key


def tree_rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` and all its descendants, in MiB."""
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0.0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total / 2**20


def kill_tree(process: Any) -> None:
    """Stop a worker and everything it started: its process group is frozen first, so
    nothing forks away while the tree is collected, then every process is killed."""
    from anobench.execution.isolation import descendants, kill_processes

    pid = process.pid
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGSTOP)
    tree = descendants(pid)
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        process.kill()
    kill_processes(tree)
    process.join(timeout=5)


def death_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name if -exitcode in signal.valid_signals() else ""
        hint = " (possibly the system's out-of-memory killer)" if -exitcode == 9 else ""
        return f"worker process died (killed by signal {-exitcode} {name}){hint}"
    return f"worker process died (exit code {exitcode})"
