"""Compile-aware scheduling: the seeds of one deep model on one data set run in one worker,
which compiles their training program once; deep models do not warm up on tiny data."""

from __future__ import annotations

from pathlib import Path

import pytest

from anobench.execution.driver import program_affinity, run_suite
from anobench.execution.executors.workers import Pending
from anobench.execution.store import RunStore
from anobench.plan.expansion import expand
from anobench.plan.suite import Suite
from anobench.registry import dataset_registry, detector_registry, import_ref


def test_pending_cells_stay_with_their_key() -> None:
    cells = list("aAbBcC")  # stand-ins: the key is the lower-cased letter
    pending = Pending(cells, lambda c: c.lower())  # type: ignore[arg-type]
    first, key = pending.take(None, set())
    assert (first, key) == ("a", "a")
    # another worker takes a key nobody runs, not the second seed of "a"
    assert pending.take(None, {"a"}) == ("b", "b")
    assert pending.take("a", {"b"}) == ("A", "a")  # the first worker continues its key
    assert pending.take("a", {"b"}) == ("c", "c")  # its key is done: the next free one
    # every remaining key runs elsewhere and is still compiling: wait
    assert pending.take(None, {"b", "c"}) is None
    pending.finished("b")  # a cell of "b" finished: its program is cached, join it
    assert pending.take(None, {"b", "c"}) == ("B", "b")
    assert pending.take("c", set()) == ("C", "c")
    assert not pending


def test_a_new_key_prefers_a_detector_no_other_worker_runs() -> None:
    """(detector, data set) keys: blobs-local and blobs-global compile equal programs, so
    the second worker starts another detector while the first compiles fanogan's."""
    keys = [("fanogan", "blobs-local"), ("fanogan", "blobs-global"), ("ae", "blobs-local")]
    pending = Pending(keys, lambda c: c)  # type: ignore[arg-type]
    assert pending.take(None, set()) == (keys[0], keys[0])
    assert pending.take(None, {keys[0]}) == (keys[2], keys[2])
    # only the same detector is left: take it rather than wait
    assert pending.take(None, {keys[0], keys[2]}) == (keys[1], keys[1])


def test_a_worker_continues_its_configuration_on_the_next_data_set() -> None:
    """Its programs are compiled in its process: one program per width, so the next data
    set of the same width compiles nothing; another detector would compile anew."""
    keys = [("fanogan", "blobs-local"), ("ae", "wine"), ("fanogan", "blobs-global")]
    pending = Pending(keys, lambda c: c)  # type: ignore[arg-type]
    assert pending.take(None, set()) == (keys[0], keys[0])
    assert pending.take(keys[0], set()) == (keys[2], keys[2])
    # unless another worker runs that configuration now
    pending = Pending(keys, lambda c: c)  # type: ignore[arg-type]
    pending.take(None, set())
    assert pending.take(keys[0], {("fanogan", "other")}) == (keys[1], keys[1])


def test_seeds_of_a_deep_model_compile_their_program_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANOBENCH_CACHE_DIR", str(tmp_path / "cache"))  # a cold XLA cache
    suite = Suite(
        name="reuse",
        protocols=["novelty"],
        seeds=[0, 1, 2],
        detectors={"ae": {"epochs": 5}, "iforest": {}},
        datasets=["wine"],
    )
    cells = expand(suite, detector_registry(), dataset_registry())
    assert len({program_affinity(c) for c in cells if c.detector == "ae"}) == 1
    run_suite(suite, tmp_path, detector_registry(), dataset_registry(), jobs=2)
    ae = [r for r in RunStore(tmp_path).records() if r["detector"] == "ae"]
    assert [r["status"] for r in ae] == ["ok"] * 3
    seconds = sorted(r["compile_seconds"] for r in ae)
    # compiled once; the other seeds reused it in-process or loaded it from the cache
    assert seconds[0] + seconds[1] < 0.5 * seconds[2], seconds
    assert all(r.get("warmup_seconds", 0) < 5 for r in ae)  # no tiny-data compile


def test_deep_warm_up_compiles_nothing() -> None:
    from anobench.detectors.deep import programs

    before = len(programs.PROGRAMS)
    import_ref("anobench.detectors.deep.autoencoders:AE").warm_up()
    assert len(programs.PROGRAMS) == before
