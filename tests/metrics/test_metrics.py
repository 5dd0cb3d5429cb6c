"""Metric values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from anobench.metrics.cell import evaluate, precision_at_n, score_sanity, thresholded
from anobench.metrics.thresholds import threshold

Y = np.array([0, 0, 1, 0, 1])
S = np.array([0.1, 0.4, 0.35, 0.2, 0.8])
TRAIN = np.array([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])


def test_roc_auc_ap_precision_at_n_by_hand() -> None:
    out = evaluate(Y, S, TRAIN)
    # pairs (anomaly, normal): 0.35 beats 0.1 and 0.2, loses to 0.4; 0.8 beats all -> 5/6
    assert out["roc_auc"] == pytest.approx(5 / 6)
    # ranking: 0.8(1) 0.4(0) 0.35(1) -> AP = (1/1 + 2/3) / 2
    assert out["ap"] == pytest.approx((1 + 2 / 3) / 2)
    # top-2 = {0.8, 0.4}: one anomaly
    assert out["precision_at_n"] == pytest.approx(0.5)
    assert precision_at_n(Y, S, n=1) == 1.0


def test_thresholded_counts() -> None:
    out = thresholded(Y, S, 0.35)  # flags 0.4, 0.35, 0.8: tp = 2
    assert out == pytest.approx({"threshold": 0.35, "precision": 2 / 3, "recall": 1.0, "f1": 0.8})
    assert thresholded(Y, S, 5.0)["f1"] == 0.0


def test_threshold_policies_by_hand() -> None:
    assert threshold("train-quantile", TRAIN, S, Y, 0.1) == pytest.approx(0.9)
    assert threshold("mean+std", TRAIN, S, Y) == pytest.approx(0.5 + np.std(TRAIN))
    assert threshold("max-train", TRAIN, S, Y) == 1.0
    assert threshold("top-k", TRAIN, S, Y) == 0.4  # second highest test score
    assert threshold("best-f1", TRAIN, S, Y) == 0.35  # F1 0.8 beats 0.8 -> 2/3
    with pytest.raises(ValueError, match="expected_contamination"):
        threshold("train-quantile", TRAIN, S, Y, 0.0)


def test_policies_are_labelled_and_oracle_marked() -> None:
    out = evaluate(Y, S, TRAIN)["thresholds"]
    assert set(out) == {"train-quantile", "mean+std", "max-train", "top-k", "best-f1"}
    assert {k for k, v in out.items() if v["oracle"]} == {"top-k", "best-f1"}
    assert out["best-f1"]["f1"] == pytest.approx(0.8)


def test_score_sanity() -> None:
    assert score_sanity(np.array([1.0, 1.0, 2.0, np.nan])) == {
        "n_nonfinite": 1,
        "constant": False,
        "tie_fraction": pytest.approx(1 / 3),
    }
    assert score_sanity(np.ones(4))["constant"] is True
