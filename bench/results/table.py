"""The tidy table of a run: one row per cell record (:func:`results_frame`), the cells of
the expansion without a record (:func:`missing_frame`), the export view without oracle
columns, and a run read once into both (:func:`run_frame`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from anobench.execution.store import RunStore
from anobench.metrics.cell import METRICS
from anobench.metrics.series import series_columns
from anobench.metrics.thresholds import POLICIES
from anobench.record import CellResult

__all__ = [
    "RunFrame",
    "export_frame",
    "missing_frame",
    "results_frame",
    "run_frame",
    "unreadable_count",
]

logger = logging.getLogger(__name__)

_SCALARS = (
    "cell_id",
    "suite",
    "detector",
    "label",
    "dataset",
    "protocol",
    "seed",
    "split_seed",
    "status",
    "error",
    "data_fingerprint",
    "roc_auc",
    "ap",
    "precision_at_n",
    "accuracy",
    "warmup_seconds",
    "fit_seconds",
    "compile_seconds",
    "fit_compile_seconds",
    "score_seconds",
    "total_seconds",
    "peak_rss_mb",
    "peak_rss_delta_mb",
)

#: per threshold policy, the columns ``<kind>@<policy>``
_THRESHOLD_KINDS = ("f1", "precision", "recall", "fpr", "accuracy")


def results_frame(records: Iterable[CellResult]) -> pd.DataFrame:
    """The tidy table: one row per cell.

    Columns: the scalar fields above; ``dataset_name`` (``dataset`` is the name with its
    loader parameters); ``params`` (canonical JSON); the code behind the result
    (``provider``: distribution and version, ``source_hash``, ``harness``); capability
    flags (``family``, ``transductive``); split facts (``n_train``, ``n_test``,
    ``n_train_anomalies``, ``n_test_anomalies``, ``subsampled``, ``duplicate_rows``,
    ``conflicting_rows``; under a published protocol (:mod:`anobench.plan.presets`) also
    ``published_protocol``, ``test_rows_in_train``: the fraction of test rows with an
    identical training row, and ``resampled``: rows drawn with replacement); calibration
    (``calibration``, ``calibration_seconds``, ``calibration_error``); score sanity
    (``n_nonfinite``, ``constant``, ``tie_fraction``); and for every threshold policy a
    cell computed ``f1@<policy>``, ``precision@<policy>``, ``recall@<policy>``,
    ``fpr@<policy>`` (false-positive rate on test normals) and ``accuracy@<policy>``;
    under a source study's preset with a threshold rule, ``accuracy`` at that rule;
    series cells also have the point-level metrics of
    :func:`anobench.metrics.series.series_columns` (``vus_pr``, ``vus_roc``,
    ``point_ap``, ``point_roc_auc``, ``range_f1@<policy>``, ...).
    """
    rows = [_row(rec) for rec in records]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=list(_SCALARS))
    return frame.sort_values(["protocol", "dataset", "label", "seed"], ignore_index=True)


def _row(rec: CellResult) -> dict[str, Any]:
    """One record's row of the tidy table."""
    row: dict[str, Any] = {key: getattr(rec, key) for key in _SCALARS}
    row["status"] = str(rec.status)
    # the leaderboard's data set column: the name with its parameters, if any
    row["dataset_name"] = rec.dataset
    row["dataset"] = rec.dataset_label or rec.dataset
    row["params"] = json.dumps(rec.params, sort_keys=True)
    code = rec.provenance.get("detector") or {}
    harness = rec.provenance.get("harness") or {}
    row["provider"] = f"{code.get('distribution', '')} {code.get('version') or ''}".strip()
    row["source_hash"] = code.get("source")
    row["harness"] = f"anobench {harness.get('anobench') or ''} {harness.get('source') or ''}"
    row["family"] = rec.detector_flags.get("family")
    row["transductive"] = bool(rec.detector_flags.get("transductive", False))
    split = rec.split or {}
    for key in ("n_train", "n_test", "n_train_anomalies", "n_test_anomalies"):
        row[key] = split.get(key)
    row["subsampled"] = bool(
        split.get("subsampled_train") or split.get("subsampled_test") or split.get("subsampled")
    )
    # published protocols (anobench.plan.presets): measured, not enforced, split facts
    row["published_protocol"] = split.get("published_protocol")
    row["test_rows_in_train"] = split.get("test_rows_in_train_fraction")
    row["resampled"] = bool(split.get("resampled_with_replacement"))
    dups = split.get("duplicates") or {}
    row["duplicate_rows"] = dups.get("duplicate_rows")
    row["conflicting_rows"] = dups.get("conflicting_rows")
    calibration = rec.calibration or {}
    row["calibration"] = rec.calibration_settings.get("method")
    row["calibration_seconds"] = calibration.get("seconds")
    row["calibration_error"] = calibration.get("error")
    row.update(rec.sanity or {})
    for policy, values in rec.thresholds.items():
        for key in _THRESHOLD_KINDS:
            row[f"{key}@{policy}"] = values.get(key)
    row.update(series_columns(rec.series))  # point-level metrics of series cells
    return row


