"""What cell isolation costs (``anobench perf isolation``).

Runs the same cells twice, side by side in one invocation, with the two isolation
strategies of :class:`anobench.execution.executors.local.ProcessExecutor`:

- ``reuse``: a worker runs cell after cell, its process state reset before each and the
  worker replaced only when a cell leaves it unclean (the default);
- ``fresh``: a new worker process for every cell (``ANOBENCH_FRESH_WORKERS=1``).

Reported per strategy: wall seconds, cells/s, workers started, the summed in-cell time
(``total_seconds`` of the records) and the harness overhead per cell (worker-seconds
not spent inside cells), then the ratio fresh / reuse. Each pass writes into its own
temporary run directory, so nothing is cached between them; persistent caches (XLA,
downloaded data) are shared, so run it once before measuring to warm them.
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from anobench.execution.driver import run_suite
from anobench.execution.executors.local import ProcessExecutor
from anobench.execution.store import RunStore
from anobench.plan.suite import Suite
from anobench.registry import dataset_registry, detector_registry
from anobench.settings import overridden

__all__ = ["STRATEGIES", "Pass", "format_passes", "isolation_perf"]

logger = logging.getLogger(__name__)

STRATEGIES = ("reuse", "fresh")


@dataclass
class Pass:
    """One run of the cells under one strategy."""

    strategy: str
    cells: int
    wall_seconds: float
    cell_seconds: float
    workers_started: int
    jobs: int

    @property
    def cells_per_second(self) -> float:
        return self.cells / self.wall_seconds

    @property
    def overhead_ms(self) -> float:
        """Worker-seconds per cell not spent inside a cell (process starts, imports,
        transfers, scheduling), in milliseconds."""
        return 1000 * max(0.0, self.wall_seconds * self.jobs - self.cell_seconds) / self.cells


def _one_pass(suite: Suite, strategy: str, jobs: int) -> Pass:
    executor = ProcessExecutor(jobs=jobs, memory_budget_mb=suite.memory_budget_mb)
    with (
        overridden(fresh_workers=strategy == "fresh"),
        tempfile.TemporaryDirectory(prefix=f"anobench-perf-{strategy}-") as tmp,
    ):
        start = time.perf_counter()
        summary = run_suite(
            suite, Path(tmp), detector_registry(), dataset_registry(), executor=executor
        )
        wall = time.perf_counter() - start
        work = sum(r.get("total_seconds") or 0.0 for r in RunStore(tmp).records())
    return Pass(strategy, summary.ran, wall, work, executor.workers_started, jobs)


def isolation_perf(suite: Suite, jobs: int = 2, repeat: int = 1) -> list[Pass]:
    """Run ``suite``'s cells ``repeat`` times under each strategy, alternating the order
    (reuse, fresh, fresh, reuse, ...) so drift in the machine's speed falls on both."""
    passes = []
    for i in range(repeat):
        order = STRATEGIES if i % 2 == 0 else STRATEGIES[::-1]
        for strategy in order:
            logger.info("pass %d: %s", i + 1, strategy)
            passes.append(_one_pass(suite, strategy, jobs))
    return passes


def format_passes(passes: list[Pass]) -> str:
    """A table of every pass and the medians' ratio fresh / reuse."""
    from tabulate import tabulate

    rows = [
        [
            p.strategy,
            p.cells,
            f"{p.wall_seconds:.1f}",
            f"{p.cells_per_second:.2f}",
            p.workers_started,
            f"{p.cell_seconds:.1f}",
            f"{p.overhead_ms:.0f}",
        ]
        for p in passes
    ]
    table = tabulate(
        rows,
        headers=[
            "strategy",
            "cells",
            "wall s",
            "cells/s",
            "workers",
            "in-cell s",
            "overhead ms/cell",
        ],
    )
    medians = {
        s: statistics.median(p.cells_per_second for p in passes if p.strategy == s)
        for s in STRATEGIES
        if any(p.strategy == s for p in passes)
    }
    lines = [table]
    if len(medians) == 2:
        lines.append(
            f"\nmedian cells/s: reuse {medians['reuse']:.2f}, fresh {medians['fresh']:.2f}; "
            f"fresh / reuse = {medians['fresh'] / medians['reuse']:.2f}"
        )
    return "\n".join(lines)
