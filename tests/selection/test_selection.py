"""Selection rules (anobench.selection.rules) on hand-made grids with known answers, the label
budget of validation, the internal criteria, and a suite with grids end to end."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from anobench.api import load_run
from anobench.execution.driver import run_suite
from anobench.execution.store import RunStore
from anobench.metrics.calibration import Calibration, out_of_sample, uniform_probes
from anobench.plan.expansion import expand
from anobench.plan.suite import SuiteError, load_suite, parse_suite
from anobench.registry import dataset_registry, detector_registry
from anobench.report.build import make_report
from anobench.results.selection_boards import candidates
from anobench.results.selection_stats import smallest_p
from anobench.selection import criteria
from anobench.selection.rules import ANY_DETECTOR, Selection, choose, parse_rule

DET, DS = detector_registry(), dataset_registry()
RULES = [parse_rule(r) for r in ("default", "random", "oracle", "global-best", "centrality")]


def grid_table(seed: int = 0) -> pd.DataFrame:
    """One detector, configs a/b/c (candidates) and 'd()' (its default, apart), four data
    sets, two seeds; a criterion column that prefers c, then b."""
    rng = np.random.default_rng(seed)
    rows = []
    for ds, s in itertools.product(["D1", "D2", "D3", "D4"], [0, 1]):
        for config, base in [("a", 0.6), ("b", 0.7), ("c", 0.8)]:
            rows.append({"group": "d", "config": config, "role": "candidate", "dataset": ds,
                         "seed": s, "value": base + rng.uniform(-0.05, 0.05),
                         "centrality": {"a": 0.1, "b": 0.2, "c": 0.3}[config]})  # fmt: skip
        rows.append({"group": "d", "config": "d()", "role": "default", "dataset": ds,
                     "seed": s, "value": 0.65, "centrality": np.nan})  # fmt: skip
    return pd.DataFrame(rows)


def test_each_rule_gives_its_known_answer() -> None:
    table = grid_table()
    out = choose(table, RULES).set_index(["rule", "dataset", "seed"])
    for (ds, s), cell in table.groupby(["dataset", "seed"]):
        assert out.loc[("random", ds, s), "value"] == pytest.approx(cell["value"].mean())
        assert out.loc[("oracle", ds, s), "value"] == cell["value"].max()
        assert out.loc[("default", ds, s), "value"] == 0.65
        assert out.loc[("default", ds, s), "chosen"] == "d()"
        assert out.loc[("centrality", ds, s), "chosen"] == "c"
        # c is the best on every other set: leave-one-out picks it
        assert out.loc[("global-best", ds, s), "chosen"] == "c"
        for rule in ("default", "random", "global-best", "centrality"):
            assert out.loc[("oracle", ds, s), "value"] >= out.loc[(rule, ds, s), "value"]
    marks = out.reset_index().groupby("rule")["oracle"].agg(set).to_dict()
    assert marks["oracle"] == {True} and marks["random"] == {False}


def test_global_best_never_reads_the_evaluated_sets_labels() -> None:
    table = grid_table()
    # on D1 alone, a is by far the best: that must not change D1's own choice
    flipped = table.copy()
    on_d1 = (flipped["dataset"] == "D1") & (flipped["config"] == "a")
    flipped.loc[on_d1, "value"] = 0.99
    before = choose(table, [parse_rule("global-best")]).set_index(["dataset", "seed"])
    after = choose(flipped, [parse_rule("global-best")]).set_index(["dataset", "seed"])
    assert (before.loc["D1", "chosen"] == after.loc["D1", "chosen"]).all()
    # ... while a permutation of D1's values among its configurations (its test labels
    # scrambled) changes the oracle there but not what global-best chose
    permuted = table.copy()
    d1 = permuted["dataset"] == "D1"
    permuted.loc[d1, "value"] = np.random.default_rng(5).permutation(permuted.loc[d1, "value"])
    again = choose(permuted, [parse_rule("global-best")]).set_index(["dataset", "seed"])
    assert (before.loc["D1", "chosen"] == again.loc["D1", "chosen"]).all()


def test_tuning_sets_feed_global_best_and_are_not_evaluated() -> None:
    out = choose(grid_table(), [parse_rule("global-best")], tuning=["D4"])
    assert sorted(out["dataset"].unique()) == ["D1", "D2", "D3"]


def test_ties_are_a_uniform_draw_and_failures_never_help() -> None:
    table = grid_table()
    table["centrality"] = 0.5  # every candidate tied: the rule is worth the grid mean
    out = choose(table, [parse_rule("centrality"), parse_rule("random")])
    by = out.pivot_table(index=["dataset", "seed"], columns="rule", values="value")
    np.testing.assert_allclose(by["centrality"], by["random"])
    assert out.loc[out["rule"] == "centrality", "chosen"].str.startswith("4 tied").all()
    # the configuration a rule picks failed on the test part: no value, with the reason
    table = grid_table()
    table.loc[(table["config"] == "c") & (table["dataset"] == "D2"), "value"] = np.nan
    out = choose(table, RULES).set_index(["rule", "dataset", "seed"])
    assert np.isnan(out.loc[("centrality", "D2", 0), "value"])
    assert "failed" in out.loc[("centrality", "D2", 0), "note"]
    assert np.isnan(out.loc[("random", "D2", 0), "value"])  # a grid mean over a failure
    assert (
        out.loc[("oracle", "D2", 0), "value"]
        == table.loc[
            (table["dataset"] == "D2") & (table["seed"] == 0) & (table["config"] == "b"), "value"
        ].item()
    )


def test_rule_names_are_checked_and_canonical() -> None:
    assert parse_rule("validation@5").budget == 5
    assert parse_rule("validation@0.1").budget == 0.1
    assert parse_rule("validation@5").uses_training_labels
    assert parse_rule("oracle").oracle and parse_rule("oracle").mark == "oracle"
    for bad, message in [
        ("validation", "needs a label budget"),
        ("validation@0.10", "as 'validation@0.1'"),
        ("validation@0", "count >= 1"),
        ("centrallity", "Did you mean 'centrality'"),
    ]:
        with pytest.raises(ValueError, match=message):
            parse_rule(bad)
    with pytest.raises(SuiteError, match="listed twice"):
        parse_suite({"name": "s", "detectors": ["iforest"], "datasets": ["wine"],
                     "selection": {"rules": ["random", "random"]}})  # fmt: skip
    with pytest.raises(SuiteError, match="not among the suite's data sets"):
        parse_suite({"name": "s", "detectors": ["iforest"], "datasets": ["wine"],
                     "selection": {"tuning": ["bumps"]}})  # fmt: skip


def test_a_budget_grants_only_its_labels() -> None:
    labels = np.zeros(200, dtype=int)
    labels[np.random.default_rng(0).choice(200, 30, replace=False)] = 1
    granted = criteria.granted_positives(labels, 5, seed=7)
    assert granted.sum() == 5 and labels[granted].all()
    # the labels of anomalies the budget does not grant decide nothing
    hidden = labels.copy()
    hidden[(labels == 1) & ~granted] = 0
    np.testing.assert_array_equal(criteria.granted_positives(hidden, 5, seed=7), granted)
    assert criteria.granted_positives(labels, 0.1, seed=7).sum() == 3  # 10% of 30
    assert criteria.granted_positives(labels, 100, seed=7).sum() == 30  # capped
    assert not criteria.granted_positives(np.zeros(50, int), 5, seed=7).any()
    assert criteria.granted_positives(labels, np.int64(3), seed=7).sum() == 3  # a count
    # two candidates scoring the same training rows get the same grant, whatever rows
    # one of them lacks (a label-using detector keeps its labelled rows out)
    rows = np.arange(200)
    full = criteria.granted_positives(labels, 5, 7, rows, 200)
    drop = np.setdiff1d(rows, [int(np.flatnonzero(~full & (labels == 1))[0])])
    part = criteria.granted_positives(labels[drop], 5, 7, drop, 200)
    np.testing.assert_array_equal(rows[full], drop[part])


def test_volume_criteria_prefer_the_true_density_and_centrality_the_consensus() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 2))
    probes = uniform_probes(X, 2000, seed=1)
    assert probes.shape == (2000, 2)
    assert (probes.min(axis=0) >= X.min(axis=0)).all()
    fold = np.zeros(len(X), dtype=int)
    good = np.linalg.norm(X, axis=1)  # the density's own ordering
    bad = rng.uniform(size=len(X))
    good_probe, bad_probe = np.linalg.norm(probes, axis=1)[None], rng.uniform(size=(1, 2000))
    assert criteria.mass_volume(good, fold, good_probe) < criteria.mass_volume(bad, fold, bad_probe)
    assert criteria.excess_mass(good, fold, good_probe) > criteria.excess_mass(bad, fold, bad_probe)
    a = np.arange(10.0)
    c = criteria.centrality(criteria.kendall_matrix(np.stack([a, a + 1, -a])))
    np.testing.assert_allclose(c, [0.0, 0.0, -1.0], atol=1e-12)


def test_grid_configurations_share_calibration_rows_and_probes() -> None:
    from anobench.detectors.classical import IForest

    X = np.random.default_rng(0).normal(size=(120, 3))
    probes = uniform_probes(X, 200, seed=3)
    runs = [
        out_of_sample(lambda n=n: IForest(n_estimators=n, random_state=0), X,
                      Calibration(method="holdout"), 11, probes=probes)
        for n in (10, 50)
    ]  # fmt: skip
    np.testing.assert_array_equal(runs[0].rows, runs[1].rows)
    assert runs[0].probe_scores is not None and runs[0].probe_scores.shape == (1, 200)


def test_default_configuration_is_run_apart_with_its_role() -> None:
    suite = parse_suite({"name": "s", "detectors": {"pyod-knn": {"n_neighbors": [3, 7]},
                         "iforest": {}}, "datasets": ["wine"], "seeds": [0],
                         "protocols": ["unsupervised"]})  # fmt: skip
    cells = expand(suite, DET, DS)
    roles = {(c.label, c.selection_role) for c in cells}
    assert roles == {("pyod-knn(n_neighbors=3)", "candidate"),
                     ("pyod-knn(n_neighbors=7)", "candidate"),
                     ("pyod-knn", "default"), ("iforest", None)}  # fmt: skip
    assert all(c.probes == 0 for c in cells)  # no volume rule: no probes, no extra cost
    # PyOD's default n_neighbors = 5 is in this grid: that configuration is the default
    listed = parse_suite({"name": "s", "detectors": {"pyod-knn": {"n_neighbors": [5, 10]},
                          "ocsvm": {"nu": [0.1, 0.5], "gamma": ["scale", 1.0]}},
                          "datasets": ["wine"], "seeds": [0], "protocols": ["novelty"]})  # fmt: skip
    roles = {(c.label, c.selection_role) for c in expand(listed, DET, DS)}
    assert roles == {("pyod-knn(n_neighbors=5)", "default"),
                     ("pyod-knn(n_neighbors=10)", "candidate"),
                     ("ocsvm(gamma='scale', nu=0.5)", "default"),
                     ("ocsvm(gamma='scale', nu=0.1)", "candidate"),
                     ("ocsvm(gamma=1.0, nu=0.1)", "candidate"),
                     ("ocsvm(gamma=1.0, nu=0.5)", "candidate")}  # fmt: skip
    with_mv = parse_suite({"name": "s", "detectors": {"pyod-knn": {"n_neighbors": [3, 7]}},
                           "datasets": ["wine"], "seeds": [0],
                           "selection": {"rules": ["random", "mass-volume"], "probes": 300}})  # fmt: skip
    cells = expand(with_mv, DET, DS)
    assert {c.probes for c in cells} == {300}
    assert {c.selection_role for c in cells} == {"candidate"}  # no default rule: no extra


@pytest.mark.slow
def test_criteria_never_read_test_labels(tmp_path: Path) -> None:
    """Selection-small end to end (a fast run): the report writes the selection files and
    figures; the criteria and validation columns are the same when every cell's test
    labels and scores are withheld from selection."""
    suite = load_suite("selection-small")
    run_dir = tmp_path / "run"
    summary = run_suite(suite, run_dir, DET, DS, jobs=2)
    assert summary.by_status == {"ok": summary.total}
    report = make_report(run_dir, formats=(".png",))
    out = report.path
    assert out is not None
    for name in ("selection_unsupervised_roc_auc.csv", "selection_unsupervised_ap.md",
                 "selection_board_unsupervised_roc_auc.csv"):  # fmt: skip
        assert (out / name).is_file(), name
    assert (out / "plots" / "sensitivity_unsupervised_pyod-knn.png").is_file()
    page = (out / "index.html").read_text()
    assert "Selection without test labels" in page and "oracle gap" in page
    assert "picking the best row uses the test labels" in (
        out / "leaderboard_unsupervised_roc_auc.md").read_text()  # fmt: skip
    long = pd.read_csv(out / "selection_unsupervised_roc_auc.csv")
    assert set(long["rule"]) == set(Selection.model_validate(
        suite.selection.model_dump()).rules or [])  # fmt: skip
    assert (long.loc[long["rule"] == "oracle", "oracle"]).all()
    assert ANY_DETECTOR in set(long["detector"])
    # oracle >= every rule, per detector, data set and seed
    wide = long.pivot_table(index=["detector", "dataset", "seed"], columns="rule", values="value")
    for rule in wide.columns:
        has = wide[rule].notna()
        assert has.any(), rule
        assert (wide.loc[has, "oracle"] >= wide.loc[has, rule] - 1e-12).all(), rule

    run = load_run(run_dir)
    store_scores = RunStore(run_dir).scores
    stored = store_scores(str(run.frame["cell_id"].iloc[0]))
    assert stored is not None and stored["scores"].dtype == np.float64  # rank-faithful
    rules = Selection.model_validate(suite.selection.model_dump()).resolved()
    roles = {c.cell_id: c.selection_role for c in expand(suite, DET, DS)}
    full = candidates(run.frame, "unsupervised", "roc_auc", rules, store_scores, roles)

    def without_test(cid: str) -> dict | None:
        arrays = store_scores(cid)
        return None if arrays is None else {
            k: v for k, v in arrays.items() if k not in ("y_test", "scores", "groups")}  # fmt: skip

    scrambled = run.frame.copy()
    scrambled["roc_auc"] = np.random.default_rng(0).permutation(scrambled["roc_auc"].to_numpy())
    blind = candidates(scrambled, "unsupervised", "roc_auc", rules, without_test, roles)
    for column in ("validation@1", "validation@3", "mass-volume", "excess-mass", "centrality"):
        assert full[column].notna().any(), column
        np.testing.assert_array_equal(full[column].to_numpy(), blind[column].to_numpy())
    chosen = run.selection("validation@3", metric="roc_auc")
    assert chosen["uses_training_labels"].all() and len(chosen) > 0


def test_power_of_the_test_against_random() -> None:
    assert smallest_p(4) == 0.125
    assert smallest_p(20) < 1e-5
