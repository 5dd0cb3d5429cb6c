"""Label-free internal criteria and the label budget of validation, for selection.

Every function here reads only out-of-sample training scores (the calibration fits'
scores of training rows they did not see) and, for ``validation@<budget>``, the training
labels the budget grants. None reads a test label or a test score.

Volume criteria (Goix, "How to evaluate the quality of unsupervised anomaly detection
algorithms?", ICML AD workshop 2016). With ``s`` the anomaly score (higher = more
anomalous) and the level sets ``{s <= u}`` of the normal region:

- **Mass-Volume**: ``MV(a) = Leb{s <= q_a}`` where ``q_a`` is the ``a``-quantile of the
  scores of data rows (the smallest normal region holding mass ``a``); its mean over
  ``a`` in [0.9, 0.999] (lower = better: the model packs the data into less volume).
- **Excess-Mass**: ``EM(t) = max_u P(s(X) <= u) - t Leb{s <= u}``; its area over
  ``t`` in [0, t_max] where ``t_max`` is the first ``t`` with ``EM(t) <= 0.9`` (higher =
  better).

``Leb`` is estimated by probe points drawn uniformly in the bounding box of the training
part (:func:`anobench.metrics.calibration.uniform_probes`) and measured in units of that box:
the same box and probes for every candidate of a data set and seed, so the criteria
compare candidates. Each calibration fold's model scores its held-out rows and the
probes, the criterion is computed per fold and averaged (weighted by rows). Goix et
al. warn that both degrade above about 8 features (almost no probe falls in a normal
region); ties between candidates are then resolved as a random choice among the tied
ones (:mod:`anobench.selection.rules`).

**Centrality** (model centrality, Ma, Zhao and Akoglu, SIGKDD Explorations 2023, after
the consensus view of outlier ensembles): a candidate's mean Kendall tau with every other
candidate's scores of the same training rows (higher = closer to the consensus).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np
from scipy import stats as sps

from anobench.seeding import derive_seed

__all__ = [
    "CENTRALITY_ROWS",
    "MV_ALPHAS",
    "average_precision",
    "centrality",
    "excess_mass",
    "granted_positives",
    "kendall_matrix",
    "mass_volume",
    "roc_auc",
]

#: mass levels of the MV curve (Goix 2016: 0.9 ... 0.999)
MV_ALPHAS = np.arange(0.9, 0.999 + 1e-9, 0.001)
#: levels t of the EM curve in units of the bounding box's volume (Goix: 0 ... 100)
EM_LEVELS = np.arange(0.0, 100.0, 0.01)
#: EM's area stops where EM(t) first falls to this
EM_T_MAX = 0.9


def _per_fold(
    scores: np.ndarray,
    fold: np.ndarray,
    probe_scores: np.ndarray,
    one: Callable[[np.ndarray, np.ndarray], float],
) -> float:
    """Row-weighted mean over folds of ``one(fold's data scores, fold's probe scores)``."""
    values, weights = [], []
    for f in range(probe_scores.shape[0]):
        mine = scores[fold == f]
        if len(mine):
            values.append(one(mine, probe_scores[f]))
            weights.append(len(mine))
    return float(np.average(values, weights=weights)) if values else float("nan")


def _mass_volume_one(data: np.ndarray, probes: np.ndarray) -> float:
    q = np.quantile(data, MV_ALPHAS, method="higher")
    inside = np.sort(probes)
    volume = np.searchsorted(inside, q, side="right") / len(probes)
    return float(volume.mean())


def _excess_mass_one(data: np.ndarray, probes: np.ndarray) -> float:
    levels = np.unique(data)
    mass = np.searchsorted(np.sort(data), levels, side="right") / len(data)
    volume = np.searchsorted(np.sort(probes), levels, side="right") / len(probes)
    # EM(t) = max_u mass(u) - t * volume(u) is the upper envelope of these lines: only
    # the upper convex hull of the points (volume, mass) can attain it
    mass, volume = _upper_hull(volume, mass)
    em = np.max(mass[None, :] - EM_LEVELS[:, None] * volume[None, :], axis=1)
    em[0] = 1.0  # Goix's convention
    below = np.flatnonzero(em <= EM_T_MAX)
    stop = below[0] + 1 if len(below) else len(EM_LEVELS)
    if stop < 2:
        return 0.0
    return float(np.trapezoid(em[:stop], EM_LEVELS[:stop]))


def _upper_hull(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(y, x) of the upper-left convex hull of the points: the only ones that can
    maximise ``y - t x`` for some ``t >= 0`` (x, y nondecreasing together here)."""
    order = np.lexsort((-y, x))
    xs, ys = x[order], y[order]
    keep_x: list[float] = []
    keep_y: list[float] = []
    best = -np.inf
    for xi, yi in zip(xs, ys, strict=True):
        if yi <= best:  # dominated: no more mass for at least as much volume
            continue
        best = yi
        while len(keep_x) >= 2:
            (x1, y1), (x2, y2) = (keep_x[-2], keep_y[-2]), (keep_x[-1], keep_y[-1])
            if (x2 - x1) * (yi - y1) - (y2 - y1) * (xi - x1) >= 0:  # not a right turn
                keep_x.pop()
                keep_y.pop()
            else:
                break
        keep_x.append(xi)
        keep_y.append(yi)
    return np.asarray(keep_y), np.asarray(keep_x)


