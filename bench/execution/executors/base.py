"""What every executor is (:class:`Executor`) and the machine facts they share: the cores
this process may use, how they are grouped per worker, the default memory budget."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from anobench.record import CellResult
from anobench.types import Cell, Status

#: runs one cell (``run_cell``), or makes the record of one that could not run
CellFunction = Callable[[Cell], CellResult]
FailureFunction = Callable[[Cell, Status, str], CellResult]


#: the default per-cell memory budget never goes below this (MiB)
MIN_MEMORY_BUDGET_MB = 1024.0

__all__ = [
    "MIN_MEMORY_BUDGET_MB",
    "CellFunction",
    "Executor",
    "FailureFunction",
    "available_cores",
    "core_groups",
    "default_memory_budget_mb",
]


class Executor(Protocol):
    """Runs ``fn`` on each cell; yields ``(cell, record)`` in completion order.

    ``failure(cell, status, message)`` builds the record of a cell whose execution
    itself failed (timeout, dead worker); the executor never raises for one cell.
    """

    def run(
        self, cells: Sequence[Cell], fn: CellFunction, failure: FailureFunction
    ) -> Iterator[tuple[Cell, CellResult]]: ...


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


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, which containers and batch
    schedulers set, where the OS has one), else the machine's count."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def default_memory_budget_mb(jobs: int) -> float:
    """80% of the machine's memory shared by ``jobs`` workers, in MiB, at least
    :data:`MIN_MEMORY_BUDGET_MB` (or 80% of the machine when that is less)."""
    import psutil

    total = 0.8 * psutil.virtual_memory().total / 2**20
    return max(total / max(1, jobs), min(MIN_MEMORY_BUDGET_MB, total))
