"""``anobench perf scale``: how cell throughput grows with workers.

Three measurements, side by side in one run:

1. **Harness overhead per cell**: cells that do nothing run through the local
   :class:`~anobench.execution.executors.local.ProcessExecutor` and the
   :class:`~anobench.execution.executors.dask.DaskExecutor` (a local cluster); the steady-state time
   per cell (first to last record, times the workers) is what the harness costs a cell.
2. **Cells/s against workers** on both executors, with synthetic cells that sleep for
   durations drawn from the distribution of a real run (:data:`DURATIONS`: log-normal,
   fitted to the 1 512 ok cells of a ``quick`` run on a 2-core machine), scaled down by
   ``scale`` so a pass takes seconds.
3. **A simulation of 8-64 workers** that this machine does not have: the same duration
   distribution, unscaled, on W workers that each pay the measured per-cell overhead,
   fed by one scheduler that dispatches one task at a time at the measured rate.
   Efficiency = useful cell time / (W x makespan).
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from anobench.execution.cell import failure_record
from anobench.execution.executors.local import ProcessExecutor
from anobench.provenance import VERSION
from anobench.record import CellResult
from anobench.types import Cell, Status

__all__ = [
    "DURATIONS",
    "Pass",
    "ScaleReport",
    "Simulated",
    "format_scale",
    "measure",
    "scale_perf",
    "simulate",
    "synthetic_cell",
]

#: log-normal cell durations (seconds): median and sigma of log, from a `quick` run
DURATIONS = {"median_s": 0.153, "sigma": 1.84}


def _duration(seed: int, scale: float) -> float:
    rng = np.random.default_rng(seed)
    d = rng.lognormal(math.log(DURATIONS["median_s"]), DURATIONS["sigma"])
    return float(min(d, 60.0) * scale)


def synthetic_cell(cell: Cell) -> CellResult:
    """A cell that sleeps for its synthetic duration (``cell.params['sleep']`` seconds,
    0 for a no-op) and returns a minimal record (``total_seconds``: the sleep)."""
    seconds = float(cell.params.get("sleep", 0.0))
    if seconds:
        time.sleep(seconds)
    return CellResult.for_cell(
        cell, status=Status.OK, total_seconds=seconds, anobench_version=VERSION, finished_at="-"
    )


def _cells(n: int, scale: float) -> list[Cell]:
    """``n`` cells of one tiny suite, each given its synthetic duration (0 with scale 0)."""
    from dataclasses import replace

    from anobench.plan.expansion import expand
    from anobench.plan.suite import Suite
    from anobench.registry import dataset_registry, detector_registry

    suite = Suite.model_validate(
        {"name": "perf-scale", "protocols": ["novelty"], "seeds": list(range(n)),
         "detectors": ["iforest"], "datasets": ["blobs-local"]}
    )  # fmt: skip
    cells = expand(suite, detector_registry(), dataset_registry())
    return [replace(c, params={**c.params, "sleep": _duration(c.seed, scale)}) for c in cells]


@dataclass
class Pass:
    """One executor and worker count over a set of cells."""

    executor: str
    workers: int
    cells: int
    wall_s: float
    busy_s: float  # summed in-cell (sleep) time
    per_cell_ms: float  # steady state: (last - first record) x workers / (cells - 1)

    @property
    def cells_per_s(self) -> float:
        return self.cells / self.wall_s

    @property
    def overhead_ms(self) -> float:
        """Harness time per cell beyond the cell's own work, at steady state."""
        return max(0.0, self.per_cell_ms - 1000 * self.busy_s / self.cells)


def measure(executor: str, workers: int, cells: Sequence[Cell]) -> Pass:
    """Run ``cells`` through ``executor`` (``local`` or ``dask``) with ``workers``."""
    if executor == "dask":
        from anobench.execution.executors.dask import DaskExecutor

        runner: Any = DaskExecutor(workers=workers)
    else:
        runner = ProcessExecutor(jobs=workers)
    stamps: list[float] = []
    busy = 0.0
    start = time.perf_counter()
    for _, record in runner.run(cells, synthetic_cell, failure_record):
        stamps.append(time.perf_counter())
        if record.get("status") != "ok":
            raise RuntimeError(f"a synthetic cell failed: {record.get('error')}")
        busy += record.total_seconds or 0.0
    wall = time.perf_counter() - start
    steady = (stamps[-1] - stamps[0]) * workers / max(1, len(stamps) - 1)
    return Pass(executor, workers, len(cells), wall, busy, 1000 * steady)


