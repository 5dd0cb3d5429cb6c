"""Series cut into sliding windows: the layout every series data set (built-in or a user's
file) hands to the core. A window is anomalous when any of its points is; the windows of
the training region come first in time, the test windows after it (never a random split:
overlapping windows would put shifted copies of test windows in train)."""

from __future__ import annotations

import numpy as np

from anobench.data.spec import Data
from anobench.types import SeriesPoints

__all__ = ["sliding_windows", "windowed"]


def sliding_windows(
    values: np.ndarray, labels: np.ndarray, window: int, stride: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut a series into windows.

    Parameters
    ----------
    values : (T,) or (T, channels). labels : (T,) 0/1 point labels.
    window, stride : window length and step, in points.

    Returns
    -------
    X : (n, window) or (n, window, channels); y : (n,) 1 if any point is anomalous;
    starts : (n,) index of each window's first point.
    """
    if isinstance(window, bool) or not isinstance(window, int) or window < 2:
        raise ValueError(f"window must be an integer >= 2, got {window!r}")
    if isinstance(stride, bool) or not isinstance(stride, int) or stride < 1:
        raise ValueError(f"stride must be an integer >= 1, got {stride!r}")
    if len(values) < window:
        raise ValueError(f"series of {len(values)} points is shorter than the window {window}")
    starts = np.arange(0, len(values) - window + 1, stride)
    view = np.lib.stride_tricks.sliding_window_view(values, window, axis=0)[starts]
    X = view if values.ndim == 1 else np.moveaxis(view, -1, 1)  # (n, window, channels)
    point_windows = np.lib.stride_tricks.sliding_window_view(labels, window)[starts]
    return (
        np.ascontiguousarray(X, dtype=np.float64),
        point_windows.max(axis=1).astype(np.int64),
        starts,
    )


def windowed(
    values: np.ndarray, labels: np.ndarray, train_end: int, window: int, stride: int
) -> Data:
    """Windows of a series whose points ``[0, train_end)`` are the training region."""
    if not 0 < train_end < len(values):
        raise ValueError(
            f"train_end must be inside the series (1..{len(values) - 1}), got {train_end}"
        )
    X, y, starts = sliding_windows(values, labels, window, stride)
    in_train = starts + window <= train_end
    in_test = starts >= train_end
    keep = in_train | in_test
    points = SeriesPoints(starts[keep], window, labels)
    return Data(X[keep], y[keep], train_mask=in_train[keep], series=points)
