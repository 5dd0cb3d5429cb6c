"""The compact arrays stored with each ok cell (``scores/<cell id>.npz``): what the
report's plots need, so they never rerun a detector."""

from __future__ import annotations

import logging

import numpy as np

from anobench.metrics.calibration import OutOfSample
from anobench.types import Detector, Split

logger = logging.getLogger(__name__)

__all__ = ["N_CODES", "N_IMAGES", "cell_arrays"]


#: test images kept per cell for reconstruction grids (most and least anomalous halves)
N_IMAGES = 16
#: latent codes kept per cell (a seeded sample of the test set)
N_CODES = 2000


def cell_arrays(
    detector: Detector, split: Split, test_scores: np.ndarray, calibration: OutOfSample | None
) -> dict[str, np.ndarray]:
    """What plots and selection need from a cell, compact: labels and float32 test
    scores; when computed, the out-of-sample calibration scores (float64, for the
    selection criteria's ranks) with the training rows they belong to, the fold that
    scored each, those rows' true labels (``train_labels``: only
    :func:`anobench.selection.criteria.granted_positives` reads them, as much as a budget grants)
    and the folds' scores of the uniform probe points; the test groups,
    and for a model with ``reconstruct`` / ``encode`` on images, the ``N_IMAGES`` most
    and least anomalous test images with their reconstructions and up to ``N_CODES``
    latent codes with their labels. A failure here is logged, never fatal."""
    arrays: dict[str, np.ndarray] = {
        "y_test": np.asarray(split.y_test, dtype=np.int8),
        "scores": test_scores.astype(np.float64),  # rank-faithful: float32 merges close scores
    }
    if calibration is not None:
        arrays["calibration_scores"] = calibration.scores.astype(np.float64)
        arrays["calibration_rows"] = calibration.rows.astype(np.int32)
        arrays["calibration_fold"] = calibration.fold.astype(np.int16)
        arrays["train_labels"] = np.asarray(split.y_train)[calibration.rows].astype(np.int8)
        if calibration.probe_scores is not None:
            arrays["probe_scores"] = calibration.probe_scores.astype(np.float64)
    if split.groups_test is not None:
        arrays["groups"] = np.asarray(split.groups_test).astype(str)
    X_test = np.asarray(split.X_test)
    if X_test.ndim != 4 or not hasattr(detector, "reconstruct"):
        return arrays
    try:
        order = np.argsort(test_scores, kind="stable")
        half = N_IMAGES // 2
        pick = np.r_[order[::-1][:half], order[:half]]
        arrays["images"] = X_test[pick].astype(np.float16)
        arrays["reconstructions"] = np.asarray(detector.reconstruct(X_test[pick])).astype(
            np.float16
        )
        arrays["image_scores"] = test_scores[pick].astype(np.float32)
        arrays["image_labels"] = arrays["y_test"][pick]
        if hasattr(detector, "encode"):
            rows = np.random.default_rng(0).permutation(len(X_test))[:N_CODES]
            arrays["codes"] = np.asarray(detector.encode(X_test[rows])).astype(np.float32)
            arrays["code_labels"] = arrays["y_test"][rows]
    except Exception as exc:
        logger.warning("no reconstructions stored for %s: %s", type(detector).__name__, exc)
    return arrays
