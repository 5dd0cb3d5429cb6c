"""A leaderboard (:func:`anobench.results.leaderboard.leaderboard`) laid out as a grid of cell
texts, in one of two layouts, for the Markdown, LaTeX and HTML renderers and the console:

- ``"detectors"``: one row per detector (ranked ones by average rank, then the ones not
  ranked), columns avg rank, mean, coverage, missing cells and one per data set;
- ``"datasets"``: one row per data set and one column per detector, as PyOD's and
  ADBench's papers publish them, then rows for the average rank, mean, coverage and
  missing cells. :func:`choose_layout` picks it when data sets outnumber detectors.

Each grid marks the best value per data set (the highest mean; ties as displayed all
count), the best mean and the best average rank, which renderers set in bold. Metric
values are higher-is-better; rank 1 is the best.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from tabulate import tabulate

__all__ = [
    "BATCH_MARK",
    "SATURATED_MARK",
    "SUBSAMPLED_MARK",
    "Grid",
    "Layout",
    "best_positions",
    "cell_text",
    "choose_layout",
    "format_leaderboard",
    "grid",
]

Layout = Literal["detectors", "datasets"]


#: appended to a leaderboard value whose cells ran on subsampled train or test rows
SUBSAMPLED_MARK = " †"
#: appended to the name of a saturated data set (every ranked detector near 1.0)
SATURATED_MARK = " ‡"
#: appended to the name of a batch-dependent (transductive) detector
BATCH_MARK = " §"


def cell_text(row: pd.Series, ds: str) -> str:
    """One leaderboard cell: ``"0.912 ± 0.010"`` (mean ± std over ok seeds, ddof=1),
    ``"0.800 (n=1)"`` with one ok seed, the failure status when no seed is ok (never
    0), ``" †"`` on subsampled rows and ``" (k/n ok)"`` when some seeds failed."""
    n, n_ok = int(row[f"{ds}:n"]), int(row[f"{ds}:ok"])
    if n == 0:
        return ""
    if n_ok == 0:
        status = row[f"{ds}:status"]
        return f"{status} ({n}/{n})" if n > 1 else str(status)
    # one ok seed has no spread: say n=1 rather than a std of 0
    text = f"{row[ds]:.3f} (n=1)" if n_ok == 1 else f"{row[ds]:.3f} ± {row[f'{ds}:std']:.3f}"
    if row.get(f"{ds}:subsampled", False):
        text += SUBSAMPLED_MARK
    if n_ok < n:
        text += f" ({n_ok}/{n} ok)"
    return text


@dataclass
class Grid:
    """Cell texts of a leaderboard: ``headers`` and ``rows`` (all ``str``), ``best`` the
    ``(row, column)`` positions of the best values, ``notes`` the footnotes (what the
    ranks are over, the marks used) and the ``layout``."""

    headers: list[str]
    rows: list[list[str]]
    best: set[tuple[int, int]] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    layout: Layout = "detectors"


def choose_layout(table: pd.DataFrame) -> Layout:
    """``"datasets"`` (data sets as rows) when the leaderboard has more data sets than
    detectors, else ``"detectors"``."""
    if table.empty:
        return "detectors"
    return "datasets" if len(table.attrs["datasets"]) > len(table) else "detectors"


def best_positions(values: list[float], *, low: bool = False, digits: int = 3) -> set[int]:
    """Positions holding the best of ``values`` (the lowest with ``low``) as displayed
    (rounded to ``digits``); NaN never wins."""
    finite = [(i, round(v, digits)) for i, v in enumerate(values) if np.isfinite(v)]
    if not finite:
        return set()
    target = min(v for _, v in finite) if low else max(v for _, v in finite)
    return {i for i, v in finite if v == target}


def _label(label: object, row: pd.Series) -> str:
    return f"{label}{BATCH_MARK}" if row.get("transductive", False) else str(label)


def _summary(row: pd.Series, n_sets: int) -> tuple[str, str, str, str]:
    """Average rank, mean, coverage and missing-cells texts of one detector."""
    if row.get("ranked", True):
        rank = "" if np.isnan(row["avg_rank"]) else f"{row['avg_rank']:.2f}"
        mean = "" if np.isnan(row["mean"]) else f"{row['mean']:.3f}"
    else:
        rank = "not ranked"
        covered = row.get("mean_covered", np.nan)
        mean = "" if np.isnan(covered) else f"({covered:.3f})"
    return rank, mean, f"{int(row['n_datasets'])}/{n_sets}", str(row.get("missing", ""))


def _ranked_values(table: pd.DataFrame, column: str) -> list[float]:
    ranked = table.get("ranked", pd.Series(True, index=table.index)).astype(bool)
    return [float(v) if ok else np.nan for v, ok in zip(table[column], ranked, strict=True)]


def _notes(table: pd.DataFrame, texts: list[list[str]]) -> list[str]:
    notes = [str(table.attrs.get("note", ""))]
    if not table.get("ranked", pd.Series(True, index=table.index)).astype(bool).all():
        notes.append(
            "(mean) of a detector not ranked: over its own covered data sets, not comparable."
        )
    if table.attrs.get("saturated"):
        notes.append(
            f"{SATURATED_MARK.strip()} saturated: every ranked detector is within 0.01 of 1.0 "
            "there (adds ties, not evidence)."
        )
    if table.get("transductive", pd.Series(dtype=bool)).any():
        notes.append(
            f"{BATCH_MARK.strip()} batch-dependent (transductive): a row's score depends on "
            "the other rows scored with it (the whole test set here)."
        )
    if any(SUBSAMPLED_MARK in cell for row in texts for cell in row):
        mark = SUBSAMPLED_MARK.strip()
        notes.append(f"{mark} ran on subsampled rows (the suite's max_train / max_test)")
    return [n for n in notes if n]


def grid(table: pd.DataFrame, layout: Layout | Literal["auto"] = "auto") -> Grid:
    """The :class:`Grid` of a :func:`~anobench.results.leaderboard.leaderboard` table in
    ``layout`` (``"auto"``: :func:`choose_layout`). An empty table gives an empty grid."""
    if table.empty:
        return Grid([], [], notes=["(no cells)"])
    chosen: Layout = choose_layout(table) if layout == "auto" else layout
    datasets = list(table.attrs["datasets"])
    saturated = set(table.attrs.get("saturated", []))
    n_sets = int(table.attrs.get("n_sets", len(datasets)))
    names = [ds + (SATURATED_MARK if ds in saturated else "") for ds in datasets]
    values = {ds: [float(v) for v in table[ds]] for ds in datasets}
    summaries = [_summary(row, n_sets) for _, row in table.iterrows()]
    cells = [[cell_text(row, ds) for ds in datasets] for _, row in table.iterrows()]
    best_rank = best_positions(_ranked_values(table, "avg_rank"), low=True, digits=2)
    best_mean = best_positions(_ranked_values(table, "mean"))
    labels = [_label(label, row) for label, row in table.iterrows()]
    if chosen == "detectors":
        headers = ["detector", "avg rank", "mean", "sets", "missing cells", *names]
        rows = [[labels[i], *summaries[i], *cells[i]] for i in range(len(table))]
        best = {(i, 1) for i in best_rank} | {(i, 2) for i in best_mean}
        for j, ds in enumerate(datasets):
            best |= {(i, 5 + j) for i in best_positions(values[ds])}
    else:
        headers = ["data set", *labels]
        rows = [[names[j]] + [cells[i][j] for i in range(len(table))] for j in range(len(names))]
        best = set()
        for j, ds in enumerate(datasets):
            best |= {(j, 1 + i) for i in best_positions(values[ds])}
        n = len(rows)
        for k, title in enumerate(("avg rank", "mean", "sets", "missing cells")):
            rows.append([title] + [s[k] for s in summaries])
        best |= {(n, 1 + i) for i in best_rank} | {(n + 1, 1 + i) for i in best_mean}
    return Grid(headers, rows, best, _notes(table, cells), chosen)


def format_leaderboard(table: pd.DataFrame, tablefmt: str = "github") -> str:
    """Text of a :func:`~anobench.results.leaderboard.leaderboard` table, one row per detector
    (Markdown by default),
    with footnotes after a blank line: what the ranks are over, then the marks used
    (the layout of :func:`anobench.report.render.board_layout.grid`)."""
    if table.empty:
        return "(no cells)"
    g = grid(table, "detectors")
    text = str(tabulate(g.rows, headers=g.headers, tablefmt=tablefmt, disable_numparse=True))
    return text + "".join(f"\n\n{n}" for n in g.notes)
