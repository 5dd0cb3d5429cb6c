"""Effect sizes a reader can use with few data sets: the probability of improvement and
stratified bootstrap confidence intervals over data sets and seeds (after rliable,
Agarwal et al. 2021, ``metrics.py`` / ``library.StratifiedBootstrap``).

Inputs are per-seed values: one ``(n_sets, n_seeds)`` array per detector (NaN where a
seed has no ok value), as :func:`seed_values` builds from the tidy results frame. Metric
values are higher-is-better. Everything is vectorised with numpy and seeded.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "bootstrap_mean_ci",
    "poi_ci",
    "poi_matrix",
    "probability_of_improvement",
    "seed_values",
    "stratified_bootstrap",
]


def seed_values(frame: pd.DataFrame, metric: str) -> dict[str, pd.DataFrame]:
    """Per-seed values of ``metric`` from a tidy results frame (one protocol).

    ``frame`` has columns ``label``, ``dataset``, ``seed``, ``status`` and ``metric``;
    only ``status == "ok"`` rows give values. Returns ``{label: DataFrame}``, each
    indexed by every data set of ``frame`` (sorted) with one column per seed (sorted),
    shape ``(n_sets, n_seeds)``, NaN where that seed has no ok value.
    """
    datasets = sorted(frame["dataset"].unique())
    seeds = sorted(frame["seed"].unique())
    ok = frame[frame["status"] == "ok"]
    grouped = ok.groupby(["label", "dataset", "seed"])[metric].mean()
    out = {}
    for label in sorted(frame["label"].unique()):
        values = pd.DataFrame(np.nan, index=datasets, columns=seeds)
        if label in grouped.index.get_level_values("label"):
            part = grouped.xs(label, level="label").unstack("seed")
            values = part.reindex(index=datasets, columns=seeds).astype(float)
        values.index.name, values.columns.name = "dataset", "seed"
        out[str(label)] = values
    return out


def _pairwise_wins(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per data set, P(a seed run of x beats one of y), ties 1/2; NaN where either has no
    value. ``x``, ``y``: (..., n_sets, n_seeds) -> (..., n_sets)."""
    a, b = x[..., :, None], y[..., None, :]
    both = np.isfinite(a) & np.isfinite(b)
    wins = np.where(both, (a > b) + 0.5 * (a == b), 0.0).sum(axis=(-2, -1))
    n = both.sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, wins / np.maximum(n, 1), np.nan)


def probability_of_improvement(x: np.ndarray, y: np.ndarray) -> float:
    """P(X > Y): the mean over data sets of the Mann-Whitney probability that a seed run
    of X scores higher than a seed run of Y (ties count 1/2), as in rliable.

    ``x``, ``y``: (n_sets, n_seeds) (or (n_sets,) for one seed), NaN where no value; data
    sets where either has no value are left out. 1.0: X always better; 0.5: no edge.
    NaN when no data set has values of both.
    """
    x2 = np.asarray(x, float).reshape(len(x), -1)
    y2 = np.asarray(y, float).reshape(len(y), -1)
    per_set = _pairwise_wins(x2, y2)
    return float(np.nanmean(per_set)) if np.isfinite(per_set).any() else float("nan")


def poi_matrix(values: Mapping[str, pd.DataFrame | np.ndarray]) -> pd.DataFrame:
    """Pairwise P(row > column) for every pair of detectors.

    ``values``: detector -> (n_sets, n_seeds), all on the same data sets and seeds.
    Returns detectors x detectors (0.5 on the diagonal; ``M + M.T == 1`` where defined).
    """
    names = list(values)
    if not names:
        return pd.DataFrame()
    arrays = np.stack([np.asarray(values[n], float).reshape(len(values[n]), -1) for n in names])
    per_set = _pairwise_wins(arrays[:, None], arrays[None, :])  # (k, k, n_sets)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # pairs without a shared set: NaN
        matrix = np.nanmean(per_set, axis=-1)
    return pd.DataFrame(matrix, index=names, columns=names)


def stratified_bootstrap(
    arrays: Sequence[np.ndarray],
    statistic: Callable[..., np.ndarray],
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile CI of ``statistic`` under a stratified bootstrap over data sets and seeds.

    Each resample draws data sets with replacement (the same draw for every array) and,
    within each drawn data set, that array's ok seeds with replacement (as many as it
    has). ``arrays``: each (n_sets, n_seeds), NaN where no value. ``statistic`` gets the
    resampled arrays, each (n_resamples, n_sets, n_seeds) with NaN in unused slots, and
    returns (n_resamples,). Seeded: the same inputs give the same interval.
    """
    arrays = [np.asarray(a, float).reshape(len(a), -1) for a in arrays]
    n_sets = arrays[0].shape[0]
    rng = np.random.default_rng(seed)
    sets = rng.integers(0, n_sets, size=(n_resamples, n_sets))
    resampled = []
    for a in arrays:
        order = np.argsort(~np.isfinite(a), axis=1, kind="stable")  # ok seeds first
        packed = np.take_along_axis(a, order, axis=1)
        count = np.isfinite(a).sum(axis=1)[sets]  # (B, n_sets)
        draw = np.floor(rng.random((*sets.shape, a.shape[1])) * count[..., None]).astype(int)
        slots = np.arange(a.shape[1]) < count[..., None]
        picked = packed[sets[..., None], draw]
        resampled.append(np.where(slots, picked, np.nan))
    values = np.asarray(statistic(*resampled), float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return (float("nan"), float("nan"))
    tail = (1.0 - confidence) / 2
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return (float(low), float(high))


def _mean_of_set_means(a: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices give NaN
        return np.asarray(np.nanmean(np.nanmean(a, axis=-1), axis=-1))


def bootstrap_mean_ci(
    values: np.ndarray, *, confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Stratified bootstrap CI of the mean over data sets of the mean over seeds.

    ``values``: (n_sets, n_seeds) or (n_sets,), NaN where no value; data sets without
    any value are dropped. Fewer than two data sets give ``(nan, nan)``.
    """
    a = np.asarray(values, float).reshape(len(values), -1)
    a = a[np.isfinite(a).any(axis=1)]
    if len(a) < 2:
        return (float("nan"), float("nan"))
    return stratified_bootstrap(
        [a], _mean_of_set_means, confidence=confidence, n_resamples=n_resamples, seed=seed
    )


def poi_ci(
    x: np.ndarray,
    y: np.ndarray,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Stratified bootstrap CI of :func:`probability_of_improvement` ``(x, y)``.

    ``x``, ``y``: (n_sets, n_seeds) on the same data sets; data sets where either has no
    value are dropped first. Fewer than two such data sets give ``(nan, nan)``.
    """
    x2 = np.asarray(x, float).reshape(len(x), -1)
    y2 = np.asarray(y, float).reshape(len(y), -1)
    keep = np.isfinite(x2).any(axis=1) & np.isfinite(y2).any(axis=1)
    if keep.sum() < 2:
        return (float("nan"), float("nan"))

    def poi(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.asarray(_pairwise_wins(a, b).mean(axis=-1))

    return stratified_bootstrap(
        [x2[keep], y2[keep]], poi, confidence=confidence, n_resamples=n_resamples, seed=seed
    )
