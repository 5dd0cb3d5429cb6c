"""Statistics over a leaderboard: bootstrap confidence intervals of the mean over data sets,
average ranks, the Friedman test and a pairwise post-hoc test (Wilcoxon signed-rank with
Holm correction, or Nemenyi), on scikit-posthocs and scipy.

Inputs are the ``(detector x data set)`` matrices of per-data-set means a leaderboard
holds (NaN where a detector produced no value). Higher metric values are better; rank 1 is
the best.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps

logger = logging.getLogger(__name__)

#: post-hoc tests offered
POSTHOC = ("wilcoxon-holm", "nemenyi")


def bootstrap_ci(
    values: np.ndarray, *, confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of ``values`` (shape (k,), one per data set).

    Seeded, so the same values give the same interval. Fewer than two values, or values
    all equal, give ``(nan, nan)`` and ``(v, v)`` respectively.
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return (float("nan"), float("nan"))
    if np.all(values == values[0]):
        return (float(values[0]), float(values[0]))
    result = sps.bootstrap(
        (values,),
        np.mean,
        confidence_level=confidence,
        n_resamples=n_resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return (float(result.confidence_interval.low), float(result.confidence_interval.high))


def ranks(means: pd.DataFrame) -> pd.DataFrame:
    """Per-data-set ranks (1 = best, ties averaged) among detectors with a value there.

    ``means``: detectors x data sets. Returns the same shape, NaN where ``means`` is NaN.
    """
    return means.rank(axis=0, ascending=False, method="average")


def summary(
    means: pd.DataFrame, *, confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """Per detector: mean over data sets, its bootstrap CI, average rank (over the data
    sets where it ran) and coverage.

    Returns a DataFrame indexed like ``means`` with columns ``mean``, ``ci_low``,
    ``ci_high``, ``avg_rank``, ``n_datasets`` (with a value) and ``of`` (data sets).
    """
    rk = ranks(means)
    rows = {}
    for det, row in means.iterrows():
        low, high = bootstrap_ci(
            row.to_numpy(), confidence=confidence, n_resamples=n_resamples, seed=seed
        )
        rows[det] = {
            "mean": row.mean(),
            "ci_low": low,
            "ci_high": high,
            "avg_rank": rk.loc[det].mean(),
            "n_datasets": int(row.notna().sum()),
            "of": means.shape[1],
        }
    return pd.DataFrame.from_dict(rows, orient="index")


@dataclass
class Comparison:
    """Friedman test and post-hoc p-values over the complete blocks of a leaderboard.

    detectors : those in the test (covering at least ``min_coverage`` of the data sets).
    datasets : the blocks: data sets where every tested detector has a value.
    excluded : detector -> why it is not in the test.
    avg_ranks : average rank of each tested detector over ``datasets`` (1 = best).
    statistic, p_value : Friedman chi-square and its p-value (NaN with < 3 detectors or
        < 2 blocks).
    pvalues : detectors x detectors post-hoc p-values (adjusted as ``method`` says).
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

    @property
    def testable(self) -> bool:
        return len(self.detectors) >= 2 and len(self.datasets) >= 2

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


