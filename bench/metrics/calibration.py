"""Out-of-sample training scores for the label-free thresholds.

A model's scores on the rows it was fitted on are optimistic (a kernel density includes
each point's own kernel, a k-NN finds the point itself), so a threshold taken from them
flags far more test normals than its nominal rate. The label-free policies
(``train-quantile``, ``mean+std``, ``max-train``) are therefore calibrated on scores of
training rows that the scoring model did not see:

- ``crossfit`` (default, ``folds`` = 5): split the training part into k folds, fit a
  fresh copy of the detector on k - 1 of them and score the held-out fold; every training
  row gets one out-of-sample score. Costs k extra fits on (k - 1)/k of the rows.
- ``holdout`` (``holdout`` = 0.25): fit one extra copy on 75% of the training part and
  score the other 25%. Costs one extra fit, gives fewer calibration scores.

Identical training rows stay in one fold (a held-out row must not have its copy in the
fitting part). Windows of a series are folded in time instead: blocks of consecutive
windows, each fit part one window length away from its held-out block (random folds put
every held-out window beside fit windows that share most of its points). ROC-AUC and AP
always come from the model fitted on the whole training part; only thresholds use these
scores. A batch-dependent (``transductive``) detector gets no label-free thresholds at
all: its scores have no scale that carries over from one scored batch to another
(measured on ``quick``: LMDD's train-quantile flagged a median 29% of test normals,
SOD's 3.5%, against a nominal 10%).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from anobench.data.splits import copy_groups
from anobench.seeding import derive_seed
from anobench.types import SeriesPoints

logger = logging.getLogger(__name__)

__all__ = [
    "Calibration",
    "CalibrationError",
    "OutOfSample",
    "calibration_folds",
    "out_of_sample",
    "uniform_probes",
]


class CalibrationError(RuntimeError):
    """Out-of-sample calibration scores could not be computed (too few rows, the
    budget, or a fold's fit failed); the label-free thresholds are then left out."""


class Calibration(BaseModel):
    """How a suite calibrates its label-free thresholds (a ``[calibration]`` table)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    method: Literal["crossfit", "holdout"] = "crossfit"
    folds: int = Field(default=5, ge=2, le=20)
    holdout: float = Field(default=0.25, gt=0, lt=1)

    def describe(self) -> str:
        """e.g. ``5-fold cross-fitting on the training part``."""
        if self.method == "crossfit":
            return f"{self.folds}-fold cross-fitting on the training part"
        return f"a held-out {self.holdout:.0%} of the training part"


def calibration_folds(
    X: np.ndarray,
    calibration: Calibration,
    seed: int,
    *,
    series: SeriesPoints | None = None,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(held, fit)`` row indices of each fold (``holdout``: one fold).

    Rows (tables, images): identical rows stay in one fold; the folds are drawn at random
    with ``seed`` and a fold's fit part is every other row.

    Windows of a series (``series``: the training windows' layout, one start per row):
    the folds are **blocks of time**, ``k`` runs of consecutive windows (``holdout``: the
    last ``holdout`` share), and a fold's fit part leaves out every window within one
    window length of the held-out block, so that no fit window overlaps a held-out one or
    touches it (overlapping windows share points: a model that saw half a held-out window
    scores it in-sample).

    Parameters
    ----------
    X : (n, ...) training rows. seed : fixes the assignment of rows to folds (rows only).
    series : the windows' layout (``len(series) == n``) or None.

    Raises
    ------
    CalibrationError
        Fewer distinct rows than folds (or than 2 for ``holdout``), or a fold whose fit
        part is empty after the gap.
    """
    if series is not None:
        return _time_blocked_folds(series, calibration, len(X))
    groups = copy_groups(X)
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    rng = np.random.default_rng(seed % (2**32))
    order = rng.permutation(n_groups)
    rows = np.arange(len(X))
    if calibration.method == "crossfit":
        k = calibration.folds
        if n_groups < k:
            raise CalibrationError(
                f"the training part has {n_groups} distinct rows, fewer than the {k} folds"
            )
        fold_of_group = np.empty(n_groups, dtype=np.int64)
        fold_of_group[order] = np.arange(n_groups) % k
        fold = fold_of_group[groups]
        return [(rows[fold == f], rows[fold != f]) for f in range(k)]
    n_held = round(calibration.holdout * n_groups)
    if n_held < 1 or n_held >= n_groups:
        raise CalibrationError(
            f"the training part has {n_groups} distinct rows: too few to hold out "
            f"{calibration.holdout:.0%}"
        )
    held = np.zeros(n_groups, dtype=bool)
    held[order[:n_held]] = True
    return [(rows[held[groups]], rows[~held[groups]])]


def _time_blocked_folds(
    series: SeriesPoints, calibration: Calibration, n: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Blocks of consecutive windows with a gap of one window (see :func:`calibration_folds`)."""
    starts = np.asarray(series.starts, dtype=np.int64)
    if len(starts) != n:
        raise ValueError(f"{n} training rows but {len(starts)} window starts")
    window = int(series.window)
    by_time = np.argsort(starts, kind="stable")
    if calibration.method == "crossfit":
        if n < calibration.folds:
            raise CalibrationError(
                f"the training part has {n} windows, fewer than the {calibration.folds} folds"
            )
        blocks = np.array_split(by_time, calibration.folds)
    else:
        n_held = round(calibration.holdout * n)
        if n_held < 1 or n_held >= n:
            raise CalibrationError(
                f"the training part has {n} windows: too few to hold out {calibration.holdout:.0%}"
            )
        blocks = [by_time[n - n_held :]]
    folds = []
    for held in blocks:
        first, last = int(starts[held].min()), int(starts[held].max())
        # a fit window [s, s + window) keeps one window of points between itself and the
        # held-out points [first, last + window)
        fit = np.flatnonzero((starts + 2 * window <= first) | (starts >= last + 2 * window))
        if len(fit) == 0:
            raise CalibrationError(
                f"a time-blocked fold of {len(held)} windows leaves no training window "
                f"one window ({window} points) away from it"
            )
        folds.append((np.sort(held), fit))
    return folds


@dataclass
class OutOfSample:
    """Out-of-sample scores of training rows and what selection needs beside them.

    scores : (n_calibration,) float64, higher = more anomalous, each from a model that did
        not see its row (``n_train`` under ``crossfit``).
    rows : (n_calibration,) int64, increasing: the training rows ``scores`` belong to.
    fold : (n_calibration,) int64: the fold (0 ... n_folds - 1) whose model scored the row.
    probe_scores : (n_folds, n_probes) float64 or None: each fold's model on the probe
        points (:func:`uniform_probes`), for the volume-based criteria.
    info : method, folds, number of scores and the seconds spent (for the record).
    """

    scores: np.ndarray
    rows: np.ndarray
    fold: np.ndarray
    probe_scores: np.ndarray | None
    info: dict[str, Any] = field(default_factory=dict)


def out_of_sample(
    make_detector: Callable[[], Any],
    X_train: np.ndarray,
    calibration: Calibration,
    seed: int,
    *,
    deadline: float | None = None,
    fit_seconds: float | None = None,
    y_train: np.ndarray | None = None,
    probes: np.ndarray | None = None,
    series: SeriesPoints | None = None,
) -> OutOfSample:
    """Out-of-sample scores of training rows, for label-free thresholds and selection.

    Parameters
    ----------
    make_detector : builds a fresh, unfitted detector with the cell's parameters and seed.
    X_train : (n_train, ...) the training part the cell's model was fitted on.
    calibration : the method. seed : fixes the folds (the cell's split seed, so every
        configuration of a grid is calibrated on the same rows and folds).
    y_train : (n_train,) the labels a label-using detector is fitted with (-1 unlabelled),
        passed to each extra fit for its rows; None for label-free detectors. A fold whose
        fit part would hold no labelled anomaly keeps its labelled rows in the fit part
        (they are then not scored: fewer than ``n_train`` scores).
    deadline : ``time.perf_counter()`` value to finish by; with ``fit_seconds`` (the full
        fit's time) the extra fits are estimated first and refused when they would not
        finish in time, so the cell keeps its other results instead of timing out.
    probes : (n_probes, ...) points each fold's model also scores (None: none).
    series : the training windows' layout when the rows are windows of a series: the
        folds are then blocks of time with a gap of one window (:func:`calibration_folds`).

    Raises
    ------
    CalibrationError
        Too few rows, not enough time left, or a fold's detector failed or returned
        non-finite scores.
    """
    folds = calibration_folds(X_train, calibration, seed, series=series)
    n = len(X_train)
    kept_in = 0
    if y_train is not None and (y_train == 1).any():
        # a fold whose fit part would hold no labelled anomaly (a budget of one, all of
        # them drawn into one fold, or, for series, all of them in one block of time or in
        # the gap beside it) takes every labelled row into its fit part: a label-using
        # detector cannot be fitted without one. Held-out ones then get no calibration
        # score; for series those windows sit inside the gap (the one exception to it).
        labelled = np.flatnonzero(y_train == 1)
        adjusted = []
        for held, fit in folds:
            if not np.isin(labelled, fit).any():
                moved = np.isin(held, labelled)
                kept_in += int(moved.sum())
                fit = np.union1d(fit, labelled)
                held = held[~moved]
            adjusted.append((held, fit))
        folds = adjusted
    if deadline is not None and fit_seconds is not None:
        estimate = sum(fit_seconds * len(fit) / n for _, fit in folds)
        left = deadline - time.perf_counter()
        if estimate > 0.8 * left:
            raise CalibrationError(
                f"calibration needs about {estimate:.0f} s of extra fits and {left:.0f} s "
                "of the time budget are left"
            )
    start = time.perf_counter()
    held_scores: list[np.ndarray] = []
    probe_scores: list[np.ndarray] = []
    probe_error: str | None = None
    for held, fit_rows in folds:
        try:
            model = make_detector()
            if y_train is None:
                model.fit(X_train[fit_rows])
            else:
                model.fit(X_train[fit_rows], y_train[fit_rows])
            scores = np.asarray(model.anomaly_score(X_train[held]), dtype=np.float64)
        except Exception as exc:
            raise CalibrationError(
                f"a calibration fit failed: {type(exc).__name__}: {exc}"
            ) from exc
        if scores.shape != (len(held),) or not np.all(np.isfinite(scores)):
            raise CalibrationError("a calibration model returned non-finite or misshaped scores")
        held_scores.append(scores)
        if probes is not None and probe_error is None:
            # the probes serve selection only: their failure costs the volume criteria,
            # never the thresholds
            try:
                probed = np.asarray(model.anomaly_score(probes), dtype=np.float64)
                if probed.shape != (len(probes),) or not np.all(np.isfinite(probed)):
                    raise ValueError("non-finite or misshaped scores")
                probe_scores.append(probed)
            except Exception as exc:
                probe_error = f"{type(exc).__name__}: {exc}"
    # back in training-row order
    held_rows = np.concatenate([held for held, _ in folds])
    order = np.argsort(held_rows, kind="stable")
    out = np.concatenate(held_scores)[order]
    rows = held_rows[order].astype(np.int64)
    fold = np.concatenate([np.full(len(h), i, dtype=np.int64) for i, (h, _) in enumerate(folds)])
    info = {
        "method": calibration.method,
        "folds": len(folds) if calibration.method == "crossfit" else None,
        "holdout": calibration.holdout if calibration.method == "holdout" else None,
        "n_scores": len(out),
        **({"folds_in_time": "blocks of consecutive windows, one window apart"} if series else {}),
        **({"labelled_rows_not_scored": kept_in} if kept_in else {}),
        **({"probe_error": probe_error} if probe_error else {}),
        "seconds": time.perf_counter() - start,
    }
    return OutOfSample(
        scores=out,
        rows=rows,
        fold=fold[order],
        probe_scores=np.stack(probe_scores) if probes is not None and not probe_error else None,
        info=info,
    )


def uniform_probes(X_train: np.ndarray, n: int, seed: int) -> np.ndarray:
    """``n`` points drawn uniformly in the bounding box of ``X_train`` (per feature, or
    per pixel for images), shape ``(n, *X_train.shape[1:])``, seeded by ``seed`` only,
    so every configuration of a data set and seed sees the same probes."""
    X = np.asarray(X_train, dtype=np.float64)
    low, high = X.min(axis=0), X.max(axis=0)
    rng = np.random.default_rng(derive_seed(seed, "uniform-probes") % (2**32))
    u = rng.random((n, *X.shape[1:]))
    return (low + u * (high - low)).astype(np.asarray(X_train).dtype, copy=False)
