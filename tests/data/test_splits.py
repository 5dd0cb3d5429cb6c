"""Protocols and the checks every split passes."""

from __future__ import annotations

import numpy as np
import pytest

from anobench.data.splits import SplitError, check_split, copy_groups, duplicate_stats, make_split
from anobench.types import Split


def data(n: int = 200, ratio: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (np.arange(n) < int(n * ratio)).astype(int)
    return X, y


def test_novelty_trains_on_normals_and_shares_the_test_set() -> None:
    X, y = data()
    nov = make_split(X, y, "novelty", 3, name="t")
    uns = make_split(X, y, "unsupervised", 3, name="t")
    assert nov.y_train.sum() == 0
    assert uns.y_train.sum() == pytest.approx(0.1 * len(uns.y_train), abs=1)
    np.testing.assert_array_equal(nov.X_test, uns.X_test)
    assert nov.metadata["n_test_anomalies"] == 8


def test_split_is_reproducible_and_seed_dependent() -> None:
    X, y = data()
    a = make_split(X, y, "unsupervised", 1, name="t")
    b = make_split(X, y, "unsupervised", 1, name="t")
    c = make_split(X, y, "unsupervised", 2, name="t")
    np.testing.assert_array_equal(a.X_test, b.X_test)
    assert not np.array_equal(a.X_test, c.X_test)


def test_duplicated_rows_stay_together_and_every_row_is_kept() -> None:
    # Resampling before splitting (as ADBench does for small sets) copies rows; every
    # copy is kept (the data set keeps its size and ratio) and all copies of a row land
    # on one side, so no row is in both parts.
    X, y = data(100)
    X_dup = np.vstack([X, X[:50], X[:10]])
    y_dup = np.r_[y, y[:50], y[:10]]
    for seed in range(5):
        split = make_split(X_dup, y_dup, "unsupervised", seed, name="resampled")
        assert len(split.X_train) + len(split.X_test) == 160
        assert split.y_test.mean() == pytest.approx(y_dup.mean(), abs=0.02)
        assert split.metadata["duplicates"] == {
            "duplicate_groups": 50,
            "duplicate_rows": 110,
            "conflicting_groups": 0,
            "conflicting_rows": 0,
            "largest_anomaly_group": 3,  # rows 0-9 are anomalies, each in 3 copies
        }
        train = {r.tobytes() for r in split.X_train}
        assert not any(r.tobytes() in train for r in split.X_test)


def test_group_split_keeps_the_anomaly_ratio_with_heavily_copied_anomalies() -> None:
    # The http / donors case: a few anomalous rows copied many times. De-duplicating would
    # change the ratio; the group split keeps it within rounding of whole groups.
    rng = np.random.default_rng(1)
    normals = rng.normal(size=(2000, 3))
    anomalies = np.repeat(rng.normal(5, 1, size=(12, 3)), rng.integers(5, 30, size=12), axis=0)
    X = np.vstack([normals, anomalies])
    y = np.r_[np.zeros(len(normals), int), np.ones(len(anomalies), int)]
    split = make_split(X, y, "unsupervised", 0, name="copied")
    ratio = y.mean()
    assert split.y_test.mean() == pytest.approx(ratio, abs=0.01)
    assert split.metadata["n_rows"] == len(y) and split.metadata["n_anomalies"] == y.sum()


def test_conflicting_rows_keep_each_copys_label() -> None:
    X = np.array([[1.0], [2.0], [1.0], [3.0], [2.0], [4.0], [5.0], [6.0], [7.0], [8.0]])
    y = np.array([0, 0, 1, 0, 0, 1, 1, 0, 1, 0])
    stats = duplicate_stats(copy_groups(X), y)
    assert stats == {
        "duplicate_groups": 2,
        "duplicate_rows": 4,
        "conflicting_groups": 1,
        "conflicting_rows": 2,
        "largest_anomaly_group": 1,
    }
    split = make_split(X, y, "unsupervised", 0, name="conflict", test_size=0.5)
    rows = np.r_[split.X_train.ravel(), split.X_test.ravel()]
    labels = np.r_[split.y_train, split.y_test]
    # both copies of 1.0 are on one side, one normal and one anomalous
    assert sorted(labels[rows == 1.0].tolist()) == [0, 1]
    assert labels.sum() == y.sum()


def test_check_split_rejects_shared_rows_one_class_and_nonfinite() -> None:
    X, y = data(40, 0.25)
    with pytest.raises(SplitError, match="shared-set: 2 row\\(s\\) appear in both"):
        check_split(Split(X[:10], y[:10], X[8:], y[8:]), "shared-set")
    with pytest.raises(SplitError, match="one-class: test set needs both classes"):
        check_split(Split(X[:20], y[:20], X[20:], y[20:]), "one-class")
    bad = X.copy()
    bad[5, 0] = np.inf
    with pytest.raises(SplitError, match="inf-set: test set holds 1 non-finite"):
        check_split(Split(bad[20:], y[20:], bad[:20], y[:20]), "inf-set")


def test_make_split_rejects_bad_input_with_the_data_set_name() -> None:
    X, y = data()
    with pytest.raises(SplitError, match="nan-set: data hold 1 non-finite"):
        Xn = X.copy()
        Xn[0, 0] = np.nan
        make_split(Xn, y, "novelty", 0, name="nan-set")
    with pytest.raises(SplitError, match="no-anomaly: need at least 2"):
        make_split(X, np.zeros_like(y), "novelty", 0, name="no-anomaly")
    with pytest.raises(SplitError, match="shape: X must be"):
        make_split(X[:-1], y, "novelty", 0, name="shape")
    with pytest.raises(SplitError, match="labels: labels must be 0"):
        make_split(X, y * 2, "novelty", 0, name="labels")
    with pytest.raises(ValueError):
        make_split(X, y, "transductive-ish", 0, name="p")


def test_subsampling_is_stratified_and_recorded() -> None:
    X, y = data(1000)
    split = make_split(X, y, "unsupervised", 0, name="big", max_train=100, max_test=50)
    assert len(split.X_train) == 100 and len(split.X_test) == 50
    assert split.metadata["subsampled_train"] and split.metadata["subsampled_test"]
    assert split.y_test.sum() == 5
