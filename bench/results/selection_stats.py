"""Statistics of a selection board (:mod:`anobench.results.selection_boards`): each rule's mean,
rank and coverage, and, paired with its group's ``oracle`` and ``random`` on the same data
sets and seeds, the oracle gap, the probability of beating random and a Wilcoxon p-value
with what the number of data sets allows it to show. Pure functions over the long table
of :func:`anobench.selection.rules.choose`; metric values are higher-is-better."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

__all__ = ["board_table", "power", "smallest_p"]


def _paired(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per data set, the means of ``a`` and ``b`` over the seeds where both have a value
    ((n_sets, n_seeds) each); data sets without such a seed are dropped."""
    both = np.isfinite(a) & np.isfinite(b)
    keep = both.any(axis=1)
    count = both.sum(axis=1)[keep]
    mean_a = np.where(both, a, 0.0).sum(axis=1)[keep] / count
    mean_b = np.where(both, b, 0.0).sum(axis=1)[keep] / count
    return mean_a, mean_b


def _paired_wins(a: np.ndarray, b: np.ndarray) -> float:
    """P(a beats b) on the same split: per data set the share of seeds where ``a`` is
    higher (ties 1/2), averaged over data sets; NaN when no pair."""
    both = np.isfinite(a) & np.isfinite(b)
    keep = both.any(axis=1)
    if not keep.any():
        return float("nan")
    wins = np.where(both, (a > b) + 0.5 * (a == b), 0.0).sum(axis=1)[keep]
    return float(np.mean(wins / both.sum(axis=1)[keep]))


def board_table(long: pd.DataFrame) -> pd.DataFrame:
    """One row per group and rule: the mean over its data sets (of the per-data-set means
    over seeds), its average rank among its group's rules, coverage (``n_datasets`` of
    ``of_datasets``, ``n_values`` of ``of_values``), per data set ``<ds>`` / ``<ds>:std``
    (mean and std over seeds), and paired with the group's oracle and random on the same
    data sets and seeds: ``oracle_gap`` (oracle minus the rule), ``random_gap``,
    ``p_beats_random`` (per data set the share of seeds where the rule beats random, ties
    1/2, averaged) and ``p_value_vs_random`` (Wilcoxon signed-rank over the data sets'
    paired means)."""
    datasets = sorted(long["dataset"].unique())
    seeds = sorted(long["seed"].unique())

    def values(part: pd.DataFrame) -> np.ndarray:
        wide = part.pivot_table(index="dataset", columns="seed", values="value", aggfunc="mean")
        return wide.reindex(index=datasets, columns=seeds).to_numpy(dtype=float)

    rows = []
    for (group, rule), part in long.groupby(["group", "rule"], sort=False):
        mine = values(part)
        mask = np.isfinite(mine)
        per_set = np.where(mask, mine, 0.0).sum(axis=1) / np.maximum(mask.sum(axis=1), 1)
        covered = mask.any(axis=1)
        row = {
            "group": group, "rule": rule,
            "mark": "oracle" if part["oracle"].iloc[0] else (
                "uses training labels" if part["uses_training_labels"].iloc[0] else ""),
            "mean": float(per_set[covered].mean()) if covered.any() else np.nan,
            "std_over_sets": float(per_set[covered].std(ddof=1)) if covered.sum() > 1 else np.nan,
            "n_datasets": int(covered.sum()), "of_datasets": len(datasets),
            "n_values": int(mask.sum()), "of_values": mask.size,
        }  # fmt: skip
        for other, key in (("oracle", "oracle_gap"), ("random", "random_gap")):
            ref = long[(long["group"] == group) & (long["rule"] == other)]
            if ref.empty:
                row[key] = np.nan
                continue
            a, b = _paired(mine, values(ref))
            row[key] = float(np.mean(b - a)) if len(a) else np.nan
            if other == "random" and rule != "random":
                row["p_beats_random"] = _paired_wins(mine, values(ref))
                d = a - b
                row["p_value_vs_random"] = (
                    float(sps.wilcoxon(a, b, zero_method="zsplit").pvalue)
                    if len(d) >= 2 and (d != 0).any() else np.nan
                )  # fmt: skip
        std = _seed_std(mine)
        for i, ds in enumerate(datasets):
            row[ds] = per_set[i] if covered[i] else np.nan
            row[f"{ds}:std"] = std[i]
        rows.append(row)
    table = pd.DataFrame(rows)
    for column in ("p_beats_random", "p_value_vs_random"):
        if column not in table:
            table[column] = np.nan
    table.index = pd.Index(table["group"] + " · " + table["rule"], name="row")
    table.insert(table.columns.get_loc("mean") + 1, "avg_rank", _ranks_within(table, datasets))
    return table


def _seed_std(values: np.ndarray) -> np.ndarray:
    """Per data set, the std over seeds with a value (ddof=1; NaN with fewer than two)."""
    out = np.full(len(values), np.nan)
    for i, row in enumerate(values):
        finite = row[np.isfinite(row)]
        if len(finite) > 1:
            out[i] = float(np.std(finite, ddof=1))
    return out


def _ranks_within(table: pd.DataFrame, datasets: list[str]) -> pd.Series:
    """Each rule's average rank among the rules of its group (1 = best), over the data
    sets where every rule of the group has a value."""
    out = pd.Series(np.nan, index=table.index)
    for _, part in table.groupby("group", sort=False):
        means = part[datasets]
        complete = means.columns[means.notna().all(axis=0)]
        if len(complete):
            out.loc[part.index] = means[complete].rank(axis=0, ascending=False).mean(axis=1)
    return out


def smallest_p(n_sets: int) -> float:
    """The smallest two-sided p-value a Wilcoxon signed-rank test over ``n_sets``
    paired differences can reach (all of one sign): ``2 / 2**n`` (exact distribution)."""
    return float(min(1.0, 2.0 * 0.5 ** max(n_sets, 0)))


def power(n_sets: int) -> str:
    """What a Wilcoxon test against random can show with ``n_sets`` data sets."""
    if n_sets < 2:
        return "one data set: no test against random is possible"
    p = smallest_p(n_sets)
    if p >= 0.05:
        return (
            f"with {n_sets} data sets no rule can differ significantly from random (the "
            f"smallest reachable p-value is {p:.3f}): read P(beats random) as an effect size"
        )
    return (
        f"{n_sets} data sets: a Wilcoxon signed-rank test against random can reach "
        f"p = {p:.2g}; p-values are not adjusted for the number of rules and detectors"
    )
