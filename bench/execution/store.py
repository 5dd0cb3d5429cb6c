"""A run directory: one JSON record per cell, written atomically, plus the tidy table.

Layout::

    RUN_DIR/run.json            every invocation (suite, environment, start time) and the
                                current suite expansion (the cells the report covers)
    RUN_DIR/cells/<id>.json     one record per finished cell (any status), a
                                :class:`anobench.types.CellResult`
    RUN_DIR/scores/<id>.npz     an ok cell's test labels and scores (and, for image models,
                                reconstructions and latent codes), for plots

A record on disk is a cache hit: rerunning a suite skips it unless forced. Writes go to a
temporary file in the same folder, are fsynced and renamed over the target, so a run
killed at any moment leaves each record either complete or absent; files are created
readable by others as the umask allows (like ``report/``). A damaged record or score
file is treated as missing (its cell runs again) with a warning naming the file. One run
at a time writes a directory (:meth:`RunStore.lock`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from anobench.errors import RunLockedError
from anobench.metrics.cell import METRICS
from anobench.metrics.series import series_columns
from anobench.metrics.thresholds import POLICIES
from anobench.types import CellResult, RecordError

logger = logging.getLogger(__name__)


def _file_mode() -> int:
    """``0o666`` less the process umask: the mode ``open()`` would give a new file."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _json_safe(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by None (JSON has no NaN/Infinity)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_json_safe(v) for v in obj]
    return obj


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as strict JSON (NaN and infinities as null) to ``path`` atomically
    (temp file + fsync + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _file_mode())
        with os.fdopen(fd, "w") as fh:
            json.dump(_json_safe(obj), fh, indent=1, sort_keys=True, allow_nan=False)
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
        os.fchmod(fd, _file_mode())
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
        """The arrays stored for a cell (``y_test``, ``scores``, and optionally
        ``calibration_scores``, ``groups``, ``images``, ``reconstructions``,
        ``image_scores``, ``codes``, ``code_labels``), or None when absent or unreadable
        (a damaged file is logged with its path)."""
        path = self.scores_path(cell_id)
        try:
            with np.load(path, allow_pickle=False) as data:
                return {key: data[key] for key in data.files}
        except FileNotFoundError:
            return None
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
            logger.warning("ignoring unreadable scores %s (%s)", path, exc)
            return None

    def scores_readable(self, cell_id: str) -> bool:
        """Whether the cell's score file opens as a zip archive (its directory is intact:
        an empty or truncated file is not); logs the path of a damaged one."""
        path = self.scores_path(cell_id)
        try:
            with zipfile.ZipFile(path) as archive:
                archive.namelist()
        except (OSError, zipfile.BadZipFile, EOFError, ValueError) as exc:
            logger.warning("damaged scores %s (%s); the cell will run again", path, exc)
            return False
        return True

    def path(self, cell_id: str) -> Path:
        return self.cells_dir / f"{cell_id}.json"

    @contextlib.contextmanager
    def lock(self, *, shared: bool = False) -> Iterator[None]:
        """Hold ``RUN_DIR/.lock`` while writing the directory: alone, or ``shared`` with
        other shards of the same suite (each writes its own cells; :meth:`begin` takes a
        short exclusive lock of its own for ``run.json``).

        Raises
        ------
        RunLockedError
            Another process holds it in a conflicting mode (the message names its pid
            when it holds it alone). The lock is the kernel's (``flock``), so a killed
            run never leaves a stale one.
        """
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / ".lock"
        with open(path, "a+") as fh:
            try:
                fcntl.flock(fh, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip() or "shards of a run"
                raise RunLockedError(
                    f"another anobench run ({holder}) is writing {self.root}: wait for it to "
                    "finish, or give this run another --out"
                    + (" (shards may share a directory only with other shards)" if shared else "")
                ) from None
            if not shared:
                fh.seek(0)
                fh.truncate()
                fh.write(f"pid {os.getpid()}")
                fh.flush()
            try:
                yield
            finally:
                if not shared:
                    fh.seek(0)
                    fh.truncate()
                fcntl.flock(fh, fcntl.LOCK_UN)

    def get(self, cell_id: str) -> dict[str, Any] | None:
        """The stored record (validated as a :class:`CellResult`), or ``None`` if absent,
        unreadable, damaged or of another schema version (logged with the file's path;
        the cell then runs again)."""
        path = self.path(cell_id)
        try:
            with path.open() as fh:
                data = json.load(fh)
            return CellResult.parse(data, source=str(path)).to_json()
        except FileNotFoundError:
            return None
        except (OSError, json.JSONDecodeError, RecordError) as exc:
            logger.warning("ignoring record %s (%s); the cell will run again", path, exc)
            return None

    def put(self, record: dict[str, Any]) -> None:
        """Store a record; its ``arrays`` entry (if any) goes to ``scores/<id>.npz``,
        written first, so a record on disk always has its arrays. The record is
        validated as a :class:`CellResult` first."""
        arrays = record.pop("arrays", None)
        if arrays:
            write_npz_atomic(self.scores_path(record["cell_id"]), arrays)
            record["scores_file"] = str(self.scores_path(record["cell_id"]).relative_to(self.root))
        result = CellResult.model_validate(record)
        write_json_atomic(self.path(result.cell_id), result.to_json())

    def records(self, cell_ids: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
        """Every usable record (or those of ``cell_ids``), in file-name order."""
        if cell_ids is not None:
            for cell_id in sorted(cell_ids):
                record = self.get(cell_id)
                if record is not None:
                    yield record
            return
        if not self.cells_dir.is_dir():
            return
        for path in sorted(self.cells_dir.glob("*.json")):
            record = self.get(path.stem)
            if record is not None:
                yield record

    # -- invocations and the current expansion -----------------------------------------
    def _run_file(self) -> dict[str, Any]:
        path = self.root / "run.json"
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            logger.warning("ignoring unreadable %s (%s)", path, exc)
            return {}
        if not isinstance(data, dict):
            logger.warning("ignoring %s: not a run manifest (a JSON object)", path)
            return {}
        if "invocations" not in data:  # written before invocations were kept
            return {"invocations": [data]} if data else {}
        invocations = data.get("invocations")
        expansion = data.get("expansion")
        if (
            not isinstance(invocations, list)
            or not all(isinstance(i, dict) for i in invocations)
            or (expansion is not None and not isinstance(expansion, list))
            or not all(isinstance(c, dict) and "cell_id" in c for c in expansion or [])
        ):
            logger.warning("ignoring %s: its invocations or expansion are damaged", path)
            return {}
        return data

    def begin(self, manifest: dict[str, Any], expansion: list[dict[str, Any]]) -> None:
        """Record an invocation (appended to the history, never overwriting it) and make
        ``expansion`` (one small dict per cell: ``cell_id``, ``detector``, ``label``,
        ``dataset``, ``protocol``, ``seed``) the cells the report covers."""
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock-manifest", "a+") as guard:
            fcntl.flock(guard, fcntl.LOCK_EX)  # shards starting together take turns
            data = self._run_file()
            path = self.root / "run.json"
            if not data and path.is_file() and path.stat().st_size:  # damaged: keep a copy
                stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
                kept = path.with_name(f"run.json.damaged-{stamp}")
                os.replace(path, kept)
                logger.warning("%s was damaged; kept as %s and started afresh", path, kept)
            invocations = [*data.get("invocations", []), manifest]
            write_json_atomic(
                self.root / "run.json", {"invocations": invocations, "expansion": expansion}
            )

    def manifest(self) -> dict[str, Any]:
        """The latest invocation's manifest (suite, versions, environment, start time)."""
        invocations = self._run_file().get("invocations") or [{}]
        latest: dict[str, Any] = invocations[-1]
        return latest

    def invocations(self) -> list[dict[str, Any]]:
        """Every invocation recorded in this run directory, oldest first."""
        return list(self._run_file().get("invocations", []))

    def expansion(self) -> list[dict[str, Any]] | None:
        """The current suite expansion (see :meth:`begin`), or None when not recorded."""
        expansion = self._run_file().get("expansion")
        return None if expansion is None else list(expansion)

    def stale_ids(self) -> list[str]:
        """Ids of stored records that are not part of the current expansion; when no
        expansion is recorded (a directory written by an older anobench), the records
        this anobench cannot read (older schema, damaged)."""
        if not self.cells_dir.is_dir():
            return []
        stored = sorted(p.stem for p in self.cells_dir.glob("*.json"))
        expansion = self.expansion()
        if expansion is None:
            return [i for i in stored if self._unreadable(i)]
        current = {c["cell_id"] for c in expansion}
        return [i for i in stored if i not in current]

    def _unreadable(self, cell_id: str) -> bool:
        try:
            CellResult.parse(json.loads(self.path(cell_id).read_text()))
        except (OSError, ValueError):  # JSON errors and RecordError are ValueErrors
            return True
        return False

    def prune(self) -> list[str]:
        """Delete the stale records and their score files; returns their ids."""
        stale = self.stale_ids()
        for cell_id in stale:
            self.path(cell_id).unlink(missing_ok=True)
            self.scores_path(cell_id).unlink(missing_ok=True)
        return stale


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
_THRESHOLD_KINDS = ("f1", "precision", "recall", "fpr")


def results_frame(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
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
    cell computed ``f1@<policy>``, ``precision@<policy>``, ``recall@<policy>`` and
    ``fpr@<policy>`` (false-positive rate on test normals); series cells also have the
    point-level metrics of :func:`anobench.metrics.series.series_columns` (``vus_pr``,
    ``vus_roc``, ``point_ap``, ``point_roc_auc``, ``range_f1@<policy>``, ...).
    """
    rows = []
    for rec in records:
        row = {key: rec.get(key) for key in _SCALARS}
        # the leaderboard's data set column: the name with its parameters, if any
        row["dataset_name"] = rec.get("dataset")
        row["dataset"] = rec.get("dataset_label") or rec.get("dataset")
        row["params"] = json.dumps(rec.get("params", {}), sort_keys=True)
        code = (rec.get("provenance") or {}).get("detector") or {}
        harness = (rec.get("provenance") or {}).get("harness") or {}
        row["provider"] = f"{code.get('distribution', '')} {code.get('version') or ''}".strip()
        row["source_hash"] = code.get("source")
        row["harness"] = f"anobench {harness.get('anobench') or ''} {harness.get('source') or ''}"
        flags = rec.get("detector_flags") or {}
        row["family"] = flags.get("family")
        row["transductive"] = bool(flags.get("transductive", False))
        split = rec.get("split") or {}
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
        calibration = rec.get("calibration") or {}
        row["calibration"] = (rec.get("calibration_settings") or {}).get("method")
        row["calibration_seconds"] = calibration.get("seconds")
        row["calibration_error"] = calibration.get("error")
        row.update(rec.get("sanity") or {})
        for policy, values in (rec.get("thresholds") or {}).items():
            for key in _THRESHOLD_KINDS:
                row[f"{key}@{policy}"] = values.get(key)
        row.update(series_columns(rec))  # point-level metrics of series cells
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=list(_SCALARS))
    return frame.sort_values(["protocol", "dataset", "label", "seed"], ignore_index=True)


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


def stale_summary(stale: pd.DataFrame, run_dir: Path | str) -> str:
    """One paragraph naming the stale records (by detector, data set and protocol) and
    the command that removes them; empty when there are none."""
    if stale.empty:
        return ""
    groups = stale.groupby(["label", "dataset", "protocol"]).size()
    named = "; ".join(f"{lab} on {ds} ({proto}): {n}" for (lab, ds, proto), n in groups.items())
    if len(named) > 600:
        named = named[:600] + " ..."
    return (
        f"{len(stale)} stale record(s) in {run_dir} are not part of this suite expansion "
        "(another configuration, seeds or code version) and are excluded from every table: "
        f"{named}. Remove them with `anobench prune {run_dir}`."
    )
