"""Detectors by reference in a suite (module:Class, file.py:Class), adapters for PyOD and
scikit-learn estimators, the orientation check, and validated plugins."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone

from anobench import testing
from anobench.execution.driver import run_suite
from anobench.execution.store import RunStore
from anobench.plan.expansion import expand
from anobench.plan.imports import BadReferenceError, detector_class
from anobench.plan.orientation import check_orientation
from anobench.plan.suite import SuiteError, load_suite
from anobench.registry import UnavailableError, dataset_registry, detector_registry

DET, DS = detector_registry(), dataset_registry()

#: a user's detector file (tests/fixtures/centroid.py)
CENTROID = (Path(__file__).resolve().parents[1] / "fixtures" / "centroid.py").read_text()
MY_DETECTORS = CENTROID + '''

class Backwards(Centroid):
    """Returns normality where anomaly scores are expected."""
    def anomaly_score(self, X):
        return -super().anomaly_score(X)

class NotADetector:
    def __init__(self):
        pass
'''


def _suite(tmp_path: Path, detectors: str, datasets: str = "[datasets.wine]") -> Path:
    (tmp_path / "mydet.py").write_text(MY_DETECTORS)
    path = tmp_path / "s.toml"
    text = f'name = "refs"\nprotocols = ["novelty"]\nseeds = [0]\n{detectors}\n{datasets}\n'
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("ref", "source"),
    [
        ("sklearn.ensemble:IsolationForest", "-score_samples"),
        ("sklearn.neighbors:LocalOutlierFactor", "-score_samples"),
        ("sklearn.svm:OneClassSVM", "-score_samples"),
        ("pyod.models.iforest:IForest", "decision_function"),
        ("pyod.models.knn:KNN", "decision_function"),
    ],
)
def test_foreign_estimators_are_adapted_higher_more_anomalous(ref: str, source: str) -> None:
    cls = detector_class(ref)
    assert cls.score_source == source
    params = {"novelty": True} if "LocalOutlier" in ref else {}
    probe = check_orientation("x", ref, params)
    assert probe.auc > 0.9 and not probe.batch_dependent
    testing.check_separates_toy_data(cls, params)
    det = cls(**params)
    assert clone(det).get_params() == det.get_params()
    X, X_test, _ = testing.toy_data()
    det.fit(X)
    twin = pickle.loads(pickle.dumps(det))  # the adapter class is rebuilt from its reference
    assert np.allclose(twin.anomaly_score(X_test), det.anomaly_score(X_test))


def test_adapter_keeps_the_estimators_parameters() -> None:
    cls = detector_class("sklearn.ensemble:IsolationForest")
    assert {"n_estimators", "max_samples", "random_state"} <= set(cls.param_names())
    det = cls(n_estimators=7, random_state=0).fit(testing.toy_data()[0])
    assert det.estimator_.n_estimators == 7
    with pytest.raises(TypeError, match="no parameter 'n_trees'"):
        cls(n_trees=3)


def test_suite_runs_references_with_their_identity_in_the_cell(tmp_path: Path) -> None:
    path = _suite(
        tmp_path,
        '[detectors.iso50]\nref = "sklearn.ensemble:IsolationForest"\nn_estimators = [20, 50]\n'
        '[detectors.piso]\nref = "pyod.models.iforest:IForest"\n'
        '[detectors.cent]\nref = "mydet.py:Centroid"\n[detectors.iforest]\n',
    )
    suite = load_suite(path)
    cells = expand(suite, DET, DS)
    # the grid's default (IsolationForest's n_estimators=100) runs apart for selection
    assert sorted(c.label for c in cells) == [
        "cent", "iforest", "iso50", "iso50(n_estimators=20)", "iso50(n_estimators=50)", "piso"
    ]  # fmt: skip
    by = {c.detector: c for c in cells}
    assert by["iso50"].provenance["detector"]["ref"] == "sklearn.ensemble:IsolationForest"
    assert by["iso50"].provenance["detector"]["distribution"] == "scikit-learn"
    assert by["piso"].provenance["detector"]["distribution"] == "pyod"
    assert by["cent"].provenance["detector"]["source"]  # the file's hash
    assert by["cent"].detector_ref == f"{tmp_path / 'mydet.py'}:Centroid"
    summary = run_suite(suite, tmp_path / "run", DET, DS, jobs=1)
    assert summary.by_status.get("ok") == 6, summary
    records = RunStore(tmp_path / "run").records()
    assert all(r["roc_auc"] > 0.8 for r in records)
    # editing the file changes the ids of its cells only
    (tmp_path / "mydet.py").write_text(MY_DETECTORS + "\n# edited\n")
    again = {c.detector: c.cell_id for c in expand(load_suite(path), DET, DS)}
    assert again["cent"] != by["cent"].cell_id
    assert again["iforest"] == by["iforest"].cell_id


def test_wrong_orientation_is_the_cells_error_naming_the_detector(tmp_path: Path) -> None:
    path = _suite(
        tmp_path,
        '[detectors.back]\nref = "mydet.py:Backwards"\n'
        '[detectors.cent]\nref = "mydet.py:Centroid"\npower = [2.0, -1.0]\n',
    )
    run_suite(load_suite(path), tmp_path / "run", DET, DS, jobs=1)
    by = {r["label"]: r for r in RunStore(tmp_path / "run").records()}
    assert by["back"]["status"] == "error"
    assert "'back'" in by["back"]["error"] and "wrong direction: ROC-AUC 0.0" in by["back"]["error"]
    # every configuration of a grid is checked, not only the first
    assert by["cent(power=2.0)"]["status"] == "ok"
    assert "wrong direction" in by["cent(power=-1.0)"]["error"]
    assert by["cent(power=2.0)"]["detector_flags"]["toy_roc_auc"] > 0.9


def test_batch_dependent_reference_is_measured_and_marked(tmp_path: Path) -> None:
    path = _suite(tmp_path, '[detectors.ecod]\nref = "pyod.models.ecod:ECOD"\n')
    run_suite(load_suite(path), tmp_path / "run", DET, DS, jobs=1)
    (record,) = RunStore(tmp_path / "run").records()
    assert record["status"] == "ok" and record["detector_flags"]["transductive"] is True
    assert "train-quantile" not in (record.get("thresholds") or {})  # no label-free F1
    assert "transductive" in record["calibration"]["error"]


def test_an_edited_file_is_new_code_in_a_long_lived_process(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text("SIGN = 1.0\n")
    code = (
        "import numpy as np\nfrom helper import SIGN\n"
        "class D:\n    def __init__(self):\n        pass\n"
        "    def fit(self, X, y=None):\n        self.m_ = X.mean(0)\n        return self\n"
        "    def anomaly_score(self, X):\n"
        "        return SIGN * WEIGHT * ((X - self.m_) ** 2).sum(1)\n"
    )
    (tmp_path / "edited.py").write_text(code + "WEIGHT = 1.0\n")
    ref = f"{tmp_path / 'edited.py'}:D"
    assert check_orientation("d", ref, {}).auc > 0.9  # imports its helper beside it
    from anobench.plan.imports import file_source_hash

    before = file_source_hash(ref)
    (tmp_path / "edited.py").write_text(code + "WEIGHT = -1.0\n")
    with pytest.raises(BadReferenceError, match="wrong direction"):
        check_orientation("d", ref, {})
    (tmp_path / "helper.py").write_text("SIGN = -1.0\n")  # a helper's edit changes the id
    assert file_source_hash(ref) != before


def test_adapter_errors_give_the_fix() -> None:
    X = testing.toy_data()[0]
    lof = detector_class("sklearn.neighbors:LocalOutlierFactor")
    with pytest.raises(ValueError, match="cannot score new rows.*set novelty = true"):
        lof().fit(X).anomaly_score(X)
    needs = detector_class("sklearn.pipeline:Pipeline")  # steps has no default
    with pytest.raises(TypeError, match="needs the parameter\\(s\\) 'steps'"):
        needs()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[detectors.x]\nref = "mydet.py:NotADetector"\n', "not a detector"),
        ('[detectors.x]\nref = "mydet.py:Nothing"\n', "has no 'Nothing'"),
        ('[detectors.x]\nref = "nosuchmodule:Thing"\n', "cannot import"),
        ('[detectors.x]\nref = "missing.py:Thing"\n', "no such file"),
        ('[detectors.iforest]\nref = "pyod.models.iforest:IForest"\n', "registered name"),
        ('[detectors.x]\nref = "sklearn.ensemble:IsolationForest"\nn_trees = 3\n', "n_trees"),
    ],
)
def test_bad_references_are_clear_suite_errors(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(SuiteError, match=message):
        expand(load_suite(_suite(tmp_path, table)), DET, DS)


def test_entry_point_that_is_not_a_detector_is_listed_unavailable(make_plugin) -> None:
    make_plugin(
        "skplug",
        {"skiso": "sklearn.ensemble:IsolationForest", "fn": "numpy:mean"},
        {"notspec": "numpy:zeros"},
    )
    det, ds = detector_registry(), dataset_registry()
    for registry, name, why in [
        (det, "skiso", "not an anobench detector.*by reference in a suite"),
        (det, "fn", "is not a class"),
        (ds, "notspec", "not a data-set spec"),
    ]:
        with pytest.raises(UnavailableError, match=why):
            registry.load(name)
        assert registry.availability(name)
    assert det.availability("iforest") is None  # the rest still loads


def test_misspelt_modality_is_an_error_at_load(make_plugin) -> None:
    detector = textwrap.dedent(
        """
        from anobench.contract import BaseDetector

        class Odd(BaseDetector):
            modalities = ("tabular", "graph")
        """
    )
    dataset = textwrap.dedent(
        """
        from anobench.data.spec import DatasetSpec

        TYPO = DatasetSpec(name="typo", modality="tabluar", load=lambda: None)
        """
    )
    make_plugin("modplug", {"odd": "modplug:Odd"}, source=detector)
    make_plugin("typoplug", {}, {"typo": "typoplug:TYPO"}, source=dataset)
    with pytest.raises(UnavailableError, match="'tabluar' is not one of.*Did you mean 'tabular'"):
        dataset_registry().load("typo")
    with pytest.raises(UnavailableError, match="'graph' is not one of"):
        detector_registry().load("odd")


def test_reference_errors_are_value_errors() -> None:
    assert issubclass(BadReferenceError, ValueError)
    with pytest.raises(BadReferenceError, match="must be 'module:Class'"):
        detector_class("no-colon")


def test_cli_filters_keep_file_references_relative_to_the_suite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from anobench.cli import main

    path = _suite(tmp_path, '[detectors.cent]\nref = "mydet.py:Centroid"\n[detectors.iforest]\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    out = tmp_path / "run"
    assert main(["run", str(path), "--detectors", "cent", "--out", str(out), "--no-report"]) == 0
    records = RunStore(out).records()
    assert [r["status"] for r in records] == ["ok"]
