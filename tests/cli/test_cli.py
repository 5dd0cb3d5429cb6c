"""The command line, as a user runs it."""

from __future__ import annotations

import subprocess
import sys

from anobench.cli import main


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "anobench.cli", *args], capture_output=True, text=True
    )


def test_help_everywhere() -> None:
    for args in ([], ["run"], ["list"], ["report"]):
        out = run(*args, "--help")
        assert out.returncode == 0 and "usage: anobench" in out.stdout


def test_list(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # one line per row: phrases stay whole
    assert main(["list", "detectors"]) == 0
    out = capsys.readouterr().out
    assert "pyod-lmdd" in out and "ocsvm" in out
    assert main(["list", "datasets"]) == 0
    assert "blobs-clustered" in capsys.readouterr().out
    assert main(["list", "suites"]) == 0
    assert "quick" in capsys.readouterr().out
    assert main(["list", "protocols"]) == 0
    out = capsys.readouterr().out
    assert "adbench-2022" in out and "IForest=pyod-iforest" in out and "resampled WITH" in out


def test_clear_errors_for_unknown_names_and_bad_values(tmp_path, capsys) -> None:
    assert main(["run", "quik"]) == 2
    assert "Did you mean 'quick'" in capsys.readouterr().err
    assert main(["run", "quick", "--detectors", "iforst", "--out", str(tmp_path)]) == 2
    assert "Did you mean 'iforest'" in capsys.readouterr().err
    assert main(["run", "quick", "--seeds", "x", "--out", str(tmp_path)]) == 2
    assert "--seeds takes integers" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "nope")]) == 2
    out = run("run", "quick", "--jobs", "0")
    assert out.returncode == 2 and "must be >= 1" in out.stderr


def test_run_subset_prints_leaderboard_then_report(tmp_path) -> None:
    out = run(
        "run",
        "quick",
        "--detectors",
        "iforest,pca",
        "--datasets",
        "wine",
        "--seeds",
        "0",
        "--out",
        str(tmp_path),
        "--quiet",
    )
    assert out.returncode == 0, out.stderr
    assert "4 cells: 0 already done, ran 4 (4 ok)" in out.stdout
    assert "ROC-AUC, protocol novelty" in out.stdout and "| iforest" in out.stdout
    again = run("report", str(tmp_path), "--metric", "f1@best-f1")
    assert again.returncode == 0 and "oracle" in again.stdout
