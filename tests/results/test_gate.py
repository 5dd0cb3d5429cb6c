"""The regression gate: baseline from a run, check of later runs against it."""

from __future__ import annotations

import json
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from anobench.cli import main
from anobench.execution.driver import run_suite
from anobench.plan.suite import Suite
from anobench.registry import DETECTOR_GROUP, Registry, dataset_registry
from anobench.report.render.gate import format_findings
from anobench.results.gate import Baseline, BaselineError, check, make_baseline

SUITE = Suite(
    name="gate",
    detectors=["plug", "iforest"],
    datasets=["wine", "breast-cancer"],
    protocols=["novelty"],
    seeds=[0, 1, 2],
)


def registry(plug_ref: str | None) -> Registry:
    """Detectors ``iforest`` and ``plug`` (pointing at ``plug_ref``; left out when None)."""
    entries = [EntryPoint("iforest", "anobench.detectors.classical:IForest", DETECTOR_GROUP)]
    if plug_ref:
        entries.append(EntryPoint("plug", plug_ref, DETECTOR_GROUP))
    return Registry(DETECTOR_GROUP, lambda: entries)


def run(tmp_path: Path, name: str, plug_ref: str | None) -> Path:
    suite = SUITE if plug_ref else SUITE.model_copy(update={"detectors": {"iforest": {}}})
    out = tmp_path / name
    run_suite(suite, out, registry(plug_ref), dataset_registry(), jobs=1)
    return out


@pytest.fixture
def baseline_run(tmp_path: Path, make_plugin) -> tuple[Path, Baseline]:
    make_plugin("gateplug", {})
    base = run(tmp_path, "base", "gateplug:Mean")
    return base, make_baseline(base)


def kinds(findings) -> set[tuple[str, str]]:
    return {(f.kind, f.detector) for f in findings}


def test_unchanged_run_passes_and_round_trips(baseline_run, tmp_path: Path) -> None:
    _, baseline = baseline_run
    again = run(tmp_path, "again", "gateplug:Mean")
    assert check(again, baseline) == []
    path = baseline.save(tmp_path / "b.json")
    loaded = Baseline.load(path)
    assert loaded == baseline
    assert len(loaded.cells) == 2 * 2 * 2  # detectors x data sets x metrics
    cell = next(c for c in loaded.cells if c.detector == "iforest" and c.metric == "roc_auc")
    assert cell.n_ok == cell.n == 3 and cell.std >= 0
    assert loaded.allowed_drop(cell) == max(0.02, 3.0 * cell.std)


def test_negated_scores_are_a_regression(baseline_run, tmp_path: Path) -> None:
    _, baseline = baseline_run
    flipped = run(tmp_path, "flipped", "gateplug:Flipped")
    findings = check(flipped, baseline)
    assert ("regression", "plug") in kinds(findings)
    assert all(f.detector == "plug" for f in findings)  # iforest unchanged
    assert "FAILED" in format_findings(findings, len(baseline.cells))


def test_a_detector_that_now_crashes_newly_fails(baseline_run, tmp_path: Path) -> None:
    _, baseline = baseline_run
    crashing = run(tmp_path, "crashing", "gateplug:Raises")
    findings = check(crashing, baseline)
    assert kinds(findings) == {("new failure", "plug")}
    assert all(f.fails for f in findings)


def test_missing_cells_fail_and_new_cells_do_not(baseline_run, tmp_path: Path) -> None:
    base, baseline = baseline_run
    partial = run(tmp_path, "partial", None)
    findings = check(partial, baseline)
    assert kinds(findings) == {("missing", "plug")}
    smaller = Baseline(
        **{**baseline.__dict__, "cells": [c for c in baseline.cells if c.detector == "iforest"]}
    )
    findings = check(base, smaller)
    assert kinds(findings) == {("new", "plug")} and not any(f.fails for f in findings)


def test_cli_baseline_and_check_exit_codes(baseline_run, tmp_path: Path, capsys) -> None:
    base, _ = baseline_run
    flipped = run(tmp_path, "flipped", "gateplug:Flipped")
    path = tmp_path / "ref" / "gate.json"
    assert main(["baseline", str(base), "--out", str(path)]) == 0
    assert json.loads(path.read_text())["suite"] == "gate"
    assert main(["check", str(base), "--baseline", str(path)]) == 0
    assert "passed" in capsys.readouterr().out
    assert main(["check", str(flipped), "--baseline", str(path)]) == 1
    out = capsys.readouterr().out
    assert "REGRESSION" in out and "plug" in out
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert main(["check", str(base), "--baseline", str(bad)]) == 2
    with pytest.raises(BaselineError, match="no baseline"):
        Baseline.load(tmp_path / "absent.json")


def test_committed_ci_baseline_matches_the_ci_suite() -> None:
    from anobench.plan.expansion import expand
    from anobench.plan.suite import load_suite
    from anobench.registry import detector_registry

    baseline = Baseline.load(Path(__file__).resolve().parents[2] / "results" / "reference" / "ci.json")
    assert baseline.suite == "ci"
    cells = expand(load_suite("ci"), detector_registry(), dataset_registry())
    keys = {(c.label, c.dataset_label, c.protocol) for c in cells}
    assert {(c.detector, c.dataset, c.protocol) for c in baseline.cells} == keys
    families = {detector_registry().load(c.detector).family for c in cells}
    assert families == {"classical", "deep"}
