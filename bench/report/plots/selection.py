"""The sensitivity figure of selection: how much a detector's grid matters per data set,
and where the default and each rule's choice land in it. Returns a matplotlib
``Figure`` (files are written by :func:`anobench.report.plots.charts.save`). Metric values: higher =
better."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["sensitivity"]

#: marker per rule kind (the others cycle through the rest)
_MARKERS = {"default": "s", "random": "o", "oracle": "^", "global-best": "D"}
_OTHER = ("v", "P", "X", "*", "<", ">", "h")


def sensitivity(
    grid: pd.DataFrame, choices: pd.DataFrame, *, detector: str, metric_title: str,
    rules: Sequence[str],
) -> Figure:  # fmt: skip
    """One column per data set: the grid's configurations (mean over seeds, grey dots),
    the default configuration and each rule's choice (mean over seeds of the chosen
    values, one marker per rule).

    Parameters
    ----------
    grid : columns ``dataset``, ``config``, ``value`` (mean over seeds of each grid
        configuration on each data set).
    choices : columns ``dataset``, ``rule``, ``value`` (mean over seeds of the rule's
        chosen values).
    rules : the rules in legend order.
    """
    datasets = sorted(grid["dataset"].unique())
    x = {ds: i for i, ds in enumerate(datasets)}
    width = max(5.0, 0.45 * len(datasets) + 2.5)
    fig = Figure(figsize=(width, 4.2), layout="tight")
    ax = fig.subplots()
    rng = np.random.default_rng(0)
    gx = grid["dataset"].map(x).to_numpy(dtype=float) + rng.uniform(-0.12, 0.12, len(grid))
    ax.scatter(gx, grid["value"], s=14, color="0.65", label="grid configurations", zorder=1)
    others = iter(_OTHER)
    for i, rule in enumerate(rules):
        part = choices[choices["rule"] == rule]
        if part.empty:
            continue
        marker = _MARKERS.get(rule) or next(others, "o")
        offset = (i - (len(rules) - 1) / 2) * 0.06
        ax.scatter(part["dataset"].map(x) + offset, part["value"], marker=marker, s=40,
                   label=rule, zorder=2, edgecolors="black", linewidths=0.4)  # fmt: skip
    ax.set_xticks(range(len(datasets)))
    ax.set_xticklabels(datasets, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel(metric_title)
    ax.set_title(f"{detector}: its grid per data set and what each rule chose", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    return fig
