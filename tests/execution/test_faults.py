"""Fault injection: misbehaving detectors and data (``tests/execution/fault_plugin.py``), damaged
run directories, path escapes and hostile settings.

Each scenario asserts what matters to a user: the run finishes, every innocent cell is
``ok`` with the scores of a run without the fault, nothing is written outside the run
directory and nothing finished is lost. The fast scenarios run in ``make test``; those
marked ``faults`` (kills at random moments, concurrent runs, a full disk) in
``make test-faults``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from anobench.execution.driver import run_suite
from anobench.execution.store import RunStore
from anobench.plan.suite import Suite, SuiteError, load_suite
from anobench.registry import dataset_registry, detector_registry

PLUGIN = "anobench_faults"
SOURCE = (Path(__file__).parent / "fault_plugin.py").read_text()
CLI = [sys.executable, "-m", "anobench.cli"]


def _entry_points() -> tuple[dict[str, str], dict[str, str]]:
    namespace: dict[str, Any] = {}
    exec(compile(SOURCE, "fault_plugin", "exec"), namespace)
    detectors = {name: f"{PLUGIN}:{cls}" for name, cls in namespace["FAULTY"].items()}
    detectors["fault-mean"] = f"{PLUGIN}:Mean"
    datasets = {
        name: f"{PLUGIN}:{name.upper().replace('-', '_')}" for name in namespace["DATASETS"]
    }
    return detectors, datasets


@pytest.fixture
def faults(make_plugin: Callable[..., str], tmp_path: Path) -> dict[str, str]:
    """Install the fault plugin; returns its detector entry points."""
    detectors, datasets = _entry_points()
    make_plugin(PLUGIN, detectors, datasets, source=SOURCE)
    return detectors


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _scores(run_dir: Path) -> dict[tuple[str, str, int], tuple[str, Any]]:
    store = RunStore(run_dir)
    out = {}
    for rec in store.records():
        arrays = store.scores(rec["cell_id"])
        out[(rec["detector"], rec["dataset"], rec["seed"])] = (
            rec["status"],
            None if arrays is None else arrays["scores"].tolist(),
        )
    return out


INNOCENT = ["fault-mean", "gmm", "kde", "pyod-knn"]

#: fault -> (status, text in the error) of its cells
EXPECTED = {
    "fault-raises": ("error", "boom from the plugin"),
    "fault-sys-exit": ("error", "SystemExit"),
    "fault-system-exit-4": ("error", "SystemExit: 4"),
    "fault-keyboard-interrupt": ("error", "KeyboardInterrupt"),
    "fault-os-exit": ("error", "exit code 7"),
    "fault-segfault": ("error", "SIGSEGV"),
    "fault-hangs-ignoring-term": ("timeout", "time budget of 8 s"),
    "fault-blocks-in-c": ("timeout", "time budget of 8 s"),
    "fault-allocates": ("oom", "memory budget of 700 MiB"),
    "fault-wrong-shape": ("error", "WrongShape returned"),
    "fault-nan": ("error", "non-finite scores"),
    # these misbehave around the cell; the cell itself succeeds
    "fault-leaks-thread": ("ok", None),
    "fault-leaks-child": ("ok", None),
    "fault-global-numpy": ("ok", None),
    "fault-prints": ("ok", None),
}


@pytest.mark.faults
def test_misbehaving_detectors_are_isolated(
    faults: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: Any
) -> None:
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    monkeypatch.setenv("ANOBENCH_FAULT_PID_DIR", str(pid_dir))
    # faults first in each data set's order, so innocent cells run in workers the
    # faults have used
    names = [*EXPECTED, *INNOCENT]
    suite = Suite(
        name="faults",
        detectors=names,
        datasets=["wine", "breast-cancer"],
        protocols=["novelty"],
        seeds=[0],
        time_budget=8,
        memory_budget_mb=700,
        calibration={"method": "holdout"},
    )
    runs = tmp_path / "runs"
    before = _tree(tmp_path) - {str(Path("runs"))}
    summary = run_suite(suite, runs / "faulty", detector_registry(), dataset_registry(), jobs=2)
    assert summary.ran == summary.total == 2 * len(names)
    records = {(r["detector"], r["dataset"]): r for r in RunStore(runs / "faulty").records()}
    assert len(records) == summary.total  # nothing lost, the run finished
    for (det, ds), rec in records.items():
        if det in INNOCENT:
            assert rec["status"] == "ok", (det, ds, rec.get("error"))
            continue
        status, text = EXPECTED[det]
        assert rec["status"] == status, (det, ds, rec.get("error"))
        if text:
            assert text in rec["error"], (det, rec["error"])
    # innocent cells have exactly the scores of a run without the faults
    clean = suite.model_copy(update={"name": "clean", "detectors": {n: {} for n in INNOCENT}})
    run_suite(clean, runs / "clean", detector_registry(), dataset_registry(), jobs=2)
    faulty, reference = _scores(runs / "faulty"), _scores(runs / "clean")
    for key, value in reference.items():
        assert faulty[key] == value, key
    # what the workers cleaned up is on the record
    leaker = records[("fault-leaks-thread", "wine")]["isolation"]
    assert set(leaker["leaked_threads"]) == {"fault-spinner"}
    assert records[("fault-leaks-child", "wine")]["isolation"]["killed_processes"] >= 1
    assert "numpy error mode" in records[("fault-global-numpy", "wine")]["isolation"]["state_reset"]
    # every process a detector started is gone, the daemonised ones included
    pids = [int(p.stem) for p in pid_dir.glob("*.pid")]
    assert len(pids) >= 2
    time.sleep(0.5)
    assert not [pid for pid in pids if _alive(pid)]
    # 50 MB of output went into the record, truncated, not to the terminal
    output = records[("fault-prints", "wine")]["output"]
    assert output["bytes"] > 50_000_000 and len(output["text"]) < 10_000
    assert "native stderr line" in output["text"]
    captured = capfd.readouterr()
    assert len(captured.out) + len(captured.err) < 100_000
    # nothing written outside the run directories
    assert _tree(tmp_path) - before - {str(Path("runs"))} <= {
        p for p in _tree(tmp_path) if p.startswith("runs") or p.startswith("pids")
    }


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_bad_data_sets_become_records(faults: dict[str, str], tmp_path: Path) -> None:
    """NaN, inf, one class, strings, huge values: each is a recorded failure naming the
    problem, and the good data set's cells are unaffected."""
    suite = Suite(
        name="bad-data",
        detectors=["fault-mean", "iforest"],
        datasets=[
            "fault-data-nan",
            "fault-data-inf",
            "fault-data-one-class",
            "fault-data-strings",
            "fault-data-huge",
            "wine",
        ],
        protocols=["novelty"],
        seeds=[0],
        time_budget=30,
    )
    summary = run_suite(suite, tmp_path / "run", detector_registry(), dataset_registry(), jobs=2)
    records = list(RunStore(tmp_path / "run").records())
    assert len(records) == summary.total == 12
    for rec in records:
        if rec["dataset"] == "wine":
            assert rec["status"] == "ok"
        else:
            assert rec["status"] in ("error", "skipped"), rec
            assert rec["error"], rec


