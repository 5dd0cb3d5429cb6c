"""Issue 25's wrong numbers, each with a test that failed before its fix: row order,
in-memory data and redefined classes in one process, detectors changing the harness's
data, the shared test set under caps, score shapes and overflow, labels among features,
exit statuses and impossible parameters."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import anobench
from anobench.contract import BaseDetector
from anobench.data.splits import make_split
from anobench.execution.executors.base import available_cores, default_memory_budget_mb
from anobench.execution.executors.local import ProcessExecutor
from anobench.metrics.cell import evaluate as cell_metrics
from anobench.metrics.cell import precision_at_n


class PositionScorer(BaseDetector):
    """Scores each row by its position in the batch: only row order can help it."""

    name = "position"

    def _fit(self, X: np.ndarray) -> None:
        pass

    def _score(self, X: np.ndarray) -> np.ndarray:
        return np.arange(len(X), dtype=float)


class Mutator(BaseDetector):
    """Scales its input in place after fitting, as a careless detector might."""

    name = "mutator"

    def _fit(self, X: np.ndarray) -> None:
        self.mean_ = X.mean(axis=0)

    def _score(self, X: np.ndarray) -> np.ndarray:
        return np.abs(X - self.mean_).sum(axis=1)

    def fit(self, X, y=None):  # type: ignore[no-untyped-def]
        super().fit(X, y)
        X *= 1000  # the harness's training array, which calibration reads next
        return self


def sorted_by_label(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Noise with the anomalies last, as many public files are ordered."""
    rng = np.random.default_rng(seed)
    y = (np.arange(n) >= n - 40).astype(int)
    return rng.normal(size=(n, 4)), y


def test_row_order_carries_no_label() -> None:
    from sklearn.metrics import roc_auc_score

    X, y = sorted_by_label()
    for seed in (0, 1, 2):
        split = make_split(X, y, "unsupervised", seed, name="sorted")
        assert split.metadata["shuffled"] and not np.all(np.diff(split.test_rows) > 0)
        position = np.arange(len(split.y_test), dtype=float)
        assert 0.3 < roc_auc_score(split.y_test, position) < 0.7  # was 1.000
    # end to end a position scorer gets no number from row order: its toy probe (scored
    # in a shuffled order too) finds no orientation, or its ROC-AUC is at chance
    frame = anobench.evaluate(PositionScorer(), (X, y), "unsupervised", seeds=(0, 1, 2))
    ok = frame["status"] == "ok"
    assert (frame.loc[ok, "roc_auc"] < 0.7).all()
    assert frame.loc[~ok, "error"].str.contains("toy task").all()


def test_precision_at_n_breaks_no_tie_by_row_order() -> None:
    y = np.r_[np.ones(5, int), np.zeros(95, int)]
    scores = np.r_[np.zeros(99), 1.0]  # nearly constant, the one high score a normal
    assert precision_at_n(y, scores) == 0.0  # was 0.8: the tied anomalies came first
    assert precision_at_n(y, np.r_[np.ones(5), np.zeros(95)]) == 1.0


def test_the_api_keys_arrays_by_content() -> None:
    X1, y1 = sorted_by_label(seed=1)
    X2 = X1.copy()
    X2[y1 == 1] += 5.0  # the same shape and name, other content
    first = anobench.evaluate("iforest", (X1, y1), "unsupervised", seeds=(0,))
    second = anobench.evaluate("iforest", (X2, y1), "unsupervised", seeds=(0,))
    assert first.loc[0, "cell_id"] != second.loc[0, "cell_id"]
    assert second.loc[0, "roc_auc"] > 0.95 > first.loc[0, "roc_auc"]


