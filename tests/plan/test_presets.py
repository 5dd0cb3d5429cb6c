"""Published protocol presets: each paper's procedure on small generated data, the shared
RNG order, the column mapping, and their wiring into suites and cells."""

from __future__ import annotations

import random

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from anobench.execution.cell import run_cell
from anobench.execution.fitting import make_detector
from anobench.plan import presets
from anobench.plan.expansion import expand
from anobench.plan.suite import Suite, SuiteError, load_suite
from anobench.registry import UnavailableError, dataset_registry, detector_registry


def _data(n: int, d: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (np.arange(n) % 10 == 0).astype(int)
    X[y == 1] += 4
    return X, y


# -- pyod-benchmark ---------------------------------------------------------------------


def test_pyod_benchmark_split_is_the_scripts_split() -> None:
    X, y = _data(200)
    made = presets.PYOD_BENCHMARK.split(X, y, 3)
    rng = np.random.RandomState(3)
    X_tr, X_te, _, y_te = train_test_split(X, y, test_size=0.4, random_state=rng)
    scaler = StandardScaler().fit(X_tr)
    np.testing.assert_array_equal(made.split.X_train, scaler.transform(X_tr))
    np.testing.assert_array_equal(made.split.X_test, scaler.transform(X_te))
    np.testing.assert_array_equal(made.split.y_test, y_te)
    # the model gets the very RandomState object the split advanced
    assert isinstance(made.random_state, np.random.RandomState)
    assert made.random_state.randint(2**31) == rng.randint(2**31)
    assert made.split.metadata["published_protocol"] == "pyod-benchmark"


def test_pyod_benchmark_replays_the_stochastic_models_fitted_before() -> None:
    preset = presets.PYOD_BENCHMARK
    assert [c.name for c in preset.replay("pyod-iforest")] == ["CBLOF", "FB"]
    assert [c.name for c in preset.replay("pyod-pca")] == ["CBLOF", "FB", "IForest", "MCD"]
    assert preset.replay("pyod-knn") == []  # deterministic: takes no RNG
    assert preset.replay("gmm") == []  # not a published column


def test_a_cell_under_pyod_benchmark_equals_the_script_run_in_order() -> None:
    """Shared RNG order end to end: the cell's IForest sees the RandomState after the
    split, CBLOF and Feature Bagging, exactly as in PyOD's script."""
    from pyod.models.cblof import CBLOF
    from pyod.models.feature_bagging import FeatureBagging
    from pyod.models.iforest import IForest

    suite = Suite(
        name="p",
        detectors={"pyod-iforest": {}},
        datasets=["wine"],
        protocols=["pyod-benchmark"],
        seeds=[4],
    )
    (cell,) = expand(suite, detector_registry(), dataset_registry())
    assert cell.split_seed == cell.model_seed == 4 and cell.test_size == 0.4
    before = np.random.get_state()[1].copy()
    record = run_cell(cell)
    assert record["status"] == "ok", record.get("error")
    assert record["preset"]["replayed"] == ["CBLOF", "FB"]
    np.testing.assert_array_equal(np.random.get_state()[1], before)

    data = dataset_registry().load("wine").load_data()
    made = presets.PYOD_BENCHMARK.split(data.X, data.y, 4)
    rng, sp = made.random_state, made.split
    CBLOF(check_estimator=False, random_state=rng).fit(sp.X_train)
    FeatureBagging(check_estimator=False, random_state=rng).fit(sp.X_train)
    scores = IForest(random_state=rng).fit(sp.X_train).decision_function(sp.X_test)
    assert record["roc_auc"] == roc_auc_score(sp.y_test, scores)
    # without the replay the number differs: the order matters
    alone = presets.PYOD_BENCHMARK.split(data.X, data.y, 4)
    other = IForest(random_state=alone.random_state).fit(alone.split.X_train)
    assert (
        roc_auc_score(alone.split.y_test, other.decision_function(alone.split.X_test))
        != (record["roc_auc"])
    )


# -- adbench-2022 -----------------------------------------------------------------------


def _adbench_by_hand(X: np.ndarray, y: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    np.random.seed(seed)
    if len(y) < 1000:
        np.random.seed(seed)
        idx = np.random.choice(np.arange(len(y)), 1000, replace=True)
        X, y = X[idx], y[idx]
    if len(y) > 10000:
        np.random.seed(seed)
        idx = np.random.choice(np.arange(len(y)), 10000, replace=False)
        X, y = X[idx], y[idx]
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, shuffle=True, stratify=y)
    scaler = MinMaxScaler().fit(X_tr)
    return scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te


@pytest.mark.parametrize("n", [150, 2000, 10_050])
def test_adbench_procedure_resamples_subsamples_and_scales(n: int) -> None:
    X, y = _data(n)
    with presets.isolated_global_rng():
        made = presets.ADBENCH_2022.split(X, y, 2)
    with presets.isolated_global_rng():
        X_tr, X_te, _, y_te = _adbench_by_hand(X, y, 2)
    np.testing.assert_array_equal(made.split.X_train, X_tr)
    np.testing.assert_array_equal(made.split.X_test, X_te)
    np.testing.assert_array_equal(made.split.y_test, y_te)
    meta = made.split.metadata
    assert len(X_tr) + len(X_te) == min(max(n, 1000), 10_000)
    assert np.isclose(made.split.X_train.min(), 0) and np.isclose(made.split.X_train.max(), 1)
    if n < 1000:
        # resampling with replacement copies rows into both parts: measured, not enforced
        assert meta["resampled_with_replacement"] == {"from": n, "to": 1000}
        assert meta["test_rows_in_train"] > 0.5 * len(X_te)
    else:
        assert "resampled_with_replacement" not in meta
        assert meta["test_rows_in_train"] == 0
    assert ("subsampled" in meta) == (n > 10_000)
    assert made.random_state is None  # models draw from the global RNG ...
    with presets.isolated_global_rng():
        made.before_fit()  # ... seeded again right before the fit
        first = np.random.rand()
        np.random.seed(2)
        assert first == np.random.rand()


def test_isolated_global_rng_restores_numpy_and_python_state() -> None:
    np.random.seed(123)
    random.seed(123)
    expected = (np.random.rand(), random.random())
    np.random.seed(123)
    random.seed(123)
    with presets.isolated_global_rng():
        presets.ADBENCH_2022.split(*_data(300), 1)
    assert (np.random.rand(), random.random()) == expected


def test_preset_scaling_replaces_the_adapters_own() -> None:
    suite = Suite(
        name="s",
        detectors=["pyod-knn", "ocsvm"],
        datasets=["wine"],
        protocols=["adbench-2022", "unsupervised"],
        seeds=[1],
    )
    cells = expand(suite, detector_registry(), dataset_registry())
    for cell in cells:
        det = make_detector(cell)
        assert det.standardize is (cell.protocol == "unsupervised")


# -- the mapping ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(presets.PRESETS))
def test_every_published_column_maps_to_one_registered_id(name: str) -> None:
    preset = presets.PRESETS[name]
    registry = detector_registry()
    ids = [c.detector for c in preset.columns if c.detector]
    assert len(ids) == len(set(ids))
    for column in preset.columns:
        if column.detector is None:
            assert column.not_reproduced  # says why
            continue
        assert column.detector in registry.names()
        try:
            cls = registry.load(column.detector)
        except UnavailableError:  # e.g. pyod-deepsvdd without the torch extra
            continue
        assert set(column.params) <= set(cls.param_names())
        assert preset.column(column.detector) is column


def test_suites_hold_every_implementable_column() -> None:
    for name in ("odds-pyod", "adbench-2022"):
        suite = load_suite(name)
        (protocol,) = suite.protocols
        preset = presets.PRESETS[protocol]
        mapped = {c.detector for c in preset.columns if c.detector}
        assert mapped == set(suite.detectors), name
        for column in preset.columns:
            if column.detector:
                assert suite.detectors[column.detector] == dict(column.params)
    assert set(load_suite("adbench-protocols").protocols) == {"adbench-2022", "unsupervised"}


# -- suites -----------------------------------------------------------------------------


def test_preset_seeds_are_the_papers_unless_the_suite_sets_them() -> None:
    suite = Suite(
        name="s",
        detectors=["pyod-knn"],
        datasets=["wine"],
        protocols=["adbench-2022", "unsupervised"],
    )
    assert suite.seeds_for("adbench-2022") == [1, 2, 3]
    assert suite.seeds_for("unsupervised") == [0, 1, 2]
    cells = expand(suite, detector_registry(), dataset_registry())
    published = [c for c in cells if c.protocol == "adbench-2022"]
    assert sorted(c.seed for c in published) == [1, 2, 3]
    assert all(c.preset and c.preset["seeds_as_published"] for c in published)
    mine = Suite(
        name="s", detectors=["pyod-knn"], datasets=["wine"], protocols=["adbench-2022"], seeds=[7]
    )
    (cell,) = expand(mine, detector_registry(), dataset_registry())
    assert cell.seed == 7 and cell.preset and not cell.preset["seeds_as_published"]


def test_unknown_or_repeated_protocols_are_errors() -> None:
    with pytest.raises(ValueError, match="Did you mean 'adbench-2022'"):
        Suite(name="s", detectors=["pyod-knn"], datasets=["wine"], protocols=["adbench-2021"])
    with pytest.raises(ValueError, match="listed twice"):
        Suite(name="s", detectors=["pyod-knn"], datasets=["wine"], protocols=["novelty", "novelty"])
    assert issubclass(SuiteError, ValueError)


def test_narrowing_a_suite_on_the_command_line_keeps_the_papers_seeds() -> None:
    """`anobench run adbench-2022 --detectors pyod-knn` must still run seeds 1, 2, 3."""
    import argparse

    from anobench.cli.options import override as _override

    narrowed = _override(
        load_suite("adbench-2022"),
        argparse.Namespace(detectors=["pyod-knn"], datasets=["adbench/wbc"], seeds=None),
    )
    assert list(narrowed.detectors) == ["pyod-knn"]
    assert narrowed.seeds_for("adbench-2022") == [1, 2, 3]
    chosen = _override(
        load_suite("adbench-2022"), argparse.Namespace(detectors=None, datasets=None, seeds=["1"])
    )
    assert chosen.seeds_for("adbench-2022") == [1]


def test_a_detector_outside_the_papers_columns_gets_the_literal_seed() -> None:
    """Only the paper's columns take its shared RandomState; any other detector (e.g. a
    JAX model that needs an int) gets the trial number itself."""
    from anobench.execution.fitting import prepare

    suite = Suite(name="s", detectors=["gmm", "pyod-iforest"], datasets=["wine"],
                  protocols=["pyod-benchmark"], seeds=[5])  # fmt: skip
    spec = dataset_registry().load("wine")
    by_name = {c.detector: c for c in expand(suite, detector_registry(), dataset_registry())}
    with presets.isolated_global_rng():
        assert prepare(by_name["gmm"], spec).detector.random_state == 5
        shared = prepare(by_name["pyod-iforest"], spec).detector.random_state
    assert isinstance(shared, np.random.RandomState)
