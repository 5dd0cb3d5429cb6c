"""Runner: failures are recorded and isolated; results are cached and resumable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from anobench.data.io import write_json_atomic
from anobench.execution.cell import run_cell
from anobench.execution.driver import run_suite
from anobench.execution.store import RunStore
from anobench.plan.expansion import expand
from anobench.plan.suite import Suite
from anobench.record import CellResult
from anobench.registry import dataset_registry, detector_registry
from anobench.types import Status

PLUGIN = {
    "plugin-mean": "anobench_bad_plugin:Mean",
    "plugin-raises": "anobench_bad_plugin:Raises",
    "plugin-hangs": "anobench_bad_plugin:Hangs",
    "plugin-nan": "anobench_bad_plugin:ReturnsNaN",
    "plugin-crashes": "anobench_bad_plugin:Crashes",
    "plugin-broken": "anobench_no_such_module:Detector",
}


def test_raising_hanging_nan_and_crashing_detectors_are_recorded(
    make_plugin, tmp_path: Path
) -> None:
    make_plugin("anobench_bad_plugin", PLUGIN)
    detectors = detector_registry()  # found on sys.path like any installed plugin
    suite = Suite(
        name="bad",
        detectors=list(PLUGIN),
        datasets=["wine", "breast-cancer"],
        protocols=["novelty"],
        seeds=[0],
        time_budget=5,
    )
    summary = run_suite(suite, tmp_path / "run", detectors, dataset_registry(), jobs=2)
    records = {(r["detector"], r["dataset"]): r for r in RunStore(tmp_path / "run").records()}
    assert len(records) == 12 and summary.ran == 12
    for ds in ("wine", "breast-cancer"):
        assert records[("plugin-mean", ds)]["status"] == "ok"
        assert records[("plugin-raises", ds)]["status"] == "error"
        assert "boom from the plugin" in records[("plugin-raises", ds)]["error"]
        assert records[("plugin-hangs", ds)]["status"] == "timeout"
        assert "time budget of 5 s" in records[("plugin-hangs", ds)]["error"]
        assert records[("plugin-nan", ds)]["status"] == "error"
        assert "non-finite scores" in records[("plugin-nan", ds)]["error"]
        assert records[("plugin-crashes", ds)]["status"] == "error"
        assert "worker process died" in records[("plugin-crashes", ds)]["error"]
        assert records[("plugin-broken", ds)]["status"] == "skipped"
        assert "anobench_no_such_module" in records[("plugin-broken", ds)]["error"]


def test_record_contents(tmp_path: Path) -> None:
    suite = Suite(
        name="one", detectors=["iforest"], datasets=["wine"], protocols=["novelty"], seeds=[0]
    )
    record = run_cell(expand(suite, detector_registry(), dataset_registry())[0])
    assert record["status"] == "ok", record.get("error")
    for key in (
        "roc_auc",
        "ap",
        "precision_at_n",
        "fit_seconds",
        "score_seconds",
        "total_seconds",
        "peak_rss_mb",
        "sanity",
        "split",
        "environment",
        "thresholds",
    ):
        assert key in record, key
    assert record["split"]["n_train_anomalies"] == 0
    assert record["environment"]["packages"]["scikit-learn"]
    assert record["thresholds"]["top-k"]["oracle"] is True
    assert isinstance(record, CellResult) and record.status is Status.OK
    arrays = record.arrays  # the store writes these to scores/<id>.npz
    assert arrays is not None
    assert arrays["scores"].shape == arrays["y_test"].shape == (record["split"]["n_test"],)
    json.dumps(record.to_json())  # the rest is storable as JSON
    store = RunStore(tmp_path)
    store.put(record)
    assert record.arrays is None  # handed to the store
    assert store.get(record["cell_id"])["scores_file"] == f"scores/{record['cell_id']}.npz"
    assert np.array_equal(store.scores(record["cell_id"])["scores"], arrays["scores"])


def test_cache_hit_force_and_retry_failed(tmp_path: Path) -> None:
    suite = Suite(
        name="c", detectors=["pca"], datasets=["wine"], protocols=["novelty"], seeds=[0, 1]
    )
    det, ds = detector_registry(), dataset_registry()
    first = run_suite(suite, tmp_path, det, ds)
    assert (first.ran, first.cached) == (2, 0)
    assert run_suite(suite, tmp_path, det, ds).ran == 0
    assert run_suite(suite, tmp_path, det, ds, force=True).ran == 2
    store = RunStore(tmp_path)
    record = next(store.records())
    store.put({**record, "status": "error"})
    assert run_suite(suite, tmp_path, det, ds).ran == 0
    assert run_suite(suite, tmp_path, det, ds, retry_failed=True).ran == 1
    # a corrupt record (e.g. disk full) is treated as missing, not fatal
    store.path(record["cell_id"]).write_text("{not json")
    assert run_suite(suite, tmp_path, det, ds).ran == 1


def test_atomic_write_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "cells" / "x.json"
    with pytest.raises(TypeError):
        write_json_atomic(target, {"bad": object()})
    assert not target.exists() and list(target.parent.iterdir()) == []


def _metrics(run_dir: Path) -> dict[str, tuple]:
    return {
        r["cell_id"]: (
            r["status"],
            r.get("roc_auc"),
            r.get("ap"),
            r.get("thresholds", {}).get("train-quantile", {}).get("f1"),
        )
        for r in RunStore(run_dir).records()
    }


@pytest.mark.faults
def test_killed_run_resumes_to_the_same_results(tmp_path: Path) -> None:
    suite_file = tmp_path / "resume.toml"
    suite_file.write_text(
        'name = "resume"\nprotocols = ["novelty", "unsupervised"]\nseeds = [0, 1, 2]\n'
        'detectors = ["iforest", "pyod-knn", "pca", "gmm", "kde", "pyod-copod"]\n'
        'datasets = ["wine", "breast-cancer", "blobs-local", "digits-0"]\n'
    )
    cli = [sys.executable, "-m", "anobench.cli", "run", str(suite_file), "--jobs", "2", "--quiet"]
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [*cli, "--out", str(killed)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 240
    while time.time() < deadline and len(list((killed / "cells").glob("*.json"))) < 20:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the runner and its workers, mid-flight
    proc.wait()
    n_before = len(_metrics(killed))
    assert 20 <= n_before < 144, n_before

    out = subprocess.run([*cli, "--out", str(killed)], capture_output=True, text=True, check=True)
    assert f"{n_before} already done, ran {144 - n_before}" in out.stdout
    full = tmp_path / "full"
    subprocess.run([*cli, "--out", str(full)], capture_output=True, text=True, check=True)
    assert _metrics(killed) == _metrics(full)
    assert all(v[0] == "ok" for v in _metrics(full).values())
