"""The Python API: evaluate, run, load_run and compare, in-process and from a script
without a __main__ guard."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import anobench
from anobench.execution.driver import run_suite
from anobench.execution.store import RunStore
from anobench.plan.suite import SuiteError, load_suite
from anobench.registry import dataset_registry, detector_registry

SUITE = """
name = "api"
protocols = ["novelty"]
seeds = [0, 1]
[detectors.iforest]
[detectors.pyod-knn]
n_neighbors = 5
[datasets.wine]
"""


def test_evaluate_equals_the_command_lines_cells(tmp_path: Path) -> None:
    (tmp_path / "s.toml").write_text(SUITE)
    run_suite(load_suite(tmp_path / "s.toml"), tmp_path / "run", detector_registry(),
              dataset_registry(), jobs=1)  # fmt: skip
    cli = {(r["label"], r["seed"]): r for r in RunStore(tmp_path / "run").records()}
    frame = anobench.evaluate("pyod-knn", "wine", seeds=(0, 1), params={"n_neighbors": 5})
    assert list(frame["status"]) == ["ok", "ok"]
    for _, row in frame.iterrows():
        record = cli[(row["label"], row["seed"])]
        assert row["cell_id"] == record["cell_id"]  # same split, seeds, code and data
        assert row["roc_auc"] == record["roc_auc"]
    # an instance of a registered detector is the same configuration as its id
    from anobench.detectors.classical import IForest

    same = anobench.evaluate(IForest(), "wine", seeds=(0,))
    assert same.loc[0, "cell_id"] == cli[("iforest", 0)]["cell_id"]


def test_evaluate_takes_instances_references_arrays_and_files(tmp_path: Path) -> None:
    from sklearn.ensemble import IsolationForest

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = (np.arange(300) % 10 == 0).astype(int)
    X[y == 1] += 4
    frame = anobench.evaluate(IsolationForest(n_estimators=30), (X, y), seeds=(0, 1))
    assert list(frame["label"]) == ["IsolationForest(n_estimators=30)"] * 2
    assert (frame["roc_auc"] > 0.9).all() and set(frame["dataset"]) == {"arrays"}
    path = tmp_path / "d.npz"
    np.savez(path, X=X, y=y)
    by_file = anobench.evaluate("pyod.models.knn:KNN", path, seeds=(0,))
    assert by_file.loc[0, "status"] == "ok"
    assert by_file.loc[0, "dataset"] == f"file:{path}"  # the path as given, as in a suite


def test_evaluate_references_are_checked_and_named_as_in_a_suite(tmp_path: Path) -> None:
    (tmp_path / "inv.py").write_text(
        "import numpy as np\nclass Inverted:\n    def __init__(self):\n        pass\n"
        "    def fit(self, X, y=None):\n        self.m_ = X.mean(0)\n        return self\n"
        "    def anomaly_score(self, X):\n        return -((X - self.m_) ** 2).sum(1)\n"
    )
    frame = anobench.evaluate(f"{tmp_path / 'inv.py'}:Inverted", "wine", seeds=(0,))
    assert frame.loc[0, "status"] == "error" and "wrong direction" in frame.loc[0, "error"]
    ref = "sklearn.ensemble:IsolationForest"
    (tmp_path / "s.toml").write_text(
        f'name = "x"\nprotocols = ["novelty"]\nseeds = [0]\n[detectors."{ref}"]\n'
        f'ref = "{ref}"\n[datasets.wine]\n'
    )
    run_suite(load_suite(tmp_path / "s.toml"), tmp_path / "run", detector_registry(),
              dataset_registry(), jobs=1)  # fmt: skip
    (record,) = RunStore(tmp_path / "run").records()
    by_ref = anobench.evaluate(ref, "wine", seeds=(0,))
    assert by_ref.loc[0, "cell_id"] == record["cell_id"]
    from sklearn.ensemble import IsolationForest

    by_instance = anobench.evaluate(IsolationForest(), "wine", seeds=(0,), name=ref)
    assert by_instance.loc[0, "roc_auc"] == record["roc_auc"]  # same name: same seeds


def test_evaluate_errors_are_clear() -> None:
    with pytest.raises(SuiteError, match="unknown detector 'iforrest'.*Did you mean 'iforest'"):
        anobench.evaluate("iforrest", "wine", seeds=(0,))
    with pytest.raises(ValueError, match="neither a registered data set nor a file.*'wine'"):
        anobench.evaluate("iforest", "wien", seeds=(0,))
    with pytest.raises(ValueError, match=r"X of shape \(n, ...\) and y of shape \(n,\)"):
        anobench.evaluate("iforest", (np.zeros((5, 2)), np.zeros(4)), seeds=(0,))
    with pytest.raises(ValueError, match=r"y must hold 0 \(normal\) / 1 \(anomaly\)"):
        anobench.evaluate("iforest", (np.zeros((4, 2)), np.array(["n", "a", "n", "a"])))
    with pytest.raises(ValueError, match="y must hold"):
        anobench.evaluate("iforest", (np.zeros((4, 2)), np.array([0, 0.5, 0, 0.5])))

    class NoParams:
        def fit(self, X):
            return self

    with pytest.raises(TypeError, match="no get_params"):
        anobench.evaluate(NoParams(), "wine", seeds=(0,))
    from anobench.detectors.classical import IForest

    with pytest.raises(TypeError, match="pass an instance"):
        anobench.evaluate(IForest, "wine", seeds=(0,))


def test_script_without_main_guard_runs_in_worker_processes(tmp_path: Path) -> None:
    """`anobench.run(jobs=2)` spawns workers; they must not re-run the script (which
    used to store every cell as BrokenProcessPool)."""
    (tmp_path / "s.toml").write_text(SUITE)
    script = tmp_path / "bench_script.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import matplotlib
            matplotlib.use("svg")
            import anobench
            import anobench.report.plots.charts
            assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
            run = anobench.run({str(tmp_path / "s.toml")!r}, out={str(tmp_path / "run")!r}, jobs=2)
            print("STATUS", sorted(set(r["status"] for r in run.records)), len(run.records))
            print("ERRORS", [r.get("error") for r in run.records if r["status"] != "ok"])
            frame = anobench.evaluate("iforest", "wine", seeds=(0,))
            print("EVALUATE", frame.loc[0, "status"])
            """
        )
    )
    env = {**os.environ, "PYTHONSAFEPATH": "1"}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "STATUS ['ok'] 4" in done.stdout, done.stdout + done.stderr[-3000:]
    assert "EVALUATE ok" in done.stdout


