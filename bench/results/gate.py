"""Metric-regression gate: a committed baseline of per-cell metric means and their
seed-to-seed spread, and the check of a run against it.

A baseline key is ``(detector label, data set, protocol, metric)``. The allowed drop of a
key is ``max(floor, k * std)`` where ``std`` is the spread of that key's metric over the
baseline's seeds, so a noisy cell (few anomalies, an unstable model) gets a wide band
and a stable one a narrow band, never narrower than ``floor``.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from anobench.execution.store import RunStore
from anobench.metrics.cell import METRICS
from anobench.provenance import VERSION
from anobench.results.table import run_frame

__all__ = [
    "DEFAULT_FLOOR",
    "DEFAULT_K",
    "DEFAULT_METRICS",
    "FAILING",
    "KEY",
    "Baseline",
    "BaselineCell",
    "BaselineError",
    "Finding",
    "check",
    "make_baseline",
]

#: metrics a baseline records unless told otherwise: the headline ones every cell has
#: (series runs add their VUS metrics with --metric)
DEFAULT_METRICS = tuple(m.key for m in METRICS.values() if m.headline and not m.series)
#: smallest allowed drop of a metric mean
DEFAULT_FLOOR = 0.02
#: allowed drop in units of the baseline's seed-to-seed standard deviation
DEFAULT_K = 3.0

KEY = ("label", "dataset", "protocol")


class BaselineError(ValueError):
    """A baseline file that cannot be used (missing, unreadable, wrong format)."""


@dataclass
class BaselineCell:
    """One key of a baseline: mean and std over ok seeds, and how many seeds were ok."""

    detector: str
    dataset: str
    protocol: str
    metric: str
    mean: float | None
    std: float | None
    n_ok: int
    n: int


@dataclass
class Baseline:
    """A baseline file's content."""

    suite: str
    metrics: list[str]
    floor: float
    k: float
    created: str
    anobench_version: str
    cells: list[BaselineCell] = field(default_factory=list)

    def allowed_drop(self, cell: BaselineCell) -> float:
        spread = cell.std if cell.std is not None and math.isfinite(cell.std) else 0.0
        return max(self.floor, self.k * spread)

    def save(self, path: Path | str) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=1, sort_keys=True) + "\n")
        return path

    @classmethod
    def load(cls, path: Path | str) -> Baseline:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
            cells = [BaselineCell(**c) for c in data.pop("cells")]
            return cls(**data, cells=cells)
        except FileNotFoundError:
            raise BaselineError(
                f"no baseline at {path}; write one with `anobench baseline RUN_DIR --out {path}`"
            ) from None
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise BaselineError(f"{path} is not an anobench baseline: {exc}") from None


