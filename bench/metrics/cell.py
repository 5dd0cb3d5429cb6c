"""Per-cell metrics: threshold-free ranking metrics, thresholded F1 per policy, and score
sanity; and :data:`METRICS`, the one registry of metric keys, titles, direction and
oracle flags that the store, report, HTML page, baseline and CLI all read.
Scores are oriented higher = more anomalous; labels 1 = anomaly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from anobench.metrics.thresholds import POLICIES, policies_for, threshold

__all__ = [
    "METRICS",
    "Metric",
    "applies",
    "evaluate",
    "leaderboard_metrics",
    "metric",
    "precision_at_n",
    "roc_auc_by_group",
    "score_sanity",
    "thresholded",
]


def _sk() -> Any:
    """``sklearn.metrics``, imported on first use (the registry below is read by commands
    that never compute a metric, and sklearn takes seconds to import)."""
    import sklearn.metrics

    return sklearn.metrics


@dataclass(frozen=True)
class Metric:
    """A metric column of the tidy results table.

    key : column name, e.g. ``"roc_auc"`` or ``"f1@top-k"``.
    title : human name; oracle metrics say so.
    higher_is_better : direction (every metric here: True).
    oracle : reads test labels or the true anomaly ratio: an upper bound, marked in
        every output (file names, CSV columns, tables).
    headline : shown open in the report (the others are folded).
    leaderboard : gets a leaderboard and statistics in the report.
    """

    key: str
    title: str
    higher_is_better: bool = True
    oracle: bool = False
    headline: bool = False
    leaderboard: bool = True
    #: point-level metric of series cells (:mod:`anobench.metrics.series`); other cells
    #: have no value for it
    series: bool = False

    @property
    def stem(self) -> str:
        """File-name part, e.g. ``f1_at_top-k_oracle``."""
        return self.key.replace("@", "_at_") + ("_oracle" if self.oracle else "")

    @property
    def column(self) -> str:
        """Column name in exported tables: oracle metrics are prefixed ``oracle:``."""
        return f"oracle:{self.key}" if self.oracle else self.key


def _f1_metric(policy: str) -> Metric:
    oracle = POLICIES[policy].oracle
    mark = " (oracle: uses test labels)" if oracle else ""
    if POLICIES[policy].uses_labels:
        mark = " (uses training labels)"
    return Metric(f"f1@{policy}", f"F1 under {policy}{mark}", oracle=oracle)


def _series_metrics() -> tuple[Metric, ...]:
    """Point-level series metrics (:mod:`anobench.metrics.series`), VUS-PR first so series
    leaderboards lead with it; range-based and point-adjusted F1 per label-free policy."""
    from anobench.metrics.series import PA_WARNING

    label_free = [n for n, p in POLICIES.items() if p.calibrated and not p.oracle]
    label_free = [n for n in label_free if not POLICIES[n].uses_labels]
    return (
        Metric("vus_pr", "VUS-PR (series points)", headline=True, series=True),
        Metric("vus_roc", "VUS-ROC (series points)", headline=True, series=True),
        Metric("point_ap", "AP on series points", leaderboard=False, series=True),
        Metric("point_roc_auc", "ROC-AUC on series points", leaderboard=False, series=True),
        *(Metric(f"range_f1@{p}", f"range-based F1 under {p}", series=True) for p in label_free),
        *(
            Metric(f"pa_f1@{p}", f"point-adjusted F1 under {p} ({PA_WARNING})", series=True)
            for p in label_free
        ),
    )


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        *_series_metrics(),
        Metric("roc_auc", "ROC-AUC", headline=True),
        Metric("ap", "AP", headline=True),
        Metric("precision_at_n", "precision@n", oracle=True, leaderboard=False),
        Metric("accuracy", "accuracy at the study's threshold", leaderboard=False),
        *(_f1_metric(p) for p in POLICIES),
    )
}


def metric(key: str) -> Metric:
    """The registered metric ``key``; :class:`KeyError` naming the known ones."""
    try:
        return METRICS[key]
    except KeyError:
        raise KeyError(f"unknown metric {key!r}; known: {', '.join(METRICS)}") from None


def applies(key: str, protocol: str) -> bool:
    """False for a metric its protocol cannot have: a policy that uses training labels
    outside ``semi-supervised`` (no leaderboard is made for it there)."""
    _, at, policy = key.partition("@")
    if at and policy in POLICIES and POLICIES[policy].uses_labels:
        return str(protocol).startswith("semi-supervised")
    return True


def leaderboard_metrics() -> list[str]:
    """Keys of the metrics that get leaderboards, headline metrics first."""
    return [m.key for m in METRICS.values() if m.leaderboard]


def precision_at_n(y: np.ndarray, scores: np.ndarray, n: int | None = None) -> float:
    """Precision of flagging the ``n`` highest scores (``n`` = anomaly count by default),
    as PyOD's ``precision_n_scores``: rows above the ``1 - n / len`` percentile of the
    scores are flagged, so rows tied at the cut are not (never broken by row order: a
    nearly constant scorer cannot reach a high value from the rows' order); 0.0 when no
    row is flagged."""
    n = int(np.sum(y)) if n is None else n
    cut = np.percentile(scores, 100.0 * (1.0 - n / len(scores)))
    flagged = scores > cut
    return float(np.mean(y[flagged])) if flagged.any() else 0.0


def thresholded(y: np.ndarray, scores: np.ndarray, thr: float) -> dict[str, float]:
    """Precision, recall and F1 when flagging ``scores >= thr``."""
    flagged = scores >= thr
    tp = float(np.sum(flagged & (y == 1)))
    precision = tp / max(float(np.sum(flagged)), 1.0)
    recall = tp / max(float(np.sum(y == 1)), 1.0)
    f1 = 0.0 if tp == 0 else 2 * precision * recall / (precision + recall)
    return {"threshold": float(thr), "precision": precision, "recall": recall, "f1": f1}


def score_sanity(scores: np.ndarray) -> dict[str, Any]:
    """NaN/inf count, constant-score flag and tie fraction (1 - unique / n) of finite scores."""
    finite = scores[np.isfinite(scores)]
    n_unique = len(np.unique(finite))
    return {
        "n_nonfinite": int(len(scores) - len(finite)),
        "constant": bool(n_unique <= 1),
        "tie_fraction": float(1.0 - n_unique / len(finite)) if len(finite) else 1.0,
    }


def roc_auc_by_group(y: np.ndarray, scores: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """ROC-AUC of the normal rows against each anomalous group alone.

    Parameters
    ----------
    y : (n,) 0/1 labels. scores : (n,) higher = more anomalous.
    groups : (n,) str, what each row is (e.g. ``"rotate"``, ``"fashion"``).

    Returns ``{group: auc}`` for every group that holds anomalies.
    """
    normal = y == 0
    out = {}
    for group in np.unique(groups[y == 1]):
        rows = normal | ((groups == group) & (y == 1))
        out[str(group)] = float(_sk().roc_auc_score(y[rows], scores[rows]))
    return out


def evaluate(
    y_test: np.ndarray,
    test_scores: np.ndarray,
    calibration_scores: np.ndarray | None,
    expected_contamination: float | str = 0.1,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any]:
    """All metrics of one cell.

    Parameters
    ----------
    y_test : (n_test,) 0/1 labels, both classes present.
    test_scores : (n_test,) finite scores, higher = more anomalous.
    calibration_scores : (n_calibration,) out-of-sample scores of training rows, for the
        label-free policies and ``true-quantile``; None leaves those policies out.
    expected_contamination : the suite's prior for ``train-quantile``, or ``"data"``
        (then ``true-quantile``, oracle, replaces it).
    validation : (scores, 0/1 labels) of a labelled validation part of the training rows
        (out-of-sample scores), for ``val-best-f1``; None leaves it out.

    Returns
    -------
    dict with ``roc_auc``, ``ap``, ``precision_at_n`` and ``thresholds``: one entry per
    policy with ``threshold``, ``precision``, ``recall``, ``f1``, ``fpr`` (the share of
    test normals flagged), ``accuracy`` (the share of test rows decided right) and
    ``oracle``; ``thresholds_not_computed`` (policy: reason) for
    a policy whose threshold is not finite (overflowing scores), when there is one.
    """
    out: dict[str, Any] = {
        "roc_auc": float(_sk().roc_auc_score(y_test, test_scores)),
        "ap": float(_sk().average_precision_score(y_test, test_scores)),
        "precision_at_n": precision_at_n(y_test, test_scores),
        "thresholds": {},
    }
    names, prior = policies_for(expected_contamination)
    normal = y_test == 0
    for name in names:
        policy = POLICIES[name]
        if policy.calibrated and calibration_scores is None:
            continue
        if policy.uses_labels:
            if validation is None or len(np.unique(validation[1])) < 2:
                continue
            thr = threshold(name, validation[0], validation[0], validation[1], prior)
        else:
            train = calibration_scores if calibration_scores is not None else test_scores[:0]
            thr = threshold(name, train, test_scores, y_test, prior)
        if not np.isfinite(thr):
            # e.g. mean + std of scores near 1e300 overflows: no F1 rather than F1 = 0
            out.setdefault("thresholds_not_computed", {})[name] = (
                f"the threshold is not finite ({thr}): the scores' scale overflows float64"
            )
            continue
        values = thresholded(y_test, test_scores, thr)
        values["fpr"] = float(np.mean(test_scores[normal] >= thr)) if normal.any() else 0.0
        values["accuracy"] = float(np.mean((test_scores >= thr) == (y_test == 1)))
        out["thresholds"][name] = {**values, "oracle": policy.oracle}
    return out