def mass_volume(scores: np.ndarray, fold: np.ndarray, probe_scores: np.ndarray) -> float:
    """Mean Mass-Volume over ``MV_ALPHAS`` (lower = better), per fold then averaged.

    Parameters
    ----------
    scores : (n,) out-of-sample anomaly scores of training rows (higher = more anomalous).
    fold : (n,) the fold whose model scored each row.
    probe_scores : (n_folds, n_probes) each fold model's scores of the uniform probes.
    """
    return _per_fold(scores, fold, probe_scores, _mass_volume_one)


def excess_mass(scores: np.ndarray, fold: np.ndarray, probe_scores: np.ndarray) -> float:
    """Area under the Excess-Mass curve up to ``EM(t) <= 0.9`` (higher = better); same
    inputs as :func:`mass_volume`."""
    return _per_fold(scores, fold, probe_scores, _excess_mass_one)


#: centrality reads at most this many common rows (a seeded subsample)
CENTRALITY_ROWS = 1000


def kendall_matrix(scores: np.ndarray) -> np.ndarray:
    """Kendall's tau-b between every two rows of ``scores`` (m, n), exactly as
    ``scipy.stats.kendalltau`` (ties included), in one matrix product over the row pairs:
    ``tau_b(a, b) = sum sign(a_j - a_k) sign(b_j - b_k) / sqrt(n_a n_b)`` with ``n_a`` the
    pairs ``a`` does not tie. (m, m); 0 where a candidate is constant. Memory is about
    ``12 m n (n - 1) / 2`` bytes: callers bound ``n`` (:data:`CENTRALITY_ROWS`)."""
    n = scores.shape[1]
    j, k = np.triu_indices(n, 1)
    signs = np.sign(scores[:, j] - scores[:, k]).astype(np.float32)
    concordance = signs @ signs.T
    untied = np.abs(signs).sum(axis=1).astype(np.float64)
    denominator = np.sqrt(np.outer(untied, untied))
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = np.where(denominator > 0, concordance / denominator, 0.0)
    return np.clip(tau, -1.0, 1.0)


def centrality(tau: np.ndarray) -> np.ndarray:
    """Each candidate's mean Kendall tau with every other candidate.

    Parameters
    ----------
    tau : (m, m) pairwise Kendall tau-b of the candidates' out-of-sample scores of the
        same training rows (:func:`kendall_matrix`).

    Returns
    -------
    (m,) in [-1, 1]; NaN for all when fewer than two candidates.
    """
    m = tau.shape[0]
    if m < 2:
        return np.full(m, np.nan)
    return (tau.sum(axis=1) - np.diag(tau)) / (m - 1)


def granted_positives(
    labels: np.ndarray,
    budget: int | float,
    seed: int,
    rows: np.ndarray | None = None,
    n_rows: int | None = None,
) -> np.ndarray:
    """The training anomalies a label budget grants, as a boolean mask.

    Every training row gets a seeded priority (from ``seed`` and its row number only,
    never the labels); the budget grants the ``k`` anomalies of highest priority among
    ``labels``: ``k`` = a count budget (capped at the anomalies present), or ``max(1,
    round(budget * n_anomalies))`` for a fraction (as the semi-supervised protocol and
    ADBench). Changing the label of an anomaly that is not granted leaves the granted set
    unchanged (for a count budget), and two candidates scoring the same rows get the same
    grant.

    Parameters
    ----------
    labels : (n,) 0/1 true labels of the rows that have out-of-sample scores.
    rows : (n,) those rows' numbers in the training part (None: 0 ... n - 1).
    n_rows : the training part's size (None: ``max(rows) + 1``).
    """
    labels = np.asarray(labels)
    rows = np.arange(len(labels)) if rows is None else np.asarray(rows, dtype=np.int64)
    size = int(n_rows) if n_rows is not None else (int(rows.max()) + 1 if len(rows) else 0)
    rng = np.random.default_rng(derive_seed(seed, "validation-grant") % (2**32))
    priority = rng.permutation(max(size, len(rows)))[rows]
    anomalies = np.flatnonzero(labels == 1)
    if isinstance(budget, numbers.Integral):
        k = min(int(budget), len(anomalies))
    else:
        k = max(1, int(np.floor(budget * len(anomalies) + 0.5))) if len(anomalies) else 0
    chosen = anomalies[np.argsort(priority[anomalies], kind="stable")[:k]]
    mask = np.zeros(len(labels), dtype=bool)
    mask[chosen] = True
    return mask


def roc_auc(positive: np.ndarray, scores: np.ndarray) -> float:
    """ROC-AUC of ``scores`` (higher = more anomalous) against the boolean ``positive``
    (ties count 1/2; equal to ``sklearn.metrics.roc_auc_score``); NaN with one class."""
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = sps.rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def average_precision(positive: np.ndarray, scores: np.ndarray) -> float:
    """Average precision as ``sklearn.metrics.average_precision_score`` (a step function
    over the distinct score thresholds, ties taken together); NaN without a positive."""
    n_pos = int(positive.sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], positive[order].astype(np.float64)
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # end of each tie group
    tp = np.cumsum(y)[last]
    precision = tp / (last + 1)
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