def compare(
    means: pd.DataFrame,
    *,
    method: str = "wilcoxon-holm",
    min_coverage: float = 0.5,
    alpha: float = 0.05,
) -> Comparison:
    """Friedman test over data sets and pairwise post-hoc tests.

    A detector with values on fewer than ``min_coverage`` of the data sets is left out
    (and named in ``excluded``); the test then uses the data sets where every remaining
    detector has a value (complete blocks). With fewer than two complete blocks, the
    least-covered detectors are left out too, until there are two. ``method``:
    ``"wilcoxon-holm"`` (paired Wilcoxon signed-rank on per-data-set means,
    Holm-adjusted) or ``"nemenyi"`` (Nemenyi after Friedman, on ranks).
    """
    import scikit_posthocs as sp

    if method not in POSTHOC:
        raise ValueError(f"unknown post-hoc method {method!r}; choose one of {POSTHOC}")
    n_sets = means.shape[1]
    coverage = means.notna().sum(axis=1)
    excluded = {
        str(det): f"values on {int(c)}/{n_sets} data sets (< {min_coverage:.0%})"
        for det, c in coverage.items()
        if c < max(1, min_coverage * n_sets)
    }
    kept = means.drop(index=list(excluded))
    complete = kept.loc[:, kept.notna().all(axis=0)]
    # too few complete blocks: drop the least-covered detectors until there are two
    while complete.shape[1] < 2 and len(kept) > 2:
        worst = kept.notna().sum(axis=1).idxmin()
        excluded[str(worst)] = (
            f"values on {int(coverage[worst])}/{n_sets} data sets (too few shared data sets)"
        )
        kept = kept.drop(index=worst)
        complete = kept.loc[:, kept.notna().all(axis=0)]
    for det in kept.index:
        if complete.shape[1] and complete.loc[det].nunique() == 0:
            excluded[str(det)] = "no values on the complete data sets"
    comp = Comparison(
        method,
        [str(d) for d in complete.index],
        [str(c) for c in complete.columns],
        excluded,
        alpha=alpha,
    )
    if complete.empty:
        return comp
    comp.avg_ranks = ranks(complete).mean(axis=1).sort_values()
    if not comp.testable:
        return comp
    blocks = complete.T.to_numpy()  # (data sets, detectors)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if len(comp.detectors) >= 3:
            stat, p = sps.friedmanchisquare(*blocks.T)
            comp.statistic, comp.p_value = float(stat), float(p)
        if method == "nemenyi":
            pv = sp.posthoc_nemenyi_friedman(blocks)
            pv.index = pv.columns = comp.detectors
        else:
            long = pd.DataFrame(
                {
                    "value": blocks.T.reshape(-1),
                    "detector": np.repeat(comp.detectors, blocks.shape[0]),
                }
            )
            pv = sp.posthoc_wilcoxon(
                long,
                val_col="value",
                group_col="detector",
                zero_method="zsplit",
                p_adjust="holm",
                sort=False,
            )
            pv = pv.reindex(index=comp.detectors, columns=comp.detectors)
    comp.pvalues = pv.fillna(1.0)
    return comp


def format_summary(table: pd.DataFrame, comparison: Comparison, missing: pd.DataFrame) -> str:
    """Markdown: per-detector summary (mean, CI, avg rank, coverage, missing cells by
    status) and the test results."""
    from tabulate import tabulate

    rows = []
    for det, row in table.sort_values(["avg_rank", "mean"], ascending=[True, False]).iterrows():
        ci = "" if np.isnan(row["ci_low"]) else f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}]"
        miss = missing.loc[det] if det in missing.index else pd.Series(dtype=int)
        missing_text = ", ".join(f"{int(v)} {k}" for k, v in miss.items() if v) or "none"
        rows.append(
            [
                det,
                "" if np.isnan(row["mean"]) else f"{row['mean']:.3f}",
                ci,
                "" if np.isnan(row["avg_rank"]) else f"{row['avg_rank']:.2f}",
                f"{int(row['n_datasets'])}/{int(row['of'])}",
                missing_text,
            ]
        )
    text = tabulate(
        rows,
        headers=[
            "detector",
            "mean",
            "95% CI (bootstrap over data sets)",
            "avg rank",
            "sets",
            "missing cells",
        ],
        tablefmt="github",
        disable_numparse=True,
    )
    text += "\n\n" + describe(comparison)
    return str(text)


def describe(comparison: Comparison) -> str:
    """Plain-text account of a :class:`Comparison`."""
    c = comparison
    lines = []
    if not c.testable:
        lines.append(
            f"No test: {len(c.detectors)} detector(s) on {len(c.datasets)} complete data set(s) "
            "(needs 2 and 2)."
        )
    else:
        if np.isfinite(c.statistic):
            verdict = "differ" if c.p_value < c.alpha else "do not differ detectably"
            lines.append(
                f"Friedman test over {len(c.datasets)} data sets x {len(c.detectors)} detectors: "
                f"chi2 = {c.statistic:.2f}, p = {c.p_value:.3g}: the detectors {verdict} "
                f"(alpha = {c.alpha})."
            )
        name = {"wilcoxon-holm": "Wilcoxon signed-rank, Holm-adjusted", "nemenyi": "Nemenyi"}[
            c.method
        ]
        pairs = c.significant_pairs()
        lines.append(
            f"Post-hoc ({name}): {len(pairs)} significant pair(s) at alpha = {c.alpha}"
            + (":" if pairs else ".")
        )
        lines.extend(f"- {a} > {b} (p = {p:.3g})" for a, b, p in pairs[:30])
        if len(pairs) > 30:
            lines.append(f"- ... and {len(pairs) - 30} more (see the CSV)")
    if c.excluded:
        lines.append("Not in the test: " + "; ".join(f"{k} ({v})" for k, v in c.excluded.items()))
    return "\n".join(lines)
