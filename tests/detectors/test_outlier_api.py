"""scikit-learn's outlier API on every detector: score_samples, decision_function and
predict under a named label-free threshold policy, in a Pipeline; and the pytest helper
of anobench.testing."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import is_outlier_detector
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from anobench import testing
from anobench.contract import BaseDetector
from anobench.registry import detector_registry

DET = detector_registry()


def test_detector_as_last_pipeline_step() -> None:
    X_train, X_test, y_test = testing.toy_data()
    detector = DET.load("iforest")(random_state=0)
    pipe = make_pipeline(StandardScaler(), detector).fit(X_train)
    assert is_outlier_detector(pipe[-1])
    predicted = pipe.predict(X_test)
    assert set(np.unique(predicted)) == {-1, 1}
    assert np.mean(predicted[y_test == 1] == -1) > 0.9  # anomalies flagged
    # out-of-sample train-quantile at 10%: about 10% of test normals flagged
    assert np.mean(predicted[y_test == 0] == -1) < 0.25
    assert np.allclose(
        pipe.score_samples(X_test), -detector.anomaly_score(pipe[0].transform(X_test))
    )
    decision = pipe.decision_function(X_test)
    assert np.array_equal(decision < 0, predicted == -1)


def test_threshold_policy_is_named_and_label_free() -> None:
    X_train, X_test, _ = testing.toy_data()
    det = DET.load("pyod-knn")().fit(X_train)
    flagged = np.mean(det.predict(X_test) == -1)
    strict = np.mean(det.set_threshold("max-train").predict(X_test) == -1)
    assert det.threshold_policy == "max-train" and strict <= flagged
    with pytest.raises(ValueError, match="not a label-free policy"):
        det.set_threshold("best-f1")
    with pytest.raises(ValueError, match=r"contamination must be in \(0, 0.5\)"):
        det.set_threshold("train-quantile", contamination=0.7)


def test_transductive_detector_has_no_threshold() -> None:
    X_train, X_test, _ = testing.toy_data()
    det = DET.load("pyod-ecod")().fit(X_train)
    assert det.score_samples(X_test).shape == (len(X_test),)
    with pytest.raises(ValueError, match="batch-dependent"):
        det.predict(X_test)


class _Stateful(BaseDetector):
    """Keeps a running mean across fits (breaks idempotent fit)."""

    def _fit(self, X):
        previous = getattr(self, "mean_", 0.0)
        self.mean_ = X.mean(0) + previous

    def _score(self, X):
        return np.linalg.norm(X - self.mean_, axis=1)


class _Unpicklable(BaseDetector):
    """Holds a lambda (cannot be pickled)."""

    def _fit(self, X):
        self.mean_ = X.mean(0)
        self.metric_ = lambda a: np.linalg.norm(a, axis=1)

    def _score(self, X):
        return self.metric_(X - self.mean_)


def test_checks_name_the_rule_broken() -> None:
    with pytest.raises(AssertionError, match=r"^\[idempotent fit\]"):
        testing.check_idempotent_fit(_Stateful)
    with pytest.raises(AssertionError, match=r"^\[pickle\].*cannot be pickled"):
        testing.check_pickle(_Unpicklable)


@testing.parametrize_with_checks([DET.load("iforest"), (DET.load("pyod-knn"), {"n_neighbors": 3})])
def test_parametrize_with_checks(detector, check) -> None:
    check(detector)


def test_parametrize_with_checks_makes_one_case_per_rule() -> None:
    mark = testing.parametrize_with_checks([DET.load("iforest")])
    names, cases = mark.args
    assert names == ("detector", "check") and len(cases) == len(testing.CHECKS)
    assert mark.kwargs["ids"][-1] == "IForest-check_outlier_api"
