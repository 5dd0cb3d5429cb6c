"""The process executor: worker core pinning (XLA:CPU has no working thread limit)."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import pytest

from anobench.execution.executors.base import core_groups
from anobench.execution.executors.local import ProcessExecutor

needs_two_cores = pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="pinning needs the Linux affinity API and at least 2 cores",
)


WORKER_MODULE = """
import os, time

from anobench.record import CellResult

def affinity(cell):
    time.sleep(0.2)
    where = {"pid": os.getpid(), "cores": sorted(os.sched_getaffinity(0))}
    return CellResult.for_cell(
        cell, status="ok", anobench_version="0", finished_at="t", environment=where
    )

def dies_on_3(cell):
    if cell.seed == 3:
        os._exit(3)
    return affinity(cell)

def failure(cell, status, message):
    return CellResult.for_cell(
        cell, status=status, error=message, anobench_version="0", finished_at="t"
    )
"""


@pytest.fixture
def worker_fns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Cell functions in a module that spawned workers can import (they inherit sys.path)."""
    (tmp_path / "pin_probe.py").write_text(WORKER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return importlib.import_module("pin_probe")


def _run(fns: Any, jobs: int, make_cell: Any) -> list[dict[str, Any]]:
    cells = [make_cell(i) for i in range(8)]
    runs = ProcessExecutor(jobs).run(cells, fns.affinity, fns.failure)
    return [{**record.environment, "cell": record.cell_id} for _, record in runs]


@needs_two_cores
def test_workers_are_pinned_to_disjoint_cores(worker_fns: Any, make_cell: Any) -> None:
    records = _run(worker_fns, 2, make_cell)
    assert len(records) == 8 and all("cores" in r for r in records)
    by_pid = {r["pid"]: tuple(r["cores"]) for r in records}
    threads = len(os.sched_getaffinity(0)) // 2
    assert all(len(cores) == threads for cores in by_pid.values())
    allowed = set(os.sched_getaffinity(0))
    assert all(set(cores) <= allowed for cores in by_pid.values())
    # workers alive together hold different cores
    assert len(set(by_pid.values())) == len(by_pid)


@needs_two_cores
def test_pinning_can_be_turned_off(
    worker_fns: Any, monkeypatch: pytest.MonkeyPatch, make_cell: Any
) -> None:
    monkeypatch.setenv("ANOBENCH_PIN_WORKERS", "0")
    allowed = sorted(os.sched_getaffinity(0))
    assert all(r["cores"] == allowed for r in _run(worker_fns, 2, make_cell))


def test_one_job_or_too_few_cores_means_no_pinning() -> None:
    assert core_groups(1, 4) == []
    if hasattr(os, "sched_getaffinity"):
        n = len(os.sched_getaffinity(0))
        assert core_groups(n + 1, 1) == []
        groups = core_groups(n, 1)
        assert sorted(c for g in groups for c in g) == sorted(os.sched_getaffinity(0))


@needs_two_cores
def test_a_replacement_worker_gets_the_dead_workers_cores(worker_fns: Any, make_cell: Any) -> None:
    """A worker that died (here: ``os._exit`` in cell 3) is replaced by one pinned to the
    same cores, so two live workers never share a core."""
    cells = [make_cell(i) for i in range(8)]
    runs = ProcessExecutor(2).run(cells, worker_fns.dies_on_3, worker_fns.failure)
    records = {r.cell_id: {**r.environment, "message": r.error} for _, r in runs}
    assert "worker process died (exit code 3)" in records["c3"]["message"]
    live = [r for r in records.values() if "cores" in r]
    assert len(live) == 7
    assert len({r["pid"] for r in live}) == 3  # two workers, one replaced
    groups = {tuple(r["cores"]) for r in live}
    threads = len(os.sched_getaffinity(0)) // 2
    assert len(groups) == 2 and all(len(g) == threads for g in groups)
