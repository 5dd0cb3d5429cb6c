"""Protocols and the checks every split passes."""

from __future__ import annotations

import numpy as np
import pytest

from anobench.datasets.spec import SplitError, check_split, deduplicate, make_split
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


def test_duplicated_rows_never_cross_train_and_test() -> None:
    # Resampling before splitting (as ADBench does for small sets) copies rows; the split
    # must drop the copies first instead of leaking them into both parts.
    X, y = data(100)
    X_dup = np.vstack([X, X[:50]])
    y_dup = np.r_[y, y[:50]]
    split = make_split(X_dup, y_dup, "unsupervised", 0, name="resampled")
    assert split.metadata["duplicates_removed"] == 50
    assert len(split.X_train) + len(split.X_test) == 100


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


def test_deduplicate_keeps_first_order_and_marks_conflicts_anomalous() -> None:
    X = np.array([[1.0], [2.0], [1.0], [3.0], [2.0]])
    y = np.array([0, 0, 1, 0, 0])
    Xu, yu, n = deduplicate(X, y)
    assert n == 2
    np.testing.assert_array_equal(Xu.ravel(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(yu, [1, 0, 0])
