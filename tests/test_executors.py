"""The process executor: worker core pinning (XLA:CPU has no working thread limit)."""

from __future__ import annotations

import importlib
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from anobench.executors import ProcessExecutor, _claim_cores, core_groups
from anobench.types import Cell

needs_two_cores = pytest.mark.skipif(
    not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="pinning needs the Linux affinity API and at least 2 cores",
)


def _cell(i: int) -> Cell:
    return Cell(
        cell_id=f"c{i}",
        suite="t",
        detector="d",
        detector_ref="x:y",
        params={},
        dataset="s",
        dataset_ref="x:z",
        data_fingerprint="",
        protocol="novelty",
        seed=i,
        split_seed=i,
        model_seed=i,
        time_budget=30.0,
    )


WORKER_MODULE = """
import os, time

def affinity(cell):
    time.sleep(0.2)
    return {"pid": os.getpid(), "cores": sorted(os.sched_getaffinity(0))}

def failure(cell, status, message):
    return {"status": str(status), "message": message}
"""


@pytest.fixture
def worker_fns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Cell functions in a module that spawned workers can import (they inherit sys.path)."""
    (tmp_path / "pin_probe.py").write_text(WORKER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return importlib.import_module("pin_probe")


def _run(fns: Any, jobs: int) -> list[dict[str, Any]]:
    cells = [_cell(i) for i in range(8)]
    return [record for _, record in ProcessExecutor(jobs).run(cells, fns.affinity, fns.failure)]


@needs_two_cores
def test_workers_are_pinned_to_disjoint_cores(worker_fns: Any) -> None:
    records = _run(worker_fns, 2)
    assert len(records) == 8 and all("cores" in r for r in records)
    by_pid = {r["pid"]: tuple(r["cores"]) for r in records}
    threads = len(os.sched_getaffinity(0)) // 2
    assert all(len(cores) == threads for cores in by_pid.values())
    allowed = set(os.sched_getaffinity(0))
    assert all(set(cores) <= allowed for cores in by_pid.values())
    # workers alive together hold different cores
    assert len(set(by_pid.values())) == len(by_pid)


@needs_two_cores
def test_pinning_can_be_turned_off(worker_fns: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANOBENCH_PIN_WORKERS", "0")
    allowed = sorted(os.sched_getaffinity(0))
    assert all(r["cores"] == allowed for r in _run(worker_fns, 2))


def test_one_job_or_too_few_cores_means_no_pinning() -> None:
    assert core_groups(1, 4) == []
    if hasattr(os, "sched_getaffinity"):
        n = len(os.sched_getaffinity(0))
        assert core_groups(n + 1, 1) == []
        groups = core_groups(n, 1)
        assert sorted(c for g in groups for c in g) == sorted(os.sched_getaffinity(0))


@needs_two_cores
def test_a_dead_workers_cores_are_claimed_again() -> None:
    """A worker killed for overrunning its budget leaves its group to its replacement,
    while a live worker's group stays taken."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    allowed = sorted(os.sched_getaffinity(0))
    groups = [[allowed[0]], [allowed[1]]]
    owners = multiprocessing.get_context("spawn").Array("i", [os.getppid(), dead.pid])
    try:
        assert _claim_cores(groups, owners) == [allowed[1]]
        assert list(owners) == [os.getppid(), os.getpid()]
        assert sorted(os.sched_getaffinity(0)) == [allowed[1]]
        # every group held by a live process: no pinning
        owners[1] = os.getppid()
        assert _claim_cores(groups, owners) is None
    finally:
        os.sched_setaffinity(0, allowed)
