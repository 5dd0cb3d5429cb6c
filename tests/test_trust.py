"""Numbers tied to the code and data that made them; run directories that never mix
configurations; oracle marks in every file; damaged or older records never break a run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from anobench.data.spec import DatasetSpec
from anobench.execution.driver import run_suite
from anobench.execution.store import RunStore
from anobench.plan.expansion import expand
from anobench.plan.suite import Suite
from anobench.registry import Registry, dataset_registry, detector_registry
from anobench.report.build import write_report
from anobench.results.table import run_frame

MEAN = '''
import numpy as np
from anobench.contract import BaseDetector

class Mean(BaseDetector):
    """Distance to the training mean."""
    name = "plugin-mean"
    def _fit(self, X):
        self.mean_ = X.mean(axis=0)
    def _score(self, X):
        return {sign}np.sum((X - self.mean_) ** 2, axis=1)
'''


def _plugin(make_plugin, name: str, sign: str = "", *, editable: bool) -> Path:
    root = Path(make_plugin(name, {"plugin-mean": f"{name}:Mean"}, source=MEAN.format(sign=sign)))
    if editable:  # PEP 610: what `pip install -e` writes
        info = next(root.glob("*.dist-info"))
        (info / "direct_url.json").write_text(
            json.dumps({"url": f"file://{root}", "dir_info": {"editable": True}})
        )
    return root


def _suite(**kw: object) -> Suite:
    base: dict = dict(
        name="t", detectors=["plugin-mean"], datasets=["wine"], protocols=["novelty"], seeds=[0]
    )
    base.update(kw)
    return Suite.model_validate(base)


def test_an_edited_local_plugin_gets_its_cells_rerun(make_plugin, tmp_path: Path) -> None:
    root = _plugin(make_plugin, "edited_plugin", editable=True)
    out = tmp_path / "run"
    first = run_suite(_suite(), out, detector_registry(), dataset_registry())
    assert first.ran == 1
    auc = next(RunStore(out).records())["roc_auc"]
    # flip the sign in the plugin's source: same name, same version, new code
    module = root / "edited_plugin" / "__init__.py"
    module.write_text(module.read_text().replace("return np.sum", "return -np.sum"))
    second = run_suite(_suite(), out, detector_registry(), dataset_registry())
    assert second.cached == 0 and second.ran == 1
    frame = run_frame(RunStore(out)).frame
    assert frame["roc_auc"].iloc[0] == pytest.approx(1 - auc)
    record = RunStore(out).get(frame["cell_id"].iloc[0])
    assert record is not None
    code = record["provenance"]["detector"]
    assert code["distribution"] == "edited_plugin" and code["version"] == "0.1"
    assert code["source"]  # a local install is named by its source hash


def test_a_version_bump_changes_the_cell_id(make_plugin) -> None:
    root = _plugin(make_plugin, "versioned_plugin", editable=False)
    before = expand(_suite(), detector_registry(), dataset_registry())[0]
    # a release: its version names it, and its source is hashed too (it may be edited
    # in place, issue 25 item 8)
    assert before.provenance["detector"]["source"]
    info = next(root.glob("*.dist-info"))
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: versioned_plugin\nVersion: 0.2\n")
    info.rename(info.with_name("versioned_plugin-0.2.dist-info"))
    after = expand(_suite(), detector_registry(), dataset_registry())[0]
    assert after.provenance["detector"]["version"] == "0.2"
    assert after.cell_id != before.cell_id


def test_the_harness_code_takes_part_in_the_cell_id(monkeypatch: pytest.MonkeyPatch) -> None:
    suite = _suite(detectors=["iforest"])
    a = expand(suite, detector_registry(), dataset_registry())[0]
    monkeypatch.setattr(
        "anobench.plan.expansion.harness_identity", lambda: {"anobench": "x", "source": "changed"}
    )
    b = expand(suite, detector_registry(), dataset_registry())[0]
    assert a.cell_id != b.cell_id and a.provenance["harness"] != b.provenance["harness"]


def test_the_fingerprint_reads_the_data(tmp_path: Path) -> None:
    path = tmp_path / "plant.csv"
    rng = np.random.default_rng(0)

    def write(n: int) -> None:
        frame = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"])
        frame["y"] = (np.arange(n) % 10 == 0).astype(int)
        frame.to_csv(path, index=False)

    def load() -> tuple[np.ndarray, np.ndarray]:
        frame = pd.read_csv(path)
        return frame[["a", "b", "c"]].to_numpy(), frame["y"].to_numpy()

    spec = DatasetSpec("plant", "tabular", load)
    write(2000)
    before = spec.fingerprint()
    assert spec.fingerprint() == before  # deterministic
    split = spec.split("novelty", 0)
    assert split.metadata["data_fingerprint"] == before
    write(1500)
    assert spec.fingerprint() != before
    assert spec.split("novelty", 0).metadata["n_rows"] == 1500


def _records(out: Path) -> list[dict]:
    return list(RunStore(out).records())


def test_a_changed_suite_reports_only_its_own_cells_and_names_the_stale(tmp_path: Path) -> None:
    out = tmp_path / "run"
    registry = detector_registry(), dataset_registry()
    run_suite(_suite(detectors=["iforest"], seeds=[0, 1]), out, *registry)
    changed = _suite(detectors=["iforest"], seeds=[0, 1], test_size=0.3)
    run_suite(changed, out, *registry)
    store = RunStore(out)
    assert len(_records(out)) == 4 and len(store.stale_ids()) == 2
    covered = run_frame(store)
    assert len(covered.frame) == 2 and len(covered.stale) == 2
    assert len(store.invocations()) == 2  # the history is kept, not overwritten
    report = write_report(out, plots=False)
    page = (report / "index.html").read_text()
    assert "2 stale record(s)" in page and "anobench prune" in page
    results = pd.read_csv(report / "results.csv")
    assert len(results) == 2
    assert store.prune() == sorted(covered.stale["cell_id"])  # exactly the named ones
    assert len(_records(out)) == 2 and not store.stale_ids()


def test_cells_that_never_ran_are_shown_as_missing(tmp_path: Path) -> None:
    out = tmp_path / "run"
    suite = _suite(detectors=["iforest", "pca"], seeds=[0, 1])
    run_suite(suite, out, detector_registry(), dataset_registry())
    store = RunStore(out)
    victim = next(r for r in store.records() if r["detector"] == "pca")
    store.path(victim["cell_id"]).unlink()  # as if the run had been killed before it
    covered = run_frame(store)
    assert covered.n_missing == 1
    report = write_report(out, plots=False)
    assert "1 missing" in (report / "leaderboard_novelty_roc_auc.md").read_text()
    assert "never ran" in (report / "index.html").read_text()


def test_oracle_marks_appear_in_every_csv(tmp_path: Path) -> None:
    out = tmp_path / "run"
    suite = _suite(detectors=["iforest", "pca", "pyod-knn"], datasets=["wine", "breast-cancer"])
    run_suite(suite, out, detector_registry(), dataset_registry())
    report = write_report(out, plots=False)
    results = pd.read_csv(report / "results.csv")
    assert {"oracle:f1@top-k", "oracle:f1@best-f1", "oracle:precision_at_n"} <= set(results.columns)
    assert "f1@train-quantile" in results.columns  # label-free: no mark
    csvs = sorted(report.glob("*_f1_at_top-k*.csv"))
    assert {p.name.split("_novelty")[0] for p in csvs} == {"leaderboard", "stats", "pvalues", "poi"}
    for path in csvs:
        assert path.stem.endswith("_oracle")
        assert pd.read_csv(path)["oracle"].all()
    label_free = pd.read_csv(report / "leaderboard_novelty_f1_at_train-quantile.csv")
    assert not label_free["oracle"].any()


def test_true_contamination_is_an_oracle_policy(tmp_path: Path) -> None:
    out = tmp_path / "run"
    run_suite(
        _suite(detectors=["iforest"], expected_contamination="data"),
        out,
        detector_registry(),
        dataset_registry(),
    )
    record = _records(out)[0]
    assert "train-quantile" not in record["thresholds"]
    assert record["thresholds"]["true-quantile"]["oracle"] is True
    report = write_report(out, plots=False)
    assert (report / "leaderboard_novelty_f1_at_true-quantile_oracle.csv").is_file()


def test_damaged_and_older_records_are_treated_as_missing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "run"
    suite = _suite(detectors=["iforest", "pca", "ocsvm", "gmm"])
    run_suite(suite, out, detector_registry(), dataset_registry())
    store = RunStore(out)
    ids = sorted(r["cell_id"] for r in store.records())
    old = {**store.get(ids[3]), "schema_version": 1}  # type: ignore[dict-item]
    contents = ("[]", "{}", '{"cell_id": "x"}', json.dumps(old))
    for cell_id, content in zip(ids, contents, strict=True):
        store.path(cell_id).write_text(content)
    store.scores_path(ids[0]).write_bytes(b"PK\x03\x04 truncated")
    assert store.scores(ids[0]) is None
    assert not list(store.records())
    assert "schema 1" in caplog.text and ids[0] in caplog.text
    again = run_suite(suite, out, detector_registry(), dataset_registry())
    assert again.ran == 4 and {r["status"] for r in store.records()} == {"ok"}


def test_record_of_another_schema_gets_a_clear_message() -> None:
    from anobench.record import CellResult, RecordError

    with pytest.raises(RecordError, match="schema 1 .* reads schema"):
        CellResult.parse({"cell_id": "x"}, source="cells/x.json")
    with pytest.raises(RecordError, match="not a cell record"):
        CellResult.parse([], source="cells/y.json")


def test_registry_of_fake_plugins_is_independent(tmp_path: Path) -> None:
    # a registry built from a fake source still expands with provenance
    from importlib.metadata import EntryPoint

    reg = Registry(
        "anobench.detectors",
        source=lambda: [
            EntryPoint("iforest", "anobench.detectors.classical:IForest", "anobench.detectors")
        ],
    )
    cell = expand(_suite(detectors=["iforest"]), reg, dataset_registry())[0]
    assert cell.provenance["detector"]["distribution"] == "unknown"
    assert cell.provenance["detector"]["source"]  # no distribution: named by its source
