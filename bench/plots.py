"""Plots of a run, on seaborn/matplotlib. Each function takes data and returns a
matplotlib ``Figure``; none runs a detector (per-cell scores come from the run's
``scores/<id>.npz``, see :class:`~anobench.store.RunStore`).

Score orientation everywhere: higher = more anomalous. Metric values: higher = better.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never opens a window

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from sklearn.decomposition import PCA
from sklearn.metrics import precision_recall_curve, roc_curve

#: (labels (n,), scores (n,)) of one detector on one data set
Scores = tuple[np.ndarray, np.ndarray]


def heatmap(means: pd.DataFrame, *, title: str = "ROC-AUC") -> Figure:
    """Data set x detector heatmap of a metric.

    ``means``: detectors (rows) x data sets (columns), NaN where a detector has no value
    (shown blank and counted in the row label).
    """
    data = means.T
    # Rotated detector labels take height: leave room for the longest one.
    label_inches = 0.075 * max((len(str(c)) for c in data.columns), default=0)
    fig, ax = plt.subplots(
        figsize=(1.0 + 0.55 * data.shape[1], 1.5 + 0.35 * data.shape[0] + label_inches)
    )
    sns.heatmap(
        data,
        annot=data.shape[1] <= 25,
        fmt=".2f",
        cmap="viridis",
        vmin=0.0,
        vmax=1.0,
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
    :func:`anobench.stats.standings`' (the leaderboard's): detectors below
    ``min_coverage`` are left out and counted in the title.
    """
    from anobench.ranking import standings

    st = standings(means, min_coverage=min_coverage)
    order = st.ranked
    long = st.ranks.T.melt(var_name="detector", value_name="rank").dropna()
    fig, ax = plt.subplots(figsize=(7, 1.0 + 0.3 * max(len(order), 1)))
    if order:
        sns.boxplot(long, x="rank", y="detector", order=order, color="#9ecae1", ax=ax, fliersize=0)
        sns.stripplot(long, x="rank", y="detector", order=order, color="#08519c", size=3, ax=ax)
    apart = f"; {len(st.apart)} not ranked (too few data sets)" if st.apart else ""
    ax.set_title(
        f"Rank per data set by {title} (1 = best), {len(st.datasets)} data sets{apart}",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def runtime_vs_metric(summary: pd.DataFrame, *, title: str = "ROC-AUC") -> Figure:
    """Scatter of mean fit seconds (log scale) against the mean metric, one point per
    detector. ``summary``: index detector, columns ``seconds``, ``value``, ``family``."""
    fig, ax = plt.subplots(figsize=(7, 5))
    sns.scatterplot(summary, x="seconds", y="value", hue="family", ax=ax, s=50)
    for det, row in summary.iterrows():
        ax.annotate(
            str(det),
            (row["seconds"], row["value"]),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    ax.set_xscale("log")
    ax.set_xlabel("mean fit + score seconds per cell (log)")
    ax.set_ylabel(f"mean {title}")
    ax.set_title(f"Runtime vs {title}")
    fig.tight_layout()
    return fig


def curves(scores: Mapping[str, Scores], *, title: str = "") -> Figure:
    """ROC and precision-recall curves of every detector on one data set."""
    fig, (roc_ax, pr_ax) = plt.subplots(1, 2, figsize=(11, 4.5))
    palette = sns.color_palette("husl", len(scores))
    for color, (det, (y, s)) in zip(palette, scores.items(), strict=False):
        fpr, tpr, _ = roc_curve(y, s)
        roc_ax.plot(fpr, tpr, color=color, lw=1.2, label=det)
        precision, recall, _ = precision_recall_curve(y, s)
        pr_ax.plot(recall, precision, color=color, lw=1.2, label=det)
    roc_ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1)
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    base = float(np.mean(next(iter(scores.values()))[0])) if scores else 0.0
    pr_ax.axhline(base, color="grey", ls=":", lw=1)
    pr_ax.set(xlabel="recall", ylabel="precision", title="Precision-recall")
    pr_ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.suptitle(title)
    fig.tight_layout()
    return fig


#: points per label and detector drawn in a score-distribution violin
VIOLIN_POINTS = 1000


def score_distributions(scores: Mapping[str, Scores], *, title: str = "") -> Figure:
    """Violins of normal vs anomalous test scores per detector. Each detector's scores are
    turned into percentiles of its own test scores (0 = least anomalous), so detectors
    with different scales share one axis. A label with more than :data:`VIOLIN_POINTS`
    points is drawn from that many evenly spaced quantiles of its percentiles (the same
    distribution, at a fraction of the density estimate's cost)."""
    frames = []
    for det, (y, s) in scores.items():
        pct = pd.Series(s).rank(pct=True).to_numpy()
        is_anomaly = np.asarray(y) == 1
        for label, part in (("normal", pct[~is_anomaly]), ("anomaly", pct[is_anomaly])):
            if len(part) > VIOLIN_POINTS:
                part = np.quantile(part, np.linspace(0.0, 1.0, VIOLIN_POINTS))
            frames.append(pd.DataFrame({"detector": det, "percentile": part, "label": label}))
    long = pd.concat(frames, ignore_index=True)
    fig, ax = plt.subplots(figsize=(7, 1.0 + 0.45 * len(scores)))
    sns.violinplot(
        long,
        x="percentile",
        y="detector",
        hue="label",
        split=True,
        inner="quart",
        cut=0,
        density_norm="width",
        ax=ax,
        hue_order=["normal", "anomaly"],
        palette={"normal": "#74c476", "anomaly": "#de2d26"},
        legend=False,
    )
    ax.legend(  # a fixed place: matplotlib's "best" searched ~1 s per figure
        handles=[
            Patch(color="#74c476", label="normal"),
            Patch(color="#de2d26", label="anomaly"),
        ],
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        fontsize=8,
    )
    ax.set_xlabel("score percentile among the test points (higher = more anomalous)")
    ax.set_title(title or "Score distributions")
    fig.tight_layout()
    return fig


def reconstruction_grid(
    images: np.ndarray,
    reconstructions: np.ndarray,
    scores: np.ndarray,
    labels: np.ndarray,
    *,
    title: str = "",
) -> Figure:
    """Input (top row) vs reconstruction (bottom row) for each stored test image, titled
    with its score and label. ``images``, ``reconstructions``: (k, h, w, c)."""
    k = len(images)
    fig, axes = plt.subplots(2, k, figsize=(1.1 * k, 2.7), squeeze=False)
    for i in range(k):
        for row, arr in enumerate((images, reconstructions)):
            ax = axes[row, i]
            img = np.asarray(arr[i], dtype=np.float32)
            ax.imshow(img[..., 0] if img.shape[-1] == 1 else np.clip(img, 0, 1), cmap="gray")
            ax.set_xticks([])
            ax.set_yticks([])
        tag = "A" if labels[i] == 1 else "N"
        axes[0, i].set_title(
            f"{tag} {scores[i]:.3g}", fontsize=7, color="#de2d26" if labels[i] == 1 else "black"
        )
    axes[0, 0].set_ylabel("input", fontsize=8)
    axes[1, 0].set_ylabel("recon.", fontsize=8)
    fig.suptitle(
        title or "Most (left) and least anomalous test images (A = anomaly, N = normal)", fontsize=9
    )
    fig.tight_layout()
    return fig


def latent_view(codes: np.ndarray, labels: np.ndarray, *, title: str = "") -> Figure:
    """2-D view of latent codes (PCA when they have more than 2 dimensions), coloured by
    label (1 = anomaly)."""
    codes = np.asarray(codes, dtype=np.float64)
    if codes.shape[1] > 2:
        view, axes_names = PCA(n_components=2).fit_transform(codes), ("PC 1", "PC 2")
    else:
        view, axes_names = np.c_[codes, np.zeros((len(codes), 2 - codes.shape[1]))], ("z1", "z2")
    fig, ax = plt.subplots(figsize=(5, 4.5))
    names = np.where(np.asarray(labels) == 1, "anomaly", "normal")
    sns.scatterplot(
        x=view[:, 0],
        y=view[:, 1],
        hue=names,
        hue_order=["normal", "anomaly"],
        palette={"normal": "#74c476", "anomaly": "#de2d26"},
        s=8,
        alpha=0.6,
        linewidth=0,
        ax=ax,
    )
    ax.set(xlabel=axes_names[0], ylabel=axes_names[1], title=title or "Latent codes")
    fig.tight_layout()
    return fig


def cd_diagram(
    avg_ranks: pd.Series, pvalues: pd.DataFrame, *, alpha: float = 0.05, title: str = ""
) -> Figure:
    """Critical-difference diagram (scikit-posthocs): detectors on the average-rank axis,
    joined by a bar where the post-hoc test finds no difference at ``alpha``."""
    import scikit_posthocs as sp

    fig, ax = plt.subplots(figsize=(8, 1.2 + 0.25 * len(avg_ranks)))
    sp.critical_difference_diagram(
        avg_ranks, pvalues, alpha=alpha, ax=ax, label_props={"fontsize": 8}
    )
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def save(fig: Figure, path: str | Path, *, dpi: int = 90) -> None:
    """Write ``fig`` as PNG and release it."""
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
