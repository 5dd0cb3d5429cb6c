"""A published preset against the paper's own script (``anobench perf presets``).

Runs PyOD's benchmark procedure (:data:`anobench.plan.presets.PYOD_BENCHMARK`) three
ways, side by side in one invocation:

- ``script``: the procedure as a plain script, one process: per data set and trial one
  ``RandomState``, the split, then PyOD's models fitted in the paper's column order on
  that object (the chain columns it needs, e.g. FB and MCD before PCA, fitted too) and
  scored; no isolation, no records;
- ``anobench --jobs 1`` and ``anobench --jobs N``: the same cells through
  :func:`anobench.execution.driver.run_suite` into a temporary run directory (no report).

Printed: wall seconds, the ratios to the script, and the largest difference between
the script's and anobench's ROC-AUC per cell (0 when the cells reproduce the script bit
for bit). Data files come from the data directory (``ANOBENCH_DATA_DIR``); persistent
caches are shared, so the first pass pays the imports.
"""

from __future__ import annotations

import importlib
import logging
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from anobench.execution.driver import run_suite
from anobench.execution.store import RunStore
from anobench.plan.presets import PYOD_BENCHMARK, Column
from anobench.plan.suite import Suite
from anobench.registry import dataset_registry, detector_registry

__all__ = ["DATASETS", "DETECTORS", "PresetPass", "format_presets", "presets_perf"]

logger = logging.getLogger(__name__)

#: the comparison of issue 30: five ODDS sets, seven PyOD columns, ten trials
DATASETS = ("odds/cardio", "odds/glass", "odds/vowels", "odds/wbc", "odds/pima")
DETECTORS = (
    "pyod-cblof",
    "pyod-hbos",
    "pyod-iforest",
    "pyod-knn",
    "pyod-lof",
    "pyod-ocsvm",
    "pyod-pca",
)


@dataclass
class PresetPass:
    """One way of running the cells: its wall time and ROC-AUC per (data set, column,
    trial)."""

    name: str
    cells: int
    wall_seconds: float
    roc_auc: dict[tuple[str, str, int], float] = field(default_factory=dict)


def _pyod_class(detector: str) -> type:
    """The PyOD class behind an anobench ``pyod-*`` id (its ``pyod_model``)."""
    module, name = detector_registry().load(detector).pyod_model.split(":")
    cls: type = getattr(importlib.import_module(module), name)
    return cls


def _script(datasets: Sequence[str], detectors: Sequence[str], trials: Sequence[int]) -> PresetPass:
    """PyOD's benchmark procedure as its script runs it (see the module docstring), in
    a fresh process so that it pays its own imports and compilations, as anobench's
    workers do; the wall time includes starting that process."""
    import multiprocessing

    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        out: PresetPass = pool.apply(_script_body, (list(datasets), list(detectors), list(trials)))
    out.wall_seconds = time.perf_counter() - start
    return out


def _script_body(datasets: list[str], detectors: list[str], trials: list[int]) -> PresetPass:
    import warnings

    from sklearn.metrics import roc_auc_score

    warnings.simplefilter("ignore")  # the script's library warnings (MCD, KMeans)

    wanted = set(detectors)
    last = max(i for i, c in enumerate(PYOD_BENCHMARK.columns) if c.detector in wanted)
    # the script's columns up to the last wanted one: the wanted ones, and the stochastic
    # ones the shared RNG passes through before them
    columns: list[Column] = [
        c
        for c in PYOD_BENCHMARK.columns[: last + 1]
        if c.detector in wanted or (c.shared_rng and c.detector is not None)
    ]
    classes = {c.name: _pyod_class(c.detector) for c in columns if c.detector}
    out = PresetPass("script", 0, 0.0)
    for name in datasets:
        spec = dataset_registry().load(name)
        data = spec.load_data()
        for trial in trials:
            made = PYOD_BENCHMARK.split(data.X, data.y, trial, spec.transform_for({}))
            rng, split = made.random_state, made.split
            for column in columns:
                params: dict[str, Any] = dict(column.params)
                if column.shared_rng:
                    params["random_state"] = rng
                model = classes[column.name](**params).fit(split.X_train)
                if column.detector in wanted:
                    scores = model.decision_function(split.X_test)
                    out.cells += 1
                    if np.all(np.isfinite(scores)):  # anobench records the others as errors
                        key = (name, str(column.detector), int(trial))
                        out.roc_auc[key] = float(roc_auc_score(split.y_test, scores))
    return out


def _anobench(
    datasets: Sequence[str], detectors: Sequence[str], trials: Sequence[int], jobs: int
) -> PresetPass:
    params = {c.detector: dict(c.params) for c in PYOD_BENCHMARK.columns if c.detector}
    suite = Suite.model_validate(
        {
            "name": "perf-presets",
            "detectors": {d: params.get(d, {}) for d in detectors},
            "datasets": list(datasets),
            "protocols": [PYOD_BENCHMARK.name],
            "seeds": list(trials),
        }
    )
    with tempfile.TemporaryDirectory(prefix="anobench-perf-presets-") as tmp:
        start = time.perf_counter()
        # the executor `anobench run` makes (its affinity keeps a trial in one worker)
        summary = run_suite(suite, Path(tmp), detector_registry(), dataset_registry(), jobs=jobs)
        wall = time.perf_counter() - start
        out = PresetPass(f"anobench --jobs {jobs}", summary.ran, wall)
        for record in RunStore(tmp).records():
            if record.get("status") == "ok":
                key = (record["dataset"], record["detector"], int(record["seed"]))
                out.roc_auc[key] = float(record["roc_auc"])
    return out


def presets_perf(
    datasets: Sequence[str] = DATASETS,
    detectors: Sequence[str] = DETECTORS,
    trials: Sequence[int] = tuple(range(10)),
    jobs: Sequence[int] = (1, 2),
) -> list[PresetPass]:
    """The script, then anobench with each of ``jobs`` workers (see the module docstring)."""
    unknown = [d for d in detectors if PYOD_BENCHMARK.column(d) is None]
    if unknown:
        raise ValueError(f"not columns of {PYOD_BENCHMARK.name}: {', '.join(unknown)}")
    passes = [_script(datasets, detectors, trials)]
    for n in jobs:
        logger.info("anobench with %d worker(s)", n)
        passes.append(_anobench(datasets, detectors, trials, n))
    return passes


def format_presets(passes: list[PresetPass]) -> str:
    """A table of the passes: wall seconds, ratio to the script, cells and the largest
    ROC-AUC difference to the script over the cells both computed."""
    from tabulate import tabulate

    script = passes[0]
    rows = []
    for p in passes:
        shared = set(p.roc_auc) & set(script.roc_auc)
        diff = max((abs(p.roc_auc[k] - script.roc_auc[k]) for k in shared), default=np.nan)
        missing = len(script.roc_auc) - len(shared)
        rows.append(
            [
                p.name,
                p.cells,
                f"{p.wall_seconds:.1f}",
                f"{p.wall_seconds / script.wall_seconds:.2f}x",
                f"{diff:.1e}" + (f" ({missing} cells missing)" if missing else ""),
            ]
        )
    return tabulate(rows, headers=["pass", "cells", "wall s", "/ script", "max |ROC-AUC - script|"])
