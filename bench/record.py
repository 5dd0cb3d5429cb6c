"""The record of one cell (:class:`CellResult`): what ``cells/<cell id>.json`` holds, made
from its :class:`~anobench.types.Cell` and what the cell measured."""

from __future__ import annotations

import enum
from dataclasses import fields
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError

from anobench.types import Cell, Status

__all__ = ["SCHEMA_VERSION", "CellResult", "RecordError"]


#: fields of a :class:`Cell` that say how to run it, not what it is: not in its record
#: (``calibration`` is kept as ``calibration_settings``)
_NOT_RECORDED = frozenset(
    {"detector_ref", "dataset_ref", "skip_reason", "calibration", "preset", "probes",
     "selection_role"}
)  # fmt: skip

#: version of the cell-record layout; bump when a field changes meaning or shape
SCHEMA_VERSION = 2


class RecordError(ValueError):
    """A stored record that this anobench cannot use (older schema, damaged, missing
    fields); the message names the problem and what to do."""


class CellResult(BaseModel):
    """The record of one cell, as stored in ``cells/<cell id>.json``.

    Every status has the identity fields (cell, detector, data set, protocol, seeds,
    settings, provenance); ``ok`` records add metrics (``roc_auc``, ``ap``,
    ``precision_at_n``, ``thresholds``: per policy ``threshold``, ``precision``,
    ``recall``, ``f1``, ``fpr``, ``oracle``), timings (seconds), memory (MB), score
    ``sanity``, ``split`` facts (sizes, duplicates, files) and ``calibration`` (method,
    folds, seconds, or the error that left label-free thresholds out).

    Made from its :class:`Cell` by :meth:`for_cell` (the identity is copied from the
    cell, never written out again); :func:`anobench.execution.cell.run_cell` returns
    it, the store writes and reads it, :func:`anobench.results.table.results_frame`
    makes the tidy table of it. The test scores and other arrays of an ok cell travel
    with it (:attr:`arrays`, not part of the JSON) until the store writes them to
    ``scores/<id>.npz``. Read fields as attributes; ``record["roc_auc"]``,
    ``record.get(...)`` and ``dict(record)`` also work (a read-only mapping view).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    schema_version: int = SCHEMA_VERSION
    cell_id: str
    suite: str
    detector: str
    label: str
    params: dict[str, Any]
    dataset: str
    dataset_params: dict[str, Any] = {}
    dataset_label: str
    data_fingerprint: str
    protocol: str
    seed: int
    split_seed: int
    model_seed: int
    time_budget: float
    max_train: int | None = None
    max_test: int | None = None
    test_size: float
    expected_contamination: float | str
    calibration_settings: dict[str, Any] = {}
    provenance: dict[str, Any] = {}
    detector_flags: dict[str, Any] = {}
    preset: dict[str, Any] | None = None
    anobench_version: str
    environment: dict[str, Any] = {}
    finished_at: str
    status: Status
    error: str | None = None
    traceback: str | None = None
    transient: bool = False
    warnings: list[str] = []
    roc_auc: float | None = None
    ap: float | None = None
    precision_at_n: float | None = None
    #: under a source study's preset with a threshold rule: accuracy at that rule, and
    #: the rule, threshold, confusion matrix and per-class report (``study``)
    accuracy: float | None = None
    study: dict[str, Any] | None = None
    thresholds: dict[str, dict[str, Any]] = {}
    #: policy -> why its threshold was left out (not finite: the scores overflow)
    thresholds_not_computed: dict[str, str] | None = None
    calibration: dict[str, Any] | None = None
    #: semi-supervised: the labelled validation part ``val-best-f1`` read (rows, anomalies)
    validation: dict[str, int] | None = None
    roc_auc_by_group: dict[str, float] | None = None
    #: series cells: point-level metrics (:func:`anobench.metrics.series.series_evaluation`)
    series: dict[str, Any] | None = None
    split: dict[str, Any] | None = None
    sanity: dict[str, Any] | None = None
    warmup_seconds: float | None = None
    fit_seconds: float | None = None
    compile_seconds: float | None = None
    #: XLA compilations during the cell (a persistent-cache hit counts as one)
    compiles: int | None = None
    #: deep detectors: the mean training loss of each epoch (over the ``n_seeds`` models)
    loss_history: list[float] | None = None
    fit_compile_seconds: float | None = None
    score_seconds: float | None = None
    total_seconds: float | None = None
    peak_rss_mb: float | None = None
    peak_rss_delta_mb: float | None = None
    memory_method: str | None = None
    scores_file: str | None = None
    #: the cell's captured stdout/stderr: ``bytes`` (total) and ``text`` (truncated)
    output: dict[str, Any] | None = None
    #: what the worker cleaned up after the cell (:mod:`anobench.execution.isolation`):
    #: ``killed_processes``, ``leaked_threads``, ``state_reset``
    isolation: dict[str, Any] | None = None

    _arrays: dict[str, np.ndarray] | None = PrivateAttr(default=None)

    @staticmethod
    def identity(cell: Cell) -> dict[str, Any]:
        """The record fields that name ``cell``: every :class:`Cell` field a record
        keeps (not how to run it: references, skip reason, probes, selection role, the
        preset's replay), its labels, and its calibration settings."""
        kept = {f.name: getattr(cell, f.name) for f in fields(cell) if f.name not in _NOT_RECORDED}
        return {
            **kept,
            "label": cell.label,
            "dataset_label": cell.dataset_label,
            "calibration_settings": cell.calibration,
        }

    @classmethod
    def for_cell(cls, cell: Cell, **parts: Any) -> CellResult:
        """The record of ``cell`` with ``parts`` (``status`` and whatever was measured;
        ``arrays``, if given, travel beside the record).

        Raises
        ------
        pydantic.ValidationError
            A part of the wrong type or an unknown field.
        """
        arrays = parts.pop("arrays", None)
        result = cls.model_validate({**cls.identity(cell), **parts})
        result._arrays = arrays
        return result

    @property
    def arrays(self) -> dict[str, np.ndarray] | None:
        """Test labels and scores (and more) of an ok cell not yet stored; None after."""
        return self._arrays

    def take_arrays(self) -> dict[str, np.ndarray] | None:
        """The arrays, handed over once (the store writes them, the record then refers
        to the file)."""
        arrays, self._arrays = self._arrays, None
        return arrays

    # a read-only mapping view with the values of the record's JSON (``status`` as its
    # text), for readers that treat records as JSON objects
    def __getitem__(self, key: str) -> Any:
        if key not in type(self).model_fields:
            raise KeyError(key)
        value = getattr(self, key)
        return value.value if isinstance(value, enum.Enum) else value

    def get(self, key: str, default: Any = None) -> Any:
        """``record[key]`` (None for a field not set), or ``default`` for a name that is
        not a field, as ``dict.get`` on the record's JSON."""
        return self[key] if key in type(self).model_fields else default

    def keys(self) -> list[str]:
        """The field names (so ``dict(record)`` and ``{**record}`` work)."""
        return list(type(self).model_fields)

    def __contains__(self, key: object) -> bool:
        return key in type(self).model_fields

    @classmethod
    def parse(cls, data: Any, source: str = "record") -> CellResult:
        """Validate a stored record.

        Raises
        ------
        RecordError
            Not a JSON object, written by another schema version, or missing / mistyped
            fields; the message names ``source`` and the problem.
        """
        if not isinstance(data, dict):
            raise RecordError(
                f"{source}: not a cell record (a JSON object), got {type(data).__name__}"
            )
        version = data.get("schema_version", 1)
        if version != SCHEMA_VERSION:
            raise RecordError(
                f"{source}: written with record schema {version} (anobench "
                f"{data.get('anobench_version', 'unknown')}); this anobench reads schema "
                f"{SCHEMA_VERSION}. Its cell will run again; `anobench prune RUN_DIR` removes "
                "such records."
            )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:5]
            )
            raise RecordError(f"{source}: not a valid cell record ({problems})") from None

    def to_json(self) -> dict[str, Any]:
        """The record as a JSON-able dict (``status`` as its text)."""
        return self.model_dump(mode="json")
