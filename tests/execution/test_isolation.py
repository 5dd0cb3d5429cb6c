"""A cell in a worker: whatever it raises becomes its record, its output is kept, and
the process-wide state it changes is put back and noted."""

from __future__ import annotations

import os
import sys
import threading
import time

import numpy as np

from anobench.execution.cell import failure_record
from anobench.execution.isolation import ProcessState, run_isolated
from anobench.record import CellResult
from anobench.types import Status


def _ok(cell) -> CellResult:
    return CellResult.for_cell(cell, status=Status.OK, anobench_version="0", finished_at="t")


def test_an_exit_or_interrupt_becomes_an_error_record(make_cell) -> None:
    state = ProcessState()

    def leaves(cell):
        sys.exit(3)

    def interrupts(cell):
        raise KeyboardInterrupt

    for fn, word in ((leaves, "SystemExit"), (interrupts, "KeyboardInterrupt")):
        record, retire = run_isolated(make_cell(0), fn, failure_record, state)
        assert record.status is Status.ERROR and word in (record.error or "") and retire is None


def test_output_is_kept_and_changed_state_is_put_back(make_cell) -> None:
    state = ProcessState()
    before = (np.geterr(), os.environ.get("ANOBENCH_ISOLATION_PROBE"))

    def messy(cell):
        os.write(1, b"hello from the detector\n")  # what a worker's stdout receives
        np.seterr(all="raise")
        os.environ["ANOBENCH_ISOLATION_PROBE"] = "1"
        return _ok(cell)

    record, retire = run_isolated(make_cell(0), messy, failure_record, state)
    assert record.status is Status.OK and retire is None
    assert "hello from the detector" in record.output["text"]
    assert {"numpy error mode", "environment variables"} <= set(record.isolation["state_reset"])
    assert (np.geterr(), os.environ.get("ANOBENCH_ISOLATION_PROBE")) == before


def test_a_thread_left_running_retires_the_worker(make_cell) -> None:
    state = ProcessState()
    stop = threading.Event()

    def spawns(cell):
        threading.Thread(target=stop.wait, name="left-behind", daemon=True).start()
        return _ok(cell)

    try:
        record, retire = run_isolated(make_cell(0), spawns, failure_record, state)
        assert retire is not None and "left-behind" in retire
        assert "left-behind" in record.isolation["leaked_threads"]
    finally:
        stop.set()
        time.sleep(0.05)