def test_load_run_and_compare(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(SUITE)
    (tmp_path / "b.toml").write_text(SUITE.replace("n_neighbors = 5", "n_neighbors = 1"))
    for name in ("a", "b"):
        run_suite(load_suite(tmp_path / f"{name}.toml"), tmp_path / name, detector_registry(),
                  dataset_registry(), jobs=1)  # fmt: skip
    run = anobench.load_run(tmp_path / "a")
    assert len(run.records) == 4 and len(run.frame) == 4
    board = run.leaderboard("roc_auc")
    assert {"iforest", "pyod-knn(n_neighbors=5)"} <= set(board.index.astype(str)) | set(
        board.get("detector", [])
    )
    report = run.report()
    assert report.boards and report.boards[0].summary is not None
    same = anobench.compare(tmp_path / "a", tmp_path / "a")
    assert same.passed and same.cells["same_inputs"].all()
    assert (same.cells["roc_auc_diff"] == 0).all()
    other = anobench.compare(tmp_path / "a", tmp_path / "b")
    # the kNN cells differ in label (parameters): they are in one run only
    assert set(other.cells["in"]) == {"both", "a", "b"}
    assert not other.passed  # a's kNN key is missing from b
    assert "missing" in other.text()
    iforest = other.detectors[other.detectors["label"] == "iforest"]
    assert (iforest["diff"] == 0).all() and (iforest["n_cells"] == 2).all()
    with pytest.raises(FileNotFoundError, match="not a run directory"):
        anobench.load_run(tmp_path / "nowhere")


def test_readme_python_example_runs(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Python API", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    script = tmp_path / "example.py"
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600,
        cwd=tmp_path, env={**os.environ, "PYTHONSAFEPATH": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "roc_auc" in done.stdout and "IsolationForest(n_estimators=50)" in done.stdout


def test_public_names_progress_bar_and_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """dir(anobench) lists the API; run() shows a progress bar unless told not to, and
    writes the report on request."""
    assert {"evaluate", "run", "load_run", "compare"} <= set(dir(anobench))
    (tmp_path / "s.toml").write_text(SUITE.replace("seeds = [0, 1]", "seeds = [0]"))
    quiet = anobench.run(tmp_path / "s.toml", tmp_path / "quiet", progress=False)
    assert "cell" not in capsys.readouterr().err
    assert quiet.summary is not None and quiet.summary.ran == 2
    assert not (tmp_path / "quiet" / "report").exists()
    shown = anobench.run(tmp_path / "s.toml", tmp_path / "shown", report=True)
    assert "2/2" in capsys.readouterr().err  # tqdm's count
    assert (tmp_path / "shown" / "report" / "index.html").is_file()
    assert shown.write_report(plots=False) == tmp_path / "shown" / "report"