def missing_frame(expansion: list[dict[str, Any]], present: set[str]) -> pd.DataFrame:
    """Rows with status ``missing`` for the cells of ``expansion`` that have no record
    (never ran, e.g. an interrupted run), so leaderboards count them."""
    rows = [
        {
            "cell_id": c["cell_id"],
            "detector": c.get("detector"),
            "label": c.get("label"),
            "dataset": c.get("dataset"),
            "dataset_name": c.get("dataset_name", c.get("dataset")),
            "protocol": c.get("protocol"),
            "seed": c.get("seed"),
            "status": "missing",
            "error": "never ran (interrupted or not yet run)",
        }
        for c in expansion
        if c["cell_id"] not in present
    ]
    return pd.DataFrame(rows)


def _oracle_column(column: str) -> bool:
    if column in METRICS:
        return METRICS[column].oracle
    kind, at, policy = column.partition("@")
    return bool(at) and kind in _THRESHOLD_KINDS and policy in POLICIES and POLICIES[policy].oracle


def export_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` for files a reader opens on its own (CSV, Parquet): every column computed
    with test labels or the true anomaly ratio is renamed ``oracle:<column>``."""
    return frame.rename(columns={c: f"oracle:{c}" for c in frame.columns if _oracle_column(c)})


@dataclass
class RunFrame:
    """The cells a report covers.

    frame : the tidy table of the current suite expansion, with a ``missing`` row for
        each of its cells that never ran.
    stale : records in the run directory outside the current expansion (another suite
        configuration or older code): excluded, counted and named, never averaged.
    expansion_known : False for a run directory written before expansions were recorded
        (then every record is covered).
    """

    frame: pd.DataFrame
    stale: pd.DataFrame
    expansion_known: bool

    @property
    def n_missing(self) -> int:
        return int((self.frame["status"] == "missing").sum()) if not self.frame.empty else 0


def run_frame(store: RunStore) -> RunFrame:
    """Split a run directory's records into the current expansion and stale ones."""
    expansion = store.expansion()
    if expansion is None:
        logger.warning(
            "%s records no suite expansion (written by an older anobench): the report covers "
            "every record in it",
            store.root,
        )
        return RunFrame(results_frame(store.records()), pd.DataFrame(), False)
    current = results_frame(store.records(c["cell_id"] for c in expansion))
    present = set(current["cell_id"]) if not current.empty else set()
    missing = missing_frame(expansion, present)
    frame = pd.concat([f for f in (current, missing) if not f.empty], ignore_index=True)
    if frame.empty:
        frame = current
    else:
        frame = frame.sort_values(["protocol", "dataset", "label", "seed"], ignore_index=True)
    for column in (*_SCALARS, "dataset_name", "family", "transductive", "subsampled"):
        if column not in frame.columns:  # e.g. nothing of the expansion has run yet
            frame[column] = np.nan
    stale = results_frame(store.records(store.stale_ids()))
    return RunFrame(frame, stale, True)


def unreadable_count(store: RunStore) -> int:
    """Record files in the run directory that this anobench cannot read."""
    if not store.cells_dir.is_dir():
        return 0
    return sum(store._unreadable(p.stem) for p in store.cells_dir.glob("*.json"))

