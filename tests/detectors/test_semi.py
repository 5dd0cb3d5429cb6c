"""The semi-supervised protocol: label budgets, label-using detectors (rf, ae-hist-rf,
deepsad) that see fit(X, y) only there, label-free detectors beside them on the same
rows, and the val-best-f1 threshold from a labelled validation part of the training rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from anobench import testing
from anobench.data.splits import SplitError, make_split, observed_labels
from anobench.execution.driver import run_suite
from anobench.execution.store import RunStore
from anobench.metrics.cell import METRICS, applies, evaluate
from anobench.plan.expansion import expand
from anobench.plan.suite import SuiteError, load_suite, parse_suite
from anobench.registry import dataset_registry, detector_registry
from anobench.types import Protocol, parse_protocol

DET, DS = detector_registry(), dataset_registry()


def test_protocol_names_carry_the_budget() -> None:
    assert parse_protocol("semi-supervised@0.05") == (Protocol.SEMI_SUPERVISED, 0.05)
    assert parse_protocol("semi-supervised@10") == (Protocol.SEMI_SUPERVISED, 10)
    assert parse_protocol("unsupervised") == (Protocol.UNSUPERVISED, None)
    for bad, message in [
        ("semi-supervised", "needs a label budget"),
        ("semi-supervised@0", "count >= 1"),
        ("semi-supervised@1.5", r"fraction in \(0, 1\]"),
        ("semi-supervised@lots", "not a number"),
        ("novelty@0.1", "takes no label budget"),
        ("semi-supervised@0.10", "as 'semi-supervised@0.1'"),  # one budget, one name
        ("semi-supervised@05", "as 'semi-supervised@5'"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_protocol(bad)
    with pytest.raises(SuiteError, match="needs a label budget"):
        parse_suite({"name": "s", "detectors": ["rf"], "datasets": ["wine"],
                     "protocols": ["semi-supervised"]})  # fmt: skip


def test_budget_labels_some_training_anomalies_of_the_unsupervised_split() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 3)), (np.arange(300) % 10 == 0).astype(int)
    free = make_split(X, y, "unsupervised", 3, name="t")
    for protocol, labelled in [("semi-supervised@0.25", 5), ("semi-supervised@2", 2),
                               ("semi-supervised@0.01", 1)]:  # fmt: skip
        semi = make_split(X, y, protocol, 3, name="t")
        assert np.array_equal(semi.X_train, free.X_train)  # the same rows as unsupervised
        assert np.array_equal(semi.X_test, free.X_test)
        observed = semi.y_train_observed
        assert observed is not None and set(np.unique(observed)) == {-1, 1}
        assert int((observed == 1).sum()) == labelled == semi.metadata["n_labelled_anomalies"]
        assert (semi.y_train[observed == 1] == 1).all()  # only true anomalies are labelled
    assert free.y_train_observed is None
    # labels that cannot be granted cost the label-using cells only: the split is made
    too_many = make_split(X, y, "semi-supervised@99", 3, name="t")
    assert too_many.y_train_observed is None
    assert "a label budget of 99 anomalies" in too_many.metadata["labels_unavailable"]
    y_fixed = y.copy()
    y_fixed[:150] = 0
    fixed = make_split(
        X, y_fixed, "semi-supervised@0.1", 3, name="t", train_mask=np.arange(300) < 150
    )
    assert fixed.y_train_observed is None and "no anomaly" in fixed.metadata["labels_unavailable"]
    with pytest.raises(SplitError, match="no anomaly"):
        observed_labels(np.zeros(5, dtype=int), 0.5, np.random.default_rng(0), "t")


def test_val_best_f1_reads_the_validation_labels_not_the_test_ones() -> None:
    y_test = np.r_[np.zeros(90), np.ones(10)].astype(int)
    test_scores = np.r_[np.linspace(0, 1, 90), np.linspace(2, 3, 10)]
    # validation: anomalies score above 5 only, so its best threshold is above 3 and
    # flags nothing in test (a test-label oracle would choose 2)
    val = (np.r_[np.linspace(0, 4, 40), np.linspace(5, 6, 4)], np.r_[np.zeros(40), np.ones(4)])
    out = evaluate(y_test, test_scores, None, 0.1, validation=val)
    chosen = out["thresholds"]["val-best-f1"]
    assert chosen["threshold"] >= 5 and chosen["recall"] == 0 and chosen["oracle"] is False
    assert out["thresholds"]["best-f1"]["f1"] == 1.0
    assert "val-best-f1" not in evaluate(y_test, test_scores, None)["thresholds"]
    assert "uses training labels" in METRICS["f1@val-best-f1"].title
    assert not applies("f1@val-best-f1", "unsupervised")
    assert applies("f1@val-best-f1", "semi-supervised@0.1")


def test_label_using_detectors_run_only_where_labels_are_granted(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(
        'name = "semi"\nseeds = [0]\n'
        'protocols = ["unsupervised", "semi-supervised@0.5", "semi-supervised@1"]\n'
        "[detectors.iforest]\n[detectors.rf]\nn_estimators = 50\n[datasets.breast-cancer]\n"
    )
    suite = load_suite(tmp_path / "s.toml")
    cells = expand(suite, DET, DS)
    assert sorted((c.detector, c.protocol) for c in cells) == [
        ("iforest", "semi-supervised@0.5"), ("iforest", "semi-supervised@1"),
        ("iforest", "unsupervised"), ("rf", "semi-supervised@0.5"), ("rf", "semi-supervised@1"),
    ]  # fmt: skip
    run_suite(suite, tmp_path / "run", DET, DS, jobs=1)
    records = {(r["detector"], r["protocol"]): r for r in RunStore(tmp_path / "run").records()}
    assert all(r["status"] == "ok" for r in records.values()), records
    # a label-free detector ignores the labels: the same numbers as unsupervised
    free = records[("iforest", "unsupervised")]
    for budget in ("0.5", "1"):
        semi = records[("iforest", f"semi-supervised@{budget}")]
        assert (semi["roc_auc"], semi["ap"]) == (free["roc_auc"], free["ap"])
        for policy, values in free["thresholds"].items():
            assert semi["thresholds"][policy] == values
        # val-best-f1 reads the granted labels only: as many anomalies as are labelled
        assert semi["validation"]["n_anomalies"] == semi["split"]["n_labelled_anomalies"]
        assert semi["thresholds"]["val-best-f1"]["oracle"] is False
    assert "val-best-f1" not in free["thresholds"]
    rf = records[("rf", "semi-supervised@0.5")]
    assert rf["split"]["n_labelled_anomalies"] > 1 and rf["detector_flags"]["uses_labels"]
    # a budget of one anomaly: the calibration fits keep it, the label-free F1s stay
    one = records[("rf", "semi-supervised@1")]
    assert one["split"]["n_labelled_anomalies"] == 1 and one["calibration"].get("error") is None
    assert one["calibration"]["labelled_rows_not_scored"] == 1
    assert "train-quantile" in one["thresholds"] and "val-best-f1" not in one["thresholds"]


def test_label_using_detector_needs_labelled_anomalies() -> None:
    X, _, _ = testing.toy_data()
    with pytest.raises(ValueError, match="no labelled anomaly"):
        DET.load("rf")().fit(X)
    with pytest.raises(ValueError, match=r"y must hold 1 \(anomaly\), 0 \(normal\) or -1"):
        DET.load("rf")().fit(X, np.full(len(X), 2))


def test_deep_sad_uses_the_labelled_anomalies() -> None:
    """The labelled anomalies are pushed away from the centre: relative to the normal
    training rows they score far higher than under Deep SVDD trained on the same rows
    without labels."""
    X_train, _, _ = testing.toy_for(DET.load("deepsad"))
    (y,) = testing.toy_labels(DET.load("deepsad"), X_train)
    params = {**DET.load("deepsad").test_params(), "random_state": 0}
    sad = DET.load("deepsad")(**params).fit(X_train, y)
    svdd_params = {k: v for k, v in params.items() if k != "eta"}
    svdd = DET.load("deepsvdd")(**svdd_params).fit(X_train)

    # the anomalies it was not given: the unlabelled half of the training anomalies and
    # the test anomalies
    unlabelled = np.zeros(len(X_train), dtype=bool)
    unlabelled[len(X_train) - 10 :] = True
    normal = np.arange(len(X_train)) < len(X_train) - 20
    _, X_test, y_test = testing.toy_for(DET.load("deepsad"))

    def ratio(det, rows: np.ndarray) -> float:
        scores = det.anomaly_score(X_train)
        return float(np.median(scores[rows]) / np.median(scores[normal]))

    # the loss's term acts: the labelled anomalies are pushed far from the centre
    assert ratio(sad, y == 1) > 2 * ratio(svdd, y == 1)
    # and it costs nothing on anomalies it was not given (on this easy task both separate
    # them; on cardio in `semi` its ROC-AUC rises from 0.64 at 1% to 0.97 at 50%)
    assert ratio(sad, unlabelled) > 0.9 * ratio(svdd, unlabelled)
    test = sad.anomaly_score(X_test)
    assert np.median(test[y_test == 1]) > 2 * np.median(test[y_test == 0])


def test_residual_histograms() -> None:
    from anobench.detectors.deep.ae_hist_rf import residual_histograms

    residuals = np.array([[-1.0, -0.1, 0.0, 0.1, 5.0]])
    hist = residual_histograms(residuals, 4, 0.3)
    assert hist.shape == (1, 4) and hist.sum() == pytest.approx(1.0)
    assert hist[0].tolist() == [0.2, 0.2, 0.4, 0.2]  # beyond the range: the end bins
