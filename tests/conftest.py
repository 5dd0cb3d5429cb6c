"""Shared fixtures: throw-away plugin distributions and small registries."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from anobench.record import SCHEMA_VERSION
from anobench.registry import DATASET_GROUP, DETECTOR_GROUP
from anobench.types import Cell

# Detectors that misbehave on purpose, shipped by the throw-away plugin.
BAD_DETECTORS = '''
import os, time
import numpy as np
from anobench.contract import BaseDetector

class Mean(BaseDetector):
    """Distance to the training mean (a working plugin detector)."""
    name = "plugin-mean"
    def __init__(self, power: float = 2.0):
        self.power = power
    def _fit(self, X):
        self.mean_ = X.mean(axis=0)
    def _score(self, X):
        return np.sum(np.abs(X - self.mean_) ** self.power, axis=1)

class Raises(Mean):
    """Raises in fit."""
    def _fit(self, X):
        raise RuntimeError("boom from the plugin")

class Hangs(Mean):
    """Never returns from fit."""
    def _fit(self, X):
        while True:
            time.sleep(0.1)

class ReturnsNaN(Mean):
    """Returns NaN scores."""
    def _score(self, X):
        out = super()._score(X)
        out[::2] = np.nan
        return out

class Crashes(Mean):
    """Kills its own process, like a segfault in native code."""
    def _fit(self, X):
        os._exit(11)

class Flipped(Mean):
    """Higher = more normal: the sign bug the contract checks must catch."""
    def _score(self, X):
        return -super()._score(X)
'''


@pytest.fixture
def make_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Create an importable distribution ``<name>`` with entry points, on ``sys.path``.

    The package is a real folder with a ``.dist-info`` (``METADATA`` and
    ``entry_points.txt``), so ``importlib.metadata`` discovers it exactly as it discovers
    a pip-installed plugin; worker processes inherit ``sys.path`` and import it too.
    """

    def make(
        name: str,
        detectors: dict[str, str],
        datasets: dict[str, str] | None = None,
        source: str = BAD_DETECTORS,
    ) -> str:
        root = tmp_path / f"site-{name}"
        (root / name).mkdir(parents=True)
        (root / name / "__init__.py").write_text(textwrap.dedent(source))
        info = root / f"{name}-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
        lines = [f"[{DETECTOR_GROUP}]"] + [f"{k} = {v}" for k, v in detectors.items()]
        if datasets:
            lines += [f"[{DATASET_GROUP}]"] + [f"{k} = {v}" for k, v in datasets.items()]
        (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
        monkeypatch.syspath_prepend(str(root))
        return str(root)

    return make


@pytest.fixture
def make_record() -> Callable[..., dict]:
    """A factory of valid cell records (:class:`anobench.record.CellResult` fields), for
    tests that build run directories by hand; keyword arguments override fields."""

    def make(**fields: object) -> dict:
        record: dict = dict(
            schema_version=SCHEMA_VERSION,
            cell_id="0",
            suite="s",
            detector="x",
            label="x",
            params={},
            dataset="d",
            dataset_label="d",
            data_fingerprint="f",
            protocol="novelty",
            seed=0,
            split_seed=0,
            model_seed=0,
            time_budget=10.0,
            test_size=0.4,
            expected_contamination=0.1,
            anobench_version="0",
            finished_at="2026-01-01T00:00:00+00:00",
            status="ok",
        )
        record.update(fields)
        if "dataset" in fields and "dataset_label" not in fields:
            record["dataset_label"] = fields["dataset"]
        if "detector" in fields and "label" not in fields:
            record["label"] = fields["detector"]
        return record

    return make


def stand_in_cell(i: int = 0) -> Cell:
    """A cell for executor tests whose cell functions ignore what it names (seed ``i``)."""
    return Cell(
        cell_id=f"c{i}",
        suite="t",
        detector="d",
        detector_ref="x:y",
        params={},
        dataset="s",
        dataset_ref="x:z",
        data_fingerprint="",
        protocol="novelty",
        seed=i,
        split_seed=i,
        model_seed=i,
        time_budget=30.0,
    )


@pytest.fixture
def make_cell() -> Callable[[int], Cell]:
    """:func:`stand_in_cell`, for tests of executors and worker processes."""
    return stand_in_cell
