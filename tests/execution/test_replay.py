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
