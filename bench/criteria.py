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
part (:func:`anobench.calibration.uniform_probes`) and measured in units of that box:
the same box and probes for every candidate of a data set and seed, so the criteria
compare candidates. Each calibration fold's model scores its held-out rows and the
probes, the criterion is computed per fold and averaged (weighted by rows). Goix et
al. warn that both degrade above about 8 features (almost no probe falls in a normal
region); ties between candidates are then resolved as a random choice among the tied
ones (:mod:`anobench.selection`).

**Centrality** (model centrality, Ma, Zhao and Akoglu, SIGKDD Explorations 2023, after
the consensus view of outlier ensembles): a candidate's mean Kendall tau with every other
candidate's scores of the same training rows (higher = closer to the consensus).
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

from anobench.seeding import derive_seed

__all__ = [
    "MV_ALPHAS",
    "centrality",
    "excess_mass",
    "granted_positives",
    "mass_volume",
]

#: mass levels of the MV curve (Goix 2016: 0.9 ... 0.999)
MV_ALPHAS = np.arange(0.9, 0.999 + 1e-9, 0.001)
#: levels t of the EM curve in units of the bounding box's volume (Goix: 0 ... 100)
EM_LEVELS = np.arange(0.0, 100.0, 0.01)
#: EM's area stops where EM(t) first falls to this
EM_T_MAX = 0.9


def _per_fold(
    scores: np.ndarray, fold: np.ndarray, probe_scores: np.ndarray, one: object
) -> float:
    """Row-weighted mean over folds of ``one(fold's data scores, fold's probe scores)``."""
    values, weights = [], []
    for f in range(probe_scores.shape[0]):
        mine = scores[fold == f]
        if len(mine):
            values.append(one(mine, probe_scores[f]))  # type: ignore[operator]
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
    # EM(t) = max(1 at t = 0 convention, max_u mass(u) - t * volume(u))
    em = np.max(mass[None, :] - EM_LEVELS[:, None] * volume[None, :], axis=1)
    em[0] = 1.0
    below = np.flatnonzero(em <= EM_T_MAX)
    stop = below[0] + 1 if len(below) else len(EM_LEVELS)
    if stop < 2:
        return 0.0
    return float(np.trapezoid(em[:stop], EM_LEVELS[:stop]))


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


def centrality(scores: np.ndarray) -> np.ndarray:
    """Each candidate's mean Kendall tau-b with every other candidate.

    Parameters
    ----------
    scores : (n_candidates, n_rows) out-of-sample scores of the same training rows.

    Returns
    -------
    (n_candidates,) in [-1, 1]; NaN for all when fewer than two candidates. A constant
    candidate correlates 0 with the others.
    """
    m = scores.shape[0]
    if m < 2:
        return np.full(m, np.nan)
    tau = np.zeros((m, m))
    for i in range(m):
        for j in range(i + 1, m):
            value = sps.kendalltau(scores[i], scores[j]).statistic
            tau[i, j] = tau[j, i] = 0.0 if not np.isfinite(value) else value
    return tau.sum(axis=1) / (m - 1)


def granted_positives(labels: np.ndarray, budget: int | float, seed: int) -> np.ndarray:
    """The training anomalies a label budget grants, as a boolean mask.

    Every row gets a seeded priority (``seed`` only, not the labels); the budget grants
    the ``k`` anomalies of highest priority: ``k`` = a count budget (capped at the
    anomalies present), or ``max(1, round(budget * n_anomalies))`` for a fraction (as the
    semi-supervised protocol and ADBench). Only the granted rows' labels decide anything
    downstream: changing the label of an anomaly that is not granted leaves the granted
    set unchanged (for a count budget).

    Parameters
    ----------
    labels : (n,) 0/1 true labels of the rows that have out-of-sample scores.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(derive_seed(seed, "validation-grant") % (2**32))
    priority = rng.permutation(len(labels))
    anomalies = np.flatnonzero(labels == 1)
    if isinstance(budget, int):
        k = min(budget, len(anomalies))
    else:
        k = max(1, int(np.floor(budget * len(anomalies) + 0.5))) if len(anomalies) else 0
    chosen = anomalies[np.argsort(priority[anomalies], kind="stable")[:k]]
    mask = np.zeros(len(labels), dtype=bool)
    mask[chosen] = True
    return mask
