"""A published protocol's shared-RNG chain is fitted once per (data set, trial) in a
worker and restored for later cells: the scores equal those of a cell that replays the
whole chain itself, bit for bit."""

from __future__ import annotations

import numpy as np

from anobench.execution import replay
from anobench.execution.cell import run_cell
from anobench.execution.driver import _chain_order, program_affinity
from anobench.plan.expansion import expand
from anobench.plan.suite import Suite
from anobench.registry import dataset_registry, detector_registry
from anobench.types import Cell

CHAIN = {
    "pyod-pca": {},  # listed first: the driver still runs it last
    "pyod-cblof": {"check_estimator": False},
    "pyod-featurebagging": {"check_estimator": False},
    "pyod-iforest": {},
    "pyod-mcd": {},
    "pyod-knn": {},  # takes no RNG
}


def _cells(seeds: list[int]) -> list[Cell]:
    suite = Suite(
        name="chain",
        detectors=CHAIN,
        datasets=["wine"],
        protocols=["pyod-benchmark"],
        seeds=seeds,
    )
    return expand(suite, detector_registry(), dataset_registry())


def test_a_trials_chain_is_fitted_once_and_restored_bit_identically() -> None:
    cells = _cells([4])
    ordered = _chain_order(cells)
    assert [c.detector for c in ordered][-1] == "pyod-pca"
    assert len({program_affinity(c) for c in cells}) == 1  # one worker runs the trial
    replay.clear()
    in_order = {c.detector: run_cell(c) for c in ordered}
    assert all(r["status"] == "ok" for r in in_order.values())
    counts = replay.stats()
    # each column fitted once, by its own cell; the chain cells restored their states
    assert counts["links_fitted"] == 0 and counts["splits_made"] == 1
    assert counts["splits_reused"] == len(cells) - 1
    assert counts["links_reused"] == 1 + 2 + 3 + 4  # fb, iforest, mcd, pca
    assert in_order["pyod-pca"]["preset"]["replay_reused"] == 4
    assert in_order["pyod-pca"]["preset"]["replayed"] == ["CBLOF", "FB", "IForest", "MCD"]

    # the same cell with nothing recorded replays the four fits itself: same scores
    pca = next(c for c in cells if c.detector == "pyod-pca")
    replay.clear()
    alone = run_cell(pca)
    assert replay.stats()["links_fitted"] == 4 and alone["preset"]["replay_reused"] == 0
    np.testing.assert_array_equal(alone.arrays["scores"], in_order["pyod-pca"].arrays["scores"])
    for metric in ("roc_auc", "ap", "precision_at_n"):
        assert alone[metric] == in_order["pyod-pca"][metric]
    replay.clear()


def test_recorded_states_are_per_trial_and_never_leak_into_a_reused_split() -> None:
    """Trials do not share states; a reused split is a copy (metadata, RandomState)."""
    cells = [c for c in _cells([1, 2]) if c.detector in ("pyod-cblof", "pyod-featurebagging")]
    assert len({program_affinity(c) for c in cells}) == 2
    replay.clear()
    records = [run_cell(c) for c in _chain_order(cells)]
    assert all(r["status"] == "ok" for r in records)
    assert replay.stats()["links_fitted"] == 0 and replay.stats()["splits_made"] == 2
    fb = [r for r in records if r["detector"] == "pyod-featurebagging"]
    assert [r["preset"]["replay_reused"] for r in fb] == [1, 1]
    assert fb[0]["roc_auc"] != fb[1]["roc_auc"] or fb[0]["split"] != fb[1]["split"]
    replay.clear()


def test_a_trial_stays_in_the_worker_that_started_it() -> None:
    """Its RNG chain is kept in that worker: another worker takes other trials, even
    once a cell of it finished (which lets workers join a deep model's key), and joins
    it only when nothing else is left."""
    from anobench.execution.executors.workers import OneWorkerKey, Pending

    t1, t2 = OneWorkerKey(("p", "trial 1", "d")), OneWorkerKey(("p", "trial 2", "d"))
    cells = ["1a", "1b", "1c", "2a"]  # stand-ins: the digit is the trial
    pending = Pending(cells, lambda c: t1 if c[0] == "1" else t2)  # type: ignore[arg-type]
    assert pending.take(None, set()) == ("1a", t1)
    pending.finished(t1)
    assert pending.take(None, set()) == ("2a", t2)  # not 1b: trial 1 is another's
    assert pending.take(t1, {t2}) == ("1b", t1)  # its worker continues it
    # nothing else left: the idle worker takes it (its chain is rebuilt there)
    assert pending.take(t2, set()) == ("1c", t1)
    assert not pending


def test_pyod_jit_functions_are_cached_on_disk() -> None:
    """PyOD compiles its numba functions without cache=True; the warm-up turns numba's
    disk cache on, so the next worker loads them instead of compiling (2.7-3.9 s)."""
    from numba.core.caching import NullCache
    from numba.core.dispatcher import Dispatcher

    from anobench.detectors.pyod_zoo import HBOS

    HBOS.warm_up()
    import pyod.utils.stat_models as stat_models

    jitted = [v for v in vars(stat_models).values() if isinstance(v, Dispatcher)]
    assert jitted and not any(isinstance(v._cache, NullCache) for v in jitted)
