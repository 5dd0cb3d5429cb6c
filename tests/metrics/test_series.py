"""Point-level series metrics: hand-computed values, the window-to-point mapping, and
agreement with TSB-AD's reference implementation (tests/fixtures/vus_reference.json, made by
tests/metrics/make_series_reference.py from TSB-AD 1.5)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from anobench.data.io import DATA_DIR_ENV
from anobench.metrics.points import point_scores
from anobench.metrics.series import (
    point_adjusted_f1,
    range_precision_recall,
    ranges,
    series_columns,
    series_evaluation,
    vus,
)
from anobench.types import SeriesPoints

REFERENCE = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "vus_reference.json").read_text())


def _case(case: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    labels = np.zeros(case["n"], dtype=int)
    for start, stop in case["ranges"]:
        labels[start:stop] = 1
    scores = np.asarray(case["scores"], dtype=float)
    return labels, scores, scores >= case["threshold"]


def test_reference_holds_at_least_20_series() -> None:
    assert len(REFERENCE["series"]) >= 20


@pytest.mark.parametrize("case", REFERENCE["series"], ids=lambda c: f"seed{c['seed']}")
def test_vus_matches_tsb_ad(case: dict) -> None:
    labels, scores, _ = _case(case)
    roc, pr = vus(labels, scores, case["window"])
    assert abs(roc - case["vus_roc"]) < 1e-6 and abs(pr - case["vus_pr"]) < 1e-6


@pytest.mark.parametrize("case", REFERENCE["series"], ids=lambda c: f"seed{c['seed']}")
def test_range_f1_and_point_adjusted_f1_match_tsb_ad(case: dict) -> None:
    labels, _, flagged = _case(case)
    assert abs(range_precision_recall(labels, flagged)["f1"] - case["range_f1"]) < 1e-6
    if labels[0] == 1 and not flagged[0]:
        # TSB-AD's adjustment walks back to index 1, never 0 (range(i, 0, -1)): it leaves
        # point 0 of an anomaly starting the series unadjusted; we adjust the whole range
        return
    assert abs(point_adjusted_f1(labels, flagged) - case["pa_f1"]) < 1e-6


def test_ranges_and_hand_computed_range_metrics() -> None:
    labels = np.array([0, 1, 1, 1, 1, 0, 0, 0, 1, 1])
    flagged = np.array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    assert ranges(labels).tolist() == [[1, 4], [8, 9]]
    got = range_precision_recall(labels, flagged)
    # recall: (0.2 * 1 hit range + 0.8 * 1/4 overlap) / 2 ranges = 0.2; precision: the one
    # flagged range lies inside an anomaly, met by one label range: 1
    assert got["recall"] == pytest.approx(0.2) and got["precision"] == pytest.approx(1.0)
    assert got["f1"] == pytest.approx(1 / 3)
    # point adjustment flags all of [1, 4]: precision 4/4, recall 4/6, F1 0.8 (plain: 2/7)
    assert point_adjusted_f1(labels, flagged) == pytest.approx(0.8)


def test_point_adjustment_inflates_random_scores() -> None:
    """One long anomaly, random scores: point adjustment makes a coin look good."""
    rng = np.random.default_rng(0)
    labels = np.zeros(2000, dtype=int)
    labels[800:1200] = 1
    flagged = rng.random(2000) > 0.99
    assert point_adjusted_f1(labels, flagged) > 0.6
    assert range_precision_recall(labels, flagged)["f1"] < 0.4


def test_vus_of_a_perfect_and_a_reversed_score() -> None:
    labels = np.zeros(300, dtype=int)
    labels[100:120] = 1
    roc, pr = vus(labels, labels.astype(float) + np.linspace(0, 0.1, 300), 0)
    assert roc == pytest.approx(1.0) and pr > 0.99
    roc, pr = vus(labels, -labels.astype(float), 10)
    assert roc < 0.3 and pr < 0.2
    with pytest.raises(ValueError, match="anomalous point"):
        vus(np.zeros(10, dtype=int), np.arange(10.0), 2)


def test_point_scores_anchor_each_window_at_its_centre_or_given_point() -> None:
    layout = SeriesPoints(np.array([0, 2, 4]), 3, np.array([0, 0, 1, 1, 0, 0, 0, 1]))
    # centres 1, 3, 5: each covered point takes the nearest centre's score (earlier on a tie)
    points, scores, labels = point_scores(np.array([1.0, 5.0, 2.0]), layout)
    assert points.tolist() == [0, 1, 2, 3, 4, 5, 6]  # point 7 is in no window
    assert scores.tolist() == [1, 1, 1, 5, 5, 2, 2]
    assert labels.tolist() == [0, 0, 1, 1, 0, 0, 0]
    # a forecaster's score at the window's last point (anchors 2, 4, 6)
    _, last, _ = point_scores(np.array([1.0, 5.0, 2.0]), layout, offset=2)
    assert last.tolist() == [1, 1, 1, 1, 5, 5, 2]
    # the rows may come in any order (the split shuffles them)
    shuffled = layout.take(np.array([2, 0, 1]))
    _, same, _ = point_scores(np.array([2.0, 1.0, 5.0]), shuffled)
    assert same.tolist() == scores.tolist()
    # the former convention, kept for comparison
    _, maximum, _ = point_scores(np.array([1.0, 5.0, 2.0]), layout, mapping="max")
    assert maximum.tolist() == [1, 1, 5, 5, 5, 2, 2]
    assert layout.take(np.array([True, False, True])).starts.tolist() == [0, 4]
    with pytest.raises(ValueError, match="outside"):
        point_scores(np.ones(1), SeriesPoints(np.array([6]), 3, np.zeros(8)))
    with pytest.raises(ValueError, match="offset"):
        point_scores(np.ones(3), layout, offset=3)


def test_stride_one_anchor_mapping_is_tsb_ads_padded_score() -> None:
    """With stride 1 the mapping is TSB-AD's: ceil((w - 1) / 2) copies of the first
    score in front, (w - 1) // 2 of the last behind."""
    rng = np.random.default_rng(0)
    for window in (4, 5):
        n = 40
        scores = rng.normal(size=n - window + 1)
        layout = SeriesPoints(np.arange(n - window + 1), window, np.zeros(n, dtype=int))
        padded = np.r_[
            [scores[0]] * int(np.ceil((window - 1) / 2)), scores, [scores[-1]] * ((window - 1) // 2)
        ]
        np.testing.assert_array_equal(point_scores(scores, layout)[1], padded)


def test_a_perfect_window_detector_is_not_capped_by_the_mapping() -> None:
    """A detector scoring each window by its label: under the maximum over covering
    windows an anomaly spreads over window - 1 points on each side (VUS-PR ~0.3 on a
    UCR-like series); the centre anchor halves the spread, and a detector that scores
    a window by its centre point's label reaches 1."""
    n, window = 4000, 64
    labels = np.zeros(n, dtype=int)
    labels[3000:3040] = 1
    starts = np.arange(2000, n - window + 1)
    layout = SeriesPoints(starts, window, labels)
    window_labels = np.array([labels[s : s + window].max() for s in starts], dtype=float)
    _, old, point_labels = point_scores(window_labels, layout, mapping="max")
    _, new, _ = point_scores(window_labels, layout)
    old_pr, new_pr = vus(point_labels, old, window)[1], vus(point_labels, new, window)[1]
    assert old_pr < 0.6 and new_pr > old_pr + 0.15
    centre_labels = labels[starts + window // 2].astype(float)
    _, exact, _ = point_scores(centre_labels, layout)
    np.testing.assert_array_equal(exact, point_labels)


def test_label_free_thresholds_flag_their_rate_of_points() -> None:
    """train-quantile aims at a share of normal points: with exchangeable scores the
    anchor mapping meets it; the maximum over 32 windows flagged most points."""
    rng = np.random.default_rng(3)
    n, window = 6000, 32
    starts = np.arange(0, n - window + 1)
    labels = np.zeros(n, dtype=int)
    labels[5000:5010] = 1
    layout = SeriesPoints(starts, window, labels)
    scores, calibration = rng.normal(size=len(starts)), rng.normal(size=3000)
    out = series_evaluation(layout, scores, calibration, 0.1)["series"]
    policy = out["thresholds"]["train-quantile"]
    assert policy["target_rate"] == 0.1
    assert abs(policy["normal_flagged_rate"] - 0.1) < 0.02
    _, maximum, point_labels = point_scores(scores, layout, mapping="max")
    assert np.mean(maximum[point_labels == 0] >= policy["threshold"]) > 0.5


def test_anchor_offset_of_detectors() -> None:
    from anobench.detectors.classical import IForest
    from anobench.detectors.deep.lstm import LSTM
    from anobench.metrics.points import anchor_offset

    assert anchor_offset(IForest(), 32) == 16 and anchor_offset(object(), 5) == 2
    assert anchor_offset(LSTM(horizon=1), 32) == 31  # the point it forecasts
    assert anchor_offset(LSTM(horizon=4), 32) == 29  # the centre of its forecast block

    class Bad:
        def point_offset(self, window: int) -> int:
            return window

    with pytest.raises(ValueError, match="outside the window"):
        anchor_offset(Bad(), 8)


def test_series_evaluation_record_and_columns() -> None:
    rng = np.random.default_rng(1)
    labels = np.zeros(400, dtype=int)
    labels[250:270] = 1
    starts = np.arange(0, 400 - 16 + 1, 2)
    layout = SeriesPoints(starts, 16, labels)
    window_scores = rng.normal(size=len(starts)) + 4 * ((starts > 235) & (starts < 270))
    calibration = rng.normal(size=300)
    out = series_evaluation(layout, window_scores, calibration, 0.05)["series"]
    assert out["points"] == 400 and out["point_anomalies"] == 20 and out["vus_window"] == 16
    assert out["vus_pr"] > 0.5 and out["vus_roc"] > 0.9
    assert set(out["thresholds"]) == {"train-quantile", "mean+std", "max-train"}
    columns = series_columns(out)
    assert columns["vus_pr"] == out["vus_pr"]
    assert columns["range_f1@train-quantile"] == out["thresholds"]["train-quantile"]["range_f1"]
    assert "pa_f1@max-train" in columns
    assert series_evaluation(None, window_scores, calibration) == {}
    assert series_columns({}) == {}


def test_series_data_sets_carry_the_test_windows_points_through_the_split() -> None:
    """windowed() records each window's start; a split keeps the test windows' layout,
    whose max-mapped points are exactly the test region, labelled as the series."""
    from anobench.data.spec import DatasetSpec
    from anobench.data.windows import windowed

    t = np.arange(1200)
    values = np.sin(2 * np.pi * t / 50)
    labels = np.zeros(1200, dtype=int)
    labels[900:930] = 1
    values[900:930] += 2.0
    spec = DatasetSpec("toy-series", "series", lambda: windowed(values, labels, 600, 20, 5))
    split = spec.split("novelty", 0)
    layout = split.series
    assert layout is not None and len(layout) == len(split.y_test) and layout.window == 20
    assert layout.starts.min() >= 600
    points, _, point_labels = point_scores(split.X_test.max(axis=1), layout)
    assert points[0] == 600 and points[-1] == 1199 and point_labels.sum() == 30
    record = {"status": "ok", **series_evaluation(layout, split.X_test.max(axis=1), None)}
    assert record["series"]["vus_pr"] > 0.5 and record["series"]["thresholds"] == {}
    assert series_columns(record["series"])["vus_pr"] == record["series"]["vus_pr"]
    capped = spec.split("novelty", 0, max_test=50)
    assert capped.series is None  # subsampled windows do not cover the test region


MIRROR = Path(os.environ.get("ANOBENCH_DATA_DIR", "../shared/data"))


@pytest.mark.skipif(
    not (MIRROR / "timeseries" / "yahoo.csv").is_file(), reason=f"no offline data at {MIRROR}"
)
def test_a_series_cell_records_and_stores_point_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run_cell on a real series: the record holds the point-level metrics, passes the
    record schema when stored, and the tidy table has their columns."""
    from anobench.execution.cell import run_cell
    from anobench.execution.store import RunStore
    from anobench.plan.expansion import expand
    from anobench.plan.suite import Suite
    from anobench.registry import dataset_registry, detector_registry
    from anobench.results.table import results_frame

    monkeypatch.setenv(DATA_DIR_ENV, str(MIRROR))
    suite = Suite(
        name="one",
        detectors=["iforest"],
        datasets=["series/yahoo"],
        protocols=["novelty"],
        seeds=[0],
    )
    record = run_cell(expand(suite, detector_registry(), dataset_registry())[0])
    assert record["status"] == "ok", record.get("error")
    series = record["series"]
    assert series["points"] == 600 and series["vus_window"] == 32  # the test region, L = window
    assert 0 <= series["vus_pr"] <= 1 and set(series["thresholds"]) >= {"train-quantile"}
    store = RunStore(tmp_path)
    store.put(record)
    frame = results_frame([store.get(record["cell_id"])])
    assert frame.loc[0, "vus_pr"] == series["vus_pr"]
    assert "range_f1@train-quantile" in frame.columns
