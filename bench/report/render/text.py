"""Markdown and console renderers of a :class:`~anobench.report.model.Report`.

Markdown files: per protocol and metric ``leaderboard_<stem>.md`` (laid out by
:func:`anobench.report.render.board_layout.choose_layout`, best values in bold) and
``stats_<stem>.md``;
``reference_<protocol>_<metric>.md`` (the comparisons with published tables) and
``protocol_effect_<preset>.md``. Under a published protocol every title says
``published protocol: <name>`` and lists its known flaws. The console text is the
leaderboard of one metric per protocol and the comparisons' summaries.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd
from tabulate import tabulate

from anobench.metrics.cell import metric as metric_info
from anobench.report.model import Report, file_stem, flaws_markdown, protocol_title
from anobench.report.model import published_flaws as published_flaws
from anobench.report.render.board_layout import Layout, format_leaderboard, grid
from anobench.report.render.published import console_summaries, write_comparison_files
from anobench.report.render.selection import console_selection

__all__ = [
    "console_text",
    "markdown_leaderboard",
    "stale_text",
    "write_markdown",
]

_INTRO = (
    "Mean ± std over seeds (ddof=1; a value from one ok seed shows n=1); failures are "
    "shown as such, never as 0. Avg rank and mean are over the data sets every ranked "
    "detector covers; detectors covering fewer are listed apart with their coverage (see "
    "the notes under the table). Bold: the best value per data set, the best mean and "
    "the best average rank."
)


def markdown_leaderboard(table: pd.DataFrame, layout: Layout | Literal["auto"] = "auto") -> str:
    """A leaderboard as a Markdown table (best values in bold) and its notes."""
    g = grid(table, layout)
    if not g.rows:
        return "(no cells)"
    rows = [
        [f"**{c}**" if (i, j) in g.best and c else c for j, c in enumerate(row)]
        for i, row in enumerate(g.rows)
    ]
    text = str(tabulate(rows, headers=g.headers, tablefmt="github", disable_numparse=True))
    return text + "".join(f"\n\n{n}" for n in g.notes)


def write_markdown(report: Report, out: Path) -> list[Path]:
    """Write the report's Markdown files into ``out`` (see the module docstring)."""
    from anobench.report.render.protocol_effect import format_effect
    from anobench.report.render.statistics import format_summary

    written = []
    for b in report.boards:
        flaws = flaws_markdown(b.protocol)
        layout = "" if b.table.empty else grid(b.table).layout
        where = " Rows: data sets, columns: detectors." if layout == "datasets" else ""
        path = out / f"leaderboard_{b.stem}.md"
        warn = f"**{report.grid_warning}**\n\n" if report.grid_warning else ""
        path.write_text(
            f"# {b.title}\n\n{flaws}{warn}{_INTRO}{where}\n\n{markdown_leaderboard(b.table)}\n"
        )
        written.append(path)
        if b.summary is not None and b.missing is not None:
            path = out / f"stats_{b.stem}.md"
            path.write_text(
                f"# Statistics: {b.title}\n\n{flaws}{warn}"
                + format_summary(b.summary, b.comparison, b.missing)
                + "\n"
            )
            written.append(path)
    write_comparison_files(report.comparisons, out)
    written += [c.markdown for c in report.comparisons if c.markdown is not None]
    for e in report.effects:
        path = out / f"{file_stem(f'protocol_effect_{e.preset.name}')}.md"
        path.write_text(
            f"# What the published protocol does: {e.preset.name} vs {e.clean} "
            f"({metric_info(e.metric).title})\n\n{format_effect(e)}\n"
        )
        written.append(path)
    return written


def console_text(report: Report, metric: str = "roc_auc") -> str:
    """Per protocol the leaderboard of ``metric`` (a published protocol's title and flaws
    first), then the comparisons with published tables."""
    parts = []
    boards = [b for b in report.boards if b.metric == metric]
    if not boards:
        parts.append(f"the run has no {metric_info(metric).title} (no cell computed it)")
    for b in boards:
        head = f"{protocol_title(b.info.title, b.protocol)} (mean ± std over seeds)"
        if flaws := published_flaws(b.protocol):
            head += "\n" + flaws
        if report.grid_warning:
            head += "\n" + report.grid_warning
        parts.append(head + "\n" + format_leaderboard(b.table))
    if report.selections:
        parts.append(console_selection(report.selections, metric))
    parts += console_summaries(report.comparisons)
    return "\n\n".join(parts)


def stale_text(stale: pd.DataFrame, run_dir: Path | str) -> str:
    """One paragraph naming the stale records (by detector, data set and protocol) and
    the command that removes them; empty when there are none."""
    if stale.empty:
        return ""
    groups = stale.groupby(["label", "dataset", "protocol"]).size()
    named = "; ".join(f"{lab} on {ds} ({proto}): {n}" for (lab, ds, proto), n in groups.items())
    if len(named) > 600:
        named = named[:600] + " ..."
    return (
        f"{len(stale)} stale record(s) in {run_dir} are not part of this suite expansion "
        "(another configuration, seeds or code version) and are excluded from every table: "
        f"{named}. Remove them with `anobench prune {run_dir}`."
    )
