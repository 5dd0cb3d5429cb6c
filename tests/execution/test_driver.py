"""Driving a suite: each cell runs once and is stored, a rerun resumes from the records,
--force reruns everything, --retry-failed reruns what failed, and run.json names the
cells the report covers."""

from __future__ import annotations

from pathlib import Path

import pytest

from anobench.execution import driver
from anobench.execution.cell import failure_record
from anobench.execution.driver import run_suite
from anobench.execution.executors.local import InProcessExecutor
from anobench.execution.store import RunStore
from anobench.plan.suite import Suite
from anobench.record import CellResult
from anobench.registry import dataset_registry, detector_registry
from anobench.types import Status

SUITE = Suite.model_validate(
    {"name": "t", "detectors": {"pca": {}},
     "datasets": {"blobs-local": {"max_train": 80, "max_test": 80}},
     "protocols": ["novelty"], "seeds": [0, 1]}
)  # fmt: skip


def _run(out: Path, **options: object):
    return run_suite(
        SUITE, out, detector_registry(), dataset_registry(), executor=InProcessExecutor(),
        **options,  # type: ignore[arg-type]
    )  # fmt: skip


def test_cells_run_once_then_resume(tmp_path: Path) -> None:
    seen: list[CellResult] = []
    first = _run(tmp_path, on_result=seen.append)
    assert (first.ran, first.cached, first.by_status) == (2, 0, {"ok": 2})
    assert all(isinstance(r, CellResult) and r.status is Status.OK for r in seen)
    store = RunStore(tmp_path)
    assert sorted(c["cell_id"] for c in store.expansion() or []) == sorted(r.cell_id for r in seen)
    again = _run(tmp_path)
    assert (again.ran, again.cached) == (0, 2)
    forced = _run(tmp_path, force=True)
    assert forced.ran == 2
    assert {r.cell_id: r.roc_auc for r in store.records()} == {r.cell_id: r.roc_auc for r in seen}


def test_failed_cells_rerun_only_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(driver, "run_cell", lambda cell: failure_record(cell, Status.ERROR, "boom"))
    assert _run(tmp_path).by_status == {"error": 2}
    monkeypatch.undo()
    assert _run(tmp_path).ran == 0  # a failure is a result too
    retried = _run(tmp_path, retry_failed=True)
    assert retried.ran == 2 and retried.by_status == {"ok": 2}
