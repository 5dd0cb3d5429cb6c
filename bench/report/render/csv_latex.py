"""CSV and LaTeX renderers of a :class:`~anobench.report.model.Report`.

CSV files carry ``metric`` and ``oracle`` columns (an oracle metric is visible in the
file itself); LaTeX tables use booktabs rules (``\\toprule``, ``\\midrule``,
``\\bottomrule``), mean ``$\\pm$`` std over seeds, the best value per data set (and
the best mean and average rank) in bold, and mark an oracle metric with a dagger and a
footnote. A leaderboard with more data sets than detectors is laid out with data sets
as rows (:func:`anobench.report.render.board_layout.choose_layout`), as PyOD and ADBench publish.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from anobench.metrics.cell import Metric
from anobench.metrics.cell import metric as metric_info
from anobench.report.model import Board, Report, file_stem
from anobench.report.render.board_layout import Grid, best_positions, choose_layout, grid
from anobench.results.table import export_frame

__all__ = ["by_dataset", "latex_escape", "latex_table", "write_csv", "write_latex"]

_ESCAPES = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "±": r"$\pm$", "†": r"$^{*}$", "‡": r"$^{\ddagger}$", "§": r"\S{}",
    "≥": r"$\geq$", "≤": r"$\leq$",
}  # fmt: skip
#: marks a metric whose value reads the test labels or the true anomaly ratio
ORACLE_MARK = r"$^{\dagger}$"
ORACLE_NOTE = (
    ORACLE_MARK + r" Oracle metric: its threshold reads the test labels or the true anomaly "
    r"ratio, an upper bound no deployed detector can reach."
)


def latex_escape(text: str) -> str:
    """``text`` with LaTeX's special characters escaped and the report's marks (±, †
    subsampled, ‡ saturated, § batch-dependent) turned into math or text symbols."""
    return "".join(_ESCAPES.get(ch, ch) for ch in str(text))


def _marked(table: pd.DataFrame, info: Metric) -> pd.DataFrame:
    out = table.copy()
    out.insert(0, "oracle", info.oracle)
    out.insert(0, "metric", info.key)
    return out


def by_dataset(board: Board) -> pd.DataFrame:
    """The board's means with data sets as rows and detectors (best first) as columns,
    then the rows ``avg rank`` and ``mean`` (NaN for a detector not ranked), as PyOD and
    ADBench publish their tables; leading ``metric`` and ``oracle`` columns."""
    table = board.table
    datasets = list(table.attrs["datasets"])
    values = table[datasets].to_numpy(dtype=float).T
    extra = table[["avg_rank", "mean"]].to_numpy(dtype=float).T
    means = pd.DataFrame(
        [*values, *extra],
        index=pd.Index([*datasets, "avg rank", "mean"], name="dataset"),
        columns=list(table.index),
    )
    return _marked(means, board.info)


def write_csv(report: Report, out: Path) -> list[Path]:
    """Write the report's CSV (and Parquet) files into ``out``; return them.

    ``results.csv`` / ``results.parquet`` (the tidy table, oracle columns prefixed
    ``oracle:``), ``leaderboards.csv`` (every leaderboard in long form), and per
    protocol and metric ``leaderboard_<stem>.csv`` (one row per detector, numeric),
    ``stats_<stem>.csv``, ``pvalues_<stem>.csv``, ``poi_<stem>.csv`` and, when data
    sets outnumber detectors, ``leaderboard_<stem>_by_dataset.csv`` (:func:`by_dataset`).
    """
    written = [out / "results.csv", out / "results.parquet", out / "leaderboards.csv"]
    exported = export_frame(report.frame)
    exported.to_csv(written[0], index=False)
    exported.to_parquet(written[1], index=False)
    long = report.leaderboards
    if not long.empty:
        long.insert(2, "oracle", [metric_info(m).oracle for m in long["metric"]])
    long.to_csv(written[2], index=False)
    for b in report.boards:
        info = b.info
        files = {f"leaderboard_{b.stem}": b.table}
        if b.summary is not None and b.missing is not None:
            files[f"stats_{b.stem}"] = b.summary.join(b.missing)
            files[f"pvalues_{b.stem}"] = b.comparison.pvalues
            files[f"poi_{b.stem}"] = b.poi if b.poi is not None else pd.DataFrame()
        for name, table in files.items():
            _marked(table, info).to_csv(out / f"{name}.csv")
            written.append(out / f"{name}.csv")
        if not b.table.empty and choose_layout(b.table) == "datasets":
            path = out / f"leaderboard_{b.stem}_by_dataset.csv"
            by_dataset(b).to_csv(path)
            written.append(path)
    for e in report.effects:
        path = out / f"{file_stem(f'protocol_effect_{e.preset.name}')}.csv"
        e.cells.assign(metric=e.metric).to_csv(path, index=False)
        written.append(path)
    return written


def latex_table(g: Grid, *, caption: str, label: str, oracle: bool = False) -> str:
    """A booktabs ``table`` of the grid ``g``: its best cells in ``\\textbf``, summary
    rows (data-sets layout) after a ``\\midrule``, its notes (and, for an ``oracle``
    metric, the dagger's footnote) under the tabular. ``caption`` is LaTeX already."""
    n_cols = len(g.headers)
    spec = "l" + "r" * (n_cols - 1)

    def row(cells: list[str], i: int | None = None) -> str:
        texts = []
        for j, cell in enumerate(cells):
            text = latex_escape(cell)
            if i is not None and (i, j) in g.best and text:
                text = rf"\textbf{{{text}}}"
            texts.append(text)
        return " & ".join(texts) + r" \\"

    lines = [
        r"\begin{table}[htbp]",
        r"\centering",
        r"\scriptsize",
        rf"\caption{{{caption}}}",
        rf"\label{{{label}}}",
        rf"\begin{{tabular}}{{{spec}}}",
        r"\toprule",
        row(g.headers),
        r"\midrule",
    ]
    n_data = len(g.rows) - (4 if g.layout == "datasets" else 0)
    for i, cells in enumerate(g.rows):
        if i == n_data and g.layout == "datasets":
            lines.append(r"\midrule")
        lines.append(row(cells, i))
    lines += [r"\bottomrule", r"\end{tabular}"]
    notes = [latex_escape(n) for n in g.notes] + ([ORACLE_NOTE] if oracle else [])
    if notes:
        lines.append(r"\par\smallskip\parbox{\linewidth}{\tiny " + r" \\ ".join(notes) + "}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def _caption(b: Board, rest: str) -> str:
    """``b``'s title as a LaTeX caption, its metric marked with a dagger when oracle."""
    mark = ORACLE_MARK if b.info.oracle else ""
    where = b.title.removeprefix(b.info.title)
    return latex_escape(b.info.title) + mark + latex_escape(f"{where}. {rest}")


_PREAMBLE = (
    "% anobench report table (generated). Needs \\usepackage{booktabs}.\n"
    "% Mean $\\pm$ std over seeds (ddof=1); best per data set, best mean and best average "
    "rank in bold.\n"
)


def write_latex(report: Report, out: Path) -> list[Path]:
    """Write ``leaderboard_<stem>.tex`` (the leaderboard, laid out by
    :func:`~anobench.report.render.board_layout.choose_layout`) and ``stats_<stem>.tex`` (mean, 95%
    CI, average rank, P(leader > it), coverage) per protocol and metric into ``out``;
    return them."""
    from anobench.report.render.statistics import summary_rows

    written = []
    for b in report.boards:
        if b.table.empty:
            continue
        layout = (
            "rows: data sets, columns: detectors (best first)"
            if choose_layout(b.table) == "datasets"
            else "rows: detectors, best average rank first"
        )
        grid_note = f" {report.grid_warning}" if report.grid_warning else ""
        caption = _caption(b, f"Mean ± std over seeds; {layout}.{grid_note}")
        text = latex_table(
            grid(b.table), caption=caption, label=f"tab:{b.stem}", oracle=b.info.oracle
        )
        path = out / f"leaderboard_{b.stem}.tex"
        path.write_text(_PREAMBLE + text, encoding="utf-8")
        written.append(path)
        if b.summary is None:
            continue
        headers, rows, notes = summary_rows(b.summary, b.missing)
        ranked = b.summary["ranked"].astype(bool).to_numpy()
        means = [v if ok else float("nan") for v, ok in zip(b.summary["mean"], ranked, strict=True)]
        ranks = [
            v if ok else float("nan") for v, ok in zip(b.summary["avg_rank"], ranked, strict=True)
        ]
        best = {(i, 1) for i in best_positions(means)}
        best |= {(i, 3) for i in best_positions(ranks, low=True, digits=2)}
        stats_grid = Grid(headers, rows, best, notes)
        path = out / f"stats_{b.stem}.tex"
        path.write_text(
            _PREAMBLE
            + latex_table(
                stats_grid,
                caption=_caption(b, "Statistics: mean and 95% CI over data sets and seeds."),
                label=f"tab:stats-{b.stem}",
                oracle=b.info.oracle,
            ),
            encoding="utf-8",
        )
        written.append(path)
    return written
