"""Renderers of selection (:mod:`anobench.results.selection_boards`): the files
``selection_<protocol>_<metric>.csv`` (the long form: one row per rule, detector, data
set and seed with the chosen configuration), ``selection_board_<protocol>_<metric>.csv``
/ ``.md`` (one row per detector and rule: mean ± std per data set, ranks, oracle gap,
P(beats random)), the console text and the HTML section."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tabulate import tabulate

from anobench.metrics.cell import metric as metric_info
from anobench.report.render.html_parts import e, figure, table
from anobench.results.selection_boards import SelectionBoard, long_frame
from anobench.selection.rules import ANY_DETECTOR, KINDS

__all__ = [
    "console_selection",
    "html_selection",
    "summary_grid",
    "summary_rows",
    "write_selection",
]

_INTRO = (
    "Each rule chooses one configuration of a detector's grid (or, for {any}, one "
    "configuration of any detector) per data set and seed, and is scored by the chosen "
    "configuration's test value. `oracle` picks with the test labels (an upper bound); "
    "`random` is the mean over the candidates (the grid and the default; for {any}: every "
    "configuration of every detector), the baseline to beat; `validation@b` uses b training "
    "labels. Oracle gap: oracle minus the rule on the same data sets and seeds (mean over "
    "data sets). P(beats random): "
    "share of seeds where the rule beats `random` on the same split (ties 1/2), averaged "
    "over data sets; p: Wilcoxon signed-rank over the data sets' paired means. Rank in "
    "detector: the average rank among the detector's rules over the data sets all cover."
)


def _num(x: object, digits: int = 3) -> str:
    return f"{x:.{digits}f}" if isinstance(x, float | np.floating) and np.isfinite(x) else ""


def summary_rows(b: SelectionBoard) -> tuple[list[str], list[list[str]]]:
    """(headers, rows): per detector and rule, the mean over data sets, the average rank
    among the detector's rules, the oracle gap, P(beats random), its p-value and the
    data sets covered, grouped by detector (rules in their declared order)."""
    order = {r.name: i for i, r in enumerate(b.rules)}
    t = b.table.assign(_o=b.table["rule"].map(order)).sort_values(["group", "_o"])
    headers = ["detector", "rule", "mark", f"mean {metric_info(b.metric).title}",
               "rank in detector", "oracle gap", "P(beats random)", "p vs random",
               "data sets"]  # fmt: skip
    rows = [
        [r["group"], r["rule"], r["mark"], _num(r["mean"]), _num(r["avg_rank"], 2),
         _num(r["oracle_gap"]), _num(r["p_beats_random"], 2), _num(r["p_value_vs_random"]),
         f"{int(r['n_datasets'])}/{int(r['of_datasets'])}"]
        for _, r in t.iterrows()
    ]  # fmt: skip
    return headers, rows


def summary_grid(b: SelectionBoard) -> tuple[list[str], list[list[str]]]:
    """(headers, rows): one row per detector, one column per rule: ``"mean (gap)"``
    (mean over the data sets, oracle gap in brackets)."""
    names = [r.name for r in b.rules]
    headers = ["detector", *[f"{r.name} ({r.mark})" if r.mark else r.name for r in b.rules]]
    rows = []
    for group, part in b.table.groupby("group", sort=True):
        by_rule = part.set_index("rule")
        row = [str(group)]
        for n in names:
            if n not in by_rule.index:
                row.append("")
                continue
            r = by_rule.loc[n]
            gap = _num(r["oracle_gap"]) if n != "oracle" else ""
            row.append(_num(r["mean"]) + (f" ({gap})" if gap else ""))
        rows.append(row)
    return headers, rows


def _markdown(b: SelectionBoard) -> str:
    headers, rows = summary_rows(b)
    rules = "\n".join(f"- `{r.name}`: {KINDS[r.kind]}" for r in b.rules)
    return (
        f"# Selection: {metric_info(b.metric).title}, {b.protocol}\n\n"
        + _INTRO.format(any=f"`{ANY_DETECTOR}`")
        + f"\n\nRules:\n{rules}\n\n"
        + str(tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True))
        + f"\n\n{b.power}.\n"
    )


def write_selection(boards: list[SelectionBoard], out: Path) -> list[Path]:
    """Write each board's long CSV, its table (CSV) and its Markdown into ``out``."""
    written = []
    for b in boards:
        long = long_frame([b])
        paths = [out / f"{b.stem}.csv", out / f"selection_board_{b.key}.csv",
                 out / f"{b.stem}.md"]  # fmt: skip
        long.to_csv(paths[0], index=False)
        b.table.to_csv(paths[1])
        paths[2].write_text(_markdown(b))
        written += paths
    return written


def console_selection(boards: list[SelectionBoard], metric: str = "roc_auc") -> str:
    """The selection summaries of ``metric`` (one per protocol), for the terminal."""
    parts = []
    for b in boards:
        if b.metric != metric:
            continue
        headers, rows = summary_rows(b)
        parts.append(
            f"Selection ({metric_info(metric).title}, {b.protocol}): one configuration per "
            "data set and seed, chosen by each rule\n"
            + str(tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True))
            + f"\n{b.power}."
        )
    return "\n\n".join(parts)


def html_selection(
    boards: list[SelectionBoard], figures: dict[tuple[str, str], Path], root: Path
) -> str:
    """The page's selection section: per protocol and metric the summary table, its
    notes and the sensitivity figures (``figures``: (protocol, detector) -> file)."""
    if not boards:
        return ""
    parts = ['<section id="selection"><h2>Selection: choosing without test labels</h2>',
             f"<p class='note'>{e(_INTRO.format(any=ANY_DETECTOR))}</p>"]  # fmt: skip
    for b in boards:
        headers, rows = summary_rows(b)
        block = (
            f"<h3>{e(metric_info(b.metric).title)}, {e(b.protocol)}</h3>"
            + table(rows, headers, search=len(rows) > 12, table_id=f"sel-{b.stem}")
            + f"<p class='note'>{e(b.power)}. Long form: <a href='{e(b.stem)}.csv'>"
            f"{e(b.stem)}.csv</a>.</p>"
        )
        if b.metric == "roc_auc":
            block += "".join(
                figure(path, f"Sensitivity of {det}: its grid per data set, the default and "
                       "each rule's choice", root)
                for (protocol, det), path in sorted(figures.items())
                if protocol == b.protocol
            )  # fmt: skip
        if b.metric != "roc_auc":
            title = f"{e(metric_info(b.metric).title)}, {e(b.protocol)}"
            block = f"<details><summary>{title}</summary>{block}</details>"
        parts.append(block)
    return "".join(parts) + "</section>"
