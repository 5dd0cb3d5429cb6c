"""Statistics over a leaderboard: one ranking (:func:`standings`) shared by the
leaderboard, the summary, the tests and the plots; the Friedman test and pairwise post-hoc
tests (Wilcoxon signed-rank, normal approximation, Holm-adjusted; or Nemenyi) that say
when the number of data sets makes any significant pair impossible; and effect sizes
(probability of improvement, stratified bootstrap CIs; see :mod:`anobench.results.effects`).

Inputs are ``(detector x data set)`` matrices of per-data-set means (NaN where a detector
produced no value). Metric values are higher-is-better in [0, 1]; rank 1 is the best. A
failure never improves a standing: ranks and means are over the data sets every ranked
detector covers, and the detectors below the coverage threshold are listed apart.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps

from anobench.results import effects
from anobench.results.ranking import SATURATION, Standings, standings

__all__ = [
    "POSTHOC",
    "SATURATION",
    "RankTest",
    "Standings",
    "min_adjusted_p",
    "rank_test",
    "sets_needed",
    "standings",
    "summary",
]

logger = logging.getLogger(__name__)

#: post-hoc tests offered
POSTHOC = ("wilcoxon-holm", "nemenyi")
#: stands in for a missing value of a ranked detector in the tests (below any metric)
_FAILED = -1.0


def summary(
    means: pd.DataFrame,
    *,
    seeds: Mapping[str, pd.DataFrame] | None = None,
    min_coverage: float = 1.0,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Per detector: the :func:`standings` numbers and effect sizes.

    ``seeds``: detector -> per-seed values (data sets x seeds, see
    :func:`anobench.results.effects.seed_values`); without it each data-set mean counts as one
    seed. Returns a DataFrame, ranked detectors first (best first), then the apart ones,
    with columns ``ranked``, ``avg_rank``, ``mean`` (over the compared data sets; NaN
    when apart), ``ci_low``/``ci_high`` (stratified bootstrap over data sets and seeds),
    ``poi_leader`` (P(leader > it)) with ``poi_low``/``poi_high``, ``mean_covered`` (over
    the detector's own data sets: not comparable across detectors), ``n_datasets`` and
    ``of`` (coverage k of n).
    """
    means = means.rename(index=str, columns=str)
    st = standings(means, min_coverage=min_coverage)

    def per_seed(det: str, sets: list[str]) -> np.ndarray:
        if seeds is not None and det in seeds:
            return seeds[det].reindex(sets).to_numpy(dtype=float)
        return means.loc[det, sets].to_numpy(dtype=float)[:, None]

    leader = st.ranked[0] if st.ranked else None
    rows = {}
    for det in [*st.ranked, *st.apart]:
        row = {
            "ranked": det in st.ranked,
            "avg_rank": st.avg_rank.get(det, np.nan),
            "mean": st.mean.get(det, np.nan),
            "ci_low": np.nan,
            "ci_high": np.nan,
            "poi_leader": np.nan,
            "poi_low": np.nan,
            "poi_high": np.nan,
            "mean_covered": means.loc[det].mean(),
            "n_datasets": int(st.coverage.get(det, 0)),
            "of": len(st.datasets),
        }
        if det in st.ranked:
            mine = per_seed(det, st.complete)
            row["ci_low"], row["ci_high"] = effects.bootstrap_mean_ci(
                mine, confidence=confidence, n_resamples=n_resamples, seed=seed
            )
            best = per_seed(str(leader), st.complete)
            row["poi_leader"] = effects.probability_of_improvement(best, mine)
            row["poi_low"], row["poi_high"] = effects.poi_ci(
                best, mine, confidence=confidence, n_resamples=n_resamples, seed=seed
            )
        rows[det] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.attrs["note"] = st.note()
    return table


@dataclass
class RankTest:
    """Friedman test and post-hoc p-values over the ranking of a :class:`Standings`.

    detectors : the ranked detectors (best first).
    datasets : the data sets of the ranking (the blocks).
    excluded : detector -> why it is not in the test (its coverage).
    avg_ranks : the standings' average ranks (1 = best), the same as the leaderboard's.
    statistic, p_value : Friedman chi-square and its p-value (NaN with < 3 detectors or
        < 2 blocks).
    pvalues : detectors x detectors post-hoc p-values (adjusted as ``method`` says).
    min_adjusted_p : the smallest adjusted p any pair can reach with these numbers of
        data sets and pairs (see :func:`min_adjusted_p`).
    saturated : data sets where every tested detector is within ``SATURATION`` of 1.0.
    """

    method: str
    detectors: list[str]
    datasets: list[str]
    excluded: dict[str, str] = field(default_factory=dict)
    avg_ranks: pd.Series = field(default_factory=lambda: pd.Series(dtype=float))
    statistic: float = float("nan")
    p_value: float = float("nan")
    pvalues: pd.DataFrame = field(default_factory=pd.DataFrame)
    alpha: float = 0.05
    min_adjusted_p: float = float("nan")
    saturated: list[str] = field(default_factory=list)

    @property
    def testable(self) -> bool:
        return len(self.detectors) >= 2 and len(self.datasets) >= 2

    @property
    def n_pairs(self) -> int:
        return len(self.detectors) * (len(self.detectors) - 1) // 2

    @property
    def can_detect(self) -> bool:
        """Whether any pair could be significant at ``alpha`` with these data sets."""
        return bool(self.min_adjusted_p < self.alpha)

    def significant_pairs(self) -> list[tuple[str, str, float]]:
        """(better, worse, p) for pairs that differ at ``alpha``, better = lower rank."""
        out = []
        dets = list(self.pvalues.index)
        for i, a in enumerate(dets):
            for b in dets[i + 1 :]:
                p = float(self.pvalues.loc[a, b])
                if p < self.alpha:
                    better, worse = sorted((a, b), key=lambda d: self.avg_ranks[d])
                    out.append((better, worse, p))
        return sorted(out, key=lambda t: t[2])