def test_a_redefined_class_is_probed_again() -> None:
    def make(sign: float) -> type:
        # the same module and name, like a notebook cell run again
        return type("Redefined", (PositionScorer,), {
            "_score": lambda self, X: sign * np.abs(X).sum(axis=1), "__module__": "__main__",
        })  # fmt: skip

    ok = anobench.evaluate(make(1.0)(), "wine", seeds=(0,))
    assert ok.loc[0, "status"] == "ok"
    flipped = anobench.evaluate(make(-1.0)(), "wine", seeds=(0,))
    assert flipped.loc[0, "status"] == "error"
    assert "wrong direction" in flipped.loc[0, "error"]


def test_a_detector_cannot_change_the_harness_data() -> None:
    frame = anobench.evaluate(Mutator(), "wine", seeds=(0,))
    assert frame.loc[0, "status"] == "error"  # was ok with every label-free F1 0.0
    assert "read-only" in frame.loc[0, "error"]


def test_novelty_and_unsupervised_share_the_capped_test_set() -> None:
    X, y = sorted_by_label(n=2000)
    for seed in (0, 1):
        parts = [make_split(X, y, p, seed, name="s", max_train=300, max_test=250)
                 for p in ("novelty", "unsupervised")]  # fmt: skip
        assert parts[0].test_rows is not None and parts[1].test_rows is not None
        np.testing.assert_array_equal(parts[0].test_rows, parts[1].test_rows)


