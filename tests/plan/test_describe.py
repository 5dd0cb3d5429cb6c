"""User code named by reference is imported only in separate processes: a module that
exits, hangs or raises at import never ends, hangs or breaks the run or its dry run; its
cells are recorded with the reason and the others run (issue 25, item 11)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from anobench.execution.store import RunStore
from anobench.plan.describe import describe
from anobench.plan.imports import BadReferenceError
from anobench.registry import UnavailableError

CLI = [sys.executable, "-m", "anobench.cli"]

#: a user's detector file (tests/fixtures/centroid.py)
CENTROID = (Path(__file__).resolve().parents[1] / "fixtures" / "centroid.py").read_text()
FINE = CENTROID


def _write(tmp_path: Path, name: str, prelude: str) -> str:
    marker = tmp_path / f"{name}.imported"
    text = f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n{prelude}\n{FINE}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(text))
    return f"{tmp_path / name}.py:Centroid"


def test_a_reference_is_described_without_importing_it_here(tmp_path: Path) -> None:
    ref = _write(tmp_path, "fine", "")
    described = describe(ref)
    assert described.param_names() == ["power"] and described.param_defaults() == {"power": 2.0}
    assert described.code["source"] and described.modalities
    assert "fine" not in {Path(getattr(m, "__file__", "") or "").stem for m in sys.modules.values()}
    assert (tmp_path / "fine.imported").exists()  # it was imported: in the child


def test_exit_hang_and_raise_at_import_make_it_unavailable(tmp_path: Path) -> None:
    exits = _write(tmp_path, "exits", "import os\nos._exit(0)")
    with pytest.raises(UnavailableError, match="exit code 0"):
        describe(exits)
    hangs = _write(tmp_path, "hangs", "import time\nwhile True:\n    time.sleep(1)")
    start = time.perf_counter()
    with pytest.raises(UnavailableError, match="did not finish within 3 s"):
        describe(hangs, seconds=3)
    assert time.perf_counter() - start < 20
    raises = _write(tmp_path, "raises", "raise RuntimeError('at import')")
    with pytest.raises((UnavailableError, BadReferenceError), match="at import"):
        describe(raises)


@pytest.mark.faults
def test_run_and_dry_run_survive_an_exit_at_import(tmp_path: Path) -> None:
    exits = _write(tmp_path, "exits", "import os\nos._exit(0)")
    fine = _write(tmp_path, "fine", "")
    suite = tmp_path / "s.toml"
    suite.write_text(
        'name = "refs"\nprotocols = ["novelty"]\nseeds = [0]\n'
        f'[detectors.bad]\nref = "{exits}"\n[detectors.good]\nref = "{fine}"\n'
        "[datasets.wine]\n"
    )
    env = {**os.environ, "PYTHONSAFEPATH": "1"}
    dry = subprocess.run(
        [*CLI, "run", str(suite), "--out", str(tmp_path / "dry"), "--dry-run"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert dry.returncode == 0, dry.stderr
    assert not (tmp_path / "dry" / "cells").exists()
    out = tmp_path / "run"
    done = subprocess.run(
        [*CLI, "run", str(suite), "--out", str(out), "--no-report", "--allow-failures"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    by = {r.detector: r for r in RunStore(out).records()}
    assert by["good"].status == "ok"
    assert by["bad"].status == "skipped" and "exit code 0" in (by["bad"].error or "")
