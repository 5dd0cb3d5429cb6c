"""Batch-dependent (transductive) detectors are flagged, and the check catches a wrong flag.

The inductive ECOD / COPOD score against the training ECDFs only: a row's score is the
same alone or in a batch, and equals PyOD's score of that row scored on its own.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.stats import skew
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import roc_auc_score

from anobench import testing
from anobench.contract import BaseDetector
from anobench.detectors.ecdf import COPODInductive, ECODInductive
from anobench.detectors.pyod_zoo import COPOD, ECOD
from anobench.registry import detector_registry

REGISTRY = detector_registry()
PAIRS = [(ECODInductive, ECOD), (COPODInductive, COPOD)]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pyod-sod", True),
        ("pyod-lmdd", True),
        ("pyod-copod", True),
        ("pyod-ecod", True),
        ("pyod-cof", True),
        ("iforest", False),
        ("pyod-knn", False),
        ("ecod-inductive", False),
        ("copod-inductive", False),
    ],
)
def test_transductive_flags(name: str, expected: bool) -> None:
    assert REGISTRY.load(name).transductive is expected


class MeanDistance(BaseDetector):
    """Squared distance to the training mean: inductive."""

    name = "mean-distance"

    def _fit(self, X: np.ndarray) -> None:
        self.mean_ = X.mean(axis=0)

    def _score(self, X: np.ndarray) -> np.ndarray:
        return np.sum((X - self.mean_) ** 2, axis=1)


class CentresOnBatch(MeanDistance):
    """Subtracts the batch's mean score: batch-dependent, but does not say so."""

    name = "centres-on-batch"

    def _score(self, X: np.ndarray) -> np.ndarray:
        d = super()._score(X)
        return d - d.mean()


class ClaimsTransductive(MeanDistance):
    """Inductive, yet flagged as transductive."""

    name = "claims-transductive"
    transductive = True


def test_subset_invariance_check_catches_an_unflagged_batch_dependent_detector() -> None:
    testing.check_subset_invariant(MeanDistance)
    with pytest.raises(AssertionError) as err:
        testing.check_subset_invariant(CentresOnBatch)
    message = str(err.value)
    assert "'centres-on-batch' (CentresOnBatch) is batch-dependent" in message
    assert "transductive = True" in message
    assert not CentresOnBatch.transductive
    # the same class with an honest flag passes, and a false flag fails
    honest = type("HonestCentresOnBatch", (CentresOnBatch,), {"transductive": True})
    testing.check_subset_invariant(honest)
    with pytest.raises(AssertionError, match="the flag is wrong"):
        testing.check_subset_invariant(ClaimsTransductive)


def test_subset_invariance_is_a_contract_check() -> None:
    assert testing.check_subset_invariant in testing.CHECKS
    with pytest.raises(AssertionError, match="batch-dependent"):
        testing.check_detector(CentresOnBatch)


def _breast_cancer(n_anomalies: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train on 200 benign rows; test on the other 157 benign and ``n_anomalies``
    malignant rows (the anomalies)."""
    X, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(0)
    benign = rng.permutation(np.flatnonzero(y == 1))
    malignant = rng.permutation(np.flatnonzero(y == 0))[:n_anomalies]
    test = np.r_[benign[200:], malignant]
    labels = np.r_[np.zeros(len(benign) - 200, dtype=int), np.ones(n_anomalies, dtype=int)]
    return X[benign[:200]], X[test], labels


def _auc(cls: type, X_train: np.ndarray, X_test: np.ndarray, y: np.ndarray) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(roc_auc_score(y, cls().fit(X_train).anomaly_score(X_test)))


@pytest.mark.parametrize(("ours", "pyod"), PAIRS, ids=lambda c: c.__name__)
def test_inductive_auc_is_close_to_pyods(ours: type, pyod: type) -> None:
    # toy task, all 120 test rows scored in one batch
    X_train, X_test, y_test = testing.toy_data()
    a, b = _auc(ours, X_train, X_test, y_test), _auc(pyod, X_train, X_test, y_test)
    assert a >= 0.95
    assert abs(a - b) <= 0.02, (a, b)
    # breast cancer, 167 rows scored in one batch, 10 of them anomalies
    X_train, X_test, y_test = _breast_cancer(10)
    a, b = _auc(ours, X_train, X_test, y_test), _auc(pyod, X_train, X_test, y_test)
    assert a >= 0.85
    assert abs(a - b) <= 0.02, (a, b)
    # with 40 anomalies scored together PyOD's anomalies share their tails (it ranks the
    # batch with the training rows) and its AUC falls; ours is unaffected by the batch
    X_train, X_test, y_test = _breast_cancer(40)
    assert _auc(ours, X_train, X_test, y_test) >= _auc(pyod, X_train, X_test, y_test) - 0.02


@pytest.mark.parametrize(("ours", "pyod"), PAIRS, ids=lambda c: c.__name__)
def test_a_rows_score_is_the_same_alone_and_in_a_batch(ours: type, pyod: type) -> None:
    X_train, X_test, _ = testing.toy_data()
    rows = [0, 50, 110]
    det = ours().fit(X_train)
    batch = det.anomaly_score(X_test)[rows]
    alone = np.array([det.anomaly_score(X_test[i : i + 1])[0] for i in rows])
    np.testing.assert_array_equal(alone, batch)
    theirs = pyod().fit(X_train)
    batch = theirs.anomaly_score(X_test)[rows]
    alone = np.array([theirs.anomaly_score(X_test[i : i + 1])[0] for i in rows])
    assert np.max(np.abs(alone - batch)) > 0.1


@pytest.mark.parametrize(("ours", "pyod"), PAIRS, ids=lambda c: c.__name__)
def test_inductive_equals_pyod_scoring_one_row_at_a_time(ours: type, pyod: type) -> None:
    """PyOD scoring a single row ranks it among the training rows plus itself, which is
    our ECDF; its skewness then includes the row, ours is the training data's, so compare
    the rows that do not flip the sign of any feature's skewness."""
    X_train, X_test, _ = _breast_cancer(40)
    det, theirs = ours().fit(X_train), pyod().fit(X_train)
    same_skew = np.array(
        [
            np.array_equal(np.sign(skew(np.vstack([X_train, row]), axis=0)), det.skew_sign_)
            for row in X_test
        ]
    )
    assert same_skew.mean() > 0.5
    one_at_a_time = np.array([theirs.anomaly_score(row[None])[0] for row in X_test])
    np.testing.assert_allclose(
        det.anomaly_score(X_test)[same_skew], one_at_a_time[same_skew], rtol=1e-9
    )


def test_ecdf_tails_and_smoothing() -> None:
    # one feature, training values 0..9: a value beyond every training value gets
    # probability 1 / (n + 1) in its tail; ties count on both sides of an ECDF
    X_train = np.arange(10.0).reshape(-1, 1)
    det = ECODInductive().fit(X_train)
    u_left, u_right = det._tails(np.array([-5.0, 4.0, 100.0]), 0)
    np.testing.assert_allclose(np.exp(-u_left), [1 / 11, 6 / 11, 1.0])
    np.testing.assert_allclose(np.exp(-u_right), [1.0, 7 / 11, 1 / 11])
    scores = det.anomaly_score(np.array([[-5.0], [4.5], [100.0]]))
    assert scores[1] < scores[0] and scores[1] < scores[2]
    assert np.isclose(scores[0], np.log(11)) and np.isclose(scores[2], np.log(11))
