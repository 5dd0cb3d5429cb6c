"""Source study 003 (Keras ECG autoencoder) rerun as written: the AE options it needs,
its split and scaling, its threshold rule and report, and the comparison with its
printed accuracy."""

from __future__ import annotations

import json

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from anobench.api import evaluate
from anobench.detectors.deep.autoencoders import AE, _flat_msle
from anobench.metrics.classification import (
    classification_report,
    flagged_by_group,
    study_threshold,
)
from anobench.plan import presets
from anobench.results.published import compare_with_published

STUDY_AE = dict(presets.SEED_003.columns[0].params)


def _curves(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Rows of 24 points in [0, 1]: normal = one sine phase, anomalies = another shape."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, 24)
    y = (np.arange(n) % 4 == 0).astype(int)
    X = 0.5 + 0.4 * np.sin(t[None, :] + rng.normal(0, 0.1, (n, 1)))
    X[y == 1] = 0.5 + 0.4 * np.sign(np.sin(2 * t[None, :])) * rng.uniform(0.5, 1, (int(y.sum()), 1))
    return X + rng.normal(0, 0.02, X.shape), y


def test_msle_is_keras_formula() -> None:
    x = jnp.asarray([[0.0, 0.5, 1.0, -0.3]])
    y = jnp.asarray([[0.1, 0.5, 0.2, 0.4]])
    eps = 1e-7
    expected = np.mean(
        (np.log1p(np.maximum(np.asarray(x), eps)) - np.log1p(np.maximum(np.asarray(y), eps))) ** 2
    )
    assert float(_flat_msle(x, y)[0]) == pytest.approx(expected, rel=1e-6)


def test_the_study_network_learns_and_scores_deterministically() -> None:
    X, y = _curves(600)
    params = {**STUDY_AE, "hidden": (16, 8, 4), "epochs": 150, "batch_size": 64}
    det = AE(**params, standardize=False, random_state=0).fit(X[y == 0][:300])
    config = det.config()
    assert (config.activation, config.dropout, config.output, config.error) == (
        "relu",
        0.1,
        "sigmoid",
        "msle",
    )
    scores = det.anomaly_score(X[300:])
    assert np.array_equal(scores, det.anomaly_score(X[300:]))  # dropout off when scoring
    assert roc_auc_score(y[300:], scores) > 0.9
    untrained = AE(**{**params, "epochs": 0}, standardize=False, random_state=0).fit(X[:10])
    assert roc_auc_score(y[300:], untrained.anomaly_score(X[300:])) < roc_auc_score(y[300:], scores)
    # dropout is active in training: two seeds' losses differ, and so does one seed
    # trained without it
    plain = AE(**{**params, "dropout": 0.0}, standardize=False, random_state=0).fit(X[:300])
    assert not np.array_equal(plain.loss_history_, det.loss_history_)


@pytest.mark.parametrize(
    "bad",
    [
        {"activation": "gelu"},
        {"output_activation": "softmax"},
        {"loss": "mae"},
        {"dropout": 1.0},
    ],
)
def test_bad_ae_options_are_refused_before_compiling(bad: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        AE(**bad, epochs=1).fit(np.zeros((8, 3)))


def test_threshold_rule_and_classification_report() -> None:
    assert study_threshold("train-mean+std", np.array([1.0, 2.0, 3.0])) == pytest.approx(
        2.0 + np.std([1.0, 2.0, 3.0])
    )
    assert study_threshold("train-max", np.array([1.0, 5.0])) == 5.0
    with pytest.raises(KeyError, match="fixed:<value>"):
        study_threshold("nope", np.ones(3))
    assert study_threshold("fixed:0.05", np.zeros(0)) == 0.05  # label-free, no scores used
    for bad in ("fixed:abc", "fixed:inf"):
        with pytest.raises(ValueError, match="fixed threshold"):
            study_threshold(bad, np.zeros(0))
    with pytest.raises(ValueError, match="not finite"):
        study_threshold("train-max", np.array([1.0, np.nan]))
    y = np.array([0, 0, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.9, 0.8, 0.5])
    report = classification_report(y, scores, 0.5)  # strictly above: 0.5 is not flagged
    assert report["confusion"] == [[2, 1], [1, 1]]
    assert report["accuracy"] == pytest.approx(3 / 5)
    assert report["anomaly"] == pytest.approx(
        {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    )
    assert report["normal"]["recall"] == pytest.approx(2 / 3)
    groups = np.array(["normal", "normal", "normal", "digit 5", "fashion"])
    assert flagged_by_group(scores, 0.5, groups) == {
        "digit 5": {"rows": 1, "flagged": 1.0},
        "fashion": {"rows": 1, "flagged": 0.0},
        "normal": {"rows": 3, "flagged": pytest.approx(1 / 3)},
    }


def test_the_procedure_splits_stratified_and_scales_on_normal_training_rows() -> None:
    X, y = _curves(500, seed=1)
    X = X * 10 - 3  # not in [0, 1] before scaling
    made = presets.SEED_003.split(X, y, seed=4).split
    assert len(made.y_test) == 100 and made.y_test.sum() == 25  # 20%, stratified
    assert (made.y_train == 0).all() and len(made.y_train) == 300  # normal rows of the 400
    assert made.X_train.min() == pytest.approx(0.0) and made.X_train.max() == pytest.approx(1.0)
    assert made.metadata["dropped_training_anomalies"] == 100
    again = presets.SEED_003.split(X, y, seed=4).split
    assert np.array_equal(made.X_test, again.X_test)


def test_a_cell_under_the_study_records_its_accuracy_and_report() -> None:
    X, y = _curves(400, seed=2)
    params = {**STUDY_AE, "hidden": [16, 8, 4], "epochs": 60, "batch_size": 64}
    table = evaluate("ae", (X, y), "seed-003", seeds=[0, 1], params=params)
    assert (table["status"] == "ok").all()
    assert table["accuracy"].between(0.5, 1.0).all()
    assert table["roc_auc"].notna().all()
    clean = evaluate("ae", (X, y), "novelty", seeds=[0], params=params)
    assert clean["accuracy@mean+std"].notna().all() and clean["accuracy"].isna().all()


def _frame(protocol: str, values: list[float]) -> pd.DataFrame:
    params = json.dumps(STUDY_AE, sort_keys=True)
    return pd.DataFrame(
        {
            "protocol": protocol,
            "detector": "ae",
            "dataset": "ecg5000",
            "seed": range(len(values)),
            "status": "ok",
            "params": params,
            "accuracy": values if protocol == "seed-003" else np.nan,
            "accuracy@mean+std": values,
        }
    )


def test_a_study_number_is_judged_against_our_seed_spread() -> None:
    table = pd.DataFrame({"AE": [0.944]}, index=pd.Index(["ecg5000"], name="dataset"))
    spread = [0.88 + 0.005 * (i % 5) for i in range(10)]  # mean 0.89, std 0.0075
    cells = compare_with_published(
        _frame("seed-003", spread), presets.SEED_003, "accuracy", table=table
    )
    assert cells["verdict"].iloc[0].startswith("library version drift")  # 0.054 > 2 std
    wide = [0.80 + 0.04 * (i % 5) for i in range(10)]  # mean 0.88, std 0.059: within 2 std
    cells = compare_with_published(_frame("seed-003", wide), presets.SEED_003, "accuracy",
                                   table=table)  # fmt: skip
    assert cells["verdict"].iloc[0] == "reproduced"
    assert cells["std"].iloc[0] == pytest.approx(np.std(wide, ddof=1))
    # the clean protocol is compared by its closest measure, and says it differs
    clean = compare_with_published(_frame("novelty", [0.944] * 10), presets.SEED_003,
                                   "accuracy", table=table)  # fmt: skip
    assert clean["ours"].iloc[0] == pytest.approx(0.944)
    assert clean["verdict"].iloc[0] == "protocol differs: novelty"


def test_the_study_table_is_built_in_and_listed() -> None:
    from anobench.results.published_tables import load_table

    assert load_table("seed_003_ecg").loc["ecg5000", "AE"] == 0.944
    assert "seed-003" in presets.PRESETS


def test_a_deep_cell_records_its_loss_per_epoch(tmp_path) -> None:
    from anobench.execution.driver import run_suite
    from anobench.execution.store import RunStore
    from anobench.plan.suite import Suite
    from anobench.registry import dataset_registry, detector_registry

    suite = Suite(
        name="losses",
        protocols=["novelty"],
        seeds=[0],
        detectors={"ae": {"epochs": 7, "n_seeds": 2}, "iforest": {}},
        datasets=["wine"],
    )
    run_suite(suite, tmp_path, detector_registry(), dataset_registry(), jobs=1)
    records = {r["detector"]: r for r in RunStore(tmp_path).records()}
    history = records["ae"]["loss_history"]
    assert len(history) == 7 and all(np.isfinite(history)) and history[-1] < history[0]
    assert records["iforest"].get("loss_history") is None


def test_one_class_data_is_refused_not_scored() -> None:
    X, y = _curves(200, seed=4)
    params = {**STUDY_AE, "hidden": [8, 4], "epochs": 2, "batch_size": 64}
    table = evaluate("ae", (X, np.zeros_like(y)), "seed-003", seeds=[0], params=params)
    assert (table["status"] == "error").all() and table["accuracy"].isna().all()
    assert table["error"].str.contains("one class").all()
