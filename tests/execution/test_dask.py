"""The Dask executor on a local cluster of 2 workers: the same cells and bit-identical
results as a local run, the local isolation kept on each worker, and a lost worker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from anobench.execution.driver import run_suite
from anobench.execution.executors.dask import DaskExecutor
from anobench.execution.store import RunStore
from anobench.plan.suite import Suite
from anobench.registry import dataset_registry, detector_registry

pytest.importorskip("distributed")

FAULTS = Path(__file__).parent / "fault_plugin.py"


def _results(run_dir: Path) -> dict[str, tuple[Any, ...]]:
    store = RunStore(run_dir)
    out = {}
    for record in store.records():
        arrays = store.scores(record["cell_id"])
        scores = None if arrays is None else arrays["scores"]
        out[record["cell_id"]] = (record["status"], record.get("roc_auc"), record.get("ap"), scores)
    return out


@pytest.mark.slow
def test_dask_gives_the_cells_and_numbers_of_a_local_run(tmp_path: Path) -> None:
    suite = Suite(
        name="dask",
        protocols=["novelty"],
        seeds=[0, 1],
        detectors=["iforest", "pca", "ae"],
        datasets=["wine"],
    )
    regs = detector_registry(), dataset_registry()
    run_suite(suite, tmp_path / "local", *regs, jobs=2)
    summary = run_suite(suite, tmp_path / "dask", *regs, executor=DaskExecutor(workers=2))
    assert summary.by_status == {"ok": 6}
    local, dask = _results(tmp_path / "local"), _results(tmp_path / "dask")
    assert sorted(local) == sorted(dask)
    for cell_id, (status, auc, ap, scores) in local.items():
        assert dask[cell_id][:3] == (status, auc, ap)
        assert np.array_equal(dask[cell_id][3], scores)  # bit-identical, deep model too


@pytest.mark.faults
def test_dask_workers_keep_isolation_and_a_lost_worker_costs_one_cell(
    make_plugin: Callable[..., str], tmp_path: Path
) -> None:
    namespace: dict[str, Any] = {}
    source = FAULTS.read_text()
    exec(compile(source, "fault_plugin", "exec"), namespace)
    detectors = {
        "fault-mean": "anobench_faults:Mean",
        "fault-segfault": "anobench_faults:Segfault",
        "fault-hangs-ignoring-term": "anobench_faults:HangsIgnoringTerm",
        "fault-kills-its-host": "anobench_faults:KillsItsHost",
    }
    make_plugin("anobench_faults", detectors, source=source)
    suite = Suite(
        name="dask-faults",
        protocols=["novelty"],
        seeds=[0, 1],
        time_budget=8,
        detectors=list(detectors),
        datasets=["wine"],
    )
    run_dir = tmp_path / "run"
    run_suite(
        suite, run_dir, detector_registry(), dataset_registry(), executor=DaskExecutor(workers=2)
    )
    records = list(RunStore(run_dir).records())
    assert len(records) == 8  # every cell has its record
    by_detector: dict[str, list[dict]] = {}
    for record in records:
        by_detector.setdefault(record["detector"], []).append(record)
    assert {r["status"] for r in by_detector["fault-mean"]} == {"ok"}
    assert all("SIGSEGV" in r["error"] for r in by_detector["fault-segfault"])
    assert {r["status"] for r in by_detector["fault-hangs-ignoring-term"]} == {"timeout"}
    for record in by_detector["fault-kills-its-host"]:  # its worker died twice
        assert record["status"] == "error"
        assert "could not run the cell" in record["error"]


def test_simulated_scaling_is_linear_without_overheads_and_bounded_by_the_scheduler() -> None:
    from anobench.perf.scale import simulate

    even = simulate([1.0] * 64, 8, per_cell_s=0.0, dispatch_s=0.0)
    assert even.makespan_s == 8.0 and even.efficiency == 1.0
    # a scheduler that needs 0.5 s per task feeds at most 2 cells/s, whatever the workers
    bound = simulate([1.0] * 64, 32, per_cell_s=0.0, dispatch_s=0.5)
    assert bound.makespan_s == pytest.approx(33.0) and bound.efficiency < 0.1


def test_perf_scale_prints_every_table(capsys) -> None:
    from anobench.cli import main

    args = ["perf", "scale", "--workers", "1", "--cells", "3", "--overhead-cells", "4"]
    assert main([*args, "--simulate", "8", "--scale", "0.01", "--no-dask"]) == 0
    out = capsys.readouterr().out
    assert "harness overhead" in out and "simulated cluster" in out and "local" in out
