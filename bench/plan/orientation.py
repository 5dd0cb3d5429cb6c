"""The orientation probe: a detector named by reference is fitted on toy data
(:func:`anobench.testing.toy_data`) in the cell before its fit; a ROC-AUC below
:data:`INVERTED_AUC` means its scores are the wrong way round (lower = more anomalous)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from anobench.plan.imports import BadReferenceError, detector_class, version_of

#: toy-task ROC-AUC below which a reference's scores are taken as inverted
INVERTED_AUC = 0.5

__all__ = ["INVERTED_AUC", "Probe", "check_orientation"]


@dataclass(frozen=True)
class Probe:
    """What a reference's detector did on the separable toy task
    (:func:`anobench.testing.toy_data`): its ROC-AUC, and whether scoring rows alone
    gave other scores than scoring them in the full batch (batch-dependent)."""

    auc: float
    batch_dependent: bool


@functools.cache
def _probe(ref: str, version: str, params_key: str) -> Probe:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from anobench.testing import SUBSET_ATOL, SUBSET_RTOL, toy_for, toy_labels

    cls: Any = detector_class(ref)
    params = json.loads(params_key)
    if "random_state" in cls.param_names():
        params.setdefault("random_state", 0)
    X_train, X_test, y_test = toy_for(cls)
    # the toy test set lists its anomalies last: score it in a shuffled order, so that a
    # detector scoring row positions gets no orientation from it
    order = np.random.default_rng(0).permutation(len(X_test))
    X_test, y_test = X_test[order], y_test[order]
    detector = cls(**params).fit(X_train, *toy_labels(cls, X_train))
    scores = np.asarray(detector.anomaly_score(X_test), dtype=float)
    auc = float(roc_auc_score(y_test, scores))
    # rows at random (the toy set is ordered by label), as many as SOD needs
    rows = np.sort(np.random.default_rng(0).choice(len(X_test), 40, replace=False))
    try:
        alone = np.asarray(detector.anomaly_score(X_test[rows]), dtype=float)
        dependent = not np.allclose(alone, scores[rows], rtol=SUBSET_RTOL, atol=SUBSET_ATOL)
    except Exception:  # cannot score a smaller batch: the batch matters
        dependent = True
    return Probe(auc, dependent)


def check_orientation(name: str, ref: str, params: dict[str, Any]) -> Probe:
    """Fit ``ref`` with ``params`` on the separable toy task and return what it did
    (:class:`Probe`; once per process and configuration, an edited file again). Run in
    the cell, under its time budget and isolation, before the real fit.

    Raises
    ------
    BadReferenceError
        The ROC-AUC is below 0.5: the scores are oriented the wrong way (higher must
        mean more anomalous), or the toy fit failed.
    """
    try:
        probe = _probe(ref, version_of(ref), json.dumps(params, sort_keys=True, default=str))
    except BadReferenceError:
        raise
    except Exception as exc:
        raise BadReferenceError(
            f"detector {name!r} ({ref}) failed on the toy task: {type(exc).__name__}: {exc}"
        ) from exc
    if probe.auc < INVERTED_AUC:
        raise BadReferenceError(
            f"detector {name!r} ({ref}) scores in the wrong direction: ROC-AUC "
            f"{probe.auc:.3f} on the separable toy task, where higher scores must mean MORE "
            "anomalous. If it returns normality scores, expose them as score_samples "
            "(negated by the adapter), or negate them in anomaly_score"
        )
    return probe
