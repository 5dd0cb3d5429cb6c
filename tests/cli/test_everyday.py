"""The everyday loop: a light command line, listing from the catalog, the dry run, shards
and a report that is not rebuilt when nothing changed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from anobench.cli import catalog, main
from anobench.cli.options import MAX_CELLS
from anobench.execution.driver import in_shard, plan_suite
from anobench.plan.expansion import MAX_CELLS as SUITE_MAX_CELLS
from anobench.plan.suite import load_suite
from anobench.registry import Registry, dataset_registry, detector_registry

HEAVY = ("sklearn", "jax", "pandas", "pyod", "scipy")


def _imported_after(code: str) -> set[str]:
    probe = (
        "import sys\n" + code + "\nprint(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split()[-1000:])


def test_help_and_listing_import_nothing_heavy() -> None:
    loaded = _imported_after(
        "from anobench.cli import main\n"
        "import contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try: main(['--help'])\n"
        "    except SystemExit: pass\n"
        "    main(['list', 'detectors'])\n"
    )
    assert not loaded & set(HEAVY), loaded & set(HEAVY)


def test_max_cells_default_matches_the_suite_limit() -> None:
    assert MAX_CELLS == SUITE_MAX_CELLS


@pytest.mark.parametrize("group", catalog.GROUPS)
def test_catalog_matches_the_classes(group: str) -> None:
    """The shipped catalog is what importing each built-in says (`make catalog` rewrites it)."""
    registry = Registry(group)
    shipped = json.loads(catalog.CATALOG_FILE.read_text())[group]
    builtin = [n for n in registry.names() if registry.entry(n).distribution == "anobench"]
    assert sorted(shipped) == sorted(builtin), "run `make catalog`"
    for name in builtin:
        try:
            obj = registry.load(name)
        except ImportError:
            continue  # an extra not installed here (its entry is checked where it is)
        assert shipped[name] == catalog.describe(obj, group, registry.entry(name).ref), (
            f"catalog entry of {name!r} is stale: run `make catalog`"
        )


def test_catalog_vouches_only_for_unchanged_builtins(monkeypatch) -> None:
    group = "anobench.detectors"
    assert catalog.lookup(group, "iforest", "anobench.detectors.classical:IForest", "anobench")
    assert catalog.lookup(group, "iforest", "elsewhere:IForest", "anobench") is None
    assert (
        catalog.lookup(group, "iforest", "anobench.detectors.classical:IForest", "plugin") is None
    )
    monkeypatch.setattr(catalog, "_installed", lambda dist: dist != "pyod")
    assert catalog.lookup(group, "pyod-knn", "anobench.detectors.pyod_zoo:KNN", "anobench") is None


def test_list_check_imports_and_agrees(capsys) -> None:
    assert main(["list", "detectors"]) == 0
    fast = capsys.readouterr().out
    assert main(["list", "detectors", "--check"]) == 0
    assert capsys.readouterr().out == fast


def _suite(tmp_path: Path) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(
        'name = "s"\nprotocols = ["novelty"]\nseeds = [0, 1]\n'
        'detectors = ["iforest", "pca"]\ndatasets = ["wine", "blobs-local"]\n'
    )
    return path


def test_dry_run_counts_and_estimates(tmp_path: Path, capsys) -> None:
    suite, out = _suite(tmp_path), tmp_path / "run"
    assert main(["run", str(suite), "--out", str(out), "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "8 cells in the suite, 8 to run (0 already stored" in text
    assert "ETA: unknown (no past records" in text and not out.exists()
    assert main(["run", str(suite), "--out", str(out), "--quiet", "--seeds", "0", "-j", "1"]) == 0
    capsys.readouterr()
    assert main(["run", str(suite), "--out", str(out), "--dry-run", "-j", "2"]) == 0
    text = capsys.readouterr().out
    assert "8 cells in the suite, 4 to run (4 already stored" in text
    assert "ETA: about" in text and "4 of 4 cells estimated" in text
    assert "| iforest" in text or "iforest" in text


@pytest.mark.slow
def test_shards_partition_the_cells_and_assemble(tmp_path: Path, capsys) -> None:
    suite_path, out = _suite(tmp_path), tmp_path / "run"
    suite = load_suite(str(suite_path))
    cells = plan_suite(suite, out, detector_registry(), dataset_registry()).cells
    parts = [{c.cell_id for c in cells if in_shard(c.cell_id, (k, 3))} for k in (1, 2, 3)]
    assert sum(map(len, parts)) == len(cells) == len(set().union(*parts))
    for k in (1, 2, 3):
        assert main(["run", str(suite_path), "--out", str(out), "--shard", f"{k}/3", "-q"]) == 0
        text = capsys.readouterr().out
        assert f"(shard {k}/3)" in text and "writes the report" in text
        assert not (out / "report").exists()
    assert len(list((out / "cells").glob("*.json"))) == len(cells)
    assert main(["report", str(out)]) == 0
    assert "never ran" not in capsys.readouterr().out
    assert main(["run", str(suite_path), "--out", str(out), "--shard", "4/3"]) == 2
    assert "between 1 and N" in capsys.readouterr().err


def test_shards_share_the_lock_a_whole_run_does_not(tmp_path: Path) -> None:
    from anobench.errors import RunLockedError
    from anobench.execution.store import RunStore

    store = RunStore(tmp_path)
    with store.lock(shared=True), RunStore(tmp_path).lock(shared=True):
        with pytest.raises(RunLockedError, match="shards of a run"):
            with RunStore(tmp_path).lock():
                pass
    with store.lock(), pytest.raises(RunLockedError, match="only with other shards"):
        with RunStore(tmp_path).lock(shared=True):
            pass


def test_unchanged_report_is_kept_and_a_new_record_rebuilds_it(tmp_path: Path, capsys) -> None:
    suite, out = _suite(tmp_path), tmp_path / "run"
    args = ["run", str(suite), "--out", str(out), "-q", "--seeds", "0", "--detectors", "iforest"]
    assert main(args) == 0
    index = out / "report" / "index.html"
    first = index.stat().st_mtime_ns
    assert main(args) == 0  # nothing new: the report is kept
    assert index.stat().st_mtime_ns == first
    assert main(["report", str(out), "--no-plots"]) == 0  # other options: rebuilt
    assert index.stat().st_mtime_ns != first
    second = index.stat().st_mtime_ns
    assert main(["report", str(out), "--no-plots", "--rebuild"]) == 0
    assert index.stat().st_mtime_ns != second
    capsys.readouterr()


def test_unknown_metric_is_named_with_suggestions() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "anobench.cli", "report", ".", "--metric", "roc_acu"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert "unknown metric 'roc_acu'" in out.stderr and "Did you mean 'roc_auc'" in out.stderr


def test_lists_wrap_to_the_terminal_and_summaries_end_a_sentence(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    for what in ("suites", "detectors", "protocols"):
        assert main(["list", what]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert max(len(line) for line in lines) <= 100, what
    from anobench.registry import detector_registry

    assert detector_registry().load("ae").summary().endswith("reconstruction error.")