def min_adjusted_p(method: str, n_sets: int, n_detectors: int) -> float:
    """Smallest adjusted p-value any pair can reach with ``n_sets`` data sets.

    ``"wilcoxon-holm"``: a pair whose ``n_sets`` differences all have the same sign and
    the same size (normal approximation with scipy's tie correction, where all-tied ranks
    give the largest statistic, z = sqrt(n)), times the number of pairs m (Holm's first
    step), capped at 1. ``"nemenyi"``: a pair one always first and one always last. NaN with
    fewer than 2 data sets or detectors.
    """
    n, k = float(n_sets), int(n_detectors)
    if n < 2 or k < 2:
        return float("nan")
    if method == "nemenyi":
        q = (k - 1) / np.sqrt(k * (k + 1) / (6.0 * n))
        return float(sps.studentized_range.sf(q * np.sqrt(2.0), k, np.inf))
    m = k * (k - 1) // 2
    return float(min(1.0, m * 2 * sps.norm.sf(np.sqrt(n))))


def sets_needed(method: str, n_detectors: int, alpha: float = 0.05) -> int:
    """Fewest data sets with which some pair of ``n_detectors`` could be significant."""
    k = int(n_detectors)
    if method == "nemenyi":
        q = sps.studentized_range.isf(alpha, k, np.inf) / np.sqrt(2.0)
        return int(np.floor(q**2 * k * (k + 1) / (6.0 * (k - 1) ** 2))) + 1
    n = np.arange(2, 100_000, dtype=float)
    ok = k * (k - 1) // 2 * 2 * sps.norm.sf(np.sqrt(n)) < alpha
    return int(n[np.argmax(ok)])


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values, shape (m,)."""
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return out


def _wilcoxon_holm(blocks: np.ndarray) -> np.ndarray:
    """Pairwise Wilcoxon signed-rank p-values (normal approximation, zero_method
    "zsplit"), Holm-adjusted. ``blocks``: (n_sets, k) -> (k, k), 1 on the diagonal."""
    k = blocks.shape[1]
    i, j = np.triu_indices(k, 1)
    diffs = blocks[:, i] - blocks[:, j]  # (n_sets, m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = sps.wilcoxon(diffs, zero_method="zsplit", method="approx", axis=0).pvalue
    p = np.where(np.isfinite(p), p, 1.0)  # all differences zero: no evidence
    out = np.ones((k, k))
    out[i, j] = out[j, i] = _holm(p)
    return out


def _nemenyi(avg_ranks: np.ndarray, n_sets: int) -> np.ndarray:
    """Nemenyi p-values from average ranks (k,) over ``n_sets`` -> (k, k)."""
    k = len(avg_ranks)
    q = np.abs(avg_ranks[:, None] - avg_ranks[None, :]) / np.sqrt(k * (k + 1) / (6.0 * n_sets))
    out = np.asarray(sps.studentized_range.sf(q * np.sqrt(2.0), k, np.inf), dtype=float)
    np.fill_diagonal(out, 1.0)
    return out


def rank_test(
    means: pd.DataFrame,
    *,
    method: str = "wilcoxon-holm",
    min_coverage: float = 1.0,
    alpha: float = 0.05,
) -> RankTest:
    """Friedman test and pairwise post-hoc tests over the :func:`standings` of ``means``.

    The tested detectors, data sets and average ranks are the standings' (the same as
    the leaderboard's with the same ``min_coverage``); a ranked detector's missing value
    counts as below any metric value. ``method``: ``"wilcoxon-holm"`` (paired Wilcoxon
    signed-rank on per-data-set means, normal approximation, Holm-adjusted) or
    ``"nemenyi"`` (Nemenyi after Friedman, on the ranks).
    """
    if method not in POSTHOC:
        raise ValueError(f"unknown post-hoc method {method!r}; choose one of {POSTHOC}")
    means = means.rename(index=str, columns=str)
    st = standings(means, min_coverage=min_coverage)
    comp = RankTest(
        method,
        list(st.ranked),
        list(st.datasets) if st.ranked else [],
        {det: f"values on {cov}" for det, cov in st.apart.items()},
        avg_ranks=st.avg_rank,
        alpha=alpha,
        saturated=list(st.saturated),
    )
    if not comp.testable:
        return comp
    comp.min_adjusted_p = min_adjusted_p(method, len(comp.datasets), len(comp.detectors))
    blocks = means.loc[comp.detectors, comp.datasets].fillna(_FAILED).T.to_numpy(float)
    if len(comp.detectors) >= 3:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stat, p = sps.friedmanchisquare(*blocks.T)
        comp.statistic, comp.p_value = float(stat), float(p)
    if method == "nemenyi":
        pv = _nemenyi(st.avg_rank.to_numpy(float), len(comp.datasets))
    else:
        pv = _wilcoxon_holm(blocks)
    comp.pvalues = pd.DataFrame(pv, index=comp.detectors, columns=comp.detectors).fillna(1.0)
    return comp