# -- damaged run directories -----------------------------------------------------------
SMALL = dict(
    name="small",
    detectors=["pca", "gmm"],
    datasets=["wine", "breast-cancer"],
    protocols=["novelty"],
    seeds=[0],
)


@pytest.mark.faults
def test_damaged_records_and_scores_are_rerun(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from anobench.report.build import write_report

    run_dir = tmp_path / "run"
    suite = Suite(**SMALL)
    run_suite(suite, run_dir, detector_registry(), dataset_registry(), jobs=2)
    write_report(run_dir)
    before = _scores(run_dir)
    store = RunStore(run_dir)
    ids = sorted(p.stem for p in store.cells_dir.glob("*.json"))
    damaged = {
        store.scores_path(ids[0]): b"",  # empty score file
        store.scores_path(ids[1]): store.scores_path(ids[1]).read_bytes()[:100],  # truncated
        store.path(ids[2]): b"[]",
        store.path(ids[3]): b"{}",
    }
    for path, content in damaged.items():
        path.write_bytes(content)
    # the report still works, naming the damaged files
    write_report(run_dir)
    # a rerun repairs them, and only them
    summary = run_suite(suite, run_dir, detector_registry(), dataset_registry(), jobs=2)
    assert summary.ran == 4 and summary.by_status == {"ok": 4}
    logged = caplog.text
    for path in damaged:
        assert str(path) in logged
    assert _scores(run_dir) == before


def test_record_with_missing_fields_is_rerun(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    suite = Suite(**SMALL)
    run_suite(suite, run_dir, detector_registry(), dataset_registry(), jobs=1)
    store = RunStore(run_dir)
    path = sorted(store.cells_dir.glob("*.json"))[0]
    record = json.loads(path.read_text())
    del record["status"], record["seed"]
    path.write_text(json.dumps(record))
    summary = run_suite(suite, run_dir, detector_registry(), dataset_registry(), jobs=1)
    assert summary.ran == 1


def test_run_json_that_is_not_an_object_is_kept_aside(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run.json").write_text("[1, 2, 3]")
    out = subprocess.run(
        [*CLI, "run", str(_suite_file(tmp_path)), "--out", str(run_dir), "--quiet"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "not a run manifest" in out.stderr
    kept = list(run_dir.glob("run.json.damaged-*"))
    assert len(kept) == 1 and kept[0].read_text() == "[1, 2, 3]"


def test_files_are_created_readable(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    old = os.umask(0o022)
    try:
        run_suite(Suite(**SMALL), run_dir, detector_registry(), dataset_registry(), jobs=1)
    finally:
        os.umask(old)
    store = RunStore(run_dir)
    for path in [*store.cells_dir.glob("*.json"), *store.scores_dir.glob("*.npz")]:
        assert path.stat().st_mode & 0o777 == 0o644, path
    assert (run_dir / "run.json").stat().st_mode & 0o777 == 0o644


# -- paths -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["../../../ESCAPED", "/tmp/abs", "a/b", ".hidden", "x" * 65])
def test_suite_names_cannot_leave_the_results_folder(name: str) -> None:
    with pytest.raises(ValueError, match="suite name"):
        Suite(**{**SMALL, "name": name})


def test_report_file_names_stay_in_the_run_directory(
    faults: dict[str, str], tmp_path: Path, make_record: Callable[..., dict]
) -> None:
    """A record whose protocol holds ``/../`` and a 300-character data set parameter:
    the report writes only inside the run directory, with names the file system takes."""
    from anobench.report.build import write_report

    run_dir = tmp_path / "deep" / "run"
    suite = Suite(
        name="long",
        detectors=["fault-mean", "pca"],
        datasets={"fault-data-tagged": {"tag": "t" * 300}},
        protocols=["novelty"],
        seeds=[0, 1],
    )
    run_suite(suite, run_dir, detector_registry(), dataset_registry(), jobs=1)
    store = RunStore(run_dir)
    evil = make_record(cell_id="evil", protocol="/../../../../escaped", roc_auc=0.5, ap=0.5)
    store.put(evil)
    evil2 = make_record(
        cell_id="evil2", detector="y", protocol="/../../../../escaped", roc_auc=0.6, ap=0.6
    )
    store.put(evil2)
    outside = _tree(tmp_path) - _tree(run_dir)
    report = write_report(run_dir)
    assert (report / "index.html").is_file()
    names = [p.name for p in report.rglob("*")]
    assert names and max(len(n) for n in names) <= 130
    assert {p for p in _tree(tmp_path) if not p.startswith(str(Path("deep") / "run"))} == {
        p for p in outside if not p.startswith(str(Path("deep") / "run"))
    }


# -- settings a run refuses with one clear line ----------------------------------------
def _suite_file(tmp_path: Path, extra: str = "", seeds: str = "[0]") -> Path:
    path = tmp_path / "suite.toml"
    path.write_text(
        f'name = "small"\nprotocols = ["novelty"]\nseeds = {seeds}\n{extra}'
        'detectors = ["pca"]\ndatasets = ["wine"]\n'
    )
    return path


@pytest.mark.parametrize(
    ("seeds", "extra", "message"),
    [
        ("[18446744073709551616]", "", "seeds"),
        ("[true]", "", "seeds"),
        ("[0, 0, 1]", "", "a seed is listed twice"),
        ("[-1]", "", "seeds"),
        ("[0]", "time_budget = inf\n", "time_budget"),
        ("[0]", "memory_budget_mb = nan\n", "memory_budget_mb"),
        ("[0]", 'protocols = ["novelty", "novelty"]\n', "listed twice"),
    ],
)
def test_bad_suite_values_are_one_line_errors(
    tmp_path: Path, seeds: str, extra: str, message: str
) -> None:
    path = _suite_file(tmp_path, extra.replace('protocols = ["novelty", "novelty"]\n', ""), seeds)
    if "protocols" in extra:
        path.write_text(path.read_text().replace('["novelty"]', '["novelty", "novelty"]'))
    with pytest.raises(SuiteError, match=message):
        load_suite(path)
    out = subprocess.run(
        [*CLI, "run", str(path), "--out", str(tmp_path / "r")], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert out.stderr.startswith("anobench: error:") and "Traceback" not in out.stderr
    assert not (tmp_path / "r" / "cells").exists()


def test_bad_seeds_on_the_command_line(tmp_path: Path) -> None:
    for seeds in (["99999999999999999999"], ["1", "1"]):
        out = subprocess.run(
            [*CLI, "run", str(_suite_file(tmp_path)), "--seeds", *seeds, "--out", str(tmp_path)],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
        assert out.stderr.startswith("anobench: error:") and "seeds" in out.stderr


def test_non_utf8_suite_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "suite.toml"
    path.write_bytes(b'name = "caf\xe9"\n')
    with pytest.raises(SuiteError, match="not UTF-8"):
        load_suite(path)


def test_huge_grid_is_refused_before_expanding(tmp_path: Path) -> None:
    path = tmp_path / "grid.toml"
    path.write_text(
        'name = "grid"\nseeds = [0]\ndatasets = ["wine"]\n'
        "[detectors.pyod-knn]\nn_neighbors = " + str(list(range(1, 1001))) + "\n"
        "[detectors.pca]\nn_components = " + str(list(range(1, 1001))) + "\n"
        "[detectors.kde]\nbandwidth = " + str([i / 10 for i in range(1, 1001)]) + "\n"
    )
    start = time.perf_counter()
    out = subprocess.run(
        [*CLI, "run", str(path), "--out", str(tmp_path / "r"), "--max-cells", "1000"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2 and "up to 6,006 cells" in out.stderr, out.stderr
    assert time.perf_counter() - start < 30


def test_out_that_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    suite = _suite_file(tmp_path)
    out = subprocess.run(
        [*CLI, "run", str(suite), "--out", str(target)], capture_output=True, text=True
    )
    assert out.returncode == 2 and "is a file" in out.stderr and target.read_text() == "x"


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root writes anywhere: a read-only folder refuses only others"
)
def test_out_that_is_read_only(tmp_path: Path) -> None:
    suite = _suite_file(tmp_path)
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o555)
    out = subprocess.run(
        [*CLI, "run", str(suite), "--out", str(ro)], capture_output=True, text=True
    )
    assert out.returncode == 2 and "cannot write" in out.stderr


def test_a_locked_run_directory_is_refused(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    with RunStore(run_dir).lock():
        out = subprocess.run(
            [*CLI, "run", str(_suite_file(tmp_path)), "--out", str(run_dir)],
            capture_output=True,
            text=True,
        )
    assert out.returncode == 2 and "another anobench run" in out.stderr
    assert f"pid {os.getpid()}" in out.stderr
    assert not (run_dir / "cells").exists()


def test_exit_status_says_cells_failed(faults: dict[str, str], tmp_path: Path) -> None:
    suite = tmp_path / "suite.toml"
    suite.write_text(
        'name = "exit"\nprotocols = ["novelty"]\nseeds = [0]\n'
        'detectors = ["fault-mean", "fault-raises"]\ndatasets = ["wine"]\n'
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    run = [*CLI, "run", str(suite), "--out", str(tmp_path / "r"), "--quiet"]
    out = subprocess.run(run, capture_output=True, text=True, env=env)
    assert out.returncode == 1, out.stderr
    assert "1 cell(s) failed" in out.stderr
    assert (tmp_path / "r" / "report" / "index.html").is_file()
    out = subprocess.run([*run, "--allow-failures"], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr


def test_report_is_replaced_whole_or_not_at_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report that fails midway (here: the disk fills before the HTML page) leaves the
    previous report whole: no new results.csv beside an old index.html."""
    from anobench.report import build as report
    from anobench.report.render import html

    run_dir = tmp_path / "run"
    run_suite(Suite(**SMALL), run_dir, detector_registry(), dataset_registry(), jobs=1)
    first = report.write_report(run_dir, plots=False)
    snapshot = {p.name: p.read_bytes() for p in first.iterdir() if p.is_file()}
    more = Suite(**{**SMALL, "seeds": [0, 1]})  # the next report has other numbers
    run_suite(more, run_dir, detector_registry(), dataset_registry(), jobs=1)

    def fail(*args: Any, **kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(html, "write_html", fail)
    with pytest.raises(OSError, match="No space"):
        report.write_report(run_dir, plots=False)
    assert {p.name: p.read_bytes() for p in first.iterdir() if p.is_file()} == snapshot
    assert not list(run_dir.glob(".report-*"))
    monkeypatch.undo()
    assert report.write_report(run_dir, plots=False) == first
    assert (first / "results.csv").read_bytes() != snapshot["results.csv"]


def test_sigterm_stops_like_ctrl_c(tmp_path: Path) -> None:
    suite = tmp_path / "suite.toml"
    suite.write_text(
        'name = "term"\nprotocols = ["novelty", "unsupervised"]\nseeds = [0, 1, 2]\n'
        'detectors = ["pca", "gmm", "kde", "iforest"]\n'
        'datasets = ["wine", "breast-cancer", "blobs-local"]\n'
    )
    run_dir = tmp_path / "r"
    proc = subprocess.Popen(
        [*CLI, "run", str(suite), "--out", str(run_dir), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline and len(list((run_dir / "cells").glob("*.json"))) < 5:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "terminated: finished cells are kept" in err
    kept = list(RunStore(run_dir).records())
    assert len(kept) >= 5
    # no worker survives the runner
    time.sleep(0.5)
    workers = subprocess.run(
        ["pgrep", "-f", "anobench-worker|multiprocessing.spawn"], capture_output=True, text=True
    )
    mine = [int(p) for p in workers.stdout.split() if _parent_chain_has(int(p), proc.pid)]
    assert not mine


def _parent_chain_has(pid: int, ancestor: int) -> bool:
    import psutil

    try:
        return any(p.pid == ancestor for p in psutil.Process(pid).parents())
    except psutil.Error:
        return False


# -- slow scenarios: `make test-faults` -------------------------------------------------
@pytest.mark.faults
def test_kill_9_at_random_moments_then_resume(tmp_path: Path) -> None:
    """Kill the whole run (runner and workers) three times at random moments; the
    resumed run equals an uninterrupted one and no record is ever damaged."""
    suite = tmp_path / "suite.toml"
    suite.write_text(
        'name = "kill"\nprotocols = ["novelty", "unsupervised"]\nseeds = [0, 1]\n'
        'detectors = ["pca", "gmm", "iforest", "pyod-knn"]\n'
        'datasets = ["wine", "breast-cancer", "blobs-local"]\n'
    )
    run = [*CLI, "run", str(suite), "--quiet", "--allow-failures"]
    killed = tmp_path / "killed"
    rng = np.random.default_rng(0)
    for _ in range(3):
        proc = subprocess.Popen(
            [*run, "--out", str(killed)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(float(rng.uniform(3, 12)))
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        for path in (killed / "cells").glob("*.json"):
            json.loads(path.read_text())  # complete or absent, never partial
    subprocess.run([*run, "--out", str(killed)], check=True, capture_output=True)
    full = tmp_path / "full"
    subprocess.run([*run, "--out", str(full)], check=True, capture_output=True)
    assert _scores(killed) == _scores(full)


@pytest.mark.faults
def test_two_runs_on_one_directory_and_a_report_during_a_run(tmp_path: Path) -> None:
    suite = tmp_path / "suite.toml"
    suite.write_text(
        'name = "two"\nprotocols = ["novelty", "unsupervised"]\nseeds = [0, 1, 2]\n'
        'detectors = ["pca", "gmm", "kde", "iforest", "pyod-knn"]\n'
        'datasets = ["wine", "breast-cancer", "blobs-local"]\n'
    )
    run_dir = tmp_path / "r"
    cmd = [*CLI, "run", str(suite), "--out", str(run_dir), "--quiet"]
    first = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((run_dir / "cells").glob("*.json"))) < 5:
        time.sleep(0.1)
    second = subprocess.run(cmd, capture_output=True, text=True)
    assert second.returncode == 2 and "another anobench run" in second.stderr
    report = subprocess.run(
        [*CLI, "report", str(run_dir), "--no-plots"], capture_output=True, text=True
    )
    assert report.returncode == 0, report.stderr
    first.communicate(timeout=600)
    assert first.returncode == 0
    assert len(list(RunStore(run_dir).records())) == 90


@pytest.mark.faults
@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
@pytest.mark.parametrize("size", ["120k", "1200k"])  # full during the cells / the report
def test_disk_full_during_cells_and_report(tmp_path: Path, size: str) -> None:
    mount = tmp_path / "small"
    mount.mkdir()
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)]
    ).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        suite = tmp_path / "suite.toml"
        suite.write_text(
            'name = "full"\nprotocols = ["novelty", "unsupervised"]\nseeds = [0, 1, 2]\n'
            'detectors = ["pca", "gmm", "iforest"]\ndatasets = ["breast-cancer", "blobs-local"]\n'
        )
        out = subprocess.run(
            [*CLI, "run", str(suite), "--out", str(mount / "r"), "--quiet"],
            capture_output=True,
            text=True,
        )
        assert out.returncode == 2, out.stderr
        last = out.stderr.strip().splitlines()[-1]
        assert last.startswith("anobench: error: No space left on device"), out.stderr
        assert "Traceback" not in out.stderr
        records = list((mount / "r" / "cells").glob("*.json"))
        for path in records:
            json.loads(path.read_text())  # every stored record whole
        assert not list((mount / "r").glob(".report-*"))
        if size == "1200k":
            assert len(records) == 36  # all cells kept; the report could not be written
    finally:
        subprocess.run(["umount", str(mount)])


NUMBERS = "anobench_numbers"
NUMBERS_SOURCE = (Path(__file__).parent / "fault_plugin_numbers.py").read_text()


@pytest.mark.faults
def test_wrong_numbers_are_refused_or_marked(
    make_plugin: Callable[..., str], tmp_path: Path
) -> None:
    """The second fault plugin (issue 25): a position scorer, an in-place mutator,
    transposed and two-column scores, scores near 1e300, and modules that exit or hang at
    import. Innocent cells keep their numbers, each faulty cell is recorded with its
    reason or measured honestly, and no number is silently wrong."""
    namespace: dict[str, Any] = {}
    exec(compile(NUMBERS_SOURCE, "fault_plugin_numbers", "exec"), namespace)
    make_plugin(NUMBERS, {k: f"{NUMBERS}:{v}" for k, v in namespace["DETECTORS"].items()},
                source=NUMBERS_SOURCE)  # fmt: skip
    (tmp_path / "exits_at_import.py").write_text("import os\nos._exit(0)\n")
    (tmp_path / "hangs_at_import.py").write_text("import time\nwhile True:\n    time.sleep(1)\n")
    tables = "\n".join(f"[detectors.{name}]" for name in namespace["DETECTORS"])
    suite_file = tmp_path / "numbers.toml"
    suite_file.write_text(
        'name = "numbers"\nprotocols = ["novelty"]\nseeds = [0, 1, 2]\ntime_budget = 10\n'
        f'{tables}\n[detectors.exits]\nref = "exits_at_import.py:Anything"\n'
        '[detectors.hangs]\nref = "hangs_at_import.py:Anything"\n'
        "[datasets.wine]\n[datasets.breast-cancer]\n"
    )
    suite = load_suite(suite_file)
    start = time.perf_counter()
    summary = run_suite(suite, tmp_path / "run", detector_registry(), dataset_registry(), jobs=2)
    assert time.perf_counter() - start < 240  # the hang cost its budget, not the run
    records = list(RunStore(tmp_path / "run").records())
    assert len(records) == summary.total == 8 * 2 * 3
    by: dict[str, list[Any]] = {}
    for record in records:
        by.setdefault(record.detector, []).append(record)
    assert all(r.status == "ok" for r in by["numbers-centroid"])
    centroid = {(r.dataset, r.seed): r.roc_auc for r in by["numbers-centroid"]}
    # the row order carries no label: a position scorer ranks at chance
    position = [r.roc_auc for r in by["numbers-position"]]
    assert all(r.status == "ok" for r in by["numbers-position"])
    assert 0.2 < float(np.mean(position)) < 0.8, position
    for record in by["numbers-mutator"]:
        assert record.status == "error" and "read-only" in (record.error or ""), record.error
    for name in ("numbers-transposed", "numbers-two-columns"):
        for record in by[name]:
            assert record.status == "error" and "shape" in (record.error or ""), record.error
    for record in by["numbers-huge"]:  # ranks intact; thresholds that overflow say so
        assert record.status == "ok" and record.roc_auc == centroid[(record.dataset, record.seed)]
        assert record.thresholds_not_computed, record.thresholds
        assert all(reason for reason in record.thresholds_not_computed.values())
    for name, reason in (("exits", "exit code 0"), ("hangs", "did not finish within 10 s")):
        for record in by[name]:
            assert record.status == "skipped" and reason in (record.error or ""), record.error
    # innocent cells: exactly the numbers of a run without the faults
    clean = suite.model_copy(update={"name": "clean", "detectors": {"numbers-centroid": {}}})
    run_suite(clean, tmp_path / "clean", detector_registry(), dataset_registry(), jobs=2)
    again = {(r.dataset, r.seed): r.roc_auc for r in RunStore(tmp_path / "clean").records()}
    assert again == centroid
