"""From window scores to point scores, so every detector on a series is evaluated on the
same points.

Series data sets are cut into sliding windows (:func:`anobench.data.windows.sliding_windows`)
and detectors score windows. Point-level metrics (:mod:`anobench.metrics.series`) need one
score per point of the series, mapped the same way for every detector.

**A window's score belongs to one point of it, its anchor** (TSB-AD's convention):

- a window detector's score belongs to the window's centre, offset ``window // 2`` from
  its first point (TSB-AD pads ``ceil((window - 1) / 2)`` copies of the first score in
  front, which puts window ``i``'s score at point ``i + window // 2``);
- a forecaster's score belongs to the point it forecasts (``lstm``: the centre of its
  forecast block, the window's last point for ``horizon = 1``).

A detector says where by :meth:`anobench.contract.BaseDetector.point_offset`; classes
without it (PyOD and scikit-learn adapters) score windows, hence the centre. Every point
covered by a test window is evaluated and takes the score of the window whose anchor is
nearest (the earlier one on a tie): with stride 1 that is exactly TSB-AD's padded score,
with a larger stride each window speaks for the ``stride`` points around its anchor.
Points no test window covers (outside the test region) are left out; labels are those of
the series (:attr:`SeriesPoints.labels`), not the window labels.

Why not the maximum over covering windows (anobench before 0.9): a window is anomalous
when any of its points is, so the maximum spreads an anomaly over ``window - 1`` points
on each side, and a detector that scores every window exactly by its label reached only
VUS-PR 0.27 on UCR-135 (``anobench data ceiling`` prints the ceiling under both
mappings). ``mapping="max"`` is kept for that comparison.

A data set gives the layout of its windows (:class:`SeriesPoints`: each window's first
point, the window length and the point labels); the split keeps the test windows' part
(:meth:`SeriesPoints.take`) in :attr:`anobench.types.Split.series`.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from anobench.types import SeriesPoints

__all__ = ["Mapping", "anchor_offset", "point_scores"]

Mapping = Literal["anchor", "max"]


def anchor_offset(detector: Any, window: int) -> int:
    """The offset in a window of the point its score belongs to: ``detector.point_offset
    (window)`` when the detector defines it, else the centre ``window // 2``.

    Raises
    ------
    ValueError
        The detector's offset is not an integer in ``[0, window)``.
    """
    method = getattr(detector, "point_offset", None)
    offset = method(window) if callable(method) else window // 2
    if isinstance(offset, bool) or not isinstance(offset, int | np.integer):
        raise ValueError(f"point_offset({window}) must be an integer, got {offset!r}")
    if not 0 <= offset < window:
        raise ValueError(f"point_offset({window}) = {offset} lies outside the window")
    return int(offset)


def point_scores(
    window_scores: np.ndarray,
    layout: SeriesPoints,
    *,
    offset: int | None = None,
    mapping: Mapping = "anchor",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Point scores from the scores of the windows of ``layout``.

    Parameters
    ----------
    window_scores : (n_windows,) higher = more anomalous, one per window of ``layout``
        (in any order of windows).
    layout : the windows' starts, length and the series' point labels.
    offset : the anchor's offset in a window (:func:`anchor_offset`); None: the centre.
    mapping : ``"anchor"`` (the convention, see the module docstring) or ``"max"`` over
        the windows covering each point (the former convention, for comparison).

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
    points = np.flatnonzero(np.cumsum(covered)[:n_points] > 0)
    labels = np.asarray(layout.labels, dtype=np.int64)[points]
    if mapping == "max":
        out = np.full(n_points, -np.inf)
        for k in range(window):
            np.maximum.at(out, starts + k, scores)
        return points, out[points], labels
    if mapping != "anchor":
        raise ValueError(f"mapping must be 'anchor' or 'max', got {mapping!r}")
    if offset is None:
        offset = window // 2
    if not 0 <= offset < window:
        raise ValueError(f"offset {offset} lies outside the window of {window} points")
    order = np.argsort(starts, kind="stable")
    anchors, ranked = starts[order] + offset, scores[order]
    if len(anchors) == 0:
        return points, np.zeros(0), labels
    # the nearest anchor of each point: the one at or after it, or the one before it
    after = np.clip(np.searchsorted(anchors, points, side="left"), 0, len(anchors) - 1)
    before = np.clip(after - 1, 0, len(anchors) - 1)
    nearest = np.where(
        np.abs(anchors[before] - points) <= np.abs(anchors[after] - points), before, after
    )
    return points, ranked[nearest], labels
