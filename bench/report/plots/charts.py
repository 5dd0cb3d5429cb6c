"""Plots of a run, on seaborn/matplotlib. Each function takes data and returns a
matplotlib ``Figure``; none runs a detector (per-cell scores come from the run's
``scores/<id>.npz``, see :class:`~anobench.execution.store.RunStore`). seaborn and
scikit-posthocs are imported by the functions that use them: the report draws the many
per-data-set figures in worker processes that need neither (seconds of import each).

Score orientation everywhere: higher = more anomalous. Metric values: higher = better.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from anobench.metrics.curves import roc_pr_points, thin
from anobench.report.plots.images import _ANOMALY, _NORMAL
from anobench.report.plots.images import latent_view as latent_view  # re-exported: report figures
from anobench.report.plots.images import reconstruction_grid as reconstruction_grid

__all__ = [
    "FORMATS",
    "NAMED_POINTS",
    "VIOLIN_POINTS",
    "Scores",
    "cd_diagram",
    "curves",
    "dataset_overview",
    "heatmap",
    "rank_distribution",
    "runtime_vs_metric",
    "save",
    "score_distributions",
]


def _subplots(*args: Any, **kwargs: Any) -> tuple[Figure, Any]:
    """``pyplot.subplots`` without pyplot: a figure no GUI backend manages (files only),
    so importing or calling this module never changes the user's matplotlib backend
    and needs no ``close``."""
    figsize = kwargs.pop("figsize", None)
    layout = kwargs.pop("layout", None)
    fig = Figure(figsize=figsize, layout=layout)
    return fig, fig.subplots(*args, **kwargs)


#: (labels (n,), scores (n,)) of one detector on one data set
Scores = tuple[np.ndarray, np.ndarray]


def heatmap(means: pd.DataFrame, *, title: str = "ROC-AUC") -> Figure:
    """Data set x detector heatmap of a metric.

    ``means``: detectors (rows) x data sets (columns), NaN where a detector has no value
    (shown blank and counted in the row label).
    """
    import seaborn as sns

    data = means.T
    # Rotated detector labels take height: leave room for the longest one.
    label_inches = 0.075 * max((len(str(c)) for c in data.columns), default=0)
    fig, ax = _subplots(
        figsize=(1.0 + 0.55 * data.shape[1], 1.5 + 0.35 * data.shape[0] + label_inches)
    )
    # the colour scale spans the values shown (0.9-1.0 was one yellow on a 0-1 scale),
    # widened to at least 0.1 so near-equal values do not look far apart
    values = data.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if high - low < 0.1:
        middle = (high + low) / 2
        low, high = middle - 0.05, middle + 0.05
    sns.heatmap(
        data,
        annot=data.shape[1] <= 25,
        fmt=".2f",
        cmap="viridis",
        vmin=low,
        vmax=high,
        cbar_kws={"label": title},
        ax=ax,
        annot_kws={"fontsize": 7},
    )
    ax.set_xlabel("detector")
    ax.set_ylabel("data set")
    ax.set_title(f"{title} (blank: no value)")
    fig.tight_layout()
    return fig


def rank_distribution(
    means: pd.DataFrame, *, title: str = "ROC-AUC", min_coverage: float = 1.0
) -> Figure:
    """Box plot of each ranked detector's per-data-set ranks (1 = best), best first.

    ``means``: detectors x data sets, NaN where a detector has no value. The ranks are
    :func:`anobench.results.stats.standings`' (the leaderboard's): detectors below
    ``min_coverage`` are left out and counted in the title.
    """
    import seaborn as sns

    from anobench.results.ranking import standings

    st = standings(means, min_coverage=min_coverage)
    order = st.ranked
    long = st.ranks.T.melt(var_name="detector", value_name="rank").dropna()
    fig, ax = _subplots(figsize=(7, 1.0 + 0.3 * max(len(order), 1)))
    if order:
        sns.boxplot(long, x="rank", y="detector", order=order, color="#9ecae1", ax=ax, fliersize=0)
        sns.stripplot(long, x="rank", y="detector", order=order, color="#08519c", size=3, ax=ax)
    apart = f"; {len(st.apart)} not ranked (too few data sets)" if st.apart else ""
    import textwrap

    heading = f"Rank per data set by {title} (1 = best), {len(st.datasets)} data sets{apart}"
    ax.set_title("\n".join(textwrap.wrap(heading, 70)), fontsize=9)
    fig.tight_layout()
    return fig


#: above this many points a scatter numbers them and lists the names beside the axes
NAMED_POINTS = 12


def runtime_vs_metric(summary: pd.DataFrame, *, title: str = "ROC-AUC") -> Figure:
    """Scatter of mean fit seconds (log scale) against the mean metric, one point per
    detector. ``summary``: index detector, columns ``seconds``, ``value``, ``family`` and
    optionally ``sets`` (data sets with a value; ``attrs["of"]``: the run's count).
    With more than :data:`NAMED_POINTS` detectors each point carries a number (best
    value first) and the names are listed beside the axes, so none overlaps another."""
    import seaborn as sns

    many = len(summary) > NAMED_POINTS
    fig, ax = _subplots(figsize=(11, 1.5 + max(4.5, 0.2 * len(summary))) if many else (7, 5))
    sns.scatterplot(summary, x="seconds", y="value", hue="family", ax=ax, s=50)
    # detectors on every data set first (their means compare), then the others, each
    # named with its coverage: a mean over 2 of 9 sets must not head the list
    of = int(summary.attrs.get("of", 0))
    sets = summary["sets"] if "sets" in summary else pd.Series(of, index=summary.index)
    partial = sets < of
    ordered = summary.assign(_partial=partial).sort_values(
        ["_partial", "value"], ascending=[True, False]
    )
    key = []
    for number, (det, row) in enumerate(ordered.iterrows(), start=1):
        coverage = f" ({int(sets[det])}/{of} sets)" if partial[det] else ""
        text = str(number) if many else f"{det}{coverage}"
        ax.annotate(
            text, (row["seconds"], row["value"]), fontsize=7, xytext=(3, 3),
            textcoords="offset points",
        )  # fmt: skip
        key.append(f"{number:>2}  {det}  ({row['value']:.3f}){coverage}")
    if many:
        ax.text(
            1.02, 1.0, "\n".join(key), transform=ax.transAxes, va="top", ha="left",
            fontsize=7, family="monospace",
        )  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("mean fit + score seconds per cell (log)")
    ax.set_ylabel(f"mean {title}")
    ax.set_title(f"Runtime vs {title}")
    fig.tight_layout()
    return fig


#: line styles combined with the ten tab10 colours beyond 20 detectors
_DASHES = ("solid", "dashed", "dotted", "dashdot")


def _palette(n: int) -> list[tuple[float, float, float, float]]:
    """``n`` colours: tab10 / tab20, beyond 20 tab10 again (told apart by
    :func:`_line_styles`)."""
    import matplotlib as mpl

    if n <= 10:
        return [mpl.colormaps["tab10"](i) for i in range(n)]
    if n <= 20:
        return [mpl.colormaps["tab20"](i) for i in range(n)]
    return [mpl.colormaps["tab10"](i % 10) for i in range(n)]


def _line_styles(n: int) -> list[str]:
    """Per curve a line style: solid up to 20 curves, then solid, dashed, dotted and
    dash-dotted in turn for each round of the ten colours (40 distinct (colour, style)
    pairs)."""
    if n <= 20:
        return ["solid"] * n
    return [_DASHES[(i // 10) % len(_DASHES)] for i in range(n)]


def _draw_curves(
    roc_ax: Axes, pr_ax: Axes, scores: Mapping[str, Scores], colors: Sequence[Any]
) -> None:
    """ROC and precision-recall curves, one colour per detector, on two axes (each drawn
    through at most :data:`anobench.metrics.curves.CURVE_POINTS` of its points)."""
    roc, pr = [], []
    for y, s in scores.values():
        fpr, tpr, recall, precision = roc_pr_points(y, s)
        roc.append(np.c_[thin(fpr, tpr)])
        pr.append(np.c_[thin(recall, precision)])
    # one collection per panel: far fewer artists to draw than a line per detector
    styles = _line_styles(len(roc))
    roc_ax.add_collection(LineCollection(roc, colors=colors, linewidths=1.2, linestyles=styles))
    pr_ax.add_collection(LineCollection(pr, colors=colors, linewidths=1.2, linestyles=styles))
    for ax in (roc_ax, pr_ax):
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
    roc_ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1)
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    base = float(np.mean(next(iter(scores.values()))[0])) if scores else 0.0
    pr_ax.axhline(base, color="grey", ls=":", lw=1)
    pr_ax.set(xlabel="recall", ylabel="precision", title="Precision-recall")


def curves(scores: Mapping[str, Scores], *, title: str = "") -> Figure:
    """ROC and precision-recall curves of every detector on one data set."""
    fig, (roc_ax, pr_ax) = _subplots(1, 2, figsize=(11, 4.5))
    palette = _palette(len(scores))
    _draw_curves(roc_ax, pr_ax, scores, palette)
    handles = [
        Line2D([], [], color=c, lw=1.2, ls=s)
        for c, s in zip(palette, _line_styles(len(scores)), strict=True)
    ]
    pr_ax.legend(handles, list(scores), fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.suptitle(title)
    fig.tight_layout()
    return fig


#: points per label and detector a score-distribution violin's density is estimated from
VIOLIN_POINTS = 1000
#: percentiles where a violin's density is evaluated
_VIOLIN_GRID = 128


def _density(values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Gaussian kernel density of ``values`` on ``grid`` (Scott's bandwidth), zero outside
    the values' range (a violin cut at its data)."""
    if len(values) == 0:
        return np.zeros_like(grid)
    spread = float(np.std(values))
    bandwidth = max(spread * len(values) ** (-1 / 5), 1e-3)
    z = (grid[:, None] - values[None, :]) / bandwidth
    density = np.exp(-0.5 * z**2).sum(axis=1)
    density[(grid < values.min()) | (grid > values.max())] = 0.0
    return density


def _draw_violins(ax: Axes, scores: Mapping[str, Scores]) -> None:
    """Split violins of normal (upper half) vs anomalous (lower half) test-score
    percentiles per detector, with quartile marks (see :func:`score_distributions`)."""
    grid = np.linspace(0.0, 1.0, _VIOLIN_GRID)
    halves, colors, ticks = [], [], []
    for row, (y, s) in enumerate(scores.values()):
        pct = pd.Series(s).rank(pct=True).to_numpy()
        is_anomaly = np.asarray(y) == 1
        for sign, color, part in ((-1, _NORMAL, pct[~is_anomaly]), (1, _ANOMALY, pct[is_anomaly])):
            if len(part) > VIOLIN_POINTS:
                part = np.quantile(part, np.linspace(0.0, 1.0, VIOLIN_POINTS))
            density = _density(part, grid)
            if density.max() > 0:
                density = 0.42 * density / density.max()
            halves.append(np.r_[np.c_[grid, row + sign * density], [[1.0, row], [0.0, row]]])
            colors.append(color)
            quartiles = np.quantile(part, [0.25, 0.5, 0.75]) if len(part) else []
            for q, style in zip(quartiles, ":-:", strict=False):
                ticks.append(([(q, row), (q, row + sign * np.interp(q, grid, density))], style))
    # one collection each for the halves and the quartile marks: far fewer artists to draw
    ax.add_collection(PolyCollection(halves, facecolors=colors, edgecolors="0.3", linewidths=0.5))
    ax.add_collection(
        LineCollection(
            [seg for seg, _ in ticks],
            colors="0.2",
            linewidths=0.8,
            linestyles=["dotted" if st == ":" else "solid" for _, st in ticks],
        )
    )
    ax.set_yticks(range(len(scores)), list(scores))
    ax.set_ylim(len(scores) - 0.5, -0.5)
    ax.set_xlim(0.0, 1.0)
    ax.set_xlabel("test score percentile (higher = more anomalous)")


def _label_legend(ax: Axes, **where: Any) -> None:
    ax.legend(  # a fixed place: matplotlib's "best" searched ~1 s per figure
        handles=[Patch(color=_NORMAL, label="normal"), Patch(color=_ANOMALY, label="anomaly")],
        fontsize=8,
        **where,
    )


def score_distributions(scores: Mapping[str, Scores], *, title: str = "") -> Figure:
    """Split violins of normal (upper half) vs anomalous (lower half) test scores per
    detector, with their quartiles. Each detector's scores are turned into percentiles of
    its own test scores (0 = least anomalous), so detectors with different scales share
    one axis; each half is scaled to the same width. The density is a Gaussian kernel
    estimate from at most :data:`VIOLIN_POINTS` evenly spaced quantiles of a label's
    percentiles (the same distribution, at a fraction of the cost)."""
    fig, ax = _subplots(figsize=(7, 1.0 + 0.45 * len(scores)))
    _draw_violins(ax, scores)
    _label_legend(ax, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(title or "Score distributions")
    fig.tight_layout()
    return fig


def dataset_overview(scores: Mapping[str, Scores], *, title: str = "") -> Figure:
    """One data set at a glance: ROC and precision-recall curves of every detector and
    the :func:`score_distributions` violins, in one figure. Each detector's name on the
    violin axis is written in its curve colour; beyond 10 detectors the curves (then
    also told apart by line style) get a legend too, and the two curve panels are
    stacked beside the violins so they grow with the figure's height."""
    n = len(scores)
    palette = _palette(n)
    if n <= 10:
        fig, (roc_ax, pr_ax, violin_ax) = _subplots(
            1, 3, figsize=(15, max(4.5, 1.2 + 0.3 * n)), width_ratios=(1, 1, 1.25)
        )
    else:
        fig = Figure(figsize=(13, max(9.0, 1.2 + 0.3 * n)))
        axes = fig.subplot_mosaic([["roc", "violin"], ["pr", "violin"]], width_ratios=(1, 1.2))
        roc_ax, pr_ax, violin_ax = axes["roc"], axes["pr"], axes["violin"]
    _draw_curves(roc_ax, pr_ax, scores, palette)
    _draw_violins(violin_ax, scores)
    for label, color in zip(violin_ax.get_yticklabels(), palette, strict=False):
        label.set_color(tuple(0.7 * c for c in color[:3]))  # darker: readable as text
    if n > 10:
        handles = [
            Line2D([], [], color=c, lw=1.4, ls=s)
            for c, s in zip(palette, _line_styles(n), strict=True)
        ]
        roc_ax.legend(
            handles, list(scores), fontsize=6, ncols=2, loc="lower right", handlelength=2.5,
            framealpha=0.8,
        )  # fmt: skip
    violin_ax.set_title("Normal vs anomalous scores")
    _label_legend(violin_ax, loc="lower left", bbox_to_anchor=(0.0, 1.06), ncols=2)
    for ax in (roc_ax, pr_ax):
        ax.set_box_aspect(1)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def cd_diagram(
    avg_ranks: pd.Series, pvalues: pd.DataFrame, *, alpha: float = 0.05, title: str = ""
) -> Figure:
    """Critical-difference diagram (scikit-posthocs): detectors on the average-rank axis,
    joined by a bar where the post-hoc test finds no difference at ``alpha``."""
    import scikit_posthocs as sp

    fig, ax = _subplots(figsize=(8, 1.2 + 0.25 * len(avg_ranks)))
    sp.critical_difference_diagram(
        avg_ranks, pvalues, alpha=alpha, ax=ax, label_props={"fontsize": 8}
    )
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


#: the file formats a report figure is written in (PNG for the page, PDF and SVG for papers)
FORMATS = (".png", ".pdf", ".svg")


def save(
    fig: Figure, path: str | Path, *, dpi: int = 90, formats: Sequence[str] = (".png",)
) -> list[Path]:
    """Write ``fig`` to ``path`` and, for each other suffix of ``formats`` (e.g.
    :data:`FORMATS`), to ``path`` with that suffix; release it; return the files.
    Every figure here is laid out by ``tight_layout`` (legends included), so the file is
    not cropped again (a second full draw). Vector files carry no timestamp (the same
    figure gives the same bytes)."""
    path = Path(path)
    written = [path]
    fig.savefig(path, dpi=dpi)
    for suffix in formats:
        other = path.with_suffix(suffix)
        if other == path:
            continue
        metadata = {"CreationDate": None} if suffix == ".pdf" else {"Date": None}
        fig.savefig(other, dpi=dpi, metadata=metadata)
        written.append(other)
    return written
