"""``anobench export RUN --mlflow URI``: one MLflow run per cell, read back with
mlflow's own client from a local file store."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from anobench.cli import main
from anobench.errors import UserError
from anobench.execution.store import RunStore

pytest.importorskip("mlflow")


def _run(tmp_path: Path, make_record: Callable[..., dict]) -> Path:
    """A run directory of three cells (two ok, one error) in the suite ``tiny``."""
    store = RunStore(tmp_path / "run")
    store.begin({"suite": {"name": "tiny"}}, [{"cell_id": c} for c in ("a", "b", "c")])
    thresholds = {
        "top-k": {"f1": 0.5, "precision": 0.5, "recall": 0.5, "fpr": 0.1, "oracle": True},
        "train-quantile": {"f1": 0.25, "precision": 0.2, "recall": 0.4, "oracle": False},
    }
    store.put(
        make_record(
            cell_id="a",
            detector="iforest",
            params={"n_estimators": 50},
            provenance={"detector": {"distribution": "anobench", "version": "0.1.0"}},
            roc_auc=0.875,
            ap=0.5,
            thresholds=thresholds,
            fit_seconds=0.25,
        )
    )
    store.put(make_record(cell_id="b", detector="pca", seed=1, roc_auc=0.625, ap=0.25))
    store.put(make_record(cell_id="c", detector="ocsvm", status="error", error="boom"))
    return store.root  # fmt: skip


def test_export_logs_one_mlflow_run_per_cell(
    tmp_path: Path, make_record, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3: file stores opt-in
    run_dir = _run(tmp_path, make_record)
    uri = (tmp_path / "mlruns").as_uri()
    assert uri.startswith("file://")
    assert main(["export", str(run_dir), "--mlflow", uri]) == 0
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("tiny")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert len(runs) == 3
    by_cell = {r.data.tags["anobench.cell_id"]: r for r in runs}
    a = by_cell["a"]
    assert a.data.metrics["roc_auc"] == pytest.approx(0.875)
    assert a.data.metrics["f1_at_top-k_oracle"] == pytest.approx(0.5)  # oracle marked
    assert a.data.metrics["f1_at_train-quantile"] == pytest.approx(0.25)
    assert a.data.metrics["fit_seconds"] == pytest.approx(0.25)
    assert a.data.params["detector"] == "iforest" and a.data.params["cell_id"] == "a"
    assert a.data.params["detector.n_estimators"] == "50"
    assert a.data.params["code.detector_distribution"] == "anobench"
    assert a.data.tags["status"] == "ok" and a.data.tags["suite"] == "tiny"
    assert by_cell["b"].data.params["seed"] == "1"
    failed = by_cell["c"]
    assert failed.data.tags["status"] == "error" and "roc_auc" not in failed.data.metrics
    assert failed.info.status == "FAILED" and a.info.status == "FINISHED"
    artifacts = [f.path for f in client.list_artifacts(a.info.run_id)]
    assert artifacts == ["record.json"]
    # a second export adds nothing; a new cell of the expansion is added alone
    assert main(["export", str(run_dir), "--mlflow", uri]) == 0
    assert len(client.search_runs([experiment.experiment_id])) == 3


def test_a_missing_mlflow_names_the_extra(
    tmp_path: Path, make_record, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from anobench.export.mlflow import export_run

    run_dir = _run(tmp_path, make_record)
    monkeypatch.setitem(sys.modules, "mlflow", None)
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    with pytest.raises(UserError, match=r"anobench\[mlflow\]"):
        export_run(run_dir, (tmp_path / "m").as_uri())
    assert main(["export", str(run_dir), "--mlflow"]) == 2
    assert "pip install 'anobench[mlflow]'" in capsys.readouterr().err


def test_export_is_idempotent_and_converges(
    tmp_path: Path, make_record, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 25, item 10: a run left incomplete by a killed export is replaced, a later
    record of a cell replaces its run, duplicates are removed: one complete run per cell
    holding the cell's current record."""
    from mlflow.tracking import MlflowClient

    from anobench.export.mlflow import record_digest

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    run_dir = _run(tmp_path, make_record)
    uri = (tmp_path / "mlruns").as_uri()
    client = MlflowClient(tracking_uri=uri)
    experiment_id = client.create_experiment("tiny")
    # an export killed after creating the run of cell a: RUNNING, no metrics, no marks
    stuck = client.create_run(experiment_id, tags={"anobench.cell_id": "a"}).info.run_id
    assert main(["export", str(run_dir), "--mlflow", uri]) == 0

    def by_cell() -> dict[str, list]:
        out: dict[str, list] = {}
        for run in client.search_runs([experiment_id]):
            out.setdefault(run.data.tags["anobench.cell_id"], []).append(run)
        return out

    runs = by_cell()
    assert {k: len(v) for k, v in runs.items()} == {"a": 1, "b": 1, "c": 1}
    assert runs["a"][0].info.run_id != stuck and runs["a"][0].data.metrics["roc_auc"] == 0.875
    # --retry-failed turned cell c into ok: its run follows the new record
    store = RunStore(run_dir)
    store.put(make_record(cell_id="c", detector="ocsvm", roc_auc=0.75, ap=0.5))
    # and a second export once logged cell b again (two exports at once)
    b = runs["b"][0].data.tags
    client.create_run(experiment_id, tags={k: b[k] for k in b if k.startswith("anobench.")})
    assert main(["export", str(run_dir), "--mlflow", uri]) == 0
    runs = by_cell()
    assert {k: len(v) for k, v in runs.items()} == {"a": 1, "b": 1, "c": 1}
    c = runs["c"][0]
    assert c.data.tags["status"] == "ok" and c.data.metrics["roc_auc"] == 0.75
    assert c.data.tags["anobench.record"] == record_digest(store.get("c"))
    # nothing left to do: a third export changes nothing
    assert main(["export", str(run_dir), "--mlflow", uri]) == 0
    assert {k: v[0].info.run_id for k, v in by_cell().items()} == {
        k: v[0].info.run_id for k, v in runs.items()
    }