def _stats(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per key: mean and std (ddof=1; 0 with one seed) over ok cells, ok and total counts."""
    ok = frame[frame["status"] == "ok"]
    grouped = ok.groupby(list(KEY))[metric]
    out = pd.DataFrame({"mean": grouped.mean(), "std": grouped.std(ddof=1).fillna(0.0)})
    out["n_ok"] = ok.groupby(list(KEY)).size()
    out = out.reindex(frame.groupby(list(KEY)).size().index)
    out["n"] = frame.groupby(list(KEY)).size()
    out["n_ok"] = out["n_ok"].fillna(0).astype(int)
    return out


def make_baseline(
    run_dir: Path | str,
    *,
    metrics: tuple[str, ...] | list[str] = DEFAULT_METRICS,
    floor: float = DEFAULT_FLOOR,
    k: float = DEFAULT_K,
) -> Baseline:
    """A baseline from a finished run (every key of the run, failing ones included, so a
    check notices when they start working or go missing)."""
    store = RunStore(run_dir)
    frame = run_frame(store).frame
    if frame.empty:
        raise FileNotFoundError(f"{run_dir} holds no cell records (is it a run directory?)")
    suite = (store.manifest().get("suite") or {}).get("name", "")
    baseline = Baseline(
        suite, list(metrics), floor, k, datetime.now(UTC).isoformat(timespec="seconds"), VERSION
    )
    for metric in metrics:
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
        if metric not in frame.columns:
            raise ValueError(f"the run has no metric {metric!r}")
        for (label, dataset, protocol), row in _stats(frame, metric).iterrows():
            baseline.cells.append(
                BaselineCell(
                    str(label),
                    str(dataset),
                    str(protocol),
                    metric,
                    None if pd.isna(row["mean"]) else float(row["mean"]),
                    None if pd.isna(row["std"]) else float(row["std"]),
                    int(row["n_ok"]),
                    int(row["n"]),
                )
            )
    return baseline


@dataclass
class Finding:
    """One key whose outcome differs from the baseline."""

    kind: str  # "regression", "improvement", "new failure", "missing", "fixed", "new"
    detector: str
    dataset: str
    protocol: str
    metric: str
    baseline: float | None
    current: float | None
    allowed_drop: float | None
    detail: str = ""

    @property
    def fails(self) -> bool:
        return self.kind in FAILING


#: finding kinds that make the check fail
FAILING = ("regression", "new failure", "missing")


def check(run_dir: Path | str, baseline: Baseline) -> list[Finding]:
    """Compare a run with ``baseline``; returns every finding (see :data:`FAILING` for the
    kinds that fail the check). Keys in the run but not in the baseline are ``new``."""
    frame = run_frame(RunStore(run_dir)).frame
    if frame.empty:
        raise FileNotFoundError(f"{run_dir} holds no cell records (is it a run directory?)")
    findings: list[Finding] = []
    seen: set[tuple[str, str, str, str]] = set()
    current = {m: _stats(frame, m) for m in baseline.metrics if m in frame.columns}
    for cell in baseline.cells:
        key = (cell.detector, cell.dataset, cell.protocol)
        seen.add((*key, cell.metric))
        stats = current.get(cell.metric)
        if stats is None or key not in stats.index:
            findings.append(
                _finding(
                    "missing",
                    key,
                    cell.metric,
                    cell.mean,
                    None,
                    None,
                    "no cell of this key in the run",
                )
            )
            continue
        now = stats.loc[key]
        mean = None if pd.isna(now["mean"]) else float(now["mean"])
        drop = baseline.allowed_drop(cell)
        if int(now["n_ok"]) < int(now["n"]) and cell.n_ok == cell.n:
            findings.append(
                _finding(
                    "new failure",
                    key,
                    cell.metric,
                    cell.mean,
                    mean,
                    drop,
                    f"{int(now['n']) - int(now['n_ok'])} of {int(now['n'])} "
                    "cells failed (all were ok in the baseline)",
                )
            )
            continue
        if cell.mean is None or mean is None:
            if cell.mean is None and mean is not None:
                findings.append(
                    _finding(
                        "fixed",
                        key,
                        cell.metric,
                        None,
                        mean,
                        None,
                        "failed in the baseline, has a value now",
                    )
                )
            continue
        if mean < cell.mean - drop:
            findings.append(_finding("regression", key, cell.metric, cell.mean, mean, drop))
        elif mean > cell.mean + drop:
            findings.append(_finding("improvement", key, cell.metric, cell.mean, mean, drop))
    for metric, stats in current.items():
        for key in stats.index:
            if (*key, metric) not in seen:
                findings.append(
                    _finding(
                        "new",
                        tuple(map(str, key)),
                        metric,
                        None,
                        _float(stats.loc[key, "mean"]),
                        None,
                        "not in the baseline",
                    )
                )
    return findings


def _finding(
    kind: str,
    key: tuple[str, ...],
    metric: str,
    baseline: float | None,
    current: float | None,
    drop: float | None,
    detail: str = "",
) -> Finding:
    return Finding(kind, key[0], key[1], key[2], metric, baseline, current, drop, detail)


def _float(value: Any) -> float | None:
    return None if pd.isna(value) else float(value)
