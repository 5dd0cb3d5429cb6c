"""Writing a run's comparisons with the published tables (computed by
:func:`anobench.results.published.comparisons`) (:mod:`anobench.results.published`):
Markdown and CSV per protocol and metric, and the summaries the console and HTML show."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
from tabulate import tabulate

from anobench.metrics.cell import metric as metric_info
from anobench.paths import slug
from anobench.plan import presets
from anobench.plan.suite import PublishedReference
from anobench.results.published import (
    PublishedComparison,
    comparisons,
)

__all__ = [
    "CELL_HEADERS",
    "SUMMARY_HEADERS",
    "console_summaries",
    "display_rows",
    "file_stem",
    "format_comparison",
    "write_comparison_files",
    "write_comparisons",
]

logger = logging.getLogger(__name__)


#: display headers of :func:`summarize`'s and :func:`compare_with_published`'s columns
SUMMARY_HEADERS = {
    "detector": "detector", "column": "published as", "compared": "sets",
    "reproduced": "reproduced", "max_abs_difference": "max abs diff",
    "mean_difference": "mean diff", "tolerance": "tolerance",
    "verdicts": "not reproduced because",
}  # fmt: skip
CELL_HEADERS = {
    "detector": "detector", "dataset": "data set", "published_row": "published row",
    "ours": "ours", "std": "std over seeds", "published": "published",
    "difference": "difference", "seeds": "ok seeds", "verdict": "verdict",
}  # fmt: skip
_FOUR = ("ours", "std", "published", "max_abs_difference")
_SIGNED = ("difference", "mean_difference")


def display_rows(table: pd.DataFrame, headers: dict[str, str]) -> list[list[str]]:
    """``table``'s ``headers`` columns as text: values to 4 decimals (differences
    signed), blank where missing; for the Markdown and HTML renderers."""
    out = table[list(headers)].astype(object)
    for col in out.columns:
        if col in _FOUR or col in _SIGNED:
            fmt = "{:+.4f}" if col in _SIGNED else "{:.4f}"
            out[col] = [("" if pd.isna(v) else fmt.format(v)) for v in table[col]]
    return out.astype(str).to_numpy().tolist()


def _md(table: pd.DataFrame, headers: dict[str, str]) -> str:
    rows = display_rows(table, headers)
    return tabulate(rows, list(headers.values()), tablefmt="github", disable_numparse=True)


def format_comparison(comparison: PublishedComparison) -> str:
    """Markdown: the preset's flaws (under a preset protocol), the per-detector summary,
    every compared cell with its verdict (sorted by detector, data set), the cells not
    run and the published columns not reproduced."""
    c, preset = comparison, comparison.preset
    text = [preset.describe().replace("known flaws:", "\nKnown flaws:"), ""]
    text = text if presets.get(c.protocol) else []
    rounding = (
        f"; each seed's value rounded to {preset.round_digits} decimals before averaging, "
        "as the paper did"
        if preset.round_digits is not None
        else ""
    )
    spread = " or <= 2 x our std over the seeds" if preset.spread_rule else ""
    clean = preset.clean_metrics.get(c.metric)
    compared = (
        f"This protocol's cells are compared by `{clean}`, the clean protocol's closest "
        "measure.\n\n"
        if clean and not presets.get(c.protocol)
        else ""
    )
    text += [
        f"{compared}Per-cell rule: `reproduced` when abs(ours - published) <= the column's "
        f"tolerance{spread}, under {preset.name} with the paper's seeds "
        f"{list(preset.seeds)} and parameters, every seed ok{rounding}.",
        "",
        _md(c.summary, SUMMARY_HEADERS)
        if len(c.summary)
        else "(no cell of the run matches a published value)",
        "",
    ]
    not_run = c.cells["verdict"].str.startswith("not run")
    if (~not_run).any():
        ran = c.cells[~not_run].sort_values(["detector", "dataset"])
        text += ["Every compared cell:", "", _md(ran, CELL_HEADERS), ""]
    if not_run.any():
        sets = ", ".join(sorted(set(c.cells.loc[not_run, "dataset"])))
        text += [f"{int(not_run.sum())} cells with a published value were not run ({sets}): "
                 "see the CSV for why.", ""]  # fmt: skip
    if len(c.missing):
        text += ["Published columns not reproduced:", ""]
        text += [f"- {r.column}: {r.detector + ': ' if r.detector else ''}{r.reason}"
                 for r in c.missing.itertuples()]  # fmt: skip
    return "\n".join(text).rstrip()


def file_stem(comparison: PublishedComparison) -> str:
    """``reference_<protocol>_<metric stem>`` (an oracle metric's stem says ``_oracle``)."""
    info = metric_info(comparison.metric)
    return slug(f"reference_{comparison.protocol}_{info.stem}".lower()).replace(".", "-")


def write_comparison_files(found: list[PublishedComparison], out: Path) -> None:
    """Write each comparison's Markdown (:func:`format_comparison`) and per-cell CSV
    (with ``metric`` and ``oracle`` columns) into ``out``, as ``<file_stem>.md`` /
    ``.csv``; sets their ``markdown`` and ``csv``."""
    for comparison in found:
        info = metric_info(comparison.metric)
        stem = file_stem(comparison)
        comparison.markdown = out / f"{stem}.md"
        comparison.markdown.write_text(f"# {comparison.title}\n\n{format_comparison(comparison)}\n")
        comparison.csv = out / f"{stem}.csv"
        comparison.cells.assign(metric=info.key, oracle=info.oracle).to_csv(
            comparison.csv, index=False
        )


def write_comparisons(
    frame: pd.DataFrame, suite_reference: PublishedReference | None, out: Path
) -> list[PublishedComparison]:
    """:func:`comparisons`, written into ``out`` by :func:`write_comparison_files`;
    returns them."""
    found = comparisons(frame, suite_reference)
    write_comparison_files(found, out)
    return found


def console_summaries(found: list[PublishedComparison], metric: str = "roc_auc") -> list[str]:
    """For the console: the title and per-detector summary table of every comparison of
    ``metric`` (by protocol)."""
    return [
        f"{c.title}\n"
        + (
            _md(c.summary, SUMMARY_HEADERS)
            if len(c.summary)
            else "(no cell matches a published value)"
        )
        for c in sorted(found, key=lambda c: c.protocol)
        if c.metric == metric
    ]
