"""Point-level metrics of series cells: VUS-ROC and VUS-PR, range-based precision /
recall / F1 and point-adjusted F1.

Every detector's window scores are first mapped to points the same way
(:func:`anobench.metrics.points.point_scores`: each window's score belongs to its centre,
a forecaster's to the point it forecasts, as in TSB-AD); these metrics then read point
scores and point labels.

- **VUS-ROC / VUS-PR** (Paparrizos et al., "Volume Under the Surface", VLDB 2022): the
  range-AUC of ROC and PR with a soft buffer of ``l`` points around each labelled
  anomaly, averaged over ``l = 0 .. L``. Computed exactly as TSB-AD's
  ``RangeAUC_volume_opt`` (TSB-AD 1.5, ``thre = 250`` thresholds at evenly spaced ranks of
  the sorted scores), vectorised; ``tests/metrics/test_series.py`` checks it against
  values that implementation produced (``tests/fixtures/vus_reference.json``). ``L`` is the
  data set's window length (TSB-AD estimates a period per series instead). VUS-PR leads
  the series leaderboards.
- **Range-based precision / recall / F1** (Tatbul et al., NeurIPS 2018, as TSB-AD's
  ``R-based-F1``: recall with existence weight ``alpha = 0.2``, precision with 0, flat
  positional bias, reciprocal cardinality) of the points flagged by each label-free
  threshold policy (calibrated on out-of-sample training scores, as the window F1s).
  **Rate.** A policy's rate is a rate of points: ``train-quantile`` at contamination
  ``c`` aims to flag a share ``c`` of the normal test points. Its threshold is the
  ``1 - c`` quantile of out-of-sample scores of training windows, and under the anchor
  mapping every point carries the score of one window, so the share carries over from
  windows to points. Each policy's record holds the measured ``flagged_rate`` (all
  evaluated points) and ``normal_flagged_rate`` (normal points) beside it.
- **Point-adjusted F1** under the same thresholds: an anomaly range counts as wholly
  detected when one of its points is flagged. It INFLATES results (a random score can
  reach a high PA-F1 on long anomalies; Kim et al., AAAI 2022), is reported only with
  that warning in its title, and gets no leaderboard.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np

from anobench.metrics.points import point_scores
from anobench.metrics.thresholds import POLICIES, policies_for, threshold
from anobench.types import SeriesPoints

__all__ = [
    "PA_WARNING",
    "perfect_ceiling",
    "point_adjusted_f1",
    "range_precision_recall",
    "ranges",
    "series_columns",
    "series_evaluation",
    "vus",
]

#: the warning carried by every point-adjusted metric (titles, reports)
PA_WARNING = "inflated: point adjustment credits a whole anomaly for one flagged point"

#: thresholds of the VUS curves (TSB-AD's default)
VUS_THRESHOLDS = 250


def ranges(labels: np.ndarray) -> np.ndarray:
    """``(k, 2)`` inclusive ``[start, end]`` of each run of 1s in a 0/1 array."""
    x = np.r_[0, np.asarray(labels, dtype=np.int64) != 0, 0]
    edges = np.flatnonzero(np.diff(x))
    return np.stack([edges[0::2], edges[1::2] - 1], axis=1)


def _merged(segments: np.ndarray, half: int, n: int) -> np.ndarray:
    """Segments widened by ``half`` points on each side (clipped to the series), merging
    those that then touch or overlap (TSB-AD's ``new_sequence``)."""
    out = []
    a = max(int(segments[0, 0]) - half, 0)
    for (_, end), (nxt, _) in pairwise(segments):
        if end + half < nxt - half:
            out.append((a, int(end) + half))
            a = int(nxt) - half
    out.append((a, min(int(segments[-1, 1]) + half, n - 1)))
    return np.asarray(out, dtype=np.int64)


def _soft_labels(labels: np.ndarray, segments: np.ndarray, window: int) -> np.ndarray:
    """Labels with a buffer of ``window // 2`` points on each side of every anomaly,
    weighted ``sqrt(1 - distance / window)`` (TSB-AD's ``sequencing``)."""
    out = labels.astype(np.float64)
    n, half = len(out), window // 2
    for s, e in segments:
        after = np.arange(e + 1, min(e + half + 1, n))
        out[after] += np.sqrt(1 - (after - e) / window)
        before = np.arange(max(s - half, 0), s)
        out[before] += np.sqrt(1 - (s - before) / window)
    return np.minimum(out, 1.0)


def vus(labels: np.ndarray, scores: np.ndarray, max_window: int) -> tuple[float, float]:
    """``(VUS-ROC, VUS-PR)`` of point ``scores`` against 0/1 point ``labels``.

    Parameters
    ----------
    labels : (n,) 0/1, at least one anomaly. scores : (n,) higher = more anomalous.
    max_window : the largest buffer ``L``; the volume averages ``l = 0 .. L``.
    """
    labels = np.asarray(labels, dtype=np.int64)
    scores = np.asarray(scores, dtype=np.float64)
    n = len(scores)
    segments = ranges(labels)
    if not len(segments):
        raise ValueError("VUS needs at least one anomalous point")
    P = float(labels.sum())
    ranked = -np.sort(-scores)
    cuts = ranked[np.linspace(0, n - 1, VUS_THRESHOLDS).astype(int)]
    pred = (scores[None, :] >= cuts[:, None]).astype(np.float64)  # (thresholds, n)
    n_pred = pred.sum(axis=1)
    hits_in_labels = pred @ labels.astype(np.float64)
    cumulative = np.concatenate([np.zeros((len(cuts), 1)), np.cumsum(pred, axis=1)], axis=1)
    aucs, aps = [], []
    for window in range(max_window + 1):
        soft = _soft_labels(labels, segments, window)
        zones = _merged(segments, window // 2, n)
        tp = pred @ soft
        n_labels = P + tp - hits_in_labels
        hit_zone = (cumulative[:, zones[:, 1] + 1] - cumulative[:, zones[:, 0]]) > 0
        existence = hit_zone.sum(axis=1) / len(zones)
        p_new = (P + n_labels) / 2
        tpr = np.minimum(tp / p_new, 1.0) * existence
        fpr = (n_pred - tp) / (n - p_new)
        precision = tp / n_pred
        tpr_curve = np.r_[0.0, tpr, 1.0]
        fpr_curve = np.r_[0.0, fpr, 1.0]
        aucs.append(np.dot(np.diff(fpr_curve), (tpr_curve[1:] + tpr_curve[:-1]) / 2))
        aps.append(np.dot(np.diff(np.r_[0.0, tpr]), precision))
    return float(np.mean(aucs)), float(np.mean(aps))


def _overlap_reward(segment: np.ndarray, flags: np.ndarray, predicted: np.ndarray) -> float:
    """Flat-bias overlap of one range times the reciprocal of the number of predicted
    ranges it meets."""
    s, e = segment
    meets = int(np.sum((predicted[:, 0] <= e) & (predicted[:, 1] >= s))) if len(predicted) else 0
    if meets == 0:
        return 0.0
    return float(flags[s : e + 1].mean()) / meets


def _range_recall(real: np.ndarray, flagged: np.ndarray, alpha: float) -> float:
    real_ranges, flagged_ranges = ranges(real), ranges(flagged)
    if not len(real_ranges):
        return 0.0
    existence = sum(bool(flagged[s : e + 1].any()) for s, e in real_ranges)
    overlap = sum(_overlap_reward(r, flagged, flagged_ranges) for r in real_ranges)
    return (alpha * existence + (1 - alpha) * overlap) / len(real_ranges)


def range_precision_recall(
    labels: np.ndarray, flagged: np.ndarray, alpha: float = 0.2
) -> dict[str, float]:
    """Range-based ``precision``, ``recall`` and ``f1`` of 0/1 point flags (Tatbul et al.
    2018 with TSB-AD's settings: recall existence weight ``alpha``, precision 0; flat
    bias; reciprocal cardinality)."""
    y = np.asarray(labels, dtype=np.int64)
    f = np.asarray(flagged, dtype=np.int64)
    recall = _range_recall(y, f, alpha)
    precision = _range_recall(f, y, 0.0)
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1}


def point_adjusted_f1(labels: np.ndarray, flagged: np.ndarray) -> float:
    """F1 after point adjustment: every point of an anomaly range with at least one
    flagged point counts as flagged. INFLATED (see :data:`PA_WARNING`)."""
    y = np.asarray(labels, dtype=np.int64)
    adjusted = np.asarray(flagged, dtype=bool).copy()
    for s, e in ranges(y):
        if adjusted[s : e + 1].any():
            adjusted[s : e + 1] = True
    tp = float(np.sum(adjusted & (y == 1)))
    if tp == 0:
        return 0.0
    precision, recall = tp / adjusted.sum(), tp / y.sum()
    return float(2 * precision * recall / (precision + recall))


def series_evaluation(
    layout: SeriesPoints | None,
    test_scores: np.ndarray,
    calibration_scores: np.ndarray | None,
    expected_contamination: float | str = 0.1,
    *,
    offset: int | None = None,
) -> dict[str, Any]:
    """The point-level metrics of one series cell, as ``{"series": {...}}`` for its
    record; ``{}`` when the split has no point layout (not windows of a series).

    ``test_scores`` : (n_test_windows,) higher = more anomalous, in ``layout``'s order;
    ``calibration_scores`` : out-of-sample scores of training windows (None: no
    label-free thresholds); ``offset`` : where in a window its score belongs
    (:func:`anobench.metrics.points.anchor_offset`; None: the centre).

    ``series`` holds ``mapping``, ``points`` (points evaluated), ``point_anomalies``,
    ``vus_window`` (``L``), ``vus_roc``, ``vus_pr``, ``point_roc_auc``, ``point_ap`` and
    per label-free policy ``thresholds[policy]`` with ``range_precision``,
    ``range_recall``, ``range_f1``, ``pa_f1`` (inflated), ``flagged_rate`` and
    ``normal_flagged_rate``. A test region whose points are all normal or all anomalous
    gets ``error`` instead of values.
    """
    if layout is None:
        return {}
    from sklearn.metrics import average_precision_score, roc_auc_score

    window = int(layout.window)
    offset = window // 2 if offset is None else offset
    _, scores, labels = point_scores(test_scores, layout, offset=offset)
    where = "centre" if offset == window // 2 else f"point {offset} of {window}"
    out: dict[str, Any] = {
        "mapping": f"each window's score at its {where} (nearest anchor)",
        "points": len(labels),
        "point_anomalies": int(labels.sum()),
        "vus_window": int(layout.window),
    }
    if labels.min() == labels.max():
        out["error"] = "the evaluated points hold one class only"
        return {"series": out}
    out["vus_roc"], out["vus_pr"] = vus(labels, scores, layout.window)
    out["point_roc_auc"] = float(roc_auc_score(labels, scores))
    out["point_ap"] = float(average_precision_score(labels, scores))
    out["thresholds"] = {}
    names, prior = policies_for(expected_contamination)
    for name in names:
        policy = POLICIES[name]
        label_free = policy.calibrated and not policy.oracle
        if not label_free or getattr(policy, "uses_labels", False) or calibration_scores is None:
            continue
        thr = threshold(name, calibration_scores, scores, labels, prior)
        if not np.isfinite(thr):  # overflowing scores: no F1 rather than a wrong one
            out.setdefault("thresholds_not_computed", {})[name] = (
                f"the threshold is not finite ({thr}): the scores' scale overflows float64"
            )
            continue
        flagged = scores >= thr
        ranged = range_precision_recall(labels, flagged)
        out["thresholds"][name] = {
            "threshold": float(thr),
            **{f"range_{k}": v for k, v in ranged.items()},
            "pa_f1": point_adjusted_f1(labels, flagged),
            "flagged_rate": float(flagged.mean()),
            "normal_flagged_rate": float(flagged[labels == 0].mean()),
            # the share of normal points the policy aims at (a rate exists for
            # train-quantile only: mean+std and max-train name a score, not a share)
            **({"target_rate": float(prior)} if name == "train-quantile" else {}),
        }
    return {"series": out}


def perfect_ceiling(layout: SeriesPoints) -> dict[str, dict[str, float]]:
    """What a perfect window detector reaches on ``layout``'s test points: a detector
    whose score of each window is that window's label (1 when any of its points is
    anomalous), under the anchor mapping (the convention) and the maximum over covering
    windows (the former one): ``{"anchor": {"vus_pr", "vus_roc", "point_ap"}, "max":
    {...}}``. It measures how far the mapping itself caps a window detector."""
    from sklearn.metrics import average_precision_score

    starts = np.asarray(layout.starts, dtype=np.int64)
    labels = np.asarray(layout.labels, dtype=np.int64)
    spread = np.r_[0, np.cumsum(labels)]
    window_labels = (spread[starts + layout.window] - spread[starts] > 0).astype(float)
    out: dict[str, dict[str, float]] = {}
    for mapping in ("anchor", "max"):
        _, scores, point_labels = point_scores(window_labels, layout, mapping=mapping)
        roc, pr = vus(point_labels, scores, layout.window)
        out[mapping] = {
            "vus_pr": pr,
            "vus_roc": roc,
            "point_ap": float(average_precision_score(point_labels, scores)),
        }
    return out


#: the tidy-table columns of a series cell, read from ``record["series"]``
_SCALARS = ("vus_pr", "vus_roc", "point_roc_auc", "point_ap")
_PER_POLICY = ("range_f1", "range_precision", "range_recall", "pa_f1")


def series_columns(series: dict[str, Any] | None) -> dict[str, Any]:
    """A record's point-level metrics (its ``series`` entry) as tidy-table columns
    (``vus_pr``, ..., ``range_f1@<policy>``, ``pa_f1@<policy>``); empty for a cell
    without them."""
    series = series or {}
    row = {key: series[key] for key in _SCALARS if key in series}
    for policy, values in (series.get("thresholds") or {}).items():
        row.update({f"{key}@{policy}": values.get(key) for key in _PER_POLICY})
    return row
