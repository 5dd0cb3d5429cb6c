"""The one ranking of a leaderboard, shared by the leaderboard, the statistics summary,
the Friedman and post-hoc tests, the CD diagram and the rank plot.

A failure never improves a standing: ranks and means are over the data sets every ranked
detector covers, and the detectors below a coverage threshold are listed apart with their
coverage. Metric values are higher-is-better in [0, 1]; rank 1 is the best.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["SATURATION", "Standings", "standings"]

#: a data set is saturated when every ranked detector is within this of 1.0
SATURATION = 0.01


@dataclass
class Standings:
    """The one ranking of a leaderboard (see :func:`standings`).

    ranked : detectors in the ranking, best first (by avg rank, then mean).
    apart : detector -> its coverage ``"k/n sets"``, for those below ``min_coverage``.
    datasets : the n data sets the ranks are over (those where any detector has a value).
    complete : data sets where every ranked detector has a value (the mean's and, with
        ``min_coverage=1``, the same as ``datasets``).
    ranks : ranked x datasets, 1 = best, ties averaged.
    avg_rank, mean : per ranked detector, over ``datasets`` and ``complete``.
    saturated : data sets where every ranked detector is within ``SATURATION`` of 1.0.
    coverage : every detector -> number of ``datasets`` it has a value on.
    empty : data sets where no detector has a value (left out).
    """

    ranked: list[str]
    apart: dict[str, str]
    datasets: list[str]
    complete: list[str]
    ranks: pd.DataFrame
    avg_rank: pd.Series
    mean: pd.Series
    saturated: list[str]
    coverage: pd.Series
    empty: list[str] = field(default_factory=list)
    min_coverage: float = 1.0

    @property
    def has_ranking(self) -> bool:
        return len(self.ranked) >= 2

    def note(self) -> str:
        """One sentence saying what the ranks and means are over."""
        n = len(self.datasets)
        if not self.has_ranking:
            return (
                f"No ranking: {len(self.ranked)} detector(s) have values on "
                f"{self.min_coverage:.0%} of the {n} data sets (needs 2); all are listed "
                "apart with their coverage."
            )
        if self.min_coverage >= 1.0:
            text = (
                f"Avg rank and mean over the {n} data sets every ranked detector covers; "
                "detectors covering fewer are listed apart (not ranked) with their coverage."
            )
        else:
            text = (
                f"Avg rank over the {n} data sets (a ranked detector without a value takes "
                f"the last place there); mean over the {len(self.complete)} data sets every "
                f"ranked detector covers; detectors covering less than "
                f"{self.min_coverage:.0%} are listed apart (not ranked) with their coverage."
            )
        if self.empty:
            text += f" Data sets with no value at all are left out: {', '.join(self.empty)}."
        return text


def standings(means: pd.DataFrame, *, min_coverage: float = 1.0) -> Standings:
    """Rank the detectors of ``means`` (detectors x data sets, NaN = no value).

    Data sets where no detector has a value are dropped. A detector with values on at
    least ``min_coverage`` of the remaining n data sets is ranked; the others are listed
    apart with their coverage. Ranks are taken per data set among the ranked detectors
    (1 = best, ties averaged); a ranked detector without a value there takes the last
    place (tied with the others without one), so a failure never improves a rank. The
    mean is over the data sets every ranked detector covers. Fewer than two qualifying
    detectors: no ranking (``ranked`` empty, everyone apart).
    """
    means = means.astype(float).rename(index=str, columns=str)
    has_value = means.notna()
    empty = [str(c) for c in means.columns[~has_value.any(axis=0)]]
    data = means.loc[:, has_value.any(axis=0)]
    n = data.shape[1]
    coverage = data.notna().sum(axis=1).astype(int)
    needed = max(1.0, min_coverage * n - 1e-9)
    ranked = [str(d) for d in data.index if coverage[d] >= needed]
    if len(ranked) < 2:
        ranked = []
    apart = {str(d): f"{int(coverage[d])}/{n} sets" for d in data.index if str(d) not in ranked}
    values = data.loc[ranked]
    ranks = values.fillna(-np.inf).rank(axis=0, ascending=False, method="average")
    complete_mask = values.notna().all(axis=0) if ranked else pd.Series(False, data.columns)
    mean = values.loc[:, complete_mask].mean(axis=1)
    avg_rank = ranks.mean(axis=1)
    order = sorted(ranked, key=lambda d: (avg_rank[d], -np.nan_to_num(mean[d], nan=-1.0)))
    saturated = [
        str(c) for c in data.columns if ranked and bool((values[c] >= 1.0 - SATURATION).all())
    ]
    return Standings(
        ranked=order,
        apart=apart,
        datasets=[str(c) for c in data.columns],
        complete=[str(c) for c in data.columns[complete_mask.to_numpy()]],
        ranks=ranks.loc[order],
        avg_rank=avg_rank.reindex(order),
        mean=mean.reindex(order),
        saturated=saturated,
        coverage=coverage,
        empty=empty,
        min_coverage=min_coverage,
    )
