"""The figures of a report, handed to a :class:`~anobench.report.figure_pool.FigurePool`: per
protocol a heatmap, the rank distribution and runtime against ROC-AUC (from the
report's own leaderboards), per data set an overview of ROC/PR curves and score
distributions, image reconstructions and latent codes (from the stored scores of the
first seed), and per leaderboard a critical-difference diagram. File names are
:func:`~anobench.report.model.file_stem` slugs."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pandas as pd

from anobench.execution.store import RunStore
from anobench.paths import confined
from anobench.plan import presets
from anobench.report.figure_pool import FigurePool
from anobench.report.model import Board, FigureFile, Report, file_stem

__all__ = ["collect_figures", "submit_cd", "submit_plots"]


def submit_plots(
    report: Report,
    store: RunStore,
    folder: Path,
    pool: FigurePool,
    dataset_formats: tuple[str, ...] = (".png",),
) -> None:
    """Hand the report's plots (ROC-AUC based) to ``pool``, to be written into
    ``folder``; each comes back from ``pool.wait()`` tagged ``("plot", caption, group)``.
    The summary figures are written in the pool's formats, the per-data-set ones (one to
    three per data set: large vector files) in ``dataset_formats``."""
    folder.mkdir(parents=True, exist_ok=True)

    def emit(name: str, caption: str, group: str, function: str, *args: Any, **kw: Any) -> None:
        path = confined(folder, file_stem(name), ".png")
        pool.submit(path, function, *args, tag=("plot", caption, group), **kw)

    def emit_here(name: str, caption: str, group: str, function: str, *args: Any) -> None:
        # seaborn figures: this process imports seaborn anyway (CD diagrams), the workers
        # drawing the per-data-set figures never need to
        emit(name, caption, group, function, *args, local=True)

    frame = report.frame
    ok = frame[frame["status"] == "ok"]
    families = dict(zip(ok["label"], ok["family"].fillna("unknown"), strict=True))
    for protocol in report.protocols:
        board = report.board(protocol, "roc_auc")
        if board is None or board.table.empty:
            continue
        table = board.table
        group = (
            f"published protocol: {protocol}" if presets.get(protocol) else f"protocol {protocol}"
        )
        emit_here(
            f"heatmap_{protocol}",
            f"ROC-AUC per data set and detector ({protocol})",
            group,
            "heatmap",
            table[table.attrs["datasets"]],
        )
        emit_here(
            f"ranks_{protocol}",
            f"Rank distribution by ROC-AUC ({protocol})",
            group,
            "rank_distribution",
            table.attrs["ranking"],
        )
        part = ok[ok["protocol"] == protocol]
        runtime = part.assign(seconds=part["fit_seconds"] + part["score_seconds"]).groupby("label")
        summary = pd.DataFrame(
            {
                "seconds": runtime["seconds"].mean(),
                "value": runtime["roc_auc"].mean(),
                "sets": runtime["dataset"].nunique(),
            }
        )
        summary.attrs["of"] = int(part["dataset"].nunique())
        summary["family"] = [families.get(lab, "unknown") for lab in summary.index]
        emit_here(
            f"runtime_{protocol}",
            f"Runtime vs ROC-AUC ({protocol})",
            group,
            "runtime_vs_metric",
            summary,
        )
        for dataset in sorted(part["dataset"].unique()):
            _dataset_plots(
                part[part["dataset"] == dataset],
                store,
                protocol,
                dataset,
                functools.partial(emit, formats=dataset_formats),
            )


def _dataset_plots(
    part: pd.DataFrame, store: RunStore, protocol: str, dataset: str, emit: Any
) -> None:
    """The data set's overview (curves and score distributions) and (image models)
    reconstructions and latent codes, from the first seed's stored scores."""
    seed = part["seed"].min()
    cells = part[part["seed"] == seed]
    loaded = {}
    for label, cell_id in zip(cells["label"], cells["cell_id"], strict=True):
        arrays = store.scores(cell_id)
        if arrays is not None:
            loaded[label] = arrays
    if not loaded:
        return
    stem = f"{protocol}_{dataset}"
    group = f"{dataset} ({protocol}, seed {seed})"
    scores = {label: (a["y_test"], a["scores"]) for label, a in sorted(loaded.items())}
    emit(
        f"overview_{stem}",
        f"ROC and precision-recall curves, normal vs anomalous scores: {group}",
        group,
        "dataset_overview",
        scores,
        title=group,
    )
    for label, a in sorted(loaded.items()):
        if "reconstructions" in a:
            emit(
                f"recon_{stem}_{label}",
                f"{label}: inputs and reconstructions, {group}",
                group,
                "reconstruction_grid",
                a["images"],
                a["reconstructions"],
                a["image_scores"],
                a["image_labels"],
                title=f"{label} on {dataset}: most (left) and least anomalous test images",
            )
        if "codes" in a:
            emit(
                f"latent_{stem}_{label}",
                f"{label}: latent codes, {group}",
                group,
                "latent_view",
                a["codes"],
                a["code_labels"],
                title=f"{label} latent codes on {dataset}",
            )


def submit_cd(board: Board, out: Path, pool: FigurePool, index: int) -> None:
    """The board's critical-difference diagram, ``cd_<stem>.png`` in ``out``, tagged
    ``("cd", index)``."""
    comp = board.comparison
    pool.submit(
        confined(out, f"cd_{board.stem}", ".png"),
        "cd_diagram",
        comp.avg_ranks,
        comp.pvalues,
        alpha=comp.alpha,
        title=f"{board.title}: average rank over {len(comp.datasets)} data sets "
        f"(bars: no significant difference, {comp.method})",
        tag=("cd", index),
        local=True,  # this process has scipy and pandas loaded: one import of the rest
    )


def collect_figures(report: Report, pool: FigurePool) -> None:
    """Wait for ``pool`` and put what it drew into ``report``: the plots into
    ``figures``, the CD diagrams into their boards' ``cd``."""
    for path, (kind, *tag) in pool.wait():
        if kind == "cd":
            report.boards[tag[0]].cd = path
        else:
            report.figures.append(FigureFile(path, *tag))
