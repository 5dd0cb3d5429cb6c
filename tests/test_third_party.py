"""A third-party plugin package, built and pip-installed into a temporary environment,
used from the command line as a user would: listed, validated, run in a suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PYPROJECT = """
[build-system]
requires = ["setuptools>=70"]
build-backend = "setuptools.build_meta"

[project]
name = "acme-anomaly"
version = "1.2.0"

[project.entry-points."anobench.detectors"]
acme-centroid = "acme_anomaly:Centroid"
acme-wrong = "acme_anomaly:helper"

[project.entry-points."anobench.datasets"]
acme-ring = "acme_anomaly:RING"
"""

MODULE = '''
"""An outside package adding one detector and one data set to anobench."""
import numpy as np

from anobench.data.spec import DatasetSpec
from anobench.contract import BaseDetector


class Centroid(BaseDetector):
    """Distance to the training mean."""

    name = "acme-centroid"
    modalities = ("tabular",)

    def __init__(self, power: float = 2.0):
        self.power = power

    def _fit(self, X):
        self.mean_ = X.mean(axis=0)

    def _score(self, X):
        return (np.abs(X - self.mean_) ** self.power).sum(axis=1)

    @classmethod
    def test_params(cls):
        return {"power": 1.0}


def helper():
    """Not a detector: its entry point must be listed as unavailable."""


def _ring(n: int = 400):
    rng = np.random.default_rng(0)
    angle = rng.uniform(0, 2 * np.pi, n)
    X = np.c_[np.cos(angle), np.sin(angle)] + 0.05 * rng.normal(size=(n, 2))
    y = (np.arange(n) % 10 == 0).astype(int)
    X[y == 1] *= 3.0
    return X, y


RING = DatasetSpec(name="acme-ring", modality="tabular", load=_ring, params={"n": 400})
'''


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("acme")
    src = root / "src"
    (src / "acme_anomaly").mkdir(parents=True)
    (src / "pyproject.toml").write_text(PYPROJECT)
    (src / "acme_anomaly" / "__init__.py").write_text(MODULE)
    target = root / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(src)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return target


def _anobench(target: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # wide enough that `list` keeps each row on one line
    env = {**os.environ, "PYTHONPATH": str(target), "PYTHONSAFEPATH": "1", "COLUMNS": "400"}
    return subprocess.run(
        [sys.executable, "-m", "anobench.cli", *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=600,
    )  # fmt: skip


@pytest.mark.slow
def test_installed_plugin_is_listed_validated_and_runs(installed: Path, tmp_path: Path) -> None:
    listed = _anobench(installed, "list", "detectors", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = {line.split()[0]: line for line in listed.stdout.splitlines() if line.strip()}
    assert "acme-anomaly" in lines["acme-centroid"]
    assert "UNAVAILABLE" in lines["acme-wrong"] and "is not a class" in listed.stdout
    datasets = _anobench(installed, "list", "datasets", cwd=tmp_path)
    assert "acme-ring" in datasets.stdout
    (tmp_path / "s.toml").write_text(
        textwrap.dedent(
            """
            name = "acme"
            protocols = ["novelty"]
            seeds = [0, 1]
            [detectors.acme-centroid]
            power = [1.0, 2.0]
            [detectors.iforest]
            [datasets.acme-ring]
            """
        )
    )
    done = _anobench(
        installed, "run", "s.toml", "--out", "run", "--jobs", "2", "--no-report", cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    records = [json.loads(p.read_text()) for p in (tmp_path / "run" / "cells").glob("*.json")]
    assert len(records) == 6 and {r["status"] for r in records} == {"ok"}
    plugin = [r for r in records if r["detector"] == "acme-centroid"]
    assert plugin[0]["provenance"]["detector"]["distribution"] == "acme-anomaly"
    assert plugin[0]["provenance"]["detector"]["version"] == "1.2.0"
    assert all(r["roc_auc"] > 0.9 for r in plugin)
    # the contract checks an author runs on the plugin
    check = subprocess.run(
        [sys.executable, "-c", "import acme_anomaly; from anobench.testing import "
         "check_detector; check_detector(acme_anomaly.Centroid); print('contract ok')"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(installed)},
    )  # fmt: skip
    assert "contract ok" in check.stdout, check.stderr[-2000:]
