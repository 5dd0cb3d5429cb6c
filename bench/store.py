"""A run directory: one JSON record per cell, written atomically, plus the tidy table.

Layout::

    RUN_DIR/run.json            suite, environment, start time
    RUN_DIR/cells/<id>.json     one record per finished cell (any status)
    RUN_DIR/scores/<id>.npz     an ok cell's test labels and scores (and, for image models,
                                reconstructions and latent codes), for plots

A record on disk is a cache hit: rerunning a suite skips it unless forced. Writes go to a
temporary file in the same folder, are fsynced and renamed over the target, so a run
killed at any moment leaves each record either complete or absent.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (temp file + fsync + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(obj, fh, indent=1, sort_keys=True, allow_nan=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to a compressed ``.npz`` at ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RunStore:
    """Records of one run directory."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.cells_dir = self.root / "cells"
        self.scores_dir = self.root / "scores"

    def scores_path(self, cell_id: str) -> Path:
        return self.scores_dir / f"{cell_id}.npz"

    def scores(self, cell_id: str) -> dict[str, np.ndarray] | None:
        """The arrays stored for a cell (``y_test``, ``scores``, ``train_scores``, and
        optionally ``groups``, ``images``, ``reconstructions``, ``image_scores``,
        ``codes``, ``code_labels``), or None when absent or unreadable."""
        path = self.scores_path(cell_id)
        try:
            with np.load(path, allow_pickle=False) as data:
                return {key: data[key] for key in data.files}
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            logger.warning("ignoring unreadable scores %s (%s)", path, exc)
            return None

    def path(self, cell_id: str) -> Path:
        return self.cells_dir / f"{cell_id}.json"

    def get(self, cell_id: str) -> dict[str, Any] | None:
        """The stored record, or ``None`` if absent or unreadable (logged, not fatal)."""
        path = self.path(cell_id)
        try:
            with path.open() as fh:
                record: dict[str, Any] = json.load(fh)
        except FileNotFoundError:
            return None
        except (OSError, json.JSONDecodeError) as exc:
            logger.warning("ignoring unreadable record %s (%s); the cell will run again", path, exc)
            return None
        return record

    def put(self, record: dict[str, Any]) -> None:
        """Store a record; its ``arrays`` entry (if any) goes to ``scores/<id>.npz``,
        written first, so a record on disk always has its arrays."""
        arrays = record.pop("arrays", None)
        if arrays:
            write_npz_atomic(self.scores_path(record["cell_id"]), arrays)
            record["scores_file"] = str(self.scores_path(record["cell_id"]).relative_to(self.root))
        write_json_atomic(self.path(record["cell_id"]), record)

    def records(self) -> Iterator[dict[str, Any]]:
        """Every readable record, in file-name order."""
        if not self.cells_dir.is_dir():
            return
        for path in sorted(self.cells_dir.glob("*.json")):
            record = self.get(path.stem)
            if record is not None:
                yield record

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        write_json_atomic(self.root / "run.json", manifest)

    def manifest(self) -> dict[str, Any]:
        path = self.root / "run.json"
        if not path.is_file():
            return {}
        with path.open() as fh:
            data: dict[str, Any] = json.load(fh)
        return data


_SCALARS = (
    "cell_id",
    "suite",
    "detector",
    "label",
    "dataset",
    "protocol",
    "seed",
    "status",
    "error",
    "roc_auc",
    "ap",
    "precision_at_n",
    "fit_seconds",
    "compile_seconds",
    "score_seconds",
    "train_score_seconds",
    "total_seconds",
    "peak_rss_mb",
    "peak_rss_delta_mb",
)


def results_frame(records: list[dict[str, Any]] | Iterator[dict[str, Any]]) -> pd.DataFrame:
    """The tidy table: one row per cell.

    Columns: the scalar fields above, ``params`` (canonical JSON), split sizes
    (``n_train``, ``n_test``, ``n_test_anomalies``, ``subsampled``), score sanity
    (``n_nonfinite``, ``constant``, ``tie_fraction``), and for every threshold policy
    ``f1@<policy>``, ``precision@<policy>``, ``recall@<policy>``.
    """
    rows = []
    for rec in records:
        row = {key: rec.get(key) for key in _SCALARS}
        # the leaderboard's data set column: the name with its parameters, if any
        row["dataset_name"] = rec.get("dataset")
        row["dataset"] = rec.get("dataset_label") or rec.get("dataset")
        row["params"] = json.dumps(rec.get("params", {}), sort_keys=True)
        split = rec.get("split") or {}
        for key in ("n_train", "n_test", "n_train_anomalies", "n_test_anomalies"):
            row[key] = split.get(key)
        row["subsampled"] = bool(split.get("subsampled_train") or split.get("subsampled_test"))
        row.update(rec.get("sanity") or {})
        for policy, values in (rec.get("thresholds") or {}).items():
            for key in ("f1", "precision", "recall"):
                row[f"{key}@{policy}"] = values.get(key)
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=list(_SCALARS))
    return frame.sort_values(["protocol", "dataset", "label", "seed"], ignore_index=True)