@dataclass
class Simulated:
    workers: int
    cells: int
    makespan_s: float
    efficiency: float


def simulate(
    durations: Sequence[float], workers: int, per_cell_s: float, dispatch_s: float
) -> Simulated:
    """List scheduling of ``durations`` (suite order) on ``workers`` that each pay
    ``per_cell_s`` per cell, fed by one scheduler that needs ``dispatch_s`` per task."""
    free = [0.0] * workers
    heapq.heapify(free)
    scheduler = 0.0
    end = 0.0
    for d in durations:
        ready = heapq.heappop(free)
        scheduler = max(scheduler, ready) + dispatch_s
        finish = scheduler + per_cell_s + d
        end = max(end, finish)
        heapq.heappush(free, finish)
    useful = float(sum(durations))
    return Simulated(workers, len(durations), end, useful / (workers * end) if end else 1.0)


@dataclass
class ScaleReport:
    overhead: list[Pass]
    throughput: list[Pass]
    simulated: list[Simulated]
    per_cell_s: float
    dispatch_s: float
    scale: float


def scale_perf(
    *,
    overhead_cells: int = 200,
    cells: int = 100,
    workers: Sequence[int] = (1, 2),
    simulate_workers: Sequence[int] = (8, 16, 32, 64),
    simulate_cells: int = 5000,
    scale: float = 0.25,
    dask: bool = True,
) -> ScaleReport:
    """All three measurements (see the module docstring)."""
    executors = ["local", "dask"] if dask else ["local"]
    noop = _cells(overhead_cells, 0.0)
    overhead = [measure(e, w, noop) for e in executors for w in workers]
    timed = _cells(cells, scale)
    throughput = [measure(e, w, timed) for e in executors for w in workers]
    # the simulated cluster pays what one worker of the distributed executor paid per
    # cell, and its scheduler dispatches no faster than the best rate measured here
    chosen = [p for p in overhead if p.executor == executors[-1]]
    per_cell_s = min(p.per_cell_ms for p in chosen) / 1000
    dispatch_s = min(p.per_cell_ms / p.workers for p in chosen) / 1000
    rng = np.random.default_rng(0)
    sample = np.minimum(
        rng.lognormal(math.log(DURATIONS["median_s"]), DURATIONS["sigma"], simulate_cells), 60.0
    )
    simulated = [simulate(sample.tolist(), w, per_cell_s, dispatch_s) for w in simulate_workers]
    return ScaleReport(overhead, throughput, simulated, per_cell_s, dispatch_s, scale)


def format_scale(report: ScaleReport) -> str:
    from tabulate import tabulate

    def rows(passes: list[Pass]) -> list[list[Any]]:
        base = {p.executor: p.cells_per_s for p in passes if p.workers == passes[0].workers}
        return [
            [p.executor, p.workers, p.cells, f"{p.wall_s:.1f}", f"{p.cells_per_s:.1f}",
             f"{p.cells_per_s / base[p.executor]:.2f}x", f"{p.overhead_ms:.1f}"]
            for p in passes
        ]  # fmt: skip

    headers = ["executor", "workers", "cells", "wall s", "cells/s", "vs fewest", "overhead ms/cell"]
    sim = [
        [s.workers, s.cells, f"{s.makespan_s:.0f}", f"{s.efficiency:.2f}"] for s in report.simulated
    ]
    return "\n".join(
        [
            "harness overhead: cells that do nothing",
            tabulate(rows(report.overhead), headers=headers),
            "",
            f"throughput: synthetic cells sleeping log-normal durations (median "
            f"{DURATIONS['median_s']} s, sigma {DURATIONS['sigma']}, as a quick run) x "
            f"{report.scale:g}",
            tabulate(rows(report.throughput), headers=headers),
            "",
            f"simulated cluster: {report.per_cell_s * 1000:.1f} ms per cell on each worker, "
            f"one scheduler dispatching a task per {report.dispatch_s * 1000:.1f} ms "
            "(both measured above); efficiency = cell time / (workers x makespan)",
            tabulate(sim, headers=["workers", "cells", "makespan s", "efficiency"]),
        ]
    )
