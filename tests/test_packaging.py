"""The built wheel holds the `anobench` package alone (no top-level bench/detectors/datasets)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_holds_only_anobench(tmp_path: Path) -> None:
    # build from a copy of the sources: setuptools' in-tree build/ keeps deleted files
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for folder in ("bench", "detectors", "datasets"):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(src),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("anobench-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert tops == {
        "anobench",
        wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info",
    }
    for needed in (
        "anobench/py.typed",
        "anobench/suites/quick.toml",
        "anobench/detectors/base.py",
        "anobench/datasets/spec.py",
    ):
        assert needed in names
    # data and published tables are fetched at run time, never shipped
    assert not [n for n in names if n.endswith((".csv", ".npz", ".mat", ".parquet", ".gz"))]
    entry_points = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith("entry_points.txt"))
    )
    assert b"[anobench.detectors]" in entry_points and b"[anobench.datasets]" in entry_points


def test_package_imports_only_itself() -> None:
    for path in (ROOT / "bench").rglob("*.py"):
        text = path.read_text()
        for bad in (
            "from bench",
            "import bench",
            "from detectors",
            "import detectors",
            "from datasets",
            "import datasets\n",
        ):
            assert bad not in text, f"{path}: {bad!r}"
