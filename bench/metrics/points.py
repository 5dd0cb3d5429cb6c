"""From window scores to point scores, so every detector on a series is evaluated on the
same points.

Series data sets are cut into sliding windows (:func:`anobench.data.windows.sliding_windows`)
and detectors score windows: a window detector scores the whole window, the forecaster
(``lstm``) the forecast of its last points. Point-level metrics
(:mod:`anobench.metrics.series`) need one score per point of the series, mapped the same
way for every detector:

**A point's score is the MAXIMUM score of the test windows that cover it.** A window is
labelled anomalous when any of its points is, so the maximum keeps that rule in reverse:
a point is flagged by a threshold exactly when some window containing it is. Points that
no test window covers (outside the test region, or skipped by a stride) are left out;
their labels are those of the series (:attr:`SeriesPoints.labels`), not the window labels.
The mean over covering windows (``reduce="mean"``) is offered for comparison.

A data set gives the layout of its windows (:class:`SeriesPoints`: each window's first
point, the window length and the point labels); the split keeps the test windows' part
(:meth:`SeriesPoints.take`) in :attr:`anobench.types.Split.series`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from anobench.types import SeriesPoints

__all__ = ["point_scores"]

Reduce = Literal["max", "mean"]


def point_scores(
    window_scores: np.ndarray, layout: SeriesPoints, reduce: Reduce = "max"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Point scores from the scores of the windows of ``layout``.

    Parameters
    ----------
    window_scores : (n_windows,) higher = more anomalous, one per window of ``layout``.
    layout : the windows' starts, length and the series' point labels.
    reduce : ``"max"`` (the documented mapping, see the module docstring) or ``"mean"``
        over the windows covering each point.

    Returns
    -------
    points : (m,) sorted indices of the points covered by at least one window.
    scores : (m,) their scores, higher = more anomalous.
    labels : (m,) their 0/1 point labels.
    """
    scores = np.asarray(window_scores, dtype=np.float64)
    starts = np.asarray(layout.starts, dtype=np.int64)
    if scores.shape != starts.shape:
        raise ValueError(f"{len(starts)} windows but {scores.shape} scores")
    n_points, window = len(layout.labels), layout.window
    if len(starts) and (starts.min() < 0 or starts.max() + window > n_points):
        raise ValueError(f"windows reach outside the series of {n_points} points")
    covered = np.zeros(n_points + 1, dtype=np.int64)  # a difference array
    np.add.at(covered, starts, 1)
    np.add.at(covered, starts + window, -1)
    counts = np.cumsum(covered)[:n_points]
    if reduce == "max":
        out = np.full(n_points, -np.inf)
        for offset in range(window):
            np.maximum.at(out, starts + offset, scores)
    elif reduce == "mean":
        total = np.zeros(n_points)
        for offset in range(window):
            np.add.at(total, starts + offset, scores)
        out = total / np.maximum(counts, 1)
    else:
        raise ValueError(f"reduce must be 'max' or 'mean', got {reduce!r}")
    points = np.flatnonzero(counts > 0)
    return points, out[points], np.asarray(layout.labels, dtype=np.int64)[points]