def test_scores_of_another_shape_are_refused_and_overflow_is_not_computed() -> None:
    class Transposed(PositionScorer):
        def _score(self, X: np.ndarray) -> np.ndarray:
            return np.abs(X).sum(axis=1)[: len(X) // 2 * 2].reshape(-1, 2)

    frame = anobench.evaluate(Transposed(), "wine", seeds=(0,))
    assert frame.loc[0, "status"] == "error" and "shape" in frame.loc[0, "error"]
    y = np.r_[np.zeros(50, int), np.ones(10, int)]
    scores = np.r_[np.linspace(0, 1, 50), np.linspace(2, 3, 10)] * 1e307
    out = cell_metrics(y, scores, np.linspace(0, 1, 80) * 1e307)
    assert "mean+std" in out["thresholds_not_computed"]
    assert "mean+std" not in out["thresholds"]


def test_labels_never_become_features(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = ["a,label,b,label"] + [f"{rng.normal()},{i % 2},{rng.normal()},{i % 2}"
                                  for i in range(60)]  # fmt: skip
    (tmp_path / "twice.csv").write_text("\n".join(rows) + "\n")
    frame = anobench.evaluate("iforest", tmp_path / "twice.csv", seeds=(0,),
                              dataset_params={"label": "label"})  # fmt: skip
    assert frame.loc[0, "status"] == "error" and "more than once" in frame.loc[0, "error"]
    (tmp_path / "once.csv").write_text("\n".join(r.rsplit(",", 1)[0] for r in rows) + "\n")
    frame = anobench.evaluate("iforest", tmp_path / "once.csv", seeds=(0,),
                              dataset_params={"label": "label", "features": ["a", "label"]})  # fmt: skip
    assert frame.loc[0, "status"] == "error" and "label" in frame.loc[0, "error"]


def test_jobs_are_capped_and_parameters_must_be_json() -> None:
    assert ProcessExecutor(jobs=1000).jobs == available_cores()
    assert default_memory_budget_mb(1000) >= min(1024.0, default_memory_budget_mb(1))
    from sklearn.ensemble import IsolationForest

    with pytest.raises(TypeError, match="recorded as JSON"):
        anobench.evaluate(IsolationForest(random_state=np.random.RandomState(0)), "wine")


def test_failed_cells_fail_a_run_without_report(tmp_path: Path) -> None:
    (tmp_path / "crash.py").write_text(textwrap.dedent('''
        import numpy as np
        class Crash:
            def __init__(self, power=1.0):
                self.power = power
            def get_params(self, deep=True):
                return {"power": self.power}
            def set_params(self, **params):
                return self
            def fit(self, X, y=None):
                raise RuntimeError("boom")
            def score_samples(self, X):
                return np.zeros(len(X))
    '''))  # fmt: skip
    (tmp_path / "s.toml").write_text(textwrap.dedent('''
        name = "crash"
        protocols = ["novelty"]
        seeds = [0]
        [detectors.crash]
        ref = "crash.py:Crash"
        [datasets.wine]
    '''))  # fmt: skip
    for extra in (["--no-report"], ["--shard", "1/1"]):
        done = subprocess.run(
            [sys.executable, "-m", "anobench.cli", "run", str(tmp_path / "s.toml"), "--out",
             str(tmp_path / f"run{len(extra)}"), "--jobs", "1", "--quiet", *extra],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 1 and "cell(s) failed" in done.stderr, done.stdout + done.stderr
    report = subprocess.run(
        [sys.executable, "-m", "anobench.cli", "report", str(tmp_path / "run1"), "--no-plots"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert report.returncode == 1 and "failed" in report.stderr, report.stderr


def test_numpy_scalars_are_plain_parameters() -> None:
    from sklearn.ensemble import IsolationForest

    frame = anobench.evaluate(IsolationForest(n_estimators=np.int64(20)), "wine", seeds=(0,))
    assert frame.loc[0, "status"] == "ok" and frame.loc[0, "label"].endswith("(n_estimators=20)")


def test_a_detector_cannot_change_its_labels() -> None:
    from anobench.detectors.supervised import RandomForestBaseline

    class Relabel(RandomForestBaseline):  # type: ignore[misc, valid-type]
        def fit(self, X, y=None):  # type: ignore[no-untyped-def]
            super().fit(X, y)
            y[:] = 1  # the labels calibration and val-best-f1 read next
            return self

    frame = anobench.evaluate(Relabel(), "wine", "semi-supervised@1", seeds=(0,))
    assert frame.loc[0, "status"] == "error" and "read-only" in frame.loc[0, "error"]


def test_an_installed_plugin_edited_in_place_gets_a_new_identity(tmp_path, monkeypatch) -> None:
    """Item 8: the source hash is taken whatever the install (a wheel's files can be
    edited in site-packages): editing the class changes its code identity."""
    import importlib.util
    import sys

    from anobench.provenance import code_identity

    name = f"edited_plugin_{tmp_path.name}"  # unique: no other module of that name
    path = tmp_path / f"{name}.py"
    path.write_text("class D:\n    x = 1\n")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    before = code_identity(module.D, "scikit-learn")  # an installed, versioned distribution
    assert before["source"] and before["version"]
    path.write_text("class D:\n    x = 2\n")
    assert code_identity(module.D, "scikit-learn")["source"] != before["source"]


def test_minus_zero_and_zero_are_one_row() -> None:
    """Item 8: -0.0 and 0.0 are the same value, so the same copy group."""
    from anobench.data.splits import copy_groups

    X = np.array([[0.0, 1.0], [-0.0, 1.0], [0.0, -1.0]])
    groups = copy_groups(X)
    assert groups[0] == groups[1] != groups[2]


def test_huge_list_parameters_get_short_distinct_labels() -> None:
    """A 200 000-item list parameter made a 34 MB page: labels bound each value and
    hash the rest, and the page's embedded suite is bounded too (run.json keeps it)."""
    from anobench.report.render.html import _bounded
    from anobench.types import labelled

    big, other = list(range(200_000)), list(range(1, 200_001))
    label = labelled("w", {"weights": big, "k": 5})
    assert len(label) < 80 and "200000 items" in label and label.startswith("w(k=5, ")
    assert label != labelled("w", {"weights": other, "k": 5})
    assert labelled("w", {"weights": [1, 2, 3]}) == "w(weights=[1, 2, 3])"
    suite = {"detectors": {"w": {"weights": [big]}}, "name": "x"}
    assert len(str(_bounded(suite))) < 200 and _bounded({"a": [1, 2]}) == {"a": [1, 2]}
