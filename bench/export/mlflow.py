"""Export a run directory to MLflow: one MLflow run per cell (``anobench export RUN
--mlflow [URI]``; needs ``pip install 'anobench[mlflow]'``).

Each cell of the run's current suite expansion that has a record becomes a run of the
experiment named after the suite, with

- params: ``detector``, ``label``, the detector's parameters (``detector.<name>``),
  ``dataset``, ``dataset_label``, the data set's parameters (``dataset.<name>``),
  ``protocol``, ``seed``, ``split_seed``, ``model_seed``, ``cell_id``,
  ``data_fingerprint`` and the code provenance (``code.detector_distribution``,
  ``code.detector_version``, ``code.detector_source``, ``code.harness``,
  ``code.harness_source``, ``anobench_version``);
- metrics: every metric of the record: ``roc_auc``, ``ap``, ``precision_at_n_oracle``,
  per threshold policy ``f1_at_<policy>``, ``precision_at_<policy>``,
  ``recall_at_<policy>``, ``fpr_at_<policy>`` and ``threshold_at_<policy>`` (with an
  ``_oracle`` suffix when the policy reads the test labels), ROC-AUC per group, timings
  (seconds) and memory (MB);
- tags: ``status``, ``suite``, ``anobench.cell_id`` (and ``error`` for a failed cell);
- the artifact ``record.json``: the cell's record.

MLflow 3 accepts a ``file://`` store only with ``MLFLOW_ALLOW_FILE_STORE=true`` in the
environment (anobench sets no variable); a database URI (``sqlite:///mlflow.db``) or a
tracking server needs nothing.

Idempotent and convergent: a cell's MLflow run carries the hash of the record it was
made from (tag ``anobench.record``) and is marked complete (``anobench.complete``) only
after its metrics, params and artifact are logged. An export skips a cell whose complete
run holds its current record, and replaces (deletes, then logs anew) runs left
incomplete by an export that was killed, runs of an older record of the cell (e.g. an
error that ``--retry-failed`` turned into ok), and duplicates. Exports of one run
directory take turns (a lock in the run directory), so two at once log each cell once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import math
import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from anobench.errors import UserError
from anobench.execution.store import RunStore
from anobench.metrics.thresholds import POLICIES
from anobench.record import CellResult

__all__ = ["cell_metrics", "cell_params", "export_run", "record_digest"]

logger = logging.getLogger(__name__)

_TIMINGS = (
    "fit_seconds", "score_seconds", "total_seconds", "compile_seconds", "fit_compile_seconds",
    "warmup_seconds", "peak_rss_mb", "peak_rss_delta_mb",
)  # fmt: skip
_IDENTITY = ("detector", "label", "dataset", "dataset_label", "protocol", "seed", "split_seed",
             "model_seed", "cell_id", "data_fingerprint", "anobench_version", "test_size",
             "expected_contamination", "max_train", "max_test")  # fmt: skip
#: MLflow's longest param value
_MAX_VALUE = 6000
_UNSAFE = re.compile(r"[^\w./ -]+")


def _mlflow() -> Any:
    try:
        from mlflow.tracking import MlflowClient
    except ImportError as exc:
        raise UserError(
            "exporting to MLflow needs the mlflow package, an optional extra of anobench: "
            f"pip install 'anobench[mlflow]' ({exc})"
        ) from None
    return MlflowClient


def _key(text: str) -> str:
    """A name MLflow accepts (letters, digits, ``_ - . / space``)."""
    return _UNSAFE.sub("_", text.replace("@", "_at_"))[:250]


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text[:_MAX_VALUE]


def cell_params(record: CellResult) -> dict[str, str]:
    """The MLflow params of a cell record (see the module docstring)."""
    params = {key: _value(record.get(key)) for key in _IDENTITY if record.get(key) is not None}
    for name, value in (record.get("params") or {}).items():
        params[_key(f"detector.{name}")] = _value(value)
    for name, value in (record.get("dataset_params") or {}).items():
        params[_key(f"dataset.{name}")] = _value(value)
    code = (record.get("provenance") or {}).get("detector") or {}
    harness = (record.get("provenance") or {}).get("harness") or {}
    for key, value in (
        ("code.detector_distribution", code.get("distribution")),
        ("code.detector_version", code.get("version")),
        ("code.detector_source", code.get("source")),
        ("code.harness", harness.get("anobench")),
        ("code.harness_source", harness.get("source")),
    ):
        if value is not None:
            params[key] = _value(value)
    return params


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def cell_metrics(record: CellResult) -> dict[str, float]:
    """Every metric of a cell record under an MLflow name (see the module docstring);
    oracle metrics end in ``_oracle``."""
    out: dict[str, float] = {}

    def put(key: str, value: Any) -> None:
        number = _number(value)
        if number is not None:
            out[_key(key)] = number

    put("roc_auc", record.get("roc_auc"))
    put("ap", record.get("ap"))
    put("precision_at_n_oracle", record.get("precision_at_n"))
    for policy, values in (record.get("thresholds") or {}).items():
        oracle = values.get("oracle", POLICIES[policy].oracle if policy in POLICIES else False)
        suffix = "_oracle" if oracle else ""
        for kind in ("f1", "precision", "recall", "fpr", "threshold"):
            put(f"{kind}_at_{policy}{suffix}", values.get(kind))
    for group, value in (record.get("roc_auc_by_group") or {}).items():
        put(f"roc_auc_by_group/{group}", value)
    for key in _TIMINGS:
        put(key, record.get(key))
    put("calibration_seconds", (record.get("calibration") or {}).get("seconds"))
    return out


def _records(store: RunStore) -> Iterator[CellResult]:
    expansion = store.expansion()
    ids = None if expansion is None else [c["cell_id"] for c in expansion]
    yield from store.records(ids)


def record_digest(record: CellResult) -> str:
    """The hash of a record's JSON: a later record of the cell has another."""
    text = json.dumps(record.to_json(), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@contextlib.contextmanager
def _export_lock(run_dir: Path) -> Iterator[None]:
    """One export of ``run_dir`` at a time (others wait their turn)."""
    with open(run_dir / ".lock-export", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _millis(text: Any) -> int | None:
    try:
        return int(datetime.fromisoformat(str(text)).timestamp() * 1000)
    except ValueError:
        return None


def export_run(run_dir: Path | str, tracking_uri: str | None = None) -> dict[str, int]:
    """Log every recorded cell of ``run_dir``'s current suite expansion as an MLflow run
    (see the module docstring) to ``tracking_uri`` (``None``: MLflow's default, e.g. the
    ``MLFLOW_TRACKING_URI`` variable or ``./mlruns``). Returns ``{"exported": n,
    "already": m, "replaced": k}`` (k: incomplete, outdated or duplicate runs deleted
    and logged anew). Raises :class:`~anobench.errors.UserError` when mlflow is not
    installed, ``FileNotFoundError`` when ``run_dir`` is not a run directory."""
    client_class = _mlflow()

    run_dir = Path(run_dir)
    if not (run_dir / "run.json").is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no run.json)")
    store = RunStore(run_dir)
    from mlflow.exceptions import MlflowException

    suite = str((store.manifest().get("suite") or {}).get("name") or run_dir.name)
    try:
        client = client_class(tracking_uri=tracking_uri or None)
        experiment = client.get_experiment_by_name(suite)
        experiment_id = (
            experiment.experiment_id if experiment is not None else client.create_experiment(suite)
        )
    except MlflowException as exc:  # e.g. MLflow 3 refusing a file store unless allowed
        hint = ""
        if "MLFLOW_ALLOW_FILE_STORE" in str(exc) or "sqlite" in str(exc):
            hint = (
                ". For a local store run: MLFLOW_ALLOW_FILE_STORE=true anobench export "
                f"{run_dir} --mlflow file:./mlruns (MLflow 3 makes file stores opt-in); a "
                "tracking server (--mlflow http://HOST:5000) needs nothing"
            )
        where = tracking_uri or "its default URI"
        raise UserError(f"MLflow at {where}: {exc}{hint}") from None
    with _export_lock(run_dir):
        counts = _export(client, experiment_id, store, suite)
    logger.info("exported %d cell(s) of %s to MLflow experiment %r", counts["exported"], run_dir,
                suite)  # fmt: skip
    return counts


def _existing(client: Any, experiment_id: str) -> dict[str, list[Any]]:
    """The experiment's runs per ``anobench.cell_id``."""
    found: dict[str, list[Any]] = {}
    token = None
    while True:
        page = client.search_runs([experiment_id], max_results=1000, page_token=token)
        for run in page:
            cell_id = run.data.tags.get("anobench.cell_id")
            if cell_id:
                found.setdefault(cell_id, []).append(run)
        token = page.token
        if not token:
            return found


def _export(client: Any, experiment_id: str, store: RunStore, suite: str) -> dict[str, int]:
    from mlflow.entities import Metric, Param, RunTag

    existing = _existing(client, experiment_id)
    counts = {"exported": 0, "already": 0, "replaced": 0}
    for record in _records(store):
        cell_id = record.cell_id
        digest = record_digest(record)
        runs = existing.get(cell_id, [])
        current = [
            r for r in runs
            if r.data.tags.get("anobench.record") == digest
            and r.data.tags.get("anobench.complete") == "true"
        ]  # fmt: skip
        keep = current[:1]
        for run in runs:
            if run not in keep:  # incomplete, an older record, or a duplicate
                client.delete_run(run.info.run_id)
                counts["replaced"] += 1
        if keep:
            counts["already"] += 1
            continue
        tags = {
            "status": str(record.status),
            "suite": suite,
            "anobench.cell_id": cell_id,
            "anobench.record": digest,
        }
        if record.get("error"):
            tags["error"] = _value(record["error"])[:5000]
        name = f"{record.get('label')} | {record.get('dataset_label')} | "
        name += f"{record.get('protocol')} | seed {record.get('seed')}"
        run = client.create_run(
            experiment_id, start_time=_millis(record.get("finished_at")), tags=tags, run_name=name
        )
        run_id = run.info.run_id
        now = int(time.time() * 1000)
        client.log_batch(
            run_id,
            metrics=[Metric(k, v, now, 0) for k, v in cell_metrics(record).items()],
            params=[Param(k, v) for k, v in cell_params(record).items()],
            tags=[RunTag(k, v) for k, v in tags.items()],
        )
        client.log_dict(run_id, record.to_json(), "record.json")
        status = "FINISHED" if record.get("status") in ("ok", "skipped") else "FAILED"
        client.set_terminated(run_id, status=status)
        client.set_tag(run_id, "anobench.complete", "true")  # last: everything is logged
        counts["exported"] += 1
    return counts
