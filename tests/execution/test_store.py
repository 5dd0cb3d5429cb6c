"""The run directory: records and their arrays written atomically, read back as typed
records, damaged or foreign files treated as missing, one writer at a time."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from anobench.errors import RunLockedError
from anobench.execution.cell import failure_record
from anobench.execution.store import RunStore
from anobench.record import CellResult
from anobench.types import Status


def test_a_record_and_its_arrays_round_trip(make_cell, tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    scores = np.array([0.1, 0.9, 0.5])
    record = CellResult.for_cell(
        make_cell(1),
        status=Status.OK,
        roc_auc=0.75,
        anobench_version="0",
        finished_at="now",
        arrays={"scores": scores, "y_test": np.array([0, 1, 0], dtype=np.int8)},
    )
    store.put(record)
    assert record.arrays is None  # handed over once
    back = store.get("c1")
    assert isinstance(back, CellResult) and back.roc_auc == 0.75 and back.seed == 1
    assert back.scores_file == "scores/c1.npz" and store.scores_readable("c1")
    with np.load(tmp_path / back.scores_file) as npz:
        np.testing.assert_array_equal(npz["scores"], scores)
    assert back["status"] == "ok" and back.status is Status.OK  # the JSON view, typed value
    assert [r.cell_id for r in store.records()] == ["c1"]


def test_the_identity_comes_from_the_cell(make_cell) -> None:
    cell = make_cell(3)
    record = failure_record(cell, Status.SKIPPED, "why")
    assert record.error == "why" and record.status is Status.SKIPPED
    for name in ("cell_id", "suite", "detector", "params", "dataset", "seed", "split_seed"):
        assert getattr(record, name) == getattr(cell, name)
    assert record.label == cell.label and record.calibration_settings == cell.calibration


def test_damaged_and_foreign_records_are_missing(make_record, tmp_path: Path, caplog) -> None:
    store = RunStore(tmp_path)
    store.put(make_record(cell_id="good"))
    store.cells_dir.joinpath("bad.json").write_text("{ not json")
    store.cells_dir.joinpath("old.json").write_text(
        json.dumps(make_record(cell_id="old", schema_version=1))
    )
    store.cells_dir.joinpath("list.json").write_text("[1, 2]")
    assert [r.cell_id for r in store.records()] == ["good"]
    assert store.get("bad") is None and store.get("absent") is None
    assert "bad.json" in caplog.text and "schema 1" in caplog.text


def test_a_mapping_is_validated_before_it_is_written(make_record, tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    with pytest.raises(ValueError):
        store.put(make_record(cell_id="x", roc_auc="high"))
    with pytest.raises(ValueError):
        store.put(make_record(cell_id="y", surprise=1))
    assert list(store.records()) == [] and not list(store.cells_dir.glob("*.tmp"))


def test_one_writer_at_a_time(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    with store.lock(), pytest.raises(RunLockedError), RunStore(tmp_path).lock():
        pass
    with store.lock(shared=True), RunStore(tmp_path).lock(shared=True):
        pass  # shards of one suite write side by side
