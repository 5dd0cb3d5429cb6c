"""Text of the statistics a leaderboard carries (:mod:`anobench.results.stats`): the summary
table's rows, the Friedman / post-hoc description, and both as Markdown."""

from __future__ import annotations

import numpy as np
import pandas as pd
from tabulate import tabulate

from anobench.results.ranking import SATURATION
from anobench.results.stats import RankTest, sets_needed

__all__ = ["describe", "format_summary", "summary_rows"]


def _ci_text(low: float, high: float, digits: int = 3) -> str:
    return "" if np.isnan(low) else f"[{low:.{digits}f}, {high:.{digits}f}]"


def summary_rows(
    table: pd.DataFrame, missing: pd.DataFrame | None
) -> tuple[list[str], list[list[str]], list[str]]:
    """Headers, rows and footnotes of a :func:`anobench.results.stats.summary` table, with each
    detector's
    missing cells by status (``missing``: detectors x status counts)."""
    rows, any_apart = [], False
    leader = table.index[0] if len(table) and bool(table["ranked"].iloc[0]) else None
    for det, row in table.iterrows():
        miss = missing.loc[det] if missing is not None and det in missing.index else {}
        missing_text = ", ".join(f"{int(v)} {k}" for k, v in dict(miss).items() if v) or "none"
        sets = f"{int(row['n_datasets'])}/{int(row['of'])}"
        if not row["ranked"]:
            any_apart = True
            covered = "" if np.isnan(row["mean_covered"]) else f"({row['mean_covered']:.3f})"
            rows.append([str(det), covered, "", "not ranked", "", sets, missing_text])
            continue
        poi = f"{row['poi_leader']:.2f} {_ci_text(row['poi_low'], row['poi_high'], 2)}".strip()
        rows.append(
            [
                str(det),
                f"{row['mean']:.3f}",
                _ci_text(row["ci_low"], row["ci_high"]),
                f"{row['avg_rank']:.2f}",
                "(leader)" if det == leader else poi,
                sets,
                missing_text,
            ]
        )
    headers = [
        "detector",
        "mean",
        "95% CI (stratified bootstrap, data sets x seeds)",
        "avg rank",
        "P(leader > it) [95% CI]",
        "sets",
        "missing cells",
    ]
    notes = [str(table.attrs.get("note", ""))]
    if any_apart:
        notes.append(
            "(mean) of a detector not ranked: over its own covered data sets, not comparable."
        )
    return headers, rows, [n for n in notes if n]


def format_summary(table: pd.DataFrame, comparison: RankTest, missing: pd.DataFrame) -> str:
    """Markdown: per-detector summary (mean, CI, avg rank, P(leader > it), coverage,
    missing cells by status), what the ranking is over, and the test results."""

    headers, rows, notes = summary_rows(table, missing)
    text = tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)
    return "\n\n".join([str(text), *notes, describe(comparison)])


def describe(comparison: RankTest) -> str:
    """Plain-text account of a :class:`RankTest`, with what its data sets can show."""
    c = comparison
    lines = []
    if not c.testable:
        lines.append(
            f"No test: {len(c.detectors)} ranked detector(s) on {len(c.datasets)} data set(s) "
            "(needs 2 and 2)."
        )
    else:
        n, m = len(c.datasets), c.n_pairs
        if np.isfinite(c.statistic):
            verdict = "differ" if c.p_value < c.alpha else "do not differ detectably"
            lines.append(
                f"Friedman test over {n} data sets x {len(c.detectors)} detectors: "
                f"chi2 = {c.statistic:.2f}, p = {c.p_value:.3g}: the detectors {verdict} "
                f"(alpha = {c.alpha})."
            )
        name = {
            "wilcoxon-holm": "Wilcoxon signed-rank, normal approximation, Holm-adjusted",
            "nemenyi": "Nemenyi",
        }[c.method]
        power = (
            f"With {n} data sets and {m} pair(s) the smallest adjusted p any pair can reach "
            f"is {c.min_adjusted_p:.2g}: "
        )
        if c.can_detect:
            power += f"a pair can be significant at alpha = {c.alpha}."
        else:
            power += (
                f"no pair can be significant at alpha = {c.alpha}, so the CD diagram's single "
                "bar is forced by the number of data sets, not evidence of equality (it takes "
                f"at least {sets_needed(c.method, len(c.detectors), c.alpha)} data sets)."
            )
        pairs = c.significant_pairs()
        lines.append(f"Post-hoc ({name}). {power}")
        lines.append(
            f"{len(pairs)} significant pair(s) at alpha = {c.alpha}" + (":" if pairs else ".")
        )
        lines.extend(f"- {a} > {b} (p = {p:.3g})" for a, b, p in pairs[:30])
        if len(pairs) > 30:
            lines.append(f"- ... and {len(pairs) - 30} more (see the CSV)")
    if c.saturated:
        lines.append(
            f"Saturated data sets (every ranked detector within {SATURATION} of 1.0; they add "
            "ties, not evidence): " + ", ".join(c.saturated) + "."
        )
    if c.excluded:
        lines.append("Not ranked: " + "; ".join(f"{k} ({v})" for k, v in c.excluded.items()))
    return "\n".join(lines)
